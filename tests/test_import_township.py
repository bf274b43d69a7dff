"""A file for one township with no township column (issue #11, item 6): a 司法所's case list names
its township only in its title, or in each case's address (纠纷发生地点). `--township NAME|CODE`
says which township the whole file belongs to; without it, the townships named in the addresses
are proposed for a person to confirm, like any other match, and the address itself is never kept.

Each file is built here from a published layout (a merged title, a 填报单位 line, then
序号 | 案号 | 受理时间 | 当事人 | 案由 | 纠纷发生地点 | 结案方式) and imported into a copy of the demo
city (the `atlas` fixture of test_import_files).
"""
from pathlib import Path

import duckdb
import pytest

import cli
from importer import pipeline
from tests.test_import_files import (LIANYUN, XUGOU, assert_imported, atlas, city_db, full_atlas,  # noqa: F401
                                     problems, query, run, write_csv, write_xlsx)

HEADER = ["序号", "案号", "受理时间", "当事人", "案由", "纠纷发生地点", "结案方式"]
# an address that identifies a household: it must not be kept anywhere
HOME = "连云港市连云区墟沟街道海滨社区幸福家园7栋302室"


def mediation_ledger(tmp_path: Path, rows: list[list], title: str = "墟沟街道司法所矛盾纠纷调解登记台账",
                     header: list[str] = HEADER, name: str = "司法所台账.xlsx") -> Path:
    """The case list as a 司法所 keeps it: the township only in the title and the 填报单位 line."""
    width = len(header)
    top = [[title] + [None] * (width - 1),
           ["填报单位：墟沟街道司法所"] + [None] * (width - 4) + ["填报日期：2024年6月30日", None, None],
           header]
    return write_xlsx(tmp_path / name, {"台账": top + rows},
                      {"台账": [f"A1:{chr(64 + width)}1", f"A2:{chr(64 + width - 3)}2"]})


def cases_of(db: Path, prefix: str) -> list[tuple]:
    return query(db, "select case_id, township_code, case_type, outcome from cases where case_id like ? order by 1",
                 [prefix + "%"])


def imports(db: Path) -> int:
    return query(db, "select count(*) from imports")[0][0]


# ---- --township: the whole file is one township's -----------------------------------------------

def test_a_township_s_case_list_says_it_lacks_only_the_township(atlas, tmp_path):
    path = mediation_ledger(tmp_path, [[1, "XG-1", "2024-05-27 11:00", "张某某", "婚姻家庭纠纷", None, "调解成功"]],
                            header=[h for h in HEADER if h != "纠纷发生地点"])
    result = run(path, atlas)
    # the kind is found from the other columns; what is missing is the township, and only that
    assert result.kind == "cases" and result.status == "rejected"
    assert problems(result) == [(None, None, "missing_column")]
    assert result.errors[0].message == "缺少必填列：乡镇（街道）"
    assert result.township_missing  # the page offers to name the township for the whole file


@pytest.mark.parametrize("township", ["墟沟街道", "墟沟", "  墟沟街道办事处 ", XUGOU, XUGOU[:9]])
def test_the_township_of_the_whole_file_by_name_or_code(atlas, tmp_path, township):
    path = mediation_ledger(tmp_path, [
        [1, "XG-1", "2024-05-27 11:00", "张某某", "婚姻家庭纠纷", "海滨社区", "调解成功"],
        [2, "XG-2", "2024/6/3 9:30", "李某某", "邻里纠纷", None, "终止调解"],
        [3, "XG-3", "2024-06-10", "王某某", "家庭暴力", "新东路8号", None]])
    result = run(path, atlas, township=township)
    assert_imported(result)
    assert result.township == {"code": XUGOU, "name": "墟沟街道", "county_name": "连云区"}
    assert "当事人" not in result.mapping  # a person's name: never imported
    assert cases_of(atlas, "XG-") == [("XG-1", XUGOU, "婚姻家庭纠纷", "调解成功"),
                                      ("XG-2", XUGOU, "邻里纠纷", "调解不成"),
                                      ("XG-3", XUGOU, "家庭暴力", "在办")]


def test_a_case_list_with_no_address_and_no_township_imports_with_one(atlas, tmp_path):
    path = write_csv(tmp_path / "案件清单.csv", [["案号", "受理时间", "案由", "结案方式"],
                                                  ["LY-1", "2024-05-27 11:00", "婚姻家庭纠纷", "调解成功"]])
    assert run(path, atlas).errors[0].message == "缺少必填列：乡镇（街道）"
    assert_imported(run(path, atlas, township="连云街道"))
    assert cases_of(atlas, "LY-") == [("LY-1", LIANYUN, "婚姻家庭纠纷", "调解成功")]


@pytest.mark.parametrize("township, says", [
    ("东风镇", "指定的乡镇“东风镇”不在区划库中"),        # not in the demo city
    ("320703999000", "指定的乡镇“320703999000”不在区划库中"),
    ("320703000000", "指定的乡镇“320703000000”不在区划库中"),  # a county, not a township
])
def test_an_unknown_township_for_the_file_is_an_error_and_nothing_is_written(atlas, tmp_path, township, says):
    path = mediation_ledger(tmp_path, [[1, "XG-1", "2024-05-27", "张某某", "婚姻家庭纠纷", None, "调解成功"]])
    before = imports(atlas)
    result = run(path, atlas, township=township)
    assert result.status == "rejected"
    assert problems(result) == [(None, None, "township_option_unknown")]
    assert result.errors[0].message.startswith(says)
    assert "区划代码" in result.errors[0].expected
    assert (cases_of(atlas, "XG-"), imports(atlas)) == ([], before)


def test_an_ambiguous_township_lists_the_candidates_and_asks_for_the_code(full_atlas, tmp_path):
    # 百丈镇: three in the national register, none in the demo city
    path = mediation_ledger(tmp_path, [[1, "BZ-1", "2024-05-27", "张某某", "婚姻家庭纠纷", None, "调解成功"]])
    result = run(path, full_atlas, township="百丈镇")
    assert result.status == "rejected"
    assert problems(result) == [(None, None, "township_option_ambiguous")]
    codes = [c[0] for c in query(full_atlas, "select region_code from regions where name = '百丈镇' order by 1")]
    assert len(codes) == 3 and all(code in result.errors[0].message for code in codes)
    assert "请写区划代码" in result.errors[0].expected
    assert_imported(run(path, full_atlas, township=codes[0]))
    assert query(full_atlas, "select township_code from cases where case_id = 'BZ-1'") == [(codes[0],)]


def test_a_township_column_and_a_township_for_the_file_are_not_mixed(atlas, tmp_path):
    path = write_csv(tmp_path / "cases.csv", [["案号", "受理时间", "乡镇", "案由"],
                                              ["MX-1", "2024-05-27", "连云街道", "邻里纠纷"]])
    result = run(path, atlas, township="墟沟街道")
    assert problems(result) == [(None, "乡镇", "township_and_column")]
    assert "--map \"乡镇=\"" in result.errors[0].expected and cases_of(atlas, "MX-") == []
    # the person says the column is not to be read: the file's township is then the given one
    assert_imported(run(path, atlas, township="墟沟街道", mapping={"乡镇": ""}))
    assert cases_of(atlas, "MX-") == [("MX-1", XUGOU, "邻里纠纷", "在办")]


def test_the_same_file_for_another_township_is_another_import(atlas, tmp_path):
    path = write_csv(tmp_path / "cases.csv", [["案号", "受理时间", "案由"], ["SAME-1", "2024-05-27", "邻里纠纷"]])
    assert_imported(run(path, atlas, township="墟沟街道"))
    assert run(path, atlas, township="墟沟街道").status == "unchanged"
    # not "unchanged": the file is read another way; the case moves (by its id) to the other
    # township, which leaves 墟沟街道 with fewer cases than before: asked, like any such replacement
    assert problems(run(path, atlas, township="连云街道")) == [(None, None, "replaces_more")]
    assert_imported(run(path, atlas, township="连云街道", replace=True))
    assert cases_of(atlas, "SAME-") == [("SAME-1", LIANYUN, "邻里纠纷", "在办")]


def test_the_cli_takes_the_township_of_the_whole_file(atlas, tmp_path, capsys):
    path = mediation_ledger(tmp_path, [[1, "CLI-1", "2024-05-27", "张某某", "婚姻家庭纠纷", HOME, "调解成功"]])
    assert cli.main(["import", str(path), "--db", str(atlas), "--township", "不存在镇", "--json"]) == 1
    assert "township_option_unknown" in capsys.readouterr().out
    assert cli.main(["import", str(path), "--db", str(atlas), "--township", "墟沟街道"]) == 0
    out = capsys.readouterr().out
    assert "已导入" in out and HOME not in out
    assert cases_of(atlas, "CLI-") == [("CLI-1", XUGOU, "婚姻家庭纠纷", "调解成功")]


# ---- the township an address names ---------------------------------------------------------------

def address_ledger(tmp_path: Path, name: str = "司法所台账.xlsx") -> Path:
    return mediation_ledger(tmp_path, [
        [1, "AD-1", "2024-05-27", "张某某", "婚姻家庭纠纷", HOME, "调解成功"],
        [2, "AD-2", "2024-05-28", "李某某", "邻里纠纷", "墟沟街道南东盛社区", "调解成功"],
        [3, "AD-3", "2024-06-03", "王某某", "家庭暴力", "连云港市连云区连云老街12号", None],   # 连云 (no suffix)
        [4, "AD-4", "2024-06-04", "赵某某", "婚姻家庭纠纷", "连云港连云区连云街道港城社区", "终止调解"],
    ], name=name)


def test_addresses_propose_the_townships_they_name(atlas, tmp_path):
    result = run(address_ledger(tmp_path), atlas)
    assert result.status == "rejected" and result.township_missing is False
    # one entry per township name found, never per address: the page's 乡镇匹配确认 lists these
    got = [(u.name, u.count, u.rows, [c["code"] for c in u.candidates]) for u in result.unmatched]
    assert got == [("墟沟街道", 2, [4, 5], [XUGOU]), ("连云", 1, [6], [LIANYUN]), ("连云街道", 1, [7], [LIANYUN])]
    assert problems(result) == [(4, "纠纷发生地点", "address_township"), (6, "纠纷发生地点", "address_township"),
                                (7, "纠纷发生地点", "address_township")]
    assert result.errors[0].value == "墟沟街道"
    assert result.errors[0].message == "地址中写有乡镇“墟沟街道”，需要确认是哪个乡镇：墟沟街道（连云区，320703001000）"


def test_confirmed_townships_of_addresses_import_and_are_remembered(atlas, tmp_path):
    matches = {"墟沟街道": XUGOU, "连云": LIANYUN, "连云街道": LIANYUN}
    assert_imported(run(address_ledger(tmp_path), atlas, matches=matches))
    assert [(c, t) for c, t, *_ in cases_of(atlas, "AD-")] == [
        ("AD-1", XUGOU), ("AD-2", XUGOU), ("AD-3", LIANYUN), ("AD-4", LIANYUN)]
    assert query(atlas, "select alias, region_code from region_aliases where alias in ('连云', '墟沟街道', '连云街道') "
                        "order by 1") == [("墟沟街道", XUGOU), ("连云", LIANYUN), ("连云街道", LIANYUN)]
    # the next file from the same office: the confirmations are reused, nothing to confirm
    later = mediation_ledger(tmp_path, [[1, "AD-9", "2024-07-01", "钱某某", "邻里纠纷", "连云老街3号", "调解成功"],
                                        [2, "AD-8", "2024-07-02", "孙某某", "邻里纠纷", "墟沟街道海滨社区", "调解成功"]],
                             name="七月台账.xlsx")
    assert_imported(run(later, atlas))
    assert [(c, t) for c, t, *_ in cases_of(atlas, "AD-")][-2:] == [("AD-8", XUGOU), ("AD-9", LIANYUN)]


def test_the_cli_confirms_the_township_an_address_names(atlas, tmp_path, capsys):
    path = address_ledger(tmp_path)
    assert cli.main(["import", str(path), "--db", str(atlas)]) == 1
    out = capsys.readouterr().out
    assert "地址中写有乡镇“墟沟街道”" in out and HOME not in out and "南东盛" not in out
    assert cli.main(["import", str(path), "--db", str(atlas), "--match", f"墟沟街道={XUGOU}",
                     "--match", f"连云={LIANYUN}", "--match", f"连云街道={LIANYUN}"]) == 0
    assert len(cases_of(atlas, "AD-")) == 4


def test_an_address_that_names_no_township_is_a_row_error(atlas, tmp_path):
    path = mediation_ledger(tmp_path, [
        [1, "NO-1", "2024-05-27", "张某某", "婚姻家庭纠纷", "墟沟街道海滨社区", "调解成功"],
        [2, "NO-2", "2024-05-28", "李某某", "邻里纠纷", "新东路8号", "调解成功"],      # a road, no township
        [3, "NO-3", "2024-05-29", "王某某", "邻里纠纷", "墟沟村3组", "调解成功"],       # a village of that name
        [4, "NO-4", "2024-05-30", "赵某某", "邻里纠纷", None, "调解成功"]])
    result = run(path, atlas, matches={"墟沟街道": XUGOU})
    assert problems(result) == [(5, "纠纷发生地点", "address_no_township"), (6, "纠纷发生地点", "address_no_township"),
                                (7, "纠纷发生地点", "address_no_township")]
    assert all(e.value is None for e in result.errors)  # the address is not shown back
    assert result.errors[0].message == "地址中找不到乡镇名称"
    assert "请在地址中写明乡镇，或用 --township 指定" in result.errors[0].expected
    assert cases_of(atlas, "NO-") == []


@pytest.mark.parametrize("address, found", [
    ("连云港市连云区墟沟街道海滨社区3号", "墟沟街道"),
    ("江苏省连云港市海州区新浦街道解放路", "新浦街道"),
    ("连云港市连云区板桥镇", "板桥镇"),                    # the suffix written another way
    ("连云港市海州区", None),                              # 连云 inside the city's name is no township
    ("海州区新东路8号", None),                            # 新东 of 新东街道, but a road
    ("墟沟村3组", None),                                  # a village named after its township
    ("海州湾街道某小区", "海州湾街道"),                    # the longest name, not 海州 of 海州区
])
def test_the_township_name_found_in_an_address(atlas, address, found):
    got, match = pipeline.Context.load(atlas).matcher().in_address(address)
    assert got == found
    assert match.problem == ("address_township" if found else "address_no_township")


def test_only_the_townships_of_the_county_the_file_names_are_looked_for(atlas):
    matcher = pipeline.Context.load(atlas).matcher()
    assert matcher.in_address("朝阳街道幸福里")[0] == "朝阳街道"                      # 连云区's
    assert matcher.in_address("朝阳街道幸福里", county="海州区")[0] is None           # not in 海州区
    assert matcher.in_address("海州区朝阳街道幸福里")[1].candidates == ()            # nor when the address says so
    assert matcher.in_address("新浦街道幸福里", county="海州区")[1].candidates[0].code == "320706006000"


def test_the_address_is_kept_nowhere(atlas, tmp_path):
    def found_in_database() -> dict:
        """Every text column of every table, searched for each part of the addresses."""
        with duckdb.connect(str(atlas), read_only=True) as con:
            columns = con.execute("select table_name, column_name from information_schema.columns "
                                  "where data_type = 'VARCHAR' and table_schema = 'main'").fetchall()
            return {(table, column, part): con.execute(
                        f'select count(*) from "{table}" where "{column}" like ?', [f"%{part}%"]).fetchall()[0][0]
                    for table, column in columns for part in PARTS}

    before = found_in_database()
    result = run(address_ledger(tmp_path), atlas, matches={"墟沟街道": XUGOU, "连云": LIANYUN, "连云街道": LIANYUN})
    assert_imported(result)
    # compared, not zero: the demo has a room and a community of some of these names
    assert found_in_database() == before
    shown = result.preview.to_string() + str(result.to_json())
    assert result.preview["纠纷发生地点"].unique().tolist() == ["＊＊＊"]
    for part in PARTS:
        assert part not in shown


PARTS = ("幸福家园", "南东盛", "连云老街", "港城社区")


# ---- the page ------------------------------------------------------------------------------------

def test_the_page_offers_the_whole_file_s_township_when_no_column_places_the_rows(atlas, tmp_path, monkeypatch):
    from ui import importing
    monkeypatch.setenv("ATLAS_DB", str(atlas))
    no_column = mediation_ledger(tmp_path, [[1, "PG-1", "2024-05-27", "张某某", "婚姻家庭纠纷", None, "调解成功"]],
                                 header=[h for h in HEADER if h != "纠纷发生地点"])
    with_column = write_csv(tmp_path / "cases.csv", [["案号", "受理时间", "乡镇", "案由"],
                                                     ["PG-2", "2024-05-27", "连云街道", "邻里纠纷"]])
    assert importing.township_wanted(run(no_column, atlas, dry_run=True), None)
    assert importing.township_wanted(run(address_ledger(tmp_path), atlas, dry_run=True), None)
    assert not importing.township_wanted(run(with_column, atlas, dry_run=True), None)
    picked = run(no_column, atlas, dry_run=True, township=XUGOU)
    assert picked.status == "dry_run" and importing.township_wanted(picked, XUGOU)  # shown, to change it
    assert importing.detected(picked)[-1] == "整个文件属于：墟沟街道"
    choices = importing.township_choices()
    assert choices[XUGOU] == "墟沟街道（连云区，320703001000）" and choices[LIANYUN].startswith("连云街道（连云区")
