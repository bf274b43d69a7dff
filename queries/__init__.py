"""Named SQL queries and the code that runs them. Imports nothing from streamlit."""
