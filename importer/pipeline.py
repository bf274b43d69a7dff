"""One file in, all or nothing: read, map the columns, parse, match townships, check, then commit
in one transaction, or reject with every problem listed and the database untouched.

The file is parsed and checked into a private staging database first, holding no lock on the
atlas database; the atlas database is opened for writing only for the short commit at the end,
so an app reading it at the same time waits a moment instead of failing.
"""
import getpass
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from db import schema
from geo import names
from importer import fields, messages, read, values

MAX_LISTED = 50_000          # problems listed in full; beyond this only counted
LOCK_WAIT_SECONDS = 120      # how long a commit waits for readers to let go of the file
STAGING_MEMORY = "128MB"     # DuckDB's budget for the staging file's checks (it spills beyond)
COMMIT_MEMORY = "192MB"      # and for the commit into the atlas database
CHINA = (73.0, 136.0, 3.0, 54.0)
Progress = Callable[[float, str], None]


@dataclass
class Issue:
    row: int | None
    column: str | None
    value: str | None
    message: str
    expected: str
    code: str
    severity: str = "error"   # error blocks the import; warning does not

    def to_json(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value, "message": self.message,
                "expected": self.expected, "code": self.code}


@dataclass
class Unmatched:
    name: str | None
    county: str | None
    code: str | None
    problem: str
    rows: list[int]
    count: int
    candidates: list[dict]

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class Result:
    file: str
    kind: str | None = None
    status: str = "rejected"          # imported | unchanged | rejected | dry_run
    rows: int = 0                     # data rows read (blank, total and note rows not counted)
    accepted: int = 0
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    errors_total: int = 0
    replaced: int = 0
    townships: int = 0
    periods: list[str] = field(default_factory=list)
    skipped: dict = field(default_factory=dict)      # total rows, note rows, blank rows
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)  # every worksheet of a workbook, to pick from
    encoding: str | None = None
    headers: list[str] = field(default_factory=list)
    mapping: dict = field(default_factory=dict)      # header as written -> field name
    remembered: bool = False                          # the mapping came from an earlier file
    unmapped: list[dict] = field(default_factory=list)
    duplicate_headers: list[dict] = field(default_factory=list)  # [{field, header, columns: [{header, letter}]}]
    header_row: int | None = None                     # the Excel row (CSV line) the headers were read from
    preview: pd.DataFrame | None = None
    file_hash: str = ""
    import_id: int | None = None
    previous_import: dict | None = None
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "file": self.file, "kind": self.kind, "status": self.status, "rows": self.rows,
            "accepted": self.accepted, "errors": [e.to_json() for e in self.errors],
            "errors_total": self.errors_total,
            "warnings": [w.to_json() for w in self.warnings],
            "unmatched": [u.to_json() for u in self.unmatched], "replaced": self.replaced,
            "townships": self.townships, "periods": self.periods, "skipped": self.skipped,
            "sheet": self.sheet, "sheets": self.sheets, "encoding": self.encoding, "mapping": self.mapping,
            "unmapped": self.unmapped, "duplicate_headers": self.duplicate_headers,
            "header_row": self.header_row, "file_hash": self.file_hash, "import_id": self.import_id,
            "previous_import": self.previous_import, "seconds": round(self.seconds, 2),
        }


class _Problems:
    """Collects issues, listing the first MAX_LISTED errors and counting the rest."""

    def __init__(self, result: Result):
        self.result = result

    def add(self, code: str, row=None, column=None, value=None, detail: str = "", severity="error"):
        code, carried = messages.split(code)  # a cell parser's "bad_month|13"
        detail = detail or carried
        why, expected = messages.describe(code, detail)
        if value is not None and not isinstance(value, str):
            value = str(value)
        if value is not None and len(value) > 80:
            value = value[:77] + "…"
        issue = Issue(None if row is None else int(row), column, value, why, expected, code, severity)
        if severity == "warning":
            if len(self.result.warnings) < MAX_LISTED:
                self.result.warnings.append(issue)
            return
        self.result.errors_total += 1
        if len(self.result.errors) < MAX_LISTED:
            self.result.errors.append(issue)


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
    salt: str
    cities: list
    db: Path | None = None

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
                    "select file_hash, import_id, file_name, finished_at, kind, summary from imports").fetchall():
                options = json.loads(summary or "{}").get("options")
                imported[(h, json.dumps(options, sort_keys=True, ensure_ascii=False))] = {
                    "import_id": i, "file_name": f, "finished_at": str(t)[:19], "kind": k}
            salt_rows = con.execute("select value from meta where key = 'household_salt'").fetchall()
        households = dict(zip(towns["region_code"], towns["households_total"]))
        return cls(towns, counties, aliases, mappings, imported, households,
                   salt_rows[0][0] if salt_rows else "", cities)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def header_signature(headers: list[str]) -> str:
    return hashlib.sha1("\x1f".join(headers).encode("utf-8")).hexdigest()


# ---- the entry point --------------------------------------------------------------------------

def run(path: str | Path, db: str | Path, *, kind: str | None = None, mapping: dict | None = None,
        matches: dict | None = None, sheet: str | None = None, dry_run: bool = False,
        user: str | None = None, file_name: str | None = None, progress: Progress | None = None,
        today: date | None = None, boundary_fields: dict | None = None, header_row: int | None = None) -> Result:
    """Import one file into the atlas database (or, with dry_run, say what would happen).

    mapping: header as written, column letter or header@letter -> field name ("" ignores the
    column); matches: township name as written -> 12-digit code (a person's confirmation, stored
    as an alias on commit); header_row: the Excel row (CSV line) of the headers, when a person
    points at it instead of letting the reader search.
    """
    started = time.perf_counter()
    started_at = datetime.now()
    path, db = Path(path), Path(db)
    name = file_name or path.name
    result = Result(file=name)
    progress = progress or (lambda fraction, step: None)
    problems = _Problems(result)
    today = today or date.today()

    fresh = None
    if not db.exists():
        # a new atlas: the register goes into a file beside the target, which replaces the
        # target only if this import commits (a rejected file must leave nothing behind)
        db.parent.mkdir(parents=True, exist_ok=True)
        fresh = db.with_name(f".{db.name}.new-{os.getpid()}")
        fresh.unlink(missing_ok=True)
        progress(0.02, "new_database")
        schema.new_database(fresh)
    target = fresh or db
    staging_dir = Path(tempfile.mkdtemp(prefix="atlas-import-"))
    try:
        result.file_hash = file_hash(path)
        context = Context.load(target)
        options = _options(kind, mapping, sheet, boundary_fields)
        if header_row:
            options["header_row"] = header_row
        previous = context.imported_hashes.get((result.file_hash, json.dumps(options, sort_keys=True, ensure_ascii=False)))
        if previous:  # the very same bytes were imported before: nothing to add, say when
            result.status, result.kind, result.previous_import = "unchanged", previous["kind"], previous
            return result
        suffix = Path(name).suffix.lower()
        if kind == fields.BOUNDARY_KIND or (kind is None and suffix in {".geojson", ".json", ".zip", ".gpkg", ".shp"}):
            from importer import boundaries as boundary_import
            result.kind = fields.BOUNDARY_KIND
            # --map "XZMC=name" names a boundary file's properties: name, code, county, layer
            boundary_fields = {**{f: src for src, f in (mapping or {}).items()
                                  if f in ("name", "code", "county", "layer")}, **(boundary_fields or {})}
            plan = boundary_import.stage(path, name, context, result, problems, matches or {},
                                         boundary_fields or {}, progress)
        else:
            context.db = target
            plan = _stage_ledger(path, name, context, result, problems, kind, mapping or {},
                                 matches or {}, sheet, staging_dir, today, progress, header_row=header_row)
        if plan is None or result.errors_total or result.unmatched:
            result.status = "rejected"
            result.accepted = 0
            return result
        plan.options = options
        progress(0.85, "plan")
        result.replaced = plan.count_replaced(target)
        if dry_run:
            result.status = "dry_run"
            return result
        progress(0.9, "commit")
        with connect_for_write(target) as con:
            # without a ceiling DuckDB keeps every inserted row cached until the checkpoint, and
            # memory grows with the file; both cores may insert (screenings has no order to keep).
            # These settings live as long as the database instance: this connection's (the
            # importer's read-only connections could not open the file beside another one).
            con.execute(f"set memory_limit = '{COMMIT_MEMORY}'")
            con.execute("set preserve_insertion_order = false")
            con.execute("begin")
            try:
                plan.commit(con)
                _remember(con, result, plan, user, started_at)
                schema.bump_version(con, f"import {result.kind}: {name}")
                con.execute("commit")
            except Exception:
                con.execute("rollback")
                raise
            con.execute("checkpoint")  # now, within the ceiling, rather than at close
        if fresh is not None:
            os.replace(fresh, db)
            fresh = None
        result.status = "imported"
        progress(1.0, "done")
        return result
    finally:
        result.errors.sort(key=lambda i: (i.row is not None, i.row or 0))
        result.warnings.sort(key=lambda i: (i.row is not None, i.row or 0))
        result.seconds = time.perf_counter() - started
        shutil.rmtree(staging_dir, ignore_errors=True)
        if fresh is not None:
            fresh.unlink(missing_ok=True)
            Path(str(fresh) + ".wal").unlink(missing_ok=True)


def _remember(con, result: Result, plan, user: str | None, started_at: datetime) -> None:
    import_id = con.execute("select coalesce(max(import_id), 0) + 1 from imports").fetchall()[0][0]
    result.import_id = import_id
    summary = {"options": plan.options, "replaced": result.replaced, "warnings": len(result.warnings), "skipped": result.skipped,
               "sheet": result.sheet, "mapping": result.mapping}
    con.execute(
        "insert into imports values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [import_id, result.file, result.file_hash, result.kind, result.rows, result.accepted,
         result.replaced, result.townships, ",".join(result.periods), started_at, datetime.now(),
         user or who(), json.dumps(summary, ensure_ascii=False, default=str)],
    )
    for alias, county_code, code in plan.aliases:
        con.execute("insert or replace into region_aliases values (?, ?, ?, ?, ?)",
                    [alias, county_code, code, user or who(), datetime.now()])
    if plan.remember_mapping is not None:
        signature, kind, chosen = plan.remember_mapping
        con.execute("insert or replace into header_mappings values (?, ?, ?, ?)",
                    [signature, kind, json.dumps(chosen, ensure_ascii=False), datetime.now()])


def _options(kind, mapping, sheet, boundary_fields) -> dict:
    """What, besides the bytes, decides what an import reads: the same file read another way
    (another sheet, another mapping) is a new import, not a repeat."""
    return {"kind": kind, "mapping": dict(sorted((mapping or {}).items())), "sheet": sheet,
            "fields": dict(sorted((boundary_fields or {}).items()))}


def who() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


# ---- ledgers ----------------------------------------------------------------------------------

@dataclass
class LedgerPlan:
    kind: str
    staging: Path
    aliases: list = field(default_factory=list)
    remember_mapping: tuple | None = None
    salt: str = ""
    options: dict | None = None

    def _attach(self, con, alias: str = "stg") -> None:
        con.execute(f"attach '{self.staging.as_posix()}' as {alias} (read_only)")

    def count_replaced(self, db: Path) -> int:
        with connect_for_read(db) as con:
            self._attach(con)
            try:
                return int(con.execute(_REPLACED_SQL[self.kind]).fetchall()[0][0])
            finally:
                con.execute("detach stg")

    def commit(self, con) -> None:
        self._attach(con)
        try:
            for statement in _COMMIT_SQL[self.kind]:
                con.execute(statement, {"salt": self.salt} if "$salt" in statement else None)
            con.execute("""
                update regions set in_atlas = true
                where level = 'township' and not in_atlas
                    and region_code in (select distinct township_code from stg.staged)
            """)
        finally:
            con.execute("detach stg")


# Rows the import replaces: what the same townships already hold for the same periods.
_REPLACED_SQL = {
    "screening": """
        select count(*) from screenings as s
        where exists (select 1 from stg.scope as p where p.township_code = s.township_code
                      and p.month_start = date_trunc('month', s.screened_date))
    """,
    "screening_summary": """
        select count(*) from screening_summaries as s
        join stg.scope as p using (township_code, period_start, period_end)
    """,
    "cases": """
        select count(*) from cases as c
        where exists (select 1 from stg.scope as p where p.township_code = c.township_code
                      and p.month_start = date_trunc('month', c.received_date))
           or c.case_id in (select case_id from stg.staged)
    """,
    "rooms": """
        select count(*) from rooms where township_code in (select township_code from stg.scope)
           or room_id in (select room_id from stg.staged)
    """,
    "regions": """
        select count(*) from regions where region_code in (select township_code from stg.scope)
            and (households_total is not null or villages_total is not null)
    """,
    "targets": """
        select count(*) from screening_targets as g
        join stg.scope as p on p.township_code = g.township_code and p.year = g.year
    """,
}

_VILLAGE_CODE = """
    coalesce(v.village_code, case when s.village is null then null else s.township_code || '-' || s.village end)
"""

_COMMIT_SQL = {
    "screening": [
        """delete from screenings as s
           where exists (select 1 from stg.scope as p where p.township_code = s.township_code
                         and p.month_start = date_trunc('month', s.screened_date))""",
        f"""insert into screenings
            select 'imp-' || $salt[1:6] || '-' || md5(s.township_code || '|' || s.household_raw || '|'
                       || s.screened_date || '|' || s.row_no || '|' || $salt)[1:20],
                   md5($salt || '|' || s.township_code || '|' || s.household_raw),
                   s.township_code, {_VILLAGE_CODE}, s.screened_date, s.risk_level, s.risk_type
            from stg.staged as s
            left join villages as v on v.township_code = s.township_code and v.name = s.village""",
    ],
    "screening_summary": [
        """delete from screening_summaries as s
           where exists (select 1 from stg.scope as p where p.township_code = s.township_code
                         and p.period_start = s.period_start and p.period_end = s.period_end)""",
        """insert into screening_summaries
           select township_code, period_start, period_end, households_screened,
                  coalesce(risk_low, 0), coalesce(risk_medium, 0), coalesce(risk_high, 0)
           from stg.staged""",
    ],
    "cases": [
        """delete from cases as c
           where exists (select 1 from stg.scope as p where p.township_code = c.township_code
                         and p.month_start = date_trunc('month', c.received_date))
              or c.case_id in (select case_id from stg.staged)""",
        f"""insert into cases
            select s.case_id, s.received_date, s.closed_date, s.township_code, {_VILLAGE_CODE},
                   s.case_type, s.source, s.risk_level,
                   coalesce(s.outcome, case when s.closed_date is null then '在办' end),
                   (select min(r.room_id) from rooms as r
                    where r.township_code = s.township_code and r.name = s.room)
            from stg.staged as s
            left join villages as v on v.township_code = s.township_code and v.name = s.village""",
    ],
    "rooms": [
        """delete from rooms where township_code in (select township_code from stg.scope)
              or room_id in (select room_id from stg.staged)""",
        f"""insert into rooms
            select s.room_id, s.name, s.room_type, s.township_code, {_VILLAGE_CODE}, s.address,
                   s.longitude, s.latitude, s.opened_date, s.closed_date, s.mediators, s.meets_standard
            from stg.staged as s
            left join villages as v on v.township_code = s.township_code and v.name = s.village""",
    ],
    "regions": [
        """update regions as r
           set households_total = coalesce(s.households, r.households_total),
               villages_total = coalesce(s.villages, r.villages_total)
           from stg.staged as s
           where r.region_code = s.township_code""",
    ],
    "targets": [
        """delete from screening_targets as g
           where exists (select 1 from stg.scope as p where p.township_code = g.township_code and p.year = g.year)""",
        """insert into screening_targets (township_code, year, target_households, updated_at)
           select township_code, year, target_households, current_localtimestamp() from stg.staged""",
    ],
}

# Typed columns of each kind's staging table, after parsing (household ids stay raw here: the
# staging file is private and deleted; they are salted and hashed on the way into the atlas).
_STAGED = {
    "regions": ["households", "villages"],
    "rooms": ["room_id", "name", "room_type", "village", "address", "longitude", "latitude",
              "opened_date", "closed_date", "mediators", "meets_standard"],
    "screening": ["screened_date", "village", "household_raw", "risk_level", "risk_type"],
    "screening_summary": ["period_start", "period_end", "households_screened", "risk_low",
                          "risk_medium", "risk_high"],
    "cases": ["case_id", "received_date", "village", "case_type", "source", "risk_level", "outcome",
              "closed_date", "room"],
    "targets": ["year", "target_households"],
}


def _stage_ledger(path, name, context: Context, result: Result, problems: _Problems, kind, mapping,
                  matches, sheet, staging_dir: Path, today: date, progress: Progress, header_row: int | None = None):
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
    kind = kind or fields.detect_kind(detect_keys) or (remembered[0] if remembered else None)
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
    shown = fields.shown_headers(table.headers, table.columns)  # header@letter where written twice
    result.headers = shown
    result.mapping = {shown[i]: f for i, f in columns.items()}
    # a header written twice: which column is meant is the user's choice, never a guess
    result.duplicate_headers = fields.duplicate_headers(
        kind, table.headers, table.keys, table.columns, by_column, fields.by_letter(chosen, table.headers, table.columns))
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
    missing = fields.missing_required(kind, set(columns.values()))
    if missing:
        hints = "；".join(f"{u['column']}（可能是：{'、'.join(u['closest_labels'])}）" for u in result.unmapped[:6])
        problems.add("missing_column", detail="、".join(f.label for f in missing)
                     + (f"。未识别的列：{hints}" if hints else ""))
        return None
    for u in result.unmapped:
        problems.add("unmapped_column", column=u["column"],
                     detail=f"（最接近：{'、'.join(u['closest_labels'])}）" if u["closest_labels"] else "",
                     severity="warning")

    matcher = context.matcher()
    confirmed = {names.clean(k): v for k, v in (matches or {}).items() if v}
    staging = staging_dir / "staging.duckdb"
    # a ceiling, so the whole-file checks spill to disk instead of growing with the file
    con = duckdb.connect(str(staging), config={"memory_limit": STAGING_MEMORY})
    plan = LedgerPlan(kind, staging, salt=context.salt)
    if mapping:
        plan.remember_mapping = (signature, kind, {h: f for h, f in mapping.items()})
    try:
        try:
            _parse_into(con, table, kind, columns, matcher, confirmed, context, result, problems, plan, today,
                        progress)
        except read.ReadError as error:  # found only while reading the rows (a broken CSV line)
            problems.add(error.code, detail=error.detail)
            return None
        if result.rows == 0 and not result.errors_total:
            problems.add("no_rows")
        _whole_file_checks(con, kind, table, columns, context, result, problems)
        if kind == "rooms":
            _rooms_inside_townships(con, context, table, columns, problems)
        _scope(con, kind, result)
    finally:
        con.close()
    return plan


def _parse_into(con, table: read.Table, kind: str, columns: dict[int, str], matcher: names.Matcher,
                confirmed: dict, context: Context, result: Result, problems: _Problems, plan: LedgerPlan,
                today: date, progress: Progress) -> None:
    header_of = {f: table.headers[i] for i, f in columns.items()}
    spec = {f.name: f for f in fields.KINDS[kind]}
    created = False
    skipped = {"total": 0, "note": 0, "blank": 0}
    unmatched: dict[tuple, Unmatched] = {}
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
        # each column as (codes, distinct values): checks and fixes touch the distinct values,
        # and the rows are reached through the codes only where a problem is
        parsed: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for index in sorted(columns):
            name = columns[index]
            f = spec[name]
            parse = values.parser_for(kind, name, f.kind)
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
            if f.required:
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
        town, town_codes = _match_rows(parsed, rows, matcher, confirmed, unmatched, plan, match_cache)
        if kind == "screening":
            frame = _typed_screening(parsed, town, town_codes, rows)
        else:
            per_row = {name: got[codes] for name, (codes, got) in parsed.items()}
            frame = _typed(kind, per_row, town[town_codes], rows, problems, header_of, today)
        if first_preview:
            result.preview = _preview(table, raw, columns, spec)
            first_preview = False
        con.register("chunk", frame)
        if not created:
            con.execute("create table staged as select * from chunk")
            created = True
        else:
            con.execute("insert into staged select * from chunk")
        con.unregister("chunk")
    result.skipped = skipped
    result.unmatched = sorted(unmatched.values(), key=lambda u: u.rows[0])
    for u in result.unmatched:
        detail = "；".join(f"{c['name']}（{c['county_name']}，{c['code']}）" for c in u.candidates[:3])
        problems.add(u.problem, u.rows[0], header_of.get("township") or header_of.get("township_code"),
                     u.name or u.code, detail=("：可能是 " + detail) if detail and u.problem == "unmatched" else detail)
    if not created:
        none = np.array([], dtype=object)
        if kind == "screening":
            empty = _typed_screening({}, none, np.array([], dtype=np.int64), np.array([], dtype=np.int64))
        else:
            empty = _typed(kind, {f: none for f in spec}, none, np.array([], dtype=int), problems, header_of, today)
        con.register("chunk", empty)
        con.execute("create table staged as select * from chunk")
        con.unregister("chunk")
    accepted = con.execute("select count(*) from staged").fetchall()[0][0]
    result.accepted = int(accepted)


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
                 problems: _Problems) -> None:
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


def _match_rows(parsed, rows, matcher, confirmed, unmatched, plan, cache) -> tuple[np.ndarray, np.ndarray]:
    """(township code of each distinct place, which one each row has): each place written a
    distinct way is matched once per file (`cache` carries the matches from chunk to chunk)."""
    n = len(rows)
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


def _typed_screening(parsed, town: np.ndarray, town_codes: np.ndarray, rows: np.ndarray) -> pa.Table:
    """The staging table of one chunk of a household ledger, built in Arrow: each column's
    distinct values taken by the rows' codes (a few thousand dates and villages, not millions)."""
    def column(name, kind=pa.string()):
        codes, got = parsed.get(name, (np.zeros(len(rows), dtype=np.int64), np.array([None], dtype=object)))
        if kind == pa.string():
            return pa.array(got, type=pa.string()).take(pa.array(codes))
        # the pandas path stored datetime64[s]: keep TIMESTAMP_S, whose text the commit hashes
        days = pa.array(got, type=pa.date32()).cast(pa.timestamp("s"))
        return days.take(pa.array(codes))
    return pa.table({
        "row_no": pa.array(rows, type=pa.int64()),
        "township_code": pa.array(town, type=pa.string()).take(pa.array(town_codes)),
        "screened_date": column("screened_date", pa.timestamp("s")),
        "village": column("village"),
        "household_raw": column("household_id"),
        "risk_level": column("risk_level"),
        "risk_type": column("risk_type"),
    })


def _column(parsed, name, n):
    return parsed.get(name, np.full(n, None, dtype=object))


def _typed(kind, parsed, codes, rows, problems, header_of, today) -> pd.DataFrame:
    """The staging frame of one chunk: row number, township code, the kind's typed columns."""
    n = len(rows)
    frame = pd.DataFrame({"row_no": pd.Series(rows, dtype="int64"),
                          "township_code": pd.Series(codes, dtype="string")})
    col = lambda name: _column(parsed, name, n)  # noqa: E731
    if kind == "regions":
        frame["households"] = pd.array(col("households"), dtype="Int64")
        frame["villages"] = pd.array(col("villages"), dtype="Int64")
    elif kind == "targets":
        frame["year"] = pd.array(col("year"), dtype="Int64")
        frame["target_households"] = pd.array(col("target_households"), dtype="Int64")
        for position, year in enumerate(frame["year"]):
            if year is not pd.NA and not 2000 <= int(year) <= today.year + 1:
                problems.add("bad_year", rows[position], header_of.get("year"), str(year))
    elif kind == "screening":
        frame["screened_date"] = pd.to_datetime(pd.Series(col("screened_date"), dtype=object))
        frame["village"] = pd.Series(col("village"), dtype="string")
        frame["household_raw"] = pd.Series(col("household_id"), dtype="string")
        frame["risk_level"] = pd.Series(col("risk_level"), dtype="string")
        frame["risk_type"] = pd.Series(col("risk_type"), dtype="string")
    elif kind == "screening_summary":
        spans = col("period")
        frame["period_start"] = pd.to_datetime(pd.Series([s[0] if s else None for s in spans], dtype=object))
        frame["period_end"] = pd.to_datetime(pd.Series([s[1] if s else None for s in spans], dtype=object))
        for position, span in enumerate(spans):
            if span and span[0] > today:
                problems.add("future_period", rows[position], header_of.get("period"), span[0].isoformat()[:7])
        for name in ("households_screened", "risk_low", "risk_medium", "risk_high"):
            frame[name] = pd.array(col(name), dtype="Int64")
    elif kind == "cases":
        frame["case_id"] = pd.Series(col("case_id"), dtype="string")
        frame["received_date"] = pd.to_datetime(pd.Series(col("received_date"), dtype=object))
        frame["village"] = pd.Series(col("village"), dtype="string")
        for name in ("case_type", "source", "risk_level", "outcome", "room"):
            frame[name] = pd.Series(col(name), dtype="string")
        frame["closed_date"] = pd.to_datetime(pd.Series(col("closed_date"), dtype=object))
        bad = (frame["closed_date"] < frame["received_date"]).fillna(False).to_numpy()
        for position in np.flatnonzero(bad):
            problems.add("closed_before_received", rows[position], header_of.get("closed_date"),
                         str(frame["closed_date"].iloc[position].date()))
        frame = frame[["row_no", "township_code", "case_id", "received_date", "village", "case_type", "source",
                       "risk_level", "outcome", "closed_date", "room"]]
    elif kind == "rooms":
        frame["room_id"] = pd.Series(col("room_id"), dtype="string")
        frame["name"] = pd.Series(col("name"), dtype="string")
        frame["room_type"] = pd.Series(col("room_type"), dtype="string")
        frame["village"] = pd.Series(col("village"), dtype="string")
        frame["address"] = pd.Series(col("address"), dtype="string")
        lon = pd.array(col("longitude"), dtype="Float64")
        lat = pd.array(col("latitude"), dtype="Float64")
        frame["longitude"], frame["latitude"] = lon, lat
        frame["opened_date"] = pd.to_datetime(pd.Series(col("opened_date"), dtype=object))
        frame["closed_date"] = pd.to_datetime(pd.Series(col("closed_date"), dtype=object))
        frame["mediators"] = pd.array(col("mediators"), dtype="Int64")
        frame["meets_standard"] = pd.array(col("meets_standard"), dtype="boolean")
        _check_coordinates(frame, rows, header_of, problems)
        bad = (frame["closed_date"] < frame["opened_date"]).fillna(False).to_numpy()
        for position in np.flatnonzero(bad):
            problems.add("closed_before_opened", rows[position], header_of.get("closed_date"),
                         str(frame["closed_date"].iloc[position].date()))
        missing_id = frame["room_id"].isna()
        if missing_id.any():
            keys = (frame["township_code"].fillna("") + "|" + frame["name"].fillna("")).astype(str)
            frame.loc[missing_id, "room_id"] = [
                "R" + hashlib.md5(k.encode("utf-8")).hexdigest()[:12] for k in keys[missing_id]]
    return frame


def _check_coordinates(frame: pd.DataFrame, rows, header_of, problems: _Problems) -> None:
    column = header_of.get("longitude") or header_of.get("latitude")
    west, east, south, north = CHINA
    for position, (lon, lat) in enumerate(zip(frame["longitude"], frame["latitude"])):
        lon_missing, lat_missing = pd.isna(lon), pd.isna(lat)
        if lon_missing and lat_missing:
            continue
        if lon_missing or lat_missing:
            problems.add("half_coordinate", rows[position], column, f"{lon}, {lat}")
            continue
        if west <= lon <= east and south <= lat <= north:
            continue
        if west <= lat <= east and south <= lon <= north:
            problems.add("swapped_coordinates", rows[position], column, f"{lon}, {lat}", detail=f"{lon}, {lat}")
        else:
            problems.add("outside_china", rows[position], column, f"{lon}, {lat}", detail=f"{lon}, {lat}")
        frame.loc[frame.index[position], ["longitude", "latitude"]] = [pd.NA, pd.NA]


def _preview(table: read.Table, raw: pd.DataFrame, columns: dict, spec: dict) -> pd.DataFrame:
    head = raw.head(10).copy()
    sensitive = {i for i, f in columns.items() if spec[f].sensitive}
    head.columns = [table.headers[i] for i in head.columns]
    head = head.map(lambda v: int(v) if isinstance(v, float) and v.is_integer() else v)
    for i in sensitive:
        head[table.headers[i]] = "＊＊＊"
    return head.astype(str).replace({"nan": "", "None": ""})


def _dup_issues(con, problems: _Problems, key_sql: str, column: str | None, value_sql: str | None = None) -> None:
    rows = con.execute(f"""
        with keyed as (
            select row_no, {value_sql or 'null'} as shown, {key_sql} as k from staged
            where township_code is not null
        ), firsts as (select k, min(row_no) as first_row from keyed group by k having count(*) > 1)
        select keyed.row_no, keyed.shown, firsts.first_row from keyed join firsts using (k)
        where keyed.row_no > firsts.first_row order by keyed.row_no limit {MAX_LISTED}
    """).fetchall()
    for row_no, shown, first_row in rows:
        problems.add("duplicate", row_no, column, shown, detail=str(first_row))


def _whole_file_checks(con, kind, table, columns, context: Context, result: Result, problems: _Problems) -> None:
    header_of = {f: table.headers[i] for i, f in columns.items()}
    place = header_of.get("township") or header_of.get("township_code")
    households = pd.DataFrame({"township_code": list(context.households),
                               "households_total": pd.array(list(context.households.values()), dtype="Int64")})
    con.register("households_known", households)
    try:
        if kind == "regions":
            _dup_issues(con, problems, "township_code", place, "township_code")
        elif kind == "targets":
            _dup_issues(con, problems, "(township_code, year)", place, "year")
        elif kind == "rooms":
            _dup_issues(con, problems, "room_id", header_of.get("room_id") or header_of.get("name"), "name")
        elif kind == "cases":
            _dup_issues(con, problems, "case_id", header_of.get("case_id"), "case_id")
        elif kind == "screening_summary":
            _dup_issues(con, problems, "(township_code, period_start, period_end)", place,
                        "strftime(period_start, '%Y-%m')")
            over = con.execute("""
                select s.row_no, s.households_screened, h.households_total from staged as s
                join households_known as h using (township_code)
                where s.households_screened > h.households_total order by s.row_no
            """).fetchall()
            for row_no, screened, total in over:
                problems.add("screened_over_registered", row_no, header_of.get("households_screened"),
                             str(screened), detail=f"{screened}（登记 {total}）")
            over = con.execute("""
                select row_no from staged
                where coalesce(risk_low, 0) + coalesce(risk_medium, 0) + coalesce(risk_high, 0) > households_screened
                order by row_no
            """).fetchall()
            for (row_no,) in over:
                problems.add("risk_over_screened", row_no, header_of.get("risk_high") or header_of.get("risk_medium"))
        elif kind == "screening":
            _dup_issues(con, problems, "(township_code, household_raw, screened_date)", header_of.get("household_id"))
            over = con.execute("""
                with counted as (
                    select township_code, date_trunc('month', screened_date) as month_start,
                           count(distinct household_raw) as screened, min(row_no) as first_row
                    from staged where township_code is not null and screened_date is not null
                    group by all
                )
                select c.first_row, c.screened, h.households_total, strftime(c.month_start, '%Y-%m')
                from counted as c join households_known as h using (township_code)
                where c.screened > h.households_total order by c.first_row
            """).fetchall()
            for row_no, screened, total, month in over:
                problems.add("screened_over_registered", row_no, header_of.get("household_id"), month,
                             detail=f"{screened}（{month}，登记 {total}）")
        if kind in ("screening", "screening_summary", "rooms", "cases"):
            unknown = con.execute("""
                select count(distinct s.township_code) from staged as s
                left join households_known as h using (township_code)
                where s.township_code is not null and h.households_total is null
            """).fetchall()[0][0]
            if unknown and kind in ("screening", "screening_summary"):
                problems.add("no_household_total", None, place, None, detail=str(unknown), severity="warning")
    finally:
        con.unregister("households_known")


def _rooms_inside_townships(con, context: Context, table, columns, problems: _Problems) -> None:
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


def _scope(con, kind: str, result: Result) -> None:
    """What the import covers, so the same townships' rows for the same periods are replaced."""
    if kind in ("screening", "cases"):
        date_column = "screened_date" if kind == "screening" else "received_date"
        con.execute(f"""create table scope as
            select distinct township_code, date_trunc('month', {date_column})::date as month_start
            from staged where township_code is not null and {date_column} is not null""")
        periods = con.execute("select distinct strftime(month_start, '%Y-%m') from scope order by 1").fetchall()
    elif kind == "screening_summary":
        con.execute("""create table scope as
            select distinct township_code, period_start::date as period_start, period_end::date as period_end
            from staged where township_code is not null and period_start is not null""")
        periods = con.execute("""select distinct case when period_end - period_start > 40
                                   then strftime(period_start, '%Y') || 'Q' || quarter(period_start)
                                   else strftime(period_start, '%Y-%m') end
                                 from scope order by 1""").fetchall()
    elif kind == "targets":
        con.execute("""create table scope as select distinct township_code, year from staged
                       where township_code is not null and year is not null""")
        periods = con.execute("select distinct cast(year as varchar) from scope order by 1").fetchall()
    else:
        con.execute("create table scope as select distinct township_code from staged where township_code is not null")
        periods = []
    result.periods = [p[0] for p in periods]
    result.townships = int(con.execute("select count(distinct township_code) from scope").fetchall()[0][0])

