"""A database file this DuckDB cannot read: one written by a newer DuckDB (2.0.1, under the pinned
1.5.5), or a file that is not DuckDB's at all. The app and the CLI say which, plainly, and never
crash; the built-in demo is built again with the old file kept aside; anyone else's file is left
exactly as it was."""
import functools
import gzip
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from db import paths, schema
from i18n import text

ROOT = Path(__file__).resolve().parent.parent
NEWER = ROOT / "tests" / "fixtures" / "duckdb-newer" / "written-by-duckdb-2.0.1.duckdb.gz"
OURS = duckdb.__version__


def newer_file(path: Path) -> Path:
    """A real DuckDB 2.0.1 file (tests/fixtures/duckdb-newer) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.decompress(NEWER.read_bytes()))
    return path


def damaged_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00not a database\xff" * 4096)
    return path


def said(key: str, lang: str = "zh", **values) -> str:
    return text.t(key, lang, **values)


# ---- what DuckDB says, and how db/schema names it ----------------------------------------------

def test_duckdb_refuses_the_newer_file_with_its_own_words(tmp_path):
    # the message the detection rests on: if a DuckDB upgrade rewords it, this test says so first
    with pytest.raises(duckdb.IOException, match="created with an? newer version of DuckDB"):
        duckdb.connect(str(newer_file(tmp_path / "new.duckdb")), read_only=True)
    with pytest.raises(duckdb.IOException, match="not a valid DuckDB database file"):
        duckdb.connect(str(damaged_file(tmp_path / "bad.duckdb")), read_only=True)


def test_newer_and_damaged_files_are_told_apart_at_once(tmp_path):
    new, bad = newer_file(tmp_path / "new.duckdb"), damaged_file(tmp_path / "bad.duckdb")
    started = time.monotonic()
    with pytest.raises(schema.NewerDuckDB) as newer:
        schema.open_waiting(new, read_only=True, wait=30)
    assert newer.value.written_by == "v2.0.1"  # from the file's header
    with pytest.raises(schema.NotAnAtlas) as other:
        schema.open_waiting(bad, read_only=True, wait=30)
    assert not isinstance(other.value, schema.NewerDuckDB)
    assert schema.written_by(bad) is None
    assert time.monotonic() - started < 5  # neither is waited for as a lock


def test_set_aside_never_overwrites_an_earlier_one(tmp_path):
    first = newer_file(tmp_path / "atlas.duckdb")
    kept = paths.set_aside(first)
    assert kept.name == "atlas.duckdb.newer-duckdb.bak" and not first.exists()
    newer_file(first)
    again = paths.set_aside(first)
    assert again.name == "atlas.duckdb.newer-duckdb.2.bak" and kept.exists()


# ---- the app ------------------------------------------------------------------------------------

@pytest.fixture
def default_db(tmp_path, monkeypatch) -> Path:
    """The built-in demo's place (data/atlas.duckdb), moved into the test's folder; ATLAS_DB unset."""
    target = tmp_path / "data" / "atlas.duckdb"
    monkeypatch.setattr(paths, "DEFAULT_DB", target)
    monkeypatch.delenv("ATLAS_DB", raising=False)
    return target


def run_app(lang: str = "zh", timeout: float = 60) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_app_explains_a_newer_file_of_someone_else_and_leaves_it(tmp_path, monkeypatch, lang):
    target = newer_file(tmp_path / "lianyungang.duckdb")
    before = target.read_bytes()
    monkeypatch.setenv("ATLAS_DB", str(target))
    at = run_app(lang)
    assert [e.value for e in at.error] == [
        said("DB_NEWER", lang, name="lianyungang.duckdb", writer="v2.0.1", ours=OURS) + "\n\n"
        + said("DB_NEWER_KEPT", lang, writer="v2.0.1", ours=OURS)]
    assert not at.status and not at.sidebar.selectbox  # no demo built, no page run
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lianyungang.duckdb"]  # nothing set aside


def test_app_rebuilds_the_builtin_demo_keeping_the_newer_file(default_db, monkeypatch):
    from data import demo

    # the demo builder as the app calls it, at the tests' scale (a twentieth of the city)
    monkeypatch.setattr(demo, "build", functools.partial(demo.build, scale=0.05))
    before = newer_file(default_db).read_bytes()
    at = run_app(timeout=180)
    # first, above the build (the demo's own banner follows, as on any demo)
    assert at.warning[0].value == (said("DB_NEWER", name="atlas.duckdb", writer="v2.0.1", ours=OURS) + "\n\n"
                                   + said("DB_NEWER_REBUILT", kept="atlas.duckdb.newer-duckdb.bak"))
    assert at.status[0].label == text.ZH["BUILD_DONE"]
    kept = default_db.with_name("atlas.duckdb.newer-duckdb.bak")
    assert kept.read_bytes() == before  # moved, not deleted or changed
    with duckdb.connect(str(default_db), read_only=True) as con:  # the new demo, readable here
        assert con.execute("select count(*) from meta where key = 'demo'").fetchall() == [(1,)]
    # the next visit finds the demo and says nothing more
    again = run_app()
    assert not again.error and not any("DuckDB" in w.value for w in again.warning)
    assert sorted(p.name for p in default_db.parent.iterdir() if "newer" in p.name) == [kept.name]


def test_app_says_a_damaged_file_is_not_a_database_and_rebuilds_nothing(default_db):
    before = damaged_file(default_db).read_bytes()  # even at the demo's place: it may be anyone's
    at = run_app()
    assert [e.value for e in at.error] == [said("DB_NOT_DUCKDB", name="atlas.duckdb")]
    assert said("DB_NEWER", name="atlas.duckdb", writer="v2.0.1", ours=OURS) not in at.error[0].value
    assert not at.status
    assert default_db.read_bytes() == before
    assert sorted(p.name for p in default_db.parent.iterdir()) == ["atlas.duckdb"]


# ---- the CLI ------------------------------------------------------------------------------------

def run_cli(*args, default_db: Path | None = None):
    """cli.py in a subprocess, ATLAS_DB unset; ``default_db`` moves the built-in demo's place (the
    one change made to the CLI's code path, so that no test touches the project's data/)."""
    env = {k: v for k, v in os.environ.items() if k != "ATLAS_DB"}
    if default_db is None:
        command = [sys.executable, "cli.py", *map(str, args)]
    else:
        command = [sys.executable, "-c", "import sys; from pathlib import Path; from db import paths; "
                   "paths.DEFAULT_DB = Path(sys.argv[1]); import cli; sys.exit(cli.main(sys.argv[2:]))",
                   str(default_db), *map(str, args)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8",
                          timeout=300)


def test_cli_explains_a_newer_file_in_both_languages_and_leaves_it(tmp_path):
    target = newer_file(tmp_path / "lianyungang.duckdb")
    before = target.read_bytes()
    for command in (["indicators", "--json"], ["gaps", "--json"], ["user", "list"],
                    ["import", str(ROOT / "tests/fixtures/beijing-subdistricts/dongcheng-all.geojson")]):
        done = run_cli(*command, "--db", target)
        assert done.returncode == 2, (command, done.stderr)
        assert done.stdout == "" and "Traceback" not in done.stderr
        for lang in ("zh", "en"):
            assert said("DB_NEWER", lang, name=str(target), writer="v2.0.1", ours=OURS) in done.stderr
            assert said("DB_NEWER_KEPT", lang, writer="v2.0.1", ours=OURS) in done.stderr
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lianyungang.duckdb"]


def test_cli_says_a_damaged_file_is_not_a_database(tmp_path):
    target = damaged_file(tmp_path / "atlas.duckdb")
    done = run_cli("indicators", "--db", target, "--json")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "not an atlas database" in done.stderr and "newer" not in done.stderr.lower()


def test_cli_points_to_rebuilding_the_builtin_demo(default_db):
    before = newer_file(default_db).read_bytes()
    done = run_cli("indicators", "--json", default_db=default_db)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert said("DB_NEWER_DEMO_CLI", kept="atlas.duckdb.newer-duckdb.bak") in done.stderr
    assert said("DB_NEWER_KEPT", writer="v2.0.1", ours=OURS) not in done.stderr
    assert default_db.read_bytes() == before  # only cli.py demo rebuilds it


def test_cli_demo_builds_over_a_newer_file_keeping_it(default_db):
    before = newer_file(default_db).read_bytes()
    done = run_cli("demo", "--scale", "0.05", default_db=default_db)
    assert done.returncode == 0, done.stderr
    assert said("DB_NEWER_REBUILT", kept="atlas.duckdb.newer-duckdb.bak") in done.stderr
    assert default_db.with_name("atlas.duckdb.newer-duckdb.bak").read_bytes() == before
    done = run_cli("indicators", "--level", "city", "--json", default_db=default_db)
    assert done.returncode == 0, done.stderr
    assert '"region_name": "连云港市"' in done.stdout
