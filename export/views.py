"""The view model: everything an export of one dashboard view shows, computed once, as text and
frames. Every format (PNG, PDF, PPTX, HTML, DOCX) renders from a :class:`View`; none runs a query.

The numbers come from the pages' own queries (``queries.indicators.table``, ``data_span``,
``rooms_in_period``, ``township_shapes``) and are formatted by ``ui.fmt``, so small sensitive
counts read "<5" exactly as on screen.
"""
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

import duckdb
import geopandas as gpd
import pandas as pd

from export import colour
from export.text import t
from geo import boundaries, shapes
from queries import indicators, periods, runner
from ui import fmt

VIEWS = ("overview", "coverage", "screening", "hotspots")
# The indicator each view maps and its palette, as on the pages.
MAPPED = {
    "overview": ("screening_rate", "Greens"),
    "coverage": ("coverage_rate", "Blues"),
    "screening": ("screening_rate", "Greens"),
    "hotspots": ("risk_rate_per_1000", "Reds"),
}
KPI_CODES = ["coverage_rate", "screening_rate", "risk_rate_per_1000", "mediation_success_rate"]
# Each view's table: which indicator ranks it, which way, and the columns it shows.
RANKINGS = {
    "overview": (None, True, ["coverage_rate", "screening_rate", "risk_rate_per_1000", "cases_received",
                              "mediation_success_rate"]),
    "coverage": ("coverage_rate", True, ["coverage_rate", "villages_covered", "villages_total", "rooms_active"]),
    "screening": ("screening_rate", True, ["screening_rate", "households_screened", "households_total"]),
    "hotspots": ("risk_rate_per_1000", False, ["risk_rate_per_1000", "risk_households", "households_screened",
                                               "cases_received"]),
}
RANK_ROWS = 10
# Room colours by type; the same as ui/widgets.ROOM_COLOURS (which cannot be imported: streamlit).
ROOM_COLOURS = {
    "家事调解工作室": "#e6550d",
    "婚调坊": "#3182bd",
    "和合之家": "#31a354",
    "家事纠纷调解工作站": "#756bb1",
    "妇女议事会": "#f1c40f",
    "婚姻家庭纠纷调解委员会": "#636363",
}
OTHER_ROOM_COLOUR = "#555555"


@dataclass(frozen=True)
class Kpi:
    code: str
    label: str          # short name, as on the cards
    value: str          # formatted, "—" when missing
    change: str | None  # "+1.2个百分点", None when the previous period has no value
    parts: str | None   # "已排查户数 7.38万 ÷ 登记户数 116.6万"
    raw: float | None
    raw_before: float | None


@dataclass(frozen=True)
class Ranking:
    title: str
    columns: list[str]       # header labels: 排名, name, county (townships), indicator labels
    codes: list[str]         # indicator codes of the value columns, in order
    rows: list[list[str]]    # formatted cells, small sensitive counts as "<5"
    frame: pd.DataFrame      # the indicator rows behind ``rows``, in the same order


@dataclass
class View:
    view: str                      # overview | coverage | screening | hotspots
    lang: str
    title: str                     # 风险隐患排查进度
    map_title: str                 # 各乡镇入户排查完成率
    region_code: str
    region_name: str
    region_level: str              # city | county
    period: str                    # 2025-12
    period_label: str              # 2025年12月
    data_as_of: date | None
    data_as_of_text: str           # 数据截至 2025年12月31日
    code: str                      # the mapped indicator
    townships: pd.DataFrame        # indicators.table at township level (+ county_name)
    shapes: gpd.GeoDataFrame       # township polygons in WGS84 (+ colour), simplified for the view
    shading: colour.Shading
    kpis: list[Kpi]
    totals: dict[str, str]         # the region's value of every indicator, formatted ("<5" where due)
    ranking: Ranking
    rooms: pd.DataFrame            # active rooms (coverage view only; empty otherwise)
    room_colours: dict[str, str]
    approximate: bool              # any township boundary is approximate → 示意边界
    source: str
    notes: list[str] = field(default_factory=list)  # footnotes: source, 示意边界, "<5" note

    @property
    def subtitle(self) -> str:
        return t("SUBTITLE", self.lang, region=self.region_name, period=self.period_label, as_of=self.data_as_of_text)


class Atlas:
    """The query results several views share, fetched once per (region, period) on one connection."""

    def __init__(self, con: duckdb.DuckDBPyConnection, region_code: str | None = None, period: str | None = None,
                 scope: list[str] | None = None):
        self.con = con
        self.scope = list(indicators.EVERYTHING if scope is None else scope)
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
        self._shapes = None
        self._rooms = None

    def table(self, level: str, period: str | None = None) -> pd.DataFrame:
        key = (level, period or self.period)
        if key not in self._tables:
            self._tables[key] = indicators.table(self.con, level, key[1], self.scope, self.region_code)
        return self._tables[key]

    def townships(self) -> pd.DataFrame:
        frame = self.table("township").copy()
        frame["county_name"] = frame["parent_code"].map(self.county_names)
        return frame

    def shapes(self) -> gpd.GeoDataFrame:
        if self._shapes is None:
            rows = runner.run(self.con, "township_shapes", scope=indicators.narrow(self.scope, self.region_code) or ["-"])
            frame = boundaries.from_rows(rows)
            self._shapes = shapes.for_view(frame, "city" if self.region_level == "city" else "county")
        return self._shapes

    def rooms(self) -> pd.DataFrame:
        if self._rooms is None:
            p = periods.parse(self.period)
            self._rooms = runner.run(self.con, "rooms_in_period", period_start=p.start, period_end=p.end,
                                     scope=indicators.narrow(self.scope, self.region_code) or ["-"])
        return self._rooms

    @cached_property
    def data_as_of(self) -> date | None:
        # the viewer's whole scope, as the pages' caption does
        last = runner.run(self.con, "data_span", scope=self.scope)["last_date"].iloc[0]
        return None if pd.isna(last) else pd.Timestamp(last).date()

    @cached_property
    def is_demo(self) -> bool:
        note = runner.run(self.con, "data_version")["note"]
        return bool(len(note)) and str(note.iloc[0] or "").startswith("demo")


def build_view(con: duckdb.DuckDBPyConnection, view: str, region_code: str | None = None, period: str | None = None,
               lang: str = "zh", scope: list[str] | None = None, atlas: Atlas | None = None) -> View:
    """The view model of one dashboard view (default region: the city; default period: the latest
    complete month). Pass ``atlas`` to share query results between the views of a deck."""
    if view not in VIEWS:
        raise ValueError(f"bad view {view!r}: expected one of {', '.join(VIEWS)}")
    atlas = atlas or Atlas(con, region_code, period, scope)
    code, palette = MAPPED[view]
    towns = atlas.townships()
    shading = colour.shade(towns, code, palette, lang)
    drawn = atlas.shapes().copy()
    drawn["colour"] = drawn["region_code"].map(shading.colour_of).fillna(colour.maps.MISSING_COLOUR)
    approximate = bool((drawn["boundary_source"] == "approximate").any())
    as_of = atlas.data_as_of
    source = t("SOURCE_DEMO" if atlas.is_demo else "SOURCE", lang, region=atlas.region_name)
    notes = [source]
    if approximate:
        notes.append(t("APPROX_BOUNDARY", lang))
    notes.append(t("SUPPRESSION_NOTE", lang))
    rooms = atlas.rooms() if view == "coverage" else atlas.rooms().iloc[0:0]
    return View(
        view=view, lang=lang, title=t(f"TITLE_{view}", lang), map_title=t(f"MAP_{view}", lang),
        region_code=atlas.region_code, region_name=atlas.region_name, region_level=atlas.region_level,
        period=atlas.period, period_label=fmt.period_label(atlas.period, lang),
        data_as_of=as_of, data_as_of_text=t("DATA_AS_OF", lang, date=fmt.day(as_of, lang)),
        code=code, townships=towns, shapes=drawn, shading=shading,
        kpis=kpis(atlas, lang), totals=totals(atlas, lang), ranking=ranking(atlas, view, lang),
        rooms=rooms, room_colours=ROOM_COLOURS, approximate=approximate, source=source, notes=notes,
    )


def build_deck(con: duckdb.DuckDBPyConnection, region_code: str | None = None, period: str | None = None,
               lang: str = "zh", scope: list[str] | None = None) -> list[View]:
    """All four views, sharing one set of query results."""
    atlas = Atlas(con, region_code, period, scope)
    return [build_view(con, v, lang=lang, atlas=atlas) for v in VIEWS]


def _region_level(atlas: Atlas) -> str:
    return "city" if atlas.region_level == "city" else "county"


def totals(atlas: Atlas, lang: str = "zh") -> dict[str, str]:
    now = atlas.table(_region_level(atlas))
    row = now.iloc[0] if len(now) else pd.Series(dtype=object)
    return {code: fmt.value(code, row.get(code), lang) for code in fmt.INDICATORS}


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
        if code in fmt.PARTS:
            num, den = fmt.PARTS[code]
            parts = (f"{fmt.label(num, lang)} {fmt.value(num, now_row.get(num), lang)}"
                     f" ÷ {fmt.label(den, lang)} {fmt.value(den, now_row.get(den), lang)}")
        out.append(Kpi(code, fmt.label(code, lang, short=True), fmt.value(code, v, lang),
                       fmt.change(code, v, b, lang), parts,
                       None if fmt.is_missing(v) else float(v), None if fmt.is_missing(b) else float(b)))
    return out


def ranking(atlas: Atlas, view: str, lang: str = "zh") -> Ranking:
    """The view's table: counties for the overview, the ten townships at the wrong end otherwise."""
    by, ascending, codes = RANKINGS[view]
    if by is None:
        frame = atlas.table("county")
        columns = [t("COUNTY", lang)] + [fmt.label(c, lang, short=True) for c in codes]
        rows = [[r["region_name"]] + [fmt.value(c, r[c], lang) for c in codes] for r in frame.to_dict("records")]
        return Ranking(t(f"RANK_{view}", lang), columns, codes, rows, frame.reset_index(drop=True))
    towns = atlas.townships()
    # missing values first among laggards (no screening at all is the furthest behind), last among top risks
    frame = towns.sort_values(by, ascending=ascending, na_position="first" if ascending else "last",
                              kind="stable").head(RANK_ROWS).reset_index(drop=True)
    columns = [t("RANK", lang), t("TOWNSHIP", lang), t("COUNTY", lang)] + [fmt.label(c, lang) for c in codes]
    rows = [[str(i + 1), r["region_name"], r["county_name"] or ""] + [fmt.value(c, r[c], lang) for c in codes]
            for i, r in enumerate(frame.to_dict("records"))]
    return Ranking(t(f"RANK_{view}", lang), columns, codes, rows, frame)
