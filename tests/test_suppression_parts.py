"""A national year's hidden cells chosen part by part (issue 16, indicators/suppress.joint_by_parts):
each province alone, then the nation over the provinces' totals, the provinces whose totals that
hides solved again with it. The same reader as tests/test_suppression.py (interval reasoning over
every total, and linear programming, scipy's linprog) must recover nothing, on made-up tables whose
answers are known and on a national demo of three small provinces; and the result must protect as
much as solving the whole atlas at once."""
import numpy as np
import pytest

from data import national
from indicators import suppress
from indicators.suppress import PRIMARY
from queries import indicators, periods
from tests.test_suppression import lp_range

YEAR = 2025
SUMS = periods.year_sums(YEAR)
MONTHS = [f"{YEAR}-{m:02d}" for m in range(1, 13)]
QUARTERS = [f"{YEAR}Q{q}" for q in range(1, 5)]
MEASURES = suppress.sensitive_counts()


def made_up(seed: int, small_province: bool):
    """A nation of 3 provinces × 2 counties × 4 townships over a year's 17 periods, as
    queries.indicators.year_tables gives them: period → [townships, counties, provinces, nation].
    Townships' months are often 1–4; a few townships' quarters are more than their months (a
    return spanning months). Every province total is 5 or more, unless ``small_province``: then
    province P2's townships are 0 or 1, so its total is small in some months."""
    rng = np.random.default_rng(seed)
    provinces = ["P0", "P1", "P2"]
    counties = {f"{p}C{c}": p for p in provinces for c in range(2)}
    towns = {f"{c}T{t}": c for c in counties for t in range(4)}
    parent = {"N": None, **{p: "N" for p in provinces}, **counties, **towns}
    cell = {}
    for town in towns:
        tiny = small_province and town.startswith("P2")
        spans = rng.random() < 0.2
        for measure in MEASURES:
            for m in MONTHS:
                choices = [0, 0, 1] if tiny else [0, 1, 2, 3, 4, 6, 9, 14]
                cell[m, town, measure] = int(rng.choice(choices))
            for i, q in enumerate(QUARTERS):
                cell[q, town, measure] = sum(cell[m, town, measure] for m in MONTHS[3 * i:3 * i + 3]) + 2 * spans
            cell[str(YEAR), town, measure] = sum(cell[q, town, measure] for q in QUARTERS)
    for level in (counties, {p: "N" for p in provinces}, {"N": None}):
        for region in level:
            for period in [*MONTHS, *QUARTERS, str(YEAR)]:
                for measure in MEASURES:
                    cell[period, region, measure] = sum(cell[period, r, measure] for r, up in parent.items()
                                                        if up == region)
    import pandas as pd

    def frame(period, codes):
        return pd.DataFrame({"region_code": codes, "parent_code": [parent[c] for c in codes],
                             **{m: [cell[period, c, m] for c in codes] for m in MEASURES}})

    tables = {period: [frame(period, list(towns)), frame(period, list(counties)), frame(period, provinces),
                       frame(period, ["N"])] for period in [*MONTHS, *QUARTERS, str(YEAR)]}
    return tables


def reader(tables: dict, measure: str):
    """What a reader holds of one measure: (values, groups), every total over its regions and,
    per region, every sum over periods that holds in the data (suppress.joint's groups)."""
    values, parent = {}, {}
    for period, levels in tables.items():
        for frame in levels:
            for code, up, v in zip(frame["region_code"], frame["parent_code"], frame[measure]):
                values[period, code] = int(v)
                parent[code] = up
    groups = []
    for period in tables:
        for total in set(parent.values()) - {None}:
            if (period, total) in values:
                groups.append(((period, total), [(period, c) for c, up in parent.items() if up == total]))
    for total, parts in SUMS:
        for region in parent:
            if values[total, region] == sum(values[p, region] for p in parts):
                groups.append(((total, region), [(p, region) for p in parts]))
    return values, groups


def attack(tables: dict, hidden: dict, most: int | None = None) -> None:
    """No hidden cell is pinned by interval reasoning, and no small count (``most`` of them per
    measure, spread over the table, when given) is narrowed below two values by linear programming."""
    for measure in MEASURES:
        values, groups = reader(tables, measure)
        mine = {(p, r): kind for (p, r, m), kind in hidden.items() if m == measure}
        small = sorted(k for k, v in values.items() if v in suppress.SMALL)
        assert all(k in mine for k in small), [k for k in small if k not in mine][:5]
        assert suppress.pinned(values, mine, groups) == []
        picked = small if most is None or len(small) <= most else [small[i] for i in
                                                                   np.linspace(0, len(small) - 1, most).astype(int)]
        for key in picked:
            low, high = lp_range(values, mine, groups, key)
            assert high - low >= 1 - 1e-6, (measure, key, values[key], low, high)


def protects_as_much(tables: dict, parts: dict, whole: dict) -> None:
    """Every small count the whole solution hides, the parts hide too, and none of them narrower
    under linear programming (their ranges are at least as wide, or two values wide at least)."""
    for measure in MEASURES:
        values, groups = reader(tables, measure)
        a = {(p, r): k for (p, r, m), k in parts.items() if m == measure}
        b = {(p, r): k for (p, r, m), k in whole.items() if m == measure}
        small = sorted(k for k, v in values.items() if v in suppress.SMALL)
        for key in small[:: max(1, len(small) // 15)]:
            lo_a, hi_a = lp_range(values, a, groups, key)
            lo_b, hi_b = lp_range(values, b, groups, key)
            assert hi_a - lo_a >= min(hi_b - lo_b, 1) - 1e-6, (measure, key)


@pytest.mark.parametrize("seed", range(2))
def test_parts_hide_what_the_whole_hides_and_the_reader_gets_nothing(seed):
    tables = made_up(seed, small_province=False)
    parts = suppress.joint_by_parts(tables, SUMS, workers=1)
    whole = suppress.joint(tables, SUMS)
    attack(tables, parts, most=40)
    protects_as_much(tables, parts, whole)
    # no province total is hidden: each province was solved alone, its totals shown
    assert not [k for k in parts if k[1] in ("P0", "P1", "P2", "N")]


def test_a_province_with_small_totals_is_solved_again_with_the_nation():
    """P2's totals are small: the nation's step hides them, and P2 is solved again together with
    the nation; P0 and P1 keep their own cells, and the reader still gets nothing."""
    tables = made_up(7, small_province=True)
    parts = suppress.joint_by_parts(tables, SUMS, workers=1)
    assert any(k[1] == "P2" and kind == PRIMARY for k, kind in parts.items())
    attack(tables, parts, most=40)
    protects_as_much(tables, parts, suppress.joint(tables, SUMS))
    alone = suppress.joint({p: [f[f["region_code"].str.startswith("P0")] for f in levels[:3]]
                            for p, levels in tables.items()}, SUMS, fixed=frozenset({"P0"}))
    assert {k: v for k, v in parts.items() if k[1].startswith("P0")} == alone


def test_the_attack_succeeds_on_the_small_counts_alone():
    """The reader above is not toothless: with only the small counts hidden it recovers some."""
    tables = made_up(0, small_province=False)
    primary = {}
    for period, levels in tables.items():
        for frame in levels:
            for measure in MEASURES:
                primary.update({(period, c, measure): PRIMARY for c, v in zip(frame["region_code"], frame[measure])
                                if v in suppress.SMALL})
    with pytest.raises(AssertionError):
        attack(tables, primary, most=40)


@pytest.fixture(scope="module")
def three_provinces(tmp_path_factory):
    path = tmp_path_factory.mktemp("parts") / "three.duckdb"
    national.build(path, seed=3, provinces=["46", "64", "11"], rows=0.002)
    return path


def test_a_national_build_in_parts_resists_the_linear_reader(three_provinces):
    """海南, 宁夏 and 北京 (a province-level city: its city is a member of the nation) at a small
    share of rows, in two processes: nothing recovered, and as protective as the whole."""
    import duckdb

    with duckdb.connect(str(three_provinces), read_only=True) as con:
        tables = indicators.year_tables(con, YEAR)
    parts = suppress.joint_by_parts(tables, SUMS, workers=2)
    whole = suppress.joint(tables, SUMS)
    attack(tables, parts, most=25)
    protects_as_much(tables, parts, whole)
    nation = next(iter(tables.values()))[-1]
    members = set(next(iter(tables.values()))[-2]["region_code"]) | {"110100000000"}
    assert set(nation["region_code"]) == {indicators.NATION}
    assert {c for f in tables[str(YEAR)] for c, up in zip(f["region_code"], f["parent_code"])
            if up == indicators.NATION} == members - {"110000000000"}
