-- import_reports_counted: the report rows (排查汇总, 纠纷统计表) one import wrote, and whether the
-- counting rules count them. As in screening_counted and cases_counted (_macros.sql), a report is
-- set aside for a township whose household rows (screening) or case rows (cases received or closed)
-- fall in any of its months: the rows take precedence over the report's totals.
-- Grain: one row per report row of the import in scope. params: $import_id, $scope
select
    'screening_summary' as kind,
    m.township_code,
    m.period_start,
    m.period_end,
    not exists (
        select 1
        from screenings as s
        where s.township_code = m.township_code
            and date_trunc('month', s.screened_date) between date_trunc('month', m.period_start) and m.period_end
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
    not exists (
        select 1
        from cases as r
        where r.township_code = c.township_code
            and (date_trunc('month', r.received_date) between date_trunc('month', c.period_start) and c.period_end
                 or date_trunc('month', r.closed_date) between date_trunc('month', c.period_start) and c.period_end)
    ) as is_counted
from case_summaries as c
where c.import_id = $import_id
    and in_scope(c.township_code, $scope)
order by kind, township_code, period_start
