"""The pages' words: i18n/text.py's tables in the sidebar's language (session_state["lang"]).

Pages call ``t("KEY", n=3)``. streamlit is imported only when a page asks for the language.
"""
from i18n import text as tables

ZH, EN, LANGS = tables.ZH, tables.EN, tables.LANGS


def lang() -> str:
    import streamlit as st

    return st.session_state.get("lang", "zh")


def t(key: str, **values) -> str:
    return tables.t(key, lang(), **values)
