-- regions_in_atlas: the city and counties that hold atlas townships in scope, for region pickers.
-- Grain: one row per city or county (townships are not listed here).
-- params: $scope (list of region-code prefixes; [''] = everything)
with towns as (
    select county_code, city_code from atlas_towns('township', $scope)
),
codes as (
    select distinct city_code as region_code from towns
    union
    select distinct county_code from towns where county_code is not null
)
select
    r.region_code,
    r.name,
    r.level,
    r.parent_code
from regions as r
join codes as c on c.region_code = r.region_code
order by case r.level when 'city' then 0 else 1 end, r.region_code
