"""Damaged files thrown at importer.pipeline.run. Whatever arrives, the importer answers with a
Result: a file it cannot use is rejected with at least one problem a person can read, nothing
escapes as an exception, and the database is exactly as it was (same data version, same rows).

The database is a small one built here (a city, a county, four townships): what is under test is
the reading and checking of files, and an import against it takes a tenth of a second.
"""
import csv
import hashlib
import io
import shutil
import unicodedata
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from db import schema
from importer import fields, pipeline
from tests.support import fingerprint, workbook

TODAY = date(2025, 1, 1)
FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

TOWNSHIPS = {"墟沟街道": "320703001000", "连云街道": "320703002000", "连岛街道": "320703003000",
             "板桥街道": "320703004000"}
SUMMARY_HEADER = ["月份", "乡镇", "排查户数", "高风险户数"]
CASES_HEADER = ["案件编号", "受理日期", "乡镇", "办理结果", "办结日期", "纠纷类型"]


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "small.duckdb"
    with duckdb.connect(str(path)) as con:
        schema.create(con)  # the app's own DDL
        schema.household_salt(con)
        con.execute("""
            insert into regions (region_code, name, level, parent_code, province_code, city_code, county_code,
                                 households_total, villages_total, in_atlas) values
                ('320000000000', '江苏省', 'province', null, '320000000000', null, null, null, null, false),
                ('320700000000', '连云港市', 'city', '320000000000', '320000000000', '320700000000', null, null, null, false),
                ('320703000000', '连云区', 'county', '320700000000', '320000000000', '320700000000', '320703000000', null, null, false),
                ('320703001000', '墟沟街道', 'township', '320703000000', '320000000000', '320700000000', '320703000000', 716, 10, true),
                ('320703002000', '连云街道', 'township', '320703000000', '320000000000', '320700000000', '320703000000', 582, 8, true),
                ('320703003000', '连岛街道', 'township', '320703000000', '320000000000', '320700000000', '320703000000', 539, 3, true),
                ('320703004000', '板桥街道', 'township', '320703000000', '320000000000', '320700000000', '320703000000', 950, 12, true);
            insert into screening_summaries (township_code, period_start, period_end, households_screened, risk_low, risk_medium, risk_high) values ('320703001000', '2024-01-01', '2024-01-31', 300, 10, 5, 1);
        """)
    return path


@pytest.fixture(scope="module")
def before(small_db) -> "Snapshot":
    """The small database as built; every copy of it starts out the same."""
    return Snapshot(small_db)


@pytest.fixture
def atlas(small_db, tmp_path) -> Path:
    """This test's copy, shared by its examples: a rejected file must leave it as it was."""
    path = tmp_path / "atlas.duckdb"
    shutil.copy(small_db, path)
    return path


class Snapshot:
    """What a database holds before files are thrown at it.

    `same(db)` compares the file's bytes first (a rejected import only opens the database
    read-only, so they should not change at all) and only when they differ the fingerprint: a
    byte-identical file holds the same data, and hashing 1.5 MB is far cheaper than querying every
    table after each of hundreds of examples.
    """

    def __init__(self, db: Path):
        self.digest = hashlib.sha256(db.read_bytes()).hexdigest()
        self.tables = fingerprint(db)

    def same(self, db: Path) -> bool:
        if Path(str(db) + ".wal").exists():
            return False
        return hashlib.sha256(db.read_bytes()).hexdigest() == self.digest or fingerprint(db) == self.tables


def run_safely(path: Path, db: Path, **kwargs) -> pipeline.Result:
    """pipeline.run, with any exception turned into a test failure that names the file."""
    kwargs.setdefault("today", TODAY)
    try:
        return pipeline.run(path, db, **kwargs)
    except BaseException as error:  # a calamine panic is a BaseException, not an Exception
        pytest.fail(f"{type(error).__name__} escaped pipeline.run for {path.name} "
                    f"({path.stat().st_size} bytes): {error!s:.300}")


def assert_rejected(result: pipeline.Result, db: Path, before: Snapshot) -> None:
    assert result.status == "rejected", result.status
    assert result.errors, "rejected without saying why"
    assert all(e.message.strip() and e.code for e in result.errors)
    assert result.accepted == 0
    assert before.same(db), "a rejected file changed the database"


def csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list]]) -> bytes:
    buffer = io.BytesIO()
    workbook(sheets).save(buffer)
    return buffer.getvalue()


VALID_ROWS = [SUMMARY_HEADER, ["2024年3月", "墟沟街道", 100, 2], ["2024年3月", "连云街道", 50, 0]]
VALID_XLSX = xlsx_bytes({"汇总": [["2024年3月排查汇总"]] + VALID_ROWS})


def test_the_undamaged_files_import(atlas, tmp_path):
    # the fuzz below starts from these: they must be good, or "rejected" would prove nothing
    (tmp_path / "ok.xlsx").write_bytes(VALID_XLSX)
    (tmp_path / "ok.csv").write_bytes(csv_bytes(VALID_ROWS, "gbk"))
    assert run_safely(tmp_path / "ok.xlsx", atlas, dry_run=True).status == "dry_run"
    assert run_safely(tmp_path / "ok.csv", atlas, dry_run=True).status == "dry_run"


# ---- broken containers ----------------------------------------------------------------------------

@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(VALID_XLSX) - 1))
def test_truncated_xlsx_is_rejected(atlas, before, tmp_path, cut):
    path = tmp_path / "汇总.xlsx"
    path.write_bytes(VALID_XLSX[:cut])
    assert_rejected(run_safely(path, atlas), atlas, before)


# "version needed to extract" of the first central directory entry: 0xFF is zip version 25.5,
# which zipfile refuses with NotImplementedError rather than BadZipFile (fixed in importer/read.py)
EXTRACT_VERSION = VALID_XLSX.index(b"PK\x01\x02") + 6


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(VALID_XLSX) - 1), st.integers(0, 255)), min_size=1, max_size=30))
@example(flips=[(EXTRACT_VERSION, 0xFF)])
def test_corrupted_xlsx_is_rejected_or_read(atlas, before, tmp_path, flips):
    damaged = bytearray(VALID_XLSX)
    for position, byte in flips:
        damaged[position] = byte
    path = tmp_path / "汇总.xlsx"
    path.write_bytes(bytes(damaged))
    result = run_safely(path, atlas, dry_run=True)
    if result.status != "dry_run":  # a flipped byte in a zip member's slack can leave it readable
        assert_rejected(result, atlas, before)
    assert before.same(atlas)


@FUZZ
@given(data=st.one_of(
    st.binary(max_size=4000),
    st.binary(max_size=4000).map(lambda b: b"PK\x03\x04" + b),                          # a zip's magic
    st.binary(max_size=4000).map(lambda b: bytes.fromhex("D0CF11E0A1B11AE1") + b),       # an OLE2 (.xls) magic
    st.text(max_size=2000).map(lambda t: t.encode("utf-8")),
), suffix=st.sampled_from([".xlsx", ".csv", ".xls"]))
def test_random_bytes_are_rejected(atlas, before, tmp_path, data, suffix):
    path = tmp_path / f"台账{suffix}"
    path.write_bytes(data)
    assert_rejected(run_safely(path, atlas), atlas, before)


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    """An .xlsx-shaped zip whose sheet inflates from ~50 KB to 50 MB of zeros."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.xlsx"
    block = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            for _ in range(50):
                member.write(block)
    return path


def test_zip_bomb_is_refused_before_it_is_inflated(atlas, before, zip_bomb):
    assert zip_bomb.stat().st_size < 1_000_000
    result = run_safely(zip_bomb, atlas)
    assert_rejected(result, atlas, before)
    assert [e.code for e in result.errors] == ["unsafe_zip"]


# ---- damaged tables ---------------------------------------------------------------------------------

@FUZZ
@given(fmt=st.sampled_from(["csv", "xlsx"]), header=st.booleans(), title=st.booleans(),
       blank_rows=st.integers(0, 3), empty_sheets=st.integers(0, 2))
def test_empty_sheets_and_header_only_are_rejected(atlas, before, tmp_path, fmt, header, title, blank_rows,
                                                   empty_sheets):
    rows = ([["2024年3月排查汇总"]] if title else []) + ([SUMMARY_HEADER] if header else []) + [[""] * 4] * blank_rows
    if fmt == "csv":
        path = tmp_path / "空.csv"
        path.write_bytes(csv_bytes(rows) if rows else b"\r\n")
    else:
        path = tmp_path / "空.xlsx"
        path.write_bytes(xlsx_bytes({"数据": rows, **{f"Sheet{i}": [] for i in range(empty_sheets)}}))
    result = run_safely(path, atlas)
    assert_rejected(result, atlas, before)
    assert {e.code for e in result.errors} <= {"no_header", "no_rows", "empty_file"}


# 100,000 characters in a cell; in a CSV 150,000, over the csv module's 128 KiB field limit
HUGE = {"xlsx": 100_000, "csv": 150_000}


@FUZZ
@given(fmt=st.sampled_from(["csv", "xlsx"]), where=st.sampled_from(["title", "header", "period", "township", "count"]))
def test_huge_cells(atlas, before, tmp_path, fmt, where):
    huge = "x" * HUGE[fmt]  # ASCII: a CSV's header is looked for in its first 256 KB
    title = [huge] if where == "title" else ["2024年3月排查汇总"]
    header = SUMMARY_HEADER + ([huge] if where == "header" else [])
    row = ["2024年3月", "墟沟街道", "100", "2"]
    column = {"period": 0, "township": 1, "count": 2}.get(where)
    if column is not None:
        row[column] = huge
    rows = [title, header, row, ["2024年3月", "连云街道", "50", "0"]]
    path = tmp_path / f"大.{fmt}"
    path.write_bytes(csv_bytes(rows) if fmt == "csv" else xlsx_bytes({"汇总": rows}))

    result = run_safely(path, atlas, dry_run=True)

    if where == "title":  # the table under a huge title is still found
        assert result.status == "dry_run", [(e.code, e.message) for e in result.errors]
    elif where == "header":  # an extra column with a huge header: ignored, or the header not found
        if result.status != "dry_run":
            assert_rejected(result, atlas, before)
    else:  # the huge cell is reported where it is, shortened
        assert_rejected(result, atlas, before)
        assert (3, SUMMARY_HEADER[column]) in [(e.row, e.column) for e in result.errors]
        assert all(e.value is None or len(e.value) <= 80 for e in result.errors)
    assert before.same(atlas)


# Cells of typed columns: either a value that parses, or text that cannot (it starts with a Latin
# letter: no number, date, month or township does), or anything at all.
PERIODS = st.sampled_from(["2024年3月", "2024-04", "2024.5", "2024年第2季度", "202406"])
DATES = st.sampled_from(["2024-03-05", "2024/3/6", "2024.3.7", "2024年3月8日", "45360"])
COUNTS = st.integers(0, 400).map(str)
NAMES = st.sampled_from(list(TOWNSHIPS))
OUTCOMES = st.sampled_from(["调解成功", "在办", "转诉讼", ""])
BAD = st.from_regex(r"[A-Za-z][A-Za-z0-9 .:%/-]{0,12}", fullmatch=True)
ANYTHING = st.text(alphabet=st.characters(exclude_categories=["Cs", "Cc"]), max_size=15)


def cell(good):
    return st.one_of(good.map(lambda v: ("good", v)), BAD.map(lambda v: ("bad", v)),
                     ANYTHING.map(lambda v: ("any", v)))


def may_be_skipped(row) -> bool:
    """A row with a 合计 or 注 word in it may be read as a total or a note, and skipped."""
    text = unicodedata.normalize("NFKC", "".join(value for _how, value in row))
    return any(word in text for word in fields.TOTAL_WORDS + fields.NOTE_WORDS)


SUMMARY_ROW = st.tuples(cell(PERIODS), cell(NAMES), cell(COUNTS), cell(COUNTS))
CASES_ROW = st.tuples(st.uuids().map(lambda u: ("good", u.hex[:8])), cell(DATES), cell(NAMES), cell(OUTCOMES),
                      cell(DATES), ANYTHING.map(lambda v: ("any", v)))


@FUZZ
@given(kind_rows=st.one_of(
    st.tuples(st.just("screening_summary"), st.lists(SUMMARY_ROW, min_size=1, max_size=6)),
    st.tuples(st.just("cases"), st.lists(CASES_ROW, min_size=1, max_size=6)),
))
def test_wrong_types_in_typed_columns(small_db, before, tmp_path, kind_rows):
    kind, drawn = kind_rows
    header = SUMMARY_HEADER if kind == "screening_summary" else CASES_HEADER
    rows = [[value for _how, value in row] for row in drawn]
    db = tmp_path / "atlas.duckdb"
    shutil.copy(small_db, db)  # an example may import: each starts from the same database
    path = tmp_path / "台账.csv"
    path.write_bytes(csv_bytes([header] + rows))

    result = run_safely(path, db, kind=kind)

    bad_cells = [(number, header[column]) for number, row in enumerate(drawn, start=2)
                 for column, (how, _value) in enumerate(row) if how == "bad" and not may_be_skipped(row)]
    if result.status == "imported":
        assert not bad_cells and not result.errors
        with duckdb.connect(str(db), read_only=True) as con:
            table = "screening_summaries" if kind == "screening_summary" else "cases"
            stored = con.execute(f"select count(*) from {table} where township_code like '3207%'").fetchall()[0][0]
        assert stored >= result.accepted > 0
        return
    assert_rejected(result, db, before)
    flagged = {(e.row, e.column) for e in result.errors}
    flagged |= {(row, "乡镇") for u in result.unmatched for row in u.rows}
    for number, column in bad_cells:  # every cell that cannot be a value is named, row and column
        assert (number, column) in flagged



@settings(FUZZ, phases=[Phase.explicit, Phase.generate])  # no shrinking: the first failure is enough
@given(widths=st.lists(st.integers(0, 7), min_size=1, max_size=8))
def test_csv_rows_with_inconsistent_column_counts(atlas, before, tmp_path, widths):
    # read._csv reads rows with pandas' C parser; a row with two or more cells beyond the header
    # raises ParserError, which the chunk reader turns into ReadError("bad_csv") while
    # pipeline._parse_into iterates table.chunks(). Only open_table is inside the try that turns
    # a ReadError into a problem, so this one leaves pipeline.run as an exception.
    full = ["2024年3月", "墟沟街道", "100", "2", "多余", "多余", "多余"]
    rows = [SUMMARY_HEADER] + [full[:width] for width in widths]
    path = tmp_path / "参差.csv"
    path.write_bytes(csv_bytes(rows))
    result = run_safely(path, atlas, dry_run=True)
    if result.status != "dry_run":
        assert_rejected(result, atlas, before)
    assert before.same(atlas)
