"""Faults a hostile-input probe found (issue 13), each reproduced here on files and databases the
test builds, then checked to hold: concurrent creation of one new database, leftovers of killed
imports, a quote in the temp folder's path, an unwritable --report, a file that is not a database,
Excel error values, control characters anywhere in a file."""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import openpyxl
import pytest

import cli
from tests.support import fingerprint
from tests.test_import_files import XUGOU, assert_imported, city_db, problems, query, run, write_csv  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def atlas(city_db, tmp_path) -> Path:
    path = tmp_path / "atlas.duckdb"
    shutil.copy(city_db, path)
    return path


def summary_file(path: Path, town: str, month: str, n: int) -> Path:
    return write_csv(path, [["月份", "乡镇", "排查户数"], [month, town, str(n)]])


# ---- 1: two imports creating one new database ------------------------------------------------

def test_two_imports_into_one_new_path_keep_both_files(tmp_path):
    db = tmp_path / "new" / "atlas.duckdb"
    files = [summary_file(tmp_path / f"f{i}.csv", town, "2024年3月", 10 + i)
             for i, town in enumerate(["墟沟街道", "连云街道", "连岛街道"])]  # each one of its name in China
    procs = [subprocess.Popen([sys.executable, "cli.py", "import", str(f), "--db", str(db), "--json"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in files]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [(json.loads(o[0])['status'], json.loads(o[0])['errors'][:3]) if o[0].strip() else o[1][-400:] for o in outs]
    reported = sorted(json.loads(o[0])["import_id"] for o in outs)
    assert reported == [1, 2, 3]  # never two "import 1"
    with duckdb.connect(str(db), read_only=True) as con:
        kept = con.execute("select households_screened from screening_summaries order by 1").fetchall()
        logged = con.execute("select count(*) from imports").fetchall()[0][0]
    assert kept == [(10,), (11,), (12,)] and logged == 3
    assert sorted(p.name for p in db.parent.iterdir()) == ["atlas.duckdb"]  # no lock or half-made file left


# ---- 4: what killed imports leave, and what imports make ---------------------------------------

def test_leftovers_of_killed_imports_are_swept_and_staging_is_private(atlas, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    # what a killed import leaves: a staging folder with raw ids, a half-made new database
    old = tmp_path / "tmp" / "atlas-import-killed"
    old.mkdir()
    (old / "staging.duckdb").write_bytes(b"raw household ids")
    half = atlas.with_name(f".{atlas.name}.new-99999")
    half.write_bytes(b"half a database")
    recent = tmp_path / "tmp" / "atlas-import-running"  # another import, still going: kept
    recent.mkdir()
    an_hour_ago = time.time() - 3700
    for path in (old / "staging.duckdb", old, half):
        os.utime(path, (an_hour_ago, an_hour_ago))
    seen = []
    real_mkdtemp = tempfile.mkdtemp

    def watching(*args, **kwargs):
        made = real_mkdtemp(*args, **kwargs)
        seen.append(stat.S_IMODE(os.stat(made).st_mode))
        return made
    monkeypatch.setattr(tempfile, "mkdtemp", watching)

    result = run(summary_file(tmp_path / "s.csv", "墟沟街道", "2024年3月", 10), atlas, replace=True)

    assert_imported(result)
    assert not old.exists() and not half.exists() and recent.exists()
    assert seen == [0o700]  # the staging folder was private while it lived
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == ["atlas-import-running"]  # and is gone


# ---- 5: a quote in the temp folder's path -------------------------------------------------------

def test_a_quote_in_the_temp_folder_path_does_not_break_imports(atlas, tmp_path, monkeypatch):
    quoted = tmp_path / "o'brien's temp"
    quoted.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(quoted))
    assert_imported(run(summary_file(tmp_path / "s.csv", "墟沟街道", "2024年3月", 10), atlas, replace=True))


# ---- 6: --report to a path that cannot be written ---------------------------------------------

def test_an_unwritable_report_path_is_refused_before_anything_is_written(atlas, tmp_path, capsys):
    before = fingerprint(atlas)
    path = summary_file(tmp_path / "s.csv", "墟沟街道", "2024年3月", 10)
    with pytest.raises(SystemExit) as stopped:
        cli.main(["import", str(path), "--db", str(atlas), "--replace", "--report", str(tmp_path / "no" / "r.xlsx")])
    assert stopped.value.code == 2
    assert "--report: cannot write" in capsys.readouterr().err
    assert fingerprint(atlas) == before


# ---- 7: a file that is not a database -----------------------------------------------------------

def test_a_file_that_is_not_a_database_is_said_at_once(tmp_path, capsys):
    not_db = tmp_path / "台账.duckdb"
    not_db.write_text("乡镇,户数\n", encoding="utf-8")
    path = summary_file(tmp_path / "s.csv", "墟沟街道", "2024年3月", 10)
    started = time.monotonic()
    assert cli.main(["import", str(path), "--db", str(not_db)]) == 2
    assert cli.main(["indicators", "--db", str(not_db), "--json"]) == 2
    assert time.monotonic() - started < 10  # not 120 s blamed on a lock
    err = capsys.readouterr().err
    assert err.count("not an atlas database") == 2 and "Traceback" not in err
    assert not_db.read_text(encoding="utf-8") == "乡镇,户数\n"


# ---- 8: Excel error values ----------------------------------------------------------------------

def test_excel_error_values_are_errors_naming_the_cell(atlas, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["月份", "乡镇", "排查户数", "备注"])
    sheet.append(["2024年3月", "墟沟街道", 10, None])
    sheet.append(["2024年3月", "连云街道", None, None])
    sheet.append(["2024年3月", "板桥街道", None, None])
    for ref, error in (("C3", "#DIV/0!"), ("C4", "#REF!"), ("D2", "#N/A")):  # D: an ignored column
        sheet[ref] = error
        sheet[ref].data_type = "e"
    path = tmp_path / "errors.xlsx"
    book.save(path)
    before = fingerprint(atlas)

    result = run(path, atlas)

    assert result.status == "rejected"
    excel = [(e.row, e.column, e.value) for e in result.errors if e.code == "excel_error"]
    assert excel == [(3, "排查户数", "#DIV/0!"), (4, "排查户数", "#REF!")]
    assert "Excel 错误值 #DIV/0!" in next(e.message for e in result.errors if e.code == "excel_error")
    assert fingerprint(atlas) == before


# ---- 9: control characters anywhere in a file ----------------------------------------------------

def test_control_characters_are_stripped_from_every_text_field_wherever_they_are(atlas, tmp_path):
    header = "阵地名称,阵地类型,乡镇,经度,纬度,建成日期\n"
    filler = "".join(f"填充阵地{i:05d},婚调坊,连云街道,,,2020-01-01\n" for i in range(9000))  # > 256 KiB
    tail = "和美\x00家庭\x1b工作室,婚\x07调坊,墟沟街道,,,2021-05-01\n"
    path = tmp_path / "rooms.csv"
    path.write_bytes((header + filler + tail).encode("utf-8"))
    assert path.stat().st_size > 256 * 1024

    result = run(path, atlas, replace=True)

    assert_imported(result)
    assert query(atlas, "select name, room_type from rooms where township_code = ?", [XUGOU]) == [
        ("和美家庭工作室", "婚调坊")]
    with duckdb.connect(str(atlas), read_only=True) as con:
        control = con.execute(r"""select count(*) from rooms
                                  where regexp_matches(name || room_type, '[\x00-\x1f\x7f]')""").fetchall()
    assert control == [(0,)]


# ---- 3: damaged geometries of every kind ---------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

SQUARE = [[119.40, 34.70], [119.45, 34.70], [119.45, 34.75], [119.40, 34.75], [119.40, 34.70]]
DAMAGE = {
    "unclosed ring": lambda: {"type": "Polygon", "coordinates": [SQUARE[:-1]]},
    "two-point ring": lambda: {"type": "Polygon", "coordinates": [SQUARE[:2]]},
    "one-point ring": lambda: {"type": "Polygon", "coordinates": [SQUARE[:1]]},
    "empty ring": lambda: {"type": "Polygon", "coordinates": [[]]},
    "no rings": lambda: {"type": "Polygon", "coordinates": []},
    "bow tie": lambda: {"type": "Polygon", "coordinates": [[[119.40, 34.70], [119.45, 34.75], [119.45, 34.70],
                                                            [119.40, 34.75], [119.40, 34.70]]]},
    "hole outside its shell": lambda: {"type": "Polygon", "coordinates": [SQUARE, [[120, 35], [120.1, 35],
                                                                                   [120.1, 35.1], [120, 35]]]},
    "unclosed hole": lambda: {"type": "Polygon", "coordinates": [SQUARE, [[119.41, 34.71], [119.42, 34.71],
                                                                          [119.42, 34.72]]]},
    "multipolygon with a broken part": lambda: {"type": "MultiPolygon", "coordinates": [[SQUARE], [SQUARE[:2]]]},
    "a point": lambda: {"type": "Point", "coordinates": [119.42, 34.72]},
    "a line": lambda: {"type": "LineString", "coordinates": SQUARE[:3]},
    "null geometry": lambda: None,
    "coordinates out of range": lambda: {"type": "Polygon", "coordinates": [[[1e9, 1e9], [2e9, 1e9], [2e9, 2e9],
                                                                             [1e9, 1e9]]]},
    "a repeated point only": lambda: {"type": "Polygon", "coordinates": [[SQUARE[0]] * 4]},
}
NAMES = ["墟沟街道", "连云街道", "板桥街道", "连岛街道", "云山街道"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(sorted(DAMAGE)), min_size=1, max_size=4))
def test_damaged_geometries_are_row_errors_never_a_traceback(atlas, tmp_path, damages):
    features = [{"type": "Feature", "properties": {"name": NAMES[0]},
                 "geometry": {"type": "Polygon", "coordinates": [SQUARE]}}]
    for n, damage in enumerate(damages, start=1):
        features.append({"type": "Feature", "properties": {"name": NAMES[n]}, "geometry": DAMAGE[damage]()})
    path = tmp_path / "damaged.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    before = fingerprint(atlas)

    result = run(path, atlas, dry_run=True)

    codes = {e.code for e in result.errors}
    assert "internal_error" not in codes  # every kind of damage is known, none met by accident
    assert all(e.row is not None for e in result.errors if e.code not in ("no_crs", "bad_crs")), result.errors
    assert result.status in ("dry_run", "rejected")
    assert fingerprint(atlas) == before


def test_every_kind_of_damage_in_one_file_gives_json_naming_each_feature(atlas, tmp_path):
    features = [{"type": "Feature", "properties": {"name": f"乡镇{n}"}, "geometry": make()}
                for n, make in enumerate(DAMAGE.values(), start=1)]
    path = tmp_path / "every-damage.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    out = subprocess.run([sys.executable, "cli.py", "import", str(path), "--db", str(atlas), "--json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr[-600:]
    got = json.loads(out.stdout)
    assert got["status"] == "rejected"
    broken = sorted({e["row"] for e in got["errors"] if e["code"] in ("broken_geometry", "empty_geometry",
                                                                        "not_polygon")})
    unclosed = list(DAMAGE).index("unclosed ring") + 1
    assert unclosed in broken and all(row is not None for row in broken)


# ---- issue 14: XML entities in an .xlsx (billion laughs, an external file) ------------------------

LAUGHS = ('<!DOCTYPE worksheet [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{n} "{(f"&lol{n - 1};" if n > 1 else "&lol;") * 10}">' for n in range(1, 10))
          + "]>")
EXTERNAL = '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'


def with_entity(tmp_path: Path, name: str, dtd: str, ref: str) -> Path:
    """A real .xlsx whose sheet declares ``dtd`` and uses ``ref`` in place of a township's name."""
    import zipfile

    book = openpyxl.Workbook()
    book.active.append(["月份", "乡镇", "排查户数"])
    book.active.append(["2024年3月", "墟沟街道", 10])
    plain = tmp_path / "plain.xlsx"
    book.save(plain)
    path = tmp_path / name
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode("utf-8")
                assert "&#22687;&#27807;&#34903;&#36947;" in text  # openpyxl writes 墟沟街道 as character references
                text = text.replace("&#22687;&#27807;&#34903;&#36947;", ref, 1)
                cut = text.index("?>") + 2 if text.startswith("<?xml") else 0
                data = (text[:cut] + dtd + text[cut:]).encode("utf-8")
            target.writestr(info, data)
    return path


@pytest.mark.parametrize("dtd, ref", [(LAUGHS, "&lol9;"), (EXTERNAL, "&xxe;")], ids=["billion-laughs", "external"])
def test_xml_entities_in_an_xlsx_are_refused_with_a_clear_message(atlas, tmp_path, dtd, ref):
    path = with_entity(tmp_path, "entities.xlsx", dtd, ref)
    before = fingerprint(atlas)
    started = time.perf_counter()
    result = run(path, atlas)
    assert time.perf_counter() - started < 30  # not expanded into gigabytes first
    assert result.status == "rejected"
    assert [e.code for e in result.errors] == ["unreadable"]
    assert "文件无法读取" in result.errors[0].message
    assert fingerprint(atlas) == before
    secret = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else ""
    assert not secret or secret not in json.dumps(result.to_json(), ensure_ascii=False)  # the file was not read in


def test_uploads_have_a_size_limit():
    # Streamlit refuses a larger upload before any of it reaches the importer
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert 0 < config["server"]["maxUploadSize"] <= 1024
