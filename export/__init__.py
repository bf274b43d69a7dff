"""Exports of a dashboard view: PNG, PDF, PPTX, a self-contained HTML map and a .docx brief.

Every format renders from one view model (:func:`export.views.build_view`), which runs the same
queries as the pages and formats numbers with ``indicators.fmt``; no module here imports streamlit.
"""
