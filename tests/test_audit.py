"""The audit log (issue 14): rows for logins, failures, imports, undos and account changes; a
hash chain that an edited, removed or inserted row breaks; downloads with no live formulas."""
import io
import json
import threading

import duckdb
import openpyxl
import pytest

import cli
from access import accounts, audit
from access.viewer import DEMO, Viewer
from export import cells
from tests.test_accounts import LIANYUN_DISTRICT, PASSWORD, db, user_cli  # noqa: F401
from tests.test_import_files import atlas, city_db, write_csv  # noqa: F401

ANA = Viewer("ana", "analyst", ("320703",))


def actions(path) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        frame = audit.read(con)
    return list(zip(frame["user_name"], frame["action"], frame["outcome"]))[::-1]  # oldest first


def test_logins_failures_and_user_changes_are_logged(db, monkeypatch, capsys):  # noqa: F811
    at = ["--db", str(db)]
    user_cli(monkeypatch, capsys, "add", "ana", "--role", "analyst", "--region", LIANYUN_DISTRICT, *at,
             stdin=PASSWORD + "\n")
    user_cli(monkeypatch, capsys, "passwd", "ana", *at, stdin="another password\n")
    with duckdb.connect(str(db)) as con:
        accounts.authenticate(con, "ana", "another password")
        for name in ("ana", "nobody"):
            with pytest.raises(accounts.LoginRefused):
                accounts.authenticate(con, name, "wrong")
    user_cli(monkeypatch, capsys, "disable", "ana", *at)
    got = actions(db)
    operator = got[0][0]
    assert operator.endswith("（命令行）")
    assert got == [(operator, "user_add", "ok"), (operator, "user_passwd", "ok"), ("ana", "login", "ok"),
                   ("ana", "login_failed", "refused"), ("nobody", "login_failed", "refused"),
                   (operator, "user_disable", "ok")]
    with duckdb.connect(str(db), read_only=True) as con:
        frame = audit.read(con, audit.Filters(actions=("login",)))
        assert frame["scope"].tolist() == ["320703"] and frame["role"].tolist() == ["analyst"]
        failed = audit.read(con, audit.Filters(user="nobody")).iloc[0]
        assert (failed["role"], failed["scope"], failed["what"]) == ("none", "", '{"reason": "unknown"}')
        added = json.loads(audit.read(con, audit.Filters(actions=("user_add",)))["what"][0])
        assert added == {"name": "ana", "role": "analyst", "regions": ["320703"], "sso_subject": None}
        assert "another password" not in audit.read(con).to_csv() and audit.verify(con).ok


def test_cli_import_and_undo_are_logged(atlas, tmp_path, capsys):  # noqa: F811
    path = write_csv(tmp_path / "r.csv", [["乡镇", "户数"], ["墟沟街道", "12345"]])
    assert cli.main(["import", str(path), "--db", str(atlas), "--json", "--user", "王敏"]) == 0
    import_id = json.loads(capsys.readouterr().out)["import_id"]
    assert cli.main(["import", str(path), "--db", str(atlas), "--dry-run", "--json"]) == 0  # a check: not logged
    assert cli.main(["import", "--undo", str(import_id), "--db", str(atlas), "--json", "--user", "王敏"]) == 0
    assert cli.main(["import", "--undo", str(import_id), "--db", str(atlas), "--user", "王敏"]) == 1
    assert actions(atlas) == [("王敏（命令行）", "import", "imported"), ("王敏（命令行）", "undo", "ok"),
                              ("王敏（命令行）", "undo", "refused")]
    with duckdb.connect(str(atlas), read_only=True) as con:
        what = json.loads(audit.read(con, audit.Filters(actions=("import",)))["what"][0])
        assert what["import_id"] == import_id and what["file"] == "r.csv" and what["rows"] == 1
        assert audit.verify(con).ok


def test_an_account_named_by_user_is_logged_with_its_role_and_scope(atlas, tmp_path, capsys):  # noqa: F811
    with duckdb.connect(str(atlas)) as con:
        accounts.add_user(con, "ana", PASSWORD, "analyst", [LIANYUN_DISTRICT])
    path = write_csv(tmp_path / "r.csv", [["乡镇", "户数"], ["墟沟街道", "12345"]])
    assert cli.main(["import", str(path), "--db", str(atlas), "--json", "--user", "ana"]) == 0
    with duckdb.connect(str(atlas), read_only=True) as con:
        row = audit.read(con, audit.Filters(actions=("import",))).iloc[0]
    assert (row["user_name"], row["role"], row["scope"]) == ("ana", "analyst", "320703")


def chain(db) -> list:
    with duckdb.connect(str(db)) as con:
        for n in range(5):
            audit.record(con, ANA if n % 2 else DEMO, "export", {"n": n})
        return [audit.verify(con)]


def test_the_chain_verifies_and_an_edited_row_breaks_it(db):  # noqa: F811
    assert chain(db) == [audit.Verdict(True, 5)]
    with duckdb.connect(str(db)) as con:
        con.execute("""update audit_log set what = '{"n": 99}' where audit_id = 3""")
        assert audit.verify(con) == audit.Verdict(False, 3, 3)


def test_a_removed_row_breaks_the_chain(db):  # noqa: F811
    chain(db)
    with duckdb.connect(str(db)) as con:
        con.execute("delete from audit_log where audit_id = 2")
        assert audit.verify(con).broken_at == 3
        con.execute("delete from audit_log where audit_id = 5")  # the last one: the ids still follow …
        con.execute("delete from audit_log where audit_id in (3, 4)")
        assert audit.verify(con).ok  # … a cut at the end is only seen against a copy of the last hash


def test_a_row_rewritten_with_a_fresh_hash_breaks_the_next(db):  # noqa: F811
    chain(db)
    with duckdb.connect(str(db)) as con:
        row = con.execute(f"select {', '.join(audit.COLUMNS)}, prev_hash from audit_log where audit_id = 2").fetchall()[0]
        values, prev = list(row[:-1]), row[-1]
        values[2] = "someone else"
        forged = audit._digest(prev, audit._fields(*values))
        con.execute("update audit_log set user_name = ?, row_hash = ? where audit_id = 2", [values[2], forged])
        assert audit.verify(con).broken_at == 3


def test_threads_appending_at_once_keep_one_chain(db):  # noqa: F811
    def write(n):
        with duckdb.connect(str(db)) as con:
            for i in range(5):
                audit.record(con, ANA, "snapshot_view", {"thread": n, "i": i})

    with duckdb.connect(str(db)) as con:  # one database instance shared by every thread's connection
        threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert audit.verify(con) == audit.Verdict(True, 30)


def test_read_filters_by_user_action_and_day(db):  # noqa: F811
    from datetime import date, timedelta

    chain(db)
    with duckdb.connect(str(db), read_only=True) as con:
        assert len(audit.read(con, audit.Filters(user="ana"))) == 2
        assert len(audit.read(con, audit.Filters(actions=("login",)))) == 0
        today = date.today()
        assert len(audit.read(con, audit.Filters(first_day=today, last_day=today))) == 5
        assert len(audit.read(con, audit.Filters(last_day=today - timedelta(days=1)))) == 0
        assert audit.read(con, audit.Filters(limit=2))["audit_id"].tolist() == [5, 4]
        assert audit.users_seen(con) == ["(demo)", "ana"]
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(db, ANA, "delete_everything")


def test_downloads_write_formula_like_cells_as_text(db):  # noqa: F811
    with duckdb.connect(str(db)) as con:
        for name in ("=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)", "=HYPERLINK(\"http://x\")", "plain"):
            audit.record(con, name, "login_failed", {"reason": "unknown"}, "refused")
        frame = audit.read(con)
    book = openpyxl.load_workbook(io.BytesIO(cells.xlsx_bytes(frame, "audit")))
    written = [c for row in book.active.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in written)
    assert "=cmd|' /C calc'!A0" in [c.value for c in written]  # the text itself, kept as text
    text = cells.csv_bytes(frame).decode("utf-8-sig")
    for line in text.splitlines()[1:]:
        assert not any(cells.is_formula_like(cell) for cell in line.split(","))  # "-1" is a number


# ---- the app's exports and snapshots (AppTest) ------------------------------------------------

def test_page_exports_snapshot_saves_and_views_are_logged(demo_db, tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from ui.data import VIEWER_KEY

    root = Path(__file__).resolve().parent.parent
    path = tmp_path / "atlas.duckdb"
    shutil.copy(demo_db, path)
    monkeypatch.setenv("ATLAS_DB", str(path))
    at = AppTest.from_file(str(root / "app_pages" / "overview.py"), default_timeout=120)
    at.session_state[VIEWER_KEY] = ANA
    at.run()
    at.button(key="export-overview-png").click().run()
    at.button(key="snapshot-save-overview").click().run()
    assert not at.exception, at.exception
    logged = actions(path)
    assert logged == [("ana", "export", "ok"), ("ana", "snapshot_save", "ok")]
    with duckdb.connect(str(path), read_only=True) as con:
        rows = audit.read(con)
        snapshot_id = json.loads(rows["what"][0])["snapshot_id"]
        assert json.loads(rows["what"][1])["format"] == "png" and set(rows["scope"]) == {"320703"}

    page = AppTest.from_file(str(root / "app_pages" / "snapshots.py"), default_timeout=60)
    page.session_state[VIEWER_KEY] = ANA
    page.query_params["id"] = str(snapshot_id)
    page.run()
    page.run()  # a rerun is not another view
    assert not page.exception, page.exception
    assert actions(path)[2:] == [("ana", "snapshot_view", "ok")]


def test_a_snapshot_from_the_command_line_is_logged(demo_db, tmp_path):
    import shutil

    import cli

    path = tmp_path / "atlas.duckdb"
    shutil.copy(demo_db, path)
    out = tmp_path / "city.png"
    assert cli.main(["snapshot", "--view", "coverage", "--out", str(out), "--db", str(path)]) == 0
    assert actions(path) == []  # no account: the demo's database is left as it is
    with duckdb.connect(str(path)) as con:
        accounts.add_user(con, "ana", "correct horse 1", "analyst", ["320703000000"])
    assert cli.main(["snapshot", "--view", "coverage", "--out", str(out), "--db", str(path), "--user", "ana"]) == 0
    assert [a for a in actions(path) if a[1] == "export"] == [("ana", "export", "ok")]
    with duckdb.connect(str(path), read_only=True) as con:
        what = json.loads(audit.read(con)["what"][0])
    assert what["view"] == "coverage" and what["format"] == "png" and what["file"] == "city.png"
    assert audit.verify(duckdb.connect(str(path), read_only=True)).ok


def test_the_audit_page_names_each_rows_regions(demo_db, tmp_path, monkeypatch):
    """An account's regions are stored as code prefixes ("320703"); the page names them."""
    import shutil
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from ui.data import VIEWER_KEY

    path = tmp_path / "atlas.duckdb"
    shutil.copy(demo_db, path)
    with duckdb.connect(str(path)) as con:
        audit.record(con, Viewer("two", "leader", ("320703", "320722")), "login")
        audit.record(con, ANA, "login")
    monkeypatch.setenv("ATLAS_DB", str(path))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app_pages" / "audit.py"), default_timeout=60)
    at.session_state[VIEWER_KEY] = Viewer("root", "admin", ("",))
    at.run()
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    assert sorted(shown["所属范围" if "所属范围" in shown.columns else shown.columns[6]]) == ["连云区", "连云区、东海县"]
