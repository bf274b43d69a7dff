"""No import may lose data (issue: "Real ledgers in"): repeated records are kept once or named,
case lists merge by id, what a file would replace is said before it is, and every import can be
undone, bringing back exactly what it replaced. Each test imports into its own copy of the demo
city (tests/test_import_files.py explains city_db) and checks the tables and the indicators; every
test runs twice, on a DuckDB file and on a DuckLake (issue 17: the conftest fixture on_backend)."""
import json
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

import cli
from importer import history, pipeline
from queries import indicators
from tests.support import connect, fingerprint
from tests.test_import_files import (LIANYUN, XUGOU, assert_imported, city_db, problems, query,  # noqa: F401
                                     run, write_csv)

NINGHAI = "320706014000"  # 宁海街道, 海州区: two demo cases in 2024-01 at test scale
HEADER = ["排查日期", "乡镇", "户编号", "风险等级"]
CASES = ["案件编号", "受理日期", "乡镇（街道）", "纠纷类型", "办理结果", "办结日期"]


@pytest.fixture
def atlas(city_db, on_backend):
    return on_backend(city_db)


def township_indicators(db: Path, period: str) -> list[dict]:
    """Every indicator of every township, NaN (no denominator) written as None, to compare."""
    with connect(db) as con:
        frame = indicators.table(con, "township", period, [""])
    rows = frame.sort_values("region_code").astype(object).to_dict("records")
    return [{k: (None if v != v else v) for k, v in row.items()} for row in rows]


def data_tables(db: Path) -> list:
    """Every table's rows and content hash, less the import log and the data version."""
    return [row for row in fingerprint(db)[1:] if row[0] not in ("imports", "data_version")]


def version(db: Path) -> int:
    return query(db, "select version from data_version")[0][0]


# ---- repeated records ---------------------------------------------------------------------------

def test_the_same_visit_twice_is_kept_once_with_a_warning(atlas, tmp_path):
    # one household visited once, entered twice: as an Excel date and as the text 2024.3.5
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for n in range(300):
        sheet.append([date(2024, 3, 5), "墟沟街道", f"H{n}", "无"])
    sheet.append(["2024.3.5", "墟沟街道", "H7", "无"])       # row 302: row 9 again
    sheet.append([datetime(2024, 3, 5), "墟沟街道", "H8", "无"])  # row 303: row 10 again
    path = tmp_path / "排查.xlsx"
    book.save(path)

    result = run(path, atlas, replace=True)

    assert_imported(result)
    assert result.duplicates_dropped == 2 and result.accepted == 300 and result.rows == 302
    dropped = [(w.row, w.code, w.message) for w in result.warnings if w.code == "duplicate_dropped"]
    assert dropped == [(302, "duplicate_dropped", "与第 9 行是同一条记录，只保留一次"),
                       (303, "duplicate_dropped", "与第 10 行是同一条记录，只保留一次")]
    march = query(atlas, """select count(*), count(distinct household_id) from screenings
                            where township_code = ? and screened_date = '2024-03-05'""", [XUGOU])
    assert march == [(300, 300)]
    assert json.loads(query(atlas, "select summary from imports")[0][0])["duplicates_dropped"] == 2


def test_the_same_case_id_with_other_values_names_both_rows_and_the_columns(atlas, tmp_path):
    path = write_csv(tmp_path / "c.csv", [CASES,
                                          ["A1", "2024-03-05", "墟沟街道", "邻里", "在办", ""],
                                          ["A2", "2024-03-05", "墟沟街道", "婚姻", "在办", ""],
                                          ["A1", "2024-03-05", "墟沟街道", "邻里", "在办", ""],   # same record
                                          ["A2", "2024-03-09", "墟沟街道", "婚姻", "调解成功", "2024-03-20"]])
    before = fingerprint(atlas)

    result = run(path, atlas)

    assert result.status == "rejected"
    assert problems(result) == [(5, "受理日期、办理结果、办结日期", "conflicting_duplicate")]
    assert result.errors[0].message == "与第 3 行是同一记录（编号相同，或同户同日），但“受理日期、办理结果、办结日期”不同"
    assert [w.row for w in result.warnings if w.code == "duplicate_dropped"] == [4]
    assert fingerprint(atlas) == before


def test_two_rooms_with_one_name_in_a_village_are_two_rooms(atlas, tmp_path):
    header = ["阵地名称", "阵地类型", "乡镇", "村（社区）", "经度", "纬度", "建成日期"]
    path = write_csv(tmp_path / "r.csv", [header,
                                          ["和美家庭工作室", "婚调坊", "墟沟街道", "东山社区", "119.40", "34.75", "2021-05-01"],
                                          ["和美家庭工作室", "家事调解工作室", "墟沟街道", "东山社区", "119.41", "34.76",
                                           "2023-02-01"],
                                          ["和美家庭工作室", "婚调坊", "墟沟街道", "东山社区", "119.40", "34.75", "2021-05-01"],
                                          ["连云驿站", "和合之家", "连云街道", "", "", "", "2022-01-01"]])

    result = run(path, atlas, replace=True)

    assert_imported(result)
    assert result.accepted == 3 and result.duplicates_dropped == 1
    assert [(w.row, w.code) for w in result.warnings if w.code in ("same_name_room", "duplicate_dropped")] == [
        (3, "same_name_room"), (4, "duplicate_dropped")]
    rooms = query(atlas, "select room_type, opened_date from rooms where township_code = ? order by 2", [XUGOU])
    assert rooms == [("婚调坊", date(2021, 5, 1)), ("家事调解工作室", date(2023, 2, 1))]


# ---- cases merge by id; replacing says what, and asks ------------------------------------------

def test_a_partial_case_list_adds_and_updates_by_id_and_keeps_the_rest(atlas, tmp_path):
    jan = "received_date between '2024-01-01' and '2024-01-31'"
    existing = query(atlas, f"select case_id, outcome from cases where township_code = ? and {jan} order by 1", [NINGHAI])
    assert len(existing) >= 2
    kept_id, updated_id = existing[0][0], existing[1][0]
    before = township_indicators(atlas, "2024-01")
    path = write_csv(tmp_path / "c.csv", [CASES,
                                          [updated_id, "2024-01-03", "宁海街道", "邻里纠纷", "转诉讼", "2024-01-20"],
                                          ["NEW-1", "2024-01-04", "宁海街道", "婚姻家庭", "调解成功", "2024-01-10"]])

    result = run(path, atlas)

    assert_imported(result)
    assert result.replaced == 1 and not result.needs_replace
    got = dict(query(atlas, f"select case_id, outcome from cases where township_code = ? and {jan}", [NINGHAI]))
    assert set(got) == {c for c, _ in existing} | {"NEW-1"}      # nothing dropped
    assert got[updated_id] == "转诉讼" and got[kept_id] == dict(existing)[kept_id]
    after = {r["region_code"]: r for r in township_indicators(atlas, "2024-01")}
    assert after[NINGHAI]["cases_received"] == next(r for r in before if r["region_code"] == NINGHAI)["cases_received"] + 1


def test_a_case_list_without_ids_replaces_its_months_only_when_told(atlas, tmp_path):
    jan = "received_date between '2024-01-01' and '2024-01-31'"
    n = query(atlas, f"select count(*) from cases where township_code = ? and {jan}", [NINGHAI])[0][0]
    assert n >= 2
    header = CASES[1:]
    path = write_csv(tmp_path / "c.csv", [header, ["2024-01-03", "宁海街道", "邻里纠纷", "在办", ""]])
    before = fingerprint(atlas)

    refused = run(path, atlas)
    dry = run(path, atlas, dry_run=True)
    assert refused.status == "rejected" and fingerprint(atlas) == before
    assert refused.errors[0].message == f"将替换 宁海街道 2024年1月已有的 {n} 件纠纷（本文件 1 件），多于本文件带来的记录"
    assert dry.status == "dry_run" and dry.needs_replace

    assert_imported(run(path, atlas, replace=True))
    assert query(atlas, f"select count(*) from cases where township_code = ? and {jan}", [NINGHAI]) == [(1,)]


# ---- undo -------------------------------------------------------------------------------------

def test_import_replace_undo_brings_back_every_number(atlas, tmp_path):
    periods = ("2024-03", "2024-05", "2024")
    demo_numbers = {p: township_indicators(atlas, p) for p in periods}
    demo_tables = data_tables(atlas)
    v0 = version(atlas)

    first = run(write_csv(tmp_path / "s1.csv", [HEADER] + [["2024-03-05", "墟沟街道", f"H{i}", "高"] for i in range(40)]),
                atlas, replace=True)
    cases = run(write_csv(tmp_path / "c.csv", [CASES, ["X1", "2024-05-03", "连云街道", "邻里", "在办", ""]]), atlas)
    regions = run(write_csv(tmp_path / "r.csv", [["乡镇", "户数"], ["墟沟街道", "99999"]]), atlas)
    for r in (first, cases, regions):
        assert_imported(r)
    assert {p: township_indicators(atlas, p) for p in periods} != demo_numbers

    for r in (regions, cases, first):  # newest first
        history.undo(atlas, r.import_id, "tester")

    assert {p: township_indicators(atlas, p) for p in periods} == demo_numbers  # value for value
    assert data_tables(atlas) == demo_tables
    assert version(atlas) == v0 + 6  # three imports and three undos, each a new data version
    assert query(atlas, "select count(*) from imports where undone_at is null") == [(0,)]
    with pytest.raises(history.UndoRefused) as again:
        history.undo(atlas, first.import_id, "tester")
    assert again.value.code == "undo_already"
    # an undone file can be imported again (it is no longer "unchanged")
    assert run(tmp_path / "c.csv", atlas).status == "imported"


def test_a_corrected_ledger_undone_brings_back_the_first(atlas, tmp_path):
    rows = lambda day, level: [HEADER] + [[day, "墟沟街道", f"H{i}", level] for i in range(20)]  # noqa: E731
    first = run(write_csv(tmp_path / "a.csv", rows("2024-03-05", "高")), atlas, replace=True)
    assert_imported(first)
    after_first = township_indicators(atlas, "2024-03")
    second = run(write_csv(tmp_path / "b.csv", rows("2024-03-07", "低")), atlas, replace=True)
    assert_imported(second)
    assert township_indicators(atlas, "2024-03") != after_first
    before = fingerprint(atlas)

    # every row of the first was replaced: it is superseded, and what it replaced is let go
    with pytest.raises(history.UndoRefused) as refused:
        history.undo(atlas, first.import_id, "tester")
    assert refused.value.code == "undo_superseded"
    assert fingerprint(atlas) == before
    assert query(atlas, "select replaced_by, count(*) from screenings_replaced group by 1") == [(second.import_id, 20)]

    history.undo(atlas, second.import_id, "tester")
    assert township_indicators(atlas, "2024-03") == after_first


def test_undo_in_the_wrong_order_is_refused_and_writes_nothing(atlas, tmp_path):
    a = run(write_csv(tmp_path / "a.csv", [CASES, ["K1", "2024-05-03", "墟沟街道", "邻里", "在办", ""],
                                           ["K2", "2024-05-04", "墟沟街道", "邻里", "在办", ""]]), atlas)
    b = run(write_csv(tmp_path / "b.csv", [CASES, ["K1", "2024-05-03", "墟沟街道", "邻里", "调解成功", "2024-05-09"]]),
            atlas)
    assert_imported(a), assert_imported(b)
    before = fingerprint(atlas)

    with pytest.raises(history.UndoRefused) as refused:
        history.undo(atlas, a.import_id, "tester")

    assert refused.value.code == "undo_later_first" and refused.value.detail == f"{a.import_id}|{b.import_id}"
    assert fingerprint(atlas) == before
    history.undo(atlas, b.import_id, "tester")
    history.undo(atlas, a.import_id, "tester")
    assert query(atlas, "select count(*) from cases where case_id in ('K1', 'K2')") == [(0,)]


def test_boundary_import_can_be_undone(atlas, tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    frame = gpd.GeoDataFrame({"name": ["墟沟街道"]}, geometry=[box(119.40, 34.70, 119.45, 34.75)], crs="EPSG:4326")
    path = tmp_path / "b.geojson"
    frame.to_file(path, driver="GeoJSON")
    before = data_tables(atlas)

    result = run(path, atlas)
    assert_imported(result)
    assert query(atlas, "select boundary_source from boundaries where region_code = ?", [XUGOU]) == [("imported",)]
    history.undo(atlas, result.import_id, "tester")

    assert data_tables(atlas) == before


def test_cli_replace_and_undo(atlas, tmp_path, capsys):
    path = write_csv(tmp_path / "s.csv", [HEADER, ["2024-03-05", "墟沟街道", "H1", "低"]])
    assert cli.main(["import", str(path), "--db", str(atlas), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["needs_replace"] and out["replacements"][0]["township"] == "墟沟街道"
    assert cli.main(["import", str(path), "--db", str(atlas), "--json", "--replace"]) == 0
    import_id = json.loads(capsys.readouterr().out)["import_id"]

    assert cli.main(["import", "--undo", str(import_id), "--db", str(atlas), "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["status"] == "undone" and done["removed"] == 1 and done["restored"] > 1
    assert cli.main(["import", "--undo", str(import_id), "--db", str(atlas)]) == 1
    assert "已撤销" in capsys.readouterr().err
