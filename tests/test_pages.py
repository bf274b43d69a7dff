"""Every page runs under streamlit.testing AppTest on the demo database, in Chinese and English."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui import text

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["overview", "coverage", "screening", "hotspots"]


def run_page(name: str, **state) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / f"{name}.py"), default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    return at


def all_text(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.caption, *at.markdown, *at.subheader, *at.info, *at.success)]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("name", PAGES)
def test_page_runs_in_chinese_with_boundary_note_and_data_date(app_env, name):
    import duckdb
    with duckdb.connect(str(app_env), read_only=True) as con:
        last = con.execute("""
            select max(d) from (select max(screened_date) as d from screenings
                                union all select max(received_date) from cases
                                union all select max(closed_date) from cases)
        """).fetchall()[0][0]
    at = run_page(name, period="2025-12", region="320700000000")
    assert not at.exception, at.exception
    assert at.title[0].value == text.ZH[f"PAGE_{name.upper()}"]
    body = all_text(at)
    assert f"数据截至 {last.year}年{last.month}月{last.day}日" in body
    assert text.ZH["APPROX_BOUNDARY"] in body


@pytest.mark.parametrize("name", PAGES)
def test_page_runs_for_a_county_a_quarter_and_a_year_in_english(app_env, name):
    for period in ("2024Q2", "2025"):
        at = run_page(name, period=period, region="320722000000", lang="en")
        assert not at.exception, at.exception
        assert at.title[0].value == text.EN[f"PAGE_{name.upper()}"]
        assert "东海县" in all_text(at)


def test_overview_cards_show_city_figures_and_change(app_env):
    at = run_page("overview", period="2025-12", region="320700000000")
    labels = [m.label for m in at.metric]
    assert labels == ["阵地覆盖率", "本年累计排查完成率", "风险发现率", "调处成功率"]
    assert all(m.value.endswith(("%", "‰")) for m in at.metric)
    assert all(m.delta for m in at.metric)  # 2025-11 has data, so every card has a change
    # screening is 本年累计: its card says what December added, not the change from November
    assert at.metric[1].delta.startswith("本月新增 ") and at.metric[1].delta.endswith("个百分点")


def test_coverage_lists_townships_without_rooms(app_env, demo_db):
    import duckdb
    with duckdb.connect(str(demo_db), read_only=True) as con:
        expected = con.execute("""
            select count(*) from regions as r
            where r.in_atlas and not exists (
                select 1 from rooms as m where m.township_code = r.region_code
                and m.opened_date <= date '2025-12-31' and (m.closed_date is null or m.closed_date >= date '2025-12-01'))
        """).fetchall()[0][0]
    at = run_page("coverage", period="2025-12", region="320700000000")
    assert not at.exception
    assert expected > 0
    assert at.subheader[0].value == text.ZH["GAPS_TITLE"]
    assert text.ZH["GAPS_TOWNSHIPS"].format(n=expected) in all_text(at)
    gaps = at.dataframe[0].value
    assert (gaps["类别"] == "乡镇无阵地").sum() == expected


def test_coverage_radius_lists_villages_beyond_it(app_env):
    at = run_page("coverage", period="2025-12", region="320722000000", coverage_radius=2)
    assert not at.exception, at.exception
    kinds = set(at.dataframe[0].value["类别"])
    assert "超出服务半径" in kinds
    assert any(b.label == "下载 Excel" for b in at.get("download_button"))


def test_screening_laggards_are_ranked_by_pace(app_env):
    at = run_page("screening", period="2025-06", region="320700000000")
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert len(table) == 90 and table["排名"].iloc[0] == 1
    paces = [float(v.rstrip("%")) for v in table["进度比"]]
    assert paces == sorted(paces)
    assert {s.split(" · ")[0] for s in table["进度状态"]} <= {"红", "黄", "绿"}


def test_app_smoke_builds_sidebar_and_navigation(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["period"] == "2025-12"  # latest complete month with data
    assert at.session_state["region"] == "320700000000"
    assert [s.label for s in at.sidebar.selectbox] == ["统计期", "区域", "乡镇（街道）", "分级方法"]
    assert [m.label for m in at.sidebar.multiselect] == ["阵地类型", "计为风险户的风险等级", "风险类型", "案件来源"]


def test_app_builds_the_demo_on_first_start(tmp_path, monkeypatch):
    target = tmp_path / "fresh" / "atlas.duckdb"
    monkeypatch.setenv("ATLAS_DB", str(target))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    assert target.exists()
    assert at.status[0].label == text.ZH["BUILD_DONE"]


def test_hotspots_page_shows_classes_and_computes_them_once(app_env, monkeypatch):
    """The hotspot statistics run once per (measure, period, region, filters, data version): a
    rerun (a widget touched elsewhere, a pan) reuses them."""
    from geo import risk

    calls = []
    real = risk.table

    def counting(*args, **kwargs):
        calls.append(args[1:3])
        return real(*args, **kwargs)

    monkeypatch.setattr(risk, "table", counting)
    at = run_page("hotspots", period="2024Q3", region="320722000000")  # a view no other test caches
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert set(table["分类"]) <= {"热点", "冷点", "高–低异常", "低–高异常", "不显著", "—"}
    # a smoothed rate hidden with its small count (indicators/suppress.py) sorts last
    shown = [v for v in table["平滑后比率"] if v not in ("—", "—（数值较小）")]
    smoothed = [float(v.rstrip("‰")) for v in shown]
    assert len(table) == 15 and list(table["平滑后比率"][:len(shown)]) == shown
    assert smoothed == sorted(smoothed, reverse=True)
    assert len(calls) == 1
    at.run()
    at.radio(key="hotspot_show").set_value("classes").run()
    assert not at.exception, at.exception
    assert len(calls) == 1  # reruns and a different map of the same statistics: no new computation
    at.radio(key="hotspot_of").set_value("cases").run()
    assert len(calls) == 2


HOT_PERIOD = "2024-03"  # at the test scale the city has hot spots this month (tests/test_export.py)
JARGON = ("Gi*", "Moran", "FDR", "p=", "z-", "z ", "Z")


def drawn_maps(monkeypatch) -> list[dict]:
    """Every map the page draws, as maps.choropleth receives it (the real function still draws)."""
    from geo import maps

    seen = []
    real = maps.choropleth

    def spy(geojson, colour_of, fields, labels, legend, **options):
        seen.append({"geojson": geojson, "colour_of": dict(colour_of), "fields": fields, "labels": labels,
                     "legend": legend, **options})
        return real(geojson, colour_of, fields, labels, legend, **options)

    monkeypatch.setattr(maps, "choropleth", spy)
    return seen


def test_hotspots_default_map_is_the_smoothed_rate_with_hot_and_cold_outlined(app_env, monkeypatch):
    """The default display: the smoothed rate's classes as colours, thick outlines on exactly the
    significant hot and cold townships; tooltips say 显著/不显著 and no statistic; and the default
    export of the same view draws the same colours and outlines."""
    import duckdb

    from export import views
    from geo import hotspots, maps

    seen = drawn_maps(monkeypatch)
    at = run_page("hotspots", period=HOT_PERIOD, region="320700000000")
    assert not at.exception, at.exception
    assert at.radio(key="hotspot_show").value == "smoothed"
    assert [o for o in at.radio(key="hotspot_show").options] == ["平滑比率（默认）", "仅热点分类"]
    drawn = seen[-1]
    with duckdb.connect(str(app_env), read_only=True) as con:
        export = views.build_view(con, views.ViewSpec("hotspots", "320700000000", HOT_PERIOD))
    stats = export.hotspots
    rated = stats[[not fmt_absent(r) for r in stats["rate"]]]
    hot_cold = set(rated.loc[rated["hotspot_class"].isin(["hot", "cold"]), "region_code"])
    assert len(hot_cold) >= 2  # the month has some, so the checks below see outlines
    assert set(drawn["outline_of"]) == hot_cold
    assert {c: hotspots.OUTLINE_COLOURS[k] for c, k in zip(rated["region_code"], rated["hotspot_class"])
            if k in ("hot", "cold")} == drawn["outline_of"]
    assert set(drawn["mark_of"].values()) <= {"热点", "冷点"} and set(drawn["mark_of"]) == hot_cold
    # colours: the smoothed rate's ramp (Reds), the hidden style or grey, never a class colour
    assert set(drawn["colour_of"].values()) <= {*maps.PALETTES["Reds"], maps.SMALL_COLOUR}
    assert not set(drawn["colour_of"].values()) & set(hotspots.CLASS_COLOURS.values())
    hidden = {c for c, v in zip(stats["region_code"], stats["rate_smoothed"]) if is_hidden(v)}
    assert hidden and all(drawn["colour_of"][c] == maps.SMALL_COLOUR for c in hidden)
    # the export of the default view is the screen: same fills, same outlines, same legend
    assert export.shading.colour_of == drawn["colour_of"]
    assert export.shading.outline_of == drawn["outline_of"]
    assert [label for _, label in drawn["legend"].outlines] == [r.label for r in export.shading.outline_rows]
    # tooltips: plain words
    labels = drawn["labels"]
    assert labels[1:] == ["连片检验", "平滑后比率", "本乡镇风险发现率（未平滑）"]
    tests = {f["properties"]["region_code"]: f["properties"][drawn["fields"][1]] for f in drawn["geojson"]["features"]}
    assert {tests[c] for c in hot_cold} <= {"显著：热点", "显著：冷点"}
    assert "不显著" in tests.values()
    shown = " ".join([*labels, *(str(f["properties"].get(k, "")) for f in drawn["geojson"]["features"]
                                 for k in drawn["fields"]), drawn["legend"].title, *drawn["legend"].notes,
                      *(label for _, label in drawn["legend"].rows), *(label for _, label in drawn["legend"].outlines)])
    for jargon in JARGON:
        assert jargon not in shown, jargon
    assert text.ZH["HOTSPOT_COUNTY_NOTE"] not in all_text(at)  # the city's own test: no notice

    # the other display: colours by class, no outline
    at.radio(key="hotspot_show").set_value("classes").run()
    assert not at.exception, at.exception
    drawn = seen[-1]
    assert not drawn["outline_of"] and not drawn["mark_of"]
    assert set(drawn["colour_of"].values()) <= set(hotspots.CLASS_COLOURS.values())
    assert drawn["labels"][1:] == ["连片检验", "平滑后比率", "本乡镇风险发现率（未平滑）"]
    with duckdb.connect(str(app_env), read_only=True) as con:
        export = views.build_view(con, views.ViewSpec("hotspots", "320700000000", HOT_PERIOD, hotspot_show="classes"))
    assert export.shading.colour_of == drawn["colour_of"] and not export.shading.outline_of


def fmt_absent(value) -> bool:
    from indicators import fmt

    return fmt.absent(value)


def is_hidden(value) -> bool:
    from indicators import suppress

    return suppress.is_hidden(value)


def test_hotspots_in_a_county_say_they_were_recomputed_there(app_env, monkeypatch):
    seen = drawn_maps(monkeypatch)
    at = run_page("hotspots", period=HOT_PERIOD, region="320722000000")
    assert not at.exception, at.exception
    assert text.ZH["HOTSPOT_COUNTY_NOTE"] == "热点按本县范围重新计算，与全市视图可能不同。"
    assert text.ZH["HOTSPOT_COUNTY_NOTE"] in [c.value for c in at.caption]
    county = {f["properties"]["region_code"] for f in seen[-1]["geojson"]["features"]}
    assert county and all(c.startswith("320722") for c in county)
    en = run_page("hotspots", period=HOT_PERIOD, region="320722000000", lang="en")
    assert not en.exception, en.exception
    assert text.EN["HOTSPOT_COUNTY_NOTE"] in [c.value for c in en.caption]


def test_no_text_key_is_written_twice():
    """A key written twice in i18n/text.py silently keeps the last text (two features once shared
    IMPORT_DUPLICATES, and a heading read "重复的表头" under repeated rows)."""
    import ast

    tree = ast.parse((ROOT / "i18n" / "text.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
            assert sorted({k for k in keys if keys.count(k) > 1}) == []
    # English alone has singulars (KEY_one, for n == 1): Chinese says 1 个 like any number
    assert set(text.ZH) == {k for k in text.EN if not (k.endswith("_one") and k[:-4] in text.EN)}


def test_the_panel_s_room_list_obeys_the_room_type_filter_as_its_count_does(app_env):
    import duckdb

    with duckdb.connect(str(app_env), read_only=True) as con:
        rows = con.execute("""
            select township_code, room_type, count(*) from rooms
            where (opened_date is null or opened_date <= '2025-12-31')
                and (closed_date is null or closed_date >= '2025-12-01')
            group by all order by 1, 2""").fetchall()
    by_town: dict = {}
    for code, kind, n in rows:
        by_town.setdefault(code, []).append((kind, n))
    town, kinds = next((c, k) for c, k in by_town.items() if len(k) > 1)
    kind, n_kind = kinds[0]
    at = run_page("overview", period="2025-12", region="320700000000", town=town, f_room_types=[kind])
    assert not at.exception, at.exception
    body = all_text(at)
    assert text.ZH["PANEL_ROOMS"].format(n=n_kind) in body            # the list: that type only
    assert text.ZH["PANEL_ROOMS"].format(n=sum(n for _k, n in kinds)) not in body


def test_export_panel_says_which_filters_the_files_carry(app_env):
    from ui import state

    plain = run_page("overview", period="2025-12", region="320700000000")
    assert text.ZH["EXPORT_FILTERS_ALL"] in [c.value for c in plain.caption]
    high = run_page("overview", period="2025-12", region="320700000000", **{state.KEYS["level"]: ["高"]})
    assert not high.exception, high.exception
    assert text.ZH["EXPORT_FILTERS_ON"].format(filters="筛选条件：计为风险户的风险等级 高") in [c.value for c in high.caption]


def test_choosing_cases_on_the_hotspots_page_is_what_its_exports_show(app_env, monkeypatch):
    """地图指标 set to 每万户受理纠纷: the export buttons' view spec (ui/exporting.view_spec) carries
    the measure, and the view it builds maps what the page maps (the same colours), not the risk rate."""
    import duckdb

    from export import views
    from indicators import fmt
    from ui import exporting

    specs = []
    real = exporting.view_spec

    def spy(view_name):
        specs.append(real(view_name))
        return specs[-1]

    monkeypatch.setattr(exporting, "view_spec", spy)
    seen = drawn_maps(monkeypatch)
    at = run_page("hotspots", period=HOT_PERIOD, region="320700000000")
    assert not at.exception, at.exception
    assert specs[-1].hotspot_of == "risk" and specs[-1].view == "hotspots"
    assert at.radio(key="hotspot_of").options == [fmt.label("risk_rate_per_1000", "zh", short=True),
                                                  fmt.label("cases_per_10k", "zh", short=True)]
    at.radio(key="hotspot_of").set_value("cases").run()
    assert not at.exception, at.exception
    spec = specs[-1]
    assert spec.hotspot_of == "cases" and spec.hotspot_show == "smoothed"
    with duckdb.connect(str(app_env), read_only=True) as con:
        export = views.build_view(con, spec)
    drawn = seen[-1]
    assert export.code == "cases_per_10k" and export.shading.colour_of == drawn["colour_of"]
    assert export.shading.title == drawn["legend"].title == "平滑后每万户受理纠纷"
    # and with the other display too: both page choices reach the export
    at.radio(key="hotspot_show").set_value("classes").run()
    assert not at.exception, at.exception
    assert (specs[-1].hotspot_of, specs[-1].hotspot_show) == ("cases", "classes")


def test_the_panels_trend_starts_at_the_first_month_with_data(app_env):
    """24 months back from June 2025 is July 2023; the demo's data begin in January 2024: the
    chart shows no half-year of nothing before them."""
    import json

    import duckdb

    with duckdb.connect(str(app_env), read_only=True) as con:
        first = con.execute("""select least((select min(screened_date) from screenings where township_code = ?),
                                            (select min(received_date) from cases where township_code = ?))""",
                            ["320722101000"] * 2).fetchall()[0][0]
    at = run_page("screening", period="2025-06", region="320722000000", town="320722101000")
    assert not at.exception, at.exception
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    months = sorted(x for trace in chart["data"] for x in trace["x"])
    assert months[0][:7] == f"{first:%Y-%m}" and months[-1][:7] == "2025-06"
