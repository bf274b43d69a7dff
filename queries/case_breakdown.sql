-- case_breakdown: cases received in the period in scope, counted by type and by source.
-- Grain: one row per (dimension, value): dimension is 'case_type' or 'source'; unknown values
-- are counted as '未填写'.
-- params: $period_start, $period_end (dates, inclusive), $scope (list of region-code prefixes),
--         $case_sources (list of text; [] = all)
with picked as (
    select
        coalesce(case_type, '未填写') as case_type,
        coalesce(source, '未填写') as source
    from cases
    where received_date between $period_start and $period_end
        and (len($case_sources) = 0 or list_contains($case_sources, source))
        and list_bool_or(list_transform($scope, lambda p: starts_with(township_code, p)))
)
select 'case_type' as dimension, case_type as value, count(*) as cases from picked group by all
union all
select 'source' as dimension, source as value, count(*) as cases from picked group by all
order by dimension, cases desc, value
