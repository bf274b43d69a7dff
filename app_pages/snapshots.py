"""快照: saved views and their frozen numbers. ?id=N opens one; otherwise the list, to open,
rename, delete or present."""
import pandas as pd
import streamlit as st

from i18n import safe
from indicators import fmt
from ui import auth, exporting
from ui.text import lang, t

auth.require("snapshot")
st.title(t("PAGE_SNAPSHOTS"))
wanted = st.query_params.get("id")

if wanted is not None:
    snap = exporting.snapshot(wanted)
    if st.button(t("SNAPSHOT_BACK"), icon=":material/arrow_back:", type="tertiary"):
        del st.query_params["id"]
        st.rerun()
    if snap is None:
        st.warning(t("SNAPSHOT_NOT_FOUND", id=wanted))
        st.stop()
    st.header(safe.markdown(snap.name))
    exporting.show_snapshot(snap)
    exporting.viewed(snap)
    if not exporting.may_change(snap):
        st.stop()
    with st.expander(t("SNAPSHOT_MANAGE")):
        new_name = st.text_input(t("SNAPSHOT_NEW_NAME"), value=snap.name, key=f"rename-{snap.snapshot_id}")
        if st.button(t("SNAPSHOT_RENAME"), key="rename") and new_name.strip() and new_name.strip() != snap.name:
            exporting.rename_snapshot(snap.snapshot_id, new_name)
            st.toast(t("SNAPSHOT_RENAMED", name=safe.markdown(new_name.strip())))
            st.rerun()
        if st.checkbox(t("SNAPSHOT_DELETE_CONFIRM", name=safe.markdown(snap.name)), key="delete-confirm"):
            if st.button(t("SNAPSHOT_DELETE"), key="delete", type="primary", icon=":material/delete:"):
                exporting.delete_snapshot(snap.snapshot_id)
                st.toast(t("SNAPSHOT_DELETED", name=safe.markdown(snap.name)))
                del st.query_params["id"]
                st.rerun()
    st.stop()

st.caption(t("SNAPSHOTS_INTRO"))
listing = exporting.snapshot_list()
if listing.empty:
    st.info(t("SNAPSHOTS_NONE"))
    st.stop()

language = lang()
table = pd.DataFrame({
    t("SNAPSHOT_COL_ID"): listing["snapshot_id"],
    t("SNAPSHOT_COL_NAME"): listing["name"],
    t("SNAPSHOT_COL_VIEW"): listing["view"].map(exporting.view_label),
    t("SNAPSHOT_COL_REGION"): listing["region_name"],
    t("SNAPSHOT_COL_PERIOD"): listing["period_label"],
    t("SNAPSHOT_COL_AS_OF"): listing["data_as_of"].map(lambda d: fmt.day(d, language)),
    t("SNAPSHOT_COL_SAVED"): listing["created_at"].map(lambda d: pd.Timestamp(d).strftime("%Y-%m-%d %H:%M")),
    t("SNAPSHOT_COL_VERSION"): listing["data_version"],
    t("SNAPSHOT_COL_LINK"): listing["snapshot_id"].map(exporting.snapshot_link),
})
st.dataframe(table, hide_index=True, width="stretch", column_config={
    t("SNAPSHOT_COL_LINK"): st.column_config.LinkColumn(display_text=t("SNAPSHOT_COL_OPEN")),
})

names = {int(i): name for i, name in zip(listing["snapshot_id"], listing["name"])}
left, right = st.columns([3, 1], vertical_alignment="bottom")
picked = left.selectbox(t("SNAPSHOT_PICK"), list(names), format_func=lambda i: f"{i} · {names[i]}")
if right.button(t("SNAPSHOT_OPEN"), icon=":material/open_in_full:", width="stretch"):
    st.query_params["id"] = str(picked)
    st.rerun()

st.subheader(t("SNAPSHOTS_PRESENT"))
chosen = st.multiselect(t("SNAPSHOTS_PRESENT_PICK"), list(names), select_all=False, default=list(names)[::-1][:8],
                        format_func=lambda i: f"{i} · {names[i]}")
if chosen:
    st.markdown(f"[{t('SNAPSHOTS_PRESENT_LINK', n=len(chosen))}]({exporting.present_link(chosen)})")
