"""The one place an export decides a township's colour and its legend row.

Swap the scheme here (or follow a future on-screen scheme picker) and every format follows.
"""
from dataclasses import dataclass

import pandas as pd

from export.text import t
from geo import classify, maps
from ui import fmt

SCHEME = "quantiles"  # what the pages draw today (maps.class_breaks is quantiles, k=5)
K = 5


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


def shade(townships: pd.DataFrame, code: str, palette: str, lang: str = "zh") -> Shading:
    """Colour every township of ``townships`` (an indicators.table frame) by ``code``."""
    values = townships[code].tolist()
    classes = classify.classify(values, SCHEME, K)
    colours = maps.palette_for(palette, classes.k)
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
    return Shading(fmt.label(code, lang), colour_of, rows)
