"""矛盾纠纷台账: one row per dispute case.

A file with a case id column is merged by id: new ids are added, known ids updated, every other
case kept (a partial list of a month must not wipe the month). A file without ids cannot say
which cases it updates: it replaces those townships' cases in the months it covers, and says so
before it does (the page and --dry-run list it; replacing more than it brings needs --replace).
"""
import hashlib

import pandas as pd

from importer.kinds.base import FROM_STAGED, VILLAGE_CODE, months_sql, Chunk, LedgerKind, dates, later_than

COLUMNS = ["row_no", "township_code", "case_id", "has_id", "received_date", "village", "case_type", "source",
           "risk_level", "outcome", "closed_date", "room"]


def build(chunk: Chunk) -> pd.DataFrame:
    frame = chunk.frame()
    frame["case_id"] = pd.Series(chunk.col("case_id"), dtype="string")
    frame["has_id"] = frame["case_id"].notna()
    frame["received_date"] = dates(chunk.col("received_date"))
    frame["village"] = pd.Series(chunk.col("village"), dtype="string")
    for name in ("case_type", "source", "risk_level", "outcome", "room"):
        frame[name] = pd.Series(chunk.col(name), dtype="string")
    frame["closed_date"] = dates(chunk.col("closed_date"))
    later_than(frame, "closed_date", "received_date", chunk, "closed_before_received")
    missing = ~frame["has_id"]
    if missing.any():  # an id from what the row says, so the same row gets the same id next time
        content = frame.loc[missing, ["township_code", "received_date", "village", "case_type", "source",
                                      "risk_level", "outcome", "closed_date", "room"]].astype("string").fillna("")
        frame.loc[missing, "case_id"] = [
            "gen-" + hashlib.md5("|".join(values).encode("utf-8")).hexdigest()[:16]
            for values in content.itertuples(index=False)]
    return frame[COLUMNS]


KIND = LedgerKind(
    name="cases",
    table="cases",
    staged={"case_id": "case_id", "received_date": "received_date", "village": "village",
            "case_type": "case_type", "source": "source", "risk_level": "risk_level", "outcome": "outcome",
            "closed_date": "closed_date", "room": "room"},
    build=build,
    key=("case_id",),
    replaced_where="""
        t.case_id in (select case_id from stg.staged)
        or exists (select 1 from stg.staged as s
                   where not s.has_id and s.township_code = t.township_code
                     and date_trunc('month', s.received_date) = date_trunc('month', t.received_date))
    """,
    insert_sql=f"""
        insert into cases by name
        select s.case_id, s.received_date, s.closed_date, s.township_code, {VILLAGE_CODE} as village_code,
               s.case_type, s.source, s.risk_level,
               coalesce(s.outcome, case when s.closed_date is null then '在办' end) as outcome,
               (select min(r.room_id) from rooms as r
                where r.township_code = s.township_code and r.name = s.room) as room_id,
               $import_id as import_id
        {FROM_STAGED}
        order by s.township_code, s.received_date  -- township order, as screenings (screening.py)
    """,
    unit="cases",
    month_of="date_trunc('month', received_date)",
    periods_sql=months_sql("received_date"),
)
