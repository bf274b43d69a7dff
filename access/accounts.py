"""Local accounts: who may log in, in which role, for which regions. No streamlit.

Passwords are stored as argon2id hashes (argon2-cffi), never as written. Five failed logins in a
row lock an account for 15 minutes; a locked or disabled account is refused even with the right
password. Accounts are not ledger data: writing them does not bump the data version. Every change
and every login is written to the audit log (access/audit.py) in the same transaction.

Regions are given as 12-digit codes of a city, county or township of the register and stored as
code prefixes (queries.indicators.region_prefix); ``ALL`` (everything, stored as '') is for admins.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from access import audit
from access.viewer import ROLES, Viewer
from db import schema

ALL = "all"                 # --region all: every region (admins only)
MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 8
WRITE_WAIT = 30
LIST_COLUMNS = ["name", "role", "regions", "disabled", "locked_until", "failed_logins", "created_at",
                "password_changed_at", "sso_subject"]

_hasher = PasswordHasher()  # argon2id, the library's recommended parameters
# verified against for an unknown name, so a wrong name takes as long as a wrong password
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class LoginRefused(Exception):
    """authenticate() said no. ``reason``: "bad" (unknown name, wrong password or disabled: the
    same to the person logging in), "locked" (``until`` says when it opens again)."""

    def __init__(self, reason: str, until: datetime | None = None):
        super().__init__(reason if until is None else f"{reason} until {until:%Y-%m-%d %H:%M}")
        self.reason, self.until = reason, until


def has_accounts(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any account exists (none: the app runs in demo mode)."""
    if not _has_table(con):
        return False
    return con.execute("select count(*) from users").fetchall()[0][0] > 0


def _has_table(con) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_name = 'users'")
                .fetchall()[0][0])


def regions_of(con: duckdb.DuckDBPyConnection, codes, role: str) -> tuple[str, ...]:
    """The code prefixes for ``codes`` (12-digit codes of a city, county or township in the register,
    or ``ALL`` for an admin). Raises ValueError naming every code that is not one."""
    codes = [str(c).strip() for c in codes if str(c).strip()]
    if not codes:
        raise ValueError(f"give at least one region: a city, county or township code, or {ALL!r} (admins)")
    if ALL in codes:
        if role != "admin":
            raise ValueError(f"only an admin may have every region ({ALL!r}); give city, county or township codes")
        return ("",)
    from queries.indicators import region_prefix

    known = dict(con.execute("select region_code, level from regions where region_code in (select unnest(?))",
                             [codes]).fetchall())
    bad = [c for c in codes if known.get(c) not in ("city", "county", "township")]
    if bad:
        raise ValueError(f"not a city, county or township code of the register: {', '.join(bad)}")
    prefixes = sorted({region_prefix(c) for c in codes})
    # a county inside a city already given adds nothing
    return tuple(p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes))


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")


def _row(con, name: str):
    found = con.execute("""select name, password_hash, role, regions, disabled, failed_logins, locked_until
                           from users where name = ?""", [name]).fetchall()
    return found[0] if found else None


def add_user(con: duckdb.DuckDBPyConnection, name: str, password: str, role: str, regions,
             actor: Viewer | str = "cli", sso_subject: str | None = None) -> Viewer:
    """Create an account (``con`` writable). Raises ValueError for a taken name, a bad role, region
    or short password; nothing is written then."""
    name = (name or "").strip()
    if not name:
        raise ValueError("an account needs a name")
    _check_role(role)
    _check_password(password)
    prefixes = regions_of(con, regions, role)
    if _row(con, name) is not None:
        raise ValueError(f"an account named {name!r} exists already")
    now = datetime.now()
    with audit.LOCK, schema.transaction(con, "user add", bump=False):
        con.execute("""insert into users (name, password_hash, role, regions, disabled, failed_logins,
                                          created_at, password_changed_at, sso_subject)
                       values (?, ?, ?, ?, false, 0, ?, ?, ?)""",
                    [name, _hasher.hash(password), role, list(prefixes), now, now, sso_subject or None])
        audit.append(con, actor, "user_add", {"name": name, "role": role, "regions": list(prefixes),
                                              "sso_subject": sso_subject})
    return Viewer(name, role, prefixes)


def set_password(con: duckdb.DuckDBPyConnection, name: str, password: str, actor: Viewer | str = "cli") -> None:
    """A new password; the failure count and any lock are cleared."""
    _check_password(password)
    if _row(con, name) is None:
        raise ValueError(f"no account named {name!r}")
    with audit.LOCK, schema.transaction(con, "user passwd", bump=False):
        con.execute("""update users set password_hash = ?, password_changed_at = ?, failed_logins = 0,
                       locked_until = null where name = ?""", [_hasher.hash(password), datetime.now(), name])
        audit.append(con, actor, "user_passwd", {"name": name})


def disable(con: duckdb.DuckDBPyConnection, name: str, actor: Viewer | str = "cli") -> None:
    """The account can no longer log in (its rows in the audit log stay)."""
    if _row(con, name) is None:
        raise ValueError(f"no account named {name!r}")
    with audit.LOCK, schema.transaction(con, "user disable", bump=False):
        con.execute("update users set disabled = true where name = ?", [name])
        audit.append(con, actor, "user_disable", {"name": name})


def list_users(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every account (LIST_COLUMNS): never the password hashes."""
    if not _has_table(con):
        return pd.DataFrame(columns=LIST_COLUMNS)
    return con.execute(f"select {', '.join(LIST_COLUMNS)} from users order by name").df()


def authenticate(con_or_db, name: str, password: str, now: datetime | None = None) -> Viewer:
    """The viewer of an account whose password is right, or LoginRefused. Counts failures (the
    fifth in a row locks the account for LOCK_MINUTES), resets them on success, and writes
    login / login_failed to the audit log. ``con_or_db``: a writable connection, or the database
    path: then the password is checked (argon2 takes a tenth of a second) before the database is
    opened for writing, so a login holds the writer's place only for the short update."""
    name, password, now = (name or "").strip(), password or "", now or datetime.now()
    if isinstance(con_or_db, (str, Path)):
        with schema.open_waiting(con_or_db, read_only=True, wait=WRITE_WAIT) as con:
            row = _lookup(con, name)
        refusal = _judge(row, password, now)
        with schema.open_waiting(con_or_db, read_only=False, wait=WRITE_WAIT) as con:
            return _settle(con, name, password, row, refusal, now)
    row = _lookup(con_or_db, name)
    return _settle(con_or_db, name, password, row, _judge(row, password, now), now)


def _lookup(con, name: str):
    return _row(con, name) if name and _has_table(con) else None


def _judge(row, password: str, now: datetime) -> str | None:
    """Why the login is refused ("unknown", "locked", "disabled", "wrong_password"), or None."""
    if row is None:
        _verify(_DUMMY_HASH, password)  # as long as a wrong password takes
        return "unknown"
    _, stored, _, _, disabled, _, locked_until = row
    if locked_until is not None and locked_until > now:
        return "locked"  # not even checked: a guess while locked teaches nothing
    if disabled:
        return "disabled"
    return None if _verify(stored, password) else "wrong_password"


def _settle(con, name: str, password: str, row, refusal: str | None, now: datetime) -> Viewer:
    """Write what the login changed (the failure count, a lock, the audit row) in one transaction,
    from the account's state as it is now (a parallel attempt may have moved it on)."""
    if row is None:
        _guessed(con, name, now)
    viewer = Viewer(name, row[2], tuple(row[3]))
    until = None
    with audit.LOCK, schema.transaction(con, "login", bump=False):
        failures, locked_until = con.execute("select failed_logins, locked_until from users where name = ?",
                                             [name]).fetchall()[0]
        if refusal is None and locked_until is not None and locked_until > now:
            refusal = "locked"  # locked by a parallel attempt meanwhile
        if refusal is None:
            con.execute("update users set failed_logins = 0, locked_until = null where name = ?", [name])
            audit.append(con, viewer, "login")
            if _hasher.check_needs_rehash(row[1]):
                con.execute("update users set password_hash = ? where name = ?", [_hasher.hash(password), name])
            return viewer
        if refusal == "locked":
            until = locked_until
        elif refusal == "wrong_password":
            failures = (0 if locked_until is not None else failures) + 1  # a lock that ran out starts afresh
            if failures >= MAX_FAILURES:
                con.execute("update users set failed_logins = 0, locked_until = ? where name = ?",
                            [now + timedelta(minutes=LOCK_MINUTES), name])
                refusal = "locked_now"
            else:
                con.execute("update users set failed_logins = ?, locked_until = null where name = ?",
                            [failures, name])
        audit.append(con, viewer, "login_failed", {"reason": refusal}, "refused")
    raise LoginRefused("locked" if refusal == "locked" else "bad", until)


def _guessed(con, name: str, now: datetime) -> None:
    """Refuse a name that is no account exactly as an account is refused: its failures are
    counted too (in ``login_guesses``), and the fifth in a row "locks" it for LOCK_MINUTES, so
    the lockout message never tells a guesser which names are accounts."""
    with audit.LOCK, schema.transaction(con, "login", bump=False):
        con.execute("create table if not exists login_guesses "
                    "(name text primary key, failed_logins integer not null, locked_until timestamp)")
        found = con.execute("select failed_logins, locked_until from login_guesses where name = ?", [name]).fetchall()
        failures, locked_until = found[0] if found else (0, None)
        locked = locked_until is not None and locked_until > now
        if not locked:
            failures = (0 if locked_until is not None else failures) + 1
            locked_until = now + timedelta(minutes=LOCK_MINUTES) if failures >= MAX_FAILURES else None
            schema.upsert(con, "login_guesses", ("name",), {
                "name": name, "failed_logins": 0 if locked_until else failures, "locked_until": locked_until})
        audit.append(con, audit.nobody(name), "login_failed", {"reason": "locked" if locked else "unknown"}, "refused")
    raise LoginRefused("locked" if locked else "bad", locked_until if locked else None)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return bool(stored) and _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def viewer_for(con: duckdb.DuckDBPyConnection, name: str) -> Viewer:
    """The viewer of an enabled account (for ``cli.py ... --user NAME``); ValueError otherwise."""
    row = _row(con, name) if _has_table(con) else None
    if row is None:
        raise ValueError(f"no account named {name!r} (see `python cli.py user list`)")
    if row[4]:
        raise ValueError(f"the account {name!r} is disabled")
    return Viewer(row[0], row[2], tuple(row[3]))


def viewer_for_sso(con: duckdb.DuckDBPyConnection, email: str | None, subject: str | None) -> Viewer | None:
    """The enabled account a single-sign-on user maps to: users.sso_subject equal to the OIDC
    subject or email, or an account named by the email. None when there is none (refused)."""
    keys = [k for k in (subject, email) if k]
    if not keys or not _has_table(con):
        return None
    found = con.execute("""select name, role, regions from users where not disabled
                           and (list_contains(?, sso_subject) or list_contains(?, name))
                           order by sso_subject is null, name limit 1""", [keys, [email or ""]]).fetchall()
    return Viewer(found[0][0], found[0][1], tuple(found[0][2])) if found else None
