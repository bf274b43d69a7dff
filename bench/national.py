"""Benchmark the atlas at national scale: every figure of issue #16's "What must be fast", one table.

    python bench/national.py [--db PATH] [--provinces 32] [--rows 0.01] [--reps 5] [--loads 3]
                             [--province 32] [--city 3207] [--period 2025-06] [--no-browser | --browser-only]
                             [--viewer demo|admin] [--sessions 5] [--warmup-timeout 900] [--timeout 120]
                             [--shots DIR] [--import-rows 5000000] [--import-small-rows 1000000]
                             [--import-db PATH | --no-import]

The database: ``--db PATH`` is reused when it exists; otherwise (and by default, in
``$XDG_CACHE_HOME/federation-atlas/``, outside the repository) the national demo is built there
first with ``data.national.build`` (``--provinces`` and ``--rows`` as ``cli.py demo --scale
national`` takes them). Then, on this machine, as it is (the figures depend on its load):

* queries, warm (one unmeasured run, then the median of ``--reps``; a fresh read-only connection
  per run, as ui/data.py opens one per cached call): ``queries.indicators.table`` for one city's
  townships, one province's townships, the national roll-ups (county; province when that level
  exists);
* map payloads, made by the pages' own functions (``ui.data._township_geojson`` and
  ``ui.data._county_geojson``, called without a Streamlit server): the GeoJSON as the component
  receives it (JSON-escaped, as Streamlit serialises its arguments);
* Fisher-Jenks (``geo.classify.classify(..., "fisher_jenks")``) on 38,723 values: the national
  township risk rates (resampled, seeded, to 38,723 when the database holds fewer townships);
* hotspot statistics (``geo.risk.table``) for the province's townships, warm;
* the suppression of a year at national scale (``queries.indicators.year_hidden_cells``, its
  process cache emptied first): computed in the background (``ui.data.background``), a page
  showing a non-admin a notice and no count until it is done;
* importing a generated screening ledger CSV of ``--import-rows`` rows (5,000,000) and of
  ``--import-small-rows`` (1,000,000) through the real importer (``importer.pipeline.run``, what
  ``cli.py import`` calls), each in a fresh child process into a fresh copy of the city demo, with
  bench/import_speed.py's generator and measurement: memory is flat when the big file's peak RSS
  is at most ``import_speed.AIM_FLAT`` (1.3) times the small one's, for five times the rows;
* in headless Chromium (``tests.appserver.AppServer`` + Playwright + /usr/bin/chromium), at the
  pages' own URLs (``/?period=…&region=…``, ui/state.py): navigation -> map painted (the map
  iframe's first polygon: an SVG ``path.leaflet-interactive``, or the canvas Leaflet draws on
  above geo.maps.CANVAS_PATHS shapes, looked for in every frame every 50 ms as
  ../shared/tools/paint_ratio.py does) for the city, the province and the nation (each:
  one warm-up load, then the median of ``--loads`` loads, each in a new browser context); a
  change of the sidebar's 统计期 -> the map's fills (or tooltips) changed (after one change each
  way, so both periods are cached, as on a warm server); pan and zoom on the city map (through
  Leaflet, the wheel and a mouse drag), counting on Streamlit's websocket the browser's rerun
  requests and the server's finished runs (``tests.appserver.Wire``: both must stay 0); the
  server's RSS after all that, and its growth per session with ``--sessions`` more open. As
  everyone sees a database without accounts (small counts hidden: a page first waits for the
  year's suppression), or with ``--viewer admin`` on a copy of the database with one admin account
  logged in by its session cookie (exact counts: what the maps cost without suppression);
* a plain pandas implementation of the township indicators (households screened, risk
  households, cases received per township in one period), side by side with ours on the same
  data, checked to give the same counts; the ratio is pandas' time over ours (aim: >= 10).

Rows that cannot be measured yet (no province or national page) say so; nothing is hard-coded.
Exit status 0 whatever the verdicts (it is a benchmark, not a test); 1 if a measurement errored.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
JENKS_VALUES = 38_723  # every township of the register
NOT_MEASURABLE = "not measurable yet"
NOT_MEASURED = "not measured"
CITY_TABLE_S = 0.1      # budget: one city's township table (bench/lake.py holds the lake to it too)
PROVINCE_TABLE_S = 0.3  # budget: one province's township table


@dataclass
class Row:
    figure: str
    budget: str
    measured: str = ""
    verdict: str = ""  # pass, FAIL, "not measurable yet (…)", "not measured (…)", "ERROR …"
    note: str = ""


def default_db() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "federation-atlas" / "national.duckdb"


def ensure_db(path: Path, provinces: list[str] | None, rows: float) -> None:
    if path.exists():
        return
    from data import national

    print(f"no database at {path}: building the national demo there "
          f"(provinces {','.join(provinces) if provinces else 'all'}, rows {rows}) …", flush=True)
    started = time.perf_counter()
    last = [0.0]

    def progress(fraction: float, step: str) -> None:
        if fraction - last[0] >= 0.05 or fraction >= 1:
            last[0] = fraction
            print(f"  {fraction:4.0%} {step}", flush=True)

    national.build(path, provinces=provinces, rows=rows, progress=progress)
    print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


def timed(fn, reps: int) -> tuple[float, object]:
    """One unmeasured run (warm-up), then the median seconds of ``reps`` runs, and the last result."""
    result = fn()
    seconds = []
    for _ in range(reps):
        started = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def verdict(value: float, budget: float, higher_is_better: bool = False) -> str:
    ok = value >= budget if higher_is_better else value <= budget
    return "pass" if ok else "FAIL"


def kb(n: float) -> str:
    return f"{n / 1024:,.0f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:,.2f} MB"


# --------------------------------------------------------------------------- the database


class Bench:
    def __init__(self, db: Path, reps: int, period: str | None, province: str | None, city: str | None):
        from queries import indicators, runner

        self.db, self.reps = db, reps
        with runner.connect(db) as con:
            found = indicators.latest_month(con, indicators.EVERYTHING)
            counts = con.execute(
                "select province_code, city_code, count(*) as townships from regions "
                "where level = 'township' and in_atlas group by all").df()
            self.names = dict(con.execute("select region_code, name from regions").fetchall())
            self.townships = int(counts["townships"].sum())
        if counts.empty:
            raise SystemExit(f"{db}: no atlas township")
        self.period = period or (found.code if found is not None else None)
        if self.period is None:
            raise SystemExit(f"{db}: no screening records, no period to measure")
        by_province = counts.groupby("province_code")["townships"].sum()
        self.province = _code(province) if province else by_province.idxmax()  # the largest: the worst case
        # a city with a code: some townships have none (海南's counties directly under the province)
        in_province = counts[(counts["province_code"] == self.province) & counts["city_code"].notna()]
        self.city = _code(city) if city else in_province.sort_values(
            ["townships", "city_code"], ascending=[False, True])["city_code"].iloc[0]
        self.province_towns = int(by_province.get(self.province, 0))
        self.city_towns = int(counts.loc[counts["city_code"] == self.city, "townships"].sum())

    def label(self, code: str) -> str:
        from queries import indicators

        name = indicators.NATION_NAME if code == indicators.NATION else self.names.get(code, code)
        return f"{name} {code}"

    def table(self, level: str, region: str | None):
        from queries import indicators, runner

        with runner.connect(self.db) as con:
            return indicators.table(con, level, self.period, indicators.EVERYTHING, region)


def _code(text: str) -> str:
    text = str(text).strip()
    return text.ljust(12, "0")


# --------------------------------------------------------------------------- measurements


def query_rows(b: Bench) -> list[Row]:
    from queries import indicators

    rows = []
    for figure, level, region, budget in [
        (f"query: city township table ({b.label(b.city)}, {b.city_towns} townships)", "township", b.city,
         CITY_TABLE_S),
        (f"query: province township table ({b.label(b.province)}, {b.province_towns} townships)",
         "township", b.province, PROVINCE_TABLE_S),
        ("query: national county roll-up", "county", None, 0.5),
        ("query: national province roll-up", "province", None, 0.5),
    ]:
        row = Row(figure, f"<= {budget * 1000:.0f} ms")
        if level not in indicators.LEVELS:
            row.verdict = f"{NOT_MEASURABLE} (no {level} level in queries.indicators.LEVELS)"
        else:
            seconds, frame = timed(lambda: b.table(level, region), b.reps)
            row.measured = f"{seconds * 1000:,.0f} ms"
            row.verdict = verdict(seconds, budget)
            row.note = f"{len(frame)} rows, median of {b.reps}"
        rows.append(row)
    return rows


def _quiet_streamlit() -> None:
    import streamlit.logger
    from streamlit import config

    config.get_option("logger.level")  # parse the config first, or parsing would reset the level
    config.set_option("logger.level", "error")
    streamlit.logger.set_log_level("error")


def _sent(text: str) -> int:
    """Bytes of the GeoJSON text as Streamlit sends a component argument: json.dumps (ASCII-escaped)."""
    return len(json.dumps(text).encode("utf-8"))


def payload_rows(b: Bench) -> list[Row]:
    _quiet_streamlit()
    from ui import data

    db, scope = str(b.db), ("",)
    cases = [
        (f"payload: a city's townships ({b.label(b.city)})", 300 * 1024,
         lambda: data._township_geojson(db, -1, "city", b.city, scope)),
        (f"payload: a province's counties ({b.label(b.province)})", 1024 * 1024,
         lambda: data._county_geojson(db, -1, b.province, scope)),
        ("payload: the national county view", 2 * 1024 * 1024,
         lambda: data._county_geojson(db, -1, None, scope)),
        (f"payload: a province's townships ({b.label(b.province)})", 2 * 1024 * 1024,
         lambda: data._township_geojson(db, -1, "city", b.province, scope)),
    ]
    rows = []
    for figure, budget, make in cases:
        row = Row(figure, f"<= {kb(budget)}")
        started = time.perf_counter()
        text = make()
        seconds = time.perf_counter() - started
        size = _sent(text)
        row.measured = kb(size)
        row.verdict = verdict(size, budget)
        row.note = (f"{len(json.loads(text)['features'])} polygons, UTF-8 {kb(len(text.encode('utf-8')))}, "
                    f"built in {seconds:.1f} s")
        rows.append(row)
    # the pages' own maps above a city (ui/data.regions_geojson): the nation's provinces and the
    # province's cities, merged from county outlines; no township polygon may be in them
    from queries import indicators

    for figure, view, code, budget in (("payload: the national map (provinces)", "nation", indicators.NATION, 2 * 1024 * 1024),
                                       (f"payload: a province's map (cities, {b.label(b.province)})", "province",
                                        b.province, 1024 * 1024)):
        started = time.perf_counter()
        text = data._regions_geojson(db, -1, view, code, scope)
        seconds = time.perf_counter() - started
        size = _sent(text)
        features = json.loads(text)["features"]
        rows.append(Row(figure, f"<= {kb(budget)}", kb(size), verdict(size, budget),
                        f"{len(features)} polygons, built in {seconds:.1f} s"))
        if view == "nation":
            towns = sum(1 for f in features if not str(f["properties"]["region_code"]).endswith("000000"))
            rows.append(Row("payload: no township polygon in the national view", "0 township polygons",
                            f"{towns} township polygons", "pass" if towns == 0 else "FAIL",
                            f"of {len(features)} polygons in the national map"))
    data.st.cache_data.clear()
    return rows


def jenks_row(towns) -> Row:
    import numpy as np

    from geo import classify

    values = towns["risk_rate_per_1000"].astype(float).dropna().to_numpy()
    note = f"the national township risk rates ({len(values):,})"
    if len(values) != JENKS_VALUES:
        values = np.random.default_rng(16).choice(values, JENKS_VALUES, replace=True)
        note += f", resampled to {JENKS_VALUES:,}"
    seconds, found = timed(lambda: classify.classify(values, "fisher_jenks", 5), 3)
    return Row(f"Fisher-Jenks on {len(values):,} values", "<= 1 s", f"{seconds:.2f} s", verdict(seconds, 1.0),
               f"{note}; {len(found.breaks)} classes, median of 3")


def hotspot_row(b: Bench) -> Row:
    from geo import risk
    from queries import indicators, runner

    def run():
        with runner.connect(b.db) as con:
            return risk.table(con, b.period, indicators.EVERYTHING, b.province, of="risk")

    seconds, frame = timed(run, 1)
    return Row(f"hotspots: a province's townships ({b.label(b.province)})", "<= 5 s", f"{seconds:.1f} s",
               verdict(seconds, 5.0), f"{len(frame)} townships, geo.risk.table, second run")


def suppression_row(b: Bench) -> Row:
    from queries import indicators, runner

    year = int(b.period[:4])
    with indicators._JOINT_LOCK:
        indicators._JOINT.clear()  # its process cache: measure the computation, not the lookup
    started = time.perf_counter()
    with runner.connect(b.db) as con:
        hidden = indicators.year_hidden_cells(con, year)
    seconds = time.perf_counter() - started
    return Row(f"suppression: a year at national scale ({year})", "<= 600 s", f"{seconds:.1f} s",
               verdict(seconds, 600.0),
               f"{len(hidden):,} cells hidden, province by province in {indicators.PART_WORKERS} processes "
               "(suppress.joint_by_parts); in the background: a page says it is computing meanwhile")


# --------------------------------------------------------------------------- plain pandas


def pandas_rows(b: Bench, ours_seconds: float, ours) -> list[Row]:
    """What a user would write instead: read the raw tables into pandas, then count per township
    what ours gives (households screened and at risk, 本年累计, rooms open and villages covered,
    cases received, closed and mediated), idiomatically (vectorised group-bys, no per-group lambda);
    the eight counts must equal ours."""
    import numpy as np
    import pandas as pd

    from queries import periods, runner

    p = periods.parse(b.period)
    started = time.perf_counter()
    with runner.connect(b.db) as con:
        towns = con.execute("select region_code from regions where level = 'township' and in_atlas").df()
        screenings = con.execute("select township_code, household_id, screened_date, risk_level from screenings").df()
        cases = con.execute("select township_code, received_date, closed_date, outcome from cases").df()
        rooms = con.execute("select township_code, village_code, opened_date, closed_date from rooms").df()
        reports = con.execute("select (select count(*) from screening_summaries) "
                              "+ (select count(*) from case_summaries)").fetchone()[0]
    load = time.perf_counter() - started
    start, end = pd.Timestamp(p.start), pd.Timestamp(p.end)
    year_start = pd.Timestamp(p.end.year, 1, 1)

    def compute() -> pd.DataFrame:
        # households screened in the period, each with its highest risk; 中 and 高 are risk households
        s = screenings[(screenings["screened_date"] >= start) & (screenings["screened_date"] <= end)]
        rank = s["risk_level"].map({"无": 0, "低": 1, "中": 2, "高": 3}).fillna(0)
        top = rank.groupby([s["township_code"], s["household_id"]]).max().reset_index(name="top")
        per = top.assign(risk=top["top"] >= 2).groupby("township_code").agg(
            households_screened=("top", "size"), risk_households=("risk", "sum"))
        # 本年累计: households screened from 1 January to the period's end
        y = screenings[(screenings["screened_date"] >= year_start) & (screenings["screened_date"] <= end)]
        ytd = (y[["township_code", "household_id"]].drop_duplicates().groupby("township_code").size()
               .rename("households_screened_ytd"))
        # rooms open in the period, and the villages they cover
        r = rooms[(rooms["opened_date"].isna() | (rooms["opened_date"] <= end))
                  & (rooms["closed_date"].isna() | (rooms["closed_date"] >= start))]
        active = r.groupby("township_code").agg(rooms_active=("township_code", "size"),
                                                villages_covered=("village_code", "nunique"))
        # cases received, and closed (mediated: 调解成功) in the period
        c = cases[(cases["received_date"] >= start) & (cases["received_date"] <= end)]
        received = c.groupby("township_code").size().rename("cases_received")
        done = cases[(cases["closed_date"] >= start) & (cases["closed_date"] <= end)]
        closed = done.assign(mediated=done["outcome"] == "调解成功").groupby("township_code").agg(
            cases_closed=("mediated", "size"), cases_mediated=("mediated", "sum"))
        out = (towns.set_index("region_code").join(per).join(ytd).join(active).join(received).join(closed)
               .fillna(0).astype(np.int64))
        return out.reset_index()

    compute()  # warm-up, as ours
    seconds = []
    for _ in range(b.reps):
        started = time.perf_counter()
        theirs = compute()
        seconds.append(time.perf_counter() - started)
    pandas_seconds = statistics.median(seconds)
    columns = ["households_screened", "risk_households", "households_screened_ytd", "rooms_active",
               "villages_covered", "cases_received", "cases_closed", "cases_mediated"]
    mine = ours.set_index("region_code")[columns].astype(np.int64).sort_index()
    same = mine.equals(theirs.set_index("region_code")[columns].sort_index())
    ratio = pandas_seconds / ours_seconds
    note = (f"{len(theirs):,} townships, {b.period}; pandas median of {b.reps} on frames in memory "
            f"({pandas_seconds:.2f} s) / ours ({ours_seconds:.2f} s, every indicator); "
            f"same counts: {'yes' if same else 'NO'}")
    if reports:
        note += f" ({reports} summary reports: pandas ignores them)"
    del screenings, cases, rooms
    gc.collect()
    return [
        Row("pandas: the same township indicators, national", ">= 10x slower", f"{ratio:.2f}x",
            verdict(ratio, 10.0, higher_is_better=True), note),
        Row("pandas: reading the raw tables first", "(information)", f"{load:.1f} s",
            "info", "not in the ratio: a warm server has its data loaded too"),
    ]


# --------------------------------------------------------------------------- the import


def import_rows(rows: int, small: int, db: str | None) -> list[Row]:
    """Peak RSS of importing a generated screening ledger CSV of ``rows`` rows, and of ``small``
    rows, each through the real importer (``importer.pipeline.run``, what ``cli.py import`` and the
    数据导入 page call) in a fresh child process into a fresh copy of the city demo, by
    bench/import_speed.py's own generator and measurement (/usr/bin/time's max RSS of the child).
    Flat: the big file's peak is at most import_speed.AIM_FLAT times the small one's."""
    from bench import import_speed as imp

    with tempfile.TemporaryDirectory(prefix="atlas-bench-import-") as folder:
        work = Path(folder)
        base, built = imp.ensure_db(db, work)
        base, _ = imp.upgraded_copy(base, work)
        towns = imp.load_towns(base, False)
        got = {}
        for n in (small, rows):
            path = work / f"screening_{imp.label(n)}.csv"
            imp.generate(path, towns, n, keep=False, encoding="utf-8")
            got[n] = imp.measure(path, base, work)
            path.unlink()
            if got[n]["status"] != "imported":
                raise RuntimeError(f"the {n:,}-row ledger was not imported: {got[n]['status']}, "
                                   f"{got[n]['errors_total']} errors")
    big, little = got[rows]["peak_kb"] * 1024, got[small]["peak_kb"] * 1024
    ratio = big / little
    stages = ", ".join(f"{k} {v}" for k, v in got[rows]["stage_peaks_mb"].items())
    return [
        Row(f"import: a {rows:,}-row CSV, memory flat", f"<= {imp.AIM_FLAT}x the peak of {small:,} rows",
            f"{ratio:.2f}x", verdict(ratio, imp.AIM_FLAT),
            f"peak RSS {kb(big)} for {rows:,} rows, {kb(little)} for {small:,} ({rows / small:g}x the rows); "
            f"importer.pipeline.run in a child process, into a copy of the city demo ({len(towns)} townships"
            f"{'' if db else ', built for this'}); /usr/bin/time max RSS (bench/import_speed.py)"),
        Row(f"import: peak RSS of the {rows:,}-row CSV", "(information)", kb(big), "info",
            f"imported in {got[rows]['seconds']:.0f} s; high-water MB by the end of each stage: {stages}"),
    ]


# --------------------------------------------------------------------------- the browser


def _rss(pid: int) -> int:
    """Resident bytes of a process and its children (the streamlit server is one process)."""
    total = 0
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for p in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


# the map is painted when Leaflet has drawn its polygons: one SVG path each, or (above
# geo.maps.CANVAS_PATHS shapes) the canvas renderer's one <canvas> in the overlay pane
PAINTED = "path.leaflet-interactive, .leaflet-overlay-pane canvas"
SCRIPT_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
QUIET_S = 1.5  # how long "no rerun" is watched for: well past streamlit-folium's 250 ms debounce
# Evaluated in the map iframe: every drawn region's code, fill colour and what its tooltip says
# (value, numerator, denominator), SVG or canvas, as one string to compare; null while no Leaflet
# map with features is there (a rerun swaps the map)
FILLS_JS = """() => {
  if (!window.L || !(window.map instanceof L.Map)) return null;
  const out = [];
  window.map.eachLayer(l => {
    if (!l.feature || !l.options || l instanceof L.CircleMarker) return;
    const p = l.feature.properties || {};
    out.push([p.region_code, l.options.fillColor, p.value, p.numerator, p.denominator].map(String).join(" "));
  });
  return out.length ? out.sort().join("\\n") : null;
}"""


class NotPainted(Exception):
    """A page's map did not paint in time."""


def _wait_painted(page, timeout_s: float) -> None:
    """Return once a frame of ``page`` holds a painted Leaflet shape, looking every 50 ms as
    ../shared/tools/paint_ratio.py does. (Playwright's own ``wait_for(state="visible")`` through a
    frame locator first attaches to the new map frame and was measured 0.4–0.5 s after the frame
    had drawn its polygons, by the frame's own clock: it timed Playwright, not the page.)"""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        for frame in page.frames:
            try:
                if frame.locator(PAINTED).count():
                    return
            except PlaywrightError:  # a frame being replaced by a rerun
                pass
        time.sleep(0.05)
    raise NotPainted(f"no map painted within {timeout_s:,.0f} s")


def _wait_idle(page, timeout_s: float) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.locator(SCRIPT_IDLE).wait_for(timeout=timeout_s * 1000)
    except PlaywrightTimeout:
        raise NotPainted(f"the script's run did not end within {timeout_s:,.0f} s") from None


def _paint(context, url: str, timeout_s: float, shot: Path | None = None) -> float:
    """Seconds from navigation to the first polygon painted, in a new page of ``context``
    (and a screenshot to ``shot`` once the script's run has ended)."""
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        _wait_painted(page, timeout_s)
        seconds = time.perf_counter() - started
        _wait_idle(page, timeout_s)  # the run ends before the next load starts
        if shot is not None:
            page.screenshot(path=str(shot))
        return seconds
    finally:
        page.close()


def _fills(page) -> str | None:
    from playwright.sync_api import Error as PlaywrightError

    try:
        frame = page.locator(MAP_IFRAME).element_handle(timeout=1000).content_frame()
        return None if frame is None else frame.evaluate(FILLS_JS)
    except PlaywrightError:  # the iframe is being replaced by a rerun
        return None


def _choose_period(page, code: str) -> float:
    """Pick ``code`` in the sidebar's 统计期 box as a viewer does (open it, type, click the option);
    returns perf_counter() at the click."""
    from i18n.text import t
    from indicators import fmt

    label = fmt.period_label(code, "zh")
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text=t("SIDEBAR_PERIOD"))
    box.locator("input").click()
    page.keyboard.type(label)
    option = page.get_by_role("option", name=label, exact=True)
    option.wait_for(timeout=10_000)
    started = time.perf_counter()
    option.click()
    return started


def _colours(fills: str) -> list[str]:
    return [line.split(" ")[1] for line in fills.splitlines()]


def _repaint(page, code: str, timeout_s: float) -> tuple[float, bool] | None:
    """Seconds from choosing period ``code`` to the map's fills (or tooltips) changing, and
    whether a fill changed; None when the script's run ended and, 3 s later, the map still looks
    the same (the two periods colour it alike: a sparse test database, say)."""
    before, finished = _fills(page), page.wire.counts()[1]
    if before is None:
        raise NotPainted("no map to change")
    started = _choose_period(page, code)
    deadline, ended = started + timeout_s, None
    while True:
        now = _fills(page)
        if now is not None and now != before:
            seconds = time.perf_counter() - started
            recoloured = _colours(now) != _colours(before)
            break
        if ended is None and page.wire.counts()[1] > finished and page.locator(SCRIPT_IDLE).count():
            ended = time.perf_counter()
        if ended is not None and time.perf_counter() - ended > 3:
            return None
        if time.perf_counter() > deadline:
            raise NotPainted(f"the map did not change within {timeout_s:,.0f} s")
        page.wait_for_timeout(20)  # (not time.sleep: Playwright delivers events while it waits)
    _wait_idle(page, timeout_s)
    return seconds, recoloured


def _pan_and_zoom(page) -> tuple[int, int, bool]:
    """Zoom and pan through Leaflet, zoom with the wheel and drag with the mouse (as
    tests/test_browser_views.py does); returns (rerun requests, finished runs) seen on the wire
    meanwhile and for QUIET_S after, and whether the map really moved."""
    page.wait_for_timeout(1000)  # let the first render's own value settle (debounced 250 ms)
    before = page.wire.counts()
    iframe = page.locator(MAP_IFRAME).element_handle()
    frame = iframe.content_frame()
    zoom = frame.evaluate("() => window.map.getZoom()")
    frame.evaluate("""() => new Promise(done => {
        window.map.once('zoomend', () => done()); window.map.setZoom(window.map.getZoom() + 1); })""")
    frame.evaluate("""() => new Promise(done => {
        window.map.once('moveend', () => done()); window.map.panBy([120, 80], {animate: false}); })""")
    iframe.scroll_into_view_if_needed()
    box = iframe.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.wheel(0, -120)
    page.wait_for_timeout(500)
    centre = frame.evaluate("() => [window.map.getCenter().lat, window.map.getCenter().lng]")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 150, y - 60, steps=10)
    page.mouse.up()
    page.wait_for_timeout(QUIET_S * 1000)
    after = page.wire.counts()
    moved = (frame.evaluate("() => window.map.getZoom()") > zoom + 1
             and frame.evaluate("() => [window.map.getCenter().lat, window.map.getCenter().lng]") != centre)
    return after[0] - before[0], after[1] - before[1], moved


def browser_rows(b: Bench, loads: int, sessions: int, skip: str | None, warmup_timeout: float,
                 timeout: float, shots: Path | None = None, viewer: str = "demo") -> list[Row]:
    """Paint, repaint, pan and zoom, and the server's memory, in headless Chromium against a
    Streamlit server on ``b.db`` (tests.appserver.AppServer), at the pages' own URLs: the
    overview of the city, the province and the nation (``?period=…&region=…``, ui/state.py).

    ``viewer`` "demo": the database as it is, seen as everyone sees a database without accounts
    (small counts hidden, so a page waits for the year's suppression). "admin": a copy of it with
    one admin account, each browser context logged in by its session cookie (exact counts, no
    suppression: what the maps alone cost)."""
    from queries import indicators, periods

    views = [("city", b.city, 2.0), ("province", b.province, 3.0), ("national", indicators.NATION, 5.0)]
    paint = {name: Row(f"paint: {name} ({b.label(code)})", f"<= {budget:g} s") for name, code, budget in views}
    change = Row("paint: filter change -> map repainted", "<= 1.5 s")
    still = Row("pan and zoom: no script rerun", "0 reruns")
    rss = Row("server RSS after loading", "<= 3 GB")
    per = Row("RSS per extra session", "<= 50 MB")
    rows = [*paint.values(), change, still, rss, per]
    if viewer == "admin":
        for row in rows:
            row.figure += " [admin]"
    if "province" not in indicators.LEVELS:
        for name in ("province", "national"):
            paint[name].verdict = f"{NOT_MEASURABLE} (no {name} level in queries.indicators.LEVELS)"
    if skip is None and not CHROMIUM.exists():
        skip = f"no Chromium at {CHROMIUM}"
    if skip is None:
        try:
            import playwright  # noqa: F401
        except ImportError:
            skip = "playwright is not installed"
    if skip is not None:
        for row in rows:
            row.verdict = row.verdict or f"{NOT_MEASURED} ({skip})"
        return rows

    from playwright.sync_api import sync_playwright

    from tests.appserver import AppServer

    _quiet_streamlit()  # ui.auth's cached functions warn, outside a server, that there is none
    from ui.auth import COOKIE as auth_cookie

    log = Path(tempfile.gettempdir()) / "atlas-bench-national-streamlit.log"
    other = periods.parse(b.period).previous().code
    with contextlib.ExitStack() as stack:
        db, token = b.db, None
        if viewer == "admin":
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="atlas-bench-admin-")))
            db, token = _admin_copy(b.db, folder)
        p = stack.enter_context(sync_playwright())
        server = stack.enter_context(AppServer(db, log, timeout=120))
        url = lambda code, period=b.period: f"{server.url}/?period={period}&region={code}"  # noqa: E731
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        def new_context():
            context = browser.new_context(viewport=VIEWPORT)
            if token:  # logged in, as a reload of a live session is (ui/auth.py, access/sessions.py)
                context.add_cookies([{"name": auth_cookie, "value": token, "url": server.url}])
            return context

        try:
            painted = set()
            for name, code, budget in views:
                if not paint[name].verdict:
                    with _failures_to(paint[name]):
                        if _paint_row(paint[name], new_context, url(code), budget, loads, warmup_timeout, timeout,
                                      shots / f"national_{name}_{viewer}.png" if shots else None):
                            painted.add(name)
            city_painted = "city" in painted
            if not city_painted:
                for row in (still, change, per):
                    row.verdict = f"{NOT_MEASURED} (the city page: {paint['city'].note or paint['city'].verdict})"
            else:
                with _failures_to(still, change):
                    _city_page_rows(b, new_context, url, other, loads, timeout, still, change, shots, viewer)
            # memory: after the loads above, then with ``sessions`` more sessions open on the city
            before = _rss(server.proc.pid)
            rss.measured, rss.verdict = kb(before), verdict(before, 3 * 1024 ** 3)
            size = b.db.stat().st_size / 1024 ** 2
            rss.note = f"streamlit process VmRSS after the loads above, {size:,.0f} MB database"
            if viewer == "admin":
                rss.note += "; an admin's pages (no suppression computed)"
            if city_painted:
                with _failures_to(per):
                    _session_row(per, new_context, url(b.city), sessions, timeout, server.proc.pid, before)
        finally:
            browser.close()
    return rows


VIEWPORT = {"width": 1440, "height": 900}


def _admin_copy(db: Path, folder: Path) -> tuple[Path, str]:
    """A copy of ``db`` with one admin account (every region) and a live login session of it;
    returns the copy and the session's token (the browser's cookie). ``db`` is never written."""
    import secrets
    import shutil

    from access import accounts, sessions
    from db import schema

    copy = folder / "admin.duckdb"
    shutil.copyfile(db, copy)
    if Path(f"{db}.wal").exists():
        shutil.copyfile(f"{db}.wal", f"{copy}.wal")
    schema.upgrade(copy)
    with schema.open_waiting(copy, read_only=False, wait=10) as con:
        accounts.add_user(con, "bench", secrets.token_urlsafe(24), "admin", [accounts.ALL], "bench/national.py")
    return copy, sessions.start(copy, "bench")


@contextlib.contextmanager
def _failures_to(*rows: Row):
    """A map that did not paint, or an error, in one part of the browser's run: its rows say so
    (not measured, or ERROR), and the other parts go on."""
    try:
        yield
    except NotPainted as problem:
        for row in rows:
            row.verdict = row.verdict or f"{NOT_MEASURED} ({problem})"
    except Exception as exc:  # noqa: BLE001 — the other rows must still be measured
        for row in rows:
            row.verdict = row.verdict or f"ERROR {type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


def _paint_row(row: Row, new_context, url: str, budget: float, loads: int, warmup_timeout: float, timeout: float,
               shot: Path | None) -> bool:
    """Time the loads of one view into ``row``; False when even the warm-up load did not paint."""
    context = new_context()
    try:  # one warm-up load: it fills the server's caches for this view
        first = _paint(context, url, warmup_timeout)
    except NotPainted as problem:
        row.measured, row.verdict = f"{warmup_timeout:,.0f} s", "FAIL"
        row.note = f"{problem} on the first load (--warmup-timeout); no timed load"
        return False
    finally:
        context.close()
    seconds = []
    for i in range(loads):
        context = new_context()
        try:
            seconds.append(_paint(context, url, timeout, shot if i == loads - 1 else None))
        except NotPainted as problem:
            seconds.append(timeout)
            row.note = f"{problem} in a timed load (counted as {timeout:g} s); "
        finally:
            context.close()
    median = statistics.median(seconds)
    row.measured, row.verdict = f"{median:.2f} s", verdict(median, budget)
    row.note += (f"median of {loads} loads in new contexts, the browser's cache empty "
                 f"({', '.join(f'{s:.2f}' for s in seconds)} s) after a warm-up load ({first:.1f} s); "
                 "first polygon in the map iframe, looked for every 50 ms (as paint_ratio.py)")
    # a returning visitor: the same browser context (its cache holds Streamlit's ~60 script chunks,
    # fetched a few at a time on a first visit), a new page each load; said, not judged
    context = new_context()
    try:
        _paint(context, url, timeout)
        again = [_paint(context, url, timeout) for _ in range(loads)]
        row.note += (f"; browser cache warm (a returning visitor): median {statistics.median(again):.2f} s "
                     f"({', '.join(f'{s:.2f}' for s in again)} s)")
    except NotPainted as problem:
        row.note += f"; browser cache warm: {problem}"
    finally:
        context.close()
    return True


def _city_page_rows(b: Bench, new_context, url, other: str, loads: int, timeout: float, still: Row, change: Row,
                    shots: Path | None, viewer: str) -> None:
    """On one city page: pan and zoom (watching the wire), then changes of the period."""
    from tests.appserver import Wire

    context = new_context()
    try:
        page = context.new_page()
        page.wire = Wire(page)
        page.goto(url(b.city), wait_until="commit")
        _wait_painted(page, timeout)
        _wait_idle(page, timeout)
        reruns, finished, moved = _pan_and_zoom(page)
        still.measured = f"{reruns} reruns"
        still.verdict = "pass" if reruns == 0 and finished == 0 and moved else "FAIL"
        still.note = (f"zoom +1 and a pan through Leaflet, a wheel zoom and a mouse drag on the city map; "
                      f"BackMsg.rerun_script {reruns}, ForwardMsg.script_finished {finished} on the "
                      f"websocket (tests/appserver.Wire) over the moves and {QUIET_S} s after"
                      + ("" if moved else "; the map did NOT move, so this proves nothing"))
        # a warm server: the first change to the other period computes it; then time changes
        cold = _repaint(page, other, timeout)
        if cold is None:
            change.verdict = (f"{NOT_MEASURED} (the city map looks the same in {b.period} and {other}: "
                              "too few rows to tell a repaint)")
            return
        _repaint(page, b.period, timeout)
        found = [_repaint(page, other if i % 2 == 0 else b.period, timeout) for i in range(loads)]
        if None in found:
            raise NotPainted("a later change of the period left the map as it was")
        seconds = [s for s, _ in found]
        recoloured = sum(r for _, r in found)
        median = statistics.median(seconds)
        change.measured, change.verdict = f"{median:.2f} s", verdict(median, 1.5)
        change.note = (f"the sidebar's 统计期 {b.period} <-> {other} on the city overview, until the "
                       f"map's fills or tooltips change; median of {loads} "
                       f"({', '.join(f'{s:.2f}' for s in seconds)} s; fills recoloured in {recoloured} of {loads}, "
                       f"only the tooltips changed otherwise) after one change each way (first {cold[0]:.1f} s, "
                       "the other period not yet cached)")
        if shots:
            page.screenshot(path=str(shots / f"national_filter_change_{viewer}.png"))
    finally:
        context.close()


def _session_row(row: Row, new_context, url: str, sessions: int, timeout: float, pid: int, before: int) -> None:
    extra = [new_context() for _ in range(sessions)]
    try:
        for context in extra:
            page = context.new_page()
            page.goto(url, wait_until="commit")
            _wait_painted(page, timeout)
            _wait_idle(page, timeout)
        grown = (_rss(pid) - before) / sessions
        row.measured, row.verdict = kb(max(grown, 0)), verdict(grown, 50 * 1024 ** 2)
        row.note = f"(VmRSS with {sessions} more sessions open on the city page, each painted - before) / {sessions}"
    finally:
        for context in extra:
            context.close()


# --------------------------------------------------------------------------- report


def attempt(figure: str, budget: str, fn) -> list[Row]:
    """Run one measurement; an exception becomes an ERROR row (and the exit status 1), not a crash."""
    try:
        found = fn()
        return found if isinstance(found, list) else [found]
    except Exception as exc:  # noqa: BLE001 — the table must still print
        return [Row(figure, budget, verdict=f"ERROR {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")]


def render(rows: list[Row]) -> str:
    header = ["figure", "budget", "measured", "verdict", "how"]
    cells = [[r.figure, r.budget, r.measured or "—", r.verdict, r.note] for r in rows]
    widths = [max(len(c[i]) for c in [header] + cells) for i in range(4)]
    line = lambda c: "  ".join(x.ljust(w) for x, w in zip(c[:4], widths)) + "  " + c[4]  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths] + ["---"])] + [line(c).rstrip() for c in cells])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=None, help=f"national database (default {default_db()}; built if missing)")
    parser.add_argument("--provinces", default=None, help="when building: 2-digit codes, comma-separated (default all)")
    parser.add_argument("--rows", type=float, default=1.0, help="when building: the share of the programme rows")
    parser.add_argument("--reps", type=int, default=5, help="timed runs per query (median; after one warm-up)")
    parser.add_argument("--loads", type=int, default=3, help="timed page loads in Chromium (median)")
    parser.add_argument("--province", help="the province measured (default: the one with most townships)")
    parser.add_argument("--city", help="the city measured (default: the province's city with most townships)")
    parser.add_argument("--period", help="the period measured (default: the latest complete month)")
    parser.add_argument("--no-browser", action="store_true", help="skip Chromium (paint, RSS rows say so)")
    parser.add_argument("--browser-only", action="store_true", help="measure the browser's rows alone")
    parser.add_argument("--viewer", choices=("demo", "admin"), default="demo",
                        help="who looks: everyone, as in a database without accounts (small counts hidden), or "
                             "an admin logged in on a copy of the database (exact counts, no suppression)")
    parser.add_argument("--no-suppression", action="store_true",
                        help="skip the year's suppression (minutes at full national scale, computed in the background by the app)")
    parser.add_argument("--warmup-timeout", type=float, default=900,
                        help="seconds for each view's first page load (it fills the server's caches)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds for a timed load or map change")
    parser.add_argument("--sessions", type=int, default=5, help="extra browser sessions opened for RSS per session")
    parser.add_argument("--import-rows", type=int, default=5_000_000, help="rows of the imported CSV (default 5000000)")
    parser.add_argument("--import-small-rows", type=int, default=1_000_000,
                        help="rows of the smaller CSV the big one's peak memory is compared with (default 1000000)")
    parser.add_argument("--import-db", help="a city demo database to import into (copied; default: build one)")
    parser.add_argument("--no-import", action="store_true", help="skip the import's memory")
    parser.add_argument("--shots", type=Path, help="a folder for screenshots of the pages measured (1440x900)")
    args = parser.parse_args(argv)

    db = (args.db or default_db()).resolve()
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    provinces = [p.strip() for p in args.provinces.split(",")] if args.provinces else None
    ensure_db(db, provinces, args.rows)
    b = Bench(db, max(1, args.reps), args.period, args.province, args.city)
    print(f"Federation Atlas national benchmark · {time.strftime('%Y-%m-%d %H:%M')} · "
          f"python {sys.version.split()[0]} · {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"database: {db} ({db.stat().st_size / 1024 ** 2:,.0f} MB, {b.townships:,} atlas townships); "
          f"period {b.period}; province {b.label(b.province)}; city {b.label(b.city)}", flush=True)

    rows: list[Row] = []

    def step(name: str, figure: str, budget: str, fn):
        started = time.perf_counter()
        found = attempt(figure, budget, fn)
        rows.extend(found)
        print(f"  {name} ({time.perf_counter() - started:.0f} s): "
              + "; ".join(r.measured or r.verdict for r in found), flush=True)

    if not args.browser_only:  # (the whole table; --browser-only: the browser's rows alone)
        step("queries", "queries", "", lambda: query_rows(b))
        national: dict = {}

        def national_towns() -> list[Row]:
            seconds, frame = timed(lambda: b.table("township", None), b.reps)
            national.update(seconds=seconds, frame=frame)
            return [Row("query: national township table (for the pandas ratio)", "(information)",
                        f"{seconds * 1000:,.0f} ms", "info", f"{len(frame):,} rows, median of {b.reps}")]

        step("national township table", "query: national township table", "(information)", national_towns)
        step("pandas", "pandas: the same township indicators, national", ">= 10x slower",
             lambda: pandas_rows(b, national["seconds"], national["frame"]))
        step("payloads", "payloads", "", lambda: payload_rows(b))
        step("Fisher-Jenks", f"Fisher-Jenks on {JENKS_VALUES:,} values", "<= 1 s",
             lambda: jenks_row(national["frame"]))
        step("hotspots", "hotspots: a province's townships", "<= 5 s", lambda: hotspot_row(b))
        if args.no_suppression:
            rows.append(Row("suppression: a year at national scale", "<= 600 s",
                            verdict=f"{NOT_MEASURED} (--no-suppression)"))
        else:
            step("suppression", "suppression: a year at national scale", "<= 600 s", lambda: suppression_row(b))
        if args.no_import:
            rows.append(Row(f"import: a {args.import_rows:,}-row CSV, memory flat", "flat peak RSS",
                            verdict=f"{NOT_MEASURED} (--no-import)"))
        else:
            step("import", f"import: a {args.import_rows:,}-row CSV, memory flat", "flat peak RSS",
                 lambda: import_rows(args.import_rows, args.import_small_rows, args.import_db))
    step("browser", "paint", "", lambda: browser_rows(b, args.loads, args.sessions,
                                                      "--no-browser" if args.no_browser else None,
                                                      args.warmup_timeout, args.timeout, args.shots, args.viewer))
    return report(rows, "not measured", lambda r: r.verdict.startswith(("not measurable", "not measured")))


def report(rows: list[Row], other: str, is_other) -> int:
    """Print the table and its count line (pass, FAIL, ERROR, and the rows ``is_other`` picks,
    named ``other``); the exit status: 1 if any row is an ERROR. Shared by bench/lake.py."""
    print()
    print(render(rows))
    failed = sum(r.verdict == "FAIL" for r in rows)
    errors = sum(r.verdict.startswith("ERROR") for r in rows)
    print(f"\n{sum(r.verdict == 'pass' for r in rows)} pass, {failed} FAIL, {errors} ERROR, "
          f"{sum(bool(is_other(r)) for r in rows)} {other}; "
          f"times on this machine at load {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores shared).")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
