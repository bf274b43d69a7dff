"""Who may narrow sensitive counts by risk level, risk type or case source (issue 14).

Two such counts side by side give a small one back by subtraction: risk households of 中高 less
those of 高 are those of 中. No choice of hidden cells defends every filter combination, so only
viewers who see exact counts (admins), and the demo mode on the demo's own made-up data, may
narrow them; everyone else sees the defaults (中/高, every type and source), told why. A
township's cases by type and source are shown for the whole year unless an admin: a month's would
be the year's less the other months'.
"""
import shutil
import time
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

import cli
from access import accounts
from access.viewer import DEMO, Viewer
from i18n.text import ZH
from queries import indicators
from ui import auth, state
from ui.data import VIEWER_KEY

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse 1"
ANALYST = Viewer("ana", "analyst", ("3207",))
ADMIN = Viewer("root", "admin", ("",))
CITY = "320700000000"
TOWN = "320722101000"
SENSITIVE = {state.KEYS[n] for n in ("level", "rtype", "source")}


@pytest.fixture(scope="module")
def accounts_db(demo_db, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("narrow") / "atlas.duckdb"
    shutil.copy(demo_db, path)
    with duckdb.connect(str(path)) as con:
        accounts.add_user(con, "root", PASSWORD, "admin", ["all"])
        accounts.add_user(con, "ana", PASSWORD, "analyst", [CITY])
    return path


@pytest.fixture
def with_accounts(accounts_db, monkeypatch) -> Path:
    monkeypatch.setenv("ATLAS_DB", str(accounts_db))
    monkeypatch.delenv("ATLAS_REQUIRE_LOGIN", raising=False)
    return accounts_db


def open_app(viewer: Viewer, **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.session_state[VIEWER_KEY] = viewer
    at.session_state[auth.ACTIVE_KEY] = time.time()
    at.query_params.update(params)
    at.run()
    assert not at.exception, at.exception
    return at


def test_who_may_narrow():
    assert ADMIN.may_narrow(False) and ADMIN.may_narrow(True)
    assert not ANALYST.may_narrow(True) and not Viewer("l", "leader", ("",)).may_narrow(True)
    assert DEMO.may_narrow(True) and not DEMO.may_narrow(False)  # made-up data only
    assert not indicators.Filters(room_types=("婚调坊",)).narrows_sensitive()
    assert indicators.Filters(risk_levels=("高", "中")).narrows_sensitive() is False  # the default, any order
    for narrowed in (indicators.Filters(risk_levels=("高",)), indicators.Filters(risk_types=("家庭暴力",)),
                     indicators.Filters(case_sources=("来访",))):
        assert narrowed.narrows_sensitive()
        assert narrowed.allowed(False) == indicators.Filters() and narrowed.allowed(True) == narrowed
    rooms = indicators.Filters(room_types=("婚调坊",), risk_levels=("高",))
    assert rooms.allowed(False) == indicators.Filters(room_types=("婚调坊",))


def test_an_analyst_is_offered_room_types_only_and_told_why(with_accounts):
    at = open_app(ANALYST, period="2025-06", region=CITY)
    assert {w.key for w in at.sidebar.multiselect} == {state.KEYS["room"]}
    assert ZH["FILTER_SENSITIVE_ADMIN"] in [c.value for c in at.sidebar.caption]
    admin = open_app(ADMIN, period="2025-06", region=CITY)
    assert SENSITIVE <= {w.key for w in admin.sidebar.multiselect}


def test_a_link_with_a_risk_filter_opens_on_the_defaults_for_an_analyst(with_accounts):
    plain = open_app(ANALYST, period="2025-06", region=CITY)
    linked = open_app(ANALYST, period="2025-06", region=CITY, level="高", source="来访")
    assert ZH["FILTER_SENSITIVE_RESET"] in [w.value for w in linked.sidebar.warning]
    assert [m.value for m in linked.metric] == [m.value for m in plain.metric]
    assert "level" not in linked.query_params and "source" not in linked.query_params
    # the admin's link counts high risk only: the numbers differ, so the check above can fail
    admin = open_app(ADMIN, period="2025-06", region=CITY, level="高")
    assert admin.query_params["level"] == "高"
    assert [m.value for m in admin.metric] != [m.value for m in open_app(ADMIN, period="2025-06", region=CITY).metric]


def test_the_cli_refuses_a_risk_filter_to_an_analyst(accounts_db, tmp_path, capsys):
    out = tmp_path / "high.pptx"
    args = ["snapshot", "--view", "hotspots", "--risk-levels", "高", "--out", str(out), "--db", str(accounts_db)]
    assert cli.main([*args, "--user", "ana"]) == 2
    assert "--risk-levels" in capsys.readouterr().err and not out.exists()
    assert cli.main([*args, "--user", "root"]) == 0 and out.exists()


def test_the_demo_mode_may_not_narrow_once_a_ledger_is_imported(demo_db, tmp_path, capsys):
    """The CLI without --user runs as the demo viewer: on the demo's data it may narrow (the
    export tests do), on a database holding an import it may not."""
    path = tmp_path / "atlas.duckdb"
    shutil.copy(demo_db, path)
    ledger = tmp_path / "rooms.csv"
    ledger.write_text("乡镇,阵地名称,阵地类型,成立日期\n白塔埠镇,白塔埠镇婚调坊二,婚调坊,2025-03-01\n", encoding="utf-8")
    assert cli.main(["import", str(ledger), "--replace", "--db", str(path)]) == 0
    out = tmp_path / "high.pptx"
    assert cli.main(["snapshot", "--view", "overview", "--risk-levels", "高", "--out", str(out), "--db", str(path)]) == 2
    assert "admin" in capsys.readouterr().err


def test_an_analysts_panel_shows_cases_by_type_for_the_whole_year(with_accounts):
    at = open_app(ANALYST, period="2025-06", region="320722000000", town=TOWN)
    body = "\n".join(m.value for m in at.markdown)
    assert ZH["PANEL_CASES_YEAR"].format(year="2025年") in body and ZH["PANEL_CASES"] not in body
    assert ZH["PANEL_CASES_YEAR_WHY"] in [c.value for c in at.caption]
    admin = open_app(ADMIN, period="2025-06", region="320722000000", town=TOWN)
    assert ZH["PANEL_CASES"] in "\n".join(m.value for m in admin.markdown)
