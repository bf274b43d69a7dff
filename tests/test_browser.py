"""End to end in headless Chromium: every map page draws every township, offline.

The app runs once for the browser modules that only read the demo database (``streamlit run
app.py`` on a free port, pointed at the session's small demo database through ATLAS_DB; see
conftest.demo_server) and is driven by Playwright with the system's Chromium. The intranet promise is checked on the wire: across the whole run the browser must ask
nothing of any host but localhost, and no request may fail.

How township polygons are counted
---------------------------------
Township polygons and room markers are both ``<path class="leaflet-interactive">`` in the same
SVG of Leaflet's overlay pane (the app sets no custom panes), so neither the pane nor the CSS
class tells them apart, and fill colours overlap between palettes and room types. The count is
therefore taken from Leaflet itself, inside the map iframe: ``window.map`` is the Leaflet map
(st_folium sets it). A layer that came from the GeoJSON layer carries its ``feature``; we count
those whose SVG ``<path>`` is attached to the document and has real geometry (Leaflet writes
``d="M0 0"`` for a shape it did not draw), and collect their ``region_code``. Circle markers
carry no ``feature``. A cross-check ties this to the DOM: every ``path.leaflet-interactive`` in
the iframe must be either a counted township polygon or a room circle marker.

Skipped (with the reason) only when /usr/bin/chromium or the playwright package is missing.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support import browser_api  # noqa: E402

sync_api = browser_api()  # skips the module without a browser; fails instead in CI
PlaywrightError = sync_api.Error
expect = sync_api.expect

import duckdb  # noqa: E402

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
# Page -> the URL it is served at. Streamlit serves the default page (总览) at the app root;
# see test_overview_deep_link for what /overview does.
PAGES = {"overview": "", "coverage": "coverage", "screening": "screening", "hotspots": "hotspots"}
# The only error responses allowed: on a deep link Streamlit's frontend probes these two paths
# relative to the page before it falls back to the app root. Answered 404, harmless.
PROBE_404 = re.compile(r"^/[^/]+/_stcore/(health|host-config)$")
MAP_TIMEOUT_MS = 60_000

# Evaluated inside the map iframe: what Leaflet has drawn (see the module docstring).
MAP_STATE_JS = """() => {
  if (!window.L) return null;
  // st_folium sets window.map; while it swaps maps after a rerun, fall back to any live L.Map
  let m = (window.map instanceof L.Map) ? window.map : null;
  if (!m) {
    for (const key of Object.keys(window)) {
      try { if (key.startsWith("map_") && window[key] instanceof L.Map) { m = window[key]; } } catch (e) {}
    }
  }
  if (!m) return null;
  const codes = [];
  let circles = 0;
  m.eachLayer(layer => {
    const path = layer._path;
    if (!path || !path.isConnected) return;
    const d = path.getAttribute("d");
    if (layer instanceof L.CircleMarker) {
      circles += 1;  // room points (drawn from their own GeoJSON layer)
    } else if (layer.feature && layer.feature.properties && d && d !== "M0 0") {
      codes.push(String(layer.feature.properties.region_code));
    }
  });
  codes.sort();
  return {
    polygons: codes.length,
    codes: codes,
    circles: circles,
    dom_paths: document.querySelectorAll("path.leaflet-interactive").length,
  };
}"""


# --------------------------------------------------------------------------- expectations


@pytest.fixture(scope="module")
def atlas(demo_db) -> dict:
    """What the maps should show, straight from the database: township codes per view."""
    with duckdb.connect(str(demo_db), read_only=True) as con:
        towns = con.execute(
            "select region_code, county_code from regions where level = 'township' and in_atlas"
        ).fetchall()
        counties = dict(con.execute(
            "select region_code, name from regions where region_code in "
            "(select distinct county_code from regions where level = 'township' and in_atlas)"
        ).fetchall())
    by_county: dict[str, list[str]] = {}
    for code, county in towns:
        by_county.setdefault(county, []).append(code)
    return {
        "city": sorted(code for code, _ in towns),  # 90 in the demo city
        "counties": {code: (counties[code], sorted(by_county[code])) for code in sorted(by_county)},
    }


# --------------------------------------------------------------------------- the app server


@pytest.fixture(scope="module")
def app_url(demo_server) -> str:
    """``streamlit run app.py`` on a free port against the demo database (conftest.demo_server,
    shared with the other browser modules that only read it)."""
    try:
        return demo_server.get().url
    except RuntimeError as problem:
        pytest.fail(str(problem))


# --------------------------------------------------------------------------- the browser


class NetLog:
    """Every request, failure, error response and websocket the browser saw, in order."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.bad_responses: list[str] = []
        self.websockets: list[str] = []

    def mark(self) -> tuple[int, int, int, int]:
        return len(self.requests), len(self.failed), len(self.bad_responses), len(self.websockets)

    def problems(self, since: tuple[int, int, int, int] = (0, 0, 0, 0)) -> list[str]:
        r, f, b, w = since
        out = [f"external request: {u}" for u in self.requests[r:] + self.websockets[w:] if not _is_local(u)]
        out += [f"failed request: {x}" for x in self.failed[f:]]
        out += [f"error response: {x}" for x in self.bad_responses[b:]]
        return out


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return (parts.hostname or "") in LOCAL_HOSTS


@pytest.fixture(scope="module")
def net() -> NetLog:
    return NetLog()


@pytest.fixture(scope="module")
def context(net, shared_chromium):
    """One context of the session's headless Chromium for the module, logging the network into ``net``."""
    ctx = shared_chromium.get().new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    ctx.on("request", lambda request: net.requests.append(request.url))
    ctx.on("requestfailed", lambda request: net.failed.append(f"{request.url} ({request.failure})"))

    def on_response(response):
        if response.status >= 400 and not (
            _is_local(response.url) and PROBE_404.match(urlsplit(response.url).path)
            and response.status == 404
        ):
            net.bad_responses.append(f"{response.status} {response.url}")

    ctx.on("response", on_response)
    ctx.on("page", lambda page: page.on("websocket", lambda ws: net.websockets.append(ws.url)))
    try:
        yield ctx
    finally:
        ctx.close()


# --------------------------------------------------------------------------- helpers


def map_state(page) -> dict | None:
    """What Leaflet has drawn in the page's (single) map iframe, or None while there is none."""
    # Resolve the frames from the iframe elements in the DOM: page.frames can miss an iframe that
    # a rerun has just re-created, although the map in it is drawn.
    try:
        frames = [h.content_frame() for h in page.locator(MAP_IFRAME).element_handles()]
    except PlaywrightError:
        return None
    frames = [f for f in frames if f is not None and not f.is_detached()]
    for frame in reversed(frames):  # newest first; an old frame may linger while it is replaced
        try:
            state = frame.evaluate(MAP_STATE_JS)
        except PlaywrightError:  # the iframe was replaced mid-call (a rerun remounts the map)
            continue
        if state:
            return state
    return None


def wait_for_townships(page, codes: list[str], timeout: float = 60.0) -> dict | None:
    """Poll until the map shows exactly ``codes``; return the last state seen either way."""
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = map_state(page)
        if state and state["codes"] == codes:
            return state
        time.sleep(0.1)
    return state


def wait_for_app_idle(page) -> None:
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=30_000)


def check_map(state: dict | None, codes: list[str], with_circles: bool) -> None:
    assert state is not None, "no Leaflet map found in the st_folium iframe"
    assert state["polygons"] == len(codes), (
        f"{state['polygons']} township polygons drawn, expected {len(codes)}; "
        f"missing {sorted(set(codes) - set(state['codes']))[:10]}, "
        f"extra {sorted(set(state['codes']) - set(codes))[:10]}")
    assert state["codes"] == codes, "each township must be drawn exactly once"
    assert state["dom_paths"] == state["polygons"] + state["circles"], (
        f"{state['dom_paths']} path.leaflet-interactive in the iframe, but {state['polygons']} township "
        f"polygons + {state['circles']} circle markers")
    if with_circles:
        assert state["circles"] > 0, "the coverage map shows the active rooms as circle markers"
    else:
        assert state["circles"] == 0


def check_texts(page) -> None:
    """示意边界 and 数据截至: in the map legend and in the captions under/over the map."""
    legend = page.frame_locator(MAP_IFRAME).locator(".atlas-legend")
    expect(legend).to_contain_text("示意边界")
    expect(legend).to_contain_text("数据截至")
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_text("示意边界").first).to_be_visible()
    expect(main.get_by_text("数据截至").first).to_be_visible()
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(page.get_by_text("Page not found")).to_have_count(0)


def screenshot(page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def open_page(context, url: str):
    page = context.new_page()
    page.goto(url)
    page.frame_locator(MAP_IFRAME).locator("path.leaflet-interactive").first.wait_for(
        state="visible", timeout=MAP_TIMEOUT_MS)
    return page


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", list(PAGES))
def test_map_page_draws_every_township_offline(name, app_url, context, net, atlas, shots):
    since = net.mark()
    # unit=township: the city view draws every township (by default it colours counties; the
    # drill-down from counties is tested in test_browser_views.py)
    page = open_page(context, f"{app_url}/{PAGES[name]}?unit=township")
    try:
        state = wait_for_townships(page, atlas["city"])
        check_map(state, atlas["city"], with_circles=(name == "coverage"))
        assert len(atlas["city"]) == 90, "the demo city has 90 townships"
        wait_for_app_idle(page)
        check_texts(page)
        expect(page.locator(MAP_IFRAME)).to_have_count(1)
        # the attribution is plain text: no flag (Leaflet 1.9's prefix), no link
        attribution = page.frame_locator(MAP_IFRAME).locator(".leaflet-control-attribution")
        expect(attribution).to_have_text("Leaflet")
        expect(attribution.locator("svg, a")).to_have_count(0)
        if name == "coverage":  # room clusters in neutral grey, not markercluster's green/yellow/orange
            bubbles = page.frame_locator(MAP_IFRAME)
            assert bubbles.locator(".atlas-cluster").count() > 0
            assert bubbles.locator(".marker-cluster-small, .marker-cluster-medium, .marker-cluster-large").count() == 0
        page.wait_for_load_state("networkidle")
        screenshot(page, shots, name)
    finally:
        page.close()
    assert net.problems(since) == []


def test_county_selection_shows_its_townships(app_url, context, net, atlas, shots):
    since = net.mark()
    page = open_page(context, f"{app_url}/?unit=township")
    try:
        check_map(wait_for_townships(page, atlas["city"]), atlas["city"], with_circles=False)
        wait_for_app_idle(page)
        region = page.locator('[data-testid="stSidebar"]').get_by_role("combobox", name="区域")
        views = [(name, codes) for name, codes in atlas["counties"].values()]
        views.append(("连云港市（全市）", atlas["city"]))  # and back to the whole city
        assert sum(len(codes) for _, codes in views[:-1]) == len(atlas["city"])
        for name, codes in views:
            region.click()
            page.get_by_role("option", name=re.compile(rf"^\s*{re.escape(name)}\s*$")).click()
            expect(region).to_have_value(re.compile(rf"^\s*{re.escape(name)}\s*$"))
            state = wait_for_townships(page, codes)
            check_map(state, codes, with_circles=False)
            wait_for_app_idle(page)
            check_texts(page)
            screenshot(page, shots, f"overview-{name}")
        page.wait_for_load_state("networkidle")
    finally:
        page.close()
    assert net.problems(since) == []


def test_overview_deep_link(app_url, context, net):
    # the default page lives at "/"; a shared link to /overview must still open it
    page = open_page(context, f"{app_url}/overview")
    try:
        wait_for_app_idle(page)
        page.wait_for_load_state("networkidle")
        assert page.get_by_text("Page not found").count() == 0
        assert page.get_by_role("heading", name="总览").count() >= 1
    finally:
        page.close()


def test_whole_run_stayed_on_localhost(app_url, context, net):
    """Across every page loaded above: nothing but localhost, and no failed request."""
    if not net.requests:  # run on its own: load a page first, never skip
        open_page(context, f"{app_url}/").close()
    assert all(_is_local(u) for u in net.requests + net.websockets), net.problems()
    assert net.problems() == []
    assert any(u.endswith("/app/static/vendor/leaflet/leaflet.js") for u in net.requests), (
        "Leaflet must come from the app's own static folder")


# Evaluated inside the map iframe: bring one room marker out of its cluster (zoom to street
# level on it) and mark its SVG path, so the test can hover it like a person would.
ROOM_OUT_JS = """() => {
  let m = (window.map instanceof L.Map) ? window.map : null;
  if (!m) return false;
  let marker = null;
  m.eachLayer(layer => {
    if (!marker && layer instanceof L.MarkerClusterGroup) { marker = layer.getLayers()[0] || null; }
  });
  if (!marker) return false;
  window.__room = marker;
  m.setView(marker.getLatLng(), 15, {animate: false});
  return true;
}"""
MARK_ROOM_JS = """() => {
  const p = window.__room && window.__room._path;
  if (!p || !p.isConnected) return false;
  p.setAttribute("data-test", "room");
  return true;
}"""


def test_hovering_and_clicking_maps_and_rooms_raises_no_page_error(app_url, context, shots):
    """Issue 13 item 10: every hover over a room marker threw in the browser and its tooltip
    never showed. On every map page, hover and click township polygons (and on the coverage page
    a room marker, whose tooltip is read): not one page error."""
    errors: list[str] = []
    for name, path in PAGES.items():
        page = open_page(context, f"{app_url}/{path}")
        page.on("pageerror", lambda error, name=name: errors.append(f"{name}: {error}"))
        wait_for_app_idle(page)
        frame = page.frame_locator(MAP_IFRAME)
        shapes = frame.locator("path.leaflet-interactive")
        count = shapes.count()
        for index in sorted({0, count // 2, count - 1}):
            shapes.nth(index).hover(force=True)
            page.wait_for_timeout(150)
        shapes.nth(min(1, count - 1)).click(force=True)
        wait_for_app_idle(page)
        if name == "coverage":
            iframe = next(f for f in reversed(page.frames)
                          if f is not page.main_frame and f.evaluate("() => !!(window.L && window.map)"))
            assert iframe.evaluate(ROOM_OUT_JS), "no room marker on the coverage map"
            deadline = time.monotonic() + 10
            while not iframe.evaluate(MARK_ROOM_JS) and time.monotonic() < deadline:
                time.sleep(0.1)
            room = frame.locator('[data-test="room"]')
            room.hover(force=True)
            tooltip = frame.locator(".atlas-room-tooltip").last  # the one just opened
            expect(tooltip).to_be_visible(timeout=5000)
            text = tooltip.inner_text().strip()
            assert text and "<" not in text, f"the room's tooltip reads {text!r}"
            screenshot(page, shots, "coverage-room-tooltip")
        page.close()
    assert errors == []
