"""数据导入: upload ledgers and boundary files, see them checked, fix the mapping, confirm the
township matches, then import, all or nothing per file."""
import pandas as pd
import streamlit as st

from i18n import safe
from importer import fields
from ui import auth, importing
from indicators import fmt
from ui.text import lang, t

auth.require("import")
st.title(t("PAGE_IMPORT"))
st.caption(t("IMPORT_INTRO"))
if "import_done" in st.session_state:
    tone, said = st.session_state.pop("import_done")
    (st.warning if tone == "warning" else st.success)(said)
if "import_failed" in st.session_state:
    st.error(st.session_state.pop("import_failed"))

with st.expander(t("IMPORT_TEMPLATES")):
    st.caption(t("IMPORT_TEMPLATES_HELP"))
    kinds = list(fields.LEDGER_KINDS)
    cols = [col for _ in range(0, len(kinds), 4) for col in st.columns(4)]  # 4 a row: labels fit whole
    for col, kind in zip(cols, kinds):
        col.download_button(importing.kind_label(kind), importing.template(kind),
                            file_name=f"导入模板-{importing.kind_label(kind)}.xlsx", key=f"template-{kind}", width="stretch",
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

st.markdown(importing.uploader_css(), unsafe_allow_html=True)  # our words, none from a file
uploads = st.file_uploader(t("IMPORT_UPLOAD"), accept_multiple_files=True, type=list(importing.UPLOAD_TYPES),
                           help=t("IMPORT_UPLOAD_LIMIT", types=t("LIST_SEP").join(importing.UPLOAD_TYPES)))
st.caption(t("IMPORT_UPLOAD_LIMIT", types=t("LIST_SEP").join(importing.UPLOAD_TYPES)))

importing.forget_others({u.file_id for u in uploads or []})
for upload in uploads or []:
    fid = upload.file_id
    if importing.ended(fid):  # imported (or refused at the commit): its file is already deleted
        st.caption(t("IMPORT_ENDED", file=safe.markdown(upload.name)))
        continue
    path = importing.saved(upload)
    with st.container(border=True):
        st.subheader(safe.markdown(upload.name))
        choice = st.selectbox(t("IMPORT_KIND"), ["", *fields.ALL_KINDS], key=f"kind-{fid}",
                              format_func=lambda k: t("IMPORT_KIND_AUTO") if not k else importing.kind_label(k))
        kind = choice or None
        mapping = st.session_state.setdefault(f"map-{fid}", {})
        matches = st.session_state.setdefault(f"match-{fid}", {})
        sheet = st.session_state.get(f"sheet-{fid}") or None
        header_row = st.session_state.get(f"hrow-{fid}") or None
        township = st.session_state.get(f"town-{fid}") or None
        result = importing.check(path, upload.name, kind, mapping, matches, sheet, header_row, township)
        if len(result.sheets) > 1:  # a workbook of several sheets: the detected one, or the one picked
            st.selectbox(t("IMPORT_SHEET_PICK"), ["", *result.sheets], key=f"sheet-{fid}",
                         format_func=lambda s, found=result.sheet: (
                             t("IMPORT_SHEET_AUTO") + (f"{t('COLON')}{found}" if found else "")) if not s else s)

        facts = importing.detected(result)
        if facts:
            st.caption(" · ".join(facts))
        if result.kind != fields.BOUNDARY_KIND and result.status != "unchanged":
            # no header found, or the wrong row: the user points at it among the first rows
            lost = any(e.code in ("no_header", "bad_header_row") for e in result.errors)
            with st.expander(t("IMPORT_HEADER_ROW"), expanded=lost or bool(header_row)):
                st.caption(t("IMPORT_HEADER_ROW_HELP"))
                letters, rows = importing.first_rows(path, upload.name, result.sheet or sheet)
                if rows:
                    st.dataframe(importing.rows_table(letters, rows), height=300)
                    st.selectbox(t("IMPORT_HEADER_ROW_PICK"), [0, *range(1, len(rows) + 1)], key=f"hrow-{fid}",
                                 format_func=lambda n: t("IMPORT_HEADER_ROW_N", n=n) if n else t("IMPORT_HEADER_ROW_AUTO"))
        if importing.township_wanted(result, township):
            # a file of one township with no township column (a 司法所's list): the whole file's
            choices = importing.township_choices()
            if choices:
                st.selectbox(t("IMPORT_TOWNSHIP_PICK"), ["", *choices], key=f"town-{fid}",
                             help=t("IMPORT_TOWNSHIP_HELP"),
                             format_func=lambda c, choices=choices: choices.get(c, t("IMPORT_TOWNSHIP_NONE")))
        if result.duplicate_headers:
            # a header written twice: the user says which column is meant, the importer never guesses
            st.markdown(f"**{t('IMPORT_DUPLICATES')}**")
            letters, rows = importing.first_rows(path, upload.name, result.sheet or sheet)
            below = rows[result.header_row:result.header_row + 3] if result.header_row else []
            for index, d in enumerate(result.duplicate_headers):
                shown = [c["letter"] for c in d["columns"]]
                sample = {x: "、".join(r[letters.index(x)] for r in below if x in letters and r[letters.index(x)])
                          for x in shown}
                pick = st.radio(t("IMPORT_DUPLICATE_PICK", header=d["header"], letters=t("LIST_SEP").join(shown)),
                                ["", *shown], key=f"dup-{fid}-{index}", horizontal=True,
                                format_func=lambda x, sample=sample: t("IMPORT_DUPLICATE_COLUMN", letter=x,
                                                                        sample=sample.get(x) or "—")
                                if x else t("IMPORT_DUPLICATE_NONE"))
                if pick:
                    st.session_state[f"map-{fid}"] = {**mapping, **importing.duplicate_choice(d, pick)}
                    st.rerun()
        if result.kind == fields.BOUNDARY_KIND and result.headers:
            # which property holds the name, the code and the county: detected, and overridable
            st.markdown(f"**{t('IMPORT_BOUNDARY_PICK')}**")
            st.caption(t("IMPORT_BOUNDARY_PICK_HELP"))
            picks = {}
            for col, role in zip(st.columns(3), ("name", "code", "county")):
                props = ["", *result.headers]
                found = result.mapping.get(role, "")
                picks[role] = col.selectbox(t(f"IMPORT_BOUNDARY_{role.upper()}"), props,
                                            index=props.index(found) if found in props else 0,
                                            key=f"bfield-{fid}-{role}-{found}",
                                            format_func=lambda p: p or t("IMPORT_BOUNDARY_AUTO"))
            # only an explicit pick that differs from what was used changes anything ("" = detect)
            if any(p and p != result.mapping.get(role) for role, p in picks.items()):
                st.session_state[f"map-{fid}"] = {p: role for role, p in picks.items() if p}
                st.rerun()

        if result.status == "unchanged":
            p = result.previous_import
            st.info(t("IMPORT_UNCHANGED", file=safe.markdown(upload.name), id=p["import_id"], when=p["finished_at"]))
            continue

        if result.preview is not None:
            st.markdown(f"**{t('IMPORT_PREVIEW')}**")
            st.dataframe(result.preview, hide_index=True, height=240)

        if result.kind in fields.KINDS and result.headers:
            st.markdown(f"**{t('IMPORT_MAPPING')}**")
            st.caption(t("IMPORT_MAPPING_HELP"))
            if result.remembered:
                st.caption(t("IMPORT_REMEMBERED"))
            options = importing.field_options(result.kind, result.mapping)
            labels = list(options.values())
            table = pd.DataFrame({
                t("IMPORT_COL_HEADER"): result.headers,
                t("IMPORT_COL_FIELD"): [options.get(result.mapping.get(h, ""), labels[0]) for h in result.headers],
            })
            edited = st.data_editor(
                table, hide_index=True, key=f"editor-{fid}-{result.kind}", width="stretch",
                disabled=[t("IMPORT_COL_HEADER")],
                column_config={t("IMPORT_COL_FIELD"): st.column_config.SelectboxColumn(options=labels, required=False)},
            )
            by_label = {label: name for name, label in options.items()}
            chosen = {h: by_label.get(v or labels[0], "") for h, v in
                      zip(edited[t("IMPORT_COL_HEADER")], edited[t("IMPORT_COL_FIELD")])}
            current = {h: result.mapping.get(h, "") for h in result.headers}
            if chosen != current:
                st.session_state[f"map-{fid}"] = chosen
                st.rerun()

        if result.unmatched:
            st.markdown(f"**{t('IMPORT_MATCHES')}**")
            st.caption(t("IMPORT_MATCHES_HELP"))
            picked = dict(matches)
            for index, u in enumerate(result.unmatched):
                if not u.name:
                    continue
                codes = [""] + [c["code"] for c in u.candidates]
                names = {c["code"]: c['name'] + fmt.aside(f"{c['county_name']}{t('LIST_COMMA')}{c['code']}", lang())
                         for c in u.candidates}
                county = f"{u.county}，" if u.county else ""
                value = st.selectbox(
                    t("IMPORT_MATCH_PICK", name=safe.markdown(importing.echoed(u.name)), county=safe.markdown(county), n=u.count, row=u.rows[0]), codes,
                    key=f"pick-{fid}-{index}",
                    format_func=lambda c, names=names: names.get(c, t("IMPORT_MATCH_NONE")))
                if value:
                    picked[u.name] = value
            if picked != matches:
                st.session_state[f"match-{fid}"] = picked
                st.rerun()

        if result.left_out:  # boundary features not imported: put each in today's township, or leave it out
            st.markdown(f"**{t('IMPORT_LEFT_OUT')}**")
            st.caption(t("IMPORT_LEFT_OUT_HELP"))
            picked = dict(matches)
            for index, u in enumerate(result.left_out):
                if not u.name:
                    continue
                labels = {c["code"]: importing.left_out_label(c) for c in u.candidates}
                labels[importing.LEAVE_OUT] = t("IMPORT_LEFT_OUT_SKIP")
                value = st.selectbox(
                    t("IMPORT_LEFT_OUT_PICK", name=safe.markdown(importing.echoed(u.name)),
                      county=safe.markdown(f"{u.county}，" if u.county else ""), row=u.rows[0]),
                    ["", *labels], key=f"leave-{fid}-{index}",
                    format_func=lambda c, labels=labels: labels.get(c, t("IMPORT_LEFT_OUT_UNDECIDED")))
                if value:
                    picked[u.name] = "" if value == importing.LEAVE_OUT else value
            if picked != matches:
                st.session_state[f"match-{fid}"] = picked
                st.rerun()

        if result.errors_total:
            st.error(t("IMPORT_ERRORS", n=result.errors_total))
            importing.show_issues(result.errors)
            st.download_button(t("IMPORT_REPORT"), importing.report_bytes(result), key=f"report-{fid}",
                               file_name=f"问题清单-{upload.name}.xlsx",
                               mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        skipped = {k: v for k, v in (result.skipped or {}).items() if v}
        if skipped:
            st.caption(t("IMPORT_SKIPPED", parts=t("LIST_SEP").join(t(f"IMPORT_SKIP_{k.upper()}", n=v) for k, v in skipped.items())))
        if result.warnings:
            with st.expander(t("IMPORT_WARNINGS", n=len(result.warnings))):
                importing.show_issues(result.warnings, cap=400)

        if result.duplicates_dropped:
            st.caption(t("IMPORT_REPEATED_ROWS", n=f"{result.duplicates_dropped:,}"))
        if result.status == "dry_run":
            periods = t("IMPORT_READY_PERIODS", periods=importing.periods_text(result.periods)) if result.periods else ""
            st.success(t("IMPORT_READY", rows=f"{result.accepted:,}", townships=result.townships, periods=periods))
            replace = False
            if result.replacements:
                st.markdown(f"**{t('IMPORT_REPLACE_LIST')}**")
                st.dataframe(importing.replacements_table(result), hide_index=True)
            elif result.replaced:
                st.warning(t("IMPORT_REPLACES", n=f"{result.replaced:,}"))
            if result.needs_replace:
                st.warning(t("IMPORT_REPLACE_NEEDED"))
                replace = st.checkbox(t("IMPORT_REPLACE_CONFIRM"), key=f"replace-{fid}")
            if st.button(t("IMPORT_COMMIT"), key=f"commit-{fid}", type="primary",
                         disabled=result.needs_replace and not replace):
                try:
                    done = importing.commit(path, upload.name, kind, mapping, matches, sheet, header_row,
                                            replace=replace, township=township)
                except TimeoutError:
                    st.error(t("IMPORT_BUSY"))
                else:
                    importing.forget(fid, end=True)  # the import has ended: the uploaded file goes
                    if done.status == "imported":
                        st.session_state["import_done"] = importing.outcome(done, upload.name)
                    else:
                        st.session_state["import_failed"] = t("IMPORT_ERRORS", n=done.errors_total)
                    st.rerun()

st.subheader(t("IMPORT_HISTORY"))
if "import_undone" in st.session_state:
    done, message = st.session_state.pop("import_undone")
    (st.success if done else st.error)(message)
history = importing.history()
if history.empty:
    st.caption(t("IMPORT_HISTORY_EMPTY"))
else:
    st.dataframe(history, hide_index=True)
    with st.expander(t("IMPORT_UNDO")):
        st.caption(t("IMPORT_UNDO_HELP"))
        choices = importing.undoable(history)
        if not choices:
            st.caption(t("IMPORT_UNDO_NONE"))
        else:
            # keyed by the newest import: after another import the picker starts at the newest again
            picked = st.selectbox(t("IMPORT_UNDO_PICK"), list(choices), format_func=choices.get,
                                  key=f"undo-pick-{max(choices)}")
            if st.button(t("IMPORT_UNDO_BUTTON"), key="undo-button"):
                st.session_state["import_undone"] = importing.undo(picked)
                st.rerun()
