-- data_span: the first and last dated record in scope (screenings and their township totals, cases
-- and their monthly returns, room openings).
-- Grain: one row. last_date is what the pages print as 数据截至.
-- params: $scope (list of region-code prefixes; [''] = everything)
select
    min(event_date) as first_date,
    max(event_date) as last_date
from dated_records()
where in_scope(township_code, $scope)
