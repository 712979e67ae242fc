"""Scoring: nefkit's own row engine (rows.py), the reading of a cell as an answer (responses.py),
and the scoring plan as SQL (sql_plan.py) that the DuckDB engine runs and ``nefkit sql`` prints
for any dialect (sql_emit.py)."""
