-- schema: every table of the atlas database. Safe to run twice (create ... if not exists).
-- Codes are 12-digit national statistical division codes, stored as text.

-- One row. Bumped by every write (demo build, import), so caches and snapshots can key on it.
create table if not exists data_version (
    version bigint not null,
    updated_at timestamp not null,
    note varchar
);

-- The whole national division register (province, city, county, township), plus what the
-- federation knows about its own townships: households, villages, and whether the township is in
-- the atlas (the working area shown on the maps).
create table if not exists regions (
    region_code varchar primary key,
    name varchar not null,
    level varchar not null check (level in ('province', 'city', 'county', 'township')),
    parent_code varchar,
    province_code varchar,
    city_code varchar,
    county_code varchar,
    households_total integer check (households_total >= 0),
    villages_total integer check (villages_total >= 0),
    in_atlas boolean not null default false
);

-- Villages and communities (村/社区) of the townships in the atlas. longitude/latitude: a point
-- for the village (WGS84), null when unknown; coverage-gap distances treat null as unknown, never
-- as covered.
create table if not exists villages (
    village_code varchar primary key,
    township_code varchar not null,
    name varchar not null,
    kind varchar not null check (kind in ('村', '社区')),
    households integer check (households >= 0),
    longitude double,
    latitude double
);
-- Databases from before village points: the same table, two more (empty) columns.
alter table villages add column if not exists longitude double;
alter table villages add column if not exists latitude double;

-- Boundaries as WKB in WGS84 lon/lat. boundary_source says how far to trust the line:
-- 'approximate' (generated, shown with 示意边界) or 'imported' (from a bureau's file).
create table if not exists boundaries (
    region_code varchar primary key,
    boundary_source varchar not null check (boundary_source in ('approximate', 'outline', 'imported')),
    source_note varchar,
    geometry blob not null
);

-- Mediation rooms (调解阵地). opened_date is null when the ledger gives none (a 12348 register of
-- mediation bodies has no opening dates): such a room counts as active in every period until it closes.
create table if not exists rooms (
    room_id varchar primary key,
    name varchar not null,
    room_type varchar not null,
    township_code varchar not null,
    village_code varchar,
    address varchar,
    longitude double,
    latitude double,
    opened_date date,
    closed_date date,
    mediators integer,
    meets_standard boolean
);
-- Databases from before registers without opening dates.
alter table rooms alter column opened_date drop not null;

-- Household screening visits (风险隐患排查). household_id is a synthetic or ledger id; it never
-- leaves the database (queries only count distinct ids). No primary key and no index, on
-- purpose: DuckDB maintains an ART index row by row at commit, which made replacing a year of a
-- city's visits take 40 s instead of 0.1 s; the writers (demo, importer) make ids unique.
create table if not exists screenings (
    screening_id varchar not null,
    household_id varchar not null,
    township_code varchar not null,
    village_code varchar,
    screened_date date not null,
    risk_level varchar not null check (risk_level in ('无', '低', '中', '高')),
    risk_type varchar
);

-- Dispute cases (矛盾纠纷台账). outcome 调解不成 is closed without success (终止调解, 是否成功调解 = 否):
-- it counts among cases closed, not among cases mediated, and is not 转诉讼.
create table if not exists cases (
    case_id varchar primary key,
    received_date date not null,
    closed_date date,
    township_code varchar not null,
    village_code varchar,
    case_type varchar,
    source varchar,
    risk_level varchar check (risk_level in ('低', '中', '高')),
    outcome varchar check (outcome in ('调解成功', '调解不成', '转诉讼', '在办')),
    room_id varchar,
    check (closed_date is null or closed_date >= received_date)
);

create index if not exists cases_by_township on cases (township_code, received_date);

-- Free-form facts about the database: the demo's planted clusters, the household-id salt.
create table if not exists meta (
    key varchar primary key,
    value varchar
);

-- Screening reported as township totals per month or quarter (排查汇总). A report counts where
-- none of its months has household rows of its township (screening_counted, queries/_macros.sql).
create table if not exists screening_summaries (
    township_code varchar not null,
    period_start date not null,
    period_end date not null,
    households_screened integer not null check (households_screened >= 0),
    risk_low integer check (risk_low >= 0),
    risk_medium integer check (risk_medium >= 0),
    risk_high integer check (risk_high >= 0),
    primary key (township_code, period_start, period_end),
    check (period_end >= period_start)
);

-- One row per committed import (rejected files write nothing, not even here).
create table if not exists imports (
    import_id integer primary key,
    file_name varchar not null,
    file_hash varchar not null,
    kind varchar not null,
    rows_in bigint not null,
    rows_accepted bigint not null,
    rows_replaced bigint not null,
    townships integer,
    periods varchar,
    started_at timestamp not null,
    finished_at timestamp not null,
    imported_by varchar,
    summary varchar
);

-- Township names as ledgers write them, confirmed by a person; county_code '' = any county.
create table if not exists region_aliases (
    alias varchar not null,
    county_code varchar not null default '',
    region_code varchar not null,
    confirmed_by varchar,
    confirmed_at timestamp,
    primary key (alias, county_code)
);

-- Column mappings a person chose, reused for the next file with the same headers.
create table if not exists header_mappings (
    signature varchar primary key,
    kind varchar not null,
    mapping varchar not null,
    updated_at timestamp not null
);

-- Screening targets (排查任务数): households a township is to screen in a year. A township
-- without a row here is held to its households_total (全覆盖: every household once a year).
create table if not exists screening_targets (
    township_code varchar not null,
    year integer not null,
    target_households integer not null check (target_households >= 0),
    updated_at timestamp,
    primary key (township_code, year)
);

-- Saved snapshots (保存快照, export/saved.py): a named view, its URL parameters (params, JSON) and the
-- numbers it showed (numbers, JSON), frozen as formatted text with small counts already "<5" and no
-- household ids; map_png is the view's map alone (about 1280 × 800 px). Not ledger data: writing a
-- snapshot does not bump data_version; data_version here is the one the numbers were built on.
create table if not exists snapshots (
    snapshot_id integer primary key,
    name varchar not null,
    view varchar not null,
    region_code varchar,
    period varchar,
    params varchar,
    numbers varchar,
    map_png blob,
    data_version bigint,
    data_as_of date,
    created_at timestamp not null,
    created_by varchar,
    scope varchar[],       -- the regions it was built for (code prefixes); null: saved before scopes
    exact boolean,         -- built with exact small counts (an admin's); null: saved before suppression held
    lake_snapshot bigint   -- on a DuckLake (db/lake.py), the lake's snapshot the numbers were read at: the data
                           -- can be opened again as it was then; null on a file
);
alter table snapshots add column if not exists scope varchar[];
alter table snapshots add column if not exists exact boolean;
alter table snapshots add column if not exists lake_snapshot bigint;

-- Dispute counts per township, period and type, from monthly statistical returns (纠纷统计表):
-- received (排查数), resolved (化解数), unresolved (未化解数). A report counts where none of its
-- months has case rows of its township (cases_counted, queries/_macros.sql).
create table if not exists case_summaries (
    township_code varchar not null,
    period_start date not null,
    period_end date not null,
    case_type varchar not null,
    received integer not null,    -- 排查数: disputes found
    resolved integer,             -- 化解数: resolved (mediated); blank when the return has none
    unresolved integer,           -- 未化解数: blank means received − resolved
    check (least(received, coalesce(resolved, 0), coalesce(unresolved, 0)) >= 0),
    primary key (township_code, period_start, period_end, case_type),
    check (period_end >= period_start)
);

-- Undo (cli.py import --undo ID, the 撤销 button in the import history). Every row an import
-- writes carries its import_id (null: written by the demo builder or before imports could be
-- undone); every row it deletes or rewrites is kept in <table>_replaced, with replaced_by = the
-- import that replaced it, until that import is undone (the rows go back, exactly) or a later
-- import supersedes it. imports.undone_at marks an undone import.
alter table regions add column if not exists import_id integer;
alter table boundaries add column if not exists import_id integer;
alter table rooms add column if not exists import_id integer;
alter table screenings add column if not exists import_id integer;
alter table cases add column if not exists import_id integer;
alter table screening_summaries add column if not exists import_id integer;
alter table screening_targets add column if not exists import_id integer;
alter table case_summaries add column if not exists import_id integer;
alter table imports add column if not exists undone_at timestamp;
alter table imports add column if not exists undone_by varchar;
create table if not exists regions_replaced as select *, null::integer as replaced_by from regions limit 0;
create table if not exists boundaries_replaced as select *, null::integer as replaced_by from boundaries limit 0;
create table if not exists rooms_replaced as select *, null::integer as replaced_by from rooms limit 0;
create table if not exists screenings_replaced as select *, null::integer as replaced_by from screenings limit 0;
create table if not exists cases_replaced as select *, null::integer as replaced_by from cases limit 0;
create table if not exists screening_summaries_replaced as
    select *, null::integer as replaced_by from screening_summaries limit 0;
create table if not exists screening_targets_replaced as
    select *, null::integer as replaced_by from screening_targets limit 0;
create table if not exists case_summaries_replaced as
    select *, null::integer as replaced_by from case_summaries limit 0;
alter table imports add column if not exists superseded_by integer;
-- Townships an import brought into the atlas (regions.in_atlas turned true), so undo can take
-- them out again when none of their data is left.
create table if not exists atlas_joins (
    import_id integer not null,
    region_code varchar not null
);

-- Accounts (access/accounts.py, cli.py user ...). Not ledger data: writing them does not bump
-- data_version. regions are code prefixes ('3207' a city, '320706' a county; '' everything, admins
-- only); password_hash is argon2id; sso_subject is the single-sign-on email or subject mapped to
-- this account. An account is locked until locked_until after repeated failed logins.
create table if not exists users (
    name varchar primary key,
    password_hash varchar,
    role varchar not null check (role in ('admin', 'analyst', 'leader', 'presenter')),
    regions varchar[] not null,
    disabled boolean not null default false,
    failed_logins integer not null default 0,
    locked_until timestamp,
    created_at timestamp not null,
    password_changed_at timestamp,
    sso_subject varchar unique
);

-- Login sessions that outlive a browser tab (access/sessions.py): the browser keeps a random token
-- in a cookie, the database only its sha256. A session ends at logout, after the idle time, or when
-- its account is disabled. Not ledger data: no data_version bump.
create table if not exists login_sessions (
    token_hash varchar primary key,
    user_name varchar not null,
    created_at timestamp not null,
    last_active timestamp not null,
    ended_at timestamp
);

-- The audit log (access/audit.py): append only, never edited or deleted by the app. Each row's
-- row_hash is sha256 over the previous row's hash and this row's fields, so an edited, removed or
-- inserted row breaks the chain (audit.verify). Not ledger data: no data_version bump.
create table if not exists audit_log (
    audit_id bigint primary key,
    logged_at timestamp not null,
    user_name varchar not null,
    role varchar not null,
    action varchar not null,
    what varchar,
    scope varchar,
    outcome varchar not null,
    prev_hash varchar not null,
    row_hash varchar not null
);

-- period_counts: township_counts_live (queries/_macros.sql) stored for every month, quarter and
-- year with data, with no filter: what the indicators of a big atlas read instead of scanning
-- millions of rows (queries/aggregates.py keeps it, in every write's transaction). A copy, never a
-- source: rebuilt from the rows whenever they change, and used only while of the data's version.
create table if not exists period_counts (
    township_code varchar not null,
    period_start date not null,
    period_end date not null,
    households_screened bigint,
    risk_none bigint,
    risk_low bigint,
    risk_medium bigint,
    risk_high bigint,
    households_screened_ytd bigint,
    households_screened_before bigint,
    cases_received bigint,
    cases_closed bigint,
    cases_mediated bigint
);
-- period_counts_signs: per township, a signature of the rows period_counts is made from; a write
-- rebuilds the townships whose signature changed.
create table if not exists period_counts_signs (
    township_code varchar not null,
    sign hugeint not null
);
