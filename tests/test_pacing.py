"""queries.pacing on a hand-made database: targets, 时间过半/任务过半 status, saving targets, month change.

The database (build_pacing) holds one city, two counties and five atlas townships; 2023 is not a
leap year, so a period ending 30 June has 181 of 365 days elapsed (1 Jan – 30 Jun inclusive):

    320703000000 连云区
      A 320703001000  1500 households, target 1200 set for 2023; 600 households Jan–Jun (100 a month)
                      expected 1200 × 181/365 = 595.07 → 600 is green
      B 320703002000  1200 households, no target (default 1200); 540 households Jan–Jun → amber
    320706000000 海州区
      C 320706001000  1000 households, target 1200 set; 500 households Jan–Jun → red
                      (Feb 50, Mar 150: the month-change case)
      D 320706002000     0 households, no target (default 0) → status null
      E 320706003000   100 households, no target; only 排查汇总 rows: 30 (Q1) + 40 (Q2) = 70
      F 320706004000   not in the atlas: its visits and target are ignored
"""
from datetime import date

import duckdb
import pandas as pd
import pytest

from db import schema
from queries import pacing

CITY, LIANYUN, HAIZHOU = "320700000000", "320703000000", "320706000000"
A, B, C, D, E, F = "320703001000", "320703002000", "320706001000", "320706002000", "320706003000", "320706004000"
EVERYTHING = [""]
END_OF_YEAR = date(2023, 12, 31)  # as_of after the period: elapsed time stops at the period's end


def build_pacing(path) -> None:
    with duckdb.connect(str(path)) as con:
        schema.create(con)
        con.execute(f"""
            insert into regions (region_code, name, level, parent_code, city_code, county_code,
                                 households_total, villages_total, in_atlas) values
                ('{CITY}', '连云港市', 'city', null, '{CITY}', null, null, null, false),
                ('{LIANYUN}', '连云区', 'county', '{CITY}', '{CITY}', '{LIANYUN}', null, null, false),
                ('{HAIZHOU}', '海州区', 'county', '{CITY}', '{CITY}', '{HAIZHOU}', null, null, false),
                ('{A}', '墟沟街道', 'township', '{LIANYUN}', '{CITY}', '{LIANYUN}', 1500, 1, true),
                ('{B}', '连云街道', 'township', '{LIANYUN}', '{CITY}', '{LIANYUN}', 1200, 1, true),
                ('{C}', '新海街道', 'township', '{HAIZHOU}', '{CITY}', '{HAIZHOU}', 1000, 1, true),
                ('{D}', '新东街道', 'township', '{HAIZHOU}', '{CITY}', '{HAIZHOU}', 0, 0, true),
                ('{E}', '浦西街道', 'township', '{HAIZHOU}', '{CITY}', '{HAIZHOU}', 100, 1, true),
                ('{F}', '洪门街道', 'township', '{HAIZHOU}', '{CITY}', '{HAIZHOU}', 100, 1, false);

            insert into screening_targets (township_code, year, target_households, updated_at) values
                ('{A}', 2023, 1200, '2023-01-01'),
                ('{C}', 2023, 1200, '2023-01-01'),
                ('{F}', 2023, 5, '2023-01-01'),
                ('{B}', 2022, 10, '2022-01-01');  -- another year: B has no 2023 target

            -- A: households A0..A599, 100 a month from January to June
            insert into screenings (screening_id, household_id, township_code, village_code, screened_date, risk_level, risk_type)
            select 'SA' || i, 'A' || i, '{A}', null, make_date(2023, 1 + i // 100, 1 + i % 28), '无', null
            from range(600) as t(i);
            insert into screenings (screening_id, household_id, township_code, village_code, screened_date, risk_level, risk_type) values
                ('SA-again', 'A1', '{A}', null, '2023-06-20', '低', null),   -- a second visit counts once
                ('SA-2022', 'A-old', '{A}', null, '2022-12-31', '无', null), -- last year
                ('SA-july', 'A-late', '{A}', null, '2023-07-01', '无', null); -- after the period
            -- B: 540 households, 90 a month
            insert into screenings (screening_id, household_id, township_code, village_code, screened_date, risk_level, risk_type)
            select 'SB' || i, 'B' || i, '{B}', null, make_date(2023, 1 + i // 90, 1 + i % 28), '无', null
            from range(540) as t(i);
            -- C: 500 households: Jan 50, Feb 50, Mar 150, Apr 100, May 100, Jun 50
            insert into screenings (screening_id, household_id, township_code, village_code, screened_date, risk_level, risk_type)
            select 'SC' || i, 'C' || i, '{C}', null,
                   make_date(2023, case when i < 50 then 1 when i < 100 then 2 when i < 250 then 3
                                        when i < 350 then 4 when i < 450 then 5 else 6 end, 10), '无', null
            from range(500) as t(i);
            insert into screenings (screening_id, household_id, township_code, village_code, screened_date, risk_level, risk_type) values ('SF', 'F1', '{F}', null, '2023-03-01', '无', null);

            insert into screening_summaries (township_code, period_start, period_end, households_screened) values
                ('{E}', '2023-01-01', '2023-03-31', 30),
                ('{E}', '2023-04-01', '2023-06-30', 40),
                ('{E}', '2023-07-01', '2023-09-30', 99);  -- after the period
        """)


@pytest.fixture
def pacing_db(tmp_path):
    path = tmp_path / "pacing.duckdb"
    build_pacing(path)
    return path


def rows(db, period="2023-06", **kwargs):
    with duckdb.connect(str(db), read_only=True) as con:
        return pacing.pacing(con, period, EVERYTHING, as_of=kwargs.pop("as_of", END_OF_YEAR), **kwargs).set_index("region_code")


def test_time_elapsed_and_status_at_mid_year(pacing_db):
    got = rows(pacing_db)
    assert list(got.index) == [A, B, C, D, E]  # F is not in the atlas
    a = got.loc[A]
    assert (a.year, a.elapsed_days, a.days_in_year) == (2023, 181, 365)
    assert a.elapsed_share == pytest.approx(181 / 365)
    assert (a.target, a.target_source, a.screened_ytd) == (1200, "set", 600)
    assert a.expected_by_now == pytest.approx(595.0685, abs=1e-3)
    assert a.completion == pytest.approx(0.5)
    assert a.pace == pytest.approx(600 / (1200 * 181 / 365))
    # 600 ≥ 595.07 green; 540 ≥ 0.9 × 595.07 = 535.56 amber; 500 < 535.56 red
    assert got.loc[[A, B, C], "status"].tolist() == ["green", "amber", "red"]


def test_default_target_is_the_households_total(pacing_db):
    got = rows(pacing_db)
    assert (got.loc[B, "target"], got.loc[B, "target_source"]) == (1200, "default")  # 2022's row is another year
    assert (got.loc[E, "target"], got.loc[E, "target_source"]) == (100, "default")


def test_zero_target_has_no_status_or_rank(pacing_db):
    d = rows(pacing_db).loc[D]
    assert d.target == 0 and d.screened_ytd == 0
    assert pd.isna(d.completion) and pd.isna(d.pace)
    assert d.status is None and pd.isna(d.laggard_rank)


def test_summaries_count_where_a_township_has_no_household_rows(pacing_db):
    assert rows(pacing_db).loc[E, "screened_ytd"] == 70  # Q1 + Q2, not Q3


def test_laggard_rank_puts_the_furthest_behind_first(pacing_db):
    got = rows(pacing_db)
    # paces: C 0.84, B 0.91, A 1.01, E 70 / (100 × 181/365) = 1.41; D none
    assert got.loc[[C, B, A, E], "laggard_rank"].tolist() == [1, 2, 3, 4]
    assert pd.isna(got.loc[D, "laggard_rank"])


def test_as_of_before_the_period_end_shortens_elapsed_time(pacing_db):
    got = rows(pacing_db, as_of=date(2023, 3, 31))
    assert got.loc[A, "elapsed_days"] == 90  # 31 + 28 + 31
    assert got.loc[A, "screened_ytd"] == 600  # the count still runs to the period's end
    assert got.loc[A, "expected_by_now"] == pytest.approx(1200 * 90 / 365)


def test_as_of_defaults_to_the_latest_data_date(pacing_db):
    with duckdb.connect(str(pacing_db), read_only=True) as con:
        got = pacing.pacing(con, "2023", EVERYTHING).set_index("region_code")
    # latest record: E's Q3 summary ending 30 September (day 273); A's year count includes July's visit
    assert got.loc[A, "as_of"] == date(2023, 9, 30)
    assert got.loc[A, "elapsed_days"] == 273
    assert got.loc[A, "screened_ytd"] == 601


def test_period_before_any_day_elapsed_has_no_status(pacing_db):
    got = rows(pacing_db, period="2023-06", as_of=date(2022, 12, 31))
    assert (got["elapsed_days"] == 0).all()
    assert got["status"].isna().all()


def test_leap_year_has_366_days(pacing_db):
    got = rows(pacing_db, period="2024-06", as_of=date(2024, 12, 31))
    assert got.loc[A, "days_in_year"] == 366 and got.loc[A, "elapsed_days"] == 182
    assert got.loc[A, "target_source"] == "default"  # the 2023 target does not carry over


def test_counties_and_city_sum_targets_and_counts(pacing_db):
    counties = rows(pacing_db, level="county")
    lianyun = counties.loc[LIANYUN]
    assert (lianyun.townships, lianyun.target, lianyun.screened_ytd, lianyun.target_source) == (2, 2400, 1140, "mixed")
    # 1140 / (2400 × 181/365) = 0.958: amber, though A alone is green
    assert lianyun.expected_by_now == pytest.approx(2400 * 181 / 365)
    assert lianyun.status == "amber"
    haizhou = counties.loc[HAIZHOU]
    assert (haizhou.townships, haizhou.target, haizhou.screened_ytd) == (3, 1300, 570)  # F excluded
    assert counties.loc[[HAIZHOU, LIANYUN], "laggard_rank"].tolist() == [1, 2]
    city = rows(pacing_db, level="city").loc[CITY]
    assert (city.target, city.screened_ytd, city.laggard_rank) == (3700, 1710, 1)
    one = rows(pacing_db, level="city", region_code=LIANYUN)
    assert one.loc[CITY, "target"] == 2400  # the city row, limited to the chosen county


def test_scope_limits_the_rows(pacing_db):
    with duckdb.connect(str(pacing_db), read_only=True) as con:
        got = pacing.pacing(con, "2023-06", ["320706"], as_of=END_OF_YEAR)
        assert list(got["region_code"]) == [C, D, E]
        assert pacing.pacing(con, "2023-06", ["320706"], region_code=LIANYUN, as_of=END_OF_YEAR).empty


def test_status_rule():
    assert pacing.AMBER_SHARE == 0.9
    assert [pacing.status(s, 100) for s in (100, 99.9, 90, 89.9, 0)] == ["green", "amber", "amber", "red", "red"]
    assert pacing.status(5, 0) is None and pacing.status(5, None) is None and pacing.status(None, 10) is None


def version(con):
    return schema.data_version(con)


def test_save_targets_upserts_and_bumps_the_version(pacing_db):
    with duckdb.connect(str(pacing_db)) as con:
        before = version(con)
        edited = pd.DataFrame({"township_code": [A, B], "year": [2023, 2023], "target_households": [1300, 1000.0]})
        assert pacing.save_targets(con, edited) == []
        assert version(con) == before + 1
        stored = dict(con.execute("select township_code, target_households from screening_targets where year = 2023").fetchall())
        got = pacing.pacing(con, "2023-06", EVERYTHING, as_of=END_OF_YEAR).set_index("region_code")
    assert stored[A] == 1300 and stored[B] == 1000
    assert (got.loc[B, "target"], got.loc[B, "target_source"]) == (1000, "set")


@pytest.mark.parametrize(("column", "value", "problem"), [
    ("target_households", -1, "negative"),
    ("target_households", 1.5, "not_integer"),
    ("target_households", "很多", "not_integer"),
    ("target_households", None, "not_integer"),
    ("township_code", "999999999999", "unknown_township"),
    ("township_code", LIANYUN, "unknown_township"),  # a county is not a township
    ("year", 1800, "bad_year"),
    ("year", 2023.5, "bad_year"),
])
def test_save_targets_rejects_a_bad_row_and_writes_nothing(pacing_db, column, value, problem):
    good = {"township_code": B, "year": 2023, "target_households": 1000}
    bad = {**good, "township_code": C, column: value}
    with duckdb.connect(str(pacing_db)) as con:
        before = (version(con), con.execute("select * from screening_targets order by all").fetchall())
        issues = pacing.save_targets(con, pd.DataFrame([good, bad]))
        after = (version(con), con.execute("select * from screening_targets order by all").fetchall())
    assert [(i.row, i.column, i.problem) for i in issues] == [(1, column, problem)]
    assert after == before  # the good row was not written either


def test_save_targets_rejects_duplicates(pacing_db):
    frame = pd.DataFrame({"township_code": [A, A], "year": [2024, 2024], "target_households": [1, 2]})
    with duckdb.connect(str(pacing_db)) as con:
        issues = pacing.save_targets(con, frame)
        assert con.execute("select count(*) from screening_targets where year = 2024").fetchall()[0][0] == 0
    assert [i.problem for i in issues] == ["duplicate"]


def test_month_change(pacing_db):
    with duckdb.connect(str(pacing_db), read_only=True) as con:
        got = pacing.month_change(con, "2023-03", EVERYTHING).set_index("region_code")
        with pytest.raises(ValueError):
            pacing.month_change(con, "2023Q1", EVERYTHING)
    c = got.loc[C]
    assert (c.month, c.previous_month) == ("2023-03", "2023-02")
    assert (c.households_screened, c.previous_households_screened) == (150, 50)
    assert (c.screening_rate, c.previous_screening_rate) == pytest.approx((0.15, 0.05))
    assert c.change == pytest.approx(0.10)
    assert got.loc[A, "change"] == pytest.approx(0)  # 100 in each month
    assert pd.isna(got.loc[D, "change"])  # no households: no rate, no change


def test_demo_has_targets_and_pacing_for_every_township(demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as con:
        towns = {c for (c,) in con.execute("select region_code from regions where in_atlas").fetchall()}
        targets = con.execute("""
            select g.year, count(*) as n,
                   count(*) filter (where g.target_households < round(r.households_total * 0.8)) as lower,
                   count(*) filter (where g.target_households > r.households_total) as higher
            from screening_targets as g join regions as r on r.region_code = g.township_code
            group by g.year order by g.year
        """).df()
        got = pacing.pacing(con, "2025-06", EVERYTHING)
    assert targets["year"].tolist() == [2024, 2025]
    assert (targets["n"] == len(towns)).all()
    # 80 % of households for most townships, less for a few (a phased plan)
    assert (targets["lower"] > 0).all() and (targets["lower"] < len(towns) / 4).all()
    assert (targets["higher"] == 0).all()
    assert len(got) == len(towns) and set(got["region_code"]) == towns
    assert (got["target_source"] == "set").all()
    assert set(got["status"]) <= {"green", "amber", "red"} and got["status"].notna().all()
    assert got["status"].nunique() == 3  # the demo shows every colour, not a wall of red
    assert got["laggard_rank"].notna().all() and got["laggard_rank"].min() == 1
    assert got["laggard_rank"].max() <= len(towns)
