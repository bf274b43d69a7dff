"""Map interactions in headless Chromium (issue 5): a real mouse click on a county drills down, a
click on a township opens its panel, a filter change updates the URL and the map, pan, zoom and
drag do not rerun the script, and the breadcrumb goes back up. A click like the one before (same
county after going back up, same township after closing its panel) must act again.

The app runs once for the browser modules that only read the session's demo database
(``streamlit run app.py``, see tests/appserver.py and conftest.demo_server) and is driven by
Playwright with the system's Chromium.

How a polygon is clicked
------------------------
Leaflet draws each county or township as one SVG ``<path>`` inside the st_folium iframe, whose
``window.map`` is the Leaflet map. To click a feature the way a user does, we ask Leaflet (inside
the iframe) for a point of that feature: its centre (``layer.getCenter()``) if the element under
that point (``document.elementFromPoint``) is the feature's own path, otherwise the point of a
grid over the path's bounding box that hits the path and lies deepest inside it. That point, in
the iframe's coordinates, plus the iframe's position on the page, is where ``page.mouse.click``
clicks. Nothing is dispatched to Leaflet directly.

How reruns are counted
----------------------
Streamlit's browser talks to the server over one websocket in protobuf. Every frame the browser
sends is a ``BackMsg``; a request to run the script (a widget changed, a component sent a value)
is ``BackMsg.rerun_script``. Every frame the server sends is a ``ForwardMsg``; each script run ends
with ``ForwardMsg.script_finished``. Both are decoded with Streamlit's own protobuf classes
(tests/appserver.Wire, which bench/national.py uses too), so "pan and zoom do not rerun" is checked
on the wire rather than guessed from the page.

streamlit-folium sends a map's value 250 ms after the last event (debounced), and only when the
returned objects changed; the app returns only the clicked shape, so a pan or zoom must send
nothing. Asserting that nothing happens needs a wait: we wait well past the debounce.

Screenshots of each step go to a pytest temporary folder (printed at the end); when
ATLAS_SHOTS_DIR is set they are also copied there as ``views_<step>.png``.
"""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support import browser_api

sync_api = browser_api()  # skips the module without a browser; fails instead in CI
PlaywrightError = sync_api.Error
expect = sync_api.expect

import duckdb  # noqa: E402

from indicators import fmt  # noqa: E402
from tests.appserver import Wire  # noqa: E402
from ui.panel import CODES as PANEL_CODES  # noqa: E402

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
CITY = "320700000000"            # 连云港市, the demo city
COUNTY = "320722000000"          # 东海县
TOWNSHIP = "320722101000"        # 白塔埠镇, in 东海县
PERIOD = "2025-06"
DEBOUNCE_S = 0.25                # streamlit-folium's debounce of map events
QUIET_S = 1.5                    # how long "nothing happens" is watched for
TIMEOUT_MS = 60_000
SHOT_HEIGHT = 1700

# Evaluated inside the map iframe: the polygons Leaflet has drawn (features with an SVG path in
# the document and real geometry), with what the app put in their properties and style.
FEATURES_JS = """() => {
  if (!window.L || !(window.map instanceof L.Map)) return null;
  const out = [];
  window.map.eachLayer(layer => {
    const path = layer._path;
    if (!layer.feature || !path || !path.isConnected || layer instanceof L.CircleMarker) return;
    const d = path.getAttribute("d");
    if (!d || d === "M0 0") return;
    const p = layer.feature.properties;
    out.push({code: String(p.region_code), name: p.region_name, value: p.value,
              weight: layer.options.weight, stroke_width: path.getAttribute("stroke-width")});
  });
  out.sort((a, b) => a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
  return out;
}"""

# Evaluated inside the map iframe: a point (in the iframe's CSS pixels) where the element under
# the mouse is the path of feature ``code`` (see the module docstring), or null.
POINT_IN_FEATURE_JS = """(code) => {
  if (!window.L || !(window.map instanceof L.Map)) return null;
  const m = window.map;
  let layer = null;
  m.eachLayer(l => { if (l.feature && l._path && String(l.feature.properties.region_code) === code) layer = l; });
  if (!layer) return null;
  const path = layer._path;
  const hits = (x, y) => document.elementFromPoint(x, y) === path;
  const box = m.getContainer().getBoundingClientRect();
  const centre = m.latLngToContainerPoint(layer.getCenter());
  const cx = box.left + centre.x, cy = box.top + centre.y;
  const around = (x, y, r) => [[0, 0], [r, 0], [-r, 0], [0, r], [0, -r]].every(([dx, dy]) => hits(x + dx, y + dy));
  if (around(cx, cy, 6)) return {x: cx, y: cy, how: "centre"};
  const b = path.getBoundingClientRect();
  let best = null;
  for (let x = b.left + 2; x < b.right; x += 4) {
    for (let y = b.top + 2; y < b.bottom; y += 4) {
      if (!hits(x, y)) continue;
      let r = 0;
      while (r < 40 && around(x, y, r + 2)) r += 2;
      if (!best || r > best.r) best = {x: x, y: y, r: r};
    }
  }
  return best && best.r >= 4 ? {x: best.x, y: best.y, how: "grid"} : null;
}"""


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def atlas(demo_db) -> dict:
    """Names and township codes from the database, for what the pages should show."""
    with duckdb.connect(str(demo_db), read_only=True) as con:
        names = dict(con.execute("select region_code, name from regions where region_code in (?, ?, ?)",
                                 [CITY, COUNTY, TOWNSHIP]).fetchall())
        counties = sorted(c for (c,) in con.execute(
            "select distinct county_code from regions where level = 'township' and in_atlas").fetchall())
        towns = sorted(c for (c,) in con.execute(
            "select region_code from regions where level = 'township' and in_atlas and county_code = ?",
            [COUNTY]).fetchall())
    assert TOWNSHIP in towns
    return {"names": names, "counties": counties, "county_towns": towns}


@pytest.fixture(scope="module")
def app_url(demo_server):
    try:
        return demo_server.get().url
    except RuntimeError as problem:
        pytest.fail(str(problem))


@pytest.fixture(scope="module")
def context(shared_chromium):
    ctx = shared_chromium.get().new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context, app_url):
    page = context.new_page()
    page.wire = Wire(page)
    try:
        yield page
    finally:
        page.close()


# --------------------------------------------------------------------------- helpers


def open_view(page, url: str) -> None:
    page.goto(url)
    page.frame_locator(MAP_IFRAME).locator("path.leaflet-interactive").first.wait_for(
        state="visible", timeout=TIMEOUT_MS)
    wait_idle(page)


def wait_idle(page) -> None:
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=TIMEOUT_MS)


def map_frame(page):
    """The frame of the page's map iframe (a rerun may replace the iframe: always ask again)."""
    handles = page.locator(MAP_IFRAME).element_handles()
    assert len(handles) == 1, f"{len(handles)} map iframes on the page"
    frame = handles[0].content_frame()
    assert frame is not None
    return handles[0], frame


def features(page) -> list[dict] | None:
    try:
        _, frame = map_frame(page)
        return frame.evaluate(FEATURES_JS)
    except (PlaywrightError, AssertionError):  # the iframe is being replaced by a rerun
        return None


def wait_for_features(page, ok, what: str, timeout: float = 60.0) -> list[dict]:
    """Poll the map until ``ok(features)`` holds; fail with the last state seen."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = features(page)
        if seen and ok(seen):
            return seen
        page.wait_for_timeout(100)  # (not time.sleep: Playwright delivers events while it waits)
    pytest.fail(f"the map never showed {what}; last seen: {seen}")


def codes_of(feats: list[dict]) -> list[str]:
    return [f["code"] for f in feats]


def click_feature(page, code: str) -> dict:
    """A real mouse click on the map polygon of ``code``; returns the point used."""
    iframe, frame = map_frame(page)
    iframe.scroll_into_view_if_needed()
    point = frame.evaluate(POINT_IN_FEATURE_JS, code)
    assert point is not None, f"no visible point of {code} on the map"
    box = iframe.bounding_box()
    border = iframe.evaluate("el => [el.clientLeft, el.clientTop]")
    x, y = box["x"] + border[0] + point["x"], box["y"] + border[1] + point["y"]
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    return {**point, "page_x": x, "page_y": y}


def url_params(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def wait_for_param(page, name: str, value: str | None) -> None:
    """Wait until the URL's ``name`` is ``value`` (None: absent)."""
    deadline = time.monotonic() + 30
    while url_params(page).get(name) != value:
        if time.monotonic() > deadline:
            pytest.fail(f"URL never had {name}={value!r}: {page.url}")
        page.wait_for_timeout(100)


def wait_quiet(page, counts: tuple[int, int]) -> None:
    """Nothing ran: watch the wire for QUIET_S (well past streamlit-folium's debounce)."""
    page.wait_for_timeout(QUIET_S * 1000)
    assert page.wire.counts() == counts, (
        f"the script reran: (browser rerun requests, finished runs) went from {counts} to {page.wire.counts()}")


def screenshot(page, folder: Path, name: str, keep_mouse: bool = False) -> Path:
    path = folder / f"views_{name}.png"
    if not keep_mouse:
        page.mouse.move(1, 1)  # no hover highlight or tooltip in the picture
    # Streamlit scrolls inside its own container, so a full-page shot is one screen: take the
    # picture in a taller window (the map keeps its height; a resize reruns nothing)
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": SHOT_HEIGHT})
    try:
        page.wait_for_timeout(300)  # let Leaflet and the grid lay out again
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
    copy_to = os.environ.get("ATLAS_SHOTS_DIR")
    if copy_to:
        Path(copy_to).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(copy_to) / path.name)
    return path


def number(text: str) -> float | None:
    found = re.match(r"^\s*(-?\d+(?:\.\d+)?)", text or "")
    return float(found.group(1)) if found else None


def crumb(page, level: str):
    # by role: Streamlit also renders an aria-hidden copy of a button that has help text
    return page.locator(f".st-key-crumb-{level}").get_by_role("button")


def no_errors(page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


# --------------------------------------------------------------------------- tests


def test_click_county_drills_down(page, app_url, atlas, shots):
    open_view(page, f"{app_url}/?period={PERIOD}&region={CITY}")
    city_map = wait_for_features(page, lambda f: codes_of(f) == atlas["counties"], "the six counties")
    assert len(city_map) == 6
    expect(crumb(page, "city")).to_have_text(atlas["names"][CITY])
    expect(crumb(page, "city")).to_be_disabled()  # the city is the last step: nothing to go up to
    screenshot(page, shots, "1_city")

    before = page.wire.counts()
    point = click_feature(page, COUNTY)
    wait_for_param(page, "region", COUNTY)
    assert url_params(page).get("period") == PERIOD
    assert "town" not in url_params(page)

    town_map = wait_for_features(page, lambda f: codes_of(f) == atlas["county_towns"],
                                 f"the {len(atlas['county_towns'])} townships of {COUNTY}")
    assert len(town_map) == len(atlas["county_towns"]) == 19
    assert all(f["code"].startswith(COUNTY[:6]) for f in town_map)
    wait_idle(page)
    expect(crumb(page, "city")).to_have_text(f"{atlas['names'][CITY]} ›")
    expect(crumb(page, "city")).to_be_enabled()
    expect(crumb(page, "county")).to_have_text(atlas["names"][COUNTY])
    expect(crumb(page, "county")).to_be_disabled()
    expect(page.locator(".st-key-township-panel")).to_have_count(0)
    no_errors(page)
    # one click is one request from the browser; the app's own st.rerun adds one run on the server
    reruns, finished = page.wire.counts()
    assert reruns - before[0] == 1, f"{reruns - before[0]} rerun requests for one click (at {point})"
    wait_quiet(page, (reruns, finished))  # and then it stops: no rerun loop
    screenshot(page, shots, "2_county")

    # back up by the breadcrumb, and the same click (same county, same point) drills down again
    crumb(page, "city").click()
    wait_for_param(page, "region", CITY)
    wait_for_features(page, lambda f: codes_of(f) == atlas["counties"], "the counties again")
    wait_idle(page)
    again = click_feature(page, COUNTY)
    assert (again["x"], again["y"]) == (point["x"], point["y"])
    wait_for_param(page, "region", COUNTY)
    wait_for_features(page, lambda f: codes_of(f) == atlas["county_towns"], "the townships again")
    wait_idle(page)
    no_errors(page)


def test_click_township_opens_panel_and_crumb_goes_up(page, app_url, atlas, shots):
    open_view(page, f"{app_url}/?period={PERIOD}&region={COUNTY}")
    wait_for_features(page, lambda f: codes_of(f) == atlas["county_towns"], "the county's townships")
    name = atlas["names"][TOWNSHIP]

    before = page.wire.counts()
    click_feature(page, TOWNSHIP)
    wait_for_param(page, "town", TOWNSHIP)
    assert url_params(page).get("region") == COUNTY

    panel = page.locator(".st-key-township-panel")
    expect(panel).to_be_visible(timeout=TIMEOUT_MS)
    expect(panel.get_by_role("heading", name=name)).to_be_visible()
    expect(panel).to_contain_text(f"{atlas['names'][COUNTY]} · {fmt.period_label(PERIOD)}")
    # the indicator table: one row per indicator, with its value and its rank in the county
    # (st.dataframe paints on a canvas; its accessible table underneath holds the cell texts)
    table = panel.locator('[data-testid="stDataFrame"]').first
    expect(table).to_be_visible()
    expect(table.locator("td")).to_have_count(3 * len(PANEL_CODES))
    cells = table.locator("td").all_text_contents()
    rows = [cells[i:i + 3] for i in range(0, len(cells), 3)]
    assert [r[0] for r in rows] == [fmt.label(code) for code in PANEL_CODES]
    n = len(atlas["county_towns"])
    # ranked among the townships whose value is shown (a hidden one has no rank, and is not counted)
    assert all(r[2] == "—" or (re.fullmatch(r"\d+/\d+", r[2]) and int(r[2].split("/")[1]) <= n)
               for r in rows), rows
    values = {code: r[1] for code, r in zip(PANEL_CODES, rows)}
    assert all(values.values()), values
    # a rate with its numerator and denominator
    # (a rate on a small count is hidden with it: indicators/suppress.py)
    assert re.fullmatch(r"(\d+\.\d‰（\d+|—（\d+|—（数值较小）（(<5|×)) ÷ \d+）", values["risk_rate_per_1000"]), values
    expect(crumb(page, "township")).to_have_text(name)
    expect(crumb(page, "county")).to_have_text(f"{atlas['names'][COUNTY]} ›")

    page.mouse.move(1, 1)  # leave the polygon: the hover highlight is reset to the drawn style
    outlined = wait_for_features(
        page, lambda f: codes_of(f) == atlas["county_towns"] and any(x["weight"] == 3.5 for x in f),
        "the clicked township outlined")
    heavy = [f["code"] for f in outlined if f["weight"] == 3.5]
    assert heavy == [TOWNSHIP], f"outlined: {heavy}"
    chosen = next(f for f in outlined if f["code"] == TOWNSHIP)
    assert chosen["stroke_width"] == "3.5"
    assert {f["stroke_width"] for f in outlined if f["code"] != TOWNSHIP} == {"1"}
    wait_idle(page)
    no_errors(page)
    reruns, finished = page.wire.counts()
    assert reruns - before[0] == 1
    wait_quiet(page, (reruns, finished))
    screenshot(page, shots, "3_township_panel")

    # the panel's ✕ closes it; the same click on the same township opens it again
    page.locator(".st-key-panel-close").get_by_role("button").click()
    wait_for_param(page, "town", None)
    expect(panel).to_have_count(0)
    wait_for_features(page, lambda f: codes_of(f) == atlas["county_towns"] and all(x["weight"] == 1 for x in f),
                      "no township outlined")
    wait_idle(page)
    click_feature(page, TOWNSHIP)
    wait_for_param(page, "town", TOWNSHIP)
    expect(panel.get_by_role("heading", name=name)).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)

    # breadcrumb: back up to the whole city
    crumb(page, "city").click()
    wait_for_param(page, "region", CITY)
    assert "town" not in url_params(page)
    wait_for_features(page, lambda f: codes_of(f) == atlas["counties"], "the counties again")
    wait_idle(page)
    expect(page.locator(".st-key-township-panel")).to_have_count(0)
    expect(crumb(page, "city")).to_have_text(atlas["names"][CITY])
    expect(crumb(page, "county")).to_have_count(0)
    no_errors(page)
    screenshot(page, shots, "5_back_to_city")


def test_filter_change_updates_url_and_map(page, app_url, atlas, shots):
    # show=classes: the hotspot page's other display; "value" is each township's own rate on both
    open_view(page, f"{app_url}/hotspots?period={PERIOD}&region={COUNTY}&show=classes")
    before = {f["code"]: f["value"] for f in wait_for_features(
        page, lambda f: codes_of(f) == atlas["county_towns"], "the county's townships")}
    assert "level" not in url_params(page)  # the default (中, 高) is not written
    assert all(v.endswith("‰") or v in ("—", "—（数值较小）") for v in before.values()), before

    sidebar = page.locator('[data-testid="stSidebar"]')
    expander = sidebar.locator('[data-testid="stExpander"]').filter(has_text="筛选")
    levels = expander.locator('[data-testid="stMultiSelect"]').filter(has_text="计为风险户的风险等级")
    if not levels.is_visible():
        expander.locator("summary").click()
    expect(levels).to_be_visible()
    tags = levels.locator("[data-tag]")  # the chosen levels, each with its remove button
    expect(tags).to_have_text(["中", "高"])
    levels.get_by_role("button", name="Remove 中").click()
    expect(tags).to_have_text(["高"])

    wait_for_param(page, "level", "高")
    assert "level=%E9%AB%98" in page.url
    assert url_params(page).get("show") == "classes", "the page's own parameter survives the filter change"
    after = {f["code"]: f["value"] for f in wait_for_features(
        page, lambda f: codes_of(f) == atlas["county_towns"]
        and {x["code"]: x["value"] for x in f} != before, "new values")}
    wait_idle(page)
    no_errors(page)
    pairs = [(number(before[c]), number(after[c])) for c in before]
    pairs = [(b, a) for b, a in pairs if b is not None and a is not None]
    assert len(pairs) >= len(before) // 2, (before, after)
    assert all(a <= b for b, a in pairs), f"fewer levels counted can only lower a rate: {before} → {after}"
    # … or hide it (1–4 risk households left: indicators/suppress.py), or show a hidden one as 0
    small = "—（数值较小）"
    assert any(a < b for b, a in pairs) or any((number(before[c]) and after[c] == small)
                                               or (before[c] == small and number(after[c]) == 0) for c in before)

    # the tooltip says the new value too
    sample = next(f for f in features(page) if number(f["value"]) is not None)
    iframe, frame = map_frame(page)
    iframe.scroll_into_view_if_needed()  # a banner above the page (demo mode) may push it down
    point = frame.evaluate(POINT_IN_FEATURE_JS, sample["code"])
    box = iframe.bounding_box()
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"] - 1)
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    tooltip = page.frame_locator(MAP_IFRAME).locator(".leaflet-tooltip")
    expect(tooltip).to_contain_text(sample["name"])
    expect(tooltip).to_contain_text(sample["value"])
    screenshot(page, shots, "4_filter_tooltip", keep_mouse=True)
    screenshot(page, shots, "4_filter_level_high")


def test_pan_and_zoom_do_not_rerun(page, app_url, atlas, shots):
    open_view(page, f"{app_url}/?period={PERIOD}&region={COUNTY}")
    wait_for_features(page, lambda f: codes_of(f) == atlas["county_towns"], "the county's townships")
    page.wait_for_timeout(DEBOUNCE_S * 4 * 1000)  # let the first render's own value settle
    counts, url = page.wire.counts(), page.url
    iframe, frame = map_frame(page)
    frame.evaluate("() => { window.__probe = 'same map'; }")
    zoom = frame.evaluate("() => window.map.getZoom()")

    # zoom in through Leaflet, pan through Leaflet, zoom with the mouse wheel, and drag the map
    # with the mouse across the townships (a drag ends on a polygon but is no click on it)
    frame.evaluate("""() => new Promise(done => {
        window.map.once('zoomend', () => done()); window.map.setZoom(window.map.getZoom() + 1); })""")
    frame.evaluate("""() => new Promise(done => {
        window.map.once('moveend', () => done()); window.map.panBy([120, 80], {animate: false}); })""")
    iframe.scroll_into_view_if_needed()  # the mouse acts at the map's middle: it must be on screen
    box = iframe.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -120)  # wheel up: zoom in further
    centre = frame.evaluate("() => window.map.getCenter()")
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 150, y - 60, steps=10)
    page.mouse.up()
    wait_quiet(page, counts)

    assert page.url == url
    _, frame_after = map_frame(page)
    assert frame_after.evaluate("() => window.__probe") == "same map", "the map iframe was redrawn"
    assert frame_after.evaluate("() => window.map.getZoom()") > zoom + 1, "the map did not zoom"
    assert frame_after.evaluate("() => window.map.getCenter()") != centre, "the map was not dragged"
    assert "town" not in url_params(page)
    no_errors(page)
    screenshot(page, shots, "6_after_zoom")
