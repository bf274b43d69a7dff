"""调解阵地覆盖: village coverage by township, with the active rooms as points by type."""
import streamlit as st

from ui import data, fmt, widgets
from ui.text import lang, t

period, region, region_name, view = widgets.current()
st.title(t("PAGE_COVERAGE"))
st.caption(f"{region_name} · {fmt.period_label(period, lang())} · {widgets.data_as_of()}")
st.markdown(t("COVERAGE_INTRO"))

towns = data.indicator_table("township", period, region)
rooms = data.rooms(period, region)
widgets.room_legend()
widgets.township_map(towns, "coverage_rate", view, region, "Blues",
                     points=widgets.room_points(rooms), key="coverage_map")
st.caption(t("ROOMS_ACTIVE_N", n=len(rooms)))

without = towns[towns["rooms_active"] == 0]
if len(without):
    st.subheader(t("TOWNSHIPS_WITHOUT_ROOMS", n=len(without)))
    st.dataframe(widgets.table_of(without, ["villages_total", "households_total", "rooms_active"], t("TOWNSHIP")),
                 hide_index=True, width="stretch")
else:
    st.success(t("ALL_TOWNSHIPS_HAVE_ROOMS"))
