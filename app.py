"""Federation Atlas (妇联工作地图): the frame around every page — config, data, sidebar, navigation."""
from pathlib import Path

import streamlit as st

from ui import auth, data, widgets
from ui.text import t

st.set_page_config(page_title="妇联工作地图", layout="wide")

if problem := data.unreadable():  # a file this DuckDB cannot open: say so, never a traceback
    kind, writer = problem
    name = Path(data.db_path()).name  # the file's name only: this shows before anyone logs in
    if kind == "newer":
        said = t("DB_NEWER", name=name, writer=writer or t("DB_WRITER_UNKNOWN"), ours=data.DUCKDB_VERSION)
        if data.is_builtin_demo():  # the demo is made again; the old file is kept, renamed
            st.warning(said + "\n\n" + t("DB_NEWER_REBUILT", kept=data.set_aside()))
        else:  # someone's data: never rebuilt or removed, only explained
            st.error(said + "\n\n" + t("DB_NEWER_KEPT", writer=writer or t("DB_WRITER_UNKNOWN"), ours=data.DUCKDB_VERSION))
            st.stop()
    else:
        st.error(t("DB_NOT_DUCKDB", name=name))
        st.stop()

try:
    exists = data.database_exists()
except data.NoLake as unreachable:  # the lake's catalog (PostgreSQL) cannot be reached: said, never a traceback
    st.error(t("LAKE_UNREACHABLE", name=data.shown_db(), error=unreachable.reason))
    st.stop()
if not exists and data.is_lake():  # an empty lake is made by `cli.py lake init`, never by a page
    st.error(t("LAKE_EMPTY", name=data.shown_db()))
    st.stop()
if not exists:
    from data import demo

    # First start on a fresh machine: build the demo city, showing each step.
    with st.status(t("BUILDING_DEMO"), expanded=True) as status:
        bar = st.progress(0.0)
        demo.build(data.db_path(), progress=lambda fraction, step: bar.progress(
            fraction, text=t("BUILD_STEP", step=t(f"STEP_{step}"))))
        status.update(label=t("BUILD_DONE"), state="complete", expanded=False)

data.upgrade_schema()
data.pin()  # on a lake: this run reads one snapshot, whatever other servers and importers commit meanwhile
viewer = auth.gate()  # None: the login page is on screen, and no page runs (below)

# The role decides the pages (ui/auth.PAGES); a page left out is not reachable by its URL either.
allowed = auth.pages_for(viewer)
if viewer is not None:
    st.sidebar.markdown(f"### {t('APP_TITLE')}")
    st.sidebar.caption(t("APP_SUBTITLE"))
    auth.sidebar(viewer)
    if not viewer.exact:  # small counts are hidden for this viewer: have the year's cells chosen
        data.warm_suppression()
    if data.regions().empty:  # nothing of the viewer's regions is in the atlas yet: only imports
        st.info(t("SCOPE_EMPTY"))
        allowed = [p for p in allowed if p[3] in ("import", "audit")]
        if not allowed:
            st.stop()
first_file, first_title, first_url, _, _ = allowed[0]
# The first allowed page is the default, served at "/"; it still reserves a pathname: one nobody links to.
home = st.Page(first_file, title=t(first_title), default=True, url_path="home")


def _home_alias() -> None:
    # The default page lives at "/"; a link to its own path (/overview) lands here and is sent there.
    st.switch_page(home)


pages = [home, st.Page(_home_alias, title=t(first_title), url_path=first_url, visibility="hidden")]
pages += [st.Page(file, title=t(title), url_path=url, visibility="hidden" if hidden else "visible")
          for file, title, url, _, hidden in allowed[1:]]
page = st.navigation(pages, position="sidebar" if viewer is not None else "hidden")
if viewer is None:
    st.stop()  # the navigation has seen which page the URL asks for: after the login, that one runs
if not data.regions().empty:  # after the navigation: the sidebar shows the filters this page uses
    widgets.sidebar_filters(first_url if page.url_path == home.url_path else page.url_path)
auth.demo_banner(viewer, page.url_path)
auth.as_of_banner()  # on a lake: the data as it was at a saved snapshot's moment, read-only
widgets.phone_style()
try:
    page.run()
except data.Computing as pending:  # a province's or the nation's figures are still being computed
    widgets.computing_notice(pending)
