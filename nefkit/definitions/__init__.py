"""Instrument definitions: the model (instrument.py), TOML in and out (toml.py, loading.py), the
condition grammar (conditions.py), every check ``nefkit validate`` runs (checks.py, problems.py),
the scoring plan a checked definition compiles to (plan.py), its golden cases (golden.py), the
JSON Schema (schema.py) and ``nefkit show`` (describe.py)."""
