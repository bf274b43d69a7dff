"""The maps on a phone (390×844, touch, as in WeChat's browser) and on a desktop (1440×900), issue 15.

On every map page: the map's frame spans the main column, the region's polygons fill at least
half of the frame's width or height (fitted to the frame it is drawn in, not to a desktop's),
the legend covers at most a quarter of the map, the attribution carries no flag; on the phone
the KPI cards stand two to a row and the map starts on the first screen. A tap drills down and
opens the township panel, which a phone shows under the map. On the desktop, with the panel
open the legend covers no township, and compare mode fits both maps.

Screenshots of every page at both sizes go to a pytest temporary folder (printed at the end);
when ATLAS_SHOTS_DIR is set they are also copied there as ``phone_<page>-<width>[-tall].png``.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support import browser_api

sync_api = browser_api()  # skips the module without a browser; fails instead in CI
expect = sync_api.expect


MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
COUNTY = "320722000000"          # 东海县
TOWNSHIP = "320722101000"        # 白塔埠镇, in 东海县
PAGES = ["", "coverage", "screening", "hotspots"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}
DESKTOP = {"viewport": {"width": 1440, "height": 900}}
SIZES = {"phone": PHONE, "desktop": DESKTOP}

# Evaluated inside a map iframe: the frame's size, the box around every polygon Leaflet drew,
# the legend's box, and whether the attribution holds an image (Leaflet 1.9's flag is an <svg>).
MEASURE_JS = """() => {
  const ps = [...document.querySelectorAll('path.leaflet-interactive')].map(e => e.getBoundingClientRect())
    .filter(r => r.width > 0 && r.height > 0);
  const legend = document.querySelector('.atlas-legend');
  const lb = legend ? legend.getBoundingClientRect() : null;
  const attribution = document.querySelector('.leaflet-control-attribution');
  const fitted = !!(window.map && window.map._loaded);
  return {
    width: innerWidth, height: innerHeight, polygons: ps.length, fitted: fitted,
    left: Math.min(...ps.map(r => r.left)), right: Math.max(...ps.map(r => r.right)),
    top: Math.min(...ps.map(r => r.top)), bottom: Math.max(...ps.map(r => r.bottom)),
    legend: lb && {left: lb.left, top: lb.top, width: lb.width, height: lb.height, open: legend.open},
    flag: !!(attribution && attribution.querySelector('svg, img')),
    attribution: attribution ? attribution.textContent : null,
  };
}"""


@pytest.fixture
def open_page(browser):
    """open_page(url, size, maps=1) -> a page at that size, its maps drawn and fitted; closed after the test."""
    contexts = []

    def opened(url: str, size: str, maps: int = 1):
        context = browser.new_context(locale="zh-CN", **SIZES[size])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(url)
        wait_for_maps(page, maps)
        return page

    yield opened
    for context in contexts:
        context.close()


def wait_for_maps(page, count: int = 1, timeout: float = 60.0) -> list[dict]:
    """Wait until ``count`` maps have drawn their polygons and kept still (the fit is done)."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        got = measures(page)
        if len(got) == count and all(m["polygons"] and m["fitted"] for m in got):
            if got == last:
                return got
            last = got
        page.wait_for_timeout(400)
    pytest.fail(f"the page never drew {count} fitted map(s): {measures(page)}")


def measures(page) -> list[dict]:
    out = []
    for handle in page.locator(MAP_IFRAME).element_handles():
        frame = handle.content_frame()
        try:
            got = frame.evaluate(MEASURE_JS) if frame is not None else None
        except sync_api.Error:  # the iframe is being replaced by a rerun
            got = None
        if got is not None:
            box = handle.bounding_box() or {}
            out.append({**got, "frame_box": {k: round(v) for k, v in box.items()}})
    return out


def main_column_width(page) -> float:
    return page.locator('[data-testid="stMainBlockContainer"]').evaluate(
        "el => el.clientWidth - parseFloat(getComputedStyle(el).paddingLeft) - parseFloat(getComputedStyle(el).paddingRight)")


def check_fit(m: dict, what: str) -> None:
    span_x = (m["right"] - m["left"]) / m["width"]
    span_y = (m["bottom"] - m["top"]) / m["height"]
    assert max(span_x, span_y) >= 0.5, (
        f"{what}: the region spans {span_x:.2f} of the map's width and {span_y:.2f} of its height: {m}")
    legend = m["legend"]
    assert legend is not None, f"{what}: no legend"
    share = legend["width"] * legend["height"] / (m["width"] * m["height"])
    assert share <= 0.25, f"{what}: the legend covers {share:.2f} of the map: {m}"
    assert not m["flag"], f"{what}: the attribution carries an image: {m['attribution']!r}"


def screenshot(page, folder: Path, name: str) -> None:
    """The first screen, and the page down to 1700 px (Streamlit scrolls inside its own container,
    so a taller window is how the map gets into the picture; a resize reruns nothing)."""
    if page.viewport_size["width"] >= 500:
        page.mouse.move(1, 1)  # no hover highlight or tooltip in the picture
    paths = [folder / f"phone_{name}.png", folder / f"phone_{name}-tall.png"]
    page.screenshot(path=str(paths[0]))
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 1700})
    try:
        page.wait_for_timeout(500)
        page.screenshot(path=str(paths[1]))
    finally:
        page.set_viewport_size(size)
    copy_to = os.environ.get("ATLAS_SHOTS_DIR")
    if copy_to:
        Path(copy_to).mkdir(parents=True, exist_ok=True)
        for path in paths:
            shutil.copy(path, Path(copy_to) / path.name)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("path", PAGES)
def test_map_fits_the_frame(app_url, open_page, shots, path, size):
    page = open_page(f"{app_url}/{path}", size)
    what = f"/{path} at {size}"
    (m,) = wait_for_maps(page)
    assert m["frame_box"]["width"] >= 0.9 * main_column_width(page), f"{what}: the map does not span the width: {m}"
    check_fit(m, what)
    if size == "phone":
        assert m["frame_box"]["y"] < PHONE["viewport"]["height"], f"{what}: the map starts below the first screen: {m}"
        assert m["legend"]["open"] is False, f"{what}: the legend starts open on a phone"
        cards = page.locator('[class*="st-key-atlas-pair"] [data-testid="stMetric"]')
        if cards.count():  # overview's KPI cards, screening's pace cards
            boxes = [cards.nth(i).bounding_box() for i in range(cards.count())]
            rows = sorted({round(b["y"]) for b in boxes})
            assert len(rows) == (len(boxes) + 1) // 2, f"{what}: cards are not two a row: {boxes}"
            assert all(b["width"] < 0.55 * PHONE["viewport"]["width"] for b in boxes), boxes
    else:
        assert m["legend"]["open"] is True, f"{what}: the legend starts folded on a desktop"
    screenshot(page, shots, f"{path or 'overview'}-{PHONE['viewport']['width'] if size == 'phone' else 1440}")


def tap_feature(page, code: str) -> None:
    """A tap (touch, not a mouse) on the polygon of ``code``, at a point inside it."""
    handle = page.locator(MAP_IFRAME).element_handles()[0]
    handle.scroll_into_view_if_needed()
    frame = handle.content_frame()
    point = frame.evaluate("""(code) => {
      let found = null;
      window.map.eachLayer(l => { if (l.feature && l._path && String(l.feature.properties.region_code) === code) found = l; });
      if (!found) return null;
      const b = found._path.getBoundingClientRect();
      for (let x = b.left + 2; x < b.right; x += 3) for (let y = b.top + 2; y < b.bottom; y += 3) {
        const ok = [[0, 0], [5, 0], [-5, 0], [0, 5], [0, -5]].every(([dx, dy]) => document.elementFromPoint(x + dx, y + dy) === found._path);
        if (ok) return {x: x, y: y};
      }
      return null;
    }""", code)
    assert point is not None, f"no point of {code} to tap"
    box = handle.bounding_box()
    page.touchscreen.tap(box["x"] + point["x"], box["y"] + point["y"])


def wait_for_param(page, name: str, value: str) -> None:
    deadline = time.monotonic() + 30
    while parse_qs(urlsplit(page.url).query).get(name, [None])[0] != value:
        if time.monotonic() > deadline:
            pytest.fail(f"URL never had {name}={value}: {page.url}")
        page.wait_for_timeout(100)


def test_tap_drills_down_and_opens_the_panel_under_the_map(app_url, open_page, shots):
    page = open_page(f"{app_url}/", "phone")
    tap_feature(page, COUNTY)
    wait_for_param(page, "region", COUNTY)
    wait_for_maps(page)
    page.wait_for_timeout(1000)
    tap_feature(page, TOWNSHIP)
    wait_for_param(page, "town", TOWNSHIP)
    panel = page.locator(".st-key-township-panel")
    expect(panel).to_be_visible()
    (m,) = wait_for_maps(page)
    check_fit(m, "county map with the panel open, phone")
    map_box, panel_box = m["frame_box"], panel.bounding_box()
    assert panel_box["y"] >= map_box["y"] + map_box["height"] - 1, (
        f"the panel is not under the map on a phone: map {map_box}, panel {panel_box}")
    assert panel_box["width"] >= 0.9 * main_column_width(page)
    screenshot(page, shots, "panel-390")


def test_panel_on_desktop_leaves_the_townships_uncovered(app_url, open_page, shots):
    page = open_page(f"{app_url}/?region={COUNTY}&town={TOWNSHIP}", "desktop")
    expect(page.locator(".st-key-township-panel")).to_be_visible()
    (m,) = wait_for_maps(page)
    check_fit(m, "county map beside the panel, desktop")
    legend = m["legend"]
    if legend["open"]:  # the fit keeps a strip for the open legend: no township under it
        assert m["right"] <= legend["left"] + 1, f"the legend covers townships: {m}"
    screenshot(page, shots, "panel-1440")


def test_compare_mode_fits_both_maps(app_url, open_page, shots):
    page = open_page(f"{app_url}/?period=2025-12&compare=2025-11", "desktop", maps=2)
    both = wait_for_maps(page, count=2)
    for i, m in enumerate(both):
        check_fit(m, f"compare map {i + 1}")
    screenshot(page, shots, "compare-1440")
