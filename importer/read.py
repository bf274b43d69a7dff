"""Open a ledger file (.xlsx, .xls, .csv, .txt) and find its table: the sheet, the header row(s)
under any title rows, the data rows above any notes, and the row numbers the user sees in Excel.

Rows come out in chunks of raw cells (strings from CSV; str/float/date from Excel), so a
five-million-row CSV is never held in memory at once.
"""
import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import python_calamine

from importer import fields

HEADER_SCAN = 30          # rows searched for the header
SPARE = 8                 # CSV cells read beyond the header, to catch rows that run over it
CHUNK_ROWS = 200_000
MAX_ZIP_BYTES = 1_000_000_000
MAX_ZIP_RATIO = 200
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
TEXT_SUFFIXES = {".csv", ".txt", ".tsv"}


class ReadError(Exception):
    """A whole-file problem: `code` is a key of messages.PROBLEMS, `detail` fills it in."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass
class Table:
    file_name: str
    sheet: str | None
    headers: list[str]              # as written (two header rows are joined with "/")
    keys: list[str]                 # the text each header is matched by
    header_rows: tuple[int, int]    # first and last header row, as Excel numbers them
    columns: list[str]              # Excel column letters (A, B, …) or CSV field numbers
    encoding: str | None = None
    delimiter: str | None = None
    sheets: list[str] = field(default_factory=list)
    _source: object = None          # rows (Excel) or a reader factory (CSV)

    def chunks(self, size: int = CHUNK_ROWS) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """(cells, Excel row numbers) for every row under the header, blank rows included."""
        yield from self._source(size)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def open_table(path: str | Path, sheet: str | None = None, file_name: str | None = None) -> Table:
    path = Path(path)
    name = file_name or path.name
    suffix = Path(name).suffix.lower()
    if path.stat().st_size == 0:
        raise ReadError("empty_file")
    if suffix in EXCEL_SUFFIXES:
        return _excel(path, name, sheet)
    if suffix in TEXT_SUFFIXES:
        return _csv(path, name)
    raise ReadError("unknown_type", suffix or name)


# ---- Excel ----------------------------------------------------------------------------------

def _check_zip(path: Path) -> None:
    # .xlsx is a zip: refuse a bomb before the parser inflates it
    with zipfile.ZipFile(path) as archive:
        total = 0
        for info in archive.infolist():
            total += info.file_size
            if info.file_size > 1_000_000 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                raise ReadError("unsafe_zip", info.filename)
        if total > MAX_ZIP_BYTES:
            raise ReadError("unsafe_zip", f"{total} bytes")


def _excel(path: Path, name: str, wanted: str | None) -> Table:
    if zipfile.is_zipfile(path):
        try:
            _check_zip(path)
        except ReadError:
            raise
        except Exception as error:  # BadZipFile; NotImplementedError for a garbled version field
            raise ReadError("unreadable", str(error)[:200]) from None
    try:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises its own errors and plain ones for garbage
        raise ReadError("unreadable", str(error)[:200]) from None
    visible = [m.name for m in book.sheets_metadata if str(m.visible).endswith("Visible")
               and str(m.typ).endswith("WorkSheet")] or list(book.sheet_names)
    if wanted is not None and wanted not in book.sheet_names:
        raise ReadError("no_such_sheet", f"{wanted} | {'、'.join(book.sheet_names)}")
    best = None
    for sheet_name in ([wanted] if wanted else visible):
        try:
            sheet = book.get_sheet_by_name(sheet_name)
            rows = sheet.iter_rows()
            head = []
            for row in rows:
                head.append(row)
                if len(head) >= HEADER_SCAN:
                    break
            merged = sheet.merged_cell_ranges or []
        except Exception as error:
            raise ReadError("unreadable", str(error)[:200]) from None
        col0 = sheet.start[1] if sheet.start else 0
        found = _find_header(head, merged, col0)
        if found and (best is None or found[0] > best[0]):
            best = (*found, sheet_name, sheet, col0)
    if best is None:
        raise ReadError("no_header", "、".join(visible))
    _score, top, bottom, headers, keys, sheet_name, sheet, col0 = best

    def source(size: int):
        rows = sheet.iter_rows()
        chunk, numbers = [], []
        for index, row in enumerate(rows):
            if index <= bottom:
                continue
            chunk.append(row)
            numbers.append(index + 1)
            if len(chunk) >= size:
                yield _frame(chunk, len(headers)), np.asarray(numbers)
                chunk, numbers = [], []
        if chunk:
            yield _frame(chunk, len(headers)), np.asarray(numbers)

    return Table(name, sheet_name, headers, keys, (top + 1, bottom + 1),
                 [column_letter(col0 + i) for i in range(len(headers))],
                 sheets=list(book.sheet_names), _source=source)


def _frame(rows: list[list], width: int) -> pd.DataFrame:
    fixed = [(r + [""] * (width - len(r)))[:width] if len(r) != width else r for r in rows]
    frame = pd.DataFrame(fixed, columns=range(width), dtype=object)
    return frame


# ---- CSV ------------------------------------------------------------------------------------

def detect_encoding(sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.start >= len(sample) - 3:  # a character cut by the sample's end
            return "utf-8"
    try:
        sample.decode("gb18030")
        return "gb18030"  # a superset of GBK and GB2312
    except UnicodeDecodeError:
        raise ReadError("bad_encoding") from None


def _csv(path: Path, name: str) -> Table:
    with open(path, "rb") as stream:
        sample = stream.read(256 * 1024)
    if b"\x00" in sample and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReadError("unreadable", "binary")
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="ignore")
    lines = text.splitlines()[:HEADER_SCAN]
    counts = {d: sum(line.count(d) for line in lines) for d in (",", "\t", ";", "|")}
    delimiter = max(counts, key=counts.get)
    if counts[delimiter] == 0:
        delimiter = ","
    head = []
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    while True:
        try:
            head.append(next(reader))
        except StopIteration:
            break
        except csv.Error:  # a cell over csv's field limit (128 KiB) is no header: keep looking
            head.append([])
    found = _find_header(head, [], 0)
    if not found:
        raise ReadError("no_header", "")
    _score, top, bottom, headers, keys = found
    # columns with data but no header (a remark column) are kept, unnamed, and ignored
    widest = max((len(r) for r in head[bottom + 1:]), default=0)
    for index in range(len(headers), widest):
        headers.append(f"（第{index + 1}列）")
        keys.append(headers[-1])
    width = len(headers)

    def source(size: int):
        try:
            reader = pd.read_csv(
                path, sep=delimiter, encoding=encoding, header=None, skiprows=bottom + 1,
                dtype=str, na_filter=False, skip_blank_lines=False, chunksize=size,
                names=range(width + SPARE), index_col=False, engine="c", quoting=csv.QUOTE_MINIMAL,
            )
            first = bottom + 2
            for chunk in reader:
                numbers = np.arange(first, first + len(chunk))
                first += len(chunk)
                # cells beyond the header: a comma inside an unquoted value shifted the row
                spill = chunk.iloc[:, width:].ne("").any(axis=1).to_numpy()
                if spill.any():
                    raise ReadError("bad_csv", f"第 {int(numbers[spill][0])} 行的列数多于表头（{width} 列）")
                yield chunk.iloc[:, :width], numbers
        except UnicodeDecodeError as error:
            raise ReadError("bad_encoding", str(error)[:120]) from None
        except pd.errors.ParserError as error:
            raise ReadError("bad_csv", str(error)[:200]) from None

    return Table(name, None, headers, keys, (top + 1, bottom + 1), [str(i + 1) for i in range(width)],
                 encoding=encoding, delimiter=delimiter, _source=source)


def _as_written(cell) -> str:
    # headers are shown as the user wrote them (full-width brackets and all); matching cleans them
    if cell is None or (isinstance(cell, float) and cell != cell):
        return ""
    return " ".join(str(cell).split())


# ---- header -----------------------------------------------------------------------------------

def _find_header(rows: list[list], merged: list, col0: int):
    """(score, first row, last row, headers, keys) of the best header in the first rows, or None.

    A header row is the row with the most cells that read like known headers. The row below it
    is a second header row when it fills the gaps a merged cell leaves (风险户数 over 低/中/高).
    """
    best = None
    for index, row in enumerate(rows):
        hits = sum(1 for cell in row if fields.looks_like_header(cell))
        if hits >= 2 and (best is None or hits > best[0]):
            best = (hits, index)
    if best is None:
        return None
    hits, top = best
    upper = [_as_written(c) for c in rows[top]]
    while upper and not upper[-1]:
        upper.pop()
    bottom = top
    lower = None
    if top + 1 < len(rows):
        below = [_as_written(c) for c in rows[top + 1]][: max(len(upper), 1) + 8]
        below += [""] * (len(upper) - len(below))
        merged_here = any(r0 == top and c1 > c0 for (r0, c0), (_r1, c1) in merged)
        gaps = any(not upper[i] and below[i] for i in range(min(len(upper), len(below))))
        gaps = gaps or any(below[i] for i in range(len(upper), len(below)))
        holes = any(upper[i] and not below[i] for i in range(len(upper)))
        filled = [c for c in below if c]
        header_like = sum(1 for c in filled if fields.looks_like_header(c))
        # without a merge to go by, a first data row can leave the same gaps and holes (an open
        # case: 办结日期 blank, a remark in an unnamed column); a sub-header row reads like headers
        if header_like and (merged_here or (gaps and holes and 2 * header_like >= len(filled))):
            lower = below
            bottom = top + 1
    if lower is not None:
        width = max(len(upper), max((i + 1 for i, c in enumerate(lower) if c), default=0))
        upper += [""] * (width - len(upper))
        lower = (lower + [""] * width)[:width]
        filled, last = [], ""
        for i in range(width):
            # a merged parent covers the blanks to its right that have a sub-header below
            last = upper[i] or (last if lower[i] else "")
            filled.append(last)
        headers, keys = [], []
        for parent, child in zip(filled, lower):
            if parent and child:
                headers.append(f"{parent}/{child}")
                options = [parent + child, child, parent]
            else:
                headers.append(parent or child)
                options = [parent or child]
            keys.append(next((o for o in options if fields.looks_like_header(o)), options[0]))
        score = sum(1 for k in keys if fields.looks_like_header(k))
    else:
        headers = list(upper)
        keys = list(upper)
        score = hits
    for i, header in enumerate(headers):
        if not header:
            headers[i] = keys[i] = f"（第{column_letter(col0 + i)}列）"
    return score, top, bottom, headers, keys
