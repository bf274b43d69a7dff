"""Text from a file or a URL, made inert where it is shown (plain functions, no streamlit).

A township, village or room name, a room or case type, a risk type or a case source is data: it
is written by whoever filled in a ledger or a boundary file, and must read as the same letters
wherever it is shown, never as markup. Escape at the point of rendering, with these two helpers:
``html`` for anything that goes into HTML (folium tooltips and legends, the offline export,
``st.html``, ``unsafe_allow_html``) and ``markdown`` for what Streamlit renders as Markdown
(``st.markdown``, captions, subheaders, notices, widget labels).
"""
import html as _html
import re

# Inline Markdown (emphasis, code, links, images, HTML tags, tables, strikethrough, entities),
# GFM's bare autolinks ("https:", "www." and e-mail addresses need their ":" or "." as written)
# and Streamlit's own syntax (":red[...]", ":material/x:", "$latex$"): each escaped character
# shows as itself and starts nothing. "-" and "#" only matter where a block starts (see below),
# so "1999-01" stays readable in the Markdown source.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()!|<>~$:&.])")
_BLOCK_START = re.compile(r"^([#+=>-])")


def html(value) -> str:
    """``value`` as HTML text: ``<img onerror=...>`` shows as those characters, runs nothing."""
    return _html.escape("" if value is None else str(value), quote=True)


def markdown(value) -> str:
    """``value`` as Markdown text: no link, image, emphasis, heading, HTML tag or Streamlit
    directive can start inside it, and a line break cannot begin a new block."""
    text = "" if value is None else str(value)
    text = re.sub(r"[\r\n\t\v\f]+", " ", text)
    return _BLOCK_START.sub(r"\\\1", _MARKDOWN_SPECIAL.sub(r"\\\1", text))
