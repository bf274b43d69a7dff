"""A township's panel: every indicator with its parts and rank in the county, a 24-month trend,
its rooms, and its cases by type and source. Opened by a click on the map or the sidebar."""
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from queries import periods
from indicators import fmt, registry, suppress
from i18n import safe
from ui import data, state, widgets
from ui.text import lang, t

# What the panel lists, in order; higher is better except where the rank reads high → low risk.
CODES = ["coverage_rate", "rooms_active", "rooms_per_10k", "screening_rate_ytd", "screening_rate_added",
         "households_screened_ytd", "households_screened",
         "risk_rate_per_1000", "risk_households", "cases_received", "cases_per_10k",
         "mediation_success_rate", "households_total", "villages_total"]


def township_panel() -> None:
    town = widgets.open_township()
    if town is None:
        return
    period, region, region_name, _ = widgets.current()
    language = lang()
    flt = widgets.filters()
    towns = data.indicator_table("township", period, region, flt)
    if town not in set(towns["region_code"]):
        return
    row = towns.set_index("region_code").loc[town]
    with st.container(border=True, key="township-panel"):
        head, close = widgets.row_columns([5, 1], "panel-head")
        head.subheader(t("PANEL_TITLE", name=safe.markdown(row["region_name"])))
        head.caption(f"{safe.markdown(region_name)} · {fmt.period_label(period, language)}")
        if close.button("✕", key="panel-close", help=t("PANEL_CLOSE")):
            state.go(town=None)
        table = indicator_rows(row, towns, language)
        for note in fmt.rollup_notes(row, CODES, language):  # a rate it cannot have, and why
            st.caption(note)
        # the rank's header is short, so the narrow panel does not cut it; the order is in its help
        st.dataframe(table, hide_index=True, width="stretch", height=35 * (len(table) + 1) + 3,
                     column_config={t("PANEL_RANK_COL"): st.column_config.TextColumn(help=t("PANEL_RANK_HELP"))})
        _trend(town, period, flt, language)
        _rooms(town, period, flt, language)
        _cases(town, period, flt, language)


def indicator_rows(row: pd.Series, towns: pd.DataFrame, language: str) -> pd.DataFrame:
    """One line per indicator: value, numerator, denominator and rank among the county's townships
    (1 = highest value; counts suppressed as everywhere)."""
    lines = []
    for code in CODES:
        num, den = registry.parts(code) or (None, None)
        ranked = towns[code].astype(float)
        value = row[code]
        if fmt.is_missing(value):
            rank = fmt.MISSING
        else:
            position = int((ranked > float(value)).sum()) + 1
            rank = t("PANEL_RANK", i=position, n=int(ranked.notna().sum()))
        parts = (f"{fmt.value(num, row[num], language)} ÷ {fmt.value(den, row[den], language)}" if num else "")
        parts = (f"（{parts}）" if language == "zh" else f" ({parts})") if parts else ""
        lines.append({
            t("PANEL_INDICATOR"): widgets.label(code, language),
            t("PANEL_VALUE"): fmt.value(code, value, language) + parts,
            t("PANEL_RANK_COL"): rank,
        })
    return pd.DataFrame(lines)


def _trend(town: str, period: str, flt, language: str) -> None:
    end = periods.parse(period).end
    trend = data.township_trend(town, end, flt)
    # the chart starts at the township's first month with screening or cases, not months of nothing
    counted = [c for c in ("households_screened", "cases_received") if c in trend.columns]
    some = [any(suppress.is_hidden(v) or (not pd.isna(v) and float(v) > 0) for v in row)
            for row in zip(*(trend[c] for c in counted))]
    if any(some):
        trend = trend.iloc[some.index(True):]
    figure = go.Figure()
    # hidden months (indicators/suppress.trend) are NaN as floats: a gap in the line, no value
    figure.add_bar(x=trend["month_start"], y=trend["screening_rate"].astype(float) * 100,
                   name=widgets.label("screening_rate", language),
                   marker_color="#9ecae1", hovertemplate="%{x|%Y-%m}: %{y:.1f}%<extra></extra>")
    figure.add_scatter(x=trend["month_start"], y=trend["risk_rate_per_1000"].astype(float),
                       name=widgets.label("risk_rate_per_1000", language),
                       mode="lines+markers", yaxis="y2", line={"color": "#de2d26", "width": 2},
                       hovertemplate="%{x|%Y-%m}: %{y:.1f}‰<extra></extra>")
    figure.update_layout(
        height=260, margin={"l": 10, "r": 10, "t": 30, "b": 10},
        yaxis={"ticksuffix": "%", "title": None, "rangemode": "tozero"}, xaxis_tickformat="%Y-%m",
        yaxis2={"overlaying": "y", "side": "right", "ticksuffix": "‰", "showgrid": False, "rangemode": "tozero"},
        legend={"orientation": "h", "y": -0.2},
    )
    st.markdown(f"**{t('PANEL_TREND')}**")  # above the chart, where its toolbar cannot cover it
    st.plotly_chart(figure, width="stretch", config={"displaylogo": False}, key="panel-trend")


def _rooms(town: str, period: str, flt, language: str) -> None:
    rooms = data.rooms(period, town, flt)  # the list obeys the room-type filter, as the count does
    st.markdown(f"**{t('PANEL_ROOMS', n=len(rooms))}**")
    if rooms.empty:
        st.caption(t("PANEL_NO_ROOMS"))
        return
    st.dataframe(pd.DataFrame({
        t("ROOM_NAME"): rooms["name"],
        t("ROOM_TYPE"): rooms["room_type"],
        t("ROOM_VILLAGE"): rooms["village_name"].fillna(fmt.MISSING),
        t("ROOM_MEDIATORS"): rooms["mediators"],
        t("ROOM_OPENED"): [fmt.day(pd.Timestamp(d).date(), language) for d in rooms["opened_date"]],
    }), hide_index=True, width="stretch")


def _cases(town: str, period: str, flt, language: str) -> None:
    found = data.case_breakdown(period, town, flt)  # None: too few cases to break down
    shown = suppress.breakdown_period(period, data.viewer().exact)
    if shown == period:
        st.markdown(f"**{t('PANEL_CASES')}**")
    else:  # a month or quarter: its breakdown would be the year's less the other periods'
        st.markdown(f"**{t('PANEL_CASES_YEAR', year=fmt.period_label(shown, language))}**")
        st.caption(t("PANEL_CASES_YEAR_WHY"))
    # which numbers these are: the case ledger's rows, or (where a township has none for the
    # period) its monthly statistical return; said even when the numbers are hidden
    source = data.case_source(period, town, flt)
    if source is not None:
        st.caption(t("PANEL_CASES_FROM_RETURN" if source == "return" else "PANEL_CASES_FROM_ROWS"))
    if found is None:
        st.caption(t("PANEL_CASES_HIDDEN"))
        return
    if found.empty:
        st.caption(t("PANEL_NO_CASES"))
        return
    left, right = st.columns(2)
    for col, dimension in ((left, "case_type"), (right, "source")):
        part = found[found["dimension"] == dimension]
        col.dataframe(pd.DataFrame({
            t(f"PANEL_BY_{dimension}"): part["value"],
            t("PANEL_CASES_N"): [fmt.count(n, language, sensitive=True) for n in part["cases"]],
        }), hide_index=True, width="stretch")
