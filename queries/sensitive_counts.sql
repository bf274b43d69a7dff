-- sensitive_counts: per atlas township, the sensitive counts of one period (risk households; cases
-- received, closed and mediated), by the same rules as indicators.sql (township_screening,
-- cases_counted) and nothing else: what suppression chooses its hidden cells from, for each of
-- the 17 periods of a year (queries/indicators.year_tables), without the rates, rooms and
-- year-to-date counts a page needs. A test holds it equal to indicators.sql's township rows.
-- Grain: one row per atlas township in scope. Counties and cities are their townships' sums.
-- params: $period_start, $period_end (dates, inclusive), $scope (list of region-code prefixes),
--         $risk_levels, $risk_types, $case_sources (lists of text)
with towns as (
    select * from atlas_towns('township', $scope)
),
screening as (
    select * from township_screening($period_start, $period_end, $risk_levels, $risk_types)
),
cases as (
    select township_code, sum(received) as cases_received, sum(closed) as cases_closed,
           sum(mediated) as cases_mediated
    from cases_counted($period_start, $period_end, $case_sources)
    group by township_code
)
select
    t.township_code as region_code,
    g.parent_code,
    coalesce(s.risk_households, 0)::bigint as risk_households,
    coalesce(c.cases_received, 0)::bigint as cases_received,
    coalesce(c.cases_closed, 0)::bigint as cases_closed,
    coalesce(c.cases_mediated, 0)::bigint as cases_mediated
from towns as t
join regions as g on g.region_code = t.township_code
left join screening as s on s.township_code = t.township_code
left join cases as c on c.township_code = t.township_code
order by t.township_code
