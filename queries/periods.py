"""Reporting periods: a year `2024`, a quarter `2024Q1`, a month `2024-03`."""
import re
from dataclasses import dataclass
from datetime import date, timedelta

_PATTERNS = {
    "year": re.compile(r"^(\d{4})$"),
    "quarter": re.compile(r"^(\d{4})Q([1-4])$"),
    "month": re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$"),
}


@dataclass(frozen=True)
class Period:
    code: str
    kind: str  # year | quarter | month
    start: date
    end: date  # inclusive

    def previous(self) -> "Period":
        """The period of the same kind just before this one (2024Q1 → 2023Q4)."""
        return period_containing(self.start - timedelta(days=1), self.kind)


def parse(code: str) -> Period:
    """Parse a period code; raise ValueError saying what is expected."""
    code = str(code).strip()
    for kind, pattern in _PATTERNS.items():
        match = pattern.match(code)
        if not match:
            continue
        year = int(match.group(1))
        if kind == "year":
            return Period(code, kind, date(year, 1, 1), date(year, 12, 31))
        if kind == "quarter":
            q = int(match.group(2))
            return Period(code, kind, date(year, 3 * q - 2, 1), _month_end(year, 3 * q))
        month = int(match.group(2))
        return Period(code, kind, date(year, month, 1), _month_end(year, month))
    raise ValueError(f"bad period {code!r}: expected a year (2024), a quarter (2024Q1) or a month (2024-03)")


def period_containing(day: date, kind: str) -> Period:
    if kind == "year":
        return parse(f"{day.year}")
    if kind == "quarter":
        return parse(f"{day.year}Q{(day.month - 1) // 3 + 1}")
    return parse(f"{day.year}-{day.month:02d}")


def months_between(first: date, last: date) -> list[Period]:
    """Every month from the one containing ``first`` to the one containing ``last``."""
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(parse(f"{y}-{m:02d}"))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def options(first: date, last: date) -> list[Period]:
    """Selectable periods for data from ``first`` to ``last``: months, then quarters, then years, newest first."""
    months = months_between(first, last)
    quarters = list(dict.fromkeys(period_containing(p.start, "quarter") for p in months))
    years = list(dict.fromkeys(period_containing(p.start, "year") for p in months))
    return months[::-1] + quarters[::-1] + years[::-1]


def year_sums(year: int) -> list[tuple[str, list[str]]]:
    """How the periods of a year add up, (period, the periods it is the sum of): each quarter of
    its months, the year of its quarters and of its months. Every period of the year is in them."""
    months = [f"{year}-{m:02d}" for m in range(1, 13)]
    quarters = [f"{year}Q{q}" for q in range(1, 5)]
    return [*((quarters[q], months[3 * q:3 * q + 3]) for q in range(4)), (str(year), quarters), (str(year), months)]


def _month_end(year: int, month: int) -> date:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return nxt - timedelta(days=1)
