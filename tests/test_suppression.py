"""Small-count suppression that cannot be undone (issue 14, indicators/suppress.py).

The acceptance test plays an attacker: it collects every number a non-admin is shown for a
period (every export view at city and county level, the city's saved snapshots, the CLI's JSON
at every level, each township panel's figures, trend and case breakdown), as text, and tries to work each hidden count back from them:
(a) a rate times its denominator, (b) a shown total minus the shown cells of its group, with each
"<5" in [1, 4] and each "×" in [0, ∞), across the levels, (c) a change from the previous period.
No hidden cell may come out as a single value. The same attacker must succeed on what the atlas
showed before (rates beside "<5") and with primary suppression alone, or it proves nothing.
"""
import contextlib
import io
import json
import math
import re

import duckdb
import pandas as pd
import pytest

import cli
from export import saved, views
from i18n import text as page_text
from indicators import fmt, registry, suppress
from indicators.suppress import PRIMARY, SECONDARY, Exact, Hidden
from queries import indicators, runner

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
    # what a month's, a quarter's or a year's own table hides stays hidden: the township's 9 in
    # February is a secondary cell of February's county table, and its 7 in Q2 one of Q2's
    patterns = {"2025-02": {("T", "risk_households"): SECONDARY}, "2025Q2": {("T", "risk_households"): SECONDARY}}
    seeded = suppress.trend(trend, False, "T", patterns)
    marks = [fmt.value("risk_households", v) for v in seeded["risk_households"]]
    assert marks[1] == "×" and marks[0] == "<5"
    assert "×" in marks[3:]  # Q2's months (0, 0, 7) no longer add up to its hidden total


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
    from queries import periods
    from ui import panel

    towns = indicators.shown(con, "township", period, indicators.EVERYTHING, exact=exact)
    p = periods.parse(period)
    patterns: dict[str, dict] = {}
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
        found = runner.run(con, "case_breakdown", period_start=p.start, period_end=p.end,
                           scope=[row["region_code"]], case_sources=[])
        shown = suppress.breakdown(found, row["cases_received"], exact)
        if shown is None:
            continue
        for r in suppress.records(shown):
            cell = f"cases:{r['dimension']}:{r['value']}"
            reader.see(row["region_code"], cell, fmt.count(r["cases"], sensitive=True))
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
