"""Place names on the maps, in real headless Chromium at 1440×900 and 390×844 (issue 15).

County names at city level, township names at county level, on the overview (no room markers)
and the coverage page (room clusters): one name per region in the page, those shown lie on the
map and no two shown overlap; at city level every county is named; at county level every
township on a desktop and most on a phone. Every name shown is written over its own region
and never takes the pointer, zooming out drops names rather than stacking them,
and the 地名 checkbox hides them.

Screenshots go to a pytest temporary folder (printed at the end); with ATLAS_SHOTS_DIR set they
are copied there as ``names_<page>-<level>-<size>.png``.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from tests.support import browser_api

sync_api = browser_api()  # skips the module without a browser; fails instead in CI


MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
COUNTY = "320722000000"  # 东海县: 19 townships
PAGES = {"overview": "", "coverage": "coverage"}
LEVELS = {"city": "", "county": f"?region={COUNTY}"}
SIZES = {
    "desktop": {"viewport": {"width": 1440, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True},
}

# Evaluated in the map's document: the regions drawn, every name and the box of each one shown,
# and what the pointer would reach at a shown name's middle.
NAMES_JS = """() => {
  const drawn = {}, regionOf = new Map();
  if (!(window.map && window.map._loaded)) { return null; }
  window.map.eachLayer(l => {
    if (l.feature && l._path && l.feature.properties.region_code != null) {  // not the room points
      drawn[String(l.feature.properties.region_code)] = l.feature.properties.region_name;
      regionOf.set(l._path, String(l.feature.properties.region_code));
    }
  });
  const all = [...document.querySelectorAll('.atlas-name-text')];
  const shown = all.filter(e => getComputedStyle(e).visibility === 'visible');
  const box = e => { const r = e.getBoundingClientRect();
                     return {left: r.left, top: r.top, right: r.right, bottom: r.bottom}; };
  return {
    width: innerWidth, height: innerHeight, drawn: drawn,
    all: all.map(e => ({code: e.getAttribute('data-code'), name: e.textContent})),
    shown: shown.map(e => ({code: e.getAttribute('data-code'), name: e.textContent, box: box(e)})),
    // at a shown name's middle: what takes the pointer, and the region drawn there
    under: shown.map(e => { const b = box(e), x = (b.left + b.right) / 2, y = (b.top + b.bottom) / 2;
      const hit = document.elementFromPoint(x, y);
      const path = document.elementsFromPoint(x, y).find(el => regionOf.has(el));
      return {tag: hit && hit.tagName, name: !!(hit && hit.closest('.atlas-name')),
              region: path ? regionOf.get(path) : null}; }),
    zoom: window.map.getZoom(),
  };
}"""


def map_frame(page):
    handle = page.locator(MAP_IFRAME).first.element_handle(timeout=60_000)
    handle.scroll_into_view_if_needed()
    return handle.content_frame()


def settled_names(page, timeout: float = 60.0) -> dict:
    """The names once the map is drawn, fitted and its names have stopped moving."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            got = map_frame(page).evaluate(NAMES_JS)
        except sync_api.Error:  # the iframe is being replaced by a rerun
            got = None
        if got and got["drawn"] and got["all"]:
            if got == last:
                return got
            last = got
        page.wait_for_timeout(500)
    pytest.fail(f"the map's names never settled: {last}")


def overlaps(a: dict, b: dict) -> bool:
    return min(a["right"], b["right"]) - max(a["left"], b["left"]) > 0.5 and \
        min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 0.5


def check_names(got: dict, what: str) -> None:
    assert sorted(n["code"] for n in got["all"]) == sorted(got["drawn"]), f"{what}: not one name per region"
    assert all(got["drawn"][n["code"]] == n["name"] for n in got["all"]), f"{what}: a name is not its region's"
    shown = got["shown"]
    for i, a in enumerate(shown):
        b = a["box"]
        assert b["left"] >= 0 and b["top"] >= 0 and b["right"] <= got["width"] and b["bottom"] <= got["height"], (
            f"{what}: {a['name']} lies off the map: {b}")
        for c in shown[i + 1:]:
            assert not overlaps(b, c["box"]), f"{what}: {a['name']} overlaps {c['name']}: {b} {c['box']}"
    for n, hit in zip(shown, got["under"]):
        assert hit["tag"] is not None and not hit["name"], f"{what}: the name {n['name']} takes the pointer: {hit}"
        assert hit["region"] == n["code"], f"{what}: {n['name']} is not written over its own region: {hit}"


def screenshot(page, folder: Path, name: str) -> None:
    if page.viewport_size["width"] >= 500:
        page.mouse.move(1, 1)  # no hover highlight or tooltip in the picture
    path = folder / f"names_{name}.png"
    page.screenshot(path=str(path))
    copy_to = os.environ.get("ATLAS_SHOTS_DIR")
    if copy_to:
        Path(copy_to).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(copy_to) / path.name)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("level", list(LEVELS))
@pytest.mark.parametrize("page_name", list(PAGES))
def test_names_are_shown_and_never_overlap(app_url, browser, shots, page_name, level, size):
    context = browser.new_context(locale="zh-CN", **SIZES[size])
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{app_url}/{PAGES[page_name]}{LEVELS[level]}")
        what = f"{page_name} at {level} level, {size}"
        got = settled_names(page)
        check_names(got, what)
        shown = {n["name"] for n in got["shown"]}
        if level == "city" or size == "desktop":  # six counties; 19 townships over a desktop's map
            assert shown == set(got["drawn"].values()), f"{what}: unnamed: {set(got['drawn'].values()) - shown}"
        else:
            assert len(shown) >= 0.75 * len(got["drawn"]), f"{what}: only {sorted(shown)} of {len(got['drawn'])}"
        screenshot(page, shots, f"{page_name}-{level}-{size}")
        if level == "county" and size == "desktop":
            # zoomed out, the townships crowd together: names drop out rather than stack
            map_frame(page).evaluate("() => window.map.setZoom(window.map.getZoom() - 2, {animate: false})")
            page.wait_for_timeout(800)
            out = settled_names(page)
            assert out["zoom"] < got["zoom"]
            check_names(out, what + ", zoomed out")
            assert 0 < len(out["shown"]) < len(got["shown"]), f"{what}, zoomed out: {len(out['shown'])} shown"
            # the 地名 checkbox takes them off the map, and brings them back
            toggle = map_frame(page).locator(".atlas-names-toggle input")
            toggle.uncheck()
            assert map_frame(page).locator(".atlas-name-text").count() == 0
            toggle.check()
            assert len(settled_names(page)["all"]) == len(got["all"])
    finally:
        context.close()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("path", ["screening", "hotspots?period=2025-03"])
def test_the_other_map_pages_name_their_townships(app_url, browser, shots, path, size):
    """The screening and hotspot maps (townships, with 热点 marks on the hotspot map) at county level."""
    context = browser.new_context(locale="zh-CN", **SIZES[size])
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{app_url}/{path}{'&' if '?' in path else '?'}region={COUNTY}")
        what = f"{path} at county level, {size}"
        got = settled_names(page)
        check_names(got, what)
        shown = {n["name"] for n in got["shown"]}
        assert len(shown) >= 0.75 * len(got["drawn"]), f"{what}: only {sorted(shown)} of {len(got['drawn'])}"
        screenshot(page, shots, f"{path.split('?')[0]}-county-{size}")
    finally:
        context.close()
