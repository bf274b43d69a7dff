"""Map-ready township shapes: simplified for the zoom, coordinates rounded, as GeoJSON."""
import json

import geopandas as gpd
import numpy as np
import shapely
import shapely.ops

# Simplification tolerance and coordinate grid per view, in degrees. A city view (~100 km across
# ~900 px) shows ~110 m a pixel; a county view ~40 m. Rounding to 1e-4° (~11 m) is below a pixel
# in both, and keeps the payload small.
TOLERANCE = {"city": 0.0008, "county": 0.0003, "township": 0.0001}
# Above a city (geo.shapes.regions_above_city): China ~5,000 km across, a province ~800 km.
ABOVE_CITY_TOLERANCE = {"nation": 0.02, "province": 0.004}
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


def label_points(geojson: dict, name_field: str = "region_name") -> list[dict]:
    """Where each region's name goes on a map: a point well inside it, largest regions first.

    The point is the pole of inaccessibility (``shapely.ops.polylabel``) of the region's largest
    part, the point inside it farthest from its edge, so the name sits in the region's widest
    place; a centroid can fall outside a concave township or in a thin arm of it. Longitudes are
    scaled by cos(latitude) while it is searched, so "widest" means widest on the map.

    Parameters
    ----------
    geojson : FeatureCollection in WGS84 lon/lat whose features carry ``region_code`` and
        ``name_field``.
    name_field : the property holding the name to show.

    Returns
    -------
    One dict per feature with a non-empty shape: ``code``, ``name`` (as written in the data, not
    escaped), ``lat``, ``lon`` (the label point, degrees), ``bounds`` ([[south, west], [north,
    east]] of the whole region) and ``size`` (the largest part's area in squared degrees scaled
    as above: only an order), sorted by ``size``, largest first, then by code.
    """
    out = []
    for feature in geojson["features"]:
        geom = shapely.from_geojson(json.dumps(feature["geometry"])) if feature.get("geometry") else None
        if geom is None or geom.is_empty:
            continue
        polygons = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type == "Polygon" and not g.is_empty]
        if not polygons:
            continue
        minx, miny, maxx, maxy = geom.bounds
        scale = float(np.cos(np.radians((miny + maxy) / 2)))
        squeezed = [shapely.transform(p, lambda xy: xy * [scale, 1.0]) for p in polygons]
        part = max(squeezed, key=lambda p: p.area)
        tolerance = max(part.area ** 0.5 / 100, 1e-6)
        point = shapely.ops.polylabel(part, tolerance=tolerance)
        if not part.contains(point):  # polylabel's cell search can miss on a sliver: stay inside
            point = part.representative_point()
        props = feature["properties"]
        out.append({
            "code": props["region_code"], "name": "" if props.get(name_field) is None else str(props[name_field]),
            "lat": round(point.y, 5), "lon": round(point.x / scale, 5),
            "bounds": [[miny, minx], [maxy, maxx]], "size": part.area,
        })
    out.sort(key=lambda r: (-r["size"], r["code"]))
    return out


def regions_above_city(counties: gpd.GeoDataFrame, view: str, names: dict[str, str]) -> gpd.GeoDataFrame:
    """The map of a nation (its provinces) or a province (its cities), from county outlines
    (queries/county_shapes.sql): the counties merged by ``province_code`` or ``city_code`` (a
    coverage union, quick: 2,837 counties into 31 provinces in under half a second), then
    simplified together for the view (shared edges stay shared) and named from ``names``.
    No township polygon is drawn above a city."""
    if view not in ABOVE_CITY_TOLERANCE:
        raise ValueError(f"bad view {view!r}: expected one of {', '.join(ABOVE_CITY_TOLERANCE)}")
    by = "province_code" if view == "nation" else "city_code"
    frame = counties.to_crs("EPSG:4326")
    rows = []
    for code, group in frame.groupby(by, sort=True):
        parts = group.geometry.to_numpy()
        try:  # counties that meet edge to edge: their union only drops the shared edges
            union = shapely.coverage_union_all(parts)
        except shapely.errors.GEOSException:
            union = shapely.union_all(parts)
        rows.append({"region_code": code, "region_name": names.get(code, code),
                     "boundary_source": "approximate" if (group["boundary_source"] == "approximate").any()
                     else "imported", "geometry": union})
    merged = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    geoms = merged.geometry.to_numpy()
    try:
        geoms = shapely.coverage_simplify(geoms, ABOVE_CITY_TOLERANCE[view])
    except shapely.errors.GEOSException:
        geoms = shapely.simplify(geoms, ABOVE_CITY_TOLERANCE[view], preserve_topology=True)
    merged.geometry = shapely.make_valid(shapely.set_precision(geoms, GRID))
    return merged
