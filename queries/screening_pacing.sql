-- screening_pacing: screening progress against the year's target (时间过半、任务过半) per region.
-- Grain: one row per region of $level (township, county or city) that holds at least one atlas
-- township in scope, with or without screening records (a laggard with nothing done must show).
-- The year is the calendar year of $period_end; the count runs from its 1 January to $period_end.
-- target: screening_targets.target_households for the township and year. A township without a
--   row is held to its households_total (全覆盖: every household screened once a year), and says
--   so with target_source = 'default' ('set' when a row exists). Counties and the city sum their
--   townships' targets and counts; their target_source is 'set', 'default' or 'mixed'.
-- screened_ytd: households screened in the span, by township_screening (_macros.sql), the rule
--   indicators.sql counts by.
-- elapsed_share: days from 1 January to least($period_end, $as_of), both inclusive, over the days
--   in the year (0 when $as_of falls before the year). expected_by_now = target × elapsed_share.
-- completion = screened_ytd / target, pace = screened_ytd / expected_by_now, both over the
-- townships with a target (a township with neither a target nor households has none:
-- targets_unknown counts them); a zero or unknown denominator gives null. The red/amber/green status is set in queries/pacing.py.
-- params: $level ('township' | 'county' | 'city' | 'province' | 'nation'), $period_end (date), $as_of (date: the latest
--         data date), $scope (list of region-code prefixes the viewer may see; [''] = everything)
with span as (
    select
        year_start($period_end) as year_start,  -- the year to date's rule (_macros.sql)
        $period_end::date as period_end,
        days_in_year($period_end) as days_in_year,
        elapsed_share($period_end, $as_of) as elapsed_share
),
towns as (
    select
        t.township_code,
        t.group_code,
        t.households_total,
        coalesce(g.target_households, t.households_total) as target,
        g.township_code is not null as is_target_set
    from atlas_towns($level, $scope) as t
    cross join span
    left join screening_targets as g
        on g.township_code = t.township_code
        and g.year = year(span.year_start)
),
screening as (
    select t.township_code, t.households_screened
    from span
    cross join township_screening(span.year_start, span.period_end, ['中', '高'], [], p_scope := $scope) as t
),
summed as (
    select
        t.group_code,
        count(*) as townships,
        count(*) filter (where t.target is null) as targets_unknown,
        sum(t.households_total) as households_total,
        sum(t.target) as target,
        case
            when bool_and(t.is_target_set) then 'set'
            when not bool_or(t.is_target_set) then 'default'
            else 'mixed'
        end as target_source,
        coalesce(sum(s.households_screened), 0) as screened_ytd,
        -- completion and pace over the townships with a target (set, or households to default to)
        coalesce(sum(s.households_screened) filter (where t.target is not null), 0) as screened_counted
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
    cast(round(span.elapsed_share * span.days_in_year) as bigint) as elapsed_days,
    span.days_in_year,
    span.elapsed_share,
    x.target * span.elapsed_share as expected_by_now,
    x.screened_counted / nullif(x.target, 0) as completion,
    x.screened_counted / nullif(x.target * span.elapsed_share, 0) as pace,
    cast(x.targets_unknown as bigint) as targets_unknown,
    cast(x.screened_counted as bigint) as screened_counted
from summed as x
cross join span
join region_rows() as g on g.region_code = x.group_code
order by x.group_code
