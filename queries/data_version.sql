-- data_version: the version number bumped by every write, when it was bumped, and the database's
-- identity (made when the database is made: a rebuilt one restarts at version 1 with a new id).
-- Grain: one row. Caches key on (database_id, version); snapshots cite the version.
-- params: none
select
    v.version,
    v.updated_at,
    v.note,
    (select value from meta where key = 'database_id') as database_id
from data_version as v
