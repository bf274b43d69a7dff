"""The 数据导入 page on a DuckLake, in headless Chromium (issue 17): upload, check and commit; a
partial ledger asked about, committed, then undone from the page. The very tests of
tests/test_browser_import.py, run against an app server whose ATLAS_DB is a lake holding the demo
city instead of a file. (CLI imports into a lake while app servers read it:
tests/test_lake_concurrency.py.)"""
from __future__ import annotations

import pytest

from tests import test_browser_import as on_file
from tests.appserver import AppServer


@pytest.fixture(scope="module")
def atlas_copy(demo_db, postgres, tmp_path_factory) -> str:
    from tests.conftest import new_lake

    return new_lake(postgres, tmp_path_factory.mktemp("import-lake"), demo_db)


@pytest.fixture(scope="module")
def app_url(atlas_copy, tmp_path_factory):
    log = tmp_path_factory.mktemp("import-lake-log") / "streamlit.log"
    with AppServer(atlas_copy, log) as server:
        yield server.url


browser_page = on_file.browser_page


def test_upload_check_and_commit_on_a_lake(app_url, atlas_copy, browser_page, tmp_path):
    on_file.test_upload_check_and_commit_on_the_page(app_url, atlas_copy, browser_page, tmp_path)


def test_a_partial_ledger_is_asked_about_committed_and_undone_on_a_lake(app_url, atlas_copy, browser_page, tmp_path):
    on_file.test_a_partial_ledger_asks_before_replacing_and_can_be_undone(app_url, atlas_copy, browser_page, tmp_path)
