"""Small-count suppression that cannot be undone (issue 14, indicators/suppress.py).

The acceptance test plays an attacker: it collects every number a non-admin is shown for a
period (every export view at city and county level, the city's saved snapshots, the CLI's JSON
at every level, each township panel's figures, trend and case breakdown), as text, and tries to work each hidden count back from them:
(a) a rate times its denominator, (b) a shown total minus the shown cells of its group, with each
"<5" in [1, 4] and each "×" in [0, ∞), across the levels, (c) a change from the previous period;
and, reading every month, quarter and the year of 2025 together, (d) a quarter as the sum of its
months and the year as the sum of its quarters or months, wherever that holds in the data.
No hidden cell may come out as a single value. The same attacker must succeed on what the atlas
showed before (rates beside "<5") and with primary suppression alone, or it proves nothing.
"""
import contextlib
import io
import json
import math
import re

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

import cli
from export import saved, views
from i18n import text as page_text
from indicators import fmt, registry, suppress
from indicators.suppress import PRIMARY, SECONDARY, Exact, Hidden
from queries import indicators, periods, runner

PERIOD = "2025-11"
PERIODS = ["2025-11", "2025Q4"]  # a month and a quarter of the demo, many small counts in each
CITY = "320700000000"
INF = math.inf


# ---- (1) the rule ----------------------------------------------------------------------------

def group(total, cells):
    values = {"T": total, **{f"c{i}": v for i, v in enumerate(cells)}}
    return values, [("T", [f"c{i}" for i in range(len(cells))])]


def test_one_small_cell_under_a_shown_total_hides_the_smallest_other():
    values, groups = group(30, [3, 12, 7, 8, 0])
    hidden = suppress.protect(values, groups)
    assert hidden == {"c0": PRIMARY, "c2": SECONDARY}  # 7: the smallest positive other cell
    assert suppress.pinned(values, hidden, groups) == []


def test_a_zero_cell_is_hidden_when_no_other_cell_is_positive():
    # 4 + 4 under a shown 8: both pinned at 4, and no positive cell is left to hide
    values, groups = group(8, [4, 4, 0, 0])
    hidden = suppress.protect(values, groups)
    assert hidden == {"c0": PRIMARY, "c1": PRIMARY, "c2": SECONDARY}  # the first zero, deterministically
    assert suppress.pinned(values, hidden, groups) == []


def test_a_small_total_is_itself_hidden_and_needs_no_secondary():
    values, groups = group(3, [3, 0, 0])
    assert suppress.protect(values, groups) == {"T": PRIMARY, "c0": PRIMARY}


def test_cells_that_could_all_be_pinned_get_a_secondary():
    # 4 + 4 under a shown 18: each "<5" is at most 4, so 18 - 10 = 8 pins both at 4
    values, groups = group(18, [4, 4, 10])
    assert suppress.pinned(values, {"c0": PRIMARY, "c1": PRIMARY}, groups) == ["c0", "c1"]
    hidden = suppress.protect(values, groups)
    assert hidden == {"c0": PRIMARY, "c1": PRIMARY, "c2": SECONDARY}
    assert suppress.pinned(values, hidden, groups) == []


def test_two_small_cells_need_nothing_more():
    values, groups = group(20, [2, 3, 15])
    assert suppress.protect(values, groups) == {"c0": PRIMARY, "c1": PRIMARY}


def test_a_hidden_total_is_protected_through_its_members():
    # a2 alone under a shown A would be A - 5; hiding A (7, a secondary) leaves it in [1, 4]: A is
    # 5 + a2 from its townships and 10 - B from the city, so A, B and a2 each keep four values
    values = {"city": 20, "A": 7, "B": 3, "C": 10, "a1": 5, "a2": 2}
    groups = [("city", ["A", "B", "C"]), ("A", ["a1", "a2"])]
    hidden = suppress.protect(values, groups)
    assert hidden == {"B": PRIMARY, "a2": PRIMARY, "A": SECONDARY}
    assert suppress.bounds(values, hidden, groups)["A"] == (6, 9)


def test_rates_on_hidden_counts_are_hidden_and_marks_never_become_numbers():
    frame = pd.DataFrame({"region_code": ["1", "2"], "parent_code": ["0", "0"],
                          "risk_households": [3, 40], "households_screened": [341, 1000],
                          "risk_rate_per_1000": [3 / 341 * 1000, 40.0], "cases_received": [0, 9],
                          "cases_closed": [0, 2], "cases_mediated": [0, 1], "cases_per_10k": [0.0, 1.0],
                          "mediation_success_rate": [None, 0.5]})
    shown = suppress.apply(frame, exact=False)
    assert [fmt.value("risk_households", v) for v in shown["risk_households"]] == ["<5", "40"]
    assert fmt.value("risk_rate_per_1000", shown.loc[0, "risk_rate_per_1000"]) == "—（数值较小）"
    assert fmt.value("mediation_success_rate", shown.loc[1, "mediation_success_rate"]) == "—（数值较小）"
    assert fmt.change("risk_rate_per_1000", shown.loc[0, "risk_rate_per_1000"], 5.0) is None
    assert math.isnan(shown["risk_households"].astype(float)[0])  # a mark is NaN as a number
    assert math.isnan(shown["risk_households"].sum() - 40) is False  # sums skip it: never a 3
    assert [type(r["risk_households"]) for r in suppress.records(shown)][0] is Hidden
    exact = suppress.apply(frame, exact=True)
    assert fmt.value("risk_households", exact.loc[0, "risk_households"]) == "3"
    assert isinstance(exact.loc[0, "risk_households"], Exact)
    assert fmt.value("risk_households", 3) == "<5"  # a plain small count is still "<5"


def test_a_months_hidden_count_is_not_the_quarter_minus_the_others():
    months = pd.date_range("2025-01-01", periods=6, freq="MS")
    trend = pd.DataFrame({"month_start": months, "risk_households": [3, 9, 12, 0, 0, 7],
                          "cases_received": [5, 5, 5, 0, 0, 0], "households_screened": [100] * 6,
                          "risk_rate_per_1000": [30.0, 90.0, 120.0, 0.0, 0.0, 70.0]})
    shown = suppress.trend(trend, exact=False)
    marks = [fmt.value("risk_households", v) for v in shown["risk_households"]]
    assert marks == ["<5", "×", "12", "0", "0", "7"]  # Q1's 24 less 9 and 12 would give January's 3
    assert [fmt.is_missing(v) for v in shown["risk_rate_per_1000"]] == [True, True, False, False, False, False]
    assert list(shown["cases_received"]) == [5, 5, 5, 0, 0, 0]
    assert fmt.value("risk_households", suppress.trend(trend, exact=True)["risk_households"][0]) == "3"
    # with the tables' cells (chosen jointly over the year's months, quarters and year), the
    # trend hides exactly what the township's monthly tables hide: February's 9, a secondary
    # cell there, and no more (June's 7 is shown in June's table, so it is shown here too)
    patterns = {"2025-02": {("T", "risk_households"): SECONDARY}, "2025Q2": {("T", "risk_households"): SECONDARY}}
    seeded = suppress.trend(trend, False, "T", patterns)
    marks = [fmt.value("risk_households", v) for v in seeded["risk_households"]]
    assert marks == ["<5", "×", "12", "0", "0", "7"]


def months_of_q4(oct_, nov, dec, q4):
    """One township alone (no county over it) in October–December and Q4: its cases received."""
    def table(n):
        counts = {m: 0 for m in suppress.sensitive_counts()}
        return [pd.DataFrame([{"region_code": "T", "parent_code": None, **counts, "cases_received": n}])]
    return {"2025-10": table(oct_), "2025-11": table(nov), "2025-12": table(dec), "2025Q4": table(q4)}


def test_a_hidden_month_is_not_its_quarter_less_the_other_months():
    q4 = [("2025Q4", ["2025-10", "2025-11", "2025-12"])]
    tables = months_of_q4(3, 7, 6, 16)
    # per period, October alone is hidden: 16 - 7 - 6 gives it back
    alone = {(p, *k): kind for p, levels in tables.items() for k, kind in suppress.pattern(levels).items()}
    assert alone == {("2025-10", "T", "cases_received"): PRIMARY}
    hidden = suppress.joint(tables, q4)
    assert hidden == {("2025-10", "T", "cases_received"): PRIMARY, ("2025-12", "T", "cases_received"): SECONDARY}
    values = {(p, "T", "cases_received"): n for p, n in zip(tables, (3, 7, 6, 16))}
    group = [(("2025Q4", "T", "cases_received"), [(m, "T", "cases_received") for m in q4[0][1]])]
    assert suppress.bounds(values, alone, group)[("2025-10", "T", "cases_received")] == (3, 3)
    assert suppress.bounds(values, hidden, group)[("2025-10", "T", "cases_received")] == (1, 4)
    # a quarter that is not the sum of its months (a return over several months counts in the
    # quarter only) is no equation a reader can use: nothing more is hidden
    assert suppress.joint(months_of_q4(3, 7, 6, 20), q4) == {("2025-10", "T", "cases_received"): PRIMARY}


def random_year(seed: int) -> tuple[dict, dict, dict, list]:
    """A city of 3 counties × 4 townships over a year's months, quarters and year, with many small
    counts (cases, additive over periods and regions), and a few townships whose quarters are not
    the sum of their months (returns spanning months): (values, times, regions, groups)."""
    rng = np.random.default_rng(seed)
    counties = [f"C{c}" for c in range(3)]
    towns = {f"C{c}T{t}": f"C{c}" for c in range(3) for t in range(4)}
    regions = {"city": None, **{c: "city" for c in counties}, **towns}
    months = [f"m{m:02d}" for m in range(1, 13)]
    quarters = [f"Q{q}" for q in range(1, 5)]
    times = {"Y": None, **{q: "Y" for q in quarters}, **{m: quarters[i // 3] for i, m in enumerate(months)}}
    values = {}
    for town in towns:
        for m in months:
            values[m, town] = int(rng.choice([0, 0, 1, 2, 3, 4, 5, 8, 13]))
        spans = rng.random() < 0.2  # a return over several months: its quarters count more
        for i, q in enumerate(quarters):
            values[q, town] = sum(values[m, town] for m in months[3 * i:3 * i + 3]) + (2 if spans else 0)
        values["Y", town] = sum(values[q, town] for q in quarters)
    for t in times:
        for c in counties:
            values[t, c] = sum(values[t, town] for town, up in towns.items() if up == c)
        values[t, "city"] = sum(values[t, c] for c in counties)
    groups = [((t, up), [(t, r) for r, parent in regions.items() if parent == up])
              for t in times for up in ["city", *counties]]
    for region in regions:
        for up in ["Y", *quarters]:
            parts = [t for t, parent in times.items() if parent == up]
            if values[up, region] == sum(values[p, region] for p in parts):
                groups.append(((up, region), [(p, region) for p in parts]))
        if values["Y", region] == sum(values[m, region] for m in months):
            groups.append((("Y", region), [(m, region) for m in months]))
    return values, times, regions, groups


def lp_range(values: dict, hidden: dict, groups: list, key) -> tuple[float, float]:
    """The least and greatest value of hidden ``key`` a reader can reach by linear programming
    over every group (a stronger reader than interval reasoning), each "<5" in [1, 4], "×" ≥ 0."""
    cells = sorted(hidden)
    index = {c: i for i, c in enumerate(cells)}
    rows, rhs = [], []
    for total, members in groups:
        row = np.zeros(len(cells))
        const = 0.0
        for cell, sign in [(total, -1.0), *((m, 1.0) for m in members)]:
            if cell in index:
                row[index[cell]] += sign
            else:
                const += sign * values[cell]
        if row.any():
            rows.append(row)
            rhs.append(-const)
    box = [(1, 4) if hidden[c] == PRIMARY else (0, None) for c in cells]
    goal = np.zeros(len(cells))
    goal[index[key]] = 1
    low = linprog(goal, A_eq=np.array(rows), b_eq=rhs, bounds=box, method="highs")
    high = linprog(-goal, A_eq=np.array(rows), b_eq=rhs, bounds=box, method="highs")
    return low.fun, -high.fun


@pytest.mark.parametrize("seed", range(6))
def test_cover_leaves_no_small_count_a_reader_can_work_out(seed):
    values, times, regions, groups = random_year(seed)
    linked = {c for total, members in groups if total[0] in times and times.get(members[0][0]) is not None
              and members[0][1] == total[1] for c in (total, *members)}
    hidden = suppress.cover(values, times, regions, linked)
    small = [k for k, v in values.items() if v in suppress.SMALL]
    assert small and all(k in hidden for k in small)
    assert suppress.pinned(values, hidden, groups) == []
    for key in small:
        low, high = lp_range(values, hidden, groups, key)
        assert high - low >= 1 - 1e-6, (key, values[key], low, high)
    # and the cover costs far less than hiding everything: most cells stay shown
    assert len(hidden) < 0.8 * len(values)


def test_cover_is_needed_per_period_alone_is_not_enough():
    """The same reader does recover cells when each period is protected alone."""
    values, times, regions, groups = random_year(0)
    alone = {}
    for t in times:
        cells = {r: values[t, r] for r in regions}
        found = suppress.protect(cells, [(up, [r for r, p in regions.items() if p == up]) for up in set(regions.values()) if up])
        alone.update({(t, r): kind for r, kind in found.items()})
    assert suppress.pinned(values, alone, groups)


def test_breakdown_is_protected_against_the_township_total():
    found = pd.DataFrame({"dimension": ["case_type"] * 3 + ["source"] * 2,
                          "value": ["婚姻", "邻里", "其他", "来访", "排查"], "cases": [6, 2, 5, 10, 3],
                          "from_return": [False] * 5})
    out = suppress.breakdown(found, 13, exact=False)
    marks = [fmt.count(v, sensitive=True) for v in out["cases"]]
    assert marks == ["6", "<5", "×", "10", "<5"] or marks == ["6", "<5", "×", "×", "<5"]
    assert marks.count("<5") == 2 and "×" in marks[:3]
    assert suppress.breakdown(found, Hidden(PRIMARY), exact=False) is None  # no rows under a hidden total
    assert list(suppress.breakdown(found, 13, exact=True)["cases"]) == [6, 2, 5, 10, 3]


# ---- (2) the attacker --------------------------------------------------------------------------

LABELS = {}
for _code in registry.INDICATORS:
    for _lang in ("zh", "en"):
        LABELS[fmt.label(_code, _lang)] = _code
        LABELS[fmt.label(_code, _lang, short=True)] = _code
        # the hotspot tooltip's own rate (indicators/legend.hotspot_cells): read as the rate it is
        LABELS[page_text.t("HOTSPOT_OWN", _lang, name=fmt.label(_code, _lang, short=True))] = _code
MARKS = {"<5": (1, 4), "×": (0, INF)}
HIDDEN_RATE = {"—（数值较小）", "— (small)"}


def interval(code: str, text) -> tuple[float, float] | str | None:
    """What a reader learns from one shown value of ``code``: (low, high), "hidden" (a hidden
    rate: nothing), or None (missing, or not readable)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return (float(text), float(text))
    text = str(text).strip()
    if text in MARKS:
        return MARKS[text]
    if text in HIDDEN_RATE:
        return "hidden"
    unit = registry.get(code).unit if code in registry.INDICATORS else "count"
    m = re.fullmatch(r"(-?[\d,]+(?:\.\d+)?)(万|亿|%|‰)?", text)
    if not m:
        return None
    number, suffix = float(m.group(1).replace(",", "")), m.group(2)
    if suffix in ("万", "亿"):
        return None  # large counts are not small ones
    digits = len(m.group(1).split(".")[1]) if "." in m.group(1) else 0
    half = 0 if unit == "count" else 0.5 * 10 ** -digits
    scale = 0.01 if unit == "share" else 1
    return ((number - half) * scale, (number + half) * scale)


class Reader:
    """Everything shown, as intervals per (region_code, code), and the attack on it."""

    def __init__(self):
        self.box: dict[tuple, tuple] = {}
        self.marked: set[tuple] = set()  # shown as "<5", "×" or a hidden rate somewhere
        self.trend_groups: list[tuple] = []  # a township's months of the period under its count

    def see(self, region: str, code: str, text) -> None:
        found = interval(code, text)
        if found is None:
            return
        key = (region, code)
        if found == "hidden" or (isinstance(text, str) and text.strip() in MARKS):
            self.marked.add(key)
            if found == "hidden":
                return
        lo, hi = self.box.get(key, (-INF, INF))
        new = (max(lo, found[0]), min(hi, found[1]))
        assert new[0] <= new[1] + 1e-9, f"{key}: {text!r} contradicts what was shown elsewhere"
        self.box[key] = new

    def see_row(self, region: str, row: dict) -> None:
        for code in registry.INDICATORS:
            if code in row:
                self.see(region, code, fmt.value(code, row[code]) if not isinstance(row[code], str) else row[code])

    def attack(self, groups: list[tuple]) -> dict:
        """Propagate (a) rates × denominators and (b) group sums to a fixpoint; (region, code) → (lo, hi)."""
        box = dict(self.box)
        for _ in range(60):
            before = dict(box)
            for (region, code), (lo, hi) in list(box.items()):
                found = registry.INDICATORS.get(code)
                if found is None or not found.is_rate:
                    continue
                num, den = (region, found.numerator), (region, found.denominator)
                if num not in box or den not in box:
                    continue
                d_lo, d_hi = box[den]
                if 0 <= d_lo and d_hi < INF and lo >= 0:  # (a) numerator = rate × denominator / multiplier
                    n = box[num]
                    box[num] = (max(n[0], math.ceil(lo * d_lo / found.multiplier - 1e-9)),
                                min(n[1], math.floor(hi * d_hi / found.multiplier + 1e-9)))
                n_lo, n_hi = box[num]
                if n_lo == n_hi and n_lo > 0 and lo > 0 and hi < INF:  # … and denominator = numerator / rate
                    d = box[den]
                    box[den] = (max(d[0], math.ceil(n_lo * found.multiplier / hi - 1e-9)),
                                min(d[1], math.floor(n_lo * found.multiplier / lo + 1e-9)))
            for total, members in groups:  # (b) total = sum of members, both ways
                if total not in box or any(m not in box for m in members):
                    continue
                t = box[total]
                t = (max(t[0], sum(box[m][0] for m in members)), min(t[1], sum(box[m][1] for m in members)))
                box[total] = t
                for m in members:
                    rest_lo = sum(box[o][0] for o in members if o != m)
                    rest_hi = sum(box[o][1] for o in members if o != m)
                    box[m] = (max(box[m][0], t[0] - rest_hi), min(box[m][1], t[1] - rest_lo))
            if box == before:
                break
        return box

    def recovered(self, groups) -> list:
        box = self.attack(groups)
        return sorted(k for k in self.marked if k in box and box[k][1] - box[k][0] < 1)


def cli_json(db, period, *args) -> list[dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["indicators", "--db", str(db), "--json", "--period", period, *args]) == 0
    return json.loads(out.getvalue())


def read_everything(db, period: str, exact: bool = False) -> tuple[Reader, list, list[str]]:
    """What a (non-admin unless ``exact``) viewer is shown for ``period``: the Reader, the groups
    whose totals are shown, and every text shown (for the household-id check)."""
    reader, texts = Reader(), []
    levels = {}
    for level in indicators.LEVELS:
        rows = cli_json(db, period, "--level", level)
        texts.append(json.dumps(rows, ensure_ascii=False))
        levels[level] = rows
        for row in rows:
            for code in registry.INDICATORS:
                if row.get(code) is not None:
                    reader.see(row["region_code"], code, row[code])
    parents = {r["region_code"]: r["parent_code"] for rows in levels.values() for r in rows}
    with duckdb.connect(str(db), read_only=True) as con:
        regions = runner.run(con, "regions_in_atlas", scope=indicators.EVERYTHING)
        for region in regions["region_code"]:
            for view in views.build_deck(con, views.ViewSpec(region=region, period=period, exact=exact)):
                read_view(reader, view, texts)
        for view in views.VIEWS:  # saved snapshots keep the view's numbers as text
            read_snapshot(reader, saved.freeze(con, views.ViewSpec(view=view, period=period, exact=exact),
                                               with_map=False), texts)
        read_panels(reader, con, period, texts, exact)
    by_parent: dict[str, list] = {}
    for code, parent in parents.items():
        by_parent.setdefault(parent, []).append(code)
    groups = [((parent, m), [(c, m) for c in kids]) for parent, kids in by_parent.items() if parent in parents
              for m in suppress.sensitive_counts()]
    groups += reader_breakdown_groups(reader) + reader.trend_groups
    return reader, groups, texts


def read_view(reader: Reader, view, texts: list) -> None:
    codes = dict(zip(view.cells.columns, [LABELS.get(c) for c in view.cells.columns]))
    for row in view.cells.to_dict("records"):  # tooltips: formatted text
        for column, code in codes.items():
            if code is not None:
                reader.see(row["region_code"], code, row[column])
    for code, text in view.totals.items():  # the region's figures
        reader.see(view.region_code, code, text)
    for kpi in view.kpis:
        reader.see(view.region_code, kpi.code, kpi.value)
        if kpi.parts:
            for part in kpi.parts.split(" ÷ "):
                label, _, text = part.rpartition(" ")
                reader.see(view.region_code, LABELS[label], text)
        if kpi.value in MARKS or kpi.value in HIDDEN_RATE:
            assert kpi.change is None, f"{kpi.code}: a change beside a hidden value gives it back"
    ranking = view.ranking
    for row, frame_row in zip(ranking.rows, suppress.records(ranking.frame)):
        for column, text in zip(ranking.columns, row):
            if column in LABELS:
                reader.see(frame_row["region_code"], LABELS[column], text)
    if view.hotspots is not None:  # (a) again: the smoothed rate is the township's own, pulled to the pool
        for row in suppress.records(view.hotspots):
            if suppress.is_hidden(row["risk_households"]):
                assert suppress.is_hidden(row["rate_smoothed"]), row["region_code"]
    texts.extend([json.dumps([view.kpis, view.totals, ranking.rows, view.notes, view.summary], default=str,
                             ensure_ascii=False), view.cells.to_csv()])


def read_snapshot(reader: Reader, frozen, texts: list) -> None:
    numbers = frozen.numbers
    table = numbers["townships"]
    for region, row in zip(table["region_codes"], table["rows"]):
        for code, text in zip(table["codes"], row[2:]):
            reader.see(region, code, text)
    for code, text in numbers["totals"].items():
        reader.see(numbers["region_code"], code, text)
    for kpi in numbers["kpis"]:
        reader.see(numbers["region_code"], kpi["code"], kpi["value"])
    texts.append(json.dumps(numbers, ensure_ascii=False))


def read_panels(reader: Reader, con, period: str, texts: list, exact: bool) -> None:
    """Every township's panel (ui/panel.indicator_rows): each figure as "value（numerator ÷
    denominator）", and its cases by type and source."""
    from ui import panel

    towns = indicators.shown(con, "township", period, indicators.EVERYTHING, exact=exact)
    p = periods.parse(period)
    patterns: dict[str, dict] = {}
    years: dict[str, pd.DataFrame] = {}
    for row in suppress.records(towns):
        county = towns[towns["parent_code"] == row["parent_code"]]
        lines = panel.indicator_rows(pd.Series(row), county, "zh")
        texts.append(lines.to_csv())
        for code, text in zip(panel.CODES, lines.iloc[:, 1]):
            value, parts = text, ""
            if " ÷ " in text:  # "75.0‰（<5 ÷ 40）", "—（数值较小）（<5 ÷ 40）"
                cut = text.rindex("（")
                value, parts = text[:cut], text[cut + 1:-1]
            reader.see(row["region_code"], code, value)
            if parts:
                num, den = registry.parts(code)
                n, _, d = parts.partition(" ÷ ")
                reader.see(row["region_code"], num, n)
                reader.see(row["region_code"], den, d)
        read_trend(reader, con, row["region_code"], p, exact, patterns)
        # the panel's cases by type and source: for the whole year unless an admin (a month's
        # would be the year's less the other months'), under the township's count for that year
        bp = suppress.breakdown_period(p.code, exact)
        total, where = row["cases_received"], row["region_code"]
        if bp != p.code:
            year_rows = years.setdefault(bp, indicators.shown(con, "township", bp, indicators.EVERYTHING, exact=exact))
            total = year_rows.set_index("region_code")["cases_received"][row["region_code"]]
            where = f"{row['region_code']}@{bp}"
            reader.see(where, "cases_received", fmt.count(total, sensitive=True))
        found = runner.run(con, "case_breakdown", period_start=periods.parse(bp).start,
                           period_end=periods.parse(bp).end, scope=[row["region_code"]], case_sources=[])
        shown = suppress.breakdown(found, total, exact)
        if shown is None:
            continue
        for r in suppress.records(shown):
            cell = f"cases:{r['dimension']}:{r['value']}"
            reader.see(where, cell, fmt.count(r["cases"], sensitive=True))
        texts.append(shown.to_csv())


def read_trend(reader: Reader, con, town: str, p, exact: bool, patterns: dict) -> None:
    """The panel's 24 months (ui/data.township_trend): the chart carries each month's risk rate at
    full precision, and its screened households are taken as known. The months of the period sum
    to the township's count for the period, shown beside them."""
    first = (pd.Timestamp(p.end.replace(day=1)) - pd.DateOffset(months=23)).date()
    found = runner.run(con, "township_trend", first_month=first, last_month=p.end.replace(day=1), scope=[town],
                       risk_levels=list(indicators.DEFAULT_RISK_LEVELS), risk_types=[], case_sources=[])
    for code in suppress.trend_periods(found["month_start"]):
        if code not in patterns:
            patterns[code] = indicators.hidden_cells(con, code)
    shown = suppress.trend(found, exact, town, patterns)
    inside = []
    for row in suppress.records(shown):
        month = pd.Timestamp(row["month_start"]).date()
        if not p.start <= month <= p.end:
            continue
        key = (town, f"risk_households@{month:%Y-%m}")
        inside.append(key)
        rate, screened = row["risk_rate_per_1000"], row["households_screened"]
        if suppress.is_hidden(rate):
            reader.marked.add(key)
            reader.box[key] = (0, INF)
        elif not fmt.is_missing(rate):
            n = float(rate) * float(screened) / 1000
            reader.box[key] = (math.ceil(n - 1e-6), math.floor(n + 1e-6))
        else:
            reader.box[key] = (0, 0)  # nothing screened: no risk household
    reader.trend_groups.append(((town, "risk_households"), inside))


def reader_breakdown_groups(reader: Reader) -> list:
    by: dict[tuple, list] = {}
    for region, code in reader.box:
        if code.startswith("cases:"):
            by.setdefault((region, code.split(":")[1]), []).append((region, code))
    return [((region, "cases_received"), cells) for (region, _), cells in by.items()]


@pytest.fixture(scope="module", params=PERIODS)
def shown(demo_db, request):
    return read_everything(demo_db, request.param)


def test_no_hidden_cell_can_be_worked_out(shown):
    reader, groups, _ = shown
    assert len(reader.marked) > 50  # the period has many small counts (and secondaries)
    assert any(k[1] == "risk_households" for k in reader.marked)
    assert reader.recovered(groups) == []


def test_the_attacker_recovers_cells_from_what_was_shown_before(demo_db):
    """Before: counts of 1–4 read "<5" beside their exact rates (the tooltip "8.8‰ | <5 | 341")."""
    reader = Reader()
    with duckdb.connect(str(demo_db), read_only=True) as con:
        for level in indicators.LEVELS:
            for row in suppress.records(indicators.table(con, level, PERIOD, indicators.EVERYTHING)):
                reader.see_row(row["region_code"], row)
    found = reader.recovered([])
    assert len(found) > 20 and any(k[1] == "risk_households" for k in found)


def test_the_attacker_recovers_cells_from_primary_suppression_alone(demo_db, monkeypatch):
    """Rates hidden with their counts, but no secondary cells: totals minus the rest give them back."""
    monkeypatch.setattr(indicators, "hidden_cells", lambda con, period, filters=None: {})
    reader, groups, _ = read_everything(demo_db, PERIOD)
    assert len(reader.recovered(groups)) > 5


def read_year(db, year: int) -> tuple[Reader, list]:
    """What a non-admin is shown for every month and quarter of ``year`` and the year itself
    (the CLI's JSON at every level), each cell keyed ((period, region_code), code), and the groups
    a reader can use: each period's regions under their totals, and, per region and measure,
    every temporal sum (a quarter of its months, the year of its quarters and of its months)
    that holds in the exact data. That is more than a reader knows (which townships report by
    returns spanning months), so the attacker is the stronger for it."""
    reader, groups = Reader(), []
    sums = periods.year_sums(year)
    codes = sorted({code for total, parts in sums for code in (total, *parts)})
    exact = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for code in codes:
            for level in indicators.LEVELS:
                for row in indicators.table(con, level, code, indicators.EVERYTHING).to_dict("records"):
                    exact[code, row["region_code"]] = row
    for code in codes:
        for level in indicators.LEVELS:
            for row in cli_json(db, code, "--level", level):
                for column in registry.INDICATORS:
                    if row.get(column) is not None:
                        reader.see((code, row["region_code"]), column, row[column])
    parents = {(code, region): (code, row["parent_code"]) for (code, region), row in exact.items()}
    kids: dict[tuple, list] = {}
    for cell, parent in parents.items():
        if parent in parents:
            kids.setdefault(parent, []).append(cell)
    regions = sorted({region for _, region in exact})
    for measure in suppress.sensitive_counts():
        groups += [((parent, measure), [(c, measure) for c in cells]) for parent, cells in kids.items()]
        for total, parts in sums:
            for region in regions:
                if exact[total, region][measure] == sum(exact[part, region][measure] for part in parts):
                    groups.append((((total, region), measure), [((part, region), measure) for part in parts]))
    return reader, groups


@pytest.fixture(scope="module")
def year_shown(demo_db):
    return read_year(demo_db, 2025)


def test_no_hidden_cell_can_be_worked_out_across_the_months_quarters_and_year(year_shown):
    reader, groups = year_shown
    assert len([g for g in groups if g[0][0][0] == "2025Q4"]) > 100  # temporal equations hold, many
    assert any(k[1] == "cases_received" and k[0][0] == "2025-10" for k in reader.marked)
    assert reader.recovered(groups) == []


def test_the_attacker_recovers_cells_across_periods_from_per_period_patterns(demo_db, monkeypatch):
    """Each period protected alone (as before): a hidden month is its quarter less the others."""
    def alone(con, period, filters=None):
        return suppress.pattern([indicators.table(con, level, period, indicators.EVERYTHING, None, filters)
                                 for level in indicators.LEVELS])

    monkeypatch.setattr(indicators, "hidden_cells", alone)
    reader, groups = read_year(demo_db, 2025)
    assert reader.recovered(groups)


# ---- (3) admins ----------------------------------------------------------------------------

def test_admins_see_exact_counts(demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as con:
        exact = indicators.table(con, "township", PERIOD, indicators.EVERYTHING)
        view = views.build_view(con, views.ViewSpec(view="hotspots", period=PERIOD, exact=True))
        hidden_view = views.build_view(con, views.ViewSpec(view="hotspots", period=PERIOD))
    small = exact[exact["risk_households"].between(1, 4)]
    assert len(small)
    label = fmt.label("risk_households")
    by_town = view.hotspots.set_index("region_code")
    for code, n in zip(small["region_code"], small["risk_households"]):
        assert fmt.value("risk_households", by_town.loc[code, "risk_households"]) == str(n)
    assert hidden_view.cells is not None and label
    own = page_text.t("HOTSPOT_OWN", name=fmt.label("risk_rate_per_1000", short=True))  # the tooltip's own rate
    tooltips = view.cells.set_index("region_code")[own]
    assert not tooltips.isin(HIDDEN_RATE).any()
    assert hidden_view.cells.set_index("region_code")[own].isin(HIDDEN_RATE).any()


# ---- (4) household ids --------------------------------------------------------------------

def test_no_household_id_in_any_output(demo_db, shown):
    _, _, texts = shown
    with duckdb.connect(str(demo_db), read_only=True) as con:
        ids = [r[0] for r in con.execute(
            "select distinct household_id from screenings where household_id is not null limit 2000").fetchall()]
    assert ids
    blob = "\n".join(texts)
    assert not [i for i in ids if len(str(i)) >= 6 and str(i) in blob]


def test_a_hidden_rate_has_a_neutral_map_class_of_its_own():
    from export.text import t
    from geo import classify, maps
    from indicators import legend

    values = {"a": 10.0, "b": 30.0, "c": Hidden(suppress.RATE), "d": None, "e": 50.0}
    known = [v for v in values.values() if v is not None and not suppress.is_hidden(v)]
    classes = classify.classify(known, "quantiles", 3)
    shading = legend.shade(values, list(values), "risk_rate_per_1000", classes, "zh", t)
    assert shading.colour_of["c"] == maps.SMALL_COLOUR != maps.MISSING_COLOUR
    assert "d" not in shading.colour_of  # no data: grey, as before
    labels = [r.label for r in shading.rows]
    assert labels[-2:] == ["数值较小，不显示（1 个乡镇）", "无数据（1 个乡镇）"]
    assert maps.SMALL_COLOUR not in [r.colour for r in shading.rows[:-2]]  # no class's colour: no band


def test_the_suppression_counts_are_the_indicator_tables_counts(demo_db):
    """year_tables reads sensitive_counts.sql, not indicators.sql: the same rules must give the
    same counts at every level, or the hidden cells would be chosen from other numbers."""
    with duckdb.connect(str(demo_db), read_only=True) as con:
        found = indicators.year_tables(con, 2025)
        aliased = set(indicators.aliases(con))  # a province of one city is that city again: left out
        for period in ("2025-03", "2025Q4", "2025"):
            for level, frame in zip(indicators.LEVELS, found[period]):
                full = indicators.table(con, level, period, indicators.EVERYTHING)
                full = full[~full["region_code"].isin(aliased)]
                mine = frame.set_index("region_code").sort_index()
                theirs = full.set_index("region_code").sort_index()
                assert list(mine.index) == list(theirs.index), (period, level)
                for measure in suppress.sensitive_counts():
                    assert mine[measure].astype(int).tolist() == theirs[measure].astype(int).tolist(), (period, level, measure)
                # a parent left out as an alias is lifted: to what it stands for, or above it
                # (the demo city's province: none, the city is the top)
                for code, m, t in zip(mine.index, mine["parent_code"], theirs["parent_code"]):
                    if t in aliased:
                        assert m is None or (m not in aliased and m != code), (period, level, code, m)
                    else:
                        assert m == t, (period, level, code)
