-- screening_trend: monthly screening progress of the region in scope, and year-to-date completion.
-- Grain: one row per month from $first_month to $last_month (months without visits included).
-- Counted by screening_counted (_macros.sql), the rule indicators.sql and screening_pacing.sql
-- count by: household rows where a township has them in a month, its reports otherwise.
-- households_screened: the month's households (a report spanning several months is not a
-- month's count and is left out here); ytd_households: households since January of that year,
-- each once, reports included in their last month, so ytd_households of a month equals the
-- indicators' households_screened from 1 January to that month's end.
-- Rates count only the townships whose households are known (households_total sums those).
-- elapsed_share: the share of the year passed at the month's end (the pace line: target × it).
-- params: $first_month, $last_month (first days of months), $scope (list of region-code prefixes)
with months as (
    select * from months_between($first_month, $last_month)
),
counted as (  -- from 1 January of the first month's year: the year-to-date starts there
    select * from screening_in_scope(date_trunc('year', $first_month::date)::date,
                                     ($last_month::date + interval 1 month - interval 1 day)::date,
                                     $scope, ['中', '高'], [])
),
firsts as (
    -- what each month adds to its year: households at their first visit of the year, reports
    select month_start, sum(households) as first_visits, sum(households) filter (where is_known) as known_visits
    from (
        select min(month_start) as month_start, 1 as households, bool_or(is_known) as is_known
        from counted
        where household_id is not null
        group by household_id, township_code, year(month_start)
        union all
        select month_start, households, is_known from counted where household_id is null
    )
    group by month_start
),
monthly as (
    select
        month_start,
        count(*) filter (where household_id is not null)
            + coalesce(sum(households) filter (where household_id is null), 0) as households_screened,
        count(*) filter (where household_id is not null and is_known)
            + coalesce(sum(households) filter (where household_id is null and is_known), 0) as known_screened
    from counted
    where months = 1
    group by month_start
),
ytd as (
    select
        m.month_start,
        coalesce(sum(f.first_visits), 0) as ytd_households,
        coalesce(sum(f.known_visits), 0) as ytd_known
    from months as m
    left join firsts as f
        on year(f.month_start) = year(m.month_start)
        and f.month_start <= m.month_start
    group by m.month_start
),
total as (
    select sum(households_total) as households_total from atlas_towns('township', $scope)
)
select
    m.month_start,
    cast(coalesce(mo.households_screened, 0) as bigint) as households_screened,
    cast(y.ytd_households as bigint) as ytd_households,
    cast(total.households_total as bigint) as households_total,
    coalesce(mo.known_screened, 0) / nullif(total.households_total, 0) as screening_rate,
    y.ytd_known / nullif(total.households_total, 0) as ytd_rate,
    -- 时间过半 at the month's end, by the rule screening_pacing.sql sets expected_by_now with
    elapsed_share((m.month_start + interval 1 month - interval 1 day)::date,
                  (m.month_start + interval 1 month - interval 1 day)::date) as elapsed_share
from months as m
cross join total
left join monthly as mo on mo.month_start = m.month_start
left join ytd as y on y.month_start = m.month_start
order by m.month_start
