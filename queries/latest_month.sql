-- latest_month: the first day of the latest complete month that has records in scope.
-- Grain: one row, one column (null when there are no records).
-- "Complete" means the month ended before $today; a month still running is never the default.
-- params: $today (date), $scope (list of region-code prefixes; [''] = everything)
with dated as (
    select township_code, screened_date as event_date from screenings
    union all
    select township_code, received_date from cases
    union all
    select township_code, period_start from screening_summaries
    union all
    select township_code, period_start from case_summaries
)
select
    max(date_trunc('month', event_date))::date as month_start
from dated
where event_date < date_trunc('month', $today::date)
    and in_scope(township_code, $scope)
