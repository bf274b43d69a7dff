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

-- Villages and communities (村/社区) of the townships in the atlas.
create table if not exists villages (
    village_code varchar primary key,
    township_code varchar not null,
    name varchar not null,
    kind varchar not null check (kind in ('村', '社区')),
    households integer check (households >= 0)
);

-- Boundaries as WKB in WGS84 lon/lat. boundary_source says how far to trust the line:
-- 'approximate' (generated, shown with 示意边界) or 'imported' (from a bureau's file).
create table if not exists boundaries (
    region_code varchar primary key,
    boundary_source varchar not null check (boundary_source in ('approximate', 'outline', 'imported')),
    source_note varchar,
    geometry blob not null
);

-- Mediation rooms (调解阵地).
create table if not exists rooms (
    room_id varchar primary key,
    name varchar not null,
    room_type varchar not null,
    township_code varchar not null,
    village_code varchar,
    address varchar,
    longitude double,
    latitude double,
    opened_date date not null,
    closed_date date,
    mediators integer,
    meets_standard boolean
);

-- Household screening visits (风险隐患排查). household_id is a synthetic or ledger id; it never
-- leaves the database (queries only count distinct ids).
create table if not exists screenings (
    screening_id varchar primary key,
    household_id varchar not null,
    township_code varchar not null,
    village_code varchar,
    screened_date date not null,
    risk_level varchar not null check (risk_level in ('无', '低', '中', '高')),
    risk_type varchar
);

-- Dispute cases (矛盾纠纷台账).
create table if not exists cases (
    case_id varchar primary key,
    received_date date not null,
    closed_date date,
    township_code varchar not null,
    village_code varchar,
    case_type varchar,
    source varchar,
    risk_level varchar check (risk_level in ('低', '中', '高')),
    outcome varchar check (outcome in ('调解成功', '转诉讼', '在办')),
    room_id varchar,
    check (closed_date is null or closed_date >= received_date)
);

create index if not exists screenings_by_township on screenings (township_code, screened_date);
create index if not exists cases_by_township on cases (township_code, received_date);
