"""Boundary files matched to the register (refs #11, item 9): the name property chosen by its
values, the county outline deciding among townships of one name, --within, townships merged away
since the file was drawn (撤并), and a zipped Shapefile without its .dbf. Every file is built here,
from real township names and polygons cut from the real county outlines or the Beijing fixture."""
import json
import shutil
import zipfile
from pathlib import Path

import duckdb
import geopandas as gpd
import pytest
import shapely
from shapely.geometry import box

import cli
from db import schema
from geo import boundaries as geo_boundaries
from importer import pipeline

pytestmark = pytest.mark.filterwarnings("ignore:'crs' was not provided")


@pytest.fixture(scope="module")
def register_db(tmp_path_factory) -> Path:
    """A new atlas: the schema and the national register, no polygons; tests copy it."""
    path = tmp_path_factory.mktemp("register") / "atlas.duckdb"
    schema.new_database(path)
    return path


@pytest.fixture
def db(register_db, tmp_path) -> Path:
    path = tmp_path / "atlas.duckdb"
    shutil.copy(register_db, path)
    return path


def write_geojson(path: Path, rows: list[tuple[dict, object]]) -> Path:
    features = [{"type": "Feature", "properties": props, "geometry": json.loads(shapely.to_geojson(geom))}
                for props, geom in rows]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def codes(result) -> list[str]:
    return [issue.code for issue in result.errors]


def imported(db: Path) -> dict[str, str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return dict(con.execute("""select b.region_code, r.name from boundaries as b join regions as r
                                   using (region_code) where b.boundary_source = 'imported'""").fetchall())


# --------------------------------------------------------------------------- a Shapefile without its .dbf


def test_zipped_shapefile_without_its_dbf_is_one_clear_error(db, tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    towns = gpd.GeoDataFrame({"乡镇名称": ["阳坊镇", "回龙观街道"], "XZDM": ["110114104000", "110114118000"]},
                             geometry=[box(116.10, 40.10, 116.12, 40.12), box(116.30, 40.05, 116.32, 40.07)],
                             crs="EPSG:4490")
    towns.to_file(folder / "乡镇.shp", encoding="GBK", engine="pyogrio")
    (folder / "乡镇.dbf").unlink()
    path = tmp_path / "乡镇边界.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(folder.iterdir()):
            archive.write(file, file.name)

    result = pipeline.run(path, db)
    assert result.status == "rejected"
    # one whole-file error instead of one "no name and no code" per feature
    assert [(e.code, e.row, e.value) for e in result.errors] == [("missing_dbf", None, "乡镇.dbf")]
    assert ".dbf" in result.errors[0].message and ".dbf" in result.errors[0].expected
    assert result.warnings == [] and result.unmatched == []


# --------------------------------------------------------------------------- polygons with known answers

_OUTLINES: dict[str, object] = {}


def outline(county_code: str):
    if county_code not in _OUTLINES:
        found = geo_boundaries.county_outlines([county_code])
        assert len(found) == 1, county_code
        _OUTLINES[county_code] = found.geometry.iloc[0]
    return _OUTLINES[county_code]


def piece(county_code: str, column: int = 0, row: int = 0, size: float = 0.02):
    """A township-sized piece of a real county: the ``size``-degree cell (column, row) cells away
    from the outline's representative point, clipped to the outline; it lies in that county."""
    shape = outline(county_code)
    p = shape.representative_point()
    cell = box(p.x + column * size, p.y + row * size, p.x + (column + 1) * size, p.y + (row + 1) * size)
    clipped = cell.intersection(shape)
    assert clipped.area > 0.5 * cell.area, "pick a cell inside the county"
    return clipped


CHANGPING = "110114000000"  # 北京市昌平区


# --------------------------------------------------------------------------- the name property


def test_the_name_property_is_the_one_whose_values_match_the_register(db, tmp_path):
    # the names sit under a misspelt key; 乡镇, a key the importer knows, holds the kind of township
    rows = [({"乡镇": "镇", "na me": "阳坊镇"}, piece(CHANGPING, 0, 0)),
            ({"乡镇": "街道", "na me": "回龙观街道"}, piece(CHANGPING, 1, 0)),
            ({"乡镇": "镇", "na me": "小汤山镇"}, piece(CHANGPING, 0, 1))]
    path = write_geojson(tmp_path / "昌平乡镇.geojson", rows)

    result = pipeline.run(path, db)
    assert result.status == "imported", [e.to_json() for e in result.errors]
    assert result.mapping["name"] == "na me"
    chosen = [w for w in result.warnings if w.code == "name_property_chosen"]
    assert [(w.row, w.column, w.value) for w in chosen] == [(None, "na me", "na me")]
    assert "na me 100%" in chosen[0].message and "乡镇 0%" in chosen[0].message
    assert imported(db) == {"110114104000": "阳坊镇", "110114011000": "回龙观街道", "110114110000": "小汤山镇"}


def test_a_name_property_given_by_the_person_is_kept(db, tmp_path):
    rows = [({"乡镇": "阳坊镇", "备注": "小汤山镇"}, piece(CHANGPING, 0, 0))]
    path = write_geojson(tmp_path / "t.geojson", rows)
    # 备注 holds a township name too; the file's 乡镇 is the name and no warning says otherwise
    result = pipeline.run(path, db, dry_run=True)
    assert result.status == "dry_run" and result.mapping["name"] == "乡镇"
    assert [w.code for w in result.warnings] == []
    told = pipeline.run(path, db, mapping={"备注": "name"}, dry_run=True)
    assert told.mapping["name"] == "备注" and [w.code for w in told.warnings] == []
