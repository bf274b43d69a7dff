"""Open a ledger file (.xlsx, .xls, .csv, .txt) and find its table: the sheet, the header row(s)
under any title rows, the data rows above any notes, and the row numbers the user sees in Excel.

Rows come out in chunks of raw cells (strings from CSV; str/float/date from Excel), so a
five-million-row CSV is never held in memory at once.
"""
import codecs
import csv
import io
import re
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import python_calamine

from importer import fields, messages

HEADER_SCAN = 30          # rows searched for the header
MAX_HEADER_ROW = 1000     # the furthest row a person may name as the header (--header-row)
PICK_ROWS = 15            # rows shown to pick the header row from
SPARE = 8                 # CSV cells read beyond the header, to catch rows that run over it
CHUNK_ROWS = 200_000
ARROW_BLOCK_BYTES = 4 << 20  # bytes Arrow parses at a time (a row must fit in one)
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
    above: list[list[str]] = field(default_factory=list)  # rows above the header: title, 填报 lines
    # Excel error values (#DIV/0!, #REF!, #N/A …) by Excel row: [(column index, the error)];
    # the reader library gives them as blank cells, so they are found in the sheet's XML
    error_cells: dict = field(default_factory=dict)
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


def open_table(path: str | Path, sheet: str | None = None, file_name: str | None = None,
               header_row: int | None = None, named: set[str] | frozenset = frozenset()) -> Table:
    """The table of a ledger file. header_row (the Excel row number, or the CSV line) is where
    a person says the headers are: the search is skipped, and columns are read from there even
    when none of its headers is known (the mapping then says what they are). `named`: headers
    as written that a person's mapping names; the search counts them as known headers."""
    path = Path(path)
    name = file_name or path.name
    suffix = Path(name).suffix.lower()
    if path.stat().st_size == 0:
        raise ReadError("empty_file")
    if header_row is not None and not 1 <= header_row <= MAX_HEADER_ROW:
        raise ReadError("bad_header_row", str(header_row))
    if suffix in EXCEL_SUFFIXES:
        return _excel(path, name, sheet, header_row, frozenset(named))
    if suffix in TEXT_SUFFIXES:
        return _csv(path, name, header_row, frozenset(named))
    raise ReadError("unknown_type", suffix or name)


def first_rows(path: str | Path, sheet: str | None = None, file_name: str | None = None,
               count: int = PICK_ROWS) -> tuple[str | None, list[str], list[list[str]]]:
    """(sheet, column letters, the first `count` rows as written, padded to one width): to pick
    the header row from. The sheet is the one asked for, else the first visible one."""
    path = Path(path)
    suffix = Path(file_name or path.name).suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        book = _open_book(path)
        names = [sheet] if sheet in book.sheet_names else (_visible(book) or [None])
        if names[0] is None:
            return None, [], []
        found = book.get_sheet_by_name(names[0])
        rows = _head_rows(found, count)
        chosen, col0 = names[0], found.start[1] if found.start else 0
    elif suffix in TEXT_SUFFIXES:
        chosen, col0 = None, None
        with open(path, "rb") as stream:
            sample = stream.read(256 * 1024)
        encoding = detect_encoding(sample)
        lines = sample.decode(encoding, errors="ignore").splitlines()[:count]
        rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=_delimiter(lines)))
    else:
        return None, [], []
    cells = [[_as_written(c) for c in row] for row in rows[:count]]
    width = max((len(r) for r in cells), default=0)
    letters = [str(i + 1) if col0 is None else column_letter(col0 + i) for i in range(width)]
    return chosen, letters, [r + [""] * (width - len(r)) for r in cells]


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


def _open_book(path: Path):
    if zipfile.is_zipfile(path):
        try:
            _check_zip(path)
        except ReadError:
            raise
        except Exception as error:  # BadZipFile; NotImplementedError for a garbled version field
            raise ReadError("unreadable", str(error)[:200]) from None
    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises its own errors and plain ones for garbage
        raise ReadError("unreadable", str(error)[:200]) from None


def _visible(book) -> list[str]:
    return [m.name for m in book.sheets_metadata if str(m.visible).endswith("Visible")
            and str(m.typ).endswith("WorkSheet")] or list(book.sheet_names)


def _head_rows(sheet, count: int) -> list[list]:
    head = []
    try:
        for row in sheet.iter_rows():
            head.append(row)
            if len(head) >= count:
                break
    except Exception as error:
        raise ReadError("unreadable", str(error)[:200]) from None
    return head


def _excel(path: Path, name: str, wanted: str | None, header_row: int | None = None,
           named: frozenset = frozenset()) -> Table:
    book = _open_book(path)
    visible = _visible(book)
    if wanted is not None and wanted not in book.sheet_names:
        raise ReadError("no_such_sheet", f"{wanted} | {'、'.join(book.sheet_names)}")
    best = None
    nearest = None   # the row most like a header, for the message when none is found
    for sheet_name in ([wanted] if wanted else visible):
        try:
            sheet = book.get_sheet_by_name(sheet_name)
            merged = sheet.merged_cell_ranges or []
        except Exception as error:
            raise ReadError("unreadable", str(error)[:200]) from None
        head = _head_rows(sheet, max(HEADER_SCAN, header_row or 0))
        col0 = sheet.start[1] if sheet.start else 0
        found = _find_header(head, merged, col0, None if header_row is None else header_row - 1, named)
        if found and (best is None or found[0] > best[0]):
            best = (*found, sheet_name, sheet, col0, head)
        near = _nearest_header(head)
        if near and (nearest is None or near[0] > nearest[0][0]):
            nearest = (near, sheet_name)
    if best is None and header_row is not None:
        raise ReadError("bad_header_row", str(header_row))
    if best is None:
        raise _no_header([nearest[1]] if nearest else visible, nearest[0] if nearest else None)
    _score, top, bottom, headers, keys, sheet_name, sheet, col0, head = best

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
                 error_cells=_error_cells(path, sheet_name, col0),
                 sheets=list(book.sheet_names), above=[[_as_written(c) for c in r] for r in head[:top]],
                 _source=source)


_ERROR_CELL = re.compile(rb'<c ([^>]*?\bt="e"[^>]*)>(.*?)</c>', re.S)
_CELL_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_CELL_VALUE = re.compile(rb"<v>([^<]*)</v>")


def column_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + ord(char) - 64
    return index - 1


def _error_cells(path: Path, sheet_name: str, col0: int) -> dict[int, list[tuple[int, str]]]:
    """The error values of an .xlsx sheet: {Excel row: [(column index from col0, '#DIV/0!')]}.
    Other formats (.xls, .ods) give none: their reader shows errors as blank cells."""
    import xml.etree.ElementTree as ElementTree

    found: dict[int, list[tuple[int, str]]] = {}
    if not zipfile.is_zipfile(path):
        return found
    try:
        with zipfile.ZipFile(path) as archive:
            book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            rel_id = next((s.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
                           for s in book.iter() if s.tag.endswith("}sheet") and s.get("name") == sheet_name), None)
            target = next((r.get("Target") for r in rels if r.get("Id") == rel_id), None)
            if not target:
                return found
            member = target.lstrip("/") if target.startswith("/") else "xl/" + target
            xml = archive.read(member)
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
        return found
    if b't="e"' not in xml:
        return found
    for match in _ERROR_CELL.finditer(xml):
        ref = _CELL_REF.search(match.group(1))
        value = _CELL_VALUE.search(match.group(2))
        if ref:
            letters, row = ref.group(1).decode(), int(ref.group(2))
            text = value.group(1).decode("utf-8", "replace") if value else "#ERROR"
            found.setdefault(row, []).append((column_index(letters) - col0, text))
    return found


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
        # incrementally: the sample's end may cut a two- or four-byte character in half
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"  # a superset of GBK and GB2312
    except UnicodeDecodeError:
        raise ReadError("bad_encoding") from None


def _delimiter(lines: list[str]) -> str:
    counts = {d: sum(line.count(d) for line in lines) for d in (",", "\t", ";", "|")}
    delimiter = max(counts, key=counts.get)
    return delimiter if counts[delimiter] else ","


def _csv(path: Path, name: str, header_row: int | None = None, named: frozenset = frozenset()) -> Table:
    with open(path, "rb") as stream:
        sample = stream.read(256 * 1024)
    if b"\x00" in sample and not sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReadError("unreadable", "binary")
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="ignore")
    lines = text.splitlines()[:max(HEADER_SCAN, header_row or 0)]
    delimiter = _delimiter(lines)
    head = []
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    while True:
        try:
            head.append(next(reader))
        except StopIteration:
            break
        except csv.Error:  # a cell over csv's field limit (128 KiB) is no header: keep looking
            head.append([])
    found = _find_header(head, [], 0, None if header_row is None else header_row - 1, named)
    if not found and header_row is not None:
        raise ReadError("bad_header_row", str(header_row))
    if not found:
        near = _nearest_header(head)
        raise _no_header([], near)
    _score, top, bottom, headers, keys = found
    # columns with data but no header (a remark column) are kept, unnamed, and ignored
    widest = max((len(r) for r in head[bottom + 1:]), default=0)
    for index in range(len(headers), widest):
        headers.append(f"（第{index + 1}列）")
        keys.append(headers[-1])
    width = len(headers)

    # Arrow skips the title and header rows as lines, pandas as records, the header search as
    # str.splitlines: the same rows unless a quoted cell spans lines or an exotic line break
    # (\x1c, \u2028, …) splits one
    above = lines[: bottom + 1]
    plain_head = not any('"' in line for line in above) and above == re.split("\r\n|\r|\n", text)[: bottom + 1]

    def source(size: int):
        handover = None
        if plain_head:
            handover = yield from _arrow_chunks(path, encoding, delimiter, bottom + 1, width, size)
            if handover is None:  # the whole file was read
                return
        yield from _pandas_chunks(path, encoding, delimiter, bottom + 1, width, size, handover)

    return Table(name, None, headers, keys, (top + 1, bottom + 1), [str(i + 1) for i in range(width)],
                 encoding=encoding, delimiter=delimiter, above=[[_as_written(c) for c in r] for r in head[:top]],
                 _source=source)


def _arrow_chunks(path: Path, encoding: str, delimiter: str, skip: int, width: int, size: int):
    """The fast path for a rectangular file: Arrow's C++ reader, in batches of `size` rows.

    Returns None when it read the whole file, else a _Handover: how far it got before the first
    row it cannot read the way pandas would; the caller reads on from there with pandas, so a
    short or long row or a bad byte gets exactly the pandas treatment.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [str(i) for i in range(width)]
    source = _Paced(path, encoding)
    source.asking()  # opening reads the first block(s)
    try:
        reader = pacsv.open_csv(
            source,
            read_options=pacsv.ReadOptions(
                skip_rows=skip, column_names=names, block_size=ARROW_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                              ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowException, UnicodeError):
        source.close()
        return _Handover(0, None, True)
    try:
        return (yield from _arrow_batches(reader, source, skip, size))
    finally:
        source.close()


@dataclass
class _Handover:
    done: int                 # data rows Arrow read
    last: list | None         # the last of them, to check pandas lands where Arrow stopped
    one_line: bool            # no cell held a line break: each of those rows was one line


def _arrow_batches(reader, source: "_Paced", skip: int, size: int):
    import pyarrow as pa
    import pyarrow.compute as pc

    done = 0
    last = None
    one_line = True
    pending: list = []
    held = 0
    first = skip + 1
    while True:
        source.asking()
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowException, UnicodeError):
            # rows already held back are good: hand them over, pandas reads on after them
            for chunk in _slices(pending, held, size, first + done, flush=True):
                done += len(chunk[0])
                last = chunk[0].iloc[-1].tolist()
                yield chunk
            return _Handover(done, last, one_line)
        source.taken()
        if batch.num_rows:
            one_line = one_line and not any(
                pc.any(pc.match_substring_regex(column, "[\r\n]")).as_py() for column in batch.columns)
            pending.append(batch)
            held += batch.num_rows
        if held >= size:
            for chunk in _slices(pending, held, size, first + done, flush=False):
                done += len(chunk[0])
                held -= len(chunk[0])
                last = chunk[0].iloc[-1].tolist()
                yield chunk
    for chunk in _slices(pending, held, size, first + done, flush=True):
        yield chunk
    return None


class _Paced(io.RawIOBase):
    """The file for Arrow's reader, in UTF-8, read no more than AHEAD blocks ahead of the
    batches taken.

    Arrow's streaming CSV reader reads the whole file ahead into memory as fast as the disk
    allows, so memory grew with the file. Its reads wait here while the caller is busy with the
    batches before them. A read goes ahead anyway when the caller has been waiting for a batch
    for STARVED seconds (a batch can need more reads: rows across blocks), so pacing never
    stalls the reader, and after WAIT seconds whatever happens. Other encodings are decoded
    here, incrementally, so that one read is one block of UTF-8 whatever the file's encoding.
    """
    AHEAD = 2
    STARVED = 0.05
    WAIT = 60.0

    def __init__(self, path: Path, encoding: str = "utf-8"):
        self._file = open(path, "rb")
        # utf-8-sig too is read as it is: Arrow skips a UTF-8 byte order mark
        self._decoder = None if encoding in ("utf-8", "utf-8-sig") else codecs.getincrementaldecoder(encoding)()
        self._spare = b""
        self._reads = 0
        self._taken = 0
        self._asked: float | None = None     # since when the caller waits for a batch
        self._granted = 0.0
        self._turn = threading.Condition()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        deadline = time.monotonic() + self.WAIT
        with self._turn:
            while self._reads >= self._taken + self.AHEAD and time.monotonic() < deadline:
                asked = self._asked
                if asked is not None and time.monotonic() - max(asked, self._granted) > self.STARVED:
                    break
                self._turn.wait(self.STARVED)
            self._reads += 1
            self._granted = time.monotonic()
        if self._decoder is None:
            return self._file.read(size)
        size = size if size > 0 else 1 << 62
        while len(self._spare) < size:
            raw = self._file.read(min(size, 1 << 24))
            self._spare += self._decoder.decode(raw, final=not raw).encode("utf-8")
            if not raw:
                break
        out, self._spare = self._spare[:size], self._spare[size:]
        return out

    def asking(self) -> None:
        with self._turn:
            self._asked = time.monotonic()
            self._turn.notify_all()

    def taken(self) -> None:
        with self._turn:
            self._taken += 1
            self._asked = None
            self._turn.notify_all()

    def close(self) -> None:
        with self._turn:
            self._taken = 1 << 40  # a reader still running is never left waiting
            self._turn.notify_all()
        self._file.close()
        super().close()


def _slices(pending: list, held: int, size: int, first: int, flush: bool):
    """Cut the held batches into frames of `size` rows; the remainder stays in `pending`."""
    import pyarrow as pa

    if not pending:
        return
    table = pa.Table.from_batches(pending)
    pending.clear()
    start = 0
    while held - start >= size or (flush and start < held):
        part = table.slice(start, min(size, held - start))
        frame = part.to_pandas()
        frame.columns = range(part.num_columns)
        yield frame, np.arange(first + start, first + start + len(frame))
        start += len(frame)
    if start < held:
        pending.extend(table.slice(start).to_batches())


def _pandas_chunks(path: Path, encoding: str, delimiter: str, skip: int, width: int, size: int,
                   handover: _Handover | None = None):
    """The rows under the header, read by pandas' C parser; after a _Handover, those after Arrow's."""
    done = handover.done if handover else 0
    start = skip
    if done and handover.one_line and handover.last is not None:
        # pandas can skip single-line rows by count (with a quoted line break in them it can
        # miscount); it starts one row early, to check it lands on Arrow's last row
        start = skip + done - 1
    try:
        reader = pd.read_csv(
            path, sep=delimiter, encoding=encoding, header=None, skiprows=start,
            dtype=str, na_filter=False, skip_blank_lines=False, chunksize=size,
            names=range(width + SPARE), index_col=False, engine="c", quoting=csv.QUOTE_MINIMAL,
        )
        first = start + 1
        drop = done - (start - skip)   # rows Arrow read, still to pass over
        for chunk in reader:
            if start > skip and first == start + 1:
                landed = chunk.iloc[0].tolist()
                if landed[:width] != handover.last or any(landed[width:]):
                    # not where Arrow stopped: read from the top and pass over Arrow's rows
                    yield from _pandas_chunks(path, encoding, delimiter, skip, width, size,
                                              _Handover(done, None, False))
                    return
            if drop:
                passed = min(drop, len(chunk))
                chunk = chunk.iloc[passed:]
                first += passed
                drop -= passed
                if not len(chunk):
                    continue
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


def _as_written(cell) -> str:
    # headers are shown as the user wrote them (full-width brackets and all); matching cleans them
    if cell is None or (isinstance(cell, float) and cell != cell):
        return ""
    return " ".join(str(cell).split())


# ---- header -----------------------------------------------------------------------------------

def _nearest_header(rows: list[list]) -> tuple[tuple[int, int], int, list[str], list[str]] | None:
    """When no row has two known headers: ((known, text cells), index, known, unknown) of the row
    most like a header (the most known headers, then the most cells of text), or None."""
    best = None
    for index, row in enumerate(rows):
        cells = [_as_written(c) for c in row]
        text = [c for c in cells if c and not re.fullmatch(r"[\d.,:/\- ]+", c)]
        if not text:
            continue
        known = [c for c in text if fields.looks_like_header(c)]
        unknown = [c for c in text if not fields.looks_like_header(c) and not fields.ignorable(c)]
        rank = (len(known), len(text))
        if best is None or rank > best[0]:
            best = (rank, index, known, unknown)
    return best


def _no_header(sheets: list[str], near) -> ReadError:
    if near is None:
        return ReadError("no_header", messages.no_header_detail(sheets, None, [], []))
    _rank, index, known, unknown = near
    return ReadError("no_header", messages.no_header_detail(sheets, index + 1, known, unknown))


def _find_header(rows: list[list], merged: list, col0: int, top: int | None = None,
                 named: frozenset = frozenset()):
    """(score, first row, last row, headers, keys) of the best header in the first rows, or None.

    A header row is the row with the most cells that read like known headers, or row `top`
    (0-based) when a person said so; headers a person's mapping names count as known. The row below it is a second header row when it fills the
    gaps a merged cell leaves (风险户数 over 低/中/高).
    """
    if top is not None:
        if top >= len(rows) or not any(_as_written(c) for c in rows[top]):
            return None
        hits = sum(1 for cell in rows[top] if fields.looks_like_header(cell))
    else:
        best = None
        for index, row in enumerate(rows):
            hits = sum(1 for cell in row if fields.looks_like_header(cell) or (named and _as_written(cell) in named))
            if hits >= 2 and (best is None or hits > best[0]):
                best = (hits, index)
        if best is None:
            return None
        hits, top = best
    levels = _return_levels(rows, top)
    if levels is not None:
        return _multi_level(rows, *levels, col0)
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
    return score, top, _under_header(rows, bottom), headers, keys


_UNIT_CELLS = {"件", "人", "个", "户", "起", "次", "人次", "件数", "单位", "甲", "乙", "丙", "栏次", "序号", "万元", "%"}


def _under_header(rows: list[list], bottom: int) -> int:
    """The last header row, counting the 单位 row (件 件 件) and the 序号 row (1 2 3 …) that
    statistical returns put under their header as part of it."""
    while bottom + 1 < len(rows):
        cells = [fields.clean_text(int(c) if isinstance(c, float) and c.is_integer() else c) for c in rows[bottom + 1]]
        filled = [c for c in cells if c]
        if not filled:
            return bottom
        units = all(c.strip("（）()") in _UNIT_CELLS for c in filled)
        numbers = [c for c in filled if c not in _UNIT_CELLS]
        sequence = len(numbers) >= 3 and all(c.isdigit() for c in numbers) and \
            [int(c) for c in numbers] == list(range(int(numbers[0]), int(numbers[0]) + len(numbers)))
        if not (units or sequence):
            return bottom
        bottom += 1
    return bottom


def _return_levels(rows: list[list], top: int) -> tuple[int, int] | None:
    """(first, last) header rows of a statistical return whose measures (排查数 / 化解数 / 未化解数)
    sit under dispute types, under a row that names the townships (镇办): the row found by the
    header search is the measures' row; the township's row is up to three rows above it."""
    measures = [c for c in rows[top] if fields.measure_of(_as_written(c) or "")]
    if len(measures) < 2:
        return None
    for first in range(top - 1, max(-1, top - 4), -1):
        if any(fields.match_header("cases_summary", _as_written(c)) in ("township", "township_code")
               for c in rows[first]):
            return first, top
    return None


def _multi_level(rows: list[list], first: int, last: int, col0: int):
    """The header of rows first..last: each column's levels joined with "/" (婚姻家庭纠纷/排查数),
    a merged parent carried right over the columns that have a level below it."""
    grid = [[_as_written(c) for c in rows[i]] for i in range(first, last + 1)]
    width = max(len(r) for r in grid)
    grid = [r + [""] * (width - len(r)) for r in grid]
    while width and not any(r[width - 1] for r in grid):
        width -= 1
    for level in range(len(grid) - 1):
        last_seen = ""
        for i in range(width):
            below = any(grid[k][i] for k in range(level + 1, len(grid)))
            if grid[level][i]:
                last_seen = grid[level][i]
            elif below and last_seen:
                grid[level][i] = last_seen
            else:
                last_seen = ""
    headers, keys = [], []
    for i in range(width):
        parts = [grid[k][i] for k in range(len(grid)) if grid[k][i]]
        headers.append("/".join(parts) or f"（第{column_letter(col0 + i)}列）")
        keys.append(next((p for p in reversed(parts) if fields.looks_like_header(p)), parts[-1] if parts else headers[-1]))
    score = sum(1 for k in keys if fields.looks_like_header(k))
    return score, first, _under_header(rows, last), headers, keys
