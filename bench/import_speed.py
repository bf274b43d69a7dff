"""Benchmark the importer: how long a big household screening ledger takes, and how much memory.

    python bench/import_speed.py [--rows-xlsx 100000] [--rows-csv 5000000] [--rows-csv-small 1000000]
                                 [--out bench/out] [--keep] [--db PATH] [--gbk] [--profile] [--json PATH]

Generates three screening ledgers (kind "screening": 排查日期, 乡镇（街道）, 村（社区）, 户编号, 风险等级,
风险类型, under a title row) for the townships of the full-scale demo database, then imports each
one with ``importer.pipeline.run`` into its own fresh copy of that database:

* ``screening_<N>.xlsx`` (default 100k rows), written with openpyxl in write-only mode: real
  Excel dates in most rows, text like 2024年3月5日 in some;
* ``screening_<N>.csv`` (default 5M rows) and a smaller one (default 1M rows) to show whether
  memory grows with the file; UTF-8 (``--gbk``: GBK), written streaming with the csv module.

Townships are the demo's (regions where level='township' and in_atlas), written mostly as
registered and sometimes with a variant the matcher must absorb (街道办事处 / 镇人民政府 added,
a stray space, the bare name without its suffix). Every household id is unique within its
township; each household is screened once or twice in 2024 (twice: in different months), and
households are allotted to townships in proportion to households_total, so no township-month
screens more households than it has (the importer rightly rejects that; the generator checks).

Each import runs in a fresh subprocess (``--child`` mode of this script), so its peak memory is
its own: measured by ``/usr/bin/time`` (max RSS, via wait4 of a small process) when present,
else by ``os.wait4`` on the child; the child also reports its own VmHWM from /proc. (Plain
``getrusage(RUSAGE_CHILDREN)`` is not used: it is the maximum over all children so far, and on
Linux a child started by fork/vfork inherits the parent's high-water mark at exec.) Import
seconds are the wall time of ``pipeline.run`` alone; interpreter start-up and module imports
are reported separately. Generation time is reported separately too; it is not the import.

``--profile`` also runs cProfile on the small CSV's import (a separate, unmeasured child) and
prints the top functions by cumulative and by own time; the stats file is kept in the out dir.

The database: ``--db PATH`` reuses a full-scale demo database (it is copied, never written);
without it, ``data.demo.build(seed=20241, scale=1.0)`` builds one into a temporary folder. A
database from before the current schema is upgraded once, in a copy, before the imports are timed.
Aim: xlsx < 10 s, csv < 30 s, peak memory flat in file size (misses are marked '!').
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SEED = 20241
YEAR = 2024
TITLE = f"{YEAR}年度家庭矛盾纠纷风险隐患排查台账（逐户）"
HEADERS = ["排查日期", "乡镇（街道）", "村（社区）", "户编号", "风险等级", "风险类型"]
RISK_LEVELS = ["无", "低", "中", "高"]
RISK_WEIGHTS = [0.80, 0.12, 0.06, 0.02]
RISK_TYPES = ["婚姻家庭纠纷", "家庭暴力", "监护缺失儿童", "侵害妇女儿童权益", "赡养抚养纠纷"]
RISK_TYPE_WEIGHTS = [0.45, 0.2, 0.12, 0.08, 0.15]
# how a township is written: as registered, with an office suffix, with a stray space, bare core
NAME_VARIANTS = [0.85, 0.05, 0.05, 0.05]
AIM_XLSX_S = 10.0
AIM_CSV_S = 30.0
AIM_FLAT = 1.3          # peak MB of the big CSV over the small one: more than this is not flat
TIME = Path("/usr/bin/time")
BLOCK_HOUSEHOLDS = 50_000


def mb(n: float) -> float:
    return n / (1024 * 1024)


def label(n: int) -> str:
    """100000 -> 100k, 5000000 -> 5m, 1500000 -> 1.5m."""
    for size, suffix in ((1_000_000, "m"), (1_000, "k")):
        if n >= size and n % (size // 10) == 0:
            return f"{n / size:g}{suffix}"
    return str(n)


# --------------------------------------------------------------------------- the database


def ensure_db(wanted: str | None, folder: Path) -> tuple[Path, float | None]:
    if wanted:
        path = Path(wanted).resolve()
        if not path.exists():
            raise SystemExit(f"--db {path}: no such file")
        return path, None
    from data import demo

    path = folder / "demo.duckdb"
    print("building the full-scale demo database into a temp folder …", flush=True)
    started = time.perf_counter()
    demo.build(path, seed=SEED, scale=1.0)
    return path, time.perf_counter() - started


def upgraded_copy(db: Path, folder: Path) -> tuple[Path, float | None]:
    """`db` itself if its schema is current, else an upgraded copy and the seconds it took.

    pipeline.run upgrades an older database before its first import (for the demo database of an
    earlier release: rebuilding the screenings table without its primary key). That happens once
    per database; timing it in every import would measure the database, not the file.
    """
    from db import schema

    copy = folder / "upgraded.duckdb"
    shutil.copyfile(db, copy)
    if Path(str(db) + ".wal").exists():
        shutil.copyfile(str(db) + ".wal", str(copy) + ".wal")
    started = time.perf_counter()
    if not schema.upgrade(copy):
        copy.unlink()
        Path(str(copy) + ".wal").unlink(missing_ok=True)
        return db, None
    return copy, time.perf_counter() - started


def load_towns(db: Path, gbk: bool) -> list[dict]:
    """The atlas townships with households_total and village names (read-only)."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        towns = con.execute("""
            select region_code, name, households_total from regions
            where level = 'township' and in_atlas and households_total > 0
            order by region_code
        """).fetchall()
        villages: dict[str, list[str]] = {}
        for code, name in con.execute("select township_code, name from villages order by village_code").fetchall():
            villages.setdefault(code, []).append(name)
    out = []
    for code, name, total in towns:
        names_ = villages.get(code) or [""]
        if gbk:  # a character GBK lacks would make the file unwritable: leave such names out
            if not _encodes(name, "gbk"):
                continue
            names_ = [v for v in names_ if _encodes(v, "gbk")] or [""]
        out.append({"code": code, "name": name, "total": int(total), "villages": names_,
                    "written": _written_forms(name)})
    if not out:
        raise SystemExit(f"{db}: no atlas townships with households_total")
    return out


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
        return True
    except UnicodeEncodeError:
        return False


def _written_forms(name: str) -> list[str]:
    """[as registered, office suffix added, stray space, bare core] (see NAME_VARIANTS)."""
    from geo import names

    if name.endswith("街道"):
        office = name + "办事处"
    elif name.endswith(("镇", "乡")):
        office = name + "人民政府"
    else:
        office = name + "办事处"
    spaced = name[:-1] + " " + name[-1] if len(name) > 2 else name + " "
    bare = names.core(name)
    return [name, office, spaced, bare if len(bare) >= 2 else name]


# --------------------------------------------------------------------------- the records


def _allot(weights, total: int):
    """Split `total` into integers proportional to `weights` (largest remainder)."""
    import numpy as np

    weights = np.asarray(weights, dtype=float)
    exact = weights / weights.sum() * total
    counts = np.floor(exact).astype(np.int64)
    rest = total - int(counts.sum())
    if rest:
        counts[np.argsort(-(exact - counts), kind="stable")[:rest]] += 1
    return counts


def records(towns: list[dict], rows: int, seed: int, text_dates: float, slash_dates: float):
    """Yield blocks of rows (lists of 6 cells) for `rows` screening records in total.

    Dates come as datetime.date, or as text (2024年3月5日 with share `text_dates`, 2024/3/5
    with share `slash_dates`); the caller turns the remaining dates into what its format needs.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    households = max(rows // 2 + rows % 2, round(rows / 1.5))   # 1 or 2 screenings each
    twice_total = rows - households
    totals = np.array([t["total"] for t in towns])
    per_town = _allot(totals, households)
    twice = np.minimum(_allot(per_town, twice_total), per_town)
    short = twice_total - int(twice.sum())
    for i in np.argsort(-(per_town - twice)):   # rounding left some over: give them to the roomiest
        if short <= 0:
            break
        add = min(short, int(per_town[i] - twice[i]))
        twice[i] += add
        short -= add
    if short:
        raise ValueError("cannot place the second screenings")
    days = [date(YEAR, 1, 1) + timedelta(days=d) for d in range((date(YEAR + 1, 1, 1) - date(YEAR, 1, 1)).days)]
    first_half = (date(YEAR, 7, 1) - date(YEAR, 1, 1)).days
    month_of_day = np.array([d.month - 1 for d in days])
    hanzi = [f"{d.year}年{d.month}月{d.day}日" for d in days]
    slash = [f"{d.year}/{d.month}/{d.day}" for d in days]
    level_written = {"无": ["无"], "低": ["低", "低风险"], "中": ["中", "中风险"], "高": ["高", "高风险"]}
    month_counts = np.zeros((len(towns), 12), dtype=np.int64)

    for t, town in enumerate(towns):
        n_house, n_twice = int(per_town[t]), int(twice[t])
        for start in range(0, n_house, BLOCK_HOUSEHOLDS):
            stop = min(n_house, start + BLOCK_HOUSEHOLDS)
            serial = np.arange(start, stop)
            is_twice = serial < n_twice
            # once: any day of the year; twice: a first half day, then 120-180 days later
            first = np.where(is_twice, rng.integers(0, first_half, len(serial)),
                             rng.integers(0, len(days), len(serial)))
            second = first[is_twice] + rng.integers(120, 181, int(is_twice.sum()))
            day_index = np.concatenate([first, second])
            who = np.concatenate([serial, serial[is_twice]])
            order = rng.permutation(len(who))
            day_index, who = day_index[order], who[order]
            np.add.at(month_counts[t], month_of_day[day_index], 1)
            n = len(who)
            form = rng.choice(4, n, p=NAME_VARIANTS)
            village = rng.integers(0, len(town["villages"]), n)
            level = rng.choice(4, n, p=RISK_WEIGHTS)
            suffixed = rng.random(n) < 0.1
            kind = rng.choice(len(RISK_TYPES), n, p=RISK_TYPE_WEIGHTS)
            how = rng.random(n)
            prefix = town["code"][4:9]
            block = []
            for i in range(n):
                d = int(day_index[i])
                if how[i] < text_dates:
                    when = hanzi[d]
                elif how[i] < text_dates + slash_dates:
                    when = slash[d]
                else:
                    when = days[d]
                lv = RISK_LEVELS[level[i]]
                block.append([when, town["written"][form[i]], town["villages"][village[i]],
                              f"{prefix}-{who[i]:06d}", level_written[lv][int(bool(suffixed[i])) if lv != "无" else 0],
                              "" if lv == "无" else RISK_TYPES[kind[i]]])
            yield block
    over = month_counts > totals[:, None]
    if over.any():
        t, m = map(int, np.argwhere(over)[0])
        raise ValueError(f"{towns[t]['name']} {YEAR}-{m + 1:02d}: {month_counts[t, m]} households screened, "
                         f"{towns[t]['total']} registered; generate fewer rows")


def write_xlsx(path: Path, towns: list[dict], rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("排查台账")
    sheet.append([TITLE])
    sheet.append(HEADERS)
    for block in records(towns, rows, SEED, text_dates=0.1, slash_dates=0.0):
        for row in block:
            sheet.append(row)   # a datetime.date cell is a real Excel date (number format yyyy-mm-dd)
    tmp = path.with_name(path.name + ".part")
    book.save(tmp)
    os.replace(tmp, path)


def write_csv(path: Path, towns: list[dict], rows: int, encoding: str, seed: int | None = None) -> None:
    """``seed`` (default SEED + rows): another gives other households and dates, the same shape."""
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "w", encoding=encoding, newline="", buffering=4 << 20) as stream:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow([TITLE])
        writer.writerow(HEADERS)
        for block in records(towns, rows, SEED + rows if seed is None else seed, text_dates=0.1, slash_dates=0.05):
            for row in block:
                if isinstance(row[0], date):
                    row[0] = row[0].isoformat()
            writer.writerows(block)
    os.replace(tmp, path)


def generate(path: Path, towns: list[dict], rows: int, keep: bool, encoding: str, seed: int | None = None) -> dict:
    meta_path = path.with_name(path.name + ".meta.json")
    if keep and path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("rows") == rows and meta.get("encoding") == encoding and meta.get("seed") == seed:
            print(f"  {path.name}: kept ({mb(path.stat().st_size):.1f} MB)", flush=True)
            return {**meta, "kept": True}
    print(f"  {path.name}: writing {rows:,} rows …", end="", flush=True)
    started = time.perf_counter()
    if path.suffix == ".xlsx":
        write_xlsx(path, towns, rows)
    else:
        write_csv(path, towns, rows, encoding, seed)
    seconds = time.perf_counter() - started
    meta = {"rows": rows, "encoding": encoding, "seed": seed, "gen_seconds": seconds, "bytes": path.stat().st_size}
    meta_path.write_text(json.dumps(meta))
    print(f" {mb(meta['bytes']):.1f} MB in {seconds:.1f} s", flush=True)
    return {**meta, "kept": False}


# --------------------------------------------------------------------------- the import, in a child


def child(file: str, db: str, profile: str | None) -> int:
    """Import one file into `db` and print one JSON line (the parent reads the last line)."""
    loaded = time.perf_counter()
    from importer import pipeline

    imports_s = time.perf_counter() - loaded
    marks: dict[str, float] = {}
    hwm: dict[str, int | None] = {}   # the child's VmHWM when each step was first reported

    def progress(_fraction: float, step: str) -> None:
        now = time.perf_counter() - started
        if step not in marks:
            marks[step] = now
            hwm[step] = _vmhwm_kb()
        if step == "parse":
            marks["last_parse"] = now

    started = time.perf_counter()
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        result = profiler.runcall(pipeline.run, file, db, progress=progress, replace=True)
        profiler.dump_stats(profile)
    else:
        # the ledger replaces the demo's 2024 visits of those townships (more rows than it brings,
        # which needs a person's yes); the replaced rows are kept for undo, and that is timed too
        result = pipeline.run(file, db, progress=progress, replace=True)
    seconds = time.perf_counter() - started
    out = {
        "seconds": seconds, "imports_seconds": imports_s, "status": result.status, "rows": result.rows,
        "accepted": result.accepted, "errors_total": result.errors_total, "warnings": len(result.warnings),
        "townships": result.townships, "periods": result.periods, "skipped": result.skipped,
        "encoding": result.encoding, "replaced": result.replaced, "phases": _phases(marks, seconds),
        "stage_peaks_mb": _stage_peaks(hwm),
        "first_errors": [e.to_json() for e in result.errors[:10]],
        "first_warnings": [w.to_json() for w in result.warnings[:5]],
        "unmatched": [u.to_json() for u in result.unmatched[:10]],
        "vmhwm_kb": _vmhwm_kb(),
    }
    print(json.dumps(out, ensure_ascii=False, default=str), flush=True)
    return 0


def _phases(marks: dict[str, float], seconds: float) -> dict[str, float]:
    """Seconds per stage, from the progress steps pipeline.run reports (read, parse, plan, commit, done)."""
    points = [("hash+context", 0.0), ("open", marks.get("read")), ("parse+checks", marks.get("parse")),
              ("count replaced", marks.get("plan")), ("commit", marks.get("commit")), ("end", marks.get("done"))]
    points = [(name, t) for name, t in points if t is not None]
    out = {}
    for (name, t), (_next, t_next) in zip(points, points[1:] + [("", seconds)]):
        if name != "end" or t_next - t > 0.05:
            out[name] = round(t_next - t, 2)
    return out


def _stage_peaks(hwm: dict[str, int | None]) -> dict[str, float]:
    """The high-water mark (MB) reached by the end of each stage: where the peak was made."""
    ends = [("before", "read"), ("open", "parse"), ("parse+checks", "plan"), ("count replaced", "commit"),
            ("commit", "done")]
    out = {name: round(hwm[step] / 1024) for name, step in ends if hwm.get(step)}
    end = _vmhwm_kb()
    if end:
        out["end"] = round(end / 1024)
    return out


def _vmhwm_kb() -> int | None:
    try:
        found = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
        return int(found.group(1)) if found else None
    except OSError:
        return None


def measure(file: Path, db: Path, work: Path, profile: Path | None = None) -> dict:
    """Import `file` into a fresh copy of `db` in a subprocess: the child's figures plus its peak RSS."""
    target = work / "atlas.duckdb"
    for leftover in (target, Path(str(target) + ".wal")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(db, target)
    if Path(str(db) + ".wal").exists():
        shutil.copyfile(str(db) + ".wal", str(target) + ".wal")
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(file), "--db", str(target)]
    if profile:
        command += ["--profile-to", str(profile)]
    out_path, err_path, time_path = work / "child.out", work / "child.err", work / "child.time"
    started = time.perf_counter()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        if TIME.exists():
            process = subprocess.Popen([str(TIME), "-f", "%M %e", "-o", str(time_path)] + command,
                                       stdout=out, stderr=err, cwd=ROOT)
        else:
            process = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT)
        _pid, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    text = out_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    try:
        got = json.loads(text[-1])
    except (IndexError, json.JSONDecodeError):
        tail = err_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"the import of {file.name} failed (exit {process.returncode}):\n{tail}") from None
    if TIME.exists():
        peak_kb = int(time_path.read_text().split()[-2])
        got["peak_source"] = "/usr/bin/time"
    else:
        peak_kb = usage.ru_maxrss
        got["peak_source"] = "wait4"
    got.update({"peak_kb": peak_kb, "process_seconds": wall, "exit": process.returncode})
    for leftover in (target, Path(str(target) + ".wal")):
        leftover.unlink(missing_ok=True)
    return got


def print_profile(stats_path: Path, limit: int = 25) -> None:
    import io
    import pstats

    for order, count in (("cumulative", limit), ("tottime", 15)):
        buffer = io.StringIO()
        stats = pstats.Stats(str(stats_path), stream=buffer)
        stats.strip_dirs().sort_stats(order).print_stats(count)
        lines = buffer.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
        total = next((line.strip() for line in lines if "function calls" in line), "")
        print(f"\nprofile, top {count} by {order} ({total}):")
        print("\n".join(lines[start:]).rstrip())


# --------------------------------------------------------------------------- report


def _code_version() -> str:
    """The commit measured, and whether the importer's files differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "importer", "db", "geo", "data"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.split("\n")
        changed = sorted({line[3:] for line in dirty if line.strip()})
        return head + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows-xlsx", type=int, default=100_000, help="rows of the .xlsx (default 100000)")
    parser.add_argument("--rows-csv", type=int, default=5_000_000, help="rows of the big CSV (default 5000000)")
    parser.add_argument("--rows-csv-small", type=int, default=1_000_000,
                        help="rows of the small CSV, to see whether memory grows (default 1000000; 0 skips)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "out"), help="folder for the files (default bench/out)")
    parser.add_argument("--keep", action="store_true", help="reuse generated files if present")
    parser.add_argument("--db", help="a full-scale demo database to copy (default: build one into a temp folder)")
    parser.add_argument("--gbk", action="store_true", help="write the CSVs in GBK instead of UTF-8")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile the small CSV's import (or the big one's if the small is skipped)")
    parser.add_argument("--json", metavar="PATH", help="raw figures (default <out>/import_speed.json)")
    parser.add_argument("--child", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        return child(args.child, args.db, args.profile_to)

    out_dir = Path(args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    encoding = "gbk" if args.gbk else "utf-8"
    print(f"Federation Atlas import benchmark · {time.strftime('%Y-%m-%d %H:%M')} · python {sys.version.split()[0]}"
          f" · peak memory by {'/usr/bin/time' if TIME.exists() else 'wait4'}")
    results: dict = {"files": [], "code": _code_version()}
    print(f"code: {results['code']}")
    with tempfile.TemporaryDirectory(prefix="atlas-import-bench-") as folder:
        work = Path(folder)
        db, build_s = ensure_db(args.db, work)
        results["db"] = str(db) if args.db else "(temp) demo.build(seed=20241, scale=1.0)"
        if build_s is not None:
            print(f"demo database built in {build_s:.1f} s ({mb(db.stat().st_size):.0f} MB)")
            results["demo_build_seconds"] = build_s
        db, upgrade_s = upgraded_copy(db, work)
        if upgrade_s is not None:
            print(f"the database predates the current schema: upgraded a copy in {upgrade_s:.1f} s"
                  " (once per database, not per import; not timed below)")
            results["schema_upgrade_seconds"] = upgrade_s
        towns = load_towns(db, args.gbk)
        print(f"townships: {len(towns)}, households registered: {sum(t['total'] for t in towns):,}")

        gbk = "_gbk" if args.gbk else ""
        plan = [(out_dir / f"screening_{label(args.rows_xlsx)}.xlsx", args.rows_xlsx)]
        if args.rows_csv_small:
            plan.append((out_dir / f"screening_{label(args.rows_csv_small)}{gbk}.csv", args.rows_csv_small))
        plan.append((out_dir / f"screening_{label(args.rows_csv)}{gbk}.csv", args.rows_csv))
        plan = [(p, n) for p, n in plan if n > 0]

        print("generating (not part of the import):")
        generated = {p: generate(p, towns, n, args.keep, encoding) for p, n in plan}

        print("importing, each in a fresh process into a fresh copy of the database:")
        for path, rows in plan:
            print(f"  {path.name} …", end="", flush=True)
            got = measure(path, db, work)
            print(f" {got['status']} in {got['seconds']:.1f} s, peak {got['peak_kb'] / 1024:.0f} MB", flush=True)
            results["files"].append({"file": path.name, "rows_generated": rows, "bytes": path.stat().st_size,
                                     "gen_seconds": generated[path]["gen_seconds"],
                                     "gen_kept": generated[path]["kept"], **got})
            if got["status"] != "imported":
                print(f"    rejected: {got['errors_total']} errors; first ones:")
                for e in got["first_errors"]:
                    print(f"      row {e['row']} {e['column']} {e['value']!r}: {e['message']} ({e['code']})")
                for u in got["unmatched"]:
                    print(f"      unmatched {u['name']!r}: {u['problem']} ({u['count']} rows)")

        profile_file = None
        if args.profile:
            csvs = [(p, n) for p, n in plan if p.suffix == ".csv"]
            if csvs:
                profile_file = min(csvs, key=lambda pn: pn[1])[0]
                stats_path = out_dir / f"import_profile_{profile_file.stem}.pstats"
                print(f"profiling the import of {profile_file.name} (cProfile; not a timing run) …", flush=True)
                got = measure(profile_file, db, work, profile=stats_path)
                results["profile"] = {"file": profile_file.name, "stats": str(stats_path),
                                      "seconds_under_profiler": got["seconds"], "status": got["status"]}

    header = ["file", "rows", "MB", "gen s", "import s", "peak MB", "status", "accepted"]
    rows_out = []
    for f in results["files"]:
        aim = AIM_XLSX_S if f["file"].endswith(".xlsx") else AIM_CSV_S
        rows_out.append([f["file"], str(f["rows_generated"]), f"{mb(f['bytes']):.1f}",
                         "kept" if f["gen_kept"] else f"{f['gen_seconds']:.1f}",
                         f"{f['seconds']:.1f}{'!' if f['seconds'] > aim else ' '}",
                         f"{f['peak_kb'] / 1024:.0f}", f["status"], str(f["accepted"])])
    print()
    print(table(rows_out, header))
    csv_rows = sorted((f for f in results["files"] if f["file"].endswith(".csv")), key=lambda f: f["rows_generated"])
    flat = ""
    if len(csv_rows) >= 2:
        small, big = csv_rows[0], csv_rows[-1]
        ratio = big["peak_kb"] / small["peak_kb"]
        results["peak_ratio"] = ratio
        flat = (f"; peak {label(big['rows_generated'])}/{label(small['rows_generated'])} CSV = {ratio:.2f}x"
                f" for {big['rows_generated'] / small['rows_generated']:.0f}x the rows"
                f"{' !' if ratio > AIM_FLAT else ' (flat)'}")
    print(f"aim: xlsx < {AIM_XLSX_S:.0f} s, csv < {AIM_CSV_S:.0f} s, memory flat in file size"
          f" (big/small CSV peak <= {AIM_FLAT}x){flat}; '!' marks a miss.")
    print("import s = wall time of importer.pipeline.run in the child; the child's interpreter start and module "
          "imports took " + ", ".join(f"{f['process_seconds'] - f['seconds']:.1f}" for f in results["files"])
          + " s more. peak MB = max RSS of the child (VmHWM "
          + ", ".join(f"{(f['vmhwm_kb'] or 0) / 1024:.0f}" for f in results["files"]) + " MB).")
    print("stages (s) from pipeline.run's progress steps: read -> parse -> plan -> commit -> done:")
    for f in results["files"]:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in f["phases"].items())
        peaks = ", ".join(f"{k} {v}" for k, v in f["stage_peaks_mb"].items())
        print(f"  {f['file']}: {stages}; replaced {f['replaced']:,} existing rows")
        print(f"  {' ' * len(f['file'])}  high-water MB at the end of each stage: {peaks}")
    if profile_file is not None:
        print_profile(Path(results["profile"]["stats"]))
        print(f"(under cProfile the import took {results['profile']['seconds_under_profiler']:.1f} s;"
              f" stats: {results['profile']['stats']})")
    json_path = Path(args.json) if args.json else out_dir / "import_speed.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    print(f"raw figures: {json_path}")
    return 0 if all(f["status"] == "imported" for f in results["files"]) else 1


if __name__ == "__main__":
    sys.exit(main())
