"""导出与快照: the export buttons and the 保存快照 control of every view page, the saved snapshots'
data access, and how a snapshot is drawn (on its page and as a presentation slide).

Exports are built on demand (a 生成 button, then the download button): a build takes a second or
two, and is cached per (database, data version, view spec, format), the view spec being the page's
view, region, period, language, scope, filters and classes (export.views.ViewSpec), so a rerun or
a second click does not build again. Snapshot reads are not cached: saving a snapshot does
not bump the data version (export/saved.py), and the table is small.
"""
import base64
import re
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from db import schema
from export import saved
from export.snapshot import write as write_export
from export.views import ViewSpec, filters_note
from i18n import safe
from indicators import fmt, registry
from ui import auth, data, state, widgets
from ui.text import lang, t

# format key -> (file suffix, whole deck?, MIME type)
FORMATS = {
    "png": (".png", False, "image/png"),
    "pdf": (".pdf", False, "application/pdf"),
    "pptx": (".pptx", False, "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "deck": (".pptx", True, "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    "docx": (".docx", False, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "html": (".html", False, "text/html"),
}
PAGE_TITLES = {"overview": "PAGE_OVERVIEW", "coverage": "PAGE_COVERAGE", "screening": "PAGE_SCREENING",
               "hotspots": "PAGE_HOTSPOTS"}
BUILT_KEY = "_exports_built"  # session: the export keys built (and so cached) in this session
WRITE_WAIT = 10               # seconds to wait for an importer to let go of the file


# ---- exports -------------------------------------------------------------------------------

def file_name(view_name: str, kind: str, region_name: str, period: str, language: str) -> str:
    """排查进度-连云港市-2025年6月.pptx; the whole deck is named after the app."""
    title = t("DECK_NAME") if FORMATS[kind][1] else t(PAGE_TITLES[view_name])
    stem = "-".join([title, region_name, fmt.period_label(period, language)])
    return re.sub(r'[\\/:*?"<>|\s]+', "_", stem) + FORMATS[kind][0]


def view_spec(view_name: str) -> ViewSpec:
    """The view on screen, so an export or a snapshot shows what the screen shows: the page's view,
    the sidebar's region, period, language, filters, classes and city map unit, the hotspot page's
    display and measure, the viewer's scope and whether it sees exact small counts."""
    ss = st.session_state
    period, region, _, _ = widgets.current()
    return ViewSpec(view_name, region, period, lang(), tuple(data.viewer_scope()), widgets.filters(),
                    ss.get(state.KEYS["scheme"], state.DEFAULTS["scheme"]), ss.get(state.KEYS["k"], state.DEFAULTS["k"]),
                    bool(ss.get(state.KEYS["lock"])), data.viewer().exact,
                    ss.get(state.KEYS["unit"], state.DEFAULTS["unit"]),
                    # the hotspot page's 显示方式; other views keep the default (one cache key)
                    ss.get("hotspot_show") if view_name == "hotspots" else None,
                    # the hotspot page's 地图指标 (风险发现率 or 每万户受理纠纷), likewise
                    ss.get("hotspot_of") if view_name == "hotspots" else None)


def export_bytes(spec: ViewSpec, kind: str) -> bytes:
    """The file of one export, built once per (database, data key, view spec, format)."""
    return _export_bytes(data.reading_db(), data.data_key(), spec, kind)


@st.cache_data(ttl="1h", max_entries=24, show_spinner=False)
def _export_bytes(db: str, data_version: int, spec: ViewSpec, kind: str) -> bytes:
    suffix, whole_deck, _ = FORMATS[kind]
    with tempfile.TemporaryDirectory(prefix="atlas-export-") as folder:
        out = Path(folder) / f"export{suffix}"
        with data._connect(db) as con:  # on a lake, the snapshot this run's page shows
            write_export(con, out, spec, whole_deck=whole_deck)
        return out.read_bytes()


def export_buttons(view_name: str) -> None:
    """导出与快照, folded under the page title: a 生成 button per format that becomes its download
    button once built, and the 保存快照 control."""
    spec = view_spec(view_name)
    region_name = widgets.current()[2]
    with st.expander(t("EXPORT_TITLE"), icon=":material/download:"):
        st.caption(t("EXPORT_HINT"))
        st.caption(filters_line(spec))
        built = st.session_state.setdefault(BUILT_KEY, set())
        for column, kind in zip(st.columns(len(FORMATS)), FORMATS):
            label = t(f"EXPORT_FMT_{kind}")
            key = (data.db_path(), data.data_key(), spec, kind)
            with column:
                if key not in built and st.button(t("EXPORT_BUILD", format=label), key=f"export-{view_name}-{kind}",
                                                  width="stretch"):
                    with st.spinner(t("EXPORT_BUILDING", format=label)):
                        try:
                            export_bytes(spec, kind)
                            built.add(key)
                            auth.log("export", _export_facts(spec, kind))
                        except (ValueError, TimeoutError) as error:
                            st.error(t("EXPORT_FAILED", error=safe.markdown(error)))
                if key in built:
                    st.download_button(
                        t("EXPORT_DOWNLOAD", format=label),
                        export_bytes(spec, kind),  # cached: no rebuild
                        file_name=file_name(view_name, kind, region_name, spec.period, spec.lang),
                        mime=FORMATS[kind][2], key=f"download-{view_name}-{kind}", type="primary",
                        on_click="ignore", width="stretch",
                    )
        st.divider()
        save_control(spec, region_name)


def filters_line(spec: ViewSpec) -> str:
    """Which filters the files will carry: the footnote they will print, or that they count everything."""
    if spec.filters.is_default():
        return t("EXPORT_FILTERS_ALL")
    return t("EXPORT_FILTERS_ON", filters=safe.markdown(filters_note(spec.filters, spec.lang)))


def _export_facts(spec: ViewSpec, kind: str) -> dict:
    """What the audit log keeps of an export: the view, format, region, period, filters."""
    return {"view": spec.view, "format": kind, "region": spec.region, "period": spec.period,
            "filters": repr(spec.filters)}


# ---- saving a snapshot ---------------------------------------------------------------------

def save_control(spec: ViewSpec, region_name: str) -> None:
    """保存快照: a name (the view, region and period unless typed) and a button."""
    view_name, period, language = spec.view, spec.period, spec.lang
    default = " · ".join([t(PAGE_TITLES[view_name]), region_name, fmt.period_label(period, language)])
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.text_input(t("SNAPSHOT_NAME"), placeholder=default, key=f"snapshot-name-{view_name}",
                           max_chars=saved.NAME_MAX)
    if right.button(t("SNAPSHOT_SAVE"), key=f"snapshot-save-{view_name}", icon=":material/bookmark_add:",
                    width="stretch"):
        name = (name or "").strip() or default
        with st.spinner(t("SNAPSHOT_SAVING")):
            try:
                snapshot_id = save_snapshot(spec, name)
            except TimeoutError:
                st.error(t("DB_BUSY"))
                return
        st.success(t("SNAPSHOT_SAVED", name=safe.markdown(name)))
        st.markdown(f"[{t('SNAPSHOT_OPEN_LINK')}]({snapshot_link(snapshot_id)})")


def save_snapshot(spec: ViewSpec, name: str) -> int:
    """Freeze the view's numbers and map (read-only, the slow part), then store them (a short write)."""
    db = data.db_path()
    with data._connect(data.reading_db()) as con:  # the numbers the page shows (on a lake, its snapshot)
        frozen = saved.freeze(con, spec)
    params = state.to_params(state.current())
    params.update(period=frozen.period, region=frozen.region_code)
    if spec.view == "hotspots":  # the page's own parameters, as it writes them to the URL (defaults left out)
        params.update({k: v for k, v, default in (("of", spec.hotspot_of, "risk"), ("show", spec.hotspot_show, "smoothed"))
                       if v != default})
    with schema.open_waiting(db, read_only=False, wait=WRITE_WAIT) as con:
        snapshot_id = saved.save(con, name, spec.view, params, frozen, created_by=_who())
    auth.log("snapshot_save", {"snapshot_id": snapshot_id, "name": name, **_export_facts(spec, "snapshot")})
    return snapshot_id


# ---- reading and changing snapshots --------------------------------------------------------

def _who() -> str:
    """Who saves: the account, else the login (demo mode)."""
    from importer import pipeline

    name = data.viewer().name
    return name or f"{pipeline.who()}（网页）"


def snapshot_list() -> pd.DataFrame:
    """The snapshots this viewer may open, newest first (export.saved.LIST_COLUMNS); read afresh
    each run."""
    viewer = data.viewer()
    with schema.open_waiting(data.db_path(), read_only=True, wait=5) as con:
        return saved.list_all(con, viewer.scope, viewer.exact)


def snapshot(snapshot_id) -> saved.Snapshot | None:
    """One snapshot, or None for an unknown or malformed id (a URL is user input) or one this
    viewer may not open (built for other regions, or with exact counts)."""
    text = str(snapshot_id or "").strip()
    if not text.isdigit():
        return None
    viewer = data.viewer()
    with schema.open_waiting(data.db_path(), read_only=True, wait=5) as con:
        return saved.get(con, int(text), viewer.scope, viewer.exact)


def may_change(snap: saved.Snapshot) -> bool:
    """Rename or delete: an admin, the person who saved it, or anyone in demo mode."""
    viewer = data.viewer()
    return viewer.is_demo or viewer.can("users") or (bool(viewer.name) and snap.created_by == viewer.name)


VIEWED_KEY = "_snapshots_viewed"  # session: snapshot ids already written to the audit log


def viewed(snap: saved.Snapshot, how: str = "page") -> None:
    """One snapshot_view row per snapshot per session (a rerun is not another view)."""
    seen = st.session_state.setdefault(VIEWED_KEY, set())
    if snap.snapshot_id not in seen:
        seen.add(snap.snapshot_id)
        auth.log("snapshot_view", {"snapshot_id": snap.snapshot_id, "name": snap.name, "how": how})


def rename_snapshot(snapshot_id: int, name: str) -> bool:
    snap = snapshot(snapshot_id)
    if snap is None or not may_change(snap):
        return False
    with schema.open_waiting(data.db_path(), read_only=False, wait=WRITE_WAIT) as con:
        return saved.rename(con, snapshot_id, name)


def delete_snapshot(snapshot_id: int) -> bool:
    snap = snapshot(snapshot_id)
    if snap is None or not may_change(snap):
        return False
    with schema.open_waiting(data.db_path(), read_only=False, wait=WRITE_WAIT) as con:
        return saved.delete(con, snapshot_id)


def snapshot_link(snapshot_id: int) -> str:
    # relative, so it works under any base path: /screening -> /snapshots?id=3
    return f"snapshots?{urlencode({'id': snapshot_id})}"


def live_link(snap: saved.Snapshot) -> str:
    """The live view with the snapshot's URL parameters (its filters, region and period)."""
    return f"{snap.view}?{urlencode(snap.params)}"


def as_of_link(snap: saved.Snapshot) -> str:
    """The live view with the snapshot's parameters, reading the lake as it was when it was saved."""
    return f"{snap.view}?{urlencode({**snap.params, 'as_of': snap.lake_snapshot})}"


def present_link(ids: list[int]) -> str:
    return f"present?{urlencode({'ids': ','.join(str(i) for i in ids)})}"


def saved_label(snap: saved.Snapshot) -> str:
    """快照：2026年6月3日保存，数据截至 2025年12月31日"""
    return t("SNAPSHOT_BANNER", saved=fmt.day(snap.created_at.date(), lang()),
             as_of=snap.numbers.get("data_as_of_text", ""), version=snap.data_version)


def view_label(view_name: str) -> str:
    return t(PAGE_TITLES.get(view_name, "PAGE_OVERVIEW"))


# ---- drawing a snapshot --------------------------------------------------------------------

def show_snapshot(snap: saved.Snapshot) -> None:
    """The frozen view: banner, KPI cards, the map and legend, the township table, the notes."""
    n = snap.numbers
    st.info(saved_label(snap), icon=":material/photo_camera:")
    now = data.version()
    if snap.data_version is not None and now != snap.data_version:
        st.caption(t("SNAPSHOT_NEWER_DATA", version=now))
    st.caption(safe.markdown(f"{n.get('region_name', '')}{n.get('title', '')} · {n.get('period_label', '')} · "
                             f"{n.get('data_as_of_text', '')}"))
    kpis = n.get("kpis", [])
    for column, k in zip(st.columns(len(kpis) or 1), kpis):
        column.metric(k["label"], k["value"], delta=k.get("change"), border=True, help=k.get("parts"),
                      delta_color="inverse" if registry.get(k["code"]).rising_is_bad else "normal")
    left, right = st.columns([3, 1])
    with left:
        st.subheader(t("SNAPSHOT_MAP", title=n.get("map_title", "")))
        if snap.map_png:
            st.image(snap.map_png, width="stretch")
    with right:
        st.markdown(legend_html(n), unsafe_allow_html=True)
    st.subheader(t("SNAPSHOT_TOWNSHIPS"))
    table = n.get("townships", {})
    st.dataframe(pd.DataFrame(table.get("rows", []), columns=table.get("columns")), hide_index=True,
                 width="stretch")
    for note in n.get("notes", []):  # filter notes name room, risk and case types from files
        st.caption(safe.markdown(note))
    if snap.lake_snapshot is not None and data.is_lake():  # the live page on the data as it was then
        st.markdown(f"[{t('SNAPSHOT_AS_OF_LINK', n=snap.lake_snapshot)}]({as_of_link(snap)})")
    st.markdown(f"[{t('SNAPSHOT_LIVE_LINK')}]({live_link(snap)}) · "
                f"[{t('SNAPSHOT_SELF_LINK')}]({snapshot_link(snap.snapshot_id)}) · "
                f"[{t('SNAPSHOT_PRESENT_ONE')}]({present_link([snap.snapshot_id])})")


def legend_html(numbers: dict) -> str:
    """The class legend, and the room types of a coverage snapshot, as two blocks."""
    legend = numbers.get("legend", {})
    blocks = [_legend_block(legend.get("title", ""), [
        (f'<span style="display:inline-block;width:1.4em;height:0.9em;background:{safe.html(r["colour"])};'
         f'border:1px solid #888;margin-right:0.5em;vertical-align:middle"></span>', r["label"])
        for r in legend.get("rows", [])
    ] + [
        (f'<span style="display:inline-block;width:1.1em;height:0.6em;border:3px solid {safe.html(r["colour"])};'
         f'margin-right:0.5em;vertical-align:middle"></span>', r["label"])
        for r in legend.get("outlines", [])
    ])]
    rooms = numbers.get("room_types") or []
    if rooms:
        blocks.append(_legend_block(t("ROOM_TYPES") + fmt.aside(sum(r["count"] for r in rooms), lang()), [
            (f'<span style="display:inline-block;width:0.8em;height:0.8em;border-radius:50%;'
             f'background:{safe.html(r["colour"])};border:1px solid #333;margin:0 0.5em 0 0.3em;'
             f'vertical-align:middle"></span>', r["type"] + fmt.aside(r["count"], lang()))
            for r in rooms
        ]))
    return f'<div class="atlas-legend">{"".join(blocks)}</div>'


def _legend_block(title: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(f'<div class="atlas-legend-row">{swatch}{safe.html(label)}</div>' for swatch, label in rows)
    return f'<div class="atlas-legend-block"><div class="atlas-legend-title"><b>{safe.html(title)}</b></div>{body}</div>'


PRESENT_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stSidebarNav"], header[data-testid="stHeader"], [data-testid="stToolbar"],
[data-testid="stDecoration"], [data-testid="stStatusWidget"] { display: none !important; }
[data-testid="stMainBlockContainer"], .block-container {
  padding: 1.2vh 2.5vw 0.5vh 2.5vw !important; max-width: 100% !important; }
[data-testid="stAppViewContainer"] > section, [data-testid="stMain"] { margin-left: 0 !important; }
.slide-title { font-size: clamp(26px, 2.9vw, 60px); font-weight: 700; line-height: 1.15; color: #1b1b1b; margin: 0; }
.slide-sub { font-size: clamp(15px, 1.35vw, 28px); color: #555; margin: 0.4vh 0 0.8vh 0; }
.slide-kpis { display: grid; grid-template-columns: 1fr 1fr; gap: 1.6vh 1.4vw; margin-top: 1vh; }
.slide-kpi { border: 1px solid #ddd; border-radius: 10px; padding: 1.2vh 1vw; background: #fafafa; }
.slide-kpi-label { font-size: clamp(14px, 1.25vw, 26px); color: #444; }
.slide-kpi-value { font-size: clamp(30px, 3.4vw, 72px); font-weight: 700; color: #111; line-height: 1.1; }
.slide-kpi-change { font-size: clamp(12px, 1vw, 20px); color: #666; }
.slide-legend { margin-top: 2vh; font-size: clamp(12px, 1vw, 20px); color: #333; }
.slide-legend .atlas-legend { display: flex; flex-wrap: wrap; gap: 0.5vh 2.5vw; }
.slide-legend .atlas-legend-row { margin: 0.3vh 0; }
.slide-map img { width: 100%; max-height: 66vh; object-fit: contain; }
.slide-foot { font-size: clamp(11px, 0.8vw, 16px); color: #777; margin-top: 0.5vh; }
.slide-counter { font-size: clamp(14px, 1.1vw, 22px); color: #555; text-align: center; padding-top: 0.4em; }
</style>
"""


def presentation_style() -> None:
    """Full screen: no sidebar, no navigation, no header; type sized to the screen (vw/vh)."""
    st.html(PRESENT_CSS)


def slide(snap: saved.Snapshot) -> None:
    """One presentation slide: title, region · period · 数据截至, the map, the KPIs in large type."""
    n = snap.numbers
    sub = " · ".join(x for x in [f"{n.get('region_name', '')}{n.get('title', '')}", n.get("period_label", ""),
                                 n.get("data_as_of_text", "")] if x)
    st.html(f'<div class="slide-head"><div class="slide-title">{safe.html(snap.name)}</div>'
            f'<div class="slide-sub">{safe.html(sub)}</div></div>')
    left, right = st.columns([3, 2], gap="large")
    with left:
        if snap.map_png:
            encoded = base64.b64encode(snap.map_png).decode("ascii")
            st.html(f'<div class="slide-map"><img alt="{safe.html(n.get("map_title", ""))}" '
                    f'src="data:image/png;base64,{encoded}"></div>')
    with right:
        cards = "".join(
            f'<div class="slide-kpi"><div class="slide-kpi-label">{safe.html(k["label"])}</div>'
            f'<div class="slide-kpi-value">{safe.html(k["value"])}</div>'
            f'<div class="slide-kpi-change">{safe.html(_change_text(k.get("change")))}</div></div>'
            for k in n.get("kpis", [])
        )
        st.html(f'<div class="slide-kpis">{cards}</div>'
                f'<div class="slide-legend">{legend_html(n)}</div>')
    notes = [saved_label(snap), *n.get("notes", [])]
    st.html(f'<div class="slide-foot">{" · ".join(safe.html(x) for x in notes)}</div>')


def _change_text(change: str | None) -> str:
    return t("SLIDE_CHANGE", change=change) if change else t("PREV_NONE")
