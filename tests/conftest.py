"""Shared fixtures: a small demo database built once per test session, and the app pointed at it;
one Chromium and one app server on the demo database for the browser modules."""
import contextlib
import itertools
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from data import demo  # noqa: E402

# A twentieth of the real city: every township, village and room, far fewer screening rows.
DEMO_SCALE = 0.05


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The demo city at test scale, built once; tests must not write to it."""
    path = tmp_path_factory.mktemp("demo") / "atlas.duckdb"
    demo.build(path, seed=demo.DEFAULT_SEED, scale=DEMO_SCALE)
    return path


@pytest.fixture
def app_env(demo_db, monkeypatch) -> Path:
    """Point the app (ATLAS_DB) at the session's demo database."""
    monkeypatch.setenv("ATLAS_DB", str(demo_db))
    return demo_db


@pytest.fixture(scope="module")
def shots(tmp_path_factory, request) -> Path:
    """A folder for a browser module's screenshots; its path is printed at the end of the run,
    even under -q and from pytest-xdist's workers (see pytest_terminal_summary)."""
    return tmp_path_factory.mktemp(f"{request.module.__name__.rsplit('.', 1)[-1]}-shots")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    folder = getattr(item, "funcargs", {}).get("shots")
    if call.when == "call" and folder is not None:
        report.user_properties.append(("browser screenshots", str(folder)))  # travels to xdist's controller
    return report


SHOT_FOLDERS: dict[str, None] = {}


def pytest_runtest_logreport(report):
    for name, value in report.user_properties:
        if name == "browser screenshots":
            SHOT_FOLDERS[value] = None


def pytest_terminal_summary(terminalreporter):
    for folder in SHOT_FOLDERS:
        terminalreporter.write_line(f"browser screenshots: {folder}")


# --------------------------------------------------------------------------- shared across modules
# Starting Chromium and a Streamlit server costs seconds each (more on a busy machine); the browser
# modules share one Chromium, and the modules that only read the demo database share one server
# on it. Each is opened when a test first asks for it and closed after a module when the next
# module's first test does not ask for it: a live Playwright marks an event loop running in this
# thread, which asyncio.run() elsewhere (streamlit's AppTest, say) would trip over.


class Shared:
    """One resource (Chromium, a server) for every test that asks for fixture ``name``, opened
    lazily by ``opener(stack)`` and closed between tests when the next one asks for none of
    ``keep_for`` (by default ``name`` alone)."""

    opened: list["Shared"] = []

    def __init__(self, name: str, opener, keep_for: tuple[str, ...] = ()):
        self.name, self.opener = name, opener
        self.keep_for = keep_for or (name,)
        self.stack: contextlib.ExitStack | None = None
        self.value = None

    def get(self):
        if self.stack is None:
            stack = contextlib.ExitStack()
            try:
                self.value = self.opener(stack)
            except BaseException:
                stack.close()
                raise
            self.stack = stack
            Shared.opened.append(self)
        return self.value

    def close(self) -> None:
        if self.stack is not None:
            stack, self.stack, self.value = self.stack, None, None
            Shared.opened.remove(self)
            stack.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    # After the test's own fixtures are torn down, and a module's (its browser context, say) when
    # the next test is in another module: never while a module fixture may still hold the resource.
    try:
        return (yield)
    finally:
        if nextitem is None or nextitem.path != item.path:
            for shared in list(Shared.opened):
                if nextitem is None or not set(shared.keep_for) & set(nextitem.fixturenames):
                    shared.close()


@pytest.fixture(scope="session")
def shared_chromium():
    """shared_chromium.get(): the headless Chromium (tests/support.CHROMIUM) the browser modules
    share; each module opens its own contexts in it and closes them."""
    from tests import support

    def launch(stack):
        sync_api = support.browser_api()
        playwright = stack.enter_context(sync_api.sync_playwright())
        browser = playwright.chromium.launch(executable_path=str(support.CHROMIUM), args=support.CHROMIUM_ARGS)
        stack.callback(browser.close)
        return browser

    shared = Shared("shared_chromium", launch)
    yield shared
    shared.close()


@pytest.fixture(scope="session")
def demo_server(demo_db, tmp_path_factory):
    """demo_server.get(): ``streamlit run app.py`` on the session's demo database (tests/appserver),
    shared by the browser modules that only read it; its ``url``. Kept running from one of them
    to the next while browser tests (which use shared_chromium) run in between."""
    from tests.appserver import AppServer

    def start(stack):
        log = tmp_path_factory.mktemp("demo-app") / "streamlit.log"
        return stack.enter_context(AppServer(demo_db, log))

    shared = Shared("demo_server", start, keep_for=("demo_server", "shared_chromium"))
    yield shared
    shared.close()


# The defaults of the browser modules; a module that serves its own database (a copy it writes
# to, hostile strings) defines its own app_url.
@pytest.fixture(scope="module")
def app_url(demo_server):
    """The shared app server on the session's demo database (read only)."""
    return demo_server.get().url


@pytest.fixture(scope="module")
def browser(shared_chromium):
    """The shared headless Chromium."""
    return shared_chromium.get()


# --------------------------------------------------------------------------- DuckLake (issue 17)
# scripts/test.sh (and so CI) installs PostgreSQL and sets this: there a missing server fails the run
REQUIRE_POSTGRES = os.environ.get("ATLAS_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL (tests/pgserver.py) for this test process, stopped at the end."""
    from tests import pgserver

    if pgserver.bin_dir() is None:
        if REQUIRE_POSTGRES:
            raise RuntimeError("PostgreSQL is required (apt-get install postgresql)")
        pytest.skip("PostgreSQL's server is not installed (apt-get install postgresql)")
    server = pgserver.Postgres()
    yield server
    from db import lake

    lake.close_all()
    server.stop()


def new_lake(postgres, folder: Path, source=None) -> str:
    """A new DuckLake target (ATLAS_DB's form): a PostgreSQL database of its own for the catalog,
    ``folder`` for its Parquet files (remembered by the catalog), holding a copy of the atlas file
    ``source`` (``cli.py lake init --from``) or, without one, an empty atlas with the register."""
    from db import lake

    target = lake.PREFIX + "postgres:" + postgres.database(f"lake_{next(_LAKES)}")
    lake.init(target, source, data_path=str(folder) + "/")
    return target


@pytest.fixture
def make_lake(postgres, tmp_path_factory, monkeypatch):
    """make_lake(source=None) -> new_lake(...) in a folder of this test's, also set as
    ATLAS_DATA_PATH for the test (app servers and CLI processes it starts inherit it)."""
    from db import lake

    def make(source=None) -> str:
        folder = tmp_path_factory.mktemp("lake")
        monkeypatch.setenv(lake.DATA_PATH_ENV, str(folder) + "/")
        return new_lake(postgres, folder, source)

    yield make
    lake.close_all()


@pytest.fixture(params=["file", "lake"])
def backend(request) -> str:
    """Run a test on a DuckDB file and again on a DuckLake: what ``on_backend`` gives depends on it."""
    return request.param


@pytest.fixture
def on_backend(backend, request, tmp_path):
    """on_backend(source) -> a copy of the atlas file ``source`` as this test's backend has it: a
    file (its path) or a lake (its target), for tests that must hold on both (issue 17)."""
    import shutil

    def put(source) -> str:
        if backend == "file":
            copy = tmp_path / "atlas.duckdb"
            shutil.copy(source, copy)
            return copy
        folder = tmp_path / "lake"
        folder.mkdir(exist_ok=True)
        return new_lake(request.getfixturevalue("postgres"), folder, source)

    return put


_LAKES = itertools.count(1)
