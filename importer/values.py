"""Cell values as people type them, turned into numbers, dates and periods.

Every parser takes one raw cell and returns (value, problem): problem is None or a key of
``messages.PROBLEMS``. Columns are parsed through ``parse_distinct``, which parses each distinct
value once (a 5-million-row ledger holds a few thousand distinct dates and townships).
"""
import math
import re
from datetime import date, datetime, timedelta
from typing import Callable

import numpy as np
import pandas as pd

from importer.fields import CONTROL, OUTCOMES, RISK_LEVELS, YES_NO, clean_text, header_forms

EXCEL_EPOCH = date(1899, 12, 30)
OLDEST = date(1990, 1, 1)
MAX_CELL = 1000  # characters; a longer cell is a pasted document, not a value
PYTHON_TEXT_MAX = 5000  # distinct texts cleaned one by one in Python; more go through Arrow

_UNITS = re.compile(r"(户|个|人|名|家|次|件|处|间|座|所|位|例|起|年|年度)$")
_SEPARATORS = re.compile(r"[,\s'’]")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
# the date at the start of a cell; what follows it must be a time of day (or nothing)
_DATE_PART = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?:\s*[日号])?")
_COMPACT_PART = re.compile(r"^(\d{4})(\d{2})(\d{2})(?=$|[\sTt])")
_TIME = re.compile(r"^(?:上午|下午|晚上|凌晨|中午|早上)?\s*(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?"
                   r"\s*(?:[ap]\.?m\.?|z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)
_CLOCK = re.compile(r"^(?:上午|下午|晚上|凌晨|中午|早上)?\s*(\d{1,2})\s*[时点](?:\s*(\d{1,2})\s*分?)?"
                    r"(?:\s*(\d{1,2})\s*秒)?(?:半|整)?$")
_MONTH = re.compile(r"^(\d{4})[-/.年](\d{1,2})月?(?:份)?$")
_COMPACT_MONTH = re.compile(r"^(\d{4})(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})(?:年)?[-/. ]?(?:第)?(?:q|Q)?([1-4一二三四])(?:季度|季|q)?$")
_QUARTER_Q = re.compile(r"^(\d{4})[-/. ]?[qQ]([1-4])$")
_YEAR = re.compile(r"^(\d{4})年?(?:度|全年)?$")
_DMS = re.compile(r"^(\d{1,3})[°度](?:(\d{1,2}(?:\.\d+)?)['′分])?(?:(\d{1,2}(?:\.\d+)?)[\"″秒])?$")
_CHINESE_DIGITS = {"一": "1", "二": "2", "三": "3", "四": "4"}


def text(raw) -> tuple[str | None, str | None]:
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None, None
    if isinstance(raw, (datetime, date)):
        return raw.isoformat()[:10], None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)  # an id typed as a number: 1001, not 1001.0
    value = clean_text(raw)
    if not value:
        return None, None
    if len(value) > MAX_CELL:
        return None, "too_long"
    return value, None


def _numeric_text(raw) -> tuple[str | None, float | None]:
    """('', None) for blank; (cleaned text, number or None)."""
    if isinstance(raw, bool):
        return str(raw), None
    if isinstance(raw, (int, np.integer)):
        return str(raw), float(raw)
    if isinstance(raw, (float, np.floating)):
        return ("", None) if math.isnan(raw) else (str(raw), float(raw))
    value = clean_text(raw)
    if not value:
        return "", None
    if len(value) > MAX_CELL:
        return value[:40], None
    squeezed = _SEPARATORS.sub("", value)
    scale = 1.0
    if squeezed.endswith("万"):
        squeezed, scale = squeezed[:-1], 10_000.0
    squeezed = _UNITS.sub("", squeezed)
    if squeezed.endswith("万"):  # 1.2万户
        squeezed, scale = squeezed[:-1], 10_000.0
    if _NUMBER.match(squeezed):
        return value, float(squeezed) * scale
    return value, None


def integer(raw) -> tuple[int | None, str | None]:
    value, number = _numeric_text(raw)
    if value == "":
        return None, None
    if number is None:
        if value.endswith("%"):
            return None, "percent_not_count"
        return None, "not_a_number"
    if number < 0:
        return None, "negative"
    if abs(number - round(number)) > 1e-9:
        return None, "not_whole"
    if number > 2_000_000_000:
        return None, "too_large"
    return int(round(number)), None


def number(raw) -> tuple[float | None, str | None]:
    """A decimal; "85%" is 0.85."""
    value, parsed = _numeric_text(raw)
    if value == "":
        return None, None
    if parsed is None and value.endswith("%"):
        inner, parsed_inner = _numeric_text(value[:-1])
        if parsed_inner is not None:
            return parsed_inner / 100, None
    if parsed is None:
        return None, "not_a_number"
    return parsed, None


def coordinate(raw) -> tuple[float | None, str | None]:
    """Decimal degrees, or degrees-minutes-seconds (118°30′15″)."""
    value, parsed = _numeric_text(raw)
    if value == "":
        return None, None
    if parsed is None:
        found = _DMS.match(value.replace(" ", "").replace("′′", "″"))
        if not found:
            return None, "not_a_coordinate"
        degrees, minutes, seconds = (float(g) if g else 0.0 for g in found.groups())
        parsed = degrees + minutes / 60 + seconds / 3600
    return parsed, None


def _serial(number_value: float) -> date | None:
    if 20_000 <= number_value <= 80_000:
        return EXCEL_EPOCH + timedelta(days=int(number_value))
    return None


def _checked(year: int, month: int, day: int) -> tuple[date | None, str | None]:
    if year < 1:
        return None, "bad_date"
    if not 1 <= month <= 12:
        return None, f"bad_month|{month}"
    try:
        return date(year, month, day), None
    except ValueError:
        return None, f"bad_day|{year:04d}-{month:02d}-{day:02d}"


def _time_ok(rest: str) -> bool:
    """True when what follows a date is a time of day (its date part is all we keep)."""
    found = _TIME.match(rest) or _CLOCK.match(rest)
    if not found:
        return False
    hour, minute, second = (int(g) if g else 0 for g in found.groups())
    return hour <= 24 and minute <= 59 and second <= 60


def day(raw) -> tuple[date | None, str | None]:
    """A day; a date-time gives its date part ("2025-05-27 11:00:00", "2025/5/27 11:00",
    an Excel date-time cell or a serial with a fraction of a day: 45804.4583)."""
    if raw is None:
        return None, None
    if isinstance(raw, datetime):
        return raw.date(), None
    if isinstance(raw, date):
        return raw, None
    if isinstance(raw, (int, float, np.integer, np.floating)) and not isinstance(raw, bool):
        if isinstance(raw, float) and math.isnan(raw):
            return None, None
        got = _serial(float(raw))
        return (got, None) if got else (None, "bad_date")
    value = clean_text(raw) if not isinstance(raw, str) or len(raw) < 60 else raw
    if not value:
        return None, None
    found = _DATE_PART.match(value) or _COMPACT_PART.match(value)
    if found:
        rest = value[found.end():].strip().lstrip("Tt").strip()
        if rest and not _time_ok(rest):
            return None, f"bad_time|{rest[:20]}"
        return _checked(*(int(g) for g in found.groups()))
    if _NUMBER.match(value):
        got = _serial(float(value))
        return (got, None) if got else (None, "bad_date")
    squeezed = value.replace(" ", "")
    if _MONTH.match(squeezed) or _COMPACT_MONTH.match(squeezed):
        return None, "month_not_day"
    return None, "bad_date"


def period(raw) -> tuple[tuple[date, date] | None, str | None]:
    """A month, a quarter or a year, as (first day, last day)."""
    if isinstance(raw, datetime):
        raw = raw.date()
    if isinstance(raw, date):  # Excel turned "2024-03" into 2024-03-01: the month
        return _month(raw.year, raw.month)
    if isinstance(raw, (int, float, np.integer, np.floating)) and not isinstance(raw, bool):
        if isinstance(raw, float) and math.isnan(raw):
            return None, None
        got = _serial(float(raw))
        if got:
            return _month(got.year, got.month)
        raw = str(int(raw)) if float(raw).is_integer() else str(raw)
    value = clean_text(raw).replace(" ", "")
    if not value:
        return None, None
    for pattern in (_MONTH, _COMPACT_MONTH):
        found = pattern.match(value)
        if found:
            return _month(int(found.group(1)), int(found.group(2)))
    for pattern in (_QUARTER_Q, _QUARTER):
        found = pattern.match(value)
        if found:
            quarter = int(_CHINESE_DIGITS.get(found.group(2), found.group(2)))
            first = date(int(found.group(1)), 3 * quarter - 2, 1)
            return (first, _month(first.year, first.month + 2)[0][1]), None
    found = _YEAR.match(value)
    if found:
        year = int(found.group(1))
        return (date(year, 1, 1), date(year, 12, 31)), None
    if _DATE_PART.match(value):
        return None, "day_not_period"
    return None, "bad_period"


def _month(year: int, month: int) -> tuple[tuple[date, date] | None, str | None]:
    if not 1 <= month <= 12:
        return None, "bad_period"
    first = date(year, month, 1)
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return (first, nxt - timedelta(days=1)), None


def _choice(table: dict[str, str]) -> Callable:
    lookup = {header_forms(k)[0]: v for k, v in table.items()}

    def parse(raw) -> tuple[str | None, str | None]:
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        value = clean_text(raw)
        if not value:
            return None, None
        forms = header_forms(value)
        for form in forms:
            if form in lookup:
                return lookup[form], None
        return None, "bad_choice"
    return parse


risk_level = _choice(RISK_LEVELS)
outcome = _choice(OUTCOMES)


def yes_no(raw) -> tuple[bool | None, str | None]:
    if isinstance(raw, bool):
        return raw, None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    value = clean_text(raw).lower()
    if not value:
        return None, None
    if value in YES_NO:
        return YES_NO[value], None
    return None, "bad_yes_no"


def code(raw) -> tuple[str | None, str | None]:
    """A township's division code: 12 digits (a 9-digit township code is padded; a village's
    12-digit code gives its township, the first 9 digits and 000)."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    value = clean_text(raw).replace(" ", "")
    if not value:
        return None, None
    if re.fullmatch(r"\d{12}", value):
        if value[6:9] != "000" and value[9:] != "000":  # a village (地区编码 of a case list)
            return value[:9] + "000", None
        return value, None
    if re.fullmatch(r"\d{9}", value):
        return value + "000", None
    if re.fullmatch(r"\d{6}", value):
        return value + "000000", None
    return None, "bad_code"


PARSERS: dict[str, Callable] = {
    "text": text, "code": code, "int": integer, "float": number, "date": day, "period": period,
    "bool": yes_no, "lon": coordinate, "lat": coordinate,
}


def parser_for(kind: str, field_name: str, field_type: str) -> Callable:
    if field_type == "choice":
        return outcome if field_name == "outcome" else risk_level
    return PARSERS[field_type]


def parse_distinct(raw: pd.Series, parse: Callable) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes, values, problems): row i reads values[codes[i]], problems[codes[i]].

    Each distinct cell is parsed once; blank cells (NaN, None) share the last code. The caller can
    check and fix the few distinct values instead of every row, and build its columns by `take`.
    """
    if parse is text and _all_str(raw) and _mostly_distinct(raw):
        # ids: hashing them finds no repeats to save work on; clean every cell in Arrow
        got, bad = _text_column(raw)
        return np.arange(len(raw)), got, bad
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    codes = np.where(codes < 0, len(uniques), codes)  # blank -> the last slot: (None, None)
    if parse is text and _all_str(raw) and len(uniques) > PYTHON_TEXT_MAX:
        got, bad = _text_column(pd.Series(uniques))
        return codes, np.append(got, None), np.append(bad, None)
    parsed = [parse(cell) for cell in uniques] + [(None, None)]
    values = np.empty(len(parsed), dtype=object)
    problems = np.empty(len(parsed), dtype=object)
    for i, (value, problem) in enumerate(parsed):
        values[i], problems[i] = value, problem
    return codes, values, problems


def _mostly_distinct(raw: pd.Series, sample: int = 2000) -> bool:
    head = raw.iloc[:sample]
    return len(raw) > PYTHON_TEXT_MAX and head.nunique(dropna=False) > 0.8 * len(head)


def _all_str(raw: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(raw) or bool(raw.map(type).eq(str).all())


def _text_column(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    # Free text with many distinct values (household ids): vectorised, not one Python call per cell.
    cleaned = raw.astype("string[pyarrow]").str.replace(CONTROL, "", regex=True)  # as clean_text does
    wide = ~cleaned.str.isascii().fillna(True).to_numpy()
    if wide.any():  # NFKC is slow per cell; ASCII needs none
        cleaned = cleaned.copy()
        cleaned[wide] = cleaned[wide].str.normalize("NFKC")
    cleaned = cleaned.str.strip().str.replace("[ \t\r\n　]+", " ", regex=True)  # Arrow, not re
    too_long = cleaned.str.len().gt(MAX_CELL).fillna(False).to_numpy()
    blank = cleaned.isna().to_numpy() | cleaned.eq("").fillna(True).to_numpy()
    values = cleaned.astype(object).to_numpy(copy=True)
    values[blank | too_long] = None
    problems = np.full(len(raw), None, dtype=object)
    problems[too_long] = "too_long"
    return values, problems


_LABELLED = re.compile(r"(填报月份|统计月份|报送月份|统计时间|统计期间|统计期|所属月份|报表月份|时间范围)[:：]?\s*(.+)")
_IN_TITLE = (
    (re.compile(r"(\d{4})\s*年\s*度?\s*第?\s*([一二三四1-4])\s*季度"), "quarter"),
    (re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*[-—–~至到]\s*(\d{1,2})\s*月"), "months"),
    (re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?!\s*\d{1,2}\s*日)"), "month"),
    (re.compile(r"[(（]\s*(\d{1,2})\s*月(?:份)?\s*[)）]"), "month_no_year"),
    (re.compile(r"(\d{4})\s*年\s*(?:度|全年)"), "year"),
)
_FILED_ON = re.compile(r"(填报日期|填表日期|报送日期|制表日期)")


def period_in_text(lines: list[str]) -> tuple[tuple[date, date], str] | None:
    """The period a statistical return states above its table: ((first day, last day), the line it
    came from). A 填报月份 line first, then the title ("XX县2025年4月…统计表", "2025年度第二季度",
    "…统计表（6 月）" with the year from another line). A 填报日期 names the day of filing, not the
    period, and is never read as one."""
    texts = [clean_text(line) for line in lines if clean_text(line)]
    for text_ in texts:
        found = _LABELLED.search(text_)
        if found:
            value = re.split(r"\s{2,}|　|填报|制表|单位", found.group(2).strip())[0]
            span, problem = period(value.replace(" ", ""))
            if span and not problem:
                return span, text_
    year = next((m.group(1) for t_ in texts for m in [re.search(r"(\d{4})\s*年", t_)] if m), None)
    for text_ in texts:
        if _FILED_ON.search(text_) and not _LABELLED.search(text_):
            continue
        for pattern, kind in _IN_TITLE:
            found = pattern.search(text_)
            if not found:
                continue
            g = found.groups()
            if kind == "quarter":
                span, _ = period(f"{g[0]}年第{g[1]}季度")
            elif kind == "months":
                first, _ = _month(int(g[0]), int(g[1]))
                last, _ = _month(int(g[0]), int(g[2]))
                span = (first[0], last[1]) if first and last and first[0] <= last[1] else None
            elif kind == "month":
                span, _ = _month(int(g[0]), int(g[1]))
            elif kind == "month_no_year":
                span = _month(int(year), int(g[0]))[0] if year else None
            else:
                span = (date(int(g[0]), 1, 1), date(int(g[0]), 12, 31))
            if span:
                return span, text_
    return None
