"""Create the schema and keep the data version: the one place that knows the DDL."""
import re
import secrets
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from db import lake

SCHEMA_SQL = Path(__file__).with_name("schema.sql")


def create(con: duckdb.DuckDBPyConnection, household_key: bool = True, in_transaction: bool = False) -> None:
    """Create every table (idempotent), the version row and the database's identity if missing,
    and (unless told not to, while upgrade() is moving rows between tables) its household key;
    ``in_transaction``: the caller has begun a transaction (making the key re-keys stored ids)."""
    text = SCHEMA_SQL.read_text(encoding="utf-8")
    con.execute(lake_sql(text) if is_lake(con) else text)
    if con.execute("select count(*) from data_version").fetchall()[0][0] == 0:
        con.execute("insert into data_version values (0, ?, 'schema created')", [datetime.now()])
    database_id(con)
    if household_key:
        _household_key(con, in_transaction)


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``con``'s current database is a DuckLake (issue 17), not a DuckDB file."""
    return con.execute("select type from duckdb_databases() where database_name = current_database()"
                       ).fetchall() == [("ducklake",)]


def lake_sql(text: str) -> str:
    """schema.sql as a DuckLake takes it: the same tables and columns, without what a lake cannot
    hold (primary keys, unique and check constraints, indexes) and without the migrations of old
    files (``alter table … drop not null``: a new lake's columns are made as they are now). The
    writers already keep ids unique and rows valid (the importer rejects a file that breaks a
    rule); the constraints were their second line, which a lake does not have."""
    out = []
    for statement in _statements(text):
        flat = " ".join(statement.split()).lower()
        if flat.startswith("create index") or (flat.startswith("alter table") and flat.endswith("drop not null")):
            continue
        if flat.startswith("create table"):
            statement = _unconstrained(statement)
        out.append(statement)
    return ";\n".join(out) + ";\n"


def _statements(text: str) -> list[str]:
    """The statements of a SQL script, comments removed (a quote-aware scan: '--' or ';' inside a
    string literal stays)."""
    statements, current, i, quoted = [], [], 0, False
    while i < len(text):
        ch = text[i]
        if quoted:
            current.append(ch)
            quoted = ch != "'"
        elif ch == "'":
            current.append(ch)
            quoted = True
        elif text.startswith("--", i):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif ch == ";":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    statements.append("".join(current).strip())
    return [s for s in statements if s]


def _unconstrained(statement: str) -> str:
    """A create table statement without check (…), [primary key | unique] and table-level
    primary key (…) clauses."""
    def drop_clause(text: str, keyword: str) -> str:  # "keyword (…)", with its comma when table-level
        pattern = re.compile(rf"(\s*,\s*|\s+){keyword}\s*\(", re.IGNORECASE)
        while (m := pattern.search(text)) is not None:
            depth, j = 1, m.end()
            while depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            text = text[:m.start()] + text[j:]
        return text

    statement = drop_clause(statement, "check")
    statement = drop_clause(statement, "primary key")
    return re.sub(r"\s+(primary key|unique)\b", "", statement, flags=re.IGNORECASE)


def database_id(con: duckdb.DuckDBPyConnection) -> str:
    """An id made once, when the database is made. A rebuilt database starts its version at 1
    again; caches key on (id, version), so they never mistake it for the one it replaced."""
    return _made_once(con, "database_id", 8)


def _made_once(con: duckdb.DuckDBPyConnection, key: str, nbytes: int) -> str:
    """The random token kept in meta under `key`, made the first time it is asked for."""
    rows = con.execute("select value from meta where key = ?", [key]).fetchall()
    if rows:
        return rows[0][0]
    made = secrets.token_hex(nbytes)
    con.execute("insert into meta values (?, ?)", [key, made])
    return made


def upsert(con: duckdb.DuckDBPyConnection, table: str, keys: tuple[str, ...], row: dict) -> None:
    """Insert ``row`` into ``table``, or update the row with the same ``keys`` columns: one MERGE,
    which needs no primary key (a DuckLake table has none; ``insert or replace`` needs one)."""
    columns = list(row)
    source = ", ".join(f"? as {c}" for c in columns)
    upsert_from(con, table, keys, columns, f"select {source}", list(row.values()))


def upsert_from(con: duckdb.DuckDBPyConnection, table: str, keys: tuple[str, ...], columns: list[str],
                source: str, params: list | None = None) -> None:
    """:func:`upsert` of every row that the query ``source`` gives (its columns named ``columns``;
    one row per key)."""
    on = " and ".join(f"t.{k} = s.{k}" for k in keys)
    values = [c for c in columns if c not in keys]
    update = (f"when matched then update set {', '.join(f'{c} = s.{c}' for c in values)} " if values else "")
    con.execute(f"merge into {table} as t using ({source}) as s on {on} {update}"
                f"when not matched then insert ({', '.join(columns)}) values ({', '.join('s.' + c for c in columns)})",
                params or [])


class NotAnAtlas(Exception):
    """The file at the database path is not a DuckDB database (a spreadsheet, a text file …)."""


class NewerDuckDB(NotAnAtlas):
    """The file is a DuckDB database written by a newer DuckDB than this one, which cannot read it
    (a file of DuckDB 2.0.1 under the pinned 1.5.5). A NotAnAtlas too, so that whatever refuses a
    file it cannot open refuses this one, never waiting for it as for a lock."""

    def __init__(self, path: str | Path):
        super().__init__(str(path))
        self.path = Path(path)
        self.written_by = written_by(path)


# DuckDB's words for a file whose storage version is newer than it reads (1.5.5: "Trying to read a
# database file with version number 999, but we can only read versions between 64 and 68. The
# database file was created with an newer version of DuckDB."); a file that is not DuckDB's at all
# says "not a valid DuckDB database file".
_NEWER = ("newer version of duckdb", "trying to read a database file with version number")


def written_by(path: str | Path) -> str | None:
    """The DuckDB version that made the file ('v2.0.1'), read from its main header, or None.
    The header: checksum (8 bytes), b'DUCK', storage version (8), flags (32), then the library's
    version string (32 bytes, NUL-padded)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(84)
    except OSError:
        return None
    if len(head) < 84 or head[8:12] != b"DUCK":
        return None
    text = head[52:84].split(b"\0", 1)[0].decode("ascii", "replace")
    return text if text.startswith("v") and len(text) > 1 else None


def unreadable(path: str | Path, wait: float = 5) -> tuple[str, str | None] | None:
    """Why this DuckDB cannot open the database at ``path``: ("newer", the version that wrote it,
    or None) for a newer DuckDB's file, ("not_duckdb", None) for a file that is not DuckDB's (or is
    damaged); None when it opens, is busy (a writer holds it), or is not there yet."""
    if lake.is_lake(path) or not Path(path).exists():
        return None
    try:
        with open_waiting(path, read_only=True, wait=wait):
            return None
    except NewerDuckDB as newer:
        return "newer", newer.written_by
    except NotAnAtlas:
        return "not_duckdb", None
    except TimeoutError:  # held by a writer: readable, only busy
        return None


# Writers of this process now waiting to connect. Within one process DuckDB refuses a writable
# connection while any read-only one is open, so a steady stream of overlapping page reads (twenty
# sessions) would starve an import for ever; while a writer waits, new readers wait behind it.
_writers_waiting = 0
_writers_lock = threading.Lock()


def open_waiting(path: str | Path, read_only: bool, wait: float) -> duckdb.DuckDBPyConnection:
    """Connect, waiting up to `wait` seconds while another process holds the file.

    DuckDB lets one process write a file and no one else open it meanwhile; every reader and
    writer of the atlas (app, importer, schema upgrade) opens it briefly and waits here. A writer
    goes first: a reader of the same process does not connect while a writer waits. A file
    that is not a DuckDB database is said at once (NotAnAtlas), not waited for as a lock, and so is
    one written by a newer DuckDB (NewerDuckDB).
    """
    global _writers_waiting
    if lake.is_lake(path):  # many readers and writers at once, each in its own snapshot
        return lake.connect(str(path))
    deadline = time.monotonic() + wait
    if not read_only:
        with _writers_lock:
            _writers_waiting += 1
    try:
        while True:
            if read_only and _writers_waiting:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"a writer kept the database for more than {wait:.0f} s")
                time.sleep(0.02)
                continue
            try:
                return duckdb.connect(str(path), read_only=read_only)
            except (duckdb.IOException, duckdb.ConnectionException, duckdb.BinderException) as error:
                # DuckDB 1.5.5: a thread connecting while another thread of this process opens or
                # closes the same file can meet it still attached ("Unique file handle conflict:
                # ... is already attached"): gone a moment later, so waited for like a lock
                if isinstance(error, duckdb.BinderException) and "unique file handle conflict" not in str(error).lower():
                    raise
                if "not a valid DuckDB database file" in str(error):
                    raise NotAnAtlas(str(path)) from None
                if any(words in str(error).lower() for words in _NEWER):
                    raise NewerDuckDB(path) from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the database stayed locked for {wait:.0f} s: {error}") from error
                time.sleep(0.05 if not read_only else 0.2)
    finally:
        if not read_only:
            with _writers_lock:
                _writers_waiting -= 1


def household_salt(con: duckdb.DuckDBPyConnection) -> str:
    """A per-database token mixed into household ids before the keyed hash (see household_id_sql).
    Older databases and the demo have none: their ids were md5('|' + township + '|' + id), which
    anyone can enumerate, so it is kept only for the ids to stay comparable; the key does the work."""
    return _made_once(con, "household_salt", 16)


# Household ids: what a ledger calls a household never reaches the database. The stored id is
# HMAC-SHA256(key, md5(salt || '|' || township_code || '|' || raw id)), the key being 32 random
# bytes made with the database and kept in its meta table (never shown, exported or printed).
# The inner md5 is the form older databases stored, so upgrade() re-keys their rows as
# HMAC(key, stored id) and a ledger imported again afterwards finds the same households.
# DuckDB has sha256 but no hmac: HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)), with the two
# padded keys bound as blobs ($hk_inner, $hk_outer), so the hash runs vectorised inside DuckDB.
HOUSEHOLD_KEY = "household_key"


def keyed_sql(expr: str) -> str:
    """SQL for HMAC-SHA256 (64 hex digits) of the varchar ``expr`` under the database's household
    key; the statement must bind household_params()."""
    return f"sha256($hk_outer || unhex(sha256($hk_inner || encode({expr}))))"


def household_id_sql(township: str, raw: str) -> str:
    """SQL for the stored household id of ``raw`` (a ledger's 户编号) in ``township``; binds
    household_params() ($salt, $hk_inner, $hk_outer)."""
    return keyed_sql(f"md5($salt || '|' || {township} || '|' || {raw})")


def household_params(con: duckdb.DuckDBPyConnection) -> dict:
    """What household_id_sql binds: the database's salt ('' if it has none) and padded key."""
    rows = con.execute("select value from meta where key = 'household_salt'").fetchall()
    return {"salt": rows[0][0] if rows else "", **_pads(_household_key(con))}


def _pads(key_hex: str) -> dict:
    key = bytes.fromhex(key_hex).ljust(64, b"\0")
    return {"hk_inner": bytes(b ^ 0x36 for b in key), "hk_outer": bytes(b ^ 0x5C for b in key)}


def _household_key(con: duckdb.DuckDBPyConnection, in_transaction: bool = False) -> str:
    """The household key; made (and every stored id re-keyed under it) the first time it is asked
    for, in one transaction (its own, or the caller's with ``in_transaction``)."""
    rows = con.execute("select value from meta where key = ?", [HOUSEHOLD_KEY]).fetchall()
    if rows:
        return rows[0][0]
    made = secrets.token_hex(32)
    params = {**_pads(made), "salt": (con.execute("select value from meta where key = 'household_salt'")
                                      .fetchall() or [[""]])[0][0]}
    tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    own = not in_transaction  # the ids and the key together or not at all: keying an id twice loses it
    if own:
        con.execute("begin")
    try:
        for table in ("screenings", "screenings_replaced"):
            if table not in tables:
                continue
            # a stored md5 (32 hex digits) is keyed as it is; anything else is an id as written
            # (the demo's synthetic H… ids), keyed as an import would key it
            con.execute(f"""
                update {table} set
                    household_id = case when regexp_full_match(household_id, '[0-9a-f]{{32}}')
                                        then {keyed_sql('household_id')}
                                        else {household_id_sql('township_code', 'household_id')} end,
                    screening_id = case when screening_id like 'imp-%'
                                        then 'imp-' || {keyed_sql('screening_id')}[1:24]
                                        else screening_id end
            """, params)
        con.execute("insert into meta values (?, ?)", [HOUSEHOLD_KEY, made])
        if own:
            con.execute("commit")
    except BaseException:
        if own:
            con.execute("rollback")
        raise
    return made


def new_database(path: str | Path) -> None:
    """A database with the schema and the national division register, and no data."""
    from db import register

    with duckdb.connect(str(path)) as con:
        create(con)
        register.insert_register(con)
        household_salt(con)
        with transaction(con, "new database: schema and register"):
            pass


def bump_version(con: duckdb.DuckDBPyConnection, note: str) -> int:
    """Record a write. Call inside the writing transaction, so readers see data and version together."""
    con.execute(
        "update data_version set version = version + 1, updated_at = ?, note = ?",
        [datetime.now(), note],
    )
    return con.execute("select version from data_version").fetchall()[0][0]


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, note: str, bump: bool = True):
    """Every write to the atlas: begin, the caller's statements, the version bump, the stored counts
    brought up to date (queries/aggregates.refresh), commit; or,
    on any exception, roll back and re-raise, leaving the database and its version as they were.
    ``bump=False`` for what is not ledger data (accounts, the audit log): caches stay warm."""
    con.execute("begin")
    try:
        yield con
        if bump:
            from queries import aggregates  # the stored counts follow the rows, in the same transaction

            aggregates.refresh(con, bump_version(con, note))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def data_version(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select version from data_version").fetchall()[0][0]


# Tables an import writes (each with import_id, and a <table>_replaced twin for undo).
UNDOABLE = ("regions", "boundaries", "rooms", "screenings", "cases", "screening_summaries", "screening_targets",
            "case_summaries")
TABLES = ("data_version", "regions", "villages", "boundaries", "rooms", "screenings", "cases", "meta",
          "screening_summaries", "imports", "region_aliases", "header_mappings", "screening_targets",
          "snapshots", "atlas_joins", "case_summaries", "users", "audit_log", "login_sessions",
          "period_counts", "period_counts_signs") + tuple(f"{t}_replaced" for t in UNDOABLE)
# Columns added to existing tables after their first release: (table, column). schema.sql adds
# them with `alter table ... add column if not exists`; upgrade() looks here to know it must run.
ADDED_COLUMNS = (("villages", "longitude"), ("villages", "latitude"), ("imports", "undone_at"),
                 ("imports", "undone_by"), ("imports", "superseded_by"), ("snapshots", "scope"),
                 ("snapshots", "exact"), ("snapshots", "lake_snapshot")) + tuple((t, "import_id") for t in UNDOABLE)


def upgrade(path: str | Path, wait: float = 30.0) -> bool:
    """Create the tables and columns an older database lacks (no data is touched), and store a big
    atlas's counts if they are not (queries/aggregates.ensure). True if it changed."""
    with open_waiting(path, read_only=True, wait=wait) as con:
        have = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
        columns = set(con.execute("select table_name, column_name from information_schema.columns").fetchall())
        indexed = con.execute("""select count(*) from duckdb_constraints()
                                 where table_name = 'screenings' and constraint_type = 'PRIMARY KEY'""").fetchall()[0][0]
        # a nullable rooms.opened_date and the outcome 调解不成 came later (see schema.sql)
        opened_required = con.execute("""select count(*) from information_schema.columns where table_name = 'rooms'
                                         and column_name = 'opened_date' and is_nullable = 'NO'""").fetchall()[0][0]
        old_outcomes = con.execute("""select count(*) from duckdb_constraints() where table_name = 'cases'
                                      and constraint_type = 'CHECK' and expression like '%outcome%'
                                      and expression not like '%调解不成%'""").fetchall()[0][0]
        no_id, no_key = ("meta" in have and not con.execute(
            "select count(*) from meta where key = ?", [key]).fetchall()[0][0] for key in ("database_id", HOUSEHOLD_KEY))
    if set(TABLES) <= have and set(ADDED_COLUMNS) <= columns and not (
            indexed or opened_required or old_outcomes or no_id or no_key):
        from queries import aggregates  # a big atlas from before its counts were stored

        return aggregates.ensure(path)
    with open_waiting(path, read_only=False, wait=wait) as con:
        con.execute("begin")
        if indexed:  # an older database: the same rows, without the slow index (see schema.sql)
            con.execute("drop index if exists screenings_by_township")
            con.execute("alter table screenings rename to screenings_indexed")
            create(con, household_key=False)
            con.execute("insert into screenings by name select * from screenings_indexed")
            con.execute("drop table screenings_indexed")
        if old_outcomes:  # DuckDB cannot alter a check: the same rows, in a table with the new one
            con.execute("drop index if exists cases_by_township")
            con.execute("alter table cases rename to cases_before_outcomes")
            create(con, household_key=False)
            con.execute("insert into cases by name select * from cases_before_outcomes")
            con.execute("drop table cases_before_outcomes")
        create(con, in_transaction=True)  # makes the household key and re-keys stored ids
        con.execute("commit")
    from queries import aggregates

    aggregates.ensure(path)
    return True
