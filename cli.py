"""Federation Atlas command line: build the demo, print indicators.

    python cli.py demo [--db PATH] [--seed N] [--scale X]
    python cli.py indicators [--db PATH] [--level township|county|city] [--region CODE] [--period P] --json
"""
import argparse
import json
import sys
import time

from db import paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cli.py", description="Federation Atlas (妇联工作地图)")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="build the demo city (连云港市) into the database")
    demo.add_argument("--db", help="database path (default: $ATLAS_DB or data/atlas.duckdb)")
    demo.add_argument("--seed", type=int, default=None, help="random seed (same seed, same database)")
    demo.add_argument("--scale", type=float, default=1.0, help="household multiplier (tests use 0.05)")

    ind = sub.add_parser("indicators", help="print indicators per region for one period")
    ind.add_argument("--db", help="database path (default: $ATLAS_DB or data/atlas.duckdb)")
    ind.add_argument("--level", choices=["township", "county", "city"], default="township")
    ind.add_argument("--region", help="12-digit code of a city, county or township to limit to")
    ind.add_argument("--period", help="2024, 2024Q1 or 2024-03 (default: latest complete month with data)")
    ind.add_argument("--json", action="store_true", help="print a JSON array (the stable interface)")

    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    return _indicators(args)


def _demo(args) -> int:
    from data import demo

    target = paths.db_path(args.db)
    started = time.perf_counter()
    summary = demo.build(
        target,
        seed=demo.DEFAULT_SEED if args.seed is None else args.seed,
        scale=args.scale,
        progress=lambda fraction, step: print(f"[{fraction:4.0%}] {step}", file=sys.stderr),
    )
    seconds = time.perf_counter() - started
    print(json.dumps({"db": str(target), "seconds": round(seconds, 1), **summary}, ensure_ascii=False))
    return 0


def _indicators(args) -> int:
    from queries import indicators, periods, runner

    target = paths.db_path(args.db)
    if not target.exists():
        print(f"error: no database at {target}; build one with `python cli.py demo`", file=sys.stderr)
        return 2
    try:
        if args.region:
            indicators.region_prefix(args.region)
        if args.period:
            periods.parse(args.period)
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    scope = indicators.EVERYTHING  # accounts come later; the CLI runs with the database's full view
    with runner.connect(target) as con:
        period = args.period or indicators.latest_month(con, scope)
        if period is None:
            print("[]" if args.json else "no records in the database", file=sys.stdout)
            return 0
        frame = indicators.table(con, args.level, period, scope, args.region)
    records = [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=1))
    else:
        print(frame.to_string(index=False))
    return 0


def _plain(value):
    """JSON-safe: NaN/NA/None → null, numpy scalars → Python numbers."""
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value

if __name__ == "__main__":
    sys.exit(main())
