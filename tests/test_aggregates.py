"""The stored counts (queries/aggregates.py, period_counts) are the counts of the rows: for every
month, quarter and year, after the build, after an import and after its undo; the indicators read
them only while they are of the data's version and unfiltered, and give the same numbers either way.
The demo city is below the size from which counts are stored, so each test lowers it to 0. The
tests that write (``stored``) run on a DuckDB file and again on a DuckLake."""
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from db import schema
from importer import history
from queries import aggregates, indicators, periods, runner
from tests.support import connect
from tests.test_import_files import XUGOU, city_db, run, write_csv  # noqa: F401

YEARS = (2024, 2025)
LEVELS = ("township", "county", "city", "province", "nation")


@pytest.fixture(scope="module")
def stored_once(city_db, tmp_path_factory) -> Path:
    """A copy of the demo city whose counts are stored (as a big atlas's are); never written."""
    path = tmp_path_factory.mktemp("stored") / "stored.duckdb"
    shutil.copy(city_db, path)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aggregates, "AGGREGATE_FROM", 0)
        with duckdb.connect(str(path)) as con, schema.transaction(con, "store the counts"):
            pass
    return path


@pytest.fixture
def stored(stored_once, on_backend, monkeypatch):
    """A copy of ``stored_once`` to write to, kept stored (as a big atlas's is) by every write: a
    file, and again a DuckLake (which stores a refresh's periods in one insert)."""
    monkeypatch.setattr(aggregates, "AGGREGATE_FROM", 0)
    return on_backend(stored_once)


def period_codes() -> list[str]:
    return [code for year in YEARS for code in aggregates._codes(year)]


def stored_against_live(db: Path, codes: list[str]) -> int:
    """Assert that period_counts holds exactly township_counts_live's rows for each period; the
    number of rows compared."""
    compared = 0
    with runner.connect(db) as con:
        runner.define_rules(con)
        for code in codes:
            p = periods.parse(code)
            args = {"s": p.start, "e": p.end}
            live = con.execute("select * from township_counts_live($s, $e, [], []) order by township_code", args).df()
            kept = con.execute("select * exclude (period_start, period_end) from period_counts "
                               "where period_start = $s and period_end = $e order by township_code", args).df()
            pd.testing.assert_frame_equal(kept.reset_index(drop=True), live.reset_index(drop=True),
                                          check_dtype=False, obj=code)
            compared += len(live)
    return compared


def tables(db: Path, level: str, code: str, filters=None) -> pd.DataFrame:
    with connect(db) as con:
        return indicators.table(con, level, code, [""], filters=filters)


def usable(db: Path, **filters) -> bool:
    with connect(db) as con:
        return aggregates.usable(con, **filters)


def test_the_stored_counts_are_the_rows_counts_in_every_period(stored_once):
    assert usable(stored_once)
    assert stored_against_live(stored_once, period_codes()) > 1000  # townships with data, over 34 periods


@pytest.mark.parametrize("level", LEVELS)
def test_the_indicators_read_from_stored_counts_are_the_live_ones(stored_once, city_db, level):
    """Every level, the periods of a year of each kind, and risk levels other than 中/高: the same
    table whether the counts are stored (``stored``) or counted live (``city_db``: none stored)."""
    stored = stored_once
    assert usable(stored) and not usable(city_db)
    for code in ("2025-03", "2025-12", "2024Q2", "2025"):
        for filters in (None, indicators.Filters(risk_levels=("高",)), indicators.Filters(risk_levels=("无", "低"))):
            live, kept = tables(city_db, level, code, filters), tables(stored, level, code, filters)
            assert len(live) > 0
            pd.testing.assert_frame_equal(kept, live, obj=f"{level} {code} {filters}")


def test_filters_that_are_not_stored_are_counted_live(stored_once, city_db):
    stored = stored_once
    """A risk type or a case source narrows what is stored unfiltered: those tables are counted from
    the rows, and equal those of a database with nothing stored."""
    assert not usable(stored, risk_types=("家庭矛盾",)) and not usable(stored, case_sources=("来访",))
    for filters in (indicators.Filters(risk_types=("家庭矛盾",)), indicators.Filters(case_sources=("来访",))):
        pd.testing.assert_frame_equal(tables(stored, "township", "2025Q1", filters),
                                      tables(city_db, "township", "2025Q1", filters))
        assert (tables(stored, "township", "2025Q1", filters) != tables(stored, "township", "2025Q1")).any().any()


def test_counts_of_another_version_are_not_used(stored, city_db):
    """A version bumped without bringing the stored counts along (not the way any write goes, which
    is db/schema.transaction; a crash between the two cannot happen: one transaction) makes the
    indicators count live, the stored rows wrong or not."""
    with connect(stored, read_only=False) as con:
        con.execute("update period_counts set households_screened = households_screened + 1000")
        con.execute("update data_version set version = version + 1")
    assert not usable(stored)
    pd.testing.assert_frame_equal(tables(stored, "township", "2025-06"), tables(city_db, "township", "2025-06"))


def test_an_import_and_its_undo_rebuild_only_the_townships_they_touch(stored, tmp_path, monkeypatch):
    rebuilt = []
    refresh = aggregates.refresh
    monkeypatch.setattr(aggregates, "refresh", lambda con, version, force=False: rebuilt.append(refresh(con, version, force)))
    before = tables(stored, "township", "2024")
    ledger = write_csv(tmp_path / "screenings.csv", [["排查日期", "乡镇", "户编号", "风险等级"]]
                       + [[f"2024-03-{1 + n % 28:02d}", "墟沟街道", f"NEW{n}", "高" if n % 7 == 0 else "无"]
                          for n in range(400)])
    result = run(ledger, stored)
    assert result.status == "imported", result.errors[:3]
    assert rebuilt == [1]  # 墟沟街道 alone
    assert usable(stored)
    stored_against_live(stored, aggregates._codes(2024))
    after = tables(stored, "township", "2024").set_index("region_code")
    assert after.loc[XUGOU, "households_screened"] > before.set_index("region_code").loc[XUGOU, "households_screened"]
    history.undo(stored, result.import_id, user="test")
    assert rebuilt == [1, 1] and usable(stored)
    stored_against_live(stored, period_codes())
    pd.testing.assert_frame_equal(tables(stored, "township", "2024"), before)


def test_many_changed_townships_are_rebuilt_by_county_and_all_by_the_whole(stored):
    assert aggregates._scope(["320703001000"], 100) == ["320703001000"]
    many = [f"3207{c:02d}{t:03d}000" for c in (3, 6, 7) for t in range(1, 12)]
    assert aggregates._scope(many, 1000) == ["320703", "320706", "320707"]
    assert aggregates._scope(many, 40) == [""]


def test_a_small_atlas_stores_nothing(city_db, tmp_path):
    """Below AGGREGATE_FROM rows the counts are counted live; stored ones left from when it was big go."""
    path = tmp_path / "small.duckdb"
    shutil.copy(city_db, path)
    with duckdb.connect(str(path)) as con:
        assert con.execute("select count(*) from screenings").fetchall()[0][0] < aggregates.AGGREGATE_FROM
        aggregates.refresh(con, schema.data_version(con), force=True)
        assert con.execute("select count(*) from period_counts").fetchall()[0][0] > 0
    assert usable(path)
    with duckdb.connect(str(path)) as con, schema.transaction(con, "a write"):
        pass
    assert not usable(path)
    with duckdb.connect(str(path)) as con:
        assert con.execute("select count(*) from period_counts").fetchall()[0][0] == 0


def test_an_upgrade_stores_the_counts_of_a_big_atlas_built_without_them(stored, city_db):
    """A big database from before the counts were stored: the upgrade the app and the CLI run first
    stores them, for the data's version, without bumping it."""
    with connect(stored, read_only=False) as con:
        con.execute("delete from period_counts; delete from period_counts_signs; delete from meta where key = ?",
                    [aggregates.VERSION_KEY])
        version = schema.data_version(con)
    assert not usable(stored)
    assert schema.upgrade(stored) is True
    assert usable(stored)
    with connect(stored) as con:
        assert schema.data_version(con) == version
    stored_against_live(stored, aggregates._codes(2025))
    assert schema.upgrade(stored) is False  # once
