"""What a database holds, compared before and after an import that must change nothing."""
from pathlib import Path

import duckdb


def fingerprint(db: Path) -> list:
    """The data version row, and the row count and content hash of every table."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()]
        counted = " union all ".join(f"select '{t}', count(*), sum(hash(t)) from \"{t}\" as t" for t in tables)
        return con.execute("select * from data_version").fetchall() + sorted(con.execute(counted).fetchall())
