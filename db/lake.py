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
import atexit
import os
import re
import shutil
import tempfile
import threading
from collections import OrderedDict
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
    text = re.sub(r"(password\s*=\s*)('[^']*'|[^\s\"']+)", r"\1***", str(target), flags=re.I)
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
        self.reason = shown(reason)  # DuckDB's message repeats the connection string, password and all
        super().__init__(f"cannot open the lake {shown(target)}: {self.reason}")


class EmptyLake(NoLake):
    """The catalog's database holds no lake yet (made by ``cli.py lake init``)."""


_instances: dict[tuple, tuple[int, duckdb.DuckDBPyConnection]] = {}
_lock = threading.Lock()
_local = threading.local()


def _temp_folder() -> str:
    """A spill folder of this instance's own. An in-memory DuckDB spills to ``.tmp`` in the
    working folder by default: every lake process started from one folder (an app server, the CLI,
    four importers) would share its files and read each other's, crashing (issue 17's bench)."""
    folder = tempfile.mkdtemp(prefix=f"atlas-lake-{os.getpid()}-")
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _open_instance(target: str, data_path: str | None, version: int | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={"temp_directory": _temp_folder()})
    try:
        extensions.load(con, "ducklake")
        if target[len(PREFIX):].startswith("postgres:"):
            extensions.load(con, "postgres_scanner")
        options = [f"data_path {_literal(data_path)}"] if data_path else []
        if version is not None:  # the lake as it was at that snapshot, read-only
            options += [f"snapshot_version {int(version)}", "read_only"]
        con.execute(f"attach {_literal(target)} as {ALIAS}" + (f" ({', '.join(options)})" if options else ""))
    except duckdb.Error as error:
        con.close()
        if "data_path is not set" in str(error):  # an empty catalog, and no ATLAS_DATA_PATH to make one
            raise EmptyLake(target, "it holds no atlas yet: run `python cli.py lake init --data-path DIR`") from None
        raise NoLake(target, str(error).splitlines()[0]) from None
    return con


def data_path_for(target: str) -> str | None:
    found = os.environ.get(DATA_PATH_ENV) or None
    if found and not found.endswith(("/", "\\")):
        found += "/"
    return found


def instance(target: str) -> duckdb.DuckDBPyConnection:
    """This process's DuckDB instance attached to the lake: made once, or afresh after a fork."""
    own = getattr(_local, "private", None)
    if own is not None and own[0] == target:
        return own[1]
    key = (target, data_path_for(target))
    with _lock:
        found = _instances.get(key)
        if found is None or found[0] != os.getpid():
            _instances[key] = found = (os.getpid(), _open_instance(target, key[1]))
        return found[1]


# Instances of the lake at one snapshot each (a page's reads pinned to one snapshot, a saved
# snapshot's data as it was): the last VERSIONS_KEPT are kept. One older is dropped, not closed:
# a cursor still reading from it keeps it alive until it is done.
VERSIONS_KEPT = 4
_versions: "OrderedDict[tuple[str, int], tuple[int, duckdb.DuckDBPyConnection]]" = OrderedDict()


def _version_instance(target: str, version: int) -> duckdb.DuckDBPyConnection:
    key = (target, int(version))
    with _lock:
        found = _versions.get(key)
        if found is None or found[0] != os.getpid():
            _versions[key] = found = (os.getpid(), _open_instance(target, None, version))
        _versions.move_to_end(key)
        while len(_versions) > VERSIONS_KEPT:
            _versions.popitem(last=False)
        return found[1]


AT = "#snapshot="  # a target read as it was at one of its snapshots: <target>#snapshot=<id>


def at(target: str, version: int) -> str:
    """The lake ``target`` as it was at snapshot ``version`` (time travel): read-only, and a
    database of its own to every cache (its string differs)."""
    return split(target)[0] + AT + str(int(version))


def split(target: str) -> tuple[str, int | None]:
    """(the lake, the snapshot it is read at or None for the current one)."""
    text = str(target)
    if AT in text:
        base, version = text.rsplit(AT, 1)
        if version.isdigit():
            return base, int(version)
    return text, None


def connect(target: str, version: int | None = None) -> duckdb.DuckDBPyConnection:
    """A new connection (a cursor of the process's instance) using the lake (at snapshot
    ``version``, or the one ``target`` names, read-only): close it when done."""
    target, named = split(target)
    version = named if version is None else version
    base = instance(target) if version is None else _version_instance(target, version)
    cursor = base.cursor()
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
    con = _open_instance(str(target), data_path_for(str(target)))
    _local.private = (str(target), con)
    try:
        yield
    finally:
        _local.private = before
        con.close()


def exists(target: str) -> bool:
    """Whether the lake holds an atlas (``cli.py lake init`` made its tables)."""
    try:
        con = connect(target)
    except EmptyLake:
        return False
    with con:
        return _holds_atlas(con)


def _holds_atlas(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the lake ``con`` uses has the atlas's tables (its data_version, made first)."""
    return bool(con.execute("select count(*) from duckdb_tables() where database_name = ? and table_name = 'data_version'",
                            [ALIAS]).fetchall()[0][0])


def snapshot_id(con: duckdb.DuckDBPyConnection) -> int:
    """The lake's current snapshot, as ``con``'s transaction sees it."""
    return int(con.execute(f"select id from {ALIAS}.current_snapshot()").fetchall()[0][0])


def current_snapshot(target: str) -> int:
    """The lake's current snapshot id (for a target read at a snapshot, that snapshot's)."""
    if split(target)[1] is not None:
        return split(target)[1]
    with connect(target) as con:
        return snapshot_id(con)


def is_conflict(error: BaseException) -> bool:
    """A commit refused because another process changed the same rows meanwhile: the whole
    transaction may run again (DuckLake's TransactionException)."""
    return isinstance(error, duckdb.TransactionException) or "conflict" in str(error).lower()


def close_all() -> None:
    """Close this process's lake instances (tests, and a CLI command at its end)."""
    with _lock:
        for pid, con in list(_instances.values()) + list(_versions.values()):
            if pid == os.getpid():
                con.close()
        _instances.clear()
        _versions.clear()


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
    base = _open_instance(target, data_path)  # the data path is the catalog's from now on
    try:
        return _init(base, target, source)
    finally:
        base.close()


def _init(base: duckdb.DuckDBPyConnection, target: str, source) -> dict:
    from db import register, schema

    with base.cursor() as con:
        con.execute(f"use {ALIAS}")
        if _holds_atlas(con):
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
            # the next snapshot id lives in meta: an update, so two servers saving the first
            # snapshots at once conflict (one retries) instead of both taking id 1
            # (and the audit log's last id, for the same reason: access/audit.append)
            from access import audit
            from export import saved

            for key in (saved.LAST_ID_KEY, audit.LAST_ID_KEY):
                con.execute("insert into meta select ?, '0' where not exists (select 1 from meta where key = ?)",
                            [key, key])
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
            select t.table_name, count(f.data_file_id) as files, coalesce(sum(f.file_size_bytes), 0) as bytes
            from {meta}.ducklake_table as t
            left join {meta}.ducklake_data_file as f on f.table_id = t.table_id and f.end_snapshot is null
            where t.end_snapshot is null group by t.table_name order by t.table_name""").fetchall()
        # rows as a query counts them: a file's rows less its deleted ones, plus the rows held in
        # the catalog itself (small inserts are inlined there, in no file)
        files = [(table, n, con.execute(f'select count(*) from {ALIAS}.main."{table}"').fetchall()[0][0], size)
                 for table, n, size in files]
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


def snapshot_time(target: str, version: int) -> str | None:
    """When snapshot ``version`` of the lake was committed ('2026-11-30 15:54:52'), or None."""
    with connect(split(target)[0]) as con:
        found = con.execute(f"select strftime(snapshot_time, '%Y-%m-%d %H:%M:%S') from {ALIAS}.snapshots() "
                            "where snapshot_id = ?", [int(version)]).fetchall()
    return found[0][0] if found else None
