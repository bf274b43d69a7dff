-- regions_in_atlas: the regions that hold atlas townships in scope, for region pickers:
-- 全国 (000000000000) when they span more than one province, the provinces when they span more
-- than one city, then every city and county. An atlas of one city lists it and its counties.
-- Grain: one row per region (townships are not listed here), the largest first, each level by code.
-- A region is listed when the viewer sees all of it (a county analyst is not offered the city,
-- whose total would be theirs alone under the city's name); a viewer of single townships is
-- offered their counties. parent_code: the listed region above (a province's is 000000000000).
-- params: $scope (list of region-code prefixes; [''] = everything)
with provinces as (
    select distinct group_code as region_code from atlas_towns('province', $scope)
),
cities as (
    select distinct group_code as region_code from atlas_towns('city', $scope)
),
codes as (
    select '000000000000' as region_code where (select count(*) from provinces) > 1
    union
    select region_code from provinces where (select count(*) from cities) > 1
    union
    select region_code from cities
    union
    select distinct county_code from atlas_towns('township', $scope) where county_code is not null
),
listed as (
    select r.region_code, r.name, r.level, r.parent_code
    from region_rows() as r
    join codes as c on c.region_code = r.region_code
)
select *
from listed
where in_scope(region_code, $scope)
    or (level = 'county' and not in_scope(parent_code, $scope))
order by case level when 'nation' then 0 when 'province' then 1 when 'city' then 2 else 3 end, region_code
