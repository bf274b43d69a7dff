"""queries.periods: parsing period codes, stepping back, and the picker's options."""
from datetime import date

import pytest

from queries import periods


@pytest.mark.parametrize("code, kind, start, end", [
    ("2024", "year", date(2024, 1, 1), date(2024, 12, 31)),
    ("2024Q1", "quarter", date(2024, 1, 1), date(2024, 3, 31)),
    ("2024Q2", "quarter", date(2024, 4, 1), date(2024, 6, 30)),
    ("2024Q4", "quarter", date(2024, 10, 1), date(2024, 12, 31)),
    ("2024-03", "month", date(2024, 3, 1), date(2024, 3, 31)),
    ("2024-02", "month", date(2024, 2, 1), date(2024, 2, 29)),   # leap year
    ("2023-02", "month", date(2023, 2, 1), date(2023, 2, 28)),
    ("2024-04", "month", date(2024, 4, 1), date(2024, 4, 30)),
    ("2024-12", "month", date(2024, 12, 1), date(2024, 12, 31)),
])
def test_parse(code, kind, start, end):
    assert periods.parse(code) == periods.Period(code, kind, start, end)


def test_parse_strips_spaces():
    assert periods.parse(" 2024Q1 ").code == "2024Q1"


@pytest.mark.parametrize("code", ["2024-13", "2024-00", "2024Q5", "2024Q0", "24", "", "2024-3", "2024q1", "March 2024"])
def test_parse_rejects_bad_codes(code):
    with pytest.raises(ValueError, match="bad period"):
        periods.parse(code)


@pytest.mark.parametrize("code, previous", [
    ("2024", "2023"),
    ("2024Q1", "2023Q4"),
    ("2024Q3", "2024Q2"),
    ("2024-01", "2023-12"),
    ("2024-03", "2024-02"),
])
def test_previous(code, previous):
    assert periods.parse(code).previous() == periods.parse(previous)


def test_previous_month_of_march_in_leap_year_ends_on_29th():
    assert periods.parse("2024-03").previous().end == date(2024, 2, 29)


@pytest.mark.parametrize("day, kind, code", [
    (date(2024, 2, 29), "month", "2024-02"),
    (date(2024, 3, 31), "quarter", "2024Q1"),
    (date(2024, 10, 1), "quarter", "2024Q4"),
    (date(2024, 12, 31), "year", "2024"),
])
def test_period_containing(day, kind, code):
    assert periods.period_containing(day, kind).code == code


def test_months_between_spans_a_year_end():
    got = periods.months_between(date(2023, 11, 20), date(2024, 2, 3))
    assert [p.code for p in got] == ["2023-11", "2023-12", "2024-01", "2024-02"]


def test_options_months_then_quarters_then_years_newest_first():
    got = periods.options(date(2023, 11, 20), date(2024, 2, 3))
    assert [p.code for p in got] == [
        "2024-02", "2024-01", "2023-12", "2023-11",
        "2024Q1", "2023Q4",
        "2024", "2023",
    ]


def test_options_within_one_month():
    got = periods.options(date(2024, 3, 5), date(2024, 3, 20))
    assert [p.code for p in got] == ["2024-03", "2024Q1", "2024"]
