-- screening_pacing: screening progress against the year's target (时间过半、任务过半) per region.
-- Grain: one row per region of $level (township, county or city) that holds at least one atlas
-- township in scope, with or without screening records (a laggard with nothing done must show).
-- The year is the calendar year of $period_end; the count runs from its 1 January to $period_end.
-- target: screening_targets.target_households for the township and year. A township without a
--   row is held to its households_total (全覆盖: every household screened once a year), and says
--   so with target_source = 'default' ('set' when a row exists). Counties and the city sum their
--   townships' targets and counts; their target_source is 'set', 'default' or 'mixed'.
-- screened_ytd: distinct households screened in the span; a township without household rows in
--   the span counts its 排查汇总 reports lying inside it instead (as indicators.sql does).
-- elapsed_share: days from 1 January to least($period_end, $as_of), both inclusive, over the days
--   in the year (0 when $as_of falls before the year). expected_by_now = target × elapsed_share.
-- completion = screened_ytd / target, pace = screened_ytd / expected_by_now; a zero or unknown
-- denominator gives null. The red/amber/green status is set in queries/pacing.py.
-- params: $level ('township' | 'county' | 'city'), $period_end (date), $as_of (date: the latest
--         data date), $scope (list of region-code prefixes the viewer may see; [''] = everything)
with span as (
    select
        date_trunc('year', $period_end::date)::date as year_start,
        $period_end::date as period_end,
        datediff('day', date_trunc('year', $period_end::date)::date,
                 (date_trunc('year', $period_end::date) + interval 1 year)::date) as days_in_year,
        greatest(0, datediff('day', date_trunc('year', $period_end::date)::date,
                             least($period_end::date, $as_of::date)) + 1) as elapsed_days
),
towns as (
    select
        r.region_code as township_code,
        case $level
            when 'township' then r.region_code
            when 'county' then coalesce(r.county_code, r.city_code)
            else r.city_code
        end as group_code,
        r.households_total,
        coalesce(g.target_households, r.households_total) as target,
        g.township_code is not null as is_target_set
    from regions as r
    cross join span
    left join screening_targets as g
        on g.township_code = r.region_code
        and g.year = year(span.year_start)
    where r.level = 'township'
        and r.in_atlas
        and list_bool_or(list_transform($scope, lambda p: starts_with(r.region_code, p)))
),
screening_rows as (
    select
        s.township_code,
        count(distinct s.household_id) as households_screened
    from screenings as s
    cross join span
    where s.screened_date between span.year_start and span.period_end
    group by s.township_code
),
screening_totals as (
    select
        m.township_code,
        sum(m.households_screened) as households_screened
    from screening_summaries as m
    cross join span
    where m.period_start >= span.year_start
        and m.period_end <= span.period_end
        and m.township_code not in (select township_code from screening_rows)
    group by m.township_code
),
screening as (
    select * from screening_rows
    union all
    select * from screening_totals
),
summed as (
    select
        t.group_code,
        count(*) as townships,
        sum(t.households_total) as households_total,
        sum(t.target) as target,
        case
            when bool_and(t.is_target_set) then 'set'
            when not bool_or(t.is_target_set) then 'default'
            else 'mixed'
        end as target_source,
        coalesce(sum(s.households_screened), 0) as screened_ytd
    from towns as t
    left join screening as s on s.township_code = t.township_code
    group by t.group_code
)
select
    x.group_code as region_code,
    g.name as region_name,
    $level as level,
    g.parent_code as parent_code,
    year(span.year_start) as year,
    x.townships,
    cast(x.households_total as bigint) as households_total,
    cast(x.target as bigint) as target,
    x.target_source,
    cast(x.screened_ytd as bigint) as screened_ytd,
    least(span.elapsed_days, span.days_in_year) as elapsed_days,
    span.days_in_year,
    least(span.elapsed_days, span.days_in_year) / span.days_in_year as elapsed_share,
    x.target * least(span.elapsed_days, span.days_in_year) / span.days_in_year as expected_by_now,
    x.screened_ytd / nullif(x.target, 0) as completion,
    x.screened_ytd / nullif(x.target * least(span.elapsed_days, span.days_in_year) / span.days_in_year, 0) as pace
from summed as x
cross join span
join regions as g on g.region_code = x.group_code
order by x.group_code
