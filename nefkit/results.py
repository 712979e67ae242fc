"""What scoring a data file produces, as renderers receive it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from pydantic import BaseModel

from .instrument import Instrument
from .plan import Plan
from .rules import ScoreValue, Value


@dataclass(slots=True)
class CellProblem:
    """A cell (or, with no column, a whole row) that could not be used, and why."""

    row: int
    column: str
    value: Any
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column}" if self.column else "")
        value = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}{value}: {self.reason}"


class RowView(Mapping):
    """One row of a chunk's columns, read on demand: building a dict of 60 answers for every
    row costs more than scoring it, and most renderers never look."""

    __slots__ = ("_columns", "_index")

    def __init__(self, columns: Mapping[str, Sequence[Any]], index: int):
        self._columns = columns
        self._index = index

    def __getitem__(self, key: str) -> Any:
        return self._columns[key][self._index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


@dataclass(slots=True)
class ScoredRow:
    """One input row. ``flags`` maps every flag id to True (raised), False (clear) or None
    (could not be checked: an answer or score it needs is missing or unreadable), on every row.
    ``scores`` is empty when the row is invalid (it has problems): nefkit never reports a score
    around a value it could not read, but a problem elsewhere in the row must not hide a risk,
    so an invalid row's flags are evaluated from the answers that could be read (a bad cell
    counts as blank; a score a flag reads is computed from those answers under its
    missing-data policy)."""

    row: int
    respondent_id: Optional[str]
    administered_at: Optional[dt.date]
    session: Optional[int]
    context: dict[str, Any]
    answers: Mapping[str, Value]
    cells: Mapping[str, Any]  # the item cells exactly as read, for a record of what was received
    scores: dict[str, ScoreValue] = field(default_factory=dict)
    flags: dict[str, Optional[bool]] = field(default_factory=dict)
    problems: list[CellProblem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


@dataclass(slots=True)
class ChangeRow:
    """The change in one score of one respondent between two administrations."""

    respondent_id: str
    change_id: str
    score_id: str
    comparison: str  # "baseline to latest" or "session to session"
    from_row: int
    to_row: int
    from_session: Optional[int]
    to_session: Optional[int]
    from_date: Optional[dt.date]
    to_date: Optional[dt.date]
    before: float
    after: float
    classification: str

    @property
    def difference(self) -> float:
        return self.after - self.before


class Provenance(BaseModel):
    """Where every number came from: the definition, the rules and the software."""

    instrument_id: str
    instrument_version: str
    content_hash: str
    nefkit_version: str
    rules: dict[str, str]  # rule name: the plugin (and version) that provides it
    renderer: str = ""  # format and plugin of the renderer writing these results
    input: str
    generated_at: dt.datetime

    @property
    def instrument_label(self) -> str:
        return f"{self.instrument_id} {self.instrument_version} {self.content_hash[:19]}"


@dataclass
class Results:
    """A scored dataset, streamed: iterate ``rows`` once; ``problems`` grows as rows pass and
    ``changes`` is complete once ``rows`` is exhausted."""

    instrument: Instrument
    plan: Plan
    context_columns: list[str]
    rows: Iterator[ScoredRow]
    provenance: Provenance
    problems: list[CellProblem] = field(default_factory=list)
    changes: list[ChangeRow] = field(default_factory=list)
    row_count: int = 0
    invalid_count: int = 0
