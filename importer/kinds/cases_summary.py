"""纠纷统计表: dispute counts per township and month (or quarter), per type of dispute, as the
monthly returns of 妇联, 综治中心 and 司法所 give them. Replaces those townships' returns for the
same periods. The indicators use case rows where a township has them for the period, and these
counts otherwise (queries/indicators.sql)."""
import numpy as np
import pandas as pd

from importer.fields import MEASURES
from importer.kinds.base import REPORT_PERIODS_SQL, SAME_REPORT, Chunk, LedgerKind, dates


def build(chunk: Chunk) -> pd.DataFrame:
    """One row per township row and type: the wide return made long."""
    n = len(chunk.rows)
    spans = chunk.col("period") if "period" in chunk.values else [chunk.file_period] * n
    start = dates([s[0] if s else None for s in spans])
    end = dates([s[1] if s else None for s in spans])
    types = sorted({name.split("#", 1)[1] for name in chunk.values if "#" in name})
    parts = []
    for type_ in types:
        part = chunk.frame()
        part["period_start"], part["period_end"] = start, end
        part["case_type"] = pd.Series([type_] * n, dtype="string")
        for measure in MEASURES:
            part[measure] = pd.array(chunk.values.get(f"{measure}#{type_}", np.full(n, None, dtype=object)),
                                     dtype="Int64")
        parts.append(part)
    if not parts:
        part = chunk.frame()
        for name in ("period_start", "period_end"):
            part[name] = pd.Series(pd.NaT, index=part.index, dtype="datetime64[s]")
        part["case_type"] = pd.Series(dtype="string", index=part.index)
        for measure in MEASURES:
            part[measure] = pd.array([None] * n, dtype="Int64")
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    for position, span in enumerate(spans):
        if span and span[0] > chunk.today:
            chunk.problems.add("future_period", chunk.rows[position], chunk.header_of.get("period"),
                               span[0].isoformat()[:7])
    return frame


def checks(con, header_of, context, problems) -> None:
    if con.execute("select count(*) from staged where period_start is null").fetchall()[0][0]:
        problems.add("no_period")
    for row_no, type_, received, resolved, unresolved in con.execute("""
            select row_no, case_type, received, resolved, unresolved from staged
            where resolved > received or coalesce(resolved, 0) + coalesce(unresolved, 0) > received
            order by row_no""").fetchall():
        problems.add("resolved_over_received", row_no, type_, f"{received} / {resolved} / {unresolved}",
                     detail=type_)
    # rows of the return that give no count at all (a blank type) add nothing
    con.execute("delete from staged where received is null and resolved is null and unresolved is null")


KIND = LedgerKind(
    name="cases_summary",
    table="case_summaries",
    staged={"period_start": "period", "period_end": "period", "case_type": "case_type",
            "received": "received", "resolved": "resolved", "unresolved": "unresolved"},
    build=build,
    key=("township_code", "period_start", "period_end", "case_type"),
    replaced_where=SAME_REPORT,
    insert_sql="""
        insert into case_summaries by name
        select township_code, period_start, period_end, case_type, received, resolved, unresolved,
               $import_id as import_id
        from stg.staged where township_code is not null
    """,
    unit="cases_summary",
    month_of="date_trunc('month', period_start)",
    periods_sql=REPORT_PERIODS_SQL,
    checks=checks,
)
