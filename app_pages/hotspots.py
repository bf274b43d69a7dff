"""风险热点: risk found per 1,000 screened households, or dispute cases, by township."""
import streamlit as st

from ui import data, fmt, panel, widgets
from ui.text import lang, t

period, region, region_name, view = widgets.current()
flt = widgets.filters()
st.title(t("PAGE_HOTSPOTS"))
widgets.breadcrumbs()
st.caption(f"{region_name} · {fmt.period_label(period, lang())} · {widgets.data_as_of()}")
st.markdown(t("HOTSPOTS_INTRO"))

measures = ["risk_rate_per_1000", "cases_received", "cases_per_10k"]
measure = st.radio(t("HOTSPOT_MEASURE"), measures, horizontal=True, key="hotspot_measure",
                   format_func=lambda code: fmt.label(code, lang()))
towns = data.indicator_table("township", period, region, flt)
left, right = widgets.map_columns()
with left:
    widgets.indicator_map(measure, "Reds", key="hotspot_map", townships_only=True, values=towns)
if right is not None:
    with right:
        panel.township_panel()

st.subheader(t("TOP_RISK"))
top = towns.sort_values("risk_rate_per_1000", ascending=False, na_position="last").head(10)
st.dataframe(widgets.table_of(top, ["risk_rate_per_1000", "risk_households", "households_screened", "cases_received"],
                              t("TOWNSHIP")), hide_index=True, width="stretch")
st.caption(t("SUPPRESSION_NOTE"))
