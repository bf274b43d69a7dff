"""What an indicator is (registry.py) and how its values read (fmt.py): the one description the
pages, exports, snapshots and the CLI share.

No streamlit here. The SQL that computes the values is queries/indicators.sql (run by
queries/indicators.py, a different module of the same name: import this package's modules as
``from indicators import registry``).
"""
