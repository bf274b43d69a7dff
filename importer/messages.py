"""What went wrong, in the words of the person who uploaded the file: (why, what is expected).

Keys are the problem codes that importer.values, importer.read, geo.names and
geo.boundary_files return; `{detail}` is filled in where a code carries one.
"""
import re

PROBLEMS: dict[str, tuple[str, str]] = {
    # whole file
    "empty_file": ("文件是空的", "请上传含有表头和数据的台账文件"),
    "unknown_type": ("不支持的文件类型：{detail}", "台账请用 .xlsx、.xls 或 .csv；边界请用 .geojson、.zip（Shapefile）或 .gpkg"),
    "unreadable": ("文件无法读取，可能已损坏或不是所声称的格式（{detail}）", "请在 Excel 中打开后另存为 .xlsx 再上传"),
    "unsafe_zip": ("压缩包解压后过大或结构异常，已拒绝（{detail}）", "请上传正常的 Excel 或 Shapefile 压缩包"),
    "no_such_sheet": ("找不到指定的工作表（{detail}）", "请填写文件中已有的工作表名称"),
    "no_header": ("在前30行中找不到可识别的表头{detail}", "请在页面上选择表头所在行，或用 --header-row 指定（Excel 行号），再把各列对应到字段；可下载导入模板对照"),
    "bad_header_row": ("第 {detail} 行是空的或不在表中，不能作表头", "请选择写有列名的一行（Excel 行号）"),
    "bad_encoding": ("文件编码无法识别（{detail}）", "请将 CSV 另存为 UTF-8 或 GBK 编码"),
    "bad_csv": ("CSV 格式有误：{detail}", "每行的列数应与表头一致；含逗号的内容请加英文双引号"),
    "unknown_kind": ("无法从表头判断台账类型{detail}", "请选择台账类型，或使用 --kind 指定；缺少的列可用 --map 对应"),
    "duplicate_header": ("表头{detail}，无法确定用哪一列", "请在页面上选择要用的列，或用 --map \"表头@列=字段\" 指定（如 --map \"发生时间@F=received_date\"），另一列不导入"),
    "second_column": ("与“{detail}”对应同一字段，已按“{detail}”导入，本列未导入", "如需改用本列，请在列对应中调整（此为提醒）"),
    "missing_column": ("缺少必填列：{detail}", "请在文件中补上该列，或把已有的列对应到该字段"),
    "no_rows": ("表头下面没有数据行", "请填写数据后再导入"),
    "too_many_problems": ("问题过多，仅列出前 {detail} 条", "请先按已列出的问题修改，再重新导入"),
    # cells
    "required": ("必填项为空", "请填写该项"),
    "too_long": ("内容过长（超过1000字）", "请只填写该项的值"),
    "not_a_number": ("不是数字", "请填写数字，如 1234 或 1,234"),
    "percent_not_count": ("这是百分比，不是数量", "请填写户数、个数等整数"),
    "negative": ("数量不能为负数", "请填写 0 或正整数"),
    "not_whole": ("数量应为整数", "请填写整数，如 12"),
    "too_large": ("数值过大", "请核对是否多填了位数"),
    "not_a_coordinate": ("不是有效的经纬度", "请填写十进制度数，如 119.2345"),
    "bad_date": ("日期无法识别", "请填写如 2024-03-05、2024/3/5、2024年3月5日 的日期"),
    "bad_month": ("日期中的月份 {detail} 不存在", "月份应为 1–12；请填写如 2024-03-05 的日期"),
    "bad_day": ("日期 {detail} 不存在：该月没有这一天", "请核对日；如 2024-02-29、2024-04-30"),
    "bad_time": ("日期后面的时间“{detail}”无法识别", "只需填写日期，如 2024-03-05；带时间请写成 2024-03-05 11:00"),
    "month_not_day": ("只填写了月份，缺少日", "请填写具体日期，如 2024-03-05"),
    "future_date": ("日期晚于今天", "请核对年份和月份"),
    "old_date": ("日期早于1990年", "请核对年份"),
    "bad_period": ("月份/季度无法识别", "请填写如 2024年3月、2024-03、2024年第1季度"),
    "day_not_period": ("这是具体日期，不是月份或季度", "请填写如 2024年3月 或 2024年第1季度"),
    "future_period": ("统计期尚未开始", "请核对年份和月份"),
    "bad_year": ("年度不在合理范围内", "填写 2000 年至明年之间的四位年份，如 2025"),
    "bad_choice_risk": ("风险等级无法识别", "请填写 无、低、中、高 之一"),
    "bad_choice_outcome": ("办理结果无法识别", "请填写 调解成功、调解不成、转诉讼、在办 之一（是否成功调解：是 或 否）"),
    "bad_yes_no": ("应为“是”或“否”", "请填写 是 或 否"),
    "bad_code": ("区划代码格式不对", "请填写12位统计用区划代码，如 320703001000"),
    # places
    "unknown_code": ("区划代码不在区划库中", "请核对代码，或先导入含该乡镇的边界文件"),
    "ambiguous": ("乡镇名称对应多个乡镇：{detail}", "请增加“区县”列，或在匹配确认中选择正确的乡镇"),
    "unmatched": ("乡镇名称无法匹配{detail}", "请在匹配确认中选择正确的乡镇，或改为区划库中的名称"),
    "county_unknown": ("区县名称无法识别，已忽略", "请填写区县全称，如 海州区"),
    "code_name_conflict": ("区划代码与乡镇名称不一致，按代码导入", "请核对代码和名称"),
    "auto_match": ("乡镇名称与区划库不完全一致，已自动对应为 {detail}", "如对应错了，请改正文件中的乡镇名称后重新上传（此为提醒）"),
    # rows and the whole table
    "closed_before_received": ("办结日期早于受理日期", "办结日期应不早于受理日期"),
    "closed_before_opened": ("撤销日期早于建成日期", "撤销日期应不早于建成日期"),
    "screened_over_registered": ("排查户数 {detail} 超过登记户数", "排查户数不应超过该乡镇的登记户数；请核对，或先导入区划与底数"),
    "risk_over_screened": ("风险户数合计超过排查户数", "低、中、高风险户数之和应不超过排查户数"),
    "outside_china": ("坐标不在中国境内（{detail}）", "经度约 73–136，纬度约 3–54；请核对小数点和正负号"),
    "swapped_coordinates": ("经度和纬度可能填反了（{detail}）", "经度约 73–136 在前，纬度约 3–54 在后"),
    "half_coordinate": ("只填写了经度或纬度中的一个", "经纬度要么都填，要么都不填"),
    "outside_township": ("坐标不在所属乡镇范围内（{detail}）", "请核对坐标或所属乡镇（此为提醒，不阻止导入）"),
    "room_not_found": ("调解阵地“{detail}”不在阵地台账中，未关联", "请先导入调解阵地台账，或填写台账中的阵地名称（此为提醒）"),
    "blank_risk_as_none": ("风险等级为空，按“无”计", "如发现风险，请填写 低、中、高（此为提醒）"),
    "no_household_total": ("{detail} 个乡镇没有登记户数，排查率暂不能计算", "请导入区划与底数（此为提醒）"),
    "unmapped_column": ("无法识别的列，已忽略{detail}", "如需导入，请把该列对应到一个字段"),
    "rate_mismatch": ("填报的排查率与户数计算的不一致（{detail}）", "请核对排查户数和登记户数（此为提醒）"),
    # boundary files (codes from geo.boundary_files)
    "no_crs": ("边界文件没有坐标系，且坐标不是经纬度", "请在 GIS 软件中为文件定义坐标系（如 CGCS2000）后导出"),
    "assumed_wgs84": ("边界文件没有坐标系，按经纬度（WGS84）处理", "建议导出时带上 .prj 坐标系文件（此为提醒）"),
    "empty_geometry": ("该要素没有几何图形", "请删除该要素或补画边界"),
    "not_polygon": ("该要素不是面（多边形）", "乡镇边界应为面要素"),
    "no_name_or_code": ("该要素既没有名称也没有区划代码", "请为要素填写乡镇名称或区划代码属性"),
    "duplicate_code": ("区划代码在文件中重复", "每个乡镇只保留一个要素（多块区域请合并为一个多面要素）"),
    "missing_field": ("找不到指定的属性（{detail}）", "请填写文件中已有的属性名"),
    "no_features": ("边界文件中没有要素", "请导出含有乡镇面要素的文件"),
    "repaired": ("几何图形有自相交等问题，已自动修复", "建议在 GIS 软件中检查该要素（此为提醒）"),
    "no_code_new_township": ("区划库中没有该乡镇，且文件中没有区划代码，无法新增", "请在文件中加上12位区划代码属性"),
}


PROBLEMS.update({
    "duplicate_dropped": ("与第 {detail} 行是同一条记录，只保留一次", "同一记录只需填写一行（此为提醒）"),
    "conflicting_duplicate": ("与第 {detail} 行是同一记录（编号相同，或同户同日），但“{detail2}”不同",
                              "请核对两行，删去错误的一行或改正编号"),
    "same_name_room": ("与第 {detail} 行的阵地同名，按两个阵地导入", "如为同一阵地，请删去一行（此为提醒）"),
    "replaces": ("{detail}", "导入后原有记录可撤销恢复（此为提醒）"),
    "replaces_more": ("{detail}，多于本文件带来的记录", "如确认以本文件为准，请勾选“确认替换”或使用 --replace"),
    "no_period": ("找不到统计月份：文件没有月份列，标题和填报行中也没有写明", "请在标题中写明，如“XX县2025年4月矛盾纠纷排查化解情况统计表”，或在页面上选择统计期、使用 --period 2025-04"),
    "period_from_title": ("统计期取自{detail}", "如不对，请改正标题或填报月份（此为提醒）"),
    "period_option_ignored": ("文件已写明统计期（{detail}），未采用另行指定的统计期", "如文件写错，请改正后再导入（此为提醒）"),
    "resolved_over_received": ("“{detail}”的化解数与未化解数之和超过排查数", "化解数 + 未化解数应不超过排查数"),
    "broken_geometry": ("该要素的几何图形损坏，无法读取（如面的首尾点不闭合、点数不足）", "请在 GIS 软件中修复或重画该要素后导出"),
    "lake_conflict": ("另一处导入同时改动了同样的数据，本次导入已重新运行 {detail} 次仍未能写入；文件未导入，数据库没有改变",
                      "请稍后再导入这个文件（其他导入完成后即可）"),
    "internal_error": ("读取这个文件时出了意外的错误（{detail}），文件未导入，数据库没有改变", "请把文件和这条信息发给系统管理员"),
    "excel_error": ("单元格是 Excel 错误值 {detail}（公式出错），不能当作空白", "请在 Excel 中改正公式或填入数值后再导入"),
    "undo_no_such_import": ("没有第 {detail} 次导入", "请在导入记录中查看编号"),
    "undo_already": ("第 {detail} 次导入已撤销", "无需再次撤销"),
    "undo_superseded": ("第 {detail} 次导入的数据已被第 {detail2} 次导入全部替换，不能单独撤销",
                        "如需恢复，请撤销第 {detail2} 次导入"),
    "undo_later_first": ("第 {detail} 次导入的部分数据已被第 {detail2} 次导入替换", "请先撤销第 {detail2} 次导入"),
    "undo_conflict": ("撤销会与后来导入的记录冲突（{detail}）", "请先撤销后来的导入"),
})

# What a row of each kind is, for the replacement notice (“已有的 10 件纠纷”).
UNITS = {"cases": "件纠纷", "screening": "条排查记录", "screening_summary": "条排查汇总", "rooms": "个调解阵地",
         "regions": "条户数底数", "targets": "条年度目标", "boundaries": "个乡镇边界",
         "cases_summary": "条纠纷统计"}


def month_span(first: str | None, last: str | None) -> str:
    """2025-04, 2025-06 -> 2025年4—6月; across a year, 2024年11月—2025年2月; no months -> ''."""
    if not first:
        return ""
    y1, m1 = int(first[:4]), int(first[5:7])
    y2, m2 = int(last[:4]), int(last[5:7])
    if (y1, m1) == (y2, m2):
        return f"{y1}年{m1}月"
    if y1 == y2:
        return f"{y1}年{m1}—{m2}月"
    return f"{y1}年{m1}月—{y2}年{m2}月"


def replacement(township: str, first: str | None, last: str | None, rows: int, brings: int, kind: str) -> str:
    """将替换 新坝镇 2025年4—6月已有的 10 件纠纷（本文件 18 件）"""
    unit = UNITS.get(kind, "条记录")
    return f"将替换 {township} {month_span(first, last)}已有的 {rows:,} {unit}（本文件 {brings:,} {unit[0]}）"


def no_header_detail(sheets: list[str], row: int | None, known: list[str], unknown: list[str]) -> str:
    """What the header search saw: the row most like a header, the headers it knew and did not."""
    parts = [f"（工作表：{'、'.join(sheets)}）"] if sheets else []
    if row is None:
        return "".join(parts) + "：前30行都是空的"
    seen = f"。最像表头的是第 {row} 行"
    if known:
        seen += f"：识别出 {'、'.join(known)}"
        seen += f"，未识别 {'、'.join(unknown[:8])}" if unknown else ""
    else:
        seen += f"：{'、'.join(unknown[:8])}，没有一个是已知的列名"
    return "".join(parts) + seen + "（至少要认出两列）" if known else "".join(parts) + seen


def kinds_detail(closest: list[tuple[str, list[str]]]) -> str:
    """For unknown_kind: the closest kinds (their labels) and the required columns each lacks."""
    if not closest:
        return ""
    return "。最接近：" + "；".join(f"{label}（缺少 {'、'.join(lacks)}）" if lacks else label
                                   for label, lacks in closest)


def duplicate_detail(header: str, letters: list[str]) -> str:
    """“发生时间”出现两次（C 列、F 列); a CSV's columns are numbered (第 3 列)."""
    times = {2: "两", 3: "三"}.get(len(letters), str(len(letters)))
    where = "、".join(f"第 {x} 列" if x.isdigit() else f"{x} 列" for x in letters)
    return f"“{header}”出现{times}次（{where}）"


def split(code: str) -> tuple[str, str]:
    """A cell parser's problem is a code, or "code|detail" when it says which part was wrong."""
    code, _, detail = code.partition("|")
    return code, detail


def describe(code: str, detail: str = "") -> tuple[str, str]:
    """(why, expected) for a code ("code|detail" from a cell parser carries its detail); a detail
    "a|b" fills {detail} and {detail2}."""
    code, carried = split(code)
    detail = detail or carried
    why, expected = PROBLEMS.get(code, (code, ""))
    first, _, second = (detail or "").partition("|") if "{detail2}" in why + expected else (detail or "", "", "")
    fill = lambda text: text.replace("{detail}", first).replace("{detail2}", second)  # noqa: E731
    return fill(why), fill(expected)

PROBLEMS["not_township"] = ("该区划代码不是乡镇级（{detail}）", "乡镇级代码的后三位为 000，第7–9位不为 000")
PROBLEMS.update({
    "file_too_large": ("文件过大（{detail}）", "请只导出需要的乡镇，或分区县导出"),
    "missing_layer": ("找不到指定的图层（{detail}）", "请填写文件中已有的图层名"),
    "bad_crs": ("坐标系无法识别或需要联网获取（{detail}）", "请在 GIS 软件中改为 CGCS2000 或 WGS84 经纬度后导出"),
    "encoding_guessed": ("属性文字编码与 .cpg 声明不符，已按 {detail} 读取", "请核对乡镇名称是否显示正常（此为提醒）"),
    "layer_chosen": ("文件有多个图层，已选用面要素最多的一个（{detail}）", "如需其他图层，请指定图层名（此为提醒）"),
    "name_property_chosen": ("乡镇名称取自与区划库名称最吻合的属性（各属性吻合的比例：{detail}）",
                             "如取错了，请指定乡镇名称属性（此为提醒）"),
    "bad_within": ("指定的范围不是区划库中的市或区县（{detail}）", "请填写市或区县的区划代码，如 330100000000（杭州市）或 330110（余杭区）"),
    "outside_viewer": ("乡镇不在您的权限范围内", "您只能导入 {detail} 的数据；请删去其他地区的行，或请管理员导入"),
    "outside_viewer_features": ("{detail} 不在您的权限范围内，未导入", "您只能导入本人负责地区的边界（此为提醒）"),
    "undo_outside_viewer": ("导入 {detail} 含有您权限范围以外地区的数据，不能由您撤销", "请管理员撤销"),
    "outside_within": ("{detail} 不在指定的范围内，未导入", "如需导入，请去掉范围或改选范围（此为提醒）"),
    "nothing_matched": ("没有一个要素能对应到区划库中的乡镇，文件未导入", "请核对乡镇名称属性和所选范围，或在匹配确认中为要素选择乡镇"),
    "left_out": ("该要素未导入：名称在区划库中找不到，也没有可推荐的现乡镇", "如应导入，请在匹配确认中选择乡镇（此为提醒）"),
    "left_out_overlap": ("该要素未导入：名称在区划库中找不到（可能已撤并），它的范围与现 {detail} 重叠最多",
                         "如已并入该乡镇，请在匹配确认中选择它，边界会并入；不需要时可不导入（此为提醒）"),
    "left_out_border": ("该要素未导入：名称在区划库中找不到（可能已撤并），它与现 {detail} 相邻的边界最长",
                        "如已并入该乡镇，请在匹配确认中选择它，边界会并入；不需要时可不导入（此为提醒）"),
    "left_out_same_name": ("该要素未导入：同名的 {detail} 不在该要素所在的区县，不自动匹配",
                           "如确是该乡镇，请在匹配确认中选择它；否则可不导入（此为提醒）"),
    "left_out_similar": ("该要素未导入：名称在区划库中找不到，可能是 {detail}", "如是，请在匹配确认中选择它；否则可不导入（此为提醒）"),
    "left_out_by_user": ("已按确认不导入该要素", "如需导入，请在匹配确认中为它选择乡镇（此为提醒）"),
    "joined_polygons": ("已按确认把撤并前的要素并入 {detail}，边界合并为一个", "请核对合并后的边界（此为提醒）"),
    "missing_dbf": ("Shapefile 缺少 .dbf 属性文件，读不到乡镇名称和代码", "请把同名的 .shp、.shx、.dbf、.prj（和 .cpg）文件一起打包成 .zip 上传"),
    "missing_shx": ("Shapefile 缺少 .shx 索引文件", "请把同名的 .shp、.shx、.dbf、.prj（和 .cpg）文件一起打包成 .zip 上传"),
})


PROBLEMS.update({
    # a file from one township (--township), or one that names its townships only in an address
    "township_option_unknown": ("指定的乡镇“{detail}”不在区划库中{detail2}",
                                "请写区划库中的乡镇名称或12位区划代码，如 --township 320703001000"),
    "township_option_ambiguous": ("指定的乡镇“{detail}”对应多个乡镇：{detail2}",
                                  "请写区划代码，如 --township 320703001000（页面上从列表中选择）"),
    "township_and_column": ("文件已有乡镇列“{detail}”，又指定了整个文件属于“{detail2}”，不知以哪个为准",
                            "按文件中的乡镇导入请去掉 --township；以指定的乡镇为准请用 --map \"{detail}=\" 不导入该列"),
    "address_no_township": ("地址中找不到乡镇名称", "请在地址中写明乡镇，或用 --township 指定整个文件所属的乡镇（页面上选择“整个文件属于”）"),
    "address_township": ("地址中写有乡镇“{detail}”，需要确认是哪个乡镇：{detail2}",
                         "请在匹配确认中选择该乡镇，或用 --match \"名称=代码\" 确认（确认后记住，下次自动匹配）"),
})


def undone(done: dict) -> str:
    return (f"已撤销第 {done['import_id']} 次导入（{done['file']}）：删除 {done['removed']:,} 条，"
            f"恢复 {done['restored']:,} 条")


# ---- values echoed back ------------------------------------------------------------------------
# A problem may quote the cell it is about, so the person can find it; but with headers written
# over the wrong columns (风险等级 over the household id column) the cell is a household id, and a
# problem list, a report, the CLI or the preview would print it. A value from a file is echoed
# only if it cannot be an identifier: short (at most ECHO_MAX characters), and, once dates and
# years (2024-03-05, 2024年3月, 2024Q1) are set aside, with no run of four or more digits, no
# letter in the company of a digit (H12, XP-0001, A3) and no digit joined to a word by - _ # /
# (12-0034; a minus sign, -3, is a number).
HIDDEN_VALUE = "该单元格的值（已隐藏，疑似编号）"
_EXCEL_ERROR = re.compile(r"#(?:DIV/0!|REF!|N/A|NAME\?|NULL!|NUM!|VALUE!|SPILL!|CALC!|GETTING_DATA)")
HIDDEN_CELL = "＊＊＊"  # the preview's mask, as for the household id column itself
ECHO_MAX = 20
_DATE_LIKE = re.compile(r"(?:19|20)\d{2}\s*(?:年\s*(?:第?\s*\d{1,2}\s*(?:季度|月))?|[-/.]\s*\d{1,2}(?:\s*[-/.]\s*\d{1,2})?"
                        r"|\s*[Qq]\d)(?:\s*\d{1,2}\s*日)?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")


def looks_like_id(value) -> bool:
    """True for text that may identify a household or a person (see above)."""
    if _EXCEL_ERROR.fullmatch(str(value).strip()):
        return False
    text = re.sub(r"(?<=\d)\.\d+", "", _DATE_LIKE.sub(" ", str(value)))  # 119.2345: a decimal, not a run
    return bool(re.search(r"\d{4,}", text) or (re.search(r"[A-Za-z]", text) and re.search(r"\d", text))
                or re.search(r"\w\s*[-_#/\\]\s*\d", text))


def masked(text: str) -> str:
    """A cell of a table shown back (the preview, the first rows): itself, or HIDDEN_CELL."""
    return HIDDEN_CELL if looks_like_id(text) else text


def echoed(value):
    """``value`` as a problem may quote it: itself, or HIDDEN_VALUE (None stays None)."""
    if value is None or str(value).strip() == "":
        return value
    text = str(value)
    return HIDDEN_VALUE if len(text.strip()) > ECHO_MAX or looks_like_id(text) else text
