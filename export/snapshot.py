"""Write a snapshot of one view, or the whole deck, in the format the file name asks for."""
from dataclasses import replace
from pathlib import Path

import duckdb

from export.views import CHILD, VIEWS, Atlas, ViewSpec, build_view

FORMATS = (".png", ".pdf", ".pptx", ".html", ".docx")


def write(con: duckdb.DuckDBPyConnection, out, spec: ViewSpec, whole_deck: bool = False) -> Path:
    """Export the view ``spec`` describes (or, with ``whole_deck``, all four views) to ``out``;
    the suffix picks the format.

    .png: one view, 1600 × 1000 px. .pdf: one A4 landscape page per view. .pptx: KPI slide, a map
    slide per view, ranking slides. .html: one view's interactive map, self-contained. .docx: the
    written brief with the view's map. Raises ValueError on an unknown format, region or period
    (a bad view or scheme is refused by ViewSpec itself).
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"unknown format {out.suffix!r}: expected one of {', '.join(FORMATS)}")
    if whole_deck and suffix in (".png", ".html"):
        raise ValueError(f"{suffix} holds one view; choose --view, or use .pptx or .pdf for the whole deck")
    atlas = Atlas.of(con, spec)
    build = lambda name: build_view(con, replace(spec, view=name), atlas)  # noqa: E731
    # above a city (a nation, a province) hot spots are not tested: the deck and the brief leave them out
    tested = atlas.region_level not in CHILD
    names = [n for n in VIEWS if tested or n != "hotspots"] if whole_deck else [spec.view]
    # each format's libraries (matplotlib, folium, python-pptx, python-docx) load only when asked for
    if suffix == ".docx":
        from export import brief

        # the brief always reports the headline figures, the laggards and the hotspots
        wanted = ["overview", "screening", *(["hotspots"] if tested else []), *names]
        built = {name: build(name) for name in dict.fromkeys(wanted)}
        brief.write(built["overview"], built["screening"], built.get("hotspots"), out,
                    map_view=built["overview" if whole_deck else spec.view])
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
