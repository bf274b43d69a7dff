"""演示模式: chosen snapshots (?ids=1,2,3) as full-screen slides for a projector: no sidebar,
large type, previous/next and auto-advance. Everything is drawn from the frozen snapshots, offline."""
import time

import streamlit as st

from ui import auth, exporting
from ui.text import t

auth.require("present")
exporting.presentation_style()
listing = exporting.snapshot_list()
if listing.empty:
    st.info(t("PRESENT_NONE"))
    st.stop()
names = {int(i): name for i, name in zip(listing["snapshot_id"], listing["name"])}

# ?ids= is user input: keep the known ids, in the order given
asked = [int(x) for x in str(st.query_params.get("ids", "")).split(",") if x.strip().isdigit()]
if "present_ids" not in st.session_state or (asked and asked != st.session_state.get("_present_asked")):
    # a new session, or a link with other ids: start those from the first slide (oldest first by default)
    st.session_state["present_ids"] = [i for i in dict.fromkeys(asked) if i in names] or list(names)[::-1]
    st.session_state["present_i"] = 0
st.session_state["present_ids"] = [i for i in st.session_state["present_ids"] if i in names]  # deleted since


def _restart_timer() -> None:
    st.session_state["present_shown"] = time.monotonic()


slide_area = st.container()
with st.expander(t("PRESENT_SETTINGS")):
    chosen = st.multiselect(t("PRESENT_PICK"), list(names), key="present_ids", select_all=False, format_func=lambda i: f"{i} · {names[i]}")
    left, right = st.columns(2)
    auto = left.toggle(t("PRESENT_AUTO"), key="present_auto", on_change=_restart_timer)
    every = right.select_slider(t("PRESENT_EVERY"), [5, 10, 15, 20, 30, 60], value=15, key="present_every",
                                on_change=_restart_timer)
st.query_params["ids"] = ",".join(str(i) for i in chosen)
st.session_state["_present_asked"] = list(chosen)  # our own write to the URL is not a new link
if not chosen:
    slide_area.info(t("PRESENT_EMPTY"))
    st.stop()


def _step(by: int) -> None:
    st.session_state["present_i"] = st.session_state.get("present_i", 0) + by
    st.session_state["present_shown"] = time.monotonic()


@st.fragment(run_every=every if auto else None)
def show() -> None:
    n = len(chosen)
    shown = st.session_state.setdefault("present_shown", time.monotonic())
    if auto and time.monotonic() - shown >= every - 0.5:  # a timer run, not a click or a full rerun
        _step(1)
    i = st.session_state.get("present_i", 0) % n
    snap = exporting.snapshot(chosen[i])
    if snap is None:  # deleted meanwhile
        st.warning(t("SNAPSHOT_NOT_FOUND", id=chosen[i]))
    else:
        exporting.slide(snap)
        exporting.viewed(snap, "present")
    prev, counter, nxt, leave = st.columns([1, 1, 1, 1], vertical_alignment="center")
    prev.button(t("PRESENT_PREV"), icon=":material/chevron_left:", on_click=_step, args=(-1,), width="stretch",
                key="present_prev")
    counter.html(f'<div class="slide-counter">{t("PRESENT_COUNTER", i=i + 1, n=n)}</div>')
    nxt.button(t("PRESENT_NEXT"), icon=":material/chevron_right:", on_click=_step, args=(1,), width="stretch",
               key="present_next", type="primary")
    leave.markdown(f"[{t('PRESENT_EXIT')}](snapshots)")


with slide_area:
    show()
