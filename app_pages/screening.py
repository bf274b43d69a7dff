"""排查进度: completion against the year's targets (时间过半、任务过半), red/amber/green status,
the laggards, the month-on-month change and the monthly trend against the target."""
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from queries import periods
from indicators import fmt
from i18n import safe
from ui import auth, data, exporting, panel, state, widgets
from ui.text import lang, t

auth.require("view")  # a role without the map views refuses here too, not only in the navigation

SHOWS = ["rate", "status", "change"]

period, region, region_name, view = widgets.current()
flt = widgets.filters()
language = lang()
selected = periods.parse(period)
st.title(t("PAGE_SCREENING"))
widgets.breadcrumbs()
st.caption(f"{safe.markdown(region_name)} · {fmt.period_label(period, language)} · {widgets.data_as_of()}")
exporting.export_buttons("screening")
widgets.intro(t("SCREENING_INTRO"))

towns = data.indicator_table("township", period, region, flt)
whole_rates = data.indicator_table(view, period, region, flt)  # the region's own row
pace = data.pacing("township", period, region)
whole = data.pacing(view, period, region)
if len(whole):
    row = whole.iloc[0]
    cards = widgets.pair_columns(4, "pace")
    cards[0].metric(t("PACE_TARGET"), fmt.count(row["target"], language), border=True)
    cards[1].metric(t("PACE_EXPECTED", share=fmt.value("coverage_rate", row["elapsed_share"], language)),
                    fmt.count(row["expected_by_now"], language), border=True)
    cards[2].metric(t("PACE_DONE_OF", share=fmt.value("coverage_rate", row["completion"], language)),
                    fmt.count(row["screened_ytd"], language), border=True)
    cards[3].metric(t("PACE_STATUS"), widgets.status_text(row["status"]), border=True,
                    help=t("PACE_RULE"))

# 本年累计: the cards, the map and the trend's line count from 1 January (screening_to_date)
st.caption(widgets.ytd_note("screening_rate_ytd", whole_rates.iloc[0] if len(whole_rates) else None, period))

state.page_param("show", "screening_show", SHOWS, "status")
options = SHOWS if selected.kind == "month" else SHOWS[:2]
if st.session_state["screening_show"] not in options:
    st.session_state["screening_show"] = "status"
show = st.radio(t("SCREENING_SHOW"), options, key="screening_show", horizontal=True,
                format_func=lambda s: t(f"SCREENING_SHOW_{s}"))
# the rate and the pace status play month by month; the change on last month is itself a step
play = widgets.playback_toggle("screening") if show in ("rate", "status") else False
state.publish({"show": None if show == "status" else show, "play": "1" if play else None})

left, right = widgets.map_columns()
with left:
    if show == "rate":
        widgets.indicator_map("screening_rate_ytd", key="screening_map", playback=play)
    elif show == "status":
        widgets.status_map(period, "screening_status_map", playback=play)
    else:
        widgets.change_map(period, "screening_change_map")
if right is not None:
    with right:
        panel.township_panel()

st.subheader(t("LAGGARDS"))
st.caption(t("PACE_RULE"))
laggards = pace.sort_values(["laggard_rank", "region_code"], na_position="last")
st.dataframe(widgets.pacing_table(laggards), hide_index=True, width="stretch",
             height=min(35 * (len(laggards) + 1) + 3, 420))

first, last = data.data_span()
first, last = first or selected.start, last or selected.end  # nothing imported yet: this period alone
trend = data.screening_trend(region, first, last)
figure = go.Figure()
figure.add_bar(x=trend["month_start"], y=trend["screening_rate"] * 100, name=t("TREND_MONTHLY"),
               marker_color="#9ecae1", hovertemplate="%{x|%Y-%m}: %{y:.1f}%<extra></extra>")
figure.add_scatter(x=trend["month_start"], y=trend["ytd_rate"] * 100, name=t("TREND_YTD"), mode="lines+markers",
                   line={"color": "#31a354", "width": 3}, hovertemplate="%{x|%Y-%m}: %{y:.1f}%<extra></extra>")
if len(whole) and not fmt.is_missing(whole.iloc[0]["target"]) and whole.iloc[0]["households_total"]:
    # the pace line: the year's target times the share of the year passed at each month's end,
    # the rule the pacing table's expected_by_now uses (elapsed_share in queries/_macros.sql)
    share = float(whole.iloc[0]["target"]) / float(whole.iloc[0]["households_total"])
    year_months = trend[pd.to_datetime(trend["month_start"]).dt.year == selected.start.year]
    figure.add_scatter(x=year_months["month_start"], y=year_months["elapsed_share"] * share * 100,
                       name=t("TREND_TARGET"),
                       mode="lines", line={"color": "#e6550d", "width": 2, "dash": "dash"},
                       hovertemplate="%{x|%Y-%m}: %{y:.1f}%<extra></extra>")
figure.add_vrect(x0=selected.start, x1=selected.end, fillcolor="#fdd0a2", opacity=0.35, line_width=0)
figure.update_layout(yaxis_ticksuffix="%", height=330, margin={"l": 10, "r": 10, "t": 30, "b": 10},
                     legend={"orientation": "h", "y": -0.15}, xaxis_tickformat="%Y-%m")
# the title above the chart, not in it: the chart's toolbar would sit over it on a narrow screen
st.markdown(f"**{t('SCREENING_TREND', region=safe.markdown(region_name))}**")
st.plotly_chart(figure, width="stretch", config={"displaylogo": False})

with st.expander(t("TARGETS_EDIT", year=selected.start.year)):
    st.caption(t("TARGETS_HELP"))
    editable = pd.DataFrame({
        "township_code": pace["region_code"],
        t("TOWNSHIP"): pace["region_name"],
        widgets.label("households_total", language): pace["households_total"],
        t("TARGETS_COL"): pace["target"].astype("Int64"),
        t("TARGETS_SOURCE"): [t(f"TARGETS_SOURCE_{s}") for s in pace["target_source"]],
    })
    edited = st.data_editor(editable, hide_index=True, width="stretch", key=f"targets-{region}-{selected.start.year}",
                            disabled=[c for c in editable.columns if c != t("TARGETS_COL")],
                            column_config={"township_code": None,
                                           t("TARGETS_COL"): st.column_config.NumberColumn(min_value=0, step=1)})
    changed = edited[edited[t("TARGETS_COL")].astype("Float64") != editable[t("TARGETS_COL")].astype("Float64")]
    if st.button(t("TARGETS_SAVE", n=len(changed)), disabled=changed.empty, key="targets-save", type="primary"):
        problems = data.save_targets(pd.DataFrame({
            "township_code": changed["township_code"], "year": selected.start.year,
            "target_households": changed[t("TARGETS_COL")],
        }))
        if problems:
            names = dict(zip(editable["township_code"], editable[t("TOWNSHIP")]))
            for p in problems:
                code = changed["township_code"].iloc[p.row] if 0 <= p.row < len(changed) else ""
                st.error(t("TARGETS_PROBLEM", township=safe.markdown(names.get(code, code)), value=safe.markdown(p.value),
                           problem=t(f"TARGETS_PROBLEM_{p.problem}")))
        else:
            st.session_state["targets_saved"] = len(changed)
            st.rerun()
    if "targets_saved" in st.session_state:
        st.success(t("TARGETS_SAVED", n=st.session_state.pop("targets_saved")))
