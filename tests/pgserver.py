"""A private PostgreSQL for the DuckLake tests: Debian's server binaries, a cluster in a temp
folder, listening on 127.0.0.1 at a free port, stopped at the end (issue 17).

No systemd and no service of the machine's is used. As root (CI), initdb and the server run as
the ``postgres`` user Debian's package creates (PostgreSQL refuses to run as root); as anyone
else, as that person. ``bash scripts/test.sh`` installs the package.
"""
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: Debian keeps them out of PATH, under /usr/lib/postgresql/N/bin."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """One running cluster. ``dsn(name)`` is a libpq connection string for database ``name``
    (made by ``database(name)``), in the key=value form DuckDB's postgres extension takes."""

    def __init__(self):
        self.bin = bin_dir()
        if self.bin is None:
            raise FileNotFoundError("PostgreSQL's server is not installed (apt-get install postgresql)")
        self.root = Path(tempfile.mkdtemp(prefix="atlas-pg-"))
        self.data, self.sockets = self.root / "data", self.root / "run"
        self.sockets.mkdir()
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sockets, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8")
        options = (f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "server.log"),
                  "-w", "-t", "60", "start")
        self._made: set[str] = set()

    def _run(self, tool: str, *args: str) -> str:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, cwd=self.root)
        if done.returncode:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def sql(self, statement: str, database: str = "postgres") -> str:
        psql = shutil.which("psql") or str(self.bin / "psql")
        done = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
                               "-U", "postgres", "-d", database, "-At", "-c", statement],
                              capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"psql: {done.stderr.strip()}")
        return done.stdout

    def database(self, name: str) -> str:
        """Create database ``name`` (once) and return its DSN."""
        if name not in self._made:
            self.sql(f'create database "{name}"')
            self._made.add(name)
        return self.dsn(name)

    def dsn(self, name: str) -> str:
        return f"dbname={name} host=127.0.0.1 port={self.port} user=postgres"

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        except RuntimeError:
            pass
        for _ in range(50):
            if not (self.data / "postmaster.pid").exists():
                break
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)
