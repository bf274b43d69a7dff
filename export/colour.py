"""The one place an export decides a township's colour and its legend row.

Three kinds of map, as on the pages: an indicator in classes (indicators/legend.py, shared with
the pages), the screening pace in red/amber/green (queries/pacing.py), and the hotspot classes
(geo/risk.py). Every format draws from the :class:`Shading` made here.
"""
import pandas as pd

from export.text import t
from geo import maps
from indicators import fmt, legend
from indicators.legend import Shading

# Pace colours: one copy, in geo/ (the pages use the same).
STATUS_COLOURS = maps.STATUS_COLOURS


def shade(townships: pd.DataFrame, code: str, lang: str = "zh", scheme: str = legend.SCHEME, k: int = legend.K,
          period: str | None = None, history: list | None = None, counted: str = "LEGEND_TOWNSHIPS") -> Shading:
    """Colour every region of ``townships`` (an indicators.table frame: townships, or counties with
    ``counted`` LEGEND_COUNTIES) by ``code``, in the page's classes (indicators/legend.py;
    ``period`` is needed for fixed thresholds)."""
    classes = legend.classes_for(townships[code].tolist(), code, period, scheme, k, history)
    return legend.shade(dict(zip(townships["region_code"], townships[code])), townships["region_code"], code,
                        classes, lang, t, counted=counted, locked=history is not None)


def status_text(status, lang: str = "zh") -> str:
    """"红 · 滞后" (zh) or "Behind" (en), as in the page's table; "—" when there is no status."""
    return legend.status_text(status, lang, t)


def shade_status(pace: pd.DataFrame, drawn_codes, lang: str = "zh") -> Shading:
    """Red/amber/green pacing status of each drawn township, as on the page (indicators/legend.py),
    with the pacing rule under the legend."""
    return legend.shade_status(dict(zip(pace["region_code"], pace["status"])), drawn_codes, lang, t,
                               note=t("PACE_RULE_SHORT", lang))


def class_label(cls, lang: str = "zh") -> str:
    return legend.hotspot_label(cls, lang)


def shade_hotspots(stats: pd.DataFrame, drawn_codes, code: str, lang: str = "zh") -> Shading:
    """Hotspot class of each drawn township, as on the page (indicators/legend.py)."""
    found = {c: cls for c, cls, rate in zip(stats["region_code"], stats["hotspot_class"], stats["rate"])
             if not fmt.absent(rate)}
    return legend.shade_hotspots(found, drawn_codes, lang, t,
                                 title=t("HOTSPOT_MAP_TITLE", lang, name=fmt.label(code, lang)))


def shade_hotspot_rates(stats: pd.DataFrame, drawn_codes, code: str, lang: str = "zh", scheme: str = legend.SCHEME,
                        k: int = legend.K, period: str | None = None, history: list | None = None) -> Shading:
    """The hotspot page's default map (indicators/legend.py): each drawn township in the page's
    classes of its smoothed rate, the significant hot and cold spots outlined and labelled."""
    classes = legend.classes_for(stats["rate_smoothed"].tolist(), code, period, scheme, k, history)
    return legend.shade_hotspot_rates(stats, drawn_codes, code, classes, lang, t,
                                      title=t("HOTSPOT_RATE_TITLE", lang, name=fmt.label(code, lang)),
                                      locked=history is not None)
