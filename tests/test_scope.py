"""Who sees what (issue 14): a viewer's regions bound what every read, import, undo, snapshot and
URL can reach. Enforced where data is read and written, so these tests go through the importer,
the history, the snapshot store and the URL parser, not through hidden widgets."""
import shutil
from pathlib import Path

import duckdb
import pytest

from export import saved, views
from importer import history
from queries import runner
from tests.support import fingerprint
from tests.test_import_files import LIANYUN, XUGOU, assert_imported, city_db, problems, run, write_csv  # noqa: F401
from ui import state

HAIZHOU = "320706"          # 海州区
LIANYUN_DISTRICT = "320703"  # 连云区 (墟沟街道, 连云街道)
HEADER = ["排查日期", "乡镇", "户编号", "风险等级"]


@pytest.fixture
def atlas(city_db, tmp_path) -> Path:
    path = tmp_path / "atlas.duckdb"
    shutil.copy(city_db, path)
    return path


def _ledger(tmp_path, rows) -> Path:
    return write_csv(tmp_path / "排查台账.csv", [HEADER, *rows])


# ---- imports: a county's analyst writes only their county ----------------------------------------

def test_a_ledger_with_a_township_outside_the_scope_is_rejected_whole(atlas, tmp_path):
    before = fingerprint(atlas)
    path = _ledger(tmp_path, [["2024-03-01", "墟沟街道", "H1", "低"], ["2024-03-02", "海州街道", "H2", "中"],
                              ["2024-03-03", "连云街道", "H3", "无"]])
    result = run(path, atlas, scope=[LIANYUN_DISTRICT])
    assert result.status == "rejected"
    assert problems(result) == [(3, "乡镇", "outside_viewer")]
    error = result.errors[0]
    assert error.value == "海州街道" and "连云区" in error.expected  # which row, what, and what is allowed
    assert fingerprint(atlas) == before  # nothing written


def test_the_same_ledger_inside_the_scope_imports(atlas, tmp_path):
    path = _ledger(tmp_path, [["2024-03-01", "墟沟街道", "H1", "低"], ["2024-03-03", "连云街道", "H3", "无"]])
    assert_imported(run(path, atlas, scope=[LIANYUN_DISTRICT], replace=True))


def test_no_scope_is_everything(atlas, tmp_path):
    path = _ledger(tmp_path, [["2024-03-01", "墟沟街道", "H1", "低"], ["2024-03-02", "海州街道", "H2", "中"]])
    assert_imported(run(path, atlas, replace=True))


def test_undo_outside_the_scope_is_refused_and_history_is_scoped(atlas, tmp_path):
    path = _ledger(tmp_path, [["2024-03-01", "墟沟街道", "H1", "低"], ["2024-03-02", "海州街道", "H2", "中"]])
    done = run(path, atlas, replace=True)
    assert_imported(done)
    ours = _ledger(tmp_path, [["2024-04-01", "连云街道", "H9", "低"]])
    mine = run(ours, atlas, scope=[LIANYUN_DISTRICT], replace=True)
    assert_imported(mine)
    with duckdb.connect(str(atlas), read_only=True) as con:
        runner.define_rules(con)
        ids = {int(r[0]) for r in con.execute("select import_id from imports").fetchall()}
        visible = set(runner.run(con, "import_history", limit=50, scope=[LIANYUN_DISTRICT])["import_id"])
        everything = set(runner.run(con, "import_history", limit=50, scope=[""])["import_id"])
    assert everything == ids and len(ids) == 2
    assert len(visible) == 1  # the county's own import only: the other also wrote 海州区
    before = fingerprint(atlas)
    other = (ids - visible).pop()
    with pytest.raises(history.UndoRefused) as refused:
        history.undo(atlas, other, "连云区分析员", scope=[LIANYUN_DISTRICT])
    assert refused.value.code == "undo_outside_viewer"
    assert fingerprint(atlas) == before
    history.undo(atlas, visible.pop(), "连云区分析员", scope=[LIANYUN_DISTRICT])  # their own: allowed


# ---- snapshots: built for a scope, opened only within it ------------------------------------------

def _save(con, scope, exact=False) -> int:
    spec = views.ViewSpec("overview", region=None, scope=tuple(scope))
    frozen = saved.freeze(con, spec, with_map=False)
    frozen = saved.Frozen(**{**frozen.__dict__, "exact": exact})
    return saved.save(con, f"快照 {scope}", "overview", {}, frozen)


def test_snapshots_open_only_for_viewers_whose_regions_hold_them(atlas):
    with duckdb.connect(str(atlas)) as con:
        county = _save(con, [LIANYUN_DISTRICT])
        city = _save(con, [""])
        exact = _save(con, [""], exact=True)
        con.execute("insert into snapshots (snapshot_id, name, view, created_at) values (99, '旧快照', 'overview', now())")
        seen = {
            who: set(saved.list_all(con, scope, is_exact)["snapshot_id"])
            for who, scope, is_exact in [("admin", [""], True), ("city", ["3207"], False),
                                         ("lianyun", [LIANYUN_DISTRICT], False), ("haizhou", [HAIZHOU], False)]
        }
        assert saved.get(con, county, [HAIZHOU], False) is None  # by id too (a link, a URL)
        assert saved.get(con, county, [LIANYUN_DISTRICT], False) is not None
        assert saved.get(con, 99, [""], False) is None  # saved before scopes: admins only
    assert seen["admin"] == {county, city, exact, 99}
    assert seen["city"] == {county}  # ['3207'] holds 连云区, but not the whole atlas's snapshots
    assert seen["lianyun"] == {county}
    assert seen["haizhou"] == set()


def test_a_county_snapshot_shows_only_the_county(atlas):
    with duckdb.connect(str(atlas)) as con:
        frozen = saved.freeze(con, views.ViewSpec("overview", scope=(LIANYUN_DISTRICT,)), with_map=False)
    text = str(frozen.numbers)
    assert frozen.region_code == "320703000000" and frozen.numbers["region_name"] == "连云区"  # not the city
    assert "海州区" not in text and "赣榆区" not in text and "墟沟街道" in text


# ---- the URL cannot widen the scope ---------------------------------------------------------------

def test_a_url_naming_a_region_outside_the_scope_falls_back_with_a_notice(atlas):
    with duckdb.connect(str(atlas), read_only=True) as con:
        runner.define_rules(con)
        regions = runner.run(con, "regions_in_atlas", scope=[LIANYUN_DISTRICT])
        towns = runner.run(con, "townships_in_atlas", scope=[LIANYUN_DISTRICT])
    choices = state.Choices(periods=["2025-03"], default_period="2025-03",
                            regions=dict(zip(regions["region_code"], regions["level"])),
                            townships=dict(zip(towns["region_code"], towns["parent_code"])))
    for params in ({"region": "320700000000"}, {"region": "320706000000"}, {"town": "320706001000"},
                   {"region": "320706001000"}):
        view, notices = state.parse(params, choices)
        assert view["region"] == "320703000000" and view["town"] is None, params
        assert [n.problem for n in notices] == ["unknown"], params
    view, notices = state.parse({"town": XUGOU}, choices)
    assert view["town"] == XUGOU and not notices


# ---- what the data is: demo, imported or both (issue 15, checked here on the same copies) ---------

def test_the_source_line_says_demo_until_an_import_then_both_and_per_scope(atlas, tmp_path):
    def source(scope):
        with duckdb.connect(str(atlas), read_only=True) as con:
            return views.Atlas(con, scope=scope).source

    assert source([""]) == "demo"
    path = _ledger(tmp_path, [["2024-03-01", "墟沟街道", "H1", "低"]])
    assert_imported(run(path, atlas, replace=True))
    assert source([""]) == "both"  # one small import does not make the demo real
    assert source([HAIZHOU]) == "demo"  # 海州区 holds no imported row
    with duckdb.connect(str(atlas), read_only=True) as con:
        view = views.build_view(con, views.ViewSpec("overview"))
    assert view.notes[0] == "数据来源：演示数据（随机生成，非真实台账）与导入的台账"
    assert views.data_source(False, True) == "imported"


# ---- the CLI: --user NAME prints exactly what that account sees ------------------------------------

@pytest.fixture
def with_users(atlas):
    from access import accounts

    with duckdb.connect(str(atlas)) as con:
        accounts.add_user(con, "root", "pass-word-1", "admin", ["all"])
        accounts.add_user(con, "wang", "pass-word-1", "analyst", [LIANYUN_DISTRICT + "000000"])
        accounts.add_user(con, "li", "pass-word-1", "leader", [LIANYUN_DISTRICT + "000000"])
    return atlas


def _cli_json(capsys, *args):
    import json

    import cli

    code = cli.main(list(args))
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 and out.out.strip().startswith(("[", "{")) else out)


def test_cli_indicators_and_gaps_as_a_user_show_their_regions_only(with_users, capsys):
    db = str(with_users)
    code, rows = _cli_json(capsys, "indicators", "--db", db, "--user", "wang", "--level", "township",
                           "--period", "2025-11", "--json")
    assert code == 0 and rows and all(r["region_code"].startswith(LIANYUN_DISTRICT) for r in rows)
    code, rows = _cli_json(capsys, "indicators", "--db", db, "--user", "wang", "--level", "city", "--json",
                           "--period", "2025-11")
    assert code == 0 and rows == []  # the city's total is not theirs to see
    code, rows = _cli_json(capsys, "indicators", "--db", db, "--user", "wang", "--region", "320706000000",
                           "--json", "--period", "2025-11")
    assert code == 0 and rows == []  # --region cannot widen it
    code, rows = _cli_json(capsys, "gaps", "--db", db, "--user", "wang", "--json", "--period", "2025-11")
    assert code == 0 and all(r["township_code"].startswith(LIANYUN_DISTRICT) for r in rows)
    # suppression: the analyst reads "<5" where the admin reads the count
    _, theirs = _cli_json(capsys, "indicators", "--db", db, "--user", "wang", "--json", "--period", "2025-11")
    _, exact = _cli_json(capsys, "indicators", "--db", db, "--user", "root", "--json", "--period", "2025-11")
    exact = {r["region_code"]: r for r in exact}
    small = [r for r in theirs if 0 < (exact[r["region_code"]]["risk_households"] or 0) < 5]
    # hidden: "<5", or "×" where no other cells could be hidden around it (suppress.cover)
    assert small and all(r["risk_households"] in ("<5", "×") for r in small)
    assert any(r["risk_households"] == "<5" for r in small)


def test_cli_import_as_a_user_cannot_write_outside_their_regions(with_users, tmp_path, capsys):
    import cli

    before = fingerprint(with_users)
    path = _ledger(tmp_path, [["2024-03-01", "墟沟街道", "H1", "低"], ["2024-03-02", "海州街道", "H2", "中"]])
    assert cli.main(["import", str(path), "--db", str(with_users), "--json", "--user", "wang", "--replace"]) == 1
    assert "outside_viewer" in capsys.readouterr().out
    assert cli.main(["import", str(path), "--db", str(with_users), "--json", "--user", "li"]) == 2  # a leader
    assert "may not import" in capsys.readouterr().err
    after = fingerprint(with_users)
    assert [r for r in after if r[0] != "audit_log"] == [r for r in before if r[0] != "audit_log"]
