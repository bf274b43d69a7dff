-- county_shapes: the outline of every county holding atlas townships in scope, with the province
-- and the city it rolls up to (a county directly under its province stands as its own city, as
-- atlas_towns rolls it up): what the national and provincial maps dissolve into provinces and
-- cities. Above a city no township polygon is drawn.
-- Grain: one row per county that has an outline (counties without one are not drawn).
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
order by r.region_code
