"""geo/: map shapes, class breaks, folium maps that need nothing from the internet."""
import json
import re

import folium
import geopandas as gpd
import mapclassify
import numpy as np
import pytest
import shapely
from shapely.geometry import box

from geo import boundaries, maps, offline, shapes
from tests.support import place_names

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//(?!localhost|127\.0\.0\.1)""", re.I)


def two_squares() -> gpd.GeoDataFrame:
    # two touching squares whose shared edge wiggles through 99 vertices (a few tens of metres)
    right = shapely.Polygon([(1.0, 0.0), (2, 0), (2, 1), (1.0, 1.0), *[(1.0 + 0.0004 * np.sin(y), y / 100) for y in range(99, 0, -1)]])
    left = shapely.Polygon([(0, 0), (1.0, 0.0), *[(1.0 + 0.0004 * np.sin(y), y / 100) for y in range(1, 100)], (1.0, 1.0), (0, 1)])
    return gpd.GeoDataFrame({"region_code": ["a", "b"]}, geometry=[left, right], crs="EPSG:4326")


def test_for_view_keeps_shared_edges_shared_and_rounds_coordinates():
    frame = two_squares()
    out = shapes.for_view(frame, "city")
    assert len(out) == 2
    coords = shapely.get_coordinates(out.geometry.to_numpy())
    assert np.allclose(coords, np.round(coords, 4))
    a, b = out.geometry
    assert a.intersection(b).area < 1e-12  # no overlap
    gap = box(0, 0, 2, 1).difference(shapely.union_all([a, b])).area
    assert gap < 1e-9  # no sliver opened between neighbours
    assert shapely.get_num_coordinates(a) < shapely.get_num_coordinates(frame.geometry[0])


def test_for_view_rejects_missing_crs_and_bad_view():
    frame = two_squares()
    with pytest.raises(ValueError, match="no CRS"):
        shapes.for_view(frame.set_crs(None, allow_override=True), "city")
    with pytest.raises(ValueError, match="bad view"):
        shapes.for_view(frame, "street")


def test_geojson_carries_only_asked_properties_and_bounds():
    frame = two_squares().assign(secret="H1", region_name=["甲", "乙"])
    text = shapes.to_geojson(frame, ["region_code", "region_name"])
    data = json.loads(text)
    assert [f["properties"] for f in data["features"]] == [{"region_code": "a", "region_name": "甲"},
                                                           {"region_code": "b", "region_name": "乙"}]
    assert "H1" not in text
    assert shapes.bounds(data) == [[0.0, 0.0], [1.0, 2.0]]


def test_class_breaks_are_mapclassify_quantiles_ignoring_missing():
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, None, float("nan")]
    expected = mapclassify.Quantiles(np.arange(1, 11), k=5).bins.tolist()
    assert maps.class_breaks(values) == expected
    assert maps.class_breaks([None, float("nan")]) == []
    assert maps.class_breaks([0.2, 0.2, 0.5]) == [0.2, 0.5]  # few distinct values: one class each


def test_class_of_upper_bounds_inclusive_and_missing_is_none():
    breaks = [2.0, 4.0, 10.0]
    assert [maps.class_of(v, breaks) for v in (0, 2, 2.5, 4, 9, 10, 11)] == [0, 0, 1, 1, 2, 2, 2]
    assert maps.class_of(None, breaks) is None
    assert maps.class_of(float("nan"), breaks) is None


def test_choropleth_has_no_tiles_a_legend_and_nothing_external(tmp_path):
    frame = two_squares().assign(region_name=["甲镇", "乙镇"], label=["10.0%", "—"])
    geojson = json.loads(shapes.to_geojson(frame, ["region_code", "region_name", "label"]))
    legend = maps.Legend("覆盖率", [("#08519c", "0.0% – 10.0%（1 个乡镇）"), (maps.MISSING_COLOUR, "无数据（1 个乡镇）")],
                         notes=["示意边界", "数据截至 2025年12月31日"])
    m = maps.choropleth(geojson, {"a": "#08519c"}, ["region_name", "label"], ["乡镇", "覆盖率"], legend)
    offline.prepare_static(tmp_path)
    offline.localize(m, base_url="/app/static/vendor")
    html = m.get_root().render()
    assert not EXTERNAL.findall(html), EXTERNAL.findall(html)[:3]
    assert "L.tileLayer" not in html
    for needle in ("覆盖率", "示意边界", "数据截至 2025年12月31日", maps.MISSING_COLOUR):
        assert needle in html
    assert "甲镇" in html or json.dumps("甲镇")[1:-1] in html  # the GeoJSON may be ASCII-escaped
    assert (tmp_path / "vendor" / "leaflet" / "leaflet.js").exists()


def test_outlined_townships_get_a_thick_border_raised_on_top_and_a_text_label(tmp_path):
    frame = two_squares().assign(region_name=["甲镇", "乙镇"])
    geojson = json.loads(shapes.to_geojson(frame, ["region_code", "region_name"]))
    legend = maps.Legend("平滑后风险发现率", [("#fee5d9", "12‰ – 20‰（2 个乡镇）")], outlines=[("#67000d", "深红粗框：热点（1 个乡镇）")])
    m = maps.choropleth(geojson, {"a": "#fee5d9", "b": "#fee5d9"}, ["region_name"], ["乡镇"], legend,
                        outline_of={"a": "#67000d"}, mark_of={"a": "热点<b>"})
    layer = next(c for c in m._children.values() if isinstance(c, folium.GeoJson))
    styles = {f["properties"]["region_code"]: layer.style_function(f) for f in geojson["features"]}
    assert styles["a"]["color"] == "#67000d" and styles["a"]["weight"] == maps.OUTLINE_WEIGHT
    assert styles["b"]["color"] == "#ffffff" and styles["b"]["weight"] == 1
    offline.prepare_static(tmp_path)
    offline.localize(m, base_url="/app/static/vendor")
    html = m.get_root().render()
    assert not EXTERNAL.findall(html)
    assert 'var raised = ["a"]' in html and "bringToFront" in html  # a neighbour cannot paint over it
    escaped = json.dumps("热点&lt;b&gt;").replace("&", "\\u0026")[1:-1]  # folium writes the icon as JSON
    assert escaped in html and "\\u003cb\\u003e" not in html  # the label is text, never HTML
    assert html.count('"atlas-mark-icon"') == 1 and "深红粗框：热点（1 个乡镇）" in html
    lat, lon = maps.label_point(geojson["features"][0]["geometry"])
    assert shapely.Point(lon, lat).within(frame.geometry[0])


def test_localize_refuses_online_tiles():
    m = folium.Map(tiles="OpenStreetMap")
    with pytest.raises(ValueError):
        offline.localize(m)


def test_voronoi_partition_gives_each_seed_its_own_piece():
    outline = box(0, 0, 10, 10)
    seeds = np.array([[2.0, 2.0], [8.0, 2.0], [5.0, 8.0]])
    pieces = boundaries.voronoi_partition(outline, seeds)
    assert len(pieces) == 3
    for piece, (x, y) in zip(pieces, seeds):
        assert piece.contains(shapely.Point(x, y))
    assert abs(sum(p.area for p in pieces) - 100) < 1e-9


def test_random_points_are_inside_and_reproducible():
    poly = shapely.Polygon([(0, 0), (4, 0), (0, 4)])
    a = boundaries.random_points_in(poly, 50, np.random.default_rng(5))
    b = boundaries.random_points_in(poly, 50, np.random.default_rng(5))
    assert np.array_equal(a, b) and len(a) == 50
    assert shapely.contains_xy(poly, a[:, 0], a[:, 1]).all()


def test_room_points_gather_into_clusters_served_offline():
    import folium.plugins

    from geo import maps, offline

    square = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"region_code": "1"},
              "geometry": {"type": "Polygon", "coordinates": [[[119, 34], [119.1, 34], [119.1, 34.1], [119, 34]]]}}]}
    legend = maps.Legend("t", [])
    points = [{"lat": 34.05, "lon": 119.05, "kind": "婚调坊", "tooltip": "a"},
              {"lat": 34.051, "lon": 119.051, "kind": "和合之家", "tooltip": "b"}]
    m = maps.add_points(maps.choropleth(square, {}, ["region_code"], ["c"], legend), points, maps.ROOM_COLOURS)
    clusters = [c for c in m._children.values() if isinstance(c, folium.plugins.MarkerCluster)]
    assert len(clusters) == 1 and clusters[0].options["disableClusteringAtZoom"] == 13
    offline.localize(m, base_url="static")
    html = m.get_root().render()
    assert "markerClusterGroup" in html and "leaflet.markercluster.js" in html
    assert "https://" not in html.replace("https://leafletjs.com", "")  # only Leaflet's attribution link
    flat = maps.add_points(maps.choropleth(square, {}, ["region_code"], ["c"], legend), points,
                           maps.ROOM_COLOURS, cluster=False)
    assert not any(isinstance(c, folium.plugins.MarkerCluster) for c in flat._children.values())


def test_label_point_lies_inside_a_concave_region_where_its_centroid_does_not():
    # a U, 3 × 3 with a 1 × 2 notch from the top: the centroid (1.5, 1.3) falls in the notch
    u = shapely.Polygon([(0, 0), (3, 0), (3, 3), (2, 3), (2, 1), (1, 1), (1, 3), (0, 3)])
    assert not u.contains(u.centroid)
    # a multipolygon whose small island comes first: the name goes on the big part
    island = shapely.MultiPolygon([box(10, 0, 10.1, 0.1), box(5, 0, 7, 2)])
    geojson = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"region_code": code, "region_name": name},
         "geometry": shapely.geometry.mapping(geom)}
        for code, name, geom in [("u", "乙镇", u), ("i", "甲镇", island), ("s", "丙乡", box(20, 0, 20.5, 0.5))]]}
    got = shapes.label_points(geojson)
    assert [p["code"] for p in got] == ["u", "i", "s"]  # largest first: 7, then the island's 4 (not 4.01), then 0.25
    by_code = {p["code"]: p for p in got}
    assert u.contains(shapely.Point(by_code["u"]["lon"], by_code["u"]["lat"]))
    assert by_code["u"]["lat"] < 1  # in the U's base, the widest place, not up an arm
    assert box(5, 0, 7, 2).contains(shapely.Point(by_code["i"]["lon"], by_code["i"]["lat"]))
    assert by_code["i"]["bounds"] == [[0.0, 5.0], [2.0, 10.1]]
    assert abs(by_code["s"]["lon"] - 20.25) < 0.01 and abs(by_code["s"]["lat"] - 0.25) < 0.01
    assert [p["name"] for p in got] == ["乙镇", "甲镇", "丙乡"]


def test_choropleth_names_each_region_once_and_can_leave_names_out():
    frame = two_squares().assign(region_name=["甲镇", "乙镇"])
    geojson = json.loads(shapes.to_geojson(frame, ["region_code", "region_name"]))
    legend = maps.Legend("覆盖率", [])
    page = maps.choropleth(geojson, {}, ["region_name"], ["乡镇"], legend, names_toggle="地名").get_root().render()
    names = place_names(page)
    assert sorted((p["code"], p["name"]) for p in names) == [("a", "甲镇"), ("b", "乙镇")]
    for p in names:  # each at a point of its own square
        assert frame.set_index("region_code").geometry[p["code"]].contains(shapely.Point(p["lon"], p["lat"]))
    assert ".atlas-name-text" in page and "pointer-events: none" in page
    assert 'var toggleText = "\\u5730\\u540d"' in page or 'var toggleText = "地名"' in page
    plain = maps.choropleth(geojson, {}, ["region_name"], ["乡镇"], legend, names=False).get_root().render()
    assert "var items = " not in plain
