"""The DuckDB engine: the scoring plan as SQL in DuckDB, for large CSV, JSON Lines and Parquet
files; with the Parquet reader and the Parquet and JSON Lines renderers that go with it."""

from nefkit import hookimpl


@hookimpl
def register_engines(register):
    from .engine import DuckDBEngine

    register(DuckDBEngine())


@hookimpl
def register_readers(register):
    from .reader import ParquetReader

    register(ParquetReader())


@hookimpl
def register_renderers(register):
    from .renderers import JsonLinesRenderer, ParquetRenderer

    register(ParquetRenderer())
    register(JsonLinesRenderer())
