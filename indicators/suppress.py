"""Small-count suppression that cannot be undone (issue 14). No streamlit.

Counts from 1 to 4 of a sensitive measure (registry ``sensitive=True``: risk households, cases
received, closed, mediated; the panel's cases by type and source) are *primary* cells, shown as
"<5". Wherever a total is shown over a group of cells (the townships of a county under its total,
the counties and townships of a city under the city's, case types or sources under the township's
cases), hiding one cell is not enough: total minus the others gives it back. So, per measure, every
group is checked by interval reasoning (each "<5" in [1, 4], each other hidden cell in [0, ∞),
totals and members propagated both ways across the levels), and while any hidden cell is pinned to
a single value, the smallest positive shown cell of its group (else a zero cell) is hidden too, as
a *secondary* cell "×" (or, where hiding more cannot help, a "<5" is shown as "×"). A rate or
share whose numerator or denominator is hidden is hidden ("—（数值较小）"), and so is anything
computed from one (a change, a smoothed rate).

Hidden cells are :class:`Hidden` values: float NaN that carry their kind. Arithmetic, ``astype
(float)``, sums and comparisons treat them as missing, so no path turns one back into a number;
:mod:`indicators.fmt` renders the kind. For admins (``exact``) small counts are :class:`Exact`
values, which fmt shows as they are (a plain 1–4 still reads "<5": safe by default).
"""
import math
from collections import deque

import pandas as pd

from indicators import registry

PRIMARY, SECONDARY, RATE = "primary", "secondary", "rate"
KINDS = (PRIMARY, SECONDARY, RATE)
SMALL = range(1, 5)  # counts shown as "<5"


class Hidden(float):
    """A suppressed cell: NaN as a number, with the kind of mark it shows as."""

    def __new__(cls, kind: str):
        if kind not in KINDS:
            raise ValueError(f"bad kind {kind!r}: expected one of {', '.join(KINDS)}")
        made = super().__new__(cls, "nan")
        made.kind = kind
        return made

    def __repr__(self) -> str:
        return f"Hidden({self.kind!r})"

    def __reduce__(self):  # pickled by st.cache_data: stay hidden across the cache
        return Hidden, (self.kind,)


class Exact(float):
    """A small sensitive count an admin may see as it is."""

    def __reduce__(self):
        return Exact, (float(self),)


def is_hidden(v) -> bool:
    return isinstance(v, Hidden)


def records(frame: pd.DataFrame) -> list[dict]:
    """``frame.to_dict("records")`` that keeps the marks: pandas unboxes float subclasses there
    (a hidden cell would read as plain NaN, "—", instead of "<5")."""
    columns = list(frame.columns)
    return [dict(zip(columns, row)) for row in zip(*(frame[c] for c in columns))]


def sensitive_counts() -> list[str]:
    return [c for c, i in registry.INDICATORS.items() if i.sensitive and not i.is_rate]


def _column(frame: pd.DataFrame, values) -> pd.Series:
    # object dtype: a list of floats would be inferred as float64, and the marks lost
    return pd.Series(list(values), index=frame.index, dtype=object)


def _int(v) -> int | None:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return int(round(float(v)))


# ---- the rule: which cells to hide ---------------------------------------------------------

def bounds(values: dict, hidden: dict, groups: list[tuple], rounds: int = 50) -> dict:
    """What a reader can infer: key → (low, high) for every cell, from the cells shown
    (``values`` where not in ``hidden``), each hidden cell's kind ([1, 4] for primary, [0, ∞)
    otherwise) and ``groups`` (total key, member keys): total = sum of members."""
    box = {key: _start(v, hidden.get(key)) for key, v in values.items()}
    reduced = [_reduce(values, hidden, group) for group in groups]
    _narrow(box, reduced, range(len(groups)), _touching(groups), rounds)
    return box


def _start(value, kind) -> tuple:
    return (value, value) if kind is None else (1, 4) if kind == PRIMARY else (0, math.inf)


def _touching(groups: list[tuple]) -> dict:
    """key → the indices of the groups it is the total or a member of, in order."""
    out: dict = {}
    for i, (total, members) in enumerate(groups):
        for key in (total, *members):
            if not out.get(key) or out[key][-1] != i:
                out.setdefault(key, []).append(i)
    return out


def _reduce(values: dict, hidden: dict, group: tuple) -> tuple:
    """A group as the reader holds it: (its total if hidden else None, the total's value, its
    hidden members, the sum of its shown members). Shown cells are what they are."""
    total, members = group
    shown = sum(values[m] for m in members if m not in hidden)
    return total if total in hidden else None, values[total], [m for m in members if m in hidden], shown


def _narrow(box: dict, reduced, todo, touching: dict, rounds: int) -> None:
    """Narrow the hidden cells' ``box`` in place to what the groups (``reduced``: index →
    :func:`_reduce`) imply, each total = the sum of its members, both ways, checking again every
    group a narrowed cell is in, until nothing changes (or ``rounds`` checks per group: interval
    reasoning can creep). The result does not depend on the order."""
    inf = math.inf
    queue = deque(todo)
    queued = set(queue)
    budget = rounds * max(len(queued), 1)
    while queue and budget > 0:
        budget -= 1
        i = queue.popleft()
        queued.discard(i)
        total, value, members, shown = reduced[i]
        t_box = (value, value) if total is None else box[total]
        lows = shown + sum(box[m][0] for m in members)
        highs = [box[m][1] for m in members]
        unbounded = highs.count(inf)
        finite = shown + sum(h for h in highs if h != inf)
        t_lo, t_hi = max(t_box[0], lows), min(t_box[1], inf if unbounded else finite)
        changed = []
        if total is not None and (t_lo, t_hi) != t_box:
            box[total] = (t_lo, t_hi)
            changed.append(total)
        for m, high in zip(members, highs):
            others_lo = lows - box[m][0]
            others_hi = inf if unbounded - (high == inf) else finite - (0 if high == inf else high)
            new = (max(box[m][0], t_lo - others_hi), min(box[m][1], t_hi - others_lo))
            if new != box[m]:
                box[m] = new
                changed.append(m)
        for key in changed:
            for j in touching[key]:
                if j not in queued:
                    queue.append(j)
                    queued.add(j)


def pinned(values: dict, hidden: dict, groups: list[tuple]) -> list:
    """Hidden cells whose value a reader can work out (low == high), in key order."""
    box = bounds(values, hidden, groups)
    return sorted(k for k in hidden if box[k][0] == box[k][1])


class _Reader:
    """:func:`bounds` kept up to date as cells are hidden one at a time: hiding a cell can only
    change what is known of the hidden cells it is linked to (through groups, by hidden cells),
    so only those are worked out again. What :func:`protect` asks after every cell it hides."""

    def __init__(self, values: dict, groups: list[tuple], hidden: dict):
        self.values, self.groups, self.touching = values, groups, _touching(groups)
        self.box = bounds(values, hidden, groups)

    def linked(self, key, hidden: dict) -> tuple[set, set]:
        """The hidden cells linked to ``key`` (itself included), and the groups they are in."""
        cells, todo, found = {key}, [key], set()
        while todo:
            for i in self.touching.get(todo.pop(), ()):
                if i in found:
                    continue
                found.add(i)
                total, members = self.groups[i]
                for other in (total, *members):
                    if other in hidden and other not in cells:
                        cells.add(other)
                        todo.append(other)
        return cells, found

    def trial(self, key, hidden: dict) -> dict:
        """The box of the cells linked to ``key`` with ``hidden`` hidden (``key`` among them)."""
        cells, found = self.linked(key, hidden)
        box = dict(self.box)  # shown cells keep their values; only the linked ones start over
        for cell in cells:
            box[cell] = _start(self.values[cell], hidden[cell])
        reduced = {i: _reduce(self.values, hidden, self.groups[i]) for i in found}
        _narrow(box, reduced, sorted(found), self.touching, 50)
        return {cell: box[cell] for cell in cells}


def protect(values: dict, groups: list[tuple], hidden: dict | None = None) -> dict:
    """Cells to hide: key → PRIMARY (1–4) or SECONDARY (hidden so that no hidden cell can be
    worked out from the totals). ``values`` key → count (None: unknown, never hidden);
    ``groups`` as in :func:`bounds`. Deterministic: the same values give the same cells."""
    known = {k: v for k, v in values.items() if v is not None}
    groups = [(t, [m for m in ms if m in known]) for t, ms in groups if t in known]
    hidden = dict(hidden or {})
    for key, v in known.items():  # a "<5" already shown as "×" stays so
        if v in SMALL:
            hidden.setdefault(key, PRIMARY)
    reader = _Reader(known, groups, hidden)
    found = {k for k in hidden if reader.box[k][0] == reader.box[k][1]}

    def commit(cell, kind, box=None):
        stuck.clear()
        hidden[cell] = kind
        box = box or reader.trial(cell, hidden)
        reader.box.update(box)
        for c, (lo, hi) in box.items():
            (found.add if lo == hi else found.discard)(c)

    stuck: set = set()
    while found - stuck:
        key = min(found - stuck)
        near = reader.touching.get(key, [])
        extra = _secondary(key, known, hidden, [groups[i] for i in near])
        if extra is not None:
            box = reader.trial(extra, {**hidden, extra: SECONDARY})
            if box[key][0] != box[key][1]:
                commit(extra, SECONDARY, box)
                continue
        # hiding more does not free it (four "<5" under a "<5" are all 1): show less of what is
        # hidden instead, a "<5" becomes "×", which says nothing of its size
        upgrade = [c for c in (key, *sorted(c for i in near for c in [groups[i][0], *groups[i][1]]))
                   if hidden.get(c) == PRIMARY]
        if upgrade:
            commit(upgrade[0], SECONDARY)
        elif extra is not None:
            commit(extra, SECONDARY)
        else:
            # everything beside it is hidden, and cells it is worked out from are pinned too:
            # free those first (a county's year from its quarters, pinned by their months)
            stuck.add(key)
    return hidden  # stuck cells alone are left: cannot happen while a group has a shown total


def _secondary(key, values: dict, hidden: dict, groups: list[tuple]):
    """The cell to hide beside ``key`` (``groups``: those it is in): in a group it is a member of
    (the smallest first), the smallest positive shown member, else a zero one; else in the group
    it is the total of; else the total of a group it is a member of."""
    ranked = sorted((len(ms), i) for i, (t, ms) in enumerate(groups) if key in ms)
    ranked += [(len(ms), i) for i, (t, ms) in enumerate(groups) if key == t]
    for _, i in ranked:
        total, members = groups[i]
        shown = [m for m in members if m not in hidden and m != key]
        positive = sorted((values[m], m) for m in shown if values[m] > 0)
        zero = sorted(m for m in shown if values[m] == 0)
        if positive:
            return positive[0][1]
        if zero:
            return zero[0]
    # every cell beside it is hidden, and yet it is pinned (a month at 0 under a county shown as
    # 0, across the months of a year): hide the total over it
    for _, i in ranked:
        if groups[i][0] != key and groups[i][0] not in hidden:
            return groups[i][0]
    return None


def pattern(levels: list[pd.DataFrame]) -> dict:
    """The cells to hide, (region_code, measure) → kind, from the raw indicator tables of every
    level of one period (queries.indicators.table with the whole scope): per measure, the
    townships and counties under each total (their parent_code)."""
    return {key[1:]: kind for key, kind in joint({"": levels}).items()}


def joint(tables: dict[str, list[pd.DataFrame]], temporal: list[tuple[str, list[str]]] = (),
          fixed: frozenset = frozenset(), measures: tuple | None = None) -> dict:
    """The cells to hide in several periods at once, (period, region_code, measure) → kind.
    ``tables``: period code → the raw tables of every level of that period (as :func:`pattern`);
    ``temporal``: (period, the periods it is the sum of), e.g. a quarter and its three months, a
    year and its quarters, a year and its months; the first sum a period is listed in is its
    parent. Per measure, the groups are each period's townships and counties under their totals,
    and, per region, each sum over periods that holds exactly in the data: one that does not (a
    monthly return spanning months, households counted once per period) is no constraint a
    reader can use. The cells are chosen by :func:`cover` (a witness for every small count), then
    checked as a reader would (:func:`protect`, which hides more should any be pinned).
    ``fixed``: region codes whose cells no witness may move (totals another part of the atlas
    relies on, :func:`joint_by_parts`); they are shown unless :func:`protect` must hide them.
    ``measures``: the sensitive counts to work on (all of them by default)."""
    frames = {period: _cells(levels) for period, levels in tables.items()}
    times = {period: None for period in frames}
    for total, parts in temporal:
        for part in parts:
            if times.get(part) is None and part in frames and total in frames:
                times[part] = total
    regions = {}
    for frame, members in frames.values():
        for parent, codes in members.items():
            regions.update({code: parent for code in codes})
            regions.setdefault(parent, None)
        regions.update({code: None for code in frame["region_code"] if code not in regions})
    out = {}
    for measure in (sensitive_counts() if measures is None else measures):
        values, groups = {}, []
        for period, (frame, members) in frames.items():
            values.update({(period, c): _int(v) for c, v in zip(frame["region_code"], frame[measure])})
            groups += [((period, t), [(period, m) for m in ms]) for t, ms in sorted(members.items())]
        linked = set()
        for total, parts in temporal:
            for region in sorted(regions):
                group = ((total, region), [(part, region) for part in parts])
                found = [values.get(key) for key in (group[0], *group[1])]
                if None not in found and found[0] == sum(found[1:]):
                    groups.append(group)
                    linked.update((group[0], *group[1]))
        still = {key for key in values if key[1] in fixed}
        hidden = protect(values, groups, cover(values, times, regions, linked, still=still))
        out.update({(period, region, measure): kind for (period, region), kind in hidden.items()})
    return out


def joint_by_parts(tables: dict[str, list[pd.DataFrame]], temporal: list[tuple[str, list[str]]] = (),
                   workers: int = 2) -> dict:
    """:func:`joint` of a whole atlas, solved part by part: what makes a national year (38,723
    townships) take minutes instead of hours. Same arguments and result as :func:`joint`.

    The parts are the regions under the top (the provinces under the nation; a province-level
    city stands for its province), each solved in one :func:`joint` of its own, in ``workers``
    processes, per measure in one of two ways:

    - *alone* (the usual case, every province total of the measure 5 or more or 0): its
      townships up to its own totals, those totals shown and moved by no witness (``fixed``);
    - *with the top*, where one of its totals is 1-4: the part and the top's table (every part's
      totals and the top's), the other parts' totals fixed; the top may then be hidden.

    Why the union is as safe as :func:`joint`: every small count gets a witness (:func:`cover`)
    in its part's table, and that witness keeps every cell outside the part, and every total over
    it, as it is (the part's own totals too, when alone), so it holds in the whole table: two
    tables fit everything shown, whatever else the other parts hide. What :func:`protect` checks
    in a part's table assumes every cell outside it is shown (the most a reader can know), so it
    holds too when another part hides more. A cell hidden as "×" in one part and "<5" in another
    (a part's total) shows as "×", the wider range."""
    parent: dict = {}
    for levels in tables.values():
        for frame in levels:
            if len(frame):
                parent.update(zip(frame["region_code"], frame["parent_code"]))
    up = {code: (p if p in parent else None) for code, p in parent.items()}
    children: dict = {}
    for code, p in up.items():
        children.setdefault(p, []).append(code)
    roots = [r for r in children.get(None, []) if len(children.get(r, [])) >= 2]  # split; others solved whole
    part_of: dict = {}
    for code in parent:
        chain = [code]
        while up[chain[-1]] is not None:
            chain.append(up[chain[-1]])
        part_of[code] = chain[-2] if len(chain) >= 2 and chain[-1] in roots else chain[-1]
    parts = sorted(set(part_of.values()) - set(roots))  # a split root is in its parts' tables
    members = {part: set() for part in parts}
    for code, part in part_of.items():
        if part in members:  # a split root itself is in its parts' tables, where they need it
            members[part].add(code)

    def only(keep: set) -> dict:
        return {period: [f[f["region_code"].isin(keep)].reset_index(drop=True) for f in levels]
                for period, levels in tables.items()}

    under_a_root = {code for code in parts if up[code] is not None}
    small_tops = set()  # (part, measure) where the part's total is 1-4 in some period
    for levels in tables.values():
        for f in levels:
            rows = f[f["region_code"].isin(under_a_root)]
            for measure in sensitive_counts():
                small_tops.update((c, measure) for c, v in zip(rows["region_code"], rows[measure]) if _int(v) in SMALL)

    def small_somewhere(part, measure) -> bool:
        return (part, measure) in small_tops

    jobs = []
    for part in sorted(parts, key=lambda part: -len(members[part])):  # the largest first
        root = up[part]
        if root is None:  # a root of its own, not split
            jobs.append((only(members[part]), temporal, frozenset(), None))
            continue
        tops = set(children[root])
        near = [m for m in sensitive_counts() if small_somewhere(part, m)]
        alone = tuple(m for m in sensitive_counts() if m not in near)
        if alone:
            jobs.append((only(members[part]), temporal, frozenset([part]), alone))
        if near:
            jobs.append((only(members[part] | tops | {root}), temporal, frozenset(tops - {part}), tuple(near)))
    if workers > 1 and len(jobs) > 1:
        solved = _in_processes(jobs, workers)
    else:
        solved = [_joint_args(job) for job in jobs]
    out: dict = {}
    for found in solved:
        for key, kind in found.items():
            out[key] = SECONDARY if SECONDARY in (kind, out.get(key)) else kind
    return out


def _joint_args(args) -> dict:
    return joint(*args)


def _in_processes(jobs: list, workers: int) -> list[dict]:
    """:func:`joint` of each job, in ``workers`` fresh Python processes running this module
    (``python -m indicators.suppress``: jobs in on stdin, results out on stdout, pickled between
    this process and its own children). Not multiprocessing: its spawn runs the parent's main
    module again in each child, and under ``streamlit run`` that is the app itself."""
    import os
    import pickle
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    buckets = [list(range(i, len(jobs), workers)) for i in range(workers)]  # the largest first, dealt round

    def run(bucket: list[int]) -> list[dict]:
        done = subprocess.run([sys.executable, "-m", "indicators.suppress"], input=pickle.dumps([jobs[i] for i in bucket]),
                              capture_output=True, cwd=root, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"a suppression worker failed: {done.stderr.decode(errors='replace')[-2000:]}")
        return pickle.loads(done.stdout)

    solved: list = [None] * len(jobs)
    with ThreadPoolExecutor(workers) as pool:
        for bucket, found in zip(buckets, pool.map(run, buckets)):
            for i, result in zip(bucket, found):
                solved[i] = result
    return solved



def _cells(levels: list[pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """One period's sensitive counts per region, and the regions under each total."""
    frame = pd.concat([f[["region_code", "parent_code", *sensitive_counts()]] for f in levels if len(f)],
                      ignore_index=True).drop_duplicates("region_code")
    codes = set(frame["region_code"])
    members: dict[str, list[str]] = {}
    for code, parent in zip(frame["region_code"], frame["parent_code"]):
        if parent in codes:
            members.setdefault(parent, []).append(code)
    return frame, members


# ---- over regions and periods at once: a witness for every hidden cell -----------------------

class _Tree:
    """One dimension of a table: nodes under their parents (regions, or periods), each parent
    the sum of its children."""

    def __init__(self, parent: dict):
        self.parent = dict(parent)
        self.children: dict = {}
        for node, up in sorted(self.parent.items()):
            if up is not None:
                self.children.setdefault(up, []).append(node)
        # what hiding a cell of a node costs a reader: nothing at a leaf, more for each level of
        # totals under it, and most at the top (the city's or the year's total is the headline)
        self.weight = {node: (4 ** self._height(node) - 1) * (1 if self.parent[node] is not None else 10)
                       for node in self.parent}

    def _height(self, node) -> int:
        kids = self.children.get(node)
        return 0 if not kids else 1 + max(self._height(k) for k in kids)

    def patterns(self, node, cell, rank, tries: int) -> list[list[tuple]]:
        """Ways to move ``node`` by +1 keeping every sum in this dimension, [(node, ±1), …]:
        with a sibling moved by −1 (each carried down to a leaf), or with every node above it
        moved by +1 (and it carried down). ``cell`` maps a node to its key, ``rank`` orders keys
        best first; the ``tries`` best of each choice are offered."""
        out = []
        up = self.parent.get(node)
        siblings = [] if up is None else [n for n in self.children[up] if n != node]
        mine = self._down(node, 1, cell, rank, tries)
        for sibling in sorted(siblings, key=lambda n: rank(cell(n)))[:tries]:
            out += [a + b for a in mine for b in self._down(sibling, -1, cell, rank, tries)]
        above = []
        while up is not None:
            above.append((up, 1))
            up = self.parent.get(up)
        out += [above + a for a in mine]
        return out

    def _down(self, node, sign, cell, rank, tries) -> list[list[tuple]]:
        kids = self.children.get(node)
        if not kids:
            return [[(node, sign)]]
        best = sorted(kids, key=lambda n: rank(cell(n)))[:tries]
        return [[(node, sign), *rest] for kid in best for rest in self._down(kid, sign, cell, rank, tries)][:tries]


UPGRADE_COST = 8  # a "<5" shown as "×": more than hiding a county's cell and a township's, less than the city's


def cover(values: dict, times: dict, regions: dict, linked: set, tries: int = 4, still: set = frozenset()) -> dict:
    """Cells to hide in one measure's table of periods × regions, key (period, region) →
    PRIMARY ("<5") or SECONDARY ("×"), chosen so that every small count hidden has a *witness*:
    hidden cells, itself among them, whose values can all move by ±1, each staying in what a
    reader knows of it ([1, 4] for "<5", [0, ∞) for "×"), while every cell shown and every sum
    stays the same. Two tables then fit everything shown, so no reasoning at all (interval,
    linear, integer) can tell a reader which is true. (:func:`protect` searches for pinned cells
    and hides more; this builds the proof, and is fast enough for a year of a whole atlas.)

    ``values``: (period, region) → count (None: unknown, never hidden); ``times``/``regions``:
    node → parent (None at the top), each parent the sum of its children; ``linked``: the cells
    in a sum over periods that holds in the data (a region's month under its quarter): a cell
    outside it may move in its period alone. A witness is the product of one pattern per
    dimension (:meth:`_Tree.patterns`), in time also the cell's period alone. The cheapest is
    taken: cells already hidden are free, higher totals (a county, a year) cost more, and a
    "<5" is shown as "×" only where nothing else will do (four "<5" under a total of "<5").
    ``still``: cells no witness may move unless they are small themselves (a total that
    another table shows). Deterministic: the same values give the same cells."""
    time, space = _Tree(times), _Tree(regions)
    hidden = {k: PRIMARY for k, v in values.items() if v in SMALL}
    known = {k: v for k, v in values.items() if v is not None and (k not in still or k in hidden)}

    def rank(key):  # best partners first: can move either way, already hidden, small
        v = known.get(key)
        if v is None:
            return (2, 0, 0, key)
        both = 2 <= v <= 3 if hidden.get(key) == PRIMARY else v >= 1
        return (not both, key not in hidden, v, key)

    def witness(key):
        t, s = key
        best = None
        in_time = [[(t, 1)]] + time.patterns(t, lambda n: (n, s), rank, tries)
        in_space = space.patterns(s, lambda n: (t, n), rank, tries)
        for tp in in_time:
            for sp in in_space:
                cells = {(tt, ss): a * b for tt, a in tp for ss, b in sp}
                if any(c not in known for c in cells) or (len(tp) == 1 and not linked.isdisjoint(cells)):
                    continue
                for base in (1, -1):
                    cost, upgrade = 0, []
                    for c, sign in cells.items():
                        v = known[c] + base * sign
                        if hidden.get(c) == PRIMARY and not 1 <= v <= 4:
                            if v != 0:
                                break
                            upgrade.append(c)  # a "<5" at 0 would be no "<5": it shows as "×"
                            cost += UPGRADE_COST
                        elif v < 0:
                            break
                        if c not in hidden:
                            cost += 1 + time.weight.get(c[0], 0) + space.weight.get(c[1], 0)
                    else:
                        score = (cost, sum(known[c] for c in cells if c not in hidden), sorted(cells))
                        if best is None or score < best[0]:
                            best = (score, cells, upgrade)
        return best

    done: set = set()
    for key in sorted(hidden):
        if key in done:
            continue
        found = witness(key)
        if found is None:  # not even with "×": only a table with no shown total above it
            hidden[key] = SECONDARY
            continue
        _, cells, upgrade = found
        for c in cells:
            hidden.setdefault(c, SECONDARY)
        for c in upgrade:
            hidden[c] = SECONDARY
        done.update(cells)
    return hidden


# ---- applying it: display-safe frames ------------------------------------------------------

def _exact(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """An admin's copy of ``frame``: nothing hidden, the small counts of ``columns`` as :class:`Exact`."""
    out = frame.copy()
    for column in columns:
        if column in out.columns:
            out[column] = _column(out, (Exact(v) if _int(v) in SMALL else v for v in out[column].astype(object)))
    return out


def _rates_of(measure: str) -> list[str]:
    return [c for c, i in registry.INDICATORS.items() if i.is_rate and measure in (i.numerator, i.denominator)]


def apply(frame: pd.DataFrame, exact: bool, hidden: dict | None = None) -> pd.DataFrame:
    """``frame`` (an indicators.table frame, any level) made safe to show: the cells of
    ``hidden`` (:func:`pattern`) and every other sensitive count from 1 to 4 as :class:`Hidden`,
    and the rates built on them. ``exact`` (admins): nothing hidden, small counts as :class:`Exact`."""
    if exact:
        return _exact(frame, sensitive_counts())
    out = frame.copy()
    for measure in sensitive_counts():
        if measure not in out.columns:
            continue
        col = out[measure].astype(object)
        kinds = [(hidden or {}).get((c, measure)) or (PRIMARY if _int(v) in SMALL else None)
                 for c, v in zip(out["region_code"], col)]
        out[measure] = _column(out, (v if k is None else Hidden(k) for v, k in zip(col, kinds)))
        for rate in _rates_of(measure):
            if rate in out.columns:
                # a rate with no denominator stays missing: it gives nothing away
                out[rate] = _column(out, (v if k is None or _int(v) is None else Hidden(RATE) for v, k in
                                          zip(out[rate].astype(object), kinds)))
    return out


def derived(frame: pd.DataFrame, shown: pd.DataFrame, measure: str, columns: list[str]) -> pd.DataFrame:
    """``columns`` of ``frame`` (one row per region_code; a smoothed rate, a count behind it)
    hidden where ``shown`` (an :func:`apply` frame) hides ``measure``."""
    hid = {c for c, v in zip(shown["region_code"], shown[measure]) if is_hidden(v)}
    out = frame.copy()
    for column in columns:
        out[column] = _column(out, (Hidden(RATE) if c in hid else v
                                    for c, v in zip(out["region_code"], out[column].astype(object))))
    return out


def breakdown_period(period: str, exact: bool) -> str:
    """The period a township's cases by type and source are shown for: the period itself to an
    admin, else the whole year it lies in. A month's cases of one type would otherwise be its
    quarter's less the other two months', and the breakdown's cells are not chosen jointly over
    the periods as the indicators' are (:func:`joint`); over the year nothing sums them."""
    return period if exact else period[:4]


def breakdown(found: pd.DataFrame, total, exact: bool) -> pd.DataFrame | None:
    """Cases by type and source (queries/case_breakdown.sql) under the township's total as shown
    (``total``: its cases_received, maybe :class:`Hidden`): each dimension's cells protected
    against the total. None when the total is hidden: then no cell can be shown without narrowing it."""
    if exact:
        return _exact(found, ["cases"])
    out = found.copy()
    out["cases"] = out["cases"].astype(object)
    if is_hidden(total):
        return None
    total = _int(total)
    for dimension in out["dimension"].unique():
        rows = out.index[out["dimension"] == dimension]
        values = {("cell", i): _int(out.at[i, "cases"]) for i in rows}
        values[("total",)] = total if total is not None else sum(v or 0 for v in values.values())
        hidden = protect(values, [(("total",), [("cell", i) for i in rows])])
        for key, kind in hidden.items():
            if key[0] == "cell":
                out.at[key[1], "cases"] = Hidden(kind)
    return out


def trend(frame: pd.DataFrame, exact: bool, township: str | None = None,
          patterns: dict[str, dict] | None = None) -> pd.DataFrame:
    """A township's months (queries/township_trend.sql) as a viewer may see them. A month whose
    count (risk households, cases) is 1–4, or is hidden in that month's own pattern
    (``patterns``: period code → :func:`pattern`, for the months, quarters and years of the
    window: queries.indicators.hidden_cells, chosen jointly over each year), loses its count and
    risk rate. Without ``patterns``, more months are hidden until no hidden month can be worked
    out from the quarters' and years' totals.""" 
    if exact:
        return _exact(frame, ["risk_households", "cases_received"])
    out = frame.copy()
    months = pd.to_datetime(out["month_start"])
    code_of = {i: f"{m.year}-{m.month:02d}" for i, m in zip(out.index, months)}
    quarter = {i: f"{m.year}Q{(m.month - 1) // 3 + 1}" for i, m in zip(out.index, months)}
    year = {i: str(m.year) for i, m in zip(out.index, months)}
    for measure in ("risk_households", "cases_received"):
        values = {("month", code_of[i]): _int(v) for i, v in zip(out.index, out[measure])}
        groups = []
        for parent in (quarter, year):
            for period in sorted(set(parent.values())):
                groups.append((("total", period), [("month", code_of[i]) for i in out.index if parent[i] == period]))
        values.update({t: sum(values[m] or 0 for m in ms) for t, ms in groups})
        seeded = {}
        for key in values:  # what each period's own table hides stays hidden here
            kind = (patterns or {}).get(key[1], {}).get((township, measure))
            if kind is not None:
                seeded[key] = kind
        if patterns:
            # chosen jointly over each year's months, quarters and the year (:func:`joint`): the
            # months they hide are protected against every total; hiding more here would hide a
            # month the township's own table shows
            hidden = {**{k: PRIMARY for k, v in values.items() if k[0] == "month" and v in SMALL}, **seeded}
        else:
            hidden = protect(values, groups, seeded)
        marked = [i for i in out.index if ("month", code_of[i]) in hidden]
        col = out[measure].astype(object)
        for i in marked:
            col[i] = Hidden(hidden[("month", code_of[i])])
        out[measure] = col
        if measure == "risk_households":
            rate = out["risk_rate_per_1000"].astype(object)
            for i in marked:
                rate[i] = Hidden(RATE)
            out["risk_rate_per_1000"] = rate
    return out


def trend_periods(month_starts) -> list[str]:
    """The months, quarters and years a trend's months fall in: the patterns :func:`trend` needs."""
    months = pd.to_datetime(pd.Series(list(month_starts)))
    codes = {f"{m.year}-{m.month:02d}" for m in months} | {f"{m.year}Q{(m.month - 1) // 3 + 1}" for m in months}
    return sorted(codes | {str(m.year) for m in months})


if __name__ == "__main__":  # a worker of _in_processes: after every definition above
    import pickle
    import sys

    pickle.dump([_joint_args(job) for job in pickle.load(sys.stdin.buffer)], sys.stdout.buffer)
