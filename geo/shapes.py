"""Map-ready township shapes: simplified for the zoom, coordinates rounded, as GeoJSON."""
import json

import geopandas as gpd
import numpy as np
import shapely

# Simplification tolerance and coordinate grid per view, in degrees. A city view (~100 km across
# ~900 px) shows ~110 m a pixel; a county view ~40 m. Rounding to 1e-4° (~11 m) is below a pixel
# in both, and keeps the payload small.
TOLERANCE = {"city": 0.0008, "county": 0.0003, "township": 0.0001}
GRID = 1e-4


def for_view(shapes: gpd.GeoDataFrame, view: str) -> gpd.GeoDataFrame:
    """Simplify a coverage of townships for a view and snap its coordinates to a grid.

    Parameters
    ----------
    shapes : GeoDataFrame in WGS84 lon/lat, one row per township.
    view : 'city', 'county' or 'township' — the extent the map will show.

    Returns
    -------
    A copy whose geometries are simplified together (shared edges stay shared, so no slivers or
    gaps open between neighbours) and rounded to ``GRID`` degrees.
    """
    if shapes.crs is None:
        raise ValueError("shapes have no CRS; set it where the boundaries are read")
    if view not in TOLERANCE:
        raise ValueError(f"bad view {view!r}: expected one of {', '.join(TOLERANCE)}")
    out = shapes.to_crs("EPSG:4326").copy()
    geoms = out.geometry.to_numpy()
    try:
        geoms = shapely.coverage_simplify(geoms, TOLERANCE[view])
    except shapely.errors.GEOSException:
        # not a clean coverage (e.g. imported boundaries overlap): simplify each shape alone
        geoms = shapely.simplify(geoms, TOLERANCE[view], preserve_topology=True)
    geoms = shapely.set_precision(geoms, GRID)
    out.geometry = shapely.make_valid(geoms)
    return out


def dissolve(shapes: gpd.GeoDataFrame, by: str, names: dict[str, str]) -> gpd.GeoDataFrame:
    """Merge shapes by the ``by`` column (townships into counties), named from ``names``.

    The merged shape's boundary_source is 'approximate' if any part of it is.
    """
    frame = shapes[[by, "boundary_source", "geometry"]].copy()
    frame["approximate"] = frame["boundary_source"] == "approximate"
    merged = frame.dissolve(by=by, aggfunc={"approximate": "max"}).reset_index()
    merged = merged.rename(columns={by: "region_code"})
    merged["region_name"] = merged["region_code"].map(names).fillna(merged["region_code"])
    merged["boundary_source"] = np.where(merged["approximate"], "approximate", "imported")
    merged.geometry = shapely.make_valid(merged.geometry.to_numpy())
    return merged[["region_code", "region_name", "boundary_source", "geometry"]]


def to_geojson(shapes: gpd.GeoDataFrame, properties: list[str]) -> str:
    """A compact GeoJSON FeatureCollection with only the given property columns."""
    features = []
    for row, geom in zip(shapes[properties].to_dict("records"), shapes.geometry):
        if geom is None or geom.is_empty:
            continue
        features.append({
            "type": "Feature",
            "properties": {k: _plain(v) for k, v in row.items()},
            "geometry": json.loads(shapely.to_geojson(geom, indent=None)),
        })
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, separators=(",", ":"))


def bounds(geojson: dict) -> list[list[float]]:
    """[[south, west], [north, east]] of a FeatureCollection, as Leaflet's fitBounds wants it."""
    geoms = shapely.from_geojson(json.dumps(geojson))
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value
