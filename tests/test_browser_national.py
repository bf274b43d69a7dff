"""End to end in headless Chromium on a small national build (issue 16): 全国 → 省 → 市 → 县 → 乡镇.

A national demo of two provinces (海南省 and 北京市, a thousandth of the programme rows) is built
once for this module and served by its own app (tests/appserver.AppServer), in demo mode (no
account: the viewer a visitor gets, small counts hidden). At every level of the hierarchy:

- every page of the navigation loads with no Streamlit exception, no page error or console
  error, no failed request (nor an HTTP error) and no request to anything but the app itself;
- each map draws exactly one polygon per region of its view, the regions being those the
  project's own query (queries.indicators.table) finds in that view, never a number written here;
- from 全国 to a township by mouse clicks on the map, the URL following each click;
- a change of the overview's map indicator updates the URL, the legend and the fills;
- every export button (and the coverage page's gap lists) gives a non-empty file of its kind:
  on every map page at the national level, on the overview at the province level (the same
  export code on a province's shapes; its pages' loads are checked above).

How a polygon is found and clicked is tests/test_browser_views.py's (Leaflet's layers inside the
st_folium iframe, a real mouse click on a point of the feature's own SVG path). A step that fails
saves a screenshot of the page and names it in the failure; the folder is printed at the end of
the run, and copied to ATLAS_SHOTS_DIR when that is set (as CI may keep it).
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import duckdb
import pytest

from tests import test_browser_views as views  # skips this module without a browser (fails in CI)
from tests.support import browser_api

sync_api = browser_api()
expect = sync_api.expect

from data import national  # noqa: E402
from geo import maps  # noqa: E402
from queries import indicators  # noqa: E402
from tests.appserver import AppServer  # noqa: E402
from ui import exporting, widgets  # noqa: E402

PROVINCES = ["46", "11"]   # 海南省 (cities, 省直辖县, a city without counties) and 北京市 (one city)
ROWS = 0.001               # the programme rows: a few seconds to build, and the hidden cells too
NATION = indicators.NATION
PROVINCE = "460000000000"  # 海南省
CITY = "460100000000"      # 海口市
COUNTY = "460106000000"    # 龙华区
TIMEOUT_MS = 90_000
VIEWPORT = {"width": 1440, "height": 900}

# The pages of the demo viewer's navigation (ui/auth.PAGES): URL path, whether it draws a map
MAP_PAGES = ["overview", "coverage", "screening", "hotspots"]
OTHER_PAGES = ["import", "snapshots", "present"]
# Each view of the path down, as (name, region, town): the township is its county with its panel open
PATH = [("nation", NATION, None), ("province", PROVINCE, None), ("city", CITY, None),
        ("county", COUNTY, None), ("township", COUNTY, "town")]
# Views off the main path whose maps are worth counting: a province of one city (北京), a city
# with no counties (儋州: its townships lie right under it) and a county under its province (五指山)
EDGES = [("one-city province", "110000000000"), ("city without counties", "460400000000"),
         ("county under a province", "469001000000")]

# Evaluated inside the map iframe: the GeoJSON features Leaflet drew (CircleMarkers are rooms),
# each with its own SVG path or none, its fill and weight; the legend's text; whether a canvas is used.
MAP_JS = """() => {
  if (!window.L || !(window.map instanceof L.Map)) return null;
  const feats = [];
  window.map.eachLayer(layer => {
    if (!layer.feature || !layer.feature.properties || layer instanceof L.CircleMarker) return;
    if (layer.feature.properties.region_code === undefined) return;
    const path = layer._path;
    feats.push({code: String(layer.feature.properties.region_code),
                svg: !!(path && path.isConnected && path.getAttribute("d") && path.getAttribute("d") !== "M0 0"),
                fill: path ? path.getAttribute("fill") : null, weight: layer.options.weight});
  });
  feats.sort((a, b) => a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
  const legend = document.querySelector(".atlas-legend");
  return {features: feats, legend: legend ? legend.innerText : null,
          paths: document.querySelectorAll("path.leaflet-interactive").length,
          canvas: document.querySelectorAll("canvas.leaflet-zoom-animated").length};
}"""


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("national-e2e") / "atlas.duckdb"
    national.build(path, seed=5, provinces=PROVINCES, rows=ROWS)
    return path


@pytest.fixture(scope="module")
def atlas(built) -> dict:
    """What the database says: the period the app opens on, the regions and the township to drill to."""
    with duckdb.connect(str(built), read_only=True) as con:
        period = indicators.latest_month(con, indicators.EVERYTHING).code
        towns = indicators.table(con, "township", period, indicators.EVERYTHING, COUNTY)
        names = {r: indicators.table(con, level, period, indicators.EVERYTHING, r)["region_name"].iloc[0]
                 for level, r in (("province", PROVINCE), ("city", CITY), ("county", COUNTY))}
    return {"period": period, "town": towns["region_code"].iloc[0], "names": names}


def regions_of_view(db: Path, level: str, region: str, period: str) -> list[str]:
    """The regions of ``level`` a view of ``region`` holds, as the project's query finds them."""
    with duckdb.connect(str(db), read_only=True) as con:
        return sorted(indicators.table(con, level, period, indicators.EVERYTHING, region)["region_code"])


@pytest.fixture(scope="module")
def app_url(built, tmp_path_factory):
    log = tmp_path_factory.mktemp("national-e2e-app") / "streamlit.log"
    try:
        with AppServer(built, log, timeout=120) as server:
            yield server.url
    except RuntimeError as problem:
        pytest.fail(str(problem))


@pytest.fixture(scope="module")
def context(browser):
    ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN", accept_downloads=True)
    try:
        yield ctx
    finally:
        ctx.close()


class Traffic:
    """What a page did that it should not: page errors, console errors, failed requests, HTTP
    errors, and requests to any host but the app's own."""

    def __init__(self, page, app_url: str) -> None:
        self.host = urlsplit(app_url).netloc
        self.problems: list[str] = []
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("console", self._console)
        page.on("request", self._request)
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} ({r.failure})"))
        page.on("response", self._response)

    @staticmethod
    def probe(url: str) -> bool:
        """Streamlit's own search for its base path: opened at /coverage, the browser first asks
        /coverage/_stcore/health and host-config (a 404), then /_stcore/…: not the app's fault."""
        return re.fullmatch(r"/[^/]+/_stcore/(health|host-config)", urlsplit(url).path) is not None

    def _response(self, response) -> None:
        if response.status >= 400 and not (response.status == 404 and self.probe(response.url)):
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def _console(self, message) -> None:
        if message.type == "error" and not (message.text.startswith("Failed to load resource: the server "
                                                                    "responded with a status of 404")
                                            and self.probe(message.location.get("url", ""))):
            self.problems.append(f"console error: {message.text} ({message.location.get('url')})")

    def _request(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc != self.host:
            self.problems.append(f"request off the machine: {request.url}")

    def take(self) -> list[str]:
        found, self.problems = self.problems, []
        return found


@pytest.fixture
def page(context, app_url):
    page = context.new_page()
    page.traffic = Traffic(page, app_url)
    try:
        yield page
    finally:
        page.close()


# --------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def step(page, shots: Path, name: str):
    """A step of a test: when it fails, a screenshot of the page, named in the failure."""
    try:
        yield
    except (Exception, pytest.fail.Exception) as problem:
        path = shots / f"national_failed_{name}.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            copy_to = os.environ.get("ATLAS_SHOTS_DIR")
            if copy_to:
                Path(copy_to).mkdir(parents=True, exist_ok=True)
                shutil.copy(path, Path(copy_to) / path.name)
            where = f"screenshot: {path}"
        except Exception as no_shot:  # the page itself is gone
            where = f"(no screenshot: {no_shot})"
        raise AssertionError(f"{name}: {problem}\n{where}") from problem


def url_of(app_url: str, page_path: str, **params) -> str:
    path = "" if page_path == "overview" else page_path
    return f"{app_url}/{path}?" + urlencode({k: v for k, v in params.items() if v is not None})


def wait_idle(page) -> None:
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=TIMEOUT_MS)


def map_state(page) -> dict | None:
    try:
        handles = page.locator(views.MAP_IFRAME).element_handles()
        if len(handles) != 1:
            return None
        frame = handles[0].content_frame()
        return None if frame is None else frame.evaluate(MAP_JS)
    except (sync_api.Error, AssertionError):  # the iframe is being replaced by a rerun
        return None


def wait_for_map(page, ok, what: str, timeout: float = 90.0) -> dict:
    """Poll the page's one map until ``ok(state)`` holds; fail with the last state seen."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = map_state(page)
        if seen and seen["features"] and ok(seen):
            return seen
        page.wait_for_timeout(150)
    codes = None if not seen else [f["code"] for f in seen["features"]]
    pytest.fail(f"the map never showed {what}; last seen: {codes}")


def codes(state: dict) -> list[str]:
    return [f["code"] for f in state["features"]]


def settle(page) -> None:
    """Idle, and a moment for the last requests (component assets, fonts) to end."""
    wait_idle(page)
    page.wait_for_timeout(500)
    wait_idle(page)


def assert_clean(page, what: str) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    problems = page.traffic.take()
    assert not problems, f"{what}:\n" + "\n".join(problems)


def map_level(page_path: str, view: str) -> str | None:
    """The level a page's map draws for a view (None: no map): one level down (counties at city
    level, as the sidebar's default unit says), the hotspots' townships only below a province."""
    level = "county" if view == "township" else view
    if page_path == "hotspots":
        return None if level in indicators.ABOVE_CITY else "township"
    return widgets.CHILD[level]


def check_map(page, db: Path, page_path: str, view: str, region: str, period: str) -> dict:
    level = map_level(page_path, view)
    wanted = regions_of_view(db, level, region, period)
    assert wanted, f"the database has no {level} in {region}"
    state = wait_for_map(page, lambda s: codes(s) == wanted and all(f["svg"] for f in s["features"]),
                         f"one polygon for each of the {len(wanted)} {level} regions of {region}")
    assert len(wanted) < maps.CANVAS_PATHS and state["canvas"] == 0  # drawn in SVG, one path each
    # the one polygon per region is an SVG path of its own; any other interactive path is a room
    assert state["paths"] >= len(wanted)
    return state


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("view, region, town", PATH, ids=["nation", "province", "city", "county", "township"])
def test_every_page_at_every_level(page, app_url, built, atlas, shots, view, region, town):
    period = atlas["period"]
    town = atlas["town"] if town else None
    pages = MAP_PAGES + (OTHER_PAGES if view in ("nation", "township") else [])
    for page_path in pages:
        with step(page, shots, f"{view}_{page_path}"):
            page.goto(url_of(app_url, page_path, period=period, region=region, town=town))
            wait_idle(page)
            if page_path in MAP_PAGES and map_level(page_path, view) is not None:
                state = check_map(page, built, page_path, view, region, period)
                if town:  # the township's panel is open and its polygon outlined
                    expect(page.locator(".st-key-township-panel")).to_be_visible(timeout=TIMEOUT_MS)
                    heavy = [f["code"] for f in state["features"] if f["weight"] == 3.5]
                    assert heavy in ([town], []), heavy
            elif page_path in MAP_PAGES:  # hotspots above a city: every township tested together, listed, no map
                # (the nation's are computed in the background: the page may first say so, then reload)
                expect(page.get_by_text("个乡镇一起检验").first).to_be_visible(timeout=60_000)
                expect(page.locator(views.MAP_IFRAME)).to_have_count(0)
            settle(page)
            assert_clean(page, f"{page_path} at {view} ({region})")
        if page_path == "overview" and view in ("nation", "province"):
            views.screenshot(page, shots, f"national_{view}_overview")


@pytest.mark.parametrize("name, region", EDGES, ids=[n.replace(" ", "-") for n, _ in EDGES])
def test_maps_of_regions_off_the_main_path(page, app_url, built, atlas, shots, name, region):
    with duckdb.connect(str(built), read_only=True) as con:
        level = con.execute("select level from regions where region_code = ?", [region]).fetchall()[0][0]
    view = "county" if level == "county" else level
    with step(page, shots, f"edge_{region}"):
        page.goto(url_of(app_url, "overview", period=atlas["period"], region=region))
        wait_idle(page)
        check_map(page, built, "overview", view, region, atlas["period"])
        settle(page)
        assert_clean(page, f"overview of the {name} {region}")


def test_drill_from_the_nation_to_a_county_by_clicks(page, app_url, built, atlas, shots):
    period = atlas["period"]
    with step(page, shots, "drill_nation"):
        page.goto(url_of(app_url, "overview", period=period, region=NATION))
        wait_idle(page)
        check_map(page, built, "overview", "nation", NATION, period)
    for view, code in (("province", PROVINCE), ("city", CITY), ("county", COUNTY)):
        with step(page, shots, f"drill_to_{view}"):
            wait_idle(page)
            clicked = 0
            while True:  # a province of the test map can be a sliver at the frame's edge (海南省):
                clicked += 1  # a click that lands beside it changes nothing; the next one, after a pause
                views.click_feature(page, code)
                try:
                    views.wait_for_param(page, "region", code)
                    break
                except pytest.fail.Exception:
                    if clicked == 3:
                        raise
            assert views.url_params(page).get("period") == period
            wait_idle(page)
            check_map(page, built, "overview", view, code, period)
            expect(views.crumb(page, view)).to_have_text(atlas["names"][code])
            settle(page)
            assert_clean(page, f"the click down to {code}")


def test_a_click_on_a_township_opens_its_panel(page, app_url, built, atlas, shots):
    town = atlas["town"]
    with step(page, shots, "drill_to_township"):
        page.goto(url_of(app_url, "overview", period=atlas["period"], region=COUNTY))
        wait_idle(page)
        check_map(page, built, "overview", "county", COUNTY, atlas["period"])
        views.click_feature(page, town)
        views.wait_for_param(page, "town", town)
        assert views.url_params(page).get("region") == COUNTY
        expect(page.locator(".st-key-township-panel")).to_be_visible(timeout=TIMEOUT_MS)
        wait_for_map(page, lambda s: [f["code"] for f in s["features"] if f["weight"] == 3.5] == [town],
                     f"the township {town} outlined")
        expect(views.crumb(page, "township")).to_be_visible()
        settle(page)
        assert_clean(page, "the drill from 全国 to a township")


def test_a_filter_change_updates_the_url_and_the_map(page, app_url, built, atlas, shots):
    with step(page, shots, "filter"):
        page.goto(url_of(app_url, "overview", period=atlas["period"], region=PROVINCE))
        wait_idle(page)
        before = check_map(page, built, "overview", "province", PROVINCE, atlas["period"])
        assert "map" not in views.url_params(page)
        # the map's indicator: 本年累计排查完成率 → 阵地覆盖率 (any viewer may choose it)
        picker = page.get_by_role("combobox", name="地图指标")
        picker.click()
        option = page.get_by_role("option", name="阵地覆盖率", exact=True)
        if not option.count():  # the first click can land while the page settles: open it again
            picker.click()
        option.click()
        views.wait_for_param(page, "map", "coverage_rate")
        title = lambda s: (s["legend"] or "").strip().splitlines()[0]  # noqa: E731
        after = wait_for_map(page, lambda s: "覆盖率" in title(s), "the legend of 阵地覆盖率")
        assert title(before) != title(after) and "排查" in title(before), (title(before), title(after))
        assert codes(after) == codes(before)
        fills = lambda s: [f["fill"] for f in s["features"]]  # noqa: E731
        assert fills(after) != fills(before) or after["legend"] != before["legend"]
        settle(page)
        assert_clean(page, "the indicator change")


FILE_STARTS = {".png": b"\x89PNG", ".pdf": b"%PDF", ".pptx": b"PK", ".docx": b"PK", ".xlsx": b"PK",
               ".html": b"<", ".csv": None}


def download(page, button, shots: Path) -> tuple[str, bytes]:
    """Click a download button and read the file. A download button with a callback (the gap
    lists log the export) reruns the page as it is clicked, and the rerun can drop the file the
    browser is still fetching ('canceled'): one more click then, as a user would."""
    for attempt in (1, 2):
        with page.expect_download(timeout=TIMEOUT_MS) as info:
            button.click()
        got = info.value
        target = shots / "downloads" / got.suggested_filename
        target.parent.mkdir(exist_ok=True)
        try:
            got.save_as(target)
        except sync_api.Error:
            if attempt == 2 or got.failure() != "canceled":
                raise
            print(f"download canceled once: {got.suggested_filename}")
            wait_idle(page)
            continue
        return got.suggested_filename, target.read_bytes()


@pytest.mark.parametrize("view, region, pages", [
    ("nation", NATION, ("overview", "coverage", "screening")),  # hotspots: no map, no export above a city
    ("province", PROVINCE, ("overview",)),  # the same export code as the nation's, on a province's shapes
])
def test_every_export_gives_a_file(page, app_url, atlas, shots, view, region, pages):
    got = {}
    for page_path in pages:
        with step(page, shots, f"export_{view}_{page_path}"):
            page.goto(url_of(app_url, page_path, period=atlas["period"], region=region))
            wait_idle(page)
            page.locator('[data-testid="stExpander"]').filter(has_text="导出与快照").locator("summary").click()
            for kind in exporting.FORMATS:
                page.locator(f".st-key-export-{page_path}-{kind}").get_by_role("button").click()
                button = page.locator(f".st-key-download-{page_path}-{kind}").get_by_role("button")
                expect(button).to_be_visible(timeout=TIMEOUT_MS)
                name, body = download(page, button, shots)
                got[(page_path, kind)] = name, len(body)
                suffix = Path(name).suffix
                assert suffix == exporting.FORMATS[kind][0] and body, (kind, name, len(body))
                assert body.startswith(FILE_STARTS[suffix]), (name, body[:20])
            if page_path == "coverage":  # the gaps, as Excel and CSV, when there are any
                for key in ("gaps-xlsx", "gaps-csv"):
                    button = page.locator(f".st-key-{key}").get_by_role("button")
                    if button.count():
                        name, body = download(page, button, shots)
                        got[(page_path, key)] = name, len(body)
                        assert body and (FILE_STARTS[Path(name).suffix] is None
                                         or body.startswith(FILE_STARTS[Path(name).suffix])), name
            settle(page)
            assert_clean(page, f"the exports of {page_path} at {view}")
    print(view, got)
