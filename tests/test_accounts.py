"""Accounts (issue 14): argon2id hashes, lockout, disabled accounts, regions checked against the
register, and `cli.py user ...`. Each test makes its own database with the national register."""
import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

import cli
from access import accounts, audit
from access.viewer import Viewer
from db import schema

LIANYUNGANG = "320700000000"  # 连云港市
LIANYUN_DISTRICT = "320703000000"  # 连云区
XUGOU = "320703001000"  # 墟沟街道
PASSWORD = "correct horse 1"


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "atlas.duckdb"
    schema.new_database(path)
    return path


@pytest.fixture
def con(db):
    with duckdb.connect(str(db)) as con:
        yield con


def hash_of(con, name: str) -> str:
    return con.execute("select password_hash from users where name = ?", [name]).fetchall()[0][0]


def test_the_password_is_stored_as_an_argon2id_hash(con):
    accounts.add_user(con, "ana", PASSWORD, "analyst", [LIANYUN_DISTRICT])
    stored = hash_of(con, "ana")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.authenticate(con, "ana", PASSWORD) == Viewer("ana", "analyst", ("320703",))
    with pytest.raises(accounts.LoginRefused) as refused:
        accounts.authenticate(con, "ana", PASSWORD + "x")
    assert refused.value.reason == "bad"


def test_two_accounts_with_one_password_have_different_hashes(con):
    accounts.add_user(con, "a", PASSWORD, "leader", [XUGOU])
    accounts.add_user(con, "b", PASSWORD, "leader", [XUGOU])
    assert hash_of(con, "a") != hash_of(con, "b")  # salted


def test_an_unknown_name_reads_like_a_wrong_password(con):
    accounts.add_user(con, "ana", PASSWORD, "analyst", [LIANYUN_DISTRICT])
    reasons = []
    for name, password in (("nobody", PASSWORD), ("ana", "wrong password")):
        with pytest.raises(accounts.LoginRefused) as refused:
            accounts.authenticate(con, name, password)
        reasons.append((refused.value.reason, str(refused.value)))
    assert reasons[0] == reasons[1] == ("bad", "bad")


def test_five_failures_lock_the_account_even_against_the_right_password(con):
    accounts.add_user(con, "ana", PASSWORD, "analyst", [LIANYUN_DISTRICT])
    now = datetime(2026, 3, 1, 9, 0)
    for n in range(accounts.MAX_FAILURES):
        with pytest.raises(accounts.LoginRefused) as refused:
            accounts.authenticate(con, "ana", f"guess {n}", now=now)
        assert refused.value.reason == "bad"  # the fifth failure locks, the sixth attempt is told
    for password in ("guess 6", PASSWORD):
        with pytest.raises(accounts.LoginRefused) as refused:
            accounts.authenticate(con, "ana", password, now=now + timedelta(minutes=14))
        assert refused.value.reason == "locked"
        assert refused.value.until == now + timedelta(minutes=accounts.LOCK_MINUTES)
    # 15 minutes on, the right password opens it, and the count starts afresh
    later = now + timedelta(minutes=accounts.LOCK_MINUTES, seconds=1)
    assert accounts.authenticate(con, "ana", PASSWORD, now=later).name == "ana"
    assert con.execute("select failed_logins, locked_until from users").fetchall() == [(0, None)]


def test_a_name_that_is_no_account_locks_the_same_way(con):
    """The lockout message must not tell a guesser which names are accounts."""
    accounts.add_user(con, "ana", PASSWORD, "analyst", [LIANYUN_DISTRICT])
    now = datetime(2026, 3, 1, 9, 0)
    told = {}
    for name in ("ana", "nobody"):
        reasons = []
        for n in range(accounts.MAX_FAILURES + 1):
            with pytest.raises(accounts.LoginRefused) as refused:
                accounts.authenticate(con, name, f"guess {n}", now=now)
            reasons.append((refused.value.reason, refused.value.until))
        told[name] = reasons
    assert told["ana"] == told["nobody"]
    assert told["nobody"][-1] == ("locked", now + timedelta(minutes=accounts.LOCK_MINUTES))
    later = now + timedelta(minutes=accounts.LOCK_MINUTES, seconds=1)
    with pytest.raises(accounts.LoginRefused) as refused:
        accounts.authenticate(con, "nobody", "again", now=later)
    assert refused.value.reason == "bad"  # the lock ran out, as an account's does


def test_a_success_resets_the_failure_count(con):
    accounts.add_user(con, "ana", PASSWORD, "analyst", [LIANYUN_DISTRICT])
    for _ in range(accounts.MAX_FAILURES - 1):
        with pytest.raises(accounts.LoginRefused):
            accounts.authenticate(con, "ana", "nope")
    accounts.authenticate(con, "ana", PASSWORD)
    for _ in range(accounts.MAX_FAILURES - 1):  # four more failures do not lock: the count was reset
        with pytest.raises(accounts.LoginRefused):
            accounts.authenticate(con, "ana", "nope")
    assert accounts.authenticate(con, "ana", PASSWORD).name == "ana"


def test_a_disabled_account_is_refused_with_the_right_password(con):
    accounts.add_user(con, "ana", PASSWORD, "analyst", [LIANYUN_DISTRICT])
    accounts.disable(con, "ana")
    with pytest.raises(accounts.LoginRefused) as refused:
        accounts.authenticate(con, "ana", PASSWORD)
    assert refused.value.reason == "bad"
    with pytest.raises(ValueError, match="disabled"):
        accounts.viewer_for(con, "ana")


def test_set_password_replaces_the_old_one_and_clears_a_lock(con):
    accounts.add_user(con, "ana", PASSWORD, "analyst", [LIANYUN_DISTRICT])
    for _ in range(accounts.MAX_FAILURES):
        with pytest.raises(accounts.LoginRefused):
            accounts.authenticate(con, "ana", "nope")
    accounts.set_password(con, "ana", "a new password")
    assert accounts.authenticate(con, "ana", "a new password").name == "ana"
    with pytest.raises(accounts.LoginRefused):
        accounts.authenticate(con, "ana", PASSWORD)


def test_regions_are_checked_against_the_register_and_stored_as_prefixes(con):
    v = accounts.add_user(con, "a", PASSWORD, "analyst", [XUGOU, LIANYUN_DISTRICT, "320706000000"])
    assert v.regions == ("320703", "320706")  # 墟沟街道 is inside 连云区: it adds nothing
    assert accounts.add_user(con, "b", PASSWORD, "leader", [LIANYUNGANG]).regions == ("3207",)
    assert accounts.add_user(con, "root", PASSWORD, "admin", ["all"]).regions == ("",)
    for regions, why in (([], "at least one"), (["320000000000"], "320000000000"),  # a province
                         (["329999999000"], "329999999000"), (["all"], "only an admin")):
        with pytest.raises(ValueError, match=why):
            accounts.add_user(con, "c", PASSWORD, "analyst", regions)
    with pytest.raises(ValueError, match="unknown role"):
        accounts.add_user(con, "c", PASSWORD, "boss", [XUGOU])
    with pytest.raises(ValueError, match="8 characters"):
        accounts.add_user(con, "c", "short", "leader", [XUGOU])
    with pytest.raises(ValueError, match="exists already"):
        accounts.add_user(con, "a", PASSWORD, "leader", [XUGOU])
    assert accounts.list_users(con)["name"].tolist() == ["a", "b", "root"]


def test_account_writes_do_not_bump_the_data_version(con):
    before = schema.data_version(con)
    accounts.add_user(con, "ana", PASSWORD, "analyst", [LIANYUN_DISTRICT])
    accounts.authenticate(con, "ana", PASSWORD)
    accounts.set_password(con, "ana", "another password")
    accounts.disable(con, "ana")
    assert schema.data_version(con) == before


def test_list_users_never_returns_hashes(con):
    accounts.add_user(con, "ana", PASSWORD, "analyst", [LIANYUN_DISTRICT])
    frame = accounts.list_users(con)
    assert "password_hash" not in frame.columns
    assert not any("$argon2" in str(v) for v in frame.to_numpy().ravel())


def test_has_accounts_and_viewer_for(con):
    assert not accounts.has_accounts(con)
    with pytest.raises(ValueError, match="no account named 'ana'"):
        accounts.viewer_for(con, "ana")
    accounts.add_user(con, "ana", PASSWORD, "leader", [XUGOU])
    assert accounts.has_accounts(con)
    assert accounts.viewer_for(con, "ana") == Viewer("ana", "leader", ("320703001",))


def test_single_sign_on_maps_to_an_account_or_to_none(con):
    accounts.add_user(con, "ana", PASSWORD, "analyst", [LIANYUN_DISTRICT], sso_subject="ana@fulian.example")
    accounts.add_user(con, "bo@fulian.example", PASSWORD, "leader", [XUGOU])
    assert accounts.viewer_for_sso(con, "ana@fulian.example", "sub-1").name == "ana"
    assert accounts.viewer_for_sso(con, "bo@fulian.example", "sub-2").name == "bo@fulian.example"
    assert accounts.viewer_for_sso(con, "eve@elsewhere.example", "sub-3") is None
    accounts.disable(con, "ana")
    assert accounts.viewer_for_sso(con, "ana@fulian.example", "sub-1") is None


def test_an_older_database_gets_the_account_tables(db):
    with duckdb.connect(str(db)) as con:
        con.execute("drop table users")
        con.execute("drop table audit_log")
    assert schema.upgrade(db)
    with duckdb.connect(str(db)) as con:
        assert not accounts.has_accounts(con)
        assert audit.verify(con).ok


# ---- cli.py user ... ---------------------------------------------------------------------------

def user_cli(monkeypatch, capsys, *args, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))  # not a terminal: the password is read from it
    code = cli.main(["user", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_user_add_list_disable_passwd(db, monkeypatch, capsys):
    at = ["--db", str(db)]
    assert user_cli(monkeypatch, capsys, "add", "admin", "--role", "admin", "--region", "all", *at,
                    stdin=PASSWORD + "\n")[0] == 0
    assert user_cli(monkeypatch, capsys, "add", "ana", "--role", "analyst", "--region", LIANYUN_DISTRICT, XUGOU, *at,
                    stdin=PASSWORD + "\n")[0] == 0
    code, out, _ = user_cli(monkeypatch, capsys, "list", "--json", *at)
    listed = {row["name"]: row for row in json.loads(out)}
    assert code == 0 and listed["admin"]["regions"] == "all" and listed["ana"]["regions"] == "320703"
    assert "argon2" not in out and "hash" not in out and PASSWORD not in out
    code, out, _ = user_cli(monkeypatch, capsys, "list", *at)
    assert code == 0 and "ana" in out and "argon2" not in out

    assert user_cli(monkeypatch, capsys, "passwd", "ana", *at, stdin="another password\n")[0] == 0
    with duckdb.connect(str(db)) as con:
        assert accounts.authenticate(con, "ana", "another password").role == "analyst"
    assert user_cli(monkeypatch, capsys, "disable", "ana", *at)[0] == 0
    with duckdb.connect(str(db)) as con:
        with pytest.raises(accounts.LoginRefused):
            accounts.authenticate(con, "ana", "another password")


def test_cli_user_errors_are_usage_errors(db, monkeypatch, capsys):
    at = ["--db", str(db)]
    code, _, err = user_cli(monkeypatch, capsys, "add", "x", "--role", "leader", "--region", "123", *at,
                            stdin=PASSWORD + "\n")
    assert code == 2 and "123" in err
    code, _, err = user_cli(monkeypatch, capsys, "add", "x", "--role", "leader", "--region", XUGOU, *at, stdin="\n")
    assert code == 2 and "8 characters" in err
    code, _, err = user_cli(monkeypatch, capsys, "disable", "nobody", *at)
    assert code == 2 and "no account" in err
    with duckdb.connect(str(db)) as con:
        assert not accounts.has_accounts(con)


def test_cli_indicators_refuses_an_unknown_or_disabled_user(db, monkeypatch, capsys):
    assert cli.main(["indicators", "--db", str(db), "--user", "nobody", "--json"]) == 2
    assert "no account named 'nobody'" in capsys.readouterr().err
    user_cli(monkeypatch, capsys, "add", "ana", "--role", "leader", "--region", XUGOU, "--db", str(db),
             stdin=PASSWORD + "\n")
    user_cli(monkeypatch, capsys, "disable", "ana", "--db", str(db))
    assert cli.main(["gaps", "--db", str(db), "--user", "ana", "--json"]) == 2
    assert "disabled" in capsys.readouterr().err
