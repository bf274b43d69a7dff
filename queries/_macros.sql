-- _macros: the counting rules. Each is written here and nowhere else; queries/runner.py defines
-- them (as temporary macros, so a read-only connection can) before every query it runs.
-- Grain: none (definitions). params: none; each macro takes its own arguments.

-- in_scope: the viewer's regions as code prefixes: ['3207'] a city, ['320706', '320707'] two
-- counties, [''] everything.
create or replace temp macro in_scope(code, scope) as
    list_bool_or(list_transform(scope, lambda p: starts_with(code, p)));

-- rows_in_scope: in_scope for a scan of a big table (screenings, cases): the same test, with the
-- range of codes the prefixes span (from the least prefix to the greatest followed by the highest
-- character) said first. DuckDB folds the range into constants and skips the row groups outside
-- it (the tables are stored in township_code order), where in_scope alone reads every row.
create or replace temp macro rows_in_scope(code, scope) as
    code >= list_min(scope)
    and code < list_max(list_transform(scope, lambda p: p || chr(1114111)))
    and in_scope(code, scope);

-- The hierarchy: 全国 (nation) → 省 (province) → 市 (city) → 县 (county) → 乡镇 (township).
-- The nation is no row of the register: its code is 000000000000, named 全国 (region_rows).
-- A county directly under its province (省直辖县级: 济源市, 仙桃市, 海南's counties) stands as its own
-- city at city level, so every township rolls up to exactly one region at every level.

-- region_rows: the register's regions and the nation, each province under the nation.
create or replace temp macro region_rows() as table
    select region_code, name, level,
           case when level = 'province' then '000000000000' else parent_code end as parent_code
    from regions
    union all
    select '000000000000', '全国', 'nation', null;

-- atlas_towns: the atlas's townships in scope, each with the region it rolls up to at `by_level`
-- (itself, its county, its city, its province or the nation), its households and villages.
create or replace temp macro atlas_towns(by_level, p_scope) as table
    select
        r.region_code as township_code,
        case by_level
            when 'township' then r.region_code
            when 'county' then coalesce(r.county_code, r.city_code)
            when 'province' then r.province_code
            when 'nation' then '000000000000'
            else coalesce(r.city_code, r.county_code)
        end as group_code,
        r.county_code,
        r.city_code,
        r.households_total,
        r.villages_total
    from regions as r
    where r.level = 'township'
        and r.in_atlas
        and rows_in_scope(r.region_code, p_scope);

-- months_between: one row per month (its first day) from first_month to last_month.
create or replace temp macro months_between(first_month, last_month) as table
    select cast(unnest(generate_series(first_month::date, last_month::date, interval 1 month)) as date)
        as month_start;

-- dated_records: every dated record, as (township_code, event_date, is_activity): visits, cases
-- received, reports by their first day (is_activity: work done in that month), and cases closed,
-- reports by their last day, room openings.
create or replace temp macro dated_records() as table
    select township_code, screened_date as event_date, true as is_activity from screenings
    union all
    select township_code, received_date, true from cases
    union all
    select township_code, period_start, true from screening_summaries
    union all
    select township_code, period_start, true from case_summaries
    union all
    select township_code, closed_date, false from cases where closed_date is not null
    union all
    select township_code, period_end, false from screening_summaries
    union all
    select township_code, period_end, false from case_summaries
    union all
    select township_code, opened_date, false from rooms where opened_date is not null;

-- room_active: a room counts in a period if it opened by the period's end (or has no opening
-- date: a register without one) and did not close before its start.
create or replace temp macro room_active(opened, closed, p_start, p_end) as
    (opened is null or opened <= p_end) and (closed is null or closed >= p_start);

-- elapsed_share: 时间过半: the share of the year of p_end that has passed by the earlier of p_end
-- and as_of, counted in days from 1 January, both inclusive (0 before the year, 1 at its end).
create or replace temp macro days_in_year(d) as
    datediff('day', date_trunc('year', d::date)::date, (date_trunc('year', d::date) + interval 1 year)::date);
create or replace temp macro elapsed_share(p_end, as_of) as
    least(greatest(0, datediff('day', date_trunc('year', p_end::date)::date, least(p_end::date, as_of::date)) + 1),
          days_in_year(p_end)) / days_in_year(p_end);

-- risk_rank: 无 0, 低 1, 中 2, 高 3; is_risk: whether a rank is one of the levels counted as risk.
create or replace temp macro risk_rank(level) as
    case level when '高' then 3 when '中' then 2 when '低' then 1 else 0 end;
create or replace temp macro is_risk(rank, risk_levels) as
    list_contains(risk_levels, ['无', '低', '中', '高'][rank + 1]);

-- screening_counted: the screening that counts in a period, at one granularity, the month:
-- a township-month with household rows counts them (one row per household and month, with its
-- highest rank among risks of the chosen types); a 排查汇总 report counts (one row, household_id
-- null, dated by its last month) when it lies inside the period and none of its months has
-- household rows of that township. `months` is 1 for household rows and the months a report spans.
-- A report's risk_households are those of the chosen risk_levels; report_low/medium/high give each
-- level apart (township_screening_ranks), null on household rows.
create or replace temp macro screening_counted(p_start, p_end, risk_levels, risk_types, p_scope := ['']) as table
    with visits as (
        select
            township_code,
            date_trunc('month', screened_date)::date as month_start,
            household_id,
            max(case when len(risk_types) > 0 and not list_contains(risk_types, risk_type) then 0
                     else risk_rank(risk_level) end) as top_risk
        from screenings
        where screened_date between p_start and p_end
            and rows_in_scope(township_code, p_scope)
        group by all
    )
    select township_code, month_start, household_id, top_risk, 1 as months,
           1 as households, null::bigint as risk_households,
           null::bigint as report_low, null::bigint as report_medium, null::bigint as report_high
    from visits
    union all
    select
        m.township_code,
        date_trunc('month', m.period_end)::date,
        null,
        null,
        datediff('month', m.period_start, m.period_end) + 1,
        m.households_screened,
        -- a report carries no risk type: with a type filter it adds screened households only
        case when len(risk_types) > 0 then 0 else
            (case when list_contains(risk_levels, '低') then coalesce(m.risk_low, 0) else 0 end)
            + (case when list_contains(risk_levels, '中') then coalesce(m.risk_medium, 0) else 0 end)
            + (case when list_contains(risk_levels, '高') then coalesce(m.risk_high, 0) else 0 end)
        end,
        -- the report's risk households of each level, whatever risk_levels says (0 with a type filter)
        case when len(risk_types) > 0 then 0 else coalesce(m.risk_low, 0) end,
        case when len(risk_types) > 0 then 0 else coalesce(m.risk_medium, 0) end,
        case when len(risk_types) > 0 then 0 else coalesce(m.risk_high, 0) end
    from screening_summaries as m
    -- the reports no household row hides, by a left join that finds none (one row each, since
    -- none matched), not `not exists (select 1 from visits ...)`: DuckDB 1.5.5 answers that
    -- wrongly when p_start and p_end come from a lateral column (screening_pacing.sql's span),
    -- counting a report beside its township's rows, and cannot run an anti join there at all
    left join visits as v
        on v.township_code = m.township_code
        and v.month_start between date_trunc('month', m.period_start) and m.period_end
    where m.period_start >= p_start
        and m.period_end <= p_end
        and in_scope(m.township_code, p_scope)
        and v.township_code is null;

-- screening_in_scope: screening_counted for the atlas's townships in scope, each row saying
-- whether its township's households are known (the rates' numerators count only those).
create or replace temp macro screening_in_scope(p_start, p_end, p_scope, risk_levels, risk_types) as table
    select c.*, t.households_total is not null as is_known
    from screening_counted(p_start, p_end, risk_levels, risk_types, p_scope := p_scope) as c
    join atlas_towns('township', p_scope) as t on t.township_code = c.township_code;

-- township_screening_ranks: per township, households screened in the period (a household visited
-- in several months once, at its highest level) and how many of them had each highest risk level
-- (risk_none 无, risk_low 低, risk_medium 中, risk_high 高), by screening_counted's rule; a report
-- gives its own 低/中/高 households and no 无 (it does not list them). Risk households for any
-- choice of levels are a sum of these (township_screening, risk_of_levels).
create or replace temp macro township_screening_ranks(p_start, p_end, risk_types, p_scope := ['']) as table
    with counted as (
        select * from screening_counted(p_start, p_end, ['中', '高'], risk_types, p_scope := p_scope)
    ),
    households as (
        select township_code, household_id, max(top_risk) as top_risk
        from counted
        where household_id is not null
        group by all
    )
    select township_code, sum(households_screened)::bigint as households_screened,
           sum(risk_none)::bigint as risk_none, sum(risk_low)::bigint as risk_low,
           sum(risk_medium)::bigint as risk_medium, sum(risk_high)::bigint as risk_high
    from (
        select township_code, count(*) as households_screened,
               count(*) filter (where top_risk = 0) as risk_none,
               count(*) filter (where top_risk = 1) as risk_low,
               count(*) filter (where top_risk = 2) as risk_medium,
               count(*) filter (where top_risk = 3) as risk_high
        from households
        group by township_code
        union all
        select township_code, households, 0, report_low, report_medium, report_high
        from counted where household_id is null
    )
    group by township_code;

-- risk_of_levels: the risk households of the chosen risk_levels, from the counts of each level.
create or replace temp macro risk_of_levels(risk_levels, none_, low, medium, high) as
    (case when list_contains(risk_levels, '无') then none_ else 0 end)
    + (case when list_contains(risk_levels, '低') then low else 0 end)
    + (case when list_contains(risk_levels, '中') then medium else 0 end)
    + (case when list_contains(risk_levels, '高') then high else 0 end);

-- township_screening: per township, households screened in the period and risk households (those
-- whose highest level in the period is one of risk_levels), by township_screening_ranks.
create or replace temp macro township_screening(p_start, p_end, risk_levels, risk_types, p_scope := ['']) as table
    select township_code, households_screened,
           risk_of_levels(risk_levels, risk_none, risk_low, risk_medium, risk_high) as risk_households
    from township_screening_ranks(p_start, p_end, risk_types, p_scope := p_scope);

-- year_start: 1 January of d's year, where every year-to-date (本年累计) count begins.
create or replace temp macro year_start(d) as date_trunc('year', d::date)::date;

-- screening_to_date: 本年累计, the screening completion that pages, exports and the CLI report:
-- per township, households screened from 1 January of p_end's year to p_end (each household
-- once, by township_screening's rule), and from 1 January to the day before p_start (what the
-- year held before the period: nothing for January, a first quarter or a year). The period's
-- addition (本月新增, 本季新增) is the difference, never the period's own distinct count: a
-- household screened in February and again in March was added in February. A month, a quarter
-- and a year all run from 1 January: a quarter's figure is the year to its end, as a month's is.
-- One pass over the year (screening_counted from 1 January to p_end): a household counts to date
-- once, and before the period when its first month lies before p_start (the same as counting
-- 1 January to p_start − 1 apart: a report's months have the same household rows either way).
create or replace temp macro screening_to_date(p_start, p_end, p_scope := ['']) as table
    with counted as (
        select * from screening_counted(year_start(p_end), p_end, ['中', '高'], [], p_scope := p_scope)
    ),
    households as (
        select township_code, household_id, min(month_start) as first_month
        from counted
        where household_id is not null
        group by all
    )
    select
        township_code,
        sum(ytd) as households_screened_ytd,
        sum(before) as households_screened_before
    from (
        select township_code, count(*) as ytd, count(*) filter (where first_month < p_start) as before
        from households
        group by township_code
        union all
        select township_code, households, case when month_start < p_start then households else 0 end
        from counted
        where household_id is null
    )
    group by township_code;

-- cases_counted: the cases that count in a period, at one granularity, the month: a case row
-- counts when received (received = 1) and when closed (closed = 1, mediated when 调解成功), in the
-- month it happens; a 纠纷统计表 report counts (dated by its last month) when it lies inside the
-- period and the township has no case row received or closed in any of its months. A report
-- accounts for every dispute it lists: 排查数 received, 化解数 + 未化解数 (排查数 − 化解数 when 未化解数
-- is blank) closed, 化解数 mediated. A report has no source: a source filter leaves it out.
-- `months` is 1 for case rows and the months a report spans.
create or replace temp macro cases_counted(p_start, p_end, case_sources, p_scope := ['']) as table
    with row_months as (
        select distinct township_code, date_trunc('month', received_date)::date as month_start
        from cases where received_date between p_start and p_end and rows_in_scope(township_code, p_scope)
        union
        select distinct township_code, date_trunc('month', closed_date)::date
        from cases where closed_date between p_start and p_end and rows_in_scope(township_code, p_scope)
    )
    select township_code, date_trunc('month', received_date)::date as month_start, case_type, source,
           1 as received, 0 as closed, 0 as mediated, false as from_return, 1 as months
    from cases
    where received_date between p_start and p_end
        and rows_in_scope(township_code, p_scope)
        and (len(case_sources) = 0 or list_contains(case_sources, source))
    union all
    select township_code, date_trunc('month', closed_date)::date, case_type, source,
           0, 1, case when outcome = '调解成功' then 1 else 0 end, false, 1
    from cases
    where closed_date between p_start and p_end
        and rows_in_scope(township_code, p_scope)
        and (len(case_sources) = 0 or list_contains(case_sources, source))
    union all
    select s.township_code, date_trunc('month', s.period_end)::date, s.case_type, null,
           s.received,
           coalesce(s.resolved, 0) + coalesce(s.unresolved, s.received - coalesce(s.resolved, 0)),
           coalesce(s.resolved, 0),
           true,
           datediff('month', s.period_start, s.period_end) + 1
    from case_summaries as s
    left join row_months as r  -- the returns no case row hides; not `not exists`: see screening_counted
        on r.township_code = s.township_code
        and r.month_start between date_trunc('month', s.period_start) and s.period_end
    where s.period_start >= p_start
        and s.period_end <= p_end
        and in_scope(s.township_code, p_scope)
        and len(case_sources) = 0
        and r.township_code is null;

-- township_counts_live: every count a period's indicators need per township, by the rules above:
-- households screened and risk households of each level (township_screening_ranks), 本年累计 and
-- what the year held before the period (screening_to_date), cases received, closed and mediated
-- (cases_counted). One row per township with any of them.
create or replace temp macro township_counts_live(p_start, p_end, risk_types, case_sources, p_scope := ['']) as table
    select township_code,
           sum(households_screened)::bigint as households_screened,
           sum(risk_none)::bigint as risk_none, sum(risk_low)::bigint as risk_low,
           sum(risk_medium)::bigint as risk_medium, sum(risk_high)::bigint as risk_high,
           sum(households_screened_ytd)::bigint as households_screened_ytd,
           sum(households_screened_before)::bigint as households_screened_before,
           sum(cases_received)::bigint as cases_received, sum(cases_closed)::bigint as cases_closed,
           sum(cases_mediated)::bigint as cases_mediated
    from (
        select township_code, households_screened, risk_none, risk_low, risk_medium, risk_high,
               0 as households_screened_ytd, 0 as households_screened_before,
               0 as cases_received, 0 as cases_closed, 0 as cases_mediated
        from township_screening_ranks(p_start, p_end, risk_types, p_scope := p_scope)
        union all
        select township_code, 0, 0, 0, 0, 0, households_screened_ytd, households_screened_before, 0, 0, 0
        from screening_to_date(p_start, p_end, p_scope := p_scope)
        union all
        select township_code, 0, 0, 0, 0, 0, 0, 0, received, closed, mediated
        from cases_counted(p_start, p_end, case_sources, p_scope := p_scope)
    )
    group by township_code;

-- township_counts: township_counts_live, or the same rows as stored in period_counts (made by
-- township_counts_live for every month, quarter and year with no filter, and refreshed in every
-- write's transaction: queries/aggregates.py). The caller says which (`stored`, a constant:
-- DuckDB then plans only that branch): the stored rows when they are of the data's version and
-- no risk type or case source narrows the counts (queries/aggregates.usable).
create or replace temp macro township_counts(p_start, p_end, risk_types, case_sources, stored, p_scope := ['']) as table
    select * exclude (period_start, period_end)
    from period_counts
    where stored and period_start = p_start and period_end = p_end and rows_in_scope(township_code, p_scope)
    union all
    select * from township_counts_live(p_start, p_end, risk_types, case_sources, p_scope := p_scope)
    where not stored;

-- import_rows: every row an import wrote or replaced, as (import_id, region_code): what decides
-- whose an import is (a county's analyst sees and undoes only imports of their own townships).
create or replace temp macro import_rows() as table
    select import_id, township_code as region_code from rooms
    union all select import_id, township_code from screenings
    union all select import_id, township_code from cases
    union all select import_id, township_code from screening_summaries
    union all select import_id, township_code from screening_targets
    union all select import_id, township_code from case_summaries
    union all select import_id, region_code from boundaries
    union all select import_id, region_code from regions where level = 'township'
    union all select replaced_by, township_code from rooms_replaced
    union all select replaced_by, township_code from screenings_replaced
    union all select replaced_by, township_code from cases_replaced
    union all select replaced_by, township_code from screening_summaries_replaced
    union all select replaced_by, township_code from screening_targets_replaced
    union all select replaced_by, township_code from case_summaries_replaced
    union all select replaced_by, region_code from boundaries_replaced
    union all select replaced_by, region_code from regions_replaced where level = 'township';

-- import_in_scope: whether every row import `id` wrote or replaced lies in scope, and at least one
-- does (an undone import, whose rows are gone, belongs to the whole atlas's administrators).
-- Pass a qualified column (m.import_id): a bare import_id would name the macro's own rows.
create or replace temp macro import_in_scope(p_id, p_scope) as
    list_contains(p_scope, '') or (
        exists (select 1 from import_rows() as ir where ir.import_id = p_id and in_scope(ir.region_code, p_scope))
        and not exists (select 1 from import_rows() as ir where ir.import_id = p_id
                                                           and not in_scope(ir.region_code, p_scope)));
