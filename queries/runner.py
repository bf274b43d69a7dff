"""Run the named SQL files in this folder. Nothing else builds SQL."""
import weakref
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd

SQL_DIR = Path(__file__).parent


@cache
def load_sql(name: str) -> str:
    if not name.isidentifier():  # a name, never a path
        raise ValueError(f"bad query name {name!r}")
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


_RULED: "weakref.WeakSet[duckdb.DuckDBPyConnection]" = weakref.WeakSet()


def define_rules(con: duckdb.DuckDBPyConnection) -> None:
    """Define the counting rules (queries/_macros.sql) on this connection: temporary macros, so a
    read-only connection can, and a connection made anywhere gets the same rules. Once per
    connection (about 7 ms): an export runs dozens of queries on one."""
    if con in _RULED:
        return
    if not con.execute("select count(*) from duckdb_tables() where table_name = 'period_counts'").fetchall()[0][0]:
        # a database from before the stored counts (not upgraded yet, or opened read-only): the
        # macros name the table, so it stands in empty, for this connection only
        con.execute(_stored_counts_ddl().replace("create table if not exists", "create temp table if not exists", 1))
    con.execute(load_sql("_macros"))
    _RULED.add(con)


@cache
def _stored_counts_ddl() -> str:
    """db/schema.sql's statement that creates period_counts (queries/aggregates.py)."""
    text = (SQL_DIR.parent / "db" / "schema.sql").read_text(encoding="utf-8")
    start = text.index("create table if not exists period_counts (")
    return text[start:text.index(");", start) + 2]


def run(con: duckdb.DuckDBPyConnection, name: str, **params) -> pd.DataFrame:
    """Execute queries/<name>.sql. DuckDB binds each $param and rejects missing or extra ones."""
    define_rules(con)
    return con.execute(load_sql(name), params).df()


def current_database(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select current_database()").fetchall()[0][0]


def cursor(con: duckdb.DuckDBPyConnection, database: str) -> duckdb.DuckDBPyConnection:
    """Another connection to ``con``'s instance using ``database`` (current_database(con), asked
    before any thread starts), for a worker thread: on a lake (db/lake.py) a DuckDB cursor starts
    in the instance's own in-memory database, not the lake ``con`` uses."""
    cur = con.cursor()
    if database != current_database(cur):
        cur.execute(f'use "{database}"')
    return cur


def connect(db_path: str | Path) -> duckdb.DuckDBPyConnection:
    """A short-lived read-only connection: it leaves the file free for a writer between reads."""
    from db import lake, schema

    if not lake.is_lake(db_path) and not Path(db_path).exists():
        raise FileNotFoundError(f"no database at {db_path}; build one with `python cli.py demo`")

    return schema.open_waiting(db_path, read_only=True, wait=0)  # NotAnAtlas for a file of another kind
