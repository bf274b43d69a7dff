"""区划与底数: households and villages per township. Rewrites those townships' counts."""
import pandas as pd

from importer.kinds.base import Chunk, LedgerKind, typed


def build(chunk: Chunk) -> pd.DataFrame:
    frame = chunk.frame()
    typed(chunk, frame, ("households", "villages"))
    return frame


KIND = LedgerKind(
    name="regions",
    table="regions",
    staged={"households": "households", "villages": "villages"},
    build=build,
    key=("township_code",),
    # every township row the file names is rewritten (a blank cell keeps the old count)
    replaced_where="t.region_code in (select township_code from stg.staged where township_code is not null)",
    insert_sql="""
        insert into regions by name
        select r.* exclude (replaced_by, households_total, villages_total, import_id, in_atlas),
               coalesce(s.households, r.households_total) as households_total,
               coalesce(s.villages, r.villages_total) as villages_total,
               true as in_atlas,
               $import_id as import_id
        from regions_replaced as r
        join stg.staged as s on s.township_code = r.region_code
        where r.replaced_by = $import_id
    """,
    unit="regions",
    town_column="region_code",
    report_where="t.households_total is not null or t.villages_total is not null",
)
