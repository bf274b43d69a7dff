-- filter_options: the values a filter can take in scope (room types, risk types, case sources).
-- Grain: one row per (filter, value), with how many records carry it; most common first.
-- params: $scope (list of region-code prefixes; [''] = everything)
select
    'room_type' as filter,
    room_type as value,
    count(*) as records
from rooms
where in_scope(township_code, $scope)
group by all
union all
select
    'risk_type' as filter,
    risk_type as value,
    count(*) as records
from screenings
where risk_type is not null
    and in_scope(township_code, $scope)
group by all
union all
select
    'case_source' as filter,
    source as value,
    count(*) as records
from cases
where source is not null
    and in_scope(township_code, $scope)
group by all
order by filter, records desc, value
