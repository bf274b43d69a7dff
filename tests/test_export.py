"""Exports read back: PPTX (python-pptx), DOCX (python-docx), PDF (rendered by pdftoppm), PNG
(Pillow) and the offline HTML; numbers checked against queries.indicators.table + ui.fmt."""
import ast
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from docx import Document
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from PIL import Image
from pptx import Presentation

import cli
from export import fonts, html as html_export, staticmap, views
from queries import indicators, periods, runner
from ui import fmt

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def con(demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def period(con):
    return indicators.latest_month(con, indicators.EVERYTHING).code


@pytest.fixture(scope="module")
def towns(con, period):
    return indicators.table(con, "township", period, indicators.EVERYTHING)


@pytest.fixture(scope="module")
def exports(demo_db, tmp_path_factory):
    """Every format, written once through the CLI."""
    out = tmp_path_factory.mktemp("exports")
    runs = {
        "deck.pptx": ["--all"], "deck.pdf": ["--all"], "brief.docx": ["--all"],
        "hotspots.png": ["--view", "hotspots"], "coverage.html": ["--view", "coverage"],
        "screening.pptx": ["--view", "screening"],
    }
    for name, what in runs.items():
        assert cli.main(["snapshot", *what, "--out", str(out / name), "--db", str(demo_db)]) == 0
    return out


def expected_rows(frame, codes, by, ascending, n=10):
    """The laggard / top table computed here from the query, independently of export.views."""
    ordered = frame.sort_values(by, ascending=ascending, na_position="first" if ascending else "last", kind="stable")
    return [[r["region_name"]] + [fmt.value(c, r[c]) for c in codes] for r in ordered.head(n).to_dict("records")]


def test_export_never_imports_streamlit():
    for path in [*sorted((ROOT / "export").glob("*.py")), ROOT / "ui" / "fmt.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert "streamlit" not in names, path.name
        assert "ui.text" not in path.read_text(encoding="utf-8")


def test_cjk_font_comes_from_mplfonts_and_has_the_glyphs():
    path = fonts.font_path()
    assert path.name == "NotoSansCJKsc-Regular.otf" and "mplfonts" in path.parts
    family = fonts.cjk_family()
    assert Path(font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)) == path
    face = FT2Font(str(path))
    for char in "北妇联数据截至示意边界乡镇公里‰":
        assert face.get_char_index(ord(char)) != 0, char  # 0 is .notdef: a tofu box


def test_view_model_matches_the_queries(con, period, towns):
    view = views.build_view(con, "screening")
    assert view.period == period and view.region_name == "连云港市"
    last = runner.run(con, "data_span", scope=[""])["last_date"].iloc[0]
    assert view.data_as_of_text == f"数据截至 {last.year}年{last.month}月{last.day}日"
    # every township is coloured or counted as missing, and the legend counts add up
    assert sum(r.count for r in view.shading.rows) == len(towns)
    assert set(view.shading.colour_of) <= set(towns["region_code"])
    assert view.approximate and any("示意边界" in n for n in view.notes)
    city_now = indicators.table(con, "city", period, [""]).iloc[0]
    city_before = indicators.table(con, "city", periods.parse(period).previous(), [""]).iloc[0]
    kpi = {k.code: k for k in view.kpis}["screening_rate"]
    assert kpi.value == fmt.value("screening_rate", city_now["screening_rate"])
    assert kpi.change == fmt.change("screening_rate", city_now["screening_rate"], city_before["screening_rate"])


def test_view_refuses_unknown_region(con):
    with pytest.raises(ValueError, match="not a city or county"):
        views.build_view(con, "overview", region_code="320703001000")


def test_deck_pptx_has_editable_ranking_tables_with_the_screen_numbers(exports, towns):
    deck = Presentation(str(exports / "deck.pptx"))
    titles = [s.shapes.title.text for s in deck.slides]
    assert titles == ["连云港市主要指标", "连云港市妇联工作总览", "连云港市调解阵地覆盖情况", "连云港市风险隐患排查进度",
                      "连云港市风险热点分布", "连云港市排查进度靠后的乡镇", "连云港市风险发现率最高的乡镇"]
    assert deck.slide_width * 9 == deck.slide_height * 16
    for slide in list(deck.slides)[1:5]:  # a map picture, a legend and the notes on every view slide
        assert any(s.shape_type == 13 for s in slide.shapes)
        text = " ".join(s.text_frame.text for s in slide.shapes if s.has_text_frame)
        assert "个乡镇" in text and "数据截至" in text and "示意边界" in text
    for slide, codes, by, ascending in [
        (deck.slides[5], ["screening_rate", "households_screened", "households_total"], "screening_rate", True),
        (deck.slides[6], ["risk_rate_per_1000", "risk_households", "households_screened", "cases_received"],
         "risk_rate_per_1000", False),
    ]:
        tables = [s.table for s in slide.shapes if s.has_table]
        assert len(tables) == 1  # a native table: editable in PowerPoint and WPS
        cells = [[c.text for c in row.cells] for row in tables[0].rows]
        assert cells[0][:3] == ["排名", "乡镇（街道）", "县（区）"]
        got = [[row[1]] + row[3:] for row in cells[1:]]
        assert got == expected_rows(towns, codes, by, ascending)
        assert [row[0] for row in cells[1:]] == [str(i) for i in range(1, len(cells))]


def test_small_counts_are_suppressed_in_the_pptx(exports, towns):
    """Sensitive counts of 1–4 read "<5" in the top-risk table, as on screen; other counts do not."""
    table = next(sh.table for sh in Presentation(str(exports / "deck.pptx")).slides[6].shapes if sh.has_table)
    header = [c.text for c in table.rows[0].cells]
    by_name = towns.set_index("region_name")
    checked = 0
    for row in list(table.rows)[1:]:
        cells = dict(zip(header, (c.text for c in row.cells)))
        raw = by_name.loc[cells["乡镇（街道）"]]
        for code in ("risk_households", "cases_received"):
            n = int(raw[code])
            shown = cells[fmt.label(code)]
            assert shown == ("<5" if 0 < n < 5 else str(n))
            checked += 0 < n < 5
    assert checked, "the demo's top-risk townships should include a small count to suppress"


def test_single_view_pptx(exports):
    deck = Presentation(str(exports / "screening.pptx"))
    assert [s.shapes.title.text for s in deck.slides] == ["连云港市主要指标", "连云港市风险隐患排查进度",
                                                          "连云港市排查进度靠后的乡镇"]


def test_brief_docx(exports, towns):
    doc = Document(str(exports / "brief.docx"))
    headings = [(p.style.name, p.text) for p in doc.paragraphs if p.style.name in ("Title", "Heading 1", "Heading 2")]
    assert headings[0][0] == "Title" and headings[0][1].startswith("连云港市妇联工作通报")
    assert [h for _, h in headings[1:]] == ["一、总体情况", "二、排名靠后的乡镇", "三、风险热点", "四、下一步工作"]
    assert all(style == "Heading 1" for style, _ in headings[1:])
    texts = [p.text for p in doc.paragraphs]
    assert any(t.startswith("数据截至 ") for t in texts)
    assert any("较上期" in t for t in texts)
    assert texts[-2] == ""  # 下一步工作 is left for the federation to write
    table = doc.tables[0]
    cells = [[c.text for c in row.cells] for row in table.rows]
    got = [[row[1]] + row[3:] for row in cells[1:]]
    assert got == expected_rows(towns, ["screening_rate", "households_screened", "households_total"],
                                "screening_rate", True)
    assert len(doc.inline_shapes) == 1  # the map
    rfonts = doc.styles["Normal"].element.rPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}rFonts")
    assert rfonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == "仿宋"


def non_white_share(image: Image.Image) -> float:
    grey = image.convert("L")
    return sum(1 for v in grey.get_flattened_data() if v < 245) / (grey.width * grey.height)


def test_png_size_and_pixels(exports, con):
    image = Image.open(exports / "hotspots.png").convert("RGB")
    assert image.size == (1600, 1000)
    assert non_white_share(image) > 0.08
    colours = set(image.get_flattened_data())
    view = views.build_view(con, "hotspots")
    for row in view.shading.rows:  # every legend colour is on the picture (swatch and townships)
        assert tuple(int(row.colour[i:i + 2], 16) for i in (1, 3, 5)) in colours


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_pdf_pages_are_a4_landscape_and_not_blank(exports, tmp_path):
    pdf = exports / "deck.pdf"
    subprocess.run(["pdftoppm", "-r", "72", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 4
    for page in pages:
        image = Image.open(page)
        assert abs(image.width - 842) <= 1 and abs(image.height - 595) <= 1
        assert non_white_share(image) > 0.05


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.scripts_with_src = [], 0

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href", "data", "action", "poster") and value:
                self.links.append(value)
        if tag == "script" and dict(attrs).get("src"):
            self.scripts_with_src += 1


def test_html_is_self_contained(exports, towns):
    text = (exports / "coverage.html").read_text(encoding="utf-8")
    parser = _Links()
    parser.feed(text)
    assert parser.scripts_with_src == 0
    assert all(not re.match(r"(https?:)?//", link) for link in parser.links), parser.links
    assert all(u.startswith("data:") or u.startswith("#") for u in re.findall(r"url\(\s*['\"]?([^)'\"]+)", text))
    # the only http(s) strings left are XML namespace names (createElementNS), which nothing fetches
    leftovers = set(re.findall(r"https?://[^\s\"'<>()]+", text))
    assert leftovers <= set(html_export.NAMESPACES), leftovers
    assert "L.map(" in text and "Leaflet 1.9" in text  # Leaflet itself is inlined
    for name in towns["region_name"]:
        assert name in text
    decoded = json.loads(json.dumps(re.findall(r'"region_code":\s*"(\d{12})"', text)))
    assert set(towns["region_code"]) <= set(decoded)


def test_cli_rejects_bad_requests(demo_db, tmp_path, capsys):
    assert cli.main(["snapshot", "--all", "--out", str(tmp_path / "x.png"), "--db", str(demo_db)]) == 2
    assert cli.main(["snapshot", "--view", "overview", "--out", str(tmp_path / "x.txt"), "--db", str(demo_db)]) == 2
    assert cli.main(["snapshot", "--view", "overview", "--period", "2024-13", "--out", str(tmp_path / "x.png"),
                     "--db", str(demo_db)]) == 2
    assert "error:" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_county_view_png(demo_db, tmp_path):
    out = tmp_path / "county.png"
    assert cli.main(["snapshot", "--view", "screening", "--region", "320722000000", "--out", str(out),
                     "--db", str(demo_db)]) == 0
    assert Image.open(out).size == (1600, 1000)


def test_scale_bar_is_round_and_fits():
    assert staticmap.nice_length_km(100_000) == 20
    assert staticmap.nice_length_km(30_000) == 5
    assert staticmap.nice_length_km(1_000) == 0.5
