"""A bureau's township boundary file into the atlas: matched to the register by code, else by
name; townships the register lacks are added from the file (they need a code); the imported
lines replace the demo's approximate ones, so the 示意边界 note goes for those townships."""
from dataclasses import dataclass, field

import pandas as pd
import shapely

from geo import boundary_files, names
from importer.pipeline import Unmatched, connect_for_read  # pipeline imports this module lazily


@dataclass
class BoundaryPlan:
    rows: pd.DataFrame                      # region_code, name, county_code, city_code, province_code, is_new, geometry (WKB)
    source_note: str
    new_counties: pd.DataFrame
    aliases: list = field(default_factory=list)
    remember_mapping: tuple | None = None
    options: dict | None = None

    def count_replaced(self, db) -> int:
        with connect_for_read(db) as con:
            con.register("incoming", self.rows[["region_code"]])
            try:
                return int(con.execute("select count(*) from boundaries where region_code in "
                                       "(select region_code from incoming)").fetchall()[0][0])
            finally:
                con.unregister("incoming")

    def commit(self, con) -> None:
        con.register("incoming", self.rows)
        con.register("incoming_counties", self.new_counties)
        try:
            con.execute("""
                insert into regions (region_code, name, level, parent_code, province_code, city_code, county_code)
                select region_code, name, 'county', province_code, province_code, city_code, region_code
                from incoming_counties
                where region_code not in (select region_code from regions)
            """)
            con.execute("""
                insert into regions (region_code, name, level, parent_code, province_code, city_code, county_code, in_atlas)
                select region_code, name, 'township', county_code, province_code, city_code, county_code, true
                from incoming where is_new and region_code not in (select region_code from regions)
            """)
            con.execute("update regions set in_atlas = true where region_code in (select region_code from incoming)")
            con.execute("delete from boundaries where region_code in (select region_code from incoming)")
            con.execute("insert into boundaries select region_code, 'imported', ?, geometry from incoming",
                        [self.source_note])
        finally:
            con.unregister("incoming")
            con.unregister("incoming_counties")


def _is_township_code(code: str) -> bool:
    return len(code) == 12 and code.isdigit() and code[6:9] != "000" and code[9:] == "000"


def stage(path, name, context, result, problems, matches: dict, boundary_fields: dict, progress):
    progress(0.1, "read")
    found = boundary_files.read_boundaries(
        path, name_field=boundary_fields.get("name"), code_field=boundary_fields.get("code"),
        county_field=boundary_fields.get("county"), layer=boundary_fields.get("layer"),
        name_score=None if boundary_fields.get("name") else _name_score(context.towns))
    result.mapping = {k: v for k, v in (("name", found.name_field), ("code", found.code_field),
                                        ("county", found.county_field)) if v}
    result.headers = list(found.properties)
    result.encoding = found.encoding
    result.sheet = found.layer
    for p in found.warnings:
        problems.add(p.code, p.row, p.column, p.value, detail=p.detail, severity="warning")
    for p in found.problems:
        problems.add(p.code, p.row, p.column, p.value, detail=p.detail)
    frame = found.frame
    result.rows = len(frame) + sum(1 for p in found.problems if p.row is not None)
    if frame.empty:
        return None
    progress(0.5, "match")
    matcher = context.matcher()
    known = set(context.towns["region_code"])
    by_code = context.towns.set_index("region_code")
    levels_county = set(context.counties["region_code"])
    confirmed = {names.clean(k): v for k, v in matches.items() if v}
    out, new_counties, aliases = [], {}, []
    unmatched = {}
    name_column = found.name_field or found.code_field
    for row in frame.itertuples():
        code, written, county = row.code, row.name, row.county
        county_text = None if county is None else str(county)
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
        if written and names.clean(written) in confirmed and confirmed[names.clean(written)] in known:
            chosen = confirmed[names.clean(written)]
            aliases.append((names.clean(written), matcher.county_code(county_text) or "", chosen))
            out.append(_known(by_code, chosen, row.geometry))
            continue
        match = matcher.match(written, code, county_text)
        if match.code:
            if match.note == "code_name_conflict":
                problems.add("code_name_conflict", row.feature_no, name_column, written, severity="warning")
            out.append(_known(by_code, match.code, row.geometry))
            continue
        key = (written, county_text)
        if not code and match.problem == "unmatched" and not match.candidates:
            problems.add("no_code_new_township", row.feature_no, name_column, written)
            continue
        entry = unmatched.setdefault(key, Unmatched(
            written, county_text, code, match.problem or "unmatched", [], 0,
            [{"code": c.code, "name": c.name, "county_name": c.county_name, "score": c.score}
             for c in match.candidates]))
        entry.count += 1
        entry.rows.append(int(row.feature_no))
    result.unmatched = list(unmatched.values())
    for u in result.unmatched:
        detail = "；".join(f"{c['name']}（{c['county_name']}，{c['code']}）" for c in u.candidates[:3])
        problems.add(u.problem, u.rows[0], name_column, u.name,
                     detail=("：可能是 " + detail) if detail and u.problem == "unmatched" else detail)
    rows = pd.DataFrame(out, columns=["region_code", "name", "county_code", "city_code", "province_code",
                                      "is_new", "geometry"])
    dup = rows["region_code"].duplicated(keep="first")
    for position in rows.index[dup]:
        problems.add("duplicate_code", None, found.code_field or name_column, rows.at[position, "region_code"])
    rows["geometry"] = shapely.to_wkb(rows["geometry"].to_numpy()) if len(rows) else []
    result.accepted = len(rows)
    result.townships = int(rows["region_code"].nunique())
    counties = pd.DataFrame(
        [(c, n, c[:2] + "0000000000", c[:4] + "00000000") for c, n in new_counties.items()],
        columns=["region_code", "name", "province_code", "city_code"])
    return BoundaryPlan(rows, f"导入：{name}", counties, aliases)


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
