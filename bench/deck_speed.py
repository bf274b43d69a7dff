"""Benchmark the whole-deck PPTX export for the full-scale demo city.

    python bench/deck_speed.py [--db PATH] [--runs 3] [--out DIR]

Times ``python cli.py snapshot --all --out deck.pptx`` as a user runs it (a fresh process: imports,
font registration, queries, four maps, the file), then in-process runs split into the view models
(queries) and the rendering (maps, tables, the file). The database defaults to
$ATLAS_DB or data/atlas.duckdb; if it does not exist, the full-scale demo is built there first.
Aim: a whole deck in under 10 s (a miss is marked '!').
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

AIM_S = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database (default: $ATLAS_DB or data/atlas.duckdb)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs after the first (default 3)")
    parser.add_argument("--out", help="folder for the deck (default: a temporary folder)")
    args = parser.parse_args(argv)

    from db import paths

    db = paths.db_path(args.db)
    if not db.exists():
        from data import demo

        print(f"building the full-scale demo at {db} …", file=sys.stderr)
        demo.build(db, seed=demo.DEFAULT_SEED, scale=1.0)

    out_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="deck_speed_"))
    out_dir.mkdir(parents=True, exist_ok=True)
    deck = out_dir / "deck.pptx"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "cli.py"), "snapshot", "--all", "--out", str(deck), "--db", str(db)],
                   check=True, stdout=subprocess.DEVNULL)
    cli_s = time.perf_counter() - t0

    started = time.perf_counter()
    from export import slides, snapshot, views  # noqa: F401  (import cost is part of a cold run)
    from queries import runner
    import_s = time.perf_counter() - started

    totals, model_times, render_times = [], [], []
    for run in range(args.runs + 1):
        t0 = time.perf_counter()
        with runner.connect(db) as con:
            built = views.build_deck(con, views.ViewSpec())
            t1 = time.perf_counter()
            slides.write(built, deck)
        t2 = time.perf_counter()
        if run == 0:
            first = (t1 - t0, t2 - t1, t2 - t0)
            townships, rows = len(built[0].townships), int(built[0].townships["households_total"].sum())
            continue
        model_times.append(t1 - t0)
        render_times.append(t2 - t1)
        totals.append(t2 - t0)
    t0 = time.perf_counter()
    with runner.connect(db) as con:
        snapshot.write(con, deck, views.ViewSpec(), whole_deck=True)
    cli_path = time.perf_counter() - t0

    from pptx import Presentation

    n_slides = len(Presentation(str(deck)).slides)
    median = statistics.median(totals) if totals else first[2]
    mark = "" if cli_s <= AIM_S else " !"
    print(f"database: {db} ({townships} townships, {rows:,} households)")
    print(f"deck: {deck} ({n_slides} slides, {deck.stat().st_size / 1024:.0f} KB)")
    print(f"python cli.py snapshot --all --out deck.pptx (fresh process): {cli_s:.2f} s; aim < {AIM_S:.0f} s{mark}")
    print(f"in process: imports (export, matplotlib, pptx): {import_s:.2f} s")
    print(f"first run: views {first[0]:.2f} s + render {first[1]:.2f} s = {first[2]:.2f} s")
    if totals:
        print(f"warm runs (median of {len(totals)}): views {statistics.median(model_times):.2f} s"
              f" + render {statistics.median(render_times):.2f} s = {median:.2f} s")
    print(f"snapshot.write(--all, .pptx), warm: {cli_path:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
