-- screening_trend: monthly screening progress of the region in scope, and year-to-date completion.
-- Grain: one row per month from $first_month to $last_month (months without visits included).
-- households_screened counts distinct households visited in the month; ytd_households counts
-- distinct households visited since January of that year, so ytd_rate is the year's completion.
-- Monthly township totals (排查汇总) fill in a township-month without household rows; their
-- households count as first visits of the year (a total cannot tell repeat visits apart).
-- params: $first_month, $last_month (first days of months), $scope (list of region-code prefixes)
with towns as (
    select region_code, households_total
    from regions
    where level = 'township'
        and in_atlas
        and list_bool_or(list_transform($scope, lambda p: starts_with(region_code, p)))
),
months as (
    select cast(unnest(generate_series($first_month::date, $last_month::date, interval 1 month)) as date) as month_start
),
visits as (
    select
        s.household_id,
        s.township_code,
        date_trunc('month', s.screened_date)::date as month_start
    from screenings as s
    join towns as t on t.region_code = s.township_code
    where s.screened_date >= date_trunc('year', $first_month::date)
        and s.screened_date < $last_month::date + interval 1 month
),
first_in_year as (
    -- the month each household was first visited in each year
    select
        min(month_start) as month_start
    from visits
    group by household_id, township_code, year(month_start)
),
totals as (
    select
        s.township_code,
        s.period_start as month_start,
        s.households_screened
    from screening_summaries as s
    join towns as t on t.region_code = s.township_code
    where s.period_start >= date_trunc('year', $first_month::date)
        and s.period_start < $last_month::date + interval 1 month
        and s.period_end < s.period_start + interval 1 month
        and not exists (
            select 1 from visits as v
            where v.township_code = s.township_code and v.month_start = s.period_start
        )
),
monthly as (
    select month_start, sum(households_screened) as households_screened
    from (
        select month_start, count(distinct (household_id, township_code)) as households_screened
        from visits
        group by month_start
        union all
        select month_start, households_screened from totals
    )
    group by month_start
),
firsts as (
    select month_start, sum(first_visits) as first_visits
    from (
        select month_start, count(*) as first_visits from first_in_year group by month_start
        union all
        select month_start, households_screened from totals
    )
    group by month_start
),
ytd as (
    -- every first visit since January counts, even in months before $first_month
    select
        m.month_start,
        coalesce(sum(f.first_visits), 0) as ytd_households
    from months as m
    left join firsts as f
        on year(f.month_start) = year(m.month_start)
        and f.month_start <= m.month_start
    group by m.month_start
),
total as (
    select sum(households_total) as households_total from towns
)
select
    m.month_start,
    cast(coalesce(mo.households_screened, 0) as bigint) as households_screened,
    cast(y.ytd_households as bigint) as ytd_households,
    cast(total.households_total as bigint) as households_total,
    coalesce(mo.households_screened, 0) / nullif(total.households_total, 0) as screening_rate,
    y.ytd_households / nullif(total.households_total, 0) as ytd_rate
from months as m
cross join total
left join monthly as mo on mo.month_start = m.month_start
left join ytd as y on y.month_start = m.month_start
order by m.month_start
