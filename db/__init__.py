"""The database: schema, data version and the national division register (no streamlit)."""
