"""A property test of the counting rules (issue 12): random small atlases that mix household rows,
township totals, unknown denominators and filters; every rolled-up figure of queries.indicators
must equal a plain-Python computation from the same rows, at township, county and city level, and
the screening trend's year-to-date must add up to the period's count."""
from datetime import date, timedelta

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db import schema
from queries import indicators, periods, runner

CITY = "320700000000"
COUNTIES = ["320703000000", "320706000000"]
LEVELS = ["无", "低", "中", "高"]
TYPES = ["家庭暴力", "婚姻家庭纠纷"]
RANK = {level: i for i, level in enumerate(LEVELS)}


@st.composite
def atlases(draw):
    towns = []
    for n in range(draw(st.integers(2, 5))):
        county = COUNTIES[n % 2]
        households = draw(st.one_of(st.none(), st.integers(0, 60)))
        towns.append({"code": county[:6] + f"{n + 1:03d}000", "county": county, "households": households,
                      "villages": draw(st.one_of(st.none(), st.integers(0, 4)))})
    visits = []
    for _ in range(draw(st.integers(0, 25))):
        town = draw(st.sampled_from(towns))["code"]
        visits.append({"town": town, "household": f"H{draw(st.integers(0, 6))}",
                       "day": date(2024, 1, 1) + timedelta(days=draw(st.integers(0, 180))),
                       "level": draw(st.sampled_from(LEVELS)), "type": draw(st.sampled_from(TYPES))})
    reports = {}
    for _ in range(draw(st.integers(0, 6))):
        town = draw(st.sampled_from(towns))["code"]
        month = draw(st.integers(1, 6))
        quarter = draw(st.booleans()) and month in (1, 4)
        start = date(2024, month, 1)
        end = date(2024, month + 3, 1) - timedelta(days=1) if quarter else date(2024, month + 1, 1) - timedelta(days=1)
        screened = draw(st.integers(0, 40))
        low, medium, high = (draw(st.integers(0, 3)) for _ in range(3))
        reports[(town, start, end)] = (screened, low, medium, high)
    filters = indicators.Filters(
        risk_levels=tuple(draw(st.sets(st.sampled_from(LEVELS), min_size=1))),
        risk_types=tuple(draw(st.sets(st.sampled_from(TYPES), max_size=1))))
    period = draw(st.sampled_from(["2024-01", "2024-02", "2024-03", "2024Q1", "2024Q2", "2024"]))
    return towns, visits, reports, filters, period


def build(con, towns, visits, reports) -> None:
    schema.create(con)
    con.execute(f"insert into regions (region_code, name, level, city_code) values ('{CITY}', '市', 'city', '{CITY}')")
    for county in COUNTIES:
        con.execute("insert into regions (region_code, name, level, parent_code, city_code, county_code) "
                    "values (?, ?, 'county', ?, ?, ?)", [county, county, CITY, CITY, county])
    for t in towns:
        con.execute("""insert into regions (region_code, name, level, parent_code, city_code, county_code,
                                            households_total, villages_total, in_atlas)
                       values (?, ?, 'township', ?, ?, ?, ?, ?, true)""",
                    [t["code"], t["code"], t["county"], CITY, t["county"], t["households"], t["villages"]])
    for n, v in enumerate(visits):
        con.execute("""insert into screenings (screening_id, household_id, township_code, screened_date, risk_level,
                                               risk_type) values (?, ?, ?, ?, ?, ?)""",
                    [f"S{n}", v["household"], v["town"], v["day"], v["level"],
                     None if v["level"] == "无" else v["type"]])
    for (town, start, end), (screened, low, medium, high) in reports.items():
        con.execute("insert into screening_summaries (township_code, period_start, period_end, households_screened, "
                    "risk_low, risk_medium, risk_high) values (?, ?, ?, ?, ?, ?, ?)",
                    [town, start, end, screened, low, medium, high])


def month(d: date) -> date:
    return d.replace(day=1)


def expected_township(code, visits, reports, filters, start, end) -> tuple[int, int]:
    """(households screened, risk households) by the rule, in plain Python."""
    mine = [v for v in visits if v["town"] == code and start <= v["day"] <= end]
    row_months = {month(v["day"]) for v in mine}
    top: dict = {}
    for v in mine:
        counted = not filters.risk_types or (v["level"] != "无" and v["type"] in filters.risk_types)
        rank = RANK[v["level"]] if counted else 0
        top[v["household"]] = max(top.get(v["household"], 0), rank)
    screened = len(top)
    risk = sum(1 for rank in top.values() if LEVELS[rank] in filters.risk_levels)
    for (town, r_start, r_end), (n, low, medium, high) in reports.items():
        if town != code or r_start < start or r_end > end:
            continue
        if any(r_start <= m <= r_end for m in row_months):
            continue  # a month of the report has household rows: the rows count
        screened += n
        if not filters.risk_types:
            risk += sum(k for level, k in zip(("低", "中", "高"), (low, medium, high)) if level in filters.risk_levels)
    return screened, risk


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(atlases())
def test_every_rolled_up_figure_equals_a_plain_computation(case):
    towns, visits, reports, filters, period = case
    p = periods.parse(period)
    with duckdb.connect(":memory:") as con:
        build(con, towns, visits, reports)
        got = {level: indicators.table(con, level, period, [""], filters=filters).set_index("region_code")
               for level in indicators.LEVELS}
        trend = runner.run(con, "screening_trend", first_month=date(2024, 1, 1), last_month=date(2024, 12, 1),
                           scope=[""]).set_index("month_start")
        year = indicators.table(con, "city", "2024", [""]).set_index("region_code")
        for quarter, last in (("2024Q1", "2024-03-01"), ("2024Q2", "2024-06-01")):
            q = indicators.table(con, "city", quarter, [""]).set_index("region_code")
            # the year so far at a quarter's end: the trend's ytd, when the quarter opens the year
            if quarter == "2024Q1":
                assert trend.loc[last, "ytd_households"] == q.loc[CITY, "households_screened"]
        assert trend.iloc[-1]["ytd_households"] == year.loc[CITY, "households_screened"]

    per_town = {t["code"]: expected_township(t["code"], visits, reports, filters, p.start, p.end) for t in towns}
    groups = {"township": lambda t: t["code"], "county": lambda t: t["county"], "city": lambda t: CITY}
    for level, key in groups.items():
        members: dict = {}
        for t in towns:
            members.setdefault(key(t), []).append(t)
        for code, ts in members.items():
            row = got[level].loc[code]
            screened = sum(per_town[t["code"]][0] for t in ts)
            risk = sum(per_town[t["code"]][1] for t in ts)
            known = [t for t in ts if t["households"] is not None]
            denominator = sum(t["households"] for t in known)
            numerator = sum(per_town[t["code"]][0] for t in known)
            assert (row.households_screened, row.risk_households) == (screened, risk), (level, code)
            assert row.households_unknown == len(ts) - len(known)
            if denominator:
                assert row.screening_rate == pytest.approx(numerator / denominator), (level, code)
            else:
                assert row.screening_rate != row.screening_rate  # NaN: no known denominator
            if screened:
                assert row.risk_rate_per_1000 == pytest.approx(risk / screened * 1000)
