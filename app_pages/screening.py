"""排查进度: screening completion by township, the monthly trend, and the laggards."""
import plotly.graph_objects as go
import streamlit as st

from queries import periods
from ui import data, fmt, panel, widgets
from ui.text import lang, t

period, region, region_name, view = widgets.current()
flt = widgets.filters()
st.title(t("PAGE_SCREENING"))
widgets.breadcrumbs()
st.caption(f"{region_name} · {fmt.period_label(period, lang())} · {widgets.data_as_of()}")
st.markdown(t("SCREENING_INTRO"))

towns = data.indicator_table("township", period, region, flt)
left, right = widgets.map_columns()
with left:
    widgets.indicator_map("screening_rate", "Greens", key="screening_map")
if right is not None:
    with right:
        panel.township_panel()

first, last = data.data_span()
trend = data.screening_trend(region, first, last)
figure = go.Figure()
figure.add_bar(x=trend["month_start"], y=trend["screening_rate"] * 100, name=t("TREND_MONTHLY"),
               marker_color="#9ecae1", hovertemplate="%{x|%Y-%m}: %{y:.1f}%<extra></extra>")
figure.add_scatter(x=trend["month_start"], y=trend["ytd_rate"] * 100, name=t("TREND_YTD"), mode="lines+markers",
                   line={"color": "#31a354", "width": 3}, hovertemplate="%{x|%Y-%m}: %{y:.1f}%<extra></extra>")
selected = periods.parse(period)
figure.add_vrect(x0=selected.start, x1=selected.end, fillcolor="#fdd0a2", opacity=0.35, line_width=0)
figure.update_layout(title=t("SCREENING_TREND", region=region_name), yaxis_ticksuffix="%", height=360,
                     margin={"l": 10, "r": 10, "t": 50, "b": 10}, legend={"orientation": "h", "y": -0.15},
                     xaxis_tickformat="%Y-%m")
st.plotly_chart(figure, width="stretch", config={"displaylogo": False})

st.subheader(t("LAGGARDS"))
laggards = towns.sort_values("screening_rate", na_position="first").head(10)
table = widgets.table_of(laggards, ["screening_rate", "households_screened", "households_total"], t("TOWNSHIP"))
table.insert(0, t("RANK"), range(1, len(table) + 1))
st.dataframe(table, hide_index=True, width="stretch")
