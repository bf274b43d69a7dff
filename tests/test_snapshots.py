"""Saved snapshots (export/saved.py), the snapshots page and the export buttons (ui/exporting.py).

Every test works on its own copy of the session's demo database (snapshots are writes), and runs
twice: on a DuckDB file and on a DuckLake (issue 17: the conftest fixture on_backend)."""
import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from docx import Document
from pptx import Presentation
from streamlit.testing.v1 import AppTest

from db import schema
from export import saved, views
from importer import pipeline
from queries import indicators
from tests.support import connect
from ui import text

ROOT = Path(__file__).resolve().parent.parent
XUGOU = "320703001000"  # 墟沟街道, 连云区


@pytest.fixture
def atlas(demo_db, on_backend, monkeypatch):
    """This test's own copy of the demo database (a file, or a lake), and the app pointed at it."""
    path = on_backend(demo_db)
    monkeypatch.setenv("ATLAS_DB", str(path))
    return path


@pytest.fixture
def where(atlas) -> dict:
    """The latest month, and the county of 墟沟街道 (the snapshot's region)."""
    with connect(atlas) as con:
        period = indicators.latest_month(con, indicators.EVERYTHING).code
        county = con.execute("select parent_code from regions where region_code = ?", [XUGOU]).fetchall()[0][0]
    return {"period": period, "region": county}


def take_snapshot(db: Path, name: str, view: str, region: str, period: str) -> int:
    with connect(db, read_only=False) as con:
        frozen = saved.freeze(con, views.ViewSpec(view, region, period))
        return saved.save(con, name, view, {"period": period, "region": region}, frozen, created_by="test")


def live_view(db: Path, view: str, region: str, period: str) -> views.View:
    with connect(db) as con:
        return views.build_view(con, views.ViewSpec(view, region, period))


def township_row(numbers: dict, code: str) -> list[str]:
    table = numbers["townships"]
    return table["rows"][table["region_codes"].index(code)]


def import_screenings(db: Path, tmp_path: Path, period: str, households: int, at_risk: int) -> pipeline.Result:
    """A screening ledger for 墟沟街道 in ``period``: replaces that township's month (the importer's rule)."""
    day = date.fromisoformat(f"{period}-03")
    rows = [["排查日期", "乡镇", "户编号", "风险等级"]]
    rows += [[day.isoformat(), "墟沟街道", f"SNAPTEST-{n}", "高" if n < at_risk else "无"] for n in range(households)]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path = tmp_path / "墟沟排查.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    result = pipeline.run(path, db, kind="screening", today=day + timedelta(days=60), user="test", replace=True)
    assert result.status == "imported", (result.to_json()["errors"], result.to_json()["unmatched"])
    return result


# ---- export/saved.py ---------------------------------------------------------------------------

def test_save_list_rename_delete(atlas, where):
    first = take_snapshot(atlas, "排查进度 · 连云区", "screening", where["region"], where["period"])
    second = take_snapshot(atlas, "  总览   全市 ", "overview", "320700000000", where["period"])
    with connect(atlas, read_only=False) as con:
        listing = saved.list_all(con)
        assert listing["snapshot_id"].tolist() == [second, first]  # newest first
        assert listing["name"].tolist() == ["总览 全市", "排查进度 · 连云区"]  # spaces tidied
        assert listing["view"].tolist() == ["overview", "screening"]
        assert listing.iloc[1]["region_name"] == "连云区"
        assert listing.iloc[1]["period"] == where["period"]

        assert saved.rename(con, first, "例会用") is True
        assert saved.get(con, first).name == "例会用"
        with pytest.raises(ValueError):
            saved.rename(con, first, "   ")
        assert saved.rename(con, 999, "x") is False

        assert saved.delete(con, second) is True
        assert saved.delete(con, second) is False
        assert saved.get(con, second) is None
        assert saved.list_all(con)["snapshot_id"].tolist() == [first]
    # a deleted id is never given again: an old link must not open another snapshot
    third = take_snapshot(atlas, "再存一次", "hotspots", where["region"], where["period"])
    assert third == second + 1


def test_saving_does_not_bump_the_data_version(atlas, where):
    with connect(atlas) as con:
        before = schema.data_version(con)
    take_snapshot(atlas, "x", "coverage", where["region"], where["period"])
    with connect(atlas) as con:
        assert schema.data_version(con) == before
        assert saved.get(con, 1).data_version == before


def test_frozen_numbers_are_the_screens_and_name_no_household(atlas, where):
    snapshot_id = take_snapshot(atlas, "排查", "screening", where["region"], where["period"])
    live = live_view(atlas, "screening", where["region"], where["period"])
    with connect(atlas) as con:
        snap = saved.get(con, snapshot_id)
        numbers = snap.numbers
        assert [k["value"] for k in numbers["kpis"]] == [k.value for k in live.kpis]
        assert numbers["data_as_of_text"] == live.data_as_of_text
        assert numbers["townships"]["region_codes"] == live.townships["region_code"].tolist()
        assert numbers["ranking"]["rows"] == live.ranking.rows
        assert numbers["colours"] == live.shading.colour_of
        # no household id anywhere in the stored text
        words = set()

        def walk(x):
            if isinstance(x, dict):
                for k, v in x.items():
                    words.add(str(k))
                    walk(v)
            elif isinstance(x, list):
                for v in x:
                    walk(v)
            else:
                words.add(str(x))

        walk(numbers)
        walk(snap.params)
        found = con.execute("select count(*) from screenings where household_id in (select unnest(?))",
                            [sorted(words)]).fetchall()[0][0]
        assert found == 0
        assert "household_id" not in json.dumps(numbers)
    # the map image is a PNG of a sensible size
    assert snap.map_png[:8] == b"\x89PNG\r\n\x1a\n" and 20_000 < len(snap.map_png) < 600_000


def test_small_counts_are_frozen_suppressed(atlas, where, tmp_path):
    # 3 high-risk households in one township: shown as "<5" on screen, so in the snapshot too
    import_screenings(atlas, tmp_path, where["period"], households=40, at_risk=3)
    snapshot_id = take_snapshot(atlas, "热点", "hotspots", where["region"], where["period"])
    with connect(atlas) as con:
        numbers = saved.get(con, snapshot_id).numbers
    row = township_row(numbers, XUGOU)
    column = numbers["townships"]["codes"].index("risk_households") + 2  # after township and county
    assert row[column] == "<5"


def test_a_snapshots_numbers_are_unchanged_after_a_new_import(atlas, where, tmp_path):
    snapshot_id = take_snapshot(atlas, "排查进度 · 连云区", "screening", where["region"], where["period"])
    with connect(atlas) as con:
        before = saved.get(con, snapshot_id)
    live_before = live_view(atlas, "screening", where["region"], where["period"])

    import_screenings(atlas, tmp_path, where["period"], households=300, at_risk=30)

    live_after = live_view(atlas, "screening", where["region"], where["period"])
    with connect(atlas) as con:
        after = saved.get(con, snapshot_id)
        version_now = schema.data_version(con)
    # the live numbers moved ...
    assert live_after.kpis != live_before.kpis
    live_row = live_after.townships.set_index("region_code").loc[XUGOU]
    assert int(live_row["households_screened"]) == 300
    # ... the snapshot's did not
    assert after.numbers == before.numbers
    assert after.map_png == before.map_png
    assert after.data_version == before.data_version < version_now
    assert township_row(after.numbers, XUGOU)[3] != "300"


# ---- the pages ---------------------------------------------------------------------------------

def run_snapshots_page(**query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app_pages" / "snapshots.py"), default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    return at


def page_text(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.header, *at.subheader, *at.caption, *at.markdown, *at.info,
                               *at.warning)]
    return "\n".join(str(p) for p in parts)


def test_snapshots_page_shows_the_frozen_numbers_after_an_import(atlas, where, tmp_path):
    snapshot_id = take_snapshot(atlas, "排查进度 · 连云区", "screening", where["region"], where["period"])
    with connect(atlas) as con:
        frozen = saved.get(con, snapshot_id)
    import_screenings(atlas, tmp_path, where["period"], households=300, at_risk=30)
    live = live_view(atlas, "screening", where["region"], where["period"])
    assert [k.value for k in live.kpis] != [k["value"] for k in frozen.numbers["kpis"]]

    at = run_snapshots_page(id=str(snapshot_id))
    assert not at.exception, at.exception
    assert at.header[0].value == "排查进度 · 连云区"
    assert [m.value for m in at.metric] == [k["value"] for k in frozen.numbers["kpis"]]
    saved_on = frozen.created_at.date()
    banner = at.info[0].value
    assert banner.startswith(f"快照：{saved_on.year}年{saved_on.month}月{saved_on.day}日保存，数据截至 ")
    body = page_text(at)
    assert "此后数据已更新" in body
    table = at.dataframe[0].value
    row = table[table["乡镇（街道）"] == "墟沟街道"].iloc[0]
    # the screening view's columns: 本年累计 rate, its addition, then households screened to date
    assert row["本年累计排查户数"] == township_row(frozen.numbers, XUGOU)[4] != "300"
    # links: the live view with the saved parameters, and the snapshot itself
    assert f"(screening?period={where['period']}&region={where['region']})" in body
    assert f"(snapshots?id={snapshot_id})" in body


def test_snapshots_page_lists_renames_and_deletes(atlas, where):
    first = take_snapshot(atlas, "第一张", "coverage", where["region"], where["period"])
    take_snapshot(atlas, "第二张", "hotspots", where["region"], where["period"])
    at = run_snapshots_page()
    assert not at.exception, at.exception
    listing = at.dataframe[0].value
    assert listing["名称"].tolist() == ["第二张", "第一张"]
    assert listing["视图"].tolist() == [text.ZH["PAGE_HOTSPOTS"], text.ZH["PAGE_COVERAGE"]]
    assert "(present?ids=" in page_text(at)

    at = run_snapshots_page(id=str(first))
    at.text_input(key=f"rename-{first}").input("会议用").run()
    at.button(key="rename").click().run()
    assert not at.exception, at.exception
    assert at.header[0].value == "会议用"
    at.checkbox(key="delete-confirm").check().run()
    at.button(key="delete").click().run()
    assert not at.exception, at.exception
    with connect(atlas) as con:
        assert saved.list_all(con)["name"].tolist() == ["第二张"]


def test_unknown_snapshot_id_is_a_notice(atlas):
    for wanted in ("42", "abc"):
        at = run_snapshots_page(id=wanted)
        assert not at.exception, at.exception
        assert at.warning[0].value == text.ZH["SNAPSHOT_NOT_FOUND"].format(id=wanted)


def test_present_page_shows_the_chosen_snapshot_and_steps(atlas, where):
    a = take_snapshot(atlas, "幻灯片甲", "screening", where["region"], where["period"])
    b = take_snapshot(atlas, "幻灯片乙", "hotspots", where["region"], where["period"])
    at = AppTest.from_file(str(ROOT / "app_pages" / "present.py"), default_timeout=60)
    at.query_params["ids"] = f"{b},{a}"
    at.run()
    assert not at.exception, at.exception
    assert "幻灯片乙" in "".join(h.proto.body for h in at.get("html"))
    at.button(key="present_next").click().run()
    assert "幻灯片甲" in "".join(h.proto.body for h in at.get("html"))
    assert "第 2 / 2 张" in "".join(h.proto.body for h in at.get("html"))


def export_script():
    from ui import exporting

    exporting.export_buttons("screening")


@pytest.mark.parametrize("backend", ["file"])  # the files an export writes: the same code on a lake (test_lake_parity)
@pytest.mark.parametrize("kind", ["pptx", "docx"])
def test_export_buttons_build_on_demand_readable_files(atlas, where, kind):
    at = AppTest.from_function(export_script, default_timeout=120)
    at.session_state["period"] = where["period"]
    at.session_state["region"] = where["region"]
    at.run()
    assert not at.exception, at.exception
    assert not at.download_button  # nothing is built on page load
    label = text.ZH["EXPORT_BUILD"].format(format=text.ZH[f"EXPORT_FMT_{kind}"])
    button = next(b for b in at.button if b.label == label)
    button.click().run()
    assert not at.exception, at.exception
    assert [d.label for d in at.download_button] == [text.ZH["EXPORT_DOWNLOAD"].format(format=text.ZH[f"EXPORT_FMT_{kind}"])]

    from ui import data, exporting

    # the bytes the button serves: the cached builder, with the key the page used
    spec = views.ViewSpec("screening", where["region"], where["period"], "zh", tuple(data.viewer_scope()))
    blob = exporting._export_bytes(data.db_path(), data.version(), spec, kind)
    live = live_view(atlas, "screening", where["region"], where["period"])
    if kind == "pptx":
        deck = Presentation(io.BytesIO(blob))
        titles = [s.shapes.title.text for s in deck.slides if s.shapes.title is not None]
        assert any("风险隐患排查进度" in title for title in titles), titles
        tables = [sh.table for s in deck.slides for sh in s.shapes if sh.has_table]
        assert tables and tables[0].cell(1, 1).text == live.ranking.rows[0][1]
    else:
        doc = Document(io.BytesIO(blob))
        headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
        assert "二、排名靠后的乡镇" in headings
    name = exporting.file_name("screening", kind, "连云区", where["period"], "zh")
    assert name.startswith("排查进度-连云区-") and name.endswith(f".{kind}")


@pytest.mark.parametrize("backend", ["file"])  # words, not data: once is enough
def test_pages_run_in_english(atlas, where):
    snapshot_id = take_snapshot(atlas, "例会", "coverage", where["region"], where["period"])
    for page, query in (("snapshots", {}), ("snapshots", {"id": str(snapshot_id)}), ("present", {})):
        at = AppTest.from_file(str(ROOT / "app_pages" / f"{page}.py"), default_timeout=60)
        at.session_state["lang"] = "en"
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, (page, at.exception)
    assert at.button(key="present_next").label == text.EN["PRESENT_NEXT"]


# ---- the hotspot measure (ViewSpec.hotspot_of) ---------------------------------------------

def test_a_hotspot_snapshot_saved_from_the_page_keeps_its_measure(atlas, where):
    """保存快照 on the hotspot page with 每万户受理纠纷 chosen: the frozen numbers, the map title and the
    township table are cases per 10,000 households, and the live link reopens that measure."""
    at = AppTest.from_file(str(ROOT / "app_pages" / "hotspots.py"), default_timeout=120)
    at.session_state["period"] = where["period"]
    at.session_state["region"] = where["region"]
    at.run()
    at.radio(key="hotspot_of").set_value("cases").run()
    assert not at.exception, at.exception
    at.text_input(key="snapshot-name-hotspots").input("纠纷热点")
    at.button(key="snapshot-save-hotspots").click().run()
    assert not at.exception, at.exception
    with connect(atlas) as con:
        snap = saved.get(con, int(saved.list_all(con)["snapshot_id"].iloc[0]))
        live = views.build_view(con, views.ViewSpec("hotspots", where["region"], where["period"], hotspot_of="cases"))
    assert snap.name == "纠纷热点" and snap.hotspot_of == "cases" and snap.params["of"] == "cases"
    n = snap.numbers
    assert n["hotspot_of"] == "cases" and n["code"] == "cases_per_10k"
    assert n["map_title"] == live.map_title == "各乡镇平滑后每万户受理纠纷，粗框为显著热点、冷点"
    assert n["townships"]["codes"][:3] == ["cases_per_10k", "cases_received", "households_total"]
    assert n["townships"]["columns"][2] == "每万户受理纠纷"
    assert n["ranking"]["title"] == "平滑后每万户受理纠纷最高的乡镇" and n["ranking"]["rows"] == live.ranking.rows
    assert n["legend"]["title"] == "平滑后每万户受理纠纷"
    from ui import exporting

    assert "of=cases" in exporting.live_link(snap)


def test_a_hotspot_snapshot_saved_before_the_measure_was_kept_opens_as_risk(atlas, where):
    snapshot_id = take_snapshot(atlas, "旧快照", "hotspots", where["region"], where["period"])
    with connect(atlas, read_only=False) as con:  # as saved before hotspot_of was frozen: no such key
        # rewritten in Python: DuckDB 1.5.5's json extension has no json_remove
        numbers = json.loads(con.execute("select numbers from snapshots where snapshot_id = ?",
                                         [snapshot_id]).fetchall()[0][0])
        del numbers["hotspot_of"]
        con.execute("update snapshots set numbers = ? where snapshot_id = ?",
                    [json.dumps(numbers, ensure_ascii=False), snapshot_id])
        snap = saved.get(con, snapshot_id)
    assert "hotspot_of" not in snap.numbers and "of" not in snap.params
    assert snap.hotspot_of == "risk" and snap.numbers["code"] == "risk_rate_per_1000"
    at = run_snapshots_page(id=str(snapshot_id))
    assert not at.exception, at.exception
    assert at.header[0].value == "旧快照"
    assert "各乡镇平滑后风险发现率，粗框为显著热点、冷点" in page_text(at)
    assert f"(hotspots?period={where['period']}&region={where['region']})" in page_text(at)
