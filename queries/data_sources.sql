-- data_sources: what the data in scope is: built by the demo (rows with no import), imported from
-- ledgers (rows with an import), or both. Said on every page and export ("演示数据与导入台账").
-- A register of households and villages (区划底数) counts as imported data: the rates stand on it.
-- Grain: one row. has_demo needs the demo's mark in meta: a database made by the importer has
-- register rows with no import, but no demo data.
-- params: $scope (list of region-code prefixes; [''] = everything)
with rows as (
    select import_id, township_code from rooms
    union all select import_id, township_code from screenings
    union all select import_id, township_code from cases
    union all select import_id, township_code from screening_summaries
    union all select import_id, township_code from case_summaries
    union all select import_id, region_code from regions where level = 'township' and import_id is not null
)
select
    exists (select 1 from meta where key = 'demo')
        and exists (select 1 from rows where import_id is null and in_scope(township_code, $scope)) as has_demo,
    exists (select 1 from rows where import_id is not null and in_scope(township_code, $scope)) as has_imported
