"""Where the database lives: $ATLAS_DB, else data/atlas.duckdb in the project (CLI and app alike)."""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "atlas.duckdb"


def db_path(explicit: str | os.PathLike | None = None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("ATLAS_DB") or DEFAULT_DB)
