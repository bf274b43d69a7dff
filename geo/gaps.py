"""Coverage gaps (盲区): townships and villages without an active mediation room, and villages
farther than a service radius from every active room.

Reads the named queries gaps_townships, gaps_villages and rooms_in_period; distances are
great-circle distances on a sphere (haversine), computed here.
"""
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from queries import indicators, periods, runner

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG)

# Kinds of gap, in the order rows are listed for each township.
KINDS = ("township", "village", "beyond_radius", "unknown_distance")
# The reason text for each kind. Chinese here because the gap list is published as is (CLI JSON,
# exports); reason_code lets the UI word it differently through i18n/text.py.
REASONS = {
    "township": "乡镇内无在用调解阵地",
    "village": "村（社区）内无在用调解阵地",
    "beyond_radius": "距最近在用调解阵地 {km:.1f} 公里，超出 {radius:g} 公里服务半径",
    "no_located_room": "无标注坐标的在用调解阵地，超出 {radius:g} 公里服务半径",
    "no_village_point": "村（社区）无坐标，距离未知",
}
FIELDS = [
    "kind", "township_code", "township_name", "county_name", "village_code", "village_name",
    "households", "nearest_room_km", "reason_code", "reason",
]


def haversine_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance in km between (lon1, lat1) and (lon2, lat2), degrees WGS84; broadcasts."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(a, dtype=float)) for a in (lon1, lat1, lon2, lat2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def nearest_km(points: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Distance from each point to the nearest target, in km.

    Parameters
    ----------
    points : array (n, 2) of (longitude, latitude) in degrees, WGS84 (CGCS2000 treated as WGS84).
        Rows with a NaN coordinate get NaN.
    targets : array (m, 2) of (longitude, latitude), degrees, all finite.

    Returns
    -------
    array (n,) of great-circle distances in km (sphere of radius EARTH_RADIUS_KM); NaN where the
    point is unknown or there are no targets. A k-d tree on unit vectors finds the nearest target
    by chord length, which orders targets exactly as the great-circle distance does.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    targets = np.asarray(targets, dtype=float).reshape(-1, 2)
    if not np.isfinite(targets).all():
        raise ValueError("targets have missing coordinates; drop rooms without longitude/latitude first")
    out = np.full(len(points), np.nan)
    known = np.isfinite(points).all(axis=1)
    if len(targets) == 0 or not known.any():
        return out
    chord, _ = cKDTree(_unit_vectors(targets)).query(_unit_vectors(points[known]))
    out[known] = 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2, 0.0, 1.0))
    return out


def villages_with_distance(con, period: str | periods.Period, scope: list[str],
                           region_code: str | None = None) -> pd.DataFrame:
    """Every village in scope with its active-room count and nearest_room_km.

    Parameters
    ----------
    con : DuckDB connection to the atlas.
    period : period code or Period; a room is active if it opened by the period's end and did not
        close before its start.
    scope : the viewer's region-code prefixes; region_code narrows them.

    Returns
    -------
    The rows of queries/gaps_villages.sql plus ``nearest_room_km``: km to the nearest active room
    with coordinates *anywhere in the database* (a room across a county line still serves the
    village, whether or not the viewer may see that county); NaN when the village has no point or
    no active room has coordinates.
    """
    p, effective = _period_and_scope(period, scope, region_code)
    villages = runner.run(con, "gaps_villages", period_start=p.start, period_end=p.end, scope=effective)
    rooms = runner.run(con, "rooms_in_period", period_start=p.start, period_end=p.end, scope=indicators.EVERYTHING,
                       room_types=[])  # gaps count a room of any type
    located = rooms[["longitude", "latitude"]].dropna().to_numpy(dtype=float)
    villages["nearest_room_km"] = nearest_km(villages[["longitude", "latitude"]].to_numpy(dtype=float), located)
    return villages


def gaps(con, period: str | periods.Period, scope: list[str], region_code: str | None = None,
         radius_km: float | None = None) -> pd.DataFrame:
    """One row per uncovered unit in scope, in the period.

    Parameters
    ----------
    con : DuckDB connection to the atlas.
    period : period code or Period (active room: opened by its end, not closed before its start).
    scope : the viewer's region-code prefixes; ``region_code`` narrows them.
    radius_km : service radius in km; None lists only townships and villages without a room.

    Returns
    -------
    DataFrame with FIELDS. ``kind`` is
      'township'          an atlas township with no active room;
      'village'           a village with no active room in it;
      'beyond_radius'     (radius given) a village without a room of its own that lies farther
                          than radius_km from every active room with coordinates, or where no
                          active room has coordinates;
      'unknown_distance'  (radius given) a village without a room of its own and without a point:
                          its distance is unknown, so it is listed, never counted as covered.
    A village with an active room of its own is covered, whatever the distances say. households
    is the township's households_total for 'township' rows, else the village's households.
    nearest_room_km is null on township rows and where unknown. Rows are ordered by township,
    kind (as in KINDS) and village code.
    """
    if radius_km is not None and not (np.isfinite(radius_km) and radius_km > 0):
        raise ValueError(f"bad radius {radius_km!r}: expected a positive number of kilometres")
    p, effective = _period_and_scope(period, scope, region_code)
    towns = runner.run(con, "gaps_townships", period_start=p.start, period_end=p.end, scope=effective)
    villages = villages_with_distance(con, p, scope, region_code)

    parts = []
    bare = towns[towns["rooms_active"] == 0]
    parts.append(pd.DataFrame({
        "kind": "township",
        "township_code": bare["township_code"],
        "township_name": bare["township_name"],
        "county_name": bare["county_name"],
        "village_code": None,
        "village_name": None,
        "households": bare["households_total"],
        "nearest_room_km": np.nan,
        "reason_code": "township",
        "reason": REASONS["township"],
    }))
    roomless = villages[villages["rooms_active"] == 0]
    parts.append(_village_rows(roomless, "village", "village", REASONS["village"]))
    if radius_km is not None:
        has_point = roomless["longitude"].notna() & roomless["latitude"].notna()
        far = roomless[has_point & ~(roomless["nearest_room_km"] <= radius_km)]
        parts.append(_village_rows(
            far, "beyond_radius",
            np.where(far["nearest_room_km"].isna(), "no_located_room", "beyond_radius"),
            [REASONS["no_located_room"].format(radius=radius_km) if pd.isna(km)
             else REASONS["beyond_radius"].format(km=km, radius=radius_km) for km in far["nearest_room_km"]],
        ))
        unknown = roomless[~has_point]
        parts.append(_village_rows(unknown, "unknown_distance", "no_village_point", REASONS["no_village_point"]))
    parts = [part for part in parts if len(part)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in FIELDS})
    out = pd.concat(parts, ignore_index=True)
    out["households"] = out["households"].astype("Int64")
    out["order"] = out["kind"].map(KINDS.index)
    out = out.sort_values(["township_code", "order", "village_code"], kind="stable", na_position="first")
    return out[FIELDS].reset_index(drop=True)


def radius_summary(con, period: str | periods.Period, scope: list[str], radius_km: float,
                   region_code: str | None = None) -> pd.DataFrame:
    """Households beyond the service radius, per atlas township in scope.

    Parameters
    ----------
    radius_km : service radius in km (> 0).

    Returns
    -------
    One row per atlas township in scope (with or without gaps): township_code, township_name,
    county_name, villages, households (sum over its villages), villages_beyond and
    households_beyond (villages without a room of their own farther than radius_km from every
    located active room, as 'beyond_radius' in gaps()), villages_unknown and households_unknown
    (no village point), and share_beyond = households_beyond / households (null when 0).
    """
    if not (np.isfinite(radius_km) and radius_km > 0):
        raise ValueError(f"bad radius {radius_km!r}: expected a positive number of kilometres")
    p, effective = _period_and_scope(period, scope, region_code)
    towns = runner.run(con, "gaps_townships", period_start=p.start, period_end=p.end, scope=effective)
    villages = villages_with_distance(con, p, scope, region_code)
    roomless = villages["rooms_active"] == 0
    has_point = villages["longitude"].notna() & villages["latitude"].notna()
    households = villages["households"].fillna(0)
    beyond = roomless & has_point & ~(villages["nearest_room_km"] <= radius_km)
    unknown = roomless & ~has_point
    per = pd.DataFrame({
        "township_code": villages["township_code"],
        "villages": 1,
        "households": households,
        "villages_beyond": beyond.astype(int),
        "households_beyond": households.where(beyond, 0),
        "villages_unknown": unknown.astype(int),
        "households_unknown": households.where(unknown, 0),
    }).groupby("township_code").sum()
    out = towns[["township_code", "township_name", "county_name"]].merge(
        per, left_on="township_code", right_index=True, how="left", validate="one_to_one")
    counts = ["villages", "households", "villages_beyond", "households_beyond", "villages_unknown", "households_unknown"]
    out[counts] = out[counts].fillna(0).astype("int64")
    out["share_beyond"] = out["households_beyond"] / out["households"].where(out["households"] > 0)
    return out.reset_index(drop=True)


def _village_rows(frame: pd.DataFrame, kind: str, reason_code, reason) -> pd.DataFrame:
    return pd.DataFrame({
        "kind": kind,
        "township_code": frame["township_code"],
        "township_name": frame["township_name"],
        "county_name": frame["county_name"],
        "village_code": frame["village_code"],
        "village_name": frame["village_name"],
        "households": frame["households"],
        "nearest_room_km": frame["nearest_room_km"],
        "reason_code": reason_code,
        "reason": reason,
    })


def _period_and_scope(period, scope, region_code) -> tuple[periods.Period, list[str]]:
    p = period if isinstance(period, periods.Period) else periods.parse(period)
    return p, indicators.narrow(scope, region_code) or ["-"]


def _unit_vectors(lonlat: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])
