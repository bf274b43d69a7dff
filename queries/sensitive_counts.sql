-- sensitive_counts: per atlas township, the sensitive counts of one period (risk households; cases
-- received, closed and mediated), by the same rules as indicators.sql (township_counts) and
-- nothing else: what suppression chooses its hidden cells from, for each of the 17 periods of a year (queries/indicators.year_tables), without the rates, rooms and
-- year-to-date counts a page needs. A test holds it equal to indicators.sql's township rows.
-- Grain: one row per atlas township in scope. Counties and cities are their townships' sums.
-- params: $period_start, $period_end (dates, inclusive), $scope (list of region-code prefixes),
--         $risk_levels, $risk_types, $case_sources (lists of text), $stored (as indicators.sql)
with towns as (
    select * from atlas_towns('township', $scope)
),
counts as (
    select * from township_counts($period_start, $period_end, $risk_types, $case_sources, $stored, p_scope := $scope)
)
select
    t.township_code as region_code,
    g.parent_code,
    coalesce(risk_of_levels($risk_levels, c.risk_none, c.risk_low, c.risk_medium, c.risk_high), 0)::bigint
        as risk_households,
    coalesce(c.cases_received, 0)::bigint as cases_received,
    coalesce(c.cases_closed, 0)::bigint as cases_closed,
    coalesce(c.cases_mediated, 0)::bigint as cases_mediated
from towns as t
join regions as g on g.region_code = t.township_code
left join counts as c on c.township_code = t.township_code
order by t.township_code
