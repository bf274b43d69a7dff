"""The 数据导入 page's moving parts: uploads kept on disk, the check (a dry run) kept per input,
the commit with a progress bar. The importer itself is importer/; nothing here parses files."""
import json
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from i18n import safe
from indicators import fmt
from importer import fields, history as import_history, messages, pipeline, read, report, templates
from access import audit
from ui import auth, data
from ui.text import lang, t

# Uploaded files hold raw household ids: each lives in a private folder (mode 0700) only while
# its import is open, and goes when the import ends: after the commit, whatever its outcome, or
# when the file is taken off the uploader. Folders a crashed session left behind go after an hour.
UPLOADS = Path(tempfile.gettempdir()) / "atlas-uploads"
STALE_SECONDS = 3600


UPLOAD_TYPES = ("xlsx", "xls", "xlsm", "csv", "txt", "geojson", "json", "zip", "gpkg")


def periods_text(codes: list[str], most: int = 6) -> str:
    """The periods a file brings, as people write them (2025年11月, not 2025-11)."""
    from indicators import fmt

    language = lang()
    def said(code: str) -> str:
        try:
            return fmt.period_label(code, language)
        except ValueError:  # not a period code: as stored
            return code

    shown = "、".join(said(c) for c in codes[:most])
    return shown + (t("IMPORT_MORE_PERIODS", n=len(codes) - most) if len(codes) > most else "")


def saved(upload) -> Path:
    """The uploaded file on disk (the importer streams from a path), written once per upload:
    reruns look it up by the upload's id instead of hashing a large file again."""
    known = st.session_state.setdefault("upload_paths", {})
    path = known.get(upload.file_id)
    if path is None or not path.exists():
        UPLOADS.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="upload-", dir=UPLOADS))  # 0700, a name nobody guesses
        path = folder / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        path.chmod(0o600)
        known[upload.file_id] = path
    return path


def ended(file_id: str) -> bool:
    """True once this upload's import has ended (it stays in the uploader, its file is gone)."""
    return file_id in st.session_state.setdefault("ended_uploads", set())


def forget(file_id: str, end: bool = False) -> None:
    """Delete this upload's file and folder; with end, its import has ended (not read again)."""
    if end:
        st.session_state.setdefault("ended_uploads", set()).add(file_id)
    path = st.session_state.setdefault("upload_paths", {}).pop(file_id, None)
    if path is not None:
        shutil.rmtree(Path(path).parent, ignore_errors=True)


def forget_others(open_ids: set[str]) -> None:
    """Uploads taken off the uploader (and stale folders of ended sessions): deleted."""
    for file_id in list(st.session_state.setdefault("upload_paths", {})):
        if file_id not in open_ids:
            forget(file_id)
    if UPLOADS.is_dir():
        for folder in UPLOADS.iterdir():
            try:
                if time.time() - folder.stat().st_mtime > STALE_SECONDS:
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:
                pass


@st.cache_data(show_spinner=False)
def template(kind: str) -> bytes:
    """A blank ledger to download, built once per process, not on every rerun."""
    return templates.xlsx_bytes(kind)


def check(path: Path, name: str, kind: str | None, mapping: dict, matches: dict,
          sheet: str | None = None, header_row: int | None = None, township: str | None = None) -> pipeline.Result:
    """A dry run, kept until its inputs or the data change (reruns do not repeat it)."""
    key = json.dumps([str(path), kind, mapping, matches, sheet, header_row, township, data.data_key()],
                     ensure_ascii=False, sort_keys=True)
    store = st.session_state.setdefault("import_checks", {})
    if key not in store:
        with st.spinner(t("IMPORT_STEP_parse")):
            store[key] = pipeline.run(path, data.db_path(), kind=kind, mapping=mapping, matches=matches,
                                      sheet=sheet, dry_run=True, file_name=name, header_row=header_row,
                                      township=township, scope=data.viewer_scope())
    return store[key]


def commit(path: Path, name: str, kind: str | None, mapping: dict, matches: dict,
           sheet: str | None = None, header_row: int | None = None, replace: bool = False,
           township: str | None = None) -> pipeline.Result:
    bar = st.progress(0.0, text=t("IMPORT_RUNNING", file=safe.markdown(name)))
    result = pipeline.run(
        path, data.db_path(), kind=kind, mapping=mapping, matches=matches, sheet=sheet, file_name=name,
        header_row=header_row, replace=replace, township=township, scope=data.viewer_scope(),
        user=who(),
        progress=lambda fraction, step: bar.progress(fraction, text=t(f"IMPORT_STEP_{step}")),
    )
    bar.empty()
    data.repin()  # the rest of this run shows what was just imported
    try:
        audit.record_import(data.db_path(), data.viewer(), result)
    except TimeoutError:
        st.toast(t("DB_BUSY"))
    return result


REPORT_KINDS = ("screening_summary", "cases_summary")  # totals that household or case rows overrule


def outcome(done: pipeline.Result, file_name: str) -> tuple[str, str]:
    """("success" | "warning", what the commit changed), said truthfully: a report's rows that the
    counting rules set aside (the township has household or case rows in those months, and rows
    take precedence over totals) change no number on any map, and the page says so and which."""
    file = safe.markdown(file_name)
    replaced = t("IMPORT_DONE_REPLACED", n=f"{done.replaced:,}") if done.replaced else ""
    if done.kind not in REPORT_KINDS or done.import_id is None:
        return "success", t("IMPORT_DONE", file=file, rows=f"{done.accepted:,}", replaced=replaced)
    rows = data.query("import_reports_counted", import_id=done.import_id, scope=data.viewer_scope())
    aside = rows[~rows["is_counted"].astype(bool)]
    if aside.empty:
        return "success", t("IMPORT_DONE", file=file, rows=f"{done.accepted:,}", replaced=replaced)
    names = data.lookup(data.townships(), "region_code", "name")
    listed = [names.get(code, code) + fmt.aside(messages.month_span(str(first)[:7], str(last)[:7]), lang())
              for code, first, last in zip(aside["township_code"], aside["period_start"], aside["period_end"])]
    shown = t("LIST_SEP").join(listed[:5]) + (t("IMPORT_AND_MORE", n=len(listed) - 5) if len(listed) > 5 else "")
    why = t(f"IMPORT_SET_ASIDE_WHY_{done.kind}")
    if len(aside) == len(rows):
        return "warning", t("IMPORT_DONE_NOTHING_COUNTED", file=file, rows=f"{done.accepted:,}",
                            replaced=replaced, aside=shown, why=why)
    return "warning", t("IMPORT_DONE_PART_COUNTED", file=file, rows=f"{done.accepted:,}", replaced=replaced,
                        counted=f"{len(rows) - len(aside):,}", n=f"{len(aside):,}", aside=shown, why=why)


def who() -> str:
    """Who the import history names: the logged-in account, else the server's login name (demo mode)."""
    return f"{data.viewer().name or pipeline.who()}（网页）"


def township_wanted(result: pipeline.Result, township: str | None) -> bool:
    """Whether to offer 整个文件属于： a ledger whose rows no column places (no township column, or
    only an address to find it in), or one whose township was already picked (to change it)."""
    if result.kind not in fields.KINDS:
        return False
    by_address = any(u.problem == "address_township" for u in result.unmatched) or any(
        e.code == "address_no_township" for e in result.errors)
    return bool(township) or result.township_missing or by_address


def township_choices() -> dict[str, str]:
    """The atlas's townships for the picker: code -> 名称（区县，代码）, searchable by any of them."""
    towns = data.townships()
    counties = data.lookup(data.regions(), "region_code", "name")
    return {code: name + fmt.aside(f"{counties.get(parent, '')}{t('LIST_COMMA')}{code}", lang())
            for code, name, parent in zip(towns["region_code"], towns["name"], towns["parent_code"])}


LEAVE_OUT = "-"  # the picker's "leave this boundary feature out"; the importer takes it as ""


def left_out_label(candidate: dict) -> str:
    """A proposed township for a boundary feature that was not imported, and why it is proposed."""
    why = t(f"IMPORT_WHY_{candidate['why']}", score=f"{candidate['score']:.0f}")
    return (candidate['name'] + fmt.aside(f"{candidate['county_name']}{t('LIST_COMMA')}{candidate['code']}", lang())
            + f" · {why}")
echoed = messages.echoed  # a township name as written may be a household id under the wrong header


def first_rows(path: Path, name: str, sheet: str | None) -> tuple[list[str], list[list[str]]]:
    """(column letters, the first rows as written) of the sheet, to point at the header row; a cell
    that may be a household id is masked (importer.messages.masked), whatever column it is in."""
    try:
        _sheet, letters, rows = read.first_rows(path, sheet=sheet, file_name=name)
    except read.ReadError:
        return [], []
    return letters, [[messages.masked(cell) if cell else cell for cell in row] for row in rows]


def rows_table(letters: list[str], rows: list[list[str]], first: int = 1) -> pd.DataFrame:
    """Rows as the user sees them in Excel: numbered from `first`, columns by letter."""
    return pd.DataFrame(rows, columns=letters, index=range(first, first + len(rows)))


def detected(result: pipeline.Result) -> list[str]:
    """What the check found out about the file, for one caption line; nothing about the kind
    when none was recognised (the error says why)."""
    facts = [t("IMPORT_DETECTED", kind=kind_label(result.kind))] if result.kind else []
    if result.sheet:
        facts.append(t("IMPORT_SHEET", sheet=safe.markdown(result.sheet)))
    if result.header_row:
        facts.append(t("IMPORT_HEADER_ROW_USED", n=result.header_row))
    if result.township:
        facts.append(t("IMPORT_TOWNSHIP_USED", name=safe.markdown(result.township["name"])))
    if result.encoding:
        facts.append(t("IMPORT_ENCODING", encoding=result.encoding))
    return facts


def duplicate_choice(duplicate: dict, letter: str) -> dict:
    """The mapping entries that say which column of a header written twice is meant: that one
    keeps the field, the others are not imported."""
    return {f"{c['header']}@{c['letter']}": duplicate["field"] if c["letter"] == letter else ""
            for c in duplicate["columns"]}


def kind_label(kind: str | None) -> str:
    """A ledger kind as the reader's language says it (排查记录（逐户）, Household screening visits)."""
    if lang() != "zh" and kind in fields.KIND_LABELS:
        return t(f"KIND_{kind}")
    return fields.KIND_LABELS.get(kind or "", kind or "—")


def field_options(kind: str, mapped: dict | None = None) -> dict[str, str]:
    """Field name -> label shown in the mapping editor ("" = skip the column). A return's columns
    are a measure under a type ("received#婚姻家庭纠纷"): each one the check mapped is offered too."""
    spec = {f.name: f for f in fields.KINDS[kind]}
    options = {"": t("IMPORT_IGNORE"), **{f.name: f.label for f in spec.values()
                                          if f.name not in fields.MEASURES or kind not in fields.WIDE_KINDS}}
    for name in (mapped or {}).values():
        if "#" in name and name not in options:
            measure, type_ = name.split("#", 1)
            options[name] = f"{type_} · {spec[measure].label}"
    return options


TABLE_UP_TO = 30  # problems shown as a table that wraps; more scroll in a grid


def show_issues(issues, cap: int = 260) -> None:
    """The problems as a table. Up to TABLE_UP_TO, a static table whose 问题 and 应为 wrap (a
    grid cuts them off); beyond, a scrolling grid with no blank rows below the last problem.
    st.table reads its cells as Markdown: every cell is made inert (a value is the file's text)."""
    table = issues_table(issues)
    if len(table) <= TABLE_UP_TO:
        st.table(table.map(safe.markdown), border="horizontal", hide_index=True)
        return
    narrow = {t("COL_ROW"): 70, t("COL_COLUMN"): 110, t("COL_VALUE"): 120}
    wide = {t("COL_PROBLEM"): 380, t("COL_EXPECTED"): 320}
    config = {name: st.column_config.TextColumn(width=w) for name, w in {**narrow, **wide}.items()}
    st.dataframe(table, hide_index=True, column_config=config, height=table_height(len(table), 35, cap))


def table_height(rows: int, row_height: int = 35, cap: int = 260) -> int:
    """A st.dataframe's height in pixels that fits its rows (header included), at most ``cap``."""
    return min(cap, 38 + rows * row_height + 2)


def uploader_css() -> str:
    """Streamlit's uploader speaks English ("Drag and drop files here", "Limit 1GB per file",
    "Browse files"): its own words are hidden and ours shown in their place, in the page's language."""
    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "").replace('"', "") + '"'

    return ("<style>"
            '[data-testid="stFileUploaderDropzoneInstructions"] > div > span,'
            '[data-testid="stFileUploaderDropzoneInstructions"] > div > small {display: none;}'
            '[data-testid="stFileUploaderDropzoneInstructions"] > div::after {content: '
            + quoted(t("IMPORT_DROP")) + "; font-size: 0.9rem;}"
            # the dropzone's own button only, not the remove button of a file already chosen
            '[data-testid="stFileUploaderDropzone"] > span > button [data-testid="stMarkdownContainer"],'
            '[data-testid="stFileUploaderDropzone"] > span > button [data-testid="stIconMaterial"] {display: none;}'
            '[data-testid="stFileUploaderDropzone"] > span > button::after {content: '
            + quoted(t("IMPORT_BROWSE")) + "; white-space: nowrap;}"
            "</style>")


def issues_table(issues) -> pd.DataFrame:
    # text, not Int64: a whole-file problem (row None) reads 整个文件, never "None" or "<NA>"
    return pd.DataFrame(
        [(t("IMPORT_WHOLE_FILE") if i.row is None else str(i.row), i.column or "", i.value or "", i.message,
          i.expected) for i in issues],
        columns=[t("COL_ROW"), t("COL_COLUMN"), t("COL_VALUE"), t("COL_PROBLEM"), t("COL_EXPECTED")],
    )


def report_bytes(result: pipeline.Result) -> bytes:
    return report.xlsx_bytes([result])


def replacements_table(result: pipeline.Result) -> pd.DataFrame:
    return pd.DataFrame(
        [(r.get("township", r["township_code"]), messages.month_span(r["first"], r["last"]) or "—",
          f"{r['rows']:,}", f"{r['brings']:,}") for r in result.replacements],
        columns=[t("COL_TOWNSHIP"), t("COL_MONTHS"), t("COL_EXISTING"), t("COL_BRINGS")])


def history() -> pd.DataFrame:
    frame = data.query("import_history", limit=50, scope=data.viewer_scope())
    frame["kind"] = frame["kind"].map(kind_label)
    frame["periods"] = [periods_text(str(p).split(",")) if isinstance(p, str) and p else p for p in frame["periods"]]
    frame["finished_at"] = pd.to_datetime(frame["finished_at"]).dt.strftime("%Y-%m-%d %H:%M")
    frame["status"] = [t("STATUS_UNDONE") if pd.notna(u) else
                       t("STATUS_SUPERSEDED", n=int(s)) if pd.notna(s) else t("STATUS_ACTIVE")
                       for u, s in zip(frame["undone_at"], frame["superseded_by"])]
    return frame.rename(columns={
        "import_id": t("COL_ID"), "file_name": t("COL_FILE"), "kind": t("COL_KIND"), "rows_in": t("COL_ROWS_IN"),
        "rows_accepted": t("COL_ACCEPTED"), "rows_replaced": t("COL_REPLACED"),
        "townships": t("COL_TOWNSHIPS"), "periods": t("COL_PERIODS"), "finished_at": t("COL_WHEN"),
        "imported_by": t("COL_WHO"), "status": t("COL_STATUS"),
    }).drop(columns=["file_hash", "undone_at", "superseded_by"])


def undoable(frame: pd.DataFrame) -> dict[int, str]:
    """Import id -> "编号 · 文件" of the imports still in force, newest first."""
    live = frame[frame[t("COL_STATUS")] == t("STATUS_ACTIVE")]
    return {int(i): f"{int(i)} · {f}" + fmt.aside(w, lang()) for i, f, w in
            zip(live[t("COL_ID")], live[t("COL_FILE")], live[t("COL_WHEN")])}


def undo(import_id: int) -> tuple[bool, str]:
    """(done, message) for the page: undone, or why not (nothing written then)."""
    try:
        done = import_history.undo(data.db_path(), import_id, who(), scope=data.viewer_scope())
    except import_history.UndoRefused as refused:
        why, expected = messages.describe(refused.code, refused.detail)
        auth.log("undo", {"import_id": import_id, "refused": refused.code}, "refused")
        return False, f"{why}。{expected}"
    except TimeoutError:
        return False, t("IMPORT_BUSY")
    auth.log("undo", done)
    data.repin()
    return True, t("IMPORT_UNDO_DONE", id=done["import_id"], file=safe.markdown(done["file"]), removed=f"{done['removed']:,}",
                   restored=f"{done['restored']:,}")
