"""Login sessions that outlive a browser tab: a reload, or a snapshot link opened in a new tab,
keeps the person logged in until they log out or stay idle too long. No streamlit.

The browser holds a random token (32 bytes, in a cookie the app sets); the database holds only its
sha256, the account and the times. ``resume`` accepts a token only while its session has not
ended, has been active within the idle limit, and its account is still enabled; so a token copied
from a browser is worth no more than the session it belongs to.
"""
import hashlib
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from access import accounts
from access.viewer import Viewer
from db import schema

WRITE_WAIT = 10  # seconds: a busy database (an import) must not hold a page for long
TOUCH_SECONDS = 60  # the last-active time is written at most this often (a write per click would
                    # queue behind imports for nothing)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(db: str | Path, name: str) -> str:
    """A new session of account ``name``; returns its token (shown to nobody but the browser)."""
    token = secrets.token_urlsafe(32)
    now = datetime.now()
    with schema.open_waiting(db, read_only=False, wait=WRITE_WAIT) as con:
        with schema.transaction(con, "login session", bump=False):
            con.execute("insert into login_sessions values (?, ?, ?, ?, null)", [_hash(token), name, now, now])
    return token


def resume(con: duckdb.DuckDBPyConnection, token: str | None, idle_minutes: float) -> Viewer | None:
    """The viewer of a live session holding ``token``; None for an unknown, ended or idle one, or
    one whose account is gone or disabled."""
    if not token or not _has_table(con):
        return None
    rows = con.execute("""select user_name, last_active from login_sessions
                          where token_hash = ? and ended_at is null""", [_hash(token)]).fetchall()
    if not rows:
        return None
    name, last_active = rows[0]
    if datetime.now() - last_active > timedelta(minutes=idle_minutes):
        return None
    try:
        return accounts.viewer_for(con, name)
    except ValueError:  # disabled or removed since
        return None


def touch(db: str | Path, token: str) -> None:
    """The session was active now (call at most every TOUCH_SECONDS)."""
    with schema.open_waiting(db, read_only=False, wait=WRITE_WAIT) as con:
        with schema.transaction(con, "login session", bump=False):
            con.execute("update login_sessions set last_active = ? where token_hash = ? and ended_at is null",
                        [datetime.now(), _hash(token)])


def end(db: str | Path, token: str | None) -> None:
    """Logout, expiry: the token opens nothing any more."""
    if not token:
        return
    with schema.open_waiting(db, read_only=False, wait=WRITE_WAIT) as con:
        with schema.transaction(con, "login session", bump=False):
            con.execute("update login_sessions set ended_at = ? where token_hash = ? and ended_at is null",
                        [datetime.now(), _hash(token)])


def _has_table(con) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_name = 'login_sessions'")
                .fetchall()[0][0])
