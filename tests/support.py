"""Helpers several test modules share: database fingerprints, workbooks, the shared fixtures,
and the headless browser."""
import os
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parent.parent
# 343 real township polygons of 北京市 (MIT, see its README and LICENSE), carried in the repository
# so both README commands work in a plain clone
BEIJING = ROOT / "tests" / "fixtures" / "beijing-subdistricts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
# scripts/test.sh (and so CI) sets this: there a missing browser fails the run
REQUIRE_BROWSER = os.environ.get("ATLAS_REQUIRE_BROWSER") == "1"


def connect(db, read_only: bool = True):
    """A connection to the atlas ``db``: a file's path or a DuckLake target (tests on both backends)."""
    from db import schema

    return schema.open_waiting(db, read_only=read_only, wait=30)


def fingerprint(db: Path) -> list:
    """The data version row, and the row count and content hash of every table (of the atlas: a
    lake's connection sees its instance's own empty database too)."""
    with connect(db) as con:
        tables = [t for (t,) in con.execute("select table_name from information_schema.tables "
                                            "where table_catalog = current_database()").fetchall()]
        counted = " union all ".join(f"select '{t}', count(*), sum(hash(t)) from \"{t}\" as t" for t in tables)
        return con.execute("select * from data_version").fetchall() + sorted(con.execute(counted).fetchall())


def workbook(sheets: dict[str, list[list]], merges: dict[str, list[str]] | None = None) -> openpyxl.Workbook:
    """One workbook; sheets in order, each a list of rows (None = empty cell)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for cells in (merges or {}).get(name, []):
            sheet.merge_cells(cells)
    return book


def beijing_files() -> list[Path]:
    """The 16 district files of tests/fixtures/beijing-subdistricts (carried in the repository)."""
    files = sorted(BEIJING.glob("*.geojson"))
    assert len(files) == 16, f"needs the 16 files of {BEIJING}"
    return files


def require_tool(name: str, package: str) -> str:
    """The path of a command-line tool a test needs: a skip without it, a failure where the
    browser is required (scripts/test.sh and CI install it)."""
    import shutil

    found = shutil.which(name)
    if found is None:
        if REQUIRE_BROWSER:
            raise RuntimeError(f"{name} is required (apt-get install {package})")
        pytest.skip(f"{name} ({package}) is not installed")
    return found


def browser_api():
    """playwright.sync_api, or a module-level skip (a failure where the browser is required)."""
    if not CHROMIUM.exists():
        if REQUIRE_BROWSER:
            raise RuntimeError(f"Chromium is required at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"browser test needs Chromium at {CHROMIUM}", allow_module_level=True)
    if REQUIRE_BROWSER:
        import playwright.sync_api as sync_api
        return sync_api
    return pytest.importorskip("playwright.sync_api", reason="browser test needs the playwright package")


def place_names(page: str) -> list[dict]:
    """The names a rendered map page writes on its regions (geo/maps._PlaceNames): code, name
    (decoded from the page's JSON, so escaping is undone exactly once), lat, lon, bounds."""
    import json
    import re

    found = re.findall(r"var items = (\[.*?\]);\n", page)
    assert len(found) == 1, f"expected one list of place names in the page, found {len(found)}"
    return json.loads(found[0])
