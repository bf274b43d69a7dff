"""importer.read on CSV files: Arrow's reader is the fast path, pandas' the reference.

read._csv reads a rectangular file with Arrow's streaming reader and hands over to pandas at the
first row Arrow cannot read the way pandas would (a short or long row, a blank line, a bad byte),
from that row on. Whatever path a file takes, the cells and the Excel row numbers must be the
ones pandas alone gives.
"""
import random
import shutil
from datetime import date

import pytest

from importer import pipeline, read

HEADER = ["排查日期", "乡镇（街道）", "户编号", "风险等级"]
# cells that exercise quoting: a quoted delimiter, a doubled quote, a quoted line break, a stray
# quote inside an unquoted cell, blanks, spaces, a 合计 row's first cell
CELLS = ["2024-03-05", "墟沟街道", '"a,b"', '"x""y"', '" sp "', "", " ", '"多\n行"', "合计", "H1",
         '"\r\n"', 'a"b', '"q"z', "2024年3月5日"]


def pandas_only(monkeypatch):
    def no_arrow(*_args):
        return 0  # "read nothing": the caller reads the whole file with pandas
        yield

    monkeypatch.setattr(read, "_arrow_chunks", no_arrow)


def cells_and_rows(path, size):
    """Every row's cells (whitespace runs as one space: see below), row numbers, and any ReadError."""
    table = read.open_table(path)
    cells, numbers = [], []
    try:
        for chunk, rows in table.chunks(size):
            assert len(chunk) == len(rows) and chunk.shape[1] == len(table.headers)
            # Arrow drops the \n of a quoted \r\n that a block boundary cuts in two; the importer
            # collapses whitespace in every value, so compare as it does
            cells += [[" ".join(str(c).split()) for c in row] for row in chunk.astype(object).values.tolist()]
            numbers += rows.tolist()
    except read.ReadError as error:
        return cells, numbers, (error.code, error.detail)
    return cells, numbers, None


def random_csv(rng: random.Random, path, rectangular: bool):
    encoding = rng.choice(["utf-8", "utf-8-sig", "gbk", "utf-16"])
    delimiter = rng.choice([",", "\t"])
    lines = ["2024年排查台账" + delimiter * 3, delimiter.join(HEADER)]
    for _ in range(rng.randint(0, 30)):
        width = 4 if rectangular or rng.random() < 0.85 else rng.randint(0, 7)
        lines.append(delimiter.join(rng.choice(CELLS).replace(",", delimiter) for _ in range(width)))
    end = rng.choice(["\n", "\r\n"])
    path.write_bytes((end.join(lines) + (end if rng.random() < 0.7 else "")).encode(encoding))


@pytest.mark.parametrize("block", [40, 200, 8 << 20])
@pytest.mark.parametrize("seed", range(4))
def test_arrow_and_pandas_read_the_same_cells_and_row_numbers(tmp_path, monkeypatch, block, seed):
    # small blocks make Arrow fail part way through a file, so the hand-over to pandas mid-file
    # is exercised too, not only "all Arrow" and "all pandas"
    monkeypatch.setattr(read, "ARROW_BLOCK_BYTES", block)
    rng = random.Random(seed * 1000 + block)
    files = []
    for i in range(40):
        path = tmp_path / f"t{i}.csv"
        random_csv(rng, path, rectangular=i % 2 == 0)
        files.append((path, rng.choice([1, 2, 3, 100])))
    fast = [cells_and_rows(path, size) for path, size in files]
    pandas_only(monkeypatch)
    slow = [cells_and_rows(path, size) for path, size in files]
    assert fast == slow


@pytest.mark.parametrize("line_break", [False, True])
def test_rows_after_a_short_row_are_numbered_as_in_excel(tmp_path, monkeypatch, line_break):
    # 3000 rows Arrow reads, a note squeezed into one cell (Arrow cannot read it), then more rows.
    # pandas skips the rows Arrow read by count, or, when a quoted line break makes counting
    # unsafe, reads them again and passes over them
    monkeypatch.setattr(read, "ARROW_BLOCK_BYTES", 16 << 10)
    handovers = []
    pandas_chunks = read._pandas_chunks

    def noted(*args):
        handovers.append(args[-1])
        yield from pandas_chunks(*args)

    monkeypatch.setattr(read, "_pandas_chunks", noted)
    rows = [["标题", "", "", ""], HEADER] + [["2024-03-05", "墟沟街道", f"H{i}", "无"] for i in range(3000)]
    if line_break:
        rows[10][2] = '"H8\r\n(补)"'
    rows += [["说明：短行"]] + [["2024-03-06", "墟沟街道", f"K{i}", "低"] for i in range(5)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    cells, numbers, error = cells_and_rows(path, 1000)
    assert error is None
    assert numbers == list(range(3, 3 + 3006))
    assert cells[8] == ["2024-03-05", "墟沟街道", "H8 (补)" if line_break else "H8", "无"]
    assert cells[3000] == ["说明：短行", "", "", ""]
    assert cells[-1] == ["2024-03-06", "墟沟街道", "K4", "低"]
    assert 0 < handovers[0].done < 3001  # Arrow read the first part
    assert handovers[0].one_line is not line_break


def test_the_reader_is_paced_by_the_rows_taken(tmp_path, monkeypatch):
    # Arrow's streaming reader would read the whole file ahead into memory; it may run only a few
    # blocks ahead of the batches taken, so memory does not grow with the file
    monkeypatch.setattr(read, "ARROW_BLOCK_BYTES", 32 << 10)
    leads = []
    paced_read = read._Paced.read

    def read_and_note(self, size=-1):
        got = paced_read(self, size)
        leads.append(self._reads - self._taken)
        return got

    monkeypatch.setattr(read._Paced, "read", read_and_note)
    path = tmp_path / "big.csv"
    line = "2024-03-05,墟沟街道,H{},无\n"
    path.write_text("标题,,,\n" + ",".join(HEADER) + "\n" + "".join(line.format(i) for i in range(60_000)),
                    encoding="utf-8")
    assert path.stat().st_size > 40 * read.ARROW_BLOCK_BYTES
    total = sum(len(chunk) for chunk, _rows in read.open_table(path).chunks(2000))
    assert total == 60_000
    assert len(leads) > 40 and max(leads) <= read._Paced.AHEAD + 1


def test_an_import_that_changes_reader_mid_file_reports_the_right_rows(tmp_path, monkeypatch, demo_db):
    monkeypatch.setattr(read, "ARROW_BLOCK_BYTES", 4 << 10)
    db = tmp_path / "atlas.duckdb"
    shutil.copy(demo_db, db)
    rows = [["2024年排查台账", "", "", "", "", ""], ["排查日期", "乡镇（街道）", "村（社区）", "户编号", "风险等级", "风险类型"]]
    rows += [["2024-03-05", "墟沟街道", "", f"H{i}", "无", ""] for i in range(400)]
    rows[150][0] = "2024-13-01"                      # row 151 in Excel, read by Arrow
    rows += [[""]]                                   # row 403, a blank line: pandas reads on from here
    rows += [["2024-03-05", "墟沟街道", "", f"K{i}", "高", "家庭暴力"] for i in range(50)]
    rows[440][4] = "很高"                             # row 441 in Excel, read by pandas
    rows += [["合计", "", "", "450", "", ""]]
    path = tmp_path / "台账.csv"
    path.write_text("\r\n".join(",".join(r) for r in rows) + "\r\n", encoding="utf-8")
    result = pipeline.run(path, db, dry_run=True, today=date(2025, 1, 1))
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (151, "排查日期", "bad_month"), (441, "风险等级", "bad_choice_risk")]
    assert result.rows == 450 and result.skipped == {"total": 1, "note": 0, "blank": 1}


@pytest.mark.parametrize("encoding", ["gbk", "utf-8", "utf-16"])
def test_a_bad_byte_past_the_sample_is_the_same_error_on_either_path(tmp_path, monkeypatch, encoding):
    # encoding is guessed from the first 256 KiB; a byte further on that does not decode is
    # found by whichever reader gets there
    monkeypatch.setattr(read, "ARROW_BLOCK_BYTES", 64 << 10)
    lines = ["标题,,,", ",".join(HEADER)] + [f"2024-03-05,墟沟街道,H{i},无" for i in range(30_000)]
    good = ("\r\n".join(lines) + "\r\n").encode(encoding)
    bad = {"gbk": b"\xff\xfe", "utf-8": b"\xff", "utf-16": b"\x00\xdc"}[encoding]  # \x00\xdc: a lone surrogate
    middle = len(good) // 2 // 2 * 2
    path = tmp_path / "t.csv"
    path.write_bytes(good[:middle] + bad + good[middle:])
    fast = cells_and_rows(path, 5000)
    pandas_only(monkeypatch)
    slow = cells_and_rows(path, 5000)
    assert slow[2] is not None and slow[2][0] == "bad_encoding"
    assert fast[2] == slow[2]  # the same message, the position in the file included
    # before it, each hands out whole chunks of good rows (Arrow's end where a block failed)
    expected = [row.split(",") for row in lines[2:]]
    for cells, numbers, _error in (fast, slow):
        assert cells == expected[: len(cells)] and numbers == list(range(3, 3 + len(cells)))


def test_a_gbk_file_whose_sample_ends_inside_a_character(tmp_path):
    # the encoding is guessed from the first 256 KiB, which may end on the first byte of a
    # two-byte character: still GBK, not a bad encoding
    sample = 256 * 1024
    head = ("标题,,,\r\n" + ",".join(HEADER) + "\r\n").encode("gbk")
    body = b"2024-03-05,x,H0,y\r\n" * ((sample - len(head) - 100) // 19)
    row = "2024-03-05,墟沟街道,H1,无\r\n".encode("gbk")
    first_byte = len(head) + len(body) + len(b"2024-03-05,x,H,y\r\n") + row.index("墟".encode("gbk"))
    padding = b"9" * (sample - 1 - first_byte)  # moves 墟's first byte to the sample's last
    path = tmp_path / "t.csv"
    path.write_bytes(head + body + b"2024-03-05,x,H" + padding + b",y\r\n" + row)
    assert path.read_bytes()[sample - 1: sample + 1] == "墟".encode("gbk")
    table = read.open_table(path)
    assert table.encoding == "gb18030"
    cells, _numbers, error = cells_and_rows(path, 100_000)
    assert error is None and cells[-1] == ["2024-03-05", "墟沟街道", "H1", "无"]
