"""The one place an export decides a township's colour and its legend row.

Three kinds of map, as on the pages: an indicator in classes (the sidebar's scheme and number
of classes, or a locked scale), the screening pace in red/amber/green (queries/pacing.py), and
the hotspot classes (geo/risk.py). Every format draws from the :class:`Shading` made here.
"""
from dataclasses import dataclass

import pandas as pd

from export.text import t
from geo import classify, hotspots, maps
from queries import periods
from indicators import fmt, registry

SCHEME = "quantiles"  # the pages' default scheme and number of classes (ui/state.py DEFAULTS)
K = 5
# Pace colours and marks: one copy each, in geo/ (the pages use the same).
STATUS_COLOURS = maps.STATUS_COLOURS
STATUS_MARKS = maps.STATUS_MARKS
STATUSES = ("green", "amber", "red")


@dataclass(frozen=True)
class LegendRow:
    colour: str
    label: str  # "> 12.0% – 20.5%（8 个乡镇）"
    count: int


@dataclass(frozen=True)
class Shading:
    title: str                 # the indicator's name
    colour_of: dict[str, str]  # township_code → fill colour; absent = no data (grey)
    rows: list[LegendRow]      # classes low to high, then 无数据 when any township lacks a value
    note: str | None = None    # under the legend: the scheme, the pacing rule, the hotspot method


def thresholds(code: str, period: str) -> tuple[float, ...] | None:
    """The fixed thresholds of ``code`` for ``period`` (None when the indicator has none)."""
    return registry.thresholds(code, periods.parse(period).kind)


def classes_for(values, code: str, period: str | None, scheme: str = SCHEME, k: int = K,
                history: list | None = None) -> classify.Classes:
    """The page's classes (ui/widgets.classes_for): ``scheme`` with ``k`` classes, fixed thresholds
    where the indicator has them (else quantiles), or, given ``history`` (the indicator's values in
    every period of the same kind), breaks locked across those periods."""
    if scheme not in classify.SCHEMES:
        raise ValueError(f"bad scheme {scheme!r}: expected one of {', '.join(classify.SCHEMES)}")
    if scheme == "fixed" and period is None:
        raise ValueError("fixed thresholds need the period")
    cuts = thresholds(code, period) if scheme == "fixed" else None
    if scheme == "fixed" and cuts is None:
        scheme = "quantiles"  # no yardstick for this indicator: the legend note says quantiles
    if history is not None:
        pooled = [v for v in history if len(v)]
        breaks = classify.locked(pooled, scheme, k, cuts)
        if breaks:
            known = [float(pd.Series(a, dtype=float).min()) for a in pooled if pd.Series(a, dtype=float).notna().any()]
            return classify.classify_with(values, breaks, lowest=min(known, default=None), scheme=scheme)
    return classify.classify(values, scheme, k, cuts)


def scheme_note(classes: classify.Classes, locked: bool, lang: str = "zh") -> str | None:
    """分级：分位数（每级乡镇数相近），5 级 (· 刻度已锁定), as under the page's legend."""
    if classes.k == 0:
        return None
    note = t("LEGEND_SCHEME", lang, scheme=t(f"SCHEME_{classes.scheme}", lang), k=classes.k)
    return note + (" · " + t("CLASS_LOCKED_NOTE", lang) if locked else "")


def shade(townships: pd.DataFrame, code: str, lang: str = "zh", scheme: str = SCHEME, k: int = K,
          period: str | None = None, history: list | None = None) -> Shading:
    """Colour every township of ``townships`` (an indicators.table frame) by ``code``, in the
    classes of :func:`classes_for` (``period`` is needed for fixed thresholds)."""
    values = townships[code].tolist()
    classes = classes_for(values, code, period, scheme, k, history)
    colours = maps.palette_for(registry.get(code).palette, classes.k)
    colour_of = {}
    for region_code, cls in zip(townships["region_code"], classes.assign(values)):
        if cls is not None:
            colour_of[region_code] = colours[cls]
    rows = [
        LegendRow(colour, f"{row.label}（{t('LEGEND_TOWNSHIPS', lang, n=row.count)}）", row.count)
        for colour, row in zip(colours, classify.legend_rows(classes, lambda v: fmt.value(code, v, lang)))
    ]
    if classes.missing:
        rows.append(LegendRow(maps.MISSING_COLOUR,
                              f"{t('MISSING_CLASS', lang)}（{t('LEGEND_TOWNSHIPS', lang, n=classes.missing)}）",
                              classes.missing))
    return Shading(fmt.label(code, lang), colour_of, rows, scheme_note(classes, history is not None, lang))


def status_text(status, lang: str = "zh") -> str:
    """"红 · 滞后" (zh) or "Behind" (en), as in the page's table; "—" when there is no status."""
    if fmt.is_missing(status):
        return fmt.MISSING
    return f"{STATUS_MARKS[status]} · {t(f'STATUS_{status}', lang)}" if lang == "zh" else t(f"STATUS_{status}", lang)


def shade_status(pace: pd.DataFrame, drawn_codes, lang: str = "zh") -> Shading:
    """Red/amber/green pacing status of each drawn township (ui/widgets.status_map): the three
    statuses with their counts, then 无目标 for townships with no status, when there are any."""
    status_of = {c: s for c, s in zip(pace["region_code"], pace["status"]) if not fmt.is_missing(s)}
    colour_of, counts = {}, {s: 0 for s in STATUSES}
    drawn = list(drawn_codes)
    for code in drawn:
        if code in status_of:
            colour_of[code] = STATUS_COLOURS[status_of[code]]
            counts[status_of[code]] += 1
    rows = [LegendRow(STATUS_COLOURS[s], f"{t(f'STATUS_{s}_LONG', lang)}（{t('LEGEND_TOWNSHIPS', lang, n=counts[s])}）",
                      counts[s]) for s in STATUSES]
    missing = len(drawn) - sum(counts.values())
    if missing:
        rows.append(LegendRow(maps.MISSING_COLOUR, f"{t('STATUS_NONE', lang)}（{t('LEGEND_TOWNSHIPS', lang, n=missing)}）",
                              missing))
    return Shading(t("PACE_MAP_TITLE", lang), colour_of, rows, t("PACE_RULE_SHORT", lang))


def class_label(cls, lang: str = "zh") -> str:
    return (hotspots.CLASS_LABELS if lang == "zh" else hotspots.CLASS_LABELS_EN)[cls]


def shade_hotspots(stats: pd.DataFrame, drawn_codes, code: str, lang: str = "zh") -> Shading:
    """Hotspot class of each drawn township (ui/widgets.hotspot_map): every class with its count,
    then 无排查数据 (grey) for townships without a rate."""
    found = {c: cls for c, cls, rate in zip(stats["region_code"], stats["hotspot_class"], stats["rate"])
             if not fmt.is_missing(rate)}
    colour_of, counts = {}, {c: 0 for c in hotspots.CLASSES}
    drawn = list(drawn_codes)
    for region_code in drawn:
        if region_code in found:
            colour_of[region_code] = hotspots.CLASS_COLOURS[found[region_code]]
            counts[found[region_code]] += 1
    rows = [LegendRow(hotspots.CLASS_COLOURS[c], f"{class_label(c, lang)}（{t('LEGEND_TOWNSHIPS', lang, n=counts[c])}）",
                      counts[c]) for c in hotspots.CLASSES]
    missing = len(drawn) - sum(counts.values())
    if missing:
        rows.append(LegendRow(maps.MISSING_COLOUR,
                              f"{t('HOTSPOT_NO_RATE', lang)}（{t('LEGEND_TOWNSHIPS', lang, n=missing)}）", missing))
    return Shading(t("HOTSPOT_MAP_TITLE", lang, name=fmt.label(code, lang)), colour_of, rows,
                   t("HOTSPOT_LEGEND_NOTE", lang))
