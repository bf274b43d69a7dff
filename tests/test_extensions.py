"""DuckDB extensions come from their PyPI wheels (requirements.txt) and load from disk: nothing is
downloaded, on a machine with no internet and with DuckDB's own autoloading switched off."""
import duckdb
import pytest

from db import extensions


@pytest.fixture
def offline(tmp_path):
    """A fresh in-memory connection that cannot download: its extension folder is empty and its
    repository is a closed local port, so an install or autoload would fail or leave a file there."""
    folder = tmp_path / "extension-folder"
    folder.mkdir()
    with duckdb.connect(config={"extension_directory": str(folder),
                                "custom_extension_repository": "http://127.0.0.1:9"}) as con:
        yield con
    assert not any(folder.rglob("*")), "something was installed into the extension folder"


@pytest.mark.parametrize("name", ["ducklake", "postgres_scanner"])
def test_extension_file_is_in_its_wheel(name):
    path = extensions.path(name)
    assert path.is_file() and path.name == f"{name}.duckdb_extension"
    # the folder names the DuckDB version the file was built for: the one installed
    assert path.parent.name == f"v{duckdb.__version__}"


@pytest.mark.parametrize("name", ["ducklake", "postgres_scanner"])
def test_extension_loads_on_a_fresh_connection_without_network(name, offline):
    con = offline
    extensions.load(con, name)
    loaded = con.execute("select loaded, install_path from duckdb_extensions() where extension_name = ?",
                         [name]).fetchall()
    assert loaded and loaded[0][0] is True
    # the switches stay off for the rest of the connection: nothing else is fetched behind our back
    settings = dict(con.execute("""select name, value from duckdb_settings() where name in
                                   ('autoinstall_known_extensions', 'autoload_known_extensions')""").fetchall())
    assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}


def test_both_extensions_load_together_and_ducklake_attaches(offline, tmp_path):
    con = offline
    extensions.load(con, "ducklake")
    extensions.load(con, "postgres_scanner")
    # a lake with a local DuckDB catalog: the extension works, not only loads
    catalog = (tmp_path / "catalog.ducklake").as_posix()
    con.execute(f"attach 'ducklake:{catalog}' as lake (data_path '{(tmp_path / 'files').as_posix()}/')")
    con.execute("create table lake.t as select 1 as x")
    assert con.execute("select x from lake.t").fetchall() == [(1,)]


def test_unknown_extension_is_refused_before_duckdb_sees_it():
    with pytest.raises(ValueError, match="spatial"):
        extensions.path("spatial")  # not pinned in requirements.txt
    with pytest.raises(ValueError):
        extensions.path("../etc")
