"""db.schema.upsert: insert a row or update the one with the same key, by MERGE, so that it also
works on tables without a primary key (DuckLake has none; ``insert or replace`` needs one)."""
import duckdb
import pytest

from db import schema


@pytest.fixture
def con():
    con = duckdb.connect()
    # no primary key, as a DuckLake table: insert or replace is refused here
    con.execute("create table aliases (alias varchar, county varchar, code varchar, note varchar)")
    con.execute("insert into aliases values ('城关', '', '1', 'a'), ('城关', 'x', '2', 'b')")
    yield con
    con.close()


def rows(con):
    return sorted(con.execute("select * from aliases").fetchall())


def test_insert_or_replace_needs_a_key_that_this_table_lacks(con):
    with pytest.raises(duckdb.BinderException):
        con.execute("insert or replace into aliases values ('城关', '', '9', 'z')")


def test_a_row_with_a_new_key_is_added_and_one_with_a_known_key_replaced(con):
    schema.upsert(con, "aliases", ("alias", "county"), {"alias": "城关", "county": "", "code": "9", "note": "z"})
    schema.upsert(con, "aliases", ("alias", "county"), {"alias": "新街", "county": "", "code": "3", "note": None})
    assert rows(con) == [("城关", "", "9", "z"), ("城关", "x", "2", "b"), ("新街", "", "3", None)]


def test_many_rows_from_a_query(con):
    con.execute("create table edits as select * from (values ('城关', 'x', '7', 'c'), ('东关', '', '4', 'd')) t(alias, county, code, note)")
    schema.upsert_from(con, "aliases", ("alias", "county"), ["alias", "county", "code", "note"],
                       "select alias, county, code, note from edits")
    assert rows(con) == [("东关", "", "4", "d"), ("城关", "", "1", "a"), ("城关", "x", "7", "c")]


def test_a_key_only_table_gets_no_update_clause(con):
    con.execute("create table seen (name varchar)")
    for _ in range(2):
        schema.upsert(con, "seen", ("name",), {"name": "一"})
    assert con.execute("select * from seen").fetchall() == [("一",)]
