"""审计日志 (admins): who did what, when, from which scope; filter, read, download. Read only: the
app offers no way to edit or delete a row, and says whether the hash chain still verifies."""
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from access.audit import ACTIONS
from ui import auditing, auth
from ui.text import t

auth.require("audit")
st.title(t("PAGE_AUDIT"))
st.caption(t("AUDIT_INTRO"))

verdict = auditing.verdict()
if verdict.ok:
    st.success(t("AUDIT_CHAIN_OK", n=verdict.rows), icon=":material/verified:")
else:
    st.error(t("AUDIT_CHAIN_BROKEN", id=verdict.broken_at, n=verdict.rows), icon=":material/gpp_bad:")

left, middle, right = st.columns([1, 2, 1])
users = auditing.users()
user = left.selectbox(t("AUDIT_USER"), ["", *users], key="audit-user",
                      format_func=lambda u: u or t("AUDIT_USER_ALL"))
actions = middle.multiselect(t("AUDIT_ACTIONS"), list(ACTIONS), key="audit-actions", select_all=False,
                             format_func=lambda a: t(f"AUDIT_{a}"), placeholder=t("AUDIT_ACTIONS_ALL"))
today = date.today()
days = right.date_input(t("AUDIT_DAYS"), value=(today - timedelta(days=30), today), key="audit-days")
first, last = (tuple(days) + (None, None))[:2] if isinstance(days, (tuple, list)) else (days, days)

rows = auditing.rows(user or None, tuple(actions), first, last)
if rows.empty:
    st.info(t("AUDIT_NONE"))
    st.stop()
st.caption(t("AUDIT_SHOWN", n=len(rows)))
st.dataframe(rows, hide_index=True, width="stretch",
             column_config={t("AUDIT_COL_AT"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")})
name = f"{t('AUDIT_FILE')}-{pd.Timestamp.now():%Y%m%d-%H%M}"
a, b, _ = st.columns([1, 1, 4])
a.download_button(t("DOWNLOAD_XLSX"), auditing.xlsx(rows), file_name=f"{name}.xlsx", key="audit-xlsx",
                  mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  on_click=auth.log, args=("export", {"view": "audit", "format": "xlsx"}))
b.download_button(t("DOWNLOAD_CSV"), auditing.csv(rows), file_name=f"{name}.csv", mime="text/csv",
                  key="audit-csv", on_click=auth.log, args=("export", {"view": "audit", "format": "csv"}))
