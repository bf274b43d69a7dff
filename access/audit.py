"""The audit log: who did what, when, from which scope, and how it ended. No streamlit.

Append only: the app and the CLI add rows (``record``) and read them (``read``); nothing here
edits or deletes one. Each row carries ``row_hash`` = sha256(previous row's hash + this row's
fields), so a row edited, removed or slipped in afterwards with the database's own tools breaks
the chain, and ``verify`` says where. Writing a row does not bump the data version.
"""
import hashlib
import json
import random
import threading
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from time import sleep

import duckdb
import pandas as pd

from access.viewer import Viewer
from db import lake, schema

ACTIONS = ("login", "login_failed", "logout", "import", "undo", "export", "snapshot_save", "snapshot_view",
           "user_add", "user_disable", "user_passwd")
GENESIS = "0" * 64  # the "previous hash" of the first row
LAST_ID_KEY = "audit_last_id"  # in meta, on a lake only: the row every append updates (see append)
COLUMNS = ["audit_id", "logged_at", "user_name", "role", "action", "what", "scope", "outcome"]
WRITE_WAIT = 30  # seconds to wait for another writer (an import) to let go of the file

# One appender at a time in this process: the next id and the previous hash are read, then the row
# is written; two threads doing that at once would fork the chain. (Across processes DuckDB lets
# only one process open the file for writing.)
LOCK = threading.RLock()


def scope_text(regions) -> str:
    """A viewer's regions as the log shows them: "all" for everything, else the prefixes."""
    regions = tuple(regions)
    return "all" if "" in regions else ",".join(regions)


NO_ACCOUNT = "none"  # the role logged for a name that is no account (a failed login)


def nobody(name: str) -> tuple[str, str, str]:
    """The actor of a login attempt under a name that is no account."""
    return name, NO_ACCOUNT, ""


def _actor(viewer) -> tuple[str, str, str]:
    """(user name, role, scope) of a viewer, of a CLI operator given by name (role "cli"), or
    as given (``nobody``)."""
    if isinstance(viewer, Viewer):
        return viewer.name or "(demo)", viewer.role, scope_text(viewer.regions)
    if isinstance(viewer, tuple):
        return viewer
    return str(viewer), "cli", "all"


def _digest(prev_hash: str, fields: list) -> str:
    payload = json.dumps([prev_hash, *fields], ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _fields(audit_id, at, user, role, action, what, scope, outcome) -> list:
    # the timestamp is hashed as DuckDB gives it back (microseconds), so verify() rebuilds it exactly
    stamp = pd.Timestamp(at).isoformat()
    return [int(audit_id), stamp, user, role, action, what, scope, outcome]


def append(con: duckdb.DuckDBPyConnection, viewer: Viewer | str, action: str, what=None,
           outcome: str = "ok") -> int:
    """Add one row inside the caller's open transaction (hold ``LOCK`` around it); its id."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: expected one of {', '.join(ACTIONS)}")
    if what is not None and not isinstance(what, str):
        what = json.dumps(what, ensure_ascii=False, default=str, sort_keys=True)
    user, role, scope = _actor(viewer)
    last = con.execute("select audit_id, row_hash from audit_log order by audit_id desc limit 1").fetchall()
    audit_id, prev = (last[0][0] + 1, last[0][1]) if last else (1, GENESIS)
    at = datetime.now()
    fields = _fields(audit_id, at, user, role, action, what, scope, outcome)
    con.execute("insert into audit_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [audit_id, at, user, role, action, what, scope, outcome, prev, _digest(prev, fields)])
    if schema.is_lake(con):
        # many processes append at once, and a lake lets two inserts commit side by side: both
        # would take the same id and previous hash, forking the chain. Both also update this one
        # row, so the later commit is refused as a conflict (record() then appends again).
        schema.upsert(con, "meta", ("key",), {"key": LAST_ID_KEY, "value": str(audit_id)})
    return audit_id


def record(con_or_db, viewer: Viewer | str, action: str, what=None, outcome: str = "ok") -> int:
    """Write one audit row in its own short transaction, on ``con_or_db``: a writable connection
    (with no transaction open), or the database path (opened for writing, waiting for a writer)."""
    if isinstance(con_or_db, (str, Path)):
        with schema.open_waiting(con_or_db, read_only=False, wait=WRITE_WAIT) as con:
            return record(con, viewer, action, what, outcome)
    for attempt in range(1, lake.RETRIES + 1):
        try:
            with LOCK, schema.transaction(con_or_db, "audit", bump=False) as con:
                return append(con, viewer, action, what, outcome)
        except Exception as error:  # on a lake: another process appended first; append after it
            if not (lake.is_conflict(error) and schema.is_lake(con_or_db)) or attempt == lake.RETRIES:
                raise
            sleep(random.uniform(0.01, 0.1) * attempt)


@dataclass(frozen=True)
class Filters:
    """What the audit page and ``read`` select; None or empty means any."""
    user: str | None = None
    actions: tuple[str, ...] = ()
    first_day: date | None = None
    last_day: date | None = None   # inclusive
    limit: int | None = None       # newest rows first


def read(con: duckdb.DuckDBPyConnection, filters: Filters | None = None) -> pd.DataFrame:
    """Audit rows matching ``filters``, newest first: COLUMNS (no hashes)."""
    f = filters or Filters()
    first = datetime.combine(f.first_day, time.min) if f.first_day else None
    last = datetime.combine(f.last_day, time.max) if f.last_day else None
    return con.execute(
        f"""select {', '.join(COLUMNS)} from audit_log
            where ($user is null or user_name = $user)
              and (len($actions) = 0 or list_contains($actions, action))
              and ($first is null or logged_at >= $first)
              and ($last is null or logged_at <= $last)
            order by audit_id desc
            limit coalesce($limit, 9223372036854775807)""",
        {"user": f.user or None, "actions": list(f.actions), "first": first, "last": last, "limit": f.limit},
    ).df()


def users_seen(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every user name in the log, for the page's filter."""
    return [r[0] for r in con.execute("select distinct user_name from audit_log order by 1").fetchall()]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    rows: int                     # rows checked
    broken_at: int | None = None  # the first audit_id whose hash does not follow from the rows before it


def verify(con: duckdb.DuckDBPyConnection) -> Verdict:
    """Recompute the hash chain from the first row: ok, or the first row where it breaks."""
    prev, count, expected_id = GENESIS, 0, 1
    rows = con.execute(f"select {', '.join(COLUMNS)}, prev_hash, row_hash from audit_log order by audit_id").fetchall()
    for row in rows:
        count += 1
        *values, prev_hash, row_hash = row
        # a removed row shows as a gap in the ids, or as a prev_hash that is not the last row's hash
        if values[0] != expected_id or prev_hash != prev or _digest(prev, _fields(*values)) != row_hash:
            return Verdict(False, count, values[0])
        prev, expected_id = row_hash, expected_id + 1
    return Verdict(True, count)


def record_import(con_or_db, viewer: Viewer | str, result) -> int | None:
    """An import's row (importer.result.Result): the file, kind, import id and rows; its status is
    the outcome (imported, unchanged, rejected). A dry run is a check, not an import: not logged."""
    if result.status == "dry_run":
        return None
    what = {"file": result.file, "kind": result.kind, "import_id": result.import_id,
            "rows": result.accepted, "townships": result.townships}
    return record(con_or_db, viewer, "import", what, result.status)
