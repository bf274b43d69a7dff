"""Ledgers as real offices send them (issue #11, "Real ledgers in"): the headers of published
司法所/综治 case ledgers and 12348 registers, date-times, a header written twice, a header row the
reader cannot find on its own, and the messages that say what went wrong.

Each file is built here from its published header, title rows and merged cells included, and
imported into a copy of the demo city (the `atlas` fixture of test_import_files).
"""
from datetime import date, datetime

import pytest

from importer import messages, values
from tests.test_import_files import (LIANYUN, XUGOU, assert_imported, atlas, city_db, problems,  # noqa: F401
                                     query, run, write_csv, write_xlsx)


# ---- date-times: the date part is the day (item 4) ---------------------------------------------

@pytest.mark.parametrize("raw", [
    "2025-05-27 11:00:00", "2025/5/27 11:00", "2025年5月27日 11时", "2025年5月27日11时30分",
    "2025-05-27T11:00:00+08:00", "2025-05-27 上午9:30", "2025.5.27 11点半",
    datetime(2025, 5, 27, 11, 0), 45804.4583, "45804.4583",
])
def test_a_date_time_gives_its_date_part(raw):
    assert values.day(raw) == (date(2025, 5, 27), None)


@pytest.mark.parametrize("raw, code, says", [
    ("2025-13-01", "bad_month", "月份 13 不存在"),
    ("2025/2/30 10:00", "bad_day", "2025-02-30 不存在"),
    ("2025-05-32", "bad_day", "2025-05-32 不存在"),
    ("2025-05-27 晚饭后", "bad_time", "时间“晚饭后”无法识别"),
    ("2025-05-27 25:00", "bad_time", "时间“25:00”无法识别"),
])
def test_a_date_error_says_which_part_could_not_be_read(raw, code, says):
    got, problem = values.day(raw)
    assert got is None
    assert messages.split(problem)[0] == code
    assert says in messages.describe(problem)[0]


def test_a_case_list_with_date_times_imports_their_days(atlas, tmp_path):
    rows = [["案件编号", "受理时间", "乡镇", "结案时间"],
            ["T1", "2024-05-27 11:00:00", "墟沟街道", "2024/5/29 16:30"],
            ["T2", datetime(2024, 6, 1, 9, 15), "连云街道", 45450.75],   # 45450.75 = 2024-06-07 18:00
            ["T3", "2024年6月3日 10时", "墟沟街道", None]]
    result = run(write_xlsx(tmp_path / "cases.xlsx", {"案件": rows}), atlas)
    assert_imported(result)
    got = query(atlas, "select case_id, received_date, closed_date from cases where case_id like 'T_' order by 1")
    assert got == [("T1", date(2024, 5, 27), date(2024, 5, 29)), ("T2", date(2024, 6, 1), date(2024, 6, 7)),
                   ("T3", date(2024, 6, 3), None)]


def test_a_bad_month_in_a_date_time_is_named_in_the_error(atlas, tmp_path):
    path = write_csv(tmp_path / "cases.csv", [["案件编号", "受理时间", "乡镇"],
                                              ["T1", "2024-13-27 11:00:00", "墟沟街道"]])
    result = run(path, atlas)
    assert problems(result) == [(2, "受理时间", "bad_month")]
    assert result.errors[0].message == "日期中的月份 13 不存在"


# ---- messages that say what is wrong (item 8) ----------------------------------------------------

def test_a_huge_count_is_a_cell_that_is_too_large_not_a_file(atlas, tmp_path):
    # messages.py used to overwrite the cell's 数值过大 with the boundary reader's 文件过大
    path = write_csv(tmp_path / "regions.csv", [["乡镇", "户数"], ["墟沟街道", "3,000,000,000"]])
    result = run(path, atlas)
    assert problems(result) == [(2, "户数", "too_large")]
    assert result.errors[0].message == "数值过大"


def test_every_boundary_problem_has_its_own_message():
    from geo import boundary_files
    assert set(boundary_files.PROBLEM_CODES) <= set(messages.PROBLEMS)
    assert messages.describe("file_too_large", "9 bytes")[0] == "文件过大（9 bytes）"
