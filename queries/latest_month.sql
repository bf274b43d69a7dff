-- latest_month: the first day of the latest complete month that has records in scope (visits,
-- cases received, reports: dated_records' activity).
-- Grain: one row, one column (null when there are no records).
-- "Complete" means the month ended before $today; a month still running is never the default.
-- params: $today (date), $scope (list of region-code prefixes; [''] = everything)
select
    max(date_trunc('month', event_date))::date as month_start
from dated_records()
where is_activity
    and event_date < date_trunc('month', $today::date)
    and in_scope(township_code, $scope)
