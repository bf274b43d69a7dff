"""Screening targets and pacing (排查进度: 时间过半、任务过半), and month-on-month change.

The status rule, in one place:

    expected_by_now = target × elapsed_share      (elapsed_share = days of the year gone ÷ days in it)
    green  screened_ytd ≥ expected_by_now                  on or ahead of pace
    amber  screened_ytd ≥ AMBER_SHARE × expected_by_now    a little behind (within 10 %)
    red    otherwise                                       behind
    null   target 0 or unknown, or no day of the year elapsed yet (nothing expected)

A township without a target row is held to its households_total (全覆盖: every household
screened once a year); its target_source is 'default', else 'set' ('mixed' for a county or city
whose townships are some of each).
"""
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from db import schema
from queries import indicators, periods, runner

# Share of the expected count below which a region turns from amber to red.
AMBER_SHARE = 0.9
STATUSES = ("green", "amber", "red")
FIRST_YEAR, LAST_YEAR = 2000, 2100  # a target outside these years is a typing mistake

FIELDS = [
    "region_code", "region_name", "level", "parent_code", "period", "year", "as_of",
    "townships", "households_total", "target", "target_source", "screened_ytd",
    "elapsed_days", "days_in_year", "elapsed_share", "expected_by_now", "completion", "pace",
    "status", "laggard_rank",
    # townships with neither a target nor households: left out of completion, pace and status
    "targets_unknown",
]


def status(screened: float | None, expected: float | None) -> str | None:
    """'green', 'amber', 'red', or None when nothing is expected (see the module docstring)."""
    if screened is None or expected is None or pd.isna(screened) or pd.isna(expected) or expected <= 0:
        return None
    if screened >= expected:
        return "green"
    if screened >= AMBER_SHARE * expected:
        return "amber"
    return "red"


def pacing(con: duckdb.DuckDBPyConnection, period: str | periods.Period, scope: list[str],
           region_code: str | None = None, as_of: date | None = None, level: str = "township") -> pd.DataFrame:
    """Screening progress against the year's target per region of ``level``, up to the period's end.

    ``as_of`` is the day the count stands at (default: the latest data date in scope); time
    elapsed runs to the earlier of it and the period's end. laggard_rank is 1 for the row
    furthest behind pace among the rows returned (null where pace is null).
    """
    if level not in indicators.LEVELS:
        raise ValueError(f"bad level {level!r}: expected one of {', '.join(indicators.LEVELS)}")
    p = period if isinstance(period, periods.Period) else periods.parse(period)
    effective = indicators.narrow(scope, region_code) or ["-"]
    if as_of is None:
        last = runner.run(con, "data_span", scope=effective)["last_date"].iloc[0]
        as_of = p.end if pd.isna(last) else pd.Timestamp(last).date()
    frame = runner.run(con, "screening_pacing", level=level, period_end=p.end, as_of=as_of, scope=effective)
    if region_code is not None and level != "township":
        prefix = indicators.region_prefix(region_code)
        keep = frame["region_code"].map(lambda c: c.startswith(prefix) or prefix.startswith(indicators.region_prefix(c)))
        frame = frame[keep.astype(bool)]
    frame = frame.reset_index(drop=True)
    frame["period"] = p.code
    frame["as_of"] = as_of
    frame["status"] = pd.Series(
        # over the townships with a target, like completion and pace (screening_pacing.sql)
        [status(s, e) for s, e in zip(frame["screened_counted"], frame["expected_by_now"])], index=frame.index,
        dtype=object,
    )
    frame["laggard_rank"] = frame["pace"].rank(method="min", ascending=True, na_option="keep").astype("Int64")
    return frame[FIELDS]


@dataclass(frozen=True)
class TargetIssue:
    row: int          # position in the frame given to save_targets (0-based)
    column: str
    value: object
    problem: str      # a code the UI turns into Chinese: not_integer, negative, bad_year, unknown_township, duplicate
    message: str      # English, for logs and tests


TARGET_COLUMNS = ("township_code", "year", "target_households")


def check_targets(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> list[TargetIssue]:
    """Every problem in edited targets; an empty list means they can be saved."""
    missing = [c for c in TARGET_COLUMNS if c not in frame.columns]
    if missing:
        return [TargetIssue(-1, c, None, "missing_column", f"no column {c!r}") for c in missing]
    known = {code for (code,) in con.execute("select region_code from regions where level = 'township'").fetchall()}
    issues: list[TargetIssue] = []
    seen: set[tuple[str, int]] = set()
    for row, rec in enumerate(frame[list(TARGET_COLUMNS)].to_dict("records")):
        code = None if _missing(rec["township_code"]) else str(rec["township_code"]).strip()
        if code not in known:
            issues.append(TargetIssue(row, "township_code", rec["township_code"], "unknown_township",
                                      f"unknown township code {rec['township_code']!r}"))
        year = _whole(rec["year"])
        if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
            issues.append(TargetIssue(row, "year", rec["year"], "bad_year",
                                      f"year must be a whole number from {FIRST_YEAR} to {LAST_YEAR}"))
        target = _whole(rec["target_households"])
        if target is None:
            issues.append(TargetIssue(row, "target_households", rec["target_households"], "not_integer",
                                      "target must be a whole number of households"))
        elif target < 0:
            issues.append(TargetIssue(row, "target_households", rec["target_households"], "negative",
                                      "target must not be negative"))
        if code is not None and year is not None:
            if (code, year) in seen:
                issues.append(TargetIssue(row, "township_code", code, "duplicate",
                                          f"township {code} has two targets for {year}"))
            seen.add((code, year))
    return issues


def save_targets(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> list[TargetIssue]:
    """Upsert edited targets (columns township_code, year, target_households) in one transaction.

    Returns the problems found; when there are any, nothing is written. On success the data
    version is bumped in the same transaction, so every cache sees the new targets.
    """
    issues = check_targets(con, frame)
    if issues:
        return issues
    rows = pd.DataFrame({
        "township_code": frame["township_code"].map(lambda c: str(c).strip()),
        "year": frame["year"].map(_whole).astype("int32"),
        "target_households": frame["target_households"].map(_whole).astype("int64"),
        "updated_at": datetime.now(),
    })
    with schema.transaction(con, f"screening targets: {len(rows)} rows"):
        con.register("edited_targets", rows)
        schema.upsert_from(con, "screening_targets", ("township_code", "year"),
                           ["township_code", "year", "target_households", "updated_at"],
                           "select township_code, year, target_households, updated_at from edited_targets")
        con.unregister("edited_targets")
    return []


def month_change(con: duckdb.DuckDBPyConnection, month: str | periods.Period, scope: list[str],
                 region_code: str | None = None) -> pd.DataFrame:
    """Per township: screening_rate in ``month`` and the month before, and the change (a 0–1 difference).

    change is null when either month's rate is null (no households on record).
    """
    p = month if isinstance(month, periods.Period) else periods.parse(month)
    if p.kind != "month":
        raise ValueError(f"bad month {p.code!r}: expected a month such as 2024-03")
    before = p.previous()
    now = indicators.table(con, "township", p, scope, region_code)
    then = indicators.table(con, "township", before, scope, region_code)
    frame = now[["region_code", "region_name", "households_screened", "screening_rate"]].merge(
        then[["region_code", "households_screened", "screening_rate"]].rename(columns={
            "households_screened": "previous_households_screened", "screening_rate": "previous_screening_rate"}),
        on="region_code", how="left", validate="one_to_one",
    )
    frame.insert(2, "month", p.code)
    frame.insert(3, "previous_month", before.code)
    frame["change"] = frame["screening_rate"] - frame["previous_screening_rate"]  # NaN stays NaN
    return frame


def _missing(value) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _whole(value) -> int | None:
    """``value`` as an int if it is a whole number (3, 3.0, "3"), else None."""
    if _missing(value) or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None
