"""A real city nobody on this project drew: the 343 Beijing township boundaries of
tests/fixtures/beijing-subdistricts imported into a new database, then ledgers keyed by
their names as people spell them. Also: imported lines replace approximate ones, and a ledger
that arrives before its boundaries is kept and mapped once they come."""
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
import shapely

import cli
from tests.support import beijing_files
from geo import boundary_files
from importer import messages, pipeline
from queries import runner

ROOT = Path(__file__).resolve().parent.parent


def fixture_features() -> dict[str, dict]:
    out = {}
    for path in beijing_files():
        for feature in json.loads(path.read_text(encoding="utf-8"))["features"]:
            props = feature["properties"]
            out[str(props["code"])] = props
    return out


@pytest.fixture(scope="module")
def beijing(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("beijing") / "atlas.duckdb"
    assert not db.exists()
    code = cli.main(["import", *map(str, beijing_files()), "--db", str(db), "--json"])
    assert code == 0
    return db


def test_all_16_files_give_343_townships_with_their_codes(beijing):
    expected = fixture_features()
    assert len(expected) == 343
    with duckdb.connect(str(beijing), read_only=True) as con:
        rows = con.execute("""
            select b.region_code, b.boundary_source, b.geometry, r.in_atlas, r.county_code, r.city_code
            from boundaries as b join regions as r using (region_code)
        """).fetchall()
        demo_rows = con.execute("select count(*) from screenings").fetchall()[0][0]
        cities = runner.run(con, "regions_in_atlas", scope=[""])
    assert sorted(r[0] for r in rows) == sorted(expected)
    assert {r[1] for r in rows} == {"imported"}
    assert all(r[3] for r in rows), "imported townships join the atlas"
    geometries = shapely.from_wkb([r[2] for r in rows])
    assert shapely.is_valid(geometries).all()
    assert set(shapely.get_type_id(geometries)) <= {3, 6}  # Polygon, MultiPolygon
    # a district's townships hang under that district (the fixture's parentCode)
    assert all(r[4] == str(expected[r[0]]["parentCode"]) for r in rows)
    assert demo_rows == 0, "a new database holds the register and what was imported, no demo data"
    assert cities["level"].tolist().count("city") == 1 and cities.iloc[0]["name"] == "北京市"
    assert (cities["level"] == "county").sum() == 16


def test_reimporting_a_boundary_file_is_recognised(beijing, capsys):
    capsys.readouterr()
    first = beijing_files()[0]
    assert cli.main(["import", str(first), "--db", str(beijing), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "unchanged" and out["previous_import"]["file_name"] == first.name


def test_a_ledger_with_variant_spellings_imports(beijing, tmp_path):
    db = tmp_path / "atlas.duckdb"
    shutil.copy(beijing, db)
    features = fixture_features()
    picks = ["110105001000", "110105002000", "110108001000", "110114104000", "110101001000"]
    names = {code: features[code]["Name"] for code in picks}
    spelled = [
        names[picks[0]] + "办事处",                          # 建外街道办事处
        "朝阳区" + names[picks[1]],                          # a district prefix
        " " + names[picks[2]].replace("街道", "") + " ",     # the core name with stray spaces
        names[picks[3]],                                      # exact
        "北京市东城区" + names[picks[4]],                     # city and district prefix
    ]
    ledger = tmp_path / "排查汇总.csv"
    lines = ["乡镇（街道）,月份,排查户数（户）,高风险户数"] + [f"{n},2024年3月,\"1,2{i}0\",{i}" for i, n in enumerate(spelled)]
    ledger.write_bytes("\n".join(lines).encode("gbk"))
    result = pipeline.run(ledger, db)
    assert result.status == "imported", [e.to_json() for e in result.errors]
    with duckdb.connect(str(db), read_only=True) as con:
        got = dict(con.execute("select township_code, households_screened from screening_summaries").fetchall())
    assert got == {code: 1200 + 10 * i for i, code in enumerate(picks)}


def test_every_problem_code_has_words_for_the_user():
    codes = set(boundary_files.PROBLEM_CODES)
    for module in ("importer/values.py", "importer/read.py", "importer/pipeline.py", "importer/boundaries.py"):
        source = (ROOT / module).read_text(encoding="utf-8")
        codes |= set(re.findall(r'(?:ReadError|problems\.add)\(\s*"(\w+)"', source))
        codes |= set(re.findall(r'return None, "(\w+)"', source))
    codes -= {"bad_choice"}  # split into bad_choice_risk / bad_choice_outcome by field
    assert len(codes) > 30
    assert codes <= set(messages.PROBLEMS), sorted(codes - set(messages.PROBLEMS))


def test_imported_boundaries_replace_the_approximate_ones(demo_db, tmp_path):
    db = tmp_path / "atlas.duckdb"
    shutil.copy(demo_db, db)
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("""
            select r.region_code, r.name, b.geometry from regions as r join boundaries as b using (region_code)
            where r.in_atlas order by r.region_code limit 2
        """).fetchall()
    features = [{"type": "Feature", "properties": {"乡镇名称": name, "区划代码": code},
                 "geometry": json.loads(shapely.to_geojson(shapely.from_wkb(wkb)))} for code, name, wkb in rows]
    path = tmp_path / "bureau.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8")
    result = pipeline.run(path, db)
    assert result.status == "imported" and result.replaced == 2
    with duckdb.connect(str(db), read_only=True) as con:
        shapes = runner.run(con, "township_shapes", scope=[""]).set_index("region_code")["boundary_source"]
    assert set(shapes[[code for code, _n, _w in rows]]) == {"imported"}
    assert (shapes == "approximate").sum() == len(shapes) - 2


def test_a_ledger_before_its_boundaries_is_kept_and_mapped_later(tmp_path):
    db = tmp_path / "atlas.duckdb"
    ledger = tmp_path / "区划底数.csv"
    ledger.write_text("区县,乡镇,户数\n延庆区,八达岭镇,\"5,210\"\n", encoding="utf-8-sig")
    result = pipeline.run(ledger, db)
    assert result.status == "imported", [e.to_json() for e in result.errors]
    with duckdb.connect(str(db), read_only=True) as con:
        before = runner.run(con, "township_shapes", scope=["110119"])
        total = con.execute("select households_total from regions where name = '八达岭镇' and in_atlas").fetchall()
    assert before.empty and total == [(5210,)]
    yanqing = next(p for p in beijing_files() if p.name.startswith("yanqing"))
    assert pipeline.run(yanqing, db).status == "imported"
    with duckdb.connect(str(db), read_only=True) as con:
        after = runner.run(con, "township_shapes", scope=["110119"])
    assert "八达岭镇" in set(after["region_name"])


@pytest.mark.parametrize("page", ["coverage", "screening", "hotspots", "overview", "data_import"])
def test_pages_run_on_an_imported_city_without_the_boundary_note(beijing, tmp_path, monkeypatch, page):
    from streamlit.testing.v1 import AppTest

    db = tmp_path / "atlas.duckdb"
    shutil.copy(beijing, db)
    ledger = tmp_path / "区划.csv"  # households known for one district only: the rest stay null
    ledger.write_text("区县,乡镇,户数,村（社区）数\n东城区,东华门街道,\"12,000\",9\n", encoding="utf-8")
    summary = tmp_path / "汇总.csv"
    summary.write_text("乡镇,月份,排查户数\n东华门街道,2024年3月,600\n", encoding="utf-8")
    assert pipeline.run(ledger, db).status == "imported"
    assert pipeline.run(summary, db).status == "imported"
    monkeypatch.setenv("ATLAS_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app_pages" / f"{page}.py"), default_timeout=60)
    at.session_state["period"] = "2024-03"
    at.session_state["region"] = "110100000000"
    at.run()
    assert not at.exception, at.exception
    shown = " ".join(str(e.value) for e in [*at.caption, *at.markdown, *at.info])
    assert "示意边界" not in shown, "imported boundaries carry no 示意边界 note"


@pytest.mark.parametrize("page", ["overview", "coverage", "screening", "hotspots"])
def test_the_app_opens_on_boundaries_alone_before_any_ledger(beijing, tmp_path, monkeypatch, page):
    """A new region starts from a boundary file: the app opens on it (this month, every township
    grey) instead of failing for want of a period."""
    from streamlit.testing.v1 import AppTest

    db = tmp_path / "atlas.duckdb"
    shutil.copy(beijing, db)
    monkeypatch.setenv("ATLAS_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    if page != "overview":
        at.switch_page(f"app_pages/{page}.py")
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["region"] == "110100000000"
    assert any(i.value == "该时期暂无数据" for i in at.sidebar.info)


def test_the_fixture_is_carried_in_the_repository_with_its_licence():
    """Both README commands must work in a plain clone, where the shared folder does not exist."""
    from tests.support import BEIJING, ROOT

    assert BEIJING.is_relative_to(ROOT) and len(beijing_files()) == 16
    assert "MIT" in (BEIJING / "LICENSE").read_text(encoding="utf-8")
    assert "bj-subdistricts" in (BEIJING / "SOURCE").read_text(encoding="utf-8")
    shared = "/".join(("..", "shared"))  # not written whole, so this file does not find itself
    for path in (ROOT / "tests").glob("*.py"):
        assert shared not in path.read_text(encoding="utf-8"), path
