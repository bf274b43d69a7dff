-- import_history: the committed imports, newest first (rejected files leave no trace).
-- Grain: one row per import. The scope is not applied: an import is a file, not a region;
-- when accounts exist, this list is for administrators.
-- params: $limit (how many rows)
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
from imports
order by import_id desc
limit $limit
