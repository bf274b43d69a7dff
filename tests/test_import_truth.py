"""The import page tells the truth: after a commit it says which report rows count on the maps
and which the counting rules set aside (household rows take precedence over a 排查汇总's totals),
and its words are Chinese: periods as 2025年6月, field labels without their codes, the data
version's note in words. On a DuckDB file and on a DuckLake alike (test_snapshots' atlas)."""
from datetime import date
from pathlib import Path

import pytest

from i18n import text as tables
from importer import pipeline
from tests.support import connect
from tests.test_import_files import LIANYUN, XUGOU, SUMMARY_HEADER, write_csv
from tests.test_snapshots import atlas  # noqa: F401  (a copy of the demo, the app pointed at it)

TODAY = date(2026, 1, 1)


def household_months(db: Path, township: str) -> set[str]:
    with connect(db) as con:
        return {m for (m,) in con.execute(
            "select distinct strftime(screened_date, '%Y-%m') from screenings where township_code = ?",
            [township]).fetchall()}


def commit(db: Path, tmp_path: Path, rows: list[list[str]]) -> pipeline.Result:
    path = write_csv(tmp_path / "汇总.csv", [SUMMARY_HEADER, *rows])
    result = pipeline.run(path, db, today=TODAY, file_name="汇总.csv")
    assert result.status == "imported", result.errors
    return result


def test_a_return_for_months_with_household_rows_says_nothing_changed(atlas, tmp_path):
    from ui import importing

    assert "2025-06" in household_months(atlas, XUGOU)  # the demo screened 墟沟街道 door to door then
    done = commit(atlas, tmp_path, [["2025年6月", "墟沟街道", "100"]])
    tone, said = importing.outcome(done, "汇总.csv")
    assert tone == "warning"
    assert "没有变化" in said and "墟沟街道（2025年6月）" in said and "逐户" in said
    assert "已按新数据更新" not in said


def test_a_return_partly_counted_names_the_rows_set_aside(atlas, tmp_path):
    from ui import importing

    assert "2019-06" not in household_months(atlas, LIANYUN)
    done = commit(atlas, tmp_path, [["2025年6月", "墟沟街道", "100"], ["2019年6月", "连云街道", "50"]])
    tone, said = importing.outcome(done, "汇总.csv")
    assert tone == "warning"
    assert "其中 1 行已计入" in said and "墟沟街道（2025年6月）" in said and "连云街道" not in said
    from queries import runner

    with runner.connect(atlas) as con:  # the query is scoped like every other
        rows = runner.run(con, "import_reports_counted", import_id=done.import_id, scope=["320703"])
        assert len(rows) == 2
        assert runner.run(con, "import_reports_counted", import_id=done.import_id, scope=["110"]).empty


def test_a_return_counted_in_full_says_the_maps_changed(atlas, tmp_path):
    from ui import importing

    done = commit(atlas, tmp_path, [["2019年6月", "连云街道", "50"]])
    tone, said = importing.outcome(done, "汇总.csv")
    assert tone == "success" and "地图和指标已按新数据更新" in said


def test_periods_are_written_as_people_write_them():
    from ui import importing

    assert importing.periods_text(["2025-11", "2025Q4", "2025"]) == "2025年11月、2025年第四季度、2025年"
    assert importing.periods_text([f"2025-{m:02d}" for m in range(1, 9)], most=2) == (
        "2025年1月、2025年2月" + tables.t("IMPORT_MORE_PERIODS", "zh", n=6))


def test_field_labels_carry_no_codes():
    from ui import importing

    options = importing.field_options("screening")
    assert options["township"] == "乡镇（街道）" or "township" not in options["township"]
    assert not any(name in label for name, label in options.items() if name)


@pytest.mark.parametrize("note, wanted", [
    ("demo seed=20241 scale=1.0", "生成演示数据"),
    ("import screening_summary: 三月汇总.xlsx", "导入排查汇总（按乡镇）“三月汇总"),
    ("undo import 3: 三月汇总.xlsx", "撤销第 3 次导入"),
    ("screening targets: 5 rows", "年度排查目标"),
    ("new database: schema and register", "版本号加一"),
])
def test_the_data_version_note_is_said_in_words(note, wanted):
    from ui import widgets

    said = widgets.data_note(note)
    assert wanted in said
    assert "seed=" not in said and "screening_summary" not in said and "import " not in said


# ---- township candidates and automatic matches, before the commit -------------------------------

DONGHAI_ROWS = [["2019年6月", name, "50"] for name in ("牛山街道", "石榴街道", "青湖镇", "温泉镇", "白塔镇", "黄川乡")]


def test_candidates_come_first_from_the_county_the_file_is_in(atlas, tmp_path):
    path = write_csv(tmp_path / "东海县汇总.csv", [SUMMARY_HEADER, *DONGHAI_ROWS])
    result = pipeline.run(path, atlas, today=TODAY, dry_run=True)
    entry = next(u for u in result.unmatched if u.name == "白塔镇")
    assert entry.candidates[0]["code"] == "320722101000"  # 白塔埠镇, 东海县
    assert entry.candidates[0]["county_name"] == "东海县"
    error = next(e for e in result.errors if e.value == "白塔镇")
    assert "白塔埠镇" in error.message.split("；")[0]


def test_an_automatic_match_is_listed_before_the_commit(atlas, tmp_path):
    path = write_csv(tmp_path / "东海县汇总.csv", [SUMMARY_HEADER, *[r for r in DONGHAI_ROWS if r[1] != "白塔镇"]])
    result = pipeline.run(path, atlas, today=TODAY, dry_run=True)
    assert result.status == "dry_run" and not result.errors
    told = [w for w in result.warnings if w.code == "auto_match"]
    assert [(w.row, w.value) for w in told] == [(6, "黄川乡")]
    assert "黄川镇（东海县，320722103000）" in told[0].message
    assert not [w for w in result.warnings if w.code == "auto_match" and w.value == "青湖镇"]  # exact: no warning


def test_english_says_one_in_the_singular():
    assert tables.t("LEGEND_COUNTIES", "en", n=1) == "1 county"
    assert tables.t("LEGEND_COUNTIES", "en", n=2) == "2 counties"
    assert tables.t("LEGEND_TOWNSHIPS", "en", n="1") == "1 township"
    assert tables.t("LEGEND_COUNTIES", "zh", n=1) == tables.t("LEGEND_COUNTIES", "zh", n=1)
    assert all(k[:-4] in tables.EN for k in tables.EN if k.endswith("_one"))  # a singular of a known key
