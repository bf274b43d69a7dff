-- data_span: the first and last dated record in scope (screenings and their township totals, cases
-- and their monthly returns, room openings).
-- Grain: one row. last_date is what the pages print as 数据截至.
-- params: $scope (list of region-code prefixes; [''] = everything)
with dated as (
    select township_code, screened_date as event_date from screenings
    union all
    select township_code, received_date from cases
    union all
    select township_code, period_start from screening_summaries
    union all
    select township_code, period_end from screening_summaries
    union all
    select township_code, period_start from case_summaries
    union all
    select township_code, period_end from case_summaries
    union all
    select township_code, opened_date from rooms
    union all
    select township_code, closed_date from cases where closed_date is not null
)
select
    min(event_date) as first_date,
    max(event_date) as last_date
from dated
where in_scope(township_code, $scope)
