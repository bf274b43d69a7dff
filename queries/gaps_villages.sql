-- gaps_villages: villages and communities of atlas townships with their point and their count of
-- active mediation rooms, to find villages with none (盲区) and, in geo/gaps.py, villages far from
-- every room. A room is active in a period if it opened by the period's end (or has no opening date) and did not close
-- before its start (as in indicators.sql). longitude/latitude are null where the village has no point.
-- Grain: one row per village of an atlas township in scope.
-- params: $period_start, $period_end (dates, inclusive), $scope (list of region-code prefixes)
with rooms_active as (
    select
        village_code,
        count(*) as rooms_active
    from rooms
    where room_active(opened_date, closed_date, $period_start, $period_end)
        and village_code is not null
    group by village_code
)
select
    v.village_code,
    v.name as village_name,
    v.kind,
    v.township_code,
    t.name as township_name,
    t.county_code,
    c.name as county_name,
    v.households,
    v.longitude,
    v.latitude,
    cast(coalesce(ra.rooms_active, 0) as bigint) as rooms_active
from villages as v
join regions as t on t.region_code = v.township_code
left join regions as c on c.region_code = t.county_code
left join rooms_active as ra on ra.village_code = v.village_code
where t.in_atlas
    and in_scope(v.township_code, $scope)
order by v.township_code, v.village_code
