"""Every page in English says nothing in Chinese but the data's own names (places, rooms, room
types, case types and sources): its titles, captions, labels, options, help and table headers."""
import re
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["overview", "coverage", "screening", "hotspots", "data_import", "snapshots", "present", "audit"]
# CJK ideographs, and the full-width punctuation an English legend must not borrow （）【】，；：。、
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
SAID = ("value", "label", "body", "help", "placeholder", "options", "caption")


def said(node, out: list) -> list:
    """Every text an element (and its children) shows: values, labels, options, help, headers."""
    for name in SAID:
        try:
            found = getattr(node, name)
        except Exception:  # an element without that part (or a value it cannot give bare)
            continue
        if isinstance(found, str):
            out.append(found)
        elif isinstance(found, (list, tuple)):
            out.extend(str(x) for x in found)
    if type(node).__name__ == "Dataframe":
        out.extend(str(c) for c in node.value.columns)  # the headers; the cells are data
    children = getattr(node, "children", None) or {}
    for child in (children.values() if isinstance(children, dict) else children):
        said(child, out)
    return out


@pytest.fixture(scope="module")
def data_names(demo_db) -> list[str]:
    with duckdb.connect(str(demo_db), read_only=True) as con:
        names = con.execute("""
            select name from regions union select name from villages union select name from rooms
            union select room_type from rooms union select case_type from cases union select source from cases
        """).fetchall()
    return sorted({n for (n,) in names if n}, key=len, reverse=True)  # longest first: 东海县 before 东海


@pytest.mark.parametrize("name", PAGES)
def test_page_in_english_has_no_chinese_of_its_own(app_env, data_names, name):
    at = AppTest.from_file(str(ROOT / "app_pages" / f"{name}.py"), default_timeout=120)
    at.session_state["lang"] = "en"
    at.session_state["period"] = "2025-12"
    at.session_state["region"] = "320700000000"
    at.run()
    assert not at.exception, at.exception
    left = []
    for text in said(at.main, []):
        stripped = text
        for data_name in data_names:
            stripped = stripped.replace(data_name, "")
        if CJK.search(stripped):
            left.append(text[:120])
    assert not left, left


@pytest.mark.parametrize("lang, row", [("en", "Green: on pace (1 township)"), ("zh", "（1 个乡镇）")])
def test_legend_counts_in_brackets_of_the_legend_s_language(lang, row):
    from i18n import text as tables
    from indicators import legend

    shading = legend.shade_status({"A": "green"}, ["A", "B"], lang, tables.t)
    labels = [r.label for r in shading.rows]
    assert any(label.endswith(row) for label in labels), labels
    if lang == "en":
        assert not any(CJK.search(label) for label in labels), labels
