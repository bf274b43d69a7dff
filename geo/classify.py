"""Class breaks for choropleths: quantiles, Fisher-Jenks, equal interval or fixed thresholds.

Breaks are upper bounds, ascending and inclusive: a value ``v`` is in the first class whose
upper bound is ``>= v``. Missing values (None, NaN, pandas NA) are their own class, drawn grey
by the caller, and never confused with zero: 0 is a value and sits in the first class.

A "locked" scale pools every period's values to compute one set of breaks, so that the same
colour means the same value in every month; :func:`classify_with` then classifies one period
against those breaks.
"""
import warnings
from dataclasses import dataclass
from typing import Callable, NamedTuple

import mapclassify
import numpy as np
import pandas as pd

SCHEMES = ("quantiles", "fisher_jenks", "equal_interval", "fixed")


def as_floats(values) -> np.ndarray:
    """``values`` as a float array with NaN for None, NaN and pandas NA.

    Raises ValueError on an infinite value: rates with a zero denominator must arrive as null,
    not as inf (fix it where the rate is computed).
    """
    out = pd.to_numeric(pd.Series(list(values), dtype=object), errors="raise").astype(float).to_numpy()
    if np.isinf(out).any():
        raise ValueError("values contain inf; a rate with a zero denominator should be null")
    return out


def class_index(value, breaks) -> int | None:
    """Index of the class holding ``value`` (upper bounds inclusive), None when missing.

    A value above the top break goes in the top class, a value below the first break in the
    first class: with locked breaks a new month can leave the pooled range.
    """
    if value is None or value is pd.NA or len(breaks) == 0:
        return None
    value = float(value)
    if np.isnan(value):
        return None
    return int(min(np.searchsorted(breaks, value, side="left"), len(breaks) - 1))


@dataclass(frozen=True)
class Classes:
    """A classification of one set of values.

    scheme : how the breaks were made, one of SCHEMES, or "locked" (from :func:`classify_with`).
    breaks : upper bounds of the classes, ascending; () when no value is known.
    lowest : smallest known value (bottom of the first class in the legend); None when none is.
    counts : number of values (townships) in each class, aligned with ``breaks``.
    missing : number of missing values (their own grey class, not counted in ``counts``).
    """
    scheme: str
    breaks: tuple[float, ...]
    lowest: float | None
    counts: tuple[int, ...]
    missing: int

    @property
    def k(self) -> int:
        return len(self.breaks)

    def class_of(self, value) -> int | None:
        """Class index of ``value``; None when it is missing. See :func:`class_index`."""
        return class_index(value, self.breaks)

    def assign(self, values) -> list[int | None]:
        """Class index of each of ``values``, None for each missing one."""
        return [class_index(v, self.breaks) for v in as_floats(values)]


def _breaks(known: np.ndarray, scheme: str, k: int, thresholds) -> np.ndarray:
    """Upper bounds for the non-missing ``known`` values (at least one)."""
    distinct = np.unique(known)
    if scheme == "fixed":
        return mapclassify.UserDefined(known, list(thresholds)).bins
    if len(distinct) <= k and scheme != "equal_interval":
        return distinct  # fewer distinct values than classes: one class per value
    if scheme == "equal_interval":
        if len(distinct) == 1:  # mapclassify refuses a zero range
            return distinct
        # k equal-width classes, fewer when there are fewer distinct values than k
        return mapclassify.EqualInterval(known, k=min(k, len(distinct))).bins
    with warnings.catch_warnings():
        # ties (many zeros) make Quantiles merge equal bounds and warn that k shrank: expected
        warnings.simplefilter("ignore", UserWarning)
        if scheme == "quantiles":
            return mapclassify.Quantiles(known, k=k).bins
    return fisher_jenks(known, k)


JENKS_SAMPLE = 2000  # above this many values, Fisher-Jenks runs on this many order statistics


def fisher_jenks(values: np.ndarray, k: int) -> np.ndarray:
    """Fisher-Jenks upper bounds: the k classes of the sorted values with the least total squared
    deviation from their class means (the optimum, by dynamic programming over prefix sums; numpy,
    one n × n step per class, so 2,000 values take a few hundredths of a second where
    mapclassify's pure-Python loop takes seconds). Above JENKS_SAMPLE values it runs on that many
    evenly spaced order statistics (deterministic, unlike mapclassify's random FisherJenksSampled:
    the same data give the same map), and the last bound is the maximum. 38,723 values (every
    township of China): about 0.1 s."""
    y = np.sort(np.asarray(values, dtype=float))
    top = y[-1]
    if len(y) > JENKS_SAMPLE:
        y = y[np.round(np.linspace(0, len(y) - 1, JENKS_SAMPLE)).astype(int)]
    n = len(y)
    k = min(int(k), len(np.unique(y)))
    s1 = np.concatenate([[0.0], np.cumsum(y)])
    s2 = np.concatenate([[0.0], np.cumsum(y * y)])
    i = np.arange(n)[:, None]  # a class's first value
    j = np.arange(n)[None, :]  # its last
    count = (j - i + 1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        sse = (s2[j + 1] - s2[i]) - (s1[j + 1] - s1[i]) ** 2 / count
    sse = np.where(j >= i, np.maximum(sse, 0.0), np.inf)
    cost = sse[0].copy()  # one class over values 0..j
    starts = []
    for _ in range(1, k):
        # the last class starts at i ≥ 1, after the best split of values 0..i-1 into one fewer
        total = np.full((n, n), np.inf)
        total[1:] = cost[:-1, None] + sse[1:]
        first = total.argmin(axis=0)
        cost = total[first, np.arange(n)]
        starts.append(first)
    bounds, end = [], n - 1
    for first in reversed(starts):
        start = int(first[end])
        bounds.append(y[start - 1])
        end = start - 1
    return np.array(sorted(bounds) + [top])


def _check(scheme: str, k: int, thresholds) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; use one of {SCHEMES}")
    if scheme == "fixed":
        t = np.asarray(thresholds if thresholds is not None else [], dtype=float)
        if t.size == 0 or not np.isfinite(t).all() or (np.diff(t) <= 0).any():
            raise ValueError("scheme 'fixed' needs thresholds: finite and strictly ascending")
    elif int(k) < 1:
        raise ValueError(f"k must be at least 1, got {k}")


def classify(values, scheme: str = "quantiles", k: int = 5, thresholds=None) -> Classes:
    """Class breaks for ``values`` by ``scheme``, with counts per class and the missing count.

    Parameters
    ----------
    values : iterable of numbers; None, NaN and pandas NA are missing (not zero).
    scheme : "quantiles" (mapclassify.Quantiles), "fisher_jenks" (:func:`fisher_jenks`),
        "equal_interval" (mapclassify.EqualInterval) or "fixed" (mapclassify.UserDefined).
        Fisher-Jenks is :func:`fisher_jenks` (numpy; sampled above JENKS_SAMPLE values).
    k : number of classes wanted. Fewer are made when there are fewer distinct values
        (quantiles and Fisher-Jenks: one class per distinct value; equal interval: as many
        equal-width classes as distinct values), and quantile ties merge classes. Ignored by "fixed".
    thresholds : for "fixed" only: upper bounds, strictly ascending, in the values' unit. The
        maximum of the data is added as a last bound when it exceeds the last threshold; classes
        may be empty.

    Returns
    -------
    Classes. All values missing gives no classes (breaks == ()), with ``missing`` counted.
    """
    _check(scheme, k, thresholds)
    floats = as_floats(values)
    known = floats[~np.isnan(floats)]
    missing = int(len(floats) - len(known))
    if len(known) == 0:
        return Classes(scheme, (), None, (), missing)
    breaks = tuple(float(b) for b in _breaks(known, scheme, int(k), thresholds))
    return _counted(scheme, known, breaks, float(known.min()), missing)


def _counted(scheme: str, known: np.ndarray, breaks: tuple, lowest: float, missing: int) -> Classes:
    idx = np.minimum(np.searchsorted(breaks, known, side="left"), len(breaks) - 1)
    counts = tuple(int(c) for c in np.bincount(idx, minlength=len(breaks)))
    return Classes(scheme, breaks, lowest, counts, missing)


def locked(values_by_period, scheme: str = "quantiles", k: int = 5, thresholds=None) -> tuple[float, ...]:
    """One set of breaks for several periods: the breaks of all their values pooled.

    Classify each period with :func:`classify_with` against these breaks and the same colour
    means the same value in every month ("lock the scale").

    Parameters
    ----------
    values_by_period : list of arrays (one per period); missing values are ignored.
    scheme, k, thresholds : as in :func:`classify`.

    Returns
    -------
    tuple of upper bounds; () when no period has a known value.
    """
    arrays = [as_floats(v) for v in values_by_period]
    pooled = np.concatenate(arrays) if arrays else np.array([], dtype=float)
    return classify(pooled, scheme, k, thresholds).breaks


def classify_with(values, breaks, lowest: float | None = None, scheme: str = "locked") -> Classes:
    """Classify ``values`` against given ``breaks`` (for example from :func:`locked`).

    Values above the top break go in the top class, and values below the first break in the
    first class: a period can leave the range the breaks were computed on, and then the top
    (or bottom) class is open-ended. Missing values are counted in ``missing``.

    Parameters
    ----------
    values : iterable of numbers, None/NaN missing.
    breaks : upper bounds, strictly ascending.
    lowest : bottom of the first class for the legend. Pass the pooled minimum so that every
        period's legend reads the same; default: the smallest of ``values``.
    scheme : recorded in the result.

    Returns
    -------
    Classes with the given breaks; the counts may include empty classes.
    """
    breaks = tuple(float(b) for b in breaks)
    if np.any(np.diff(breaks) <= 0):
        raise ValueError("breaks must be strictly ascending")
    floats = as_floats(values)
    known = floats[~np.isnan(floats)]
    missing = int(len(floats) - len(known))
    if not breaks:
        return Classes(scheme, (), None, (), int(len(floats)))
    if lowest is None:
        lowest = float(known.min()) if len(known) else None
    return _counted(scheme, known, breaks, lowest, missing)


def fewer(k: int, n: int, few: int = 10) -> int:
    """The number of classes for ``n`` regions: ``k`` from ``few`` regions on, else at most half
    as many classes as regions (at least 2): six counties in five classes is one or two each,
    and a class of one county paints a rank, not a difference."""
    return k if n >= few else min(k, max(2, n // 2))


def merge_narrow(classes: Classes, width: float) -> Classes:
    """``classes`` with every class narrower than ``width`` merged into its neighbour.

    A class runs from the bound below (``lowest`` for the first) to its upper bound; one narrower
    than ``width`` (the display's precision: 0.1 of a percent) shows a difference no reader can
    see, so it joins the class above it (the top class joins the one below). A first class
    holding one value (lowest == its bound, such as the zeros) stays: it is a value, not a range.

    Parameters
    ----------
    classes : from :func:`classify` or :func:`classify_with`.
    width : the narrowest class kept, in the values' unit; <= 0 keeps every class.

    Returns
    -------
    Classes with the same scheme, lowest and missing count, and the counts summed.
    """
    bounds, counts = list(classes.breaks), list(classes.counts)
    if width <= 0 or len(bounds) < 2:
        return classes

    def narrow(i: int) -> bool:
        if i == 0:
            low = classes.lowest
            return low is not None and low < bounds[0] and bounds[0] - low < width * (1 - 1e-9)
        return bounds[i] - bounds[i - 1] < width * (1 - 1e-9)

    i = 0
    while len(bounds) > 1 and i < len(bounds):
        if not narrow(i):
            i += 1
        elif i < len(bounds) - 1:  # into the class above: its bound stays
            counts[i + 1] += counts[i]
            del counts[i], bounds[i]
        else:  # the top class into the one below, which takes the top bound
            counts[i - 1] += counts[i]
            del counts[i], bounds[i - 1]
            i -= 1
    return Classes(classes.scheme, tuple(bounds), classes.lowest, tuple(counts), classes.missing)


class LegendRow(NamedTuple):
    """One legend row: ``lo`` and ``hi`` as text, and the number of townships in the class.

    ``lo`` is the formatted ``lowest`` for the first class, "> previous upper bound" for later
    classes, and "" when the first class lies wholly below the data (fixed or locked breaks):
    then :attr:`label` reads "≤ hi".
    """
    lo: str
    hi: str
    count: int

    @property
    def label(self) -> str:
        if not self.lo:
            return f"≤ {self.hi}"
        if self.lo == self.hi:  # a first class holding one value
            return self.hi
        return f"{self.lo} – {self.hi}"


def legend_rows(classes: Classes, fmt: Callable[[float], str]) -> list[LegendRow]:
    """Class ranges as text, one row per class, lowest first.

    The first class runs from ``classes.lowest`` to its upper bound (both included); each later
    class excludes its lower bound, which belongs to the class before: "> 2.0 – 4.0". The
    missing class is not a row here: the caller adds it (grey, ``classes.missing`` townships).

    Parameters
    ----------
    classes : from :func:`classify` or :func:`classify_with`.
    fmt : formats one value in the indicator's unit (for example one-decimal percent).

    Returns
    -------
    list of LegendRow(lo, hi, count); empty when there are no classes.
    """
    rows = []
    for i, (hi, count) in enumerate(zip(classes.breaks, classes.counts)):
        if i == 0:
            below = classes.lowest is None or classes.lowest > hi
            lo = "" if below else fmt(classes.lowest)
        else:
            lo = f"> {fmt(classes.breaks[i - 1])}"
        rows.append(LegendRow(lo, fmt(hi), count))
    return rows
