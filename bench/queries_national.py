"""Time the indicator queries at national scale: the budgets of issue 16.

    python bench/queries_national.py [--db PATH] [--period 2025-06] [--runs 5]

Opens the national demo database (``cli.py demo --scale national``) read-only, on one
connection kept open as the app's cached reader would be, runs each query once to warm it,
then ``--runs`` times, and prints the median (and min, max) of the warm runs in milliseconds
against its budget:

* one city's township table (3207, 连云港市) ≤ 100 ms;
* one province's township table (32, 江苏省) ≤ 300 ms;
* the national county roll-up and the roll-up one level up (province when queries.indicators
  has that level, else city) ≤ 500 ms.

It is not a test: a loaded machine measures slower. The database path defaults to $ATLAS_DB.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from queries import indicators, runner  # noqa: E402


def cases(levels: tuple[str, ...]) -> list[tuple[str, str, list[str], int]]:
    top = "province" if "province" in levels else "city"
    return [
        ("city 3207, townships", "township", ["3207"], 100),
        ("province 32, townships", "township", ["32"], 300),
        ("nation, counties", "county", [""], 500),
        (f"nation, {top} roll-up", top, [""], 500),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=os.environ.get("ATLAS_DB"), help="the national demo database")
    parser.add_argument("--period", default="2025-06")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not args.db:
        parser.error("--db (or $ATLAS_DB) is required")
    con = runner.connect(args.db)
    print(f"{'query':<28}{'rows':>7}{'median ms':>11}{'min':>8}{'max':>8}{'budget':>8}  ok")
    failed = 0
    for label, level, scope, budget in cases(indicators.LEVELS):
        frame = indicators.table(con, level, args.period, scope)  # warm
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            indicators.table(con, level, args.period, scope)
            times.append((time.perf_counter() - start) * 1000)
        median = statistics.median(times)
        ok = median <= budget
        failed += not ok
        print(f"{label:<28}{len(frame):>7}{median:>11.0f}{min(times):>8.0f}{max(times):>8.0f}{budget:>8}  "
              f"{'pass' if ok else 'FAIL'}")
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
