-- import_history: the committed imports, newest first (rejected files leave no trace).
-- Grain: one row per import whose rows all lie in scope (import_in_scope).
-- params: $limit (how many rows), $scope (region-code prefixes; [''] = everything)
select
    import_id,
    file_name,
    kind,
    rows_in,
    rows_accepted,
    rows_replaced,
    townships,
    periods,
    finished_at,
    imported_by,
    undone_at,
    superseded_by,
    left(file_hash, 12) as file_hash
from imports as m
where import_in_scope(m.import_id, $scope)
order by import_id desc
limit $limit
