"""Benchmark the township maps: how much each page sends, and how long the map takes to paint.

    python bench/map_payload.py [--db PATH] [--build] [--loads 5] [--no-browser] [--json PATH]

Measures, for the city view (the largest map):

* ``--build``: the time of ``data.demo.build`` at full scale into a temporary file;
* the city-view township GeoJSON, built exactly as ``ui.data._township_geojson`` builds it
  (``township_shapes`` query -> ``boundaries.from_rows`` -> ``shapes.for_view`` ->
  ``shapes.to_geojson``), without Streamlit;
* per page, the st_folium payload: the page script (``app_pages/<page>.py``) is run in
  Streamlit's bare mode with ``streamlit_folium``'s component function replaced by a recorder,
  so the map is built by the app's own code; the size reported is the component's arguments
  serialised the way Streamlit serialises them (``json.dumps`` of the keyword arguments plus
  ``default`` and ``key``; ASCII-escaped, so each Chinese character costs 6 bytes);
* per page, in headless Chromium against ``streamlit run app.py`` (started like the browser
  test does): the time from ``page.goto`` to the first ``path.leaflet-interactive`` visible in
  the map iframe.

  - first: the first load after a fresh server start (cold Python caches, cold browser cache);
  - cold:  median of N loads, each in a new browser context (empty HTTP cache), server warm;
  - warm:  median of N loads in one browser context after one warm-up load (HTTP cache warm).

  Also the bytes the browser received per cold load: HTTP (encoded, from the DevTools
  protocol) and websocket frames (after permessage-deflate, i.e. the protobuf messages).

The database defaults to $ATLAS_DB or data/atlas.duckdb; if it does not exist, the full-scale
demo is built there first. Aim: payload <= 300 KB and paint <= 2 s (misses are marked '!').
"""
from __future__ import annotations

import argparse
import json
import os
import runpy
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.appserver import AppServer  # noqa: E402  (the same runner the browser tests use)

PAGES = {"overview": "", "coverage": "coverage", "screening": "screening", "hotspots": "hotspots"}
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'
AIM_PAYLOAD_KB = 300
AIM_PAINT_S = 2.0
GEOJSON_PROPERTIES = ["region_code", "region_name", "county_code", "boundary_source"]


def kb(n: int | float) -> float:
    return n / 1024


# --------------------------------------------------------------------------- database


def ensure_db(path: Path) -> None:
    if path.exists():
        return
    from data import demo

    print(f"no database at {path}: building the full-scale demo there …", flush=True)
    started = time.perf_counter()
    demo.build(path, seed=demo.DEFAULT_SEED, scale=1.0)
    print(f"built in {time.perf_counter() - started:.1f} s", flush=True)


def time_demo_build() -> float:
    from data import demo

    with tempfile.TemporaryDirectory(prefix="atlas-bench-") as folder:
        started = time.perf_counter()
        demo.build(Path(folder) / "atlas.duckdb", seed=demo.DEFAULT_SEED, scale=1.0)
        return time.perf_counter() - started


def describe_db(db: Path) -> dict:
    from queries import indicators, runner

    with runner.connect(db) as con:
        version = runner.run(con, "data_version").iloc[0].to_dict()
        regions = runner.run(con, "regions_in_atlas", scope=indicators.EVERYTHING)
    return {"version": version, "regions": regions}


def city_geojson(db: Path, regions) -> dict:
    """The city-view GeoJSON exactly as ui.data._township_geojson makes it (no Streamlit)."""
    from geo import boundaries, shapes
    from queries import indicators, runner

    out = {}
    for row in regions.itertuples():
        view = "city" if row.level == "city" else "county"
        started = time.perf_counter()
        with runner.connect(db) as con:
            rows = runner.run(con, "township_shapes",
                              scope=indicators.narrow(indicators.EVERYTHING, row.region_code) or ["-"])
        frame = boundaries.from_rows(rows)
        text = shapes.to_geojson(shapes.for_view(frame, view), GEOJSON_PROPERTIES)
        out[row.region_code] = {
            "name": row.name, "view": view, "bytes": len(text.encode("utf-8")),
            "features": len(json.loads(text)["features"]), "seconds": time.perf_counter() - started,
        }
    return out


# --------------------------------------------------------------------------- st_folium payload


def st_folium_payloads(db: Path) -> dict[str, dict]:
    """Run each page script in bare mode and record what st_folium hands to the component."""
    os.environ["ATLAS_DB"] = str(db)
    import streamlit.logger
    from streamlit import config

    # Bare mode warns about the missing runtime on every st call: keep the report readable.
    # (STREAMLIT_* variables only reach the config through `streamlit run`, so set it here.)
    config.get_option("logger.level")  # parse the config first, or parsing would reset the level
    config.set_option("logger.level", "error")
    streamlit.logger.set_log_level("error")
    import streamlit_folium

    calls: list[dict] = []

    def record(**kwargs):
        calls.append(kwargs)
        return kwargs.get("default")

    original = streamlit_folium._component_func
    streamlit_folium._component_func = record
    out = {}
    try:
        for name in PAGES:
            calls.clear()
            runpy.run_path(str(ROOT / "app_pages" / f"{name}.py"), run_name="__main__")
            if len(calls) != 1:
                raise RuntimeError(f"{name}: expected one st_folium call, saw {len(calls)}")
            kwargs = dict(calls[0])
            kwargs.pop("on_change", None)  # a Python callback: never sent to the browser
            # Streamlit sends the kwargs plus default and key, as json.dumps(...) (ASCII-escaped).
            sent = json.dumps(kwargs)
            out[name] = {
                "args_bytes": len(sent.encode("utf-8")),
                "args_bytes_utf8": len(json.dumps(kwargs, ensure_ascii=False).encode("utf-8")),
                "script_bytes": len(json.dumps(kwargs["script"])),
                "circle_markers": kwargs["script"].count("L.circleMarker("),
            }
    finally:
        streamlit_folium._component_func = original
    return out


# --------------------------------------------------------------------------- the app in a browser


def measure_load(context, url: str) -> dict:
    """One navigation: seconds to the first township/marker path visible, and bytes received."""
    page = context.new_page()
    received = {"http": 0, "ws": 0}

    def on_ws(ws):
        ws.on("framereceived", lambda payload: received.__setitem__(
            "ws", received["ws"] + len(payload if isinstance(payload, bytes) else payload.encode())))

    page.on("websocket", on_ws)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on("Network.loadingFinished", lambda e: received.__setitem__(
        "http", received["http"] + int(e.get("encodedDataLength", 0))))
    try:
        started = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.frame_locator(MAP_IFRAME).locator("path.leaflet-interactive").first.wait_for(
            state="visible", timeout=120_000)
        paint = time.perf_counter() - started
        # let the run finish so every websocket message of the page is counted
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=60_000)
        page.wait_for_load_state("networkidle")
        return {"paint": paint, **received}
    finally:
        cdp.detach()
        page.close()


def browser_timings(db: Path, loads: int, log: Path) -> dict[str, dict]:
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        viewport = {"width": 1400, "height": 1000}
        try:
            for name, path in PAGES.items():
                print(f"  {name}: ", end="", flush=True)
                with AppServer(db, log) as server:  # a fresh server: 'first' is really cold
                    url = f"{server.url}/{path}"
                    fresh = browser.new_context(viewport=viewport)
                    first = measure_load(fresh, url)
                    fresh.close()
                    cold = []
                    for _ in range(loads):
                        fresh = browser.new_context(viewport=viewport)
                        cold.append(measure_load(fresh, url))
                        fresh.close()
                    shared = browser.new_context(viewport=viewport)
                    measure_load(shared, url)  # warm-up: fills the HTTP cache
                    warm = [measure_load(shared, url) for _ in range(loads)]
                    shared.close()
                out[name] = {
                    "paint_first": first["paint"],
                    "paint_cold": statistics.median(x["paint"] for x in cold),
                    "paint_warm": statistics.median(x["paint"] for x in warm),
                    "paint_cold_all": [x["paint"] for x in cold],
                    "paint_warm_all": [x["paint"] for x in warm],
                    "http_cold": statistics.median(x["http"] for x in cold),
                    "http_warm": statistics.median(x["http"] for x in warm),
                    "ws": statistics.median(x["ws"] for x in cold),
                }
                print(f"first {first['paint']:.2f} s, cold {out[name]['paint_cold']:.2f} s, "
                      f"warm {out[name]['paint_warm']:.2f} s", flush=True)
        finally:
            browser.close()
    return out


# --------------------------------------------------------------------------- report


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def flag(value: float, aim: float) -> str:
    return "!" if value > aim else " "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="database (default: $ATLAS_DB or data/atlas.duckdb; built if missing)")
    parser.add_argument("--build", action="store_true", help="also time data.demo.build at full scale")
    parser.add_argument("--loads", type=int, default=5, help="measured loads per page and mode (default 5)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium paint timings")
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures as JSON")
    args = parser.parse_args(argv)

    from db import paths

    db = paths.db_path(args.db).resolve()
    ensure_db(db)
    results: dict = {"db": str(db)}
    print(f"Federation Atlas map benchmark · {time.strftime('%Y-%m-%d %H:%M')} · python {sys.version.split()[0]}")
    info = describe_db(db)
    version = info["version"]
    print(f"database: {db} (version {version['version']}, {version['note']})")

    if args.build:
        seconds = time_demo_build()
        results["demo_build_seconds"] = seconds
        print(f"data.demo.build, full scale, into a temp file: {seconds:.1f} s")

    geo = city_geojson(db, info["regions"])
    results["geojson"] = geo
    city = next(v for v in geo.values() if v["view"] == "city")
    counties = [v for v in geo.values() if v["view"] == "county"]
    print(f"city-view township GeoJSON: {kb(city['bytes']):.1f} KB, {city['features']} townships "
          f"(built in {city['seconds']:.2f} s)")
    if counties:
        print("county-view GeoJSON: " + ", ".join(f"{c['name']} {kb(c['bytes']):.1f} KB/{c['features']}"
                                                  for c in counties))

    payloads = st_folium_payloads(db)
    results["payload"] = payloads

    timings: dict = {}
    if args.no_browser:
        print("browser timings: skipped (--no-browser)")
    elif not CHROMIUM.exists():
        print(f"browser timings: skipped (no Chromium at {CHROMIUM})")
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            print("browser timings: skipped (playwright is not installed)")
        else:
            log = Path(tempfile.gettempdir()) / "atlas-bench-streamlit.log"
            print(f"browser timings ({args.loads} loads per mode; server log {log}):")
            timings = browser_timings(db, args.loads, log)
    results["browser"] = timings

    header = ["page (city view)", "st_folium KB", "script KB", "markers"]
    if timings:
        header += ["ws KB", "http cold KB", "http warm KB", "paint first s", "paint cold s", "paint warm s"]
    rows = []
    for name, p in payloads.items():
        payload_kb = kb(p["args_bytes"])
        row = [name, f"{payload_kb:.1f}{flag(payload_kb, AIM_PAYLOAD_KB)}", f"{kb(p['script_bytes']):.1f}",
               str(p["circle_markers"])]
        if timings:
            t = timings[name]
            row += [f"{kb(t['ws']):.1f}", f"{kb(t['http_cold']):.0f}", f"{kb(t['http_warm']):.0f}"]
            row += [f"{t[k]:.2f}{flag(t[k], AIM_PAINT_S)}" for k in ("paint_first", "paint_cold", "paint_warm")]
        rows.append(row)
    print()
    print(table(rows, header))
    print(f"\naim: st_folium payload <= {AIM_PAYLOAD_KB} KB, paint <= {AIM_PAINT_S:.0f} s; '!' marks a miss.")
    print("st_folium KB = component args as Streamlit serialises them (ASCII-escaped JSON); "
          "UTF-8 would be " + ", ".join(f"{n} {kb(p['args_bytes_utf8']):.1f}" for n, p in payloads.items()) + " KB.")
    if timings:
        print("paint = page.goto -> first path.leaflet-interactive visible in the map iframe; "
              "first = first load after server start, cold/warm = median (new context / same context).")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        serialisable = json.loads(json.dumps(results, default=str))
        Path(args.json).write_text(json.dumps(serialisable, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"raw figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
