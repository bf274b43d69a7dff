"""The demo generator's invariants: real register, polygons in their counties, points in their
townships, determinism, and the patterns the maps are meant to show."""
import hashlib

import duckdb
import pandas as pd
import pytest
import shapely

from data import demo
from db import register
from geo import boundaries

TABLES = ["regions", "villages", "boundaries", "rooms", "screenings", "cases"]


def fetch(db, sql, params=None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).df()


def table_digest(db) -> dict[str, str]:
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for table in TABLES:
            # household ids are keyed with each database's own random key (db/schema.py): the same
            # seed gives the same households, stored under different ids; count them instead
            columns = "* exclude (household_id), count(*) over (partition by household_id)" if table == "screenings" else "*"
            rows = con.execute(f"select {columns} from {table} order by all").fetchall()
            out[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


def test_whole_national_register_is_loaded(demo_db):
    frame, meta = register.load_divisions()
    got = fetch(demo_db, "select level, count(*) as n from regions group by level").set_index("level")["n"]
    assert got["township"] == meta["counts"]["4"] == 38723
    assert got["county"] == meta["counts"]["3"]
    assert got.sum() == len(frame)


def test_every_lianyungang_township_is_in_the_atlas_with_codes_from_the_register(demo_db):
    towns = fetch(demo_db, "select region_code, name, county_code from regions where in_atlas")
    frame, _ = register.load_divisions()
    expected = frame[(frame["level"] == "township") & (frame["city_code"] == demo.CITY_CODE)]
    assert len(towns) == 90
    assert set(towns["region_code"]) == set(expected["region_code"])
    assert towns["region_code"].is_unique
    assert towns["region_code"].str.fullmatch(r"3207\d{8}").all()
    assert towns["county_code"].nunique() == 6


def test_every_township_has_a_polygon_inside_its_county(demo_db):
    shapes = boundaries.from_rows(fetch(demo_db, """
        select r.region_code, r.county_code, b.boundary_source, b.geometry
        from regions as r join boundaries as b using (region_code)
        where r.in_atlas
    """))
    assert len(shapes) == 90
    assert (shapes["boundary_source"] == "approximate").all()
    outlines = boundaries.county_outlines(sorted(shapes["county_code"].unique())).set_index("region_code").geometry
    for row in shapes.itertuples():
        assert row.geometry.is_valid and not row.geometry.is_empty
        outside = row.geometry.difference(outlines[row.county_code].buffer(1e-9)).area
        assert outside < 1e-9, row.region_code
    # the pieces of a county tile it: no overlaps, no holes
    for county, group in shapes.groupby("county_code"):
        union = shapely.union_all(group.geometry.to_numpy())
        assert abs(union.area - outlines[county].area) / outlines[county].area < 1e-6
        assert abs(shapely.area(group.geometry.to_numpy()).sum() - union.area) / union.area < 1e-6  # degrees², a ratio


def test_rooms_lie_inside_their_township(demo_db):
    shapes = boundaries.from_rows(fetch(demo_db, "select region_code, geometry from boundaries")).set_index("region_code").geometry
    rooms = fetch(demo_db, "select room_id, township_code, longitude, latitude from rooms")
    assert len(rooms) > 138
    inside = [shapes[r.township_code].covers(shapely.Point(r.longitude, r.latitude)) for r in rooms.itertuples()]
    assert all(inside)


def test_records_point_at_atlas_townships_and_their_villages(demo_db):
    orphans = fetch(demo_db, """
        select 'screenings' as t, count(*) as n from screenings
            where township_code not in (select region_code from regions where in_atlas)
               or village_code not in (select village_code from villages where township_code = screenings.township_code)
        union all
        select 'cases', count(*) from cases
            where village_code not in (select village_code from villages where township_code = cases.township_code)
        union all
        select 'rooms', count(*) from rooms
            where village_code is not null
              and village_code not in (select village_code from villages where township_code = rooms.township_code)
    """)
    assert orphans["n"].sum() == 0, orphans


def test_rooms_follow_the_seed_article_and_leave_gaps(demo_db):
    rooms = fetch(demo_db, "select room_type, township_code, opened_date, closed_date from rooms")
    counts = rooms["room_type"].value_counts()
    assert counts["家事调解工作室"] == 138
    assert set(counts.index) == set(demo.ROOM_TYPES)
    towns_with_rooms = fetch(demo_db, "select count(distinct township_code) as n from rooms where room_type <> '家事纠纷调解工作站' and room_type <> '婚姻家庭纠纷调解委员会'")["n"].iloc[0]
    assert 60 <= towns_with_rooms < 90  # real gaps: some townships have none
    assert rooms["closed_date"].notna().sum() >= 1
    assert (pd.to_datetime(rooms["opened_date"]) >= "2024-01-01").sum() >= 10  # coverage grows over time


def test_screening_is_uneven_and_some_households_are_visited_twice(demo_db):
    rates = fetch(demo_db, """
        select r.region_code, count(distinct s.household_id) / any_value(r.households_total) as rate
        from regions as r join screenings as s on s.township_code = r.region_code
        where year(s.screened_date) = 2025
        group by r.region_code
    """)["rate"]
    assert rates.min() < 0.55 < 0.65 < rates.median()  # laggards exist
    twice = fetch(demo_db, """
        select count(*) as n from (
            select household_id from screenings where year(screened_date) = 2024
            group by household_id having count(*) > 1)
    """)["n"].iloc[0]
    assert twice > 0


def test_planted_clusters_have_higher_risk(demo_db):
    import json
    meta = json.loads(fetch(demo_db, "select value from meta where key = 'demo'")["value"].iloc[0])
    clusters = meta["risk_clusters"]
    assert 2 <= len(clusters) <= 3
    assert all(len(c) >= 3 for c in clusters)  # a cluster spans neighbouring townships
    rate = fetch(demo_db, """
        select township_code,
               count(*) filter (where risk_level in ('中', '高')) / count(*) as rate
        from screenings group by township_code
    """).set_index("township_code")["rate"]
    inside = rate[rate.index.isin([code for c in clusters for code in c])]
    outside = rate[~rate.index.isin(inside.index)]
    assert inside.mean() > 1.8 * outside.mean()


def test_same_seed_same_database_other_seed_other_database(tmp_path):
    a, b, c = tmp_path / "a.duckdb", tmp_path / "b.duckdb", tmp_path / "c.duckdb"
    demo.build(a, seed=11, scale=0.01)
    demo.build(b, seed=11, scale=0.01)
    demo.build(c, seed=12, scale=0.01)
    assert table_digest(a) == table_digest(b)
    differs = {t for t, h in table_digest(c).items() if h != table_digest(a)[t]}
    assert {"boundaries", "rooms", "screenings"} <= differs


def test_build_replaces_an_existing_database_and_bumps_the_version(tmp_path):
    path = tmp_path / "atlas.duckdb"
    demo.build(path, seed=3, scale=0.01)
    demo.build(path, seed=3, scale=0.01)
    assert not list(tmp_path.glob("*.building*"))  # no temporary file left behind
    got = fetch(path, "select version, note from data_version")
    assert len(got) == 1 and got["version"].iloc[0] >= 1 and "seed=3" in got["note"].iloc[0]


@pytest.mark.parametrize("step_order", [["register", "boundaries", "villages", "rooms", "screenings", "cases", "done"]])
def test_progress_is_reported_in_order(tmp_path, step_order):
    seen = []
    demo.build(tmp_path / "p.duckdb", seed=1, scale=0.01, progress=lambda fraction, step: seen.append((fraction, step)))
    assert [s for _, s in seen] == step_order
    assert [f for f, _ in seen] == sorted(f for f, _ in seen) and seen[-1][0] == 1.0
