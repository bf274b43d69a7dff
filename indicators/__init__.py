"""What an indicator is (registry.py), how its values read (fmt.py) and how a map classes and
legends them (legend.py): the one description the pages, exports, snapshots and the CLI share.

No streamlit here. The SQL that computes the values is queries/indicators.sql (run by
queries/indicators.py, a different module of the same name: import this package's modules as
``from indicators import registry``).
"""
