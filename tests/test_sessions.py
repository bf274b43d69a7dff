"""Login sessions that outlive a browser tab (access/sessions.py): a live token resumes its
account; an ended, idle, unknown or disabled one resumes nothing; only the token's hash is stored."""
from datetime import datetime, timedelta

import duckdb

from access import accounts, sessions
from tests.test_accounts import PASSWORD, db  # noqa: F401


def _resume(db, token, idle=30):  # noqa: F811
    with duckdb.connect(str(db), read_only=True) as con:
        return sessions.resume(con, token, idle)


def test_a_live_token_resumes_its_account_and_only_its_hash_is_kept(db):  # noqa: F811
    with duckdb.connect(str(db)) as con:
        accounts.add_user(con, "wang", PASSWORD, "analyst", ["320703000000"])
    token = sessions.start(db, "wang")
    viewer = _resume(db, token)
    assert viewer.name == "wang" and viewer.scope == ["320703"]
    with duckdb.connect(str(db), read_only=True) as con:
        stored = con.execute("select token_hash from login_sessions").fetchall()
    assert stored and token not in str(stored)
    assert _resume(db, token + "x") is None and _resume(db, None) is None


def test_logout_idle_time_and_a_disabled_account_end_it(db):  # noqa: F811
    with duckdb.connect(str(db)) as con:
        accounts.add_user(con, "wang", PASSWORD, "analyst", ["320703000000"])
    ended, idle, disabled = (sessions.start(db, "wang") for _ in range(3))
    sessions.end(db, ended)
    assert _resume(db, ended) is None
    with duckdb.connect(str(db)) as con:
        con.execute("update login_sessions set last_active = ? where token_hash = ?",
                    [datetime.now() - timedelta(minutes=31), sessions._hash(idle)])
    assert _resume(db, idle) is None and _resume(db, idle, idle=60) is not None
    sessions.touch(db, idle)
    assert _resume(db, idle) is not None  # active again
    assert _resume(db, disabled) is not None
    with duckdb.connect(str(db)) as con:
        accounts.disable(con, "wang", "root")
    assert _resume(db, disabled) is None
