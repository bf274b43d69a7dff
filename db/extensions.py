"""DuckDB extensions, loaded from the wheels requirements.txt pins, never downloaded.

DuckDB would fetch an extension from its own site on first use; intranets (and this project's
CI) have no such access. PyPI ships the signed extension files as data wheels,
``duckdb-extension-<name>``, each holding ``duckdb_extension_<name>/extensions/v<duckdb version>/
<name>.duckdb_extension``; they exist for DuckDB 1.5.5, hence the pin (issue 17).
"""
import importlib.util
from pathlib import Path

import duckdb

# The extensions requirements.txt installs, by their DuckDB names.
PINNED = ("ducklake", "postgres_scanner")


def path(name: str) -> Path:
    """The extension file in its installed wheel, for the DuckDB version installed."""
    if name not in PINNED:  # a name, never a path; and only what requirements.txt installs
        raise ValueError(f"extension {name!r} is not one of {', '.join(PINNED)} (pinned in requirements.txt)")
    package = f"duckdb_extension_{name}"
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the wheel {package.replace('_', '-')} is not installed: pip install -r requirements.txt")
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = folder / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if not found.is_file():
        built = sorted(p.parent.name for p in (folder / "extensions").glob(f"*/{name}.duckdb_extension"))
        raise FileNotFoundError(f"{package} holds {name} for DuckDB {', '.join(built) or 'no version'}, "
                                f"not v{duckdb.__version__}: install the versions requirements.txt pins")
    return found


def load(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """LOAD the extension from its wheel on `con`, with DuckDB's own autoinstall and autoload off
    (for the rest of the connection: nothing is fetched behind the atlas's back either)."""
    con.execute("set autoinstall_known_extensions = false")
    con.execute("set autoload_known_extensions = false")
    # LOAD takes no bound parameter: the path is a quoted literal, its quotes doubled
    con.execute(f"load '{path(name).as_posix().replace(chr(39), chr(39) * 2)}'")
