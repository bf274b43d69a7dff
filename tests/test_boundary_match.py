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
