"""调解阵地覆盖: village coverage by township, with the active rooms as points by type."""
import streamlit as st

from ui import data, fmt, panel, widgets
from ui.text import lang, t

period, region, region_name, view = widgets.current()
flt = widgets.filters()
st.title(t("PAGE_COVERAGE"))
widgets.breadcrumbs()
st.caption(f"{region_name} · {fmt.period_label(period, lang())} · {widgets.data_as_of()}")
st.markdown(t("COVERAGE_INTRO"))

towns = data.indicator_table("township", period, region, flt)
rooms = data.rooms(period, region)
if flt.room_types:
    rooms = rooms[rooms["room_type"].isin(flt.room_types)]
widgets.room_legend()
left, right = widgets.map_columns()
with left:
    widgets.indicator_map("coverage_rate", "Blues", key="coverage_map", points=widgets.room_points(rooms))
    st.caption(t("ROOMS_ACTIVE_N", n=len(rooms)))
if right is not None:
    with right:
        panel.township_panel()

without = towns[towns["rooms_active"] == 0]
if len(without):
    st.subheader(t("TOWNSHIPS_WITHOUT_ROOMS", n=len(without)))
    st.dataframe(widgets.table_of(without, ["villages_total", "households_total", "rooms_active"], t("TOWNSHIP")),
                 hide_index=True, width="stretch")
else:
    st.success(t("ALL_TOWNSHIPS_HAVE_ROOMS"))
