"""Heavy figures computed once per data version in the background (issue 16, ui/data.background):
the hidden cells of a national year and the nation's hotspot statistics. While they are computed a
page says so and shows no number that waits for them (never the unsuppressed ones); once they are
done the next rerun shows them. The computations are held back by a gate here, so that the test
sees the computing state for sure: what runs behind the gate is the real code."""
import shutil
import threading
import time
from pathlib import Path

import duckdb
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from access import accounts
from access.viewer import Viewer
from data import national
from geo import risk
from indicators import registry
from i18n.text import ZH
from queries import indicators
from ui import auth, data

ROOT = Path(__file__).resolve().parent.parent
ADMIN = Viewer("root", "admin", ("",))
PERIOD = "2025-06"
PASSWORD = "correct horse battery staple 16"


def test_background_computes_once_and_says_computing_until_done():
    gate, calls = threading.Event(), []

    def slow(x):
        calls.append(x)
        gate.wait(30)
        return x * 2

    key = ("test", time.time())
    with pytest.raises(data.Computing) as pending:
        data.background(key, slow, 21, what="COMPUTING_HOTSPOTS", minutes=3, wait=0)
    assert (pending.value.what, pending.value.minutes) == ("COMPUTING_HOTSPOTS", 3)
    assert not data.ready(key)
    with pytest.raises(data.Computing):  # a second page asking does not start it again
        data.background(key, slow, 21, what="COMPUTING_HOTSPOTS", wait=0)
    gate.set()
    assert data.background(key, slow, 21, what="COMPUTING_HOTSPOTS", wait=10) == 42
    assert data.ready(key) and calls == [21]


def test_a_failed_computation_is_raised_and_tried_again():
    tries = []

    def fails():
        tries.append(1)
        raise RuntimeError("disk busy")

    key = ("fails", time.time())
    for _ in range(2):
        with pytest.raises(RuntimeError):
            data.background(key, fails, what="COMPUTING_HOTSPOTS", wait=10)
    assert len(tries) == 2


@pytest.fixture(scope="module")
def two_provinces(tmp_path_factory):
    path = tmp_path_factory.mktemp("background") / "two.duckdb"
    national.build(path, seed=4, provinces=["46", "64"], rows=0.004)
    return path


@pytest.fixture(scope="module")
def with_admin(two_provinces, tmp_path_factory):
    """The same with an admin account: without accounts every visitor is the demo viewer."""
    path = tmp_path_factory.mktemp("background_admin") / "two.duckdb"
    shutil.copy(two_provinces, path)
    with duckdb.connect(str(path)) as con:
        accounts.add_user(con, "root", PASSWORD, "admin", ["all"])
    return path


def as_national(path, monkeypatch):
    """The app on two provinces, treated as a national atlas (every size threshold at 0), the
    page's wait for a background computation at 0 s."""
    monkeypatch.setenv("ATLAS_DB", str(path))
    monkeypatch.delenv("ATLAS_REQUIRE_LOGIN", raising=False)
    monkeypatch.setattr(indicators, "SOLVE_IN_PARTS_ABOVE", 0)
    monkeypatch.setattr(data, "HOTSPOTS_IN_BACKGROUND_ABOVE", 0)
    monkeypatch.setattr(data, "BACKGROUND_WAIT", 0.0)
    with data._JOBS_LOCK:
        data._JOBS.clear()
    indicators._JOINT.clear()
    st.cache_data.clear()  # what an earlier test's pages cached was computed: start from nothing
    return path


@pytest.fixture
def national_env(two_provinces, monkeypatch):
    return as_national(two_provinces, monkeypatch)


@pytest.fixture
def admin_env(with_admin, monkeypatch):
    return as_national(with_admin, monkeypatch)


def gated(monkeypatch, module, name) -> threading.Event:
    """``module.name`` held until the returned gate opens, then the real thing."""
    gate, real = threading.Event(), getattr(module, name)

    def held(*args, **kwargs):
        gate.wait(120)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, held)
    return gate


def open_page(viewer: Viewer | None, page: str | None, **params) -> AppTest:
    """app.py (whose page.run() the notice is shown around) on ``page`` (None: the overview, the
    first page), as ``viewer`` (None: the demo viewer, whose small counts are hidden)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    if viewer is not None:
        at.session_state[data.VIEWER_KEY] = viewer
    at.session_state[auth.ACTIVE_KEY] = time.time()
    at.query_params.update(params)
    at.run()
    if page is not None:
        at.switch_page(page)
        at.session_state[auth.ACTIVE_KEY] = time.time()
        at.run()
    assert not at.exception, at.exception
    return at


def notices(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in at.info)


def until_done(at: AppTest, what: str, seconds: float = 170) -> None:
    """Rerun (as the notice's check does every few seconds) until the notice has gone."""
    start = time.time()
    while ZH[what].split("（")[0] in notices(at) and time.time() - start < seconds:
        time.sleep(1)
        at.session_state[auth.ACTIVE_KEY] = time.time()
        at.run()
        assert not at.exception, at.exception


def test_the_overview_says_the_protection_is_computing_and_shows_no_count(national_env, monkeypatch):
    gate = gated(monkeypatch, indicators, "year_hidden_cells")
    at = open_page(None, None, period=PERIOD, region=indicators.NATION)
    assert "正在计算小数值保护" in notices(at)
    assert [m.value for m in at.metric] == [] and len(at.dataframe) == 0  # no card, no table: nothing to read
    assert at.button(key="computing_check")  # and a way to look again now
    gate.set()
    until_done(at, "COMPUTING_SUPPRESSION")
    assert "正在计算小数值保护" not in notices(at)
    assert len(at.metric) >= 4 and len(at.dataframe) >= 1  # the cards and the provinces' table


def test_the_english_notice(national_env, monkeypatch):
    gated(monkeypatch, indicators, "year_hidden_cells")
    at = open_page(None, None, period=PERIOD, region=indicators.NATION, lang="en")
    assert "Computing small-count protection" in notices(at)
    assert [m.value for m in at.metric] == []


def test_the_nations_hotspots_are_computed_in_the_background(admin_env, monkeypatch):
    gate = gated(monkeypatch, risk, "table")
    at = open_page(ADMIN, "app_pages/hotspots.py", period=PERIOD, region=indicators.NATION)
    assert "正在计算热点统计" in notices(at)
    assert len(at.dataframe) == 0 and [m.value for m in at.metric] == []
    gate.set()
    until_done(at, "COMPUTING_HOTSPOTS")
    assert "正在计算热点统计" not in notices(at)
    ranking = at.dataframe[0].value
    assert len(ranking) == 15 and ZH["TOWNSHIP"] in ranking.columns
    assert any("个乡镇一起检验" in str(c.value) for c in at.caption)


def test_even_rates_are_said_to_be_even_above_the_ranking(admin_env):
    """This build's risk is even (a few households a township): smoothing gives all its townships
    the pooled rate, and the nation's hotspot page says so above the list (whose order is then the
    unsmoothed rate's only)."""
    at = open_page(ADMIN, "app_pages/hotspots.py", period=PERIOD, region=indicators.NATION)
    until_done(at, "COMPUTING_HOTSPOTS")
    assert ZH["HOTSPOT_RANKING_FLAT"] in notices(at)
    assert len(at.dataframe[0].value) == 15


def test_a_provinces_hotspots_for_a_viewer_wait_for_the_protection_too(national_env, monkeypatch):
    """A non-admin's (the demo viewer's) hotspot table at a province waits for the hidden cells, then lists the
    townships with their small counts hidden."""
    gate = gated(monkeypatch, indicators, "year_hidden_cells")
    at = open_page(None, "app_pages/hotspots.py", period=PERIOD, region="460000000000")
    assert "正在计算小数值保护" in notices(at) and len(at.dataframe) == 0
    gate.set()
    until_done(at, "COMPUTING_SUPPRESSION")
    until_done(at, "COMPUTING_HOTSPOTS")  # every threshold is 0 here: a province's too, after the cells
    ranking = at.dataframe[0].value
    counts = ranking[registry.INDICATORS["risk_households"].label["zh"]].astype(str)
    assert len(ranking) > 0 and not counts.str.fullmatch("[1-4]").any()  # "<5", never the count
