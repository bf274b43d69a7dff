-- township_trend: month by month, the households screened, risk households and cases received of
-- the townships in scope (one township for its panel), counted as queries/indicators.sql counts
-- them in a one-month period, with the same filters.
-- Grain: one row per month from $first_month to $last_month (months without records included).
-- params: $first_month, $last_month (first days of months), $scope (list of region-code prefixes),
--         $risk_levels, $risk_types, $case_sources (lists of text; [] = all, except risk levels)
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
households_seen as (
    select
        date_trunc('month', s.screened_date)::date as month_start,
        s.township_code,
        s.household_id,
        max(
            case
                when len($risk_types) > 0 and not list_contains($risk_types, s.risk_type) then 0
                when s.risk_level = '高' then 3
                when s.risk_level = '中' then 2
                when s.risk_level = '低' then 1
                else 0
            end
        ) as top_risk
    from screenings as s
    join towns as t on t.region_code = s.township_code
    where s.screened_date >= $first_month
        and s.screened_date < $last_month::date + interval 1 month
    group by all
),
screening_rows as (
    select
        month_start,
        township_code,
        count(*) as households_screened,
        count(*) filter (
            where list_contains($risk_levels, ['无', '低', '中', '高'][top_risk + 1])
        ) as risk_households
    from households_seen
    group by all
),
screening_totals as (
    select
        s.period_start as month_start,
        s.township_code,
        s.households_screened,
        case when len($risk_types) > 0 then 0 else
            (case when list_contains($risk_levels, '低') then coalesce(s.risk_low, 0) else 0 end)
            + (case when list_contains($risk_levels, '中') then coalesce(s.risk_medium, 0) else 0 end)
            + (case when list_contains($risk_levels, '高') then coalesce(s.risk_high, 0) else 0 end)
        end as risk_households
    from screening_summaries as s
    join towns as t on t.region_code = s.township_code
    where s.period_start >= $first_month
        and s.period_start <= $last_month
        and s.period_end < s.period_start + interval 1 month
        and not exists (
            select 1 from screening_rows as r
            where r.township_code = s.township_code and r.month_start = s.period_start
        )
),
screening as (
    select month_start, sum(households_screened) as households_screened, sum(risk_households) as risk_households
    from (select * from screening_rows union all select * from screening_totals)
    group by month_start
),
received as (
    select
        date_trunc('month', c.received_date)::date as month_start,
        count(*) as cases_received
    from cases as c
    join towns as t on t.region_code = c.township_code
    where c.received_date >= $first_month
        and c.received_date < $last_month::date + interval 1 month
        and (len($case_sources) = 0 or list_contains($case_sources, c.source))
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
    coalesce(s.households_screened, 0) / nullif(total.households_total, 0) as screening_rate,
    s.risk_households / nullif(s.households_screened, 0) * 1000 as risk_rate_per_1000
from months as m
cross join total
left join screening as s on s.month_start = m.month_start
left join received as r on r.month_start = m.month_start
order by m.month_start
