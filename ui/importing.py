"""The 数据导入 page's moving parts: uploads kept on disk, the check (a dry run) kept per input,
the commit with a progress bar. The importer itself is importer/; nothing here parses files."""
import json
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from importer import fields, pipeline, read, report, templates
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
          sheet: str | None = None, header_row: int | None = None) -> pipeline.Result:
    """A dry run, kept until its inputs or the data change (reruns do not repeat it)."""
    key = json.dumps([str(path), kind, mapping, matches, sheet, header_row, data.version()],
                     ensure_ascii=False, sort_keys=True)
    store = st.session_state.setdefault("import_checks", {})
    if key not in store:
        with st.spinner(t("IMPORT_STEP_parse")):
            store[key] = pipeline.run(path, data.db_path(), kind=kind, mapping=mapping, matches=matches,
                                      sheet=sheet, dry_run=True, file_name=name, header_row=header_row)
    return store[key]


def commit(path: Path, name: str, kind: str | None, mapping: dict, matches: dict,
           sheet: str | None = None, header_row: int | None = None) -> pipeline.Result:
    bar = st.progress(0.0, text=t("IMPORT_RUNNING", file=name))
    result = pipeline.run(
        path, data.db_path(), kind=kind, mapping=mapping, matches=matches, sheet=sheet, file_name=name,
        header_row=header_row,
        user=f"{pipeline.who()}（网页）",
        progress=lambda fraction, step: bar.progress(fraction, text=t(f"IMPORT_STEP_{step}")),
    )
    bar.empty()
    return result


def first_rows(path: Path, name: str, sheet: str | None) -> tuple[list[str], list[list[str]]]:
    """(column letters, the first rows as written) of the sheet, to point at the header row."""
    try:
        _sheet, letters, rows = read.first_rows(path, sheet=sheet, file_name=name)
    except read.ReadError:
        return [], []
    return letters, rows


def rows_table(letters: list[str], rows: list[list[str]], first: int = 1) -> pd.DataFrame:
    """Rows as the user sees them in Excel: numbered from `first`, columns by letter."""
    return pd.DataFrame(rows, columns=letters, index=range(first, first + len(rows)))


def detected(result: pipeline.Result) -> list[str]:
    """What the check found out about the file, for one caption line; nothing about the kind
    when none was recognised (the error says why)."""
    facts = [t("IMPORT_DETECTED", kind=kind_label(result.kind))] if result.kind else []
    if result.sheet:
        facts.append(t("IMPORT_SHEET", sheet=result.sheet))
    if result.header_row:
        facts.append(t("IMPORT_HEADER_ROW_USED", n=result.header_row))
    if result.encoding:
        facts.append(t("IMPORT_ENCODING", encoding=result.encoding))
    return facts


def duplicate_choice(duplicate: dict, letter: str) -> dict:
    """The mapping entries that say which column of a header written twice is meant: that one
    keeps the field, the others are not imported."""
    return {f"{c['header']}@{c['letter']}": duplicate["field"] if c["letter"] == letter else ""
            for c in duplicate["columns"]}


def kind_label(kind: str | None) -> str:
    return fields.KIND_LABELS.get(kind or "", kind or "—")


def field_options(kind: str) -> dict[str, str]:
    """Field name -> label shown in the mapping editor ("" = skip the column)."""
    return {"": t("IMPORT_IGNORE"), **{f.name: f"{f.label}（{f.name}）" for f in fields.KINDS[kind]}}


def issues_table(issues) -> pd.DataFrame:
    # text, not Int64: a whole-file problem (row None) reads 整个文件, never "None" or "<NA>"
    return pd.DataFrame(
        [(t("IMPORT_WHOLE_FILE") if i.row is None else str(i.row), i.column or "", i.value or "", i.message,
          i.expected) for i in issues],
        columns=[t("COL_ROW"), t("COL_COLUMN"), t("COL_VALUE"), t("COL_PROBLEM"), t("COL_EXPECTED")],
    )


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
