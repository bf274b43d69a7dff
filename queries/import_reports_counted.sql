-- import_reports_counted: the report rows (排查汇总, 纠纷统计表) one import wrote, and whether the
-- counting rules count them: asked of screening_counted and cases_counted themselves (_macros.sql),
-- over the span of the import's reports, so this query cannot drift from them. A report is set
-- aside for a township whose household rows (screening) or case rows fall in any of its months.
-- Grain: one row per report row of the import in scope. params: $import_id, $scope
with screening_span as (
    select min(period_start) as first_day, max(period_end) as last_day
    from screening_summaries where import_id = $import_id
),
screening_reports as (  -- the reports screening_counted counts: one row each, household_id null
    select distinct township_code, month_start
    from screening_counted((select first_day from screening_span), (select last_day from screening_span),
                           ['无', '低', '中', '高'], [])
    where household_id is null
),
case_span as (
    select min(period_start) as first_day, max(period_end) as last_day
    from case_summaries where import_id = $import_id
),
case_reports as (  -- the returns cases_counted counts, by township, last month and type
    select distinct township_code, month_start, case_type
    from cases_counted((select first_day from case_span), (select last_day from case_span), [])
    where from_return
)
select
    'screening_summary' as kind,
    m.township_code,
    m.period_start,
    m.period_end,
    exists (
        select 1 from screening_reports as r
        where r.township_code = m.township_code and r.month_start = date_trunc('month', m.period_end)
    ) as is_counted
from screening_summaries as m
where m.import_id = $import_id
    and in_scope(m.township_code, $scope)
union all
select
    'cases_summary' as kind,
    c.township_code,
    c.period_start,
    c.period_end,
    exists (
        select 1 from case_reports as r
        where r.township_code = c.township_code and r.month_start = date_trunc('month', c.period_end)
            and r.case_type = c.case_type
    ) as is_counted
from case_summaries as c
where c.import_id = $import_id
    and in_scope(c.township_code, $scope)
order by kind, township_code, period_start
