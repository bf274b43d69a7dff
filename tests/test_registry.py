"""indicators/registry.py: the one description of each indicator, checked against what the SQL returns."""
import duckdb
import numpy as np
import pytest

from indicators import fmt, registry
from queries import indicators


# What the CLI has always published, in this order (other tools rely on it): written out here,
# not derived, so a registry entry moved or renamed fails this test.
PUBLISHED = [
    "region_code", "region_name", "level", "period",
    "households_total", "villages_total",
    "rooms_active", "villages_covered", "coverage_rate", "rooms_per_10k",
    "households_screened", "screening_rate",
    "risk_households", "risk_rate_per_1000",
    "cases_received", "cases_closed", "cases_mediated", "mediation_success_rate",
    "cases_per_10k", "parent_code", "townships",
]


def test_the_published_fields_are_the_registry_in_order():
    # a new indicator is added to the registry (after cases_per_10k); the old ones keep their order
    assert [f for f in indicators.FIELDS if f in PUBLISHED] == PUBLISHED
    rollup = {"households_unknown", "villages_unknown"}  # townships a rate left out (unknown denominator)
    assert set(indicators.FIELDS) - set(PUBLISHED) <= set(registry.INDICATORS) | rollup
    for code, ind in registry.INDICATORS.items():
        assert ind.code == code and set(ind.label) == {"zh", "en"}
        if ind.is_rate:
            assert {ind.numerator, ind.denominator} <= set(registry.INDICATORS)
            assert ind.unit != "count"


@pytest.mark.parametrize("level", indicators.LEVELS)
def test_rates_are_numerator_over_denominator_times_multiplier(demo_db, level):
    """What the registry says a rate is, the SQL computes (queries/indicators.sql)."""
    with duckdb.connect(str(demo_db), read_only=True) as con:
        period = indicators.latest_month(con, indicators.EVERYTHING).code
        frame = indicators.table(con, level, period, indicators.EVERYTHING)
    for ind in registry.INDICATORS.values():
        if not ind.is_rate:
            continue
        num, den = frame[ind.numerator].astype(float), frame[ind.denominator].astype(float)
        expected = np.where(den > 0, num / den.where(den > 0) * ind.multiplier, np.nan)
        assert np.allclose(frame[ind.code].astype(float), expected, equal_nan=True), ind.code


def test_unit_and_sensitivity_decide_the_format():
    assert fmt.value("mediation_success_rate", 0.5) == "50.0%"     # a share
    assert fmt.value("cases_per_10k", 1.234) == "1.23"            # per 10,000
    assert fmt.value("cases_mediated", 4) == "<5"                 # sensitive count
    assert fmt.value("villages_covered", 4) == "4"                # public count
    assert registry.thresholds("screening_rate", "quarter") == (0.125, 0.1875, 0.225, 0.25)
    assert registry.thresholds("households_total", "year") is None
    with pytest.raises(ValueError, match="registry"):
        registry.get("no_such_rate")


def test_year_to_date_yardsticks_grow_with_the_months_since_january():
    # the year's yardsticks × months from January to the period's end: March and Q1 alike 3/12
    assert registry.thresholds("screening_rate_ytd", "month", 3) == (0.125, 0.1875, 0.225, 0.25)
    assert registry.thresholds("screening_rate_ytd", "quarter", 3) == (0.125, 0.1875, 0.225, 0.25)
    assert registry.thresholds("screening_rate_ytd", "year", 12) == (0.5, 0.75, 0.9, 1.0)
    # the period's own rate keeps its per-period yardstick
    assert registry.thresholds("screening_rate", "month", 3) == tuple(round(b / 12, 6) for b in (0.5, 0.75, 0.9, 1.0))
    # what a period added is in percentage points
    assert fmt.value("screening_rate_added", 0.081) == "8.1 个百分点"
    assert fmt.value("screening_rate_added", 0.081, "en") == "8.1 pp"
    assert "本年累计" in registry.get("screening_rate_ytd").name("zh")
