-- rooms_in_period: mediation rooms active in the period (opened by its end or undated, not closed before its
-- start), with their township and village names, for map points and lists.
-- Grain: one row per active room in scope.
-- params: $period_start, $period_end (dates, inclusive), $scope (list of region-code prefixes),
--         $room_types (the room-type filter, as indicators.sql applies it; [] = all)
select
    m.room_id,
    m.name,
    m.room_type,
    m.township_code,
    t.name as township_name,
    v.name as village_name,
    m.address,
    m.longitude,
    m.latitude,
    m.opened_date,
    m.closed_date,
    m.mediators,
    m.meets_standard
from rooms as m
join regions as t on t.region_code = m.township_code
left join villages as v on v.village_code = m.village_code
where room_active(m.opened_date, m.closed_date, $period_start, $period_end)
    and (len($room_types) = 0 or list_contains($room_types, m.room_type))
    and in_scope(m.township_code, $scope)
order by m.township_code, m.room_id
