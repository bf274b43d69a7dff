"""The atlas on a DuckLake gives what it gives on a DuckDB file, value for value (issue 17).

Each test puts the session's demo city on both backends (a copy of the file, and a lake of its own
on the test process's PostgreSQL made by ``cli.py lake init --from``'s code), then runs the same
code paths on both: the indicators the pages and the CLI show, every named query, imports of
real-shaped ledgers (accepted, rejected, replacing, undone), saved snapshots, and the CLI; and
compares what comes out. A lake also reads a saved snapshot's data as it was (time travel) and
runs an import again when another importer's commit came first.
"""
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from access import audit
from db import lake, schema
from export import saved, views
from importer import history, pipeline
from queries import indicators, runner
from tests.test_import_files import write_csv, write_xlsx
from tests.test_import_real import judicial_ledger, register_12348
from tests.test_queries import NAMES, SAMPLE_PARAMS, params_of

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2026, 1, 15)
LIANYUN_DISTRICT = "320703000000"  # 连云区
CITY = "320700000000"               # 连云港市


@pytest.fixture
def both(demo_db, tmp_path, make_lake) -> dict[str, str]:
    """{"file": a copy of the demo city, "lake": the demo city in a new lake}."""
    copy = tmp_path / "atlas.duckdb"
    shutil.copy(demo_db, copy)
    return {"file": str(copy), "lake": make_lake(demo_db)}


def read(target: str):
    return schema.open_waiting(target, read_only=True, wait=30)


# Columns that say when, or how long: the moment of a write differs from one backend's run to the other's.
VOLATILE = {"imported_at", "undone_at", "created_at", "updated_at", "at", "seconds", "last_seen", "started_at"}


def fingerprint(target: str) -> dict[str, tuple[int, int]]:
    """Every atlas table's row count and a hash of its rows (without the columns of VOLATILE, and
    of TIMESTAMP type), by table name."""
    out = {}
    with read(target) as con:
        database = runner.current_database(con)
        for table in schema.TABLES:
            columns = [name for name, kind in con.execute(
                "select column_name, data_type from information_schema.columns where table_catalog = ? "
                "and table_name = ? order by ordinal_position", [database, table]).fetchall()
                if name not in VOLATILE and not kind.startswith("TIMESTAMP")]
            listed = ", ".join(f'"{c}"' for c in columns)
            # a lake starts with the last snapshot and audit ids in meta (lake.init): rows a file has not
            where = f"where key not in ('{saved.LAST_ID_KEY}', '{audit.LAST_ID_KEY}')" if table == "meta" else ""
            out[table] = tuple(con.execute(
                f"select count(*), coalesce(sum(hash({listed})), 0) from {table} {where}").fetchall()[0])
    return out


def timeless(said):
    """What an import or the CLI said, without when or how long (VOLATILE, finished_at)."""
    if isinstance(said, dict):
        return {k: timeless(v) for k, v in said.items() if k not in VOLATILE | {"finished_at"}}
    if isinstance(said, list):
        return [timeless(v) for v in said]
    return said


def same_result(a: pipeline.Result, b: pipeline.Result) -> None:
    assert timeless(a.to_json()) == timeless(b.to_json())


# ---- indicators and queries ----------------------------------------------------------------------

def test_every_indicator_and_named_query_is_the_same_on_both(both):
    got = {}
    for backend, target in both.items():
        frames = {}
        with read(target) as con:
            month = indicators.latest_month(con, indicators.EVERYTHING, today=TODAY).code
            year = month[:4]
            for level in ("township", "county"):
                for period in (month, year):
                    for scope, region in ((indicators.EVERYTHING, None), (["320703"], LIANYUN_DISTRICT)):
                        for exact in (False, True):
                            frames[level, period, tuple(scope), exact] = indicators.shown(
                                con, level, period, scope, region, exact=exact)
            frames["filtered"] = indicators.shown(con, "township", month, indicators.EVERYTHING, None,
                                                  indicators.Filters(risk_levels=("高",)), exact=True)
            for name in NAMES:
                frame = runner.run(con, name, **{k: SAMPLE_PARAMS[k] for k in params_of(name)})
                if "order by" not in runner.load_sql(name).lower():  # a set of rows: compared in one order
                    frame = frame.sort_values(list(frame.columns), ignore_index=True)
                frames[name] = frame
        got[backend] = frames
    assert got["file"].keys() == got["lake"].keys()
    for key, frame in got["file"].items():
        pd.testing.assert_frame_equal(frame, got["lake"][key], obj=str(key))
    assert len(got["file"]["township", month, ("",), True]) > 50  # the city's townships, every indicator


# ---- imports -----------------------------------------------------------------------------------

def screening_csv(path: Path, households: int, at_risk: int, month: str = "2025-11") -> Path:
    rows = [["排查日期", "乡镇", "户编号", "风险等级"]]
    rows += [[f"{month}-03", "墟沟街道", f"PARITY-{n}", "高" if n < at_risk else "无"] for n in range(households)]
    return write_csv(path, rows)


def test_imports_rejections_replacements_and_undo_are_the_same_on_both(both, tmp_path):
    cases, merges = judicial_ledger([
        [1, "SF2025-101", "2025-10-27 11:00:00", "墟沟街道", "", "婚姻家庭纠纷", "一般", "张某某", "调解成功", "是", "2025-10-29"],
        [2, "SF2025-102", "2025/11/3 9:30", "墟沟街道", "", "邻里纠纷", "较大", "李某某", "终止调解", "否", "2025/11/20"]])
    files = {
        "cases": write_xlsx(tmp_path / "司法所台账.xlsx", cases, merges),
        "register": write_xlsx(tmp_path / "12348.xlsx", *register_12348([
            [1, "墟沟街道人民调解委员会", "人民调解委员会", "墟沟街道", "连云区墟沟街道海棠路8号", "0518-82311234", "赵某"],
            [2, "连云街道人民调解委员会", "人民调解委员会", "连云街道", "", "", ""]])),
        "screening": screening_csv(tmp_path / "排查.csv", 120, 30),
        "fewer": screening_csv(tmp_path / "排查-少.csv", 20, 5),
        "bad": write_csv(tmp_path / "坏.csv", [["排查日期", "乡镇", "户编号", "风险等级"],
                                                ["2025-13-01", "墟沟街道", "X1", "高"], ["2025-11-02", "无此街道", "X2", "特高"]]),
    }
    steps = [("cases", {}), ("register", {}), ("register", {"replace": True}), ("screening", {"replace": True}),
             ("bad", {}), ("fewer", {}), ("fewer", {"replace": True}), ("screening", {"replace": True})]
    results = {}
    for backend, target in both.items():
        results[backend] = []
        for name, options in steps:
            result = pipeline.run(files[name], target, today=TODAY, user="parity", **options)
            results[backend].append((result, fingerprint(target)))
        undone = history.undo(target, 4, "parity")  # the replacing list goes, what it replaced comes back
        results[backend].append((undone, fingerprint(target)))
    statuses = [r.status for r, _ in results["file"][:-1]]
    assert statuses == ["imported", "rejected", "imported", "imported", "rejected", "rejected", "imported", "unchanged"]
    assert results["file"][4][0].errors, "the bad file lists its problems"
    for (a, print_a), (b, print_b) in zip(results["file"][:-1], results["lake"][:-1]):
        same_result(a, b)
        assert print_a == print_b
    assert results["file"][-1][0] == results["lake"][-1][0]  # what the undo says it did
    assert results["file"][-1][1] == results["lake"][-1][1]
    # and the numbers a page shows after all that
    with read(both["file"]) as a, read(both["lake"]) as b:
        pd.testing.assert_frame_equal(indicators.shown(a, "township", "2025-11", indicators.EVERYTHING, exact=True),
                                      indicators.shown(b, "township", "2025-11", indicators.EVERYTHING, exact=True))


def test_a_commit_that_meets_another_importers_runs_the_import_again(both, tmp_path, monkeypatch):
    target = both["lake"]
    calls = {"n": 0}
    real = history.next_import_id

    def another_import_commits_first(con):
        # the first time only: another process (an instance of its own) records a write before
        # this import commits; the lake then refuses this import's commit as a conflict
        found = real(con)  # this import's transaction has read the lake: its snapshot is taken
        calls["n"] += 1
        if calls["n"] == 1:
            other = lake._open_instance(lake.split(target)[0], None)
            try:
                other.execute("use atlas")
                with schema.transaction(other, "another importer", bump=False):
                    schema.bump_version(other, "another importer")
            finally:
                other.close()
        return found

    monkeypatch.setattr(history, "next_import_id", another_import_commits_first)
    before = fingerprint(target)["screenings"][0]
    result = pipeline.run(screening_csv(tmp_path / "排查.csv", 40, 10), target, today=TODAY, user="parity",
                          replace=True)
    assert result.status == "imported", result.to_json()["errors"]
    assert calls["n"] == 2, "the import ran twice: refused once, then committed"
    with read(target) as con:
        assert con.execute("select count(*) from imports").fetchall()[0][0] == 1
    assert fingerprint(target)["screenings"][0] == before + 40 - _replaced(target) > before - 50


def _replaced(target: str) -> int:
    """Rows of 墟沟街道's month the import replaced (moved to screenings_replaced)."""
    with read(target) as con:
        return con.execute("select count(*) from screenings_replaced").fetchall()[0][0]


def test_an_import_that_keeps_conflicting_is_refused_and_changes_nothing(both, tmp_path, monkeypatch):
    target = both["lake"]

    def always_conflicts(con):
        raise __import__("duckdb").TransactionException("Transaction conflict - another transaction has written")

    monkeypatch.setattr(history, "next_import_id", always_conflicts)
    monkeypatch.setattr(pipeline.time, "sleep", lambda seconds: None)
    before = fingerprint(target)
    result = pipeline.run(screening_csv(tmp_path / "排查.csv", 40, 10), target, today=TODAY, user="parity",
                          replace=True)
    assert result.status == "rejected"
    assert [e.code for e in result.errors] == ["lake_conflict"]
    said = result.to_json()["errors"][0]
    assert f"重新运行 {lake.RETRIES} 次" in said["message"] and "数据库没有改变" in said["message"]
    assert "稍后" in said["expected"]
    assert fingerprint(target) == before


# ---- snapshots, and the data as it was ---------------------------------------------------------

def test_snapshots_freeze_list_and_open_the_same_on_both(both):
    frozen, listed = {}, {}
    for backend, target in both.items():
        with read(target) as con:
            month = indicators.latest_month(con, indicators.EVERYTHING, today=TODAY).code
            frozen[backend] = [saved.freeze(con, views.ViewSpec(view, region, month), with_map=False)
                               for view in ("overview", "coverage", "screening", "hotspots")
                               for region in (CITY, LIANYUN_DISTRICT)]
        with schema.open_waiting(target, read_only=False, wait=30) as con:
            ids = [saved.save(con, f"快照{n}", f.view, {"period": f.period, "region": f.region_code}, f, created_by="t")
                   for n, f in enumerate(frozen[backend])]
        with read(target) as con:
            listed[backend] = (saved.list_all(con).drop(columns=["created_at", "lake_snapshot"]),
                               [saved.get(con, i).numbers for i in ids])
    for a, b in zip(frozen["file"], frozen["lake"]):
        assert a.numbers == b.numbers and a.data_version == b.data_version and a.data_as_of == b.data_as_of
    assert all(f.lake_snapshot is None for f in frozen["file"])
    assert all(isinstance(f.lake_snapshot, int) for f in frozen["lake"])
    pd.testing.assert_frame_equal(*(listed[k][0] for k in ("file", "lake")))
    assert listed["file"][1] == listed["lake"][1]


def test_a_lake_snapshot_opens_the_data_as_it_was(both, tmp_path):
    target = both["lake"]
    spec = views.ViewSpec("screening", LIANYUN_DISTRICT, "2025-11")
    with read(target) as con:
        before = saved.freeze(con, spec, with_map=False)
    with schema.open_waiting(target, read_only=False, wait=30) as con:
        sid = saved.save(con, "导入前", "screening", {"period": "2025-11"}, before)
    imported = pipeline.run(screening_csv(tmp_path / "排查.csv", 150, 60), target, today=TODAY, user="t", replace=True)
    assert imported.status == "imported"
    with read(target) as con:
        snap = saved.get(con, sid)
        now = saved.freeze(con, spec, with_map=False)
    assert now.numbers["kpis"] != before.numbers["kpis"], "the import changed what the view shows"
    # the lake read at the snapshot's moment: the same numbers as were saved, by the same code
    with read(lake.at(target, snap.lake_snapshot)) as con:
        again = saved.freeze(con, spec, with_map=False)
        assert con.execute("select count(*) from imports").fetchall()[0][0] == 0
    assert again.numbers == before.numbers
    # and read-only: the past is not written to
    with pytest.raises(Exception, match="(?i)read.only"):
        with schema.open_waiting(lake.at(target, snap.lake_snapshot), read_only=False, wait=5) as con:
            con.execute("delete from screenings")


# ---- the command line --------------------------------------------------------------------------

def cli(target: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ATLAS_DB=target)
    return subprocess.run([sys.executable, "cli.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=300)


def test_the_cli_says_the_same_on_both(both, tmp_path):
    ledger = screening_csv(tmp_path / "排查.csv", 60, 20, month="2025-10")
    commands = [("indicators", "--json", "--level", "township", "--period", "2025-11"),
                ("indicators", "--json", "--level", "county", "--period", "2025Q4", "--hotspot-of", "cases"),
                ("gaps", "--json", "--period", "2025-11", "--radius-km", "3"),
                ("import", str(ledger), "--json", "--user", "parity", "--replace"),
                ("indicators", "--json", "--level", "township", "--period", "2025-10"),
                ("import", "--undo", "1", "--json", "--user", "parity")]
    said = {}
    for backend, target in both.items():
        said[backend] = []
        for command in commands:
            done = cli(target, *command)
            assert done.returncode == 0, (backend, command, done.stderr[-2000:])
            out = json.loads(done.stdout) if done.stdout.lstrip().startswith(("[", "{")) else \
                [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
            said[backend].append(out)
    for command, a, b in zip(commands, said["file"], said["lake"]):
        assert timeless(a) == timeless(b), command
    status = cli(both["lake"], "lake", "status", "--json")
    assert status.returncode == 0, status.stderr
    found = json.loads(status.stdout)
    assert found["snapshot"] >= 3 and {"screenings", "cases", "imports"} <= {t["table"] for t in found["tables"]}
    assert "password" not in status.stdout


def test_the_app_opens_a_lake_snapshots_data_as_it_was_and_goes_back(both, tmp_path, monkeypatch):
    """The whole app (AppTest of app.py) on a lake: the snapshot page links to the data as it was;
    the screening page under ?as_of= shows the saved KPIs beside a banner naming the lake
    snapshot, and 回到当前数据 shows today's again."""
    from streamlit.testing.v1 import AppTest

    target = both["lake"]
    monkeypatch.setenv("ATLAS_DB", target)
    spec = views.ViewSpec("screening", LIANYUN_DISTRICT, "2025-11")
    with read(target) as con:
        before = saved.freeze(con, spec, with_map=False)
    with schema.open_waiting(target, read_only=False, wait=30) as con:
        sid = saved.save(con, "导入前", "screening", {"period": "2025-11", "region": LIANYUN_DISTRICT}, before)
    assert pipeline.run(screening_csv(tmp_path / "排查.csv", 300, 90), target, today=TODAY, user="t",
                        replace=True).status == "imported"

    def screening_page(**query) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.switch_page("app_pages/screening.py")
        for key, value in query.items():
            at.query_params[key] = value
        return at.run()

    then = screening_page(period="2025-11", region=LIANYUN_DISTRICT, as_of=str(before.lake_snapshot))
    assert not then.exception, then.exception
    banner = [w.value for w in then.warning if "数据湖快照" in w.value]
    assert banner and banner[0].startswith(f"正在查看数据湖快照 #{before.lake_snapshot}（")
    # the page as the file shows it (the same atlas, without the import since): the same numbers
    monkeypatch.setenv("ATLAS_DB", both["file"])
    on_file = screening_page(period="2025-11", region=LIANYUN_DISTRICT)
    monkeypatch.setenv("ATLAS_DB", target)
    shown_then = [(m.label, m.value) for m in then.metric]
    assert shown_then == [(m.label, m.value) for m in on_file.metric] and len(shown_then) >= 4
    assert then.dataframe[0].value.equals(on_file.dataframe[0].value)
    back = then.button(key="as-of-back").click().run()
    assert not back.exception, back.exception
    assert not [w.value for w in back.warning if "数据湖快照" in w.value]
    assert [(m.label, m.value) for m in back.metric] != shown_then, "today's numbers, after the import"
    assert "as_of" not in back.query_params

    # the snapshot page offers the link
    page = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    page.switch_page("app_pages/snapshots.py")
    page.query_params["id"] = str(sid)
    page.run()
    assert not page.exception, page.exception
    links = "\n".join(m.value for m in page.markdown)
    assert f"as_of={before.lake_snapshot})" in links and "在保存时的数据上打开" in links


# ---- a lake that cannot be reached, or holds no atlas yet ----------------------------------------

def test_an_unreachable_lake_is_said_plainly_without_its_password(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.appserver import free_port

    target = f"ducklake:postgres:dbname=atlas host=127.0.0.1 port={free_port()} user=atlas password=hunter2"
    done = cli(target, "indicators", "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert "cannot open the lake" in done.stderr and "password=***" in done.stderr
    assert "hunter2" not in done.stderr and "Traceback" not in done.stderr
    monkeypatch.setenv("ATLAS_DB", target)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    said = at.error[0].value
    assert said.startswith("无法连接数据湖（DuckLake）") and "hunter2" not in said and "password=***" in said


def test_an_empty_lake_asks_for_lake_init_which_fills_it_once(postgres, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    target = lake.PREFIX + "postgres:" + postgres.database("lake_empty")
    monkeypatch.setenv("ATLAS_DB", target)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    assert "python cli.py lake init" in at.error[0].value  # a page never makes a lake
    assert cli(target, "demo").returncode == 2  # nor does `demo`: it says `lake init --demo`
    made = cli(target, "lake", "init", "--data-path", str(tmp_path / "parquet"))
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["regions"] > 40000  # the national register, as a new file has it
    again = cli(target, "lake", "init", "--data-path", str(tmp_path / "parquet"))
    assert again.returncode == 2 and "already holds an atlas (nothing was changed)" in again.stderr
    lake.close_all()


# ---- the audit log's chain, written by many processes at once ------------------------------------

AUDIT_WRITER = """
import sys
from access import audit
for n in range(int(sys.argv[2])):
    audit.record(sys.argv[1], f"writer{sys.argv[3]}", "login", {"n": n})
"""


def test_the_audit_chain_holds_when_processes_append_at_once(both):
    """Three processes append five rows each to one lake's audit log at the same moment: every
    row is there once, the ids run 1..15 without a gap or a double, and the hash chain verifies
    (a lake lets two inserts commit side by side; the chain must not fork)."""
    target = both["lake"]
    writers = [subprocess.Popen([sys.executable, "-c", AUDIT_WRITER, target, "5", str(n)], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(3)]
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err[-2000:]
    with read(target) as con:
        ids = [r[0] for r in con.execute("select audit_id from audit_log order by audit_id").fetchall()]
        users = con.execute("select user_name, count(*) from audit_log group by 1 order by 1").fetchall()
        verdict = audit.verify(con)
    assert ids == list(range(1, 16))
    assert users == [(f"writer{n}", 5) for n in range(3)]
    assert verdict.ok and verdict.rows == 15, verdict
