"""总览: the headline indicators for the chosen region and period, with change, and a map."""
import streamlit as st

from queries import periods
from indicators import fmt
from i18n import safe
from ui import auth, data, exporting, panel, state, widgets
from ui.text import lang, t

auth.require("view")  # a role without the map views refuses here too, not only in the navigation

period, region, region_name, view = widgets.current()
flt = widgets.filters()
st.title(t("PAGE_OVERVIEW"))
widgets.breadcrumbs()
widgets.subtitle(t("OVERVIEW_INTRO", region=safe.markdown(region_name), period=fmt.period_label(period, lang()))
                 + " · " + widgets.data_as_of(),
                 f"{safe.markdown(region_name)} · {fmt.period_label(period, lang())} · {widgets.data_as_of()}")
exporting.export_buttons("overview")

level = view  # the region's own row: nation, province, city or county
now = data.indicator_table(level, period, region, flt)
if now.empty or now["households_screened"].sum() + now["cases_received"].sum() == 0:
    st.info(t("NO_DATA"))
before = data.indicator_table(level, periods.parse(period).previous().code, region, flt)
widgets.kpi_cards(
    now.iloc[0] if len(now) else {},
    before.iloc[0] if len(before) else None,
    ["coverage_rate", "screening_rate_ytd", "risk_rate_per_1000", "mediation_success_rate"],
)

# screening: 本年累计, as federations report it (queries/_macros.sql screening_to_date)
COMPARABLE = ["screening_rate_ytd", "coverage_rate", "risk_rate_per_1000", "mediation_success_rate", "cases_per_10k"]
choices = [p.code for p in periods.options(*data.data_span())] if data.data_span()[0] else [period]
state.page_param("compare", "overview_compare", choices, None)
state.page_param("map", "overview_code", COMPARABLE, "screening_rate_ytd")
pick_code, pick_compare = widgets.pair_columns([2, 2], "overview-picks")
code = pick_code.selectbox(t("OVERVIEW_MAP_CODE"), COMPARABLE, key="overview_code",
                           format_func=lambda c: widgets.label(c, lang(), short=True))
same_kind = [c for c in choices if periods.parse(c).kind == periods.parse(period).kind and c != period]
if st.session_state.get("overview_compare") not in same_kind:
    st.session_state["overview_compare"] = None
compare = pick_compare.selectbox(t("COMPARE_WITH"), [None, *same_kind], key="overview_compare",
                                 format_func=lambda c: t("COMPARE_OFF") if c is None else fmt.period_label(c, lang()),
                                 help=t("COMPARE_HELP"), placeholder=t("COMPARE_OFF"))
play = False if compare else widgets.playback_toggle("overview")
state.publish({"compare": compare, "map": None if code == "screening_rate_ytd" else code, "play": "1" if play else None})

if compare:
    st.subheader(t("COMPARE_TITLE", name=widgets.label(code, lang())))
    a, b = st.columns(2)
    with a:
        st.markdown(f"**{fmt.period_label(compare, lang())}**")
        widgets.indicator_map(code, key="compare_a", height=420, period=compare, same_scale_as=period)
    with b:
        st.markdown(f"**{fmt.period_label(period, lang())}**")
        widgets.indicator_map(code, key="compare_b", height=420, same_scale_as=compare)
    st.caption(t("COMPARE_NOTE"))
    left, right = widgets.map_columns()
else:
    left, right = widgets.map_columns()
    with left:
        # a phone goes from the picker to the map: the legend's title names the indicator again
        st.container(key="atlas-wide-only-map-title").subheader(t("OVERVIEW_MAP_OF", name=widgets.label(code, lang())))
        st.container(key="atlas-wide-only-map-hint").caption(t("MAP_CLICK_HINT_ABOVE" if view in ("nation", "province") else "MAP_CLICK_HINT"))
        widgets.indicator_map(code, key="overview_map", height=460, playback=play)
if right is not None:
    with right:
        panel.township_panel()
else:
    child = widgets.CHILD[view]  # the regions one level down: provinces, cities, counties or townships
    st.subheader(t(widgets.CHILD_TABLE[child]))
    rows = data.indicator_table(child, period, region, flt)
    st.dataframe(
        widgets.table_of(rows, ["coverage_rate", "screening_rate_ytd", "risk_rate_per_1000", "cases_received",
                                "mediation_success_rate"], t(widgets.LEVEL_WORDS[child][1]), short=True),
        hide_index=True, width="stretch",
    )
    st.caption(t("SUPPRESSION_NOTE"))
