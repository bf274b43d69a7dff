"""geo/hotspots.py on grids of square townships whose answers can be reasoned out by hand."""
import warnings

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from libpysal.weights import W
from scipy.stats import hypergeom
from shapely.geometry import box

from geo import hotspots as hs

N = 12  # 12 x 12 townships of 1 km², in a metric CRS (UTM 50N)
UTM = "EPSG:32650"


def grid(n: int = N, crs: str = UTM, size: float = 1000.0) -> tuple[gpd.GeoSeries, list[str]]:
    cells = [box(c * size, r * size, (c + 1) * size, (r + 1) * size) for r in range(n) for c in range(n)]
    return gpd.GeoSeries(cells, crs=crs), [f"t{r:02d}{c:02d}" for r in range(n) for c in range(n)]


ROWCOL = np.array([(r, c) for r in range(N) for c in range(N)])
# the planted cluster: the 4 x 4 block of rows 4-7 and columns 4-7
IN_BLOCK = (ROWCOL >= 4).all(axis=1) & (ROWCOL <= 7).all(axis=1)
CORNER = IN_BLOCK & np.isin(ROWCOL[:, 0], [4, 7]) & np.isin(ROWCOL[:, 1], [4, 7])
STEPS_FROM_BLOCK = np.maximum(np.clip(4 - ROWCOL, 0, None), np.clip(ROWCOL - 7, 0, None)).max(axis=1)


@pytest.fixture(scope="module")
def w() -> W:
    cells, ids = grid()
    return hs.weights(cells, ids)


@pytest.fixture(autouse=True)
def no_leaking_warnings():
    # esda and libpysal warn about islands, components and p-value conventions; none may leak
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def planted(seed: int) -> np.ndarray:
    # Background: 10 plus a few whole units (Poisson 0.3: 74% exactly 10). Discrete on purpose:
    # with continuous noise, Benjamini-Hochberg at 5% lets through its allowed ~5% of false
    # findings beside the ~12 true ones, and "nothing else significant" failed in 40% of seeds
    # (measured over 60). Ties keep the background's neighbourhood sums from ranking extreme.
    rng = np.random.default_rng(seed)
    return 10 + rng.poisson(0.3, N * N) + 20.0 * IN_BLOCK


def test_weights_are_queen_contiguity_on_a_grid(w):
    assert w.n == N * N and w.id_order[:2] == ["t0000", "t0001"]
    assert sorted(w.neighbors["t0000"]) == ["t0001", "t0100", "t0101"]  # a corner: 3
    assert len(w.neighbors["t0505"]) == 8  # inside: 4 edges and 4 corners
    assert w.islands == []


@pytest.mark.parametrize("seed", range(5))
def test_a_planted_cluster_is_hot_and_nothing_else_is_significant(w, seed):
    out = hs.hotspots(planted(seed), w, seed=seed)
    cls = out["hotspot_class"].to_numpy()
    # The 12 non-corner block cells have >= 5 of their 8 neighbours in the block; 8 random
    # draws from the 143 others hit >= 5 of the 15 other block cells with p ~ 5e-4.
    assert (cls[IN_BLOCK & ~CORNER] == "hot").all()
    # A block corner, or a cell touching the block, sees 3 block cells: chance gives that with
    # p ~ 0.04, so those may go either way; every other cell must be "ns".
    assert set(cls[IN_BLOCK | (STEPS_FROM_BLOCK == 1)]) <= {"hot", "ns"}
    assert (cls[STEPS_FROM_BLOCK >= 2] == "ns").all()
    assert (out.loc[cls == "hot", "gi_z"] > 0).all()
    assert (out.loc[cls == "hot", "gi_p_fdr"] < 0.05).all()


def test_a_below_average_township_beside_a_cluster_is_never_called_hot(w):
    """Issue 15: a leader reads 热点 as "this township's rate is high". A low township ringed by
    the planted cluster's cells can have a significant Gi* (its neighbourhood is high), but its own
    rate is below the region's: it is 热点周边, never 热点."""
    values = planted(0)
    hole = int(np.flatnonzero((ROWCOL == [5, 5]).all(axis=1))[0])  # inside the block, all 8 neighbours high
    values[hole] = 2.0  # far below the mean (about 14)
    out = hs.hotspots(values, w, seed=0)
    assert out["gi_p_fdr"].iloc[hole] < 0.05 and out["gi_z"].iloc[hole] > 0  # Gi* alone would say hot
    assert out["hotspot_class"].iloc[hole] == "hot-edge"
    mean = values.mean()
    hot = out["hotspot_class"] == "hot"
    assert hot.sum() >= 5 and (values[hot.to_numpy()] > mean).all()  # the rest of the block is still hot
    assert (values[(out["hotspot_class"] == "cold").to_numpy()] < mean).all()
    assert hs.CLASS_LABELS["hot-edge"] == "热点周边"


def test_random_data_shows_nothing_in_most_runs(w):
    # With every null true, Benjamini-Hochberg at 5% flags anything with probability <= 5% per
    # statistic (FDR = family-wise error then), so <= 10% per run for Gi* and Moran together:
    # expect <= 2 of 20 runs with a finding. (With 999 permutations it is rarer still: a
    # p of 0.001 passes only when 3 townships reach it, since 0.05 * 3 / 144 > 0.001.)
    flagged, raw_p = 0, []
    for seed in range(20):
        values = np.random.default_rng(1000 + seed).gamma(2.0, 5.0, N * N)  # skewed, like rates
        out = hs.hotspots(values, w, seed=seed)
        flagged += (out["hotspot_class"] != "ns").any()
        raw_p.append(out["gi_p"].to_numpy())
    assert flagged <= 2
    # the unadjusted p-values are calibrated: the p of the observed tail is < 0.05 about 10% of
    # the time (5% in each tail); 2,880 correlated values, so a wide band
    share = (np.concatenate(raw_p) < 0.05).mean()
    assert 0.06 < share < 0.14


def test_zeros_tied_with_zeros_are_not_cold_spots(w):
    # 60% of townships at exactly 0: a township of zeros among zeros is common, not extreme.
    rng = np.random.default_rng(3)
    values = np.where(rng.random(N * N) < 0.6, 0.0, rng.gamma(2, 5, N * N))
    out = hs.hotspots(values, w, seed=7)
    ids = w.id_order
    zero = pd.Series(values == 0, index=ids)
    all_zero = [i for i in ids if zero[i] and all(zero[j] for j in w.neighbors[i])]
    assert len(all_zero) >= 3
    for code in all_zero:
        # chance that the neighbours' k random draws from the 143 others are all zeros
        k, zeros_elsewhere = len(w.neighbors[code]), int(zero.sum()) - 1
        chance = hypergeom(N * N - 1, zeros_elsewhere, k).pmf(k)
        expected = (1 + 999 * chance) / 1000
        assert abs(out.loc[code, "gi_p"] - expected) < 4 * np.sqrt(chance / 999) + 0.002
    assert (out["hotspot_class"] != "cold").all()


def test_esda_counts_ties_on_one_side_which_is_why_p_is_recomputed(w):
    rng = np.random.default_rng(3)
    values = np.where(rng.random(N * N) < 0.6, 0.0, rng.gamma(2, 5, N * N))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = esda.G_Local(values, hs.weights(*grid()), transform="B", star=True,
                           permutations=999, seed=7, n_jobs=1)
    ours = hs.hotspots(values, w, seed=7)
    zero = values == 0
    all_zero = np.array([zero[i] and all(zero[w.id2i[j]] for j in w.neighbors[c])
                         for i, c in enumerate(w.id_order)])
    assert (own.p_sim[all_zero] == 0.001).all()  # the artefact: "as extreme as it gets"
    assert (ours["gi_p"].to_numpy()[all_zero] > 0.01).all()
    np.testing.assert_allclose(ours["gi_z"], own.Zs)  # same statistic, same permutations


def neighbourhood_rate(events, base, w, code):
    nbrs = [w.id2i[j] for j in w.neighbors[code]]
    return events[nbrs].sum() / base[nbrs].sum()


def test_smoothing_pulls_a_tiny_township_in_and_leaves_a_large_one(w):
    rng = np.random.default_rng(11)
    base = np.full(N * N, 20_000.0)
    events = rng.poisson(base * rng.normal(0.05, 0.005, N * N)).astype(float)
    tiny, large = w.id2i["t0505"], w.id2i["t0209"]
    base[tiny], events[tiny] = 3, 3  # 3 events in 3 households: a raw rate of 100%
    events[large] = 0.065 * base[large]  # well above its neighbours, on 20,000 households
    smoothed = hs.smooth(events, base, w)
    for i, keep_at_most, keep_at_least in ((tiny, 0.05, 0.0), (large, 1.0, 0.9)):
        around = neighbourhood_rate(events, base, w, w.id_order[i])
        raw = events[i] / base[i]
        kept = (smoothed[i] - around) / (raw - around)  # share of its own deviation it keeps
        assert keep_at_least <= kept <= keep_at_most
    assert smoothed[tiny] < 0.06  # from 1.0 to about the neighbours' 0.05
    assert abs(smoothed[large] - 0.065) < 0.0015


def test_smoothing_leaves_no_rate_missing_and_zero_events_at_zero(w):
    base = np.full(N * N, 1000.0)
    events = np.full(N * N, 20.0)
    base[0] = 0  # no households: no rate
    events[1] = np.nan  # not reported
    quiet = [w.id2i[c] for c in ("t1010", "t1011", "t1110", "t1111", "t0910", "t0911", "t1009", "t1109",
                                  "t0909", "t1111")]
    events[quiet] = 0  # a corner where nothing happened: 0, not NaN
    smoothed = hs.smooth(events, base, w)
    assert np.isnan(smoothed[0]) and np.isnan(smoothed[1])
    assert np.isfinite(np.delete(smoothed, [0, 1])).all()
    assert smoothed[w.id2i["t1111"]] == 0.0
    # a Series is aligned on township codes, whatever its order
    series = hs.smooth(pd.Series(events, index=w.id_order)[::-1], pd.Series(base, index=w.id_order), w)
    np.testing.assert_allclose(series, smoothed[::-1])


@pytest.mark.parametrize("seed", range(3))
def test_global_smoothing_is_esdas_empirical_bayes_and_makes_no_clusters(w, seed):
    rng = np.random.default_rng(seed)
    base = rng.integers(20, 500, N * N).astype(float)  # small townships: smoothing matters
    events = rng.poisson(base * rng.gamma(50, 0.05 / 50, N * N)).astype(float)  # true rates vary, independently
    ours = hs.smooth_global(events, base)
    np.testing.assert_allclose(ours, esda.smoothing.Empirical_Bayes(events, base).r.ravel())
    spatial = hs.smooth(events, base, w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        i_raw = esda.Moran(events / base, w, permutations=0).I
        i_global = esda.Moran(ours, w, permutations=0).I
        i_spatial = esda.Moran(spatial, w, permutations=0).I
    # no spatial pattern by construction: global smoothing keeps it so (Moran's I of 144
    # independent values has sd ~0.05), spatial smoothing makes one (I 0.38-0.54 measured)
    assert abs(i_global - i_raw) < 0.05 and abs(i_global) < 0.15
    assert i_spatial > i_global + 0.25
    # pure chance spread (the same true rate everywhere): everyone gets the pooled rate
    # rates 5%, 5%, 4% on 100-200 households: less spread than chance alone gives, so the
    # estimated variance of the true rates is negative; everyone gets the pooled rate 19/400
    flat = hs.smooth_global([5, 10, 4, None, 1], [100, 200, 100, 100, 0])
    np.testing.assert_allclose(flat[:3], 19 / 400)
    assert np.isnan(flat[3]) and np.isnan(flat[4])
    with np.errstate(all="ignore"):
        theirs = esda.smoothing.Empirical_Bayes(np.array([5, 10, 4]), np.array([100, 200, 100])).r.ravel()
    assert theirs.min() < 0.04 or theirs.max() > 0.05  # unclamped: outside the rates it mixes


def test_islands_join_their_nearest_township_both_ways():
    cells, ids = grid(3)  # 3 x 3 km
    far = box(5000, 1000, 6000, 2000)  # 2 km east of the middle row
    gap = box(3000.5, 2200, 4000, 3000)  # 0.5 m short of touching the top-right cell t0202
    frame = gpd.GeoDataFrame({"code": [*ids, "far", "gap"]}, geometry=[*cells, far, gap], crs=UTM)
    raw = hs.Queen.from_dataframe(frame, ids="code", silence_warnings=True)
    assert sorted(raw.islands) == ["far", "gap"]  # plain queen contiguity leaves both alone
    w = hs.weights(frame, frame["code"])
    assert w.islands == [] and w.n_components == 1
    # "gap" joins the cell it almost touches (0.5 m), "far" its nearest: "gap" (1.02 km away;
    # the grid is 2 km away)
    assert w.neighbors["gap"] == ["t0202", "far"] and "gap" in w.neighbors["t0202"]
    assert w.neighbors["far"] == ["gap"]
    assert sorted(w.neighbors["t0102"]) == sorted(raw.neighbors["t0102"])  # the rest untouched
    assert all(w.neighbors[a].count(b) == 1 and a in w.neighbors[b] for a in w.neighbors for b in w.neighbors[a])


def test_islands_in_lon_lat_are_measured_in_metres():
    # near Beijing a degree of longitude is ~85 km and a degree of latitude ~111 km: the island
    # is 0.01° north of one cell (1.1 km) and 0.011° east of another (0.94 km): east is nearer
    cells = [box(116.0, 40.0, 116.01, 40.01), box(116.01, 40.0, 116.02, 40.01)]
    island = box(116.031, 40.0, 116.041, 40.01)
    north = box(116.0, 40.02, 116.01, 40.03)
    w = hs.weights(gpd.GeoSeries([*cells, north, island], crs="EPSG:4326"), ["a", "b", "north", "island"])
    assert w.neighbors["island"] == ["b"]
    assert w.neighbors["north"] == ["a"]


def test_weights_reject_bad_input():
    cells, ids = grid(2)
    with pytest.raises(ValueError, match="no CRS"):
        hs.weights(cells.set_crs(None, allow_override=True), ids)
    with pytest.raises(ValueError, match="not unique"):
        hs.weights(cells, ["a", "a", "b", "c"])
    with pytest.raises(ValueError, match="ids for"):
        hs.weights(cells, ["a"])


def test_missing_values_are_not_tested_and_the_rest_are(w):
    values = pd.Series(planted(0), index=w.id_order)
    values["t0000"] = np.nan
    values["t0505"] = None  # inside the block
    out = hs.hotspots(values.drop("t1111"), w)  # t1111 absent from the Series: missing too
    assert list(out.index) == [c for c in w.id_order if c != "t1111"]
    assert out.loc["t0000", "hotspot_class"] == "ns" and out.loc["t0000"].drop("hotspot_class").isna().all()
    assert out.loc["t0505", "hotspot_class"] == "ns" and np.isnan(out.loc["t0505", "gi_p"])
    assert out.loc["t0606", "hotspot_class"] == "hot"
    assert out.drop(["t0000", "t0505"])["gi_p"].notna().all()


def test_a_township_whose_neighbours_all_lack_values_is_not_tested(w):
    values = pd.Series(planted(1), index=w.id_order)
    values[["t0001", "t0100", "t0101"]] = np.nan  # the three neighbours of corner t0000
    out = hs.hotspots(values, w)
    assert out.loc["t0000", "hotspot_class"] == "ns" and np.isnan(out.loc["t0000", "gi_z"])
    # and a W with a true island (no neighbour at all) does not break the test either
    lonely = W({**{c: list(w.neighbors[c]) for c in w.id_order}, "island": []},
               id_order=[*w.id_order, "island"], silence_warnings=True)
    out = hs.hotspots(pd.Series([*planted(1), 99.0], index=lonely.id_order), lonely)
    assert out.loc["island", "hotspot_class"] == "ns" and np.isnan(out.loc["island", "gi_p"])


@pytest.mark.parametrize("values", [
    [np.nan] * (N * N),
    [5.0] * (N * N),
    [1.0, 2.0, 3.0, 4.0] + [np.nan] * (N * N - 4),
], ids=["all missing", "all equal", "four values"])
def test_degenerate_inputs_give_all_ns_and_nan(w, values):
    out = hs.hotspots(values, w)
    assert (out["hotspot_class"] == "ns").all()
    assert out.drop(columns="hotspot_class").isna().all().all()
    assert list(out.columns) == hs.COLUMNS


def test_bad_values_are_rejected(w):
    with pytest.raises(ValueError, match="negative"):
        hs.hotspots([-1.0] + [1.0] * (N * N - 1), w)
    with pytest.raises(ValueError, match="not in the weights"):
        hs.hotspots(pd.Series([1.0], index=["nowhere"]), w)
    with pytest.raises(ValueError, match="values for"):
        hs.hotspots([1.0, 2.0], w)


def test_same_seed_same_result(w):
    values = planted(2) + np.random.default_rng(2).normal(0, 0.1, N * N)
    a = hs.hotspots(values, w, seed=42)
    pd.testing.assert_frame_equal(a, hs.hotspots(values, w, seed=42))
    b = hs.hotspots(values, w, seed=43)
    assert not np.array_equal(a["gi_p"], b["gi_p"])  # the seed is used
    np.testing.assert_array_equal(a["gi_z"], b["gi_z"])  # the statistic itself is not random


def test_fdr_values_are_benjamini_hochberg_of_the_tested_p(w):
    out = hs.hotspots(planted(3), w)
    p = out["gi_p"].to_numpy()
    order = np.argsort(p)
    m = len(p)
    # by hand: q_(i) = min over j >= i of p_(j) * m / j
    q_sorted = np.minimum.accumulate((p[order] * m / np.arange(1, m + 1))[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(q_sorted, 1)
    np.testing.assert_allclose(out["gi_p_fdr"], q)
    assert (out["moran_p_fdr"] >= out["moran_p"]).all()
    assert set(out["moran_q"].unique()) <= {1.0, 2.0, 3.0, 4.0}


def test_labels_colours_and_method_note():
    assert set(hs.CLASS_LABELS) == set(hs.CLASS_COLOURS) == set(hs.CLASSES)
    assert len(set(hs.CLASS_COLOURS.values())) == len(hs.CLASSES)
    from geo import maps
    assert maps.MISSING_COLOUR not in hs.CLASS_COLOURS.values()  # missing is its own grey
    zh, en = hs.describe_method(), hs.describe_method("en")
    for needed in ("Gi*", "999", "5%", "FDR", "Queen 邻接", "不证明原因", "不是单个乡镇的排名", "平滑", "热点周边"):
        assert needed in zh
    for needed in ("Gi*", "999", "5%", "queen", "not proof of a cause", "not a ranking", "smoothed",
                   "beside a hot spot"):
        assert needed in en
    assert "9999" in hs.describe_method(permutations=9999) and "10%" in hs.describe_method(alpha=0.1)
    with pytest.raises(ValueError):
        hs.describe_method("fr")


# ---- the hotspot map a leader sees (indicators/legend.py): smoothed rate, hot and cold outlined --

def hotspot_stats():
    """Six townships of a hand-made geo.risk.table: what each must look like is worked out below."""
    from indicators import suppress

    return pd.DataFrame({
        "region_code": ["hot", "edge", "cold", "ns", "small", "none"],
        # object columns, as suppress.derived leaves them: a float column would drop the Hidden mark
        "rate": pd.Series([40.0, 12.0, 5.0, 20.0, suppress.Hidden("rate"), np.nan], dtype=object),
        "rate_smoothed": pd.Series([38.0, 15.0, 6.0, 20.0, suppress.Hidden("rate"), np.nan], dtype=object),
        "hotspot_class": ["hot", "hot-edge", "cold", "ns", "hot", "ns"],
    })


def test_the_default_map_colours_by_smoothed_rate_and_outlines_only_hot_and_cold():
    from geo import classify, maps
    from i18n.text import t
    from indicators import legend

    stats = hotspot_stats()
    drawn = list(stats["region_code"])
    classes = legend.classes_for(stats["rate_smoothed"].tolist(), "risk_rate_per_1000", None)
    got = legend.shade_hotspot_rates(stats, drawn, "risk_rate_per_1000", classes, "zh", t, title="平滑后风险发现率")
    plain = legend.shade(dict(zip(stats["region_code"], stats["rate_smoothed"])), drawn, "risk_rate_per_1000",
                         classes, "zh", t)
    # the fills are the smoothed rate's own classes, as any indicator map: no class colour anywhere
    assert got.colour_of == plain.colour_of
    assert not set(got.colour_of.values()) & set(hs.CLASS_COLOURS.values())
    assert got.colour_of["small"] == maps.SMALL_COLOUR  # hidden smoothed rate: the hidden style, no band
    assert "none" not in got.colour_of                   # no rate: grey
    assert [r.label for r in got.rows] == [r.label for r in plain.rows]
    # thick outlines and labels on exactly the hot and cold spots (热点周边 is not a hot spot); a
    # hidden rate keeps its class (geo/risk.py), so its outline says no more than the class map does
    assert got.outline_of == {"hot": hs.OUTLINE_COLOURS["hot"], "small": hs.OUTLINE_COLOURS["hot"],
                              "cold": hs.OUTLINE_COLOURS["cold"]}
    assert got.mark_of == {"hot": "热点", "small": "热点", "cold": "冷点"}
    assert [(r.colour, r.label, r.count) for r in got.outline_rows] == [
        (hs.OUTLINE_COLOURS["hot"], "深红粗框：热点（2 个乡镇）", 2),
        (hs.OUTLINE_COLOURS["cold"], "深蓝粗框：冷点（1 个乡镇）", 1)]
    words = " ".join([got.title, got.note or "", *(r.label for r in [*got.rows, *got.outline_rows])])
    for jargon in ("Gi*", "Moran", "FDR", "p=", "z"):
        assert jargon not in words
    assert classify.SCHEMES  # (the classes are the page's: legend.classes_for)


def test_tooltips_say_significant_or_not_and_no_statistics():
    from i18n.text import t
    from indicators import legend

    stats = hotspot_stats().assign(gi_z=[3.1, 2.5, -2.8, 0.1, 2.9, np.nan], gi_p_fdr=[0.01] * 5 + [np.nan])
    towns = pd.DataFrame({"region_code": stats["region_code"], "risk_rate_per_1000": stats["rate"]})
    cells = legend.hotspot_cells(stats, towns, "risk_rate_per_1000", "zh", t).set_index("region_code")
    assert list(cells.columns) == ["连片检验", "平滑后比率", "本乡镇风险发现率（未平滑）"]
    assert list(cells["连片检验"]) == ["显著：热点", "显著：热点周边", "显著：冷点", "不显著", "显著：热点", "—"]
    assert list(cells["平滑后比率"]) == ["38.0‰", "15.0‰", "6.0‰", "20.0‰", "—（数值较小）", "—"]
    assert cells.loc["hot", "本乡镇风险发现率（未平滑）"] == "40.0‰"
    text = " ".join([*cells.columns, *cells.to_numpy().ravel().astype(str)])
    for jargon in ("z", "p=", "Moran", "Gi*", "3.1", "0.01"):
        assert jargon not in text
    en = legend.hotspot_cells(stats, towns, "risk_rate_per_1000", "en", t)
    assert list(en.iloc[:, 1]) == ["Significant: Hot spot", "Significant: Beside a hot spot", "Significant: Cold spot",
                                   "Not significant", "Significant: Hot spot", "—"]


def test_a_ranking_of_smoothed_rates_is_flat_when_the_spread_is_all_chance():
    """Binomial draws at one rate (15–40 households each, as a national build's township-months):
    the spread is chance, smoothing gives every township the pooled rate, and the page says so above
    its ranking (indicators/legend.smoothed_all_equal); a planted high-risk group is not flat. A
    hidden rate (NaN as a number) is left out."""
    from indicators import legend, suppress

    rng = np.random.default_rng(3)
    base = rng.integers(15, 40, 400)
    flat = hs.smooth_global(rng.binomial(base, 0.02), base)
    assert legend.smoothed_all_equal(list(flat) + [suppress.Hidden(suppress.RATE)])
    events = rng.binomial(base, np.where(np.arange(400) < 40, 0.3, 0.02))
    assert not legend.smoothed_all_equal(hs.smooth_global(events, base))
    assert not legend.smoothed_all_equal([0.01]) and not legend.smoothed_all_equal([0.01, 0.02])
