"""No download carries a live formula: the import problem report (`cli.py import --report` and the
page's 下载问题清单) and the 覆盖盲区 .xlsx/.csv write a cell such as ``=cmd|' /C calc'!A0`` as
text (export/cells.py), and keep numbers numeric."""
import ast
import csv
import io
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import cli
from export import cells
from importer import pipeline, report, templates
from importer.fields import KINDS

ROOT = Path(__file__).resolve().parent.parent
CALC = "=cmd|' /C calc'!A0"
LINK = '=HYPERLINK("https://example.invalid/x","点此查看")'
PAYLOADS = [CALC, LINK, "+1+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "\t=1+1", "\r=1+1"]
# Short enough to be echoed back by a problem (a long or id-like value is hidden: importer/messages.py)
SHORT_LINK = '=HYPERLINK("x")'
ECHOED = [SHORT_LINK, "+cmd|calc", "@SUM(A)", "-x+cmd", "=1+1", "\t=x", "\r=x"]


@pytest.fixture
def db(demo_db, tmp_path) -> Path:
    path = tmp_path / "atlas.duckdb"
    shutil.copy(demo_db, path)
    return path


def hostile_ledger(folder: Path) -> Path:
    """A rooms ledger whose names, types and townships are formulas: every row has a problem."""
    path = folder / "rooms.csv"
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["阵地名称", "阵地类型", "乡镇（街道）", "调解员人数", "建成日期"])
        for payload in ECHOED:
            writer.writerow([payload, payload, payload, payload, payload])
        writer.writerow(["好名字", "婚调坊", SHORT_LINK, "-3", "2020-01-01"])
    return path


def no_formulas(book: openpyxl.Workbook) -> list:
    """(cell values of the book, cells openpyxl reads as formulas)."""
    values, formulas = [], []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                values.append(cell.value)
                if cell.data_type == "f":
                    formulas.append(f"{sheet.title}!{cell.coordinate}: {cell.value}")
    return values, formulas


def test_cli_report_writes_payloads_as_text(db, tmp_path):
    out = tmp_path / "report.xlsx"
    assert cli.main(["import", str(hostile_ledger(tmp_path)), "--kind", "rooms", "--db", str(db),
                     "--report", str(out)]) == 1
    values, formulas = no_formulas(openpyxl.load_workbook(out))
    assert formulas == []
    assert SHORT_LINK in values  # the township as written, listed among the names to confirm
    assert any(isinstance(v, str) and v.startswith("=") for v in values)


def test_page_report_writes_payloads_as_text(db, tmp_path):
    result = pipeline.run(hostile_ledger(tmp_path), db, kind="rooms", dry_run=True)
    assert result.status == "rejected"
    values, formulas = no_formulas(openpyxl.load_workbook(io.BytesIO(report.xlsx_bytes([result]))))
    assert formulas == [] and SHORT_LINK in values


def gaps_like() -> pd.DataFrame:
    return pd.DataFrame({"乡镇（街道）": PAYLOADS + ["墟沟街道"], "户数": list(range(-1, len(PAYLOADS))),
                         "距离（公里）": ["-1.5"] * (len(PAYLOADS) + 1)})


def test_gaps_xlsx_keeps_text_as_text_and_numbers_as_numbers():
    book = openpyxl.load_workbook(io.BytesIO(cells.xlsx_bytes(gaps_like(), "覆盖盲区")))
    values, formulas = no_formulas(book)
    assert formulas == []
    assert all(p in values for p in PAYLOADS)
    assert [c.value for c in book.active["B"][1:]] == list(range(-1, len(PAYLOADS)))
    assert all(c.data_type == "n" for c in book.active["B"][1:])


def test_gaps_csv_prefixes_formula_cells():
    rows = list(csv.reader(io.StringIO(cells.csv_bytes(gaps_like()).decode("utf-8-sig"), newline="")))
    names = [r[0] for r in rows[1:]]
    assert names == ["'" + p for p in PAYLOADS] + ["墟沟街道"]
    assert [r[1] for r in rows[1:]] == [str(n) for n in range(-1, len(PAYLOADS))]  # -1 is a number
    assert {r[2] for r in rows[1:]} == {"-1.5"}  # so is "-1.5" written as text


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_templates_hold_no_formula(kind):
    assert no_formulas(openpyxl.load_workbook(io.BytesIO(templates.xlsx_bytes(kind))))[1] == []


def test_every_spreadsheet_writer_goes_through_export_cells():
    """to_csv / to_excel / a workbook's .save only in export/cells.py, or after cells.as_text."""
    offenders = []
    for folder in ("ui", "app_pages", "export", "importer", "geo", "queries"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == ROOT / "export" / "cells.py":
                continue
            source = path.read_text(encoding="utf-8")
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Attribute) and node.attr in ("to_csv", "to_excel", "ExcelWriter"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.attr}")
            if "openpyxl" in source and ".save(" in source and "cells.as_text" not in source:
                offenders.append(f"{path.relative_to(ROOT)} saves a workbook without cells.as_text")
    assert offenders == []
