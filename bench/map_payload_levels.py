"""What each map level sends, before and after simplifying for the extent (issue 16's budgets).

    python bench/map_payload_levels.py --db PATH [--city 320700000000] [--province 32]

PATH is a national demo database (``cli.py demo --scale national``). For a city's townships and
counties, a province's counties and townships, and every county of the database, it prints the
GeoJSON's bytes, the bytes of the whole map page (``maps.choropleth``: shapes, tooltips, legend,
place names) and of that page as Streamlit sends it (``json.dumps``, ASCII-escaped), with
``shapes.for_view(…, "city")`` (the fixed tolerance used before) and with ``shapes.map_geojson``
(about a pixel of the map fitted to the region), against the budget, and whether the map draws on
a canvas. Counties come from their outlines in ``boundaries``; a city's counties are dissolved from
its townships, as the page does.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from geo import boundaries, maps, shapes  # noqa: E402

KB = 1024
TOWN_PROPS = ["region_code", "region_name", "county_code", "boundary_source"]
COUNTY_PROPS = ["region_code", "region_name", "boundary_source"]


def towns(con, prefix: str):
    rows = con.execute("""
        select r.region_code, r.name as region_name, r.county_code, b.boundary_source, b.geometry
        from regions r join boundaries b using (region_code)
        where r.level = 'township' and r.region_code like ? order by 1""", [prefix + "%"]).df()
    return boundaries.from_rows(rows)


def counties(con, prefix: str):
    rows = con.execute("""
        select r.region_code, r.name as region_name, b.boundary_source, b.geometry
        from regions r join boundaries b using (region_code)
        where r.level = 'county' and r.region_code like ? order by 1""", [prefix + "%"]).df()
    return boundaries.from_rows(rows)


def page_bytes(text: str) -> tuple[int, int, bool]:
    data = json.loads(text)
    for f in data["features"]:
        f["properties"]["value"] = "12.3%"
    colour_of = {f["properties"]["region_code"]: "#3182bd" for f in data["features"]}
    m = maps.choropleth(data, colour_of, ["region_name", "value"], ["名称", "值"],
                        maps.Legend("指标", [("#3182bd", "x")]))
    html = m.get_root().render()
    return len(html.encode()), len(json.dumps(html)), '"preferCanvas": true' in html


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--city", default="320700000000")
    parser.add_argument("--province", default="32")
    args = parser.parse_args(argv)
    city = args.city[:4]
    with duckdb.connect(args.db, read_only=True) as con:
        cases = [
            ("city townships", lambda: towns(con, city), TOWN_PROPS, 300),
            ("city counties", lambda: shapes.dissolve(towns(con, city), "county_code", {}), COUNTY_PROPS, 300),
            ("province counties", lambda: counties(con, args.province), COUNTY_PROPS, 1024),
            ("province townships", lambda: towns(con, args.province), TOWN_PROPS, 2048),
            ("national counties", lambda: counties(con, ""), COUNTY_PROPS, 2048),
        ]
        print(f"{'map':20} {'shapes':>6} | {'before: geojson':>15} {'page':>7} {'sent':>7} | "
              f"{'after: geojson':>14} {'page':>7} {'sent':>7} {'canvas':>6} {'build s':>7} | budget")
        for name, get, props, budget in cases:
            frame = get()
            if frame.empty:
                print(f"{name:20} {0:>6} | (no shapes)")
                continue
            old = shapes.to_geojson(shapes.for_view(frame, "city"), props)
            started = time.perf_counter()
            new = shapes.map_geojson(frame, props)
            seconds = time.perf_counter() - started
            old_page, old_sent, _ = page_bytes(old)
            new_page, new_sent, canvas = page_bytes(new)
            ok = "ok" if new_sent <= budget * KB else "OVER"
            print(f"{name:20} {len(frame):>6} | {len(old.encode()) / KB:>12.0f} KB {old_page / KB:>7.0f} "
                  f"{old_sent / KB:>7.0f} | {len(new.encode()) / KB:>11.0f} KB {new_page / KB:>7.0f} "
                  f"{new_sent / KB:>7.0f} {'yes' if canvas else 'no':>6} {seconds:>7.1f} | "
                  f"{budget} KB {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
