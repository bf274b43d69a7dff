"""Shared widgets: the sidebar filters, KPI cards, the township map and its notes."""
from pathlib import Path

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geo import maps, offline
from ui import data, fmt
from ui.text import lang, t

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

ROOM_COLOURS = {
    "家事调解工作室": "#e6550d",
    "婚调坊": "#3182bd",
    "和合之家": "#31a354",
    "家事纠纷调解工作站": "#756bb1",
    "妇女议事会": "#f1c40f",
    "婚姻家庭纠纷调解委员会": "#636363",
}


def sidebar_filters() -> None:
    """Period and region pickers. Values land in session_state['period'] and ['region']."""
    from queries import periods

    st.sidebar.radio(t("SIDEBAR_LANG"), ["zh", "en"], key="lang", horizontal=True,
                     format_func=lambda code: "中文" if code == "zh" else "English")
    first, last = data.data_span()
    if first is None:
        st.sidebar.info(t("NO_DATA"))
        return
    choices = [p.code for p in periods.options(first, last)]
    default = data.default_period() or choices[0]
    if st.session_state.get("period") not in choices:
        st.session_state["period"] = default
    st.sidebar.selectbox(t("SIDEBAR_PERIOD"), choices, key="period",
                         format_func=lambda code: fmt.period_label(code, lang()))
    regions = data.regions()
    codes = regions["region_code"].tolist()
    names = dict(zip(regions["region_code"], regions["name"]))
    levels = dict(zip(regions["region_code"], regions["level"]))
    if st.session_state.get("region") not in codes:
        st.session_state["region"] = codes[0]
    st.sidebar.selectbox(
        t("SIDEBAR_REGION"), codes, key="region",
        format_func=lambda code: (f"{names[code]}（{t('VIEW_CITY')}）" if levels[code] == "city" else f"　{names[code]}"),
    )
    row = data.version_row()
    st.sidebar.caption(t("SIDEBAR_DB", version=row["version"], note=row["note"] or ""))


def current() -> tuple[str, str, str, str]:
    """(period, region_code, region_name, view) from the sidebar; view is 'city' or 'county'."""
    regions = data.regions()
    period = st.session_state.get("period") or data.default_period()
    region = st.session_state.get("region")
    if region not in set(regions["region_code"]):
        region = regions["region_code"].iloc[0]
    row = regions.set_index("region_code").loc[region]
    view = "city" if row["level"] == "city" else "county"
    return period, region, row["name"], view


def data_as_of() -> str:
    _, last = data.data_span()
    return t("DATA_AS_OF", date=fmt.day(last, lang()))


def kpi_cards(now: pd.Series, before: pd.Series | None, codes: list[str]) -> None:
    columns = st.columns(len(codes))
    for column, code in zip(columns, codes):
        previous = None if before is None else before.get(code)
        delta = fmt.change(code, now.get(code), previous, lang())
        column.metric(
            fmt.label(code, lang(), short=True),
            fmt.value(code, now.get(code), lang()),
            delta=delta,
            delta_color="inverse" if code == "risk_rate_per_1000" else "normal",
            help=_parts_text(code, now),
            border=True,
        )


def _parts_text(code: str, row: pd.Series) -> str | None:
    if code not in fmt.PARTS:
        return None
    num, den = fmt.PARTS[code]
    return (f"{fmt.label(code, lang())} = {fmt.label(num, lang())} {fmt.value(num, row.get(num), lang())}"
            f" ÷ {fmt.label(den, lang())} {fmt.value(den, row.get(den), lang())}")


def township_map(values: pd.DataFrame, code: str, view: str, region: str, palette: str,
                 points: list[dict] | None = None, height: int = 560, key: str = "map") -> None:
    """A township choropleth of indicator ``code`` with legend, tooltips and the boundary note."""
    import json

    geojson = json.loads(data.township_geojson(view, region))
    by_code = values.set_index("region_code")
    language = lang()
    breaks = maps.class_breaks(by_code[code].astype(float).tolist())
    colours = maps.palette_for(palette, len(breaks))
    colour_of, counts = {}, [0] * len(breaks)
    missing = 0
    num, den = fmt.PARTS.get(code, (None, None))
    for feature in geojson["features"]:
        props = feature["properties"]
        row = by_code.loc[props["region_code"]] if props["region_code"] in by_code.index else None
        v = None if row is None else row[code]
        cls = maps.class_of(None if fmt.is_missing(v) else float(v), breaks)
        if cls is None:
            missing += 1
        else:
            colour_of[props["region_code"]] = colours[cls]
            counts[cls] += 1
        props["value"] = fmt.value(code, v, language)
        props["numerator"] = "" if row is None or num is None else fmt.value(num, row[num], language)
        props["denominator"] = "" if row is None or den is None else fmt.value(den, row[den], language)
    rows = []
    lowest = by_code[code].min()
    for i, hi in enumerate(breaks):
        hi_text = fmt.value(code, hi, language)
        if i == 0:  # the first class starts at the smallest value; it may be that value alone
            span = hi_text if lowest == hi else f"{fmt.value(code, lowest, language)} – {hi_text}"
        else:  # later classes exclude their lower bound, which belongs to the class before
            span = f"> {fmt.value(code, breaks[i - 1], language)} – {hi_text}"
        rows.append((colours[i], f"{span}（{t('LEGEND_TOWNSHIPS', n=counts[i])}）"))
    if missing:
        rows.append((maps.MISSING_COLOUR, f"{t('MISSING_CLASS')}（{t('LEGEND_TOWNSHIPS', n=missing)}）"))
    notes = [data_as_of()]
    approximate = any(f["properties"]["boundary_source"] == "approximate" for f in geojson["features"])
    if approximate:
        notes.insert(0, t("APPROX_BOUNDARY_SHORT"))
    legend = maps.Legend(title=fmt.label(code, language), rows=rows, notes=notes)
    fields, labels = ["region_name", "value"], [t("TOWNSHIP"), fmt.label(code, language)]
    if num:
        fields += ["numerator", "denominator"]
        labels += [fmt.label(num, language), fmt.label(den, language)]
    m = maps.choropleth(geojson, colour_of, fields, labels, legend)
    if points:
        maps.add_points(m, points, ROOM_COLOURS)
    show(m, height=height, key=key)
    if approximate:
        st.caption("⚠ " + t("APPROX_BOUNDARY"))


def show(m: folium.Map, height: int, key: str) -> None:
    """Render a map offline. Pan and zoom return nothing, so they never rerun the script."""
    offline.prepare_static(STATIC_DIR)
    # Relative to the component's iframe, so a server.baseUrlPath prefix keeps working.
    offline.localize(m, base_url="../../app/static/vendor")
    st_folium(m, height=height, use_container_width=True, returned_objects=[], key=key)


def room_points(rooms: pd.DataFrame) -> list[dict]:
    language = lang()
    out = []
    for r in rooms.itertuples():
        if pd.isna(r.longitude) or pd.isna(r.latitude):
            continue
        out.append({
            "lat": r.latitude, "lon": r.longitude, "kind": r.room_type,
            "tooltip": t("ROOM_TOOLTIP", name=r.name, kind=r.room_type, township=r.township_name,
                         village="" if pd.isna(r.village_name) else r.village_name,
                         mediators=r.mediators, opened=fmt.day(pd.Timestamp(r.opened_date).date(), language)),
        })
    return out


def room_legend() -> None:
    chips = " ".join(
        f"<span style='white-space:nowrap;margin-right:12px'><span style='display:inline-block;width:10px;height:10px;"
        f"border-radius:50%;background:{colour};border:1px solid #333;margin-right:4px'></span>{kind}</span>"
        for kind, colour in ROOM_COLOURS.items()
    )
    st.markdown(f"**{t('ROOM_TYPES')}**：{chips}", unsafe_allow_html=True)


def table_of(values: pd.DataFrame, codes: list[str], name_label: str, short: bool = False) -> pd.DataFrame:
    """A display table: region name plus formatted indicator columns (small counts suppressed)."""
    language = lang()
    out = pd.DataFrame({name_label: values["region_name"].to_numpy()})
    for code in codes:
        out[fmt.label(code, language, short=short)] = [fmt.value(code, v, language) for v in values[code]]
    return out
