"""What every ledger kind is: its staged columns, how a record is keyed, what it covers, what it
replaces, and how it is written. importer/pipeline.py runs any kind the same way; a new kind is
one module in this folder (plus its header synonyms in importer/fields.py, the one synonym table)."""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class LedgerKind:
    name: str
    table: str                          # the atlas table it writes
    staged: dict[str, str]              # staged column -> the field it is read from (for messages)
    build: Callable                     # (Chunk) -> DataFrame or Arrow table: row_no, township_code, staged
    key: tuple[str, ...] | None         # staged columns that identify one record within a file
    replaced_where: str                 # over the atlas table as t: the rows this import replaces
    insert_sql: str                     # the staged rows into the atlas table ($import_id and db.schema.household_params bound)
    unit: str                           # what a row is, for "将替换 … 已有的 10 件纠纷" (messages.UNITS)
    # a month for the replacement report, as an expression valid on both the atlas table and the
    # staging table (None: the kind has no periods)
    month_of: str | None = None
    periods_sql: str = ""               # the periods the file covers (one text column), from staged
    checks: Callable | None = None      # (con, header_of, context, problems): more whole-file checks
    report_where: str = "true"          # over t: which replaced rows the replacement report counts
    town_column: str = "township_code"  # the atlas table's township column (regions: region_code)
    extra: dict = field(default_factory=dict)


@dataclass
class Chunk:
    """One chunk of parsed rows, as the kinds' build functions take it."""
    values: dict            # field -> value per row (object arrays)
    township: np.ndarray    # 12-digit code per row (None when unmatched)
    rows: np.ndarray        # Excel row numbers
    problems: object        # importer.result.Problems
    header_of: dict         # field -> header as written
    today: object
    parsed: dict = field(default_factory=dict)   # field -> (codes, distinct values), for Arrow builds
    town: np.ndarray | None = None               # distinct township codes (screening's Arrow build)
    town_codes: np.ndarray | None = None
    file_period: tuple | None = None             # a return's period from its title or 填报 line

    def col(self, name: str) -> np.ndarray:
        return self.values.get(name, np.full(len(self.rows), None, dtype=object))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"row_no": pd.Series(self.rows, dtype="int64"),
                             "township_code": pd.Series(self.township, dtype="string")})


def typed(chunk: Chunk, frame: pd.DataFrame, names: tuple[str, ...], dtype: str = "Int64") -> None:
    """Columns `names` of the chunk into the frame as `dtype` (nullable integers by default)."""
    for name in names:
        frame[name] = pd.array(chunk.col(name), dtype=dtype)


def dates(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values, dtype=object))


def later_than(frame: pd.DataFrame, late: str, early: str, chunk: Chunk, code: str) -> None:
    """A problem on every row whose `late` date is before its `early` date (closed before opened)."""
    bad = (frame[late] < frame[early]).fillna(False).to_numpy()
    for position in np.flatnonzero(bad):
        chunk.problems.add(code, chunk.rows[position], chunk.header_of.get(late),
                           str(frame[late].iloc[position].date()))


# The village of a staged row: the register's village code when the name is known, else a
# township-local stand-in, so villages still count distinctly.
VILLAGE_CODE = """
    coalesce(v.village_code, case when s.village is null then null else s.township_code || '-' || s.village end)
"""

# The periods a file of township reports covers: a month (2024-03), or a quarter (2024Q1) when a
# report spans more than a month.
REPORT_PERIODS_SQL = """
    select distinct case when period_end::date - period_start::date > 40
        then strftime(period_start, '%Y') || 'Q' || quarter(period_start)
        else strftime(period_start, '%Y-%m') end
    from staged where township_code is not null and period_start is not null
"""

# The staged rows that found their township, with the register's village of the same name (s, v).
FROM_STAGED = """
        from stg.staged as s
        left join villages as v on v.township_code = s.township_code and v.name = s.village
        where s.township_code is not null"""


def months_sql(column: str) -> str:
    """The months (YYYY-MM) a file of dated rows covers, by its `column`."""
    return f"""select distinct strftime({column}, '%Y-%m') from staged
               where township_code is not null and {column} is not null"""


# A report replaces the same township's report for the same period (atlas table as t).
SAME_REPORT = """exists (select 1 from stg.staged as p
                           where p.township_code = t.township_code and p.period_start = t.period_start
                             and p.period_end = t.period_end)"""
