"""Who sees what: the viewer (account, role, regions), accounts and the audit log (no streamlit)."""
