"""period_counts: the counts of every month, quarter and year per township, stored for a big atlas.

At national scale (10 million screening rows) one period's counts take seconds to work out from the
rows; the roll-ups a leader opens must take half a second. So for a big atlas, the counts that
queries/_macros.sql township_counts_live works out for a period with no filter (households
screened and each risk level's households, 本年累计, cases received, closed and mediated) are
stored per township for every month, quarter and year with data, in ``period_counts``, made by that
same macro: a copy of its answers, not a second rule.

Kept exact by :func:`refresh`, which every write runs inside its transaction (db/schema.transaction),
after the version bump: it rebuilds the townships whose rows changed (their signature,
queries/period_counts_signs.sql) and records the data version it is exact for. Readers use the
stored rows only when that version is the data's and no risk type or case source narrows the
counts (:func:`usable`); otherwise the rows are counted live, by the same macro.
"""
from __future__ import annotations

import duckdb
import pandas as pd

from db import schema
from queries import periods, runner

# From this many screening and case rows the counts are stored: below it, counting live takes
# tens of milliseconds (the demo city: 60,000 rows) and storing would only slow every import.
AGGREGATE_FROM = 500_000
VERSION_KEY = "period_counts_version"
# More changed townships than this are rebuilt by their counties (a scope of a few prefixes scans
# faster than one of hundreds of codes); more counties than this, the whole atlas.
BY_TOWNSHIP, BY_COUNTY = 30, 60


def usable(con: duckdb.DuckDBPyConnection, risk_types=(), case_sources=()) -> bool:
    """Whether the indicators may read ``period_counts``: it is of the data's version, and no risk
    type or case source narrows the counts (they are stored unfiltered)."""
    if risk_types or case_sources:
        return False
    found = con.execute("""select (select value from meta where key = ?) = (select version::varchar from data_version)""",
                        [VERSION_KEY]).fetchall()[0][0]
    return bool(found)


def _rows(con: duckdb.DuckDBPyConnection) -> int:
    """Screening and case rows: whether the atlas is big enough to store its counts."""
    return con.execute("select (select count(*) from screenings) + (select count(*) from cases)").fetchall()[0][0]


def _scope(changed: list[str], everything: int) -> list[str]:
    """The code prefixes to rebuild for ``changed`` townships (of ``everything`` with rows)."""
    if len(changed) <= BY_TOWNSHIP:
        return sorted(changed)
    counties = sorted({code[:6] for code in changed})
    if len(counties) <= BY_COUNTY and len(changed) < everything / 2:
        return counties
    return [""]


def refresh(con: duckdb.DuckDBPyConnection, version: int, force: bool = False) -> int:
    """Bring ``period_counts`` to the rows as they are, for data version ``version``; call inside the
    writing transaction. Returns how many townships were rebuilt. A small atlas (fewer than
    :data:`AGGREGATE_FROM` screening and case rows) stores nothing (unless ``force``)."""
    runner.define_rules(con)
    fresh = con.execute("select count(*) from meta where key = ?", [VERSION_KEY]).fetchall()[0][0] > 0
    if _rows(con) < AGGREGATE_FROM and not force:
        if fresh:
            con.execute("delete from period_counts")
            con.execute("delete from period_counts_signs")
            con.execute("delete from meta where key = ?", [VERSION_KEY])
        return 0
    signs = runner.run(con, "period_counts_signs")
    old = con.execute("select township_code, sign from period_counts_signs").df() if fresh else signs.iloc[:0]
    both = signs.merge(old, on="township_code", how="outer", suffixes=("", "_old"), indicator=True)
    changed = sorted(both.loc[(both["_merge"] != "both") | (both["sign"] != both["sign_old"]), "township_code"])
    if changed or not fresh:
        scope = _scope(changed, len(signs)) if fresh else [""]
        runner.run(con, "period_counts_drop", scope=scope)
        add, batched = runner.load_sql("period_counts_add"), schema.is_lake(con)
        if batched:
            # on a DuckLake each insert writes Parquet files of its own (34 a year's periods, two
            # years an import): the periods are gathered in a temporary table and stored in one
            con.execute("create or replace temp table period_counts_batch as from period_counts limit 0")
            add = add.replace("insert into period_counts\n", "insert into temp.period_counts_batch\n", 1)
        for year in runner.run(con, "period_counts_years")["year"]:
            for code in _codes(int(year)):
                p = periods.parse(code)
                con.execute(add, {"period_start": p.start, "period_end": p.end, "scope": scope})
        if batched:
            con.execute("insert into period_counts from temp.period_counts_batch")
            con.execute("drop table temp.period_counts_batch")
        con.execute("delete from period_counts_signs")
        con.register("period_counts_new_signs", signs)
        con.execute("insert into period_counts_signs select township_code, sign from period_counts_new_signs")
        con.unregister("period_counts_new_signs")
    schema.upsert(con, "meta", ("key",), {"key": VERSION_KEY, "value": str(version)})
    return len(changed) if fresh else len(signs)


def _codes(year: int) -> list[str]:
    """The 17 periods of a year: its months, quarters and the year."""
    return sorted({code for total, parts in periods.year_sums(year) for code in (total, *parts)})


def ensure(path) -> bool:
    """Store the counts of a big atlas whose counts are not stored for its data version (a database
    built before they were, or by hand): in their own transaction, with no version bump (the data
    do not change). True if it stored them. Called by db/schema.upgrade, which the app and the CLI
    run first; at national scale it takes a minute or two, once."""
    import sys

    from db import schema

    with schema.open_waiting(path, read_only=True, wait=30.0) as con:
        runner.define_rules(con)
        rows = _rows(con)
        if rows < AGGREGATE_FROM or usable(con):
            return False
    print(f"storing the counts of every period for {rows:,} rows (once) ...", file=sys.stderr, flush=True)
    with schema.open_waiting(path, read_only=False, wait=30.0) as con:
        con.execute("begin")
        try:
            refresh(con, schema.data_version(con))
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    return True
