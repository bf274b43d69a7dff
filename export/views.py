"""The view model: everything an export of one dashboard view shows, computed once, as text and
frames. Every format (PNG, PDF, PPTX, HTML, DOCX) renders from a :class:`View`; none runs a query.

The numbers come from the pages' own queries (``queries.indicators.shown`` with the sidebar's
filters, ``queries.pacing.pacing``, ``geo.risk.table``, ``data_span``, ``rooms_in_period``,
``township_shapes``) and are formatted by ``indicators.fmt``: small counts, and what would give
them away, are hidden (indicators/suppress.py) exactly as on screen, unless ``ViewSpec.exact``. What each view maps and tables follows its page:

- overview, coverage: the indicator in the user's classes (scheme, k, optionally locked);
- screening (排查进度): red/amber/green pace per township, the laggards ranked by pace;
- hotspots (风险热点): the smoothed rate of the page's measure (风险发现率 or 每万户受理纠纷:
  ``ViewSpec.hotspot_of``) with its Gi*/local Moran hot and cold spots, the townships ranked by
  smoothed rate with their class.
"""
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property

import duckdb
import geopandas as gpd
import pandas as pd

from export import colour
from export.text import t
from geo import boundaries, classify, maps, risk, shapes
from queries import indicators, pacing, periods, runner
from indicators import fmt, legend, registry, suppress

VIEWS = ("overview", "coverage", "screening", "hotspots")
# The indicator behind each view (overview and coverage map it in classes, in its palette;
# screening maps its pace status, hotspots its hotspot classes).
# Screening is shown to date (本年累计, queries/_macros.sql screening_to_date), as on the pages.
MAPPED = {"overview": "screening_rate_ytd", "coverage": "coverage_rate", "screening": "screening_rate_ytd",
          "hotspots": "risk_rate_per_1000"}
KPI_CODES = ["coverage_rate", "screening_rate_ytd", "risk_rate_per_1000", "mediation_success_rate"]
# Each view's indicator columns (export.saved freezes these per township): for overview and
# coverage also the indicator that ranks the table and which way. Screening ranks by pace and
# hotspots by smoothed rate instead (pace_ranking, hotspot_ranking).
RANKINGS = {
    "overview": (None, True, ["coverage_rate", "screening_rate_ytd", "risk_rate_per_1000", "cases_received",
                              "mediation_success_rate"]),
    "coverage": ("coverage_rate", True, ["coverage_rate", "villages_covered", "villages_total", "rooms_active"]),
    "screening": ("screening_rate_ytd", True, ["screening_rate_ytd", "screening_rate_added", "households_screened_ytd",
                                               "households_total"]),
    "hotspots": ("risk_rate_per_1000", False, ["risk_rate_per_1000", "risk_households", "households_screened",
                                               "cases_received"]),
}
RANK_ROWS = 10
# What a city-level map of an indicator shows (ui/state.py UNITS): counties by default, as the
# pages draw it (the sidebar's 全市地图单元), or every township. The screening and hotspot views
# map townships' pace and hotspot classes at every level, as their pages do.
UNITS = ("county", "township")
BY_UNIT = ("overview", "coverage")
# Above a city an export maps the regions one level down (provinces, cities), never townships, in
# every view but hotspots (tested a city or county at a time, as its page says).
CHILD = {"nation": "province", "province": "city"}
COUNTED = {"province": "LEGEND_PROVINCES", "city": "LEGEND_CITIES", "county": "LEGEND_COUNTIES",
           "township": "LEGEND_TOWNSHIPS"}
# What the hotspot view maps (the page's 显示方式): the smoothed rate in classes with the significant
# hot and cold spots outlined (the default), or the hotspot classes alone.
HOTSPOT_SHOWS = ("smoothed", "classes")
# What the hotspot view tests (the page's 地图指标, geo/risk.py MEASURES): the risk rate (the
# default) or cases per 10,000 households, each the indicator of that rate.
HOTSPOT_OFS = tuple(risk.MEASURES)
HOTSPOT_CODES = {of: risk.MEASURES[of][0] for of in HOTSPOT_OFS}
HOT_NAMED = 10  # the brief names at most this many hot (or cold) townships, then 等
TOP_NAMED = 3   # with no hot spot, the brief names the townships with the highest smoothed rate
ROOM_COLOURS = maps.ROOM_COLOURS
OTHER_ROOM_COLOUR = "#555555"


@dataclass(frozen=True)
class ViewSpec:
    """Which view an export shows and how, as on the page: the view, region (None: the city),
    period (None: the latest complete month), language, the viewer's scope, the sidebar's filters
    the map's classes (scheme, k, lock; overview, coverage and the hotspots' smoothed rate), the city
    map's unit (``unit``: counties or townships, overview and coverage), what the hotspot view maps
    (``hotspot_show``: HOTSPOT_SHOWS), which measure it tests (``hotspot_of``: HOTSPOT_OFS) and ``exact``: whether the viewer
    sees exact small counts (admins; indicators/suppress.py). Frozen and hashable: the
    export cache keys on it, and a snapshot is frozen from it."""
    view: str = "overview"
    region: str | None = None
    period: str | None = None
    lang: str = "zh"
    scope: tuple[str, ...] = tuple(indicators.EVERYTHING)
    filters: indicators.Filters = field(default_factory=indicators.Filters)
    scheme: str = legend.SCHEME
    k: int = legend.K
    lock: bool = False
    exact: bool = False
    unit: str = UNITS[0]
    hotspot_show: str = HOTSPOT_SHOWS[0]
    hotspot_of: str = HOTSPOT_OFS[0]

    def __post_init__(self):
        # None means the default (the CLI's unset options), so equal views are equal keys
        if self.scheme is None:
            object.__setattr__(self, "scheme", legend.SCHEME)
        object.__setattr__(self, "k", legend.K if self.k is None else int(self.k))
        object.__setattr__(self, "scope", tuple(indicators.EVERYTHING if self.scope is None else self.scope))
        object.__setattr__(self, "filters", self.filters or indicators.Filters())
        object.__setattr__(self, "lock", bool(self.lock))
        object.__setattr__(self, "exact", bool(self.exact))
        if self.unit is None:
            object.__setattr__(self, "unit", UNITS[0])
        if self.unit not in UNITS:
            raise ValueError(f"bad unit {self.unit!r}: expected one of {', '.join(UNITS)}")
        if self.hotspot_show is None:
            object.__setattr__(self, "hotspot_show", HOTSPOT_SHOWS[0])
        if self.hotspot_show not in HOTSPOT_SHOWS:
            raise ValueError(f"bad hotspot display {self.hotspot_show!r}: expected one of {', '.join(HOTSPOT_SHOWS)}")
        if self.hotspot_of is None:
            object.__setattr__(self, "hotspot_of", HOTSPOT_OFS[0])
        if self.hotspot_of not in HOTSPOT_OFS:
            raise ValueError(f"bad hotspot measure {self.hotspot_of!r}: expected one of {', '.join(HOTSPOT_OFS)}")
        if self.view not in VIEWS:
            raise ValueError(f"bad view {self.view!r}: expected one of {', '.join(VIEWS)}")
        if self.scheme not in classify.SCHEMES:
            raise ValueError(f"bad scheme {self.scheme!r}: expected one of {', '.join(classify.SCHEMES)}")


@dataclass(frozen=True)
class Kpi:
    code: str
    label: str          # short name, as on the cards
    value: str          # formatted, "—" when missing
    change: str | None  # "+1.2个百分点", None when the previous period has no value
    parts: str | None   # "已排查户数 7.38万 ÷ 登记户数 116.6万"
    raw: float | None   # the value behind ``value`` (None when missing)


@dataclass(frozen=True)
class Fact:
    """A figure of the region beside the map, as the screening page's cards: 年度排查目标 12.3万."""
    label: str
    value: str


@dataclass(frozen=True)
class Ranking:
    title: str
    columns: list[str]       # header labels: 排名, 乡镇（街道）, then the view's columns
    codes: list[str]         # indicator codes of the indicator columns, in order (may be empty)
    rows: list[list[str]]    # formatted cells, small sensitive counts as "<5"
    frame: pd.DataFrame      # the rows behind ``rows``, in the same order
    right: list[bool] = field(default_factory=list)  # right-aligned (numeric) columns; default: the codes'
    value_at: int = 3        # the column that ranks the table (the side panel shows it) …
    detail_at: int | None = 2  # … and one more, in grey (county, status or class)
    note: str | None = None  # how it is ranked, when the title does not say

    def __post_init__(self):
        if not self.right:
            first = len(self.columns) - len(self.codes)
            self.right.extend(c >= first for c in range(len(self.columns)))


@dataclass
class View:
    view: str                      # overview | coverage | screening | hotspots
    lang: str
    title: str                     # 风险隐患排查进度
    map_title: str                 # 各乡镇排查进度状态（时间过半、任务过半）
    region_code: str
    region_name: str
    region_level: str              # city | county
    period: str                    # 2025-12
    period_label: str              # 2025年12月
    data_as_of: date | None
    data_as_of_text: str           # 数据截至 2025年12月31日
    code: str                      # the indicator behind the view (MAPPED)
    townships: pd.DataFrame        # indicators.table at township level (+ county_name)
    shapes: gpd.GeoDataFrame       # the polygons drawn (townships, or counties: ``unit``) in WGS84 (+ colour)
    shading: colour.Shading
    kpis: list[Kpi]
    totals: dict[str, str]         # the region's value of every indicator, formatted ("<5" where due)
    ranking: Ranking
    rooms: pd.DataFrame            # active rooms (coverage view only; empty otherwise)
    room_colours: dict[str, str]
    approximate: bool              # any township boundary is approximate → 示意边界
    source: str
    notes: list[str] = field(default_factory=list)  # footnotes: source, 示意边界, "<5" note, filters
    facts: list[Fact] = field(default_factory=list)  # the region's pace (screening view)
    cells: pd.DataFrame | None = None  # per township: region_code, then formatted columns for tooltips
    pace: pd.DataFrame | None = None   # screening: queries.pacing at township level
    hotspots: pd.DataFrame | None = None  # hotspots: geo.risk.table + region_name, county_name
    filters: indicators.Filters = field(default_factory=indicators.Filters)
    summary: str | None = None     # one sentence for the brief: the region's pace, or the hotspots found
    unit: str = "township"         # what ``shapes`` are: township, county (a city's overview or coverage), or above a city province or city
    hotspot_of: str | None = None  # hotspots: the measure tested (HOTSPOT_OFS); None for the other views

    @property
    def subtitle(self) -> str:
        return t("SUBTITLE", self.lang, region=self.region_name, period=self.period_label, as_of=self.data_as_of_text)


def data_source(has_demo: bool, has_imported: bool) -> str:
    """'both' once anything is imported beside the demo (one small import does not make the demo
    real), 'demo' for the demo alone, else 'imported'."""
    if has_demo:
        return "both" if has_imported else "demo"
    return "imported"


class Atlas:
    """The query results several views share, fetched once per (region, period, filters) on one
    connection."""

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection, spec: ViewSpec) -> "Atlas":
        return cls(con, spec.region, spec.period, list(spec.scope), spec.filters, spec.exact)

    def __init__(self, con: duckdb.DuckDBPyConnection, region_code: str | None = None, period: str | None = None,
                 scope: list[str] | None = None, filters: indicators.Filters | None = None, exact: bool = False):
        self.con = con
        self.exact = exact
        self.scope = list(indicators.EVERYTHING if scope is None else scope)
        self.filters = filters or indicators.Filters()
        regions = runner.run(con, "regions_in_atlas", scope=self.scope)
        if regions.empty:
            raise ValueError("no atlas townships in the database; build one with `python cli.py demo`")
        if region_code is None:
            region_code = regions["region_code"].iloc[0]
        if region_code not in set(regions["region_code"]):
            known = ", ".join(f"{c} {n}" for c, n in zip(regions["region_code"], regions["name"]))
            raise ValueError(f"region {region_code!r} is not a city or county of the atlas; choose one of: {known}")
        row = regions.set_index("region_code").loc[region_code]
        self.region_code, self.region_name, self.region_level = region_code, row["name"], row["level"]
        self.county_names = dict(zip(regions["region_code"], regions["name"]))
        if period is None:
            latest = indicators.latest_month(con, self.scope)
            if latest is None:
                raise ValueError("no dated records in the database: nothing to export")
            period = latest.code
        self.period = periods.parse(period).code
        self._tables: dict[tuple, pd.DataFrame] = {}
        self._hidden: dict[str, dict] = {}
        self._pacing: dict[str, pd.DataFrame] = {}
        self._history: dict[tuple, list] = {}
        self._shapes = None
        self._county_shapes = None
        self._region_shapes = None
        self._rooms = None
        self._hotspots: dict[str, pd.DataFrame] = {}

    def table(self, level: str, period: str | None = None) -> pd.DataFrame:
        key = (level, period or self.period)
        if key not in self._tables:
            hidden = None
            if not self.exact:
                if key[1] not in self._hidden:
                    self._hidden[key[1]] = indicators.hidden_cells(self.con, key[1], self.filters)
                hidden = self._hidden[key[1]]
            self._tables[key] = indicators.shown(self.con, level, key[1], self.scope, self.region_code, self.filters,
                                                 self.exact, hidden)
        return self._tables[key]

    def townships(self) -> pd.DataFrame:
        frame = self.table("township").copy()
        frame["county_name"] = frame["parent_code"].map(self.county_names)
        return frame

    def pacing(self, level: str) -> pd.DataFrame:
        """Screening against the year's targets (the page's cards and laggard table); the
        sidebar's filters do not apply to pacing, on the page or here."""
        if level not in self._pacing:
            self._pacing[level] = pacing.pacing(self.con, self.period, self.scope, self.region_code, level=level)
        return self._pacing[level]

    def hotspots(self, of: str = "risk") -> pd.DataFrame:
        """geo.risk.table of the measure ``of`` (geo/risk.py MEASURES), with the filters, as the
        page computes it (ui/data.hotspot_table): what follows from a hidden count is hidden."""
        if of not in self._hotspots:
            found = risk.table(self.con, self.period, self.scope, self.region_code, of=of, filters=self.filters)
            self._hotspots[of] = found if self.exact else suppress.derived(
                found, self.table("township"), risk.MEASURES[of][1], risk.OWN_VALUE)
        return self._hotspots[of]

    def history(self, level: str, code: str) -> list:
        """``code``'s values in every period of this period's kind with data: what a locked scale
        pools (ui/data.indicator_history)."""
        kind = periods.parse(self.period).kind
        key = (level, code, kind)
        if key not in self._history:
            span = runner.run(self.con, "data_span", scope=self.scope).iloc[0]
            if pd.isna(span["first_date"]):
                self._history[key] = []
            else:
                every = [p.code for p in periods.options(pd.Timestamp(span["first_date"]).date(),
                                                         pd.Timestamp(span["last_date"]).date()) if p.kind == kind]
                self._history[key] = [self.table(level, p)[code].astype(float).to_numpy() for p in every]
        return self._history[key]

    def shapes(self) -> gpd.GeoDataFrame:
        if self._shapes is None:
            rows = runner.run(self.con, "township_shapes", scope=indicators.narrow(self.scope, self.region_code) or ["-"])
            frame = boundaries.from_rows(rows)
            self._shapes = shapes.for_view(frame, "city" if self.region_level == "city" else "county")
        return self._shapes

    def region_shapes(self) -> gpd.GeoDataFrame:
        """Above a city: the provinces of the nation or the cities of a province, from county
        outlines (as ui/data.regions_geojson); no township polygon is drawn above a city."""
        if self._region_shapes is None:
            rows = runner.run(self.con, "county_shapes",
                              scope=indicators.narrow(self.scope, self.region_code) or ["-"])
            names = runner.run(self.con, "region_names")
            found = shapes.regions_above_city(boundaries.from_rows(rows), self.region_level,
                                              dict(zip(names["region_code"], names["name"])))
            found["county_code"] = found["region_code"]  # drawn with the thick lines of regions
            self._region_shapes = found
        return self._region_shapes

    def county_shapes(self) -> gpd.GeoDataFrame:
        """The counties, made from their townships' lines (as ui/data.county_geojson), with
        county_code so that the map draws their lines as county lines."""
        if self._county_shapes is None:
            counties = shapes.dissolve(self.shapes(), "county_code", self.county_names)
            counties["county_code"] = counties["region_code"]
            self._county_shapes = shapes.for_view(counties, "city")
        return self._county_shapes

    def rooms(self) -> pd.DataFrame:
        if self._rooms is None:
            p = periods.parse(self.period)
            self._rooms = runner.run(self.con, "rooms_in_period", period_start=p.start, period_end=p.end,
                                     scope=indicators.narrow(self.scope, self.region_code) or ["-"],
                                     room_types=[])  # exports count every type
        return self._rooms

    @cached_property
    def data_as_of(self) -> date | None:
        # the viewer's whole scope, as the pages' caption does
        last = runner.run(self.con, "data_span", scope=self.scope)["last_date"].iloc[0]
        return None if pd.isna(last) else pd.Timestamp(last).date()

    @cached_property
    def source(self) -> str:
        """What the data is: 'demo', 'imported' or 'both' (queries/data_sources.sql)."""
        row = runner.run(self.con, "data_sources", scope=self.scope).iloc[0]
        return data_source(bool(row["has_demo"]), bool(row["has_imported"]))


def build_view(con: duckdb.DuckDBPyConnection, spec: ViewSpec, atlas: Atlas | None = None) -> View:
    """The view model of the dashboard view ``spec`` describes (see :class:`ViewSpec` for the
    defaults). Pass ``atlas`` (made from the same spec) to share query results between the views
    of a deck."""
    if atlas is None:
        atlas = Atlas.of(con, spec)
    elif spec.filters != atlas.filters or spec.exact != atlas.exact:
        raise ValueError("filters or exact differ from the atlas's: pass them to Atlas(...) instead")
    view, lang, scheme, k, lock = spec.view, spec.lang, spec.scheme, spec.k, spec.lock
    code = view_code(spec)
    above = CHILD.get(atlas.region_level)  # a nation's provinces, a province's cities: never townships
    if above and view == "hotspots":
        raise ValueError("hotspots are tested a city or a county at a time: choose a city or county")
    towns = atlas.townships()
    if above:
        unit, drawn = above, atlas.region_shapes().copy()
    else:
        unit = "county" if view in BY_UNIT and atlas.region_level == "city" and spec.unit == "county" else "township"
        drawn = (atlas.county_shapes() if unit == "county" else atlas.shapes()).copy()
    pace = stats = None
    facts: list[Fact] = []
    summary = None
    if view == "screening":
        pace = atlas.pacing(above or "township")
        shading = colour.shade_status(pace, drawn["region_code"], lang)
        facts = pace_facts(atlas, lang)
        table = pace_ranking(atlas, lang)
        summary = pace_summary(atlas, lang)
    elif view == "hotspots":
        stats = hotspot_frame(atlas, spec.hotspot_of)
        if spec.hotspot_show == "smoothed":
            history = atlas.history("township", code) if lock else None
            shading = colour.shade_hotspot_rates(stats, drawn["region_code"], code, lang, scheme, k, atlas.period,
                                                 history)
        else:
            shading = colour.shade_hotspots(stats, drawn["region_code"], code, lang)
        table = hotspot_ranking(atlas, lang, spec.hotspot_of)
        summary = hotspot_summary(stats, lang, spec.hotspot_of)
    else:
        shaded = atlas.table(unit) if unit != "township" else towns
        history = atlas.history(unit, code) if lock else None
        shading = colour.shade(shaded, code, lang, scheme, k, atlas.period, history, counted=COUNTED[unit])
        table = ranking(atlas, view, lang)
    drawn["colour"] = drawn["region_code"].map(shading.colour_of).fillna(colour.maps.MISSING_COLOUR)
    approximate = bool((drawn["boundary_source"] == "approximate").any())
    as_of = atlas.data_as_of
    source = t(f"SOURCE_{atlas.source.upper()}", lang, region=atlas.region_name)
    notes = [source]
    if approximate:
        notes.append(t("APPROX_BOUNDARY", lang))
    notes.append(t("SUPPRESSION_NOTE", lang))
    if view == "hotspots" and atlas.region_level != "city":  # tested within the county, as the page says
        notes.append(t("HOTSPOT_COUNTY_NOTE", lang))
    region_rows = atlas.table(_region_level(atlas))
    if len(region_rows):  # rates that left out townships without households (villages)
        notes.extend(fmt.rollup_notes(region_rows.iloc[0], list(registry.INDICATORS), lang))
    if not atlas.filters.is_default():
        notes.append(filters_note(atlas.filters, lang))
    rooms = atlas.rooms() if view == "coverage" else atlas.rooms().iloc[0:0]
    return View(
        view=view, lang=lang, title=t(f"TITLE_{view}", lang), map_title=t(f"MAP_{view}" + (f"_{unit}" if unit != "township" else "")
                     + ("_classes" if view == "hotspots" and spec.hotspot_show == "classes" else "")
                     + ("_cases" if view == "hotspots" and spec.hotspot_of == "cases" else ""), lang),
        region_code=atlas.region_code, region_name=atlas.region_name, region_level=atlas.region_level,
        period=atlas.period, period_label=fmt.period_label(atlas.period, lang),
        data_as_of=as_of, data_as_of_text=t("DATA_AS_OF", lang, date=fmt.day(as_of, lang)),
        code=code, townships=towns, shapes=drawn, shading=shading,
        kpis=kpis(atlas, lang), totals=totals(atlas, lang), ranking=table,
        rooms=rooms, room_colours=ROOM_COLOURS, approximate=approximate, source=source, notes=notes,
        facts=facts, cells=(cells(view, atlas.table(unit), pace, stats, code, lang) if above else
                            cells(view, towns, pace, stats, code, lang, atlas.table("county") if unit == "county" else None)),
        pace=pace, hotspots=stats, filters=atlas.filters, summary=summary, unit=unit,
        hotspot_of=spec.hotspot_of if view == "hotspots" else None,
    )


def view_code(spec: ViewSpec) -> str:
    """The indicator behind ``spec``'s view: MAPPED, and for hotspots the measure tested."""
    return HOTSPOT_CODES[spec.hotspot_of] if spec.view == "hotspots" else MAPPED[spec.view]


def view_columns(spec: ViewSpec) -> list[str]:
    """The indicator columns of ``spec``'s township table (RANKINGS; the hotspot view's follow
    its measure: the rate, the count and the base behind it, then the other measure's count)."""
    codes = RANKINGS[spec.view][2]
    if spec.view != "hotspots" or spec.hotspot_of == "risk":
        return list(codes)
    rate, events, base, _ = risk.MEASURES[spec.hotspot_of]
    return [rate, events, base, "risk_households"]


def _hot_key(key: str, of: str) -> str:
    """The words of the hotspot brief for the measure ``of``: KEY, or KEY_cases."""
    return key if of == "risk" else f"{key}_{of}"


def build_deck(con: duckdb.DuckDBPyConnection, spec: ViewSpec) -> list[View]:
    """All four views of ``spec`` (its view aside), sharing one set of query results."""
    atlas = Atlas.of(con, spec)
    return [build_view(con, replace(spec, view=v), atlas) for v in VIEWS]


def filters_note(filters: indicators.Filters, lang: str = "zh") -> str:
    """筛选条件：计为风险户的风险等级 高；阵地类型 婚调坊 — only the filters that are not "all"."""
    default = indicators.Filters()
    parts = []
    for name, key in (("room_types", "FILTER_ROOM_TYPES"), ("risk_levels", "FILTER_RISK_LEVELS"),
                      ("risk_types", "FILTER_RISK_TYPES"), ("case_sources", "FILTER_CASE_SOURCES")):
        chosen = getattr(filters, name)
        if chosen != getattr(default, name):
            parts.append(f"{t(key, lang)} {t('LIST_SEP', lang).join(chosen)}")
    return t("FILTERS_NOTE", lang, filters="；".join(parts) if lang == "zh" else "; ".join(parts))


def _region_level(atlas: Atlas) -> str:
    return atlas.region_level if atlas.region_level in ("nation", "province", "city") else "county"


def totals(atlas: Atlas, lang: str = "zh") -> dict[str, str]:
    now = atlas.table(_region_level(atlas))
    row = now.iloc[0] if len(now) else pd.Series(dtype=object)
    return {code: fmt.value(code, row.get(code), lang) for code in registry.INDICATORS}


def kpis(atlas: Atlas, lang: str = "zh") -> list[Kpi]:
    """The overview's cards: the region's value of each headline indicator and its change."""
    level = _region_level(atlas)
    now = atlas.table(level)
    before = atlas.table(level, periods.parse(atlas.period).previous().code)
    now_row = now.iloc[0] if len(now) else pd.Series(dtype=object)
    before_row = before.iloc[0] if len(before) else pd.Series(dtype=object)
    out = []
    for code in KPI_CODES:
        v, b = now_row.get(code), before_row.get(code)
        parts = None
        if registry.parts(code) is not None:
            num, den = registry.parts(code)
            parts = (f"{fmt.label(num, lang)} {fmt.value(num, now_row.get(num), lang)}"
                     f" ÷ {fmt.label(den, lang)} {fmt.value(den, now_row.get(den), lang)}")
        change = fmt.change(code, v, b, lang)
        if registry.get(code).added:  # 本年累计: what this month (quarter) added, as the page's card says
            change = added_text(code, now_row, atlas.period, lang)
        out.append(Kpi(code, fmt.label(code, lang, short=True), fmt.value(code, v, lang),
                       change, parts, None if fmt.is_missing(v) else float(v)))
    return out


def added_text(code: str, row, period: str, lang: str = "zh") -> str | None:
    """What ``period`` added to a year-to-date indicator: 本月新增 8.1 个百分点, "+8.1 pp added this
    month"; None for a year (it adds itself) or when unknown. The pages' cards say the same
    (ui/widgets.added_text)."""
    kind = periods.parse(period).kind
    added = registry.get(code).added
    value = None if added is None else row.get(added)
    if kind == "year" or fmt.is_missing(value):
        return None
    pp = fmt.value(added, value, lang)
    return f"{t(f'ADDED_{kind}', lang)} {pp}" if lang == "zh" else f"+{pp} {t(f'ADDED_{kind}', lang)}"


def pace_facts(atlas: Atlas, lang: str = "zh") -> list[Fact]:
    """The screening page's four cards: target, expected by now, screened this year, status."""
    whole = atlas.pacing(_region_level(atlas))
    if whole.empty:
        return []
    row = whole.iloc[0]
    share = fmt.value("coverage_rate", row["elapsed_share"], lang)
    done = fmt.value("coverage_rate", row["completion"], lang)
    return [
        Fact(t("PACE_TARGET", lang), fmt.count(row["target"], lang)),
        Fact(t("PACE_EXPECTED", lang, share=share), fmt.count(row["expected_by_now"], lang)),
        Fact(t("PACE_DONE_OF", lang, share=done), fmt.count(row["screened_ytd"], lang)),
        Fact(t("PACE_STATUS", lang), colour.status_text(row["status"], lang)),
    ]


def pace_summary(atlas: Atlas, lang: str = "zh") -> str | None:
    """连云港市年度排查目标 …，按时序应完成 …，年内已排查 …（完成目标 …），进度状态：黄 · 略慢。"""
    whole = atlas.pacing(_region_level(atlas))
    if whole.empty:
        return None
    row = whole.iloc[0]
    return t("BRIEF_PACE_LINE", lang, region=atlas.region_name, target=fmt.count(row["target"], lang),
             expected=fmt.count(row["expected_by_now"], lang),
             share=fmt.value("coverage_rate", row["elapsed_share"], lang),
             done=fmt.count(row["screened_ytd"], lang),
             completion=fmt.value("coverage_rate", row["completion"], lang),
             status=colour.status_text(row["status"], lang))


def _named(frame: pd.DataFrame, item, most: int, lang: str, more: bool = True) -> str:
    """The first ``most`` rows of ``frame`` as a list, and 等 when some were left out (``more``)."""
    text = t("LIST_SEP", lang).join(item(r) for r in suppress.records(frame.head(most)))
    return text + (t("BRIEF_AND_MORE", lang) if more and len(frame) > most else "")


def hotspot_summary(stats: pd.DataFrame, lang: str = "zh", of: str = "risk") -> str:
    """What the brief says under 三、风险热点: the townships classed 热点 (and 冷点) of the measure
    ``of`` by name, or plainly that none is significant, and then which townships have the highest
    smoothed rate. ``stats`` is hotspot_frame(atlas, of)."""
    code = HOTSPOT_CODES[of]
    events = risk.MEASURES[of][1]
    rated = stats[[not fmt.absent(r) for r in stats["rate"]]]
    # a hidden count is not a zero: "none found" only when every count shown is 0
    if rated.empty or all(not suppress.is_hidden(e) and float(e) == 0 for e in rated["events"]):
        return t(_hot_key("BRIEF_HOTSPOTS_NONE", of), lang)
    hot = rated[rated["hotspot_class"] == "hot"].sort_values("rate_smoothed", ascending=False, kind="stable")
    cold = rated[rated["hotspot_class"] == "cold"].sort_values("rate_smoothed", ascending=True, kind="stable")
    sentences = []
    if len(hot):
        sentences.append(t(_hot_key("BRIEF_HOT_FOUND", of), lang, n=len(hot), towns=_named(hot, lambda r: t(
            _hot_key("BRIEF_HOT_ITEM", of), lang, name=r["region_name"], rate=fmt.value(code, r["rate_smoothed"], lang),
            households=fmt.value(events, r[events], lang)), HOT_NAMED, lang)))
    else:
        top = rated.sort_values("rate_smoothed", ascending=False, kind="stable")
        towns = _named(top, lambda r: t("BRIEF_SMOOTHED_ITEM", lang, name=r["region_name"],
                                        rate=fmt.value(code, r["rate_smoothed"], lang)), TOP_NAMED, lang,
                       more=False)
        sentences.append(t("BRIEF_NONE_THEN_TOP", lang, none=t(_hot_key("BRIEF_HOT_NONE", of), lang),
                           top=t(_hot_key("BRIEF_TOP_SMOOTHED", of), lang, towns=towns)))
    if len(cold):
        sentences.append(t(_hot_key("BRIEF_COLD_FOUND", of), lang, n=len(cold), towns=_named(cold, lambda r: t(
            "BRIEF_SMOOTHED_ITEM", lang, name=r["region_name"], rate=fmt.value(code, r["rate_smoothed"], lang)),
            HOT_NAMED, lang)))
    return ("" if lang == "zh" else " ").join(sentences)


def ranking(atlas: Atlas, view: str, lang: str = "zh") -> Ranking:
    """The overview's counties, or the ten townships at the wrong end of the coverage view."""
    by, ascending, codes = RANKINGS[view]
    if by is None:
        frame = atlas.table("county")
        columns = [t("COUNTY", lang)] + [fmt.label(c, lang, short=True) for c in codes]
        rows = [[r["region_name"]] + [fmt.value(c, r[c], lang) for c in codes]
                for r in suppress.records(frame)]
        return Ranking(t(f"RANK_{view}", lang), columns, codes, rows, frame.reset_index(drop=True),
                       value_at=1, detail_at=None)
    towns = atlas.townships()
    # missing values first among laggards (no value at all is the furthest behind), last among top values
    frame = towns.sort_values(by, ascending=ascending, na_position="first" if ascending else "last",
                              kind="stable").head(RANK_ROWS).reset_index(drop=True)
    columns = [t("RANK", lang), t("TOWNSHIP", lang), t("COUNTY", lang)] + [fmt.label(c, lang) for c in codes]
    rows = [[str(i + 1), r["region_name"], r["county_name"] or ""] + [fmt.value(c, r[c], lang) for c in codes]
            for i, r in enumerate(suppress.records(frame))]
    return Ranking(t(f"RANK_{view}", lang), columns, codes, rows, frame, value_at=3, detail_at=2)


def pace_ranking(atlas: Atlas, lang: str = "zh") -> Ranking:
    """后进排名 (ui/widgets.pacing_table): the ten townships furthest behind pace, by laggard_rank."""
    pace = atlas.pacing("township")
    frame = pace.sort_values(["laggard_rank", "region_code"], na_position="last",
                             kind="stable").head(RANK_ROWS).reset_index(drop=True)
    columns = [t("RANK", lang), t("TOWNSHIP", lang), t("PACE_TARGET", lang), t("PACE_EXPECTED_SHORT", lang),
               t("PACE_DONE", lang), t("PACE_COMPLETION", lang), t("PACE_PACE", lang), t("PACE_STATUS", lang)]
    rows = [[fmt.MISSING if fmt.is_missing(r["laggard_rank"]) else str(int(r["laggard_rank"])), r["region_name"],
             fmt.count(r["target"], lang), fmt.count(r["expected_by_now"], lang), fmt.count(r["screened_ytd"], lang),
             fmt.value("coverage_rate", r["completion"], lang), fmt.value("coverage_rate", r["pace"], lang),
             colour.status_text(r["status"], lang)]
            for r in suppress.records(frame)]
    right = [False, False, True, True, True, True, True, False]
    return Ranking(t("RANK_screening", lang), columns, [], rows, frame, right=right, value_at=6, detail_at=7,
                   note=t("RANK_NOTE_screening", lang))


def hotspot_frame(atlas: Atlas, of: str = "risk") -> pd.DataFrame:
    """geo.risk.table of the measure ``of`` with each township's name, county, its own rate and
    the counts behind it (as the viewer sees them: "<5" where due)."""
    rate, events, base, _ = risk.MEASURES[of]
    towns = atlas.townships()[["region_code", "region_name", "county_name",
                               *dict.fromkeys([rate, events, base, "risk_households"])]]
    return atlas.hotspots(of).merge(towns, on="region_code", how="left", validate="one_to_one")


def hotspot_ranking(atlas: Atlas, lang: str = "zh", of: str = "risk") -> Ranking:
    """ui/widgets.hotspot_ranking: the townships by smoothed rate of the measure ``of``, highest
    first, with their class and the counts behind the rate."""
    code = HOTSPOT_CODES[of]
    num, den = registry.parts(code)
    frame = hotspot_frame(atlas, of).sort_values("rate_smoothed", ascending=False, na_position="last",
                                             kind="stable").head(RANK_ROWS).reset_index(drop=True)
    columns = [t("RANK", lang), t("TOWNSHIP", lang), t("HOTSPOT_CLASS", lang), t("HOTSPOT_SMOOTHED", lang),
               fmt.label(code, lang), fmt.label(num, lang), fmt.label(den, lang)]
    rows = [[str(i + 1), r["region_name"],
             fmt.MISSING if fmt.is_missing(r["hotspot_class"]) or fmt.absent(r["rate_smoothed"])
             else colour.class_label(r["hotspot_class"], lang),
             fmt.value(code, r["rate_smoothed"], lang), fmt.value(code, r[code], lang),
             fmt.value(num, r[num], lang), fmt.value(den, r[den], lang)]
            for i, r in enumerate(suppress.records(frame))]
    return Ranking(t(_hot_key("RANK_hotspots", of), lang), columns, [code, num, den], rows, frame,
                   right=[False, False, False, True, True, True, True], value_at=3, detail_at=2)


def cells(view: str, towns: pd.DataFrame, pace: pd.DataFrame | None, stats: pd.DataFrame | None, code: str,
          lang: str = "zh", counties: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per township, what the page's tooltip shows, formatted: region_code, then labelled columns;
    then the same for each of ``counties`` (an indicator table) when the map draws counties."""
    if counties is not None:
        return pd.concat([cells(view, towns, pace, stats, code, lang),
                          cells(view, counties, pace, stats, code, lang)], ignore_index=True)
    out = pd.DataFrame({"region_code": towns["region_code"].to_numpy()})
    if view == "screening":
        by = pace.set_index("region_code").reindex(out["region_code"])
        out[t("PACE_STATUS", lang)] = [colour.status_text(s, lang) for s in by["status"]]
        out[t("PACE_DONE", lang)] = [fmt.count(v, lang) for v in by["screened_ytd"]]
        out[t("PACE_EXPECTED_SHORT", lang)] = [fmt.count(v, lang) for v in by["expected_by_now"]]
        out[t("PACE_COMPLETION", lang)] = [fmt.value("coverage_rate", v, lang) for v in by["completion"]]
        return out
    if view == "hotspots":  # the page's tooltip: 显著 or not, the smoothed rate and the own one
        return legend.hotspot_cells(stats, towns, code, lang, t)
    out[fmt.label(code, lang)] = [fmt.value(code, v, lang) for v in towns[code]]
    for part in registry.parts(code) or ():
        if part:
            out[fmt.label(part, lang)] = [fmt.value(part, v, lang) for v in towns[part]]
    return out
