"""A database whose file-borne strings are hostile: the demo city plus a boundary file that adds
three townships named with script payloads, and a rooms ledger whose names and types are payloads
too. Shared by the unit tests of escaping (test_hostile_strings.py) and the browser test."""
import csv
import json
import shutil
from pathlib import Path

import duckdb
import shapely

from importer import pipeline

COUNTY = "320703000000"
NEAR = "320703001000"  # a demo township; the new ones are drawn beside it
# The probe's payloads: each would raise a dialog if any of it ran as HTML.
PAYLOADS = ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>", '"><svg onload=alert(3)>']
TOWNS = [f"3207039{i:02d}000" for i in range(len(PAYLOADS))]
MARKDOWN_NAME = "[x](javascript:alert(4)) **粗** <img src=y onerror=alert(5)>"
ROOM_TYPE = "<img src=y onerror=alert(6)>"


def build(demo_db: Path, folder: Path) -> Path:
    """A copy of ``demo_db`` with the hostile boundary file and rooms ledger imported."""
    db = folder / "hostile.duckdb"
    shutil.copy(demo_db, db)
    with duckdb.connect(str(db), read_only=True) as con:
        near = shapely.from_wkb(con.execute("select geometry from boundaries where region_code = ?",
                                            [NEAR]).fetchone()[0])
    _, y0, x1, _ = near.bounds
    features = [
        {"type": "Feature", "properties": {"code": code, "name": name},
         "geometry": shapely.geometry.mapping(shapely.box(x1 + 0.02 + i * 0.03, y0, x1 + 0.045 + i * 0.03, y0 + 0.025))}
        for i, (code, name) in enumerate(zip(TOWNS, PAYLOADS))
    ]
    boundary = folder / "towns.geojson"
    boundary.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    assert pipeline.run(boundary, db).status == "imported"
    rows = [["阵地编号", "阵地名称", "阵地类型", "乡镇区划代码", "经度", "纬度", "建成日期", "调解员人数"]]
    for i, (code, name) in enumerate(zip(TOWNS, PAYLOADS)):
        # drawn away from the new townships, so no marker (or cluster) covers them on the maps
        rows.append([f"X{i}", name, name, code, near.centroid.x + i * 0.002, near.centroid.y, "2020-01-01", 2])
    rows.append(["X9", MARKDOWN_NAME, ROOM_TYPE, NEAR, (near.bounds[0] + x1) / 2, near.centroid.y, "2020-01-01", 1])
    ledger = folder / "rooms.csv"
    with open(ledger, "w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows(rows)
    assert pipeline.run(ledger, db, kind="rooms", replace=True).status == "imported"
    return db
