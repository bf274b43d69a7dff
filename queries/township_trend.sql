-- township_trend: month by month, the households screened, risk households and cases received of
-- the townships in scope (one township for its panel), counted as queries/indicators.sql counts
-- them in a one-month period (screening_counted and cases_counted, _macros.sql), with the same
-- filters. A report spanning several months (a quarter) is not a month's count: it is left out
-- of the monthly line (it counts in the quarter's and the year's indicators). The screening rate
-- counts only the townships whose households are known (households_total sums those).
-- Grain: one row per month from $first_month to $last_month (months without records included).
-- params: $first_month, $last_month (first days of months), $scope (list of region-code prefixes),
--         $risk_levels, $risk_types, $case_sources (lists of text; [] = all, except risk levels)
with towns as (
    select township_code as region_code, households_total from atlas_towns('township', $scope)
),
months as (
    select * from months_between($first_month, $last_month)
),
counted as (  -- one month's counts: a report spanning a quarter is not one
    select * from screening_in_scope($first_month::date,
                                     ($last_month::date + interval 1 month - interval 1 day)::date,
                                     $scope, $risk_levels, $risk_types)
    where months = 1
),
screening as (
    select
        month_start,
        count(*) filter (where household_id is not null) + coalesce(sum(households) filter (where household_id is null), 0)
            as households_screened,
        count(*) filter (where household_id is not null and is_risk(top_risk, $risk_levels))
            + coalesce(sum(risk_households) filter (where household_id is null), 0) as risk_households,
        -- the screening rate's numerator: the townships whose households are known
        count(*) filter (where household_id is not null and is_known)
            + coalesce(sum(households) filter (where household_id is null and is_known), 0) as known_screened
    from counted
    group by month_start
),
received as (
    select
        c.month_start,
        sum(c.received) as cases_received
    from cases_counted($first_month::date, ($last_month::date + interval 1 month - interval 1 day)::date,
                       $case_sources, p_scope := $scope) as c
    join towns as t on t.region_code = c.township_code
    where c.months = 1
    group by all
),
total as (
    select sum(households_total) as households_total from towns
)
select
    m.month_start,
    cast(coalesce(s.households_screened, 0) as bigint) as households_screened,
    cast(coalesce(s.risk_households, 0) as bigint) as risk_households,
    cast(coalesce(r.cases_received, 0) as bigint) as cases_received,
    cast(total.households_total as bigint) as households_total,
    coalesce(s.known_screened, 0) / nullif(total.households_total, 0) as screening_rate,
    s.risk_households / nullif(s.households_screened, 0) * 1000 as risk_rate_per_1000
from months as m
cross join total
left join screening as s on s.month_start = m.month_start
left join received as r on r.month_start = m.month_start
order by m.month_start
