"""Headers written over the wrong columns (风险等级 over the household id column, 户数 over it, …):
no household id comes back in the CLI's text or JSON, the .xlsx problem report, the preview, the
problem list or the first rows the page shows to pick the header row (importer/messages.py:
``echoed`` and ``masked``)."""
import csv
import io
import json
import shutil
from pathlib import Path

import openpyxl
import pytest

import cli
from importer import messages, pipeline, report
from ui import importing

IDS = ["H0001", "XP-2024-00017", "320703001010-0042", "A12", "hh_3", "13912345678"]
TOWN, TOWN_NAME = "320703001000", "墟沟街道"
# kind -> (header row, one row per id: the id sits under a header that is not the id's)
LEDGERS = {
    # the probe's case: 风险等级 written over the id column, 户编号 over the risk levels
    "screening": (["排查日期", "乡镇区划代码", "风险等级", "户编号"], lambda i: ["2024-03-05", TOWN, i, "无"]),
    # the township column holds the ids: they come back as township names to confirm
    "screening-township": (["排查日期", "乡镇（街道）", "户编号", "风险等级"], lambda i: ["2024-03-05", i, "X1", "无"]),
    "cases": (["受理日期", "乡镇区划代码", "风险等级", "纠纷类型"], lambda i: ["2024-03-05", TOWN, i, "婚姻家庭纠纷"]),
    "rooms": (["阵地名称", "阵地类型", "乡镇区划代码", "调解员人数", "是否达标"],
              lambda i: ["调解室", "婚调坊", TOWN, i, i]),
    "screening_summary": (["月份/季度", "乡镇（街道）", "排查户数（户）"], lambda i: ["2024年3月", TOWN_NAME, i]),
    "cases_summary": (["统计月份", "乡镇（街道）", "排查数（件）"], lambda i: ["2024年3月", TOWN_NAME, i]),
    "regions": (["乡镇区划代码", "户数（户）"], lambda i: [i, i]),
    "targets": (["乡镇区划代码", "年度", "排查目标户数（户）"], lambda i: [TOWN, i, i]),
}


@pytest.fixture(scope="module")
def db(demo_db, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ids") / "atlas.duckdb"
    shutil.copy(demo_db, path)
    return path


def ledger(folder: Path, name: str) -> Path:
    header, row = LEDGERS[name]
    path = folder / f"{name}.csv"
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(row(i) for i in IDS)
    return path


def kind_of(name: str) -> str:
    return name.split("-")[0]


def leaks(text: str) -> list[str]:
    return [i for i in IDS if i in text]


@pytest.mark.parametrize("name", list(LEDGERS))
def test_cli_text_json_and_report_hold_no_id(name, db, tmp_path, capsys):
    path = ledger(tmp_path, name)
    out = tmp_path / "report.xlsx"
    assert cli.main(["import", str(path), "--kind", kind_of(name), "--db", str(db), "--dry-run", "--json",
                     "--report", str(out)]) == 1
    printed = capsys.readouterr()
    found = json.loads(printed.out)
    assert found["errors"] or found["unmatched"], "the ids must cause problems, or the test proves nothing"
    assert leaks(printed.out + printed.err) == []
    book = openpyxl.load_workbook(out)
    cells = " ".join(str(c.value) for s in book.worksheets for row in s.iter_rows() for c in row if c.value is not None)
    assert leaks(cells) == []
    assert cli.main(["import", str(path), "--kind", kind_of(name), "--db", str(db), "--dry-run"]) == 1
    printed = capsys.readouterr()
    assert leaks(printed.out + printed.err) == []
    assert messages.HIDDEN_VALUE in printed.out or found["unmatched"]


@pytest.mark.parametrize("name", list(LEDGERS))
def test_preview_problem_list_and_first_rows_hold_no_id(name, db, tmp_path):
    path = ledger(tmp_path, name)
    result = pipeline.run(path, db, kind=kind_of(name), dry_run=True)
    assert result.status == "rejected"
    frames = [result.preview.to_csv() if result.preview is not None else ""]
    frames += [json.dumps([e.to_json() for e in result.errors + result.warnings], ensure_ascii=False)]
    frames += [json.dumps([u.to_json() for u in result.unmatched + result.left_out], ensure_ascii=False)]
    frames += [report.text_summary(result)]
    book = openpyxl.load_workbook(io.BytesIO(report.xlsx_bytes([result])))
    frames += [" ".join(str(c.value) for s in book.worksheets for row in s.iter_rows() for c in row)]
    letters, rows = importing.first_rows(path, path.name, None)
    frames += [json.dumps(rows, ensure_ascii=False)]
    assert rows and any(messages.HIDDEN_CELL in r for r in rows)
    assert leaks(" ".join(frames)) == []


@pytest.mark.parametrize("value", ["中等", "较高", "2024-13-05", "2024年3月", "2024/2/30", "-3", "12.5", "1,234",
                                   "119.2345", "34.5, 200.1", "abc", "婚姻家庭纠纷", "#DIV/0!", "#N/A"])
def test_a_value_that_cannot_be_an_id_is_still_echoed(value):
    assert messages.echoed(value) == value and messages.masked(value) == value


@pytest.mark.parametrize("value", IDS + ["00017", "320703001010", "ID 7", "张三家-12", "1#2", "x" * 21])
def test_an_id_like_value_is_hidden(value):
    assert messages.echoed(value) == messages.HIDDEN_VALUE
