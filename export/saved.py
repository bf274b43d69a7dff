"""Saved snapshots (保存快照): a named view, its URL parameters and the numbers it showed, frozen.

``freeze`` builds the numbers from :func:`export.views.build_view` (the screen's own queries) and
keeps them as *formatted text*: KPI cards, the township table and the ranking with small sensitive
counts already "<5", and each township's class colour and the legend instead of raw values. No
household id, nor anything else about a single household, is stored. A small map image (the
view's map alone, drawn by :mod:`export.staticmap` when the snapshot is saved) goes with it, so a
snapshot reopens and projects offline exactly as it was, whatever is imported later.

Saving, renaming or deleting a snapshot does not bump ``data_version``: a snapshot is not ledger
data, and bumping would throw away every cached query of the app for nothing. A snapshot records
the data version it was built on instead. Readers that cache the list must therefore not key it on
the data version (the app reads the small table afresh on each run).
"""
import io
import json
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd
from PIL import Image, ImageChops

from db import lake, schema
from export import staticmap
from export.text import t
from export.views import HOTSPOT_OFS, OTHER_ROOM_COLOUR, VIEWS, ViewSpec, build_view, view_columns
from queries import runner
from indicators import fmt, suppress

FORMAT = 1           # the layout of ``numbers`` (stored in it); bump when it changes
NAME_MAX = 100       # characters
MAP_SIZE = (8.0, 6.0)  # inches at MAP_DPI: at most 1280 × 960 px (white border trimmed), the map alone
MAP_DPI = 160
LAST_ID_KEY = "snapshot_last_id"  # in meta: ids are never reused, so an old link cannot open another snapshot


@dataclass(frozen=True)
class Frozen:
    """What ``freeze`` returns and ``save`` stores."""
    view: str
    region_code: str
    period: str
    numbers: dict            # JSON-ready: see ``freeze``
    map_png: bytes | None
    data_version: int
    data_as_of: date | None
    scope: tuple = ("",)     # the regions it was built for (the saver's scope, code prefixes)
    exact: bool = False      # built with exact small counts (an admin's): only admins may open it
    lake_snapshot: int | None = None  # on a DuckLake: the lake's snapshot it was read at (db/lake.py)


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: int
    name: str
    view: str
    region_code: str | None
    period: str | None
    params: dict
    numbers: dict
    map_png: bytes | None
    data_version: int | None
    data_as_of: date | None
    created_at: datetime
    created_by: str | None
    lake_snapshot: int | None = None  # on a DuckLake: open the data as it was (lake.at)

    @property
    def hotspot_of(self) -> str | None:
        """The measure a hotspot snapshot tested (ViewSpec.hotspot_of): "risk" for one saved
        before the measure was recorded (every export then mapped the risk rate); None for the
        other views."""
        if self.view != "hotspots":
            return None
        found = self.numbers.get("hotspot_of") or self.params.get("of")
        return found if found in HOTSPOT_OFS else HOTSPOT_OFS[0]


def freeze(con: duckdb.DuckDBPyConnection, spec: ViewSpec, with_map: bool = True) -> Frozen:
    """The numbers the view ``spec`` describes shows, as formatted text, and its map.

    ``numbers`` holds: title, map_title, region and period (code and label), data_as_of(_text),
    kpis (label, value, change, parts), totals, the township table (columns, rows, region codes),
    the ranking (title, columns, rows), each drawn region's colour (townships, or a city's counties:
    ``spec.unit``), the legend rows, the room types (coverage) and the notes. ``spec`` carries the
    page's filters, classes and map unit, so the snapshot
    holds what the page showed.
    """
    # on a lake, the snapshot the numbers are read at (asked first: an import committing meanwhile
    # makes a later one, which these numbers predate); None on a file
    lake_snapshot = lake.snapshot_id(con) if schema.is_lake(con) else None
    v = build_view(con, spec)
    view, lang = spec.view, spec.lang
    codes = view_columns(spec)
    towns = v.townships
    table = {
        "columns": [t("TOWNSHIP", lang), t("COUNTY", lang)] + [fmt.label(c, lang) for c in codes],
        "codes": list(codes),
        "region_codes": towns["region_code"].astype(str).tolist(),
        "rows": [[str(r["region_name"]), str(r["county_name"] or "")] + [fmt.value(c, r[c], lang) for c in codes]
                 for r in suppress.records(towns)],
    }
    numbers = {
        "format": FORMAT,
        "view": view,
        "lang": lang,
        "title": v.title,
        "map_title": v.map_title,
        "region_code": v.region_code,
        "region_name": v.region_name,
        "region_level": v.region_level,
        "period": v.period,
        "period_label": v.period_label,
        "data_as_of": v.data_as_of.isoformat() if v.data_as_of else None,
        "data_as_of_text": v.data_as_of_text,
        "code": v.code,
        # what the hotspot map tested (ViewSpec.hotspot_of); a snapshot saved before it was kept
        # has none and showed the risk rate (Snapshot.hotspot_of)
        "hotspot_of": v.hotspot_of,
        "kpis": [{"code": k.code, "label": k.label, "value": k.value, "change": k.change, "parts": k.parts}
                 for k in v.kpis],
        "totals": dict(v.totals),
        "townships": table,
        "ranking": {"title": v.ranking.title, "columns": list(v.ranking.columns), "rows": v.ranking.rows},
        "colours": dict(v.shading.colour_of),
        "legend": {"title": v.shading.title, "rows": [{"colour": r.colour, "label": r.label} for r in v.shading.rows],
                   # the hotspot map's outlined hot and cold spots (drawn as outlines, not fills)
                   "outlines": [{"colour": r.colour, "label": r.label} for r in v.shading.outline_rows]},
        # the coverage map's room points, by type (rooms are public places, so counts are not suppressed)
        "room_types": [{"type": kind, "colour": v.room_colours.get(kind, OTHER_ROOM_COLOUR), "count": int(n)}
                       for kind, n in v.rooms["room_type"].value_counts().items()] if len(v.rooms) else [],
        "notes": list(v.notes),
        "approximate": v.approximate,
    }
    png = trim(staticmap.png_bytes(staticmap.map_only(v, MAP_SIZE), MAP_DPI)) if with_map else None
    version = int(runner.run(con, "data_version")["version"].iloc[0])
    return Frozen(view, v.region_code, v.period, numbers, png, version, v.data_as_of, tuple(spec.scope),
                  bool(getattr(spec, "exact", False)), lake_snapshot)


def trim(png: bytes, margin: int = 12) -> bytes:
    """The PNG without its white border (a tall city leaves wide margins), so a slide can show it large."""
    with Image.open(io.BytesIO(png)) as image:
        rgb = image.convert("RGB")
        box = ImageChops.difference(rgb, Image.new("RGB", rgb.size, "white")).getbbox()
        if box is None:
            return png
        left, top, right, bottom = box
        box = (max(0, left - margin), max(0, top - margin), min(rgb.width, right + margin),
               min(rgb.height, bottom + margin))
        out = io.BytesIO()
        rgb.crop(box).save(out, format="PNG", optimize=True)
        return out.getvalue()


def has_table(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_name = 'snapshots'")
                .fetchall()[0][0])


def clean_name(name: str) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise ValueError("a snapshot needs a name")
    return name[:NAME_MAX]


def save(con: duckdb.DuckDBPyConnection, name: str, view: str, params: dict, frozen: Frozen,
         created_by: str | None = None) -> int:
    """Store a snapshot (one transaction) and return its id. ``con`` must be writable."""
    if view not in VIEWS:
        raise ValueError(f"bad view {view!r}: expected one of {', '.join(VIEWS)}")
    name = clean_name(name)
    if not has_table(con):  # an older database the app has not upgraded yet
        schema.create(con)
    for attempt in range(1, lake.RETRIES + 1):  # on a lake another server may save at the same moment
        con.execute("begin")
        try:
            new_id = _insert(con, name, view, params, frozen, created_by)
            con.execute("commit")
            break
        except Exception as error:
            con.execute("rollback")
            if not (schema.is_lake(con) and lake.is_conflict(error)) or attempt == lake.RETRIES:
                raise
    return new_id


def _insert(con: duckdb.DuckDBPyConnection, name: str, view: str, params: dict, frozen: Frozen,
            created_by: str | None) -> int:
    """save()'s statements, inside its transaction: the next id (never one used before), the row."""
    last = con.execute("select value from meta where key = ?", [LAST_ID_KEY]).fetchall()
    top = con.execute("select coalesce(max(snapshot_id), 0) from snapshots").fetchall()[0][0]
    new_id = max(int(last[0][0]) if last else 0, int(top)) + 1
    schema.upsert(con, "meta", ("key",), {"key": LAST_ID_KEY, "value": str(new_id)})
    con.execute(
        """insert into snapshots (snapshot_id, name, view, region_code, period, params, numbers, map_png,
                                  data_version, data_as_of, created_at, created_by, scope, exact,
                                  lake_snapshot)
           values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [new_id, name, view, frozen.region_code, frozen.period,
         json.dumps({k: str(v) for k, v in params.items()}, ensure_ascii=False),
         json.dumps(frozen.numbers, ensure_ascii=False), frozen.map_png, frozen.data_version,
         frozen.data_as_of, datetime.now(), created_by, list(frozen.scope), frozen.exact,
         frozen.lake_snapshot],
    )
    return new_id


LIST_COLUMNS = ["snapshot_id", "name", "view", "region_code", "region_name", "period", "period_label",
                "data_as_of", "data_version", "created_at", "created_by", "lake_snapshot"]


# Who may open a snapshot: one built for regions all inside the viewer's, and with exact small
# counts only for a viewer who sees them (an admin). A snapshot saved before scopes were recorded
# counts as the whole atlas's, with exact counts (its "<5" could be worked back from its rates).
_VISIBLE = """list_bool_and(list_transform(coalesce(scope, ['']), lambda s: in_scope(s, $scope)))
              and (not coalesce(exact, true) or $exact)"""


def list_all(con: duckdb.DuckDBPyConnection, scope: list[str] | None = None, exact: bool = True) -> pd.DataFrame:
    """The snapshots a viewer of ``scope`` (code prefixes; None: everything) may open, newest
    first, without their numbers or map (``LIST_COLUMNS``)."""
    if not has_table(con):
        return pd.DataFrame(columns=LIST_COLUMNS)
    runner.define_rules(con)
    return con.execute(f"""
        select
            snapshot_id,
            name,
            view,
            region_code,
            json_extract_string(numbers, '$.region_name') as region_name,
            period,
            json_extract_string(numbers, '$.period_label') as period_label,
            data_as_of,
            data_version,
            created_at,
            created_by,
            lake_snapshot
        from snapshots
        where {_VISIBLE}
        order by created_at desc, snapshot_id desc
    """, {"scope": list(scope or [""]), "exact": bool(exact)}).df()


def get(con: duckdb.DuckDBPyConnection, snapshot_id: int, scope: list[str] | None = None,
        exact: bool = True) -> Snapshot | None:
    """One snapshot with its frozen numbers and map, or None if there is no such id or a viewer
    of ``scope`` (None: everything) and ``exact`` may not open it (the two read alike)."""
    if not has_table(con):
        return None
    runner.define_rules(con)
    rows = con.execute(f"""
        select snapshot_id, name, view, region_code, period, params, numbers, map_png,
               data_version, data_as_of, created_at, created_by, lake_snapshot
        from snapshots
        where snapshot_id = $id and {_VISIBLE}
    """, {"id": int(snapshot_id), "scope": list(scope or [""]), "exact": bool(exact)}).fetchall()
    if not rows:
        return None
    (sid, name, view, region, period, params, numbers, png, version, as_of, created_at, created_by, at) = rows[0]
    return Snapshot(int(sid), name, view, region, period, json.loads(params or "{}"), json.loads(numbers or "{}"),
                    bytes(png) if png is not None else None, version, as_of, created_at, created_by,
                    int(at) if at is not None else None)


def rename(con: duckdb.DuckDBPyConnection, snapshot_id: int, name: str) -> bool:
    """Give a snapshot a new name; False if there is no such id."""
    name = clean_name(name)
    if not has_table(con):
        return False
    # the count of rows changed (a DuckLake takes no RETURNING on an update or delete)
    changed = con.execute("update snapshots set name = ? where snapshot_id = ?", [name, int(snapshot_id)]).fetchall()
    return changed[0][0] > 0


def delete(con: duckdb.DuckDBPyConnection, snapshot_id: int) -> bool:
    """Remove a snapshot; False if there is no such id. Its id is not given to a later snapshot."""
    if not has_table(con):
        return False
    gone = con.execute("delete from snapshots where snapshot_id = ?", [int(snapshot_id)]).fetchall()
    return gone[0][0] > 0
