"""Shared widgets: the sidebar filters, KPI cards, the township map and its notes."""
import json
import time
from pathlib import Path

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from export.cells import csv_bytes, xlsx_bytes  # noqa: F401  (the pages' downloads)
from geo import classify, maps, offline
from queries import indicators
from i18n import safe, text as tables
from indicators import fmt, legend, registry, suppress
from ui import data, state
from ui.text import lang, t

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

ROOM_COLOURS = maps.ROOM_COLOURS

# Phones (Streamlit stacks columns below 640 px): the rows keyed "atlas-pair…" keep two cells a
# row (KPI cards, pickers), those keyed "atlas-row…" keep all theirs, the breadcrumb stays on a line, the title shrinks, text meant for a
# wide screen folds away and the short line meant for a phone shows, so the map is on the first
# screen. Injected once per run by app.py.
PHONE_CSS = """<style>
@media (max-width: 640px) {
  [class*="st-key-atlas-pair"] [data-testid="stHorizontalBlock"] { flex-flow: row wrap !important; gap: 0.5rem !important; }
  [class*="st-key-atlas-pair"] [data-testid="stColumn"] {
    flex: 1 1 calc(50% - 0.5rem) !important; min-width: calc(50% - 0.5rem) !important;
    max-width: calc(50% - 0.25rem) !important; width: calc(50% - 0.25rem) !important; }
  [class*="st-key-atlas-pair"] [data-testid="stMetric"] { padding: 0 !important; }
  [class*="st-key-atlas-pair"] [data-testid="stMetric"] > div { padding: 0.25rem 0.5rem !important; }
  [class*="st-key-atlas-pair"] [data-testid="stMetricValue"] > div { font-size: 1.2rem !important; line-height: 1.3 !important; }
  [class*="st-key-atlas-pair"] [data-testid="stMetricValue"] { min-height: 0 !important; }
  [class*="st-key-atlas-pair"] [data-testid="stMetricLabel"] p { font-size: 0.78rem !important; }
  [class*="st-key-atlas-pair"] [data-testid="stMetricDelta"] { font-size: 0.75rem !important; padding: 0 0.3rem !important; }
  [class*="st-key-atlas-kpis"] [data-testid="stHorizontalBlock"] { gap: 0.35rem !important; }
  [class*="st-key-atlas-pair"] [data-testid="stMetricLabel"] * {  /* half a phone: wrap, do not cut */
    white-space: normal !important; overflow: visible !important; text-overflow: clip !important; }
  [class*="st-key-atlas-crumbs"] [data-testid="stHorizontalBlock"] { flex-flow: row wrap !important; gap: 0 !important; }
  [class*="st-key-atlas-crumbs"] [data-testid="stColumn"] {
    flex: 0 0 auto !important; width: auto !important; min-width: 0 !important; }
  [class*="st-key-atlas-wide-only"],
  [data-testid="stLayoutWrapper"]:has(> [class*="st-key-atlas-wide-only"]) { display: none !important; }
  [class*="st-key-atlas-row"] [data-testid="stHorizontalBlock"] { flex-flow: row nowrap !important; }
  [class*="st-key-atlas-row"] [data-testid="stColumn"] { min-width: 0 !important; }
  [data-testid="stMainBlockContainer"] h1 { font-size: 1.55rem !important; padding: 0.2rem 0 !important; }
  [data-testid="stMainBlockContainer"] h2 { font-size: 1.2rem !important; padding: 0.2rem 0 !important; }
  [data-testid="stMainBlockContainer"] h3 { font-size: 1.05rem !important; }
  [data-testid="stMainBlockContainer"] { padding: 4rem 0.75rem 2rem !important; }
  /* half the gap between blocks: the map comes up the first screen by a card's height */
  [data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] { gap: 0.5rem !important; }
  [class*="st-key-atlas-crumbs"] button { min-height: 0 !important; padding-top: 0 !important; padding-bottom: 0 !important; }
}
@media (min-width: 641px) {
  [class*="st-key-atlas-phone-only"],
  [data-testid="stLayoutWrapper"]:has(> [class*="st-key-atlas-phone-only"]) { display: none !important; } }
</style>"""


def phone_style() -> None:
    st.html(PHONE_CSS)


def pair_columns(spec, key: str, **options):
    """st.columns(spec) that a phone shows two to a row, not one under another."""
    return st.container(key=f"atlas-pair-{key}").columns(spec, **options)


def row_columns(spec, key: str, **options):
    """st.columns(spec) that a phone keeps side by side (a heading and its button)."""
    return st.container(key=f"atlas-row-{key}").columns(spec, **options)


def wide_or_phone(key: str):
    """(container shown on a wide screen, container shown on a phone instead)."""
    return st.container(key=f"atlas-wide-only-{key}"), st.container(key=f"atlas-phone-only-{key}")


def subtitle(wide: str, short: str) -> None:
    """The caption under a page's title; on a phone ``short`` in its place."""
    on_wide, on_phone = wide_or_phone("subtitle")
    on_wide.caption(wide)
    on_phone.caption(short)


def intro(text: str) -> None:
    """A page's explanation of its indicator: on a wide screen; a phone goes straight to the map."""
    st.container(key="atlas-wide-only-intro").markdown(text)


# The sidebar filters each map page's own view uses (its URL path): rooms for coverage, risks for
# screening, risks and case sources for hotspots, all of them for the overview. A township's panel
# uses every filter (its rooms, risk trend and cases), so with a panel open all are shown.
PAGE_FILTERS = {
    "overview": ("room", "level", "rtype", "source"),
    "coverage": ("room",),
    "screening": ("level", "rtype"),
    "hotspots": ("level", "rtype", "source"),
}


# The filters that narrow a sensitive count (indicators.Filters.narrows_sensitive): offered only
# to viewers who may (access.viewer.Viewer.may_narrow).
SENSITIVE_FILTERS = ("level", "rtype", "source")


def filters_shown(page: str | None, town: str | None, narrow: bool = True) -> tuple[str, ...]:
    """The filters (ui/state's URL names) the sidebar offers on this page; unless the viewer may
    ``narrow`` sensitive counts (ui/data.may_narrow), not the sensitive ones."""
    if page not in PAGE_FILTERS:
        return ()
    found = PAGE_FILTERS["overview"] if town else PAGE_FILTERS[page]
    return found if narrow else tuple(f for f in found if f not in SENSITIVE_FILTERS)


def _sensitive_filters_reset() -> bool:
    """Set the sensitive filters back to their defaults for a viewer who may not narrow them (a
    link made by an admin, an old session); True when any was set."""
    ss, reset = st.session_state, False
    for name in SENSITIVE_FILTERS:
        key = state.KEYS[name]
        default = list(indicators.DEFAULT_RISK_LEVELS) if name == "level" else []
        if ss.get(key) and set(ss[key]) != set(default):
            ss[key], reset = default, True
    return reset


def sidebar_filters(page: str | None = "overview") -> None:
    """Language, period, region and township, the filters and the map's classes, all in the URL
    (ui/state.py): a copied link reopens the same view. ``page`` (its URL path) decides which
    filters, and whether the map's classes, are offered: only those that change what it shows.
    A filter not drawn keeps its value (state.load sets every key on every run)."""
    choices = _choices()
    notices = state.load(choices)  # before the widgets: it sets their values (the language too)
    st.sidebar.radio(t("SIDEBAR_LANG"), list(state.LANGS), key="lang", horizontal=True,
                     format_func=lambda code: "中文" if code == "zh" else "English")
    first, _ = data.data_span()
    if first is None:  # boundaries but no ledger yet: the maps show the townships, greyed
        st.sidebar.info(t("NO_DATA"))
    narrow = data.may_narrow()
    if not narrow and _sensitive_filters_reset():
        st.sidebar.warning(t("FILTER_SENSITIVE_RESET"))
    for notice in notices:
        st.sidebar.warning(t("URL_NOTICE", param=t(f"URL_PARAM_{notice.param}"), value=safe.markdown(notice.value)))
    language = lang()
    st.sidebar.selectbox(t("SIDEBAR_PERIOD"), choices.periods, key="period",
                         format_func=lambda code: fmt.period_label(code, language))
    regions = data.regions()
    names = data.lookup(regions, "region_code", "name")
    st.sidebar.selectbox(
        t("SIDEBAR_REGION"), picker_regions(regions, st.session_state["region"]), key="region",
        on_change=_region_changed, format_func=lambda code: picker_label(code, names, choices.regions),
    )
    towns = data.townships()
    region = st.session_state["region"]
    inside = towns_in(towns, region, choices.regions.get(region))
    town_names = data.lookup(towns, "region_code", "name")
    st.sidebar.selectbox(t("SIDEBAR_TOWN"), [None, *inside["region_code"].tolist()], key="town", on_change=_town_changed,
                         placeholder=t("SIDEBAR_TOWN_ALL"),
                         format_func=lambda code: t("SIDEBAR_TOWN_ALL") if code is None else town_names[code])
    shown = filters_shown(page, st.session_state.get("town"), narrow)
    if filters_shown(page, st.session_state.get("town")):
        with st.sidebar.expander(t("SIDEBAR_FILTERS"), expanded=not _filters_default()):
            if not narrow:
                st.caption(t("FILTER_SENSITIVE_ADMIN"))
            if "room" in shown:
                st.multiselect(t("FILTER_ROOM_TYPES"), choices.room_types, select_all=False, key=state.KEYS["room"],
                               placeholder=t("FILTER_ALL"))
            if "level" in shown:
                st.multiselect(t("FILTER_RISK_LEVELS"), list(indicators.RISK_LEVELS), select_all=False, key=state.KEYS["level"],
                               help=t("FILTER_RISK_LEVELS_HELP"))
            if "rtype" in shown:
                st.multiselect(t("FILTER_RISK_TYPES"), choices.risk_types, select_all=False, key=state.KEYS["rtype"],
                               placeholder=t("FILTER_ALL"))
            if "source" in shown:
                st.multiselect(t("FILTER_CASE_SOURCES"), choices.case_sources, select_all=False, key=state.KEYS["source"],
                               placeholder=t("FILTER_ALL"))
    if page in PAGE_FILTERS:  # the map's classes: map pages only
        with st.sidebar.expander(t("SIDEBAR_CLASSES")):
            st.selectbox(t("CLASS_SCHEME"), list(classify.SCHEMES), key=state.KEYS["scheme"],
                         format_func=lambda s: t(f"SCHEME_{s}"))
            st.slider(t("CLASS_K"), *state.K_RANGE, key=state.KEYS["k"],
                      disabled=st.session_state[state.KEYS["scheme"]] == "fixed")
            st.toggle(t("CLASS_LOCK"), key=state.KEYS["lock"], help=t("CLASS_LOCK_HELP"))
            st.radio(t("MAP_UNIT"), list(state.UNITS), key=state.KEYS["unit"], horizontal=True,
                     format_func=lambda u: t(f"MAP_UNIT_{u}"), help=t("MAP_UNIT_HELP"))
    row = data.version_row()
    _, last = data.data_span()
    st.sidebar.caption(t("SIDEBAR_DB", source=t(f"DATA_SOURCE_{data.data_source()}"),
                         as_of=fmt.day(last, lang()) if last else "—", version=row["version"]),
                       help=data_note(str(row["note"] or "")))
    state.publish()


# The level below each level: what its map draws and its table lists.
CHILD = {"nation": "province", "province": "city", "city": "county", "county": "township"}
# Per level drawn: (the legend's count, the tooltip's and the table's column name).
LEVEL_WORDS = {"province": ("LEGEND_PROVINCES", "PROVINCE"), "city": ("LEGEND_CITIES", "CITY"),
               "county": ("LEGEND_COUNTIES", "COUNTY"), "township": ("LEGEND_TOWNSHIPS", "TOWNSHIP")}
# The overview's table heading per level listed
CHILD_TABLE = {"province": "OVERVIEW_PROVINCES", "city": "OVERVIEW_CITIES", "county": "OVERVIEW_COUNTIES",
               "township": "OVERVIEW_TOWNSHIPS"}


def region_name(code: str, name: str) -> str:
    """A region's name as the page says it: 全国 is "China" in English."""
    return t("NATION") if code == indicators.NATION else name


def ancestors(regions: pd.DataFrame, code: str) -> list[str]:
    """``code`` and the listed regions above it, the largest first (全国, 江苏省, 连云港市, 东海县)."""
    parent = data.lookup(regions, "region_code", "parent_code")
    chain, seen = [], set()
    while code in parent and code not in seen:
        chain.append(code)
        seen.add(code)
        code = parent[code]
    return chain[::-1]


def picker_regions(regions: pd.DataFrame, region: str | None) -> list[str]:
    """The region picker's options: every listed region in a one-city atlas (the city and its
    counties); in a larger one 全国 and the provinces, then the cities of the chosen region's
    province and the counties of its city, so that a national atlas offers dozens, not 3,000."""
    codes = regions["region_code"].tolist()
    above = regions[regions["level"].isin(indicators.ABOVE_CITY)]
    if above.empty:
        return codes
    chain = set(ancestors(regions, region)) if region in set(codes) else set()
    parent = data.lookup(regions, "region_code", "parent_code")
    listed = set(above["region_code"].tolist())
    return [c for c in codes if c in listed or c in chain or parent.get(c) in chain]


def picker_label(code: str, names: dict, levels: dict) -> str:
    level = levels.get(code)
    if level == "nation":
        return t("NATION")
    if level == "province":
        return t("REGION_PROVINCE", name=names[code])
    if level == "city":
        return ("　" if "province" in levels.values() else "") + t("REGION_CITY", name=names[code])
    return ("　　" if "province" in levels.values() else "　") + names[code]


def towns_in(towns: pd.DataFrame, region: str, level: str | None) -> pd.DataFrame:
    """The townships the township picker offers in ``region``: none for the nation (38,723 are too
    many for a list: pick a province first), those of the province, city or county otherwise."""
    if level == "nation":
        return towns.iloc[0:0]
    if level in ("province", "city"):
        return towns[towns["region_code"].str.startswith(indicators.region_prefix(region))]
    return towns[towns["parent_code"] == region]


def data_note(note: str) -> str:
    """The last write to the database (its data_version note, written for the log:
    "demo seed=20241 scale=1.0", "import screening_summary: 汇总.xlsx") in the reader's words."""
    from importer import fields

    if note.startswith("demo "):
        return t("DATA_NOTE_demo")
    if note.startswith("import ") and ": " in note:
        kind, name = note[len("import "):].split(": ", 1)
        label = fields.KIND_LABELS.get(kind, "") if lang() == "zh" else ""
        return t("DATA_NOTE_import", kind=label, file=safe.markdown(name))
    if note.startswith("undo import ") and ": " in note:
        number, name = note[len("undo import "):].split(": ", 1)
        return t("DATA_NOTE_undo", id=safe.markdown(number), file=safe.markdown(name))
    if note.startswith("screening targets"):
        return t("DATA_NOTE_targets")
    return t("DATA_NOTE_other")


def _choices() -> state.Choices:
    from queries import periods

    first, last = data.data_span()
    regions = data.regions()
    towns = data.townships()
    options = data.filter_options()
    every = [p.code for p in periods.options(first, last)] if first is not None else [fallback_period()]
    return state.Choices(
        periods=every,
        default_period=data.default_period() or every[0],
        regions=data.lookup(regions, "region_code", "level"),
        townships=data.lookup(towns, "region_code", "parent_code"),
        room_types=options.get("room_type", []), risk_types=options.get("risk_type", []),
        case_sources=options.get("case_source", []),
    )


def fallback_period() -> str:
    """The period shown before any ledger is imported: this month (every township greyed)."""
    from datetime import date

    from queries import periods

    return periods.period_containing(date.today(), "month").code


def _region_changed() -> None:
    st.session_state["town"] = None  # a township belongs to the region it was picked in


def _town_changed() -> None:
    town = st.session_state.get("town")
    if town is not None:  # picked from the whole city: open its county
        st.session_state["region"] = township_parents().get(town, st.session_state["region"])


def _filters_default() -> bool:
    return filters().is_default()


def label(code: str, language: str | None = None, short: bool = False) -> str:
    """An indicator's name as the page should say it: the risk counts and rates name the risk
    levels counted when the sidebar counts other levels than 中/高."""
    language = language or lang()
    text = fmt.label(code, language, short=short)
    levels = filters().risk_levels
    if registry.get(code).by_risk_level and tuple(levels) != indicators.DEFAULT_RISK_LEVELS:
        shown = "、".join(levels) if language == "zh" else "/".join(levels)
        if registry.get(code).unit == "count":
            return t("RISK_HOUSEHOLDS_OF", levels=shown)
        return text + t("RISK_LEVELS_NOTE", levels=shown)
    return text


def filters() -> indicators.Filters:
    """What the sidebar's filters select (everything by default), as this viewer may use them."""
    ss = st.session_state
    found = indicators.Filters(
        room_types=tuple(ss.get(state.KEYS["room"]) or ()),
        risk_levels=tuple(ss.get(state.KEYS["level"]) or indicators.DEFAULT_RISK_LEVELS),
        risk_types=tuple(ss.get(state.KEYS["rtype"]) or ()),
        case_sources=tuple(ss.get(state.KEYS["source"]) or ()),
    )
    return found.allowed(data.may_narrow()) if found.narrows_sensitive() else found


def current() -> tuple[str, str, str, str]:
    """(period, region_code, region_name, view) from the sidebar; view is the region's level:
    'nation', 'province', 'city' or 'county'."""
    regions = data.region_info()
    period = st.session_state.get("period") or data.default_period() or fallback_period()
    region = st.session_state.get("region")
    if region not in regions:
        region = next(iter(regions))
    name, level = regions[region]
    view = level if level in ("nation", "province", "city") else "county"
    return period, region, region_name(region, name), view


def open_township() -> str | None:
    """The township whose panel is open, if it lies in the current region."""
    town = st.session_state.get("town")
    if town is None:
        return None
    towns = data.townships()
    return town if town in set(towns["region_code"]) else None


def breadcrumbs() -> None:
    """全国 › 省 › 市 › 区县 › 乡镇 (an atlas of one city: 城市 › 区县 › 乡镇): each step but the last
    goes back up."""
    _, region, _, _ = current()
    regions = data.regions()
    listed = regions.set_index("region_code")
    steps = [(code, region_name(code, listed.at[code, "name"]), listed.at[code, "level"])
             for code in ancestors(regions, region)]
    if steps and steps[0][2] == "county":  # a county analyst: the city above is not listed
        city = regions[regions["level"] == "city"]
        if len(city):
            steps.insert(0, (city["region_code"].iloc[0], city["name"].iloc[0], "city"))
    town = open_township()
    if town is not None:
        names = data.lookup(data.townships(), "region_code", "name")
        steps.append((town, names[town], "township"))
    # one row of buttons as wide as their names: equal columns left gaps after short names
    row = st.container(horizontal=True, gap="small", key="atlas-crumbs")
    for i, (code, name, level) in enumerate(steps):
        last = i == len(steps) - 1
        label = safe.markdown(name) if last else f"{safe.markdown(name)} ›"
        if row.button(label, key=f"crumb-{level}", disabled=last, type="tertiary", width="content",
                      help=None if last else t("CRUMB_UP", name=safe.markdown(name))):
            state.go(region=code, town=None)  # up to the city or the county: its panel closes


def data_as_of() -> str:
    _, last = data.data_span()
    return t("DATA_AS_OF", date=fmt.day(last, lang()))


def kpi_cards(now: pd.Series, before: pd.Series | None, codes: list[str]) -> None:
    columns = pair_columns(len(codes), "kpis")
    for column, code in zip(columns, codes):
        previous = None if before is None else before.get(code)
        delta = fmt.change(code, now.get(code), previous, lang())
        flat = fmt.unchanged(code, now.get(code), previous)
        if registry.get(code).added:  # 本年累计: the card says what this month (quarter) added
            delta, flat = added_text(code, now), False
        value = now.get(code)
        column.metric(
            label(code, lang(), short=True),
            # a card is narrow: a hidden rate reads 数值较小 (the notes under the map say why)
            t("HIDDEN_SHORT") if suppress.is_hidden(value) else fmt.value(code, value, lang()),
            delta=delta,
            # 持平 is neither good nor bad: grey, and no arrow
            delta_color="off" if flat else "inverse" if registry.get(code).rising_is_bad else "normal",
            delta_arrow="off" if flat else "auto",
            help=_parts_text(code, now),
            border=True,
        )
    for note in fmt.rollup_notes(now, codes, lang()):  # “按 14/15 个有户数底数的乡镇计算”
        st.caption(note)


def added_text(code: str, row, period: str | None = None) -> str | None:
    """What the period added to a year-to-date indicator: "本月新增 8.1 个百分点" (as exports say it)."""
    from export.views import added_text as said

    return None if row is None else said(code, row, period or current()[0], lang())


def ytd_note(code: str, row, period: str) -> str:
    """The caption a year-to-date figure carries: 排查完成率为本年累计（1月1日至3月31日），其中本月新增 …"""
    from queries import periods

    p = periods.parse(period)
    language = lang()
    start, end = p.start.replace(month=1, day=1), p.end
    if language == "zh":
        start_s, end_s = f"{start.month}月{start.day}日", f"{end.month}月{end.day}日"
    else:
        start_s, end_s = start.strftime("%-d %b"), end.strftime("%-d %b %Y")
    added = registry.get(code).added
    value = None if row is None or added is None else row.get(added)
    if p.kind == "year" or fmt.is_missing(value):
        return t("YTD_NOTE", start=start_s, end=end_s)
    return t("YTD_NOTE_ADDED", start=start_s, end=end_s, added=t(f"ADDED_{p.kind}"),
             pp=fmt.value(added, value, language))


def _parts_text(code: str, row: pd.Series) -> str | None:
    if registry.parts(code) is None:
        return None
    num, den = registry.parts(code)
    return (f"{label(code, lang())} = {label(num, lang())} {fmt.value(num, row.get(num), lang())}"
            f" ÷ {label(den, lang())} {fmt.value(den, row.get(den), lang())}")


def classes_for(values, code: str, level: str, period: str, region: str, other=None) -> classify.Classes:
    """The map's classes for one indicator (indicators/legend.py): the sidebar's scheme and number
    of classes, on breaks pooled with ``other`` (compare mode), or the locked scale (breaks from
    every period of the same kind, pooled)."""
    from queries import periods

    ss = st.session_state
    history = None
    if other is None and ss.get(state.KEYS["lock"]):
        history = data.indicator_history(level, periods.parse(period).kind, region, filters(), code)
    return legend.classes_for(values, code, period, ss.get(state.KEYS["scheme"], legend.SCHEME),
                              ss.get(state.KEYS["k"], legend.K), history, other)


def map_shapes(townships_only: bool = False) -> tuple[str, dict]:
    """(level, GeoJSON) the map draws: the provinces of the nation, the cities of a province
    (never townships above a city: see :func:`above_city`), counties at city level unless the
    sidebar asks for townships (or the map is about townships only), else the region's townships."""
    _, region, _, view = current()
    if view in indicators.ABOVE_CITY:
        return CHILD[view], json.loads(data.regions_geojson(view, region))
    if view == "city" and not townships_only and st.session_state.get(state.KEYS["unit"]) == "county":
        return "county", json.loads(data.county_geojson(region))
    return "township", json.loads(data.township_geojson(view, region))


COMPUTING_CHECK_EVERY = 5  # seconds between checks of a background computation (computing_notice)


def computing_notice(pending: data.Computing) -> None:
    """Say what is being computed in the background (ui/data.background) and about how long it
    takes, in place of the numbers that wait for it; every few seconds check, and rerun the whole
    page once it is done. Nothing of the page's figures is drawn meanwhile."""
    st.info(t(pending.what, minutes=pending.minutes))

    @st.fragment(run_every=COMPUTING_CHECK_EVERY)
    def check():
        if data.ready(pending.key):
            st.rerun()  # the whole page, now with its numbers
        st.caption(t("COMPUTING_ELAPSED", seconds=int(time.monotonic() - pending.started),
                     every=COMPUTING_CHECK_EVERY))
        st.button(t("COMPUTING_CHECK"), key="computing_check")

    check()


def above_city() -> bool:
    """Whether the view is a province or the nation: a map of townships only (hotspots, the
    month's change) then says to choose a city instead of drawing thousands of townships."""
    if current()[3] in indicators.ABOVE_CITY:
        st.info(t("MAP_ABOVE_CITY"))
        return True
    return False


def township_parents() -> dict[str, str]:
    """Township code -> its county (or city) code, for the atlas townships in scope."""
    towns = data.townships()
    return data.lookup(towns, "region_code", "parent_code")


def map_columns():
    """(map column, panel column or None): a township's panel opens beside the map."""
    if open_township() is None:
        return st.container(), None
    left, right = st.columns([5, 4])
    return left, right


def indicator_map(code: str, key: str, *, points: list[dict] | None = None, height: int = 560,
                  townships_only: bool = False, values: pd.DataFrame | None = None,
                  radius_km: float | None = None, title: str | None = None, period: str | None = None,
                  same_scale_as: str | None = None, playback: bool = False) -> None:
    """The page's choropleth of ``code`` with legend, tooltips and notes. At city level it shows
    counties (unless the sidebar asks for townships); clicking a county drills into it, clicking
    a township opens its panel. With ``playback`` the map steps through the months of the
    period's year in the browser, on breaks locked over the year (:func:`playback_map`)."""
    chosen, region, _, _ = current()
    period = period or chosen
    level, geojson = map_shapes(townships_only)
    counted, tooltip_name = LEVEL_WORDS[level]
    if playback:
        playback_map(code, key, level, geojson, period, points=points, height=height, radius_km=radius_km,
                     title=title)
        return
    if values is None:
        values = data.indicator_table(level, period, region, filters())
    by_code = values.set_index("region_code")
    language = lang()
    known = by_code[code].astype(float).to_numpy() if len(by_code) else []
    if same_scale_as:  # compare mode: one set of breaks for both periods, so colours compare
        other = data.indicator_table(level, same_scale_as, region, filters())[code].astype(float).to_numpy()
        classes = classes_for(known, code, level, period, region, other)
    else:
        classes = classes_for(known, code, level, period, region)
    drawn = [f["properties"]["region_code"] for f in geojson["features"]]
    shading = legend.shade(dict(zip(by_code.index, by_code[code])), drawn, code, classes, language, tables.t,
                           counted=counted, locked=bool(st.session_state.get(state.KEYS["lock"])))
    num, den = registry.parts(code) or (None, None)
    for feature in geojson["features"]:
        props = feature["properties"]
        row = by_code.loc[props["region_code"]] if props["region_code"] in by_code.index else None
        props["value"] = fmt.value(code, None if row is None else row[code], language)
        props["numerator"] = "" if row is None or num is None else fmt.value(num, row[num], language)
        props["denominator"] = "" if row is None or den is None else fmt.value(den, row[den], language)
    note = shading.note or ""
    fields, labels = ["region_name", "value"], [t(tooltip_name), label(code, language)]
    if num:
        fields += ["numerator", "denominator"]
        labels += [label(num, language), label(den, language)]
    if radius_km:
        note += " · " + t("RADIUS_NOTE", km=f"{radius_km:g}")
    draw_shading(geojson, shading, fields, labels, key, level=level, title=title or label(code, language),
                 points=points, height=height, notes=[note], radius_km=radius_km)


def playback_toggle(page: str) -> bool:
    """The 按月播放 switch above a page's map, kept in the URL (``play=1``): on, the map carries
    every month of the year and plays them in the browser."""
    key = f"{page}_play"
    if key not in st.session_state:  # from the URL the first time the page runs in a session
        st.session_state[key] = st.query_params.get("play") == "1"
    return st.toggle(t("PLAYBACK_TOGGLE"), key=f"{page}_play", help=t("PLAYBACK_TOGGLE_HELP"))


def playback_map(code: str, key: str, level: str, geojson: dict, period: str, *, points: list[dict] | None = None,
                 height: int = 560, radius_km: float | None = None, title: str | None = None) -> None:
    """The choropleth of ``code`` for every month of ``period``'s year up to the last month with
    data (indicators/legend.playback_months), each month's values from the page's own query as
    this viewer may see them (suppression applied per month, as the page shows that month), classed
    on breaks computed once over all those months; the browser steps through them (geo/maps.py)."""
    _, region, _, _ = current()
    language = lang()
    counted, tooltip_name = LEVEL_WORDS[level]
    months = legend.playback_months(period, data.data_span()[1])
    with st.spinner(t("PLAYBACK_LOADING")):  # the first time: a query per month (cached after)
        tables_by = {m: data.indicator_table(level, m, region, filters()).set_index("region_code") for m in months}
    drawn = [f["properties"]["region_code"] for f in geojson["features"]]
    ss = st.session_state
    play = legend.playback({m: dict(zip(v.index, v[code])) for m, v in tables_by.items()}, drawn, code, language,
                           tables.t, scheme=ss.get(state.KEYS["scheme"], legend.SCHEME),
                           k=ss.get(state.KEYS["k"], legend.K), title=title or label(code, language), counted=counted)
    num, den = registry.parts(code) or (None, None)
    fields, labels = ["region_name", "value"], [t(tooltip_name), label(code, language)]
    if num:
        fields += ["numerator", "denominator"]
        labels += [label(num, language), label(den, language)]

    def tips(frame: pd.DataFrame) -> dict:
        out = {}
        for region_code in drawn:
            row = frame.loc[region_code] if region_code in frame.index else None
            tip = {"value": fmt.value(code, None if row is None else row[code], language)}
            if num:
                tip["numerator"] = "" if row is None else fmt.value(num, row[num], language)
                tip["denominator"] = "" if row is None else fmt.value(den, row[den], language)
            out[region_code] = tip
        return out

    frames = [{"period": f.period, "label": f.label, "empty": not f.has_data, "fill": f.colour_of,
               "tips": tips(tables_by[f.period]), "rows": list(zip(play.row_colours, f.rows))} for f in play.frames]
    start = months.index(period) if period in months else 0
    first = frames[start]
    for feature in geojson["features"]:
        feature["properties"].update(first["tips"].get(feature["properties"]["region_code"], {}))
    words = playback_words()
    note = play.note + (" · " + t("RADIUS_NOTE", km=f"{radius_km:g}") if radius_km else "")
    draw(geojson, first["fill"], fields, labels, play.title, first["rows"], key,
         level=level, points=points, height=height, notes=[note], radius_km=radius_km,
         playback=maps.playback_data(frames, start, words, fields))


def draw_shading(geojson: dict, shading: legend.Shading, fields: list[str], labels: list[str], key: str, *,
                 level: str, title: str | None = None, notes: list[str] | None = None, **options) -> None:
    """Draw the map of a :class:`indicators.legend.Shading` (colours, legend rows, its note)."""
    draw(geojson, shading.colour_of, fields, labels, title or shading.title, [(r.colour, r.label) for r in shading.rows],
         key, level=level, notes=notes if notes is not None else [shading.note],
         outlines=[(r.colour, r.label) for r in shading.outline_rows], outline_of=shading.outline_of,
         mark_of=shading.mark_of, **options)


def draw(geojson: dict, colour_of: dict, fields: list[str], labels: list[str], title: str,
         rows: list[tuple[str, str]], key: str, *, level: str, points: list[dict] | None = None,
         height: int = 560, notes: list[str] | None = None, radius_km: float | None = None,
         playback: dict | None = None, outlines: list[tuple[str, str]] | None = None,
         outline_of: dict | None = None, mark_of: dict | None = None) -> None:
    """Draw a coloured map of counties or townships, and act on a click (drill down or open a
    township's panel). Pan and zoom return nothing, so they never rerun the script. ``outlines``
    are the legend rows of ``outline_of``'s thick outlines, ``mark_of`` the labels inside them."""
    legend_notes = [n for n in (notes or []) if n] + [data_as_of()]
    approximate = any(f["properties"].get("boundary_source") == "approximate" for f in geojson["features"])
    if approximate:
        legend_notes.insert(0, t("APPROX_BOUNDARY_SHORT"))
    legend = maps.Legend(title=title, rows=rows, notes=legend_notes, outlines=outlines or [])
    m = maps.choropleth(geojson, colour_of, fields, labels, legend, selected=open_township(), playback=playback,
                        outline_of=outline_of, mark_of=mark_of, names_toggle=t("MAP_NAMES"))
    if points and radius_km:
        maps.add_radius(m, points, radius_km)
    if points:
        maps.add_points(m, points, ROOM_COLOURS)
    _, region, _, _ = current()
    map_key = f"{key}-{region}-{level}" + ("-play" if playback else "")
    returned = show(m, height=height, key=map_key, clicks=True)
    if approximate:
        st.caption("⚠ " + t("APPROX_BOUNDARY"))
    _on_click(returned, map_key, level)


def _on_click(returned: dict | None, key: str, level: str) -> None:
    drawing = (returned or {}).get("last_active_drawing") or {}
    code = (drawing.get("properties") or {}).get("region_code")
    if not code:  # a map drawn afresh (no click yet): a click like the last one is a new click
        st.session_state.pop(f"_clicked-{key}", None)
        return
    stamp = json.dumps([code, (returned or {}).get("last_object_clicked")])
    if st.session_state.get(f"_clicked-{key}") == stamp:
        return  # the component repeats its last value on every rerun: act on a click once
    st.session_state[f"_clicked-{key}"] = stamp
    if level != "township":  # a province, city or county: drill into it
        state.go(region=code, town=None)
    else:
        parents = township_parents()
        if code in parents:
            state.go(region=parents[code], town=code)


def show(m: folium.Map, height: int, key: str, clicks: bool = False) -> dict | None:
    """Render a map offline. Pan and zoom return nothing, so they never rerun the script; with
    ``clicks`` a click on a shape returns it (and reruns once)."""
    offline.prepare_static(STATIC_DIR)
    # Relative to the component's iframe, so a server.baseUrlPath prefix keeps working.
    offline.localize(m, base_url="../../app/static/vendor")
    wanted = ["last_active_drawing", "last_object_clicked"] if clicks else []
    return st_folium(m, height=height, use_container_width=True, returned_objects=wanted, key=key)


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
        f"border-radius:50%;background:{colour};border:1px solid #333;margin-right:4px'></span>{safe.html(kind)}</span>"
        for kind, colour in ROOM_COLOURS.items()
    )
    # the bubble's words may wrap: on a phone the sentence is wider than the screen
    bubble = (f"<span><span style='display:inline-block;width:14px;height:14px;"
              f"border-radius:50%;background:{maps.CLUSTER_COLOUR};border:1px solid #fff;margin-right:4px;"
              f"vertical-align:middle'></span>{t('ROOM_CLUSTER')}</span>")
    st.markdown(f"**{t('ROOM_TYPES')}**{t('COLON')}{chips} {bubble}", unsafe_allow_html=True)


def table_of(values: pd.DataFrame, codes: list[str], name_label: str, short: bool = False) -> pd.DataFrame:
    """A display table: region name plus formatted indicator columns (small counts suppressed)."""
    language = lang()
    out = pd.DataFrame({name_label: values["region_name"].to_numpy()})
    for code in codes:
        out[label(code, language, short=short)] = [fmt.value(code, v, language) for v in values[code]]
    return out


def gaps_table(gaps: pd.DataFrame) -> pd.DataFrame:
    """The 盲区 list as shown and downloaded: Chinese headers, distances to 0.1 km."""
    language = lang()
    return pd.DataFrame({
        t("GAPS_COL_KIND"): [t(f"GAPS_KIND_{k}") for k in gaps["kind"]],
        t("COUNTY"): gaps["county_name"].fillna(fmt.MISSING).to_numpy(),
        t("TOWNSHIP"): gaps["township_name"].to_numpy(),
        t("ROOM_VILLAGE"): gaps["village_name"].fillna("").to_numpy(),
        label("households_total", language): [fmt.count(v, language) for v in gaps["households"]],
        t("GAPS_COL_KM"): ["" if fmt.is_missing(v) else f"{v:.1f}" for v in gaps["nearest_room_km"]],
        t("GAPS_COL_REASON"): gaps["reason"].to_numpy(),
    })


CHANGE_BINS = (-0.05, -0.02, -0.005, 0.005, 0.02, 0.05)   # percentage points as 0–1 differences
CHANGE_COLOURS = ["#d7301f", "#fc8d59", "#fdcc8a", "#ffffbf", "#c2e699", "#78c679", "#238443"]


def status_text(status) -> str:
    return legend.status_text(status, lang(), tables.t)


def status_map(period: str, key: str, playback: bool = False) -> None:
    """Red/amber/green pacing status of each township (or county at city level). With
    ``playback`` the map steps through the year's months (each month's status as of its end;
    the three statuses need no breaks)."""
    _, region, _, _ = current()
    level, geojson = map_shapes()
    counted, tooltip_name = LEVEL_WORDS[level]
    language = lang()
    drawn = [f["properties"]["region_code"] for f in geojson["features"]]

    def month(code: str) -> tuple[legend.Shading, dict]:
        pace = data.pacing(level, code, region).set_index("region_code")
        shading = legend.shade_status(pace["status"].to_dict(), drawn, language, tables.t, counted=counted)
        tips = {}
        for region_code in drawn:
            row = pace.loc[region_code] if region_code in pace.index else None
            tips[region_code] = {
                "status": status_text(None if row is None else row["status"]),
                "done": "" if row is None else fmt.count(row["screened_ytd"], language),
                "expected": "" if row is None else fmt.count(row["expected_by_now"], language),
                "completion": "" if row is None else fmt.value("coverage_rate", row["completion"], language),
            }
        return shading, tips

    fields = ["region_name", "status", "done", "expected", "completion"]
    labels = [t(tooltip_name), t("PACE_STATUS"), t("PACE_DONE"),
              t("PACE_EXPECTED_SHORT"), t("PACE_COMPLETION")]
    if not playback:
        shading, tips = month(period)
        for feature in geojson["features"]:
            feature["properties"].update(tips[feature["properties"]["region_code"]])
        draw_shading(geojson, shading, fields, labels, key, level=level)
        return
    months = legend.playback_months(period, data.data_span()[1])
    frames = []
    with st.spinner(t("PLAYBACK_LOADING")):
        shaded = [month(code) for code in months]
    for code, (shading, tips) in zip(months, shaded):
        frames.append({"period": code, "label": fmt.period_label(code, language), "tips": tips,
                       "empty": not shading.colour_of, "fill": shading.colour_of,
                       "rows": [(r.colour, r.label) for r in shading.rows], "title": shading.title})
    start = months.index(period) if period in months else 0
    first = frames[start]
    for feature in geojson["features"]:
        feature["properties"].update(first["tips"][feature["properties"]["region_code"]])
    draw(geojson, first["fill"], fields, labels, first["title"], first["rows"], key, level=level,
         playback=maps.playback_data(frames, start, playback_words(), fields))


def playback_words() -> dict[str, str]:
    return {"play": t("PLAYBACK_PLAY"), "pause": t("PLAYBACK_PAUSE"), "month": t("PLAYBACK_MONTH"),
            "nodata": t("MISSING_CLASS")}


def change_map(period: str, key: str) -> None:
    """Month-on-month change of the screening rate per township, in percentage points."""
    if above_city():
        return
    _, region, _, _ = current()
    change = data.month_change(period, region).set_index("region_code")
    _, geojson = map_shapes(townships_only=True)
    language = lang()
    colour_of, counts = {}, [0] * len(CHANGE_COLOURS)
    for feature in geojson["features"]:
        props = feature["properties"]
        row = change.loc[props["region_code"]] if props["region_code"] in change.index else None
        diff = None if row is None or fmt.is_missing(row["change"]) else float(row["change"])
        if diff is not None:
            cls = classify.class_index(diff, CHANGE_BINS + (max(1.0, diff),))
            colour_of[props["region_code"]] = CHANGE_COLOURS[cls]
            counts[cls] += 1
        props["now"] = "" if row is None else fmt.value("screening_rate", row["screening_rate"], language)
        props["before"] = "" if row is None else fmt.value("screening_rate", row["previous_screening_rate"], language)
        props["change"] = fmt.change("screening_rate", None if row is None else row["screening_rate"],
                                     None if row is None else row["previous_screening_rate"], language) or fmt.MISSING
    edges = [f"{b * 100:+.1f}" for b in CHANGE_BINS]
    ranges = [f"≤ {edges[0]}"] + [f"{edges[i]} ~ {edges[i + 1]}" for i in range(len(edges) - 1)] + [f"> {edges[-1]}"]
    rows = [(CHANGE_COLOURS[i], f"{r} {t('PP')}" + fmt.aside(t('LEGEND_TOWNSHIPS', n=counts[i]), language)) for i, r in enumerate(ranges)]
    missing = len(geojson["features"]) - sum(counts)
    if missing:
        rows.append((maps.MISSING_COLOUR, t('MISSING_CLASS') + fmt.aside(t('LEGEND_TOWNSHIPS', n=missing), language)))
    fields = ["region_name", "now", "before", "change"]
    labels = [t("TOWNSHIP"), t("CHANGE_NOW"), t("CHANGE_BEFORE"), t("CHANGE_DIFF")]
    draw(geojson, colour_of, fields, labels, t("CHANGE_MAP_TITLE"), rows, key, level="township")


def pacing_table(pace: pd.DataFrame) -> pd.DataFrame:
    """后进排名: furthest behind pace first, with target, expected, done and status."""
    language = lang()
    return pd.DataFrame({
        t("RANK"): [fmt.MISSING if fmt.is_missing(r) else int(r) for r in pace["laggard_rank"]],
        t("TOWNSHIP"): pace["region_name"].to_numpy(),
        t("PACE_TARGET"): [fmt.count(v, language) for v in pace["target"]],
        t("PACE_EXPECTED_SHORT"): [fmt.count(v, language) for v in pace["expected_by_now"]],
        t("PACE_DONE"): [fmt.count(v, language) for v in pace["screened_ytd"]],
        t("PACE_COMPLETION"): [fmt.value("coverage_rate", v, language) for v in pace["completion"]],
        t("PACE_PACE"): [fmt.value("coverage_rate", v, language) for v in pace["pace"]],
        t("PACE_STATUS"): [status_text(s) for s in pace["status"]],
    })


def hotspot_map(towns: pd.DataFrame, stats: pd.DataFrame, code: str, key: str, show: str = "smoothed") -> None:
    """The hotspot page's map. ``show="smoothed"`` (the default): townships coloured by their
    smoothed rate in the sidebar's classes, the significant hot and cold spots outlined and
    labelled; ``"classes"``: coloured by hotspot class only. Both say in their tooltips, plainly,
    whether the township is significant, its smoothed rate and its own; grey where no rate."""
    if above_city():
        return
    _, geojson = map_shapes(townships_only=True)
    period, region, _, _ = current()
    language = lang()
    drawn = [f["properties"]["region_code"] for f in geojson["features"]]
    name = label(code, language)
    if show == "smoothed":
        values = stats["rate_smoothed"].astype(float).to_numpy() if len(stats) else []
        shading = legend.shade_hotspot_rates(stats, drawn, code, classes_for(values, code, "township", period, region),
                                             language, tables.t, title=t("HOTSPOT_RATE_TITLE", name=name),
                                             locked=bool(st.session_state.get(state.KEYS["lock"])))
    else:
        class_of = {c: row["hotspot_class"] for c, row in stats.set_index("region_code").iterrows()
                    if not fmt.absent(row["rate"])}
        shading = legend.shade_hotspots(class_of, drawn, language, tables.t, title=t("HOTSPOT_MAP_TITLE", name=name))
    cells = legend.hotspot_cells(stats, towns, code, language, tables.t).set_index("region_code")
    columns = list(cells.columns)
    names = ["test", "smoothed", "value"]  # property names; the labels go in the tooltip ("value": its own rate)
    for feature in geojson["features"]:
        props = feature["properties"]
        for name, column in zip(names, columns):
            props[name] = cells.at[props["region_code"], column] if props["region_code"] in cells.index else fmt.MISSING
    draw_shading(geojson, shading, ["region_name", *names], [t("TOWNSHIP"), *columns], key, level="township")


def hotspot_counts(counts: dict[str, int]) -> None:
    """Townships per hotspot class (geo.risk.counts), one card each, those with none left out."""
    shown = [(c, n) for c, n in counts.items() if n]
    for column, (cls, n) in zip(st.columns(max(len(shown), 1)), shown):
        column.metric(legend.hotspot_label(cls, lang()), f"{n:,}")


def show_hotspot_ranking(towns: pd.DataFrame, stats: pd.DataFrame, code: str) -> None:
    """The townships with the highest smoothed rate; when smoothing has made every township's rate
    the same (the differences between them no larger than chance: the whole region's rate for all),
    a line first says so, and that the order is then the unsmoothed rate's, for reference only."""
    if legend.smoothed_all_equal(stats["rate_smoothed"]):
        st.info(t("HOTSPOT_RANKING_FLAT"))
    st.dataframe(hotspot_ranking(towns, stats, code), hide_index=True, width="stretch")


def hotspot_ranking(towns: pd.DataFrame, stats: pd.DataFrame, code: str) -> pd.DataFrame:
    """Townships by smoothed rate, highest first, with their class and the counts behind the rate
    (small counts as "<5")."""
    language = lang()
    merged = towns.merge(stats[["region_code", "rate_smoothed", "hotspot_class"]], on="region_code", how="left")
    merged = merged.sort_values(["rate_smoothed", code], ascending=False, na_position="last").head(15)
    num, den = registry.parts(code)
    return pd.DataFrame({
        t("RANK"): range(1, len(merged) + 1),
        t("TOWNSHIP"): merged["region_name"].to_numpy(),
        t("HOTSPOT_CLASS"): [fmt.MISSING if fmt.is_missing(c) or fmt.absent(r) else legend.hotspot_label(c, language)
                             for c, r in zip(merged["hotspot_class"], merged["rate_smoothed"])],
        t("HOTSPOT_SMOOTHED"): [fmt.value(code, v, language) for v in merged["rate_smoothed"]],
        label(code, language): [fmt.value(code, v, language) for v in merged[code]],
        label(num, language): [fmt.value(num, v, language) for v in merged[num]],
        label(den, language): [fmt.value(den, v, language) for v in merged[den]],
    })
