"""PowerPoint (16:9): a KPI slide, one slide per view (map picture, legend and notes as native
text), and ranking slides whose table is a native, editable PowerPoint table."""
import io

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.util import Emu, Inches, Pt

from export import staticmap
from export.text import t
from export.views import OTHER_ROOM_COLOUR, View

FONT = "微软雅黑"  # on every Windows PC and in WPS; the East-Asian slot of each run names it
TITLE_ONLY = 5      # layout index in python-pptx's default template
DECK_RANKINGS = ("screening", "hotspots")
INK, GREY = RGBColor(0x22, 0x22, 0x22), RGBColor(0x66, 0x66, 0x66)
WIDTH, HEIGHT = Emu(12192000), Emu(6858000)  # 16:9, 13.333 × 7.5 in


def _font(run, size: float, colour: RGBColor = INK, bold: bool = False) -> None:
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = colour
    run.font.name = FONT
    rpr = run._r.get_or_add_rPr()
    for tag in ("a:ea", "a:cs"):
        found = rpr.find(qn(tag))
        if found is None:
            found = rpr.makeelement(qn(tag), {})
            rpr.append(found)
        found.set("typeface", FONT)


def _text(slide, left, top, width, height, lines, size=12, colour=INK, bold=False, align=PP_ALIGN.LEFT):
    box = slide.shapes.add_textbox(left, top, width, height)
    frame = box.text_frame
    frame.word_wrap = True
    for i, line in enumerate([lines] if isinstance(lines, str) else lines):
        para = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        para.alignment = align
        _font(para.add_run(), size, colour, bold)
        para.runs[0].text = line
    return box


def _slide(prs, title: str, subtitle: str):
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    head = slide.shapes.title
    head.left, head.top, head.width, head.height = Inches(0.5), Inches(0.3), Inches(12.3), Inches(0.8)
    head.text_frame.text = title
    para = head.text_frame.paragraphs[0]
    para.alignment = PP_ALIGN.LEFT
    _font(para.runs[0], 28, INK, bold=True)
    _text(slide, Inches(0.5), Inches(1.05), Inches(12.3), Inches(0.4), subtitle, 14, GREY)
    return slide


def _notes(slide, view: View) -> None:
    """The footnotes, wrapped in their box (word_wrap); with many or long ones (a long filter note)
    the type is smaller and the box starts higher, so that the last line stays on the slide."""
    per_line = 12.3 * 72 / 9  # full-width glyphs per line at 9 pt, CJK wrapping anywhere
    lines = sum(1 + int(sum(1 if ord(c) > 0x2E80 else 0.55 for c in note) // per_line) for note in view.notes)
    size = 9 if lines <= 4 else 8 if lines <= 5 else 7
    height = Inches(lines * size * 1.3 / 72)
    top = min(Inches(6.75), Inches(7.45) - height)
    _text(slide, Inches(0.5), top, Inches(12.3), height, view.notes, size, GREY)


def _rgb(hex_colour: str) -> RGBColor:
    return RGBColor.from_string(hex_colour.lstrip("#").upper())


def kpi_slide(prs, view: View) -> None:
    slide = _slide(prs, f"{view.region_name}{t('KPI_TITLE', view.lang)}",
                   f"{view.period_label} · {view.data_as_of_text}")
    width, gap, top = Inches(2.9), Inches(0.23), Inches(2.0)
    for i, k in enumerate(view.kpis):
        left = Inches(0.5) + i * (width + gap)
        card = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, left, top, width, Inches(3.2))
        card.fill.solid()
        card.fill.fore_color.rgb = RGBColor(0xF5, 0xF5, 0xF2)
        card.line.color.rgb = RGBColor(0xCC, 0xCC, 0xCC)
        card.adjustments[0] = 0.06
        change = t("CHANGE_VS_PREV", view.lang, change=k.change) if k.change else t("PREV_NONE", view.lang)
        _text(slide, left + Inches(0.2), top + Inches(0.2), width - Inches(0.4), Inches(0.5), k.label, 16, GREY)
        _text(slide, left + Inches(0.2), top + Inches(0.8), width - Inches(0.4), Inches(0.9), k.value, 40, INK, True)
        _text(slide, left + Inches(0.2), top + Inches(1.8), width - Inches(0.4), Inches(0.4), change, 13, GREY)
        if k.parts:
            _text(slide, left + Inches(0.2), top + Inches(2.3), width - Inches(0.4), Inches(0.8), k.parts, 10, GREY)
    _notes(slide, view)


def view_slide(prs, view: View, picture: bytes) -> None:
    slide = _slide(prs, f"{view.region_name}{view.title}",
                   f"{view.map_title} · {view.period_label} · {view.data_as_of_text}")
    slide.shapes.add_picture(io.BytesIO(picture), Inches(0.5), Inches(1.5), height=Inches(5.2))
    left, top, row = Inches(8.4), Inches(1.6), Inches(0.36)
    _text(slide, left, top, Inches(4.5), Inches(0.4), view.shading.title, 14, INK, True)
    y = top + Inches(0.5)
    for legend_row in view.shading.rows:
        swatch = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, left, y + Inches(0.06), Inches(0.35), Inches(0.22))
        swatch.fill.solid()
        swatch.fill.fore_color.rgb = _rgb(legend_row.colour)
        swatch.line.color.rgb = RGBColor(0x88, 0x88, 0x88)
        _text(slide, left + Inches(0.45), y, Inches(4.0), row, legend_row.label, 12)
        y += row
    for legend_row in view.shading.outline_rows:  # an outline, not a fill: the hot and cold spots
        swatch = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, left, y + Inches(0.06), Inches(0.35), Inches(0.22))
        swatch.fill.background()
        swatch.line.color.rgb = _rgb(legend_row.colour)
        swatch.line.width = Emu(int(Inches(0.04)))
        _text(slide, left + Inches(0.45), y, Inches(4.0), row, legend_row.label, 12)
        y += row
    if view.shading.note:
        lines = 1 + len(view.shading.note) // 34
        _text(slide, left, y, Inches(4.5), Emu(int(Inches(0.22) * lines)), view.shading.note, 9, GREY)
        y += Emu(int(Inches(0.2) * lines)) + Inches(0.1)
    if view.facts:  # the region's pace, as the screening page's cards
        y += Inches(0.1)
        for fact in view.facts:
            _text(slide, left, y, Inches(3.0), Inches(0.32), fact.label, 11, GREY)
            _text(slide, left + Inches(3.0), y, Inches(1.5), Inches(0.32), fact.value, 12, INK, True, PP_ALIGN.RIGHT)
            y += Inches(0.32)
    if len(view.rooms):
        y += Inches(0.15)
        _text(slide, left, y, Inches(4.5), Inches(0.4), t("ROOM_TYPES", view.lang, n=len(view.rooms)), 13, INK, True)
        y += Inches(0.45)
        for kind, n in view.rooms["room_type"].value_counts().items():
            dot = slide.shapes.add_shape(MSO_SHAPE.OVAL, left + Inches(0.08), y + Inches(0.09), Inches(0.16), Inches(0.16))
            dot.fill.solid()
            dot.fill.fore_color.rgb = _rgb(view.room_colours.get(kind, OTHER_ROOM_COLOUR))
            dot.line.color.rgb = INK
            _text(slide, left + Inches(0.45), y, Inches(4.0), Inches(0.32), f"{kind}（{n}）", 11)
            y += Inches(0.3)
    _notes(slide, view)


def ranking_slide(prs, view: View) -> None:
    ranking = view.ranking
    subtitle = " · ".join(x for x in (ranking.note, view.period_label, view.data_as_of_text) if x)
    slide = _slide(prs, f"{view.region_name}{ranking.title}", subtitle)
    n_rows, n_cols = len(ranking.rows) + 1, len(ranking.columns)
    shape = slide.shapes.add_table(n_rows, n_cols, Inches(0.5), Inches(1.6), Inches(12.3),
                                   Emu(int(Inches(0.42) * n_rows)))
    table = shape.table
    size = 12 if n_cols <= 7 else 11
    narrow = [Inches(0.8) if header == t("RANK", view.lang) else None for header in ranking.columns]
    if narrow[0]:  # a narrow rank column; the rest share the width
        rest = int((Inches(12.3) - narrow[0]) / (n_cols - 1))
        for c in range(n_cols):
            table.columns[c].width = narrow[0] if c == 0 else Emu(rest)
    align = [PP_ALIGN.RIGHT if right else PP_ALIGN.LEFT for right in ranking.right]
    for c, header in enumerate(ranking.columns):
        _cell(table.cell(0, c), header, size, bold=True, align=align[c])
    for r, cells in enumerate(ranking.rows, start=1):
        for c, value in enumerate(cells):
            _cell(table.cell(r, c), value, size, align=align[c])
    _notes(slide, view)


def _cell(cell, text: str, size: float, bold: bool = False, align=PP_ALIGN.LEFT) -> None:
    cell.text = text
    cell.vertical_anchor = MSO_ANCHOR.MIDDLE
    para = cell.text_frame.paragraphs[0]
    para.alignment = align
    _font(para.runs[0], size, RGBColor(0xFF, 0xFF, 0xFF) if bold else INK, bold)


def write(views: list[View], path, rankings: tuple[str, ...] | None = None) -> None:
    """A deck: the KPI slide, one map slide per view, then the ranking slides.

    ``rankings`` names the views whose table gets a slide; default: each view's own for a single
    view, the screening laggards and the top risks for the whole deck.
    """
    if rankings is None:
        rankings = (views[0].view,) if len(views) == 1 else DECK_RANKINGS
    prs = Presentation()
    prs.slide_width, prs.slide_height = WIDTH, HEIGHT
    prs.core_properties.title = t("WHOLE_DECK", views[0].lang, region=views[0].region_name)
    kpi_slide(prs, views[0])
    for view in views:
        view_slide(prs, view, staticmap.png_bytes(staticmap.map_only(view), dpi=150))
    by_name = {v.view: v for v in views}
    for name in rankings:
        if name in by_name:
            ranking_slide(prs, by_name[name])
    prs.save(path)
