"""The Streamlit layer: interface text, formatting, cached data access, shared widgets."""
