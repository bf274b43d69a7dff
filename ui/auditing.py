"""The audit page's data: rows read afresh on every rerun (writing an audit row does not bump the
data version, so no cache would see it), labelled in the sidebar's language."""
from datetime import date

import pandas as pd

from access import audit
from export import cells
from queries import indicators
from ui import data
from ui.text import ZH, lang, t


def verdict() -> audit.Verdict:
    with data.connect_live(data.db_path()) as con:
        return audit.verify(con)


def users() -> list[str]:
    with data.connect_live(data.db_path()) as con:
        return audit.users_seen(con)


def rows(user: str | None, actions: tuple[str, ...], first: date | None, last: date | None) -> pd.DataFrame:
    """The matching rows, newest first, with Chinese (or English) headers, actions and roles."""
    with data.connect_live(data.db_path()) as con:
        frame = audit.read(con, audit.Filters(user, actions, first, last))
    frame["action"] = frame["action"].map(lambda a: t(f"AUDIT_{a}"))
    frame["role"] = frame["role"].map(lambda r: t(f"ROLE_{r}"))
    frame["outcome"] = frame["outcome"].map(lambda o: t(f"AUDIT_OUTCOME_{o}") if f"AUDIT_OUTCOME_{o}" in ZH else o)
    named = scope_names()
    frame["scope"] = frame["scope"].map(lambda s: t("AUDIT_SCOPE_ALL") if s == "all" else named(s))
    frame["what"] = frame["what"].fillna("")
    return frame.rename(columns={
        "audit_id": t("AUDIT_COL_ID"), "logged_at": t("AUDIT_COL_AT"), "user_name": t("AUDIT_COL_USER"),
        "role": t("AUDIT_COL_ROLE"), "action": t("AUDIT_COL_ACTION"), "what": t("AUDIT_COL_WHAT"),
        "scope": t("AUDIT_COL_SCOPE"), "outcome": t("AUDIT_COL_OUTCOME")})


def scope_names():
    """A function from an audit row's scope ("320703,320706", code prefixes) to the regions' names
    ("连云区、海州区"); a prefix that is no region of the register is shown as it is."""
    found = data.query("region_names")
    by_prefix = {indicators.region_prefix(c): n for c, n in zip(found["region_code"], found["name"])}
    sep = "、" if lang() == "zh" else ", "
    return lambda scope: sep.join(by_prefix.get(p, p) for p in str(scope).split(",") if p) if scope else scope


def xlsx(frame: pd.DataFrame) -> bytes:
    return cells.xlsx_bytes(frame, t("PAGE_AUDIT"))


def csv(frame: pd.DataFrame) -> bytes:
    return cells.csv_bytes(frame)
