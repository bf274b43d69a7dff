"""The data version seam: caches key on it, so a write is seen on the next call, never stale."""
import shutil
from datetime import date

import duckdb

from db import schema
from indicators import fmt
from ui import data


def test_a_write_bumps_the_version_and_the_cached_numbers_follow(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "copy.duckdb"
    shutil.copy(demo_db, db)
    monkeypatch.setenv("ATLAS_DB", str(db))
    town = "320703001000"
    before = data.indicator_table("township", "2025-12", town).iloc[0]
    version = data.version()
    assert data.indicator_table("township", "2025-12", town).iloc[0].equals(before)  # same key, same answer

    with duckdb.connect(str(db)) as con:
        con.execute("begin")
        con.execute("""
            insert into screenings (screening_id, household_id, township_code, village_code, screened_date, risk_level, risk_type) values ('TEST1', 'HNEW-1', ?, null, date '2025-12-15', '高', '家庭暴力')
        """, [town])
        schema.bump_version(con, "test write")
        con.execute("commit")

    assert data.version() == version + 1
    after = data.indicator_table("township", "2025-12", town).iloc[0]
    assert after["households_screened"] == before["households_screened"] + 1
    assert after["risk_households"] == before["risk_households"] + 1


def test_geojson_is_cached_per_version_and_view(demo_db, monkeypatch):
    monkeypatch.setenv("ATLAS_DB", str(demo_db))
    from geo import shapes
    builds = []
    real = shapes.for_view
    monkeypatch.setattr(shapes, "for_view", lambda frame, view: builds.append(view) or real(frame, view))
    data.st.cache_data.clear()
    city = data.township_geojson("city", "320700000000")
    county = data.township_geojson("county", "320703000000")
    assert data.township_geojson("city", "320700000000") == city
    assert builds == ["city", "county"]  # the second city call (a rerun) did not rebuild it
    assert city.count('"Feature"') == 90 and county.count('"Feature"') == 13
    assert len(city.encode()) < 300_000


def test_chinese_number_formats():
    assert fmt.value("coverage_rate", 0.4567) == "45.7%"
    assert fmt.value("screening_rate", None) == "—"
    assert fmt.value("screening_rate", float("nan")) == "—"
    assert fmt.value("risk_rate_per_1000", 24.25) == "24.2‰" or fmt.value("risk_rate_per_1000", 24.25) == "24.3‰"
    assert fmt.value("households_total", 1166117) == "116.6万"
    assert fmt.value("households_total", 73532) == "7.35万"
    assert fmt.value("households_total", 9999) == "9999"
    assert fmt.value("households_total", 9999, "en") == "9,999"
    assert fmt.value("risk_households", 3) == "<5"  # small sensitive counts are suppressed
    assert fmt.value("risk_households", 0) == "0"
    assert fmt.value("households_screened", 3) == "3"  # not sensitive
    assert fmt.change("coverage_rate", 0.5, 0.45) == "+5.0个百分点"
    assert fmt.change("coverage_rate", 0.5, None) is None
    assert fmt.day(date(2025, 12, 31)) == "2025年12月31日"
    assert [fmt.period_label(p) for p in ("2025", "2025Q4", "2025-03")] == ["2025年", "2025年第四季度", "2025年3月"]
