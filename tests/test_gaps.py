"""geo.gaps on a hand-made database whose distances can be checked by hand.

Most expectations are for March 2024 (2024-03). One degree of latitude is
EARTH_RADIUS_KM × π/180 ≈ 111.195 km, so KM_NORTH(3) is a point 3 km north of 34°N.

    320703000000 连云区
      T1 320703001000 墟沟街道  V1 (R1 in it, at V1's point)     V2 3 km north of R1, no room
                                R4: a township-level room without coordinates (active)
      T2 320703002000 连云街道  no room in March (R3 opens 1 April); V3 has no point
      T3 320703003000 板桥街道  R2 at V4's point closed 29 February; V4 ≈ 9.2 km east of R1
      T9 320703009000 高公岛街道 not in the atlas: never listed
"""
import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from db import schema
from geo import gaps

T1, T2, T3, T9 = "320703001000", "320703002000", "320703003000", "320703009000"
V1, V2, V3, V4, V9 = "320703001001", "320703001002", "320703002001", "320703003001", "320703009001"
LON, LAT = 119.0, 34.0
EVERYTHING = [""]


def km_north(km: float) -> float:
    return LAT + km / (gaps.EARTH_RADIUS_KM * math.pi / 180)


def build_gaps(path) -> None:
    with duckdb.connect(str(path)) as con:
        schema.create(con)
        con.execute(f"""
            insert into regions (region_code, name, level, parent_code, county_code, households_total, villages_total, in_atlas) values
                ('320703000000', '连云区', 'county', '320700000000', '320703000000', null, null, false),
                ('{T1}', '墟沟街道', 'township', '320703000000', '320703000000', 300, 2, true),
                ('{T2}', '连云街道', 'township', '320703000000', '320703000000', 50, 1, true),
                ('{T3}', '板桥街道', 'township', '320703000000', '320703000000', 80, 1, true),
                ('{T9}', '高公岛街道', 'township', '320703000000', '320703000000', 10, 1, false);
            insert into villages (village_code, township_code, name, kind, households, longitude, latitude) values
                ('{V1}', '{T1}', '东山社区', '社区', 100, {LON}, {LAT}),
                ('{V2}', '{T1}', '西山村', '村', 200, {LON}, {km_north(3)}),
                ('{V3}', '{T2}', '连岛村', '村', 50, null, null),
                ('{V4}', '{T3}', '板桥村', '村', 80, {LON + 0.1}, {LAT}),
                ('{V9}', '{T9}', '高公岛村', '村', 10, {LON + 5}, {LAT});
            insert into rooms (room_id, name, room_type, township_code, village_code, longitude, latitude, opened_date, closed_date) values
                ('R1', '东山婚调坊', '婚调坊', '{T1}', '{V1}', {LON}, {LAT}, '2020-01-01', null),
                ('R4', '墟沟街道调解室', '家事调解工作室', '{T1}', null, null, null, '2020-01-01', null),
                ('R2', '板桥工作室', '家事调解工作室', '{T3}', '{V4}', {LON + 0.1}, {LAT}, '2020-01-01', '2024-02-29'),
                ('R3', '连云婚调坊', '婚调坊', '{T2}', '{V3}', {LON}, {km_north(1)}, '2024-04-01', null);
        """)


@pytest.fixture(scope="module")
def gaps_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("gaps") / "gaps.duckdb"
    build_gaps(path)
    return path


def listed(db, period="2024-03", scope=EVERYTHING, **kwargs) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return gaps.gaps(con, period, scope, **kwargs)


def of_kind(frame, kind):
    return frame[frame["kind"] == kind]


def test_townships_without_an_active_room_are_listed(gaps_db):
    got = listed(gaps_db)
    assert list(got.columns) == gaps.FIELDS
    towns = of_kind(got, "township")
    assert towns["township_code"].tolist() == [T2, T3]  # T1 has rooms; T9 is not in the atlas
    t2 = towns.set_index("township_code").loc[T2]
    assert (t2.township_name, t2.county_name, t2.households) == ("连云街道", "连云区", 50)
    assert pd.isna(t2.village_code) and pd.isna(t2.nearest_room_km)
    assert t2.reason == "乡镇内无在用调解阵地"


def test_villages_without_a_room_are_listed_and_a_village_with_one_is_not(gaps_db):
    villages = of_kind(listed(gaps_db), "village")
    assert villages["village_code"].tolist() == [V2, V3, V4]
    assert V1 not in set(listed(gaps_db, radius_km=2)["village_code"])  # covered whatever the radius


def test_a_village_3_km_from_the_only_room_is_beyond_2_km_not_5(gaps_db):
    beyond_2 = of_kind(listed(gaps_db, radius_km=2), "beyond_radius").set_index("village_code")
    assert V2 in beyond_2.index
    assert beyond_2.loc[V2, "nearest_room_km"] == pytest.approx(3.0, abs=1e-6)
    assert beyond_2.loc[V2, "reason"] == "距最近在用调解阵地 3.0 公里，超出 2 公里服务半径"
    beyond_5 = of_kind(listed(gaps_db, radius_km=5), "beyond_radius")
    assert V2 not in set(beyond_5["village_code"])


def test_closed_rooms_do_not_count(gaps_db):
    got = listed(gaps_db, radius_km=5)
    assert T3 in set(of_kind(got, "township")["township_code"])  # R2 closed the day before March
    v4 = of_kind(got, "beyond_radius").set_index("village_code").loc[V4]
    # R2 sits on V4 but is closed: the nearest active room is R1, 0.1° of longitude away at 34°N
    expected = gaps.haversine_km(LON, LAT, LON + 0.1, LAT)
    assert v4.nearest_room_km == pytest.approx(expected) and 9.1 < expected < 9.3
    january = listed(gaps_db, period="2024-01", radius_km=5)
    assert T3 not in set(of_kind(january, "township")["township_code"])
    assert V4 not in set(january["village_code"])


def test_rooms_opened_after_the_period_do_not_count(gaps_db):
    assert T2 in set(of_kind(listed(gaps_db), "township")["township_code"])
    april = listed(gaps_db, period="2024-04")
    assert T2 not in set(of_kind(april, "township")["township_code"])  # R3 opened 1 April


def test_villages_without_a_point_are_unknown_not_covered(gaps_db):
    got = listed(gaps_db, radius_km=50)
    unknown = of_kind(got, "unknown_distance")
    assert unknown["village_code"].tolist() == [V3]
    assert pd.isna(unknown["nearest_room_km"].iloc[0])
    assert of_kind(got, "beyond_radius").empty  # everything with a point is within 50 km
    assert "unknown_distance" not in set(listed(gaps_db)["kind"])  # no radius: no distance rows


def test_a_township_room_without_coordinates_covers_the_township_not_a_distance(gaps_db):
    with duckdb.connect(str(gaps_db)) as con:
        con.execute("begin")
        con.execute("update rooms set longitude = null, latitude = null where room_id = 'R1'")
        got = gaps.gaps(con, "2024-03", EVERYTHING, radius_km=5)
        con.execute("rollback")
    assert T1 not in set(of_kind(got, "township")["township_code"])  # R1 and R4 are active
    beyond = of_kind(got, "beyond_radius").set_index("village_code")
    # no active room has coordinates: every roomless village with a point is beyond, distance unknown
    assert set(beyond.index) == {V2, V4}
    assert beyond["nearest_room_km"].isna().all()
    assert (beyond["reason_code"] == "no_located_room").all()


def test_scope_and_region(gaps_db):
    only_t1 = listed(gaps_db, scope=["320703001"], radius_km=2)
    assert set(only_t1["township_code"]) == {T1}
    with duckdb.connect(str(gaps_db), read_only=True) as con:
        narrowed = gaps.gaps(con, "2024-03", EVERYTHING, region_code=T3)
        assert set(narrowed["township_code"]) == {T3}
        assert gaps.gaps(con, "2024-03", ["110"]).empty
        with pytest.raises(ValueError):
            gaps.gaps(con, "2024-03", EVERYTHING, radius_km=0)
        with pytest.raises(ValueError):
            gaps.gaps(con, "2024-03", EVERYTHING, region_code="3207")


def test_radius_summary_counts_households_beyond(gaps_db):
    with duckdb.connect(str(gaps_db), read_only=True) as con:
        got = gaps.radius_summary(con, "2024-03", EVERYTHING, radius_km=2).set_index("township_code")
    assert list(got.index) == [T1, T2, T3]
    assert got.loc[T1, ["villages", "households", "villages_beyond", "households_beyond"]].tolist() == [2, 300, 1, 200]
    assert got.loc[T1, "share_beyond"] == pytest.approx(200 / 300)
    assert got.loc[T2, ["households_beyond", "villages_unknown", "households_unknown"]].tolist() == [0, 1, 50]
    assert got.loc[T3, "households_beyond"] == 80


def test_nearest_km_matches_haversine():
    rng = np.random.default_rng(5)
    points = np.column_stack([rng.uniform(118, 120, 50), rng.uniform(33, 35, 50)])
    targets = np.column_stack([rng.uniform(118, 120, 7), rng.uniform(33, 35, 7)])
    brute = gaps.haversine_km(points[:, None, 0], points[:, None, 1], targets[None, :, 0], targets[None, :, 1]).min(axis=1)
    assert gaps.nearest_km(points, targets) == pytest.approx(brute)
    with_gap = gaps.nearest_km(np.array([[np.nan, 34.0], [119.0, 34.0]]), targets)
    assert np.isnan(with_gap[0]) and np.isfinite(with_gap[1])
    assert np.isnan(gaps.nearest_km(points, np.empty((0, 2)))).all()


def test_demo_villages_have_points_inside_their_township(demo_db):
    import shapely

    from geo import boundaries

    with duckdb.connect(str(demo_db), read_only=True) as con:
        shapes = boundaries.from_rows(con.execute("select region_code, geometry from boundaries").df()).set_index("region_code").geometry
        villages = con.execute("select township_code, longitude, latitude from villages").df()
        got = gaps.gaps(con, "2025-06", EVERYTHING, radius_km=3)
        with_room = gaps.villages_with_distance(con, "2025-06", EVERYTHING).query("rooms_active > 0")
    assert villages[["longitude", "latitude"]].notna().all(axis=None)
    assert all(shapes[v.township_code].covers(shapely.Point(v.longitude, v.latitude)) for v in villages.itertuples())
    assert {"township", "village", "beyond_radius"} <= set(got["kind"])
    assert (with_room["nearest_room_km"] < 0.5).all()  # a village's own room stands near its point


def test_upgrade_adds_targets_and_village_points_to_an_old_database(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        schema.create(con)
        con.execute("drop table screening_targets")
        con.execute("drop table villages")
        con.execute("""create table villages (village_code varchar primary key, township_code varchar not null,
                       name varchar not null, kind varchar not null, households integer)""")
        con.execute("insert into villages values ('320703001001', '320703001000', '东山社区', '社区', 100)")
    assert schema.upgrade(path) is True
    assert schema.upgrade(path) is False
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select * from villages").fetchall() == [("320703001001", "320703001000", "东山社区", "社区", 100, None, None)]
        assert con.execute("select count(*) from screening_targets").fetchall() == [(0,)]
