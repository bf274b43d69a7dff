-- data_version: the version number bumped by every write, and when it was bumped.
-- Grain: one row. Caches key on version; snapshots cite it.
-- params: none
select
    version,
    updated_at,
    note
from data_version
