"""Boundaries, maps and spatial helpers. Imports nothing from streamlit."""
