"""Federation Atlas (妇联工作地图): the frame around every page — config, data, sidebar, navigation."""
import streamlit as st

from ui import auth, data, widgets
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
viewer = auth.gate()  # the login page (and st.stop) until someone is logged in, or demo mode

st.sidebar.markdown(f"### {t('APP_TITLE')}")
st.sidebar.caption(t("APP_SUBTITLE"))
auth.sidebar(viewer)
widgets.sidebar_filters()

# The role decides the pages (access/viewer.py); a page left out is not reachable by its URL either.
# The first page listed is the default, served at "/" (it still reserves a pathname: one nobody links to).
can_view = viewer.can("view")
home = st.Page("app_pages/overview.py" if can_view else "app_pages/snapshots.py",
               title=t("PAGE_OVERVIEW" if can_view else "PAGE_SNAPSHOTS"), default=True, url_path="home")


def _home_alias() -> None:
    # The default page lives at "/"; a link to /overview (or /snapshots) lands here and is sent there.
    st.switch_page(home)


pages = [home, st.Page(_home_alias, title=home.title, url_path="overview" if can_view else "snapshots",
                       visibility="hidden")]
if can_view:
    pages += [
        st.Page("app_pages/coverage.py", title=t("PAGE_COVERAGE"), url_path="coverage"),
        st.Page("app_pages/screening.py", title=t("PAGE_SCREENING"), url_path="screening"),
        st.Page("app_pages/hotspots.py", title=t("PAGE_HOTSPOTS"), url_path="hotspots"),
    ]
if viewer.can("import"):
    pages.append(st.Page("app_pages/data_import.py", title=t("PAGE_IMPORT"), url_path="import"))
if can_view:
    pages.append(st.Page("app_pages/snapshots.py", title=t("PAGE_SNAPSHOTS"), url_path="snapshots"))
if viewer.can("present"):
    pages.append(st.Page("app_pages/present.py", title=t("PAGE_PRESENT"), url_path="present", visibility="hidden"))
if viewer.can("audit"):
    pages.append(st.Page("app_pages/audit.py", title=t("PAGE_AUDIT"), url_path="audit"))
st.navigation(pages).run()
