"""纠纷统计表 (cases_summary): monthly statistical returns as 妇联, 综治中心 and 司法所 publish them,
one row per township, dispute types across a two- or three-level header, a 合计 row above the
townships, and the month only in the title or on a 填报月份 line. Each file is built here from the
published layout (title rows, 填报 lines, merged cells), imported into a copy of the demo city, and
checked in the tables and in the indicators. Numbers are worked out in the comments."""
import shutil
from pathlib import Path

import duckdb
import pytest

import cli
from importer import fields, templates
from queries import indicators
from tests.support import fingerprint, workbook
from tests.test_import_files import (LIANYUN, XUGOU, assert_imported, city_db, problems, query,  # noqa: F401
                                     run, write_csv)

LIANDAO = "320703003000"  # 连岛街道, 连云区


@pytest.fixture
def atlas(city_db, tmp_path) -> Path:
    path = tmp_path / "atlas.duckdb"
    shutil.copy(city_db, path)
    return path


def save(book, path: Path) -> Path:
    book.save(path)
    return path


def county_return(tmp_path: Path, title: str = "连云区2024年4月矛盾纠纷排查化解情况统计表") -> Path:
    """A county's monthly return: title, 填报 line, 序号 and 镇办 merged over two header rows, each
    type (with its 共计 in the header text) over 排查数 / 化解数 / 未化解数, then 合计 above the
    townships, and the signatures under the table."""
    rows = [
        [title] + [None] * 10,
        ["填报单位（盖章）：连云区妇联", None, None, None, None, None, "填报日期：2024年5月5日", None, None, None, None],
        ["序号", "镇办", "婚姻家庭纠纷（共计：9 件）", None, None, "邻里纠纷（共计：4 件）", None, None, "合计", None, None],
        [None, None, "排查数", "化解数", "未化解数", "排查数", "化解数", "未化解数", "排查数", "化解数", "未化解数"],
        ["合计", None, 9, 7, 2, 4, 3, 1, 13, 10, 3],
        [1, "墟沟街道", 5, 4, 1, 2, 2, 0, 7, 6, 1],
        [2, "连云街道", 4, 3, 1, 2, 1, 1, 6, 4, 2],
        ["填表人：张某", None, None, None, "审核人：李某", None, None, None, None, None, None],
    ]
    merges = ["A1:K1", "A2:F2", "G2:K2", "A3:A4", "B3:B4", "C3:E3", "F3:H3", "I3:K3"]
    return save(workbook({"4月": rows}, {"4月": merges}), tmp_path / "连云区4月纠纷统计表.xlsx")


def township_row(db: Path, period: str, code: str) -> dict:
    with duckdb.connect(str(db), read_only=True) as con:
        frame = indicators.table(con, "township", period, [""])
    return frame.set_index("region_code").loc[code].to_dict()


def test_a_county_return_imports_per_township_and_type(atlas, tmp_path):
    result = run(county_return(tmp_path), atlas)

    assert_imported(result)
    assert result.kind == "cases_summary"
    assert result.periods == ["2024-04"] and result.townships == 2
    assert result.skipped["total"] == 1 and result.skipped["note"] == 1
    assert [w.code for w in result.warnings if w.code == "period_from_title"] == ["period_from_title"]
    got = query(atlas, """select township_code, strftime(period_start, '%Y-%m'), strftime(period_end, '%Y-%m-%d'),
                                 case_type, received, resolved, unresolved
                          from case_summaries order by 1, 4""")
    # the 合计 columns and the 合计 row are totals, not imported
    assert got == [(XUGOU, "2024-04", "2024-04-30", "婚姻家庭纠纷", 5, 4, 1),
                   (XUGOU, "2024-04", "2024-04-30", "邻里纠纷", 2, 2, 0),
                   (LIANYUN, "2024-04", "2024-04-30", "婚姻家庭纠纷", 4, 3, 1),
                   (LIANYUN, "2024-04", "2024-04-30", "邻里纠纷", 2, 1, 1)]


def test_indicators_use_case_rows_where_a_township_has_them_and_the_return_otherwise(atlas, tmp_path):
    # 连云街道 has one case row received and closed (mediated) in April 2024; 墟沟街道 has none
    cases = write_csv(tmp_path / "c.csv", [["案件编号", "受理日期", "乡镇（街道）", "办理结果", "办结日期"],
                                           ["LY-1", "2024-04-08", "连云街道", "调解成功", "2024-04-20"]])
    assert_imported(run(cases, atlas))
    assert_imported(run(county_return(tmp_path), atlas))

    xugou = township_row(atlas, "2024-04", XUGOU)
    # from the return: received 5 + 2 = 7; closed (4+1) + (2+0) = 7; mediated 4 + 2 = 6
    assert (xugou["cases_received"], xugou["cases_closed"], xugou["cases_mediated"]) == (7, 7, 6)
    assert xugou["mediation_success_rate"] == pytest.approx(6 / 7)
    lianyun = township_row(atlas, "2024-04", LIANYUN)
    assert (lianyun["cases_received"], lianyun["cases_closed"], lianyun["cases_mediated"]) == (1, 1, 1)
    # a quarter holds the April return; a source filter leaves returns out (they carry no source)
    q2 = township_row(atlas, "2024Q2", XUGOU)
    assert q2["cases_received"] >= 7
    with duckdb.connect(str(atlas), read_only=True) as con:
        filtered = indicators.table(con, "township", "2024-04", [""],
                                    filters=indicators.Filters(case_sources=("网格员",)))
    assert filtered.set_index("region_code").loc[XUGOU, "cases_received"] == 0
    # the district adds them up: 7 from 墟沟街道's return, 1 row of 连云街道
    with duckdb.connect(str(atlas), read_only=True) as con:
        county = indicators.table(con, "county", "2024-04", [""]).set_index("region_code")
    assert county.loc["320703000000", "cases_received"] == 8


def test_a_three_level_header_with_a_period_line_a_unit_row_and_a_number_row(atlas, tmp_path):
    rows = [
        ["矛盾纠纷排查化解情况统计表（6 月）"] + [None] * 7,
        ["填报单位：连云区综治中心", None, None, None, "填报月份：2024年6月", None, None, None],
        ["序号", "乡镇（街道）", "矛盾纠纷排查化解情况", None, None, None, None, None],
        [None, None, "婚姻家庭纠纷", None, None, "家庭暴力", None, None],
        [None, None, "排查数", "化解数", "未化解数", "排查数", "化解数", "未化解数"],
        ["单位", None, "件", "件", "件", "件", "件", "件"],
        ["甲", "乙", 1, 2, 3, 4, 5, 6],
        [1, "连岛街道", 3, 3, 0, 1, 0, 1],
        [2, "墟沟街道", 6, 5, 1, None, None, None],   # no 家庭暴力 this month: blank, not zero
        ["合计", None, 9, 8, 1, 1, 0, 1],
    ]
    merges = ["A1:H1", "A2:D2", "E2:H2", "A3:A5", "B3:B5", "C3:H3", "C4:E4", "F4:H4"]
    path = save(workbook({"Sheet1": rows}, {"Sheet1": merges}), tmp_path / "6月统计表.xlsx")

    result = run(path, atlas)

    assert_imported(result)
    assert result.header_row == 3 and result.periods == ["2024-06"]
    assert result.mapping["矛盾纠纷排查化解情况/家庭暴力/化解数"] == "resolved#家庭暴力"
    got = query(atlas, """select township_code, case_type, received, resolved, unresolved from case_summaries
                          where period_start = '2024-06-01' order by 1, 2""")
    assert got == [(XUGOU, "婚姻家庭纠纷", 6, 5, 1), (LIANDAO, "婚姻家庭纠纷", 3, 3, 0), (LIANDAO, "家庭暴力", 1, 0, 1)]


def test_a_return_without_a_period_asks_for_one_and_takes_it_from_the_cli(atlas, tmp_path, capsys):
    rows = [["镇办", "婚姻家庭纠纷", None], [None, "排查数", "化解数"], ["墟沟街道", 3, 2]]
    path = save(workbook({"S": rows}, {"S": ["A1:A2", "B1:C1"]}), tmp_path / "无月份.xlsx")
    before = fingerprint(atlas)

    refused = run(path, atlas)

    assert problems(refused) == [(None, None, "no_period")]
    assert "--period" in refused.errors[0].expected
    assert fingerprint(atlas) == before
    assert cli.main(["import", str(path), "--db", str(atlas), "--period", "2024-05", "--json"]) == 0
    assert query(atlas, "select strftime(period_start, '%Y-%m'), received, resolved from case_summaries") == [
        ("2024-05", 3, 2)]


def test_a_period_column_wins_and_a_new_return_replaces_the_months_it_covers(atlas, tmp_path):
    header = [["月份", "乡镇（街道）", "婚姻家庭纠纷", None], [None, None, "排查数", "化解数"]]
    first = save(workbook({"S": header + [["2024年4月", "墟沟街道", 5, 4], ["2024年5月", "墟沟街道", 2, 2]]},
                          {"S": ["A1:A2", "B1:B2", "C1:D1"]}), tmp_path / "a.xlsx")
    corrected = save(workbook({"S": header + [["2024年4月", "墟沟街道", 6, 4]]},
                              {"S": ["A1:A2", "B1:B2", "C1:D1"]}), tmp_path / "b.xlsx")
    assert_imported(run(first, atlas))
    second = run(corrected, atlas)
    assert_imported(second)
    assert second.replaced == 1
    assert query(atlas, """select strftime(period_start, '%Y-%m'), received from case_summaries
                           order by 1""") == [("2024-04", 6), ("2024-05", 2)]


def test_more_resolved_than_found_is_an_error_naming_the_type(atlas, tmp_path):
    rows = [["XX县2024年4月纠纷统计表"], ["镇办", "邻里纠纷", None, None], [None, "排查数", "化解数", "未化解数"],
            ["墟沟街道", 3, 3, 1]]
    path = save(workbook({"S": rows}, {"S": ["A2:A3", "B2:D2"]}), tmp_path / "x.xlsx")
    result = run(path, atlas)
    assert problems(result) == [(4, "邻里纠纷", "resolved_over_received")]
    assert result.errors[0].message == "“邻里纠纷”的化解数与未化解数之和超过排查数"


def test_the_township_panel_says_its_cases_come_from_the_return(atlas, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.test_pages import ROOT, all_text
    from ui import text

    assert_imported(run(county_return(tmp_path), atlas))
    monkeypatch.setenv("ATLAS_DB", str(atlas))

    def panel(town: str) -> str:
        at = AppTest.from_file(str(ROOT / "app_pages" / "overview.py"), default_timeout=60)
        for key, value in {"period": "2024-04", "region": "320700000000", "town": town}.items():
            at.session_state[key] = value
        at.run()
        assert not at.exception, at.exception
        return all_text(at)

    assert text.ZH["PANEL_CASES_FROM_RETURN"] in panel(XUGOU)
    # a township with case rows in the period says so instead (宁海街道 has one in 2024-04)
    at_rows = panel("320706014000")
    assert text.ZH["PANEL_CASES_FROM_ROWS"] in at_rows and text.ZH["PANEL_CASES_FROM_RETURN"] not in at_rows


@pytest.mark.parametrize("kind", fields.LEDGER_KINDS)
def test_every_template_imports_as_its_kind(atlas, tmp_path, kind):
    """The blank ledgers the page hands out are read back as their own kind (a new kind gets a
    template the day it lands)."""
    path = tmp_path / f"模板-{kind}.xlsx"
    templates.workbook(kind).save(path)
    result = run(path, atlas, dry_run=True)
    assert result.kind == kind
    assert result.rows >= 1
    # the test database is a twentieth of the city: 1,520 households screened is more than it has
    assert {e.code for e in result.errors} <= {"screened_over_registered"}


def test_a_type_the_person_leaves_out_is_not_imported(atlas, tmp_path):
    path = county_return(tmp_path)
    mapping = {"邻里纠纷（共计：4 件）/排查数": "", "邻里纠纷（共计：4 件）/化解数": "", "邻里纠纷（共计：4 件）/未化解数": ""}
    result = run(path, atlas, mapping=mapping)
    assert_imported(result)
    assert query(atlas, "select distinct case_type from case_summaries") == [("婚姻家庭纠纷",)]
