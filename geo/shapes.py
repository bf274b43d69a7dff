"""Map-ready township shapes: simplified for the zoom, coordinates rounded, as GeoJSON."""
import json
import math

import geopandas as gpd
import numpy as np
import shapely
import shapely.ops

# Fixed simplification tolerance and coordinate grid per view, in degrees, for the static exports
# (for_view). A city view (~100 km across ~900 px) shows ~110 m a pixel; a county view ~40 m.
# Rounding to 1e-4° (~11 m) is below a pixel in both. The live maps use map_geojson instead,
# whose tolerance follows any extent (a province, the whole country).
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


# The map the payload is simplified for: the page's map frame is about this many CSS pixels wide and
# high (widgets.draw's default height). A region is fitted into it, so one pixel of its extent is
# the finest detail the first view can show; zoomed in a level or two an edge moves by a pixel or
# two, which a choropleth does not mind.
MAP_WIDTH_PX = 1000
MAP_HEIGHT_PX = 560
# Simplify to this many pixels of the fitted view (Visvalingam-Whyatt on the whole coverage).
PIXELS = 1.0
# Coordinates are rounded to a tenth of the tolerance, as a power of ten: 3 decimals for China,
# 4 for a province or a city, 5 (about a metre) for a county and finer.
GRID_PER_TOLERANCE = 10
FINEST_GRID = 1e-6


def extent_of(shapes: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the shapes, in degrees."""
    minx, miny, maxx, maxy = shapely.total_bounds(shapes.to_crs("EPSG:4326").geometry.to_numpy())
    return float(minx), float(miny), float(maxx), float(maxy)


def pixel_degrees(extent: tuple[float, float, float, float], width_px: int = MAP_WIDTH_PX,
                  height_px: int = MAP_HEIGHT_PX) -> float:
    """The ground size of one screen pixel, in degrees of latitude, when ``extent`` (west, south,
    east, north) is fitted into a ``width_px`` × ``height_px`` Web Mercator map (as Leaflet's
    fitBounds does: the tighter of the two directions decides the zoom)."""
    west, south, east, north = extent
    middle = math.radians(max(-85.0, min(85.0, (south + north) / 2)))
    # Mercator stretches latitude by 1/cos(lat): in longitude-degrees a pixel is the larger of
    # the width's and the (stretched) height's share; in ground terms it is cos(lat) of that.
    per_px_lon = max((east - west) / width_px, (north - south) / math.cos(middle) / height_px)
    return max(per_px_lon * math.cos(middle), 1e-9)


def grid_for(tolerance: float) -> float:
    """The coordinate grid for a simplification ``tolerance`` (degrees): a power of ten at most a
    tenth of it, never finer than FINEST_GRID."""
    return max(10.0 ** math.floor(math.log10(tolerance / GRID_PER_TOLERANCE)), FINEST_GRID)


def for_extent(shapes: gpd.GeoDataFrame, extent: tuple[float, float, float, float] | None = None,
               width_px: int = MAP_WIDTH_PX, height_px: int = MAP_HEIGHT_PX,
               pixels: float = PIXELS) -> tuple[gpd.GeoDataFrame, float]:
    """The regions a map of ``extent`` shows, simplified to about ``pixels`` screen pixels of it.

    Parameters
    ----------
    shapes : GeoDataFrame of region polygons (any level: townships, counties, …), one row each.
    extent : (west, south, east, north) in degrees the map is fitted to; None: the shapes' own.
        Regions wholly outside it are left out.
    width_px, height_px : the map frame's size in CSS pixels.
    pixels : the simplification tolerance, in pixels of the fitted view.

    Returns
    -------
    (shapes, grid): a copy in WGS84 with only the regions in the extent, simplified together
    (``shapely.coverage_simplify``: an edge two neighbours share is simplified once, so they
    still meet, with no gap or overlap opening between them) and snapped to ``grid`` degrees;
    the grid, for writing the coordinates with no more decimals than it has.
    """
    if shapes.crs is None:
        raise ValueError("shapes have no CRS; set it where the boundaries are read")
    out = shapes.to_crs("EPSG:4326")
    if extent is not None:
        out = out[shapely.intersects(out.geometry.to_numpy(), shapely.box(*extent))]
    out = out.copy()
    if out.empty:
        return out, FINEST_GRID
    tolerance = pixel_degrees(extent or extent_of(out), width_px, height_px) * pixels
    grid = grid_for(tolerance)
    geoms = out.geometry.to_numpy()
    try:
        simple = shapely.coverage_simplify(geoms, tolerance)
    except shapely.errors.GEOSException:
        # not a clean coverage (e.g. imported boundaries overlap): simplify each shape alone
        simple = shapely.simplify(geoms, tolerance, preserve_topology=True)
    # set_precision keeps the output valid (its default mode), and snaps a shared vertex to the
    # same grid point on both sides
    snapped = shapely.set_precision(simple, grid)
    # a region smaller than the grid would vanish: keep it unsnapped (still simplified)
    lost = shapely.is_empty(snapped) | (shapely.area(snapped) == 0)
    snapped[lost] = shapely.make_valid(simple[lost])
    out.geometry = snapped
    return out, grid


def map_geojson(shapes: gpd.GeoDataFrame, properties: list[str],
                extent: tuple[float, float, float, float] | None = None,
                width_px: int = MAP_WIDTH_PX, height_px: int = MAP_HEIGHT_PX) -> str:
    """What a map of ``extent`` is sent: :func:`for_extent`'s regions as compact GeoJSON, each
    coordinate written with the grid's decimals and no more."""
    simple, grid = for_extent(shapes, extent, width_px, height_px)
    return to_geojson(simple, properties, digits=max(0, -math.floor(math.log10(grid) + 1e-9)))


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


def to_geojson(shapes: gpd.GeoDataFrame, properties: list[str], digits: int | None = None) -> str:
    """A compact GeoJSON FeatureCollection with only the given property columns; coordinates
    rounded to ``digits`` decimals (None: as they are)."""
    features = []
    for row, geom in zip(shapes[properties].to_dict("records"), shapes.geometry):
        if geom is None or geom.is_empty:
            continue
        features.append({
            "type": "Feature",
            "properties": {k: _plain(v) for k, v in row.items()},
            "geometry": _rounded(json.loads(shapely.to_geojson(geom, indent=None)), digits),
        })
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, separators=(",", ":"))


def bounds(geojson: dict) -> list[list[float]]:
    """[[south, west], [north, east]] of a FeatureCollection, as Leaflet's fitBounds wants it."""
    geoms = shapely.from_geojson(json.dumps(geojson))
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    return [[float(miny), float(minx)], [float(maxy), float(maxx)]]


def _rounded(geometry: dict, digits: int | None) -> dict:
    if digits is None:
        return geometry

    def walk(c):
        if c and isinstance(c[0], (int, float)):
            return [round(v, digits) for v in c]
        return [walk(x) for x in c]

    if geometry.get("type") == "GeometryCollection":
        return {**geometry, "geometries": [_rounded(g, digits) for g in geometry["geometries"]]}
    return {**geometry, "coordinates": walk(geometry["coordinates"])}


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
