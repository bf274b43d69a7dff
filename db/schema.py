"""Create the schema and keep the data version: the one place that knows the DDL."""
from datetime import datetime
from pathlib import Path

import duckdb

SCHEMA_SQL = Path(__file__).with_name("schema.sql")


def create(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table (idempotent) and the version row if it is missing."""
    con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
    if con.execute("select count(*) from data_version").fetchall()[0][0] == 0:
        con.execute("insert into data_version values (0, ?, 'schema created')", [datetime.now()])


def bump_version(con: duckdb.DuckDBPyConnection, note: str) -> int:
    """Record a write. Call inside the writing transaction, so readers see data and version together."""
    con.execute(
        "update data_version set version = version + 1, updated_at = ?, note = ?",
        [datetime.now(), note],
    )
    return con.execute("select version from data_version").fetchall()[0][0]


def data_version(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select version from data_version").fetchall()[0][0]
