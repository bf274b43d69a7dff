"""Map playback in headless Chromium (issue 15): pressing 播放 steps the map through the months in
the browser. The polygons' fills and the month's name change, the legend's counts follow, and
nothing goes over Streamlit's websocket: no rerun asked for, no script run finished (how the wire
is read: tests/test_browser_views.py). Not one page or console error. The bar fits a phone.

Screenshots go to a pytest temporary folder (printed at the end); when ATLAS_SHOTS_DIR is set they
are also copied there as ``playback_<name>.png``.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support import browser_api

sync_api = browser_api()  # skips the module without a browser; fails instead in CI

from tests.appserver import Wire  # noqa: E402

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
URL = "/screening?period=2025-06&show=rate&play=1"
TIMEOUT_MS = 60_000

# Evaluated inside the map iframe: each polygon's fill as drawn (the SVG attribute) and its tooltip's
# first figure (the rate, or the pace status).
FILLS_JS = """(field) => {
  const out = {};
  if (!window.L || !(window.map instanceof L.Map)) return out;
  window.map.eachLayer(l => {
    if (l.feature && l._path && l.feature.properties.region_code)
      out[l.feature.properties.region_code] = [l._path.getAttribute("fill"), l.feature.properties[field]];
  });
  return out;
}"""


def screenshot(page, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    if os.environ.get("ATLAS_SHOTS_DIR"):
        shutil.copy(path, Path(os.environ["ATLAS_SHOTS_DIR"]) / f"playback_{name}.png")


def opened(browser, url: str, **size):
    context = browser.new_context(locale="zh-CN", **size)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    # Streamlit's own probe of /<page>/_stcore/… answers 404 on a deep link: not ours
    page.on("console", lambda msg: page.errors.append(f"{msg.text} ({msg.location.get('url')})")
            if msg.type == "error" and "/_stcore/" not in (msg.location.get("url") or "") else None)
    page.wire = Wire(page)
    page.goto(url)
    frame = page.frame_locator(MAP_IFRAME)
    frame.locator(".atlas-playback").wait_for()
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for()
    page.wait_for_timeout(1500)  # past streamlit-folium's debounce: the first value is sent, if any
    return context, page, frame


def inner(page):
    return next(f for f in page.frames if f is not page.main_frame and f.evaluate("() => !!(window.L && window.map)"))


@pytest.mark.parametrize("show, field", [("rate", "value"), ("status", "status")])
def test_play_changes_the_fills_and_the_month_without_a_rerun(app_url, browser, shots, show, field):
    url = f"/screening?period=2025-06&show={show}&play=1&region=320722000000"
    context, page, frame = opened(browser, app_url + url, viewport={"width": 1440, "height": 900})
    fills_now = lambda: inner(page).evaluate(FILLS_JS, field)  # noqa: E731
    try:
        bar = frame.locator(".atlas-playback")
        assert bar.get_attribute("data-month") == "2025-06"   # the sidebar's month first
        assert frame.locator(".atlas-playback-month").inner_text() == "2025年6月"
        if show == "rate":  # classes locked over the year (the statuses are three fixed kinds)
            assert "按全年统一分级" in frame.locator(".atlas-legend").inner_text()
        legend_june = frame.locator(".atlas-legend").inner_text()
        june = fills_now()
        assert june
        screenshot(page, shots, f"desktop-{show}-june")
        before = page.wire.counts()

        frame.locator(".atlas-playback-button").click()      # 播放: from the year's first month
        assert frame.locator(".atlas-playback-button").inner_text() == "暂停"
        seen = {}
        for _ in range(80):
            month = bar.get_attribute("data-month")
            if month not in seen:
                seen[month] = (frame.locator(".atlas-playback-month").inner_text(), fills_now(),
                               frame.locator(".atlas-legend").inner_text())
            if month == "2025-04":
                break
            page.wait_for_timeout(150)
        assert list(seen)[:4] == ["2025-01", "2025-02", "2025-03", "2025-04"], list(seen)
        frame.locator(".atlas-playback-button").click()      # 暂停
        assert frame.locator(".atlas-playback-button").inner_text() == "播放"
        assert seen["2025-01"][0] == "2025年1月" and seen["2025-03"][0] == "2025年3月"
        fills = [seen[m][1] for m in ("2025-01", "2025-02", "2025-03", "2025-04")]
        assert any(f != june for f in fills), "the polygons' fills never changed"
        assert len({str(sorted((k, v[0]) for k, v in f.items())) for f in fills}) > 1
        assert any(seen[m][2] != legend_june for m in seen), "the legend's counts never followed the month"
        # the tooltip's value follows the month too
        assert any(f[c][1] != june[c][1] for f in fills for c in f if c in june)
        screenshot(page, shots, f"desktop-{show}-april")

        # a hover and its end keep the month's colour (Leaflet's resetStyle)
        now = fills_now()
        frame.locator("path.leaflet-interactive").first.hover(force=True)
        page.mouse.move(5, 5)
        page.wait_for_timeout(200)
        assert fills_now() == now

        # the slider steps too
        frame.locator(".atlas-playback-slider").evaluate(
            "el => { el.value = 8; el.dispatchEvent(new Event('input')); }")
        assert frame.locator(".atlas-playback-month").inner_text() == "2025年9月"
        page.wait_for_timeout(1500)  # well past streamlit-folium's debounce
        assert page.wire.counts() == before, "playing the map reran the script"
        assert page.errors == []
    finally:
        context.close()


def test_playback_stops_at_the_last_month_with_data_and_fits_a_phone(app_url, browser, shots):
    phone = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
             "has_touch": True}
    context, page, frame = opened(browser, app_url + URL, **phone)
    try:
        page.locator(MAP_IFRAME).scroll_into_view_if_needed()
        box = frame.locator(".atlas-playback").bounding_box()
        iframe = page.locator(MAP_IFRAME).bounding_box()
        assert box["x"] >= iframe["x"] and box["x"] + box["width"] <= iframe["x"] + iframe["width"] + 0.5
        slider = frame.locator(".atlas-playback-slider")
        last = int(slider.get_attribute("max"))
        assert last == 11  # the demo runs to December 2025
        slider.evaluate("(el, n) => { el.value = n; el.dispatchEvent(new Event('input')); }", last - 1)
        before = page.wire.counts()
        frame.locator(".atlas-playback-button").tap()  # paused by hand in November: play on from there
        frame.locator('.atlas-playback[data-playing="0"]').wait_for(timeout=10_000)
        assert frame.locator(".atlas-playback").get_attribute("data-month") == "2025-12"
        assert frame.locator(".atlas-playback-month").inner_text() == "2025年12月"
        screenshot(page, shots, "phone-december")
        assert page.wire.counts() == before
        assert page.errors == []
    finally:
        context.close()
