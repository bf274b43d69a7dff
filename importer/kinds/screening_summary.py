"""排查汇总: households screened per township and month or quarter. Replaces the same periods."""
import pandas as pd

from importer.kinds.base import REPORT_PERIODS_SQL, SAME_REPORT, Chunk, LedgerKind, dates, typed


def build(chunk: Chunk) -> pd.DataFrame:
    frame = chunk.frame()
    spans = chunk.col("period")
    frame["period_start"] = dates([s[0] if s else None for s in spans])
    frame["period_end"] = dates([s[1] if s else None for s in spans])
    for position, span in enumerate(spans):
        if span and span[0] > chunk.today:
            chunk.problems.add("future_period", chunk.rows[position], chunk.header_of.get("period"),
                               span[0].isoformat()[:7])
    typed(chunk, frame, ("households_screened", "risk_low", "risk_medium", "risk_high"))
    return frame


def checks(con, header_of, context, problems) -> None:
    over = con.execute("""
        select s.row_no, s.households_screened, h.households_total from staged as s
        join households_known as h using (township_code)
        where s.households_screened > h.households_total order by s.row_no
    """).fetchall()
    for row_no, screened, total in over:
        problems.add("screened_over_registered", row_no, header_of.get("households_screened"),
                     str(screened), detail=f"{screened}（登记 {total}）")
    over = con.execute("""
        select row_no from staged
        where coalesce(risk_low, 0) + coalesce(risk_medium, 0) + coalesce(risk_high, 0) > households_screened
        order by row_no
    """).fetchall()
    for (row_no,) in over:
        problems.add("risk_over_screened", row_no, header_of.get("risk_high") or header_of.get("risk_medium"))


KIND = LedgerKind(
    name="screening_summary",
    table="screening_summaries",
    staged={"period_start": "period", "period_end": "period", "households_screened": "households_screened",
            "risk_low": "risk_low", "risk_medium": "risk_medium", "risk_high": "risk_high"},
    build=build,
    key=("township_code", "period_start", "period_end"),
    replaced_where=SAME_REPORT,
    insert_sql="""
        insert into screening_summaries by name
        select township_code, period_start, period_end, households_screened,
               coalesce(risk_low, 0) as risk_low, coalesce(risk_medium, 0) as risk_medium,
               coalesce(risk_high, 0) as risk_high, $import_id as import_id
        from stg.staged where township_code is not null
    """,
    unit="screening_summary",
    month_of="date_trunc('month', period_start)",
    periods_sql=REPORT_PERIODS_SQL,
    checks=checks,
)
