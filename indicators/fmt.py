"""Numbers, rates, dates and periods the Chinese way (and the English way), in one place.

The indicator's unit (indicators/registry.py) decides its format: a share is a 0–1 value shown as
百分比 (one decimal), per_1000 is ‰, per_10k is per 10,000 households, a count is a count (万 when
large, "<5" for 1–4 of a sensitive one). No streamlit: the pages, exports and snapshots all use it.
"""
import math
from datetime import date

import pandas as pd

from indicators import registry
from indicators.suppress import Exact, Hidden
from queries import periods

MISSING = "—"


def hidden(v: Hidden, lang: str = "zh") -> str:
    """The mark of a suppressed cell: "<5", "×" (hidden so no other can be worked out) or "—（数值较小）"."""
    from i18n.text import t

    return t(f"HIDDEN_{v.kind}", lang)


def is_missing(value) -> bool:
    # pd.NA (nullable columns of imported data) has no truth value: test it before comparing
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return (isinstance(value, float) and math.isnan(value)) or bool(value != value)


def rollup_notes(row, codes, lang: str = "zh") -> list[str]:
    """'排查率、每万户阵地数按 14/15 个有户数底数的乡镇计算' for the rates of ``codes`` in ``row``
    that left townships out (their households or villages unknown), one line per denominator."""
    from i18n.text import t

    by_base: dict[str, list[str]] = {}
    counted: dict[str, tuple[int, int]] = {}
    for code in codes:
        found = registry.left_out(code, row)
        if found is not None:
            base = registry.get(code).denominator
            by_base.setdefault(base, []).append(label(code, lang, short=True))
            counted[base] = found
    sep = "、" if lang == "zh" else ", "
    return [t(f"ROLLUP_{'NONE' if counted[base] == (0, 1) else 'LEFT_OUT'}_{base}", lang, rates=sep.join(names),
              counted=counted[base][0], total=counted[base][1]) for base, names in by_base.items()]


def aside(text, lang: str = "zh") -> str:
    """``text`` in brackets after what it qualifies: （12 个乡镇） in Chinese, " (12 townships)" in
    English (full-width brackets in an English legend read as a typo)."""
    return f"（{text}）" if lang == "zh" else f" ({text})"


def absent(value) -> bool:
    """Missing and not merely hidden: a hidden rate is a rate (its township keeps its class)."""
    return is_missing(value) and not isinstance(value, Hidden)


def label(code: str, lang: str = "zh", short: bool = False) -> str:
    return registry.get(code).name(lang, short)


def _unit(code: str) -> str:
    found = registry.INDICATORS.get(code)
    return "count" if found is None else found.unit


def _sensitive(code: str) -> bool:
    found = registry.INDICATORS.get(code)
    return found is not None and found.sensitive


# Decimals shown per unit: what value() and change() print, and so the smallest difference a
# reader can see (step()). A map class narrower than that step paints an invisible difference.
DECIMALS = {"share": 1, "per_1000": 1, "per_10k": 2, "count": 0, "pp": 1}


def step(code: str) -> float:
    """The smallest difference the display shows, in the value's own unit: 0.001 for a share
    (0.1 of a percent), 0.1 for ‰, 0.01 per 10,000, 1 for a count."""
    unit = _unit(code)
    return 10.0 ** -DECIMALS[unit] / (100 if unit in ("share", "pp") else 1)


def value(code: str, v, lang: str = "zh", extra_digits: int = 0) -> str:
    """Format one indicator value for display; missing → "—", small sensitive counts → "<5".

    ``extra_digits`` adds decimals to a rate (legend bounds that would otherwise read alike).
    """
    if isinstance(v, Hidden):
        return hidden(v, lang)
    if is_missing(v):
        return MISSING
    unit = _unit(code)
    if unit == "share":
        return f"{v * 100:.{1 + extra_digits}f}%"
    if unit == "pp":  # percentage points: what a period added to a year-to-date share
        return f"{v * 100:.{1 + extra_digits}f}" + (" 个百分点" if lang == "zh" else " pp")
    if unit == "per_1000":
        return f"{v:.{1 + extra_digits}f}‰"
    if unit == "per_10k":
        return f"{v:.{2 + extra_digits}f}"
    return count(v, lang, sensitive=_sensitive(code))


def distinct_digits(code: str, values, lang: str = "zh", most: int = 3) -> int:
    """The fewest extra decimals (up to ``most``) that keep ``values`` apart when formatted."""
    known = [v for v in values if not is_missing(v)]
    for extra in range(most + 1):
        if len({value(code, v, lang, extra) for v in known}) == len(set(known)):
            return extra
    return most


def count(v, lang: str = "zh", sensitive: bool = False) -> str:
    """A count: 1–4 of a sensitive count → "<5" (unless an admin's :class:`Exact`); 万/亿 for
    large numbers in Chinese; a :class:`Hidden` cell → its mark."""
    if isinstance(v, Hidden):
        return hidden(v, lang)
    if is_missing(v):
        return MISSING
    n = int(round(float(v)))
    if sensitive and 0 < n < 5 and not isinstance(v, Exact):
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


def unchanged(code: str, now, before) -> bool:
    """True when both values are known and their difference rounds to zero at the display's
    precision: the change is shown as 持平, neither up nor down."""
    if is_missing(now) or is_missing(before):
        return False
    return round((now - before) / step(code)) == 0


def _in_unit(code: str, diff: float, lang: str, signed: bool) -> str:
    """A difference in the indicator's unit, at the display's precision: with its sign
    (+1.2个百分点, +1.2 pp) for a change, without (0.3 个百分点, 0.3 percentage points) for a spread."""
    unit, sign = _unit(code), "+" if signed else ""
    if unit in ("share", "pp"):
        words = {("zh", True): "个百分点", ("zh", False): " 个百分点", ("en", True): " pp",
                 ("en", False): " percentage points"}[("zh" if lang == "zh" else "en", signed)]
        return f"{diff * 100:{sign}.1f}{words}"
    if unit == "count":
        return f"{int(round(diff)):{sign}d}"
    return f"{diff:{sign}.{DECIMALS[unit]}f}" + ("‰" if unit == "per_1000" else "")


def difference(code: str, diff: float, lang: str = "zh") -> str:
    """An unsigned difference in the indicator's unit: 0.3 个百分点, 0.3 percentage points, 1.2‰."""
    return _in_unit(code, diff, lang, signed=False)


def change(code: str, now, before, lang: str = "zh") -> str | None:
    """The change from the previous period, in the indicator's unit (percentage points for shares);
    持平 / "no change" when it rounds to zero; None when either is missing or hidden (a change
    from a hidden count would give it back)."""
    if is_missing(now) or is_missing(before):
        return None
    if unchanged(code, now, before):
        from i18n.text import t

        return t("CHANGE_NONE", lang)
    return _in_unit(code, now - before, lang, signed=True)


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

