"""The city's overview map in headless Chromium against its export (issue 15): the screen colours
counties by default, and the export's view model (export/views.py) draws the same counties in
the same colours, with the same legend rows and note (indicators/legend.py serves both).

The app runs once for the browser modules that only read the session's demo database
(tests/appserver.py, conftest.demo_server).
"""
from __future__ import annotations

import duckdb
import pytest

from tests.support import browser_api

sync_api = browser_api()  # skips the module without a browser; fails instead in CI

from export import views  # noqa: E402

MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
PERIOD = "2025-06"
TIMEOUT_MS = 60_000

# Inside the map iframe: each drawn polygon's region code and fill colour.
FILLS_JS = """() => {
  if (!window.L || !(window.map instanceof L.Map)) return null;
  const out = {};
  window.map.eachLayer(layer => {
    if (!layer.feature || !layer._path || layer instanceof L.CircleMarker) return;
    out[String(layer.feature.properties.region_code)] = layer.options.fillColor;
  });
  return out;
}"""


@pytest.fixture(scope="module")
def page(app_url, shared_chromium):
    ctx = shared_chromium.get().new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    try:
        yield ctx.new_page()
    finally:
        ctx.close()


def test_city_overview_export_draws_what_the_screen_draws(page, app_url, demo_db):
    page.goto(f"{app_url}/?period={PERIOD}")
    frame = page.frame_locator(MAP_IFRAME)
    frame.locator("path.leaflet-interactive").first.wait_for(state="visible", timeout=TIMEOUT_MS)
    fills = None
    for _ in range(50):  # Leaflet adds the layers in one go; wait until it has
        fills = frame.locator("body").evaluate(FILLS_JS.replace("() =>", "(_) =>"))
        if fills:
            break
        page.wait_for_timeout(200)
    legend = frame.locator(".atlas-legend").inner_text()
    with duckdb.connect(str(demo_db), read_only=True) as con:
        view = views.build_view(con, views.ViewSpec("overview", period=PERIOD))
    assert view.unit == "county" and len(view.shapes) == 6
    # the same counties in the same colours
    assert {code: colour.lower() for code, colour in fills.items()} == \
        {code: colour.lower() for code, colour in view.shading.colour_of.items()}
    # the same legend: every row, and the note (the spread line when the counties differ little)
    for row in view.shading.rows:
        assert row.label in legend
    assert view.shading.note.replace(" · ", " ") in legend.replace(" · ", " ").replace("\n", " ")
