"""The data version seam: caches key on it, so a write is seen on the next call, never stale."""
import shutil
from datetime import date

import duckdb
import pandas as pd

from access.viewer import Viewer
from db import schema
from indicators import fmt
from ui import data


def test_a_write_bumps_the_version_and_the_cached_numbers_follow(demo_db, tmp_path, monkeypatch):
    db = tmp_path / "copy.duckdb"
    shutil.copy(demo_db, db)
    monkeypatch.setenv("ATLAS_DB", str(db))
    # an admin, who sees small counts exactly: the count here is 1–4 (test_suppression.py)
    monkeypatch.setattr(data, "viewer", lambda: Viewer("admin", "admin"))
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
    real = shapes.map_geojson
    monkeypatch.setattr(shapes, "map_geojson", lambda frame, props, **kw: builds.append(len(frame)) or real(frame, props, **kw))
    data.st.cache_data.clear()
    city = data.township_geojson("city", "320700000000")
    county = data.township_geojson("county", "320703000000")
    assert data.township_geojson("city", "320700000000") == city
    assert builds == [90, 13]  # the second city call (a rerun) did not rebuild it
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


def test_a_rebuilt_database_is_never_served_from_the_old_one_s_cache(tmp_path, monkeypatch):
    """Issue 13 item 2: the version restarts at 1 when the database is rebuilt at the same path,
    so (path, version) alone served the old database's numbers after a rebuild and an import."""
    from data import demo
    from importer import pipeline

    db = tmp_path / "atlas.duckdb"
    monkeypatch.setenv("ATLAS_DB", str(db))
    town = "320703001000"  # 墟沟街道

    def import_screened(n: int) -> None:
        ledger = tmp_path / f"s{n}.csv"
        ledger.write_text(f"月份,乡镇,排查户数\n2025年12月,墟沟街道,{n}\n", encoding="utf-8")
        assert pipeline.run(ledger, db, today=date(2026, 1, 5)).status == "imported"

    def delete_rows() -> None:  # so the township counts its report, not the demo's household rows
        with duckdb.connect(str(db)) as con:
            con.execute("delete from screenings where township_code = ?", [town])

    demo.build(db, seed=1, scale=0.02)
    delete_rows()
    import_screened(7)
    first = (data.data_key(), int(data.indicator_table("township", "2025-12", town).iloc[0]["households_screened"]))
    demo.build(db, seed=1, scale=0.02)  # rebuilt: version 1 again
    delete_rows()
    import_screened(9)
    second = (data.data_key(), int(data.indicator_table("township", "2025-12", town).iloc[0]["households_screened"]))

    assert (first[1], second[1]) == (7, 9)  # each database's own numbers
    assert first[0][1] == second[0][1]      # under the same version number
    assert first[0][0] != second[0][0]      # told apart by the database's id


def test_the_screening_trend_starts_at_the_first_month_with_screening(app_env):
    """Not at the first room's opening (2018 in the demo): years of zeros tell a leader nothing."""
    first, last = data.data_span()
    assert first.year < 2024  # the demo's oldest room opened years before its first visit
    trend = data.screening_trend("320700000000", first, last)
    assert pd.Timestamp(trend["month_start"].iloc[0]) == pd.Timestamp(2024, 1, 1)
    assert trend["households_screened"].iloc[0] > 0
    assert pd.Timestamp(trend["month_start"].iloc[-1]) == pd.Timestamp(last.replace(day=1))


def test_a_change_that_rounds_to_zero_is_neutral():
    assert fmt.change("coverage_rate", 0.5, 0.5) == "持平"
    assert fmt.change("coverage_rate", 0.5, 0.4996, "en") == "no change"  # +0.04 pp shows as 0.0
    assert fmt.change("risk_rate_per_1000", 12.31, 12.34) == "持平"
    assert fmt.change("coverage_rate", 0.5, 0.499) == "+0.1个百分点"
    assert fmt.unchanged("cases_received", 3, 3) and not fmt.unchanged("cases_received", 3, None)


def test_kpi_card_shows_no_change_in_grey_without_an_arrow():
    from streamlit.testing.v1 import AppTest

    def cards():
        import pandas as pd

        from ui import widgets

        widgets.kpi_cards(pd.Series({"coverage_rate": 0.5, "screening_rate": 0.6}),
                          pd.Series({"coverage_rate": 0.5, "screening_rate": 0.5}), ["coverage_rate", "screening_rate"])

    at = AppTest.from_function(cards, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    from streamlit.proto.Metric_pb2 import Metric

    flat, up = at.metric
    assert (flat.delta, flat.proto.color, flat.proto.direction) == ("持平", Metric.GRAY, Metric.NONE)
    assert (up.delta, up.proto.color, up.proto.direction) == ("+10.0个百分点", Metric.GREEN, Metric.UP)
