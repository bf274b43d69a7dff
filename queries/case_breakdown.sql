-- case_breakdown: cases received in the period in scope, counted by type and by source.
-- Grain: one row per (dimension, value): dimension is 'case_type' or 'source'; unknown values
-- are counted as '未填写'. A township without case rows in the period counts its statistical
-- returns (纠纷统计表) instead, as indicators.sql does: by type, with no source (returns carry
-- none, so a source filter leaves them out); from_return says a count holds such numbers.
-- params: $period_start, $period_end (dates, inclusive), $scope (list of region-code prefixes),
--         $case_sources (list of text; [] = all)
with case_rows as (
    select distinct township_code from cases
    where received_date between $period_start and $period_end
        or closed_date between $period_start and $period_end
),
picked as (
    select
        coalesce(case_type, '未填写') as case_type,
        coalesce(source, '未填写') as source,
        1 as cases,
        false as from_return
    from cases
    where received_date between $period_start and $period_end
        and (len($case_sources) = 0 or list_contains($case_sources, source))
        and list_bool_or(list_transform($scope, lambda p: starts_with(township_code, p)))
    union all
    select
        case_type,
        '未填写' as source,
        received as cases,
        true as from_return
    from case_summaries
    where period_start >= $period_start
        and period_end <= $period_end
        and len($case_sources) = 0
        and received > 0
        and township_code not in (select township_code from case_rows)
        and list_bool_or(list_transform($scope, lambda p: starts_with(township_code, p)))
)
select 'case_type' as dimension, case_type as value, sum(cases) as cases, bool_or(from_return) as from_return
from picked group by all
union all
select 'source' as dimension, source as value, sum(cases) as cases, bool_or(from_return) as from_return
from picked group by all
order by dimension, cases desc, value
