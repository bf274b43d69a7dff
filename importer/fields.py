"""What each kind of ledger holds, and every way its headers are written in the field.

The one table of header synonyms (STYLE: Chinese lives here, in ui/text.py and in the data).
A header is normalised (full-width to half-width, spaces and punctuation gone, a unit in
brackets dropped, a 所属/所在 prefix dropped) before it is compared, so the synonyms below are
written once, in their plainest form.
"""
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process


@dataclass(frozen=True)
class Field:
    name: str                 # the column in the database (English)
    label: str                # the header in our templates (Chinese)
    kind: str                 # text | code | int | float | date | period | bool | choice | lon | lat
    synonyms: tuple[str, ...]
    required: bool = False
    sensitive: bool = False   # never shown back (household ids)
    help: str = ""            # one line for the template's instructions sheet


# Where a row is: every ledger names its township by name, by code, or both.
_PLACE = (
    Field("county", "区县", "text", ("区县", "县区", "县市区", "区", "县", "区县名称", "县区名称",
                                      "区县(市)", "县(市、区)", "县市区名称")),
    Field("township", "乡镇（街道）", "text", ("乡镇", "街道", "乡镇街道", "镇街", "镇街道", "乡镇名称",
                                             "街道名称", "乡镇街道名称", "镇", "乡", "镇(街道)", "乡(镇)",
                                             "乡镇(街道)名称", "街镇", "镇街名称", "镇办", "乡镇办", "镇(街)",
                                             "镇街办", "区域", "所属区域")),
    Field("township_code", "乡镇区划代码", "code", ("乡镇代码", "街道代码", "区划代码", "统计用区划代码",
                                                  "行政区划代码", "乡镇区划代码", "代码", "乡镇编码",
                                                  "地区编码", "地区代码", "区划编码")),
)
_VILLAGE = Field("village", "村（社区）", "text", ("村", "社区", "村社区", "村居", "村(社区)名称", "村社区名称",
                                               "村名", "社区名称", "村委会", "村居委会", "村(居)"))

KINDS: dict[str, tuple[Field, ...]] = {
    "regions": _PLACE + (
        Field("households", "户数（户）", "int", ("户数", "总户数", "户籍户数", "常住户数", "家庭户数",
                                                "登记户数", "辖区户数", "在册户数", "户"), required=True,
              help="辖区登记的家庭户数，整数"),
        Field("villages", "村（社区）数（个）", "int", ("村社区数", "村数", "社区数", "村居数", "村(社区)数",
                                                    "行政村数", "村(社区)个数", "村个数"),
              help="辖区内村、社区个数，整数"),
    ),
    "rooms": (
        Field("room_id", "阵地编号", "text", ("编号", "阵地编号", "调解室编号", "序号编码")),
        Field("name", "阵地名称", "text", ("名称", "阵地名称", "调解室名称", "工作室名称", "调解阵地名称",
                                         "调解阵地", "站点名称", "婚调坊名称", "机构名称", "调解组织名称",
                                         "调委会名称"), required=True),
        Field("room_type", "阵地类型", "text", ("类型", "阵地类型", "调解室类型", "类别", "阵地类别", "机构类型",
                                              "调解组织类型", "组织类型"),
              required=True, help="如：婚调坊、家事调解工作室、和合之家"),
    ) + _PLACE + (
        _VILLAGE,
        Field("address", "地址", "text", ("地址", "详细地址", "所在地址", "位置", "地点", "机构地址", "办公地址")),
        Field("longitude", "经度", "lon", ("经度", "lng", "lon", "longitude", "x", "东经")),
        Field("latitude", "纬度", "lat", ("纬度", "lat", "latitude", "y", "北纬")),
        Field("opened_date", "建成日期", "date", ("建成日期", "成立日期", "设立日期", "启用日期", "成立时间",
                                               "建成时间", "开设日期", "揭牌日期", "挂牌日期", "建立时间"),
              help="如 2024-03-05；不填表示一直在用（12348 机构名录没有建成日期）"),
        Field("closed_date", "撤销日期", "date", ("撤销日期", "关闭日期", "停用日期", "撤销时间", "注销日期")),
        Field("mediators", "调解员人数", "int", ("调解员人数", "调解员数", "调解员", "人员数", "工作人员数",
                                               "调解员数量")),
        Field("meets_standard", "是否达标", "bool", ("是否达标", "达标", "是否标准化", "标准化", "是否规范化",
                                                  "达标情况"), help="是 或 否"),
    ),
    "screening": (
        Field("screened_date", "排查日期", "date", ("排查日期", "排查时间", "走访日期", "走访时间", "日期",
                                                 "入户日期", "排查走访日期"), required=True),
    ) + _PLACE + (
        _VILLAGE,
        Field("household_id", "户编号", "text", ("户编号", "家庭编号", "户号", "户主编号", "家庭户编号",
                                              "户籍编号", "户代码"), required=True, sensitive=True,
              help="本台账内唯一的户编号；导入后只保存其加密摘要"),
        Field("risk_level", "风险等级", "choice", ("风险等级", "风险级别", "隐患等级", "等级", "风险程度",
                                                "排查结果"), required=True, help="无、低、中、高"),
        Field("risk_type", "风险类型", "text", ("风险类型", "隐患类型", "风险类别", "隐患类别", "类型")),
    ),
    "screening_summary": (
        Field("period", "月份/季度", "period", ("月份", "季度", "期间", "统计期", "统计月份", "时间", "月度",
                                              "排查月份", "年月", "统计时间"), required=True,
              help="如 2024年3月、2024-03、2024年第1季度"),
    ) + _PLACE + (
        Field("households_screened", "排查户数（户）", "int", ("排查户数", "已排查户数", "走访户数", "入户排查户数",
                                                           "完成排查户数", "排查家庭户数", "排查数"),
              required=True),
        Field("risk_low", "低风险户数", "int", ("低风险户数", "低风险", "低", "低风险家庭", "风险户数低")),
        Field("risk_medium", "中风险户数", "int", ("中风险户数", "中风险", "中", "中风险家庭", "风险户数中")),
        Field("risk_high", "高风险户数", "int", ("高风险户数", "高风险", "高", "高风险家庭", "风险户数高")),
    ),
    "cases": (
        Field("case_id", "案件编号", "text", ("案件编号", "编号", "案号", "纠纷编号", "登记编号", "案件号", "案件编码",
                                           "纠纷编码", "登记号"),
              help="有编号的按编号合并（新增或更新）；没有编号列的文件替换所涉乡镇和月份的纠纷"),
        Field("received_date", "受理日期", "date", ("受理日期", "登记日期", "受理时间", "接收日期", "收案日期",
                                                 "发生日期", "登记时间", "接报日期", "发生时间", "接报时间", "收案时间"),
              required=True),
    ) + _PLACE + (
        _VILLAGE,
        Field("case_type", "纠纷类型", "text", ("纠纷类型", "案件类型", "类型", "矛盾类型", "矛盾纠纷类型",
                                             "纠纷类别", "案由", "纠纷案由", "矛盾纠纷类别")),
        Field("source", "来源", "text", ("来源", "案件来源", "纠纷来源", "受理来源", "线索来源", "渠道")),
        Field("risk_level", "风险等级", "choice", ("风险等级", "风险级别", "等级", "预警等级", "纠纷级别", "纠纷等级")),
        Field("outcome", "办理结果", "choice", ("办理结果", "调处结果", "结果", "调解结果", "处理结果",
                                              "办结情况", "状态", "结案方式", "是否成功调解", "是否调解成功",
                                              "调解情况", "办结方式")),
        Field("closed_date", "办结日期", "date", ("办结日期", "结案日期", "办结时间", "结案时间", "调结日期")),
        Field("room", "调解阵地", "text", ("调解阵地", "调解室", "承办阵地", "调解地点", "调解组织")),
        # where the dispute happened: read only to propose the township it names (a file with no
        # township column), never stored nor shown back (a household's address)
        Field("address", "纠纷发生地点", "text", ("纠纷发生地点", "发生地点", "事发地点", "纠纷地点", "案发地点",
                                              "地址", "详细地址", "住址", "家庭住址", "现住址", "居住地址",
                                              "当事人住址", "事发地址", "发生地址"), sensitive=True,
              help="没有乡镇列时，从地址中找出乡镇名称，确认后按该乡镇导入；地址本身不保存"),
    ),
    "targets": _PLACE + (
        Field("year", "年度", "int", ("年度", "年份", "年", "目标年度", "考核年度", "任务年度"), required=True,
              help="如 2025"),
        Field("target_households", "排查目标户数（户）", "int", ("排查目标户数", "目标户数", "排查任务数", "任务户数",
                                                             "排查任务户数", "年度目标", "年度任务", "目标任务",
                                                             "应排查户数", "计划排查户数"), required=True,
              help="本年度应完成入户排查的户数，整数"),
    ),
    # 纠纷统计表: one row per township, dispute types across a two- or three-level header
    # (婚姻家庭纠纷 → 排查数 / 化解数 / 未化解数). A WIDE kind: each measure repeats once per type,
    # and the type is the header level above the measure (see wide_columns).
    "cases_summary": _PLACE + (
        Field("period", "统计月份", "period", ("月份", "统计月份", "统计期", "期间", "年月", "统计时间", "季度"),
              help="可不填：从标题（XX县2025年4月…统计表）或“填报月份”行读取"),
        Field("received", "排查数（件）", "int", ("排查数", "排查件数", "受理数", "受理件数", "排查纠纷数", "纠纷数",
                                               "摸排数", "接报数", "发现数", "排查化解数", "排查"), required=True,
              help="在每类纠纷下"),
        Field("resolved", "化解数（件）", "int", ("化解数", "化解件数", "已化解", "已化解数", "调处成功数", "调解成功数",
                                               "成功化解数", "化解", "调处数", "化解成功数")),
        Field("unresolved", "未化解数（件）", "int", ("未化解数", "未化解件数", "未化解", "正在化解数", "在调数",
                                                  "未化解纠纷数", "化解中", "未成功数")),
    ),
}
WIDE_KINDS = ("cases_summary",)
MEASURES = ("received", "resolved", "unresolved")

LEDGER_KINDS = tuple(KINDS)
BOUNDARY_KIND = "boundaries"
ALL_KINDS = LEDGER_KINDS + (BOUNDARY_KIND,)

KIND_LABELS = {
    "boundaries": "乡镇边界",
    "regions": "区划与底数",
    "rooms": "调解阵地台账",
    "screening": "排查记录（逐户）",
    "screening_summary": "排查汇总（按乡镇）",
    "cases": "矛盾纠纷台账",
    "targets": "年度排查目标",
    "cases_summary": "纠纷统计表（按乡镇）",
}

# Values of choice fields, normalised like headers.
RISK_LEVELS = {
    "无": "无", "无风险": "无", "没有": "无", "否": "无", "正常": "无", "未发现": "无", "0": "无",
    "低": "低", "低风险": "低", "一般": "低", "较低": "低", "轻微": "低", "1": "低",
    "中": "中", "中风险": "中", "中等": "中", "较高": "中", "较大": "中", "2": "中",
    "高": "高", "高风险": "高", "重大": "高", "严重": "高", "3": "高",
    "简易": "低", "简单": "低", "一般纠纷": "低", "较大纠纷": "中", "疑难": "中", "复杂": "中", "疑难复杂": "中",
    "重大纠纷": "高", "重大疑难": "高",
}
OUTCOMES = {
    "调解成功": "调解成功", "成功": "调解成功", "已调解": "调解成功", "调处成功": "调解成功", "化解": "调解成功",
    "已化解": "调解成功", "调解成功已结案": "调解成功",
    "转诉讼": "转诉讼", "诉讼": "转诉讼", "转司法": "转诉讼", "移送法院": "转诉讼", "调解不成转诉讼": "转诉讼",
    "是": "调解成功", "成功调解": "调解成功", "调解结案": "调解成功", "达成协议": "调解成功", "达成调解协议": "调解成功",
    # closed without success: not 转诉讼 (nothing says the parties went to court)
    "调解不成": "调解不成", "调解不成功": "调解不成", "调解未成功": "调解不成", "未成功": "调解不成", "不成功": "调解不成",
    "调解失败": "调解不成", "终止调解": "调解不成", "调解终止": "调解不成", "未达成协议": "调解不成", "否": "调解不成",
    "在办": "在办", "办理中": "在办", "未结": "在办", "调解中": "在办", "正在调解": "在办", "跟踪中": "在办",
}
YES_NO = {"是": True, "否": False, "达标": True, "不达标": False, "未达标": False, "yes": True, "no": False,
          "y": True, "n": False, "true": True, "false": False, "1": True, "0": False, "√": True, "×": False}

TOTAL_WORDS = ("合计", "总计", "小计", "累计", "全市", "全县", "全区", "汇总")
NOTE_WORDS = ("注", "说明", "备注", "填表", "制表", "审核", "负责人", "联系人", "填报", "数据来源", "单位负责",
              "统计人", "*注")

_PUNCT = re.compile(r"[\s\u3000:：;；,，.。、/\\|*＊#\-_—–~`'\"“”‘’!！?？]+")
_BRACKETED = re.compile(r"[(\[{（【〔<《][^)\]}）】〕>》]*[)\]}）】〕>》]")
_BRACKET_CHARS = re.compile(r"[()\[\]{}（）【】〔〕<>《》]")
_PREFIXES = ("所属", "所在", "所辖", "隶属")


# Control characters (NUL, escape, C1 …) carry nothing a ledger means and break what reads the
# text later: stripped from every cell, wherever it is in the file. Tab and line breaks are
# whitespace, collapsed with the rest.
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
_CONTROL = re.compile(CONTROL)


def clean_text(value: object) -> str:
    """One cell as text: control characters gone, full-width to half-width (NFKC), trimmed,
    inner whitespace collapsed."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", _CONTROL.sub("", str(value))).strip()
    return re.sub(r"\s+", " ", text)


def header_forms(header: object) -> list[str]:
    """The ways one header can be compared: whole, without its bracketed unit, without 所属/所在."""
    text = unicodedata.normalize("NFKC", str(header or "")).lower()
    forms = []
    for base in (text, _BRACKETED.sub("", text)):
        squeezed = _BRACKET_CHARS.sub("", _PUNCT.sub("", base))
        for form in (squeezed, *(squeezed[len(p):] for p in _PREFIXES if squeezed.startswith(p))):
            if form and form not in forms:
                forms.append(form)
    return forms


def _norm(synonym: str) -> str:
    return header_forms(synonym)[0]


_LOOKUP: dict[str, dict[str, str]] = {
    kind: {_norm(s): f.name for f in fields for s in (f.synonyms + (f.label, f.name))}
    for kind, fields in KINDS.items()
}
_ALL_SYNONYMS = sorted({s for table in _LOOKUP.values() for s in table})


def field(kind: str, name: str) -> Field:
    return next(f for f in KINDS[kind] if f.name == name)


def match_header(kind: str, header: object) -> str | None:
    """The field of `kind` this header means, or None."""
    table = _LOOKUP[kind]
    for form in header_forms(header):
        if form in table:
            return table[form]
    return None


def looks_like_header(value: object) -> bool:
    """True when a cell reads like a header of any kind (used to find the header row)."""
    return any(form in _ALL_SYNONYMS for form in header_forms(value)) if clean_text(value) else False


def chosen_by_column(headers: list[str], letters: list[str], chosen: dict[str, str]) -> dict[int, str]:
    """A person's mapping, column by column: index -> field ("" ignores the column).

    A key is a header as written (every column headed so), a column letter ("F"; a CSV's field
    number "6"), or both ("发生时间@F"): a header written twice can only be told apart by its
    letter. A key that is a header of the file is a header, even when it reads like a letter (x).
    A column named by its letter wins over its header.
    """
    by_column: dict[int, str] = {}
    named = set(headers)
    at_letter = {letter: i for i, letter in enumerate(letters)}
    for key, target in chosen.items():
        if key in named:
            for i, header in enumerate(headers):
                if header == key:
                    by_column.setdefault(i, target)
    for key, target in chosen.items():
        if key in named:
            continue
        header, _, letter = key.rpartition("@") if "@" in key else ("", "", key)
        letter = letter.strip().upper() if letter.strip().isalpha() else letter.strip()
        if letter in at_letter and (not header or header == headers[at_letter[letter]]):
            by_column[at_letter[letter]] = target
    return by_column


def by_letter(chosen: dict[str, str], headers: list[str], letters: list[str]) -> set[int]:
    """The columns a person's mapping names by their letter (not by a header alone)."""
    named = set(headers)
    at_letter = {letter: i for i, letter in enumerate(letters)}
    out = set()
    for key in chosen:
        if key in named:
            continue
        letter = key.rpartition("@")[2].strip()
        letter = letter.upper() if letter.isalpha() else letter
        if letter in at_letter:
            out.add(at_letter[letter])
    return out


def map_headers(kind: str, headers: list[str], overrides: dict | None = None) -> dict[int, str]:
    """Column index -> field name. Overrides (column index, or header -> field; "" ignores the
    column) win. When two columns read as one field, the one whose header is the field's more
    usual name (earlier among its synonyms: 受理时间 before 发生时间) takes it, then the first."""
    overrides = overrides or {}
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        target = overrides.get(index, overrides.get(header))
        if target and target not in taken:  # one column per field: the first a person named
            mapping[index] = target
            taken.add(target)
    claims = []
    for index, header in enumerate(headers):
        if index in mapping or index in overrides or header in overrides:
            continue
        name = match_header(kind, header)
        if name and name not in taken:
            claims.append((_rank(kind, name, header), index, name))
    for _rank_, index, name in sorted(claims):
        if name not in taken:
            mapping[index] = name
            taken.add(name)
    return mapping


def _rank(kind: str, name: str, header: str) -> int:
    f = field(kind, name)
    order = [_norm(s) for s in (f.label, f.name) + f.synonyms]
    return min((order.index(form) for form in header_forms(header) if form in order), default=len(order))


def duplicate_headers(kind: str, headers: list[str], keys: list[str], letters: list[str],
                      overrides: dict[int, str], named_by_letter: set[int]) -> list[dict]:
    """Headers written twice (two 发生时间) that both read as one field, unless a person chose
    the column by its letter: [{"field", "header", "columns": [{"header", "letter"}, …]}]."""
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        forms = header_forms(key)
        if forms:
            groups.setdefault(forms[0], []).append(index)
    out = []
    for indexes in groups.values():
        if len(indexes) < 2 or any(i in named_by_letter for i in indexes):
            continue
        targets = [overrides[i] if i in overrides else match_header(kind, keys[i]) for i in indexes]
        if len(set(targets)) == 1 and targets[0]:
            out.append({"field": targets[0], "header": headers[indexes[0]],
                        "columns": [{"header": headers[i], "letter": letters[i]} for i in indexes]})
    return out


def shown_headers(headers: list[str], letters: list[str]) -> list[str]:
    """Each column's name in a mapping: its header, or header@letter when the header is written twice."""
    return [f"{h}@{letter}" if headers.count(h) > 1 else h for h, letter in zip(headers, letters)]


def placed(mapped: set[str], township_given: bool = False) -> bool:
    """Whether rows can say where they are: a township column, a code column, an address to
    find the township in (a file from one 司法所), or a township given for the whole file."""
    return township_given or bool(mapped & {"township", "township_code", "address"})


def score(kind: str, headers: list[str], township_given: bool = False) -> float:
    """How well the headers fit a kind: matched fields, with required ones counting double,
    less a penalty for each required field missing (the township too, unless given)."""
    mapped = set(map_headers(kind, headers).values())
    fields = KINDS[kind]
    got = sum(2 if f.required else 1 for f in fields if f.name in mapped)
    missing = sum(1 for f in fields if f.required and f.name not in mapped) + (0 if placed(mapped, township_given) else 1)
    return got - 3 * missing


def detect_kind(headers: list[str], township_given: bool = False) -> str | None:
    """The ledger kind these headers fit best, or None when none fits at all. A file without a
    township column still has a kind (a 司法所's case list): missing_required then names the
    township, and the page offers to name it for the whole file. 化解数 / 未化解数 say disputes: a
    return with them is a 纠纷统计表, though its 排查数 also reads as households screened."""
    disputes = {"resolved", "unresolved"} & set(map_headers("cases_summary", headers).values())
    best = max(LEDGER_KINDS, key=lambda kind: (kind == "cases_summary" and bool(disputes),
                                               score(kind, headers, township_given), -LEDGER_KINDS.index(kind)))
    if score(best, headers, township_given) <= 0:
        return None
    return best


def closest_kinds(headers: list[str], limit: int = 2) -> list[tuple[str, list[Field]]]:
    """The ledger kinds these headers come closest to, best first, each with the required
    fields it lacks (for the message when no kind fits)."""
    ranked = sorted(LEDGER_KINDS, key=lambda kind: (-score(kind, headers), LEDGER_KINDS.index(kind)))
    return [(kind, missing_required(kind, set(map_headers(kind, headers).values()))) for kind in ranked[:limit]]


def missing_required(kind: str, mapped: set[str], township_given: bool = False) -> list[Field]:
    """The required fields no column gives; the township unless a column, an address or the
    whole file's township (--township) gives it."""
    missing = [f for f in KINDS[kind] if f.required and f.name not in mapped]
    if not placed(mapped, township_given):
        missing.append(field(kind, "township"))
    return missing


def closest_fields(kind: str, header: str, limit: int = 3) -> list[Field]:
    """The known fields an unrecognised header most resembles (for the mapping prompt)."""
    forms = header_forms(header)
    if not forms:
        return []
    choices = {_norm(s): f for f in KINDS[kind] for s in (f.synonyms + (f.label,))}
    found = process.extract(forms[-1], list(choices), scorer=fuzz.WRatio, limit=limit * 4)
    out: list[Field] = []
    for text, _score, _ in found:
        f = choices[text]
        if f not in out:
            out.append(f)
    return out[:limit]


IGNORED = ("序号", "备注", "说明", "填报人", "联系电话", "联系人", "审核人", "行号", "no", "id",
           # people's names (a case's handler, a body's head): sensitive, never imported or shown
           "承办人员", "承办人", "经办人", "调解员姓名", "承办调解员", "负责人", "当事人", "申请人", "被申请人")


def ignorable(header: str) -> bool:
    """Columns every ledger has that carry nothing to import (序号, 备注): ignored without a warning."""
    return any(form in {header_forms(w)[0] for w in IGNORED} for form in header_forms(header))


_TYPE_NOISE = re.compile(r"[(（][^)）]*(共计|合计|小计|单位|件|起)[^)）]*[)）]")


def measure_of(header: str) -> str | None:
    """received / resolved / unresolved when a header (its last level) is a return's measure."""
    name = match_header("cases_summary", header.rsplit("/", 1)[-1])
    return name if name in MEASURES else None


def wide_columns(kind: str, headers: list[str], columns: dict[int, str], ignored: set[int] = frozenset()) -> dict[int, str]:
    """A WIDE kind's columns: the place and period columns as mapped, and every measure column as
    "measure#type", the type being the header level above the measure ("婚姻家庭纠纷（共计：30 件）/
    排查数" -> "received#婚姻家庭纠纷"). Total columns (合计) are left out when types exist."""
    out = {i: f for i, f in columns.items() if f not in MEASURES}
    found = {}
    for index, header in enumerate(headers):
        measure = measure_of(header)
        if measure is None or index in out or index in ignored:  # ignored: a person said so
            continue
        levels = [level for level in header.split("/")[:-1] if level]
        kind_of = _TYPE_NOISE.sub("", clean_text(levels[-1])).strip() if levels else ""
        found[index] = (measure, kind_of or "全部")
    typed = {t for _m, t in found.values() if t != "全部" and not any(t.startswith(w) for w in TOTAL_WORDS)}
    for index, (measure, type_) in found.items():
        if typed and (type_ == "全部" or any(type_.startswith(w) for w in TOTAL_WORDS)):
            continue  # a total of the types beside it: derived, not imported
        out[index] = f"{measure}#{type_}"
    return out


def base_field(name: str) -> str:
    """The field of a mapped column: "received#婚姻家庭纠纷" -> "received"."""
    return name.split("#", 1)[0]
