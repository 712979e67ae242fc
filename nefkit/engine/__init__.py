"""A scoring plan as SQL: :mod:`nefkit.engine.sql` compiles it from each rule's ``to_sql`` (see
:mod:`nefkit.sql`) for the DuckDB engine (plugin ``nefkit_duckdb``) and ``nefkit sql``, which
:mod:`nefkit.engine.emit` writes for any dialect. Nothing here imports a database driver."""
