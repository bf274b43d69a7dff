"""Stored script injection, in real headless Chromium: townships and rooms named with script
payloads (tests/hostile.py: imported from a boundary file and a rooms ledger, as a probe did)
run nothing on any map page or in the offline HTML export, and read as text.

Every page (and every frame in it: the map is an iframe of the app's origin) fails the test if a
dialog opens. The townships are hovered with the real mouse, so folium's tooltip renders them;
the names written on the map must be the same letters, as text.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support import browser_api  # noqa: E402

sync_api = browser_api()  # skips the module without a browser; fails instead in CI
expect = sync_api.expect

import cli  # noqa: E402
from tests import hostile  # noqa: E402
from tests.appserver import AppServer  # noqa: E402

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
PAGES = {"overview": "", "coverage": "coverage", "screening": "screening", "hotspots": "hotspots"}
MAP_TIMEOUT_MS = 60_000

# Evaluated in the map's document: the centre of a township's SVG path, in that document's pixels.
CENTRE_JS = """(code) => {
  let m = (window.map instanceof L.Map) ? window.map : null;
  for (const key of Object.keys(window)) {
    try { if (!m && key.startsWith("map_") && window[key] instanceof L.Map) { m = window[key]; } } catch (e) {}
  }
  let box = null;
  m.eachLayer(layer => {
    if (layer.feature && layer.feature.properties && layer.feature.properties.region_code === code && layer._path) {
      const r = layer._path.getBoundingClientRect();
      box = {x: r.left + r.width / 2, y: r.top + r.height / 2};
    }
  });
  return box;
}"""


@pytest.fixture(scope="module")
def hostile_db(demo_db, tmp_path_factory) -> Path:
    return hostile.build(demo_db, tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def snapshot_id(hostile_db) -> int:
    """A snapshot of the coverage view, named with a payload and filtered on a hostile room type."""
    import duckdb

    from export import saved, views
    from queries import indicators

    spec = views.ViewSpec("coverage", hostile.COUNTY, filters=indicators.Filters(room_types=(hostile.ROOM_TYPE,)))
    with duckdb.connect(str(hostile_db)) as con:
        frozen = saved.freeze(con, spec)
        return saved.save(con, hostile.PAYLOADS[1], "coverage", {"region": hostile.COUNTY}, frozen)


@pytest.fixture(scope="module")
def app_url(hostile_db, snapshot_id, tmp_path_factory):
    with AppServer(hostile_db, tmp_path_factory.mktemp("streamlit") / "server.log") as server:
        yield server.url


@pytest.fixture(scope="module")
def dialogs() -> list[str]:
    return []


@pytest.fixture(scope="module")
def context(dialogs, shared_chromium):
    ctx = shared_chromium.get().new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")

    def watch(page):
        # Playwright reports a dialog of any frame of the page (the map iframe too) here
        page.on("dialog", lambda dialog: (dialogs.append(f"{page.url}: {dialog.message}"), dialog.dismiss()))

    ctx.on("page", watch)
    try:
        yield ctx
    finally:
        ctx.close()


def hover(page, frame, code: str, click: bool = False) -> None:
    """Move the real mouse onto the township ``code`` drawn in ``frame`` (and click it)."""
    x, y = 0, 0
    if frame != page.main_frame:
        iframe = page.locator(MAP_IFRAME)
        iframe.scroll_into_view_if_needed()
        box = iframe.bounding_box()
        x, y = box["x"], box["y"]
    centre = frame.evaluate(CENTRE_JS, code)
    assert centre, f"township {code} is not drawn"
    page.mouse.move(x + centre["x"], y + centre["y"], steps=4)
    if click:
        page.mouse.click(x + centre["x"], y + centre["y"])


def tooltip_shows(frame, text: str) -> None:
    expect(frame.locator(".leaflet-tooltip").filter(has_text=text).first).to_be_visible(timeout=10_000)


def hover_every_hostile_township(page, frame) -> None:
    for code, payload in zip(hostile.TOWNS, hostile.PAYLOADS):
        hover(page, frame, code)
        tooltip_shows(frame, payload)  # the name reads as the letters written, a script as text
    names_are_text(frame)


def names_are_text(frame) -> None:
    """The names written on the map (geo/maps._PlaceNames) are the letters written, as text."""
    names = frame.evaluate("""() => Object.fromEntries([...document.querySelectorAll('.atlas-name-text')].map(
        e => [e.getAttribute('data-code'), [e.textContent, e.children.length]]))""")
    assert [names.get(code) for code in hostile.TOWNS] == [[p, 0] for p in hostile.PAYLOADS], names


@pytest.mark.parametrize("name", list(PAGES))
def test_map_pages_run_no_script_from_a_name(name, app_url, context, dialogs):
    page = context.new_page()
    try:
        page.goto(f"{app_url}/{PAGES[name]}?region={hostile.COUNTY}&town={hostile.TOWNS[0]}")
        page.frame_locator(MAP_IFRAME).locator("path.leaflet-interactive").first.wait_for(
            state="visible", timeout=MAP_TIMEOUT_MS)
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=30_000)
        frame = page.locator(MAP_IFRAME).element_handle().content_frame()
        hover_every_hostile_township(page, frame)
        # the open panel and the breadcrumbs name the township as written
        expect(page.locator('[data-testid="stMain"]').get_by_text(hostile.PAYLOADS[0], exact=True).first).to_be_visible()
        if name == "overview":  # a click opens another hostile township's panel
            hover(page, frame, hostile.TOWNS[1], click=True)
            expect(page.locator('[data-testid="stMain"]').get_by_text(hostile.PAYLOADS[1], exact=True).first).to_be_visible(
                timeout=30_000)
        time.sleep(0.5)  # an onerror fires once the broken image is tried
    finally:
        page.close()
    assert dialogs == []


@pytest.mark.parametrize("path", ["present?ids={id}", "snapshots?id={id}"])
def test_snapshot_pages_run_no_script_from_a_name(path, app_url, snapshot_id, context, dialogs):
    page = context.new_page()
    try:
        page.goto(f"{app_url}/{path.format(id=snapshot_id)}")
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=30_000)
        main = page.locator('[data-testid="stMain"]')
        expect(main.get_by_text(hostile.PAYLOADS[1], exact=True).first).to_be_visible(timeout=30_000)
        if path.startswith("snapshots"):  # the filter note names the hostile room type, as text
            expect(main.get_by_text(hostile.ROOM_TYPE).first).to_be_visible()
        time.sleep(0.5)
    finally:
        page.close()
    assert dialogs == []


def test_offline_html_export_runs_no_script(hostile_db, context, dialogs, tmp_path):
    out = tmp_path / "coverage.html"
    assert cli.main(["snapshot", "--view", "coverage", "--region", hostile.COUNTY, "--out", str(out),
                     "--db", str(hostile_db)]) == 0
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(out.as_uri())
        page.locator("path.leaflet-interactive").first.wait_for(state="visible", timeout=MAP_TIMEOUT_MS)
        expect(page.locator(".atlas-legend")).to_contain_text(hostile.ROOM_TYPE)  # the room type, as text
        # the rooms are drawn: their cluster plugin is inlined with Leaflet (it once was not, and
        # L.markerClusterGroup failed, leaving the export without its rooms)
        page.locator(".marker-cluster, .leaflet-marker-pane > *").first.wait_for(state="attached", timeout=MAP_TIMEOUT_MS)
        hover_every_hostile_township(page, page.main_frame)
        page.locator(".atlas-foot summary").click()  # the table under the map names them too
        expect(page.locator(".atlas-foot table")).to_contain_text(hostile.PAYLOADS[2])
        time.sleep(0.5)
    finally:
        page.close()
    assert dialogs == [] and errors == []
