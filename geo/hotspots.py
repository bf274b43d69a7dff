"""Hotspots of township rates: contiguity weights, empirical-Bayes smoothing, Gi* and local Moran.

Method
------
1. **Weights.** Queen contiguity: two townships are neighbours when their boundaries share at
   least one vertex. A township that touches none ("island": a real island, or a polygon whose
   imported boundary stops just short of its neighbours) is joined to the one township nearest
   to it (smallest gap between the two polygons, measured in metres), in both directions, so
   every township is tested against a neighbourhood.
2. **Smoothing.** Rates of townships with few households are unstable (3 events in 3
   households is a rate of 100%). Empirical Bayes replaces each rate by a weighted mix of the
   township's own rate and a reference rate, where the weight of its own rate grows with its
   number of households; a township with no households (base 0) has no rate and stays missing.
   :func:`smooth_global` uses the city's pooled rate as the reference (Marshall 1991, as
   esda.smoothing.Empirical_Bayes): **use it before testing for hotspots.** :func:`smooth`
   uses the pooled rate of the township's neighbourhood (esda.smoothing.
   Spatial_Empirical_Bayes): good for drawing a map, wrong before a hotspot test, because it
   borrows from the very neighbours Gi* then sums and so manufactures clusters. Measured on
   Beijing's 343 townships with pure-noise counts (Poisson, bases 200-40,000), 20 runs: mean
   global Moran's I -0.01 for the raw rates and 0.42 after spatial smoothing; "significant"
   hotspots in 10 of 20 runs after spatial smoothing, in none after global smoothing.
3. **Getis-Ord Gi\\*** (esda.G_Local, star=True: each township counts in its own
   neighbourhood, binary weights) for clusters, and **local Moran's I** (esda.Moran_Local,
   row-standardised weights) for outliers. Both get a pseudo p-value from conditional
   permutations (999 by default, seeded): the township's value is held fixed and its
   neighbours' values are drawn at random from the other townships. As in GeoDa and PySAL,
   the p-value is that of the tail the observed statistic lies in, but with ties counted in
   both tails: (min(#sims >= observed, #sims <= observed) + 1) / (permutations + 1). (esda's
   own p_sim counts a tie only as "larger", so a township whose neighbourhood is all zeros,
   common for rates, would get the smallest possible p and look like a cold spot.) This is a
   one-tailed p for the side the data fall on; a two-sided p would be twice as large. With
   999 permutations the smallest p is 0.001, so Benjamini-Hochberg can flag nothing unless
   at least 0.001 * n / alpha townships reach it (3 of 144, 7 of Beijing's 343).
4. **Multiple testing.** Each statistic is tested in every township at once, so the p-values
   are adjusted by Benjamini-Hochberg (scipy.stats.false_discovery_control) over all the
   townships tested: ``gi_p_fdr`` and ``moran_p_fdr`` are q-values, and keeping q < alpha
   keeps the expected share of false findings among the flagged townships below alpha.

Decision rule (``hotspot_class``), with alpha = 0.05 by default:

- "hot": Gi* z > 0 and gi_p_fdr < alpha, and the township's own value above the mean of the
  townships tested (the region's level, Gi*'s own reference)
- "hot-edge" (热点周边): the same significant high neighbourhood, but the township's own value
  at or below that mean: a leader reads 热点 as "this township's rate is high", so a low
  township ringed by high ones is named for what it is
- "cold" and "cold-edge" (冷点周边): the mirror image, Gi* z < 0
- otherwise "high-low" when the local Moran quadrant is HL (4) and moran_p_fdr < alpha
- otherwise "low-high" when the local Moran quadrant is LH (2) and moran_p_fdr < alpha
- otherwise "ns" (not significant)

Townships without a value (no rate), and townships whose every neighbour lacks a value, are
not tested: class "ns" with NaN statistics. When fewer than 5 townships can be tested, or all
their values are equal, nothing is tested and every township is "ns" with NaN statistics.

A hotspot is a group of neighbouring townships with high rates, more than chance would put
side by side. It is not proof of a cause, and not a ranking of single townships.

The class labels and the plain-language method note are in Chinese and English here, as the
analysis page, the README and the exports all quote the same words; the rest of the
interface text stays in i18n/text.py.
"""
import warnings

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from libpysal.weights import W, Queen, w_subset
from scipy.stats import false_discovery_control

from geo.classify import as_floats

PERMUTATIONS = 999
ALPHA = 0.05
SEED = 12345
MIN_TOWNSHIPS = 5  # fewer tested townships than this: no test at all
# An equal-area projection for China (Albers, 25N/47N), as in geo.boundaries: gaps in metres.
CHINA_ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +datum=WGS84 +units=m +no_defs"

CLASSES = ("hot", "hot-edge", "cold", "cold-edge", "high-low", "low-high", "ns")
CLASS_LABELS = {"hot": "热点", "hot-edge": "热点周边", "cold": "冷点", "cold-edge": "冷点周边",
                "high-low": "高–低异常", "low-high": "低–高异常", "ns": "不显著"}
CLASS_LABELS_EN = {"hot": "Hot spot", "hot-edge": "Beside a hot spot", "cold": "Cold spot",
                   "cold-edge": "Beside a cold spot", "high-low": "High–low outlier",
                   "low-high": "Low–high outlier", "ns": "Not significant"}
# hot red, cold blue, outliers pink / light blue, not significant light grey. Townships
# without a value are drawn by the caller in maps.MISSING_COLOUR (#d9d9d9), a darker grey.
CLASS_COLOURS = {"hot": "#d7301f", "hot-edge": "#fdbb84", "cold": "#2b6cb0", "cold-edge": "#c6dbef",
                 "high-low": "#f4a6c0", "low-high": "#9ecae1", "ns": "#f0f0f0"}
# The default map colours townships by their smoothed rate and draws the significant hot and
# cold spots as thick outlines in these darker shades, so the colours stay the rate's own.
OUTLINED = ("hot", "cold")
OUTLINE_COLOURS = {"hot": "#67000d", "cold": "#08306b"}
COLUMNS = ["gi_z", "gi_p", "gi_p_fdr", "moran_i", "moran_q", "moran_p", "moran_p_fdr", "hotspot_class"]


def weights(geoms, ids) -> W:
    """Queen contiguity weights between townships, with islands joined to their nearest township.

    Parameters
    ----------
    geoms : GeoDataFrame or GeoSeries of (Multi)Polygons, one row per township, with a CRS.
        A geographic CRS (lon/lat) is projected to an equal-area Albers for China to measure gaps.
    ids : township codes, one per row of ``geoms`` and unique; they become the W's ids, in order.

    Returns
    -------
    libpysal.weights.W, binary (transform "O"), ``id_order`` = ``ids``. Neighbours share at
    least one boundary vertex. A township with no such neighbour is linked, both ways, to the
    township whose polygon is nearest (smallest gap; the first in ``ids`` on a tie), so
    ``w.islands`` is empty whenever there are two townships or more.
    """
    ids = list(ids)
    geometry = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else geoms
    if not isinstance(geometry, gpd.GeoSeries):
        raise ValueError("geoms must be a GeoDataFrame or GeoSeries")
    if len(ids) != len(geometry):
        raise ValueError(f"{len(ids)} ids for {len(geometry)} geometries")
    if len(set(ids)) != len(ids):
        raise ValueError("ids are not unique; give each township one row")
    if geometry.crs is None:
        raise ValueError("geoms has no CRS; set it where the file is read")
    empty = [i for i, g in zip(ids, geometry) if g is None or g.is_empty]
    if empty:
        raise ValueError(f"townships without a boundary: {empty[:5]}; drop them before weights()")
    if not ids:
        return W({}, id_order=[], silence_warnings=True)
    queen = Queen.from_iterable(list(geometry), ids=ids, id_order=ids, silence_warnings=True)
    position = {code: i for i, code in enumerate(ids)}
    # sorted neighbour lists: the same W whatever the hash seed of the process
    neighbours = {code: sorted(queen.neighbors.get(code, []), key=position.get) for code in ids}
    islands = [code for code in ids if not neighbours[code]]
    if islands and len(ids) > 1:
        metric = geometry.to_crs(CHINA_ALBERS) if geometry.crs.is_geographic else geometry
        polygons = metric.to_numpy()
        for code in islands:
            gaps = shapely.distance(polygons, polygons[position[code]])
            gaps[position[code]] = np.inf
            nearest = ids[int(np.argmin(gaps))]
            for a, b in ((code, nearest), (nearest, code)):
                if b not in neighbours[a]:
                    neighbours[a] = sorted([*neighbours[a], b], key=position.get)
    return W(neighbours, id_order=ids, silence_warnings=True)


def _aligned(values, w: W, name: str) -> tuple[np.ndarray, pd.Index]:
    """``values`` as floats in ``w.id_order``, and the index the caller gave them.

    A pandas Series is aligned by its index (township codes), which must all be in ``w``;
    townships of ``w`` it lacks count as missing. Anything else is taken in ``w.id_order``.
    """
    ids = list(w.id_order)
    if isinstance(values, pd.Series):
        unknown = values.index.difference(pd.Index(ids))
        if len(unknown):
            raise ValueError(f"{name}: townships not in the weights: {list(unknown[:5])}")
        if values.index.has_duplicates:
            raise ValueError(f"{name}: duplicated townships in the index")
        floats = pd.Series(as_floats(values), index=values.index)
        return floats.reindex(ids).to_numpy(), values.index
    floats = as_floats(values)
    if len(floats) != len(ids):
        raise ValueError(f"{name}: {len(floats)} values for {len(ids)} townships in the weights")
    return floats, pd.Index(ids)


def _subset(w: W, keep: list) -> W:
    return w_subset(w, keep, silence_warnings=True)


def smooth(events, base, w: W) -> np.ndarray:
    """Spatial empirical-Bayes rates: small townships pulled toward their neighbourhood's rate.

    For a map of rates. Not before :func:`hotspots`: use :func:`smooth_global` there.

    Parameters
    ----------
    events : counts per township (for example households with a risk flag); None/NaN missing.
    base : population at risk per township (for example households screened); 0 or missing
        gives no rate.
    w : contiguity weights from :func:`weights`. Arrays are read in ``w.id_order``; pandas
        Series are aligned on their index (township codes).

    Returns
    -------
    numpy array of rates as events / base (not per 1000: the caller scales), in the order of
    ``events`` (``w.id_order`` for arrays), NaN where the township has no rate. The
    neighbourhood of a township is itself plus its neighbours that have a rate; a township
    whose neighbourhood had no event at all keeps the pooled rate, 0.
    """
    e, index = _aligned(events, w, "events")
    b, _ = _aligned(base, w, "base")
    if (e < 0).any() or (b < 0).any():
        raise ValueError("events and base must not be negative")
    ok = ~np.isnan(e) & ~np.isnan(b) & (b > 0)
    ids = list(w.id_order)
    out = pd.Series(np.nan, index=ids)
    if ok.any():
        keep = [code for code, good in zip(ids, ok) if good]
        sub = _subset(w, keep)
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = esda.smoothing.Spatial_Empirical_Bayes(e[ok], b[ok], sub).r.ravel()
            pooled = esda.smoothing.Spatial_Rate(e[ok], b[ok], sub).r.ravel()
        # no event in the whole neighbourhood: the EB weight is 0/0; the rate is the pooled one
        out[keep] = np.where(np.isnan(rate), pooled, rate)
    return out.reindex(index).to_numpy()


def smooth_global(events, base) -> np.ndarray:
    """Empirical-Bayes rates shrunk toward the pooled rate of all townships (Marshall 1991).

    The input for :func:`hotspots`: small townships lose their noise without borrowing from
    their neighbours, so no spatial pattern is created (see the module docstring).

    Parameters
    ----------
    events : counts per township; None/NaN missing.
    base : population at risk per township; 0 or missing gives no rate.

    Returns
    -------
    numpy array of rates as events / base, in input order, NaN where there is no rate. Each is
    ``w * own + (1 - w) * pooled`` with ``w = v / (v + pooled / base)``, ``v`` the method-of-
    moments variance of the true rates (esda.smoothing.Empirical_Bayes), set to 0 when
    negative: then every township gets the pooled rate (the spread is all chance).
    """
    e, b = as_floats(events), as_floats(base)
    if len(e) != len(b):
        raise ValueError(f"{len(e)} events for {len(b)} bases")
    if (e < 0).any() or (b < 0).any():
        raise ValueError("events and base must not be negative")
    ok = ~np.isnan(e) & ~np.isnan(b) & (b > 0)
    out = np.full(len(e), np.nan)
    if not ok.any():
        return out
    e, b = e[ok], b[ok]
    pooled = e.sum() / b.sum()
    rate = e / b
    spread = (b * (rate - pooled) ** 2).sum() / b.sum() - pooled / b.mean()
    spread = max(spread, 0.0)  # esda leaves it negative, which gives weights outside [0, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(spread + pooled / b > 0, spread / (spread + pooled / b), 0.0)
    out[ok] = weight * rate + (1 - weight) * pooled
    return out


def _empty(index: pd.Index) -> pd.DataFrame:
    frame = pd.DataFrame({c: np.nan for c in COLUMNS[:-1]}, index=index)
    frame["hotspot_class"] = "ns"
    return frame


def _pseudo_p(observed: np.ndarray, sims: np.ndarray) -> np.ndarray:
    """Folded permutation p-value, ties counted in both tails (see the module docstring).

    ``sims`` is (townships, permutations). The simulated and observed statistics are computed
    by different code paths, so equal sums can differ in the last bits: "equal" is isclose.
    """
    observed = np.asarray(observed, dtype=float)[:, None]
    tie = np.isclose(sims, observed, rtol=1e-9, atol=1e-12)
    at_least = ((sims > observed) | tie).sum(axis=1)
    at_most = ((sims < observed) | tie).sum(axis=1)
    return (np.minimum(at_least, at_most) + 1.0) / (sims.shape[1] + 1.0)


def hotspots(values, w: W, permutations: int = PERMUTATIONS, seed: int = SEED,
             alpha: float = ALPHA) -> pd.DataFrame:
    """Gi* hot and cold spots and local Moran outliers, with FDR-adjusted p-values.

    Parameters
    ----------
    values : one rate per township, non-negative (smoothed by :func:`smooth_global` first
        when bases are small; not by :func:`smooth`); None/NaN means no rate. A pandas Series is aligned on its index (township
        codes, all in ``w``); an array is read in ``w.id_order``.
    w : contiguity weights from :func:`weights` (any transform; copies are made).
    permutations : conditional permutations for the pseudo p-values.
    seed : seed of the permutations: the same seed gives the same result.
    alpha : false discovery rate at which a township is flagged.

    Returns
    -------
    DataFrame indexed like ``values`` with columns gi_z (Gi* z-score), gi_p (pseudo p),
    gi_p_fdr (Benjamini-Hochberg q-value over the townships tested), moran_i, moran_q
    (1 HH, 2 LH, 3 LL, 4 HL), moran_p, moran_p_fdr and hotspot_class in
    CLASSES; see the module docstring for the rule.
    Untested townships have NaN statistics and class "ns".

    Speed (numba is not installed; esda runs its permutations in plain numpy, one process):
    0.06 s for 144 townships and 0.1 s for Beijing's 343 at 999 permutations, 0.6 s at 9,999.
    """
    y, index = _aligned(values, w, "values")
    if (y < 0).any():
        raise ValueError("values must not be negative (Gi* needs non-negative rates)")
    if not 0 < alpha < 1 or permutations < 1:
        raise ValueError("alpha must be in (0, 1) and permutations at least 1")
    ids = list(w.id_order)
    frame = _empty(pd.Index(ids))
    has_value = [code for code, v in zip(ids, y) if not np.isnan(v)]
    sub = _subset(w, has_value)
    tested = [code for code in has_value if sub.neighbors[code]]  # a neighbour with a value
    y_tested = pd.Series(y, index=ids)[tested].to_numpy()
    if len(tested) < MIN_TOWNSHIPS or np.ptp(y_tested) == 0:
        return frame.reindex(index)
    with warnings.catch_warnings():
        # esda warns that its default p-value convention ("directed") will change; we pin the
        # esda version and document the convention in the module docstring
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="The weights matrix is not fully connected")
        # n_jobs=1: joblib workers cost more than they save at city scale, and the cores are shared
        gi = esda.G_Local(y_tested, _subset(w, tested), transform="B", permutations=permutations,
                          star=True, keep_simulations=True, n_jobs=1, seed=seed)
        lisa = esda.Moran_Local(y_tested, _subset(w, tested), transformation="r",
                                permutations=permutations, keep_simulations=True, n_jobs=1, seed=seed)
    gi_p = _pseudo_p(gi.Gs, gi.rGs)
    moran_p = _pseudo_p(lisa.Is, lisa.rlisas)
    stats = pd.DataFrame({
        "gi_z": gi.Zs,
        "gi_p": gi_p,
        "gi_p_fdr": false_discovery_control(gi_p, method="bh"),
        "moran_i": lisa.Is,
        "moran_q": lisa.q.astype(float),
        "moran_p": moran_p,
        "moran_p_fdr": false_discovery_control(moran_p, method="bh"),
    }, index=tested).astype(float)
    gi_sig = stats["gi_p_fdr"] < alpha
    moran_sig = stats["moran_p_fdr"] < alpha
    above = y_tested > y_tested.mean()  # the township's own value against the region's level
    below = y_tested < y_tested.mean()
    high, low = gi_sig & (stats["gi_z"] > 0), gi_sig & (stats["gi_z"] < 0)
    cls = np.select(
        [high & above, high, low & below, low,
         moran_sig & (stats["moran_q"] == 4), moran_sig & (stats["moran_q"] == 2)],
        ["hot", "hot-edge", "cold", "cold-edge", "high-low", "low-high"], default="ns")
    stats["hotspot_class"] = cls
    frame.loc[tested, COLUMNS] = stats[COLUMNS]
    return frame.reindex(index)


def describe_method(lang: str = "zh", permutations: int = PERMUTATIONS, alpha: float = ALPHA) -> str:
    """The plain-language note shown with a hotspot map: method, settings, and how to read it.

    Parameters
    ----------
    lang : "zh" (default) or "en".
    permutations, alpha : the settings :func:`hotspots` was run with.
    """
    pct = f"{alpha:.0%}" if alpha * 100 == round(alpha * 100) else f"{alpha:.1%}"
    if lang == "zh":
        return (
            f"方法：先对户数少的乡镇做经验贝叶斯平滑（把不稳定的比率向所选地区的总体比率拉近），"
            f"再计算 Getis-Ord Gi* 统计量（含本乡镇）找聚集区，并用局部 Moran's I 找异常值。"
            f"相邻关系为 Queen 邻接（边界有公共点即相邻；不与任何乡镇相邻的乡镇与距离最近的乡镇相连）。"
            f"显著性用 {permutations} 次条件置换检验，并按 Benjamini–Hochberg 方法控制错误发现率（FDR）在 {pct}。"
            f"“热点”是指高比率的乡镇与高比率的相邻乡镇连片出现，超出随机分布所能解释的程度；"
            f"它不证明原因，也不是单个乡镇的排名。自身比率不高于所选地区平均水平、只因相邻乡镇比率高而显著的乡镇，"
            f"标为“热点周边”而不是“热点”（“冷点周边”同理）。缺少数据的乡镇不参与检验。"
        )
    if lang == "en":
        return (
            f"Method: rates of townships with few households are first smoothed by empirical "
            f"Bayes (unstable rates are pulled toward the rate of the whole area mapped). Clusters are "
            f"found with the Getis-Ord Gi* statistic (each township included in its own "
            f"neighbourhood) and outliers with local Moran's I. Neighbours share a boundary point "
            f"(queen contiguity); an isolated township is linked to its nearest township. "
            f"Significance comes from {permutations} conditional permutations, with the false "
            f"discovery rate (Benjamini-Hochberg) held at {pct}. A hot spot is a group of "
            f"neighbouring townships with high rates, more than chance would put side by side; "
            f"it is not proof of a cause, and not a ranking of single townships. A township whose "
            f"own rate is not above the area's average, significant only because its neighbours' "
            f"rates are high, is marked beside a hot spot, not a hot spot (and likewise for cold "
            f"spots). Townships without data are not tested."
        )
    raise ValueError(f"lang must be 'zh' or 'en', got {lang!r}")
