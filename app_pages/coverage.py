"""调解阵地覆盖: village coverage by township, the active rooms by type, an optional service
radius, and the gaps (盲区) as a downloadable list."""
import streamlit as st

from indicators import fmt
from i18n import safe
from ui import auth, data, exporting, panel, state, widgets
from ui.text import lang, t

auth.require("view")  # a role without the map views refuses here too, not only in the navigation

RADII = [0, 1, 2, 3, 5, 8, 10, 15]

period, region, region_name, view = widgets.current()
flt = widgets.filters()
language = lang()
st.title(t("PAGE_COVERAGE"))
widgets.breadcrumbs()
st.caption(f"{safe.markdown(region_name)} · {fmt.period_label(period, language)} · {widgets.data_as_of()}")
exporting.export_buttons("coverage")
widgets.intro(t("COVERAGE_INTRO"))

towns = data.indicator_table("township", period, region, flt)
rooms = data.rooms(period, region, flt)
state.page_param("radius", "coverage_radius", RADII, 0)
radius = st.columns([2, 3])[0].select_slider(t("RADIUS"), RADII, key="coverage_radius", help=t("RADIUS_HELP"),
                                             format_func=lambda km: t("RADIUS_OFF") if km == 0 else f"{km} km")
play = widgets.playback_toggle("coverage")
state.publish({"radius": radius or None, "play": "1" if play else None})
widgets.room_legend()
left, right = widgets.map_columns()
with left:
    widgets.indicator_map("coverage_rate", key="coverage_map", points=widgets.room_points(rooms),
                          radius_km=radius or None, playback=play)
    st.caption(t("ROOMS_ACTIVE_N", n=len(rooms)))
if right is not None:
    with right:
        panel.township_panel()

st.subheader(t("GAPS_TITLE"))
gaps = data.gaps(period, region, radius or None)
counts = gaps["kind"].value_counts()
facts = [t("GAPS_TOWNSHIPS", n=int(counts.get("township", 0))), t("GAPS_VILLAGES", n=int(counts.get("village", 0)))]
if radius:
    summary = data.radius_summary(period, region, radius)
    beyond, total = int(summary["households_beyond"].sum()), int(summary["households"].sum())
    share = beyond / total if total else None
    facts.append(t("GAPS_BEYOND", km=radius, households=fmt.count(beyond, language),
                   share=fmt.value("coverage_rate", share, language)))
    if int(counts.get("unknown_distance", 0)):
        facts.append(t("GAPS_UNKNOWN", n=int(counts.get("unknown_distance", 0))))
st.markdown(t("LIST_SEMI").join(facts) + t("FULL_STOP"))
if gaps.empty:
    st.success(t("ALL_TOWNSHIPS_HAVE_ROOMS"))
else:
    table = widgets.gaps_table(gaps)
    st.dataframe(table, hide_index=True, width="stretch", height=360)
    name = f"{t('GAPS_FILE')}-{region_name}-{period}" + (f"-{radius}km" if radius else "")
    a, b, _ = st.columns([1, 1, 4])
    a.download_button(t("DOWNLOAD_XLSX"), widgets.xlsx_bytes(table, t("GAPS_TITLE")), file_name=f"{name}.xlsx",
                      mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="gaps-xlsx",
                      on_click=auth.log, args=("export", {"view": "gaps", "format": "xlsx", "file": f"{name}.xlsx"}))
    b.download_button(t("DOWNLOAD_CSV"), widgets.csv_bytes(table), file_name=f"{name}.csv",
                      mime="text/csv", key="gaps-csv",
                      on_click=auth.log, args=("export", {"view": "gaps", "format": "csv", "file": f"{name}.csv"}))
