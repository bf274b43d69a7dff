-- township_shapes: the boundary of every atlas township in scope, with its county and source. The
-- county of a township right under a city without counties (儋州) is that city, as atlas_towns
-- rolls it up at county level: a city's map of counties draws it as one region.
-- Grain: one row per township that has a boundary (townships without one are not drawn).
-- params: $scope (list of region-code prefixes; [''] = everything)
select
    r.region_code,
    r.name as region_name,
    coalesce(r.county_code, r.city_code) as county_code,
    b.boundary_source,
    b.geometry
from regions as r
join boundaries as b on b.region_code = r.region_code
where r.level = 'township'
    and r.in_atlas
    and in_scope(r.region_code, $scope)
order by r.region_code
