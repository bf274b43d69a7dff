"""The one place an indicator is described: its names, unit, parts, palette, yardsticks and
whether small counts of it are suppressed. Pages, exports, snapshots and the CLI read it here.

A rate is computed in SQL (queries/indicators.sql) as ``numerator / denominator * multiplier``
from summed counts; ``unit`` decides how it is formatted (indicators/fmt.py).
"""
from dataclasses import dataclass

UNITS = ("share", "per_1000", "per_10k", "count", "pp")  # pp: percentage points, a 0–1 difference
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


@dataclass(frozen=True)
class Indicator:
    code: str                        # the CLI's column name: coverage_rate
    label: dict[str, str]            # {"zh": "村（社区）调解阵地覆盖率", "en": "Village coverage"}
    unit: str                        # share | per_1000 | per_10k | count
    unit_label: dict[str, str]       # {"zh": "%", "en": "%"}
    numerator: str | None = None     # villages_covered (None for a count)
    denominator: str | None = None   # villages_total
    multiplier: float = 1            # the rate is numerator / denominator × multiplier
    palette: str = "Greens"          # geo/maps.PALETTES
    thresholds: tuple[float, ...] = ()  # the federations' yardsticks (upper bounds), for the fixed scheme
    per_month: float | None = None   # thresholds grow with the period: × this × months in it
    sensitive: bool = False          # a count of families at risk or in dispute: 1–4 shown as "<5"
    short: dict[str, str] | None = None  # a shorter name for cards, where the full one is cut off
    rising_is_bad: bool = False      # a rise is drawn red on the cards (the risk rate)
    by_risk_level: bool = False      # counts the risk levels the filter chose: its name says which
    to_date: bool = False            # 本年累计: counted from 1 January (queries/_macros.sql screening_to_date)
    added: str | None = None         # the column of what the period added to it (本月新增)

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"{self.code}: bad unit {self.unit!r}, expected one of {UNITS}")
        if (self.numerator is None) != (self.denominator is None):
            raise ValueError(f"{self.code}: a rate needs both a numerator and a denominator")

    @property
    def is_rate(self) -> bool:
        return self.denominator is not None

    def name(self, lang: str = "zh", short: bool = False) -> str:
        names = self.short if short and self.short else self.label
        return names["zh"] if lang == "zh" else names["en"]

    def thresholds_for(self, period_kind: str, months_to_date: int | None = None) -> tuple[float, ...] | None:
        """The fixed thresholds for a period of ``period_kind`` ('month', 'quarter' or 'year');
        None when the indicator has none. A year-to-date indicator's yardstick grows with the
        months from January to the period's end (``months_to_date``: 3 for March or Q1)."""
        if not self.thresholds:
            return None
        if self.per_month is None:
            return self.thresholds
        months = months_to_date if self.to_date and months_to_date else _MONTHS[period_kind]
        return tuple(round(b * self.per_month * months, 6) for b in self.thresholds)


def _count(code, zh, en, unit_zh, sensitive=False, short=None):
    return Indicator(code, {"zh": zh, "en": en}, "count", {"zh": unit_zh, "en": ""}, sensitive=sensitive,
                     short=short)


# In the published order: queries.indicators.FIELDS (the CLI's JSON columns) is made from it.
# Add, never rename or reorder: other tools rely on the names.
INDICATORS: dict[str, Indicator] = {i.code: i for i in (
    _count("households_total", "登记户数", "Registered households", "户"),
    _count("villages_total", "村（社区）总数", "Villages", "个"),
    _count("rooms_active", "在用调解阵地", "Active rooms", "个"),
    _count("villages_covered", "有阵地的村（社区）", "Villages covered", "个"),
    Indicator("coverage_rate", {"zh": "村（社区）调解阵地覆盖率", "en": "Village coverage"}, "share",
              {"zh": "%", "en": "%"}, "villages_covered", "villages_total", palette="Blues",
              thresholds=(0.5, 0.7, 0.9, 1.0), short={"zh": "阵地覆盖率", "en": "Coverage"}),
    Indicator("rooms_per_10k", {"zh": "每万户调解阵地", "en": "Rooms per 10k households"}, "per_10k",
              {"zh": "个/万户", "en": "per 10k"}, "rooms_active", "households_total", multiplier=10_000,
              thresholds=(0.5, 1.0, 2.0, 4.0)),
    _count("households_screened", "已排查户数", "Households screened", "户"),
    # screening thresholds are shares of the year's target: × the period's share of the year
    Indicator("screening_rate", {"zh": "入户排查完成率", "en": "Screening completion"}, "share",
              {"zh": "%", "en": "%"}, "households_screened", "households_total", palette="Greens",
              thresholds=(0.5, 0.75, 0.9, 1.0), per_month=1 / 12, short={"zh": "排查完成率", "en": "Screening"}),
    Indicator("risk_households", {"zh": "中高风险户数", "en": "Medium/high-risk households"}, "count",
              {"zh": "户", "en": ""}, sensitive=True, by_risk_level=True),
    Indicator("risk_rate_per_1000", {"zh": "风险发现率（每千排查户）", "en": "Risk rate per 1,000 screened"},
              "per_1000", {"zh": "‰", "en": "‰"}, "risk_households", "households_screened", multiplier=1000,
              palette="Reds", thresholds=(10.0, 20.0, 40.0, 80.0), short={"zh": "风险发现率", "en": "Risk rate"},
              rising_is_bad=True, by_risk_level=True),
    _count("cases_received", "受理纠纷", "Cases received", "件", sensitive=True, short={"zh": "受理纠纷", "en": "Cases"}),
    _count("cases_closed", "办结纠纷", "Cases closed", "件", sensitive=True),
    _count("cases_mediated", "调解成功", "Cases mediated", "件", sensitive=True),
    Indicator("mediation_success_rate", {"zh": "调处成功率", "en": "Mediation success"}, "share",
              {"zh": "%", "en": "%"}, "cases_mediated", "cases_closed", thresholds=(0.6, 0.8, 0.9, 1.0),
              short={"zh": "调处成功率", "en": "Mediation success"}),
    # cases thresholds are per month: × months in the period
    Indicator("cases_per_10k", {"zh": "每万户受理纠纷", "en": "Cases per 10k households"}, "per_10k",
              {"zh": "件/万户", "en": "per 10k"}, "cases_received", "households_total", multiplier=10_000,
              palette="Reds", thresholds=(1.0, 2.0, 5.0, 10.0), per_month=1.0,
              short={"zh": "每万户纠纷", "en": "Cases per 10k"}),
    # 本年累计 (added later, published after the roll-up's columns: queries/indicators.FIELDS):
    # completion from 1 January to the period's end, as federations report it, and what the
    # period added (YTD − YTD at the previous period's end, in percentage points)
    _count("households_screened_ytd", "本年累计排查户数", "Households screened, year to date", "户",
           short={"zh": "本年累计排查", "en": "Screened YTD"}),
    Indicator("screening_rate_ytd", {"zh": "入户排查完成率（本年累计）", "en": "Screening completion, year to date"},
              "share", {"zh": "%", "en": "%"}, "households_screened_ytd", "households_total", palette="Greens",
              thresholds=(0.5, 0.75, 0.9, 1.0), per_month=1 / 12,
              short={"zh": "本年累计排查完成率", "en": "Screening, YTD"}, to_date=True, added="screening_rate_added"),
    Indicator("screening_rate_added", {"zh": "排查完成率本期新增", "en": "Screening completion added in the period"},
              "pp", {"zh": "个百分点", "en": "pp"}, short={"zh": "本期新增", "en": "Added"}),
)}


def get(code: str) -> Indicator:
    try:
        return INDICATORS[code]
    except KeyError:
        raise ValueError(f"unknown indicator {code!r}; add it to indicators/registry.py") from None


def parts(code: str) -> tuple[str, str] | None:
    """(numerator, denominator) behind a rate, None for a count (or a code not in the registry)."""
    found = INDICATORS.get(code)
    return (found.numerator, found.denominator) if found is not None and found.is_rate else None


# A rate over households or villages rolls up over the townships that know them; the indicators
# table says how many it left out (queries/indicators.sql).
UNKNOWN_OF = {"households_total": "households_unknown", "villages_total": "villages_unknown"}


def left_out(code: str, row) -> tuple[int, int] | None:
    """(townships counted, townships) behind a rolled-up rate of ``row`` (an indicators row), when
    some townships were left out for an unknown denominator; None otherwise."""
    found = INDICATORS.get(code)
    column = UNKNOWN_OF.get(found.denominator) if found is not None and found.is_rate else None
    if column is None or column not in row or "townships" not in row:
        return None
    missing, total = row[column], row["townships"]
    if missing is None or missing != missing or not missing:
        return None
    return int(total) - int(missing), int(total)


def thresholds(code: str, period_kind: str, months_to_date: int | None = None) -> tuple[float, ...] | None:
    """The fixed thresholds of ``code`` for a period of ``period_kind`` (ending ``months_to_date``
    months after 1 January, for a year-to-date indicator); None when it has none."""
    found = INDICATORS.get(code)
    return None if found is None else found.thresholds_for(period_kind, months_to_date)
