"""The login gate (issue 14) under AppTest: demo mode and its banner, the login page before any data,
lockout words, the pages each role gets, refusal by URL, session expiry, ATLAS_REQUIRE_LOGIN."""
import shutil
import time
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from access import accounts, audit
from access.viewer import Viewer
from i18n.text import ZH
from ui import auth
from ui.data import VIEWER_KEY

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse 1"
ADMIN = Viewer("root", "admin", ("",))
LEADER = Viewer("lea", "leader", ("320703",))


@pytest.fixture(scope="module")
def accounts_db(demo_db, tmp_path_factory) -> Path:
    """The demo city with three accounts (built once; tests that log in write only audit rows)."""
    path = tmp_path_factory.mktemp("accounts") / "atlas.duckdb"
    shutil.copy(demo_db, path)
    with duckdb.connect(str(path)) as con:
        accounts.add_user(con, "root", PASSWORD, "admin", ["all"])
        accounts.add_user(con, "lea", PASSWORD, "leader", ["320703000000"])
        accounts.add_user(con, "pia", PASSWORD, "presenter", ["320703000000"])
    return path


@pytest.fixture
def with_accounts(accounts_db, monkeypatch) -> Path:
    monkeypatch.setenv("ATLAS_DB", str(accounts_db))
    monkeypatch.delenv("ATLAS_REQUIRE_LOGIN", raising=False)
    return accounts_db


def app(**state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def logged_in(viewer: Viewer, idle_seconds: float = 0) -> dict:
    return {VIEWER_KEY: viewer, auth.ACTIVE_KEY: time.time() - idle_seconds}


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.subheader, *at.info, *at.warning, *at.error, *at.caption)]
    return "\n".join(str(p) for p in parts)


def shows_data(at: AppTest) -> bool:
    return bool(at.metric or at.dataframe or at.sidebar.selectbox)


def test_no_account_is_demo_mode_with_a_banner(app_env, monkeypatch):
    monkeypatch.delenv("ATLAS_REQUIRE_LOGIN", raising=False)
    at = app()
    assert at.warning[0].value == ZH["DEMO_BANNER"]
    assert "演示模式" in at.warning[0].value and "user add admin" in at.warning[0].value
    assert at.title[0].value == ZH["PAGE_OVERVIEW"] and shows_data(at)
    assert at.session_state[VIEWER_KEY].is_demo


def test_require_login_without_accounts_shows_no_data(app_env, monkeypatch):
    monkeypatch.setenv("ATLAS_REQUIRE_LOGIN", "1")
    at = app()
    assert at.error[0].value == ZH["AUTH_REQUIRED_NO_ACCOUNT"]
    assert "--role admin --region all" in at.code[0].value
    assert not shows_data(at) and not at.warning


def test_with_accounts_the_login_page_comes_before_any_data(with_accounts):
    at = app()
    assert [e.label for e in at.text_input] == ["用户名", "密码"]
    assert not shows_data(at) and ZH["PAGE_OVERVIEW"] not in [t.value for t in at.title]
    assert VIEWER_KEY not in at.session_state

    at.text_input(key="login-name").input("lea")
    at.text_input(key="login-password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert at.session_state[VIEWER_KEY] == LEADER
    assert at.title[0].value == ZH["PAGE_OVERVIEW"] and shows_data(at)
    assert ZH["AUTH_WHO"].format(name="lea", role="领导") in [c.value for c in at.sidebar.caption]
    assert "退出登录" in [b.label for b in at.sidebar.button]


def test_a_wrong_password_and_an_unknown_name_read_the_same(with_accounts):
    said = []
    for name in ("lea", "nobody"):
        at = app()
        at.text_input(key="login-name").input(name)
        at.text_input(key="login-password").input("wrong password")
        at.button[0].click().run()
        said.append([e.value for e in at.error])
        assert not shows_data(at)
    assert said[0] == said[1] == [ZH["AUTH_BAD"].format(n=accounts.MAX_FAILURES, minutes=accounts.LOCK_MINUTES)]


def test_a_locked_account_is_told_so(with_accounts, tmp_path, monkeypatch):
    path = tmp_path / "locked.duckdb"
    shutil.copy(with_accounts, path)
    monkeypatch.setenv("ATLAS_DB", str(path))
    with duckdb.connect(str(path)) as con:
        for _ in range(accounts.MAX_FAILURES):
            with pytest.raises(accounts.LoginRefused):
                accounts.authenticate(con, "lea", "wrong")
    at = app()
    at.text_input(key="login-name").input("lea")
    at.text_input(key="login-password").input(PASSWORD)
    at.button[0].click().run()
    assert [e.value for e in at.error] == [ZH["AUTH_LOCKED"].format(minutes=accounts.LOCK_MINUTES)]
    assert VIEWER_KEY not in at.session_state


def test_each_role_gets_its_pages():
    def urls(viewer):
        return [p[2] for p in auth.pages_for(viewer)]

    assert urls(ADMIN) == ["overview", "coverage", "screening", "hotspots", "import", "snapshots", "present", "audit"]
    assert urls(Viewer("a", "analyst", ("3207",))) == ["overview", "coverage", "screening", "hotspots", "import",
                                                       "snapshots", "present"]
    assert urls(LEADER) == ["overview", "coverage", "screening", "hotspots", "snapshots", "present"]
    presenter = auth.pages_for(Viewer("p", "presenter", ("3207",)))
    assert [p[2] for p in presenter] == ["snapshots", "present"] and not any(p[4] for p in presenter)


def run_page(name: str, viewer: Viewer) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / f"{name}.py"), default_timeout=60)
    at.session_state[VIEWER_KEY] = viewer
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("name, viewer", [("data_import", LEADER), ("audit", LEADER),
                                          ("overview", Viewer("p", "presenter", ("320703",))),
                                          ("audit", Viewer("a", "analyst", ("3207",)))])
def test_a_page_the_role_may_not_see_refuses_when_reached_directly(with_accounts, name, viewer):
    at = run_page(name, viewer)
    assert [e.value for e in at.error] == [ZH["AUTH_NOT_ALLOWED"]]
    assert not at.get("file_uploader")
    assert not at.dataframe and not at.metric


def test_a_leader_home_has_no_import_page_and_a_presenter_lands_on_snapshots(with_accounts):
    at = app(**logged_in(LEADER))
    assert at.title[0].value == ZH["PAGE_OVERVIEW"]
    at = app(**logged_in(Viewer("pia", "presenter", ("320703",))))
    assert at.title[0].value == ZH["PAGE_SNAPSHOTS"]


def test_an_admin_gets_the_audit_page_with_the_chain_verified(with_accounts):
    at = run_page("audit", ADMIN)
    assert at.title[0].value == ZH["PAGE_AUDIT"]
    with duckdb.connect(str(with_accounts), read_only=True) as con:
        n = audit.verify(con).rows
    assert at.success[0].value == ZH["AUDIT_CHAIN_OK"].format(n=n)
    assert at.dataframe and {"下载 Excel", "下载 CSV"} <= {b.label for b in at.get("download_button")}
    assert not [b for b in at.button if "删除" in b.label or "修改" in b.label]


def test_a_session_idle_too_long_is_logged_out(with_accounts, monkeypatch):
    monkeypatch.setenv("ATLAS_SESSION_MINUTES", "30")
    at = app(**logged_in(LEADER, idle_seconds=29 * 60))
    assert at.session_state[VIEWER_KEY] == LEADER and shows_data(at)
    at = app(**logged_in(LEADER, idle_seconds=31 * 60))
    assert VIEWER_KEY not in at.session_state and not shows_data(at)
    assert ZH["AUTH_EXPIRED"].format(minutes="30") in texts(at)
    with duckdb.connect(str(with_accounts), read_only=True) as con:
        last = audit.read(con, audit.Filters(limit=1)).iloc[0]
    assert (last["user_name"], last["action"]) == ("lea", "logout")


def test_logout_button_ends_the_session(with_accounts):
    at = app(**logged_in(ADMIN))
    next(b for b in at.sidebar.button if b.label == "退出登录").click().run()
    assert VIEWER_KEY not in at.session_state and not shows_data(at)
    assert ZH["AUTH_LOGGED_OUT"] in texts(at)


def test_a_disabled_account_is_out_at_the_next_rerun(with_accounts, tmp_path, monkeypatch):
    path = tmp_path / "disabled.duckdb"
    shutil.copy(with_accounts, path)
    monkeypatch.setenv("ATLAS_DB", str(path))
    at = app(**logged_in(LEADER))
    assert shows_data(at)
    with duckdb.connect(str(path)) as con:
        accounts.disable(con, "lea")
    at.run()
    assert VIEWER_KEY not in at.session_state and not shows_data(at)
    assert ZH["AUTH_ACCOUNT_GONE"] in texts(at)


def test_an_account_whose_regions_hold_no_atlas_township_gets_imports_only(accounts_db, tmp_path, monkeypatch):
    """A county analyst before their first import: told so, offered the import page, no crash and
    no other county's data."""
    db = tmp_path / "atlas.duckdb"
    shutil.copy(accounts_db, db)
    with duckdb.connect(str(db)) as con:
        code = con.execute("""select region_code from regions where level = 'county' and not in_atlas
                              and region_code like '11%' order by region_code limit 1""").fetchall()[0][0]
        accounts.add_user(con, "bj", PASSWORD, "analyst", [code])
    monkeypatch.setenv("ATLAS_DB", str(db))
    at = app(**logged_in(accounts.viewer_for(duckdb.connect(str(db), read_only=True), "bj")))
    assert ZH["SCOPE_EMPTY"] in texts(at)
    assert at.title[0].value == ZH["PAGE_IMPORT"]
    assert not at.metric
