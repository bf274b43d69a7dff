"""bench/national.py does not rot: run at CI size (one province, a thousandth of the programme
rows, a small import, no browser), it prints every figure of issue #16's "What must be fast" with
a measurement and a verdict, or says plainly that it is not measurable (or not measured) and why;
with the browser alone (``--browser-only``, where Chromium is, as an admin so that the sparse
numbers still differ between months), the pages paint, a period change repaints the map, the
server's memory is measured, and pan and zoom rerun nothing."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import browser_api, fingerprint
from tests.test_import_files import city_db  # noqa: F401  (the demo city, without the rest of China)

ROOT = Path(__file__).resolve().parent.parent

# Every figure the table must hold, by the start of its label.
FIGURES = [
    "query: city township table", "query: province township table", "query: national county roll-up",
    "query: national province roll-up", "query: national township table",
    "pandas: the same township indicators", "pandas: reading the raw tables",
    "payload: a city's townships", "payload: a province's counties", "payload: the national county view",
    "payload: a province's townships", "payload: the national map (provinces)", "payload: a province's map (cities",
    "payload: no township polygon in the national view",
    "Fisher-Jenks on 38,723 values", "hotspots: a province's townships", "suppression: a year at national scale",
    "import: a 20,000-row CSV, memory flat", "import: peak RSS", "paint: city", "paint: province",
    "paint: national", "paint: filter change", "pan and zoom: no script rerun", "server RSS after loading",
    "RSS per extra session",
]
BROWSER = FIGURES[FIGURES.index("paint: city"):]
MEASURED = re.compile(r"^[\d,.]+ ?(ms|s|KB|MB|GB|x|township polygons|reruns)$")


def run_bench(db: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "bench/national.py", "--db", str(db), "--provinces", "46", "--rows", "0.001", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def bench_db(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bench") / "hainan.duckdb"


@pytest.fixture(scope="module")
def output(bench_db, city_db):
    # the imports go into a copy of the tests' demo city (the bench builds a full-scale one otherwise)
    out = run_bench(bench_db, "--reps", "1", "--no-browser", "--import-rows", "20000", "--import-small-rows", "4000",
                    "--import-db", str(city_db))
    assert bench_db.exists()  # built where --db said, since it was missing
    return out


def table_rows(text: str) -> dict[str, list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("figure ") and "verdict" in line)
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        cells = re.split(r"\s{2,}", line.strip())
        rows[cells[0]] = cells
    return rows


def check_rows(rows: dict[str, list[str]], figures: list[str], output: str) -> None:
    for figure in figures:
        found = [cells for label, cells in rows.items() if label.startswith(figure)]
        assert len(found) == 1, f"{figure!r}: {len(found)} rows in\n{output}"
        cells = found[0]
        assert len(cells) >= 4, cells
        _, budget, measured, verdict = cells[:4]
        assert budget, cells
        if verdict in ("pass", "FAIL", "info"):
            assert MEASURED.match(measured), f"{figure}: a verdict without a figure: {cells}"
        else:
            assert measured == "—", cells
            assert re.match(r"not (measurable yet|measured) \(.+\)$", verdict), f"{figure}: {cells}"
    assert not [c for c in rows.values() if c[3].startswith("ERROR")], output


def test_every_figure_has_a_measurement_or_says_why_not(output):
    check_rows(table_rows(output), FIGURES, output)


def test_measured_where_it_can_be(output):
    """Without a browser, every figure but the browser's is a measurement today."""
    rows = table_rows(output)
    measured = {label for label, cells in rows.items() if cells[3] in ("pass", "FAIL", "info")}
    for figure in ["query: city township table", "query: province township table", "query: national county roll-up",
                   "pandas: the same township indicators", "payload: a city's townships",
                   "payload: a province's counties", "payload: the national county view",
                   "payload: a province's townships", "payload: the national map", "payload: a province's map",
                   "payload: no township polygon", "Fisher-Jenks", "hotspots", "suppression",
                   "import: a 20,000-row CSV", "import: peak RSS"]:
        assert any(label.startswith(figure) for label in measured), f"{figure} not measured:\n{output}"
    # the pandas implementation counts what ours counts, on the same data
    pandas = next(cells for label, cells in rows.items() if label.startswith("pandas: the same"))
    assert "same counts: yes" in pandas[4], pandas
    assert "--no-browser" in rows[next(label for label in rows if label.startswith("paint: city"))][3]


def test_browser_rows(bench_db, output):
    """In Chromium at CI size, logged in as an admin (``--viewer admin``: on a copy, with exact
    counts, so that at a thousandth of the rows the two months' tooltips still differ): every view
    paints, a period change repaints, pan and zoom rerun nothing, the memory rows are figures. (The
    times are this machine's; only that they are measured is asserted.) The database is not written."""
    browser_api()  # a skip without Chromium; a failure where the browser is required
    before = fingerprint(bench_db)
    out = run_bench(bench_db, "--browser-only", "--viewer", "admin", "--loads", "1", "--sessions", "1",
                    "--warmup-timeout", "300", "--timeout", "60")
    assert fingerprint(bench_db) == before
    rows = table_rows(out)
    check_rows(rows, BROWSER, out)
    assert [label for label in rows if not any(label.startswith(f) for f in BROWSER)] == [], out
    for figure in BROWSER:
        cells = next(cells for label, cells in rows.items() if label.startswith(figure))
        assert cells[0].endswith("[admin]") and cells[3] in ("pass", "FAIL"), f"{figure} not measured:\n{out}"
    still = next(cells for label, cells in rows.items() if label.startswith("pan and zoom"))
    assert still[2:4] == ["0 reruns", "pass"], still
