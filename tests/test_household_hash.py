"""Household ids cannot be worked back: every database keys them with HMAC-SHA256 under its own
random key (db/schema.py), an older database is re-keyed on upgrade so that the same ledger
imported again finds the same households, and the key never leaves the database."""
import csv
import hashlib
import hmac
import shutil
from pathlib import Path

import duckdb
import pytest

import cli
from db import schema
from importer import pipeline

TOWN = "320703001000"  # 墟沟街道 of the demo city
RAW = [f"P{n:04d}" for n in range(1, 6)]
HEADER = ["排查日期", "乡镇区划代码", "户编号", "风险等级"]


def ledger(folder: Path, month: str, ids=RAW) -> Path:
    path = folder / f"screening-{month}.csv"
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows([[f"{month}-05", TOWN, raw, "无"] for raw in ids])
    return path


def stored(db: Path, month: str) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [r[0] for r in con.execute(
            "select household_id from screenings where township_code = ? and strftime(screened_date, '%Y-%m') = ?"
            " order by household_id", [TOWN, month]).fetchall()]


def meta(db: Path, key: str) -> str | None:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("select value from meta where key = ?", [key]).fetchall()
    return rows[0][0] if rows else None


def md5_form(raw: str, salt: str = "") -> str:
    """What older databases stored: md5(salt || '|' || township || '|' || id), enumerable."""
    return hashlib.md5(f"{salt}|{TOWN}|{raw}".encode()).hexdigest()


def hmac_of(db: Path, text: str) -> str:
    return hmac.new(bytes.fromhex(meta(db, schema.HOUSEHOLD_KEY)), text.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def db(demo_db, tmp_path) -> Path:
    path = tmp_path / "atlas.duckdb"
    shutil.copy(demo_db, path)
    return path


def test_stored_id_is_an_hmac_under_the_database_key(db, tmp_path):
    assert pipeline.run(ledger(tmp_path, "2024-03"), db, kind="screening", replace=True).status == "imported"
    got = stored(db, "2024-03")
    salt = meta(db, "household_salt") or ""
    assert not set(got) & {md5_form(r, salt) for r in RAW} and not set(got) & {md5_form(r) for r in RAW}
    assert not set(got) & set(RAW)
    assert got == sorted(hmac_of(db, md5_form(r, salt)) for r in RAW)
    assert len(meta(db, schema.HOUSEHOLD_KEY)) == 64  # 32 random bytes


def test_the_demo_database_has_a_key_and_no_raw_id(demo_db):
    assert meta(demo_db, schema.HOUSEHOLD_KEY)
    with duckdb.connect(str(demo_db), read_only=True) as con:
        shapes = con.execute("select count(*) filter (where not regexp_full_match(household_id, '[0-9a-f]{64}')) "
                             "from screenings").fetchall()[0][0]
    assert shapes == 0


def test_the_same_id_in_two_databases_is_stored_differently(tmp_path):
    ids = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.duckdb"  # a new database each: cli import makes it
        folder = tmp_path / name
        folder.mkdir()
        assert cli.main(["import", str(ledger(folder, "2024-03")), "--kind", "screening", "--db", str(path)]) == 0
        ids.append(stored(path, "2024-03"))
    assert len(ids[0]) == 5 and not set(ids[0]) & set(ids[1])


def make_old(db: Path) -> None:
    """The database as an earlier release left it: no key, March's visits of RAW stored as md5."""
    with duckdb.connect(str(db)) as con:
        con.execute("delete from meta where key in (?, 'household_salt')", [schema.HOUSEHOLD_KEY])
        con.execute("delete from screenings where township_code = ? and screened_date between '2024-03-01' "
                    "and '2024-04-30'", [TOWN])
        for n, raw in enumerate(RAW):
            con.execute("insert into screenings (screening_id, household_id, township_code, screened_date, risk_level)"
                        " values (?, ?, ?, '2024-03-05', '无')", [f"imp-abcdef-{n:020d}", md5_form(raw), TOWN])


def test_upgrade_rekeys_old_ids_and_a_new_import_finds_the_same_households(db, tmp_path):
    make_old(db)
    assert schema.upgrade(db)
    migrated = stored(db, "2024-03")
    assert migrated == sorted(hmac_of(db, md5_form(r)) for r in RAW)
    with duckdb.connect(str(db), read_only=True) as con:
        assert not con.execute("select count(*) from screenings where screening_id like 'imp-abcdef-%'").fetchall()[0][0]
    # April's ledger, same households: counted once over the two months
    assert pipeline.run(ledger(tmp_path, "2024-04"), db, kind="screening", replace=True).status == "imported"
    assert stored(db, "2024-04") == migrated
    with duckdb.connect(str(db), read_only=True) as con:
        distinct = con.execute("select count(distinct household_id) from screenings where township_code = ? and "
                               "screened_date between '2024-03-01' and '2024-04-30'", [TOWN]).fetchall()[0][0]
    assert distinct == 5
    assert not schema.upgrade(db), "re-keyed once: a second upgrade changes nothing"


def test_the_key_never_leaves_the_database(db, tmp_path, capsys):
    assert pipeline.run(ledger(tmp_path, "2024-03"), db, kind="screening", replace=True).status == "imported"
    secrets = [s for s in (meta(db, schema.HOUSEHOLD_KEY), meta(db, "household_salt")) if s]
    out = tmp_path / "out"
    out.mkdir()
    runs = [
        ["indicators", "--db", str(db), "--json", "--level", "township"],
        ["gaps", "--db", str(db), "--json"],
        ["import", str(ledger(tmp_path, "2024-05")), "--kind", "screening", "--db", str(db), "--json", "--replace",
         "--report", str(out / "report.xlsx")],
        ["snapshot", "--view", "overview", "--db", str(db), "--out", str(out / "v.html")],
        ["snapshot", "--all", "--db", str(db), "--out", str(out / "deck.pptx")],
        ["snapshot", "--all", "--db", str(db), "--out", str(out / "brief.docx")],
    ]
    for args in runs:
        assert cli.main(args) == 0, args
    printed = capsys.readouterr()
    files = b"".join(p.read_bytes() for p in out.iterdir())
    for secret in secrets:
        assert secret not in printed.out + printed.err
        assert secret.encode() not in files
        assert bytes.fromhex(secret) not in files
