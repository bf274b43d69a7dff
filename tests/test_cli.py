"""cli.py as a user runs it: a subprocess, JSON on stdout, errors on stderr with exit code 2.

Numbers refer to the hand-made database of tests/test_indicators.py (see its docstring).
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from queries import indicators
from tests.test_gaps import V2, V3, V4, build_gaps
from tests.test_indicators import CITY, GANYU, HAIZHOU, LIANYUN, T1, T2, T3, T4, build_atlas

ROOT = Path(__file__).resolve().parent.parent
TOWNSHIP_EXTRAS = ["risk_rate_smoothed", "hotspot_class", "gi_z", "gi_p_fdr", "target", "expected_by_now", "status"]


def run_cli(*args, env_db=None):
    """Run cli.py; ATLAS_DB is removed from the environment unless ``env_db`` is given."""
    env = {k: v for k, v in os.environ.items() if k != "ATLAS_DB"}
    if env_db is not None:
        env["ATLAS_DB"] = str(env_db)
    return subprocess.run(
        [sys.executable, "cli.py", *map(str, args)],
        cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=120,
    )


def indicators_json(db, *args):
    done = run_cli("indicators", "--db", db, "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def by_code(records):
    return {r["region_code"]: r for r in records}


def raw(db, period, level="township"):
    """The exact numbers (queries.indicators.table) the CLI shows suppressed: what a test of the
    counting compares with (test_suppression.py tests the suppression)."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        return indicators.table(con, level, period, indicators.EVERYTHING).set_index("region_code")


@pytest.fixture(scope="module")
def atlas_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "atlas.duckdb"
    build_atlas(path)
    return path


def test_json_fields(atlas_db):
    records = indicators_json(atlas_db, "--period", "2024-03")
    assert [r["region_code"] for r in records] == [T1, T2, T3, T4]
    for r in records:  # township rows: the published fields, then the pacing fields
        assert list(r) == indicators.FIELDS + TOWNSHIP_EXTRAS
        assert len(r["region_code"]) == 12 and r["region_code"].isdigit()
        assert (r["level"], r["period"]) == ("township", "2024-03")
    t1 = by_code(records)[T1]
    assert t1["region_name"] == "墟沟街道"
    # 5 households screened, 3 at risk (see test_indicators); counts are JSON integers, and a
    # count from 1 to 4 of a sensitive one is hidden (the demo viewer), as is a rate built on it:
    # "<5", or "×" where the months, quarters and year of this tiny atlas would otherwise give it
    # back (suppress.joint, test_suppression.py)
    assert t1["households_screened"] == 5 and t1["risk_households"] in ("<5", "×")
    assert isinstance(t1["households_screened"], int)
    assert t1["risk_rate_per_1000"] == t1["mediation_success_rate"] == "— (small)"
    exact = raw(atlas_db, "2024-03").loc[T1]
    assert exact["risk_households"] == 3
    assert exact["risk_rate_per_1000"] == pytest.approx(600)
    assert exact["mediation_success_rate"] == pytest.approx(0.5)


def test_zero_denominators_are_null(atlas_db):
    records = by_code(indicators_json(atlas_db, "--period", "2024-03"))
    t2 = records[T2]  # 0 households, 0 villages, no closed case
    for rate in ["coverage_rate", "rooms_per_10k", "screening_rate", "cases_per_10k", "mediation_success_rate"]:
        assert t2[rate] is None, rate
    assert raw(atlas_db, "2024-03").loc[T2, "risk_rate_per_1000"] == pytest.approx(1000)
    t4 = records[T4]  # no records: counts 0, rates over households 0.0, rates over nothing null
    assert (t4["households_screened"], t4["screening_rate"]) == (0, 0)
    assert t4["risk_rate_per_1000"] is None


def test_county_level(atlas_db):
    records = indicators_json(atlas_db, "--period", "2024-03", "--level", "county")
    assert [r["region_code"] for r in records] == [LIANYUN, HAIZHOU]
    lianyun = by_code(records)[LIANYUN]
    # T1 + T2 + T3: 8 screened, 5 at risk → 625 per 1000 (not the mean of 600, 1000, 500)
    assert (lianyun["level"], lianyun["townships"], lianyun["households_total"]) == ("county", 3, 1100)
    assert lianyun["households_screened"] == 8
    exact = raw(atlas_db, "2024-03", "county").loc[LIANYUN]
    assert (exact["risk_households"], exact["risk_rate_per_1000"]) == (5, pytest.approx(625))
    # shown, or hidden ("×") where the months, quarters and year of this tiny atlas would
    # otherwise give a "<5" back (suppress.joint), and the rate with it
    assert (lianyun["risk_households"], lianyun["risk_rate_per_1000"]) in (
        (5, pytest.approx(625)), ("×", "— (small)"))
    # 2 of 3 closed cases mediated: counts of 1–4, so the rate is hidden but for an admin
    assert lianyun["mediation_success_rate"] == "— (small)"
    assert raw(atlas_db, "2024-03", "county").loc[LIANYUN, "mediation_success_rate"] == pytest.approx(2 / 3)


def test_city_level(atlas_db):
    records = indicators_json(atlas_db, "--period", "2024-03", "--level", "city")
    assert len(records) == 1
    city = records[0]
    assert (city["region_code"], city["region_name"], city["level"]) == (CITY, "连云港市", "city")
    assert (city["townships"], city["households_total"], city["rooms_active"]) == (4, 1600, 4)
    assert city["rooms_per_10k"] == pytest.approx(25)
    assert city["cases_per_10k"] == pytest.approx(37.5)


@pytest.mark.parametrize("period, screened, risk, closed", [
    ("2024", 6, 4, 3),
    ("2024Q1", 5, 4, 2),
    ("2024-04", 1, 0, 1),
])
def test_period_option(atlas_db, period, screened, risk, closed):
    t1 = by_code(indicators_json(atlas_db, "--period", period))[T1]
    assert t1["period"] == period
    exact = raw(atlas_db, period).loc[T1]
    assert (exact["households_screened"], exact["risk_households"], exact["cases_closed"]) == (screened, risk, closed)
    assert t1["households_screened"] == screened
    for shown, n in ((t1["risk_households"], risk), (t1["cases_closed"], closed)):
        assert shown in (("<5", "×") if 0 < n < 5 else (n, "×"))  # "×": hidden beside another period's "<5"


def test_default_period_is_latest_complete_month(atlas_db):
    # the last record is H6 on 2024-04-02, long before today's month
    records = indicators_json(atlas_db)
    assert {r["period"] for r in records} == {"2024-04"}
    assert by_code(records)[T1]["households_screened"] == 1


def test_region_option(atlas_db):
    records = indicators_json(atlas_db, "--period", "2024-03", "--region", LIANYUN)
    assert [r["region_code"] for r in records] == [T1, T2, T3]


def test_region_without_atlas_townships_at_county_level(atlas_db):
    # 赣榆区 is a valid region with no atlas township: an empty array, as at township level
    assert indicators_json(atlas_db, "--period", "2024-03", "--region", GANYU) == []
    assert indicators_json(atlas_db, "--period", "2024-03", "--region", GANYU, "--level", "county") == []


def test_atlas_db_environment_variable(atlas_db):
    done = run_cli("indicators", "--json", "--period", "2024-03", env_db=atlas_db)
    assert done.returncode == 0, done.stderr
    assert [r["region_code"] for r in json.loads(done.stdout)] == [T1, T2, T3, T4]


@pytest.mark.parametrize("args, message", [
    (["--period", "2024-13"], "bad period"),
    (["--period", "2024Q5"], "bad period"),
    (["--region", "3207"], "bad region code"),
    (["--region", "32070300000X"], "bad region code"),
])
def test_bad_input_exits_2(atlas_db, args, message):
    done = run_cli("indicators", "--db", atlas_db, "--json", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_missing_database_exits_2(tmp_path):
    missing = tmp_path / "nowhere.duckdb"
    done = run_cli("indicators", "--db", missing, "--json")
    assert done.returncode == 2
    assert "no database" in done.stderr and str(missing) in done.stderr
    assert done.stdout == ""
    assert not missing.exists()  # reading must not create the file


def test_demo_builds_the_city(tmp_path):
    db = tmp_path / "demo.duckdb"
    built = run_cli("demo", "--db", db, "--seed", 7, "--scale", 0.02)
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["townships"] > 0
    records = indicators_json(db, "--level", "city")
    assert len(records) == 1
    assert (records[0]["region_code"], records[0]["region_name"]) == ("320700000000", "连云港市")


def test_township_rows_carry_screening_pacing(atlas_db):
    records = by_code(indicators_json(atlas_db, "--period", "2024-03"))
    # the latest record (room R5 opening 2024-04-30) is after March, so time runs to 31 March:
    # 91 of 2024's 366 days. T1: default target 1000 households, expected 248.6, 5 screened → red
    t1 = records[T1]
    assert (t1["target"], t1["status"]) == (1000, "red")
    assert isinstance(t1["target"], int)
    assert t1["expected_by_now"] == pytest.approx(1000 * 91 / 366)
    assert (records[T2]["target"], records[T2]["status"]) == (0, None)  # no households: nothing expected
    county = indicators_json(atlas_db, "--period", "2024-03", "--level", "county")
    assert all(list(r) == indicators.FIELDS for r in county)  # other levels keep the published fields


@pytest.fixture(scope="module")
def gaps_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli_gaps") / "gaps.duckdb"
    build_gaps(path)
    return path


def gaps_json(db, *args):
    done = run_cli("gaps", "--db", db, "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_gaps_json(gaps_db):
    records = gaps_json(gaps_db, "--period", "2024-03", "--radius-km", "2")
    kinds = [(r["kind"], r["village_code"] or r["township_code"]) for r in records]
    # see tests/test_gaps.py: T2 and T3 have no active room; V2 is 3 km from R1; V3 has no point
    assert kinds == [
        ("village", V2), ("beyond_radius", V2),
        ("township", "320703002000"), ("village", V3), ("unknown_distance", V3),
        ("township", "320703003000"), ("village", V4), ("beyond_radius", V4),
    ]
    beyond = next(r for r in records if r["kind"] == "beyond_radius")
    assert set(beyond) == {"kind", "township_code", "township_name", "county_name", "village_code", "village_name",
                           "households", "nearest_room_km", "reason_code", "reason"}
    assert beyond["nearest_room_km"] == pytest.approx(3.0) and beyond["households"] == 200
    assert records[2]["village_code"] is None and records[2]["nearest_room_km"] is None


def test_gaps_without_radius_and_by_region(gaps_db):
    records = gaps_json(gaps_db, "--period", "2024-03", "--region", "320703001000")
    assert [(r["kind"], r["village_code"]) for r in records] == [("village", V2)]
    assert gaps_json(gaps_db, "--period", "2024-01", "--region", "320703003000") == []  # R2 still open


@pytest.mark.parametrize("args, message", [
    (["--period", "2024-13"], "bad period"),
    (["--region", "3207"], "bad region code"),
    (["--region", "110000000000"], "holds no township of the atlas"),
    (["--radius-km", "-1"], "bad radius"),
    (["--radius-km", "nan"], "bad radius"),
])
def test_gaps_bad_input_exits_2(gaps_db, args, message):
    done = run_cli("gaps", "--db", gaps_db, "--json", "--period", "2024-03", *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stdout == ""


def test_hotspot_fields_match_the_statistics_module(demo_db):
    """The CLI publishes geo/risk.py's smoothed rate and classes for the risk rate (default) or
    the case rate (--hotspot-of cases); a township's smoothed rate lies between its own rate and
    the city's pooled rate."""
    import duckdb

    from geo import risk

    records = indicators_json(demo_db, "--period", "2025", "--region", "320700000000")
    cases = indicators_json(demo_db, "--period", "2025", "--region", "320700000000", "--hotspot-of", "cases")
    with duckdb.connect(str(demo_db), read_only=True) as con:
        expected = risk.table(con, "2025", indicators.EVERYTHING, "320700000000").set_index("region_code")
        expected_cases = risk.table(con, "2025", indicators.EVERYTHING, "320700000000", of="cases").set_index("region_code")
    assert len(records) == 90
    exact = raw(demo_db, "2025")
    screened = exact["households_screened"].sum()
    pooled = exact["risk_households"].sum() / screened * 1000
    for r in records:
        assert r["hotspot_class"] in {"hot", "cold", "high-low", "low-high", "ns"}
        assert r["hotspot_class"] == expected.loc[r["region_code"], "hotspot_class"]
        if r["risk_households"] in ("<5", "×"):  # hidden: so is what would give it back (geo/risk.OWN_VALUE)
            assert r["risk_rate_smoothed"] == r["gi_z"] == r["gi_p_fdr"] == "— (small)"
            continue
        assert r["gi_p_fdr"] is None or 0 < r["gi_p_fdr"] <= 1
        assert r["risk_rate_smoothed"] == pytest.approx(expected.loc[r["region_code"], "rate_smoothed"])
        lo, hi = sorted([r["risk_rate_per_1000"], pooled])
        assert lo - 1e-9 <= r["risk_rate_smoothed"] <= hi + 1e-9
    for r in cases:
        if r["cases_received"] not in ("<5", "×"):
            assert r["risk_rate_smoothed"] == pytest.approx(expected_cases.loc[r["region_code"], "rate_smoothed"])
    assert [r["risk_rate_smoothed"] for r in cases] != [r["risk_rate_smoothed"] for r in records]


def test_screening_to_date_is_published_after_the_old_columns(atlas_db):
    # T1 in the hand-made atlas (tests/test_indicators.py): H5 in February, H1..H5 in March, of
    # 1,000 households: March's own 5, to date 5, of which March added 4 (H5 was February's)
    record = by_code(indicators_json(atlas_db, "--period", "2024-03"))[T1]
    keys = list(record)
    at = keys.index("villages_unknown")  # township rows carry the hotspot and pacing columns after these
    assert keys[at + 1:at + 4] == ["households_screened_ytd", "screening_rate_ytd", "screening_rate_added"]
    assert (record["households_screened"], record["screening_rate"]) == (5, pytest.approx(0.005))
    assert (record["households_screened_ytd"], record["screening_rate_ytd"]) == (5, pytest.approx(0.005))
    assert record["screening_rate_added"] == pytest.approx(0.004)
