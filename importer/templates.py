"""Blank ledgers to hand to township staff: the Chinese headers the importer knows best, one
example row, and an instructions sheet (填表说明) per kind."""
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from export import cells
from importer.fields import KIND_LABELS, KINDS, WIDE_KINDS

EXAMPLES = {
    "regions": {"county": "海州区", "township": "新浦街道", "township_code": "320706001000", "households": 12345,
                "villages": 18},
    "rooms": {"room_id": "", "name": "新浦街道家事调解工作室", "room_type": "家事调解工作室", "county": "海州区",
              "township": "新浦街道", "village": "民主路社区", "address": "民主路 88 号", "longitude": 119.1789,
              "latitude": 34.6012, "opened_date": "2024-03-05", "closed_date": "", "mediators": 3,
              "meets_standard": "是"},
    "screening": {"screened_date": "2024-03-05", "county": "海州区", "township": "新浦街道", "village": "民主路社区",
                  "household_id": "XP-0001", "risk_level": "无", "risk_type": ""},
    "screening_summary": {"period": "2024年3月", "county": "海州区", "township": "新浦街道",
                          "households_screened": 1520, "risk_low": 12, "risk_medium": 3, "risk_high": 0},
    "cases": {"case_id": "HZ2024-0001", "received_date": "2024-03-05", "county": "海州区", "township": "新浦街道",
              "village": "民主路社区", "case_type": "婚姻纠纷", "source": "12338热线", "risk_level": "中",
              "outcome": "调解成功", "closed_date": "2024-03-12", "room": "新浦街道家事调解工作室"},
    "targets": {"county": "海州区", "township": "新浦街道", "township_code": "320706001000", "year": 2025,
                "target_households": 9800},
}
CHOICES = {"risk_level": "无,低,中,高", "outcome": "调解成功,调解不成,转诉讼,在办", "meets_standard": "是,否"}

GENERAL = [
    "1. 第一行为表头，请勿修改列名；可以在表头上方加标题行，表格下方可以加“注：”说明，导入时会自动跳过。",
    "2. 乡镇（街道）填名称或12位区划代码均可；名称有出入（如“禄脿”“禄脿街道”“禄脿街道办事处”）会自动匹配，匹配不上的会请您确认。",
    "3. 日期可写 2024-03-05、2024/3/5、2024.3.5 或 2024年3月5日；数字可带千分位或“户”“个”等单位。",
    "4. “合计”“小计”行不会当作乡镇导入。",
    "5. 同一乡镇同一期间再次导入更正后的台账，会替换该期间原有数据，导入前会提示替换多少行。",
    "6. 户编号等涉及家庭的信息只用于统计去重，导入后只保存加密摘要，不会在任何页面或导出中显示。",
]


RETURN_TYPES = ("婚姻家庭纠纷", "家庭暴力", "邻里纠纷")
RETURN_EXAMPLE = (("新浦街道", (6, 5, 1), (1, 1, 0), (4, 3, 1)), ("浦西街道", (3, 3, 0), (0, 0, 0), (2, 2, 0)))


def _return_workbook(kind: str) -> Workbook:
    """A statistical return laid out as offices publish it: title with the month, a 填报 line, the
    township column and each dispute type over 排查数 / 化解数 / 未化解数."""
    book = Workbook()
    sheet = book.active
    sheet.title = KIND_LABELS[kind][:28]
    width = 2 + 3 * len(RETURN_TYPES)
    sheet.append(["XX县2024年3月矛盾纠纷排查化解情况统计表"])
    sheet.append(["填报单位：XX县妇联", None, None, None, "填报月份：2024年3月"])
    sheet.append(["序号", "乡镇（街道）"] + [x for t in RETURN_TYPES for x in (t, None, None)])
    sheet.append([None, None] + ["排查数", "化解数", "未化解数"] * len(RETURN_TYPES))
    for n, (town, *counts) in enumerate(RETURN_EXAMPLE, start=1):
        sheet.append([n, town] + [x for c in counts for x in c])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    for column in (1, 2):
        sheet.merge_cells(start_row=3, start_column=column, end_row=4, end_column=column)
    for i in range(len(RETURN_TYPES)):
        sheet.merge_cells(start_row=3, start_column=3 + 3 * i, end_row=3, end_column=5 + 3 * i)
    for row in (3, 4):
        for column in range(1, width + 1):
            cell = sheet.cell(row=row, column=column)
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center")
    notes = book.create_sheet("填表说明")
    notes.append([f"{KIND_LABELS[kind]} 填表说明"])
    for line in ("1. 统计月份写在标题（XX县2024年3月…统计表）或“填报月份”一行；也可加一列“月份”。",
                 "2. 每类纠纷下分“排查数、化解数、未化解数”三列；纠纷类型可增可减，“合计”列和“合计”行不导入。",
                 "3. 同一乡镇同一月份再次导入，以新表为准；导入前会提示替换多少行，导入后可撤销。",
                 "4. 有逐案台账的乡镇，指标按台账计；没有的，按本表计（排查数为受理，化解数为调解成功）。"):
        notes.append([line])
    notes.column_dimensions["A"].width = 90
    return book


def workbook(kind: str) -> Workbook:
    if kind in WIDE_KINDS:
        return _return_workbook(kind)
    fields = KINDS[kind]
    book = Workbook()
    sheet = book.active
    sheet.title = KIND_LABELS[kind][:28]
    sheet.append([f.label + ("*" if f.required else "") for f in fields])
    example = EXAMPLES[kind]
    sheet.append([example.get(f.name, "") for f in fields])
    for index, f in enumerate(fields, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="9E3A4B" if f.required else "5B6B7C")
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        sheet.column_dimensions[cell.column_letter].width = max(12, len(f.label) * 2 + 4)
        if f.name in CHOICES:
            rule = DataValidation(type="list", formula1=f'"{CHOICES[f.name]}"', allow_blank=not f.required)
            sheet.add_data_validation(rule)
            rule.add(f"{cell.column_letter}2:{cell.column_letter}5000")
    sheet.freeze_panes = "A2"
    notes = book.create_sheet("填表说明")
    notes.append([f"{KIND_LABELS[kind]} 填表说明"])
    notes["A1"].font = Font(bold=True, size=14)
    notes.append([])
    notes.append(["列名", "是否必填", "说明", "也可写作"])
    for f in fields:
        notes.append([f.label, "必填" if f.required else "选填", f.help or "", "、".join(f.synonyms[:6])])
    if kind != "regions":
        notes.append(["乡镇（街道）/乡镇区划代码", "二选一必填", "填写其一即可，都填时以代码为准", ""])
    notes.append([])
    for line in GENERAL:
        notes.append([line])
    for column, width in zip("ABCD", (26, 12, 48, 40)):
        notes.column_dimensions[column].width = width
    return book


def xlsx_bytes(kind: str) -> bytes:
    buffer = io.BytesIO()
    cells.as_text(workbook(kind)).save(buffer)
    return buffer.getvalue()
