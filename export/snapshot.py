"""Write a snapshot of one view, or the whole deck, in the format the file name asks for."""
from pathlib import Path

import duckdb

from export.views import VIEWS, Atlas, build_view
from queries import indicators

FORMATS = (".png", ".pdf", ".pptx", ".html", ".docx")


def write(con: duckdb.DuckDBPyConnection, out, view: str | None = "overview", region_code: str | None = None,
          period: str | None = None, lang: str = "zh", scope: list[str] | None = None,
          whole_deck: bool = False, *, filters: indicators.Filters | None = None, scheme: str | None = None,
          k: int | None = None, lock: bool = False) -> Path:
    """Export ``view`` (or, with ``whole_deck``, all four views) to ``out``; the suffix picks the format.

    .png: one view, 1600 × 1000 px. .pdf: one A4 landscape page per view. .pptx: KPI slide, a map
    slide per view, ranking slides. .html: one view's interactive map, self-contained. .docx: the
    written brief with the view's map. ``filters``, ``scheme``, ``k`` and ``lock`` are the page's
    (see export.views.build_view); default: the pages' defaults. Raises ValueError on an unknown
    format, view, region, period or scheme.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"unknown format {out.suffix!r}: expected one of {', '.join(FORMATS)}")
    if whole_deck and suffix in (".png", ".html"):
        raise ValueError(f"{suffix} holds one view; choose --view, or use .pptx or .pdf for the whole deck")
    if not whole_deck and view not in VIEWS:
        raise ValueError(f"bad view {view!r}: expected one of {', '.join(VIEWS)}")
    atlas = Atlas(con, region_code, period, scope, filters)
    build = lambda name: build_view(con, name, lang=lang, atlas=atlas, scheme=scheme, k=k, lock=lock)  # noqa: E731
    names = list(VIEWS) if whole_deck else [view]
    # each format's libraries (matplotlib, folium, python-pptx, python-docx) load only when asked for
    if suffix == ".docx":
        from export import brief

        # the brief always reports the headline figures, the laggards and the hotspots
        built = {name: build(name) for name in dict.fromkeys(["overview", "screening", "hotspots", *names])}
        brief.write(built["overview"], built["screening"], built["hotspots"], out,
                    map_view=built["overview" if whole_deck else view])
        return out
    views = [build(name) for name in names]
    if suffix in (".png", ".pdf"):
        from export import staticmap

        if suffix == ".png":
            staticmap.write_png(views[0], out)
        else:
            staticmap.write_pdf(views, out)
    elif suffix == ".pptx":
        from export import slides

        slides.write(views, out)
    else:
        from export import html

        html.write(views[0], out)
    return out
