"""The pages' words: i18n/text.py's tables in the sidebar's language (session_state["lang"]).

Pages call ``t("KEY", n=3)``. streamlit is imported only when a page asks for the language.
"""
from i18n import text as tables

ZH, EN, LANGS = tables.ZH, tables.EN, tables.LANGS


def lang() -> str:
    import streamlit as st

    if "lang" in st.session_state:
        return st.session_state["lang"]
    # the first run of a link with ?lang=en: the title and login speak English before the sidebar
    # (ui/state.load) has read the URL into the session
    wanted = st.query_params.get("lang")
    return wanted if wanted in LANGS else "zh"


def t(key: str, **values) -> str:
    return tables.t(key, lang(), **values)
