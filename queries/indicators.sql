-- indicators: every published indicator per region of one level, for one period.
-- Grain: one row per region of $level (township, county or city) that holds at least one atlas
-- township in scope, whether or not it has records in the period (a map must show the gap).
-- Counties and the city are rolled up by summing numerators and denominators, never by
-- averaging rates; a rate with a zero (or unknown) denominator is null.
-- Filters narrow what is counted, never which regions are listed: $room_types (rooms of these
-- types; [] = all), $risk_levels (the levels that make a household a risk household, default
-- ['中', '高']), $risk_types (only risks of these types count; [] = all; township totals carry no
-- type, so with a type filter they add screened households but no risk households), $case_sources
-- (cases from these sources; [] = all).
-- params: $level ('township' | 'county' | 'city'), $period_start, $period_end (dates, inclusive),
--         $scope (list of region-code prefixes the viewer may see; [''] = everything),
--         $room_types, $risk_levels, $risk_types, $case_sources (lists of text)
with towns as (
    select
        r.region_code as township_code,
        case $level
            when 'township' then r.region_code
            when 'county' then coalesce(r.county_code, r.city_code)
            else r.city_code
        end as group_code,
        r.households_total,
        r.villages_total
    from regions as r
    where r.level = 'township'
        and r.in_atlas
        and list_bool_or(list_transform($scope, lambda p: starts_with(r.region_code, p)))
),
rooms_active as (
    -- a room counts in a period if it opened by the period's end (or has no opening date) and did not
    -- close before its start
    select
        township_code,
        count(*) as rooms_active,
        count(distinct village_code) as villages_covered
    from rooms
    where (opened_date is null or opened_date <= $period_end)  -- no opening date: active until it closes
        and (closed_date is null or closed_date >= $period_start)
        and (len($room_types) = 0 or list_contains($room_types, room_type))
    group by township_code
),
households_seen as (
    -- one row per household screened in the period, with its highest risk level in the period
    -- (among risks of the chosen types)
    select
        township_code,
        household_id,
        max(
            case
                when len($risk_types) > 0 and not list_contains($risk_types, risk_type) then 0
                when risk_level = '高' then 3
                when risk_level = '中' then 2
                when risk_level = '低' then 1
                else 0
            end
        ) as top_risk
    from screenings
    where screened_date between $period_start and $period_end
    group by township_code, household_id
),
screening_rows as (
    select
        township_code,
        count(*) as households_screened,
        count(*) filter (
            where list_contains($risk_levels, ['无', '低', '中', '高'][top_risk + 1])
        ) as risk_households
    from households_seen
    group by township_code
),
screening_totals as (
    -- township totals (排查汇总) count only where the township has no household rows in the
    -- period, and only for reports whose month or quarter lies inside the period
    select
        township_code,
        sum(households_screened) as households_screened,
        sum(
            case when len($risk_types) > 0 then 0 else
                (case when list_contains($risk_levels, '低') then coalesce(risk_low, 0) else 0 end)
                + (case when list_contains($risk_levels, '中') then coalesce(risk_medium, 0) else 0 end)
                + (case when list_contains($risk_levels, '高') then coalesce(risk_high, 0) else 0 end)
            end
        ) as risk_households
    from screening_summaries
    where period_start >= $period_start
        and period_end <= $period_end
        and township_code not in (select township_code from screening_rows)
    group by township_code
),
screening as (
    select * from screening_rows
    union all
    select * from screening_totals
),
case_rows as (
    -- townships with case rows received or closed in the period: their cases count, and their
    -- statistical returns (纠纷统计表) for the period do not
    select distinct township_code from cases
    where received_date between $period_start and $period_end
        or closed_date between $period_start and $period_end
),
case_totals as (
    -- a return's counts, for a township without case rows, from returns whose month or quarter
    -- lies inside the period. A return accounts for every dispute it lists: 排查数 are received,
    -- 化解数 + 未化解数 (排查数 − 化解数 when 未化解数 is blank) closed, 化解数 mediated, so the
    -- success rate is the return's 化解率. Returns carry no source: a source filter leaves them out.
    select
        township_code,
        sum(received) as cases_received,
        sum(coalesce(resolved, 0) + coalesce(unresolved, received - coalesce(resolved, 0))) as cases_closed,
        sum(coalesce(resolved, 0)) as cases_mediated
    from case_summaries
    where period_start >= $period_start
        and period_end <= $period_end
        and len($case_sources) = 0
        and township_code not in (select township_code from case_rows)
    group by township_code
),
received as (
    select
        township_code,
        count(*) as cases_received
    from cases
    where received_date between $period_start and $period_end
        and (len($case_sources) = 0 or list_contains($case_sources, source))
    group by township_code
    union all
    select township_code, cases_received from case_totals
),
closed as (
    select
        township_code,
        count(*) as cases_closed,
        count(*) filter (where outcome = '调解成功') as cases_mediated
    from cases
    where closed_date between $period_start and $period_end
        and (len($case_sources) = 0 or list_contains($case_sources, source))
    group by township_code
    union all
    select township_code, cases_closed, cases_mediated from case_totals
),
summed as (
    select
        t.group_code,
        count(*) as townships,
        sum(t.households_total) as households_total,
        sum(t.villages_total) as villages_total,
        coalesce(sum(ra.rooms_active), 0) as rooms_active,
        coalesce(sum(ra.villages_covered), 0) as villages_covered,
        coalesce(sum(s.households_screened), 0) as households_screened,
        coalesce(sum(s.risk_households), 0) as risk_households,
        coalesce(sum(rc.cases_received), 0) as cases_received,
        coalesce(sum(cl.cases_closed), 0) as cases_closed,
        coalesce(sum(cl.cases_mediated), 0) as cases_mediated
    from towns as t
    left join rooms_active as ra on ra.township_code = t.township_code
    left join screening as s on s.township_code = t.township_code
    left join received as rc on rc.township_code = t.township_code
    left join closed as cl on cl.township_code = t.township_code
    group by t.group_code
)
select
    x.group_code as region_code,
    g.name as region_name,
    $level as level,
    g.parent_code as parent_code,
    x.townships,
    cast(x.households_total as bigint) as households_total,
    cast(x.villages_total as bigint) as villages_total,
    cast(x.rooms_active as bigint) as rooms_active,
    cast(x.villages_covered as bigint) as villages_covered,
    x.villages_covered / nullif(x.villages_total, 0) as coverage_rate,
    x.rooms_active / nullif(x.households_total, 0) * 10000 as rooms_per_10k,
    cast(x.households_screened as bigint) as households_screened,
    x.households_screened / nullif(x.households_total, 0) as screening_rate,
    cast(x.risk_households as bigint) as risk_households,
    x.risk_households / nullif(x.households_screened, 0) * 1000 as risk_rate_per_1000,
    cast(x.cases_received as bigint) as cases_received,
    cast(x.cases_closed as bigint) as cases_closed,
    cast(x.cases_mediated as bigint) as cases_mediated,
    x.cases_mediated / nullif(x.cases_closed, 0) as mediation_success_rate,
    x.cases_received / nullif(x.households_total, 0) * 10000 as cases_per_10k
from summed as x
join regions as g on g.region_code = x.group_code
order by x.group_code
