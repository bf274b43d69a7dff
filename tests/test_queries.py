"""Every named SQL file runs with its declared params, and every scoped query honours the scope."""
import re
from datetime import date

import duckdb
import pandas as pd
import pytest

from queries import runner

SAMPLE_PARAMS = {
    "level": "township",
    "period_start": date(2025, 1, 1),
    "period_end": date(2025, 12, 31),
    "scope": [""],
    "today": date(2026, 11, 25),
    "as_of": date(2025, 12, 31),
    "first_month": date(2025, 1, 1),
    "last_month": date(2025, 12, 1),
    "limit": 10,
    "import_id": 1,
    "room_types": [],
    "risk_levels": ["中", "高"],
    "risk_types": [],
    "case_sources": [],
    "stored": False,
}
EMPTY_ON_DEMO = {"import_history", "import_reports_counted"}  # the demo is built, not imported: no import has happened
# the stored counts' writers (queries/aggregates.refresh, inside a write): tested in tests/test_aggregates.py
WRITES = {"period_counts_add", "period_counts_drop"}
NAMES = sorted(p.stem for p in runner.SQL_DIR.glob("*.sql")
               if not p.stem.startswith("_") and p.stem not in WRITES)  # _macros: rules


def params_of(name: str) -> set[str]:
    return set(re.findall(r"\$(\w+)", runner.load_sql(name)))


@pytest.mark.parametrize("name", NAMES)
def test_every_query_runs_and_opens_with_its_name(demo_db, name):
    sql = runner.load_sql(name)
    assert sql.startswith(f"-- {name}:"), "each SQL file opens with its name, grain and params"
    assert "params:" in sql.split("\n\n")[0] or "params:" in sql[:800]
    with runner.connect(demo_db) as con:
        frame = runner.run(con, name, **{k: SAMPLE_PARAMS[k] for k in params_of(name)})
    assert (len(frame) == 0) if name in EMPTY_ON_DEMO else (len(frame) > 0)


@pytest.mark.parametrize("name", [n for n in NAMES if "scope" in params_of(n)])
def test_scope_is_applied_in_sql(demo_db, name):
    wanted = params_of(name)
    with runner.connect(demo_db) as con:
        everything = runner.run(con, name, **{k: SAMPLE_PARAMS[k] for k in wanted})
        one_county = runner.run(con, name, **{**{k: SAMPLE_PARAMS[k] for k in wanted}, "scope": ["320703"]})
        nothing = runner.run(con, name, **{**{k: SAMPLE_PARAMS[k] for k in wanted}, "scope": ["110"]})
    code_columns = [c for c in ("township_code", "region_code") if c in one_county.columns]
    if name == "regions_in_atlas":
        assert set(one_county["region_code"]) == {"320703000000"}  # not the city: its total would be the county's alone
        assert nothing.empty
    elif name in EMPTY_ON_DEMO:  # no import on the demo: its scope is tested where an import is made
        assert everything.empty and nothing.empty
    elif code_columns:
        assert one_county[code_columns[0]].str.startswith("320703").all()
        assert 0 < len(one_county) < len(everything)
        assert nothing.empty
    elif name == "data_sources":  # what the data in scope is: nothing in scope is neither
        assert one_county.iloc[0].tolist() == [True, False] and nothing.iloc[0].tolist() == [False, False]
    elif name in ("screening_trend", "township_trend"):  # one row per month: the county's households are fewer
        assert (one_county["households_total"] < everything["households_total"]).all()
        assert nothing["households_total"].isna().all() and (nothing["households_screened"] == 0).all()
    else:  # one-row summaries (dates): a scope that matches nothing finds no dates
        assert nothing.isna().all(axis=None)

def test_a_query_name_is_never_a_path():
    with pytest.raises(ValueError):
        runner.load_sql("../db/schema")


def test_missing_or_extra_params_are_rejected(demo_db):
    with runner.connect(demo_db) as con, pytest.raises(duckdb.Error):
        runner.run(con, "latest_month", today=date(2026, 1, 1))  # no scope


@pytest.mark.parametrize("levels, types", [(["中", "高"], []), (["高"], ["家庭暴力"])])
def test_the_panel_trend_counts_a_month_as_the_indicators_do(demo_db, levels, types):
    """township_trend.sql repeats indicators.sql's counting rule month by month: they must agree."""
    from queries import indicators

    flt = indicators.Filters(risk_levels=tuple(levels), risk_types=tuple(types))
    with runner.connect(demo_db) as con:
        trend = runner.run(con, "township_trend", first_month=date(2025, 1, 1), last_month=date(2025, 6, 1),
                           scope=["320722"], risk_levels=levels, risk_types=types, case_sources=[])
        for row in trend.itertuples():
            month = f"{row.month_start.year}-{row.month_start.month:02d}"
            county = indicators.table(con, "county", month, [""], "320722000000", flt).iloc[0]
            assert (row.households_screened, row.risk_households, row.cases_received) == (
                county["households_screened"], county["risk_households"], county["cases_received"]), month
    assert trend["risk_households"].sum() > 0


# Text that writes a counting rule: it stands in queries/_macros.sql and in no query.
RULES = {
    "in_scope": "list_bool_or(list_transform(",
    "room_active": "opened <= p_end",
    "risk_rank": "'高' then 3",
    "screening_counted": "coalesce(m.risk_low, 0)",
    "cases_counted": "coalesce(s.unresolved",
    "cases_counted (mediated)": "outcome = '调解成功'",
    "township_screening": "max(top_risk)",
}


@pytest.mark.parametrize("rule", RULES)
def test_a_counting_rule_is_written_once(rule):
    text = RULES[rule]
    assert text in runner.load_sql("_macros"), f"{rule} is not in _macros.sql any more: update RULES"
    written = [name for name in NAMES if text in runner.load_sql(name)]
    assert written == [], f"{rule} is restated in {written}: call the macro instead"


# ---- scoped scans: the counting rules read only the rows of the viewer's townships ----------------

@pytest.mark.parametrize("scope", [[""], ["-"], ["32"], ["3207"], ["320703", "320706"], ["32", "3207"],
                                   ["320703001000"], ["110", "3207"]])
def test_rows_in_scope_is_in_scope(demo_db, scope):
    """rows_in_scope (the range a scan can skip by, then in_scope) selects exactly what in_scope
    does, nested and disjoint prefixes included."""
    with runner.connect(demo_db) as con:
        runner.define_rules(con)
        differ = con.execute("""
            select count(*) filter (where rows_in_scope(region_code, $scope) is distinct from in_scope(region_code, $scope)),
                   count(*) filter (where rows_in_scope(region_code, $scope))
            from regions""", {"scope": scope}).fetchall()[0]
    assert differ[0] == 0
    assert (differ[1] == 0) == (scope == ["-"])


@pytest.mark.parametrize("period", [(date(2025, 1, 1), date(2025, 12, 31)), (date(2025, 4, 1), date(2025, 6, 30)),
                                    (date(2024, 3, 1), date(2024, 3, 31))])
def test_scoped_counting_rules_count_as_the_whole_atlas(demo_db, period):
    """township_screening, screening_to_date and cases_counted with p_scope give, for the townships
    in scope, exactly the rows they give unscoped (a township's counts are its own rows'), and
    no row of another township; indicators.sql passes its scope to them."""
    start, end = period
    scope = ["320703", "320706"]
    macros = {
        "township_screening": "select * from township_screening($s, $e, ['中', '高'], []{p})",
        "township_screening risk": "select * from township_screening($s, $e, ['高'], ['家庭矛盾']{p})",
        "township_counts_live": "select * from township_counts_live($s, $e, ['家庭矛盾'], ['来访']{p})",
        "screening_to_date": "select * from screening_to_date($s, $e{p})",
        "cases_counted": "select township_code, month_start, case_type, source, received, closed, mediated, "
                         "from_return, months from cases_counted($s, $e, []{p})",
    }
    with runner.connect(demo_db) as con:
        runner.define_rules(con)
        for name, sql in macros.items():
            whole = con.execute(sql.format(p="") + " order by all", {"s": start, "e": end}).df()
            part = con.execute(sql.format(p=", p_scope := $scope") + " order by all",
                               {"s": start, "e": end, "scope": scope}).df()
            expected = whole[whole["township_code"].str.startswith(tuple(scope))].reset_index(drop=True)
            assert len(part) > 0, name
            pd.testing.assert_frame_equal(part, expected, check_dtype=False, obj=name)
    sql = runner.load_sql("indicators")
    for call in ("township_counts(",):
        assert sql.split(call, 1)[1].split(")")[0].endswith("p_scope := $scope"), call
    live = runner.load_sql("_macros").split("macro township_counts_live(", 1)[1].split(";", 1)[0]
    for call in ("township_screening_ranks(", "screening_to_date(", "cases_counted("):
        assert live.split(call, 1)[1].split(")")[0].endswith("p_scope := p_scope"), call
