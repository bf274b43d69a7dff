"""Concurrency probe: browser sessions reading while imports and undos write.

    python bench/concurrency.py [--db PATH] [--sessions 10] [--imports 6] [--out DIR]

Starts the app on a copy of a database (``--db``; default: a new demo at scale 0.05), opens
``--sessions`` headless Chromium sessions that reload the map pages in turn, and meanwhile runs
``--imports`` ``cli.py import`` runs one after another (a 区划与底数 ledger with the households of
every township times 2, 3, 4 …), each undone (``cli.py import --undo``) before the next.
Reports: imports and undos (exit codes, seconds), page loads, Streamlit exceptions on the pages,
browser page errors, and whether the database ends as it began (households per township).
Nothing here is a test: the figures are quoted in issue notes.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PAGES = ["", "coverage", "screening", "hotspots"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--imports", type=int, default=6)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    import duckdb
    from openpyxl import Workbook
    from playwright.sync_api import sync_playwright

    from tests.appserver import AppServer
    from tests.support import CHROMIUM, CHROMIUM_ARGS

    work = Path(args.out or tempfile.mkdtemp(prefix="atlas-concurrency-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "atlas.duckdb"
    if args.db:
        shutil.copy(args.db, db)
    else:
        subprocess.run([sys.executable, "cli.py", "demo", "--db", str(db), "--scale", "0.05"], cwd=ROOT, check=True,
                       capture_output=True)

    def households() -> list:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute("""select r.region_code, r.households_total from regions as r
                                  where r.level = 'township' and r.in_atlas order by 1""").fetchall()

    def ledger(factor: int) -> Path:
        with duckdb.connect(str(db), read_only=True) as con:
            rows = con.execute("""select c.name, t.name, t.households_total, t.villages_total from regions as t
                                  join regions as c on c.region_code = t.county_code
                                  where t.level = 'township' and t.in_atlas order by t.region_code""").fetchall()
        book = Workbook()
        sheet = book.active
        sheet.append(["区县", "乡镇（街道）", "户数（户）", "村（社区）数"])
        for county, town, n, villages in rows:
            sheet.append([county, town, (n or 0) * factor + factor, villages])
        path = work / f"底数-{factor}.xlsx"
        book.save(path)
        return path

    before = households()
    files = [ledger(f) for f in range(2, 2 + args.imports)]
    stop = threading.Event()
    stats = {"loads": 0, "exceptions": 0, "page_errors": [], "load_seconds": []}
    lock = threading.Lock()

    with AppServer(db, work / "app.log") as server:
        def session(n: int) -> None:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="zh-CN")
                page.on("pageerror", lambda e: stats["page_errors"].append(f"session {n}: {e}"))
                i = n
                while not stop.is_set():
                    started = time.perf_counter()
                    page.goto(f"{server.url}/{PAGES[i % len(PAGES)]}")
                    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=120_000)
                    errors = page.locator('[data-testid="stException"]').count()
                    with lock:
                        stats["loads"] += 1
                        stats["exceptions"] += errors
                        stats["load_seconds"].append(time.perf_counter() - started)
                    i += 1
                browser.close()

        threads = [threading.Thread(target=session, args=(n,), daemon=True) for n in range(args.sessions)]
        for thread in threads:
            thread.start()
        time.sleep(10)  # every session has a page up
        runs = []

        def cli_run(what: str, argv: list[str], **extra) -> dict:
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "cli.py", "import", *argv, "--db", str(db), "--json"],
                                  cwd=ROOT, capture_output=True, text=True)
            out = json.loads(done.stdout) if done.stdout.strip() else {}
            run = {"what": what, **extra, "exit": done.returncode, "status": out.get("status"),
                   "import_id": out.get("import_id", extra.get("import_id")),
                   "seconds": round(time.perf_counter() - started, 1)}
            runs.append(run)
            return run

        # each import is undone before the next (an import whose rows a later one replaced in
        # full is superseded and cannot be undone on its own: see README)
        for path in files:
            imported = cli_run("import", [str(path)], file=path.name)
            if imported["import_id"]:
                cli_run("undo", ["--undo", str(imported["import_id"])], import_id=imported["import_id"])
        time.sleep(5)
        stop.set()
        for thread in threads:
            thread.join(timeout=180)

    after = households()
    loads = stats["load_seconds"]
    report = {
        "sessions": args.sessions, "runs": runs, "page_loads": stats["loads"],
        "page_load_seconds_median": round(statistics.median(loads), 2) if loads else None,
        "page_load_seconds_max": round(max(loads), 2) if loads else None,
        "streamlit_exceptions": stats["exceptions"], "browser_page_errors": stats["page_errors"][:10],
        "database_as_it_began": before == after,
    }
    print(json.dumps(report, ensure_ascii=False, indent=1))
    ok = all(r["exit"] == 0 for r in runs) and not stats["exceptions"] and not stats["page_errors"] and before == after
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
