-- regions_in_atlas: the city and counties that hold atlas townships in scope, for region pickers.
-- Grain: one row per city or county (townships are not listed here). A region is listed when the
-- viewer sees all of it (a county analyst is not offered the city, whose total would be theirs
-- alone under the city's name); a viewer of single townships is offered their counties.
-- params: $scope (list of region-code prefixes; [''] = everything)
with towns as (
    select county_code, city_code from atlas_towns('township', $scope)
),
codes as (
    select distinct city_code as region_code from towns
    union
    select distinct county_code from towns where county_code is not null
),
listed as (
    select r.region_code, r.name, r.level, r.parent_code
    from regions as r
    join codes as c on c.region_code = r.region_code
)
select *
from listed
where in_scope(region_code, $scope)
    or (level = 'county' and not in_scope(parent_code, $scope))
order by case level when 'city' then 0 else 1 end, region_code
