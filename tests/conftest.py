"""Shared fixtures: a small demo database built once per test session, and the app pointed at it."""
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
def shots(tmp_path_factory, pytestconfig, request) -> Path:
    """A folder for a browser module's screenshots; its path is printed even under -q."""
    folder = tmp_path_factory.mktemp(f"{request.module.__name__.rsplit('.', 1)[-1]}-shots")
    yield folder
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print(f"\nbrowser screenshots: {folder}")
