"""Township boundary files from local bureaus (GeoJSON, zipped Shapefile, GeoPackage) as a clean frame.

Problems are data: whatever is wrong with a file comes back as :class:`BoundaryProblem` values whose
``code`` is a key of :data:`PROBLEM_CODES`; the importer turns codes into Chinese for the uploader.
Everything GDAL reads is our own copy in a private temporary folder, under a name we chose: pyogrio
reads ``!`` in a path as an archive separator, and SQLite may write -wal/-shm files next to a
GeoPackage it opens.
"""
from __future__ import annotations

import codecs
import math
import mmap
import re
import shutil
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError, ProjError

WGS84 = "EPSG:4326"

PROBLEM_CODES = {
    # whole file (row None)
    "unreadable": "Not a readable GeoJSON, zipped Shapefile or GeoPackage (unknown extension, empty, "
                  "corrupt, encrypted, or attribute text in neither UTF-8 nor GBK).",
    "file_too_large": "The file is larger than the size limit (max_bytes).",
    "unsafe_zip": "The zip is unsafe to unpack: too large once unpacked, a member compressed more than "
                  "100:1, an absolute or '..' member path, or too many members.",
    "missing_layer": "The requested layer is not in the file; detail lists the layers.",
    "no_features": "The file holds no features.",
    "no_crs": "The file has no coordinate system and its coordinates are not lon/lat in China; "
              "it needs its .prj (or a CRS in the GeoPackage/GeoJSON).",
    "bad_crs": "The coordinate system cannot be transformed to WGS84, or is a web link (never fetched).",
    "missing_field": "A property named in the arguments is not in the file; detail lists the properties.",
    "missing_dbf": "A Shapefile without its .dbf: the names and codes are in it, so nothing can be matched.",
    "missing_shx": "A Shapefile without its .shx index.",
    # whole file or per feature
    "no_name_or_code": "No township name and no division code (per feature; row None: no property "
                       "holds either).",
    # per feature
    "bad_code": "The division code is not a 9- or 12-digit number.",
    "duplicate_code": "The division code was already used by an earlier feature (detail: which).",
    "broken_geometry": "the feature's geometry cannot be built (a ring whose ends do not meet, too few points)",
    "empty_geometry": "The feature has no geometry, or none is left after repair.",
    "not_polygon": "The geometry is a point or line, not a polygon.",
    "outside_china": "The feature lies outside China (lon 73..136, lat 3..54) after reprojection.",
    # warnings: the file can still be imported
    "assumed_wgs84": "Warning: no coordinate system; coordinates look like lon/lat, so WGS84 was assumed.",
    "encoding_guessed": "Warning: the .cpg's encoding did not fit the attribute text; detail says which did.",
    "layer_chosen": "Warning: several layers could hold the boundaries; detail lists them, value is the one read.",
    "name_property_chosen": "Warning: the name was read from the property whose values best match known township "
                            "names (value), not the one its property name suggested; detail gives each share.",
    "repaired": "Warning: an invalid geometry was repaired (make_valid); value is GEOS's reason.",
}
WARNING_CODES = frozenset({"assumed_wgs84", "encoding_guessed", "layer_chosen", "repaired", "name_property_chosen"})

# China's rough extent, lon/lat. Coordinates of a file without a CRS inside the looser box are taken
# as lon/lat; a projected CRS has metres (10^5..10^7) there, so the two cannot be confused.
CHINA_BOX = (73.0, 3.0, 136.0, 54.0)
LONLAT_GUESS_BOX = (70.0, 0.0, 140.0, 60.0)

# Zip limits: map data compresses a few times over; 100:1 on a megabyte or more is a bomb, not data.
MAX_RATIO = 100
RATIO_MIN_SIZE = 1_000_000
MAX_MEMBERS = 10_000

_SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".zip": "zip", ".gpkg": "gpkg", ".shp": "shp"}
_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SHP_MAGIC = b"\x00\x00\x27\x0a"


@dataclass(frozen=True)
class BoundaryProblem:
    row: int | None      # 1-based feature number in the file; None = the whole file
    column: str | None   # the property name as written in the file, or "geometry"
    value: str | None    # the offending value, at most 80 characters
    code: str            # a key of PROBLEM_CODES
    detail: str = ""     # extra facts (CRS, bounds, layer list), English


@dataclass
class BoundaryFile:
    frame: gpd.GeoDataFrame   # feature_no, name, code, county, geometry (valid, EPSG:4326); usable features
    name_field: str | None
    code_field: str | None
    county_field: str | None
    source_crs: str | None
    reprojected: bool
    encoding: str | None
    repaired: int
    layer: str | None
    problems: list[BoundaryProblem]   # non-empty: do not import
    warnings: list[BoundaryProblem]
    properties: list[str] = field(default_factory=list)   # every attribute name, as written
    name_scores: dict[str, float] = field(default_factory=dict)  # text property -> name_score share


class _Stop(Exception):
    """A whole-file problem that ends reading early."""

    def __init__(self, code: str, detail: str = "", value=None, column: str | None = None):
        super().__init__(code)
        self.problem = BoundaryProblem(None, column, _short(value), code, detail)


@dataclass
class _Dataset:
    kind: str             # geojson, gpkg or shp
    path: Path            # our staged copy
    label: str            # the layer name the user knows (file stem or GeoPackage layer)
    layer: str | None     # the GDAL layer to read (GeoPackage only)
    cpg: str | None = None        # a Shapefile's .cpg text
    encoding: str | None = None   # a GeoJSON's encoding before we wrote it out as UTF-8


# --------------------------------------------------------------------------- public API


def read_boundaries(path, *, name_field: str | None = None, code_field: str | None = None,
                    county_field: str | None = None, layer: str | None = None,
                    max_bytes: int = 500_000_000,
                    name_score: Callable[[list[str]], float] | None = None) -> BoundaryFile:
    """Read a township boundary file into WGS84 polygons with names and 12-digit codes.

    Parameters
    ----------
    path : a .geojson/.json, .zip (Shapefile, possibly in a sub-folder), .gpkg or .shp (with its
        sibling .shx/.dbf/.prj/.cpg) file.
    name_field, code_field, county_field : the properties holding the township name, its division
        code and its county (name or code); detected from property names and values when omitted.
    layer : which layer to read when the file holds several (Shapefile stem or GeoPackage layer);
        by default the polygon layer, the one with most features if there are several.
    max_bytes : the largest file, or total unpacked size of a zip, that is read.
    name_score : optional; given a property's text values, the share (0..1) that name a known
        township. Without ``name_field``, every text property the code and county do not use is
        scored, and the one with the highest share holds the name: a property whose name was
        misspelt ("na me") then beats another whose name looks right but whose values are not
        township names. A ``name_property_chosen`` warning says so when the values overrule the
        property names; ``name_scores`` keeps every share.

    Returns
    -------
    BoundaryFile. ``frame`` holds the features with a usable polygon: ``feature_no`` (1-based
    position in the file), ``name``, ``code`` (12 digits, 9-digit codes padded with 000), ``county``
    (as written), ``geometry`` (valid Polygon/MultiPolygon, EPSG:4326 lon/lat). EPSG:4490
    (CGCS2000) and CRS84 count as WGS84 and are not transformed; other CRSs are reprojected; a file
    without a CRS is taken as lon/lat only when every coordinate lies in China's lon/lat range.
    ``problems`` lists everything that must be fixed before import, ``warnings`` what was fixed or
    assumed. Nothing is fetched from the network and nothing is written outside a temporary folder.
    """
    problems: list[BoundaryProblem] = []
    warnings: list[BoundaryProblem] = []
    out = BoundaryFile(_empty_frame(), None, None, None, None, False, None, 0, None, problems, warnings)
    try:
        with tempfile.TemporaryDirectory(prefix="boundary-file-") as tmp:
            dataset = _stage(Path(path), Path(tmp), layer, max_bytes, warnings)
            out.layer = dataset.label
            if dataset.kind == "geojson" and _has_crs_link(dataset.path):
                # GDAL would fetch the link over HTTP while opening the file: never open it
                raise _Stop("bad_crs", "the GeoJSON's crs is a web link; give it as a name such as EPSG:4490")
            declared_crs = dataset.kind != "geojson" or _has_crs_member(dataset.path)
            raw, out.encoding = _read(dataset, warnings)
        if raw.empty:
            raise _Stop("no_features")
    except _Stop as stop:
        problems.append(stop.problem)
        return out

    columns = [c for c in raw.columns if c != raw.geometry.name]
    out.properties = [str(c) for c in columns]
    fields = _resolve_fields(raw, columns, name_field, code_field, county_field, problems)
    if name_field is None and name_score is not None:
        fields["name"], out.name_scores = _name_by_values(raw, columns, fields, name_score, warnings)
    out.name_field, out.code_field, out.county_field = fields["name"], fields["code"], fields["county"]
    crs = raw.crs if declared_crs else None
    geoms, out.source_crs, out.reprojected = _geometries(raw, crs, dataset.kind, problems, warnings)
    out.repaired = sum(w.code == "repaired" for w in warnings)
    names, codes, counties = _attributes(raw, fields, problems)

    keep = [i for i, g in enumerate(geoms) if g is not None]
    out.frame = gpd.GeoDataFrame(
        {
            "feature_no": np.array([i + 1 for i in keep], dtype="int64"),
            "name": pd.Series([names[i] for i in keep], dtype=object),
            "code": pd.Series([codes[i] for i in keep], dtype=object),
            "county": pd.Series([counties[i] for i in keep], dtype=object),
        },
        geometry=gpd.GeoSeries([geoms[i] for i in keep], crs=WGS84),
        crs=WGS84,
    )
    # whole-file problems first, then by feature; a stable sort keeps each feature's order
    problems.sort(key=lambda p: -1 if p.row is None else p.row)
    warnings.sort(key=lambda p: -1 if p.row is None else p.row)
    return out


def field_candidates(columns: Iterable[str], values_by_column: Mapping | None = None) -> dict[str, str | None]:
    """Guess which properties hold the township name, its division code and its county.

    Parameters
    ----------
    columns : property names as written in the file (a ``geometry`` column is ignored).
    values_by_column : optional ``{column: values}`` (a DataFrame works). With it, a property whose
        name fits but whose values do not loses to one whose values fit too, and roles no property
        name gives are found from the values: a column whose values are all 9- or 12-digit numbers
        is the code, a text column whose values mostly end in 镇/乡/街道/地区/办事处 the name.

    Returns
    -------
    ``{"name": column or None, "code": column or None, "county": column or None}``. Property names
    are compared case-insensitively, without spaces, underscores and brackets, full-width forms
    folded (NFKC): ``XZMC``, ``乡镇（街道）`` and ``parent_code`` are recognised.
    """
    columns = [c for c in columns if c != "geometry"]
    values = values_by_column if values_by_column is not None else {}
    chosen: dict[str, str | None] = {"name": None, "code": None, "county": None}
    taken: set[str] = set()
    for role in ("code", "county", "name"):
        best = None
        for index, column in enumerate(columns):
            rank = _SYNONYMS[role].get(_key(column))
            if rank is None or column in taken:
                continue
            fits = column not in values or _fits(role, values[column])
            score = (not fits, rank, index)
            if best is None or score < best[0]:
                best = (score, column)
        if best is not None:
            chosen[role] = best[1]
            taken.add(best[1])
    for role in ("code", "name", "county"):
        if chosen[role] is None:
            column = _by_content(role, [c for c in columns if c not in taken and c in values], values)
            if column is not None:
                chosen[role] = column
                taken.add(column)
    return chosen


# --------------------------------------------------------------------------- property names

# Ranked: township-specific names beat generic ones (a file with both 乡镇名称 and NAME).
_NAME_KEYS = (
    "乡镇名称", "乡镇街道名称", "街道名称", "镇街名称", "乡镇街道", "乡镇", "街道", "镇街", "乡镇名", "街道名",
    "xzmc", "jdmc", "xzjdmc", "zjmc", "township", "townshipname", "town", "townname", "subdistrict",
    "subdistrictname", "name", "名称", "mc", "namezh", "namechn", "xzqmc", "行政区名称", "行政区划名称",
    "区划名称", "地名",
)
_CODE_KEYS = (
    "乡镇代码", "乡镇街道代码", "街道代码", "乡镇编码", "乡镇区划代码", "xzdm", "jddm", "xzjddm", "towncode",
    "townshipcode", "区划代码", "统计用区划代码", "行政区划代码", "行政区代码", "区划编码", "qhdm", "xzqdm",
    "xzqhdm", "code", "adcode", "gbcode", "gb", "dm", "代码", "编码", "bm",
)
_COUNTY_KEYS = (
    "parentcode", "parentadcode", "parent", "所属区县", "所属县区", "区县", "县区", "区县名称", "区县代码",
    "所属区县代码", "县区名称", "qxmc", "qxdm", "ssqx", "county", "countyname", "countycode", "district",
    "districtname", "districtcode", "所属区", "所属县", "县", "区",
)
_SYNONYMS = {
    role: {key: rank for rank, key in enumerate(keys)}
    for role, keys in (("name", _NAME_KEYS), ("code", _CODE_KEYS), ("county", _COUNTY_KEYS))
}
_TOWNSHIP_ENDINGS = ("镇", "乡", "街道", "地区", "办事处", "苏木")
_COUNTY_ENDINGS = ("区", "县", "市", "旗")


def _key(column) -> str:
    # NFKC folds full-width letters and brackets; then drop everything but letters and digits
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", str(column)).casefold())


def _present(values) -> list:
    return [v for v in values if not _missing(v)]


def _fits(role: str, values) -> bool:
    present = _present(values)
    if not present:
        return False
    if role == "code":
        return sum(_normalise_code(v) is not None for v in present) * 2 >= len(present)
    if role == "name":
        return sum(isinstance(v, str) and _normalise_code(v) is None for v in present) * 2 >= len(present)
    return True


def _by_content(role: str, columns: list[str], values) -> str | None:
    best, best_score = None, None
    for index, column in enumerate(columns):
        present = _present(values[column])
        if not present:
            continue
        codes = [_normalise_code(v) for v in present]
        all_codes = all(c is not None for c in codes)
        if role == "code":
            # digits 7-9 are the township; all zero means county-level or higher codes
            ok = all_codes and any(c[6:9] != "000" for c in codes)
            score = (len(set(codes)), -index) if ok else None
        elif role == "name":
            texts = [v.strip() for v in present if isinstance(v, str)]
            share = sum(t.endswith(_TOWNSHIP_ENDINGS) for t in texts) / len(present)
            score = (share, -index) if share > 0.5 else None
        else:
            texts = [v.strip() for v in present if isinstance(v, str)]
            county_codes = all_codes and all(c[6:] == "000000" for c in codes)
            share = sum(t.endswith(_COUNTY_ENDINGS) for t in texts) / len(present)
            score = (1.0 if county_codes else share, -index) if county_codes or share > 0.5 else None
        if score is not None and (best_score is None or score > best_score):
            best, best_score = column, score
    return best


def _resolve_fields(raw, columns, name_field, code_field, county_field, problems) -> dict[str, str | None]:
    explicit = {"name": name_field, "code": code_field, "county": county_field}
    fields: dict[str, str | None] = {}
    for role, wanted in explicit.items():
        if wanted is None:
            continue
        matches = [c for c in columns if c == wanted] or [c for c in columns if _key(c) == _key(wanted)]
        if len(matches) == 1:
            fields[role] = matches[0]
        else:
            fields[role] = None
            problems.append(BoundaryProblem(None, str(wanted), _short(wanted), "missing_field",
                                            f"{role} field; properties: {', '.join(map(str, columns))}"))
    rest = [c for c in columns if c not in fields.values()]
    guessed = field_candidates(rest, {c: raw[c].tolist() for c in rest})
    for role in ("name", "code", "county"):
        if role not in fields:
            fields[role] = guessed[role]
    if fields["name"] is None and fields["code"] is None and name_field is None and code_field is None:
        problems.append(BoundaryProblem(None, None, None, "no_name_or_code",
                                        f"properties: {', '.join(map(str, columns)) or '(none)'}"))
    return fields


def _name_by_values(raw, columns, fields, name_score, warnings) -> tuple[str | None, dict[str, float]]:
    guessed = fields["name"]
    taken = {fields["code"], fields["county"]}
    scores = {}
    for column in columns:
        if column in taken or not _fits("name", raw[column].tolist()):
            continue
        texts = [v.strip() for v in _present(raw[column].tolist()) if isinstance(v, str)]
        scores[column] = float(name_score(texts)) if texts else 0.0
    if not scores:
        return guessed, scores
    # the highest share; on a tie, the property the names suggested, then the first in the file
    best = max(scores, key=lambda c: (scores[c], c == guessed, -list(scores).index(c)))
    if best == guessed or scores[best] <= scores.get(guessed, 0.0):
        return guessed, scores
    shares = ", ".join(f"{c} {share:.0%}" for c, share in sorted(scores.items(), key=lambda kv: -kv[1]))
    warnings.append(BoundaryProblem(None, best, _short(best), "name_property_chosen", shares))
    return best, scores


# --------------------------------------------------------------------------- values


def _missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    return False


def _normalise_code(value) -> str | None:
    """A 12-digit division code, or None when ``value`` is not a 9- or 12-digit number."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        text = str(int(value))
    elif isinstance(value, (float, np.floating)):
        if not math.isfinite(value) or not float(value).is_integer():
            return None
        text = str(int(value))
    elif isinstance(value, str):
        # "110101001000.0": a float that went through a spreadsheet as text
        text = re.sub(r"\.0*$", "", unicodedata.normalize("NFKC", value).strip())
    else:
        return None
    if not re.fullmatch(r"[1-9][0-9]{8}(?:[0-9]{3})?", text):
        return None
    return text if len(text) == 12 else text + "000"


def _text(value) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a county code read as a float
    return str(value).strip() or None


def _short(value) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _attributes(raw, fields, problems) -> tuple[list, list, list]:
    n = len(raw)
    name_col, code_col, county_col = fields["name"], fields["code"], fields["county"]
    names = [_text(v) for v in raw[name_col].tolist()] if name_col else [None] * n
    raw_codes = raw[code_col].tolist() if code_col else [None] * n
    counties = [_text(v) for v in raw[county_col].tolist()] if county_col else [None] * n
    codes: list[str | None] = []
    first_row: dict[str, int] = {}
    for row, (name, value) in enumerate(zip(names, raw_codes), start=1):
        code = None if _missing(value) else _normalise_code(value)
        if code is None and not _missing(value):
            problems.append(BoundaryProblem(row, code_col, _short(_text(value)), "bad_code"))
        if name is None and _missing(value) and (name_col or code_col):
            problems.append(BoundaryProblem(row, name_col or code_col, None, "no_name_or_code"))
        if code is not None:
            if code in first_row:
                problems.append(BoundaryProblem(row, code_col, code, "duplicate_code",
                                                f"first used by feature {first_row[code]}"))
            else:
                first_row[code] = row
        codes.append(code)
    return names, codes, counties


# --------------------------------------------------------------------------- geometry


def _polygon_parts(geom) -> list:
    if geom is None or geom.is_empty:
        return []
    if isinstance(geom, shapely.Polygon):
        return [geom]
    if isinstance(geom, (shapely.MultiPolygon, shapely.GeometryCollection)):
        return [p for part in geom.geoms for p in _polygon_parts(part)]
    return []


def _is_wgs84_like(crs: CRS) -> bool:
    """EPSG:4326, CRS84 and CGCS2000 (EPSG:4490) lon/lat: the same to a metre, never transformed."""
    if not crs.is_geographic:
        return False
    if crs.to_epsg(min_confidence=70) in (4326, 4490) or crs.to_authority(min_confidence=70) == ("OGC", "CRS84"):
        return True
    datum = _key(crs.datum.name) if crs.datum else ""
    lon0 = crs.prime_meridian.longitude if crs.prime_meridian else 0
    return lon0 == 0 and datum in {"worldgeodeticsystem1984", "wgs1984", "dwgs1984", "wgs84", "china2000",
                                   "dchina2000", "chinageodeticcoordinatesystem2000", "cgcs2000"}


def _crs_label(crs: CRS) -> str:
    authority = crs.to_authority(min_confidence=70)
    return f"{authority[0]}:{authority[1]}" if authority else crs.name


def _bounds_text(bounds) -> str:
    return ",".join(f"{b:.4f}" for b in bounds)


def _inside(bounds, box) -> bool:
    minx, miny, maxx, maxy = bounds
    return bool(np.all(np.isfinite(bounds))) and box[0] <= minx and maxx <= box[2] and box[1] <= miny and maxy <= box[3]


def _geometries(raw, crs, kind, problems, warnings) -> tuple[list, str | None, bool]:
    """Polygons in WGS84 per feature (None where unusable), the source CRS, and whether it was transformed."""
    geoms = list(shapely.force_2d(raw.geometry.to_numpy()))  # heights from CAD exports mean nothing here
    broken = set(raw.attrs.get("broken", ()))
    for i, geom in enumerate(geoms):
        row = i + 1
        if i in broken:
            problems.append(BoundaryProblem(row, "geometry", None, "broken_geometry"))
            geoms[i] = None
        elif geom is None or geom.is_empty:
            problems.append(BoundaryProblem(row, "geometry", None, "empty_geometry"))
            geoms[i] = None
        elif not isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)):
            parts = _polygon_parts(geom)
            if not parts:
                problems.append(BoundaryProblem(row, "geometry", geom.geom_type, "not_polygon"))
                geoms[i] = None
            else:
                geoms[i] = shapely.MultiPolygon(parts)  # a GeometryCollection holding polygons
    usable = [i for i, g in enumerate(geoms) if g is not None]
    if not usable:
        return geoms, _crs_label(crs) if crs is not None else None, False

    source_crs, reprojected = None, False
    if crs is None:
        bounds = shapely.total_bounds([geoms[i] for i in usable])
        if not _inside(bounds, LONLAT_GUESS_BOX):
            what = "a GeoJSON without a crs member" if kind == "geojson" else "no coordinate system"
            problems.append(BoundaryProblem(None, "geometry", _bounds_text(bounds), "no_crs",
                                            f"{what}; coordinates span {_bounds_text(bounds)}, not lon/lat"))
            return [None] * len(geoms), None, False
        if kind == "geojson":  # RFC 7946: GeoJSON without a crs is lon/lat; that is no assumption
            source_crs = WGS84
        else:
            warnings.append(BoundaryProblem(None, "geometry", _bounds_text(bounds), "assumed_wgs84",
                                            f"coordinates span {_bounds_text(bounds)}"))
    else:
        source_crs = _crs_label(crs)
        if not _is_wgs84_like(crs):
            try:
                moved = gpd.GeoSeries([geoms[i] for i in usable], crs=crs).to_crs(WGS84)
            except (CRSError, ProjError) as error:
                problems.append(BoundaryProblem(None, "geometry", source_crs, "bad_crs", _short(str(error)) or ""))
                return [None] * len(geoms), source_crs, False
            for i, geom in zip(usable, moved):
                geoms[i] = geom
            reprojected = True

    for i in usable:
        row, geom = i + 1, geoms[i]
        bounds = geom.bounds
        if not _inside(bounds, CHINA_BOX):
            problems.append(BoundaryProblem(row, "geometry", _bounds_text(bounds), "outside_china",
                                            f"lon/lat bounds {_bounds_text(bounds)} (source CRS {source_crs})"))
            geoms[i] = None
            continue
        if not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            # 'structure' unions overlapping parts (the default 'linework' would cut the overlap
            # out of the township) and drops collapsed spikes; keep the area only
            fixed = shapely.union_all(_polygon_parts(shapely.make_valid(geom, method="structure")))
            if fixed.is_empty or not isinstance(fixed, (shapely.Polygon, shapely.MultiPolygon)):
                problems.append(BoundaryProblem(row, "geometry", _short(reason), "empty_geometry",
                                                "no area left after repair"))
                geoms[i] = None
                continue
            warnings.append(BoundaryProblem(row, "geometry", _short(reason), "repaired"))
            geoms[i] = fixed
    return geoms, source_crs, reprojected


# --------------------------------------------------------------------------- staging and reading


def _empty_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"feature_no": pd.Series(dtype="int64"), "name": pd.Series(dtype=object),
         "code": pd.Series(dtype=object), "county": pd.Series(dtype=object)},
        geometry=gpd.GeoSeries([], crs=WGS84), crs=WGS84,
    )


def _stage(path: Path, tmp: Path, layer, max_bytes, warnings) -> _Dataset:
    """Copy or unpack ``path`` into ``tmp`` and pick the dataset to read."""
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise _Stop("unreadable", f"unknown file type {path.suffix or '(none)'!r}; "
                                  "expected .geojson, .json, .zip, .gpkg or .shp", path.name)
    if not path.is_file():
        raise _Stop("unreadable", "no such file", path.name)
    size = path.stat().st_size
    if kind == "shp":
        size = sum(s.stat().st_size for s in _siblings(path).values())
    if size == 0:
        raise _Stop("unreadable", "the file is empty", path.name)
    if size > max_bytes:
        raise _Stop("file_too_large", f"{size} bytes; the limit is {max_bytes}", path.name)
    if kind == "zip":
        candidates = _unzip(path, tmp, max_bytes)
    elif kind == "shp":
        staged = tmp / "layer0.shp"
        for suffix, sibling in _siblings(path).items():
            shutil.copyfile(sibling, staged.with_suffix(suffix))
        candidates = [_Dataset("shp", staged, path.stem, None)]
    else:
        staged = tmp / f"file0.{kind}"
        shutil.copyfile(path, staged)
        candidates = [_Dataset(kind, staged, path.stem, None)]
    layers = []
    for candidate in candidates:
        try:
            layers.extend(_layers_of(candidate))
        except _Stop:
            if len(candidates) == 1:
                raise
            # a stray metadata.json beside the .shp in a zip: skip it
    return _choose(layers, layer, warnings)


def _siblings(shp: Path) -> dict[str, Path]:
    """The Shapefile's files by lower-case suffix (.shp, .dbf, ...), found in either case."""
    found = {}
    for suffix in _SIDECARS:
        for sibling in (shp.with_suffix(suffix), shp.with_suffix(suffix.upper())):
            if sibling.is_file():
                found[suffix] = sibling
                break
    return found


def _member_name(info: zipfile.ZipInfo) -> str:
    # Zips made on Chinese Windows store GBK names without the UTF-8 flag; zipfile read them as cp437.
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return info.filename


def _unzip(path: Path, tmp: Path, max_bytes: int) -> list[_Dataset]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            _check_members(infos, max_bytes)
            groups: dict[tuple[str, str], dict[str, tuple[zipfile.ZipInfo, str]]] = {}
            for info in infos:
                name = PurePosixPath(_member_name(info).replace("\\", "/"))
                suffix = name.suffix.lower()
                junk = "__MACOSX" in name.parts or name.name.startswith("._")  # macOS resource forks
                if info.is_dir() or junk or suffix not in (*_SIDECARS, ".geojson", ".json", ".gpkg"):
                    continue
                stem = name.stem if suffix in _SIDECARS else name.name  # foo.json and foo.gpkg are two files
                groups.setdefault((str(name.parent).casefold(), stem.casefold()), {})[suffix] = (info, name.stem)
            datasets = []
            for number, members in enumerate(groups.values()):
                for suffix, (info, _) in members.items():
                    # zipfile stops at the size the directory declares, which _check_members capped
                    with archive.open(info) as source, open(tmp / f"member{number}{suffix}", "wb") as out:
                        shutil.copyfileobj(source, out, 1 << 20)
                main = next((s for s in (".shp", ".geojson", ".json", ".gpkg") if s in members), None)
                if main is not None:
                    kind = "shp" if main == ".shp" else _SUFFIXES[main]
                    datasets.append(_Dataset(kind, tmp / f"member{number}{main}", members[main][1], None))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, NotImplementedError) as error:
        raise _Stop("unreadable", f"not a readable zip: {error}", path.name) from None
    except RuntimeError as error:  # zipfile: "File ... is encrypted, password required"
        raise _Stop("unreadable", f"zip member cannot be read: {error}", path.name) from None
    if not datasets:
        raise _Stop("unreadable", "the zip holds no .shp, .geojson or .gpkg", path.name)
    return datasets


def _check_members(infos: list[zipfile.ZipInfo], max_bytes: int) -> None:
    if len(infos) > MAX_MEMBERS:
        raise _Stop("unsafe_zip", f"{len(infos)} members")
    total = 0
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in re.split(r"[\\/]", name):
            raise _Stop("unsafe_zip", "member path leaves the archive", name)
        if info.file_size > RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise _Stop("unsafe_zip", f"{info.file_size} bytes compressed to {info.compress_size}", name)
        total += info.file_size
    if total > max_bytes:
        raise _Stop("unsafe_zip", f"{total} bytes once unpacked; the limit is {max_bytes}")


def _layers_of(dataset: _Dataset) -> list[_Dataset]:
    """Check the staged file is what its name says, and split a GeoPackage into its layers."""
    with open(dataset.path, "rb") as stream:
        head = stream.read(4096)
    if dataset.kind == "gpkg":
        if not head.startswith(_SQLITE_MAGIC):
            raise _Stop("unreadable", "not a GeoPackage (SQLite) file", dataset.label)
        try:
            layers = pyogrio.list_layers(dataset.path)
        except (pyogrio.errors.DataSourceError, OSError) as error:
            raise _Stop("unreadable", _short(str(error)) or "", dataset.label) from None
        return [_Dataset("gpkg", dataset.path, str(name), str(name)) for name, geometry_type in layers
                if geometry_type is not None]
    if dataset.kind == "geojson":
        # Only GeoJSON starts with '{': this keeps a renamed XML (VRT, GML) file away from drivers
        # that follow references.
        if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
            raise _Stop("unreadable", "not a JSON file", dataset.label)
        utf8 = dataset.path.with_suffix(".utf8.geojson")
        encoding = _transcode_json(dataset.path, utf8)
        return [_Dataset("geojson", utf8, dataset.label, None, encoding=encoding)]
    if not head.startswith(_SHP_MAGIC):
        raise _Stop("unreadable", "not a Shapefile (.shp) or its .shx/.dbf are missing", dataset.label)
    # without its .dbf GDAL reads the shapes alone, and every feature then lacks a name and a code
    for suffix in (".dbf", ".shx"):
        if not dataset.path.with_suffix(suffix).is_file():
            raise _Stop(f"missing_{suffix[1:]}", f"{dataset.label}.shp has no {suffix} beside it",
                        f"{dataset.label}{suffix}")
    cpg = dataset.path.with_suffix(".cpg")
    if cpg.is_file():
        dataset.cpg = cpg.read_bytes()[:100].decode("ascii", errors="replace").strip()
    return [dataset]


def _transcode_json(source: Path, target: Path) -> str:
    """Write ``source`` to ``target`` as UTF-8 without BOM; return the encoding it was in."""
    for label, codec in (("UTF-8", "utf-8-sig"), ("GBK", "gb18030")):
        decoder = codecs.getincrementaldecoder(codec)()
        try:
            with open(source, "rb") as src, open(target, "w", encoding="utf-8", newline="") as out:
                while chunk := src.read(1 << 22):
                    out.write(decoder.decode(chunk))
                out.write(decoder.decode(b"", final=True))
            return label
        except UnicodeDecodeError:
            continue
    raise _Stop("unreadable", "the text is neither UTF-8 nor GBK", source.name)


def _choose(candidates: list[_Dataset], layer, warnings) -> _Dataset:
    if not candidates:
        raise _Stop("unreadable", "no layer with geometries")
    if layer is not None:
        matches = [c for c in candidates if c.label == layer] or \
                  [c for c in candidates if c.label.casefold() == str(layer).casefold()]
        if not matches:
            raise _Stop("missing_layer", f"layers: {', '.join(c.label for c in candidates)}", layer)
        return matches[0]
    if len(candidates) == 1:
        return candidates[0]
    described = []
    for candidate in candidates:
        try:
            if candidate.kind == "shp":
                # from the headers: pyogrio would decode field names, in an encoding not yet known
                described.append((candidate, *_shapefile_summary(candidate.path)))
            else:
                info = pyogrio.read_info(candidate.path, layer=candidate.layer)
                described.append((candidate, str(info["geometry_type"] or ""), int(info["features"])))
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError):
            continue  # an unreadable extra layer: read the others
    if not described:
        raise _Stop("unreadable", "no readable layer")
    if len(described) == 1:
        return described[0][0]
    polygonal = [d for d in described if "polygon" in d[1].lower()]
    # Several polygon layers (county outlines beside townships): townships are the most numerous.
    chosen = max(polygonal or described, key=lambda d: d[2])[0]
    listing = "; ".join(f"{c.label} ({geometry_type}, {n} features)" for c, geometry_type, n in described)
    warnings.append(BoundaryProblem(None, None, _short(chosen.label), "layer_chosen", f"layers: {listing}"))
    return chosen


_SHAPE_TYPES = {1: "Point", 3: "LineString", 5: "Polygon", 8: "MultiPoint", 31: "MultiPatch"}


def _shapefile_summary(shp: Path) -> tuple[str, int]:
    """(geometry type, feature count) from the .shp header and the .shx size (8 bytes a feature)."""
    with open(shp, "rb") as stream:
        header = stream.read(100)
    if len(header) < 100:
        raise ValueError("truncated .shp header")
    shape_type = int.from_bytes(header[32:36], "little")
    shx = shp.with_suffix(".shx")
    count = (shx.stat().st_size - 100) // 8 if shx.is_file() else 0
    return _SHAPE_TYPES.get(shape_type % 10 if shape_type < 30 else shape_type, "Unknown"), count


# A JSON string may spell any letter as \u00XX; these patterns accept that, in any case.
def _json_word(word: str) -> bytes:
    return b"".join(
        b"(?:" + re.escape(ch.lower().encode()) + b"|" + re.escape(ch.upper().encode())
        + rb"|\\u00(?i:" + f"{ord(ch.lower()):02x}|{ord(ch.upper()):02x}".encode() + b"))"
        for ch in word
    )


_CRS_KEY = re.compile(b'"' + _json_word("crs") + rb'"\s*:')
_LINK_TYPE = re.compile(b'"' + _json_word("type") + rb'"\s*:\s*"(?:' + _json_word("link") + b"|"
                        + _json_word("url") + b")")
_LINK_URL = re.compile(b'"(?:' + _json_word("url") + b"|" + _json_word("href") + rb')"\s*:\s*"'
                       + _json_word("http"))


def _search(path: Path, pattern: re.Pattern) -> bool:
    with open(path, "rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return pattern.search(data) is not None


def _has_crs_member(path: Path) -> bool:
    return _search(path, _CRS_KEY)


def _has_crs_link(path: Path) -> bool:
    """Would GDAL fetch the CRS from a URL? ({"crs": {"type": "link", "properties": {"href": "http..."}})."""
    return _search(path, _LINK_TYPE) and _search(path, _LINK_URL)


_READ_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, pyogrio.errors.FeatureError,
                pyogrio.errors.FieldError, pyogrio.errors.GeometryError, pyogrio.errors.CRSError, OSError)

# Latin-1 letters where Chinese was expected: text decoded with the wrong single-byte encoding.
# (· and × do occur in names.)
_MOJIBAKE = re.compile("[\u0080-\u00b6\u00b8-\u00d6\u00d8-\u00ff\ufffd]")


def _codec_of_cpg(cpg: str | None) -> tuple[str, str] | None:
    """(label, Python codec) for a .cpg's text: 'GBK', '936', 'UTF-8', '65001', 'ANSI 1252'..."""
    if not cpg:
        return None
    text = cpg.split()[-1].upper() if cpg.split() else ""
    if text in {"UTF-8", "UTF8", "65001"}:
        return ("UTF-8", "utf-8")
    if text in {"GBK", "936", "CP936", "GB2312", "EUC-CN"}:
        return ("GBK", "gb18030")  # GB18030 decodes every GBK and GB2312 text the same, and more
    if text in {"GB18030", "54936"}:
        return ("GB18030", "gb18030")
    name = f"cp{text}" if text.isdigit() else text
    try:
        return (text, codecs.lookup(name).name)
    except LookupError:
        return None


def _read_frame(path, **kwargs) -> gpd.GeoDataFrame:
    """pyogrio.read_dataframe, except that a geometry GEOS cannot build (a ring whose ends do not
    meet, a ring of two points) becomes None for its feature, listed in frame.attrs["broken"],
    instead of failing the whole file."""
    import warnings as python_warnings

    with python_warnings.catch_warnings():  # GDAL's own note on unclosed rings: said per feature below
        python_warnings.simplefilter("ignore", RuntimeWarning)
        try:
            return pyogrio.read_dataframe(path, **kwargs)
        except shapely.errors.GEOSException:
            pass
        frame = pyogrio.read_dataframe(path, read_geometry=False, **kwargs)
        meta, _fids, wkb, _fields = pyogrio.raw.read(path, columns=[], **kwargs)
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms), crs=meta.get("crs"))
    out.attrs["broken"] = [i for i, (raw, geom) in enumerate(zip(wkb, geoms)) if raw is not None and geom is None]
    return out


def _read(dataset: _Dataset, warnings) -> tuple[gpd.GeoDataFrame, str | None]:
    if dataset.kind != "shp":
        try:
            frame = _read_frame(dataset.path, layer=dataset.layer)
        except (*_READ_ERRORS, ValueError) as error:
            raise _Stop("unreadable", _short(str(error)) or "", dataset.label) from None
        return frame, dataset.encoding
    # UTF-8 first even when the .cpg says otherwise: Chinese GBK text is practically never valid
    # UTF-8, while UTF-8 text read as GBK comes out as plausible-looking nonsense.
    declared = _codec_of_cpg(dataset.cpg)
    tries = [("UTF-8", "utf-8")]
    for label, codec in (declared or (None, None), ("GBK", "gb18030")):
        if label and codec not in {c for _, c in tries}:
            tries.append((label, codec))
    dbf = dataset.path.with_suffix(".dbf")
    header = _dbf_header(dbf)
    fallback = None
    for label, codec in tries:
        if header is not None:
            _write_dbf_header(dbf, _mend_field_names(header, codec))
        try:
            frame = _read_frame(dataset.path, encoding=codec)
        except UnicodeDecodeError:
            continue
        except _READ_ERRORS as error:
            raise _Stop("unreadable", _short(str(error)) or "", dataset.label) from None
        columns = [c for c in frame.columns if c != frame.geometry.name]
        texts = [str(c) for c in columns] + [v for c in columns for v in frame[c].tolist() if isinstance(v, str)]
        if sum(len(_MOJIBAKE.findall(t)) for t in texts) >= 2:
            fallback = fallback or (frame, label)
            continue
        if not any(not t.isascii() for t in texts):
            label = declared[0] if declared else label  # plain ASCII reads the same in either
        elif declared and label != declared[0]:
            warnings.append(BoundaryProblem(None, None, _short(dataset.cpg), "encoding_guessed",
                                            f".cpg says {dataset.cpg}; the text reads as {label}"))
        return frame, label
    if fallback is not None:
        frame, label = fallback
        warnings.append(BoundaryProblem(None, None, _short(dataset.cpg), "encoding_guessed",
                                        f"no encoding gave clean text; read as {label}"))
        return frame, label
    raise _Stop("unreadable", "the attribute text is neither UTF-8 nor GBK", dataset.label)


def _dbf_header(dbf: Path) -> bytes | None:
    if not dbf.is_file():
        return None
    with open(dbf, "rb") as stream:
        start = stream.read(32)
        if len(start) < 32:
            return None
        return start + stream.read(int.from_bytes(start[8:10], "little") - 32)


def _write_dbf_header(dbf: Path, header: bytes) -> None:
    with open(dbf, "r+b") as stream:  # our staged copy, never the user's file
        stream.write(header)


def _mend_field_names(header: bytes, codec: str) -> bytes:
    """Drop a field name's half character: DBF names have 10 bytes and writers cut through
    multi-byte text (GDAL writes UTF-8 '乡镇名称', 12 bytes, as 10), which then decodes in no encoding."""
    mended = bytearray(header)
    for offset in range(32, len(header) - 31, 32):
        if header[offset] == 0x0D:  # end of the field descriptors
            break
        name = bytes(header[offset:offset + 11]).split(b"\0", 1)[0]
        for cut in range(4):
            try:
                name[:len(name) - cut].decode(codec)
            except UnicodeDecodeError:
                continue
            if cut:
                mended[offset:offset + 11] = name[:len(name) - cut].ljust(11, b"\0")
            break
    return bytes(mended)
