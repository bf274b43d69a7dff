"""The 数据导入 page's moving parts: uploads kept on disk, the check (a dry run) kept per input,
the commit with a progress bar. The importer itself is importer/; nothing here parses files."""
import json
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from importer import fields, pipeline, report, templates
from ui import data
from ui.text import t

UPLOADS = Path(tempfile.gettempdir()) / "atlas-uploads"


def saved(upload) -> Path:
    """The uploaded file on disk (the importer streams from a path), written once per upload:
    reruns look it up by the upload's id instead of hashing a large file again."""
    known = st.session_state.setdefault("upload_paths", {})
    path = known.get(upload.file_id)
    if path is None or not path.exists():
        folder = UPLOADS / upload.file_id
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        known[upload.file_id] = path
    return path


@st.cache_data(show_spinner=False)
def template(kind: str) -> bytes:
    """A blank ledger to download, built once per process, not on every rerun."""
    return templates.xlsx_bytes(kind)


def check(path: Path, name: str, kind: str | None, mapping: dict, matches: dict,
          sheet: str | None = None) -> pipeline.Result:
    """A dry run, kept until its inputs or the data change (reruns do not repeat it)."""
    key = json.dumps([str(path), kind, mapping, matches, sheet, data.version()], ensure_ascii=False, sort_keys=True)
    store = st.session_state.setdefault("import_checks", {})
    if key not in store:
        with st.spinner(t("IMPORT_STEP_parse")):
            store[key] = pipeline.run(path, data.db_path(), kind=kind, mapping=mapping, matches=matches,
                                      sheet=sheet, dry_run=True, file_name=name)
    return store[key]


def commit(path: Path, name: str, kind: str | None, mapping: dict, matches: dict,
           sheet: str | None = None) -> pipeline.Result:
    bar = st.progress(0.0, text=t("IMPORT_RUNNING", file=name))
    result = pipeline.run(
        path, data.db_path(), kind=kind, mapping=mapping, matches=matches, sheet=sheet, file_name=name,
        user=f"{pipeline.who()}（网页）",
        progress=lambda fraction, step: bar.progress(fraction, text=t(f"IMPORT_STEP_{step}")),
    )
    bar.empty()
    return result


LEAVE_OUT = "-"  # the picker's "leave this boundary feature out"; the importer takes it as ""


def left_out_label(candidate: dict) -> str:
    """A proposed township for a boundary feature that was not imported, and why it is proposed."""
    why = t(f"IMPORT_WHY_{candidate['why']}", score=f"{candidate['score']:.0f}")
    return f"{candidate['name']}（{candidate['county_name']}，{candidate['code']}） · {why}"


def kind_label(kind: str | None) -> str:
    return fields.KIND_LABELS.get(kind or "", kind or "—")


def field_options(kind: str) -> dict[str, str]:
    """Field name -> label shown in the mapping editor ("" = skip the column)."""
    return {"": t("IMPORT_IGNORE"), **{f.name: f"{f.label}（{f.name}）" for f in fields.KINDS[kind]}}


def issues_table(issues) -> pd.DataFrame:
    return pd.DataFrame(
        [(i.row, i.column or "", i.value or "", i.message, i.expected) for i in issues],
        columns=[t("COL_ROW"), t("COL_COLUMN"), t("COL_VALUE"), t("COL_PROBLEM"), t("COL_EXPECTED")],
    ).astype({t("COL_ROW"): "Int64"})


def report_bytes(result: pipeline.Result) -> bytes:
    return report.xlsx_bytes([result])


def history() -> pd.DataFrame:
    frame = data.query("import_history", limit=50)
    frame["kind"] = frame["kind"].map(kind_label)
    frame["finished_at"] = pd.to_datetime(frame["finished_at"]).dt.strftime("%Y-%m-%d %H:%M")
    return frame.rename(columns={
        "file_name": t("COL_FILE"), "kind": t("COL_KIND"), "rows_in": t("COL_ROWS_IN"),
        "rows_accepted": t("COL_ACCEPTED"), "rows_replaced": t("COL_REPLACED"),
        "townships": t("COL_TOWNSHIPS"), "periods": t("COL_PERIODS"), "finished_at": t("COL_WHEN"),
        "imported_by": t("COL_WHO"),
    }).drop(columns=["import_id", "file_hash"])
