"""Static maps with matplotlib: the township choropleth in a local metric projection, with a
north arrow, a scale bar, the legend with its class ranges, a title block and the footnotes.

Figures are made with ``matplotlib.figure.Figure`` (no pyplot): no global state, safe inside a
Streamlit server thread. Chinese text uses the font from :mod:`export.fonts`.
"""
import io
import json
from contextlib import contextmanager

import geopandas as gpd
import matplotlib
from matplotlib import patheffects
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon, Rectangle

from export import fonts
from export.text import t
from export.views import OTHER_ROOM_COLOUR, View

PNG_SIZE = (10.0, 6.25)     # inches: 1600 × 1000 px at PNG_DPI
PNG_DPI = 160
A4_LANDSCAPE = (842 / 72, 595 / 72)  # inches: the PDF page is 842 × 595 pt
INK, GREY, EDGE = "#222222", "#666666", "#ffffff"
NO_LINE_START = "，、。；：）」》”’！？,.;:)!?"
NOTES_SIZE = 8     # the footnotes under the page: font size (pt), width (figure fraction)
NOTES_WIDTH = 0.94
NICE_KM = (0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 500)


@contextmanager
def _style():
    with matplotlib.rc_context(fonts.rc()):
        yield


def local_crs(view: View) -> str:
    """A transverse Mercator centred on the map: metres, true scale and north up at its centre."""
    minx, miny, maxx, maxy = view.shapes.total_bounds
    lon, lat = (minx + maxx) / 2, (miny + maxy) / 2
    return f"+proj=tmerc +lat_0={lat:.4f} +lon_0={lon:.4f} +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"


def draw_map(ax, view: View) -> None:
    """Townships in their class colours (county lines darker), room points, north arrow, scale bar,
    and the regions' names."""
    crs = local_crs(view)
    projected = view.shapes.to_crs(crs)
    projected.plot(ax=ax, color=projected["colour"].tolist(), edgecolor=EDGE, linewidth=0.4)
    if view.region_level == "city" and "county_code" in projected:
        counties = projected.dissolve(by="county_code")
        counties.boundary.plot(ax=ax, color="#555555", linewidth=0.9)
    outline_of = view.shading.outline_of
    if outline_of:  # the significant hot and cold spots, as the page outlines and labels them
        ringed = projected[projected["region_code"].isin(list(outline_of))]
        ringed.boundary.plot(ax=ax, color=[outline_of[c] for c in ringed["region_code"]], linewidth=2.2, zorder=4)
        halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
        for code, geometry in zip(ringed["region_code"], ringed.geometry):
            if code in view.shading.mark_of:
                part = max(getattr(geometry, "geoms", [geometry]), key=lambda g: g.area)
                point = part.representative_point()
                ax.text(point.x, point.y, view.shading.mark_of[code], ha="center", va="center", fontsize=8,
                        fontweight="bold", color=outline_of[code], path_effects=halo, zorder=6)
    if len(view.rooms):
        rooms = view.rooms.dropna(subset=["longitude", "latitude"])
        points = gpd.GeoSeries(gpd.points_from_xy(rooms["longitude"], rooms["latitude"]), crs="EPSG:4326").to_crs(crs)
        colours = [view.room_colours.get(k, OTHER_ROOM_COLOUR) for k in rooms["room_type"]]
        ax.scatter(points.x, points.y, s=9, c=colours, edgecolors="#333333", linewidths=0.3, zorder=3)
    ax.set_aspect("equal")
    ax.set_axis_off()
    minx, miny, maxx, maxy = projected.total_bounds
    pad = 0.04 * max(maxx - minx, maxy - miny)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    north_arrow(ax, view.lang)
    scale_bar(ax, view.lang)
    place_names(ax, view, crs)


# Where the north arrow and the scale bar stand (axes fractions, with their text): no name there.
_FURNITURE = ((0.0, 0.77, 0.10, 0.96), (0.0, 0.0, 0.32, 0.10))


def place_names(ax, view: View, crs: str) -> list:
    """Each region's name at its label point (geo.shapes.label_points, as on the live map), with
    a white halo, largest region first; a name that would touch one already placed, the north
    arrow or the scale bar, or leave the map, or whose region is drawn smaller than half the
    name's box, is left out. Returns the names drawn (matplotlib Text objects)."""
    from matplotlib import patheffects

    from geo import shapes

    frame = view.shapes[["region_code", "region_name", "geometry"]]
    spots = shapes.label_points(json.loads(shapes.to_geojson(frame, ["region_code", "region_name"])))
    if not spots:
        return []
    ax.apply_aspect()  # the axes' final box: names are measured against it
    points = gpd.GeoSeries(gpd.points_from_xy([p["lon"] for p in spots], [p["lat"] for p in spots]),
                           crs="EPSG:4326").to_crs(crs)
    corners = gpd.GeoSeries(gpd.points_from_xy([p["bounds"][0][1] for p in spots] + [p["bounds"][1][1] for p in spots],
                                               [p["bounds"][0][0] for p in spots] + [p["bounds"][1][0] for p in spots]),
                            crs="EPSG:4326").to_crs(crs)
    frame_box = ax.get_window_extent()
    taken = [ax.transAxes.transform([(x0, y0), (x1, y1)]) for x0, y0, x1, y1 in _FURNITURE]
    taken = [(a[0], a[1], b[0], b[1]) for a, b in taken]
    size = 9 if view.unit != "township" else 7
    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    drawn = []
    n = len(spots)
    for i, spot in enumerate(spots):
        label = ax.text(points.x[i], points.y[i], spot["name"], ha="center", va="center", fontsize=size,
                        fontweight="bold", color=INK, zorder=4, path_effects=halo, clip_on=True)
        box = label.get_window_extent()
        sw = ax.transData.transform((corners.x[i], corners.y[i]))
        ne = ax.transData.transform((corners.x[i + n], corners.y[i + n]))
        region_area = abs(ne[0] - sw[0]) * abs(ne[1] - sw[1])
        mine = (box.x0, box.y0, box.x1, box.y1)
        keep = (spot["name"] != "" and region_area >= 0.5 * box.width * box.height
                and frame_box.x0 <= box.x0 and box.x1 <= frame_box.x1 and frame_box.y0 <= box.y0 and box.y1 <= frame_box.y1
                and not any(_touch(mine, other) for other in taken))
        if keep:
            taken.append(mine)
            drawn.append(label)
        else:
            label.remove()
    return drawn


def _touch(a, b, gap: float = 1.5) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def north_arrow(ax, lang: str) -> None:
    """A north arrow in the top-left corner of the map (grid north = true north at the centre)."""
    x, y = 0.05, 0.80
    ax.add_patch(Polygon([(x, y + 0.10), (x - 0.022, y), (x, y + 0.025)], closed=True, transform=ax.transAxes,
                         facecolor=INK, edgecolor=INK, linewidth=0.8, zorder=5))
    ax.add_patch(Polygon([(x, y + 0.10), (x + 0.022, y), (x, y + 0.025)], closed=True, transform=ax.transAxes,
                         facecolor="white", edgecolor=INK, linewidth=0.8, zorder=5))
    ax.text(x, y + 0.11, t("NORTH", lang), transform=ax.transAxes, ha="center", va="bottom",
            fontsize=10, color=INK, zorder=5)


def nice_length_km(width_m: float) -> float:
    """A round scale-bar length, about a fifth of the map's width."""
    target = width_m / 1000 / 5
    return max([n for n in NICE_KM if n <= target] or [NICE_KM[0]])


def scale_bar(ax, lang: str) -> None:
    """A two-segment scale bar at the bottom left, in kilometres (the axes are metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    km = nice_length_km(x1 - x0)
    length = km * 1000
    left, bottom = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    height = 0.012 * (y1 - y0)
    for i, fill in enumerate(("#222222", "#ffffff")):
        ax.add_patch(Rectangle((left + i * length / 2, bottom), length / 2, height,
                               facecolor=fill, edgecolor=INK, linewidth=0.6, zorder=5))
    label = f"{km:g}"
    ax.text(left, bottom + 1.6 * height, "0", ha="center", va="bottom", fontsize=7, color=INK, zorder=5)
    ax.text(left + length, bottom + 1.6 * height, t("KM", lang, n=label), ha="center", va="bottom", fontsize=7,
            color=INK, zorder=5)


def draw_legend(fig: Figure, view: View, left: float, top: float, width: float, row: float = 0.038) -> float:
    """The class legend (and room types for the coverage view) from ``top`` down; returns the y below it."""
    fig.text(left, top, view.shading.title, fontsize=11, fontweight="bold", color=INK, va="top")
    y = top - row * 1.2
    swatch_h = row * 0.62
    aspect = fig.get_figheight() / fig.get_figwidth()
    for legend_row in view.shading.rows:
        fig.patches.append(Rectangle((left, y - swatch_h), swatch_h * aspect * 1.4, swatch_h, transform=fig.transFigure,
                                     facecolor=legend_row.colour, edgecolor="#888888", linewidth=0.5))
        fig.text(left + swatch_h * aspect * 1.4 + 0.008, y - swatch_h / 2, legend_row.label, fontsize=9, color=INK,
                 va="center")
        y -= row
    for legend_row in view.shading.outline_rows:  # an outline, not a fill: the hot and cold spots
        fig.patches.append(Rectangle((left, y - swatch_h), swatch_h * aspect * 1.4, swatch_h, transform=fig.transFigure,
                                     facecolor="none", edgecolor=legend_row.colour, linewidth=2.0))
        fig.text(left + swatch_h * aspect * 1.4 + 0.008, y - swatch_h / 2, legend_row.label, fontsize=9, color=INK,
                 va="center")
        y -= row
    if view.shading.note:
        y = _wrapped(fig, view.shading.note, left, y - row * 0.1, width, 7.5, GREY) - row * 0.3
    if len(view.rooms):
        y -= row * 0.4
        fig.text(left, y, t("ROOM_TYPES", view.lang, n=len(view.rooms)), fontsize=10, fontweight="bold",
                 color=INK, va="top")
        y -= row * 1.1
        present = view.rooms["room_type"].value_counts()
        for kind, n in present.items():
            colour = view.room_colours.get(kind, OTHER_ROOM_COLOUR)
            fig.lines.append(Line2D([left + 0.008], [y - swatch_h / 2], marker="o", markersize=6,
                                                     markerfacecolor=colour, markeredgecolor="#333333",
                                                     markeredgewidth=0.5, linestyle="", transform=fig.transFigure))
            fig.text(left + 0.022, y - swatch_h / 2, f"{kind}（{n}）", fontsize=9, color=INK, va="center")
            y -= row * 0.85
    return y - row * 0.4


def _lines(fig: Figure, text: str, width: float, size: float) -> list[str]:
    """``text`` in lines that fit ``width`` (figure fraction; CJK wraps anywhere, English at a space)."""
    per_line = max(8, int(width * fig.get_figwidth() * 72 / size))  # about one full-width glyph per em
    lines, line = [], ""
    for char in text:
        # a closing mark (、，）) never starts a line: it stays on the line it closes
        if _ems(line + char) > per_line and char not in NO_LINE_START:
            cut = line.rfind(" ") if char.isascii() and not char.isspace() else -1
            if cut > 0 and line[cut + 1:].isascii():  # an English word moves whole to the next line
                lines.append(line[:cut])
                line = line[cut + 1:]
            else:
                lines.append(line)
                line = ""
        line += char
    lines.append(line)
    return lines


def _ems(text: str) -> float:
    """About how wide ``text`` is, in ems: a CJK glyph is one, a Latin letter about half."""
    return sum(1 if ord(c) > 0x2E80 else 0.55 for c in text)


def _line_step(fig: Figure, size: float) -> float:
    return size * 1.35 / 72 / fig.get_figheight()


def _wrapped(fig: Figure, text: str, left: float, top: float, width: float, size: float, colour: str) -> float:
    """``text`` in lines that fit ``width`` (figure fraction; CJK wraps anywhere); returns the y below."""
    lines, step = _lines(fig, text, width, size), _line_step(fig, size)
    for i, part in enumerate(lines):
        fig.text(left, top - i * step, part, fontsize=size, color=colour, va="top")
    return top - len(lines) * step


def draw_side(fig: Figure, view: View, left: float, top: float, width: float) -> None:
    """Below the legend: the KPI figures (overview), the region's pace (screening), and the top
    of the view's ranking."""
    if top < 0.22:
        return
    if view.facts:
        for fact in view.facts:
            fig.text(left, top, fact.label, fontsize=8.5, color=GREY, va="top")
            fig.text(left + width, top, fact.value, fontsize=9.5, color=INK, va="top", ha="right")
            top -= 0.032
        top -= 0.02
        if top < 0.22:
            return
    if view.view == "overview":
        fig.text(left, top, t("KPI_TITLE", view.lang), fontsize=11, fontweight="bold", color=INK, va="top")
        y = top - 0.05
        for k in view.kpis:
            change = t("CHANGE_VS_PREV", view.lang, change=k.change) if k.change else t("PREV_NONE", view.lang)
            head = f"{k.label}  {k.value}"
            fig.text(left, y, head, fontsize=10, color=INK, va="top")
            if (_ems(head) * 10 + _ems(change) * 8) / 72 > 0.95 * width * fig.get_figwidth():
                y -= 0.032  # no room beside the figure (English): the change goes under it
            fig.text(left + width, y, change, fontsize=8, color=GREY, va="top", ha="right")
            y -= 0.042
        return
    fig.text(left, top, view.ranking.title, fontsize=11, fontweight="bold", color=INK, va="top")
    y = top - 0.045
    room = int((y - 0.16) / 0.034)
    ranking = view.ranking
    name_col = ranking.columns.index(t("TOWNSHIP", view.lang))
    for cells in ranking.rows[:max(0, min(room, 8))]:
        fig.text(left, y, f"{cells[0]}. {cells[name_col]}", fontsize=9, color=INK, va="top")
        if ranking.detail_at is not None:
            fig.text(left + width * 0.55, y, cells[ranking.detail_at], fontsize=8, color=GREY, va="top")
        fig.text(left + width, y, cells[ranking.value_at], fontsize=9, color=INK, va="top", ha="right")
        y -= 0.034


def page(view: View, size: tuple[float, float] = PNG_SIZE) -> Figure:
    """One complete page: title block, map, legend, side panel, footnotes."""
    with _style():
        fig = Figure(figsize=size, facecolor="white")
        fig.text(0.03, 0.955, f"{view.region_name}{view.title}", fontsize=20, fontweight="bold", color=INK, va="top")
        fig.text(0.03, 0.885, f"{view.map_title} · {view.period_label} · {view.data_as_of_text}", fontsize=11,
                 color=GREY, va="top")
        # the footnotes, wrapped to the page's width, fill the foot from the bottom up (a long filter
        # note takes two lines, never runs off the page); the map stands on top of them
        lines = [line for note in view.notes for line in _lines(fig, note, NOTES_WIDTH, NOTES_SIZE)]
        notes_top = 0.02 + len(lines) * _line_step(fig, NOTES_SIZE)
        bottom = max(0.12, notes_top + 0.02)
        ax = fig.add_axes((0.02, bottom, 0.62, 0.84 - bottom))
        draw_map(ax, view)
        below = draw_legend(fig, view, left=0.67, top=0.84, width=0.30)
        draw_side(fig, view, left=0.67, top=below, width=0.30)
        for i, line in enumerate(lines):
            fig.text(0.03, notes_top - i * _line_step(fig, NOTES_SIZE), line, fontsize=NOTES_SIZE, color=GREY,
                     va="top")
    return fig


def map_only(view: View, size: tuple[float, float] = (8.0, 6.4)) -> Figure:
    """The map alone (with north arrow and scale bar), for slides and the brief, whose text is native."""
    with _style():
        fig = Figure(figsize=size, facecolor="white")
        ax = fig.add_axes((0.01, 0.01, 0.98, 0.98))
        draw_map(ax, view)
    return fig


def png_bytes(fig: Figure, dpi: int = PNG_DPI) -> bytes:
    with _style():
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def write_png(view: View, path) -> None:
    """A 1600 × 1000 px PNG of the view, for a WeChat work group."""
    with _style():
        page(view).savefig(path, format="png", dpi=PNG_DPI, facecolor="white")


def write_pdf(views: list[View], path) -> None:
    """One A4 landscape page (842 × 595 pt) per view."""
    with _style(), PdfPages(path, metadata={"Title": views[0].title, "Creator": "Federation Atlas"}) as pdf:
        for view in views:
            pdf.savefig(page(view, A4_LANDSCAPE), facecolor="white")
