"""An import's outcome for people: a few lines of text (CLI), and an .xlsx report of every problem
(page download and `cli.py import --report`). Household ids never appear: the importer leaves
their cells out of every issue."""
import io
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from export import cells
from importer import messages
from importer.fields import KIND_LABELS

STATUS = {"imported": "已导入", "unchanged": "未改变（此文件已导入过）", "rejected": "已拒绝，数据库未改动",
          "dry_run": "检查通过（试运行，未写入）"}


def text_summary(result) -> str:
    kind = KIND_LABELS.get(result.kind or "", result.kind or "未知类型")
    lines = [f"{result.file}：{kind} — {STATUS.get(result.status, result.status)}"]
    lines.append(f"  数据行 {result.rows:,}，可导入 {result.accepted:,}"
                 + (f"，替换原有 {result.replaced:,} 行" if result.replaced else "")
                 + (f"，涉及 {result.townships} 个乡镇" if result.townships else "")
                 + (f"，期间 {'、'.join(result.periods[:6])}{'…' if len(result.periods) > 6 else ''}" if result.periods else ""))
    if result.previous_import:
        p = result.previous_import
        lines.append(f"  与第 {p['import_id']} 次导入（{p['file_name']}，{p['finished_at']}）内容相同，未重复导入")
    skipped = {k: v for k, v in (result.skipped or {}).items() if v}
    if skipped:
        names = {"total": "合计行", "note": "表下备注行", "blank": "空行"}
        lines.append("  已跳过：" + "、".join(f"{names.get(k, k)} {v} 行" for k, v in skipped.items()))
    if result.left_out:
        lines.append(f"  未导入的边界要素 {len(result.left_out)} 个（见提醒；全部清单用 --report 导出）：--match \"名称=代码\" 并入现乡镇，"
                     "--match \"名称=\" 不导入")
    for issue in result.errors[:50]:
        lines.append("  ✗ " + _issue_text(issue))
    if result.errors_total > 50:
        lines.append(f"  …另有 {result.errors_total - 50:,} 个问题（用 --report 导出全部）")
    for issue in result.warnings[:10]:
        lines.append("  ! " + _issue_text(issue))
    return "\n".join(lines)


def _issue_text(issue) -> str:
    where = "全文件" if issue.row is None else f"第 {issue.row} 行"
    column = f"，列“{issue.column}”" if issue.column else ""
    value = (f"，{messages.HIDDEN_VALUE}" if issue.value == messages.HIDDEN_VALUE
             else f"，值“{issue.value}”" if issue.value not in (None, "") else "")
    expected = f"。应为：{issue.expected}" if issue.expected else ""
    return f"{where}{column}{value}：{issue.message}{expected}"


HEADERS = ["文件", "行号", "列", "值", "问题", "应为", "级别"]


def build_workbook(results) -> Workbook:
    book = Workbook()
    sheet = book.active
    sheet.title = "问题清单"
    sheet.append(HEADERS)
    for result in results:
        for severity, issues in (("错误", result.errors), ("提醒", result.warnings)):
            for issue in issues:
                sheet.append([result.file, issue.row, issue.column, issue.value, issue.message, issue.expected, severity])
    unmatched = book.create_sheet("待确认乡镇")
    unmatched.append(["文件", "乡镇名称", "区县", "代码", "行数", "首次出现行", "候选1", "候选2", "候选3"])
    for result in results:
        for u in [*result.unmatched, *result.left_out]:  # boundary features left out, with proposals
            candidates = [f"{c['name']}（{c['county_name']}，{c['code']}）" for c in u.candidates[:3]]
            unmatched.append([result.file, messages.echoed(u.name), u.county, u.code, u.count, ", ".join(map(str, u.rows[:5])),
                              *candidates])
    summary = book.create_sheet("概况", 0)
    summary.append(["文件", "类型", "结果", "数据行", "可导入", "替换原有", "错误数", "提醒数"])
    for result in results:
        summary.append([result.file, KIND_LABELS.get(result.kind or "", result.kind), STATUS.get(result.status),
                        result.rows, result.accepted, result.replaced, result.errors_total, len(result.warnings)])
    for ws in book.worksheets:
        for cell in ws[1]:
            cell.font = Font(bold=True)
            cell.fill = PatternFill("solid", fgColor="DDE6F0")
        for column, width in zip("ABCDEFGHI", (24, 8, 18, 22, 40, 48, 8, 30, 30)):
            ws.column_dimensions[column].width = width
        ws.freeze_panes = "A2"
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    return cells.as_text(book)  # a value such as "=cmd|..." from the file stays text


def xlsx_bytes(results) -> bytes:
    buffer = io.BytesIO()
    build_workbook(results).save(buffer)
    return buffer.getvalue()


def write_xlsx(results, path: str | Path) -> None:
    build_workbook(results).save(str(path))
