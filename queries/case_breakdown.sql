-- case_breakdown: cases received in the period in scope, counted by type and by source.
-- Grain: one row per (dimension, value): dimension is 'case_type' or 'source'; unknown values
-- are counted as '未填写'. Counted by cases_counted (_macros.sql), as indicators.sql counts them:
-- a township-month without case rows counts its 纠纷统计表 by type, with no source (from_return
-- says a count holds such numbers).
-- params: $period_start, $period_end (dates, inclusive), $scope (list of region-code prefixes),
--         $case_sources (list of text; [] = all)
with picked as (
    select
        coalesce(case_type, '未填写') as case_type,
        coalesce(source, '未填写') as source,
        received as cases,
        from_return
    from cases_counted($period_start, $period_end, $case_sources, p_scope := $scope)
    where received > 0
)
select 'case_type' as dimension, case_type as value, sum(cases) as cases, bool_or(from_return) as from_return
from picked group by all
union all
select 'source' as dimension, source as value, sum(cases) as cases, bool_or(from_return) as from_return
from picked group by all
order by dimension, cases desc, value
