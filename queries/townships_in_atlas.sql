-- townships_in_atlas: every atlas township in scope with its county, for pickers and URL checks.
-- Grain: one row per township. parent_code is its county, or its city when it has no county.
-- params: $scope (list of region-code prefixes; [''] = everything)
select
    r.region_code,
    r.name,
    coalesce(r.county_code, r.city_code) as parent_code
from regions as r
where r.level = 'township'
    and r.in_atlas
    and in_scope(r.region_code, $scope)
order by r.region_code
