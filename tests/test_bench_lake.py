"""bench/lake.py does not rot: at a tiny size (the tests' demo city as both atlases, a 2,000-row
ledger, two importers at once), with its lakes' catalogs on the tests' PostgreSQL, it prints every
figure of its table with a measurement and a verdict, and leaves the atlas file as it was. The
times are this machine's: none is asserted."""
import re
import subprocess
import sys
from pathlib import Path

from tests.support import fingerprint
from tests.test_bench_smoke import table_rows

ROOT = Path(__file__).resolve().parent.parent

# Every figure of the table, as its label reads (the file's query rows go on with "(the region …)").
FIGURES = [
    "lake init: the city file into a lake", "lake init: the province file into a lake",
    "city township table: file", "city township table: lake", "city township table: lake/file",
    "province township table: file", "province township table: lake", "province township table: lake/file",
    "city township table: fresh process, file", "city township table: fresh process, lake",
    "province township table: fresh process, file", "province township table: fresh process, lake",
    "import: a 2,000-row CSV into the file", "import: a 2,000-row CSV into the lake", "import: lake/file throughput",
    "import: 2 importers at once, one working folder", "import: 2 importers at once, one working folder: all imported",
    "import: 2 importers at once, a working folder each",
    "import: 2 importers at once, a working folder each: all imported",
    "lake: live data files after the imports", "city township table: lake after the imports", "lake: compact",
    "city township table: lake after compact",
]
MEASURED = re.compile(r"^([\d,.]+ (ms|s|rows/s|files)|[\d.]+x|\d+ of \d+ imported)$")


def test_every_figure_is_measured_with_a_verdict(postgres, demo_db):
    before = fingerprint(demo_db)
    done = subprocess.run(
        [sys.executable, "bench/lake.py", "--db-city", str(demo_db), "--db-province", str(demo_db),
         "--pg-dsn", postgres.dsn("postgres"), "--reps", "1", "--rows", "2000", "--importers", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    rows = table_rows(out)
    for figure in FIGURES:
        found = [cells for label, cells in rows.items() if label == figure or label.startswith(figure + " (")]
        assert len(found) == 1, f"{figure!r}: {len(found)} rows in\n{out}"
        _, budget, measured, verdict = found[0][:4]
        assert budget and verdict in ("pass", "FAIL", "info"), found[0]
        assert MEASURED.match(measured), f"{figure}: {found[0]}"
    assert len(rows) == len(FIGURES), out
    for which in ("city", "province"):  # the lake answers what the file answers
        assert "same rows as the file: yes" in rows[f"{which} township table: lake"][4], out
    assert re.match(r"Federation Atlas lake benchmark · .+ · \d+ CPUs, load [\d.]+$", out.splitlines()[0]), out
    assert fingerprint(demo_db) == before
    # the catalogs' databases were dropped from the server the bench was given
    assert "atlas_bench_" not in postgres.sql("select string_agg(datname, ' ') from pg_database")
