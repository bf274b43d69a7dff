-- indicators: every published indicator per region of one level, for one period.
-- Grain: one row per region of $level (township, county or city) that holds at least one atlas
-- township in scope, whether or not it has records in the period (a map must show the gap).
-- Counties and the city are rolled up by summing numerators and denominators, never by
-- averaging rates, and over the same townships: a rate's numerator sums only the townships whose
-- denominator is known (households_unknown and villages_unknown say how many were left out);
-- the counts themselves (households_screened, rooms_active, cases_received …) sum every township.
-- A rate with a zero (or unknown) denominator is null.
-- screening_rate is the period's own; screening_rate_ytd (本年累计, from 1 January to the period's end)
-- and screening_rate_added (what the period added to it) follow screening_to_date (_macros.sql).
-- Screening and cases are counted by the rules of _macros.sql (township_counts: township_screening_ranks,
-- screening_to_date, cases_counted):
-- household and case rows where a township has them in a month, its reports otherwise.
-- Filters narrow what is counted, never which regions are listed: $room_types (rooms of these
-- types; [] = all), $risk_levels (the levels that make a household a risk household, default
-- ['中', '高']), $risk_types (only risks of these types count; [] = all), $case_sources (cases
-- from these sources; [] = all).
-- params: $level ('township' | 'county' | 'city' | 'province' | 'nation'), $period_start, $period_end (dates, inclusive),
--         $scope (list of region-code prefixes the viewer may see; [''] = everything),
--         $room_types, $risk_levels, $risk_types, $case_sources (lists of text),
--         $stored (boolean: read the counts from period_counts; queries/aggregates.usable says when)
with towns as (
    select * from atlas_towns($level, $scope)
),
rooms_active as (
    select
        township_code,
        count(*) as rooms_active,
        count(distinct village_code) as villages_covered
    from rooms
    where room_active(opened_date, closed_date, $period_start, $period_end)
        and (len($room_types) = 0 or list_contains($room_types, room_type))
        and rows_in_scope(township_code, $scope)
    group by township_code
),
counts as (  -- screening, 本年累计 and cases by township_counts (_macros.sql), stored or live
    select * from township_counts($period_start, $period_end, $risk_types, $case_sources, $stored, p_scope := $scope)
),
per_town as (
    select
        t.group_code,
        t.households_total,
        t.villages_total,
        coalesce(ra.rooms_active, 0) as rooms_active,
        coalesce(ra.villages_covered, 0) as villages_covered,
        coalesce(c.households_screened, 0) as households_screened,
        coalesce(risk_of_levels($risk_levels, c.risk_none, c.risk_low, c.risk_medium, c.risk_high), 0)
            as risk_households,
        coalesce(c.households_screened_ytd, 0) as households_screened_ytd,
        coalesce(c.households_screened_before, 0) as households_screened_before,
        coalesce(c.cases_received, 0) as cases_received,
        coalesce(c.cases_closed, 0) as cases_closed,
        coalesce(c.cases_mediated, 0) as cases_mediated
    from towns as t
    left join rooms_active as ra on ra.township_code = t.township_code
    left join counts as c on c.township_code = t.township_code
),
summed as (
    select
        group_code,
        count(*) as townships,
        count(*) filter (where households_total is null)::bigint as households_unknown,
        count(*) filter (where villages_total is null)::bigint as villages_unknown,
        sum(households_total)::bigint as households_total,
        sum(villages_total)::bigint as villages_total,
        sum(rooms_active)::bigint as rooms_active,
        sum(villages_covered)::bigint as villages_covered,
        sum(households_screened)::bigint as households_screened,
        sum(risk_households)::bigint as risk_households,
        sum(cases_received)::bigint as cases_received,
        sum(cases_closed)::bigint as cases_closed,
        sum(cases_mediated)::bigint as cases_mediated,
        -- the numerators of rates over households or villages, over the townships that know them
        sum(rooms_active) filter (where households_total is not null) as rooms_counted,
        sum(households_screened) filter (where households_total is not null) as screened_counted,
        sum(households_screened_ytd)::bigint as households_screened_ytd,
        sum(households_screened_before)::bigint as households_screened_before,
        sum(households_screened_ytd) filter (where households_total is not null) as ytd_counted,
        sum(households_screened_before) filter (where households_total is not null) as before_counted,
        sum(cases_received) filter (where households_total is not null) as cases_counted,
        sum(villages_covered) filter (where villages_total is not null) as covered_counted
    from per_town
    group by group_code
)
select
    x.group_code as region_code,
    g.name as region_name,
    $level as level,
    g.parent_code as parent_code,
    -- the counts as summed (queries/indicators.py puts the published columns in their order)
    x.* exclude (group_code, rooms_counted, screened_counted, cases_counted, covered_counted, ytd_counted,
                 before_counted, households_screened_before),
    -- the rates, each over the townships whose denominator is known
    x.covered_counted / nullif(x.villages_total, 0) as coverage_rate,
    x.rooms_counted / nullif(x.households_total, 0) * 10000 as rooms_per_10k,
    x.screened_counted / nullif(x.households_total, 0) as screening_rate,
    x.risk_households / nullif(x.households_screened, 0) * 1000 as risk_rate_per_1000,
    x.cases_mediated / nullif(x.cases_closed, 0) as mediation_success_rate,
    x.cases_counted / nullif(x.households_total, 0) * 10000 as cases_per_10k,
    -- 本年累计 and the period's addition (a 0–1 difference: percentage points / 100)
    x.ytd_counted / nullif(x.households_total, 0) as screening_rate_ytd,
    (x.ytd_counted - x.before_counted) / nullif(x.households_total, 0) as screening_rate_added
from summed as x
join region_rows() as g on g.region_code = x.group_code
order by x.group_code
