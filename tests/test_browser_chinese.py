"""Chinese throughout, and the import page tells the truth, in headless Chromium: the uploader
shows none of Streamlit's English, a 排查汇总 for months that already have household rows is
said to change nothing, a file with problems shows its table, and a map page opened with
?lang=en speaks English. Screenshots of each are left in the module's folder (printed)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.appserver import AppServer
from tests.support import browser_api
from tests.test_browser_import import idle

sync_api = browser_api()
expect = sync_api.expect


@pytest.fixture(scope="module")
def app_url(demo_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("chinese-app")
    db = folder / "atlas.duckdb"
    shutil.copy(demo_db, db)  # these tests import into it
    with AppServer(db, folder / "streamlit.log") as server:
        yield server.url


@pytest.fixture(scope="module")
def chromium(shared_chromium):
    return shared_chromium.get()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    yield context.new_page()
    context.close()


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join(",".join(r) for r in rows), encoding="utf-8")
    return path


def test_the_import_page_speaks_chinese_and_says_what_changed(app_url, page, shots, tmp_path):
    page.goto(f"{app_url}/import")
    idle(page)
    zone = page.locator('[data-testid="stFileUploaderDropzone"]')
    expect(zone).to_be_visible()
    shown = zone.inner_text()
    for english in ("Drag and drop", "Limit", "per file", "Browse files", "Upload"):
        assert english not in shown, shown
    expect(page.get_by_text("每个文件不超过 1 GB").first).to_be_visible()
    page.screenshot(path=str(shots / "import-before.png"), full_page=True)

    # 墟沟街道 was screened door to door in June 2025: a return for that month counts for nothing
    ledger = write_csv(tmp_path / "六月汇总.csv", [["月份", "乡镇", "排查户数"], ["2025年6月", "墟沟街道", "100"]])
    page.locator('input[type="file"]').set_input_files(str(ledger))
    expect(page.get_by_text("检查通过").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("2025年6月").first).to_be_visible()
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_text("没有变化").first).to_be_visible(timeout=60_000)
    idle(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "已按新数据更新" not in text and "完全相同" not in text
    assert "墟沟街道（2025年6月）" in text
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    page.screenshot(path=str(shots / "import-after.png"), full_page=True)


def test_a_file_with_problems_shows_its_table(app_url, page, shots, tmp_path):
    page.goto(f"{app_url}/import")
    idle(page)
    ledger = write_csv(tmp_path / "有错误的汇总.csv", [["月份", "乡镇", "排查户数"], ["2025年6月", "火星镇", "100"],
                                                  ["2031年6月", "墟沟街道", "十"]])
    page.locator('input[type="file"]').set_input_files(str(ledger))
    expect(page.get_by_text("文件未导入").first).to_be_visible(timeout=60_000)
    idle(page)
    table = page.locator('[data-testid="stTable"]').first
    expect(table).to_be_visible()
    shown = table.inner_text()  # 问题 and 应为 in full, wrapped, not cut off
    assert "火星镇" in shown and "请在匹配确认中选择正确的乡镇" in shown and "请填写数字" in shown
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    assert "（township）" not in page.locator('[data-testid="stMain"]').inner_text()
    page.get_by_text("文件未导入").first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "import-errors.png"), full_page=True)


def test_a_map_page_opened_in_english(app_url, page, shots):
    page.goto(f"{app_url}/screening?lang=en")
    idle(page)
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=60_000)
    page.locator("iframe").first.wait_for(timeout=60_000)
    idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "Period" in sidebar or "period" in sidebar.lower()
    assert "lang=en" in page.url
    page.screenshot(path=str(shots / "screening-english.png"), full_page=True)



def test_the_breadcrumb_has_no_gaps(app_url, page, shots):
    page.goto(f"{app_url}/coverage?region=320722000000&town=320722101000")
    idle(page)
    boxes = [page.locator(f".st-key-crumb-{level}").get_by_role("button").bounding_box()
             for level in ("city", "county", "township")]
    assert [page.locator(f".st-key-crumb-{level}").inner_text() for level in ("city", "county", "township")] == [
        "连云港市 ›", "东海县 ›", "白塔埠镇"]
    for left, right in zip(boxes, boxes[1:]):
        assert abs(left["y"] - right["y"]) < 4  # one line
        assert 0 <= right["x"] - (left["x"] + left["width"]) < 24, boxes  # next to each other
    page.screenshot(path=str(shots / "breadcrumb.png"))
