"""An indicator's classes and legend, for the pages' maps and every export alike (no streamlit).

:func:`classes_for` makes the classes (the sidebar's scheme and number of classes, the
indicator's fixed thresholds, a locked scale or two periods compared on one scale);
:func:`shade` colours the regions drawn and writes the legend rows and the note under them.
"""
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Callable, Iterable

import numpy as np
import pandas as pd

from geo import classify, maps
from indicators import fmt, registry, suppress
from queries import periods

SCHEME = "quantiles"  # the pages' default scheme and number of classes (ui/state.py DEFAULTS)
K = 5
FEW = 10  # fewer regions than this get fewer classes (geo/classify.fewer)
# A spread is small when it is under the larger of SPREAD_STEPS display steps (1 percentage
# point, 1‰) and SPREAD_SHARE of the values' size: then the colours sit where the values sit in a range
# of that width, not on the palette's two ends, and the legend says the spread in words.
SPREAD_STEPS = 10
SPREAD_SHARE = 0.1


@dataclass(frozen=True)
class LegendRow:
    colour: str
    label: str  # "> 12.0% – 20.5%（8 个乡镇）"
    count: int


@dataclass(frozen=True)
class Shading:
    title: str                 # the indicator's name
    colour_of: dict[str, str]  # region_code → fill colour; absent = no data (grey)
    rows: list[LegendRow]      # classes low to high, then 无数据 when any drawn region lacks a value
    note: str | None = None    # under the legend: the scheme, the pacing rule, the hotspot method
    # the hotspot map's significant hot and cold spots: region_code → outline colour, their legend
    # rows (an outline, not a fill), and the short label written on each (热点, 冷点)
    outline_of: dict[str, str] = field(default_factory=dict)
    outline_rows: list[LegendRow] = field(default_factory=list)
    mark_of: dict[str, str] = field(default_factory=dict)


def classes_for(values, code: str, period: str | None, scheme: str = SCHEME, k: int = K,
                history: list | None = None, other=None) -> classify.Classes:
    """The classes of ``values`` of indicator ``code`` in ``period``: ``scheme`` with ``k`` classes,
    the indicator's fixed thresholds for the period (quantiles when it has none), or breaks from
    several sets of values pooled: every period of the same kind (``history``, a locked scale) or
    another period (``other``, compare mode). The first class starts at the pooled minimum."""
    if scheme not in classify.SCHEMES:
        raise ValueError(f"bad scheme {scheme!r}: expected one of {', '.join(classify.SCHEMES)}")
    if scheme == "fixed" and period is None:
        raise ValueError("fixed thresholds need the period")
    if scheme == "fixed":  # a year-to-date indicator's yardstick: the months since January
        p = periods.parse(period)
        cuts = registry.thresholds(code, p.kind, p.end.month)
    else:
        cuts = None
    if scheme == "fixed" and cuts is None:
        scheme = "quantiles"  # no yardstick for this indicator: the legend note says quantiles
    if scheme != "fixed":  # the federations' yardsticks stay as they are
        k = classify.fewer(k, int((~np.isnan(classify.as_floats(values))).sum()), FEW)  # None, NA, hidden: not counted
    pooled = [values, other] if other is not None else history
    classes = None
    if pooled is not None:
        pooled = [v for v in pooled if len(v)]
        breaks = classify.locked(pooled, scheme, k, cuts)
        if breaks:
            known = [pd.Series(a, dtype=float).dropna() for a in pooled]
            lowest = min((float(a.min()) for a in known if len(a)), default=None)
            classes = classify.classify_with(values, breaks, lowest=lowest, scheme=scheme)
    if classes is None:
        classes = classify.classify(values, scheme, k, cuts)
    return classes if scheme == "fixed" else classify.merge_narrow(classes, fmt.step(code))


Words = Callable[..., str]  # t(key, lang, **values): i18n.text.t, or export.text.t for paper


def scheme_note(classes: classify.Classes, locked: bool, lang: str, t: Words) -> str | None:
    """分级：分位数（每级乡镇数相近），5 级 (· 刻度已锁定); None when nothing was classed."""
    if classes.k == 0:
        return None
    note = t("LEGEND_SCHEME", lang, scheme=t(f"SCHEME_{classes.scheme}", lang), k=classes.k)
    return note + (" · " + t("CLASS_LOCKED_NOTE", lang) if locked else "")


def small_spread(code: str, lo: float, hi: float) -> float | None:
    """The width of the range the colours are read in when ``lo``–``hi`` is a small spread for
    ``code`` (see SPREAD_STEPS), None when it is not small."""
    width = max(SPREAD_STEPS * fmt.step(code), SPREAD_SHARE * max(abs(lo), abs(hi)))
    return width if hi - lo < width else None


def class_colours(code: str, classes: classify.Classes, shown: list[float]) -> list[str]:
    """One colour per class: spread over the whole palette, or, when the ``shown`` values differ
    little, each class's middle placed in a range of :func:`small_spread`'s width around them, so
    that 6.2% and 6.4% come out as neighbouring shades, not the palest and the darkest."""
    palette = registry.get(code).palette
    if not shown or classes.k == 0:
        return maps.palette_for(palette, classes.k)
    lo, hi = min(shown), max(shown)
    width = small_spread(code, lo, hi)
    if width is None:
        return maps.palette_for(palette, classes.k)
    ramp = maps.PALETTES[palette]
    # rates and shares are never negative: a range that would reach below zero starts at zero,
    # so zeros (nothing found) take the palest shade, not the middle of the ramp
    start = max((lo + hi) / 2 - width / 2, 0.0)
    lows = [min(lo, classes.breaks[0]), *classes.breaks[:-1]]
    out = []
    for low, high in zip(lows, classes.breaks):
        place = min(max(((max(low, lo) + min(high, hi)) / 2 - start) / width, 0.0), 1.0)
        out.append(ramp[int(round(place * (len(ramp) - 1)))])
    return out


def spread_note(code: str, shown: list[float], lang: str, t: Words, counted: str) -> str | None:
    """各县相差不到 0.3 个百分点: the spread of the ``shown`` values in words, when it is small."""
    if len(shown) < 2 or small_spread(code, min(shown), max(shown)) is None:
        return None
    step = fmt.step(code)
    under = (int((max(shown) - min(shown)) / step + 1e-9) + 1) * step  # the next step above the spread
    return t(counted.replace("LEGEND_", "LEGEND_SPREAD_"), lang, diff=fmt.difference(code, under, lang))


def shade(value_of: dict, drawn: Iterable[str], code: str, classes: classify.Classes, lang: str, t: Words, *,
          title: str | None = None, counted: str = "LEGEND_TOWNSHIPS", locked: bool = False) -> Shading:
    """Colour each region of ``drawn`` by its value in ``value_of`` (region_code → value) in
    ``classes``, in the indicator's palette; the legend rows give each class's range (with as many
    decimals as keep the bounds apart) and how many regions it holds (``counted``: LEGEND_TOWNSHIPS
    or LEGEND_COUNTIES), then 数值较小，不显示 for the regions whose value is hidden (a neutral of
    its own, not a class: that would reveal a band), then 无数据 for those without a value."""
    drawn = list(drawn)
    # the values drawn and shown: a hidden value is never part of a range or a spread
    shown = [float(v) for v in (value_of.get(r) for r in drawn) if not fmt.is_missing(v)]
    colours = class_colours(code, classes, shown)
    colour_of = {}
    for region in drawn:
        v = value_of.get(region)
        if suppress.is_hidden(v):
            colour_of[region] = maps.SMALL_COLOUR
            continue
        cls = classes.class_of(None if fmt.is_missing(v) else float(v))
        if cls is not None:
            colour_of[region] = colours[cls]
    digits = fmt.distinct_digits(code, [classes.lowest, *classes.breaks], lang)
    ranges = classify.legend_rows(classes, lambda x: fmt.value(code, x, lang, digits))
    rows = [LegendRow(colour, r.label + fmt.aside(t(counted, lang, n=r.count), lang), r.count)
            for colour, r in zip(colours, ranges)]
    small = sum(1 for c in colour_of.values() if c == maps.SMALL_COLOUR)
    if small:
        rows.append(LegendRow(maps.SMALL_COLOUR, t('SMALL_CLASS', lang) + fmt.aside(t(counted, lang, n=small), lang), small))
    missing = len(drawn) - len(colour_of)
    if missing:
        rows.append(LegendRow(maps.MISSING_COLOUR, t('MISSING_CLASS', lang) + fmt.aside(t(counted, lang, n=missing), lang),
                              missing))
    note = " · ".join(n for n in (spread_note(code, shown, lang, t, counted), scheme_note(classes, locked, lang, t)) if n)
    return Shading(title or fmt.label(code, lang), colour_of, rows, note or None)


STATUSES = ("green", "amber", "red")  # screening pace (queries/pacing.py), legend order


def status_text(status, lang: str, t: Words) -> str:
    """"红 · 滞后" (zh) or "Behind" (en); "—" when there is no status."""
    if fmt.is_missing(status):
        return fmt.MISSING
    word = t(f"STATUS_{status}", lang)
    return f"{maps.STATUS_MARKS[status]} · {word}" if lang == "zh" else word


def smoothed_all_equal(rates) -> bool:
    """Whether smoothing has given every township with a rate the same one (a hidden rate, NaN as a
    number, is left out): the spread between townships is estimated at no more than chance, and
    Empirical Bayes shrinks each to the region's rate. Ranking them would order equal values."""
    values = pd.to_numeric(pd.Series(list(rates), dtype=float), errors="coerce").dropna()
    if len(values) < 2:
        return False
    return float(values.max() - values.min()) <= 1e-9 * max(1.0, abs(float(values.max())))


def hotspot_label(cls, lang: str) -> str:
    from geo import hotspots

    return (hotspots.CLASS_LABELS if lang == "zh" else hotspots.CLASS_LABELS_EN)[cls]


def _shade_kinds(kind_of: dict, drawn: Iterable[str], kinds, colours: dict, name, none: str, lang: str, t: Words,
                 counted: str, title: str, note: str | None, optional=()) -> Shading:
    """Colour each drawn region by its kind (a status, a hotspot class): every kind with its count,
    in ``kinds`` order (those in ``optional`` only when some region has them), then ``none`` (grey)
    for the drawn regions without one."""
    drawn = list(drawn)
    colour_of = {r: colours[kind_of[r]] for r in drawn if r in kind_of}
    counts = {k: sum(1 for r in drawn if kind_of.get(r) == k) for k in kinds}
    rows = [LegendRow(colours[k], name(k) + fmt.aside(t(counted, lang, n=counts[k]), lang), counts[k]) for k in kinds
            if counts[k] or k not in optional]
    missing = len(drawn) - len(colour_of)
    if missing:
        rows.append(LegendRow(maps.MISSING_COLOUR, t(none, lang) + fmt.aside(t(counted, lang, n=missing), lang), missing))
    return Shading(title, colour_of, rows, note)


def shade_status(status_of: dict, drawn: Iterable[str], lang: str, t: Words, *, counted: str = "LEGEND_TOWNSHIPS",
                 note: str | None = None) -> Shading:
    """Red/amber/green pacing status (region_code → status, absent or missing = no target) of
    each drawn region: the three statuses with their counts, then 无目标 when any has none."""
    known = {r: s for r, s in status_of.items() if not fmt.is_missing(s)}
    return _shade_kinds(known, drawn, STATUSES, maps.STATUS_COLOURS, lambda s: t(f"STATUS_{s}_LONG", lang),
                        "STATUS_NONE", lang, t, counted, t("PACE_MAP_TITLE", lang), note)


def shade_hotspots(class_of: dict, drawn: Iterable[str], lang: str, t: Words, *, title: str) -> Shading:
    """Hotspot class (region_code → class, absent = no rate) of each drawn township: every class
    with its count, then 无排查数据 (grey) for townships without a rate."""
    from geo import hotspots

    # 热点周边, 冷点周边 and the outliers are listed when present: seven rows of zeros tell a leader nothing
    return _shade_kinds(class_of, drawn, hotspots.CLASSES, hotspots.CLASS_COLOURS, lambda c: hotspot_label(c, lang),
                        "HOTSPOT_NO_RATE", lang, t, "LEGEND_TOWNSHIPS", title, t("HOTSPOT_LEGEND_NOTE", lang),
                        optional=("hot-edge", "cold-edge", "high-low", "low-high"))


@dataclass(frozen=True)
class PlaybackFrame:
    """One month of a map's playback."""
    period: str                # 2025-03
    label: str                 # 2025年3月
    cls: dict[str, int]        # region_code → class index, for the regions with a value shown
    colour_of: dict[str, str]  # region_code → fill colour (a hidden value: SMALL_COLOUR); absent = no data
    rows: list[str]            # the legend rows' text this month (the ranges and this month's counts)
    has_data: bool             # any drawn region has a value this month, shown or hidden


@dataclass(frozen=True)
class Playback:
    """A map stepped through the months of a year on locked breaks: one set of classes for every
    month (so a colour means the same value in March and in October), a legend whose ranges stay
    and whose counts follow the month."""
    title: str
    classes: classify.Classes  # the breaks every month is classed on
    colours: list[str]         # one per class
    row_colours: list[str]     # the legend's swatches: the classes, then 数值较小 and 无数据 when any month has them
    frames: list[PlaybackFrame]
    note: str                  # 按全年统一分级 · the scheme (· the spread)


def playback(values_by_period: dict[str, dict], drawn: Iterable[str], code: str, lang: str, t: Words, *,
             scheme: str = SCHEME, k: int = K, title: str | None = None,
             counted: str = "LEGEND_TOWNSHIPS") -> Playback:
    """The classes and colours of every month of ``values_by_period`` (period → {region_code →
    value}, the values as the page shows them: suppression applied) for the ``drawn`` regions.

    The breaks are computed once over every month's values pooled, with the number of classes the
    most regions with a value in any one month allow (:func:`geo.classify.fewer`), and every
    month is classed against them. A hidden value (indicators/suppress.py) gets the neutral of
    small numbers and no class, never a colour that would say its size; a region without a value
    gets none (grey)."""
    drawn = list(drawn)
    months = list(values_by_period)
    if not months:
        raise ValueError("playback needs at least one period")
    arrays = [classify.as_floats([values_by_period[p].get(r) for r in drawn]) for p in months]
    most = max(int((~np.isnan(a)).sum()) for a in arrays)
    if scheme != "fixed":
        k = classify.fewer(k, most, FEW)
    pooled = np.concatenate(arrays)
    # one yardstick for the whole year: a year-to-date rate is classed against the year's targets,
    # so a colour means the same completion in January as in December
    classes = classes_for(pooled, code, months[0][:4], scheme, k, history=arrays)
    shown = [float(v) for v in pooled if not np.isnan(v)]
    colours = class_colours(code, classes, shown)
    digits = fmt.distinct_digits(code, [classes.lowest, *classes.breaks], lang)
    ranges = [r.label for r in classify.legend_rows(classes, lambda x: fmt.value(code, x, lang, digits))]

    found = []
    for p in months:
        values = values_by_period[p]
        cls, colour_of, small, missing = {}, {}, 0, 0
        for region in drawn:
            v = values.get(region)
            if suppress.is_hidden(v):
                colour_of[region] = maps.SMALL_COLOUR
                small += 1
                continue
            c = classes.class_of(None if fmt.is_missing(v) else float(v))
            if c is None:
                missing += 1
                continue
            cls[region] = c
            colour_of[region] = colours[c]
        found.append((p, cls, colour_of, small, missing))
    any_small = any(f[3] for f in found)
    any_missing = any(f[4] for f in found)
    row_colours = list(colours) + ([maps.SMALL_COLOUR] if any_small else []) + ([maps.MISSING_COLOUR] if any_missing else [])
    frames = []
    for p, cls, colour_of, small, missing in found:
        counts = [sum(1 for c in cls.values() if c == i) for i in range(classes.k)]
        rows = [f"{r}（{t(counted, lang, n=n)}）" for r, n in zip(ranges, counts)]
        if any_small:
            rows.append(f"{t('SMALL_CLASS', lang)}（{t(counted, lang, n=small)}）")
        if any_missing:
            rows.append(f"{t('MISSING_CLASS', lang)}（{t(counted, lang, n=missing)}）")
        frames.append(PlaybackFrame(p, fmt.period_label(p, lang), cls, colour_of, rows,
                                    has_data=bool(cls) or small > 0))
    note = " · ".join(n for n in (t("PLAYBACK_LOCKED_NOTE", lang), spread_note(code, shown, lang, t, counted),
                                  scheme_note(classes, False, lang, t)) if n)
    return Playback(title or fmt.label(code, lang), classes, colours, row_colours, frames, note)


def playback_months(period: str, last: date | None) -> list[str]:
    """The months a playback steps through: from the first month of ``period``'s year to the last
    month with data (``last``, the data's last day) in that year; the whole year when the data
    go on past it, and up to the chosen period when there are none in it."""
    p = periods.parse(period)
    year = p.start.year
    if last is None or last.year < year:
        end = p.end.month
    elif last.year > year:
        end = 12
    else:
        end = max(last.month, 1)
    return [f"{year}-{m:02d}" for m in range(1, end + 1)]
def _tested_classes(stats: pd.DataFrame) -> dict:
    """region_code → hotspot class, for the townships with a rate (a hidden rate is a rate)."""
    return {c: cls for c, cls, rate in zip(stats["region_code"], stats["hotspot_class"], stats["rate"])
            if not fmt.absent(rate) and not fmt.is_missing(cls)}


def shade_hotspot_rates(stats: pd.DataFrame, drawn: Iterable[str], code: str, classes: classify.Classes, lang: str,
                        t: Words, *, title: str, locked: bool = False) -> Shading:
    """The hotspot page's default map: each drawn township coloured by its smoothed rate
    (``stats``: geo.risk.table, rate_smoothed in the units of ``code``) in ``classes``, as any
    indicator map (a hidden smoothed rate gets the hidden style, never a class), with the
    significant hot and cold spots (geo.hotspots.OUTLINED) outlined and labelled on top."""
    from geo import hotspots

    drawn = list(drawn)
    base = shade(dict(zip(stats["region_code"], stats["rate_smoothed"])), drawn, code, classes, lang, t,
                 title=title, locked=locked)
    class_of = _tested_classes(stats)
    outlined = {r: class_of[r] for r in drawn if class_of.get(r) in hotspots.OUTLINED}
    rows = []
    for kind in hotspots.OUTLINED:
        n = sum(1 for k in outlined.values() if k == kind)
        rows.append(LegendRow(hotspots.OUTLINE_COLOURS[kind],
                              f"{t(f'HOTSPOT_OUTLINE_{kind}', lang)}（{t('LEGEND_TOWNSHIPS', lang, n=n)}）", n))
    note = " · ".join(n for n in (base.note, t("HOTSPOT_LEGEND_NOTE", lang)) if n)
    return replace(base, note=note, outline_rows=rows,
                   outline_of={r: hotspots.OUTLINE_COLOURS[k] for r, k in outlined.items()},
                   mark_of={r: hotspot_label(k, lang) for r, k in outlined.items()})


def hotspot_significance(cls, rate, lang: str, t: Words) -> str:
    """What a tooltip says of a township's test: 显著：热点, 不显著, or "—" without a rate."""
    if fmt.is_missing(cls) or fmt.absent(rate):
        return fmt.MISSING
    if cls == "ns":
        return t("HOTSPOT_NOT_SIGNIFICANT", lang)
    return t("HOTSPOT_SIGNIFICANT", lang, cls=hotspot_label(cls, lang))


def hotspot_cells(stats: pd.DataFrame, towns: pd.DataFrame, code: str, lang: str, t: Words) -> pd.DataFrame:
    """Per township of ``towns`` (an indicators.table frame), what the hotspot maps' tooltips say,
    in plain words: region_code, then 聚集检验 (显著：热点 / 不显著), 平滑后比率 and the township's
    own rate, formatted (hidden values as hidden). The statistics themselves (z, p, Moran's I)
    stay in the method note."""
    by = stats.set_index("region_code").reindex(towns["region_code"])
    return pd.DataFrame({
        "region_code": towns["region_code"].to_numpy(),
        t("HOTSPOT_TEST", lang): [hotspot_significance(c, r, lang, t) for c, r in zip(by["hotspot_class"], by["rate"])],
        t("HOTSPOT_SMOOTHED", lang): [fmt.value(code, v, lang) for v in by["rate_smoothed"]],
        t("HOTSPOT_OWN", lang, name=fmt.label(code, lang, short=True)): [fmt.value(code, v, lang) for v in towns[code]],
    })
