"""geo/classify.py: class breaks by scheme, missing apart from zero, locked scales, legend text."""
import warnings

import mapclassify
import numpy as np
import pytest

from geo import classify, maps

CAL = mapclassify.load_example()  # 58 Californian county values shipped with mapclassify, skewed


@pytest.fixture(autouse=True)
def no_leaking_warnings():
    # ties and few distinct values make mapclassify warn; classify must handle them quietly
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("scheme, expected", [
    ("quantiles", lambda y: mapclassify.Quantiles(y, k=5).bins),
    ("fisher_jenks", lambda y: mapclassify.FisherJenks(y, k=5).bins),
    ("equal_interval", lambda y: mapclassify.EqualInterval(y, k=5).bins),
    ("fixed", lambda y: mapclassify.UserDefined(y, [20, 100, 500]).bins),
])
def test_breaks_and_counts_are_mapclassifys_own_with_missing_left_out(scheme, expected):
    values = [*CAL, None, float("nan")]
    got = classify.classify(values, scheme, k=5, thresholds=[20, 100, 500])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FisherJenks: "Numba not installed" (it is not pinned)
        ref = expected(np.asarray(CAL, dtype=float))
    assert got.scheme == scheme
    assert got.breaks == tuple(ref.tolist())
    assert got.breaks[-1] == max(CAL)
    assert got.lowest == min(CAL)
    assert got.missing == 2
    assert sum(got.counts) == len(CAL)
    # mapclassify's own bin counts (bin1d) agree with ours within the data's range
    assert list(got.counts) == mapclassify.classifiers.bin1d(np.asarray(CAL), ref)[1].tolist()


def test_small_arrays_by_hand():
    equal = classify.classify(range(11), "equal_interval", k=5)  # 0..10: width 2
    assert equal.breaks == (2.0, 4.0, 6.0, 8.0, 10.0)
    assert equal.counts == (3, 2, 2, 2, 2)  # {0,1,2} {3,4} {5,6} {7,8} {9,10}
    # linear-interpolated percentiles of 1..10: 1 + 0.2 * 9 = 2.8, then +1.8 each
    quant = classify.classify(range(1, 11), "quantiles", k=5)
    assert np.allclose(quant.breaks, [2.8, 4.6, 6.4, 8.2, 10.0])
    assert quant.counts == (2, 2, 2, 2, 2)
    # two obvious groups: Fisher-Jenks splits between them
    jenks = classify.classify([1, 2, 3, 100, 101, 102], "fisher_jenks", k=2)
    assert jenks.breaks == (3.0, 102.0)
    assert jenks.counts == (3, 3)


def test_fixed_thresholds_add_the_maximum_only_when_it_exceeds_the_last():
    got = classify.classify([0, 0.1, 0.2, 0.3, 0.5, 0.9, None], "fixed", thresholds=[0.2, 0.5])
    assert got.breaks == (0.2, 0.5, 0.9)
    assert got.counts == (3, 2, 1)  # 0.2 and 0.5 are upper bounds, inclusive
    within = classify.classify([0.1, 0.4], "fixed", thresholds=[0.2, 0.5, 0.8])
    assert within.breaks == (0.2, 0.5, 0.8)
    assert within.counts == (1, 1, 0)  # a fixed scale keeps its empty classes


def test_missing_is_its_own_class_and_zero_is_a_value():
    values = [0, 0, None, float("nan"), 3, 7]
    got = classify.classify(values, "quantiles", k=5)
    assert got.missing == 2
    assert sum(got.counts) == 4
    assert got.lowest == 0.0
    assigned = got.assign(values)
    assert assigned[0] == assigned[1] == 0
    assert assigned[2] is None and assigned[3] is None
    assert got.class_of(0) == 0 and got.class_of(None) is None
    assert classify.classify([None, float("nan")]) == classify.Classes("quantiles", (), None, (), 2)


@pytest.mark.parametrize("scheme", ["quantiles", "fisher_jenks", "equal_interval"])
def test_few_distinct_values_give_fewer_classes_quietly(scheme):
    assert classify.classify([4, 4, 4], scheme).breaks == (4.0,)
    got = classify.classify([1, 1, 2, 2, None], scheme, k=5)
    assert len(got.breaks) == 2 and got.breaks[-1] == 2.0
    assert got.counts == (2, 2)


def test_quantile_ties_merge_classes_without_a_warning():
    values = [0] * 8 + [1, 2, 3, 4, 5, 6]  # the 20th and 40th percentiles are both 0
    got = classify.classify(values, "quantiles", k=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = mapclassify.Quantiles(np.asarray(values, dtype=float), k=5).bins
    assert got.breaks == tuple(np.unique(ref).tolist())
    assert len(got.breaks) < 5
    assert got.breaks[0] == 0.0 and got.counts[0] == 8


def test_locked_breaks_are_the_same_in_every_period():
    march = np.linspace(0, 10, 21)
    april = np.linspace(5, 30, 21)
    own_march, own_april = classify.classify(march), classify.classify(april)
    assert own_march.breaks != own_april.breaks  # unlocked, 10 is dark in March and pale in April
    assert own_march.class_of(10) != own_april.class_of(10)
    breaks = classify.locked([march, april, [None]], "quantiles", k=5)
    pooled = mapclassify.Quantiles(np.concatenate([march, april]), k=5).bins
    assert breaks == tuple(pooled.tolist())
    got_march = classify.classify_with(march, breaks, lowest=0.0)
    got_april = classify.classify_with(april, breaks, lowest=0.0)
    assert got_march.breaks == got_april.breaks == breaks
    assert got_march.class_of(10) == got_april.class_of(10)
    assert classify.legend_rows(got_march, str)[0].lo == classify.legend_rows(got_april, str)[0].lo == "0.0"
    assert sum(got_march.counts) == sum(got_april.counts) == 21


def test_classify_with_puts_values_outside_the_breaks_in_the_end_classes():
    got = classify.classify_with([-1, 0.5, 2, 99, None], (1.0, 2.0, 3.0))
    assert got.assign([-1, 0.5, 2, 99, None]) == [0, 0, 1, 2, None]
    assert got.counts == (2, 1, 1) and got.missing == 1
    assert got.lowest == -1.0
    # mapclassify's bin1d would put 99 in class 0; ours does not
    assert mapclassify.classifiers.bin1d(np.array([99.0]), [1.0, 2.0, 3.0])[0].tolist() == [0]


def test_locked_fixed_scale_and_empty_periods():
    assert classify.locked([[0.1, 0.9], [0.4, 1.7]], "fixed", thresholds=[0.5, 1.0]) == (0.5, 1.0, 1.7)
    assert classify.locked([[None], []]) == ()
    assert classify.classify_with([None], ()).breaks == ()


def test_legend_rows_start_at_lowest_then_exclude_the_lower_bound():
    got = classify.classify(range(11), "equal_interval", k=5)
    rows = classify.legend_rows(got, lambda v: f"{v:.1f}")
    assert rows[0] == ("0.0", "2.0", 3)
    assert rows[1] == ("> 2.0", "4.0", 2)
    assert [r.label for r in rows[:2]] == ["0.0 – 2.0", "> 2.0 – 4.0"]
    lo, hi, count = rows[-1]
    assert (lo, hi, count) == ("> 8.0", "10.0", 2)
    single = classify.legend_rows(classify.classify([0, 0, 5]), lambda v: f"{v:.0f}")
    assert single[0].label == "0"  # a first class holding only the lowest value
    # fixed thresholds below all the data: the first class is empty and open below
    above = classify.legend_rows(classify.classify([5, 7], "fixed", thresholds=[1, 2]), str)
    assert above[0].label == "≤ 1.0" and above[0].count == 0


def test_bad_input_is_rejected_with_a_reason():
    with pytest.raises(ValueError, match="unknown scheme"):
        classify.classify([1, 2], "natural")
    with pytest.raises(ValueError, match="thresholds"):
        classify.classify([1, 2], "fixed")
    with pytest.raises(ValueError, match="thresholds"):
        classify.classify([1, 2], "fixed", thresholds=[2, 1])
    with pytest.raises(ValueError, match="inf"):
        classify.classify([1, float("inf")])
    with pytest.raises(ValueError, match="ascending"):
        classify.classify_with([1], [2, 1])


def test_maps_helpers_are_the_quantile_scheme():
    values = [*CAL, None]
    assert maps.class_breaks(values, k=4) == list(classify.classify(values, "quantiles", k=4).breaks)
    assert maps.class_of(3.0, [2.0, 4.0]) == 1 and maps.class_of(None, [2.0]) is None


# ---- classes that tell the truth (indicators/legend.py, issue 15) --------------------------

SIX = [0.0615, 0.0620, 0.0625, 0.0630, 0.0636, 0.0641]  # six counties, 6.15–6.41%


def _shade(values, lang="zh"):
    from i18n.text import t
    from indicators import legend

    codes = [f"c{i}" for i in range(len(values))]
    classes = legend.classes_for(values, "screening_rate", None)
    return classes, legend.shade(dict(zip(codes, values)), codes, "screening_rate", classes, lang, t,
                                 counted="LEGEND_COUNTIES")


def test_six_counties_a_quarter_point_apart_are_not_five_classes_and_the_legend_says_so():
    classes, shading = _shade(SIX)
    assert classes.k < 5 and sum(classes.counts) == 6
    # each class is at least as wide as the display's 0.1 of a percent
    bounds = [classes.lowest, *classes.breaks]
    assert all(hi - lo >= 0.001 - 1e-12 for lo, hi in zip(bounds, bounds[1:]))
    assert "各县相差不到 0.3 个百分点" in shading.note
    assert "differ by less than 0.3 percentage points" in _shade(SIX, "en")[1].note
    # neighbouring shades from the middle of the palette, never its palest and darkest ends
    ramp = maps.PALETTES["Greens"]
    used = set(shading.colour_of.values())
    assert ramp[0] not in used and ramp[-1] not in used


def test_a_wide_spread_keeps_the_normal_classes_and_no_spread_line():
    values = list(np.linspace(0.10, 0.90, 12))
    classes, shading = _shade(values)
    assert classes.k == 5
    assert [r.colour for r in shading.rows] == maps.palette_for("Greens", 5)
    assert "相差不到" not in shading.note


def test_few_regions_get_fewer_classes_and_narrow_classes_merge():
    assert [classify.fewer(5, n) for n in (2, 3, 6, 9, 10, 40)] == [2, 2, 3, 4, 5, 5]
    got = classify.merge_narrow(classify.Classes("quantiles", (0.0, 0.5, 0.52, 1.0), 0.0, (3, 2, 1, 4), 0), 0.1)
    # the zeros stay a class of their own; 0.5–0.52 is narrower than 0.1 and joins the class above
    assert (got.breaks, got.counts) == ((0.0, 0.5, 1.0), (3, 2, 5))
    top = classify.merge_narrow(classify.Classes("quantiles", (0.5, 1.0, 1.05), 0.0, (2, 2, 2), 0), 0.1)
    assert (top.breaks, top.counts) == ((0.5, 1.05), (2, 4))


def test_missing_and_hidden_values_do_not_count_as_regions():
    import pandas as pd

    from indicators import legend
    from indicators.suppress import Hidden

    # 12 regions, 6 of them known: six known values get the few-regions rule
    values = [0.1, 0.3, 0.5, 0.6, 0.8, 0.9, None, pd.NA, float("nan"), Hidden("rate"), None, None]
    assert legend.classes_for(values, "screening_rate", None).k == 3


def test_zeros_alone_take_the_palest_shade_not_the_middle_of_the_ramp():
    """Ten townships where screening found no risk: nothing to alarm a leader, so no mid red."""
    from export.text import t
    from geo import maps
    from indicators import legend

    zeros = {f"t{i}": 0.0 for i in range(10)}
    classes = legend.classes_for(list(zeros.values()), "risk_rate_per_1000", "2025-11")
    shading = legend.shade(zeros, list(zeros), "risk_rate_per_1000", classes, "zh", t)
    assert [r.colour for r in shading.rows] == [maps.PALETTES["Reds"][0]]


@pytest.mark.parametrize("seed", range(4))
def test_fisher_jenks_finds_mapclassifys_optimum(seed):
    """The numpy Fisher-Jenks gives the same classes as mapclassify's (pure Python, slow)."""
    import warnings

    import mapclassify
    import numpy as np

    rng = np.random.default_rng(seed)
    y = rng.gamma(2, 2, 150 + 100 * seed).round(1)
    for k in (2, 4, 6):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = mapclassify.FisherJenks(y, k=k).bins
        assert np.allclose(classify.fisher_jenks(y, k), expected)


def test_fisher_jenks_on_every_township_of_china_is_sampled_deterministically():
    import numpy as np

    def sse(y, bounds):
        idx = np.searchsorted(bounds, y, side="left")
        return sum(((y[idx == c] - y[idx == c].mean()) ** 2).sum() for c in np.unique(idx))

    y = np.random.default_rng(7).lognormal(1, 0.8, 38_723)
    first, again = classify.fisher_jenks(y, 5), classify.fisher_jenks(y[::-1], 5)
    assert np.array_equal(first, again) and len(first) == 5 and first[-1] == y.max()
    # close to optimal: better than quantiles and equal intervals by the measure Jenks minimises
    found = classify.classify(y, "fisher_jenks", 5)
    assert sse(y, np.array(found.breaks)) < min(sse(y, np.array(classify.classify(y, s, 5).breaks))
                                                  for s in ("quantiles", "equal_interval"))


def test_fixed_classes_of_screening_to_date_use_the_months_since_january():
    from indicators import legend

    # March (and Q1): a quarter of the year's yardsticks 50/75/90/100%
    for period in ("2024-03", "2024Q1"):
        classes = legend.classes_for([0.1, 0.2, 0.3], "screening_rate_ytd", period, "fixed")
        assert tuple(classes.breaks)[:3] == (0.125, 0.1875, 0.225), period
