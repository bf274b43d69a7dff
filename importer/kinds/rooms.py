"""调解阵地台账: one row per mediation room. Replaces the rooms of the townships in the file.

Rooms are keyed by the file's id column when it has one. Without one, two rows are two rooms
unless every column agrees: two rooms of one village may share a name (a warning, both kept).
"""
import hashlib

import numpy as np
import pandas as pd

from importer.kinds.base import FROM_STAGED, VILLAGE_CODE, Chunk, LedgerKind, dates, later_than

CHINA = (73.0, 136.0, 3.0, 54.0)
VALUES = ["name", "room_type", "village", "address", "longitude", "latitude", "opened_date", "closed_date",
          "mediators", "meets_standard"]


def build(chunk: Chunk) -> pd.DataFrame:
    frame = chunk.frame()
    frame["room_id"] = pd.Series(chunk.col("room_id"), dtype="string")
    frame["name"] = pd.Series(chunk.col("name"), dtype="string")
    frame["room_type"] = pd.Series(chunk.col("room_type"), dtype="string")
    frame["village"] = pd.Series(chunk.col("village"), dtype="string")
    frame["address"] = pd.Series(chunk.col("address"), dtype="string")
    frame["longitude"] = pd.array(chunk.col("longitude"), dtype="Float64")
    frame["latitude"] = pd.array(chunk.col("latitude"), dtype="Float64")
    frame["opened_date"] = dates(chunk.col("opened_date"))
    frame["closed_date"] = dates(chunk.col("closed_date"))
    frame["mediators"] = pd.array(chunk.col("mediators"), dtype="Int64")
    frame["meets_standard"] = pd.array(chunk.col("meets_standard"), dtype="boolean")
    _check_coordinates(frame, chunk)
    later_than(frame, "closed_date", "opened_date", chunk, "closed_before_opened")
    frame["has_id"] = frame["room_id"].notna()
    return frame


def checks(con, header_of, context, problems) -> None:
    """Ids for rooms without one (stable across files: from the township and the name, or, where
    one township has two rooms of that name, from every column), and a warning for the pairs."""
    values = lambda alias: ", ".join(f"coalesce(cast({alias}{c} as varchar), '')" for c in VALUES)  # noqa: E731
    con.execute(f"""
        update staged as s set room_id = 'R' || md5(
            case when n.same_name > 1 then concat_ws('|', s.township_code, {values('s.')})
                 else concat_ws('|', s.township_code, s.name) end)[1:12]
        from (select township_code, name, count(distinct concat_ws('|', {values('')})) as same_name
              from staged where not has_id group by all) as n
        where not s.has_id and n.township_code is not distinct from s.township_code
          and n.name is not distinct from s.name
    """)
    pairs = con.execute("""
        with firsts as (  -- one row per room: a repeated row is a duplicate, said elsewhere
            select * from staged qualify row_number() over (partition by room_id order by row_no) = 1
        )
        select b.row_no, b.name, min(a.row_no) from firsts as a join firsts as b
            on a.township_code = b.township_code and a.name = b.name and a.row_no < b.row_no
               and a.room_id <> b.room_id
        group by all order by 1
    """).fetchall()
    for row_no, name, first in pairs:
        problems.add("same_name_room", row_no, header_of.get("name"), name, detail=str(first), severity="warning")


def _check_coordinates(frame: pd.DataFrame, chunk: Chunk) -> None:
    column = chunk.header_of.get("longitude") or chunk.header_of.get("latitude")
    west, east, south, north = CHINA
    for position, (lon, lat) in enumerate(zip(frame["longitude"], frame["latitude"])):
        lon_missing, lat_missing = pd.isna(lon), pd.isna(lat)
        if lon_missing and lat_missing:
            continue
        row = chunk.rows[position]
        if lon_missing or lat_missing:
            chunk.problems.add("half_coordinate", row, column, f"{lon}, {lat}")
            continue
        if west <= lon <= east and south <= lat <= north:
            continue
        if west <= lat <= east and south <= lon <= north:
            chunk.problems.add("swapped_coordinates", row, column, f"{lon}, {lat}", detail=f"{lon}, {lat}")
        else:
            chunk.problems.add("outside_china", row, column, f"{lon}, {lat}", detail=f"{lon}, {lat}")
        frame.loc[frame.index[position], ["longitude", "latitude"]] = [pd.NA, pd.NA]


KIND = LedgerKind(
    name="rooms",
    table="rooms",
    staged={"room_id": "room_id", "name": "name", "room_type": "room_type", "village": "village",
            "address": "address", "longitude": "longitude", "latitude": "latitude",
            "opened_date": "opened_date", "closed_date": "closed_date", "mediators": "mediators",
            "meets_standard": "meets_standard"},
    build=build,
    # rows without an id get one from their content (checks, above): identical rows, one room
    key=("room_id",),
    replaced_where="""t.township_code in (select township_code from stg.staged)
                      or t.room_id in (select room_id from stg.staged)""",
    insert_sql=f"""
        insert into rooms by name
        select s.room_id, s.name, s.room_type, s.township_code, {VILLAGE_CODE} as village_code, s.address,
               s.longitude, s.latitude, s.opened_date, s.closed_date, s.mediators, s.meets_standard,
               $import_id as import_id
        {FROM_STAGED}
    """,
    unit="rooms",
    checks=checks,
)
