"""排查记录（逐户）: one row per household visit. Replaces those townships' visits in the months
the file covers. Built in Arrow: a five-million-row ledger has a few thousand distinct values."""
import numpy as np
import pyarrow as pa

from db import schema
from importer.kinds.base import FROM_STAGED, VILLAGE_CODE, months_sql, Chunk, LedgerKind


def build(chunk: Chunk) -> pa.Table:
    """Each column's distinct values taken by the rows' codes (a few thousand dates and villages,
    not millions)."""
    rows = chunk.rows

    def column(name, kind=pa.string()):
        codes, got = chunk.parsed.get(name, (np.zeros(len(rows), dtype=np.int64), np.array([None], dtype=object)))
        if kind == pa.string():
            return pa.array(got, type=pa.string()).take(pa.array(codes))
        # the pandas path stored datetime64[s]: keep TIMESTAMP_S, whose text the commit hashes
        days = pa.array(got, type=pa.date32()).cast(pa.timestamp("s"))
        return days.take(pa.array(codes))
    return pa.table({
        "row_no": pa.array(rows, type=pa.int64()),
        "township_code": pa.array(chunk.town, type=pa.string()).take(pa.array(chunk.town_codes)),
        "screened_date": column("screened_date", pa.timestamp("s")),
        "village": column("village"),
        "household_raw": column("household_id"),
        "risk_level": column("risk_level"),
        "risk_type": column("risk_type"),
    })


def checks(con, header_of, context, problems) -> None:
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


KIND = LedgerKind(
    name="screening",
    table="screenings",
    staged={"screened_date": "screened_date", "village": "village", "household_raw": "household_id",
            "risk_level": "risk_level", "risk_type": "risk_type"},
    build=build,
    key=("township_code", "household_raw", "screened_date"),
    replaced_where="""exists (select 1 from stg.scope as p where p.township_code = t.township_code
                              and p.month_start = date_trunc('month', t.screened_date))""",
    # household ids stay raw in the (private, deleted) staging file; keyed and hashed on the way in
    # (db/schema.py: HMAC-SHA256 under the database's own key), and so is the visit's id
    insert_sql=f"""
        insert into screenings by name
        select 'imp-' || {schema.keyed_sql("s.township_code || '|' || s.household_raw || '|' || s.screened_date "
                                           "|| '|' || s.row_no")}[1:24] as screening_id,
               {schema.household_id_sql("s.township_code", "s.household_raw")} as household_id,
               s.township_code, {VILLAGE_CODE} as village_code, s.screened_date, s.risk_level, s.risk_type,
               $import_id as import_id
        {FROM_STAGED}
        -- stored in township order, so a query for some townships skips the row groups of others
        -- (queries/_macros.sql rows_in_scope); a ledger's rows come in any order
        order by s.township_code, s.screened_date
    """,
    unit="screening",
    month_of="date_trunc('month', screened_date)",
    periods_sql=months_sql("screened_date"),
    checks=checks,
)
