"""Strings from files are inert wherever they are shown: the folium tooltips and legends, the
offline HTML export, the other export formats, and Streamlit's Markdown (the township panel, the
breadcrumbs, captions). The browser proof is tests/test_browser_injection.py."""
import html
import re
from pathlib import Path

import folium
import pytest
from streamlit.testing.v1 import AppTest

import cli
from geo import maps
from i18n import safe
from tests import hostile
from tests.support import place_names

ROOT = Path(__file__).resolve().parent.parent
SQUARE = {"type": "Polygon", "coordinates": [[[119.0, 34.0], [119.1, 34.0], [119.1, 34.1], [119.0, 34.1], [119.0, 34.0]]]}
# What a script needs, as written: none of it may reach a document unescaped.
LIVE = ["<img src=x onerror", "<script>alert", "<svg onload", "<img src=y onerror"]


@pytest.fixture(scope="module")
def hostile_db(demo_db, tmp_path_factory) -> Path:
    return hostile.build(demo_db, tmp_path_factory.mktemp("hostile"))


def _geojson(names):
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"region_code": f"32070390{i}000", "region_name": n, "value": "1"},
         "geometry": SQUARE} for i, n in enumerate(names)]}


def _layer(m):
    return next(c for c in m._children.values() if isinstance(c, folium.GeoJson))


def test_choropleth_tooltip_fields_reach_the_page_escaped():
    geojson = _geojson(hostile.PAYLOADS)
    legend = maps.Legend("t", [("#fff", "a")])
    m = maps.choropleth(geojson, {}, ["region_name", "value"], ["<b>乡镇</b>", "值"], legend)
    shown = [f["properties"]["region_name"] for f in _layer(m).data["features"]]
    # folium's GeoJsonTooltip writes these into innerHTML: they must arrive as HTML text
    assert shown == [html.escape(p) for p in hostile.PAYLOADS]
    assert geojson["features"][0]["properties"]["region_name"] == hostile.PAYLOADS[0], "the caller's data is untouched"
    tooltip = next(c for c in _layer(m)._children.values() if c.__class__.__name__ == "GeoJsonTooltip")
    assert tooltip.aliases == ["&lt;b&gt;乡镇&lt;/b&gt;", "值"]


def test_place_names_reach_the_page_as_data_and_are_set_as_text():
    page = maps.choropleth(_geojson(hostile.PAYLOADS), {}, ["region_name"], ["乡镇"], maps.Legend("t", []),
                           names_toggle=hostile.PAYLOADS[1]).get_root().render()
    assert not any(live in page for live in LIVE), [live for live in LIVE if live in page]
    assert "</script>alert" not in page and page.count("</script>") == page.count("<script")
    # one name per township, each the letters written (escaped once in the page's JSON, no more)
    assert sorted(p["name"] for p in place_names(page)) == sorted(hostile.PAYLOADS)
    assert "text.textContent = item.name" in page and "innerHTML" not in page.split("var items = ")[1].split("})();")[0]


def test_legend_title_rows_and_notes_are_text():
    legend = maps.Legend(hostile.PAYLOADS[1], [("#fff", hostile.ROOM_TYPE)], [hostile.PAYLOADS[0]])
    page = maps.choropleth(_geojson(["镇"]), {}, ["region_name"], ["乡镇"], legend).get_root().render()
    assert not any(live in page for live in LIVE)
    assert html.escape(hostile.ROOM_TYPE) in page and html.escape(hostile.PAYLOADS[1]) in page


def test_offline_html_export_carries_the_payloads_as_text(hostile_db, tmp_path):
    out = tmp_path / "coverage.html"
    assert cli.main(["snapshot", "--view", "coverage", "--region", hostile.COUNTY, "--out", str(out),
                     "--db", str(hostile_db)]) == 0
    page = out.read_text(encoding="utf-8")
    assert not any(live in page for live in LIVE), [live for live in LIVE if live in page]
    # the room type in the legend and the township names in the table below the map, as text
    assert html.escape(hostile.ROOM_TYPE) in page
    assert all(html.escape(p) in page for p in hostile.PAYLOADS)
    names = {p["code"]: p["name"] for p in place_names(page)}  # on the map, as data set as text
    assert [names[code] for code in hostile.TOWNS] == hostile.PAYLOADS


def test_png_draws_a_dollar_name_as_text(tmp_path):
    from export import fonts
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(fonts.rc()):
        fig = Figure()
        label = fig.text(0, 0, r"$\frac{a}{b}$镇")
        fig.savefig(tmp_path / "x.png")  # mathtext would fail on the CJK glyph, or draw a fraction
        assert label.get_text() == r"$\frac{a}{b}$镇"
        assert not matplotlib.rcParams["text.parse_math"]


@pytest.mark.parametrize("value", [
    "[点此领取补贴](https://example.invalid/x)", "<img src=x onerror=alert(1)>", "**粗** _斜_ `码`",
    ":red[红字] :material/home:", "$x^2$", "# 标题", "- 列表", "> 引用", "www.example.invalid", "a\n\n# b",
    "![i](x.png)", "<https://example.invalid>", "a|b|c", "~~删~~",
])
def test_markdown_helper_leaves_no_live_syntax(value):
    out = safe.markdown(value)
    unescaped = re.sub(r"\\.", "", out)  # what is left once every escaped character is taken out
    assert not re.search(r"[\[\]()<>*_`:$|~!\n]", unescaped), out
    assert not re.match(r"[#>+=-]", unescaped), out
    assert "www." not in unescaped and "://" not in unescaped
    # read back (backslash escapes removed) it is the value itself, line breaks aside
    assert re.sub(r"\\(.)", r"\1", out) == re.sub(r"\s+", " ", value)


def test_panel_and_breadcrumbs_show_a_hostile_township_as_text(hostile_db, monkeypatch):
    monkeypatch.setenv("ATLAS_DB", str(hostile_db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params.update(town=hostile.TOWNS[0])
    at.run()
    assert not at.exception, at.exception
    subheaders = [s.value for s in at.subheader]
    assert safe.markdown(hostile.PAYLOADS[0]) in subheaders, subheaders
    assert hostile.PAYLOADS[0] not in " ".join(subheaders)
    crumbs = [b.label for b in at.button if b.key and b.key.startswith("crumb-")]
    assert safe.markdown(hostile.PAYLOADS[0]) in crumbs and hostile.PAYLOADS[0] not in crumbs


def test_a_link_in_the_url_is_dropped_and_shown_as_plain_text(app_env):
    bait = "[点此领取补贴](https://example.invalid/x)"
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params.update(period=bait, rtype="<img src=x onerror=alert(1)>")
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["period"] != bait  # not a known period: dropped, the default used
    warnings = [w.value for w in at.sidebar.warning]
    notice = next(w for w in warnings if "点此领取补贴" in w)
    assert "](" not in notice and "https://" not in notice  # no Markdown link, no bare autolink
    assert safe.markdown(bait) in notice
    assert not any(re.search(r"(?<!\\)<img", w) for w in warnings), warnings


def test_a_snapshot_shows_its_name_and_filter_notes_as_text(hostile_db, monkeypatch):
    import duckdb

    from export import saved, views
    from queries import indicators

    monkeypatch.setenv("ATLAS_DB", str(hostile_db))
    spec = views.ViewSpec("coverage", hostile.COUNTY, filters=indicators.Filters(room_types=(hostile.ROOM_TYPE,)))
    with duckdb.connect(str(hostile_db)) as con:
        frozen = saved.freeze(con, spec)
        snapshot_id = saved.save(con, hostile.MARKDOWN_NAME, "coverage", {"region": hostile.COUNTY}, frozen)
    at = AppTest.from_file(str(ROOT / "app_pages" / "snapshots.py"), default_timeout=60)
    at.query_params["id"] = str(snapshot_id)
    at.run()
    assert not at.exception, at.exception
    assert [h.value for h in at.header] == [safe.markdown(hostile.MARKDOWN_NAME)]
    notes = [c.value for c in at.caption if "onerror" in c.value]
    assert notes and all(safe.markdown(hostile.ROOM_TYPE) in n for n in notes), notes
