"""The view lives in the URL: a link reopens the same view, bad parameters fall back with a notice,
and drilling down or up changes the URL (ui/state.py, the sidebar, the breadcrumbs)."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import state

ROOT = Path(__file__).resolve().parent.parent
CITY, COUNTY, TOWN = "320700000000", "320722000000", "320722101000"


def choices() -> state.Choices:
    return state.Choices(
        periods=["2025-06", "2025-05", "2025Q2", "2025"], default_period="2025-06",
        regions={CITY: "city", "320703000000": "county", COUNTY: "county"},
        townships={TOWN: COUNTY, "320703001000": "320703000000"},
        room_types=["婚调坊", "妇女议事会"], risk_types=["家庭暴力", "婚姻家庭纠纷"], case_sources=["网格员", "来访"],
    )


def test_defaults_when_the_url_is_empty():
    view, notices = state.parse({}, choices())
    assert notices == []
    assert view["period"] == "2025-06" and view["region"] == CITY and view["town"] is None
    assert view["level"] == ["中", "高"] and view["scheme"] == "quantiles" and view["k"] == 5
    assert state.to_params(view) == {"period": "2025-06", "region": CITY}


def test_a_full_view_round_trips_through_the_url():
    wanted = {"period": "2025Q2", "region": COUNTY, "town": TOWN, "room": ["婚调坊"], "level": ["高"],
              "rtype": ["家庭暴力", "婚姻家庭纠纷"], "source": ["来访"], "scheme": "fisher_jenks", "k": 4,
              "lock": True, "unit": "township", "lang": "en"}
    params = state.to_params(wanted)
    assert params["rtype"] == "家庭暴力,婚姻家庭纠纷" and params["lock"] == "1"
    view, notices = state.parse(params, choices())
    assert notices == []
    assert view == wanted


@pytest.mark.parametrize("params, param", [
    ({"period": "2031-13"}, "period"),
    ({"region": "999999999999"}, "region"),
    ({"region": "'; drop table regions; --"}, "region"),
    ({"town": "320722999000"}, "town"),
    ({"scheme": "rainbow"}, "scheme"),
    ({"k": "40"}, "k"),
    ({"k": "-1"}, "k"),
    ({"lock": "yes"}, "lock"),
    ({"unit": "village"}, "unit"),
    ({"room": "不存在的类型"}, "room"),
])
def test_a_bad_or_stale_parameter_falls_back_with_a_notice(params, param):
    view, notices = state.parse(params, choices())
    assert [n.param for n in notices] == [param]
    default, _ = state.parse({}, choices())
    assert view == default


def test_unknown_list_members_are_dropped_one_by_one():
    view, notices = state.parse({"source": "来访,火星,网格员", "level": "极高"}, choices())
    assert view["source"] == ["来访", "网格员"]
    assert view["level"] == ["中", "高"]  # risk levels may not be empty: the default stays
    assert {n.value for n in notices} == {"火星", "极高"}


def test_a_township_opens_in_its_county():
    view, _ = state.parse({"region": CITY, "town": TOWN}, choices())
    assert (view["region"], view["town"]) == (COUNTY, TOWN)
    view, _ = state.parse({"region": TOWN}, choices())  # a township given as the region
    assert (view["region"], view["town"]) == (COUNTY, TOWN)
    view, _ = state.parse({"region": "320703000000", "town": TOWN}, choices())  # the township wins
    assert view["region"] == COUNTY


# ---- the app itself, under AppTest, with the link's parameters ------------------------------

def open_app(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params.update(params)
    at.run()
    assert not at.exception, at.exception
    return at


def test_a_link_reopens_the_same_view(app_env):
    at = open_app(period="2025Q2", region=COUNTY, town=TOWN, level="高", scheme="equal_interval", k="4", lock="1")
    ss = at.session_state
    assert (ss["period"], ss["region"], ss["town"]) == ("2025Q2", COUNTY, TOWN)
    assert ss[state.KEYS["level"]] == ["高"] and ss[state.KEYS["scheme"]] == "equal_interval"
    assert ss[state.KEYS["k"]] == 4 and ss[state.KEYS["lock"]] is True
    # the URL the app writes back is the one it was given
    assert at.query_params["period"] == "2025Q2" and at.query_params["town"] == TOWN
    assert at.query_params["level"] == "高"
    # the panel of that township is open, with its name
    assert any("白塔埠镇" in s.value for s in at.subheader)


def test_a_bad_link_falls_back_with_a_notice_not_a_traceback(app_env):
    at = open_app(period="1999-01", region="320799000000", scheme="rainbow")
    assert at.session_state["period"] == "2025-12" and at.session_state["region"] == CITY
    warnings = " ".join(w.value for w in at.sidebar.warning)
    assert "1999-01" in warnings and "320799000000" in warnings and "rainbow" in warnings


def test_changing_a_filter_changes_the_url_and_the_numbers(app_env):
    at = open_app(period="2025-06", region=CITY)
    before = [m.value for m in at.metric]
    at.sidebar.multiselect(key=state.KEYS["level"]).set_value(["高"]).run()
    assert not at.exception, at.exception
    assert at.query_params["level"] == "高"
    after = [m.value for m in at.metric]
    assert after[2] != before[2]  # the risk rate counts only high risk now
    assert after[0] == before[0]  # coverage does not depend on risk levels


def test_breadcrumbs_go_back_up_from_a_township_to_the_city(app_env):
    at = open_app(period="2025-06", region=COUNTY, town=TOWN)
    crumbs = [b for b in at.button if b.key and b.key.startswith("crumb-")]
    assert [b.label for b in crumbs] == ["连云港市 ›", "东海县 ›", "白塔埠镇"]
    assert crumbs[-1].disabled
    at.button(key="crumb-county").click().run()  # back to the county: the panel closes
    assert at.session_state["region"] == COUNTY and at.session_state["town"] is None
    assert "town" not in at.query_params
    at.button(key="crumb-city").click().run()
    assert at.session_state["region"] == CITY
    assert at.query_params["region"] == CITY
    assert [b.label for b in at.button if b.key and b.key.startswith("crumb-")] == ["连云港市"]


def test_closing_the_panel_keeps_the_county(app_env):
    at = open_app(period="2025-06", region=COUNTY, town=TOWN)
    at.button(key="panel-close").click().run()
    assert at.session_state["town"] is None and at.session_state["region"] == COUNTY


def test_compare_mode_draws_two_periods_on_one_scale(app_env):
    from indicators import legend

    a, b = [0.1, 0.2, 0.3, 0.4, 0.9], [0.5, 0.6, 0.7, 0.8, 0.95]
    left = legend.classes_for(a, "screening_rate", "2025-06", other=b)
    right = legend.classes_for(b, "screening_rate", "2025-05", other=a)
    assert left.breaks == right.breaks and left.lowest == right.lowest == 0.1
    assert sum(left.counts) == sum(right.counts) == 5
    assert left.counts != right.counts  # the same breaks, different months: different colours
    at = open_app(period="2025-06", region=CITY, compare="2024-06", map="risk_rate_per_1000")
    assert at.session_state["overview_compare"] == "2024-06"
    assert any("两期对比" in s.value for s in at.subheader)
    assert at.query_params["compare"] == "2024-06" and at.query_params["map"] == "risk_rate_per_1000"


def test_a_locked_scale_keeps_its_breaks_across_months(app_env):
    """With the scale locked, every month is classed on the same breaks; unlocked, each month
    gets its own quantiles."""
    import streamlit as st

    from ui import data, widgets

    months = ["2025-03", "2025-06", "2025-09"]
    values = {m: data.indicator_table("township", m, CITY)["screening_rate"].to_numpy() for m in months}
    st.session_state[state.KEYS["scheme"]] = "quantiles"
    st.session_state[state.KEYS["k"]] = 5
    st.session_state[state.KEYS["lock"]] = False
    own = {m: widgets.classes_for(values[m], "screening_rate", "township", m, CITY).breaks for m in months}
    assert len(set(own.values())) == 3  # each month its own breaks
    st.session_state[state.KEYS["lock"]] = True
    locked = {m: widgets.classes_for(values[m], "screening_rate", "township", m, CITY) for m in months}
    assert len({c.breaks for c in locked.values()}) == 1
    assert len({c.lowest for c in locked.values()}) == 1
    assert all(sum(c.counts) + c.missing == 90 for c in locked.values())
    st.session_state[state.KEYS["lock"]] = False


def test_risk_labels_name_the_levels_counted(app_env):
    at = AppTest.from_file(str(ROOT / "app_pages" / "hotspots.py"), default_timeout=90)
    at.session_state["period"] = "2025-06"
    at.session_state["region"] = COUNTY
    at.run()
    assert "中高风险户数" in at.dataframe[0].value.columns
    at.session_state[state.KEYS["level"]] = ["高"]
    at.run()
    assert not at.exception, at.exception
    columns = list(at.dataframe[0].value.columns)
    assert "风险户数（高）" in columns and "中高风险户数" not in columns
    assert "风险发现率（每千排查户）（按高计）" in columns


def test_the_language_round_trips_through_the_url():
    view, notices = state.parse({"lang": "en"}, choices())
    assert notices == [] and view["lang"] == "en"
    assert state.to_params(view)["lang"] == "en"
    assert "lang" not in state.to_params(state.parse({}, choices())[0])  # zh is the default
    view, notices = state.parse({"lang": "fr"}, choices())
    assert view["lang"] == "zh" and [n.param for n in notices] == ["lang"]


def test_a_link_in_english_opens_in_english(app_env):
    at = open_app(lang="en", period="2025-06", region=CITY)
    assert at.session_state["lang"] == "en"
    assert at.query_params["lang"] == "en"
    assert any("Federation Atlas" in m.value for m in at.sidebar.markdown)


def test_the_sidebar_offers_only_the_filters_a_page_uses(app_env):
    at = open_app(period="2025-06", region=CITY, level="高")
    every = {state.KEYS[n] for n in ("room", "level", "rtype", "source")}
    assert {w.key for w in at.sidebar.multiselect} == every  # the overview uses them all
    at.switch_page("app_pages/screening.py").run()
    assert not at.exception, at.exception
    assert {w.key for w in at.sidebar.multiselect} == {state.KEYS["level"], state.KEYS["rtype"]}
    at.switch_page("app_pages/coverage.py").run()
    assert {w.key for w in at.sidebar.multiselect} == {state.KEYS["room"]}
    at.switch_page("app_pages/data_import.py").run()
    assert not at.exception, at.exception
    assert [w.key for w in at.sidebar.multiselect] == [] and not at.sidebar.slider  # no filters, no classes
    assert at.session_state[state.KEYS["level"]] == ["高"]  # a filter not shown keeps its value
    at.switch_page("app_pages/hotspots.py").run()
    assert not at.exception, at.exception
    assert at.sidebar.multiselect(key=state.KEYS["level"]).value == ["高"]
    # Streamlit's "Select all" option is English: it is turned off on every filter
    assert all(not w.proto.select_all for w in at.sidebar.multiselect)


def test_a_township_panel_uses_every_filter():
    from ui import widgets

    assert widgets.filters_shown("coverage", None) == ("room",)
    assert set(widgets.filters_shown("coverage", "320722101000")) == {"room", "level", "rtype", "source"}
    assert widgets.filters_shown("import", "320722101000") == ()
