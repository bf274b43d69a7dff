"""总览: the headline indicators for the chosen region and period, with change, and a small map."""
import streamlit as st

from queries import periods
from ui import data, fmt, widgets
from ui.text import lang, t

period, region, region_name, view = widgets.current()
st.title(t("PAGE_OVERVIEW"))
st.caption(t("OVERVIEW_INTRO", region=region_name, period=fmt.period_label(period, lang())) + " · " + widgets.data_as_of())

level = "city" if view == "city" else "county"
now = data.indicator_table(level, period, region)
if now.empty or now["households_screened"].sum() + now["cases_received"].sum() == 0:
    st.info(t("NO_DATA"))
before = data.indicator_table(level, periods.parse(period).previous().code, region)
widgets.kpi_cards(
    now.iloc[0] if len(now) else {},
    before.iloc[0] if len(before) else None,
    ["coverage_rate", "screening_rate", "risk_rate_per_1000", "mediation_success_rate"],
)

left, right = st.columns([3, 2])
with left:
    st.subheader(t("OVERVIEW_MAP"))
    towns = data.indicator_table("township", period, region)
    widgets.township_map(towns, "screening_rate", view, region, "Greens", height=420, key="overview_map")
with right:
    st.subheader(t("OVERVIEW_COUNTIES"))
    counties = data.indicator_table("county", period, region)
    st.dataframe(
        widgets.table_of(counties, ["coverage_rate", "screening_rate", "risk_rate_per_1000", "cases_received",
                                    "mediation_success_rate"], t("COUNTY"), short=True),
        hide_index=True, width="stretch",
    )
    st.caption(t("SUPPRESSION_NOTE"))
