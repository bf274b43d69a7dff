"""Benchmark the atlas at national scale: every figure of issue #16's "What must be fast", one table.

    python bench/national.py [--db PATH] [--provinces 32] [--rows 0.01] [--reps 5] [--loads 3]
                             [--province 32] [--city 3207] [--period 2025-06] [--no-browser]

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
* in headless Chromium (``tests.appserver.AppServer`` + Playwright + /usr/bin/chromium):
  navigation -> first township path painted, for the city (median of ``--loads`` loads, each in
  a new browser context, after one warm-up load), and the server's RSS after those loads and
  per extra session;
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
        return f"{self.names.get(code, code)} {code}"

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
        (f"query: city township table ({b.label(b.city)}, {b.city_towns} townships)", "township", b.city, 0.1),
        (f"query: province township table ({b.label(b.province)}, {b.province_towns} townships)",
         "township", b.province, 0.3),
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
    """What a user would write instead: read the raw tables into pandas, then count per township."""
    import numpy as np
    import pandas as pd

    from queries import periods, runner

    p = periods.parse(b.period)
    started = time.perf_counter()
    with runner.connect(b.db) as con:
        towns = con.execute("select region_code from regions where level = 'township' and in_atlas").df()
        screenings = con.execute("select township_code, household_id, screened_date, risk_level from screenings").df()
        cases = con.execute("select township_code, received_date from cases").df()
        reports = con.execute("select (select count(*) from screening_summaries) "
                              "+ (select count(*) from case_summaries)").fetchone()[0]
    load = time.perf_counter() - started
    start, end = pd.Timestamp(p.start), pd.Timestamp(p.end)

    def compute() -> pd.DataFrame:
        s = screenings[(screenings["screened_date"] >= start) & (screenings["screened_date"] <= end)]
        rank = s["risk_level"].map({"无": 0, "低": 1, "中": 2, "高": 3}).fillna(0)
        top = rank.groupby([s["township_code"], s["household_id"]]).max().reset_index(name="top")
        per = top.groupby("township_code").agg(households_screened=("top", "size"),
                                               risk_households=("top", lambda r: int((r >= 2).sum())))
        c = cases[(cases["received_date"] >= start) & (cases["received_date"] <= end)]
        received = c.groupby("township_code").size().rename("cases_received")
        out = towns.set_index("region_code").join(per).join(received).fillna(0).astype(np.int64)
        return out.reset_index()

    compute()  # warm-up, as ours
    seconds = []
    for _ in range(b.reps):
        started = time.perf_counter()
        theirs = compute()
        seconds.append(time.perf_counter() - started)
    pandas_seconds = statistics.median(seconds)
    columns = ["households_screened", "risk_households", "cases_received"]
    mine = ours.set_index("region_code")[columns].astype(np.int64).sort_index()
    same = mine.equals(theirs.set_index("region_code")[columns].sort_index())
    ratio = pandas_seconds / ours_seconds
    note = (f"{len(theirs):,} townships, {b.period}; pandas median of {b.reps} on frames in memory "
            f"({pandas_seconds:.2f} s) / ours ({ours_seconds:.2f} s, every indicator); "
            f"same counts: {'yes' if same else 'NO'}")
    if reports:
        note += f" ({reports} summary reports: pandas ignores them)"
    del screenings, cases
    gc.collect()
    return [
        Row("pandas: the same township indicators, national", ">= 10x slower", f"{ratio:.2f}x",
            verdict(ratio, 10.0, higher_is_better=True), note),
        Row("pandas: reading the raw tables first", "(information)", f"{load:.1f} s",
            "info", "not in the ratio: a warm server has its data loaded too"),
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


def _paint(context, url: str, timeout_s: float) -> float:
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.frame_locator(MAP_IFRAME).locator("path.leaflet-interactive").first.wait_for(
            state="visible", timeout=timeout_s * 1000)
        seconds = time.perf_counter() - started
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
            timeout=timeout_s * 1000)
        return seconds
    finally:
        page.close()


def browser_rows(b: Bench, loads: int, skip: str | None, warmup_timeout: float) -> list[Row]:
    from queries import indicators

    rows = [Row(f"paint: city ({b.label(b.city)})", "<= 2 s"), Row("paint: province", "<= 3 s"),
            Row("paint: national", "<= 5 s"), Row("paint: filter change -> map repainted", "<= 1.5 s"),
            Row("server RSS after loading", "<= 3 GB"), Row("RSS per extra session", "<= 50 MB")]
    has_province = "province" in indicators.LEVELS
    if not has_province:
        rows[1].verdict = f"{NOT_MEASURABLE} (no province level)"
        rows[2].verdict = f"{NOT_MEASURABLE} (no national level)"
    else:
        rows[1].verdict = rows[2].verdict = f"{NOT_MEASURED} (bench/national.py does not know their URLs yet)"
    rows[3].verdict = f"{NOT_MEASURED} (bench/national.py times loads, not filter changes, yet)"
    if skip is None and not CHROMIUM.exists():
        skip = f"no Chromium at {CHROMIUM}"
    if skip is None:
        try:
            import playwright  # noqa: F401
        except ImportError:
            skip = "playwright is not installed"
    if skip is not None:
        for row in (rows[0], rows[4], rows[5]):
            row.verdict = f"{NOT_MEASURED} ({skip})"
        return rows

    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    from tests.appserver import AppServer

    log = Path(tempfile.gettempdir()) / "atlas-bench-national-streamlit.log"
    viewport = {"width": 1440, "height": 900}
    url_of = lambda server: f"{server.url}/?region={b.city}&period={b.period}"  # noqa: E731
    with sync_playwright() as p, AppServer(b.db, log, timeout=120) as server:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=viewport)
            try:
                first = _paint(context, url_of(server), warmup_timeout)  # fills the server's caches
            except PlaywrightTimeout:
                rows[0].measured, rows[0].verdict = f"{warmup_timeout:,.0f} s", "FAIL"
                rows[0].note = "no map painted within the first load's timeout (--warmup-timeout)"
                rows[4].measured = kb(_rss(server.proc.pid))
                rows[4].verdict = verdict(_rss(server.proc.pid), 3 * 1024 ** 3)
                rows[4].note = "streamlit process VmRSS after the first load timed out"
                rows[5].verdict = f"{NOT_MEASURED} (the city page did not paint)"
                return rows
            finally:
                context.close()
            paints = []
            for _ in range(loads):
                context = browser.new_context(viewport=viewport)
                paints.append(_paint(context, url_of(server), 120))
                context.close()
            before = _rss(server.proc.pid)
            extra = [browser.new_context(viewport=viewport) for _ in range(3)]
            pages = []
            for context in extra:  # three more sessions, kept open
                page = context.new_page()
                page.goto(url_of(server), wait_until="commit")
                page.frame_locator(MAP_IFRAME).locator("path.leaflet-interactive").first.wait_for(
                    state="visible", timeout=120_000)
                pages.append(page)
            after = _rss(server.proc.pid)
            for context in extra:
                context.close()
        finally:
            browser.close()
    paint = statistics.median(paints)
    rows[0].measured, rows[0].verdict = f"{paint:.2f} s", verdict(paint, 2.0)
    rows[0].note = (f"median of {loads} loads in new contexts after a warm-up load ({first:.1f} s, "
                    f"first after server start)")
    rows[4].measured, rows[4].verdict = kb(before), verdict(before, 3 * 1024 ** 3)
    rows[4].note = "streamlit process VmRSS after the city loads"
    per = (after - before) / 3
    rows[5].measured, rows[5].verdict = kb(max(per, 0)), verdict(per, 50 * 1024 ** 2)
    rows[5].note = "(RSS with 3 more open sessions - before) / 3"
    return rows


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
    parser.add_argument("--no-suppression", action="store_true",
                        help="skip the year's suppression (at full national scale it runs for over half an hour)")
    parser.add_argument("--warmup-timeout", type=float, default=900, help="seconds for the first page load")
    args = parser.parse_args(argv)

    db = (args.db or default_db()).resolve()
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
    step("Fisher-Jenks", f"Fisher-Jenks on {JENKS_VALUES:,} values", "<= 1 s", lambda: jenks_row(national["frame"]))
    step("hotspots", "hotspots: a province's townships", "<= 5 s", lambda: hotspot_row(b))
    if args.no_suppression:
        rows.append(Row("suppression: a year at national scale", "<= 5 s",
                        verdict=f"{NOT_MEASURED} (--no-suppression)"))
    else:
        step("suppression", "suppression: a year at national scale", "<= 5 s", lambda: suppression_row(b))
    rows.append(Row("import: a 5,000,000-row CSV, memory flat", "flat peak RSS",
                    verdict=f"{NOT_MEASURED} (bench/import_speed.py --db <national db> --rows-csv 5000000)"))
    step("browser", "paint", "", lambda: browser_rows(b, args.loads, "--no-browser" if args.no_browser else None,
                                                      args.warmup_timeout))
    print()
    print(render(rows))
    failed = sum(r.verdict == "FAIL" for r in rows)
    errors = sum(r.verdict.startswith("ERROR") for r in rows)
    print(f"\n{sum(r.verdict == 'pass' for r in rows)} pass, {failed} FAIL, {errors} ERROR, "
          f"{sum(r.verdict.startswith(('not measurable', 'not measured')) for r in rows)} not measured; "
          f"times on this machine at load {os.getloadavg()[0]:.1f} (2 cores shared).")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
