"""Numbers, rates, dates and periods the Chinese way (and the English way), in one place.

The indicator's name decides its format: *_rate is a 0–1 share (百分比, one decimal),
*_per_1000 is ‰, *_per_10k is per 10,000 households, everything else is a count (万 when large).
"""
import math

import pandas as pd
from datetime import date

from queries import periods

# Counts that describe families at risk or in dispute: 1–4 is shown as "<5" wherever published.
SENSITIVE_COUNTS = {"risk_households", "cases_received", "cases_closed", "cases_mediated"}

INDICATORS = {
    # code: (中文名, English name, unit 中文, unit English)
    "coverage_rate": ("村（社区）调解阵地覆盖率", "Village coverage", "%", "%"),
    "rooms_active": ("在用调解阵地", "Active rooms", "个", ""),
    "villages_covered": ("有阵地的村（社区）", "Villages covered", "个", ""),
    "villages_total": ("村（社区）总数", "Villages", "个", ""),
    "rooms_per_10k": ("每万户调解阵地", "Rooms per 10k households", "个/万户", "per 10k"),
    "households_total": ("登记户数", "Registered households", "户", ""),
    "households_screened": ("已排查户数", "Households screened", "户", ""),
    "screening_rate": ("入户排查完成率", "Screening completion", "%", "%"),
    "risk_households": ("中高风险户数", "Medium/high-risk households", "户", ""),
    "risk_rate_per_1000": ("风险发现率（每千排查户）", "Risk rate per 1,000 screened", "‰", "‰"),
    "cases_received": ("受理纠纷", "Cases received", "件", ""),
    "cases_closed": ("办结纠纷", "Cases closed", "件", ""),
    "cases_mediated": ("调解成功", "Cases mediated", "件", ""),
    "mediation_success_rate": ("调处成功率", "Mediation success", "%", "%"),
    "cases_per_10k": ("每万户受理纠纷", "Cases per 10k households", "件/万户", "per 10k"),
}

# Short names for cards, where the full name would be cut off.
SHORT = {
    "coverage_rate": ("阵地覆盖率", "Coverage"),
    "screening_rate": ("排查完成率", "Screening"),
    "risk_rate_per_1000": ("风险发现率", "Risk rate"),
    "mediation_success_rate": ("调处成功率", "Mediation success"),
    "cases_received": ("受理纠纷", "Cases"),
}

# Numerator and denominator behind each rate (for tooltips and tables).
PARTS = {
    "coverage_rate": ("villages_covered", "villages_total"),
    "rooms_per_10k": ("rooms_active", "households_total"),
    "screening_rate": ("households_screened", "households_total"),
    "risk_rate_per_1000": ("risk_households", "households_screened"),
    "mediation_success_rate": ("cases_mediated", "cases_closed"),
    "cases_per_10k": ("cases_received", "households_total"),
}

MISSING = "—"


def is_missing(value) -> bool:
    # pd.NA (nullable columns of imported data) has no truth value: test it before comparing
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return (isinstance(value, float) and math.isnan(value)) or bool(value != value)


def label(code: str, lang: str = "zh", short: bool = False) -> str:
    zh, en, *_ = SHORT[code] if short and code in SHORT else INDICATORS[code]
    return zh if lang == "zh" else en


def value(code: str, v, lang: str = "zh", extra_digits: int = 0) -> str:
    """Format one indicator value for display; missing → "—", small sensitive counts → "<5".

    ``extra_digits`` adds decimals to a rate (legend bounds that would otherwise read alike).
    """
    if is_missing(v):
        return MISSING
    if code.endswith("_rate"):
        return f"{v * 100:.{1 + extra_digits}f}%"
    if code.endswith("_per_1000"):
        return f"{v:.{1 + extra_digits}f}‰"
    if code.endswith("_per_10k"):
        return f"{v:.{2 + extra_digits}f}"
    return count(v, lang, sensitive=code in SENSITIVE_COUNTS)


def distinct_digits(code: str, values, lang: str = "zh", most: int = 3) -> int:
    """The fewest extra decimals (up to ``most``) that keep ``values`` apart when formatted."""
    known = [v for v in values if not is_missing(v)]
    for extra in range(most + 1):
        if len({value(code, v, lang, extra) for v in known}) == len(set(known)):
            return extra
    return most


def count(v, lang: str = "zh", sensitive: bool = False) -> str:
    """A count: 1–4 of a sensitive count → "<5"; 万/亿 for large numbers in Chinese."""
    if is_missing(v):
        return MISSING
    n = int(round(float(v)))
    if sensitive and 0 < n < 5:
        return "<5"
    if lang != "zh":
        return f"{n:,}"
    if abs(n) >= 100_000_000:
        return f"{n / 100_000_000:.2f}亿"
    if abs(n) >= 1_000_000:
        return f"{n / 10_000:.1f}万"
    if abs(n) >= 10_000:
        return f"{n / 10_000:.2f}万"
    return str(n)


def change(code: str, now, before, lang: str = "zh") -> str | None:
    """The change from the previous period, in the indicator's unit (percentage points for shares)."""
    if is_missing(now) or is_missing(before):
        return None
    diff = now - before
    if code.endswith("_rate"):
        return f"{diff * 100:+.1f}个百分点" if lang == "zh" else f"{diff * 100:+.1f} pp"
    if code.endswith("_per_1000"):
        return f"{diff:+.1f}‰"
    if code.endswith("_per_10k"):
        return f"{diff:+.2f}"
    return f"{int(diff):+d}"


def day(d: date, lang: str = "zh") -> str:
    if is_missing(d):
        return MISSING
    return f"{d.year}年{d.month}月{d.day}日" if lang == "zh" else d.strftime("%-d %b %Y")


def period_label(code: str, lang: str = "zh") -> str:
    p = periods.parse(code)
    if p.kind == "year":
        return f"{p.start.year}年" if lang == "zh" else str(p.start.year)
    if p.kind == "quarter":
        q = (p.start.month - 1) // 3 + 1
        return f"{p.start.year}年第{'一二三四'[q - 1]}季度" if lang == "zh" else f"{p.start.year} Q{q}"
    return f"{p.start.year}年{p.start.month}月" if lang == "zh" else p.start.strftime("%b %Y")


def range_label(lo, hi, code: str, lang: str = "zh") -> str:
    return f"{value(code, lo, lang)} – {value(code, hi, lang)}"
