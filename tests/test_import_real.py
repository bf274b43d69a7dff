"""Ledgers as real offices send them (issue #11, "Real ledgers in"): the headers of published
司法所/综治 case ledgers and 12348 registers, date-times, a header written twice, a header row the
reader cannot find on its own, and the messages that say what went wrong.

Each file is built here from its published header, title rows and merged cells included, and
imported into a copy of the demo city (the `atlas` fixture of test_import_files).
"""
from datetime import date, datetime

import pytest

from importer import messages, values
from tests.test_import_files import (LIANYUN, XUGOU, assert_imported, atlas, city_db, problems,  # noqa: F401
                                     query, run, write_csv, write_xlsx)


# ---- date-times: the date part is the day (item 4) ---------------------------------------------

@pytest.mark.parametrize("raw", [
    "2025-05-27 11:00:00", "2025/5/27 11:00", "2025年5月27日 11时", "2025年5月27日11时30分",
    "2025-05-27T11:00:00+08:00", "2025-05-27 上午9:30", "2025.5.27 11点半",
    datetime(2025, 5, 27, 11, 0), 45804.4583, "45804.4583",
])
def test_a_date_time_gives_its_date_part(raw):
    assert values.day(raw) == (date(2025, 5, 27), None)


@pytest.mark.parametrize("raw, code, says", [
    ("2025-13-01", "bad_month", "月份 13 不存在"),
    ("2025/2/30 10:00", "bad_day", "2025-02-30 不存在"),
    ("2025-05-32", "bad_day", "2025-05-32 不存在"),
    ("2025-05-27 晚饭后", "bad_time", "时间“晚饭后”无法识别"),
    ("2025-05-27 25:00", "bad_time", "时间“25:00”无法识别"),
])
def test_a_date_error_says_which_part_could_not_be_read(raw, code, says):
    got, problem = values.day(raw)
    assert got is None
    assert messages.split(problem)[0] == code
    assert says in messages.describe(problem)[0]


def test_a_case_list_with_date_times_imports_their_days(atlas, tmp_path):
    rows = [["案件编号", "受理时间", "乡镇", "结案时间"],
            ["T1", "2024-05-27 11:00:00", "墟沟街道", "2024/5/29 16:30"],
            ["T2", datetime(2024, 6, 1, 9, 15), "连云街道", 45450.75],   # 45450.75 = 2024-06-07 18:00
            ["T3", "2024年6月3日 10时", "墟沟街道", None]]
    result = run(write_xlsx(tmp_path / "cases.xlsx", {"案件": rows}), atlas)
    assert_imported(result)
    got = query(atlas, "select case_id, received_date, closed_date from cases where case_id like 'T_' order by 1")
    assert got == [("T1", date(2024, 5, 27), date(2024, 5, 29)), ("T2", date(2024, 6, 1), date(2024, 6, 7)),
                   ("T3", date(2024, 6, 3), None)]


def test_a_bad_month_in_a_date_time_is_named_in_the_error(atlas, tmp_path):
    path = write_csv(tmp_path / "cases.csv", [["案件编号", "受理时间", "乡镇"],
                                              ["T1", "2024-13-27 11:00:00", "墟沟街道"]])
    result = run(path, atlas)
    assert problems(result) == [(2, "受理时间", "bad_month")]
    assert result.errors[0].message == "日期中的月份 13 不存在"


# ---- messages that say what is wrong (item 8) ----------------------------------------------------

def test_a_huge_count_is_a_cell_that_is_too_large_not_a_file(atlas, tmp_path):
    # messages.py used to overwrite the cell's 数值过大 with the boundary reader's 文件过大
    path = write_csv(tmp_path / "regions.csv", [["乡镇", "户数"], ["墟沟街道", "3,000,000,000"]])
    result = run(path, atlas)
    assert problems(result) == [(2, "户数", "too_large")]
    assert result.errors[0].message == "数值过大"


def test_every_boundary_problem_has_its_own_message():
    from geo import boundary_files
    assert set(boundary_files.PROBLEM_CODES) <= set(messages.PROBLEMS)
    assert messages.describe("file_too_large", "9 bytes")[0] == "文件过大（9 bytes）"


# ---- the headers real files use (item 3) ---------------------------------------------------------

def judicial_ledger(rows: list[list]) -> tuple[dict, dict]:
    """A 司法所/综治中心 矛盾纠纷排查调处台账 as published: a merged title, a 填报单位/填报日期 line, then
    序号 | 案件编码 | 发生时间 | 所属镇 | 村（社区） | 案由 | 纠纷级别 | 承办人员 | 结案方式 | 是否成功调解 | 结案时间."""
    header = ["序号", "案件编码", "发生时间", "所属镇", "村（社区）", "案由", "纠纷级别", "承办人员", "结案方式",
              "是否成功调解", "结案时间"]
    top = [["墟沟街道矛盾纠纷排查化解工作台账"] + [None] * 10,
           ["填报单位：墟沟街道司法所"] + [None] * 5 + ["填报日期：2024年6月30日"] + [None] * 4,
           header]
    return {"台账": top + rows}, {"台账": ["A1:K1", "A2:F2", "G2:K2"]}


def test_a_judicial_ledger_imports_with_its_published_headers(atlas, tmp_path):
    sheets, merges = judicial_ledger([
        [1, "SF2024-001", "2024-05-27 11:00:00", "墟沟街道", "南东盛社区", "婚姻家庭纠纷", "一般", "张某某",
         "调解成功", "是", "2024-05-29"],
        [2, "SF2024-002", "2024/6/3 9:30", "墟沟街道", "", "邻里纠纷", "较大", "李某某", "终止调解", "否",
         "2024/6/20"],
        [3, "SF2024-003", datetime(2024, 6, 10, 15, 0), "墟沟街道", "", "家庭暴力", "重大", "王某某", None, None, None],
    ])
    result = run(write_xlsx(tmp_path / "司法所台账.xlsx", sheets, merges), atlas)

    assert_imported(result)
    assert result.kind == "cases"
    assert result.mapping == {"案件编码": "case_id", "发生时间": "received_date", "所属镇": "township",
                              "村（社区）": "village", "案由": "case_type", "纠纷级别": "risk_level",
                              "结案方式": "outcome", "结案时间": "closed_date"}
    # 是否成功调解 says the same as 结案方式: not imported twice, and said so
    assert [(w.column, w.code) for w in result.warnings] == [("是否成功调解", "second_column")]
    got = query(atlas, "select case_id, received_date, township_code, case_type, risk_level, outcome, closed_date "
                       "from cases where case_id like 'SF%' order by 1")
    assert got == [
        ("SF2024-001", date(2024, 5, 27), XUGOU, "婚姻家庭纠纷", "低", "调解成功", date(2024, 5, 29)),
        ("SF2024-002", date(2024, 6, 3), XUGOU, "邻里纠纷", "中", "调解不成", date(2024, 6, 20)),
        ("SF2024-003", date(2024, 6, 10), XUGOU, "家庭暴力", "高", "在办", None)]


def test_the_handler_s_name_is_never_stored_or_shown(atlas, tmp_path):
    sheets, merges = judicial_ledger([[1, "SF2024-009", "2024-05-27", "墟沟街道", "", "婚姻家庭纠纷", "一般",
                                       "张某某", "调解成功", "是", "2024-05-29"]])
    result = run(write_xlsx(tmp_path / "司法所台账.xlsx", sheets, merges), atlas, dry_run=True)
    assert result.status == "dry_run"
    assert "承办人员" not in result.mapping and "承办人员" not in {u["column"] for u in result.unmapped}
    assert "张某某" not in result.preview.to_string()
    assert "张某某" not in str(result.to_json())


def test_yes_or_no_for_mediated_gives_the_outcome(atlas, tmp_path):
    # the same ledger without 结案方式: 是否成功调解 alone carries the outcome
    path = write_csv(tmp_path / "cases.csv", [
        ["案件编码", "受理时间", "所属镇", "案由", "是否成功调解", "结案时间"],
        ["Y1", "2024-05-27 11:00", "墟沟街道", "婚姻家庭纠纷", "是", "2024-05-28"],
        ["Y2", "2024-05-27 12:00", "墟沟街道", "婚姻家庭纠纷", "否", "2024-05-30"],
        ["Y3", "2024-05-27 13:00", "墟沟街道", "婚姻家庭纠纷", "", ""]])
    result = run(path, atlas)
    assert_imported(result)
    assert result.mapping["是否成功调解"] == "outcome"
    assert query(atlas, "select case_id, outcome from cases where case_id like 'Y_' order by 1") == [
        ("Y1", "调解成功"), ("Y2", "调解不成"), ("Y3", "在办")]


def test_a_case_list_with_a_township_office_and_a_region_code(atlas, tmp_path):
    # 镇办 | 案号 | 受理时间 | 纠纷类型 | 地区编码: the code has 12 digits, or 9 (a township code without 000)
    path = write_csv(tmp_path / "案件清单.csv", [
        ["镇办", "案号", "受理时间", "纠纷类型", "地区编码"],
        ["墟沟街道", "(2024)连调字第1号", "2024/5/27 11:00", "婚姻家庭纠纷", XUGOU],
        ["连云街道", "(2024)连调字第2号", "2024/5/28 9:00", "邻里纠纷", LIANYUN[:9]]], encoding="gb18030")
    result = run(path, atlas)
    assert_imported(result)
    assert result.mapping == {"镇办": "township", "案号": "case_id", "受理时间": "received_date",
                              "纠纷类型": "case_type", "地区编码": "township_code"}
    assert query(atlas, "select case_id, township_code from cases where case_id like '(2024)连调字%' order by 1") == [
        ("(2024)连调字第1号", XUGOU), ("(2024)连调字第2号", LIANYUN)]


def test_a_village_s_region_code_gives_its_township(atlas, tmp_path):
    # 地区编码 320703001001 is a village of 墟沟街道 (320703001000): the case lands in its township
    path = write_csv(tmp_path / "cases.csv", [["案号", "受理时间", "地区编码"], ["V1", "2024-05-01", "320703001001"]])
    assert_imported(run(path, atlas))
    assert query(atlas, "select township_code from cases where case_id = 'V1'") == [(XUGOU,)]
    assert values.code("320703000000") == ("320703000000", None)   # a county stays a county (and is refused)


def test_received_time_is_preferred_to_the_time_of_the_dispute(atlas, tmp_path):
    # 发生时间 (when it happened) first, 受理时间 (when it was received) after: received_date is 受理时间
    path = write_csv(tmp_path / "cases.csv", [["案号", "发生时间", "受理时间", "镇办"],
                                              ["R1", "2024-05-01", "2024-05-03", "墟沟街道"]])
    result = run(path, atlas)
    assert_imported(result)
    assert result.mapping["受理时间"] == "received_date"
    assert query(atlas, "select received_date from cases where case_id = 'R1'") == [(date(2024, 5, 3),)]


def register_12348(rows: list[list]) -> tuple[dict, dict]:
    """A 12348 中国法网 register of mediation bodies: 序号 | 机构名称 | 机构类型 | 所属区域 | 机构地址 | 联系电话 | 负责人."""
    top = [["连云区人民调解组织名录"] + [None] * 6,
           ["序号", "机构名称", "机构类型", "所属区域", "机构地址", "联系电话", "负责人"]]
    return {"名录": top + rows}, {"名录": ["A1:G1"]}


def test_a_12348_register_imports_as_rooms_without_opening_dates(atlas, tmp_path):
    sheets, merges = register_12348([
        [1, "墟沟街道人民调解委员会", "人民调解委员会", "墟沟街道", "连云区墟沟街道海棠路8号", "0518-82311234", "赵某"],
        [2, "墟沟街道婚姻家庭纠纷调解工作室", "行业性专业性调解组织", "墟沟街道", "墟沟街道妇联", "0518-82315678", "钱某"],
        [3, "连云街道人民调解委员会", "人民调解委员会", "连云街道", "", "", ""],
    ])
    # the register takes the place of those townships' rooms (the demo has some): a yes is needed
    result = run(write_xlsx(tmp_path / "12348名录.xlsx", sheets, merges), atlas, replace=True)

    assert_imported(result)
    assert result.kind == "rooms"
    assert result.mapping == {"机构名称": "name", "机构类型": "room_type", "所属区域": "township",
                              "机构地址": "address"}
    got = query(atlas, "select name, room_type, township_code, address, opened_date from rooms "
                       "where township_code in (?, ?) order by name", [XUGOU, LIANYUN])
    assert got == [("墟沟街道人民调解委员会", "人民调解委员会", XUGOU, "连云区墟沟街道海棠路8号", None),
                   ("墟沟街道婚姻家庭纠纷调解工作室", "行业性专业性调解组织", XUGOU, "墟沟街道妇联", None),
                   ("连云街道人民调解委员会", "人民调解委员会", LIANYUN, None, None)]
    # a room without an opening date is active in every period (until it closes)
    from queries import indicators
    import duckdb
    with duckdb.connect(str(atlas), read_only=True) as con:
        for period in ("2019-01", "2024-06"):
            frame = indicators.table(con, "township", period, [""]).set_index("region_code")
            assert frame.loc[XUGOU, "rooms_active"] == 2 and frame.loc[LIANYUN, "rooms_active"] == 1
    assert "赵某" not in str(result.to_json()) and "0518" not in str(result.to_json())


# ---- 调解不成 in the indicators, and older databases (item 3) ------------------------------------

def test_closed_without_success_counts_as_closed_not_mediated(tmp_path):
    import duckdb
    from db import schema
    from queries import indicators
    path = tmp_path / "atlas.duckdb"
    with duckdb.connect(str(path)) as con:
        schema.create(con)
        con.execute("""
            insert into regions (region_code, name, level, parent_code, province_code, city_code, county_code,
                                 households_total, villages_total, in_atlas) values
                ('320703001000', '墟沟街道', 'township', '320703000000', '320000000000', '320700000000',
                 '320703000000', 1000, 10, true);
            insert into cases (case_id, received_date, closed_date, township_code, outcome) values
                ('C1', '2024-03-01', '2024-03-05', '320703001000', '调解成功'),  -- closed, mediated
                ('C2', '2024-03-02', '2024-03-06', '320703001000', '调解不成'),  -- closed, not mediated
                ('C3', '2024-03-03', '2024-03-07', '320703001000', '调解不成'),  -- closed, not mediated
                ('C4', '2024-03-04', '2024-03-08', '320703001000', '转诉讼'),    -- closed, not mediated
                ('C5', '2024-03-05', null,         '320703001000', '在办');      -- open
        """)
    with duckdb.connect(str(path), read_only=True) as con:
        t = indicators.table(con, "township", "2024-03", [""]).set_index("region_code").loc["320703001000"]
    # received 5; closed C1–C4 = 4; mediated C1 = 1; success rate 1 / 4
    assert (t.cases_received, t.cases_closed, t.cases_mediated) == (5, 4, 1)
    assert t.mediation_success_rate == pytest.approx(0.25)


def test_an_older_database_takes_the_new_outcome_and_undated_rooms(tmp_path):
    import duckdb
    from db import schema
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        schema.create(con)
        # the two tables as an older release created them
        con.execute("drop index cases_by_township; drop table cases; drop table rooms")
        con.execute("""
            create table cases (case_id varchar primary key, received_date date not null, closed_date date,
                township_code varchar not null, village_code varchar, case_type varchar, source varchar,
                risk_level varchar check (risk_level in ('低', '中', '高')),
                outcome varchar check (outcome in ('调解成功', '转诉讼', '在办')), room_id varchar,
                check (closed_date is null or closed_date >= received_date));
            create index cases_by_township on cases (township_code, received_date);
            create table rooms (room_id varchar primary key, name varchar not null, room_type varchar not null,
                township_code varchar not null, village_code varchar, address varchar, longitude double,
                latitude double, opened_date date not null, closed_date date, mediators integer,
                meets_standard boolean);
            insert into cases (case_id, received_date, township_code, outcome) values ('OLD', '2024-01-02', 'T', '在办');
        """)
    assert schema.upgrade(path) is True
    assert schema.upgrade(path) is False
    with duckdb.connect(str(path)) as con:
        con.execute("insert into cases (case_id, received_date, township_code, outcome) "
                    "values ('NEW', '2024-01-03', 'T', '调解不成')")
        con.execute("insert into rooms (room_id, name, room_type, township_code) values ('R', '名', '类', 'T')")
        assert con.execute("select case_id, outcome from cases order by 1").fetchall() == [
            ("NEW", "调解不成"), ("OLD", "在办")]
        with pytest.raises(duckdb.ConstraintException):
            con.execute("insert into cases (case_id, received_date, township_code, outcome) "
                        "values ('BAD', '2024-01-03', 'T', '不知道')")


# ---- a header written twice (item 5) --------------------------------------------------------------

def twice_written(tmp_path):
    # two 发生时间 columns (C and F): the system exported the dispute's time and the visit's time
    rows = [["序号", "案件编码", "发生时间", "所属镇", "案由", "发生时间"],
            [1, "D1", "2024-05-01 10:00", "墟沟街道", "邻里纠纷", "2024-05-03 09:00"]]
    return write_xlsx(tmp_path / "twice.xlsx", {"台账": rows})


def test_a_header_written_twice_is_not_guessed(atlas, tmp_path):
    result = run(twice_written(tmp_path), atlas)
    assert result.status == "rejected"
    assert problems(result) == [(None, "发生时间", "duplicate_header")]
    assert result.errors[0].message == "表头“发生时间”出现两次（C 列、F 列），无法确定用哪一列"
    assert result.duplicate_headers == [{"field": "received_date", "header": "发生时间", "columns": [
        {"header": "发生时间", "letter": "C"}, {"header": "发生时间", "letter": "F"}]}]
    assert result.headers == ["序号", "案件编码", "发生时间@C", "所属镇", "案由", "发生时间@F"]
    assert query(atlas, "select count(*) from cases where case_id = 'D1'") == [(0,)]


@pytest.mark.parametrize("mapping", [{"发生时间@F": "received_date"}, {"F": "received_date"},
                                     {"f": "received_date"}, {"发生时间@C": "", "发生时间@F": "received_date"}])
def test_the_user_says_which_column_of_a_header_written_twice(atlas, tmp_path, mapping):
    result = run(twice_written(tmp_path), atlas, mapping=mapping)
    assert_imported(result)
    assert result.mapping["发生时间@F"] == "received_date" and "发生时间@C" not in result.mapping
    assert query(atlas, "select received_date from cases where case_id = 'D1'") == [(date(2024, 5, 3),)]


def test_a_header_alone_does_not_say_which_column(atlas, tmp_path):
    result = run(twice_written(tmp_path), atlas, mapping={"发生时间": "received_date"})
    assert problems(result) == [(None, "发生时间", "duplicate_header")]


def test_the_cli_names_both_columns_of_a_header_written_twice(atlas, tmp_path, capsys):
    import cli
    path = twice_written(tmp_path)
    assert cli.main(["import", str(path), "--db", str(atlas), "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "“发生时间”出现两次（C 列、F 列）" in out and "发生时间@F=received_date" in out
    assert cli.main(["import", str(path), "--db", str(atlas), "--dry-run", "--map", "发生时间@F=received_date"]) == 0


def test_a_csv_header_written_twice_is_named_by_column_number(atlas, tmp_path):
    path = write_csv(tmp_path / "twice.csv", [["案件编码", "受理时间", "所属镇", "受理时间"],
                                              ["D2", "2024-05-01", "墟沟街道", "2024-05-02"]])
    result = run(path, atlas)
    assert result.errors[0].message == "表头“受理时间”出现两次（第 2 列、第 4 列），无法确定用哪一列"
    assert_imported(run(path, atlas, mapping={"受理时间@2": "received_date"}))
    assert query(atlas, "select received_date from cases where case_id = 'D2'") == [(date(2024, 5, 1),)]


# ---- the header row a person points at (item 7), and what the messages say (item 8) ----------------

def unknown_headers(tmp_path):
    rows = [["2024年5月纠纷登记簿"] + [None] * 4,
            ["登记日", "片区", "流水号", "事项", "经办"],
            ["2024-05-27 11:00", "墟沟街道", "L1", "邻里纠纷", "张某某"]]
    return write_xlsx(tmp_path / "登记簿.xlsx", {"Sheet1": rows}, {"Sheet1": ["A1:E1"]})


def test_no_header_names_the_row_most_like_one(atlas, tmp_path):
    result = run(unknown_headers(tmp_path), atlas)
    assert problems(result) == [(None, None, "no_header")]
    assert result.errors[0].message == ("在前30行中找不到可识别的表头（工作表：Sheet1）。最像表头的是第 2 行："
                                        "登记日、片区、流水号、事项、经办，没有一个是已知的列名")
    assert "--header-row" in result.errors[0].expected and "乡镇（街道）" not in result.errors[0].expected


def test_no_header_says_which_headers_it_knew(atlas, tmp_path):
    # one known header is not enough to call a row the header: the message says what was seen
    path = write_csv(tmp_path / "x.csv", [["乡镇", "流水号", "事项"], ["墟沟街道", "L1", "邻里纠纷"]])
    result = run(path, atlas)
    assert result.errors[0].message == ("在前30行中找不到可识别的表头。最像表头的是第 1 行：识别出 乡镇，"
                                        "未识别 流水号、事项（至少要认出两列）")


def test_the_user_points_at_the_header_row_and_maps_from_there(atlas, tmp_path):
    mapping = {"登记日": "received_date", "片区": "township", "流水号": "case_id", "事项": "case_type"}
    result = run(unknown_headers(tmp_path), atlas, header_row=2, mapping=mapping)
    assert_imported(result)
    assert (result.kind, result.header_row) == ("cases", 2)
    assert query(atlas, "select case_id, received_date, township_code, case_type from cases where case_id = 'L1'") == [
        ("L1", date(2024, 5, 27), XUGOU, "邻里纠纷")]


def test_headers_the_mapping_names_find_the_header_row(atlas, tmp_path):
    # no header row is found on its own; the headers a --map names are known headers to the search
    mapping = {"登记日": "received_date", "片区": "township", "流水号": "case_id"}
    result = run(unknown_headers(tmp_path), atlas, mapping=mapping)
    assert_imported(result)
    assert (result.kind, result.header_row) == ("cases", 2)


def test_the_cli_takes_a_header_row(atlas, tmp_path):
    import cli
    path = unknown_headers(tmp_path)
    args = ["import", str(path), "--db", str(atlas), "--dry-run", "--kind", "cases"]
    maps = ["--map", "A=received_date", "--map", "B=township", "--map", "C=case_id"]
    # columns named by letter say nothing about where the header is
    assert cli.main(args + maps) == 1
    assert cli.main(args + maps + ["--header-row", "2"]) == 0
    assert cli.main(args + maps + ["--header-row", "9"]) == 1  # an empty row is no header


def test_a_header_row_that_is_empty_is_refused(atlas, tmp_path):
    result = run(unknown_headers(tmp_path), atlas, header_row=9)
    assert problems(result) == [(None, None, "bad_header_row")]
    assert result.errors[0].message == "第 9 行是空的或不在表中，不能作表头"


def test_the_first_rows_to_pick_the_header_row_from(tmp_path):
    from importer import read
    sheet, letters, rows = read.first_rows(unknown_headers(tmp_path))
    assert (sheet, letters) == ("Sheet1", ["A", "B", "C", "D", "E"])
    assert len(rows) == 3 and all(len(r) == 5 for r in rows)
    assert rows[1] == ["登记日", "片区", "流水号", "事项", "经办"]
    path = write_csv(tmp_path / "a.csv", [["a", "b"], *[[str(i), ""] for i in range(30)]])
    _sheet, letters, rows = read.first_rows(path)
    assert letters == ["1", "2"] and len(rows) == read.PICK_ROWS and rows[0] == ["a", "b"]


def test_unknown_kind_names_the_closest_kinds_and_what_they_lack(atlas, tmp_path):
    path = write_csv(tmp_path / "x.csv", [["乡镇", "村（社区）", "地址"], ["墟沟街道", "南东盛社区", "海棠路"]])
    result = run(path, atlas)
    assert problems(result) == [(None, None, "unknown_kind")]
    # a case list needs only a received date besides the township (its id is optional)
    assert result.errors[0].message == ("无法从表头判断台账类型。最接近：矛盾纠纷台账（缺少 受理日期）；"
                                        "区划与底数（缺少 户数（户））")


# ---- what the 数据导入 page shows (items 5, 7, 8) ----------------------------------------------------

def test_the_page_never_shows_none_for_a_whole_file_problem_nor_a_blank_kind(atlas, tmp_path):
    from ui import importing
    result = run(unknown_headers(tmp_path), atlas)
    table = importing.issues_table(result.errors)
    assert list(table["行号"]) == ["整个文件"]
    assert "None" not in table.to_string() and "<NA>" not in table.to_string()
    assert not any(f.startswith("识别为") for f in importing.detected(result))
    found = run(unknown_headers(tmp_path), atlas, header_row=2, kind="cases",
                mapping={"登记日": "received_date", "片区": "township", "流水号": "case_id"}, dry_run=True)
    assert importing.detected(found)[:2] == ["识别为：矛盾纠纷台账", "工作表：Sheet1"]
    assert "表头：第 2 行" in importing.detected(found)


def test_the_page_s_choice_of_a_column_written_twice_imports_it(atlas, tmp_path):
    from ui import importing
    path = twice_written(tmp_path)
    first = run(path, atlas)
    choice = importing.duplicate_choice(first.duplicate_headers[0], "F")
    assert choice == {"发生时间@C": "", "发生时间@F": "received_date"}
    assert_imported(run(path, atlas, mapping=choice))
    letters, rows = importing.first_rows(path, path.name, None)
    table = importing.rows_table(letters, rows)
    assert table.loc[1, "F"] == "发生时间" and table.loc[2, "F"] == "2024-05-03 09:00"
