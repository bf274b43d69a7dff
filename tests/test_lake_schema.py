"""The schema on a DuckLake (issue 17): db/schema.sql, less what a lake cannot hold, makes the same
tables with the same columns, and schema.create makes a working atlas there. The lake's catalog is
a local DuckDB file here (DuckLake's own option), so no PostgreSQL is needed for this."""
import duckdb
import pytest

from db import extensions, schema


def lake(tmp_path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    extensions.load(con, "ducklake")
    catalog, data = tmp_path / "catalog.ducklake", tmp_path / "data"
    con.execute(f"attach 'ducklake:{catalog.as_posix()}' as atlas (data_path '{data.as_posix()}/')")
    con.execute("use atlas")
    return con


def columns(con, database: str) -> dict:
    rows = con.execute("select table_name, column_name, data_type from duckdb_columns() "
                       "where database_name = ? order by table_name, column_index", [database]).fetchall()
    out: dict = {}
    for table, column, kind in rows:
        out.setdefault(table, []).append((column, kind))
    return out


def test_the_file_schema_as_written_is_refused_by_a_lake(tmp_path):
    con = lake(tmp_path)
    with pytest.raises(duckdb.NotImplementedException):
        con.execute(schema.SCHEMA_SQL.read_text(encoding="utf-8"))


def test_the_lake_gets_every_table_and_column_of_the_file_schema(tmp_path):
    con = lake(tmp_path)
    con.execute(schema.lake_sql(schema.SCHEMA_SQL.read_text(encoding="utf-8")))
    con.execute("attach ':memory:' as plain")
    con.execute("use plain")
    con.execute(schema.SCHEMA_SQL.read_text(encoding="utf-8"))
    file_tables, lake_tables = columns(con, "plain"), columns(con, "atlas")
    assert len(file_tables) > 20 and lake_tables == file_tables
    assert con.execute("select count(*) from duckdb_constraints() where database_name = 'atlas' "
                       "and constraint_type <> 'NOT NULL'").fetchall() == [(0,)]


def test_create_makes_a_working_atlas_on_a_lake(tmp_path):
    con = lake(tmp_path)
    assert schema.is_lake(con)
    schema.create(con)
    schema.create(con)  # idempotent, as on a file
    assert schema.data_version(con) == 0
    keys = {k for (k,) in con.execute("select key from meta").fetchall()}
    assert {"database_id", schema.HOUSEHOLD_KEY} <= keys
    schema.upsert(con, "meta", ("key",), {"key": "demo", "value": "{}"})
    schema.upsert(con, "meta", ("key",), {"key": "demo", "value": '{"seed": 1}'})
    assert con.execute("select value from meta where key = 'demo'").fetchall() == [('{"seed": 1}',)]


def test_a_file_database_is_not_a_lake():
    assert not schema.is_lake(duckdb.connect())


def test_comments_and_semicolons_inside_literals_are_kept():
    got = schema.lake_sql("create table t (a varchar default '--;x' check (a <> ''), b int primary key,\n"
                          "  check (b > 0)); -- a comment; with a semicolon\ncreate index i on t (a);")
    assert " ".join(got.split()) == "create table t (a varchar default '--;x', b int);"
