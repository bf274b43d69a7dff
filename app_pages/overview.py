"""总览: the headline indicators for the chosen region and period, with change, and a map."""
import streamlit as st

from queries import periods
from ui import data, fmt, panel, widgets
from ui.text import lang, t

period, region, region_name, view = widgets.current()
flt = widgets.filters()
st.title(t("PAGE_OVERVIEW"))
widgets.breadcrumbs()
st.caption(t("OVERVIEW_INTRO", region=region_name, period=fmt.period_label(period, lang())) + " · " + widgets.data_as_of())

level = "city" if view == "city" else "county"
now = data.indicator_table(level, period, region, flt)
if now.empty or now["households_screened"].sum() + now["cases_received"].sum() == 0:
    st.info(t("NO_DATA"))
before = data.indicator_table(level, periods.parse(period).previous().code, region, flt)
widgets.kpi_cards(
    now.iloc[0] if len(now) else {},
    before.iloc[0] if len(before) else None,
    ["coverage_rate", "screening_rate", "risk_rate_per_1000", "mediation_success_rate"],
)

left, right = widgets.map_columns()
with left:
    st.subheader(t("OVERVIEW_MAP"))
    st.caption(t("MAP_CLICK_HINT"))
    widgets.indicator_map("screening_rate", "Greens", key="overview_map", height=460)
if right is not None:
    with right:
        panel.township_panel()
else:
    st.subheader(t("OVERVIEW_COUNTIES") if view == "city" else t("OVERVIEW_TOWNSHIPS"))
    rows = data.indicator_table("county" if view == "city" else "township", period, region, flt)
    st.dataframe(
        widgets.table_of(rows, ["coverage_rate", "screening_rate", "risk_rate_per_1000", "cases_received",
                                "mediation_success_rate"], t("COUNTY") if view == "city" else t("TOWNSHIP"), short=True),
        hide_index=True, width="stretch",
    )
    st.caption(t("SUPPRESSION_NOTE"))
