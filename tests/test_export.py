"""Exports read back: PPTX (python-pptx), DOCX (python-docx), PDF (rendered by pdftoppm), PNG
(Pillow) and the offline HTML; numbers checked against the pages' queries (queries.indicators.table,
queries.pacing.pacing, geo.risk.table) formatted here with indicators.fmt."""
import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.support import place_names, require_tool
from docx import Document
from matplotlib import font_manager
from matplotlib.ft2font import FT2Font
from PIL import Image
from pptx import Presentation

import cli
from export import fonts, html as html_export, snapshot, staticmap, views
from geo import classify, hotspots, risk
from indicators import fmt, legend, registry, suppress
from queries import indicators, pacing, periods, runner

ROOT = Path(__file__).resolve().parent.parent
CITY = "320700000000"
HOT_PERIOD = "2024-03"  # at the test scale, Gi* finds two hot townships in the city this month (and none in 2025-12)
STATUS_WORDS = {"green": "绿 · 达到进度", "amber": "黄 · 略慢", "red": "红 · 滞后"}


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
        "hotspots.png": ["--view", "hotspots"], "coverage.html": ["--view", "coverage", "--unit", "township"],
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
    # tests/test_layers.py checks the import statements; this checks what importing them pulls in
    # at run time (the CLI runs without streamlit): nothing of export/, the registry or the words
    import subprocess
    import sys

    probe = ("import sys, importlib, pathlib\n"
             "for p in sorted(pathlib.Path('export').glob('*.py')):\n"
             "    importlib.import_module('export.' + p.stem)\n"
             "import indicators.legend, i18n.text, ui.text\n"
             "print('streamlit' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def test_cjk_font_comes_from_mplfonts_and_has_the_glyphs():
    path = fonts.font_path()
    assert path.name == "NotoSansCJKsc-Regular.otf" and "mplfonts" in path.parts
    family = fonts.cjk_family()
    assert Path(font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)) == path
    face = FT2Font(str(path))
    for char in "北妇联数据截至示意边界乡镇公里‰":
        assert face.get_char_index(ord(char)) != 0, char  # 0 is .notdef: a tofu box


def test_view_model_matches_the_queries(con, period, towns):
    view = views.build_view(con, views.ViewSpec("screening"))
    assert view.period == period and view.region_name == "连云港市"
    last = runner.run(con, "data_span", scope=[""])["last_date"].iloc[0]
    assert view.data_as_of_text == f"数据截至 {last.year}年{last.month}月{last.day}日"
    # every township is coloured or counted as missing, and the legend counts add up
    assert sum(r.count for r in view.shading.rows) == len(towns)
    assert set(view.shading.colour_of) <= set(towns["region_code"])
    assert view.approximate and any("示意边界" in n for n in view.notes)
    city_now = indicators.table(con, "city", period, [""]).iloc[0]
    city_before = indicators.table(con, "city", periods.parse(period).previous(), [""]).iloc[0]
    # screening is 本年累计: the card's change is what the month added, as the page's card says
    kpi = {k.code: k for k in view.kpis}["screening_rate_ytd"]
    assert kpi.value == fmt.value("screening_rate_ytd", city_now["screening_rate_ytd"])
    assert kpi.change == "本月新增 " + fmt.value("screening_rate_added", city_now["screening_rate_added"])
    kpi = {k.code: k for k in view.kpis}["risk_rate_per_1000"]
    assert kpi.change == fmt.change("risk_rate_per_1000", city_now["risk_rate_per_1000"],
                                    city_before["risk_rate_per_1000"])


def test_view_refuses_unknown_region(con):
    with pytest.raises(ValueError, match="not a city or county"):
        views.build_view(con, views.ViewSpec("overview", region="320703001000"))


def expected_laggards(con, period, n=10):
    """后进排名 computed here from queries.pacing, independently of export.views."""
    pace = pacing.pacing(con, period, [""], CITY, level="township")
    pace = pace.sort_values(["laggard_rank", "region_code"], na_position="last").head(n)
    return [[str(int(r["laggard_rank"])), r["region_name"], fmt.count(r["target"]), fmt.count(r["expected_by_now"]),
             fmt.count(r["screened_ytd"]), fmt.value("coverage_rate", r["completion"]),
             fmt.value("coverage_rate", r["pace"]), STATUS_WORDS[r["status"]]] for r in pace.to_dict("records")]


def table_cells(slide):
    tables = [s.table for s in slide.shapes if s.has_table]
    assert len(tables) == 1  # a native table: editable in PowerPoint and WPS
    return [[c.text for c in row.cells] for row in tables[0].rows]


def test_deck_pptx_has_editable_ranking_tables_with_the_screen_numbers(exports, con, period, towns):
    deck = Presentation(str(exports / "deck.pptx"))
    titles = [s.shapes.title.text for s in deck.slides]
    assert titles == ["连云港市主要指标", "连云港市妇联工作总览", "连云港市调解阵地覆盖情况", "连云港市风险隐患排查进度",
                      "连云港市风险热点分布", "连云港市排查进度靠后的乡镇", "连云港市平滑后风险发现率最高的乡镇"]
    assert deck.slide_width * 9 == deck.slide_height * 16
    for slide in list(deck.slides)[1:5]:  # a map picture, a legend and the notes on every view slide
        assert any(s.shape_type == 13 for s in slide.shapes)
        text = " ".join(s.text_frame.text for s in slide.shapes if s.has_text_frame)
        # the city's overview and coverage colour counties (the page's default unit), the others townships
        assert ("个乡镇" in text or "个县（区）" in text) and "数据截至" in text and "示意边界" in text
    # the laggards by pace, as the screening page's 后进排名
    cells = table_cells(deck.slides[5])
    assert cells[0] == ["排名", "乡镇（街道）", "年度排查目标（户）", "按时序应完成", "年内已排查（户）", "目标完成率",
                        "进度比", "进度状态"]
    assert cells[1:] == expected_laggards(con, period)
    # the townships by smoothed risk rate with their class, as the hotspots page's table (a smoothed
    # rate hidden with its small count sorts last: indicators/suppress.py)
    stats = views.hotspot_frame(views.Atlas(con, CITY, period))
    top = stats.sort_values("rate_smoothed", ascending=False, na_position="last", kind="stable").head(10)
    labels = hotspots.CLASS_LABELS
    cells = table_cells(deck.slides[6])
    assert cells[0] == ["排名", "乡镇（街道）", "分类", "平滑后比率", "风险发现率（每千排查户）", "中高风险户数", "已排查户数"]
    assert cells[1:] == [[str(i + 1), r["region_name"], labels[r["hotspot_class"]],
                          fmt.value("risk_rate_per_1000", r["rate_smoothed"]), fmt.value("risk_rate_per_1000", r["rate"]),
                          fmt.value("risk_households", r["risk_households"]),
                          fmt.value("households_screened", r["households_screened"])]
                         for i, r in enumerate(suppress.records(top))]


def test_screening_slide_maps_pace_status_with_counts(exports, con, period):
    pace = pacing.pacing(con, period, [""], CITY, level="township")
    counts = pace["status"].value_counts()
    slide = Presentation(str(exports / "deck.pptx")).slides[3]
    text = [s.text_frame.text for s in slide.shapes if s.has_text_frame]
    for status, long in (("green", "绿：达到进度"), ("amber", "黄：略慢（差 10% 以内）"), ("red", "红：滞后")):
        assert f"{long}（{int(counts.get(status, 0))} 个乡镇）" in text
    assert ("无目标" in " ".join(text)) == bool(pace["status"].isna().any())
    whole = pacing.pacing(con, period, [""], CITY, level="city").iloc[0]
    assert STATUS_WORDS[whole["status"]] in text and fmt.count(whole["target"]) in text  # the region's pace


def test_small_counts_are_suppressed_in_the_pptx(exports, towns):
    """Sensitive counts of 1–4 read "<5" in the top-risk table, as on screen; other counts do not
    (or read "×", hidden so that no "<5" can be worked out; test_suppression.py)."""
    table = next(sh.table for sh in Presentation(str(exports / "deck.pptx")).slides[6].shapes if sh.has_table)
    header = [c.text for c in table.rows[0].cells]
    by_name = towns.set_index("region_name")
    checked = 0
    for row in list(table.rows)[1:]:
        cells = dict(zip(header, (c.text for c in row.cells)))
        raw = by_name.loc[cells["乡镇（街道）"]]
        n = int(raw["risk_households"])
        assert cells[fmt.label("risk_households")] in (("<5",) if 0 < n < 5 else (str(n), "×"))
        assert cells[fmt.label("households_screened")] == str(int(raw["households_screened"]))
        checked += 1
    assert checked


def test_hotspot_legend_counts_are_geo_risk_counts(con, period):
    for when in (period, HOT_PERIOD):
        view = views.build_view(con, views.ViewSpec("hotspots", period=when, hotspot_show="classes"))
        stats = risk.table(con, when, [""], CITY)
        rated = stats[stats["rate"].notna()]
        expected = risk.counts(rated)
        rows = {r.colour: r for r in view.shading.rows}
        for cls in hotspots.CLASSES:
            if cls not in ("hot", "cold", "ns") and not expected[cls]:  # the rarer classes only when present
                assert hotspots.CLASS_COLOURS[cls] not in rows
                continue
            row = rows[hotspots.CLASS_COLOURS[cls]]
            assert row.count == expected[cls]
            assert row.label == f"{hotspots.CLASS_LABELS[cls]}（{expected[cls]} 个乡镇）"
        assert sum(r.count for r in view.shading.rows) == len(view.shapes)
        hot = set(rated.loc[rated["hotspot_class"] == "hot", "region_code"])
        assert {c for c, fill in view.shading.colour_of.items() if fill == hotspots.CLASS_COLOURS["hot"]} == hot
    assert expected["hot"] == 2  # HOT_PERIOD has hot spots, so the colour check above saw some


def test_default_hotspot_export_is_the_smoothed_rate_with_hot_and_cold_outlined(con, tmp_path):
    """The export of the hotspot page's default display: the smoothed rate in the page's classes,
    the hot and cold spots outlined and labelled, on the PNG and in the HTML; tooltips in plain words."""
    view = views.build_view(con, views.ViewSpec("hotspots", period=HOT_PERIOD))
    stats = view.hotspots
    code = "risk_rate_per_1000"
    classes = legend.classes_for(stats["rate_smoothed"].tolist(), code, HOT_PERIOD)
    expected = legend.shade(dict(zip(stats["region_code"], stats["rate_smoothed"])), view.shapes["region_code"],
                            code, classes, "zh", views.t)
    assert view.shading.colour_of == expected.colour_of
    assert set(view.shapes["colour"]) <= {*expected.colour_of.values(), colour_of_missing()}
    rated = stats[[not fmt.absent(r) for r in stats["rate"]]]
    hot = set(rated.loc[rated["hotspot_class"] == "hot", "region_code"])
    cold = set(rated.loc[rated["hotspot_class"] == "cold", "region_code"])
    assert len(hot) == 2  # this month has hot spots (no cold one at the test scale)
    assert view.shading.outline_of == {**{c: hotspots.OUTLINE_COLOURS["hot"] for c in hot},
                                       **{c: hotspots.OUTLINE_COLOURS["cold"] for c in cold}}
    assert view.map_title == "各乡镇平滑后风险发现率，粗框为显著热点、冷点"
    assert list(view.cells.columns) == ["region_code", "连片检验", "平滑后比率", "本乡镇风险发现率（未平滑）"]
    assert "不显著" in set(view.cells["连片检验"])
    # the HTML carries the outlines (raised above the other townships) and the labels
    page = html_export.render(view)
    assert hotspots.OUTLINE_COLOURS["hot"] in page
    assert page.count('"atlas-mark-icon"') == len(hot) + len(cold)  # one DivIcon label each
    assert "深红粗框：热点" in page and "Gi* z" not in page and "FDR" not in page
    # the PNG: the outline colour is drawn on the map (and only there and in the legend)
    staticmap.write_png(view, tmp_path / "hot.png")
    with Image.open(tmp_path / "hot.png") as image:
        pixels = {tuple(p) for p in np.asarray(image.convert("RGB")).reshape(-1, 3).tolist()}
    assert tuple(int(hotspots.OUTLINE_COLOURS["hot"][i:i + 2], 16) for i in (1, 3, 5)) in pixels
    # the classes-only display stays one choice away
    plain = views.build_view(con, views.ViewSpec("hotspots", period=HOT_PERIOD, hotspot_show="classes"))
    assert not plain.shading.outline_of and hotspots.OUTLINE_COLOURS["hot"] not in html_export.render(plain)
    with pytest.raises(ValueError):
        views.ViewSpec("hotspots", hotspot_show="raw")


def colour_of_missing() -> str:
    from geo import maps

    return maps.MISSING_COLOUR


def page_hotspots(con, period, of):
    """geo.risk.table of ``of`` as the hotspot page shows it (ui/data.hotspot_table): what follows
    from a hidden count hidden with it (indicators/suppress.derived on MEASURES[of]'s count)."""
    found = risk.table(con, period, indicators.EVERYTHING, CITY, of=of)
    towns = indicators.shown(con, "township", period, indicators.EVERYTHING, CITY)
    return suppress.derived(found, towns, risk.MEASURES[of][1], risk.OWN_VALUE).set_index("region_code")


@pytest.mark.parametrize("show", views.HOTSPOT_SHOWS)
def test_a_hotspot_export_of_cases_shows_the_cases_measure(con, show):
    """The page's 地图指标 set to 每万户受理纠纷: the export's map, legend, table, tooltips, summary
    and titles are cases per 10,000 households (geo.risk.table(of="cases") as the page shows it),
    not the risk rate; small counts stay hidden, and so does every smoothed rate built on one."""
    risk_view = views.build_view(con, views.ViewSpec("hotspots", period=HOT_PERIOD, hotspot_show=show))
    view = views.build_view(con, views.ViewSpec("hotspots", period=HOT_PERIOD, hotspot_show=show, hotspot_of="cases"))
    code, label = "cases_per_10k", fmt.label("cases_per_10k", "zh")
    assert view.code == code and view.hotspot_of == "cases" and risk_view.hotspot_of == "risk"
    assert view.map_title == ("各乡镇平滑后每万户受理纠纷，粗框为显著热点、冷点" if show == "smoothed"
                              else "各乡镇纠纷受理热点与冷点（平滑后每万户受理纠纷的连片检验）")
    assert "风险" not in view.map_title and "风险发现率" in risk_view.map_title
    assert view.shading.title.startswith("平滑后每万户受理纠纷" if show == "smoothed" else "每万户受理纠纷")
    # the statistics: the page's, value for value (hidden where the page hides them)
    page = page_hotspots(con, HOT_PERIOD, "cases")
    got = view.hotspots.set_index("region_code")
    assert list(got.index) == list(page.index)
    for column, shown_as in (("rate", code), ("rate_smoothed", code), ("events", "cases_received")):
        assert [fmt.value(shown_as, v) for v in got[column]] == [fmt.value(shown_as, v) for v in page[column]], column
    assert list(got["hotspot_class"]) == list(page["hotspot_class"])
    hidden = [c for c, e in zip(page.index, page["events"]) if suppress.is_hidden(e)]
    assert hidden, "the test scale has townships with fewer than 5 cases"
    assert all(suppress.is_hidden(got.at[c, "rate_smoothed"]) for c in hidden)
    assert all(fmt.value(code, got.at[c, "rate_smoothed"]) == "—（数值较小）" for c in hidden)
    # the ranking: by smoothed cases rate, its columns named for cases, its values the page's
    ranking = view.ranking
    assert ranking.title == "平滑后每万户受理纠纷最高的乡镇" and ranking.codes == [code, "cases_received", "households_total"]
    assert ranking.columns[4:] == [label, "受理纠纷", "登记户数"]
    ordered = page.sort_values("rate_smoothed", ascending=False, na_position="last", kind="stable")
    expected = [fmt.value(code, v) for v in ordered["rate_smoothed"].head(views.RANK_ROWS)]
    assert [r[3] for r in ranking.rows] == expected
    assert [r[3] for r in ranking.rows] != [r[3] for r in risk_view.ranking.rows]
    # the map's colours: the smoothed cases rate's classes (or the classes of its own test)
    if show == "smoothed":
        classes = legend.classes_for(page["rate_smoothed"].tolist(), code, HOT_PERIOD)
        shaded = legend.shade(dict(zip(page.index, page["rate_smoothed"])), view.shapes["region_code"], code,
                              classes, "zh", views.t)
        assert view.shading.colour_of == shaded.colour_of
    else:
        rated = page[[not fmt.absent(r) for r in page["rate"]]]
        assert view.shading.colour_of == {c: hotspots.CLASS_COLOURS[k] for c, k in rated["hotspot_class"].items()
                                          if c in set(view.shapes["region_code"])}
    assert view.shading.colour_of != risk_view.shading.colour_of
    # tooltips name the township's own cases rate; the brief's sentence speaks of cases
    short = fmt.label(code, "zh", short=True)  # the tooltips' short name, as the page's
    assert list(view.cells.columns) == ["region_code", "连片检验", "平滑后比率", f"本乡镇{short}（未平滑）"]
    assert "风险" not in view.summary and ("每万户受理纠纷" in view.summary or "纠纷受理" in view.summary)
    assert view.summary != risk_view.summary
    with pytest.raises(ValueError):
        views.ViewSpec("hotspots", hotspot_of="rooms")
    assert views.ViewSpec("hotspots", hotspot_of=None) == views.ViewSpec("hotspots")  # the CLI's unset option


def test_the_cli_exports_the_hotspot_measure_asked_for(demo_db, tmp_path):
    """cli.py snapshot --view hotspots --hotspot-of cases: the file maps cases per 10,000
    households; without the option, the risk rate (as before)."""
    for of in ("cases", "risk"):
        args = ["snapshot", "--view", "hotspots", "--period", HOT_PERIOD, "--db", str(demo_db)]
        assert cli.main([*args, *(["--hotspot-of", of] if of == "cases" else []),
                         "--out", str(tmp_path / f"{of}.html")]) == 0
        assert cli.main([*args, "--hotspot-of", of, "--out", str(tmp_path / f"{of}.png")]) == 0
    cases, plain = (tmp_path / "cases.html").read_text(encoding="utf-8"), (tmp_path / "risk.html").read_text(encoding="utf-8")
    # the map's title, its legend and the tooltips' own rate
    for words in ("各乡镇平滑后每万户受理纠纷，粗框为显著热点、冷点", "<summary class=\"atlas-legend-title\">平滑后每万户受理纠纷<",
                  f"本乡镇{fmt.label('cases_per_10k', 'zh', short=True)}（未平滑）"):
        assert words in cases and words not in plain
    assert "平滑后风险发现率" not in cases and "各乡镇平滑后风险发现率，粗框为显著热点、冷点" in plain
    assert (tmp_path / "cases.png").read_bytes() != (tmp_path / "risk.png").read_bytes()
    with pytest.raises(SystemExit):
        cli.main(["snapshot", "--view", "hotspots", "--hotspot-of", "rooms", "--out", str(tmp_path / "x.png"),
                  "--db", str(demo_db)])


def test_a_county_hotspot_export_says_it_was_recomputed_there(con):
    county = views.build_view(con, views.ViewSpec("hotspots", region="320722000000", period=HOT_PERIOD))
    city = views.build_view(con, views.ViewSpec("hotspots", period=HOT_PERIOD))
    assert "热点按本县范围重新计算，与全市视图可能不同。" in county.notes
    assert "热点按本县范围重新计算，与全市视图可能不同。" not in city.notes


def test_brief_docx(exports, con, period):
    doc = Document(str(exports / "brief.docx"))
    headings = [(p.style.name, p.text) for p in doc.paragraphs if p.style.name in ("Title", "Heading 1", "Heading 2")]
    assert headings[0][0] == "Title" and headings[0][1].startswith("连云港市妇联工作通报")
    assert [h for _, h in headings[1:]] == ["一、总体情况", "二、排名靠后的乡镇", "三、风险热点", "四、下一步工作"]
    assert all(style == "Heading 1" for style, _ in headings[1:])
    texts = [p.text for p in doc.paragraphs]
    assert any(t.startswith("数据截至 ") for t in texts)
    assert any("较上期" in t for t in texts)
    # 下一步工作 comes from the data: the townships behind pace (red) by name, then those with no room
    steps = texts[texts.index("四、下一步工作") + 1:-1]
    paced = pacing.pacing(con, period, [""], CITY)
    red = paced[paced["status"] == "red"].sort_values("laggard_rank", na_position="last", kind="stable")
    assert len(red) and steps[0].startswith("（一）督促排查进度明显落后的" + red["region_name"].iloc[0])
    assert f"共 {len(red)} 个乡镇、街道" in steps[0]
    bare = views.Atlas(con, period=period).townships().query("villages_total > 0 and villages_covered == 0")
    assert any(s.startswith("（二）在尚无调解阵地的") for s in steps) == (len(bare) > 0)
    # 排名靠后的乡镇 = the pacing laggards, after the city's own pace
    whole = pacing.pacing(con, period, [""], CITY, level="city").iloc[0]
    assert any(t.startswith("连云港市年度排查目标") and STATUS_WORDS[whole["status"]] in t for t in texts)
    cells = [[c.text for c in row.cells] for row in doc.tables[0].rows]
    assert cells[1:] == expected_laggards(con, period)
    # nothing is hot in this month at the test scale: the brief says so plainly, and names the highest
    assert risk.counts(risk.table(con, period, [""], CITY))["hot"] == 0
    section = texts[texts.index("三、风险热点") + 1]
    assert section.startswith("本期未发现统计显著的风险热点（Gi*，FDR 0.05）；平滑后风险发现率最高的乡镇为")
    stats = risk.table(con, period, [""], CITY).merge(views.Atlas(con).townships(), on="region_code")
    first = stats.sort_values("rate_smoothed", ascending=False).iloc[0]
    assert f"{first['region_name']}（{fmt.value('risk_rate_per_1000', first['rate_smoothed'])}）" in section
    assert len(doc.inline_shapes) == 1  # the map
    rfonts = doc.styles["Normal"].element.rPr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}rFonts")
    assert rfonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == "仿宋"


def test_brief_names_the_hot_townships(con, tmp_path):
    out = snapshot.write(con, tmp_path / "brief.docx", views.ViewSpec("hotspots", period=HOT_PERIOD))
    texts = [p.text for p in Document(str(out)).paragraphs]
    section = texts[texts.index("三、风险热点") + 1]
    stats = views.hotspot_frame(views.Atlas(con, CITY, HOT_PERIOD))  # as shown: small counts hidden
    hot = stats[stats["hotspot_class"] == "hot"]
    assert len(hot) == 2
    assert section.startswith("经 Gi* 检验（FDR 0.05），本期风险热点乡镇（街道）2 个：")
    for r in suppress.records(hot):
        assert f"{r['region_name']}（平滑后 {fmt.value('risk_rate_per_1000', r['rate_smoothed'])}" in section
    assert "未发现" not in section
    steps = texts[texts.index("四、下一步工作") + 1:-1]
    visit = [s for s in steps if "对风险热点" in s]
    assert len(visit) == 1 and all(r["region_name"] in visit[0] for r in hot.to_dict("records"))


def test_hotspot_summary_names_hot_and_cold_and_caps_the_list():
    """The naming branches on a constructed table: hot ones by smoothed rate, cold ones, and 等."""
    names = [f"镇{i}" for i in range(14)]
    stats = pd.DataFrame({
        "region_code": [str(i) for i in range(14)], "region_name": names,
        "rate": [10.0] * 14, "events": [3.0] * 14, "risk_households": [3] * 14,
        "rate_smoothed": [float(i) for i in range(14)],
        "hotspot_class": ["cold", "cold"] + ["hot"] * 12,
    })
    text = views.hotspot_summary(stats)
    assert text.startswith("经 Gi* 检验（FDR 0.05），本期风险热点乡镇（街道）12 个：镇13（平滑后 13.0‰，中高风险 <5 户）、镇12")
    assert "镇3（" not in text and "镇4（平滑后 4.0‰" in text and "等。" in text  # ten named, the rest 等
    assert text.endswith("风险冷点乡镇（街道）2 个：镇0（0.0‰）、镇1（1.0‰）。")
    stats["hotspot_class"] = ["cold"] + ["ns"] * 13
    text = views.hotspot_summary(stats)
    assert text == ("本期未发现统计显著的风险热点（Gi*，FDR 0.05）；平滑后风险发现率最高的乡镇为"
                    "镇13（13.0‰）、镇12（12.0‰）、镇11（11.0‰）。风险冷点乡镇（街道）1 个：镇0（0.0‰）。")
    stats["events"] = 0.0
    assert views.hotspot_summary(stats) == "本期无排查发现的中高风险户。"


def test_filters_change_the_exported_numbers(con, period, demo_db, tmp_path):
    high = indicators.Filters(risk_levels=("高",))
    plain = views.build_view(con, views.ViewSpec("overview"))
    only_high = views.build_view(con, views.ViewSpec("overview", filters=high))
    rate = {k.code: k for k in plain.kpis}["risk_rate_per_1000"]
    rate_high = {k.code: k for k in only_high.kpis}["risk_rate_per_1000"]
    assert rate_high.raw < rate.raw
    city = indicators.table(con, "city", period, [""], None, high).iloc[0]
    assert rate_high.value == fmt.value("risk_rate_per_1000", city["risk_rate_per_1000"])
    assert "筛选条件：计为风险户的风险等级 高" in only_high.notes and not any("筛选" in n for n in plain.notes)
    # and through the file: the PPTX's KPI card and the CLI's --risk-levels
    out = tmp_path / "high.pptx"
    assert cli.main(["snapshot", "--view", "hotspots", "--risk-levels", "高", "--out", str(out),
                     "--db", str(demo_db)]) == 0
    deck = Presentation(str(out))
    kpi_text = [s.text_frame.text for s in deck.slides[0].shapes if s.has_text_frame]
    assert rate_high.value in kpi_text and rate.value not in kpi_text
    top = table_cells(deck.slides[-1])
    assert top[1:] == [row for row in views.build_view(con, views.ViewSpec("hotspots", filters=high)).ranking.rows]


def test_scheme_and_k_follow_the_users_choice(con, period, towns):
    view = views.build_view(con, views.ViewSpec("coverage", scheme="equal_interval", k=3, unit="township"))
    classes = classify.classify(towns["coverage_rate"].tolist(), "equal_interval", 3)
    assert [r.count for r in view.shading.rows[:3]] == list(classes.counts)
    assert view.shading.note == "分级：等间距，3 级"
    fixed = views.build_view(con, views.ViewSpec("overview", period="2025", scheme="fixed", lock=True))  # a year: few periods to pool
    assert fixed.shading.note.startswith("分级：固定阈值（工作目标），")
    assert fixed.shading.note.endswith(" · 刻度已锁定（各期同一分级）")
    cuts = registry.thresholds("screening_rate", "year")  # the year's yardstick: 12 × the month's
    assert cuts == tuple(round(b * 12 / 12, 6) for b in registry.get("screening_rate").thresholds)
    assert [r.label.split("（")[0].split(" – ")[-1] for r in fixed.shading.rows[:3]] == \
        [fmt.value("screening_rate", c) for c in cuts[:3]]
    assert views.build_view(con, views.ViewSpec("overview", unit="township")).shading.note == "分级：分位数（每级数量相近），5 级"
    with pytest.raises(ValueError, match="bad scheme"):
        views.ViewSpec("overview", scheme="pretty")


def test_fixed_thresholds_come_from_the_registry_and_scale_with_the_period():
    for period, months in (("2025-06", 1), ("2025Q2", 3), ("2025", 12)):
        kind = periods.parse(period).kind
        quarter_of_year = tuple(round(b * months / 12, 6) for b in (0.5, 0.75, 0.9, 1.0))
        assert registry.thresholds("screening_rate", kind) == quarter_of_year
        assert registry.thresholds("cases_per_10k", kind) == tuple(b * months for b in (1.0, 2.0, 5.0, 10.0))
        assert registry.thresholds("coverage_rate", kind) == (0.5, 0.7, 0.9, 1.0)
        # the pages and the exports class by the same function (indicators/legend.py)
        fixed = legend.classes_for([0.01, 0.2, 2.0], "screening_rate", period, "fixed")
        assert fixed.breaks[:4] == quarter_of_year
    assert registry.thresholds("households_total", "year") is None
    assert legend.classes_for([1, 2, 3], "households_total", "2025", "fixed").scheme == "quantiles"


def test_single_view_pptx(exports):
    deck = Presentation(str(exports / "screening.pptx"))
    assert [s.shapes.title.text for s in deck.slides] == ["连云港市主要指标", "连云港市风险隐患排查进度",
                                                          "连云港市排查进度靠后的乡镇"]


def non_white_share(image: Image.Image) -> float:
    grey = image.convert("L")
    return sum(1 for v in grey.get_flattened_data() if v < 245) / (grey.width * grey.height)


def test_png_size_and_pixels(exports, con):
    image = Image.open(exports / "hotspots.png").convert("RGB")
    assert image.size == (1600, 1000)
    assert non_white_share(image) > 0.08
    colours = set(image.get_flattened_data())
    view = views.build_view(con, views.ViewSpec("hotspots"))
    for row in view.shading.rows:  # every legend colour is on the picture (swatch and townships)
        assert tuple(int(row.colour[i:i + 2], 16) for i in (1, 3, 5)) in colours


def test_pdf_pages_are_a4_landscape_and_not_blank(exports, tmp_path):
    pdftoppm = require_tool("pdftoppm", "poppler-utils")  # a failure in CI, never a silent skip
    pdf = exports / "deck.pdf"
    subprocess.run([pdftoppm, "-r", "72", "-png", str(pdf), str(tmp_path / "page")], check=True)
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
    assert 'attributionControl.setPrefix("Leaflet")' in text  # plain text: no flag, no link
    for name in towns["region_name"]:
        assert name in text
    decoded = json.loads(json.dumps(re.findall(r'"region_code":\s*"(\d{12})"', text)))
    assert set(towns["region_code"]) <= set(decoded)
    # every township named on the map, once, as on the page's township map
    assert sorted((p["code"], p["name"]) for p in place_names(text)) == sorted(
        zip(towns["region_code"], towns["region_name"]))


def test_city_html_names_the_counties_it_draws(demo_db, con, tmp_path):
    out = tmp_path / "overview.html"
    assert cli.main(["snapshot", "--view", "overview", "--out", str(out), "--db", str(demo_db)]) == 0
    counties = indicators.table(con, "county", indicators.latest_month(con, indicators.EVERYTHING).code,
                                indicators.EVERYTHING)
    names = place_names(out.read_text(encoding="utf-8"))
    assert sorted((p["code"], p["name"]) for p in names) == sorted(zip(counties["region_code"], counties["region_name"]))


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


@pytest.mark.parametrize("region, unit, every", [(CITY, "county", True), ("320722000000", "township", True),
                                               (CITY, "township", False)])
def test_png_names_the_regions_it_draws_none_overlapping(con, region, unit, every):
    # counties at city level, townships in a county: all named; the city's 90 townships: as many as fit
    view = views.build_view(con, views.ViewSpec("coverage", region, unit=unit))
    fig = staticmap.page(view)
    fig.canvas.draw()  # as saved: the names measured in the final layout
    ax = fig.axes[0]
    named = {t.get_text(): t for t in ax.texts if t.get_path_effects()}
    drawn = set(view.shapes["region_name"])
    assert set(named) <= drawn
    assert named.keys() == drawn if every else len(named) >= 0.4 * len(drawn), sorted(drawn - set(named))
    boxes = [t.get_window_extent() for t in named.values()]
    frame = ax.get_window_extent()
    for i, a in enumerate(boxes):
        assert frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 and a.y1 <= frame.y1
        assert not any(a.overlaps(b) for b in boxes[i + 1:])


def test_scale_bar_is_round_and_fits():
    assert staticmap.nice_length_km(100_000) == 20
    assert staticmap.nice_length_km(30_000) == 5
    assert staticmap.nice_length_km(1_000) == 0.5


def test_city_export_maps_counties_as_the_screen_does_unless_asked_for_townships(con, period, demo_db, tmp_path):
    counties = indicators.table(con, "county", period, indicators.EVERYTHING)
    towns = views.build_view(con, views.ViewSpec("overview", unit="township"))
    shown = views.build_view(con, views.ViewSpec("overview"))  # the page's default: unit=county
    assert shown.unit == "county" and len(shown.shapes) == len(counties) == towns.shapes["county_code"].nunique()
    assert set(shown.shading.colour_of) == set(shown.shapes["region_code"])
    assert sum(r.count for r in shown.shading.rows) == len(counties)
    assert "个县（区）" in shown.shading.rows[0].label and shown.map_title == "各县（区）入户排查完成率"
    assert towns.unit == "township" and len(towns.shapes) == len(towns.townships)
    # screening and hotspots map townships' pace and classes at every level, as their pages do
    assert views.build_view(con, views.ViewSpec("screening")).unit == "township"
    with pytest.raises(ValueError, match="bad unit"):
        views.ViewSpec("overview", unit="village")
    # the HTML's tooltips name the county; the CLI's --unit reaches the spec
    out = tmp_path / "overview.html"
    assert cli.main(["snapshot", "--view", "overview", "--unit", "county", "--out", str(out), "--db", str(demo_db)]) == 0
    page = out.read_text(encoding="utf-8")
    assert all(name in page for name in counties["region_name"])
    out = tmp_path / "town.png"
    assert cli.main(["snapshot", "--view", "overview", "--unit", "township", "--out", str(out), "--db", str(demo_db)]) == 0


LONG_FILTERS = indicators.Filters(  # every value named: the same numbers as "all", and a long footnote
    room_types=("家事调解工作室", "家事纠纷调解工作站", "婚调坊", "和合之家", "婚姻家庭纠纷调解委员会", "妇女议事会"),
    risk_levels=("低", "中", "高"),
    risk_types=("侵害妇女儿童权益", "婚姻家庭纠纷", "家庭暴力", "赡养抚养纠纷", "监护缺失儿童"),
    case_sources=("网格员", "法院委派", "来访", "12338热线", "公安转介", "信访"))


def test_a_long_filter_note_is_wrapped_not_cut_off_in_the_png_and_the_pptx(con, tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    view = views.build_view(con, views.ViewSpec("overview", filters=LONG_FILTERS))
    note = views.filters_note(LONG_FILTERS)
    assert note in view.notes and len(note) > 120
    fig = staticmap.page(view)
    renderer = FigureCanvasAgg(fig).get_renderer()
    foot = [x for x in fig.texts if x.get_position()[1] < 0.12 and x.get_fontsize() == staticmap.NOTES_SIZE]
    assert note in "".join(x.get_text() for x in foot)  # every character, in order, over two lines or more
    assert sum(1 for x in foot if x.get_text() in note) >= 2
    page = fig.bbox
    with staticmap._style():  # measured in the export's CJK font
        for x in foot:  # and every line inside the page
            box = x.get_window_extent(renderer)
            assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0 and box.y1 <= page.y1, x.get_text()
    out = tmp_path / "long.pptx"
    snapshot.write(con, out, views.ViewSpec("overview", filters=LONG_FILTERS))
    deck = Presentation(str(out))
    for slide in deck.slides:
        boxes = [s for s in slide.shapes if s.has_text_frame and note in s.text_frame.text]
        assert len(boxes) == 1 and boxes[0].text_frame.word_wrap
        assert boxes[0].top + boxes[0].height <= deck.slide_height


def test_wrapped_lines_keep_english_words_whole_and_closing_marks_on_their_line():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    english = "The counties differ by less than 1.0 percentage points · Classes: Quantiles (equal counts), 3"
    lines = staticmap._lines(fig, english, 0.5, 8)
    assert len(lines) > 2 and " ".join(lines) == english
    chinese = "阵地类型 家事调解工作室、家事纠纷调解工作站、婚调坊、和合之家、婚姻家庭纠纷调解委员会、妇女议事会"
    lines = staticmap._lines(fig, chinese, 0.5, 8)
    assert "".join(lines) == chinese and not any(line[0] in staticmap.NO_LINE_START for line in lines)
