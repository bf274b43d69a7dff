"""The atlas on a DuckLake (issue 17): the catalog in PostgreSQL, the rows in Parquet files under a
shared data path; many app servers and importers on many machines at once.

``ATLAS_DB=ducklake:postgres:dbname=atlas host=10.0.0.5 user=atlas`` (the text after ``ducklake:``
is DuckLake's own: ``postgres:<libpq connection string>``, or a local catalog file for one
machine) and ``ATLAS_DATA_PATH=/srv/atlas/lake/`` (where the Parquet files go; needed to create the
lake, remembered in the catalog after). Every query, import, export and snapshot runs the same SQL
as on a file: a connection here is attached to the lake as ``atlas`` and uses it, so unqualified
table names mean the lake's.

A process keeps one DuckDB instance per lake (loading the two extensions and attaching costs a
few tenths of a second; a page makes dozens of connections) and hands out cursors of it, each a
connection of its own with its own transaction. An import takes an instance of its own
(``private()``): it attaches its staging file and sets a memory ceiling, which must not reach the
app's readers. A forked child (the background suppression's workers) makes its own instance.
"""
import os
import re
import threading
from contextlib import contextmanager

import duckdb

from db import extensions

PREFIX = "ducklake:"
ALIAS = "atlas"                       # the lake's name inside every connection
DATA_PATH_ENV = "ATLAS_DATA_PATH"
# An import that meets another's conflicting commit runs again, up to this many runs in all. Each
# conflict means another import committed; importers started together commit one per round, so
# the last of N needs N runs (four at once needed four in tests/test_lake_concurrency.py).
RETRIES = 10


def is_lake(target) -> bool:
    """Whether ``target`` (ATLAS_DB, a path, a --db argument) names a DuckLake, not a DuckDB file."""
    return str(target).startswith(PREFIX)


def shown(target) -> str:
    """The lake as a person may see it (page footers, the CLI): the catalog's database and host,
    never a password."""
    text = re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", str(target), flags=re.I)
    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", text)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Lake(str):
    """ATLAS_DB naming a lake, where the code asks a file's questions of it (exists, name)."""

    @property
    def name(self) -> str:
        return shown(self)

    def exists(self) -> bool:
        return exists(self)


class NoLake(Exception):
    """The catalog cannot be reached or refuses the lake: ``reason`` says why (no password)."""

    def __init__(self, target: str, reason: str):
        super().__init__(f"cannot open the lake {shown(target)}: {reason}")
        self.reason = shown(reason)


_instances: dict[tuple, tuple[int, duckdb.DuckDBPyConnection]] = {}
_lock = threading.Lock()
_local = threading.local()


def _open_instance(target: str, data_path: str | None, version: int | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    try:
        extensions.load(con, "ducklake")
        if target[len(PREFIX):].startswith("postgres:"):
            extensions.load(con, "postgres_scanner")
        options = []
        if data_path:
            options.append(f"data_path {_literal(data_path)}")
        if version is not None:
            options += [f"snapshot_version {int(version)}", "read_only"]
        con.execute(f"attach {_literal(target)} as {ALIAS}" + (f" ({', '.join(options)})" if options else ""))
    except duckdb.Error as error:
        con.close()
        raise NoLake(target, str(error).splitlines()[0]) from None
    return con


def data_path_for(target: str) -> str | None:
    found = os.environ.get(DATA_PATH_ENV) or None
    if found and not found.endswith(("/", "\\")):
        found += "/"
    return found


def instance(target: str, version: int | None = None) -> duckdb.DuckDBPyConnection:
    """This process's DuckDB instance attached to the lake (at snapshot ``version``, read-only,
    when given): made once, or afresh after a fork."""
    own = getattr(_local, "private", None)
    if own is not None and own[0] == (target, version):
        return own[1]
    key = (target, data_path_for(target), version)
    with _lock:
        found = _instances.get(key)
        if found is None or found[0] != os.getpid():
            _instances[key] = found = (os.getpid(), _open_instance(target, key[1], version))
        return found[1]


def connect(target: str, version: int | None = None) -> duckdb.DuckDBPyConnection:
    """A new connection (a cursor of the process's instance) using the lake: close it when done."""
    cursor = instance(str(target), version).cursor()
    cursor.execute(f"use {ALIAS}")
    return cursor


@contextmanager
def private(target: str):
    """Within this block, this thread's connections to ``target`` come from an instance of its
    own (an import: its staging attachment and memory ceiling stay its own), closed at the end."""
    if not is_lake(target):
        yield
        return
    before = getattr(_local, "private", None)
    con = _open_instance(str(target), data_path_for(str(target)), None)
    _local.private = ((str(target), None), con)
    try:
        yield
    finally:
        _local.private = before
        con.close()


def exists(target: str) -> bool:
    """Whether the lake holds an atlas (``cli.py lake init`` made its tables)."""
    with connect(target) as con:
        return bool(con.execute("select count(*) from duckdb_tables() where database_name = ? and table_name = 'data_version'",
                                [ALIAS]).fetchall()[0][0])


def snapshot_id(con: duckdb.DuckDBPyConnection) -> int:
    """The lake's current snapshot, as ``con``'s transaction sees it."""
    return int(con.execute(f"select id from {ALIAS}.current_snapshot()").fetchall()[0][0])


def current_snapshot(target: str) -> int:
    with connect(target) as con:
        return snapshot_id(con)


def is_conflict(error: BaseException) -> bool:
    """A commit refused because another process changed the same rows meanwhile: the whole
    transaction may run again (DuckLake's TransactionException)."""
    return isinstance(error, duckdb.TransactionException) or "conflict" in str(error).lower()


def close_all() -> None:
    """Close this process's lake instances (tests, and a CLI command at its end)."""
    with _lock:
        for pid, con in _instances.values():
            if pid == os.getpid():
                con.close()
        _instances.clear()


# ---- cli.py lake init | status | compact ------------------------------------------------------

def init(target: str, source=None, data_path: str | None = None) -> dict:
    """Create the atlas in an empty lake: the tables (db/schema.sql as a lake takes it), then
    either every row of the atlas file ``source`` (its identity and household key too, so its
    household ids stay what they were) or, without one, the national division register as a new
    database has it. One transaction: a lake is made whole or not at all. Refuses a lake that
    already holds an atlas (it is never overwritten)."""
    data_path = data_path or data_path_for(target)
    if data_path and not data_path.endswith(("/", "\\")):
        data_path += "/"
    base = _open_instance(target, data_path, None)  # the data path is the catalog's from now on
    try:
        return _init(base, target, source)
    finally:
        base.close()


def _init(base: duckdb.DuckDBPyConnection, target: str, source) -> dict:
    from db import register, schema

    with base.cursor() as con:
        con.execute(f"use {ALIAS}")
        if con.execute("select count(*) from duckdb_tables() where database_name = ? and table_name = 'data_version'",
                       [ALIAS]).fetchall()[0][0]:
            raise ValueError(f"the lake {shown(target)} already holds an atlas (nothing was changed)")
        if source is not None:
            con.execute(f"attach {_literal(str(source))} as src (read_only)")
        try:
            con.execute("begin")
            if source is None:
                schema.create(con, in_transaction=True)
                register.insert_register(con)
                schema.household_salt(con)
                schema.bump_version(con, "new lake: schema and register")
            else:
                con.execute(schema.lake_sql(schema.SCHEMA_SQL.read_text(encoding="utf-8")))
                have = {r[0] for r in con.execute(
                    "select table_name from duckdb_tables() where database_name = 'src'").fetchall()}
                for table in schema.TABLES:
                    if table in have:
                        con.execute(f"insert into {ALIAS}.main.{table} by name select * from src.main.{table}")
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        finally:
            if source is not None:
                con.execute("detach src")
        counts = {t: con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in ("regions", "screenings", "cases", "rooms")}
        return {"lake": shown(target), "snapshot": snapshot_id(con), **counts}


def _metadata(con) -> str:
    """The name DuckLake attaches the catalog under inside the instance."""
    return f"__ducklake_metadata_{ALIAS}"


def status(target: str, last: int = 10) -> dict:
    """The current snapshot, the last ``last`` snapshots (when, what changed, the commit's note)
    and each table's live data files (count, rows, bytes): what `cli.py lake status` prints."""
    with connect(target) as con:
        meta = _metadata(con)
        snaps = con.execute(f"""select snapshot_id, strftime(snapshot_time, '%Y-%m-%d %H:%M:%S') as at,
                                       cast(changes as varchar) as changes, commit_message
                                from {ALIAS}.snapshots() order by snapshot_id desc limit {int(last)}""").fetchall()
        files = con.execute(f"""
            select t.table_name, count(f.data_file_id) as files, coalesce(sum(f.record_count), 0) as rows,
                   coalesce(sum(f.file_size_bytes), 0) as bytes
            from {meta}.ducklake_table as t
            left join {meta}.ducklake_data_file as f on f.table_id = t.table_id and f.end_snapshot is null
            where t.end_snapshot is null group by t.table_name order by t.table_name""").fetchall()
        data_path = con.execute(f"select value from {meta}.ducklake_metadata where key = 'data_path'").fetchall()
        total = con.execute(f"select count(*) from {ALIAS}.snapshots()").fetchall()[0][0]
        return {"lake": shown(target), "data_path": data_path[0][0] if data_path else None,
                "snapshot": snapshot_id(con), "snapshots": int(total),
                "last": [{"snapshot": s, "at": at, "changes": ch, "note": note} for s, at, ch, note in snaps],
                "tables": [{"table": t, "files": int(n), "rows": int(r), "bytes": int(b)} for t, n, r, b in files]}


def compact(target: str) -> dict:
    """Merge each table's small Parquet files (one per small commit) into larger ones
    (ducklake_merge_adjacent_files). Older snapshots keep reading the files they had: nothing a
    saved snapshot may open is deleted. Returns the live file counts before and after."""
    def live_files(con) -> int:
        return con.execute(f"select count(*) from {_metadata(con)}.ducklake_data_file where end_snapshot is null"
                           ).fetchall()[0][0]

    with connect(target) as con:
        before = live_files(con)
        con.execute(f"call ducklake_merge_adjacent_files('{ALIAS}')")
        return {"lake": shown(target), "files_before": int(before), "files_after": int(live_files(con)),
                "snapshot": snapshot_id(con)}
