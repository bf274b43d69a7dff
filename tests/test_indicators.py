"""queries.indicators on a hand-made database: every expected number is worked out in a comment.

The database (build_atlas) holds one city, two counties and five townships:

    320700000000 连云港市 (city)
      320703000000 连云区 (county)
        T1 320703001000 墟沟街道  1000 households, 10 villages   rooms, screenings, cases
        T2 320703002000 连云街道     0 households,  0 villages   zero denominators
        T3 320703003000 板桥街道   100 households,  2 villages   makes county rate != mean of rates
        T5 320703004000 高公岛街道 300 households, not in the atlas (records must be ignored)
      320706000000 海州区 (county)
        T4 320706001000 新海街道   500 households,  5 villages   no records at all
      320707000000 赣榆区 (county): no atlas township

Most expectations are for March 2024 (2024-03); see the notes next to each insert. Every test that
reads it (the ``con`` fixture) runs twice: on the DuckDB file and on a DuckLake copied from it.
"""
from datetime import date

import duckdb
import pandas as pd
import pytest

from db import schema
from queries import indicators, periods
from tests.support import connect

CITY = "320700000000"
LIANYUN = "320703000000"
HAIZHOU = "320706000000"
GANYU = "320707000000"
T1 = "320703001000"
T2 = "320703002000"
T3 = "320703003000"
T4 = "320706001000"
T5 = "320703004000"  # in_atlas = false
EVERYTHING = [""]


def build_atlas(path) -> None:
    """Write the hand-made database described in the module docstring to ``path``."""
    with duckdb.connect(str(path)) as con:
        schema.create(con)  # the app's own DDL, not a copy
        con.execute("""
            insert into regions (region_code, name, level, parent_code, province_code, city_code, county_code,
                                 households_total, villages_total, in_atlas) values
                ('320000000000', '江苏省', 'province', null, '320000000000', null, null, null, null, false),
                ('320700000000', '连云港市', 'city', '320000000000', '320000000000', '320700000000', null, null, null, false),
                ('320703000000', '连云区', 'county', '320700000000', '320000000000', '320700000000', '320703000000', null, null, false),
                ('320706000000', '海州区', 'county', '320700000000', '320000000000', '320700000000', '320706000000', null, null, false),
                ('320707000000', '赣榆区', 'county', '320700000000', '320000000000', '320700000000', '320707000000', null, null, false),
                ('320703001000', '墟沟街道', 'township', '320703000000', '320000000000', '320700000000', '320703000000', 1000, 10, true),
                ('320703002000', '连云街道', 'township', '320703000000', '320000000000', '320700000000', '320703000000', 0, 0, true),
                ('320703003000', '板桥街道', 'township', '320703000000', '320000000000', '320700000000', '320703000000', 100, 2, true),
                ('320703004000', '高公岛街道', 'township', '320703000000', '320000000000', '320700000000', '320703000000', 300, 3, false),
                ('320706001000', '新海街道', 'township', '320706000000', '320000000000', '320700000000', '320706000000', 500, 5, true),
                ('320707001000', '青口镇', 'township', '320707000000', '320000000000', '320700000000', '320707000000', 800, 8, false);

            insert into villages (village_code, township_code, name, kind, households) values
                ('320703001001', '320703001000', '东山社区', '社区', 100),
                ('320703001002', '320703001000', '西山社区', '社区', 100),
                ('320703001003', '320703001000', '大岛山村', '村', 100),
                ('320703003001', '320703003000', '板桥村', '村', 50),
                ('320703004001', '320703004000', '高公岛村', '村', 300);

            insert into rooms (room_id, name, room_type, township_code, village_code, opened_date, closed_date) values
                -- T1: R1 always open; R2 in the same village, closed mid-March;
                -- R3 opens 2024-04-01 (after March ends); R4 closed 2024-02-29 (the day before March).
                ('R1', '东山婚调坊', '婚调坊', '320703001000', '320703001001', '2020-01-01', null),
                ('R2', '东山和合之家', '和合之家', '320703001000', '320703001001', '2023-06-01', '2024-03-15'),
                ('R3', '西山婚调坊', '婚调坊', '320703001000', '320703001002', '2024-04-01', null),
                ('R4', '大岛山工作室', '家事调解工作室', '320703001000', '320703001003', '2020-01-01', '2024-02-29'),
                -- R5 opens on April's last day and closes on May's first: active in April and May only
                ('R5', '东山议事会', '妇女议事会', '320703001000', '320703001001', '2024-04-30', '2024-05-01'),
                -- T2 (0 households, 0 villages): a township-level room, so rooms_per_10k is x / 0
                ('R6', '连云街道调解室', '家事调解工作室', '320703002000', null, '2021-01-01', null),
                -- T3: one room in one of its two villages
                ('R7', '板桥婚调坊', '婚调坊', '320703003000', '320703003001', '2019-05-01', null),
                -- T5 is not in the atlas: ignored everywhere
                ('R8', '高公岛婚调坊', '婚调坊', '320703004000', '320703004001', '2019-05-01', null);

            insert into screenings (screening_id, household_id, township_code, screened_date, risk_level) values
                -- T1 in March: H1..H5 are 5 households; top levels 中, 中, 低, 高, 无 -> 3 at risk
                ('S1', 'H1', '320703001000', '2024-03-05', '无'),
                ('S2', 'H1', '320703001000', '2024-03-20', '中'),  -- visited twice: counts once, at 中
                ('S3', 'H2', '320703001000', '2024-03-10', '低'),
                ('S4', 'H2', '320703001000', '2024-03-25', '中'),  -- 低 then 中: at risk
                ('S5', 'H3', '320703001000', '2024-03-08', '无'),
                ('S6', 'H3', '320703001000', '2024-03-28', '低'),  -- 无 then 低: not at risk
                ('S7', 'H4', '320703001000', '2024-03-12', '高'),
                ('S8', 'H5', '320703001000', '2024-02-10', '高'),  -- February's 高 is outside March...
                ('S9', 'H5', '320703001000', '2024-03-15', '无'),  -- ...so in March H5 tops at 无
                ('S10', 'H6', '320703001000', '2024-04-02', '无'),  -- April: 1 screened, 0 at risk
                -- T2: one household at 高 (screened 1, screening_rate 1 / 0)
                ('S11', 'H7', '320703002000', '2024-03-03', '高'),
                -- T3: 2 households, 1 at risk
                ('S12', 'H8', '320703003000', '2024-03-02', '中'),
                ('S13', 'H9', '320703003000', '2024-03-03', '无'),
                -- T5 (not in the atlas)
                ('S14', 'H10', '320703004000', '2024-03-04', '高');

            insert into cases (case_id, received_date, closed_date, township_code, outcome) values
                -- T1: March receives C1..C4; closes C2, C3 (C2 mediated); C1 closes in April, mediated
                ('C1', '2024-03-05', '2024-04-10', '320703001000', '调解成功'),
                ('C2', '2024-03-10', '2024-03-20', '320703001000', '调解成功'),
                ('C3', '2024-03-15', '2024-03-25', '320703001000', '转诉讼'),
                ('C4', '2024-03-20', null, '320703001000', '在办'),
                -- T2: received, still open: no closed case in March
                ('C5', '2024-03-06', null, '320703002000', '在办'),
                -- T3: received, closed and mediated in March
                ('C6', '2024-03-01', '2024-03-02', '320703003000', '调解成功'),
                -- T5 (not in the atlas)
                ('C7', '2024-03-04', '2024-03-05', '320703004000', '调解成功');
        """)


@pytest.fixture(scope="module")
def atlas_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("hand") / "atlas.duckdb"
    build_atlas(path)
    return path


@pytest.fixture(scope="module", params=["file", "lake"])
def atlas_target(request, atlas_path, tmp_path_factory):
    """The hand-built atlas as a DuckDB file, and again as a DuckLake (issue 17): every test that
    reads it runs on both, and must give the same numbers."""
    if request.param == "file":
        return str(atlas_path)
    from tests.conftest import new_lake

    return new_lake(request.getfixturevalue("postgres"), tmp_path_factory.mktemp("hand-lake"), atlas_path)


@pytest.fixture
def con(atlas_target):
    with connect(atlas_target) as connection:
        yield connection


def rows(frame: pd.DataFrame) -> dict:
    """region_code → row (a Series), failing on a duplicated region."""
    assert frame["region_code"].is_unique
    return {code: row for code, row in frame.set_index("region_code", drop=False).iterrows()}


def township(con, period, code, scope=EVERYTHING):
    return rows(indicators.table(con, "township", period, scope))[code]


# --- the frame's shape ------------------------------------------------------------------------

def test_columns_are_the_published_fields(con):
    got = indicators.table(con, "township", "2024-03", EVERYTHING)
    assert list(got.columns) == indicators.FIELDS
    assert set(got["period"]) == {"2024-03"}
    assert set(got["level"]) == {"township"}


def test_bad_level_raises(con):
    with pytest.raises(ValueError, match="bad level"):
        indicators.table(con, "village", "2024-03", EVERYTHING)


def test_townships_in_atlas_listed_with_or_without_records(con):
    got = indicators.table(con, "township", "2024-03", EVERYTHING)
    # T5 and 青口镇 are not in the atlas; T4 has no records but must still appear
    assert got["region_code"].tolist() == [T1, T2, T3, T4]
    assert got["region_name"].tolist() == ["墟沟街道", "连云街道", "板桥街道", "新海街道"]
    assert rows(got)[T1]["parent_code"] == LIANYUN


def test_township_without_records_has_zero_counts(con):
    t4 = township(con, "2024-03", T4)
    counts = ["rooms_active", "villages_covered", "households_screened", "risk_households",
              "cases_received", "cases_closed", "cases_mediated"]
    assert [t4[c] for c in counts] == [0] * len(counts)
    assert (t4.households_total, t4.villages_total, t4.townships) == (500, 5, 1)
    # 0 / 500 and 0 / 5 are real zeros, not missing
    assert (t4.coverage_rate, t4.rooms_per_10k, t4.screening_rate, t4.cases_per_10k) == (0, 0, 0, 0)
    # 0 screened, 0 closed: no denominator
    assert pd.isna(t4.risk_rate_per_1000)
    assert pd.isna(t4.mediation_success_rate)


# --- zero denominators ----------------------------------------------------------------------

def test_zero_households_and_villages_give_missing_rates_not_zero(con):
    t2 = township(con, "2024-03", T2)
    # numerators exist (1 room, 1 household screened, 1 case) but the denominators are 0
    assert (t2.rooms_active, t2.households_screened, t2.cases_received) == (1, 1, 1)
    for rate in ["coverage_rate", "rooms_per_10k", "screening_rate", "cases_per_10k"]:
        assert pd.isna(t2[rate]), rate
    # risk_rate has a denominator: 1 at risk / 1 screened * 1000
    assert t2.risk_rate_per_1000 == pytest.approx(1000)


def test_no_closed_cases_gives_missing_mediation_rate(con):
    # T2 in March: C5 received, never closed
    t2 = township(con, "2024-03", T2)
    assert (t2.cases_closed, t2.cases_mediated) == (0, 0)
    assert pd.isna(t2.mediation_success_rate)
    # T1 in February: no case closed at all
    t1 = township(con, "2024-02", T1)
    assert t1.cases_closed == 0
    assert pd.isna(t1.mediation_success_rate)


# --- screening ------------------------------------------------------------------------------

def test_household_screened_twice_counts_once(con):
    t1 = township(con, "2024-03", T1)
    # 8 visits in March (S1..S7, S9) by 5 households H1..H5
    assert t1.households_screened == 5
    assert t1.screening_rate == pytest.approx(5 / 1000)


def test_risk_households_use_highest_level_in_period(con):
    t1 = township(con, "2024-03", T1)
    # H1 无→中 yes, H2 低→中 yes, H3 无→低 no, H4 高 yes, H5 无 (its 高 was in February) no
    assert t1.risk_households == 3
    assert t1.risk_rate_per_1000 == pytest.approx(3 / 5 * 1000)  # 600


def test_risk_level_is_highest_within_the_quarter(con):
    t1 = township(con, "2024Q1", T1)
    # Q1 holds February too: H5 tops at 高 → H1, H2, H4, H5 at risk out of 5
    assert (t1.households_screened, t1.risk_households) == (5, 4)
    assert t1.risk_rate_per_1000 == pytest.approx(800)


def test_screened_households_without_risk_give_zero_rate(con):
    t1 = township(con, "2024-04", T1)
    # April: only H6 at 无
    assert (t1.households_screened, t1.risk_households) == (1, 0)
    assert t1.risk_rate_per_1000 == 0


# --- rooms ------------------------------------------------------------------------------------

def test_rooms_active_in_march(con):
    t1 = township(con, "2024-03", T1)
    # R1 open; R2 closed 03-15 (mid-period) counts; R3 (04-01) and R5 (04-30) open after March, R4 closed 02-29: no
    assert t1.rooms_active == 2
    # R1 and R2 share village 320703001001: one covered village out of 10
    assert t1.villages_covered == 1
    assert t1.coverage_rate == pytest.approx(1 / 10)
    assert t1.rooms_per_10k == pytest.approx(2 / 1000 * 10000)  # 20


def test_room_closed_mid_period_not_active_later(con):
    t1 = township(con, "2024-04", T1)
    # April: R1, R3 (opened 04-01) and R5 (opened 04-30); R2 closed 03-15 is gone
    assert t1.rooms_active == 3
    assert t1.villages_covered == 2  # 320703001001 (R1, R5) and 320703001002 (R3)
    assert t1.coverage_rate == pytest.approx(2 / 10)


def test_room_closed_on_last_day_of_period_is_active(con):
    t1 = township(con, "2024-02", T1)
    # February: R1, R2 and R4 (closed 2024-02-29, the last day); villages 001 and 003
    assert (t1.rooms_active, t1.villages_covered) == (3, 2)


def test_room_opened_on_last_day_or_closed_on_first_day_is_active(con):
    # R5: opened 2024-04-30, closed 2024-05-01. May: R1, R3, R5; June: R1, R3
    assert township(con, "2024-05", T1).rooms_active == 3
    assert township(con, "2024-06", T1).rooms_active == 2


@pytest.mark.parametrize("period, rooms, villages", [
    ("2024", 5, 3),       # R1..R5 all touch 2024; villages 001, 002, 003
    ("2024Q1", 3, 2),     # R3 and R5 open in Q2
    ("2024Q2", 3, 2),     # R2 closed in Q1 (03-15), R4 in Q1: R1, R3, R5 in villages 001, 002
    ("2023-12", 3, 2),    # R1, R2, R4 (R3, R5 not yet open)
])
def test_rooms_by_period_kind(con, period, rooms, villages):
    t1 = township(con, period, T1)
    assert (t1.rooms_active, t1.villages_covered) == (rooms, villages)


# --- cases ------------------------------------------------------------------------------------

def test_cases_counted_by_received_and_closed_dates(con):
    march = township(con, "2024-03", T1)
    # received C1..C4; closed C2, C3; mediated C2 (C1 closes in April)
    assert (march.cases_received, march.cases_closed, march.cases_mediated) == (4, 2, 1)
    assert march.mediation_success_rate == pytest.approx(1 / 2)
    assert march.cases_per_10k == pytest.approx(4 / 1000 * 10000)  # 40
    april = township(con, "2024-04", T1)
    # C1: received in March, closed (调解成功) in April
    assert (april.cases_received, april.cases_closed, april.cases_mediated) == (0, 1, 1)
    assert april.mediation_success_rate == 1


def test_cases_over_a_year(con):
    t1 = township(con, "2024", T1)
    # received C1..C4, closed C1, C2, C3, mediated C1, C2
    assert (t1.cases_received, t1.cases_closed, t1.cases_mediated) == (4, 3, 2)
    assert t1.mediation_success_rate == pytest.approx(2 / 3)


@pytest.mark.parametrize("period, screened, risk, received, closed", [
    ("2024", 6, 4, 4, 3),      # H1..H6; H1, H2, H4, H5 at risk
    ("2024Q1", 5, 4, 4, 2),
    ("2024Q2", 1, 0, 0, 1),    # H6; C1 closed in April
    ("2024-02", 1, 1, 0, 0),   # H5 at 高
    ("2024-03", 5, 3, 4, 2),
    ("2023", 0, 0, 0, 0),
])
def test_period_kinds(con, period, screened, risk, received, closed):
    t1 = township(con, period, T1)
    assert t1.period == period
    assert (t1.households_screened, t1.risk_households, t1.cases_received, t1.cases_closed) == (
        screened, risk, received, closed)


def test_period_object_accepted(con):
    got = indicators.table(con, "township", periods.parse("2024Q1"), EVERYTHING)
    assert rows(got)[T1]["households_screened"] == 5
    assert set(got["period"]) == {"2024Q1"}


# --- roll-up ----------------------------------------------------------------------------------

def test_county_sums_numerators_and_denominators(con):
    got = indicators.table(con, "county", "2024-03", EVERYTHING)
    # 赣榆区 has no atlas township: no row
    assert got["region_code"].tolist() == [LIANYUN, HAIZHOU]
    lianyun = rows(got)[LIANYUN]
    # T1 + T2 + T3 (T5 is not in the atlas)
    assert lianyun.region_name == "连云区"
    assert lianyun.level == "county"
    assert lianyun.parent_code == CITY
    assert lianyun.townships == 3
    assert (lianyun.households_total, lianyun.villages_total) == (1000 + 0 + 100, 10 + 0 + 2)
    assert (lianyun.rooms_active, lianyun.villages_covered) == (2 + 1 + 1, 1 + 0 + 1)
    assert (lianyun.households_screened, lianyun.risk_households) == (5 + 1 + 2, 3 + 1 + 1)
    assert (lianyun.cases_received, lianyun.cases_closed, lianyun.cases_mediated) == (4 + 1 + 1, 2 + 0 + 1, 1 + 0 + 1)
    assert lianyun.coverage_rate == pytest.approx(2 / 12)
    assert lianyun.rooms_per_10k == pytest.approx(4 / 1100 * 10000)
    assert lianyun.screening_rate == pytest.approx(8 / 1100)
    assert lianyun.cases_per_10k == pytest.approx(6 / 1100 * 10000)
    haizhou = rows(got)[HAIZHOU]
    assert (haizhou.townships, haizhou.households_total, haizhou.households_screened) == (1, 500, 0)


def test_county_rate_is_not_the_mean_of_township_rates(con):
    towns = indicators.table(con, "township", "2024-03", [LIANYUN[:6]])
    county = rows(indicators.table(con, "county", "2024-03", EVERYTHING))[LIANYUN]
    # risk per 1000: T1 3/5 → 600, T2 1/1 → 1000, T3 1/2 → 500; mean 700, pooled 5/8 → 625
    assert towns["risk_rate_per_1000"].mean() == pytest.approx(700)
    assert county.risk_rate_per_1000 == pytest.approx(625)
    # mediation: T1 1/2, T3 1/1 (T2 none); mean 0.75, pooled 2/3
    assert towns["mediation_success_rate"].mean() == pytest.approx(0.75)
    assert county.mediation_success_rate == pytest.approx(2 / 3)
    # coverage: T1 1/10, T3 1/2; mean 0.3, pooled 2/12
    assert county.coverage_rate == pytest.approx(1 / 6)


def test_city_rolls_up_every_atlas_township(con):
    got = indicators.table(con, "city", "2024-03", EVERYTHING)
    assert got["region_code"].tolist() == [CITY]
    city = rows(got)[CITY]
    assert (city.region_name, city.level, city.parent_code) == ("连云港市", "city", "320000000000")
    # T1 + T2 + T3 + T4
    assert city.townships == 4
    assert (city.households_total, city.villages_total) == (1600, 17)
    assert (city.rooms_active, city.villages_covered) == (4, 2)
    assert (city.households_screened, city.risk_households) == (8, 5)
    assert (city.cases_received, city.cases_closed, city.cases_mediated) == (6, 3, 2)
    assert city.coverage_rate == pytest.approx(2 / 17)
    assert city.rooms_per_10k == pytest.approx(4 / 1600 * 10000)  # 25
    assert city.screening_rate == pytest.approx(8 / 1600)
    assert city.risk_rate_per_1000 == pytest.approx(625)
    assert city.mediation_success_rate == pytest.approx(2 / 3)
    assert city.cases_per_10k == pytest.approx(6 / 1600 * 10000)  # 37.5


def test_roll_up_equals_sum_of_township_rows(con):
    towns = indicators.table(con, "township", "2024Q1", EVERYTHING)
    city = rows(indicators.table(con, "city", "2024Q1", EVERYTHING))[CITY]
    for count in ["households_total", "villages_total", "rooms_active", "villages_covered",
                  "households_screened", "risk_households", "cases_received", "cases_closed",
                  "cases_mediated"]:
        assert city[count] == towns[count].sum(), count
    assert city.risk_rate_per_1000 == pytest.approx(
        towns["risk_households"].sum() / towns["households_screened"].sum() * 1000)


# --- scope and region -------------------------------------------------------------------------

@pytest.mark.parametrize("scope, expected", [
    ([""], [T1, T2, T3, T4]),
    (["320703"], [T1, T2, T3]),
    (["320703001"], [T1]),
    (["320703001", "320706"], [T1, T4]),
    (["3207"], [T1, T2, T3, T4]),
    ([], []),
    (["3208"], []),
])
def test_scope(con, scope, expected):
    got = indicators.table(con, "township", "2024-03", scope)
    assert got["region_code"].tolist() == expected
    assert list(got.columns) == indicators.FIELDS


@pytest.mark.parametrize("level", ["county", "city"])
def test_scope_matching_nothing_gives_no_rows_at_any_level(con, level):
    assert indicators.table(con, level, "2024-03", ["3208"]).empty
    assert indicators.table(con, level, "2024-03", []).empty


def test_scope_applies_before_roll_up(con):
    county = indicators.table(con, "county", "2024-03", ["320703001"])
    # only T1 in scope: the county row holds T1's numbers alone
    assert county["region_code"].tolist() == [LIANYUN]
    row = rows(county)[LIANYUN]
    assert (row.townships, row.households_total, row.households_screened, row.risk_households) == (1, 1000, 5, 3)


@pytest.mark.parametrize("region, expected", [
    (LIANYUN, [T1, T2, T3]),
    (T4, [T4]),
    (CITY, [T1, T2, T3, T4]),
    (GANYU, []),
])
def test_region_code_narrows_townships(con, region, expected):
    got = indicators.table(con, "township", "2024-03", EVERYTHING, region_code=region)
    assert got["region_code"].tolist() == expected


def test_region_outside_scope_gives_no_rows(con):
    got = indicators.table(con, "township", "2024-03", ["320703"], region_code=HAIZHOU)
    assert got.empty


def test_region_code_at_county_level(con):
    got = indicators.table(con, "county", "2024-03", EVERYTHING, region_code=LIANYUN)
    assert got["region_code"].tolist() == [LIANYUN]
    assert rows(got)[LIANYUN]["households_total"] == 1100


def test_region_code_township_at_county_level(con):
    got = indicators.table(con, "county", "2024-03", EVERYTHING, region_code=T3)
    # the county containing T3, holding T3's numbers only
    assert got["region_code"].tolist() == [LIANYUN]
    assert (rows(got)[LIANYUN]["townships"], rows(got)[LIANYUN]["households_total"]) == (1, 100)


def test_region_code_county_at_city_level(con):
    got = indicators.table(con, "city", "2024-03", EVERYTHING, region_code=HAIZHOU)
    # the city row that contains 海州区, limited to 海州区's township T4
    assert got["region_code"].tolist() == [CITY]
    assert (rows(got)[CITY]["townships"], rows(got)[CITY]["households_total"]) == (1, 500)


@pytest.mark.parametrize("level", ["county", "city"])
def test_region_without_atlas_townships_gives_no_rows_above_township(con, level):
    # 赣榆区 holds no atlas township: an empty frame with the published columns, like the
    # township level gives (test_region_code_narrows_townships), not an error
    got = indicators.table(con, level, "2024-03", EVERYTHING, region_code=GANYU)
    assert got.empty
    assert list(got.columns) == indicators.FIELDS


@pytest.mark.parametrize("level", ["county", "city"])
def test_region_outside_scope_gives_no_rows_above_township(con, level):
    got = indicators.table(con, level, "2024-03", ["320703"], region_code=HAIZHOU)
    assert got.empty
    assert list(got.columns) == indicators.FIELDS


# --- region_prefix and narrow -----------------------------------------------------------------

@pytest.mark.parametrize("code, prefix", [
    ("320000000000", "32"),
    ("320700000000", "3207"),
    ("320703000000", "320703"),
    ("320703001000", "320703001"),
    ("320703001001", "320703001001"),   # a village: the whole code
    (" 320703000000 ", "320703"),
    (320703000000, "320703"),
])
def test_region_prefix(code, prefix):
    assert indicators.region_prefix(code) == prefix


@pytest.mark.parametrize("code", ["3207", "3207030010000", "32070300100X", "", "320703-01000"])
def test_region_prefix_rejects_bad_codes(code):
    with pytest.raises(ValueError, match="bad region code"):
        indicators.region_prefix(code)


@pytest.mark.parametrize("scope, region, expected", [
    (["3207"], None, ["3207"]),
    ([""], LIANYUN, ["320703"]),              # everything, narrowed to the county
    (["3207"], T1, ["320703001"]),            # the city's viewer looks at one township
    (["320703"], CITY, ["320703"]),           # a county viewer looking at the whole city sees the county
    (["320703", "320706"], CITY, ["320703", "320706"]),
    (["320703001", "320703002"], LIANYUN, ["320703001", "320703002"]),
    (["320706"], LIANYUN, []),                # the region lies outside the scope
    ([], LIANYUN, []),
])
def test_narrow(scope, region, expected):
    assert indicators.narrow(scope, region) == expected


def test_narrow_without_region_returns_a_copy():
    scope = ["3207"]
    got = indicators.narrow(scope, None)
    got.append("32")
    assert scope == ["3207"]


def test_narrow_rejects_bad_region():
    with pytest.raises(ValueError):
        indicators.narrow([""], "3207")


# --- latest_month -----------------------------------------------------------------------------

def test_latest_month_skips_the_running_month(con):
    # records in March and on 2024-04-02 (H6); on 2024-04-10 April is still running
    assert indicators.latest_month(con, EVERYTHING, today=date(2024, 4, 10)) == periods.parse("2024-03")


def test_latest_month_once_the_month_is_over(con):
    # on 2024-05-01 April is complete; later days change nothing (no records after April)
    assert indicators.latest_month(con, EVERYTHING, today=date(2024, 5, 1)) == periods.parse("2024-04")
    assert indicators.latest_month(con, EVERYTHING, today=date(2025, 1, 15)) == periods.parse("2024-04")


def test_latest_month_first_day_of_next_month(con):
    # on 2024-04-01 March is complete
    assert indicators.latest_month(con, EVERYTHING, today=date(2024, 4, 1)) == periods.parse("2024-03")


def test_latest_month_none_when_only_the_running_month_has_records(con):
    # before March 2024 the only record is H5 on 2024-02-10: on 2024-02-20 February is running
    assert indicators.latest_month(con, EVERYTHING, today=date(2024, 2, 20)) is None


def test_latest_month_in_scope(con):
    # T2's records are all in March; T4 has none
    assert indicators.latest_month(con, ["320703002"], today=date(2024, 6, 1)) == periods.parse("2024-03")
    assert indicators.latest_month(con, ["320706"], today=date(2024, 6, 1)) is None


def test_latest_month_counts_received_cases():
    with duckdb.connect() as mem:
        schema.create(mem)
        mem.execute("""
            insert into cases (case_id, received_date, township_code)
            values ('C1', '2024-01-20', '320703001000')
        """)
        assert indicators.latest_month(mem, EVERYTHING, today=date(2024, 3, 5)) == periods.parse("2024-01")


def test_latest_month_without_records_is_none():
    with duckdb.connect() as empty:
        schema.create(empty)
        assert indicators.latest_month(empty, EVERYTHING, today=date(2024, 4, 10)) is None


# --- screening completion to date (本年累计) ---------------------------------------------------
# T1 (1000 households) is screened: H5 in February; H1..H5 in March (H5 again); H6 in April.
# The year to date counts each household once from 1 January to the period's end; the addition is
# the year to date less the year to date at the previous period's end (January, Q1 and the year
# add themselves). March adds H1..H4 (4), not March's 5 distinct households: H5 was done in February.

@pytest.mark.parametrize("period, ytd, added, screened, risk", [
    ("2024-01", 0, 0, 0, 0),
    ("2024-02", 1, 1, 1, 1),       # H5
    ("2024-03", 5, 4, 5, 3),       # H1..H5 to date; H1..H4 new; March's own counts unchanged
    ("2024-04", 6, 1, 1, 0),       # + H6
    ("2024Q1", 5, 5, 5, 4),        # Q1 adds itself
    ("2024Q2", 6, 1, 1, 0),        # Jan–Jun: H1..H6; Q2 adds H6
    ("2024", 6, 6, 6, 4),          # the year adds itself
    ("2023", 0, 0, 0, 0),
])
def test_screening_year_to_date(con, period, ytd, added, screened, risk):
    t1 = township(con, period, T1)
    assert t1.households_screened_ytd == ytd
    assert t1.screening_rate_ytd == pytest.approx(ytd / 1000)
    assert t1.screening_rate_added == pytest.approx(added / 1000)
    # the period's own columns keep their meaning: risk households are counted per period
    assert (t1.households_screened, t1.risk_households) == (screened, risk)
    assert t1.screening_rate == pytest.approx(screened / 1000)


def test_screening_year_to_date_rolls_up_over_known_households(con):
    # 连云区 in March: T1 H1..H5 (H5 since February), T2 H7 (0 households: known, so counted),
    # T3 H8, H9 → 8 of 1,100 to date, 1 of them (H5) by February's end → adds 7 of 1,100.
    county = rows(indicators.table(con, "county", "2024-03", EVERYTHING))[LIANYUN]
    assert county.households_screened_ytd == 8
    assert county.screening_rate_ytd == pytest.approx(8 / 1100)
    assert county.screening_rate_added == pytest.approx(7 / 1100)
    city = rows(indicators.table(con, "city", "2024-03", EVERYTHING))[CITY]
    assert city.screening_rate_ytd == pytest.approx(8 / 1600)  # + 新海街道's 500, none screened


def test_new_columns_are_appended_to_the_published_fields():
    # add, never rename: the columns published before keep their places
    assert indicators.FIELDS[-3:] == ["households_screened_ytd", "screening_rate_ytd", "screening_rate_added"]
    assert indicators.FIELDS.index("screening_rate") < indicators.FIELDS.index("parent_code")
