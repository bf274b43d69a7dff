"""Two app servers and four importers at once on one DuckLake (issue 17): no error, no torn read,
every import visible on the next rerun of both servers, and the final numbers those of a serial
import.

The lake holds the demo city (conftest.make_lake). Four screening ledgers, one township each, all
of one month the demo has no screening in (2023-06: inside the span the app offers, as its rooms
open from 2018), go in through ``cli.py import`` as four processes started at once, while
Chromium reloads the overview of 连云港市 for that month on both servers, over and over. The
households of the four files are chosen so that every subset of them adds up to a total of its
own, and so are their risk households: a reading of the city's two counts (the risk card's help:
中高风险户数 … ÷ 已排查户数 …) names exactly the imports it saw, and the sidebar's data version
must have moved on by as many. A reading that is no subset, whose two counts name different
subsets, whose version disagrees, or that shows an error, is a torn read.

The readings, the importers' exits and how often each importer was run again after another's
commit (the importer's log) are printed (``pytest -s``). Screenshots of both servers' final page
go to the module's ``shots`` folder.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.appserver import ROOT, AppServer, tail
from tests.support import browser_api

sync_api = browser_api()  # skips the module without a browser; fails instead in CI

import duckdb  # noqa: E402

from access import audit  # noqa: E402
from db import lake  # noqa: E402
from indicators import fmt, registry  # noqa: E402

CITY = "320700000000"  # 连云港市
PERIOD = "2023-06"
# (county, township, households screened, of them at risk): every subset of the four files has a
# total of its own, in households and in risk households alike, all above the "<5" suppression
LEDGERS = (
    ("连云区", "墟沟街道", 41, 5),
    ("海州区", "新坝镇", 83, 6),
    ("赣榆区", "墩尚镇", 167, 8),
    ("东海县", "房山镇", 337, 12),
)
ALL = frozenset(range(len(LEDGERS)))
SUBSETS = [frozenset(chosen) for k in range(len(LEDGERS) + 1) for chosen in itertools.combinations(ALL, k)]
BY_HOUSEHOLDS = {sum(LEDGERS[i][2] for i in chosen): chosen for chosen in SUBSETS}
BY_RISK = {sum(LEDGERS[i][3] for i in chosen): chosen for chosen in SUBSETS}
LEVELS = ("township", "county")
PAGE_TIMEOUT_MS = 180_000  # a rerun on a busy lake is slow; slow is not torn
IMPORT_TIMEOUT_S = 300

# The importers are cli.py itself, with the importer's log (INFO) on stderr: a run that met
# another import's commit, and was run again whole, says so there
IMPORTER = ("import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stderr, "
            "format='%(relativeCreated)6.0f ms %(name)s: %(message)s'); import cli; sys.exit(cli.main())")
RAN_AGAIN = "met another import's commit"


def test_the_four_files_tell_apart_every_subset():
    assert len(BY_HOUSEHOLDS) == len(BY_RISK) == 2 ** len(LEDGERS)


@dataclass
class Reading:
    server: int
    started: float            # time.monotonic() before the page was asked for
    ended: float = 0.0        # once it was read
    version: int | None = None
    households: int | None = None
    risk: int | None = None
    problem: str | None = None

    def seen(self) -> frozenset | None:
        """The imports this reading shows (indices into LEDGERS); None for a torn one."""
        return None if self.problem else BY_HOUSEHOLDS[self.households]

    def __str__(self) -> str:
        return (f"server {self.server + 1}: version {self.version}, {self.households} households, {self.risk} at risk"
                + (f"; TORN: {self.problem}" if self.problem else ""))


def ledger(folder: Path, number: int) -> Path:
    county, town, households, risk = LEDGERS[number]
    rows = [["排查日期", "区县", "乡镇", "户编号", "风险等级"]]
    rows += [[f"{PERIOD}-{1 + n % 28:02d}", county, town, f"CONC-{number}-{n}", "高" if n < risk else "无"]
             for n in range(households)]
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    path = folder / f"排查-{town}.csv"
    path.write_text(text.getvalue(), encoding="utf-8")
    return path


def cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "cli.py", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)


def printed(proc: subprocess.Popen, what: str):
    out, err = proc.communicate(timeout=IMPORT_TIMEOUT_S)
    assert proc.returncode == 0, f"{what}: exit {proc.returncode}\n{out[-2000:]}\n{err[-3000:]}"
    return out


# --------------------------------------------------------------------------- reading a page

def open_overview(page, url: str) -> None:
    page.goto(f"{url}/?period={PERIOD}&region={CITY}", wait_until="commit")


def read_overview(page, server: int, started: float, base: int) -> Reading:
    """What the page shows once its run is over: the sidebar's data version and the city's
    households screened and at risk (the risk card's help), checked against the four imports."""
    got = Reading(server, started)
    try:
        page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=PAGE_TIMEOUT_MS)
        errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
        if errors.count():
            got.problem = "an error on the page: " + " | ".join(errors.all_inner_texts())[:500]
            return got
        main = page.locator('[data-testid="stMain"]').inner_text()
        if f"连云港市 · {fmt.period_label(PERIOD)}" not in main:
            got.problem = f"not the city in {PERIOD}: {main[:300]!r}"
            return got
        caption = page.locator('[data-testid="stSidebar"]').get_by_text(re.compile(r"第 \d+ 版")).inner_text()
        got.version = int(re.search(r"第 (\d+) 版", caption).group(1))
        card = page.locator('[data-testid="stMetric"]').filter(
            has_text=registry.get("risk_rate_per_1000").name("zh", short=True))
        card.locator('[data-testid="stTooltipHoverTarget"]').hover()
        tip = page.locator('[data-testid="stTooltipContent"]').inner_text(timeout=10_000)
        num, den = (registry.get(code).name("zh") for code in registry.parts("risk_rate_per_1000"))
        found = re.search(rf"{re.escape(num)} (\S+) ÷ {re.escape(den)} (\S+)", tip)
        if not found:
            got.problem = f"no counts in the risk card's help: {tip!r}"
            return got
        risk, households = (v.replace(",", "") for v in found.groups())
        if not (risk.isdigit() and households.isdigit()):
            got.problem = f"counts not shown as numbers: {tip!r}"
            return got
        got.risk, got.households = int(risk), int(households)
        if got.households not in BY_HOUSEHOLDS or got.risk not in BY_RISK:
            got.problem = "no subset of the four imports"
        elif BY_HOUSEHOLDS[got.households] != BY_RISK[got.risk]:
            got.problem = "households and risk households of different imports"
        elif got.version - base != len(BY_HOUSEHOLDS[got.households]):
            got.problem = f"version {got.version} shown with {len(BY_HOUSEHOLDS[got.households])} imports' numbers"
    except sync_api.Error as error:
        got.problem = f"page not read: {str(error).splitlines()[0]}"
    finally:
        got.ended = time.monotonic()
    return got


def read_both(pages, urls, base: int) -> list[Reading]:
    """Both servers rerun at once (a tab each), then each is read."""
    started = time.monotonic()
    for page, url in zip(pages, urls):
        open_overview(page, url)
    return [read_overview(page, n, started, base) for n, page in enumerate(pages)]


# --------------------------------------------------------------------------- the test

@pytest.fixture
def lake_db(make_lake, demo_db) -> str:
    """The demo city on a new lake; the month the ledgers bring has no screening of its own."""
    with duckdb.connect(str(demo_db), read_only=True) as con:
        screened, first_room = con.execute("""
            select (select count(*) from screenings where strftime(screened_date, '%Y-%m') = $p)
                 + (select count(*) from screening_summaries where strftime(period_start, '%Y-%m') = $p),
                   (select min(opened_date) from rooms)""", {"p": PERIOD}).fetchall()[0]
    assert screened == 0, f"the demo has screening in {PERIOD}: the city's total would not be the imports'"
    assert str(first_room) < f"{PERIOD}-01", f"{PERIOD} is not in the span the app offers"
    return make_lake(demo_db)


def serial_reference(files: list[Path], demo_db: Path, folder: Path, into: dict) -> None:
    """The same four files imported one after another into a copy of the demo file (the ordinary
    backend), and its indicators per level as ``cli.py indicators --json`` prints them: ``into``
    gets them (or the error). Run in a thread while the browser works."""
    try:
        serial = folder / "serial.duckdb"
        shutil.copy(demo_db, serial)
        printed(cli("import", *map(str, files), "--json", "--db", str(serial)), "the serial import")
        runs = {level: cli("indicators", "--json", "--level", level, "--period", PERIOD, "--db", str(serial))
                for level in LEVELS}
        for level, run in runs.items():
            into[level] = json.loads(printed(run, f"indicators on the file ({level})"))
    except BaseException as error:  # raised in the test
        into["error"] = error


def test_two_servers_and_four_importers_at_once(lake_db, demo_db, browser, shots, tmp_path):
    phases = {"start": time.monotonic()}
    data_path = os.environ.get(lake.DATA_PATH_ENV)
    assert data_path and Path(data_path).is_dir()
    files = [ledger(tmp_path, n) for n in range(len(LEDGERS))]
    with lake.connect(lake_db) as con:
        base = con.execute("select version from data_version").fetchall()[0][0]
    lake.close_all()  # this process holds no catalog connection while the others work
    reference: dict = {}
    serial = threading.Thread(target=serial_reference, args=(files, demo_db, tmp_path, reference), daemon=True)
    serial.start()

    logs = [tmp_path / f"streamlit-{n + 1}.log" for n in range(2)]
    outs = [(tmp_path / f"import-{n + 1}.out", tmp_path / f"import-{n + 1}.err") for n in range(len(files))]
    contexts, procs, exited, on_lake = [], [], {}, {}
    try:
        with AppServer(lake_db, logs[0]) as first, AppServer(lake_db, logs[1]) as second:
            servers = (first, second)
            for server in servers:  # they inherit the lake's data path from this process (make_lake set it)
                environ = Path(f"/proc/{server.proc.pid}/environ").read_bytes().split(b"\0")
                assert f"{lake.DATA_PATH_ENV}={data_path}".encode() in environ
            urls = [s.url for s in servers]
            contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
                        for _ in servers]
            pages = [c.new_page() for c in contexts]
            phases["servers up"] = time.monotonic()
            before = read_both(pages, urls, base)
            assert [(r.version, r.households, r.risk, r.problem) for r in before] == [(base, 0, 0, None)] * 2, \
                [str(r) for r in before]

            # four importers at once, both servers rerunning all along
            launched = phases["first readings"] = time.monotonic()
            for path, (out, err) in zip(files, outs):
                with open(out, "w") as stdout, open(err, "w") as stderr:
                    procs.append(subprocess.Popen(
                        [sys.executable, "-c", IMPORTER, "import", str(path), "--json", "--db", lake_db],
                        cwd=ROOT, text=True, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL))

            def wait(n: int, proc: subprocess.Popen) -> None:
                proc.wait()
                exited[n] = time.monotonic()

            waiters = [threading.Thread(target=wait, args=(n, p), daemon=True) for n, p in enumerate(procs)]
            for waiter in waiters:
                waiter.start()
            readings = []
            while len(exited) < len(procs) and time.monotonic() - launched < IMPORT_TIMEOUT_S:
                readings += read_both(pages, urls, base)
            for waiter in waiters:
                waiter.join(timeout=max(1.0, IMPORT_TIMEOUT_S - (time.monotonic() - launched)))
            phases["importing"] = time.monotonic()

            # the lake's indicators, while the next rerun of both servers must show all four imports
            on_lake = {level: cli("indicators", "--json", "--level", level, "--period", PERIOD, "--db", lake_db)
                       for level in LEVELS}
            after = read_both(pages, urls, base)
            phases["next rerun"] = time.monotonic()
            for n, page in enumerate(pages):
                page.screenshot(path=str(shots / f"lake-server-{n + 1}-final.png"), full_page=True)
    except BaseException:
        for proc in on_lake.values():
            proc.kill()
        raise
    finally:
        for context in contexts:
            context.close()
        for proc in procs:  # an importer still running after IMPORT_TIMEOUT_S
            if proc.poll() is None:
                proc.kill()

    # what happened, before any verdict
    last_exit = max(exited.values(), default=time.monotonic())
    during = [r for r in readings if r.started >= launched and r.ended <= last_exit]
    partial = [r for r in readings if not r.problem and 0 < len(r.seen()) < len(LEDGERS)]
    stderrs = [err.read_text(encoding="utf-8") for _out, err in outs]
    print(f"\n{len(readings)} readings while the importers ran, {len(during)} of them wholly between their start "
          f"and the last one's exit, {len(partial)} showing 1-3 of the 4 imports; the importers exited after "
          f"{[round(exited[n] - launched, 1) if n in exited else None for n in range(len(procs))]} s, "
          f"run again after another's commit {[e.count(RAN_AGAIN) for e in stderrs]} times")
    for r in [*before, *readings, *after]:
        print(f"  {r.started - launched:6.1f} to {r.ended - launched:6.1f} s  {r}")

    for proc, (out, _err), stderr, path, (_c, _t, households, _r) in zip(procs, outs, stderrs, files, LEDGERS):
        assert proc.returncode == 0, f"{path.name}: exit {proc.returncode}\n{out.read_text()}\n{stderr[-3000:]}"
        assert "Traceback" not in stderr, stderr
        result = json.loads(out.read_text(encoding="utf-8").splitlines()[-1])
        assert (result["status"], result["accepted"]) == ("imported", households), result
    for log in logs:
        assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace"), tail(log, 80)
    assert [(r.version, r.seen()) for r in after] == [(base + len(LEDGERS), ALL)] * 2, [str(r) for r in after]
    assert {r.server for r in during} == {0, 1}, "no reading of both servers while the importers ran"
    for server in (0, 1):  # a server never goes back to an older version
        versions = [r.version for r in [*before, *readings, *after] if r.server == server and r.version]
        assert versions == sorted(versions), versions

    # the final numbers: those of the serial import, value for value
    printed_on_lake = {level: json.loads(printed(run, f"indicators on the lake ({level})"))
                       for level, run in on_lake.items()}
    serial.join(timeout=IMPORT_TIMEOUT_S)
    phases["indicators"] = time.monotonic()
    print("  " + ", ".join(f"{name} {phases[name] - previous:.1f} s"
                           for previous, name in zip(phases.values(), list(phases)[1:])))
    if "error" in reference:
        raise reference["error"]
    for level in LEVELS:
        lake_rows, file_rows = printed_on_lake[level], reference[level]
        assert len(lake_rows) == len(file_rows) > 0
        assert lake_rows == file_rows, [(a, b) for a, b in zip(lake_rows, file_rows) if a != b][:3]
    towns = {row["region_name"]: row for row in printed_on_lake["township"]}
    assert [(towns[t]["households_screened"], towns[t]["risk_households"]) for _c, t, _h, _r in LEDGERS] \
        == [(households, risk) for _c, _t, households, risk in LEDGERS]

    with lake.connect(lake_db) as con:  # four import rows in the audit log, its hash chain whole
        assert con.execute("select count(*) from audit_log where action = 'import'").fetchall() == [(len(LEDGERS),)]
        assert audit.verify(con).ok, con.execute("select audit_id, action, what from audit_log order by 1").fetchall()
    lake.close_all()

    # last, so that a torn read does not hide the checks above
    torn = [str(r) for r in [*before, *readings, *after] if r.problem]
    assert not torn, torn
