"""One rule for every number (issue 12): the roll-ups over unknown denominators, and the one
rule that chooses household rows or township totals, on a hand-made database. Every expected
number is worked out in a comment.

    320700000000 连云港市
      320703000000 连云区
        A 320703001000 墟沟街道   100 households, 4 villages
        B 320703002000 连云街道   households and villages unknown (a township a boundary file added)
      320706000000 海州区
        D 320706001000 新海街道   200 households, 5 villages
"""
from datetime import date

import duckdb
import pytest

from db import schema
from queries import indicators, pacing, runner

CITY, LIANYUN, HAIZHOU = "320700000000", "320703000000", "320706000000"
A, B, D = "320703001000", "320703002000", "320706001000"


@pytest.fixture(scope="module")
def atlas(tmp_path_factory):
    path = tmp_path_factory.mktemp("rollup") / "atlas.duckdb"
    with duckdb.connect(str(path)) as con:
        schema.create(con)
        con.execute(f"""
            insert into regions (region_code, name, level, parent_code, city_code, county_code,
                                 households_total, villages_total, in_atlas) values
                ('{CITY}', '连云港市', 'city', null, '{CITY}', null, null, null, false),
                ('{LIANYUN}', '连云区', 'county', '{CITY}', '{CITY}', '{LIANYUN}', null, null, false),
                ('{HAIZHOU}', '海州区', 'county', '{CITY}', '{CITY}', '{HAIZHOU}', null, null, false),
                ('{A}', '墟沟街道', 'township', '{LIANYUN}', '{CITY}', '{LIANYUN}', 100, 4, true),
                ('{B}', '连云街道', 'township', '{LIANYUN}', '{CITY}', '{LIANYUN}', null, null, true),
                ('{D}', '新海街道', 'township', '{HAIZHOU}', '{CITY}', '{HAIZHOU}', 200, 5, true);
            insert into rooms (room_id, name, room_type, township_code, village_code, opened_date) values
                ('RA', '甲', '婚调坊', '{A}', '{A}-1', '2020-01-01'),      -- A: 1 room, 1 village of 4
                ('RB1', '乙', '婚调坊', '{B}', '{B}-1', '2020-01-01'),     -- B: 2 rooms, 1 village
                ('RB2', '丙', '和合之家', '{B}', '{B}-1', '2020-01-01');
            insert into screenings (screening_id, household_id, township_code, screened_date, risk_level) values
                ('S1', 'A1', '{A}', '2024-03-05', '无'),                   -- A: 1 household in March
                ('S2', 'B1', '{B}', '2024-03-05', '高'),                   -- B: 3 households in March
                ('S3', 'B2', '{B}', '2024-03-06', '无'),
                ('S4', 'B3', '{B}', '2024-03-07', '无'),
                ('S5', 'D1', '{D}', '2024-01-10', '中'),                   -- D: 2 households in January
                ('S6', 'D2', '{D}', '2024-01-11', '无');
            -- D: a 排查汇总 report of 50 households for February, and one for March although D has
            -- no rows in March either: both count (rows in January do not hide other months' reports)
            insert into screening_summaries (township_code, period_start, period_end, households_screened,
                                             risk_low, risk_medium, risk_high) values
                ('{D}', '2024-02-01', '2024-02-29', 50, 0, 1, 0),
                ('{D}', '2024-03-01', '2024-03-31', 30, 0, 0, 0),
                -- A has household rows in March: its March report does not count
                ('{A}', '2024-03-01', '2024-03-31', 99, 0, 0, 9);
            insert into cases (case_id, received_date, township_code) values
                ('CA', '2024-03-05', '{A}'), ('CB1', '2024-03-05', '{B}'), ('CB2', '2024-03-06', '{B}');
        """)
    return path


def table(db, level, period):
    with duckdb.connect(str(db), read_only=True) as con:
        return indicators.table(con, level, period, [""]).set_index("region_code")


def test_a_rate_rolls_up_over_the_townships_whose_denominator_is_known(atlas):
    county = table(atlas, "county", "2024-03").loc[LIANYUN]
    # counts count every township: 1 + 3 households, 1 + 2 rooms, 1 + 2 cases
    assert (county.households_screened, county.rooms_active, county.cases_received) == (4, 3, 3)
    # rates only A, the township whose households (villages) are known: 1 / 100, not 4 / 100
    assert county.screening_rate == pytest.approx(1 / 100)
    assert county.rooms_per_10k == pytest.approx(1 / 100 * 10000)
    assert county.cases_per_10k == pytest.approx(1 / 100 * 10000)
    assert county.coverage_rate == pytest.approx(1 / 4)          # not (1 + 1) / 4
    assert (county.households_unknown, county.villages_unknown, county.townships) == (1, 1, 2)
    # the risk rate's denominator is a count, always known: 1 risk household of 4 screened
    assert county.risk_rate_per_1000 == pytest.approx(1 / 4 * 1000)
    city = table(atlas, "city", "2024-03").loc[CITY]
    # A's 1 and D's March report of 30, over 100 + 200 households
    assert city.screening_rate == pytest.approx((1 + 30) / 300)
    assert city.households_unknown == 1


def test_a_township_without_households_has_no_rate_and_says_so(atlas):
    b = table(atlas, "township", "2024-03").loc[B]
    assert b.households_screened == 3 and b.households_unknown == 1
    assert b.screening_rate != b.screening_rate  # NaN: shown as —


def test_pacing_rolls_up_over_the_townships_with_a_target(atlas):
    with duckdb.connect(str(atlas), read_only=True) as con:
        county = pacing.pacing(con, "2024-03", [""], as_of=date(2024, 3, 31), level="county").set_index("region_code")
    row = county.loc[LIANYUN]
    # B has neither a target nor households: left out of completion, counted in screened_ytd
    assert (row.target, row.screened_ytd, row.targets_unknown) == (100, 4, 1)
    assert row.completion == pytest.approx(1 / 100)


def test_the_trend_and_the_indicators_count_by_one_rule(atlas):
    """D has household rows in January and reports for February and March: the card, the pace
    and the trend all count 2 + 50 + 30 for the quarter."""
    quarter = table(atlas, "township", "2024Q1").loc[D]
    assert quarter.households_screened == 2 + 50 + 30
    assert quarter.risk_households == 1 + 1          # D1 at 中, and the February report's 中
    with duckdb.connect(str(atlas), read_only=True) as con:
        trend = runner.run(con, "screening_trend", first_month=date(2024, 1, 1), last_month=date(2024, 3, 1),
                           scope=[D])
        towns = runner.run(con, "township_trend", first_month=date(2024, 1, 1), last_month=date(2024, 3, 1),
                           scope=[D], risk_levels=["中", "高"], risk_types=[], case_sources=[])
        pace = pacing.pacing(con, "2024-03", [D], as_of=date(2024, 3, 31)).set_index("region_code")
    assert list(trend["households_screened"]) == [2, 50, 30]
    assert list(trend["ytd_households"]) == [2, 52, 82]
    assert list(towns["households_screened"]) == [2, 50, 30]
    assert list(towns["risk_households"]) == [1, 1, 0]
    assert pace.loc[D, "screened_ytd"] == 82
    # each month of the trend is that month's indicator
    for month, expected in (("2024-01", 2), ("2024-02", 50), ("2024-03", 30)):
        assert table(atlas, "township", month).loc[D, "households_screened"] == expected
    # A's March report is hidden by A's March rows
    assert table(atlas, "township", "2024-03").loc[A, "households_screened"] == 1


def test_the_pace_line_and_the_pacing_table_share_one_elapsed_time(atlas):
    """时间过半 by days, not by twelfths: at the end of February 2024 (a leap year) 60 of 366 days
    have passed, in the trend's pace line and in the pacing table alike."""
    with duckdb.connect(str(atlas), read_only=True) as con:
        trend = runner.run(con, "screening_trend", first_month=date(2024, 1, 1), last_month=date(2024, 12, 1),
                           scope=[""])
        february = pacing.pacing(con, "2024-02", [""], as_of=date(2024, 2, 29), level="city").iloc[0]
    trend = trend.set_index(trend["month_start"].dt.date)
    assert trend.loc[date(2024, 2, 1), "elapsed_share"] == pytest.approx(60 / 366)
    assert february.elapsed_share == pytest.approx(60 / 366) and february.elapsed_days == 60
    assert trend.loc[date(2024, 12, 1), "elapsed_share"] == 1
    assert february.elapsed_share != pytest.approx(2 / 12)


def test_the_page_the_panel_the_export_and_the_cli_say_how_many_townships_a_rate_counts(demo_db, tmp_path,
                                                                                        monkeypatch, capsys):
    """One township's households unknown (a boundary file added it): the city's rates over
    households count 89 of 90 townships, and every reader says so."""
    import json
    import shutil

    import cli
    from export import views
    from i18n.text import ZH
    from tests.test_pages import ROOT, all_text
    from streamlit.testing.v1 import AppTest

    db = tmp_path / "atlas.duckdb"
    shutil.copy(demo_db, db)
    town = "320703001000"
    with duckdb.connect(str(db)) as con:
        con.execute("update regions set households_total = null where region_code = ?", [town])
        total = con.execute("select count(*) from regions where level = 'township' and in_atlas").fetchall()[0][0]
    monkeypatch.setenv("ATLAS_DB", str(db))

    at = AppTest.from_file(str(ROOT / "app_pages" / "overview.py"), default_timeout=60)
    at.session_state["period"], at.session_state["region"] = "2025-12", CITY
    at.run()
    assert not at.exception, at.exception
    said = f"按 {total - 1}/{total} 个有户数底数的乡镇计算"
    assert said in all_text(at)

    at.session_state["town"] = town  # its panel: the rate it cannot have, and why
    at.run()
    assert ZH["ROLLUP_NONE_households_total"].split("，")[0] in all_text(at)

    with duckdb.connect(str(db), read_only=True) as con:
        view = views.build_view(con, views.ViewSpec("overview", None, "2025-12", "zh"))
    assert any(said in note for note in view.notes)

    assert cli.main(["indicators", "--db", str(db), "--level", "city", "--period", "2025-12", "--json"]) == 0
    city = json.loads(capsys.readouterr().out)[0]
    assert (city["households_unknown"], city["townships"]) == (1, total)
