"""Map playback (issue 15): the months of a year on one set of breaks, hidden cells without a class.

indicators/legend.playback makes every month's classes and colours; geo/maps carries them to the
browser. Here: the classes of every month come from the same breaks (computed once over all the
months), a hidden value gets the small-numbers neutral and no class, the legend's ranges stay and
its counts follow the month, and the months played run from January to the last month with data.
"""
from datetime import date

import duckdb
import numpy as np
import pytest

from geo import classify, maps
from i18n import text
from indicators import legend, suppress
from queries import indicators

CODE = "screening_rate"
DRAWN = [f"3207{i:02d}000000" for i in range(1, 13)]


def months_of(values: list[list[float | None]]) -> dict[str, dict]:
    return {f"2025-{m + 1:02d}": dict(zip(DRAWN, row)) for m, row in enumerate(values)}


def test_every_month_is_classed_on_the_same_breaks_from_all_months():
    # January low everywhere, March high everywhere: each month's own quantiles would paint both
    # months from palest to darkest; locked over the year, January is pale and March dark
    jan = [0.01 + 0.001 * i for i in range(12)]
    feb = [0.05 + 0.002 * i for i in range(12)]
    mar = [0.10 + 0.01 * i for i in range(12)]
    play = legend.playback(months_of([jan, feb, mar]), DRAWN, CODE, "zh", text.t)

    pooled_breaks = legend.classes_for(np.array(jan + feb + mar), CODE, "2025-01",
                                       history=[np.array(jan), np.array(feb), np.array(mar)]).breaks
    assert play.classes.breaks == pooled_breaks
    assert [f.period for f in play.frames] == ["2025-01", "2025-02", "2025-03"]
    for frame, values in zip(play.frames, (jan, feb, mar)):
        for region, v in zip(DRAWN, values):
            assert frame.cls[region] == classify.class_index(v, play.classes.breaks)
            assert frame.colour_of[region] == play.colours[frame.cls[region]]
    # January in the lowest classes, March in the highest: what one month's own quantiles would hide
    assert max(play.frames[0].cls.values()) < min(play.frames[2].cls.values())
    assert 0 in play.frames[0].cls.values() and play.classes.k - 1 in play.frames[2].cls.values()
    # a month's own breaks would have spread January over every class
    own = legend.classes_for(np.array(jan), CODE, "2025-01")
    assert len({own.class_of(v) for v in jan}) > 1
    # the legend: the same ranges each month, this month's counts, and the note says it is locked
    ranges = [r.split("（")[0] for r in play.frames[0].rows]
    assert all([r.split("（")[0] for r in f.rows] == ranges for f in play.frames)
    jan_in_first = sum(1 for c in play.frames[0].cls.values() if c == 0)
    assert play.frames[0].rows[0].endswith(f"（{text.t('LEGEND_TOWNSHIPS', 'zh', n=jan_in_first)}）")
    assert play.frames[2].rows[0].endswith(f"（{text.t('LEGEND_TOWNSHIPS', 'zh', n=0)}）")
    assert "按全年统一分级" in play.note
    assert play.frames[2].label == "2025年3月"


def test_hidden_cells_carry_no_class_and_no_class_colour():
    hidden = suppress.Hidden(suppress.RATE)
    jan = [0.01 * (i + 1) for i in range(12)]
    feb = [hidden if i in (0, 11) else 0.01 * (i + 1) for i in range(12)]  # the lowest and the highest hidden
    mar = [None] * 12                                                       # a month without data
    play = legend.playback(months_of([jan, feb, mar]), DRAWN, CODE, "zh", text.t)

    feb_frame, mar_frame = play.frames[1], play.frames[2]
    for region in (DRAWN[0], DRAWN[11]):
        assert region not in feb_frame.cls
        assert feb_frame.colour_of[region] == maps.SMALL_COLOUR
        assert feb_frame.colour_of[region] not in play.colours
    assert len(feb_frame.cls) == 10
    assert feb_frame.rows[-2].startswith("数值较小，不显示（2 ")
    # a month without data: no class, no colour (grey), and it says so
    assert mar_frame.cls == {} and mar_frame.colour_of == {} and not mar_frame.has_data
    assert mar_frame.rows[-1].startswith("无数据（12 ")
    # every month's legend has the same rows: the classes, 数值较小, 无数据
    assert len({len(f.rows) for f in play.frames}) == 1
    assert play.row_colours[-2:] == [maps.SMALL_COLOUR, maps.MISSING_COLOUR]


def test_few_regions_get_few_classes_over_the_year():
    # six counties over twelve months: the class count follows the six regions, not 72 values
    six = DRAWN[:6]
    values = {f"2025-{m:02d}": {r: 0.02 * (i + 1) + 0.001 * m for i, r in enumerate(six)} for m in range(1, 13)}
    play = legend.playback(values, six, CODE, "zh", text.t, counted="LEGEND_COUNTIES")
    assert play.classes.k == classify.fewer(legend.K, 6, legend.FEW)


def test_months_played_run_from_january_to_the_last_month_with_data():
    assert legend.playback_months("2025-06", date(2025, 12, 31)) == [f"2025-{m:02d}" for m in range(1, 13)]
    assert legend.playback_months("2025-06", date(2025, 8, 15)) == [f"2025-{m:02d}" for m in range(1, 9)]
    assert legend.playback_months("2025Q1", date(2026, 2, 1))[-1] == "2025-12"
    assert legend.playback_months("2024", date(2025, 3, 1)) == [f"2024-{m:02d}" for m in range(1, 13)]


def test_the_demo_years_hidden_rates_carry_no_class(demo_db):
    """On the pages' own query (suppression applied per month, as each month shows on screen):
    every township whose risk rate is hidden in a month is drawn in the neutral, with no class."""
    code = "risk_rate_per_1000"
    with duckdb.connect(str(demo_db), read_only=True) as con:
        months = legend.playback_months("2025-06", date(2025, 12, 31))
        tables = {m: indicators.shown(con, "township", m, indicators.EVERYTHING).set_index("region_code")
                  for m in months}
    drawn = list(tables[months[0]].index)
    play = legend.playback({m: dict(zip(v.index, v[code])) for m, v in tables.items()}, drawn, code, "zh", text.t)
    hidden_seen = 0
    for frame in play.frames:
        for region, v in tables[frame.period][code].items():
            if suppress.is_hidden(v):
                hidden_seen += 1
                assert region not in frame.cls
                assert frame.colour_of[region] == maps.SMALL_COLOUR
            elif v == v:  # a number shown: its class on the year's breaks
                assert frame.cls[region] == classify.class_index(float(v), play.classes.breaks)
    assert hidden_seen, "the demo year should hide some townships' risk rates"


def test_the_map_carries_the_months_and_no_remote_script():
    geojson = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"region_code": r, "region_name": "<b>镇</b>", "value": "1%"},
         "geometry": {"type": "Polygon", "coordinates": [[[119 + i * 0.1, 34], [119.1 + i * 0.1, 34],
                                                          [119.1 + i * 0.1, 34.1], [119 + i * 0.1, 34]]]}}
        for i, r in enumerate(DRAWN[:2])]}
    frames = [{"period": "2025-01", "label": "2025年1月", "empty": False, "fill": {DRAWN[0]: "#111111"},
               "tips": {DRAWN[0]: {"value": "<script>x</script>"}}, "rows": [("#111111", "a")]}]
    data = maps.playback_data(frames, 0, {"play": "播放", "pause": "暂停", "month": "月份", "nodata": "无数据"},
                              ["region_name", "value"])
    assert data["frames"][0]["tips"][DRAWN[0]]["value"] == "&lt;script&gt;x&lt;/script&gt;"
    m = maps.choropleth(geojson, {DRAWN[0]: "#111111"}, ["region_name", "value"], ["乡镇", "值"],
                        maps.Legend("t", [("#111111", "a")]), playback=data)
    html = m.get_root().render()
    assert "atlas-playback" in html and "\\u64ad\\u653e" in html  # 播放, in the script's JSON
    assert "<script>x</script>" not in html
    assert "d3.min.js" not in html and "d3.js" not in html  # not folium's TimeSliderChoropleth (d3 from a CDN)


@pytest.mark.parametrize("name, state", [
    ("overview", {}),
    ("coverage", {}),
    ("screening", {"screening_show": "rate"}),
    ("screening", {"screening_show": "status"}),
])
def test_every_page_with_a_period_offers_playback_and_draws_it(app_env, name, state):
    """The 按月播放 switch is on each of these views; switched on, the page runs and its map
    carries the playback bar and the months of the chosen quarter's year, up to the last with data."""
    from streamlit.testing.v1 import AppTest

    from tests.test_pages import ROOT

    at = AppTest.from_file(str(ROOT / "app_pages" / f"{name}.py"), default_timeout=120)
    for key, value in {"period": "2025Q2", "region": "320722000000", **state}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    toggle = at.toggle(key=f"{name}_play")
    assert toggle.label == text.ZH["PLAYBACK_TOGGLE"] and not toggle.value
    toggle.set_value(True).run()
    assert not at.exception, at.exception
    html = " ".join(str(c.proto) for c in at.get("iframe") + at.get("component_instance"))
    assert "atlas-playback" in html
    assert "2025-12" in html and "2025-01" in html and "2026-01" not in html


def test_a_year_to_date_rate_plays_against_the_years_yardsticks():
    """本年累计 grows month by month: classed on January's yardstick (a twelfth of the year's
    targets) every later month would sit in the top class; on the year's, the map fills up."""
    from indicators import registry

    months = [[(m + 1) / 12 * (0.7 + 0.02 * i) for i in range(12)] for m in range(12)]
    play = legend.playback(months_of(months), DRAWN, "screening_rate_ytd", "zh", text.t, scheme="fixed")
    assert tuple(play.classes.breaks)[:3] == tuple(registry.thresholds("screening_rate_ytd", "year", 12))[:3]
    assert max(play.frames[0].cls.values()) == 0  # January: everyone at the start
    assert min(play.frames[11].cls.values()) > 0  # December: the whole year's work shows
