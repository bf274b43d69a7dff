"""Benchmark the atlas on a DuckLake against the same atlas in a DuckDB file (issue 17, "Past one
machine"): city and province query times and import throughput in one table, with ratios lake/file.

    python bench/lake.py [--db-city PATH] [--db-province PATH] [--city-scale 1.0] [--province 51]
                         [--province-rows 1.0] [--pg-dsn DSN] [--data-path DIR] [--reps 5]
                         [--period P] [--rows 200000] [--importers 4]

In one run, on this machine as it is (the figures depend on its load):

* the atlas files: ``--db-city PATH`` and ``--db-province PATH`` are taken as they are (never
  written); without them the city demo (``data.demo.build`` at ``--city-scale``: 连云港市, 90
  townships, 1.84 M screenings at 1.0) and a national demo of one province (``data.national.build``:
  ``--province`` 51, 四川省, the one with most townships, 3,101; ``--province-rows`` of the programme
  rows) are built into a temporary folder (about 15 s each);
* the lakes: each file is copied into a lake of its own by ``db.lake.init`` (what ``cli.py lake
  init --from`` does), the catalog in PostgreSQL (a private server, tests/pgserver.py, started and
  stopped here; or the server of ``--pg-dsn``, a libpq ``key=value`` string of a user who may
  create databases: two are made there and dropped at the end), the Parquet files in a temporary
  folder (under ``--data-path`` if given: a shared mount, say);
* queries: bench/national.py's city township table (on the city atlas) and province township
  table (on the province atlas), by its own ``Bench.table`` and ``timed`` (one unmeasured run, then
  the median of ``--reps``, a fresh connection per run), on the file and on the lake, checked to
  give the same rows; and, as information, each once in a fresh process: opening the connection
  (on a lake: loading the DuckLake and PostgreSQL extensions and attaching) and the first query;
* imports: a screening ledger CSV of ``--rows`` rows for the city's townships (bench/import_speed.py's
  generator), imported with ``importer.pipeline.run`` (what ``cli.py import`` calls) in a child
  process into a copy of the city file, then into the city lake: rows per second of pipeline.run's
  wall time, and the ratio; then ``--importers`` child processes at once into the lake, each with a
  ledger of its own share of the townships (``--rows`` in all, so that none replaces another's rows),
  twice: all started in one working folder (several importers on one machine), then each in a
  folder of its own (as on separate machines): their aggregate rows per second (information), and
  whether every one got in (a commit that meets another's is refused and the import run again
  whole, up to ``db.lake.RETRIES`` times; a child that crashes is said so, with where);
* the lake afterwards (information): its live data files and the rows in them (``cli.py lake
  status``) beside what ``count(*)`` sees, the city table again, and again after ``cli.py lake
  compact``.

Every child process (the fresh-process queries, the importers) runs in a temporary working folder,
so that what DuckDB writes relative to its working directory lands there, not in the project.

Budgets: on the lake, a city's table within bench/national.py's <= 100 ms and a province's within
its <= 300 ms, and each at most LAKE_QUERY_RATIO times the file's; the lake's import throughput at
least LAKE_IMPORT_RATIO times the file's. Exit status 0 whatever the verdicts (a benchmark, not a
test); 1 if a measurement errored.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import import_speed as imp  # noqa: E402  (after the path: run as a script)
from bench import national  # noqa: E402
from bench.national import Row, attempt, timed, verdict  # noqa: E402

LAKE_QUERY_RATIO = 3.0    # a query on the lake: at most this many times the file's time
LAKE_IMPORT_RATIO = 0.5   # an import into the lake: at least this share of the file's rows per second
CITY_SEED = imp.SEED      # the city demo import_speed.py builds


@dataclass
class Atlas:
    """One atlas, as a DuckDB file and as a DuckLake copied from it."""
    which: str                       # "city" or "province"
    file: Path
    lake: str | None = None          # ATLAS_DB's form: ducklake:postgres:…
    bench: national.Bench | None = None
    lake_ms: float | None = None     # the lake's median before any import (the later rows compare)


# --------------------------------------------------------------------------- the files and lakes


def build_files(args, work: Path) -> tuple[Path, Path]:
    city = Path(args.db_city).resolve() if args.db_city else work / "city.duckdb"
    province = Path(args.db_province).resolve() if args.db_province else work / "province.duckdb"
    for given, path in ((args.db_city, city), (args.db_province, province)):
        if given and not path.exists():
            raise SystemExit(f"{path}: no such file")
    if not args.db_city:
        from data import demo

        print(f"building the city demo (scale {args.city_scale:g}) …", end="", flush=True)
        started = time.perf_counter()
        demo.build(city, seed=CITY_SEED, scale=args.city_scale)
        print(f" {time.perf_counter() - started:.0f} s", flush=True)
    if not args.db_province:
        from data import national as national_demo

        print(f"building the national demo of province {args.province} (rows {args.province_rows:g}) …",
              end="", flush=True)
        started = time.perf_counter()
        national_demo.build(province, provinces=[args.province], rows=args.province_rows)
        print(f" {time.perf_counter() - started:.0f} s", flush=True)
    return city, province


def _psql() -> str:
    from tests import pgserver

    found = shutil.which("psql") or (str(pgserver.bin_dir() / "psql") if pgserver.bin_dir() else None)
    if not found:
        raise SystemExit("psql not found (apt-get install postgresql-client)")
    return found


class Catalogs:
    """Where the lakes' catalogs go: a private PostgreSQL (tests/pgserver.py), or the server of a
    DSN; one new database per lake, dropped at the end (the private server goes whole)."""

    def __init__(self, dsn: str | None):
        self.server = None
        if dsn is None:
            from tests import pgserver

            self.server = pgserver.Postgres()
            dsn = self.server.dsn("postgres")
        self.admin, self.made = dsn, []

    def sql(self, statement: str) -> str:
        done = subprocess.run([_psql(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", self.admin, "-c", statement],
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"psql: {done.stderr.strip()}")
        return done.stdout.strip()

    def database(self, name: str) -> str:
        self.sql(f'create database "{name}"')
        self.made.append(name)
        if re.search(r"\bdbname\s*=", self.admin):
            return re.sub(r"\bdbname\s*=\s*\S+", f"dbname={name}", self.admin)
        return f"dbname={name} {self.admin}"

    def describe(self) -> str:
        from db import lake

        version = self.sql("show server_version").split()[0]
        where = "a private server (tests/pgserver.py, fsync off)" if self.server else lake.shown(self.admin)
        return f"PostgreSQL {version}, {where}"

    def close(self) -> None:
        from db import lake

        lake.close_all()  # the catalog's connections, before their databases go
        if self.server is not None:
            self.server.stop()
            return
        for name in self.made:
            try:
                self.sql(f'drop database if exists "{name}" with (force)')
            except RuntimeError as problem:
                print(f"could not drop the catalog database {name}: {problem}", file=sys.stderr)


def make_lakes(atlases: list[Atlas], catalogs: Catalogs, data_root: Path) -> list[Row]:
    from db import lake

    rows = []
    for atlas in atlases:
        name = f"atlas_bench_{os.getpid()}_{atlas.which}"
        target = lake.PREFIX + "postgres:" + catalogs.database(name)
        folder = data_root / atlas.which
        folder.mkdir(parents=True)
        started = time.perf_counter()
        made = lake.init(target, atlas.file, data_path=str(folder) + "/")
        seconds = time.perf_counter() - started
        atlas.lake = target
        mb = atlas.file.stat().st_size / 1024 ** 2
        rows.append(Row(f"lake init: the {atlas.which} file into a lake", "(information)", f"{seconds:.1f} s", "info",
                        f"db.lake.init (cli.py lake init --from), one transaction: {made['screenings']:,} screenings, "
                        f"{made['cases']:,} cases, {made['regions']:,} regions from a {mb:,.0f} MB file; "
                        f"Parquet {_bytes(folder) / 1024 ** 2:,.0f} MB"))
    return rows


def _bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


# --------------------------------------------------------------------------- queries


def _same(a, b) -> bool:
    """The two frames hold the same rows (in any order; floats to pandas' tolerance)."""
    import pandas as pd

    a, b = (f.sort_values("region_code").reset_index(drop=True) for f in (a, b))
    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
        return True
    except AssertionError:
        return False


def _region(atlas: Atlas) -> tuple[str, int]:
    b = atlas.bench
    return (b.city, b.city_towns) if atlas.which == "city" else (b.province, b.province_towns)


def query_rows(atlases: list[Atlas], reps: int, period: str | None) -> list[Row]:
    rows = []
    for atlas in atlases:
        budget = national.CITY_TABLE_S if atlas.which == "city" else national.PROVINCE_TABLE_S
        on_file = atlas.bench = national.Bench(atlas.file, reps, period, None, None)
        on_lake = national.Bench(atlas.lake, reps, on_file.period, on_file.province, on_file.city)
        region, towns = _region(atlas)
        file_s, file_frame = timed(lambda: on_file.table("township", region), reps)
        lake_s, lake_frame = timed(lambda: on_lake.table("township", region), reps)
        atlas.lake_ms = lake_s * 1000
        what = f"{atlas.which} township table"
        how = (f"{len(file_frame)} rows, period {on_file.period}, median of {reps} after a warm-up run, "
               "a fresh connection each")
        rows += [
            Row(f"{what}: file ({on_file.label(region)}, {towns:,} townships)", f"<= {budget * 1000:.0f} ms",
                f"{file_s * 1000:,.0f} ms", verdict(file_s, budget), f"bench/national.py's query: {how}"),
            Row(f"{what}: lake", f"<= {budget * 1000:.0f} ms", f"{lake_s * 1000:,.0f} ms", verdict(lake_s, budget),
                f"{how}; same rows as the file: {'yes' if _same(file_frame, lake_frame) else 'NO'}"),
            Row(f"{what}: lake/file", f"<= {LAKE_QUERY_RATIO:g}x", f"{lake_s / file_s:.2f}x",
                verdict(lake_s / file_s, LAKE_QUERY_RATIO), f"{lake_s * 1000:,.1f} ms / {file_s * 1000:,.1f} ms"),
        ]
    return rows


def fresh_rows(atlases: list[Atlas], work: Path) -> list[Row]:
    """The first query of a new process: what a new app server or a CLI command pays once."""
    rows = []
    for atlas in atlases:
        region, _ = _region(atlas)
        for kind, target in (("file", str(atlas.file)), ("lake", atlas.lake)):
            got = _child(["--child-query", target, "--level", "township", "--period", atlas.bench.period,
                          "--region", region], work, f"query_{atlas.which}_{kind}")
            total = got["connect_s"] + got["first_s"]
            opened = ("duckdb.connect, read-only" if kind == "file" else
                      "loading the DuckLake and PostgreSQL extensions, attaching the catalog")
            rows.append(Row(f"{atlas.which} township table: fresh process, {kind}", "(information)",
                            f"{total * 1000:,.0f} ms", "info",
                            f"connect {got['connect_s'] * 1000:,.0f} ms ({opened}) + first query "
                            f"{got['first_s'] * 1000:,.0f} ms; a second query on that connection "
                            f"{got['second_s'] * 1000:,.0f} ms; python start and module imports "
                            f"({got['wall_s'] - total - got['second_s']:.1f} s) not counted"))
    return rows


def child_query(target: str, level: str, period: str, region: str) -> dict:
    started = time.perf_counter()
    from db import lake
    from queries import indicators, runner

    imported = time.perf_counter()
    con = runner.connect(target)
    connected = time.perf_counter()
    indicators.table(con, level, period, indicators.EVERYTHING, region)  # what Bench.table runs
    first = time.perf_counter()
    indicators.table(con, level, period, indicators.EVERYTHING, region)
    second = time.perf_counter()
    con.close()
    lake.close_all()
    return {"imports_s": imported - started, "connect_s": connected - imported, "first_s": first - connected,
            "second_s": second - first}


class Child:
    """This script in a child process (``--child-query``, ``--child-import``), in working folder
    ``cwd``: its output goes to files there (several at once fill no pipe), and Python's
    faulthandler says where a crash happened."""

    def __init__(self, args: list[str], cwd: Path, name: str):
        cwd.mkdir(parents=True, exist_ok=True)
        self.out, self.err = open(cwd / f"{name}.out", "w+"), open(cwd / f"{name}.err", "w+")
        self.started = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-X", "faulthandler", str(Path(__file__).resolve()), *args],
                                        cwd=cwd, stdout=self.out, stderr=self.err)

    def result(self) -> dict:
        """The child's JSON line, with ``wall_s``; for a child that died, ``status`` says how and
        ``exceptions`` where (the innermost Python frame on its stderr)."""
        self.process.wait()
        wall = time.perf_counter() - self.started
        self.out.seek(0)
        self.err.seek(0)
        out, err = self.out.read(), self.err.read()
        self.out.close()
        self.err.close()
        try:
            return {**json.loads(out.strip().splitlines()[-1]), "wall_s": wall}
        except (IndexError, json.JSONDecodeError):
            code = self.process.returncode
            how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
            return {"status": f"crashed ({how})", "exceptions": [_crash(err)], "errors": [], "wall_s": wall,
                    "accepted": 0, "replaced": 0, "refused": 0, "seconds": wall, "began": None, "ended": None}


def _crash(stderr: str) -> str:
    """``Segmentation fault at importer/history.py:35 (replace)`` from faulthandler's report, else
    the last line of stderr."""
    fatal = re.search(r"Fatal Python error: ([^\n]+)", stderr)
    frame = re.search(r'File "([^"]+)", line (\d+) in (\S+)', stderr)
    if not (fatal or frame):
        return (stderr.strip().splitlines() or ["no output"])[-1][:300]
    where = ""
    if frame:
        path = Path(frame.group(1))
        shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        where = f" at {shown}:{frame.group(2)} ({frame.group(3)})"
    return f"{fatal.group(1) if fatal else 'crash'}{where}"


def _child(args: list[str], cwd: Path, name: str) -> dict:
    got = Child(args, cwd, name).result()
    if got.get("status", "").startswith("crashed") and "--child-query" in args:
        raise RuntimeError(f"a query's child process {got['status']}: {got['exceptions'][0]}")
    return got


# --------------------------------------------------------------------------- imports


def child_import(file: str, target: str) -> dict:
    """Import ``file`` into ``target`` (replacing what it replaces, as import_speed.py does): the
    seconds of pipeline.run, its wall-clock start and end (to add up importers running at once),
    and how many times the lake refused its commit."""
    from db import lake
    from importer import pipeline

    refused, failed = [], []

    class Watch(logging.Handler):
        def emit(self, record):
            if "met another import's commit" in str(record.msg):  # logged before each run again
                refused.append(record.getMessage())
            elif record.exc_info:  # a file refused for an internal error: where, and what
                failed.append(_where(record.exc_info))

    log = logging.getLogger("atlas.import")
    log.setLevel(logging.INFO)
    log.addHandler(Watch())
    marks: dict[str, float] = {}
    clock = time.perf_counter()
    began = time.time()
    result = pipeline.run(file, target, replace=True,
                          progress=lambda _f, step: marks.__setitem__(step, time.perf_counter() - clock))
    seconds = time.perf_counter() - clock
    ended = time.time()
    lake.close_all()
    return {"status": result.status, "rows": result.rows, "accepted": result.accepted, "replaced": result.replaced,
            "seconds": seconds, "began": began, "ended": ended, "refused": len(refused),
            "phases": imp._phases(marks, seconds), "townships": result.townships,
            "errors": [f"{e.code}: {e.message}" for e in result.errors[:3]], "exceptions": failed}


def _where(exc_info) -> str:
    """``OutOfMemoryException at importer/history.py:35 (replace): Out of Memory Error: …``"""
    import traceback

    kind, error, tb = exc_info
    frames = [f for f in traceback.extract_tb(tb) if f.filename.startswith(str(ROOT))]
    at = ""
    if frames:
        at = f" at {Path(frames[-1].filename).relative_to(ROOT)}:{frames[-1].lineno} ({frames[-1].name})"
    return f"{kind.__name__}{at}: {str(error).splitlines()[0]}"


def _refusal(g: dict) -> str:
    """Why an import was not imported, as the importer and its log say."""
    return "; ".join(g["exceptions"] or g["errors"]) or g["status"]


def _import_cmd(csv: Path, target: str) -> list[str]:
    return ["--child-import", str(csv), "--db", target]


def _split(towns: list[dict], parts: int, rows: int) -> list[tuple[list[dict], int]]:
    """``parts`` runs of neighbouring townships (by code), with ``rows`` shared by households."""
    parts = max(1, min(parts, len(towns)))
    groups = [towns[i * len(towns) // parts:(i + 1) * len(towns) // parts] for i in range(parts)]
    weights = [sum(t["total"] for t in g) for g in groups]
    shares = [rows * w // sum(weights) for w in weights]
    shares[-1] += rows - sum(shares)
    return list(zip(groups, shares))


def import_rows(city: Atlas, rows: int, importers: int, work: Path) -> list[Row]:
    towns = imp.load_towns(city.file, False)
    csv = work / f"screening_{imp.label(rows)}.csv"
    imp.generate(csv, towns, rows, keep=False, encoding="utf-8")
    copy = work / "import.duckdb"
    shutil.copyfile(city.file, copy)
    if Path(f"{city.file}.wal").exists():
        shutil.copyfile(f"{city.file}.wal", f"{copy}.wal")
    got = {"file": _child(_import_cmd(csv, str(copy)), work, "import_file"),
           "lake": _child(_import_cmd(csv, city.lake), work, "import_lake")}
    copy.unlink()
    if got["file"]["status"] != "imported":  # the generator's ledger must import into a file
        raise RuntimeError(f"the {rows:,}-row ledger was not imported into the file: {_refusal(got['file'])}")
    out, speed = [], {}
    for kind, g in got.items():
        into = "a copy of the city file" if kind == "file" else "the city lake"
        speed[kind] = g["accepted"] / g["seconds"] if g["status"] == "imported" else 0.0
        if g["status"] == "imported":
            stages = ", ".join(f"{k} {v}" for k, v in g["phases"].items())
            how = (f"{g['accepted']:,} rows in {g['seconds']:.1f} s (importer.pipeline.run in a child process, into "
                   f"{into}; {g['replaced']:,} rows replaced); stages (s): {stages}")
        else:
            how = (f"NOT IMPORTED, {g['status']} after {g['seconds']:.1f} s ({g['replaced']:,} rows would have been "
                   f"replaced): {_refusal(g)}")
        out.append(Row(f"import: a {rows:,}-row CSV into the {kind}", "(information)", f"{speed[kind]:,.0f} rows/s",
                       "info", how))
    ratio = speed["lake"] / speed["file"]
    out.append(Row("import: lake/file throughput", f">= {LAKE_IMPORT_RATIO:g}x", f"{ratio:.2f}x",
                   verdict(ratio, LAKE_IMPORT_RATIO, higher_is_better=True),
                   f"{speed['lake']:,.0f} / {speed['file']:,.0f} rows/s"
                   + ("" if speed["lake"] else "; the lake did not take the file (above)")))
    parts = _split(towns, importers, rows)
    for round_, shared in enumerate((True, False), start=1):
        files = []  # each round its own households (the same bytes again would be "unchanged")
        for i, (group, n) in enumerate(parts, start=1):
            path = work / f"screening_round{round_}_part{i}_of_{len(parts)}.csv"
            imp.generate(path, group, n, keep=False, encoding="utf-8", seed=imp.SEED + 1000 * round_ + i)
            files.append(path)
        out += concurrent_rows(city, parts, files, work / ("together" if shared else "apart"), shared)
    return out


def concurrent_rows(city: Atlas, parts: list, files: list[Path], work: Path, shared: bool) -> list[Row]:
    """The ledgers ``files`` imported at once into the city lake, one child process each, all
    started in one working folder (``shared``: as several importers on one machine, cli.py run
    from the project folder, say) or each in a folder of its own (as on separate machines)."""
    started = time.perf_counter()
    children = [Child(_import_cmd(path, city.lake), work if shared else work / f"importer{i}", f"importer{i}")
                for i, path in enumerate(files, start=1)]
    got = [child.result() for child in children]
    wall = time.perf_counter() - started
    imported = [g for g in got if g["status"] == "imported"]
    began = [g["began"] for g in got if g["began"] is not None]
    ended = [g["ended"] for g in got if g["ended"] is not None]
    span = (max(ended) - min(began)) if began and ended else wall
    accepted = sum(g["accepted"] for g in imported)
    each = "; ".join(_one(len(group), g) for (group, _), g in zip(parts, got))
    refused = sum(g["refused"] for g in got)
    problems = sorted({_refusal(g) for g in got if g["status"] != "imported"})
    k = len(parts)
    where = "one working folder" if shared else "a working folder each"
    started_in = ("all started in one working folder (several importers on one machine)" if shared else
                  "each started in a working folder of its own (as on separate machines)")
    return [
        Row(f"import: {k} importers at once, {where}", "(information)", f"{accepted / span:,.0f} rows/s", "info",
            f"into the lake, {started_in}: {accepted:,} rows imported / {span:.1f} s from the first pipeline.run's "
            f"start to the last's end ({wall:.1f} s with the processes' start); one child process each, with its "
            f"own townships: {each}"),
        Row(f"import: {k} importers at once, {where}: all imported", f"{k} of {k} imported",
            f"{len(imported)} of {k} imported", "pass" if len(imported) == k else "FAIL",
            f"{refused} commits refused by the lake for another's (the import then runs again whole, "
            f"db.lake.RETRIES = {_retries()} runs at most)"
            + (f"; not imported: {' | '.join(problems)}" if problems else "")),
    ]


def _one(towns: int, g: dict) -> str:
    again = f", {g['refused']} commits refused" if g["refused"] else ""
    return f"{towns} townships {g['accepted']:,} rows {g['seconds']:.1f} s {g['status']}{again}"


def _retries() -> int:
    from db import lake

    return lake.RETRIES


# --------------------------------------------------------------------------- the lake afterwards


def after_rows(city: Atlas, reps: int) -> list[Row]:
    from db import lake

    region, _ = _region(city)
    again = national.Bench(city.lake, reps, city.bench.period, city.bench.province, city.bench.city)

    def query_row(figure: str, note: str) -> Row:
        seconds, _ = timed(lambda: again.table("township", region), reps)
        return Row(figure, "(information)", f"{seconds * 1000:,.0f} ms", "info",
                   f"median of {reps}; {city.lake_ms:,.0f} ms before the imports; {note}")

    from queries import runner

    status = lake.status(city.lake)
    tables = {t["table"]: t for t in status["tables"]}
    files = sum(t["files"] for t in status["tables"])
    shown = [name for name in ("screenings", "screenings_replaced", "period_counts", "imports") if name in tables]
    with runner.connect(city.lake) as con:  # what a query sees, beside what the files hold
        live = {name: con.execute(f"select count(*) from {name}").fetchall()[0][0] for name in shown}
    listed = ", ".join(f"{name} {tables[name]['files']} files ({tables[name]['rows']:,} rows in them; "
                       f"count(*) {live[name]:,})" for name in shown)
    rows = [Row("lake: live data files after the imports", "(information)", f"{files:,} files", "info",
                f"cli.py lake status: {listed}; {status['snapshots']} snapshots"),
            query_row("city township table: lake after the imports", f"{files:,} live data files")]
    started = time.perf_counter()
    done = lake.compact(city.lake)
    seconds = time.perf_counter() - started
    rows.append(Row("lake: compact", "(information)", f"{seconds:.1f} s", "info",
                    f"cli.py lake compact (ducklake_merge_adjacent_files): {done['files_before']:,} -> "
                    f"{done['files_after']:,} live data files"))
    rows.append(query_row("city township table: lake after compact", f"{done['files_after']:,} live data files"))
    return rows


# --------------------------------------------------------------------------- report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db-city", help="a city atlas file (read only; default: build the city demo); one city: "
                                          "the ledgers generated for it name townships without their county")
    parser.add_argument("--db-province", help="a province atlas file (read only; default: build one province)")
    parser.add_argument("--city-scale", type=float, default=1.0, help="when building: the city demo's scale")
    parser.add_argument("--province", default="51", help="when building: the province's 2-digit code (default 51)")
    parser.add_argument("--province-rows", type=float, default=1.0,
                        help="when building: the share of the programme rows (default 1.0)")
    parser.add_argument("--pg-dsn", help="a PostgreSQL server for the catalogs, as a libpq key=value string of a user "
                                         "who may create databases (default: start a private one)")
    parser.add_argument("--data-path", help="a folder for the lakes' Parquet files (a temporary folder is made in it)")
    parser.add_argument("--reps", type=int, default=5, help="timed runs per query (median; after one warm-up)")
    parser.add_argument("--period", help="the period measured (default: the latest complete month)")
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the imported CSV (default 200000)")
    parser.add_argument("--importers", type=int, default=4, help="importers at once into the lake (default 4)")
    parser.add_argument("--child-query", help=argparse.SUPPRESS)
    parser.add_argument("--child-import", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--level", help=argparse.SUPPRESS)
    parser.add_argument("--region", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from db import lake

    # each lake's data path is in its catalog; a data path in the environment would be given to
    # every lake opened here, the two lakes' and the children's alike
    os.environ.pop(lake.DATA_PATH_ENV, None)
    if args.child_query:
        print(json.dumps(child_query(args.child_query, args.level, args.period, args.region)))
        return 0
    if args.child_import:
        print(json.dumps(child_import(args.child_import, args.db), ensure_ascii=False))
        return 0

    import duckdb

    reps = max(1, args.reps)
    with tempfile.TemporaryDirectory(prefix="atlas-bench-lake-") as folder:
        work = Path(folder)
        data_root = Path(tempfile.mkdtemp(prefix="atlas-bench-lake-", dir=args.data_path)) if args.data_path \
            else work / "lakes"
        catalogs = None
        try:
            print(f"Federation Atlas lake benchmark · {time.strftime('%Y-%m-%d %H:%M')} · "
                  f"python {sys.version.split()[0]} · {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", flush=True)
            city_file, province_file = build_files(args, work)
            catalogs = Catalogs(args.pg_dsn)
            atlases = [Atlas("city", city_file), Atlas("province", province_file)]
            print(f"DuckDB {duckdb.__version__}; catalog: {catalogs.describe()}; Parquet files under {data_root}")
            print("atlas files: " + "; ".join(f"{a.which} {a.file} ({a.file.stat().st_size / 1024 ** 2:,.0f} MB)"
                                              for a in atlases), flush=True)
            rows = run(atlases, catalogs, data_root, reps, args, work)
        finally:
            if catalogs is not None:
                catalogs.close()
            if args.data_path:
                shutil.rmtree(data_root, ignore_errors=True)
    return national.report(rows, "information", lambda r: r.verdict == "info")


def run(atlases: list[Atlas], catalogs: Catalogs, data_root: Path, reps: int, args, work: Path) -> list[Row]:
    rows: list[Row] = []

    def step(name: str, figure: str, budget: str, fn) -> None:
        started = time.perf_counter()
        found = attempt(figure, budget, fn)
        rows.extend(found)
        print(f"  {name} ({time.perf_counter() - started:.0f} s): "
              + "; ".join(r.measured or r.verdict for r in found), flush=True)

    step("lakes", "lake init", "(information)", lambda: make_lakes(atlases, catalogs, data_root))
    if not all(a.lake for a in atlases):
        return rows
    step("queries", "queries", "", lambda: query_rows(atlases, reps, args.period))
    if not all(a.bench for a in atlases):
        return rows
    step("fresh processes", "fresh process", "(information)", lambda: fresh_rows(atlases, work))
    step("imports", f"import: a {args.rows:,}-row CSV", "", lambda: import_rows(atlases[0], args.rows,
                                                                                 args.importers, work))
    step("the lake afterwards", "lake afterwards", "(information)", lambda: after_rows(atlases[0], reps))
    return rows


if __name__ == "__main__":
    sys.exit(main())
