"""风险热点: risk per 1,000 screened households or cases per 10,000 households, smoothed so small
townships cannot paint themselves red, and tested for clusters (Gi*, local Moran's I)."""
import streamlit as st

from geo import hotspots, risk
from indicators import fmt
from queries import indicators
from i18n import safe
from ui import auth, data, exporting, panel, state, widgets
from ui.text import lang, t

auth.require("view")  # a role without the map views refuses here too, not only in the navigation

MEASURES = {"risk": "risk_rate_per_1000", "cases": "cases_per_10k"}
SHOWS = ["smoothed", "classes"]  # the smoothed rate with hot and cold spots outlined, or the classes alone

period, region, region_name, view = widgets.current()
flt = widgets.filters()
language = lang()
st.title(t("PAGE_HOTSPOTS"))
widgets.breadcrumbs()
st.caption(f"{safe.markdown(region_name)} · {fmt.period_label(period, language)} · {widgets.data_as_of()}")
# before the export buttons: an export of a link's first run shows the link's display
state.page_param("of", "hotspot_of", list(MEASURES), "risk")
state.page_param("show", "hotspot_show", SHOWS, "smoothed")
above = view in indicators.ABOVE_CITY  # a province's or the nation's townships: tested, listed, not drawn
if not above:
    exporting.export_buttons("hotspots")
widgets.intro(t("HOTSPOTS_INTRO"))

# plain columns: a phone stacks them, each row of options the screen's width (two to a row, as
# the KPI cards are, wrapped every option onto lines of its own); the short names fit one line
left_pick, right_pick = st.columns(2)
of = left_pick.radio(t("HOTSPOT_MEASURE"), list(MEASURES), key="hotspot_of", horizontal=True,
                     format_func=lambda m: widgets.label(MEASURES[m], language, short=True))
show = right_pick.radio(t("HOTSPOT_SHOW"), SHOWS, key="hotspot_show", horizontal=True,
                        format_func=lambda s: t(f"HOTSPOT_SHOW_{s}"))
state.publish({"of": None if of == "risk" else of, "show": None if show == "smoothed" else show})

code = MEASURES[of]
if above:
    # the nation's 38,723 townships take a minute: computed in the background (data.Computing)
    towns, stats = data.hotspot_overview(period, region, of, flt)
    st.caption(t("HOTSPOT_ABOVE_CITY_NOTE", region=safe.markdown(region_name), n=len(stats)))
    widgets.hotspot_counts(risk.counts(stats))
    st.subheader(t("TOP_RISK"))
    widgets.show_hotspot_ranking(towns, stats, code)
    st.caption(t("SUPPRESSION_NOTE"))
    with st.expander(t("HOTSPOT_METHOD"), expanded=False):
        st.markdown(hotspots.describe_method(language))
    st.stop()
towns = data.indicator_table("township", period, region, flt)
stats = data.hotspot_table(period, region, of, flt)
if view == "county":  # the test ran on this county's townships alone: say so before the map
    st.caption(t("HOTSPOT_COUNTY_NOTE"))
left, right = widgets.map_columns()
with left:
    widgets.hotspot_map(towns, stats, code, f"hotspot_{show}", show=show)
if right is not None:
    with right:
        panel.township_panel()

with st.expander(t("HOTSPOT_METHOD"), expanded=False):
    st.markdown(hotspots.describe_method(language))

st.subheader(t("TOP_RISK"))
widgets.show_hotspot_ranking(towns, stats, code)
st.caption(t("SUPPRESSION_NOTE"))
