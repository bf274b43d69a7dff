"""年度排查目标: households a township is to screen in a year. Replaces those townships' years."""
import pandas as pd

from importer.kinds.base import Chunk, LedgerKind, typed


def build(chunk: Chunk) -> pd.DataFrame:
    frame = chunk.frame()
    typed(chunk, frame, ("year", "target_households"))
    for position, year in enumerate(frame["year"]):
        if year is not pd.NA and not 2000 <= int(year) <= chunk.today.year + 1:
            chunk.problems.add("bad_year", chunk.rows[position], chunk.header_of.get("year"), str(year))
    return frame


KIND = LedgerKind(
    name="targets",
    table="screening_targets",
    staged={"year": "year", "target_households": "target_households"},
    build=build,
    key=("township_code", "year"),
    replaced_where="""exists (select 1 from stg.staged as p
                              where p.township_code = t.township_code and p.year = t.year)""",
    insert_sql="""
        insert into screening_targets (township_code, year, target_households, updated_at, import_id)
        select township_code, year, target_households, current_localtimestamp(), $import_id from stg.staged
        where township_code is not null
    """,
    unit="targets",
    month_of="make_date(year, 1, 1)",
    periods_sql="select distinct cast(year as varchar) from staged where township_code is not null and year is not null",
)
