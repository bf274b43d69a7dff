"""演示模式 in headless Chromium at projector sizes: no sidebar, the slide fits, next advances, offline.

The app runs (``streamlit run app.py``) on a copy of the session's demo database holding two
snapshots; /present?ids=… is opened at 1920×1080 and 1366×768. Skipped only without Chromium
or the playwright package (failing instead where the browser is required).
"""
from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import duckdb
import pytest

from tests.support import browser_api

sync_api = browser_api()
expect = sync_api.expect

from export import saved, views  # noqa: E402
from tests.appserver import AppServer  # noqa: E402

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
SIZES = [(1920, 1080), (1366, 768)]
SLIDES = [("排查进度 · 连云港市", "screening", "320700000000"), ("风险热点 · 东海县", "hotspots", "320722000000")]


@pytest.fixture(scope="module")
def server(demo_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("present")
    db = folder / "atlas.duckdb"
    shutil.copy(demo_db, db)
    ids = []
    with duckdb.connect(str(db)) as con:
        for name, view, region in SLIDES:
            frozen = saved.freeze(con, views.ViewSpec(view, region))
            ids.append(saved.save(con, name, view, {"region": region, "period": frozen.period}, frozen))
    with AppServer(db, folder / "server.log") as app:
        app.ids = ids
        yield app


def inside(box: dict | None, width: int, height: int) -> bool:
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width + 1 \
        and box["y"] + box["height"] <= height + 1


@pytest.mark.parametrize("width,height", SIZES, ids=lambda v: str(v))
def test_presentation_fills_the_screen_and_steps(server, browser, tmp_path, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname))
    first, second = server.ids
    page.goto(f"{server.url}/present?ids={first},{second}")
    title = page.locator(".slide-title")
    expect(title).to_have_text(SLIDES[0][0], timeout=60_000)
    expect(page.locator(".slide-map img")).to_be_visible()
    expect(page.locator(".slide-kpi-value").first).to_be_visible()
    page.screenshot(path=str(tmp_path / f"present-{width}x{height}.png"))

    # no sidebar, no navigation, no header: the slide has the screen
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert not page.locator('[data-testid="stSidebarNav"]').is_visible()
    assert not page.locator('header[data-testid="stHeader"]').is_visible()
    # title, map, the four KPIs and the controls are all on screen, without scrolling
    assert inside(title.bounding_box(), width, height)
    assert inside(page.locator(".slide-map img").bounding_box(), width, height)
    assert page.locator(".slide-kpi-value").count() == 4
    for i in range(4):
        assert inside(page.locator(".slide-kpi-value").nth(i).bounding_box(), width, height)
    next_button = page.get_by_role("button", name="下一张")
    assert inside(next_button.bounding_box(), width, height)
    # large type: the title at least 26 px, a KPI value at least 30 px
    size = lambda selector: float(page.locator(selector).first.evaluate(  # noqa: E731
        "e => parseFloat(getComputedStyle(e).fontSize)"))
    assert size(".slide-title") >= 26 and size(".slide-kpi-value") >= 30

    next_button.click()
    expect(title).to_have_text(SLIDES[1][0], timeout=30_000)
    expect(page.get_by_text("第 2 / 2 张")).to_be_visible()
    page.get_by_role("button", name="上一张").click()
    expect(title).to_have_text(SLIDES[0][0], timeout=30_000)
    page.close()
    assert hosts <= LOCAL_HOSTS, f"asked other hosts: {hosts - LOCAL_HOSTS}"


def test_auto_advance_moves_on_by_itself(server, browser):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    first, second = server.ids
    page.goto(f"{server.url}/present?ids={first},{second}")
    title = page.locator(".slide-title")
    expect(title).to_have_text(SLIDES[0][0], timeout=60_000)
    page.get_by_text("演示设置").click()
    page.get_by_text("自动播放", exact=True).click()
    slider = page.get_by_role("slider")
    slider.focus()
    for _ in range(2):  # 15 s -> 10 s -> 5 s per slide
        page.keyboard.press("ArrowLeft")
        page.wait_for_timeout(500)
    expect(title).to_have_text(SLIDES[1][0], timeout=15_000)
    expect(title).to_have_text(SLIDES[0][0], timeout=15_000)  # and round again
    page.close()
