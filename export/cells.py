"""Spreadsheet cells that stay data: every .xlsx and .csv the atlas writes goes through here.

A cell written from a file (a township or room name, a value from a ledger, a file name) may
begin with "=", "+", "-", "@", a tab or a carriage return; Excel and WPS read such a cell of a
CSV as a formula (``=cmd|' /C calc'!A0``, ``=HYPERLINK(...)``), and openpyxl stores such a
string as a formula in an .xlsx. Following OWASP's advice on CSV injection: in a CSV the cell is
prefixed with "'"; in an .xlsx it is written as a string cell, so it shows exactly as written.
Numbers stay numbers, and so does text that is a plain number ("-3", "-1.5%", "1,234").
"""
import io
import re

import pandas as pd
from openpyxl import Workbook

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d,]*(\.\d+)?%?")


def is_formula_like(value) -> bool:
    """True for text a spreadsheet would take for a formula (not for a number, nor "-1.5")."""
    return (isinstance(value, str) and value.startswith(FORMULA_START)
            and not _PLAIN_NUMBER.fullmatch(value))


def csv_text(value):
    """A CSV cell: formula-like text gets a leading "'", everything else is left as it is."""
    return "'" + value if is_formula_like(value) else value


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as a UTF-8 CSV with a BOM (Excel on Chinese Windows reads it right), inert."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(csv_text)
    # CRLF rows: the csv writer then quotes any cell holding a CR or LF, so none splits a row
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def as_text(book: Workbook) -> Workbook:
    """Every cell openpyxl took for a formula becomes a string cell of the same text; the atlas
    writes no formulas of its own."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" or is_formula_like(cell.value):
                    cell.data_type = "s"
    return book


def xlsx_bytes(table: pd.DataFrame, sheet: str) -> bytes:
    """``table`` as a one-sheet .xlsx, columns wide enough for Chinese text, inert."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        table.to_excel(writer, sheet_name=sheet[:31], index=False)
        sheet_ = writer.sheets[sheet[:31]]
        for column in sheet_.columns:
            width = max(len(str(c.value or "")) for c in column) * 2 + 2
            sheet_.column_dimensions[column[0].column_letter].width = min(width, 60)
        as_text(writer.book)
    return buffer.getvalue()
