"""geo/boundary_files.py: township boundary files as a bureau hands them over, built here as real files."""
import json
import random
import socket
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Point, Polygon, box

from geo.boundary_files import PROBLEM_CODES, WARNING_CODES, field_candidates, read_boundaries
from tests.support import beijing_files

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["feature_no", "name", "code", "county", "geometry"]

pytestmark = [
    # warnings from writing the test files, not from reading them
    pytest.mark.filterwarnings("ignore:Could not decode error message"),  # GDAL cut a UTF-8 field name
    pytest.mark.filterwarnings("ignore:'crs' was not provided"),
]


def towns(crs="EPSG:4490", **columns) -> gpd.GeoDataFrame:
    """Two small squares in Changping, 阳坊镇 and 回龙观街道, with the given property columns."""
    columns = columns or {"乡镇名称": ["阳坊镇", "回龙观街道"], "XZDM": ["110114104000", "110114118000"]}
    squares = [box(116.10, 40.10, 116.12, 40.12), box(116.30, 40.05, 116.32, 40.07)]
    return gpd.GeoDataFrame(columns, geometry=squares, crs=crs)


def write_geojson(path: Path, features: list[dict], crs: str | None = "urn:ogc:def:crs:OGC:1.3:CRS84",
                  encoding="utf-8") -> Path:
    collection = {"type": "FeatureCollection", "features": features}
    if crs:
        collection["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_bytes(json.dumps(collection, ensure_ascii=False).encode(encoding))
    return path


def feature(properties: dict, geometry) -> dict:
    if geometry is not None and not isinstance(geometry, dict):
        geometry = json.loads(shapely.to_geojson(geometry))
    return {"type": "Feature", "properties": properties, "geometry": geometry}


def square(lon: float, lat: float) -> Polygon:
    return box(lon, lat, lon + 0.01, lat + 0.01)


def zip_folder(folder: Path, zip_path: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, prefix + file.name)
    return zip_path


def shapefile_zip(tmp_path: Path, frame: gpd.GeoDataFrame, *, encoding: str, cpg: str | None = "keep",
                  prefix: str = "", name: str = "towns") -> Path:
    """Write ``frame`` as a Shapefile in ``encoding``; cpg: 'keep' GDAL's .cpg, None none, else this text."""
    folder = tmp_path / "shp"
    folder.mkdir(exist_ok=True)
    frame.to_file(folder / f"{name}.shp", encoding=encoding, engine="pyogrio")
    if cpg is None:
        (folder / f"{name}.cpg").unlink()
    elif cpg != "keep":
        (folder / f"{name}.cpg").write_text(cpg)
    return zip_folder(folder, tmp_path / f"{name}.zip", prefix)


def codes_of(result) -> list[tuple[int | None, str]]:
    """(row, code) of each problem; every code emitted must be documented, and warnings are warnings."""
    assert all(p.code in PROBLEM_CODES.keys() - WARNING_CODES for p in result.problems)
    assert all(w.code in WARNING_CODES for w in result.warnings)
    assert all(p.value is None or len(p.value) <= 80 for p in result.problems + result.warnings)
    return [(p.row, p.code) for p in result.problems]


# --------------------------------------------------------------------------- the real fixture


def test_beijing_fixture_reads_clean():
    frames = []
    for path in beijing_files():
        result = read_boundaries(path)
        assert result.problems == [] and result.warnings == [], path.name
        assert (result.name_field, result.code_field, result.county_field) == ("Name", "code", "parentCode")
        assert (result.source_crs, result.reprojected, result.repaired) == ("EPSG:4326", False, 0)
        assert list(result.frame.columns) == COLUMNS and result.frame.crs == "EPSG:4326"
        frames.append(result.frame)
    assert len(frames) == 16
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    assert len(frame) == 343
    assert frame["code"].str.fullmatch(r"11\d{10}").all()
    assert frame["county"].str.fullmatch(r"11\d{4}000000").all()
    assert frame["name"].notna().all() and frame["code"].is_unique
    assert frame.geometry.is_valid.all()
    assert set(frame.geom_type) <= {"Polygon", "MultiPolygon"}
    assert frame.set_index("name").loc["阳坊镇", "code"] == "110114104000"


# --------------------------------------------------------------------------- Shapefiles and encodings


@pytest.mark.parametrize(("cpg", "expected"), [("keep", "GBK"), ("936", "GBK"), (None, "GBK")],
                         ids=["cpg-GBK", "cpg-936", "no-cpg"])
def test_gbk_shapefile_in_a_zip(tmp_path, cpg, expected):
    result = read_boundaries(shapefile_zip(tmp_path, towns(), encoding="GBK", cpg=cpg))
    assert result.problems == [] and result.warnings == []
    assert result.encoding == expected
    assert (result.name_field, result.code_field) == ("乡镇名称", "XZDM")
    assert result.frame["name"].tolist() == ["阳坊镇", "回龙观街道"]
    assert result.frame["code"].tolist() == ["110114104000", "110114118000"]
    assert (result.source_crs, result.reprojected, result.layer) == ("EPSG:4490", False, "towns")


def test_cpg_that_contradicts_the_text_is_overruled_with_a_warning(tmp_path):
    result = read_boundaries(shapefile_zip(tmp_path, towns(), encoding="GBK", cpg="UTF-8"))
    assert result.problems == []
    assert result.frame["name"].tolist() == ["阳坊镇", "回龙观街道"]
    assert result.encoding == "GBK"
    assert [w.code for w in result.warnings] == ["encoding_guessed"]


def test_single_byte_cpg_on_gbk_text_is_overruled(tmp_path):
    # ArcGIS's default .cpg; Latin-1 decodes any byte, into nonsense like 'Ñô·»Õò'
    result = read_boundaries(shapefile_zip(tmp_path, towns(), encoding="GBK", cpg="ANSI 1252"))
    assert result.problems == []
    assert (result.encoding, result.frame["name"].tolist()) == ("GBK", ["阳坊镇", "回龙观街道"])
    assert [w.code for w in result.warnings] == ["encoding_guessed"]


@pytest.mark.parametrize("cpg", ["keep", "65001", None])
def test_utf8_shapefile(tmp_path, cpg):
    result = read_boundaries(shapefile_zip(tmp_path, towns(), encoding="UTF-8", cpg=cpg))
    assert result.problems == [] and result.warnings == []
    assert result.encoding == "UTF-8"
    # DBF field names have 10 bytes: GDAL cut UTF-8 乡镇名称 (12 bytes) inside 称; we drop the half
    assert (result.name_field, result.code_field) == ("乡镇名", "XZDM")
    assert result.frame["name"].tolist() == ["阳坊镇", "回龙观街道"]


def test_shapefile_in_a_sub_folder_with_macos_junk(tmp_path):
    path = shapefile_zip(tmp_path, towns(), encoding="GBK", prefix="2024边界/乡镇/")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("__MACOSX/2024边界/乡镇/._towns.shp", b"\x00\x05\x16\x07junk")
        archive.writestr("2024边界/说明.txt", "boundaries from the county bureau")
    result = read_boundaries(path)
    assert result.problems == [] and result.warnings == []
    assert result.frame["name"].tolist() == ["阳坊镇", "回龙观街道"]


def test_zip_member_names_in_gbk_without_the_utf8_flag(tmp_path):
    # Windows zip tools in China store member names in GBK; zipfile always writes UTF-8 or ASCII,
    # so write a same-length ASCII name and swap the bytes in.
    path = shapefile_zip(tmp_path, towns(), encoding="GBK", name="xxxx")
    data = path.read_bytes().replace(b"xxxx", "乡镇".encode("gbk"))
    path.write_bytes(data)
    result = read_boundaries(path)
    assert result.problems == []
    assert result.layer == "乡镇"
    assert result.frame["name"].tolist() == ["阳坊镇", "回龙观街道"]


def test_bare_shp_path_with_siblings(tmp_path):
    towns().to_file(tmp_path / "towns.shp", encoding="GBK", engine="pyogrio")
    result = read_boundaries(tmp_path / "towns.shp")
    assert result.problems == []
    assert result.frame["code"].tolist() == ["110114104000", "110114118000"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["towns.cpg", "towns.dbf", "towns.prj", "towns.shp",
                                                          "towns.shx"]  # nothing written beside it


def test_zip_with_points_and_polygons_reads_the_polygons(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    towns().to_file(folder / "towns.shp", engine="pyogrio")
    points = gpd.GeoDataFrame({"name": ["村委会"]}, geometry=[Point(116.11, 40.11)], crs="EPSG:4490")
    points.to_file(folder / "offices.shp", engine="pyogrio")
    path = zip_folder(folder, tmp_path / "both.zip")

    result = read_boundaries(path)
    assert result.problems == []
    assert result.layer == "towns" and len(result.frame) == 2
    assert [w.code for w in result.warnings] == ["layer_chosen"]

    named = read_boundaries(path, layer="offices")
    assert codes_of(named) == [(1, "not_polygon")]
    assert read_boundaries(path, layer="roads").problems[0].code == "missing_layer"


# --------------------------------------------------------------------------- GeoPackage and CRS

# A square near Hangzhou, inside the 3-degree zone of EPSG:4549 (central meridian 120E).
LONLAT = [(120.10, 30.20), (120.15, 30.20), (120.15, 30.25), (120.10, 30.25), (120.10, 30.20)]


@pytest.mark.parametrize("epsg", [4549, 3857])
def test_projected_geopackage_is_reprojected(tmp_path, epsg):
    forward = Transformer.from_crs(4326, epsg, always_xy=True)
    ring = Polygon([forward.transform(lon, lat) for lon, lat in LONLAT])
    frame = gpd.GeoDataFrame({"名称": ["留下街道"], "代码": ["330106012000"]}, geometry=[ring], crs=epsg)
    frame.to_file(tmp_path / "towns.gpkg", layer="乡镇", engine="pyogrio")

    result = read_boundaries(tmp_path / "towns.gpkg")
    assert result.problems == [] and result.warnings == []
    assert (result.source_crs, result.reprojected, result.layer) == (f"EPSG:{epsg}", True, "乡镇")
    assert result.frame.crs == "EPSG:4326"
    coords = shapely.get_coordinates(result.frame.geometry.iloc[0])
    assert np.abs(coords - np.array(LONLAT)).max() < 1e-6


def test_cgcs2000_geopackage_is_not_transformed(tmp_path):
    ring = Polygon(LONLAT)
    frame = gpd.GeoDataFrame({"名称": ["留下街道"], "代码": ["330106012000"]}, geometry=[ring], crs="EPSG:4490")
    frame.to_file(tmp_path / "towns.gpkg", engine="pyogrio")
    result = read_boundaries(tmp_path / "towns.gpkg")
    assert result.problems == []
    assert (result.source_crs, result.reprojected) == ("EPSG:4490", False)
    assert shapely.equals_exact(result.frame.geometry.iloc[0], ring, tolerance=0)


def test_geopackage_with_several_layers(tmp_path):
    path = tmp_path / "city.gpkg"
    gpd.GeoDataFrame({"name": ["站"]}, geometry=[Point(116.11, 40.11)], crs=4490).to_file(path, layer="stations")
    towns().to_file(path, layer="towns")
    result = read_boundaries(path)
    assert result.problems == [] and result.layer == "towns" and len(result.frame) == 2
    assert read_boundaries(path, layer="stations").problems[0].code == "not_polygon"
    missing = read_boundaries(path, layer="roads")
    assert codes_of(missing) == [(None, "missing_layer")] and "stations" in missing.problems[0].detail


def test_no_crs_and_projected_coordinates(tmp_path):
    frame = gpd.GeoDataFrame({"XZMC": ["阳坊镇"], "XZDM": ["110114104000"]},
                             geometry=[box(430_000, 4_440_000, 431_000, 4_441_000)], crs=None)
    result = read_boundaries(shapefile_zip(tmp_path, frame, encoding="UTF-8"))
    assert codes_of(result) == [(None, "no_crs")]
    assert result.frame.empty and result.source_crs is None


def test_no_crs_and_lonlat_coordinates_is_assumed_wgs84(tmp_path):
    result = read_boundaries(shapefile_zip(tmp_path, towns(crs=None), encoding="UTF-8"))
    assert result.problems == []
    assert [w.code for w in result.warnings] == ["assumed_wgs84"]
    assert result.frame.geometry.iloc[0].equals(box(116.10, 40.10, 116.12, 40.12))


def test_geojson_without_crs_member(tmp_path):
    # RFC 7946: lon/lat without a crs is normal; metres without one cannot be placed
    plain = write_geojson(tmp_path / "a.geojson", [feature({"name": "阳坊镇"}, square(116.1, 40.1))], crs=None)
    result = read_boundaries(plain)
    assert result.problems == [] and result.warnings == [] and result.source_crs == "EPSG:4326"
    metres = write_geojson(tmp_path / "b.geojson", [feature({"name": "阳坊镇"}, box(430_000, 4_440_000, 431_000,
                                                                                  4_441_000))], crs=None)
    assert codes_of(read_boundaries(metres)) == [(None, "no_crs")]


def test_feature_outside_china(tmp_path):
    path = write_geojson(tmp_path / "t.geojson", [feature({"name": "阳坊镇", "code": "110114104000"},
                                                          square(116.1, 40.1)),
                                                  feature({"name": "某镇", "code": "110114118000"},
                                                          square(10.0, 50.0))])
    result = read_boundaries(path)
    assert codes_of(result) == [(2, "outside_china")]
    assert result.frame["feature_no"].tolist() == [1]


@pytest.mark.parametrize("escaped", [False, True], ids=["plain", "json-escaped"])
def test_crs_given_as_a_web_link_is_never_fetched(tmp_path, escaped):
    # GDAL fetches {"crs": {"type": "link"}} over HTTP while opening the file: we must not let it.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/crs.wkt"
    collection = {"type": "FeatureCollection",
                  "crs": {"type": "link", "properties": {"href": url, "type": "ogcwkt"}},
                  "features": [feature({"name": "阳坊镇"}, square(116.1, 40.1))]}
    text = json.dumps(collection)
    if escaped:  # "\u0068ref" and "\u004cink" are href and Link to a JSON parser
        text = text.replace('"href"', '"\\u0068ref"').replace('"link"', '"\\u004cink"')
    path = tmp_path / "link.geojson"
    path.write_text(text)
    try:
        result = read_boundaries(path)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked
    finally:
        listener.close()
    assert codes_of(result) == [(None, "bad_crs")]


# --------------------------------------------------------------------------- properties and codes


@pytest.mark.parametrize(("properties", "fields"), [
    ({"XZMC": "阳坊镇", "XZDM": "110114104000", "QXMC": "昌平区"}, ("XZMC", "XZDM", "QXMC")),
    ({"乡镇（街道）": "阳坊镇", "区划代码": "110114104000", "所属区县": "昌平区"}, ("乡镇（街道）", "区划代码", "所属区县")),
    ({"Township_Name": "阳坊镇", "adcode": 110114104000, "parent_code": 110114000000},
     ("Township_Name", "adcode", "parent_code")),
    ({"ＮＡＭＥ": "阳坊镇", "ＣＯＤＥ": "110114104000"}, ("ＮＡＭＥ", "ＣＯＤＥ", None)),
], ids=["pinyin-initials", "chinese-fullwidth", "english", "fullwidth-letters"])
def test_odd_property_names(tmp_path, properties, fields):
    path = write_geojson(tmp_path / "t.geojson", [feature({"id": 7, **properties}, square(116.1, 40.1))])
    result = read_boundaries(path)
    assert result.problems == []
    assert (result.name_field, result.code_field, result.county_field) == fields
    assert result.frame.loc[0, ["name", "code"]].tolist() == ["阳坊镇", "110114104000"]


def test_codes_as_floats(tmp_path):
    path = write_geojson(tmp_path / "t.geojson", [feature({"name": "阳坊镇", "code": 110114104000.0},
                                                          square(116.1, 40.1)),
                                                  feature({"name": "回龙观街道", "code": 110114118000.0},
                                                          square(116.3, 40.1))])
    assert '"code": 110114104000.0' in path.read_text()  # a Real field, not an Integer64 one
    result = read_boundaries(path)
    assert result.problems == []
    assert result.frame["code"].tolist() == ["110114104000", "110114118000"]


def test_nine_digit_codes_are_padded_and_others_rejected(tmp_path):
    values = ["110114104", "110114118000.0", "1101141040", "abc", None]
    features = [feature({"name": f"镇{i}", "code": v}, square(116.1 + i / 10, 40.1)) for i, v in enumerate(values)]
    result = read_boundaries(write_geojson(tmp_path / "t.geojson", features))
    assert result.frame["code"].tolist() == ["110114104000", "110114118000", None, None, None]
    assert [(p.row, p.code, p.value) for p in result.problems] == [(3, "bad_code", "1101141040"),
                                                                     (4, "bad_code", "abc")]


def test_duplicate_codes_and_features_without_name_or_code(tmp_path):
    features = [feature({"name": "阳坊镇", "code": "110114104000"}, square(116.1, 40.1)),
                feature({"name": "阳坊镇", "code": "110114104000"}, square(116.2, 40.1)),
                feature({"name": None, "code": None}, square(116.3, 40.1)),
                feature({"name": "南口镇", "code": 110114104000}, square(116.4, 40.1))]
    result = read_boundaries(write_geojson(tmp_path / "t.geojson", features))
    assert codes_of(result) == [(2, "duplicate_code"), (3, "no_name_or_code"), (4, "duplicate_code")]
    assert result.problems[0].detail == "first used by feature 1"


def test_explicit_fields(tmp_path):
    features = [feature({"名字": "阳坊镇", "编号": "110114104", "备注": "110114000000"}, square(116.1, 40.1))]
    path = write_geojson(tmp_path / "t.geojson", features)
    chosen = read_boundaries(path, name_field="名字", code_field="编号", county_field="备注")
    assert chosen.problems == [] and chosen.frame.loc[0, ["name", "code", "county"]].tolist() == [
        "阳坊镇", "110114104000", "110114000000"]
    missing = read_boundaries(path, name_field="乡镇名称")
    assert [(p.code, p.column) for p in missing.problems] == [("missing_field", "乡镇名称")]
    assert "名字" in missing.problems[0].detail


def test_no_property_holds_a_name_or_code(tmp_path):
    path = write_geojson(tmp_path / "t.geojson", [feature({"color": 3}, square(116.1, 40.1))])
    assert codes_of(read_boundaries(path)) == [(None, "no_name_or_code")]


def test_field_candidates_by_name_and_by_content():
    assert field_candidates(["FID", "Name", "XZMC", "code", "parentCode", "pinyin"]) == {
        "name": "XZMC", "code": "code", "county": "parentCode"}  # township-specific beats generic
    values = {"A": ["阳坊镇", "回龙观街道", "城北地区办事处"], "B": [110114104000, 110114118, None],
              "C": ["yangfang", "huilongguan", "chengbei"], "D": [110114000000] * 3}
    assert field_candidates(list(values), values) == {"name": "A", "code": "B", "county": "D"}
    # a 'code' column holding no codes loses to an 'xzdm' column that does
    assert field_candidates(["code", "xzdm"], {"code": ["a1", "b2"], "xzdm": ["110114104000", "110114118000"]}
                            )["code"] == "xzdm"


# --------------------------------------------------------------------------- geometries


def test_bow_tie_is_repaired(tmp_path):
    bow_tie = Polygon([(116.0, 40.0), (116.1, 40.1), (116.1, 40.0), (116.0, 40.1), (116.0, 40.0)])
    assert not bow_tie.is_valid
    path = write_geojson(tmp_path / "t.geojson", [feature({"name": "阳坊镇"}, bow_tie)])
    result = read_boundaries(path)
    assert result.problems == [] and result.repaired == 1
    assert [(w.row, w.code) for w in result.warnings] == [(1, "repaired")]
    geom = result.frame.geometry.iloc[0]
    assert geom.is_valid and geom.geom_type in {"Polygon", "MultiPolygon"}
    assert geom.area == pytest.approx(0.005)  # the two triangles, 0.1 x 0.05 / 2 each


def test_overlapping_parts_are_unioned_not_cut_out(tmp_path):
    parts = shapely.MultiPolygon([box(116.0, 40.0, 116.2, 40.2), box(116.1, 40.1, 116.3, 40.3)])
    assert not parts.is_valid
    result = read_boundaries(write_geojson(tmp_path / "t.geojson", [feature({"name": "阳坊镇"}, parts)]))
    assert result.repaired == 1
    assert result.frame.geometry.iloc[0].area == pytest.approx(0.07)  # 0.04 + 0.04 - 0.01 overlap


def test_points_lines_and_empty_geometries(tmp_path):
    collection = shapely.GeometryCollection([square(116.5, 40.1), shapely.LineString([(116, 40), (117, 41)])])
    features = [feature({"name": "阳坊镇"}, square(116.1, 40.1)),
                feature({"name": "村委会"}, Point(116.11, 40.11)),
                feature({"name": "路"}, shapely.LineString([(116, 40), (117, 41)])),
                feature({"name": "无"}, None),
                feature({"name": "空"}, {"type": "Polygon", "coordinates": []}),
                feature({"name": "集合"}, collection)]
    result = read_boundaries(write_geojson(tmp_path / "t.geojson", features))
    assert codes_of(result) == [(2, "not_polygon"), (3, "not_polygon"), (4, "empty_geometry"),
                                (5, "empty_geometry")]
    assert result.frame["feature_no"].tolist() == [1, 6]
    assert result.frame.geometry.iloc[1].equals(square(116.5, 40.1))
    assert set(result.frame.geom_type) <= {"Polygon", "MultiPolygon"} and result.frame.is_valid.all()


# --------------------------------------------------------------------------- files that must not be read


def test_zip_bomb_by_ratio(tmp_path):
    path = shapefile_zip(tmp_path, towns(), encoding="UTF-8")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("readme.txt", bytes(5_000_000))  # 5 MB of zeros: about 5 kB compressed
    result = read_boundaries(path)
    assert codes_of(result) == [(None, "unsafe_zip")] and result.problems[0].value == "readme.txt"


def test_zip_larger_than_max_bytes_once_unpacked(tmp_path):
    path = shapefile_zip(tmp_path, towns(), encoding="UTF-8")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("padding.txt", bytes(200_000))  # under the ratio rule's 1 MB
    assert path.stat().st_size < 100_000
    assert codes_of(read_boundaries(path, max_bytes=100_000)) == [(None, "unsafe_zip")]
    assert read_boundaries(path).problems == []


@pytest.mark.parametrize("member", ["../towns.shp", "/tmp/towns.shp", "a/../../towns.dbf", "C:\\towns.shp"])
def test_zip_member_paths_that_leave_the_folder(tmp_path, member):
    path = shapefile_zip(tmp_path, towns(), encoding="UTF-8")
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(zipfile.ZipInfo(member), b"x")
    result = read_boundaries(path)
    assert codes_of(result) == [(None, "unsafe_zip")]
    assert not (tmp_path.parent / "towns.shp").exists()


def test_plain_file_larger_than_max_bytes(tmp_path):
    path = write_geojson(tmp_path / "t.geojson", [feature({"name": "阳坊镇"}, square(116.1, 40.1))])
    assert codes_of(read_boundaries(path, max_bytes=100)) == [(None, "file_too_large")]


@pytest.mark.parametrize("name", ["t.geojson", "t.json", "t.zip", "t.gpkg", "t.shp"])
def test_random_bytes_are_unreadable(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(random.Random(name).randbytes(5000))
    result = read_boundaries(path)
    assert codes_of(result) == [(None, "unreadable")]
    assert result.frame.empty and list(result.frame.columns) == COLUMNS


def test_renamed_vrt_file_is_not_followed(tmp_path):
    # An OGR VRT (XML) makes GDAL open whatever file or URL it names; only JSON may reach GDAL as GeoJSON.
    target = write_geojson(tmp_path / "real.geojson", [feature({"name": "阳坊镇"}, square(116.1, 40.1))])
    vrt = tmp_path / "t.geojson"
    vrt.write_text(f'<OGRVRTDataSource><OGRVRTLayer name="real"><SrcDataSource>{target}</SrcDataSource>'
                   '</OGRVRTLayer></OGRVRTDataSource>')
    assert codes_of(read_boundaries(vrt)) == [(None, "unreadable")]


@pytest.mark.parametrize(("name", "content"), [("empty.geojson", b""), ("towns.kml", b"{}"), ("towns", b"{}"),
                                             ("absent.geojson", None)])
def test_empty_absent_and_unknown_files_are_unreadable(tmp_path, name, content):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    assert codes_of(read_boundaries(tmp_path / name)) == [(None, "unreadable")]


def test_empty_feature_collection(tmp_path):
    assert codes_of(read_boundaries(write_geojson(tmp_path / "t.geojson", []))) == [(None, "no_features")]


def test_gbk_geojson_and_a_path_with_an_exclamation_mark(tmp_path):
    # pyogrio reads "a!b" as member b of archive a; GDAL reads only UTF-8 GeoJSON
    path = write_geojson(tmp_path / "乡镇!v2.geojson", [feature({"名称": "阳坊镇"}, square(116.1, 40.1))],
                         encoding="gbk")
    result = read_boundaries(path)
    assert result.problems == []
    assert (result.encoding, result.frame["name"].tolist()) == ("GBK", ["阳坊镇"])
    assert [p.name for p in tmp_path.iterdir()] == ["乡镇!v2.geojson"]  # the UTF-8 copy went elsewhere


def test_problem_codes_are_documented():
    assert WARNING_CODES <= PROBLEM_CODES.keys()
    assert all(text.strip() for text in PROBLEM_CODES.values())
