-- period_counts_add: store township_counts_live (_macros.sql) of one period, with no filter, for
-- the townships in $scope (queries/aggregates.refresh, inside a write's transaction).
-- Grain: one row per township in scope with any count in the period.
-- params: $period_start, $period_end (dates, inclusive), $scope (list of region-code prefixes)
insert into period_counts
select township_code, $period_start::date, $period_end::date, * exclude (township_code)
from township_counts_live($period_start, $period_end, [], [], p_scope := $scope)
order by township_code
