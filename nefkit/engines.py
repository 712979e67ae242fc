"""The contract an engine fulfils: an instrument's scoring plan run over a data file.

nefkit's own row engine (``python``, in :mod:`nefkit.scoring.rows`) is the reference every other
engine must agree with, and the fallback: it scores whatever an installed reader reads. Other
engines are plugins (``nefkit_duckdb`` runs the plan as SQL in DuckDB, for large files). For
``--engine auto`` the host asks each engine that reads the input what scoring it would cost
(:meth:`Engine.cost`, from a model measured on the engine) and takes the cheapest.

An engine returns :class:`nefkit.Results`, which every renderer writes; ``nefkit.score_table``
is the row engine's own work on a table, for an engine to hand on what it does not do itself. For formats it writes
faster itself, its results may override :meth:`Results.write_native`; the host calls it only in
the place of a renderer that allows it (``Renderer.native``), so output always goes through the
registry's renderer for the file: never a way around it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Optional

if TYPE_CHECKING:
    from .definitions.plan import Plan
    from .readers import Reader
    from .results import Results

Progress = Callable[[int], None]  # told how many rows are scored so far


@dataclass(frozen=True)
class Workload:
    """What ``--engine auto`` weighs engines on: about how many rows the input has (its
    reader's estimate), how many items the plan reads from each, whether it computes change
    scores (which need every administration's scores until the end), the input's format, and
    whether every scored row goes to Python (``rendered``: iterated, or written by a renderer)
    rather than written by the engine itself in a renderer's place (see
    :meth:`Results.write_native`)."""

    rows: int
    items: int
    changes: bool
    format: str
    rendered: bool = True

    def __str__(self) -> str:
        return f"about {self.rows:,} rows of {self.items} items" + (
            ", written row by row" if self.rendered else ""
        )


class Engine(ABC):
    """Scores a data file with an instrument's plan.

    ``name`` chooses it (``--engine NAME``); ``formats`` are the input formats (readers' format
    names, such as ``csv``) it can score; an empty tuple means any format a reader reads.
    """

    name: ClassVar[str]
    summary: ClassVar[str]
    formats: ClassVar[tuple[str, ...]] = ()

    def cost(self, work: Workload) -> Optional[float]:
        """For ``--engine auto``: the seconds this engine is expected to take on ``work``, from
        a model of it measured on a reference machine (``benchmarks/auto_engine.py`` measures
        nefkit's own); the host takes the cheapest engine. None: not for this work. Asked only
        for ``formats``. Default None: the engine is used only when asked for."""
        return None

    @abstractmethod
    def score(
        self, plan: Plan, data: Path, reader: Reader, progress: Optional[Progress] = None
    ) -> Results:
        """Score ``data``, which ``reader`` reads (its format is one of ``formats``). The
        results stream: rows are scored as ``results.rows`` is iterated (once), and
        ``problems``, ``changes`` and the tallies are complete when it is exhausted. Every row
        and every change must equal the row engine's (test it against ``--engine python``)."""


# The row engine's parts, for an engine that does some of the work itself: the header check
# (Columns), the cell readers, the row checker whose words every engine's problems must use
# (score_rows: the DuckDB engine hands it the rows it cannot read), and the scoring plan as SQL.
_TOOLKIT = {
    "Columns": "nefkit.scoring.rows",
    "score_rows": "nefkit.scoring.rows",
    "respondent_text": "nefkit.scoring.rows",
    "AnswerParser": "nefkit.definitions.responses",
    "CellError": "nefkit.definitions.responses",
    "parse_session": "nefkit.definitions.responses",
    "parse_when": "nefkit.definitions.responses",
}


def __getattr__(name: str):
    # Loaded on first use: the row engine itself subclasses Engine, so importing it here, at
    # the top, would make a cycle.
    import importlib

    if name == "sql_plan":
        return importlib.import_module("nefkit.scoring.sql_plan")
    if name in _TOOLKIT:
        return getattr(importlib.import_module(_TOOLKIT[name]), name)
    raise AttributeError(f"module 'nefkit.engines' has no attribute {name!r}")
