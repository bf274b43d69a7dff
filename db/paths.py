"""Where the database lives: $ATLAS_DB, else data/atlas.duckdb in the project (CLI and app alike)."""
import os
from pathlib import Path

from db import lake

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = ROOT / "data" / "atlas.duckdb"


def db_path(explicit: str | os.PathLike | None = None) -> "Path | lake.Lake":
    """The atlas: a DuckDB file's path, or a DuckLake (``ducklake:…``, db/lake.py) as a lake.Lake."""
    text = str(explicit) if explicit else os.environ.get("ATLAS_DB")
    if text and lake.is_lake(text):
        return lake.Lake(text)
    return Path(text) if text else DEFAULT_DB


def is_default(path: str | os.PathLike) -> bool:
    """Whether `path` is the built-in demo's place, data/atlas.duckdb (however it is written)."""
    if lake.is_lake(path):
        return False
    return Path(path).resolve() == Path(DEFAULT_DB).resolve()


NEWER_SUFFIX = ".newer-duckdb.bak"


def set_aside(path: str | os.PathLike) -> Path:
    """Rename the database at `path` (and its WAL) to <name>.newer-duckdb.bak beside it, or
    <name>.newer-duckdb.2.bak … when that is taken: never deleted, never overwriting an earlier
    one. Returns the new name. For a file this DuckDB cannot read (written by a newer one)."""
    path = Path(path)
    kept = path.with_name(path.name + NEWER_SUFFIX)
    n = 1
    while kept.exists() or Path(str(kept) + ".wal").exists():
        n += 1
        kept = path.with_name(f"{path.name}.newer-duckdb.{n}.bak")
    os.rename(path, kept)
    wal = Path(str(path) + ".wal")
    if wal.exists():
        os.rename(wal, str(kept) + ".wal")
    return kept


class creating:
    """Held while an import creates a new database at `target`: a second import into the same new
    path waits here, then finds the database made and imports into it (never two files racing to
    be renamed onto one path, one import's rows lost). An OS file lock, released if the process
    dies; the lock file is removed on release."""

    def __init__(self, target: Path):
        self.lock = target.with_name(f".{target.name}.creating")
        self._handle = None

    def __enter__(self) -> "creating":
        self.lock.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.lock, "a+b")
        if os.name == "nt":  # pragma: no cover - the intranet's Windows servers
            import msvcrt
            self._handle.seek(0)
            while True:
                try:
                    msvcrt.locking(self._handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
        else:
            import fcntl
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        self.lock.unlink(missing_ok=True)  # whoever waits re-checks the target before creating
        self._handle.close()  # closing releases the lock


def sweep(folder: Path, pattern: str, older_than: float) -> int:
    """Delete what a killed import left behind (`pattern` in `folder`, untouched for `older_than`
    seconds: the newest time of the thing and anything in it). Returns how many went."""
    import shutil
    import time

    gone = 0
    now = time.time()
    for leftover in folder.glob(pattern):
        try:
            stamps = [leftover.stat().st_mtime] + ([p.stat().st_mtime for p in leftover.rglob("*")]
                                                    if leftover.is_dir() else [])
            if now - max(stamps) < older_than:
                continue
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)
            gone += 1
        except OSError:  # another process's, just removed, or not ours to remove
            continue
    return gone
