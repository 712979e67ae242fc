"""The columnar engine: the same scoring plan run on DuckDB, for files too large for the
row-by-row Python engine.

``nefkit score --engine auto|python|duckdb`` chooses; :func:`choose_engine` decides for
``auto``. The engine itself is :mod:`nefkit.engine.columnar`; the SQL it runs is compiled by
:mod:`nefkit.engine.sql` from each rule's ``to_sql``. Nothing here imports DuckDB, so that
``nefkit --help`` stays fast; the modules that need it import it inside their functions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..errors import NefkitError

# Formats the columnar engine reads and writes itself, by extension.
INPUTS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
OUTPUTS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
ONLY_COLUMNAR = {"parquet"}  # formats the Python engine has no reader or renderer for
ENGINES = ("auto", "python", "duckdb")

# From this size on, ``auto`` takes DuckDB: below it, starting DuckDB costs more than it saves.
AUTO_BYTES = int(os.environ.get("NEFKIT_AUTO_ENGINE_BYTES", 8 * 2**20))


@dataclass(frozen=True)
class EngineChoice:
    name: str  # "python" or "duckdb"
    reason: str


def input_format(path: Path, given: Optional[str] = None) -> Optional[str]:
    if given:
        return {"ndjson": "jsonl", "pq": "parquet", "tsv": "csv"}.get(given, given)
    return INPUTS.get(path.suffix.lower())


def output_format(path: Path, given: Optional[str] = None) -> Optional[str]:
    if given:
        return {"ndjson": "jsonl", "pq": "parquet"}.get(given, given)
    return OUTPUTS.get(path.suffix.lower())


def columnar_output(path: Path, given: Optional[str] = None) -> bool:
    """Whether the columnar engine writes this output itself (CSV, Parquet, JSON Lines)."""
    return output_format(path, given) in ("csv", "parquet", "jsonl")


def choose_engine(
    engine: str,
    data: Path,
    output: Optional[Path] = None,
    given_input: Optional[str] = None,
    given_output: Optional[str] = None,
) -> EngineChoice:
    """The engine to run: ``python`` or ``duckdb`` as asked, or for ``auto`` by format and
    size. Raises :class:`NefkitError` for a combination that cannot work."""
    if engine not in ENGINES:
        raise NefkitError(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    fmt = input_format(data, given_input)
    out = output_format(output, given_output) if output is not None else None
    needs_columnar = [f for f in (fmt, out) if f in ONLY_COLUMNAR] or (
        ["jsonl"] if out == "jsonl" else []
    )
    if engine == "python":
        if needs_columnar:
            raise NefkitError(
                f"the python engine cannot handle {needs_columnar[0]} files; use --engine duckdb"
            )
        return EngineChoice("python", "asked for")
    if engine == "duckdb":
        if fmt not in ("csv", "jsonl", "parquet"):
            raise NefkitError(
                f"{data}: the duckdb engine reads CSV, JSON Lines and Parquet files; use --engine python"
            )
        return EngineChoice("duckdb", "asked for")
    if needs_columnar:
        return EngineChoice("duckdb", f"{needs_columnar[0]} needs it")
    if fmt not in ("csv", "jsonl"):
        return EngineChoice("python", f"{data.suffix or 'this'} input is read by the python engine")
    try:
        size = data.stat().st_size
    except OSError:
        return EngineChoice("python", "input size unknown")
    if size >= AUTO_BYTES:
        return EngineChoice("duckdb", f"input is {size / 2**20:.0f} MB")
    return EngineChoice("python", f"input is under {AUTO_BYTES / 2**20:.0f} MB")
