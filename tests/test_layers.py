"""The house layering: queries/, geo/, db/ and access/ never import streamlit; export/ and the indicator
registry never import ui/; pages hold no SQL or geometry."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("path", sorted(p for d in ("queries", "geo", "db", "data", "importer", "export", "indicators", "i18n", "access") for p in (ROOT / d).rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_lower_layers_do_not_import_streamlit(path):
    assert "streamlit" not in imports_of(path)


@pytest.mark.parametrize("path", sorted(p for d in ("export", "indicators", "i18n") for p in (ROOT / d).rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_exports_and_the_registry_do_not_import_ui(path):
    # the CLI writes exports without streamlit: what pages and exports share lives below ui/
    assert "ui" not in imports_of(path)


@pytest.mark.parametrize("path", sorted((ROOT / "app_pages").glob("*.py")), ids=lambda p: p.name)
def test_pages_hold_no_sql_or_geometry(path):
    assert not imports_of(path) & {"duckdb", "shapely", "geopandas", "pyproj"}
    source = path.read_text(encoding="utf-8").lower()
    assert "select " not in source and ".to_crs(" not in source


def test_layer_checks_see_real_files():
    # guards the parametrisations above against an empty glob
    assert len(list((ROOT / "app_pages").glob("*.py"))) >= 7
    assert len(list((ROOT / "importer").glob("*.py"))) >= 8
    assert len(list((ROOT / "export").glob("*.py"))) >= 10 and (ROOT / "indicators" / "registry.py").exists()
    assert (ROOT / "queries" / "indicators.sql").exists()
