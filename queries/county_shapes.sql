-- county_shapes: the outline of every county holding atlas townships in scope, with the province
-- and the city it rolls up to (a county directly under its province stands as its own city, as
-- atlas_towns rolls it up): what the national and provincial maps dissolve into provinces and
-- cities. Above a city no township polygon is drawn. A city without counties (儋州, 东莞, 中山:
-- its townships lie right under it) has no county outline: its townships' polygons stand in for
-- one, under the city's code, so the maps above it still draw the city (merged, never a township).
-- Grain: one row per county that has an outline (counties without one are not drawn), and one per
-- township with a polygon of a city without counties.
-- params: $scope (list of region-code prefixes; [''] = everything)
select
    r.region_code as county_code,
    r.province_code,
    coalesce(r.city_code, r.region_code) as city_code,
    b.boundary_source,
    b.geometry
from regions as r
join boundaries as b on b.region_code = r.region_code
where r.level = 'county'
    and r.region_code in (select county_code from atlas_towns('township', $scope))
union all
select
    r.city_code as county_code,
    r.province_code,
    r.city_code,
    b.boundary_source,
    b.geometry
from regions as r
join boundaries as b on b.region_code = r.region_code
where r.level = 'township'
    and r.county_code is null
    and r.city_code is not null
    and r.in_atlas
    and in_scope(r.region_code, $scope)
order by county_code
