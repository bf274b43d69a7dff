"""The only place caches meet data. Every cache keys on (database path, data key): the data key is
the database's identity and its data version, so a rebuilt database (its version restarts at 1)
is never mistaken for the one it replaced."""
import threading
import time
from datetime import date
from pathlib import Path
from types import MappingProxyType

import duckdb
import pandas as pd
import streamlit as st

from access.viewer import DEMO, Viewer
from db import lake, paths, schema
from geo import boundaries, risk, shapes
from indicators import suppress
from queries import indicators, periods, runner
from ui import state


def db_path() -> str:
    """The atlas itself: what is written (imports, accounts, the audit log, snapshots saved)."""
    return str(paths.db_path())


AS_OF_KEY = state.AS_OF_KEY  # session: the lake snapshot this session reads, when it opened the data as it was


def as_of() -> int | None:
    """The lake snapshot this session reads instead of the current data ("open the data as it
    was", a saved snapshot's lake_snapshot): from the URL's ``as_of`` (kept for the session until
    it goes back to the current data: clear_as_of), None on a file or when reading the current data.
    An id the lake does not have (yet) is dropped with a notice."""
    if not is_lake():
        return None
    raw = st.query_params.get("as_of")
    if raw is not None and raw != str(st.session_state.get(AS_OF_KEY)):
        wanted = int(raw) if raw.isdigit() else None
        if wanted is None or wanted > lake.current_snapshot(db_path()):
            from i18n import safe
            from ui.text import t

            st.toast("⚠ " + t("URL_NOTICE", param=t("URL_PARAM_as_of"), value=safe.markdown(raw)))
            del st.query_params["as_of"]
            wanted = None
        st.session_state[AS_OF_KEY] = wanted
    return st.session_state.get(AS_OF_KEY)


def snapshot_time(version: int) -> str | None:
    """When lake snapshot ``version`` was committed: asked once per snapshot, not on every rerun
    of a page showing the as-of banner (a snapshot's time never changes)."""
    return _snapshot_time(db_path(), version)


@st.cache_data(max_entries=16, show_spinner=False)
def _snapshot_time(db: str, version: int) -> str | None:
    return lake.snapshot_time(db, version)


def clear_as_of() -> None:
    st.session_state[AS_OF_KEY] = None
    if "as_of" in st.query_params:
        del st.query_params["as_of"]


def reading_db() -> str:
    """What the pages read: the atlas, or on a lake the snapshot the session opened (read-only;
    a database of its own to every cache). Connect to it with _connect (pinned on a lake)."""
    version = as_of()
    return lake.at(db_path(), version) if version is not None else db_path()


VIEWER_KEY = "atlas_viewer"


def viewer() -> Viewer:
    """Who is looking: set in the session by the login (ui/auth.py); the demo viewer until then."""
    return st.session_state.get(VIEWER_KEY, DEMO)


def viewer_scope() -> list[str]:
    """The region-code prefixes this viewer may see: every query takes them."""
    return viewer().scope


def connect_live(db: str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the atlas as it is now (accounts, the audit log: what a write of
    this very run must show at once)."""
    # A writer in another process holds the file for a moment: wait a little, then give up.
    if not lake.is_lake(db) and not Path(db).exists():
        raise FileNotFoundError(f"no database at {db}; build one with `python cli.py demo`")
    return schema.open_waiting(db, read_only=True, wait=5)


def _connect(db: str) -> duckdb.DuckDBPyConnection:
    """What the pages' data is read with: on a lake, the snapshot this script run is pinned to."""
    version = pinned(db)
    return connect_live(lake.at(db, version) if version is not None else db)


# On a lake, every read of one script run sees one snapshot (pin(), at the start of each run of
# app.py): other servers and importers commit while a page is being drawn, and a page mixing two
# snapshots would show one import in its sidebar's data version and three in its figures. A thread
# that did not pin (a background computation) reads the lake as it is.
_run = threading.local()


def pin() -> None:
    """Pin this script run's reads to the lake's current snapshot (or the one the session opened,
    as_of); a file needs none (one writer, and readers see whole commits)."""
    db = db_path()
    if not lake.is_lake(db):
        return
    version = as_of()
    _run.pin = (db, version if version is not None else lake.current_snapshot(db))


def repin() -> None:
    """After this run wrote (an import, an undo, targets, a snapshot): read what it wrote."""
    if getattr(_run, "pin", None) is not None:
        pin()


def pinned(db: str) -> int | None:
    """The snapshot this run reads ``db`` at: None for a file, a target already at a snapshot, or
    a thread with no pin."""
    found = getattr(_run, "pin", None)
    return found[1] if found is not None and found[0] == db else None


def version() -> int:
    """The current data version (shown in the sidebar, cited by snapshots)."""
    return data_key()[1]


def data_key() -> tuple[str, int]:
    """(database id, data version): what every cache keys on, so no cache goes stale, not even
    across a rebuild of the database at the same path.

    Read from the database only when its files change (a write touches the file or its WAL),
    or on a lake when its snapshot moves (any process's commit), not once per query: a page
    makes a dozen cached calls per rerun.
    """
    db = reading_db()
    return _version(db, _file_stamp(db))


# A lake's stamp is its current snapshot id: a catalog query (a few ms) that a page would make a
# dozen times a rerun. Asked at most every LAKE_STAMP_SECONDS per process: shorter than any click
# after an import, so a commit from anywhere shows on the next rerun of every server.
LAKE_STAMP_SECONDS = 0.3
_lake_stamps: dict[str, tuple[float, tuple]] = {}


def _file_stamp(db: str) -> tuple:
    if pinned(db) is not None:
        return (pinned(db),)
    if lake.is_lake(db):
        now = time.monotonic()
        found = _lake_stamps.get(db)
        if found is None or now - found[0] > LAKE_STAMP_SECONDS:
            found = _lake_stamps[db] = (now, (lake.current_snapshot(db),))
        return found[1]
    stamp = []
    for path in (Path(db), Path(db + ".wal")):
        try:
            info = path.stat()
            stamp.append((info.st_mtime_ns, info.st_size, info.st_ino))
        except FileNotFoundError:
            stamp.append(None)
    return tuple(stamp)


@st.cache_data(max_entries=16, show_spinner=False)
def _version(db: str, stamp: tuple) -> tuple[str, int]:
    with _connect(db) as con:
        row = runner.run(con, "data_version").iloc[0]
        return str(row["database_id"]), int(row["version"])


def may_narrow() -> bool:
    """Whether this viewer may filter sensitive counts (access.viewer.Viewer.may_narrow)."""
    return viewer().may_narrow(data_source() == "demo")


def data_source() -> str:
    """'demo', 'imported' or 'both': what the data in the viewer's scope is (export.views.data_source)."""
    from export.views import data_source as named

    row = query("data_sources", scope=viewer_scope()).iloc[0]
    return named(bool(row["has_demo"]), bool(row["has_imported"]))


def version_row() -> dict:
    """The data version and its note, for the sidebar: cached per version like every query."""
    return query("data_version").iloc[0].to_dict()


def query(name: str, **params) -> pd.DataFrame:
    """Run queries/<name>.sql, cached per (database, data version, params)."""
    return _query(reading_db(), data_key(), name, params)


@st.cache_data(ttl="1h", max_entries=256, show_spinner=False)
def _query(db: str, data_version: int, name: str, params: dict) -> pd.DataFrame:
    # A fresh read-only connection per cache miss: a long-lived one would block an importer.
    with _connect(db) as con:
        return runner.run(con, name, **params)


def indicator_table(level: str, period: str, region_code: str | None,
                    filters: indicators.Filters | None = None) -> pd.DataFrame:
    """The indicators as this viewer may see them: small counts, and what would give them away,
    hidden (indicators/suppress.py) unless the viewer is an admin."""
    return _indicators(reading_db(), data_key(), level, period, tuple(viewer_scope()), region_code,
                       filters or indicators.Filters(), viewer().exact)


@st.cache_data(ttl="1h", max_entries=256, show_spinner=False)
def _indicators(db: str, data_version: int, level: str, period: str, scope: tuple, region_code: str | None,
                filters: indicators.Filters, exact: bool) -> pd.DataFrame:
    hidden = None if exact else _hidden(db, data_version, period, filters)
    with _connect(db) as con:
        return indicators.shown(con, level, period, list(scope), region_code, filters, exact, hidden)


# ---- computed once per data version in the background, a notice meanwhile --------------------

class Computing(Exception):
    """What the page needs is still being computed in the background (:func:`background`). No
    number may be shown in its place: app.py catches this around the page and shows
    ui.widgets.computing_notice, which reruns the page once it is done."""

    def __init__(self, what: str, minutes: int, started: float, key: tuple):
        super().__init__(what)
        self.what, self.minutes, self.started, self.key = what, minutes, started, key


class _Job:
    def __init__(self, fn, args):
        self.started = time.monotonic()
        self.done = threading.Event()
        self.result = self.error = None
        threading.Thread(target=self._run, args=(fn, args), name="atlas-background", daemon=True).start()

    def _run(self, fn, args):
        try:
            self.result = fn(*args)
        except BaseException as error:  # handed to the page that asks next, then tried again
            self.error = error
        finally:
            self.done.set()


_JOBS: dict[tuple, _Job] = {}
_JOBS_LOCK = threading.Lock()
_JOBS_KEEP = 32


def background(key: tuple, fn, *args, what: str, minutes: int = 1, wait: float | None = 2.0):
    """``fn(*args)``, computed once per ``key`` in this server process (every session shares it)
    in a background thread. ``key`` holds the database and its data version, so an import starts
    a new computation and the old result is never served for new data. Returns the result when it
    is ready within ``wait`` seconds (None: wait for it, what a small atlas does); else raises
    :class:`Computing` (``what``: the i18n key of the notice, ``minutes``: about how long). A
    failed computation raises its error to the page that asks, and is tried again on the next."""
    with _JOBS_LOCK:
        job = _JOBS.get(key)
        if job is None or (job.done.is_set() and job.error is not None):
            while len(_JOBS) >= _JOBS_KEEP:  # the oldest finished one goes first
                old = next((k for k, j in _JOBS.items() if j.done.is_set()), None)
                if old is None:
                    break
                _JOBS.pop(old)
            job = _JOBS[key] = _Job(fn, args)
    if not job.done.wait(wait):
        raise Computing(what, minutes, job.started, key)
    if job.error is not None:
        raise job.error
    return job.result


def ready(key: tuple) -> bool:
    """Whether the background computation of ``key`` has finished (or failed)."""
    with _JOBS_LOCK:
        job = _JOBS.get(key)
    return job is None or job.done.is_set()


def _minutes(townships: int, per_minute: int) -> int:
    return max(1, -(-townships // per_minute))


def _year_cells(db: str, data_version: tuple, year: int, filters: indicators.Filters,
                wait: float | None = None) -> dict:
    """queries.indicators.year_hidden_cells of ``year``: a city's waited for (seconds, as always),
    a province's or the nation's computed in the background (:func:`background`)."""
    towns = len(query("townships_in_atlas", scope=indicators.EVERYTHING))
    large = towns > indicators.SOLVE_IN_PARTS_ABOVE
    if wait is None and large:
        wait = BACKGROUND_WAIT

    def work():
        with _connect(db) as con:
            return indicators.year_hidden_cells(con, year, filters)

    return background(("suppression", db, data_version, year, filters), work, what="COMPUTING_SUPPRESSION",
                      minutes=_minutes(towns, SUPPRESSION_TOWNSHIPS_PER_MINUTE), wait=wait)


# what the notices' estimates assume (measured on the 2-core machine: bench/national.py)
SUPPRESSION_TOWNSHIPS_PER_MINUTE = 10_000
HOTSPOT_TOWNSHIPS_PER_MINUTE = 40_000
BACKGROUND_WAIT = 2.0  # seconds a page waits for a large computation before it shows the notice


def _hidden(db: str, data_version: tuple, period: str, filters: indicators.Filters) -> dict:
    """The cells hidden in ``period`` (queries.indicators.hidden_cells), out of its year's."""
    p = periods.parse(period)
    # room types count rooms only, never a sensitive count: one pattern for every choice of them
    sensitive = indicators.Filters(risk_levels=filters.risk_levels, risk_types=filters.risk_types,
                                   case_sources=filters.case_sources)
    joint = _year_cells(db, data_version, p.start.year, sensitive)
    return {(region, measure): kind for (code, region, measure), kind in joint.items() if code == p.code}


def warm_suppression() -> None:
    """Start choosing the hidden cells of the latest year with data (queries.indicators.
    year_hidden_cells: seconds for a city, minutes for the nation) in the background, once per
    database and data version, so the first visitor after a start or an import waits less. The
    pages find them through :func:`background`; nothing here waits."""
    _, last = data_span()
    if last is None:
        return
    try:
        _year_cells(reading_db(), data_key(), last.year, indicators.Filters(), wait=0)
    except Computing:
        pass
    except Exception:  # a busy or replaced file: the page computes them when it needs them
        pass


def indicator_history(level: str, kind: str, region_code: str | None, filters: indicators.Filters,
                      code: str) -> list:
    """Values of one indicator in every period of one kind (month, quarter, year) with data:
    what a locked colour scale is computed from. Built once per data version and filters."""
    first, last = data_span()
    if first is None:
        return []
    every = [p.code for p in periods.options(first, last) if p.kind == kind]
    return [indicator_table(level, p, region_code, filters)[code].astype(float).to_numpy() for p in every]


def lookup(frame: pd.DataFrame, key: str, value: str) -> dict:
    """``{frame[key]: frame[value]}``, read a column at a time: iterating an Arrow-backed column
    value by value costs a tenth of a second on the nation's 38,723 townships, on every rerun."""
    return dict(zip(frame[key].tolist(), frame[value].tolist()))


def townships() -> pd.DataFrame:
    """Atlas townships in the viewer's scope: region_code, name, parent_code (its county)."""
    return query("townships_in_atlas", scope=viewer_scope())


def filter_options() -> dict[str, list[str]]:
    """The room types, risk types and case sources there are, most common first."""
    frame = query("filter_options", scope=viewer_scope())
    return {name: group["value"].tolist() for name, group in frame.groupby("filter", sort=False)}


def county_geojson(region_code: str) -> str:
    """County shapes of a city, made from its townships' lines (so the two maps agree)."""
    return _county_geojson(reading_db(), data_key(), region_code, tuple(viewer_scope()))


@st.cache_data(ttl="1h", max_entries=32, show_spinner=False)
def _county_geojson(db: str, data_version: int, region_code: str | None, scope: tuple) -> str:
    """The counties of a city, merged from its townships (their lines meet the townships' own);
    of a province or the nation (``region_code`` None), their own outlines (county_shapes.sql, as
    the maps above a city are made): 2,843 counties dissolved from 38,723 townships would take
    seconds and send half as much again."""
    inner = indicators.narrow(list(scope), region_code) or ["-"]
    above_city = region_code is None or len(indicators.region_prefix(region_code)) <= 2
    with _connect(db) as con:
        rows = runner.run(con, "county_shapes" if above_city else "township_shapes", scope=inner)
        names = runner.run(con, "region_names" if above_city else "regions_in_atlas",
                           **({} if above_city else {"scope": list(scope)}))
    names = lookup(names, "region_code", "name")
    if above_city:  # a city without counties comes as its townships, under its code: merged into one
        frame = boundaries.from_rows(rows)
        several = frame["county_code"].duplicated(keep=False)
        single = frame[~several].rename(columns={"county_code": "region_code"})
        single["region_name"] = single["region_code"].map(names).fillna(single["region_code"])
        counties = pd.concat([single[["region_code", "region_name", "boundary_source", "geometry"]],
                              shapes.dissolve(frame[several], "county_code", names)], ignore_index=True)
    else:
        counties = shapes.dissolve(boundaries.from_rows(rows), "county_code", names)
    return shapes.map_geojson(counties, ["region_code", "region_name", "boundary_source"])


def regions_geojson(view: str, region_code: str) -> str:
    """The map of a nation (its provinces) or a province (its cities), from county outlines:
    above a city no township polygon is sent (geo.shapes.regions_above_city)."""
    return _regions_geojson(reading_db(), data_key(), view, region_code, tuple(viewer_scope()))


@st.cache_data(ttl="1h", max_entries=32, show_spinner=False)
def _regions_geojson(db: str, data_version: int, view: str, region_code: str, scope: tuple) -> str:
    with _connect(db) as con:
        rows = runner.run(con, "county_shapes", scope=indicators.narrow(list(scope), region_code) or ["-"])
        names = runner.run(con, "region_names")
    names = lookup(names, "region_code", "name")
    merged = shapes.regions_above_city(boundaries.from_rows(rows), view, names)
    return shapes.to_geojson(merged, ["region_code", "region_name", "boundary_source"])


def township_trend(township: str, last_month: date, filters: indicators.Filters, months: int = 24) -> pd.DataFrame:
    first = (pd.Timestamp(last_month.replace(day=1)) - pd.DateOffset(months=months - 1)).date()
    scope = indicators.narrow(viewer_scope(), township) or ["-"]
    p = filters.params()
    found = query("township_trend", first_month=first, last_month=last_month.replace(day=1), scope=scope,
                  risk_levels=p["risk_levels"], risk_types=p["risk_types"], case_sources=p["case_sources"])
    if viewer().exact:
        return suppress.trend(found, True)
    # each month, quarter and year keeps hidden what its own table hides (cached per period)
    patterns = {code: _hidden(reading_db(), data_key(), code, filters)
                for code in suppress.trend_periods(found["month_start"])}
    return suppress.trend(found, False, township, patterns)


def _case_rows(period: str, region_code: str, filters: indicators.Filters) -> pd.DataFrame:
    """A township's cases by type and source, raw (queries/case_breakdown.sql, cached)."""
    p = periods.parse(period)
    scope = indicators.narrow(viewer_scope(), region_code) or ["-"]
    return query("case_breakdown", period_start=p.start, period_end=p.end, scope=scope,
                 case_sources=list(filters.case_sources))


def case_breakdown(period: str, region_code: str, filters: indicators.Filters) -> pd.DataFrame | None:
    """A township's cases by type and source as this viewer may see them, for the period
    suppress.breakdown_period says (the whole year, unless an admin); None when its case count
    for that period is hidden (then no breakdown can be shown without narrowing it)."""
    shown = suppress.breakdown_period(period, viewer().exact)
    towns = indicator_table("township", shown, region_code, filters).set_index("region_code")
    total = towns["cases_received"].get(region_code)
    return suppress.breakdown(_case_rows(shown, region_code, filters), total, viewer().exact)


def case_source(period: str, region_code: str, filters: indicators.Filters) -> str | None:
    """Where a township's case figures come from: 'return' (a monthly statistical return),
    'rows' (the case ledger), None (no case). Not a count: said even when the count is hidden."""
    found = _case_rows(period, region_code, filters)
    if found.empty:
        return None
    return "return" if found["from_return"].any() else "rows"


def township_geojson(view: str, region_code: str) -> str:
    """Township shapes of a region as GeoJSON text, simplified to about a pixel of the map fitted
    to the region (geo.shapes.map_geojson): built once per (database, data version, view,
    region, scope), never on a mere rerun."""
    return _township_geojson(reading_db(), data_key(), view, region_code, tuple(viewer_scope()))


@st.cache_data(ttl="1h", max_entries=64, show_spinner=False)
def _township_geojson(db: str, data_version: int, view: str, region_code: str, scope: tuple) -> str:
    with _connect(db) as con:
        rows = runner.run(con, "township_shapes", scope=indicators.narrow(list(scope), region_code) or ["-"])
    frame = boundaries.from_rows(rows)
    return shapes.map_geojson(frame, ["region_code", "region_name", "county_code", "boundary_source"])


def regions() -> pd.DataFrame:
    return query("regions_in_atlas", scope=viewer_scope())


def region_info() -> "MappingProxyType[str, tuple[str, str]]":
    """Region code -> (name, level) of the listed regions in the viewer's scope, in the picker's
    order: one read-only mapping per database, data version and scope, shared by every session
    (a page asks for its region several times a run: a copy of the table each time cost 10 ms)."""
    return _region_info(reading_db(), data_key(), tuple(viewer_scope()))


@st.cache_resource(max_entries=32, show_spinner=False)
def _region_info(db: str, data_version: int, scope: tuple) -> "MappingProxyType[str, tuple[str, str]]":
    frame = _query(db, data_version, "regions_in_atlas", {"scope": list(scope)})
    return MappingProxyType(dict(zip(frame["region_code"].tolist(),
                                     zip(frame["name"].tolist(), frame["level"].tolist()))))


def data_span() -> tuple[date | None, date | None]:
    row = query("data_span", scope=viewer_scope()).iloc[0]
    first, last = row["first_date"], row["last_date"]
    as_date = lambda v: None if pd.isna(v) else pd.Timestamp(v).date()  # noqa: E731
    return as_date(first), as_date(last)


def default_period() -> str | None:
    found = query("latest_month", today=date.today(), scope=viewer_scope())["month_start"].iloc[0]
    if pd.isna(found):
        return None
    return periods.period_containing(pd.Timestamp(found).date(), "month").code


def rooms(period: str, region_code: str, filters: indicators.Filters | None = None) -> pd.DataFrame:
    """Rooms active in the period, of the types the filter counts (as the indicators count them)."""
    p = periods.parse(period)
    scope = indicators.narrow(viewer_scope(), region_code) or ["-"]
    return query("rooms_in_period", period_start=p.start, period_end=p.end, scope=scope,
                 room_types=list((filters or indicators.Filters()).room_types))


def screening_trend(region_code: str, first: date, last: date) -> pd.DataFrame:
    """Monthly screening from the first month with any screening (not from the first room's
    opening, years before: a flat zero run tells a leader nothing) to ``last``."""
    scope = indicators.narrow(viewer_scope(), region_code) or ["-"]
    frame = query("screening_trend", first_month=first.replace(day=1), last_month=last.replace(day=1), scope=scope)
    started = (frame["households_screened"].fillna(0) > 0) | (frame["ytd_households"].fillna(0) > 0)
    if not started.any():
        return frame.tail(1).reset_index(drop=True)
    return frame[started.cumsum() > 0].reset_index(drop=True)


def upgrade_schema() -> None:
    """Add the tables a newer version brought (imports, aliases, …) to an older database."""
    _upgrade(db_path(), _file_stamp(db_path()))


@st.cache_resource(show_spinner=False)
def _upgrade(db: str, stamp: tuple) -> bool:
    return schema.upgrade(db)


NoLake = lake.NoLake


def is_lake() -> bool:
    return lake.is_lake(db_path())


def shown_db() -> str:
    """The database as a page may name it: a lake without its password."""
    return lake.shown(db_path())


def database_exists() -> bool:
    return paths.db_path(db_path()).exists()


DUCKDB_VERSION = duckdb.__version__  # what the app says it runs when a file is too new for it


def unreadable() -> tuple[str, str | None] | None:
    """Why this DuckDB cannot open the database: ("newer", the version that wrote it, or None) for a
    file of a newer DuckDB, ("not_duckdb", None) for a file that is not DuckDB's (or is damaged);
    None when it opens, or is not there yet. Asked again only when the file changes."""
    db = db_path()
    if lake.is_lake(db):  # a lake is not a file: one that cannot be reached is said below (NoLake)
        return None
    return _unreadable(db, _file_stamp(db))


@st.cache_data(max_entries=16, show_spinner=False)
def _unreadable(db: str, stamp: tuple) -> tuple[str, str | None] | None:
    return schema.unreadable(db)  # (the pages wait for a busy file as they always have)


def is_builtin_demo() -> bool:
    """Whether the database is the built-in demo's file (data/atlas.duckdb): one the app may
    rebuild. A newer DuckDB's file cannot say what it holds (its meta is unreadable here), so any
    other path is treated as someone's data."""
    return paths.is_default(db_path())


def set_aside() -> str:
    """Rename the unreadable demo database out of the way (never deleted); returns its new name.
    Held under the same lock as a new database's creation, so two first sessions move it once."""
    db = Path(db_path())
    with paths.creating(db):
        found = _unreadable(str(db), _file_stamp(str(db)))
        if found is not None and found[0] == "newer":
            return paths.set_aside(db).name
    return db.name + paths.NEWER_SUFFIX  # another session moved it a moment ago


def scoped(target: str, period: str, *args, **kwargs) -> pd.DataFrame:
    """``module:function(con, period, scope, *args, **kwargs)`` from geo/ or queries/, run on a
    short read-only connection and cached per (database, data version, arguments, scope): the
    statistics and lists the pages show are computed once, never on a mere rerun."""
    return _scoped(reading_db(), data_key(), target, period, args, tuple(sorted(kwargs.items())),
                   tuple(viewer_scope()))


@st.cache_data(ttl="1h", max_entries=128, show_spinner=False)
def _scoped(db: str, data_version: int, target: str, period: str, args: tuple, kwargs: tuple,
            scope: tuple) -> pd.DataFrame:
    import importlib

    module, name = target.split(":")
    fn = getattr(importlib.import_module(module), name)  # looked up at call time
    with _connect(db) as con:
        return fn(con, period, list(scope), *args, **dict(kwargs))


def gaps(period: str, region_code: str, radius_km: float | None) -> pd.DataFrame:
    """The 盲区 list (geo/gaps.py)."""
    return scoped("geo.gaps:gaps", period, region_code, radius_km)


def radius_summary(period: str, region_code: str, radius_km: float) -> pd.DataFrame:
    return scoped("geo.gaps:radius_summary", period, radius_km, region_code)


def pacing(level: str, period: str, region_code: str) -> pd.DataFrame:
    """Screening against the year's targets (queries/pacing.py), as of the latest data date."""
    return scoped("queries.pacing:pacing", period, region_code, level=level)


def month_change(month: str, region_code: str) -> pd.DataFrame:
    return scoped("queries.pacing:month_change", month, region_code)


def save_targets(frame: pd.DataFrame) -> list:
    """Write edited targets (all or nothing); returns the problems, empty when saved."""
    from queries import pacing as screening_pacing

    with schema.open_waiting(db_path(), read_only=False, wait=10) as con:
        problems = screening_pacing.save_targets(con, frame)
    repin()  # the rest of this run shows the targets just saved
    return problems


def hotspot_table(period: str, region_code: str, of: str, filters: indicators.Filters) -> pd.DataFrame:
    """Smoothed rates and Gi*/local Moran classes (geo/risk.py), once per (measure, period,
    region, filters, scope, data version)."""
    stats = scoped("geo.risk:table", period, region_code, of=of, filters=filters)
    if viewer().exact:
        return stats
    towns = indicator_table("township", period, region_code, filters)
    return suppress.derived(stats, towns, risk.MEASURES[of][1], risk.OWN_VALUE)


# Above this many townships (the nation) the hotspot statistics are computed in the background
# (:func:`background`): 42 s for 38,723 on the shared 2-core machine, a province's 1-5 s.
HOTSPOTS_IN_BACKGROUND_ABOVE = 5000


def hotspot_overview(period: str, region_code: str, of: str,
                     filters: indicators.Filters) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(townships, hotspot statistics) of a province or the nation as this viewer may see them:
    :func:`indicator_table` and :func:`hotspot_table` of every township in the region, those of
    more than HOTSPOTS_IN_BACKGROUND_ABOVE townships computed once per (database, data version,
    period, region, measure, filters, scope) in the background (raises :class:`Computing`
    meanwhile); the cells a viewer may not see are hidden as on every page."""
    db, key, scope = reading_db(), data_key(), tuple(viewer_scope())
    towns = len(query("townships_in_atlas", scope=indicators.narrow(list(scope), region_code) or ["-"]))
    if towns <= HOTSPOTS_IN_BACKGROUND_ABOVE:
        return indicator_table("township", period, region_code, filters), hotspot_table(period, region_code, of, filters)
    exact = viewer().exact
    hidden = None if exact else _hidden(db, key, period, filters)  # no numbers before the cells are chosen

    def work():
        with _connect(db) as con:
            raw = indicators.table(con, "township", period, list(scope), region_code, filters)
            return raw, risk.table(con, period, list(scope), region_code, of=of, filters=filters)

    raw, stats = background(("hotspots", db, key, period, region_code, of, filters, scope), work,
                            what="COMPUTING_HOTSPOTS", minutes=_minutes(towns, HOTSPOT_TOWNSHIPS_PER_MINUTE),
                            wait=BACKGROUND_WAIT)
    shown = suppress.apply(raw, exact, hidden)
    if exact:
        return shown, stats
    return shown, suppress.derived(stats, shown, risk.MEASURES[of][1], risk.OWN_VALUE)
