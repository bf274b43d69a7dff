"""Federation Atlas (妇联工作地图): the frame around every page — config, data, sidebar, navigation."""
import streamlit as st

from ui import data, widgets
from ui.text import t

st.set_page_config(page_title="妇联工作地图", layout="wide")

if not data.database_exists():
    from data import demo

    # First start on a fresh machine: build the demo city, showing each step.
    with st.status(t("BUILDING_DEMO"), expanded=True) as status:
        bar = st.progress(0.0)
        demo.build(data.db_path(), progress=lambda fraction, step: bar.progress(
            fraction, text=t("BUILD_STEP", step=t(f"STEP_{step}"))))
        status.update(label=t("BUILD_DONE"), state="complete", expanded=False)

data.upgrade_schema()

st.sidebar.markdown(f"### {t('APP_TITLE')}")
st.sidebar.caption(t("APP_SUBTITLE"))
widgets.sidebar_filters()

# The default page is served at "/" but still reserves a pathname; give it one nobody links to.
overview = st.Page("app_pages/overview.py", title=t("PAGE_OVERVIEW"), default=True, url_path="home")


def _overview_alias() -> None:
    # The default page lives at "/"; a link to /overview lands here and is sent there.
    st.switch_page(overview)


pages = [
    overview,
    st.Page(_overview_alias, title=t("PAGE_OVERVIEW"), url_path="overview", visibility="hidden"),
    st.Page("app_pages/coverage.py", title=t("PAGE_COVERAGE"), url_path="coverage"),
    st.Page("app_pages/screening.py", title=t("PAGE_SCREENING"), url_path="screening"),
    st.Page("app_pages/hotspots.py", title=t("PAGE_HOTSPOTS"), url_path="hotspots"),
    st.Page("app_pages/data_import.py", title=t("PAGE_IMPORT"), url_path="import"),
    st.Page("app_pages/snapshots.py", title=t("PAGE_SNAPSHOTS"), url_path="snapshots"),
    st.Page("app_pages/present.py", title=t("PAGE_PRESENT"), url_path="present", visibility="hidden"),
]
st.navigation(pages).run()
