"""Indicators per region and period: the published interface (CLI JSON, pages, exports)."""
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import duckdb
import pandas as pd

from indicators import registry, suppress
from queries import aggregates, periods, runner

LEVELS = ("township", "county", "city", "province", "nation")
# 全国: the nation's region code and name (no row of the register: queries/_macros.sql region_rows).
# Its prefix is '' (everything); pickers offer it only when the atlas spans several provinces.
NATION = "000000000000"
NATION_NAME = "全国"
# Above a city the maps show regions, never townships (a province holds ~1,500, China 38,723).
ABOVE_CITY = ("province", "nation")
# The published names, in order: the region, then every indicator of the registry (in its
# order), then the roll-up's columns. Other tools rely on them: add, never rename.
# Columns added later go at the end, so those published before keep their places.
ADDED_LATER = ["households_screened_ytd", "screening_rate_ytd", "screening_rate_added"]
FIELDS = ["region_code", "region_name", "level", "period", *[c for c in registry.INDICATORS if c not in ADDED_LATER],
          "parent_code", "townships",
          # townships left out of the rates over households (villages): their denominator is unknown
          "households_unknown", "villages_unknown",
          # 本年累计: screening from 1 January to the period's end, and what the period added to it
          *ADDED_LATER]
EVERYTHING = [""]
RISK_LEVELS = ("无", "低", "中", "高")
DEFAULT_RISK_LEVELS = ("中", "高")


@dataclass(frozen=True)
class Filters:
    """What the indicators count. Empty tuples mean "all"; a risk household is one whose highest
    risk level in the period is in ``risk_levels`` (中/高 unless chosen otherwise)."""
    room_types: tuple[str, ...] = ()
    risk_levels: tuple[str, ...] = DEFAULT_RISK_LEVELS
    risk_types: tuple[str, ...] = ()
    case_sources: tuple[str, ...] = ()

    def __post_init__(self):
        bad = [level for level in self.risk_levels if level not in RISK_LEVELS]
        if bad or not self.risk_levels:
            raise ValueError(f"bad risk levels {bad or '(none)'}: expected some of {'、'.join(RISK_LEVELS)}")

    def is_default(self) -> bool:
        return self == Filters()

    def narrows_sensitive(self) -> bool:
        """Whether these filters narrow a sensitive count (risk households, cases): other risk
        levels than 中/高, some risk types, some case sources. Two such counts side by side give
        a small one back by subtraction (中高 less 高 is 中), which no cell suppression can stop
        for every choice of filters: who may narrow them is access.viewer.Viewer.may_narrow."""
        return (set(self.risk_levels) != set(DEFAULT_RISK_LEVELS)) or bool(self.risk_types) or bool(self.case_sources)

    def allowed(self, narrow: bool) -> "Filters":
        """These filters as a viewer may use them: unless it may ``narrow`` (access.viewer.Viewer.
        may_narrow), the sensitive ones (:meth:`narrows_sensitive`) back at their defaults, room
        types kept."""
        if narrow or not self.narrows_sensitive():
            return self
        return Filters(room_types=self.room_types)

    def params(self) -> dict:
        return {"room_types": list(self.room_types), "risk_levels": list(self.risk_levels),
                "risk_types": list(self.risk_types), "case_sources": list(self.case_sources)}


def region_prefix(region_code: str) -> str:
    """The code prefix that selects a region and everything in it (320703000000 → '320703')."""
    code = str(region_code).strip()
    if len(code) != 12 or not code.isdigit():
        raise ValueError(f"bad region code {region_code!r}: expected 12 digits, e.g. 320703000000")
    if code == NATION:
        return ""
    for width in (2, 4, 6, 9):
        if set(code[width:]) == {"0"}:
            return code[:width]
    return code


def narrow(scope: list[str], region_code: str | None) -> list[str]:
    """The part of the viewer's ``scope`` that lies inside ``region_code`` (all of it if None).

    Both are code prefixes; an empty result means the viewer may see nothing there.
    """
    if region_code is None:
        return list(scope)
    inner = region_prefix(region_code)
    out = []
    for p in scope:
        if inner.startswith(p):
            out.append(inner)
        elif p.startswith(inner):
            out.append(p)
    return sorted(set(out))


def latest_month(con: duckdb.DuckDBPyConnection, scope: list[str], today: date | None = None) -> periods.Period | None:
    """The latest complete month with records in scope, or None when there are none."""
    found = runner.run(con, "latest_month", today=today or date.today(), scope=scope)["month_start"].iloc[0]
    if pd.isna(found):
        return None
    return periods.period_containing(pd.Timestamp(found).date(), "month")


def table(con: duckdb.DuckDBPyConnection, level: str, period: str | periods.Period, scope: list[str],
          region_code: str | None = None, filters: Filters | None = None) -> pd.DataFrame:
    """Every indicator per region of ``level`` in one period, limited to ``scope`` (and ``region_code``),
    counting what ``filters`` selects (everything, and 中/高 as risk, by default).

    Rates with a zero or unknown denominator are missing (NaN in the frame, null in JSON).
    """
    if level not in LEVELS:
        raise ValueError(f"bad level {level!r}: expected one of {', '.join(LEVELS)}")
    p = period if isinstance(period, periods.Period) else periods.parse(period)
    effective = narrow(scope, region_code)
    wanted = filters or Filters()
    frame = runner.run(con, "indicators", level=level, period_start=p.start, period_end=p.end,
                       scope=effective or ["-"], **wanted.params(),
                       stored=aggregates.usable(con, wanted.risk_types, wanted.case_sources))
    if region_code is not None and level != "township":
        # a county or city row is kept only when it lies inside the chosen region, or contains it
        prefix = region_prefix(region_code)
        keep = frame["region_code"].map(lambda c: c.startswith(prefix) or prefix.startswith(region_prefix(c)))
        frame = frame[keep.astype(bool)]  # a boolean mask: frame[[]] would drop every column
    frame.insert(3, "period", p.code)
    return frame[FIELDS].reset_index(drop=True)


def hidden_cells(con: duckdb.DuckDBPyConnection, period: str | periods.Period,
                 filters: Filters | None = None) -> dict:
    """The cells of one period (and filters) that suppression hides (indicators/suppress.py),
    worked out over the whole atlas, not the viewer's scope: every viewer, level and region
    then sees the same cells hidden, so no two outputs can be combined to undo it. And over the
    whole year the period lies in (its months, quarters and the year, :func:`year_hidden_cells`):
    a month hidden in its own table is then not its quarter less the other two months."""
    p = period if isinstance(period, periods.Period) else periods.parse(period)
    joint = year_hidden_cells(con, p.start.year, filters)
    return {(region, measure): kind for (code, region, measure), kind in joint.items() if code == p.code}


_JOINT: dict[tuple, dict] = {}  # (database id, data version, year, filters) → year_hidden_cells
_JOINT_LOCK = threading.Lock()
_JOINT_KEEP = 16
# Above this many townships (a province, the nation) the year is solved part by part
# (suppress.joint_by_parts), in this many processes; a city is solved whole, as it always was.
SOLVE_IN_PARTS_ABOVE = 2000
PART_WORKERS = 2


def year_hidden_cells(con: duckdb.DuckDBPyConnection, year: int, filters: Filters | None = None) -> dict:
    """The cells hidden in every period of ``year``, (period, region_code, measure) → kind,
    chosen jointly (suppress.joint): each period's regions under their totals, and each region's
    months under their quarter, quarters and months under the year, where the counts add up.
    Kept in this process per (database, data version, year, filters): every period of the year
    needs it, and one costs a second or more (:func:`year_tables`)."""
    # room types count rooms only, never a sensitive count: one pattern for every choice of them
    filters = Filters(risk_levels=(filters or Filters()).risk_levels, risk_types=(filters or Filters()).risk_types,
                      case_sources=(filters or Filters()).case_sources)
    found = runner.run(con, "data_version").iloc[0]
    key = (str(found["database_id"]), int(found["version"]), int(year), filters)
    with _JOINT_LOCK:
        if key in _JOINT:
            return _JOINT[key]
    sums = periods.year_sums(year)
    tables = year_tables(con, year, filters)
    if len(next(iter(tables.values()))[0]) > SOLVE_IN_PARTS_ABOVE:
        joint = suppress.joint_by_parts(tables, sums, workers=PART_WORKERS)
    else:
        joint = suppress.joint(tables, sums)
    for alias, region in aliases(con).items():  # lower levels first: a chain resolves in order
        joint.update({(code, alias, measure): kind for (code, r, measure), kind in list(joint.items())
                      if r == region})
    with _JOINT_LOCK:
        while len(_JOINT) >= _JOINT_KEEP:
            _JOINT.pop(next(iter(_JOINT)))  # the oldest first
        _JOINT[key] = joint
    return joint


def year_tables(con: duckdb.DuckDBPyConnection, year: int, filters: Filters | None = None) -> dict:
    """The sensitive counts of every period of ``year`` at every level, period code → [townships,
    counties, cities, provinces, the nation] (region_code, parent_code and the counts), over the
    whole atlas. The townships' counts come from sensitive_counts.sql (indicators.sql's rules,
    without what only a page needs), two periods at a time (DuckDB runs them in parallel); every
    region above is the sum of its townships, as indicators.sql sums them.

    A province or nation of a single region below (an atlas of one city, a province-level
    municipality) is that region again under another name: it is left out here, and
    :func:`year_hidden_cells` hides in it whatever it hides in that region (:func:`aliases`)."""
    codes = sorted({code for total, parts in periods.year_sums(year) for code in (total, *parts)})
    keep = ["region_code", "parent_code", *suppress.sensitive_counts()]
    shape = [table(con, level, codes[0], EVERYTHING, None, filters)[["region_code", "parent_code"]]
             for level in LEVELS[1:]]
    groups = [runner.run(con, "atlas_groups", level=level).set_index("township_code")["group_code"]
              for level in LEVELS[1:]]
    alias = aliases(con)
    dropped = set(alias)
    # a region under a dropped alias is a member of what the alias stands for (北京's districts,
    # registered under 北京市 the province, are 北京's city's), and the region it stands for is a
    # member of the alias's parent (北京's city of the nation): every total stays the sum of its members
    parent_of = {code: up for frame in shape for code, up in zip(frame["region_code"], frame["parent_code"])}

    def final(code):
        while code in alias:
            code = alias[code]
        return code

    def lift(code, parent):
        while parent in dropped:
            if final(parent) != code:
                return final(parent)
            parent = parent_of.get(parent)
        return parent

    wanted = (filters or Filters()).params()
    stored = aggregates.usable(con, wanted["risk_types"], wanted["case_sources"])  # once for the 17 periods

    database = runner.current_database(con)  # asked here: a connection is not shared across threads

    def towns(code: str) -> pd.DataFrame:
        p = periods.parse(code)
        with runner.cursor(con, database) as cur:
            found = runner.run(cur, "sensitive_counts", period_start=p.start, period_end=p.end, scope=EVERYTHING,
                               risk_levels=wanted["risk_levels"], risk_types=wanted["risk_types"],
                               case_sources=wanted["case_sources"], stored=stored)
        return found[keep]

    with ThreadPoolExecutor(max_workers=2) as pool:
        found = dict(zip(codes, pool.map(towns, codes)))
    out = {}
    for code, frame in found.items():
        levels = [frame]
        for above, group in zip(shape, groups):
            sums = frame.assign(group_code=frame["region_code"].map(group)).groupby("group_code")[keep[2:]].sum()
            level = above.join(sums, on="region_code").fillna({c: 0 for c in keep[2:]})
            level = level[~level["region_code"].isin(dropped)].reset_index(drop=True)
            levels.append(level.assign(parent_code=[lift(c, p) for c, p in zip(level["region_code"],
                                                                              level["parent_code"])]))
        out[code] = levels
    return out


def aliases(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Provinces and the nation that hold a single region of the level below, over the whole
    atlas: region code → that region (连云港's province and the nation → 连云港市, when the atlas
    is one city). Their counts are that region's, and so are their hidden cells."""
    out: dict[str, str] = {}
    below = runner.run(con, "atlas_groups", level="city")
    for level in ABOVE_CITY:
        found = runner.run(con, "atlas_groups", level=level)
        pairs = found.assign(child=found["township_code"].map(below.set_index("township_code")["group_code"]))
        children = pairs.groupby("group_code")["child"].unique()
        out.update({code: kids[0] for code, kids in children.items() if len(kids) == 1})
        below = found
    return out


def shown(con: duckdb.DuckDBPyConnection, level: str, period: str | periods.Period, scope: list[str],
          region_code: str | None = None, filters: Filters | None = None, exact: bool = False,
          hidden: dict | None = None) -> pd.DataFrame:
    """:func:`table` as a viewer may see it: small counts and what they give away hidden
    (indicators/suppress.py) unless ``exact`` (admins). Pass ``hidden`` (:func:`hidden_cells`
    of the same period and filters) to reuse it."""
    frame = table(con, level, period, scope, region_code, filters)
    if not exact and hidden is None:
        hidden = hidden_cells(con, period, filters)
    return suppress.apply(frame, exact, hidden)


def in_scope(code: str | None, scope: list[str]) -> bool:
    """The in_scope macro (queries/_macros.sql) for a single code in Python: ``code`` lies in one of
    the ``scope`` prefixes."""
    return code is not None and any(str(code).startswith(p) for p in scope)


def whole_regions(frame: pd.DataFrame, scope: list[str]) -> pd.DataFrame:
    """The rows of regions the viewer sees whole: a county's analyst asking the CLI for the city
    level gets no row, not the county's own sum under the city's name. (The pages never ask: their
    region picker offers only whole regions, regions_in_atlas.sql.)"""
    if list(scope) == EVERYTHING or frame.empty:
        return frame
    whole = frame["region_code"].map(lambda code: in_scope(code, scope))
    return frame[whole.to_numpy(dtype=bool)].reset_index(drop=True)
