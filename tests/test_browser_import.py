"""Importing while the app is open, in headless Chromium: from the 数据导入 page (upload, check,
commit) and from ``cli.py import`` in another process while the browser keeps the app reading
the same database. Neither import may fail on the file lock, the app must not break, and it must
show the new numbers on its next rerun, without a restart.

The app runs on a private copy of the session's demo database (these tests write to it).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.appserver import ROOT, AppServer
from tests.support import browser_api, connect

sync_api = browser_api()  # skips the module without a browser; fails instead in CI
expect = sync_api.expect

from openpyxl import Workbook  # noqa: E402



@pytest.fixture(scope="module")
def atlas_copy(demo_db, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("import-app") / "atlas.duckdb"
    shutil.copy(demo_db, path)
    return path


@pytest.fixture(scope="module")
def app_url(atlas_copy, tmp_path_factory):
    log = tmp_path_factory.mktemp("import-app-log") / "streamlit.log"
    with AppServer(atlas_copy, log) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser_page(shared_chromium):
    context = shared_chromium.get().new_context(viewport={"width": 1400, "height": 1100}, locale="zh-CN")
    try:
        yield context.new_page()
    finally:
        context.close()


def idle(page) -> None:
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(timeout=60_000)


def township_rows(db: Path) -> list[tuple]:
    with connect(db) as con:
        return con.execute("""
            select r.region_code, r.name, c.name, r.households_total, r.villages_total
            from regions as r join regions as c on c.region_code = r.county_code
            where r.level = 'township' and r.in_atlas order by r.region_code
        """).fetchall()


def regions_ledger(path: Path, rows: list[tuple], factor: int) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(["各乡镇户数与村（社区）数"])
    sheet.append(["区县", "乡镇（街道）", "户数（户）", "村（社区）数"])
    for _code, name, county, households, villages in rows:
        sheet.append([county, name, (households or 0) * factor, villages])
    book.save(path)
    return path


def kpi_text(page) -> str:
    return page.locator('[data-testid="stMetric"]').all_inner_texts().__str__()


def test_upload_check_and_commit_on_the_page(app_url, atlas_copy, browser_page, tmp_path):
    page = browser_page
    ledger = regions_ledger(tmp_path / "区划底数-网页.xlsx", township_rows(atlas_copy), factor=1)
    page.goto(f"{app_url}/import")
    idle(page)
    expect(page.get_by_text("导入记录")).to_be_visible()
    page.locator('input[type="file"]').set_input_files(str(ledger))
    expect(page.get_by_text("检查通过").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("识别为：区划与底数").first).to_be_visible()
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_text("已导入 区划底数-网页.xlsx").first).to_be_visible(timeout=60_000)
    idle(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    with connect(atlas_copy) as con:
        logged = con.execute("select file_name, kind, imported_by from imports").fetchall()
    assert ("区划底数-网页.xlsx", "regions") == logged[-1][:2]
    assert logged[-1][2].endswith("（网页）")
    page.screenshot(path=str(tmp_path / "import-page.png"), full_page=True)


def test_cli_import_while_the_app_reads(app_url, atlas_copy, browser_page, tmp_path):
    page = browser_page
    rows = township_rows(atlas_copy)
    page.goto(app_url)
    idle(page)
    page.locator('[data-testid="stMetric"]').first.wait_for(timeout=60_000)
    before = kpi_text(page)
    # households doubled: every screening rate (the KPI) halves
    ledger = regions_ledger(tmp_path / "区划底数-加倍.xlsx", rows, factor=2)
    proc = subprocess.Popen(
        [sys.executable, "cli.py", "import", str(ledger), "--db", str(atlas_copy), "--json"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    reloads = 0
    while proc.poll() is None or reloads < 2:  # keep the app reading the file all along
        page.reload()
        idle(page)
        reloads += 1
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        if reloads > 60:
            break
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, f"cli import failed while the app was open:\n{out}\n{err}"
    assert '"status": "imported"' in out
    page.reload()
    idle(page)
    # the sidebar's data line: the demo and now an imported register
    expect(page.locator('[data-testid="stSidebar"]').get_by_text("演示数据与导入台账")).to_be_visible(timeout=30_000)
    after = kpi_text(page)
    assert after != before, "the overview shows the new households on its next rerun"
    with connect(atlas_copy) as con:
        doubled = dict(con.execute("select region_code, households_total from regions where in_atlas").fetchall())
    assert all(doubled[code] == (households or 0) * 2 for code, _n, _c, households, _v in rows)
    page.screenshot(path=str(tmp_path / "overview-after-cli-import.png"), full_page=True)


def test_a_workbook_sheet_and_a_boundary_property_can_be_picked(app_url, atlas_copy, browser_page, tmp_path):
    """Several sheets: the page reads the recognisable one and offers the others; a boundary file
    whose name property was guessed wrong can be told which property holds the name."""
    import json

    page = browser_page
    rows = township_rows(atlas_copy)[:3]
    book = Workbook()
    notes = book.active
    notes.title = "填表说明"
    notes.append(["本表由乡镇妇联填报"])
    first = book.create_sheet("一月")
    first.append(["区县", "乡镇（街道）", "户数（户）", "村（社区）数"])
    for _code, name, county, households, villages in rows:
        first.append([county, name, households, villages])
    second = book.create_sheet("二月")
    second.append(["区县", "乡镇（街道）", "户数（户）", "村（社区）数"])
    second.append([rows[0][2], rows[0][1], 777777, rows[0][4]])
    workbook = tmp_path / "多表底数.xlsx"
    book.save(workbook)

    page.goto(f"{app_url}/import")
    idle(page)
    page.locator('input[type="file"]').set_input_files(str(workbook))
    expect(page.get_by_text("工作表：一月").first).to_be_visible(timeout=60_000)
    picker = page.get_by_role("combobox", name="工作表")
    expect(picker).to_be_visible()
    picker.click()
    page.get_by_role("option", name="二月").click()
    expect(page.get_by_text("工作表：二月").first).to_be_visible(timeout=60_000)
    # the preview reads 二月 now (the grid draws on a canvas; its accessible cells hold the text)
    expect(page.locator("td", has_text="777777").first).to_be_attached(timeout=30_000)
    idle(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)

    # a boundary file with two name-like properties; the guess takes NAME, the names are in 乡镇名称
    code, name = rows[0][0], rows[0][1]
    square = [[119.0, 34.5], [119.01, 34.5], [119.01, 34.51], [119.0, 34.51], [119.0, 34.5]]
    feature = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [square]},
               "properties": {"NAME": "旧名称", "乡镇名称": name, "CODE": code}}
    geojson = tmp_path / "边界.geojson"
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False),
                       encoding="utf-8")
    page.locator('input[type="file"]').set_input_files([str(geojson)])
    expect(page.get_by_text("边界属性").first).to_be_visible(timeout=60_000)
    name_picker = page.get_by_role("combobox", name="乡镇名称属性")
    before = name_picker.input_value()
    choice = "NAME" if before == "乡镇名称" else "乡镇名称"
    idle(page)
    name_picker.click()
    option = page.get_by_role("option", name=choice, exact=True)
    if not option.count():  # the first click can land while the page settles: open it again
        name_picker.click()
    option.click()
    expect(page.get_by_role("combobox", name="乡镇名称属性")).to_have_value(choice, timeout=60_000)
    idle(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    page.screenshot(path=str(tmp_path / "import-pickers.png"), full_page=True)


def test_a_partial_ledger_asks_before_replacing_and_can_be_undone(app_url, atlas_copy, browser_page, tmp_path):
    """The page lists what a file would replace, asks for a yes when it brings less than it
    replaces, deletes the uploaded file once the import ends, and undoes it from the history."""
    from ui import importing

    page = browser_page
    with connect(atlas_copy) as con:
        code, name, month, existing = con.execute("""
            select s.township_code, r.name, strftime(s.screened_date, '%Y-%m'), count(*) from screenings as s
            join regions as r on r.region_code = s.township_code
            group by all order by 4 desc limit 1""").fetchall()[0]
        before = con.execute("select count(*), sum(hash(s)) from screenings as s").fetchall()
    ledger = tmp_path / "排查-部分名单.csv"
    ledger.write_text("排查日期,乡镇（街道）,户编号,风险等级\n" + f"{month}-05,{name},PART-1,低\n", encoding="utf-8")
    uploads_before = set(importing.UPLOADS.iterdir()) if importing.UPLOADS.is_dir() else set()

    page.goto(f"{app_url}/import")
    idle(page)
    page.locator('input[type="file"]').set_input_files(str(ledger))
    expect(page.get_by_text("导入前请核对").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("确认替换：以本文件为准")).to_be_visible()
    commit = page.get_by_role("button", name="确认导入")
    expect(commit).to_be_disabled()
    assert len(set(importing.UPLOADS.iterdir()) - uploads_before) == 1  # the upload, on disk while open
    page.screenshot(path=str(tmp_path / "import-replace-ask.png"), full_page=True)
    page.get_by_text("确认替换：以本文件为准").click()
    expect(commit).to_be_enabled(timeout=30_000)
    commit.click()
    expect(page.get_by_text("已导入 排查-部分名单.csv").first).to_be_visible(timeout=60_000)
    idle(page)
    assert set(importing.UPLOADS.iterdir()) - uploads_before == set()  # gone when the import ended
    with connect(atlas_copy) as con:
        assert con.execute(f"""select count(*) from screenings where township_code = '{code}'
                               and strftime(screened_date, '%Y-%m') = '{month}'""").fetchall() == [(1,)]

    page.get_by_text("撤销一次导入").click()
    page.get_by_role("button", name="撤销这次导入").click()
    expect(page.get_by_text("已撤销第").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text(f"恢复 {existing:,} 行").first).to_be_visible()
    idle(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    page.screenshot(path=str(tmp_path / "import-undone.png"), full_page=True)
    with connect(atlas_copy) as con:
        assert con.execute("select count(*), sum(hash(s)) from screenings as s").fetchall() == before


def test_a_file_without_a_township_column_is_given_its_township_on_the_page(app_url, atlas_copy, browser_page,
                                                                             tmp_path):
    """A 司法所's case list with no township column: the check says the column is missing and
    offers 整个文件属于：; the township picked applies to the check and to the commit."""
    page = browser_page
    ledger = tmp_path / "司法所案件清单.csv"
    ledger.write_text("案号,受理时间,案由,结案方式\nPAGE-T1,2024-05-27 11:00,婚姻家庭纠纷,调解成功\n",
                      encoding="utf-8")
    page.goto(f"{app_url}/import")
    idle(page)
    page.locator('input[type="file"]').set_input_files(str(ledger))
    picker = page.get_by_role("combobox", name="整个文件属于")
    expect(picker).to_be_visible(timeout=60_000)
    # the problem list is a grid drawn on a canvas; its accessible cells hold the text
    expect(page.locator("td", has_text="缺少必填列：乡镇（街道）").first).to_be_attached(timeout=30_000)
    idle(page)
    picker.click()
    page.keyboard.type("墟沟")  # a searchable list: the name, or the code
    page.get_by_role("option", name="墟沟街道（连云区，320703001000）").click()
    expect(page.get_by_text("整个文件属于：墟沟街道").first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("检查通过").first).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="确认导入").click()
    expect(page.get_by_text("已导入 司法所案件清单.csv").first).to_be_visible(timeout=60_000)
    idle(page)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    with connect(atlas_copy) as con:
        assert con.execute("select township_code from cases where case_id = 'PAGE-T1'").fetchall() == [
            ("320703001000",)]
    page.screenshot(path=str(tmp_path / "import-township.png"), full_page=True)
