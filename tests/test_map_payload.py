"""What a map is sent: only its regions, simplified to about a pixel of its extent (neighbours still
meet), coordinates no finer than the zoom needs; a canvas instead of SVG for thousands of shapes.
Budgets (issue 16): a province's ~1,500 townships and China's ~2,900 counties each ≤ 2 MB."""
import json

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import boundaries, maps, shapes
from tests.support import beijing_files

MB = 1024 * 1024
ALBERS = boundaries.CHINA_ALBERS


def beijing() -> gpd.GeoDataFrame:
    frames = [gpd.read_file(path) for path in beijing_files()]
    frame = pd.concat(frames, ignore_index=True)
    frame = gpd.GeoDataFrame({"region_code": frame["code"].astype(str), "region_name": frame["Name"]},
                             geometry=shapely.make_valid(frame.geometry.to_numpy()), crs="EPSG:4326")
    assert len(frame) == 343
    return frame


def areas(geoms) -> tuple[float, float]:
    """(sum of the areas, area of the union) in km², equal-area."""
    projected = gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs(ALBERS)
    return float(projected.area.sum()) / 1e6, float(projected.union_all().area) / 1e6


def test_beijing_townships_still_meet_their_neighbours_after_simplification():
    frame = beijing()
    text = shapes.map_geojson(frame, ["region_code", "region_name"])
    data = json.loads(text)
    assert sorted(f["properties"]["region_code"] for f in data["features"]) == sorted(frame["region_code"])
    after = shapely.from_geojson([json.dumps(f["geometry"]) for f in data["features"]])
    assert shapely.is_valid(after).all() and not shapely.is_empty(after).any()
    # simplified: far fewer points
    assert shapely.get_num_coordinates(after).sum() < shapely.get_num_coordinates(frame.geometry.to_numpy()).sum() / 4

    total_before, union_before = areas(frame.geometry.to_numpy())
    total_after, union_after = areas(after)
    overlap_before, overlap_after = total_before - union_before, total_after - union_after
    # Beijing's 16 410 km² keep their outline, and no overlap or gap opens between neighbours:
    # overlaps (sum of areas − union) grow by under 0.05 % of the city, the union changes < 0.5 %
    assert abs(union_after - union_before) / union_before < 0.005
    assert overlap_after - overlap_before < 0.0005 * union_before

    # every pair of neighbours that shared a border still shares it (a line, not a point or a gap)
    before = frame.geometry.to_numpy()
    tree = shapely.STRtree(before)
    left, right = tree.query(before, predicate="intersects")
    pairs = [(i, j) for i, j in zip(left, right) if i < j
             and shapely.length(shapely.intersection(shapely.boundary(before[i]), shapely.boundary(before[j]))) > 0.005]
    assert len(pairs) > 500
    kept = sum(1 for i, j in pairs
               if shapely.length(shapely.intersection(shapely.boundary(after[i]), shapely.boundary(after[j]))) > 0)
    assert kept == len(pairs)


def test_coordinates_have_the_decimals_the_extent_needs():
    frame = beijing()
    # the whole city fitted to the map: 4 decimals (~10 m) are below a pixel (~150 m)
    city = json.loads(shapes.map_geojson(frame, ["region_code"]))
    coords = np.array([c for f in city["features"] for c in shapely.get_coordinates(
        shapely.from_geojson(json.dumps(f["geometry"])))])
    assert np.allclose(coords, np.round(coords, 4))
    assert not np.allclose(coords, np.round(coords, 3))
    # one district's extent (东城区, a few km across): regions outside it are not sent, and a
    # pixel is a few metres, so coordinates keep 5 decimals
    dongcheng = frame[frame["region_code"].str.startswith("110101")]
    extent = shapes.extent_of(dongcheng)
    near = json.loads(shapes.map_geojson(frame, ["region_code"], extent=extent))
    assert 0 < len(near["features"]) < 60
    assert set(dongcheng["region_code"]) <= {f["properties"]["region_code"] for f in near["features"]}
    assert shapes.grid_for(shapes.pixel_degrees(extent)) <= 1e-5


def test_pixel_degrees_follows_the_extent():
    # China fitted to a 1000 × 560 map: a pixel is several kilometres; a city ~100 m; a county ~20 m
    china = shapes.pixel_degrees((73.5, 18.0, 135.1, 53.6))
    city = shapes.pixel_degrees((118.6, 34.0, 119.8, 35.1))
    county = shapes.pixel_degrees((119.2, 34.5, 119.4, 34.7))
    assert 0.04 < china < 0.1 and 0.0008 < city < 0.003 and county < city / 4
    assert shapes.grid_for(china) == pytest.approx(1e-3) and shapes.grid_for(city) == pytest.approx(1e-4)


def wiggly_province(n: int = 1500, seed: int = 16) -> gpd.GeoDataFrame:
    """~n townships covering Jiangsu's real outline (Voronoi cells, as the demo makes them), whose
    edges wiggle like surveyed boundaries: a vertex every ~100 m, each moved by a smooth field of
    its position (±50 m, every ~2 km), so both sides of a shared edge move alike and neighbours still meet."""
    cities = boundaries.outline_features("city")
    outline = shapely.union_all(cities[cities["gb"].str.startswith("32")].geometry.to_numpy())
    rng = np.random.default_rng(seed)
    seeds = boundaries.random_points_in(outline, n, rng)
    cells = boundaries.voronoi_partition(outline, seeds)
    cells = shapely.segmentize(np.array(cells, dtype=object), 0.001)

    def wiggle(xy):
        x, y = xy[:, 0], xy[:, 1]
        return xy + 0.0005 * np.column_stack([np.sin(x * 300 + y * 170), np.cos(x * 230 - y * 280)])

    cells = shapely.make_valid(shapely.transform(cells, wiggle))
    return gpd.GeoDataFrame({"region_code": [f"32{i:010d}" for i in range(n)],
                             "region_name": [f"某某镇{i}" for i in range(n)],
                             "county_code": [f"32{i // 15:04d}000000" for i in range(n)],
                             "boundary_source": "approximate"}, geometry=cells, crs="EPSG:4326")


def test_a_provinces_townships_weigh_under_2_mb():
    frame = wiggly_province()
    assert shapely.get_num_coordinates(frame.geometry.to_numpy()).sum() > 300_000  # ~ real detail
    text = shapes.map_geojson(frame, ["region_code", "region_name", "county_code", "boundary_source"])
    data = json.loads(text)
    assert len(data["features"]) == len(frame)
    assert len(text.encode()) < 2 * MB
    # and what the page sends: the whole map's HTML, with tooltips, legend and names
    html = _map_html(data)
    assert len(html.encode()) < 2 * MB
    total_before, union_before = areas(frame.geometry.to_numpy())
    after = shapely.from_geojson([json.dumps(f["geometry"]) for f in data["features"]])
    total_after, union_after = areas(after)
    assert abs((total_after - union_after) - (total_before - union_before)) < 0.001 * union_before


def test_chinas_counties_weigh_under_2_mb():
    counties = boundaries.outline_features("district").rename(columns={"gb": "region_code", "name": "region_name"})
    assert len(counties) > 2800
    text = shapes.map_geojson(counties, ["region_code", "region_name"])
    data = json.loads(text)
    assert len(data["features"]) == len(counties)
    assert len(text.encode()) < 2 * MB
    assert len(_map_html(data).encode()) < 2 * MB


def _map_html(data: dict) -> str:
    for f in data["features"]:
        f["properties"]["value"] = "12.3%"
    colour_of = {f["properties"]["region_code"]: "#3182bd" for f in data["features"]}
    m = maps.choropleth(data, colour_of, ["region_name", "value"], ["名称", "值"],
                        maps.Legend("覆盖率", [("#3182bd", "x")]))
    return m.get_root().render()


def squares(n: int) -> dict:
    side = int(np.ceil(np.sqrt(n)))
    features = [{"type": "Feature", "properties": {"region_code": str(i), "region_name": str(i)},
                 "geometry": shapely.geometry.mapping(shapely.box(i % side, i // side, i % side + 1, i // side + 1))}
                for i in range(n)]
    return {"type": "FeatureCollection", "features": features}


def test_canvas_renderer_above_five_thousand_paths():
    def prefers_canvas(n):
        m = maps.choropleth(squares(n), {}, ["region_name"], ["名称"], maps.Legend("t", []), names=False)
        html = m.get_root().render()
        assert html.count('"preferCanvas"') == 1
        return '"preferCanvas": true' in html

    assert not prefers_canvas(maps.CANVAS_PATHS)
    assert prefers_canvas(maps.CANVAS_PATHS + 1)
    assert isinstance(maps.base_map(squares(3), canvas=True), folium.Map)
    assert '"preferCanvas": true' in maps.base_map(squares(3), canvas=True).get_root().render()


def test_the_shapes_are_written_compact_and_still_html_safe():
    data = squares(2)
    data["features"][0]["properties"]["region_name"] = "</script><script>alert(1)</script>"
    html = maps.choropleth(data, {}, ["region_name"], ["名称"], maps.Legend("t", [])).get_root().render()
    assert '"coordinates":[[[1.0,0.0],[1.0,1.0]' in html  # no space after a comma or a colon
    assert "</script><script>alert(1)" not in html
    # only while the layer is rendered: folium's other JSON is written as before
    assert '"preferCanvas": false' in html
    assert folium.GeoJson._template.environment.policies["json.dumps_kwargs"] == {"sort_keys": True}
