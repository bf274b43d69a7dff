"""Every page, run under AppTest as a county's analyst, shows that county and nothing of another:
the scope is applied where the pages read data (ui/data.py), so no widget state, URL value or
saved region can reach past it."""
import duckdb
import pytest

from access.viewer import Viewer
from tests.test_pages import PAGES, run_page
from ui import data

LIANYUN = "320703"  # 连云区


def _others(db) -> set[str]:
    """Names of the atlas's townships outside 连云区 (none of them is also a 连云区 name)."""
    with duckdb.connect(str(db), read_only=True) as con:
        inside = {n for (n,) in con.execute(
            "select name from regions where level = 'township' and in_atlas and region_code like ?", [LIANYUN + "%"])
            .fetchall()}
        outside = {n for (n,) in con.execute(
            "select name from regions where level = 'township' and in_atlas and region_code not like ?", [LIANYUN + "%"])
            .fetchall()}
    return {n for n in outside - inside if not any(n in m for m in inside)}


def _shown(at) -> str:
    parts = [str(e.value) for e in (*at.title, *at.caption, *at.markdown, *at.subheader, *at.info, *at.warning,
                                     *at.success, *at.metric)]
    for frame in at.dataframe:
        parts.append(frame.value.to_string())
    for box in at.selectbox:
        parts.extend(str(o) for o in box.options)
    return "\n".join(parts)


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("asked", [None, "320700000000", "320706000000"])
def test_a_county_analyst_sees_only_their_county(app_env, name, asked):
    viewer = Viewer("lianyun", "analyst", (LIANYUN,))
    state = {data.VIEWER_KEY: viewer, "period": "2025-12"}
    if asked:
        state["region"] = asked  # what a tampered URL or a stale session would hold
    at = run_page(name, **state)
    assert not at.exception, at.exception
    shown = _shown(at)
    assert "连云区" in shown and "墟沟街道" in shown or name == "screening"
    assert "连云港市" not in "\n".join(str(s.value) for s in at.subheader)  # not the city's total
    leaked = [n for n in _others(app_env) if n in shown]
    assert leaked == [], leaked[:5]


def test_the_same_page_for_everyone_shows_other_counties(app_env):
    """The check above can fail: the whole city's viewer sees townships of other counties."""
    at = run_page("coverage", period="2025-12", region="320700000000")
    shown = _shown(at)
    assert [n for n in _others(app_env) if n in shown]
