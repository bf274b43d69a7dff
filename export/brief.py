"""The written brief (工作通报) as .docx: one or two A4 pages with real Word headings, the key
figures and their change, the region's screening pace and the townships furthest behind it as a
table, the risk hotspots (the townships classed 热点 and 冷点 by Gi*, or plainly none), the map,
and 下一步工作 drawn from the data (townships to chase, hotspots to visit, gaps to close), left out
when the data asks for nothing."""
import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from export import staticmap
from export.text import t
from export.views import View

BODY_FONT, HEADING_FONT, TITLE_FONT = "仿宋", "黑体", "宋体"  # WPS and Word on every Chinese PC
BLACK = RGBColor(0, 0, 0)


def _east_asian(style_or_run, name: str) -> None:
    """Name the font for both Latin and East-Asian text (w:eastAsia), so WPS does not substitute."""
    style_or_run.font.name = name
    rpr = style_or_run.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), name)


def _styles(doc: Document) -> None:
    normal = doc.styles["Normal"]
    _east_asian(normal, BODY_FONT)
    normal.font.size = Pt(12)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.3
    for name, font, size in (("Title", TITLE_FONT, 20), ("Heading 1", HEADING_FONT, 15), ("Heading 2", HEADING_FONT, 13)):
        style = doc.styles[name]
        _east_asian(style, font)
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.color.rgb = BLACK
    doc.styles["Title"].paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _a4(doc: Document) -> None:
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2.2)
    section.left_margin = section.right_margin = Cm(2.4)


def _kpi_line(view: View, kpi) -> str:
    change = t("BRIEF_CHANGE", view.lang, change=kpi.change) if kpi.change else t("BRIEF_CHANGE_NONE", view.lang)
    return t("BRIEF_KPI_LINE", view.lang, label=kpi.label, value=kpi.value, parts=kpi.parts or "", change=change)


def _small(paragraph, text: str) -> None:
    run = paragraph.add_run(text)
    run.font.size = Pt(9)
    run.font.color.rgb = RGBColor(0x55, 0x55, 0x55)


def write(overview: View, laggards: View, hotspots: View | None, path, map_view: View | None = None) -> None:
    """The brief: key figures from ``overview``, the pace and the table from ``laggards`` (the
    screening view: its summary and ranking), the hotspots from ``hotspots``' summary, and the map
    of ``map_view`` (default: the overview's)."""
    map_view = map_view or overview
    lang = overview.lang
    doc = Document()
    _a4(doc)
    _styles(doc)
    doc.core_properties.title = t("BRIEF_TITLE", lang, region=overview.region_name, period=overview.period_label)

    doc.add_heading(t("BRIEF_TITLE", lang, region=overview.region_name, period=overview.period_label), level=0)
    as_of = doc.add_paragraph(overview.data_as_of_text)
    as_of.alignment = WD_ALIGN_PARAGRAPH.CENTER

    doc.add_heading(t("BRIEF_OVERALL", lang), level=1)
    for kpi in overview.kpis:
        doc.add_paragraph(_kpi_line(overview, kpi))
    totals = overview.totals
    doc.add_paragraph(t("BRIEF_CASES_LINE", lang, received=totals["cases_received"], closed=totals["cases_closed"],
                        mediated=totals["cases_mediated"]))
    picture = staticmap.png_bytes(staticmap.map_only(map_view, size=(8.0, 5.6)), dpi=150)
    doc.add_picture(io.BytesIO(picture), width=Cm(14.5))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption = doc.add_paragraph()
    caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    legend = "；".join(r.label for r in [*map_view.shading.rows, *map_view.shading.outline_rows])
    note = f"；{map_view.shading.note}" if map_view.shading.note else ""
    _small(caption, t("BRIEF_MAP_CAPTION", lang, title=map_view.map_title, period=map_view.period_label)
           + f"（{map_view.shading.title}：{legend}{note}）")
    if map_view.approximate:
        note = doc.add_paragraph()
        note.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _small(note, t("APPROX_BOUNDARY", lang))

    doc.add_heading(t("BRIEF_LAGGARDS", lang), level=1)
    ranking = laggards.ranking
    if laggards.summary:
        doc.add_paragraph(laggards.summary).paragraph_format.keep_with_next = True
    by_pace = laggards.view == "screening"
    intro = doc.add_paragraph(t("BRIEF_PACE_INTRO" if by_pace else "BRIEF_LAGGARDS_INTRO", lang, n=len(ranking.rows)))
    intro.paragraph_format.keep_with_next = True  # the heading and its intro move with the table
    table = doc.add_table(rows=1, cols=len(ranking.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    size = 10.5 if len(ranking.columns) <= 6 else 9
    for c, header in enumerate(ranking.columns):
        _cell(table.rows[0].cells[c], header, bold=True, right=ranking.right[c], size=size)
    # the header row repeats if the table runs onto the next page
    table.rows[0]._tr.get_or_add_trPr().append(table.rows[0]._tr.makeelement(qn("w:tblHeader"), {}))
    for cells in ranking.rows:
        row = table.add_row().cells
        for c, value in enumerate(cells):
            _cell(row[c], value, right=ranking.right[c], size=size)
    for row in table.rows[:-1]:  # keep the (short) table on one page
        for cell in row.cells:
            cell.paragraphs[0].paragraph_format.keep_with_next = True

    doc.add_heading(t("BRIEF_HOTSPOTS", lang), level=1)
    if hotspots is None:  # a nation or a province: tested a city or a county at a time
        doc.add_paragraph(t("BRIEF_HOTSPOTS_ABOVE_CITY", lang))
    else:
        doc.add_paragraph(hotspots.summary or t("BRIEF_HOTSPOTS_NONE", lang))

    steps = next_steps(overview, laggards, hotspots)
    if steps:  # never an empty heading: left out when the data asks for nothing
        doc.add_heading(t("BRIEF_NEXT", lang), level=1)
        for number, step in enumerate(steps, 1):
            doc.add_paragraph(f"{number}. {step}" if lang != "zh" else f"（{'一二三四五'[number - 1]}）{step}")

    foot = doc.add_paragraph()
    _small(foot, "　".join(n for n in overview.notes if n != t("APPROX_BOUNDARY", lang)))
    doc.save(path)


NAMED = 5  # townships named in a step, then 等


def next_steps(overview: View, laggards: View, hotspots: View | None) -> list[str]:
    """下一步工作 from the data: the townships behind pace to chase (status red), the risk hot
    spots to visit, the townships with no mediation room to build one in; [] when none applies."""
    lang = overview.lang
    sep = t("LIST_SEP", lang)

    def named(names: list[str]) -> str:
        return sep.join(names[:NAMED]) + (t("BRIEF_AND_MORE", lang) if len(names) > NAMED else "")

    steps = []
    pace = laggards.pace
    if pace is not None and "status" in pace:
        behind = pace[pace["status"] == "red"].sort_values("laggard_rank", na_position="last", kind="stable")
        if len(behind):
            steps.append(t("BRIEF_NEXT_CHASE", lang, towns=named(behind["region_name"].tolist()), n=len(behind)))
    spots = None if hotspots is None else hotspots.hotspots
    if spots is not None and "hotspot_class" in spots:
        hot = spots[spots["hotspot_class"] == "hot"]
        if len(hot):
            visit = "BRIEF_NEXT_VISIT" if hotspots.hotspot_of in (None, "risk") else f"BRIEF_NEXT_VISIT_{hotspots.hotspot_of}"
            steps.append(t(visit, lang, towns=named(hot["region_name"].tolist()), n=len(hot)))
    towns = overview.townships
    if {"villages_covered", "villages_total"} <= set(towns.columns):
        bare = towns[(towns["villages_total"].fillna(0) > 0) & (towns["villages_covered"].fillna(0) == 0)]
        if len(bare):
            steps.append(t("BRIEF_NEXT_BUILD", lang, towns=named(bare["region_name"].tolist()), n=len(bare)))
    return steps


def _cell(cell, text: str, bold: bool = False, right: bool = False, size: float = 10.5) -> None:
    cell.text = ""
    para = cell.paragraphs[0]
    para.paragraph_format.space_after = Pt(0)
    para.alignment = WD_ALIGN_PARAGRAPH.RIGHT if right else WD_ALIGN_PARAGRAPH.LEFT
    run = para.add_run(text)
    run.font.size = Pt(size)
    run.bold = bold
