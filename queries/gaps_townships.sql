-- gaps_townships: atlas townships with their count of active mediation rooms, to find townships
-- with none (盲区). A room is active in a period if it opened by the period's end (or has no opening date) and did not
-- close before its start (as in indicators.sql).
-- Grain: one row per atlas township in scope, with or without rooms.
-- params: $period_start, $period_end (dates, inclusive), $scope (list of region-code prefixes)
with rooms_active as (
    select
        township_code,
        count(*) as rooms_active,
        count(*) filter (where longitude is not null and latitude is not null) as rooms_located
    from rooms
    where room_active(opened_date, closed_date, $period_start, $period_end)
    group by township_code
)
select
    t.region_code as township_code,
    t.name as township_name,
    t.county_code,
    c.name as county_name,
    t.households_total,
    t.villages_total,
    cast(coalesce(ra.rooms_active, 0) as bigint) as rooms_active,
    cast(coalesce(ra.rooms_located, 0) as bigint) as rooms_located
from regions as t
left join regions as c on c.region_code = t.county_code
left join rooms_active as ra on ra.township_code = t.region_code
where t.level = 'township'
    and t.in_atlas
    and in_scope(t.region_code, $scope)
order by t.region_code
