"""One file in, all or nothing: read, map the columns, parse, match townships, check, then commit
in one transaction, or reject with every problem listed and the database untouched.

The file is parsed and checked into a private staging database first, holding no lock on the
atlas database; the atlas database is opened for writing only for the short commit at the end,
so an app reading it at the same time waits a moment instead of failing.
"""
import getpass
import hashlib
import json
import logging
import os
import random
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from db import lake, paths, schema
from geo import names
from importer import boundaries as boundary_import
from importer import fields, history, messages, read, values
from importer.kinds import KINDS, Chunk, LedgerKind
from importer.result import MAX_LISTED, Issue, Problems, Result, Unmatched  # noqa: F401 (re-exported)

LOCK_WAIT_SECONDS = 120      # how long a commit waits for readers to let go of the file
LEFTOVER_SECONDS = 3600      # a killed import's staging folder or half-made database, swept after this
STAGING_MEMORY = "128MB"     # DuckDB's budget for the staging file's checks (it spills beyond)
COMMIT_MEMORY = "192MB"      # and for the commit into the atlas database
# On a DuckLake (db/lake.py) moving replaced rows aside rewrites Parquet files that do not spill
# as a file's blocks do: 192 MB ran out replacing 889,309 rows of the city demo (bench/lake.py)
LAKE_COMMIT_MEMORY = "1GB"
CHINA = (73.0, 136.0, 3.0, 54.0)
Progress = Callable[[float, str], None]
LOG = logging.getLogger("atlas.import")


# ---- the database side ------------------------------------------------------------------------

def connect_for_write(db: Path, wait: float = LOCK_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """Open the atlas database for writing, waiting while readers (the app) hold it."""
    return schema.open_waiting(db, read_only=False, wait=wait)


def connect_for_read(db: Path, wait: float = LOCK_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    return schema.open_waiting(db, read_only=True, wait=wait)


@dataclass
class Context:
    """What the import needs from the atlas database, read once, with the file closed after."""
    towns: pd.DataFrame
    counties: pd.DataFrame
    aliases: pd.DataFrame
    mappings: dict
    imported_hashes: dict
    households: dict
    household: dict  # what a household id is hashed with (db.schema.household_params): never shown
    cities: list
    db: Path | None = None
    scope: list = field(default_factory=lambda: [""])  # the importing person's regions (code prefixes)
    region_names: dict = field(default_factory=dict)    # city and county codes -> names

    def in_scope(self, code: str | None) -> bool:
        from queries import indicators

        return indicators.in_scope(code, self.scope)

    def region_label(self, prefix: str) -> str:
        """A scope prefix as a person reads it: 海州区, 连云港市, or a township's name."""
        code = prefix.ljust(12, "0")
        found = self.region_names.get(code)
        if found is None:
            found = dict(zip(self.towns["region_code"], self.towns["name"])).get(code, prefix)
        return found

    def matcher(self) -> names.Matcher:
        return names.Matcher(self.towns, self.counties, self.aliases, self.cities)

    @classmethod
    def load(cls, db: Path) -> "Context":
        schema.upgrade(db, wait=LOCK_WAIT_SECONDS)  # a database from before the importer
        with connect_for_read(db) as con:
            towns = con.execute("""
                select t.region_code, t.name, t.county_code, c.name as county_name, t.city_code,
                       t.in_atlas, t.households_total
                from regions as t
                left join regions as c on c.region_code = t.county_code
                where t.level = 'township'
            """).df()
            counties = con.execute(
                "select region_code, name, city_code from regions where level = 'county'").df()
            cities = [r[0] for r in con.execute("select name from regions where level = 'city'").fetchall()]
            aliases = con.execute("select alias, county_code, region_code from region_aliases").df()
            mappings = {s: (k, json.loads(m)) for s, k, m in
                        con.execute("select signature, kind, mapping from header_mappings").fetchall()}
            imported = {}
            for h, i, f, t, k, summary in con.execute(
                    "select file_hash, import_id, file_name, finished_at, kind, summary from imports"
                    " where undone_at is null").fetchall():
                options = json.loads(summary or "{}").get("options")
                imported[(h, json.dumps(options, sort_keys=True, ensure_ascii=False))] = {
                    "import_id": i, "file_name": f, "finished_at": str(t)[:19], "kind": k}
            household = schema.household_params(con)
            region_names = dict(con.execute(
                "select region_code, name from regions where level in ('city', 'county')").fetchall())
        households = dict(zip(towns["region_code"], towns["households_total"]))
        return cls(towns, counties, aliases, mappings, imported, households,
                   household, cities, region_names=region_names)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def header_signature(headers: list[str]) -> str:
    return hashlib.sha1("\x1f".join(headers).encode("utf-8")).hexdigest()


# ---- the entry point --------------------------------------------------------------------------

def run(path: str | Path, db: str | Path, **options) -> Result:
    """Import one file (see _run_once for the options). On a DuckLake (db/lake.py) other importers
    commit at the same time: when one of them changed the same tables between this import's
    reading and its commit, the lake refuses the commit (nothing of it written) and the whole
    import runs again, from reading the file, so that its checks (what it would replace) see the
    other's rows; after lake.RETRIES runs it is refused with that reason, the lake unchanged."""
    db = paths.db_path(db)
    if not lake.is_lake(db):
        return _run_once(path, db, **options)
    for attempt in range(1, lake.RETRIES + 1):
        try:
            with lake.private(db):
                return _run_once(path, db, **options)
        except LakeConflict:
            LOG.info("import of %s met another import's commit (run %d of %d)", path, attempt, lake.RETRIES)
            time.sleep(random.uniform(0.2, 1.0) * attempt)
    result = Result(file=options.get("file_name") or Path(path).name)
    Problems(result).add("lake_conflict", detail=str(lake.RETRIES))
    result.status, result.accepted = "rejected", 0
    return result


class LakeConflict(Exception):
    """The lake refused this import's commit: another import changed the same tables meanwhile."""


def _run_once(path: str | Path, db, *, kind: str | None = None, mapping: dict | None = None,
              matches: dict | None = None, sheet: str | None = None, dry_run: bool = False,
              user: str | None = None, file_name: str | None = None, progress: Progress | None = None,
              today: date | None = None, boundary_fields: dict | None = None, replace: bool = False,
              within: str | None = None, header_row: int | None = None, period: str | None = None,
              township: str | None = None, scope: list[str] | None = None) -> Result:
    """Import one file into the atlas database (or, with dry_run, say what would happen).

    mapping: header as written, column letter or header@letter -> field name ("" ignores the
    column); matches: township name as written -> 12-digit code (a person's confirmation, stored
    as an alias on commit); replace: the person agreed to replace more rows than the file brings
    (see _say_replacements); within: a city or county code that limits a boundary file's
    matching and import to that area; header_row: the Excel row (CSV line) of the headers, when a
    person points at it instead of letting the reader search; period: the period (2025-04, 2025Q2)
    of a statistical return that names it neither in a column nor in its title or 填报 lines;
    township: the township (a name, or its 12-digit code) every row of a ledger belongs to, for a
    file from one township that has no township column (a 司法所's case list); scope: the
    importing person's regions (code prefixes, access.viewer.Viewer.scope): a ledger row of a
    township outside them is an error, a boundary feature outside them is left out (a warning).
    """
    if within:  # how the file is read, so part of its options (a repeat with another area is new)
        boundary_fields = {**(boundary_fields or {}), "within": within}
    started = time.perf_counter()
    started_at = datetime.now()
    path, db = Path(path), paths.db_path(db)
    on_lake = lake.is_lake(db)
    name = file_name or path.name
    result = Result(file=name)
    progress = progress or (lambda fraction, step: None)
    problems = Problems(result)
    today = today or date.today()

    # what killed imports left (raw household ids in staging files; half-made databases) goes
    paths.sweep(Path(tempfile.gettempdir()), "atlas-import-*", LEFTOVER_SECONDS)
    if not on_lake and db.parent.is_dir():
        paths.sweep(db.parent, f".{db.name}.new-*", LEFTOVER_SECONDS)
    fresh = None
    creating = None
    if on_lake and not db.exists():  # a lake is made by `cli.py lake init`, never by an import
        raise lake.NoLake(db, "it holds no atlas yet: run `python cli.py lake init` first")
    if not on_lake and not db.exists():
        creating = paths.creating(db).__enter__()  # a second import into this new path waits here
        if db.exists():  # the import it waited for made the database: import into that one
            creating.__exit__()
            creating = None
    staging_dir = Path(tempfile.mkdtemp(prefix="atlas-import-"))  # 0700
    try:
        if creating is not None:
            # a new atlas: the register goes into a file beside the target, which replaces the
            # target only if this import commits (a rejected file must leave nothing behind)
            fresh = db.with_name(f".{db.name}.new-{os.getpid()}")
            fresh.unlink(missing_ok=True)
            progress(0.02, "new_database")
            schema.new_database(fresh)
        target = fresh or db
        result.file_hash = file_hash(path)
        context = Context.load(target)
        context.scope = list(scope) if scope else [""]
        options = _options(kind, mapping, sheet, boundary_fields, matches, township)
        if header_row:
            options["header_row"] = header_row
        if period:
            options["period"] = period
        previous = context.imported_hashes.get((result.file_hash, json.dumps(options, sort_keys=True, ensure_ascii=False)))
        if previous:  # the very same bytes were imported before: nothing to add, say when
            result.status, result.kind, result.previous_import = "unchanged", previous["kind"], previous
            return result
        suffix = Path(name).suffix.lower()
        if kind == fields.BOUNDARY_KIND or (kind is None and suffix in {".geojson", ".json", ".zip", ".gpkg", ".shp"}):
            result.kind = fields.BOUNDARY_KIND
            context.db = target  # the atlas's township polygons, to propose for unmatched features
            # --map "XZMC=name" names a boundary file's properties: name, code, county, layer
            boundary_fields = {**{f: src for src, f in (mapping or {}).items()
                                  if f in ("name", "code", "county", "layer")}, **(boundary_fields or {})}
            plan = boundary_import.stage(path, name, context, result, problems, matches or {},
                                         boundary_fields or {}, progress)
        else:
            context.db = target
            plan = _stage_ledger(path, name, context, result, problems, kind, mapping or {},
                                 matches or {}, sheet, staging_dir, today, progress, header_row=header_row,
                                 period=period, township=township)
        if plan is None or result.errors_total or result.unmatched:
            result.status = "rejected"
            result.accepted = 0
            return result
        plan.options = options
        progress(0.85, "plan")
        result.replaced = plan.count_replaced(target, result)
        _say_replacements(context, result, problems, replace or dry_run)
        if result.errors_total:
            result.status = "rejected"
            return result
        if dry_run:
            result.status = "dry_run"
            return result
        progress(0.9, "commit")
        with connect_for_write(target) as con:
            # without a ceiling DuckDB keeps every inserted row cached until the checkpoint, and
            # memory grows with the file; both cores may insert (screenings has no order to keep).
            # These settings live as long as the database instance: this connection's (the
            # importer's read-only connections could not open the file beside another one).
            con.execute(f"set memory_limit = '{LAKE_COMMIT_MEMORY if on_lake else COMMIT_MEMORY}'")  # a lake: its own instance
            con.execute("set preserve_insertion_order = false")
            attach = getattr(plan, "attach", None)
            if attach:  # outside the transaction: a database is detached only with no work pending
                attach(con)
            try:
                with schema.transaction(con, f"import {result.kind}: {name}"):
                    import_id = history.next_import_id(con)
                    plan.commit(con, import_id)
                    _remember(con, result, plan, user, started_at, import_id)
                    history.supersede(con, import_id)
            finally:
                if attach:
                    plan.detach(con)
            if not on_lake:  # (a lake's CHECKPOINT is its maintenance: `cli.py lake compact`)
                con.execute("checkpoint")  # now, within the ceiling, rather than at close
        if fresh is not None:
            os.replace(fresh, db)
            fresh = None
        result.status = "imported"
        progress(1.0, "done")
        return result
    except (TimeoutError, schema.NotAnAtlas, lake.NoLake):  # busy, not a database, no lake: the caller says so
        raise
    except Exception as error:
        if on_lake and lake.is_conflict(error):  # another importer's commit came first: run() runs it again
            raise LakeConflict(str(error)) from error
        # a bug met by some file: refused like any bad file, the database untouched (the write, if
        # it began, was rolled back), the trace in the log for the administrator, not on the page
        LOG.exception("import of %s failed", name)
        problems.add("internal_error", detail=type(error).__name__)
        result.status, result.accepted = "rejected", 0
        return result
    finally:
        result.errors.sort(key=lambda i: (i.row is not None, i.row or 0))
        result.warnings.sort(key=lambda i: (i.row is not None, i.row or 0))
        result.seconds = time.perf_counter() - started
        shutil.rmtree(staging_dir, ignore_errors=True)
        if fresh is not None:
            fresh.unlink(missing_ok=True)
            Path(str(fresh) + ".wal").unlink(missing_ok=True)
        if creating is not None:
            creating.__exit__()


def _say_replacements(context: Context, result: Result, problems: Problems, allowed: bool) -> None:
    """Before anything is replaced, say exactly what: one line per township. Replacing more than
    the file brings for a township (a partial list) needs an explicit yes."""
    names_of = dict(zip(context.towns["region_code"], context.towns["name"]))
    unit = result.kind or ""
    for r in result.replacements:
        r["township"] = names_of.get(r["township_code"], r["township_code"])
        text = messages.replacement(r["township"], r["first"], r["last"], r["rows"], r["brings"], unit)
        shrinks = r["rows"] > r["brings"]
        problems.add("replaces_more" if shrinks else "replaces", None, None, None, detail=text,
                     severity="error" if shrinks and not allowed else "warning")


def _remember(con, result: Result, plan, user: str | None, started_at: datetime, import_id: int) -> None:
    result.import_id = import_id
    summary = {"options": plan.options, "replaced": result.replaced, "replacements": result.replacements,
               "duplicates_dropped": result.duplicates_dropped, "warnings": len(result.warnings), "skipped": result.skipped,
               "sheet": result.sheet, "mapping": result.mapping}
    con.execute(
        """insert into imports (import_id, file_name, file_hash, kind, rows_in, rows_accepted, rows_replaced,
                                townships, periods, started_at, finished_at, imported_by, summary)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [import_id, result.file, result.file_hash, result.kind, result.rows, result.accepted,
         result.replaced, result.townships, ",".join(result.periods), started_at, datetime.now(),
         user or who(), json.dumps(summary, ensure_ascii=False, default=str)],
    )
    for alias, county_code, code in plan.aliases:
        schema.upsert(con, "region_aliases", ("alias", "county_code"), {
            "alias": alias, "county_code": county_code, "region_code": code,
            "confirmed_by": user or who(), "confirmed_at": datetime.now()})
    if plan.remember_mapping is not None:
        signature, kind, chosen = plan.remember_mapping
        schema.upsert(con, "header_mappings", ("signature",), {
            "signature": signature, "kind": kind, "mapping": json.dumps(chosen, ensure_ascii=False),
            "updated_at": datetime.now()})


def _options(kind, mapping, sheet, boundary_fields, matches=None, township=None) -> dict:
    """What, besides the bytes, decides what an import reads: the same file read another way
    (another sheet, another mapping, a left-out boundary feature now placed, another township for
    the whole file) is a new import."""
    options = {"kind": kind, "mapping": dict(sorted((mapping or {}).items())), "sheet": sheet,
               "fields": dict(sorted((boundary_fields or {}).items()))}
    if matches:
        options["matches"] = dict(sorted(matches.items()))
    if township:
        options["township"] = township
    return options


def who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


# ---- ledgers ----------------------------------------------------------------------------------

@dataclass
class LedgerPlan:
    kind: LedgerKind
    staging: Path
    aliases: list = field(default_factory=list)
    remember_mapping: tuple | None = None
    household: dict = field(default_factory=dict)  # db.schema.household_params
    options: dict | None = None
    township_code: str | None = None     # every row's township (--township), when the file names none

    def attach(self, con) -> None:
        # ATTACH takes no bound parameter: the path is a quoted literal, its quotes doubled (a temp
        # folder may have one in its name)
        path = self.staging.as_posix().replace("'", "''")
        con.execute(f"attach '{path}' as stg (read_only)")

    def detach(self, con) -> None:
        con.execute("detach stg")

    def count_replaced(self, db: Path, result: Result) -> int:
        """What the commit would replace, per township and span of months, into the result."""
        kind = self.kind
        month = f"strftime({kind.month_of}, '%Y-%m')" if kind.month_of else "null"
        with connect_for_read(db) as con:
            self.attach(con)
            try:
                groups = con.execute(f"""
                    with replaced as (
                        select t.{kind.town_column} as township_code, {month} as month, count(*) as n
                        from {kind.table} as t
                        where ({kind.replaced_where}) and ({kind.report_where}) group by all
                    ), brought as (
                        select township_code, {month} as month, count(*) as n from stg.staged
                        where township_code is not null group by all
                    )
                    select r.township_code, min(r.month), max(r.month), sum(r.n),
                           coalesce(sum(b.n), 0)
                    from replaced as r left join brought as b
                        on b.township_code = r.township_code and b.month is not distinct from r.month
                    group by r.township_code order by r.township_code
                """).fetchall()
            finally:
                self.detach(con)
        result.replacements = [{"township_code": code, "first": first, "last": last, "rows": int(n),
                                "brings": int(brings)} for code, first, last, n, brings in groups]
        result.needs_replace = any(r["rows"] > r["brings"] for r in result.replacements)
        return sum(r["rows"] for r in result.replacements)

    def commit(self, con, import_id: int) -> None:
        """Inside the caller's transaction, with the staging file attached as stg."""
        kind = self.kind
        history.replace(con, kind.table, kind.replaced_where, import_id)
        con.execute(kind.insert_sql, {k: v for k, v in {"import_id": import_id, **self.household}.items()
                                      if f"${k}" in kind.insert_sql})
        if kind.table != "regions":
            history.join_atlas(con, "select township_code from stg.staged", import_id)


def _stage_ledger(path, name, context: Context, result: Result, problems: Problems, kind, mapping,
                  matches, sheet, staging_dir: Path, today: date, progress: Progress, header_row: int | None = None,
                  period: str | None = None, township: str | None = None):
    progress(0.05, "read")
    try:
        table = read.open_table(path, sheet=sheet, file_name=name, header_row=header_row,
                                named={key.rpartition("@")[0] or key for key in mapping})
    except read.ReadError as error:
        problems.add(error.code, detail=error.detail)
        return None
    result.sheet, result.encoding, result.headers = table.sheet, table.encoding, table.headers
    result.sheets = list(table.sheets)
    result.header_row = table.header_rows[0]
    signature = header_signature(table.headers)
    remembered = context.mappings.get(signature)
    chosen = dict(mapping)
    if remembered and not mapping:
        kind = kind or remembered[0]
        chosen = dict(remembered[1])
        result.remembered = True
    # the user's mapping counts in detection: a header they mapped reads as that field
    by_column = fields.chosen_by_column(table.headers, table.columns, chosen)
    detect_keys = [by_column.get(i) or k for i, k in enumerate(table.keys)]
    kind = kind or fields.detect_kind(detect_keys, township_given=bool(township)) \
        or (remembered[0] if remembered else None)
    result.kind = kind
    if kind is None:
        closest = [(fields.KIND_LABELS[k], [f.label for f in lacks]) for k, lacks in fields.closest_kinds(detect_keys)]
        problems.add("unknown_kind", detail=messages.kinds_detail(closest))
        return None
    if kind not in fields.KINDS:
        problems.add("unknown_kind", detail=kind)
        return None
    bad = [f for f in chosen.values() if f and f not in {x.name for x in fields.KINDS[kind]}]
    for f in bad:
        problems.add("missing_column", detail=f"未知字段 {f}")
    columns = fields.map_headers(kind, table.keys, by_column)
    if kind in fields.WIDE_KINDS:  # a measure under every dispute type: one column each
        columns = fields.wide_columns(kind, table.headers, columns, {i for i, f in by_column.items() if not f})
    shown = fields.shown_headers(table.headers, table.columns)  # header@letter where written twice
    result.headers = shown
    result.mapping = {shown[i]: f for i, f in columns.items()}
    # a header written twice: which column is meant is the user's choice, never a guess
    result.duplicate_headers = fields.duplicate_headers(
        # a return repeats 排查数 under every type: its columns are told apart by the whole header
        kind, table.headers, table.headers if kind in fields.WIDE_KINDS else table.keys, table.columns, by_column, fields.by_letter(chosen, table.headers, table.columns))
    for d in result.duplicate_headers:
        problems.add("duplicate_header", column=d["header"],
                     detail=messages.duplicate_detail(d["header"], [c["letter"] for c in d["columns"]]))
    if result.duplicate_headers:
        return None
    for index, header in enumerate(table.headers):
        same = fields.match_header(kind, table.keys[index])
        if index not in columns and index not in by_column and same in columns.values():
            used = next(shown[i] for i, f in columns.items() if f == same)  # 结案方式 took 是否成功调解's field
            problems.add("second_column", column=shown[index], detail=used, severity="warning")
            continue
        if index not in columns and not header.startswith("（第") and index not in by_column \
                and not fields.ignorable(table.keys[index]):
            close = fields.closest_fields(kind, table.keys[index])
            result.unmapped.append({"column": header, "letter": table.columns[index],
                                    "closest": [f.name for f in close],
                                    "closest_labels": [f.label for f in close]})
    placed_by = [shown[i] for i, f in columns.items() if f in ("township", "township_code")]
    if township and placed_by:
        # a file that names its townships and a township for the whole file: which one is meant
        # is the person's call (--map "乡镇=" drops the column), never a silent pick
        problems.add("township_and_column", column=placed_by[0], detail=f"{placed_by[0]}|{township}")
        return None
    missing = fields.missing_required(kind, {fields.base_field(f) for f in columns.values()},
                                      township_given=bool(township))
    result.township_missing = any(f.name == "township" for f in missing)
    if missing:
        hints = "；".join(f"{u['column']}（可能是：{'、'.join(u['closest_labels'])}）" for u in result.unmapped[:6])
        problems.add("missing_column", detail="、".join(f.label for f in missing)
                     + (f"。未识别的列：{hints}" if hints else ""))
        return None
    for u in result.unmapped:
        problems.add("unmapped_column", column=u["column"],
                     detail=f"（最接近：{'、'.join(u['closest_labels'])}）" if u["closest_labels"] else "",
                     severity="warning")

    file_period = None
    if kind in fields.WIDE_KINDS and "period" not in columns.values():
        file_period = _file_period(table, period, problems)
        if file_period is None:
            return None

    matcher = context.matcher()
    whole_file = None
    if township:
        whole_file = _whole_file_township(matcher, township, problems)
        if whole_file is None:
            return None
        known = matcher.towns.loc[whole_file]
        result.township = {"code": whole_file, "name": known["name"], "county_name": known["county_name"] or ""}
    confirmed = {names.clean(k): v for k, v in (matches or {}).items() if v}
    staging = staging_dir / "staging.duckdb"
    # a ceiling, so the whole-file checks spill to disk instead of growing with the file
    con = duckdb.connect(str(staging), config={"memory_limit": STAGING_MEMORY})
    plan = LedgerPlan(KINDS[kind], staging, household=context.household, township_code=whole_file)
    if mapping:
        plan.remember_mapping = (signature, kind, {h: f for h, f in mapping.items()})
    try:
        try:
            _parse_into(con, table, kind, columns, matcher, confirmed, context, result, problems, plan, today,
                        progress, file_period)
        except read.ReadError as error:  # found only while reading the rows (a broken CSV line)
            problems.add(error.code, detail=error.detail)
            return None
        if result.rows == 0 and not result.errors_total:
            problems.add("no_rows")
        header_of = {f: table.headers[i] for i, f in columns.items()}
        _whole_file_checks(con, KINDS[kind], header_of, context, result, problems)
        if kind == "rooms":
            _rooms_inside_townships(con, context, table, columns, problems)
        _outside_viewer(con, context, header_of, problems)
        _scope(con, KINDS[kind], result)
        # rows of the file accepted (a return's row is one staged row per type; a distinct count
        # of five million row numbers would not fit the staging budget, and is needed only there)
        counted = "count(distinct row_no)" if kind in fields.WIDE_KINDS else "count(*)"
        result.accepted = int(con.execute(f"select {counted} from staged").fetchall()[0][0])
    finally:
        con.close()
    return plan


def _whole_file_township(matcher: names.Matcher, township: str, problems: Problems) -> str | None:
    """The code of the township a whole file belongs to (--township NAME|CODE), matched like any
    name; ambiguous or unknown: a whole-file error with the candidates, nothing guessed."""
    written = names.clean(township)
    if re.fullmatch(r"\d{9}|\d{12}", written):  # 9 digits: a township code without its 000
        written = written.ljust(12, "0")
        if written in matcher.towns.index:
            return written
        problems.add("township_option_unknown", detail=f"{written}|")
        return None
    match = matcher.match(written)
    if match.code:
        return match.code
    listed = "；".join(f"{c.name}（{c.county_name}，{c.code}）" for c in match.candidates[:5])
    problems.add("township_option_ambiguous" if match.problem == "ambiguous" else "township_option_unknown",
                 detail=f"{written}|{'：可能是 ' + listed if listed and match.problem != 'ambiguous' else listed}")
    return None


def _parse_into(con, table: read.Table, kind: str, columns: dict[int, str], matcher: names.Matcher,
                confirmed: dict, context: Context, result: Result, problems: Problems, plan: LedgerPlan,
                today: date, progress: Progress, file_period: tuple | None = None) -> None:
    header_of = {f: table.headers[i] for i, f in columns.items()}
    spec = {f.name: f for f in fields.KINDS[kind]}
    created = False
    skipped = {"total": 0, "note": 0, "blank": 0}
    unmatched: dict[tuple, Unmatched] = {}
    counties: Counter = Counter()  # rows matched per county: the county the file is of comes first
    first_preview = True
    seen = 0
    match_cache: dict = {}
    for chunk, row_numbers in table.chunks():
        seen += len(chunk)
        progress(min(0.1 + 0.7 * (1 - 1 / (1 + seen / 500_000)), 0.8), "parse")  # the end is unknown
        # rows that are not records: blank, 合计/小计 totals, 注：notes under the table
        blank, filled = _blank_rows(chunk)
        first = chunk.iloc[:, :4].astype(str).astype("string[pyarrow]")  # arrow: vectorised regexes
        total = _first_cells_match(first, fields.TOTAL_WORDS, anchored_both=True)
        note = _first_cells_match(first, fields.NOTE_WORDS, anchored_both=False) & (
            filled <= max(2, chunk.shape[1] // 3))
        keep = ~(blank | total | note)
        skipped["blank"] += int(blank.sum())
        skipped["total"] += int((total & ~blank).sum())
        skipped["note"] += int((note & ~blank & ~total).sum())
        raw = chunk[[i for i in sorted(columns)]] if columns else chunk
        if not keep.all():
            raw = raw[keep]
        rows = row_numbers[keep]
        if not len(raw):
            continue
        result.rows += len(raw)
        if table.error_cells:  # #DIV/0!, #REF!, #N/A: an error in the cell, never a blank
            for row in rows:
                for index, shown in table.error_cells.get(int(row), ()):
                    if index in columns:
                        problems.add("excel_error", row, table.headers[index], shown, detail=shown)
        # each column as (codes, distinct values): checks and fixes touch the distinct values,
        # and the rows are reached through the codes only where a problem is
        parsed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for index in sorted(columns):
            name = columns[index]
            f = spec[fields.base_field(name)]  # a return's "received#婚姻家庭纠纷" is a received count
            parse = values.parser_for(kind, f.name, f.kind)
            cells = raw[index]
            codes, got, bad = values.parse_distinct(cells, parse)
            parsed[name] = (codes, got)
            header = table.headers[index]
            is_bad = pd.notna(bad) & (bad != None)  # noqa: E711 (object array)
            if is_bad.any():
                for position in np.flatnonzero(is_bad[codes]):
                    code = bad[codes[position]]
                    if code == "bad_choice":
                        code = "bad_choice_outcome" if name == "outcome" else "bad_choice_risk"
                    shown = None if f.sensitive else cells.iloc[position]
                    problems.add(code, rows[position], header, shown)
            if f.required and "#" not in name:  # a blank count under one type of a return is none
                missing = pd.isna(got) & ~is_bad
                if missing.any():
                    at = np.flatnonzero(missing[codes])
                    if name == "risk_level" and kind == "screening":
                        got[missing] = "无"  # a blank result means nothing was found
                        if len(at):
                            problems.add("blank_risk_as_none", rows[at[0]], header, detail="", severity="warning")
                    else:
                        for position in at:
                            problems.add("required", rows[position], header, None)
            if f.kind == "date":
                _check_dates(got, codes, rows, header, today, problems)
        if plan.township_code is None and not {"township", "township_code"} & set(parsed) and "address" in parsed:
            town, town_codes = _match_addresses(parsed, rows, matcher, confirmed, unmatched, plan, match_cache,
                                                problems, header_of["address"])
        else:
            town, town_codes = _match_rows(parsed, rows, matcher, confirmed, unmatched, plan, match_cache,
                                           counties, problems, header_of.get("township"))
        per_row = {} if kind == "screening" else {name: got[codes] for name, (codes, got) in parsed.items()}
        frame = KINDS[kind].build(Chunk(per_row, town[town_codes], rows, problems, header_of, today,
                                        parsed=parsed, town=town, town_codes=town_codes, file_period=file_period))
        if first_preview:
            result.preview = _preview(table, raw, columns, spec, set(context.towns["region_code"]))
            first_preview = False
        con.register("chunk", frame)
        if not created:
            con.execute("create table staged as select * from chunk")
            created = True
        else:
            con.execute("insert into staged select * from chunk")
        con.unregister("chunk")
    result.skipped = skipped
    _rank_by_county(unmatched, matcher, counties)
    result.unmatched = sorted(unmatched.values(), key=lambda u: u.rows[0])
    for u in result.unmatched:
        detail = "；".join(f"{c['name']}（{c['county_name']}，{c['code']}）" for c in u.candidates[:3])
        if u.problem == "address_township":  # the township name found, never the address
            detail = f"{u.name}|{detail}"
        problems.add(u.problem, u.rows[0],
                     header_of.get("township") or header_of.get("township_code") or header_of.get("address"),
                     u.name or u.code, detail=("：可能是 " + detail) if detail and u.problem == "unmatched" else detail)
    if not created:
        none = np.array([], dtype=object)
        empty = KINDS[kind].build(Chunk({f: none for f in spec}, none, np.array([], dtype=np.int64), problems,
                                        header_of, today, parsed={}, town=none,
                                        town_codes=np.array([], dtype=np.int64)))
        con.register("chunk", empty)
        con.execute("create table staged as select * from chunk")
        con.unregister("chunk")


def _file_period(table: read.Table, option: str | None, problems: Problems) -> tuple | None:
    """A statistical return's period: from its title or 填报 line, else the person's choice."""
    found = values.period_in_text([" ".join(row) for row in table.above])
    chosen, _problem = values.period(option) if option else (None, None)
    if found:
        span, line = found
        label = messages.month_span(span[0].isoformat()[:7], span[1].isoformat()[:7])
        problems.add("period_from_title", detail=f"“{line}”：{label}", severity="warning")
        if chosen and chosen != span:
            problems.add("period_option_ignored", detail=label, severity="warning")
        return span
    if chosen:
        return chosen
    problems.add("no_period" if not option else "bad_period", value=option)
    return None


def _blank_rows(chunk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(row is blank, filled cells per row). Cheap first: only short cells can be blank."""
    empty = np.zeros(chunk.shape, dtype=bool)
    for j, column in enumerate(chunk.columns):
        cells = chunk[column]
        if isinstance(cells.dtype, pd.StringDtype) and cells.dtype.storage == "pyarrow":
            empty[:, j] = _blank_text(pa.array(cells))
            continue
        as_text = cells.astype(str).astype("string[pyarrow]")
        short = as_text.str.len().le(3).fillna(True).to_numpy()
        empty[:, j] = cells.isna().to_numpy()
        if short.any():
            stripped = as_text[short].str.strip().fillna("")
            empty[short, j] |= stripped.isin(["", "nan", "None", "NaT"]).to_numpy()
    return empty.all(axis=1), (~empty).sum(axis=1)


_BLANK_WORDS = pa.array(["", "nan", "None", "NaT"])


def _blank_text(cells: pa.Array) -> np.ndarray:
    # the same test as for other cells, straight on the Arrow strings of a CSV
    short = pc.less_equal(pc.utf8_length(cells), 3)
    blank = pc.and_(short, pc.is_in(pc.utf8_trim_whitespace(cells), value_set=_BLANK_WORDS))
    return pc.or_(pc.is_null(cells), pc.fill_null(blank, False)).to_numpy(zero_copy_only=False)


def _first_cells_match(as_text: pd.DataFrame, words: tuple, anchored_both: bool) -> np.ndarray:
    hit = np.zeros(len(as_text), dtype=bool)
    pattern = "|".join(re.escape(w) for w in words)
    # the words are Chinese: an ASCII cell (an id, a date, a number) cannot hold one
    assert not any(w.isascii() for w in words)
    for column in list(as_text.columns)[:4]:
        cells = as_text[column]
        if cells.str.isascii().fillna(True).all():
            continue
        codes, uniques = pd.factorize(cells)  # each distinct cell once
        distinct = pd.Series(uniques, dtype="string[pyarrow]")
        wide = ~distinct.str.isascii().fillna(True).to_numpy()
        # literal characters, not \s or \u escapes: pandas then hands the pattern to Arrow
        squeezed = distinct[wide].str.replace("[ \t\r\n　:：]", "", regex=True)
        if anchored_both:
            found = squeezed.str.match(f"^(?:{pattern})") | squeezed.str.contains(f"(?:{pattern})$", regex=True)
        else:
            found = squeezed.str.match(f"^\\*?(?:{pattern})")
        matched = np.zeros(len(distinct) + 1, dtype=bool)  # the last slot: a blank cell (code -1)
        matched[np.flatnonzero(wide)] = found.fillna(False).to_numpy()
        hit |= matched[codes]
    return hit


def _check_dates(got: np.ndarray, codes: np.ndarray, rows: np.ndarray, header: str, today: date,
                 problems: Problems) -> None:
    """A date in the future or before OLDEST is a problem in every row that has it, and blank after."""
    future = np.array([d is not None and d > today for d in got], dtype=bool)
    old = np.array([d is not None and d < values.OLDEST for d in got], dtype=bool)
    wrong = future | old
    if not wrong.any():
        return
    for position in np.flatnonzero(wrong[codes]):
        d = got[codes[position]]
        problems.add("future_date" if future[codes[position]] else "old_date", rows[position], header, d.isoformat())
    got[wrong] = None


def _match_rows(parsed, rows, matcher, confirmed, unmatched, plan, cache, counties: Counter | None = None,
                problems: Problems | None = None, header: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(township code of each distinct place, which one each row has): each place written a
    distinct way is matched once per file (`cache` carries the matches from chunk to chunk).
    `counties` counts the rows matched per county; a name matched by its core only (黄川乡 to
    黄川镇) is a warning on its first row, so a person sees it before the commit."""
    n = len(rows)
    if plan.township_code:  # --township: the whole file is one township's
        return np.array([plan.township_code], dtype=object), np.zeros(n, dtype=np.int64)
    key = np.zeros(n, dtype=np.int64)
    places = []
    for name in ("township", "township_code", "county"):
        codes, got = parsed.get(name, (np.zeros(n, dtype=np.int64), np.array([None], dtype=object)))
        # rows whose cells differ but parse the same are one place (" 墟沟街道" and "墟沟街道")
        same, distinct = pd.factorize(pd.Series(got, dtype=object), use_na_sentinel=False)
        key = key * (len(distinct) + 1) + same[codes]
        places.append((codes, got))
    keys, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    out = np.full(len(keys), None, dtype=object)
    for k, at in enumerate(first):
        name, code, county_name = (got[codes[at]] for codes, got in places)
        written = names.clean(name) if name else ""
        if written and written in confirmed and confirmed[written] in matcher.towns.index:
            chosen = confirmed[written]
            county_code = matcher.county_code(county_name) or ""
            plan.aliases.append((written, county_code, chosen))
            out[k] = chosen
            continue
        place = (name, code, county_name)
        if place not in cache:
            cache[place] = matcher.match(name, code, county_name)
        match = cache[place]
        if match.code:
            out[k] = match.code
            positions = np.flatnonzero(inverse == k)
            if counties is not None:
                counties[matcher.towns.at[match.code, "county_code"]] += len(positions)
            if (problems is not None and match.how == "normalised" and place not in cache.setdefault("_told", set())
                    and names.clean(matcher.towns.at[match.code, "name"]) != written):
                cache["_told"].add(place)  # once per file, not once per chunk
                town = matcher.towns.loc[match.code]
                problems.add("auto_match", int(rows[positions[0]]), header, name, severity="warning",
                             detail=f"{town['name']}（{town['county_name'] or ''}，{match.code}）")
            continue
        entry = unmatched.get(place)
        if entry is None:
            entry = unmatched[place] = Unmatched(
                name, county_name, code, match.problem or "unmatched", [], 0,
                [{"code": c.code, "name": c.name, "county_name": c.county_name, "score": c.score}
                 for c in match.candidates])
        positions = np.flatnonzero(inverse == k)
        entry.count += len(positions)
        entry.rows.extend(int(r) for r in rows[positions][: max(0, 10 - len(entry.rows))])
    return out, inverse.reshape(-1)


def _rank_by_county(unmatched: dict, matcher, counties: Counter) -> None:
    """Candidates for a name written without its county come first from the county most of the
    file's rows matched in (白塔镇 in a file of 东海县's townships: 白塔埠镇 of 东海县, before the
    白塔镇 of other provinces)."""
    if not counties:
        return
    county = counties.most_common(1)[0][0]
    for entry in unmatched.values():
        if (entry.county or not entry.name or entry.problem not in ("unmatched", "ambiguous")
                or matcher.names_a_county(entry.name)):  # 海州区朝阳街道 says its county itself
            continue
        near = [{"code": c.code, "name": c.name, "county_name": c.county_name, "score": c.score}
                for c in matcher.near_in_county(entry.name, county)]
        inside = [c for c in entry.candidates if matcher.towns.at[c["code"], "county_code"] == county]
        first = {c["code"]: c for c in [*inside, *near]}
        entry.candidates = [*first.values(), *[c for c in entry.candidates if c["code"] not in first]][:8]


def _match_addresses(parsed, rows, matcher, confirmed, unmatched, plan, cache, problems: Problems,
                     header: str) -> tuple[np.ndarray, np.ndarray]:
    """Like _match_rows, for a file with no township column but an address: the township each
    distinct address names is proposed for a person to confirm, keyed by the name found (the
    address itself never leaves the importer); a confirmed name becomes an alias, reused."""
    n = len(rows)
    key = np.zeros(n, dtype=np.int64)
    places = []
    for name in ("address", "county"):
        codes, got = parsed.get(name, (np.zeros(n, dtype=np.int64), np.array([None], dtype=object)))
        same, distinct = pd.factorize(pd.Series(got, dtype=object), use_na_sentinel=False)
        key = key * (len(distinct) + 1) + same[codes]
        places.append((codes, got))
    keys, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    out = np.full(len(keys), None, dtype=object)
    for k, at in enumerate(first):
        address, county_name = (got[codes[at]] for codes, got in places)
        positions = np.flatnonzero(inverse == k)
        if ("address", address, county_name) not in cache:
            cache[("address", address, county_name)] = (
                matcher.in_address(address, county_name) if address else (None, None))
        found, match = cache[("address", address, county_name)]
        if found is None:
            for position in positions:
                problems.add("address_no_township", rows[position], header, None)
            continue
        written = names.clean(found)
        if written in confirmed and confirmed[written] in matcher.towns.index:
            out[k] = confirmed[written]
            plan.aliases.append((written, matcher.county_code(county_name) or "", confirmed[written]))
            continue
        if match.code:  # a name confirmed before (an alias)
            out[k] = match.code
            continue
        entry = unmatched.get(("address", found, county_name))
        if entry is None:
            entry = unmatched[("address", found, county_name)] = Unmatched(
                found, county_name, None, "address_township", [], 0,
                [{"code": c.code, "name": c.name, "county_name": c.county_name, "score": c.score}
                 for c in match.candidates])
        entry.count += len(positions)
        entry.rows.extend(int(r) for r in rows[positions][: max(0, 10 - len(entry.rows))])
    return out, inverse


_PLAIN_COUNT = re.compile(r"[+-]?(?:0|[1-9]\d{0,6})(?:\.\d+)?")


def _preview(table: read.Table, raw: pd.DataFrame, columns: dict, spec: dict, towns: set) -> pd.DataFrame:
    """The first rows as read, under their headers; the household id column masked, and so is any
    cell that may be an id (messages.looks_like_id) whatever its header says: headers written over
    the wrong columns must not show ids. A township's code from the register, a plain count or
    amount under a number column and a date read as a date still show."""
    head = raw.head(10).copy()
    kinds = {i: spec[fields.base_field(f)].kind for i, f in columns.items()}
    sensitive = {i for i, f in columns.items() if spec[fields.base_field(f)].sensitive}
    head = head.map(lambda v: int(v) if isinstance(v, float) and v.is_integer() else v)

    def shown(v, kind):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        text = str(v)
        if (kind == "code" and text in towns) or (kind in ("int", "lon", "lat") and _PLAIN_COUNT.fullmatch(text)):
            return text
        return messages.masked(text)

    for i in head.columns:
        head[i] = messages.HIDDEN_CELL if i in sensitive else [shown(v, kinds.get(i)) for v in head[i]]
    head.columns = [table.headers[i] for i in head.columns]
    return head.astype(str).replace({"nan": "", "None": ""})


def _outside_viewer(con, context: Context, header_of: dict, problems: Problems) -> None:
    """An error for each row of a township outside the importing person's regions (a county's
    analyst imports for that county only)."""
    if context.scope == [""]:
        return
    codes = [c for (c,) in con.execute("select distinct township_code from staged where township_code is not null")
             .fetchall() if not context.in_scope(c)]
    if not codes:
        return
    found = con.execute("""select row_no, township_code from staged where list_contains($codes, township_code)
                           order by row_no limit 200""", {"codes": codes}).fetchall()
    if not found:
        return
    names_of = dict(zip(context.towns["region_code"], context.towns["name"]))
    allowed = "、".join(context.region_label(p) for p in context.scope)
    column = header_of.get("township") or header_of.get("township_code") or header_of.get("address")
    for row_no, code in found:
        problems.add("outside_viewer", row_no, column, names_of.get(code, code), detail=allowed)


def _rooms_inside_townships(con, context: Context, table, columns, problems: Problems) -> None:
    """A warning for a room whose point lies outside its township's imported boundary (the demo's
    approximate boundaries are not precise enough to judge by)."""
    import shapely

    header_of = {f: table.headers[i] for i, f in columns.items()}
    points = con.execute("""select row_no, township_code, longitude, latitude from staged
                            where longitude is not null and latitude is not null
                                and township_code is not null""").df()
    if points.empty or getattr(context, "db", None) is None:
        return
    with connect_for_read(context.db) as main:
        main.register("wanted", points[["township_code"]].drop_duplicates())
        shapes = main.execute("""select region_code, geometry from boundaries
                                 where boundary_source = 'imported'
                                   and region_code in (select township_code from wanted)""").fetchall()
    by_code = {code: shapely.from_wkb(wkb) for code, wkb in shapes}
    for row in points.itertuples():
        shape = by_code.get(row.township_code)
        if shape is not None and not shape.buffer(0.002).contains(shapely.Point(row.longitude, row.latitude)):
            problems.add("outside_township", row.row_no, header_of.get("longitude"),
                         f"{row.longitude}, {row.latitude}", detail=f"{row.longitude}, {row.latitude}",
                         severity="warning")




def _duplicates(con, kind: LedgerKind, header_of: dict, result: Result, problems: Problems) -> None:
    """The same record twice (same key, same values once parsed): a warning naming both rows,
    kept once. The same key with other values: an error naming both rows and the columns that
    differ. Each later row is compared with the first row of its key."""
    key = ", ".join(kind.key)
    values = [c for c in ("township_code", *kind.staged) if c not in kind.key]
    header_of = {**header_of, "township_code": header_of.get("township") or header_of.get("township_code")}
    named = {"township_code": "township_code", **kind.staged}
    differs = ", ".join(f"case when a.{c} is distinct from b.{c} then '{c}' end" for c in values) or "null"
    pairs = con.execute(f"""
        with repeated as (
            select {key} from staged where township_code is not null group by all having count(*) > 1
        ), keyed as (
            select s.*, min(s.row_no) over (partition by {", ".join(f"s.{k}" for k in kind.key)}) as first_row
            from staged as s semi join repeated as r using ({key})
        )
        select b.row_no, b.first_row, list_filter([{differs}], lambda x: x is not null) as columns
        from keyed as b join keyed as a on a.row_no = b.first_row
        where b.row_no > b.first_row
        order by b.row_no
    """).fetchall()
    dropped = []
    for row_no, first_row, columns in pairs:
        if columns:
            shown = list(dict.fromkeys(header_of.get(named[c]) or named[c] for c in columns))
            shown = "、".join(sorted(shown, key=lambda h: result.headers.index(h) if h in result.headers else 999))
            problems.add("conflicting_duplicate", row_no, shown, None, detail=f"{first_row}|{shown}")
        else:
            dropped.append(row_no)
            if len(result.warnings) < MAX_LISTED:
                problems.add("duplicate_dropped", row_no, None, None, detail=str(first_row), severity="warning")
    if dropped:
        con.register("dropped_rows", pd.DataFrame({"row_no": pd.Series(dropped, dtype="int64")}))
        con.execute("delete from staged where row_no in (select row_no from dropped_rows)")
        con.unregister("dropped_rows")
    result.duplicates_dropped = len(dropped)


def _whole_file_checks(con, kind: LedgerKind, header_of: dict, context: Context, result: Result,
                       problems: Problems) -> None:
    households = pd.DataFrame({"township_code": list(context.households),
                               "households_total": pd.array(list(context.households.values()), dtype="Int64")})
    con.register("households_known", households)
    try:
        if kind.checks is not None:
            kind.checks(con, header_of, context, problems)
        if kind.key:
            _duplicates(con, kind, header_of, result, problems)
        if kind.name in ("screening", "screening_summary"):
            unknown = con.execute("""
                select count(distinct s.township_code) from staged as s
                left join households_known as h using (township_code)
                where s.township_code is not null and h.households_total is null
            """).fetchall()[0][0]
            if unknown:
                problems.add("no_household_total", None, header_of.get("township") or header_of.get("township_code"),
                             None, detail=str(unknown), severity="warning")
    finally:
        con.unregister("households_known")


def _scope(con, kind: LedgerKind, result: Result) -> None:
    """What the import covers: the townships, and the periods (for the result and the log)."""
    con.execute("""create table scope as
        select distinct township_code, date_trunc('month', {})::date as month_start
        from staged where township_code is not null""".format(kind.month_of or "null::date"))
    result.periods = sorted(p[0] for p in con.execute(kind.periods_sql).fetchall()) if kind.periods_sql else []
    result.townships = int(con.execute("select count(distinct township_code) from scope").fetchall()[0][0])
