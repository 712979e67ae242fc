"""What scoring a data file produces, as renderers receive it."""

from __future__ import annotations

import datetime as dt
import threading
from bisect import insort
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel

from .definitions.instrument import Instrument
from .definitions.plan import Plan
from .rules import ScoreValue, Value


def day(when: dt.date) -> str:
    """When an administration took place, for people to read: the date alone when no time of
    day is known (a spreadsheet stores every date as a date-time at midnight), else to the
    minute, with its time zone when it has one."""
    if not isinstance(when, dt.datetime):
        return when.isoformat()
    if when.time() == dt.time():
        return f"{when:%Y-%m-%d}"
    return f"{when:%Y-%m-%d %H:%M %Z}".rstrip()


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


def answer_columns(rows: Sequence[ScoredRow]) -> Callable[[str], list[Value]]:
    """A function giving one item's answers in ``rows``, in order (None where a row has no such
    item). Rows that are views of a chunk's columns (as the row engine makes them) give slices
    of the columns, copied at C speed, rather than a lookup per row."""
    views = [row.answers for row in rows]
    if not all(v.__class__ is RowView for v in views):
        return lambda item_id: [answers.get(item_id) for answers in views]
    # Per run of rows from one chunk: its columns, and the rows' places (a slice when they
    # follow one another, as they do unless rows were left out).
    runs: list[tuple[Mapping[str, Sequence[Any]], slice | list[int], int]] = []
    for columns, run in groupby(views, key=attrgetter("_columns")):
        indices = [view._index for view in run]
        whole = indices == list(range(indices[0], indices[-1] + 1))
        runs.append(
            (columns, slice(indices[0], indices[-1] + 1) if whole else indices, len(indices))
        )

    def column(item_id: str) -> list[Value]:
        values: list[Value] = []
        for columns, places, n in runs:
            part = columns.get(item_id)
            if part is None:
                values.extend([None] * n)
            elif places.__class__ is slice:
                values.extend(part[places])
            else:
                values.extend(map(part.__getitem__, places))
        return values

    return column


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
    engine: str = ""  # the engine that scored, and its plugin
    renderer: str = ""  # format and plugin of the renderer writing these results
    input: str
    generated_at: dt.datetime

    @property
    def instrument_label(self) -> str:
        return f"{self.instrument_id} {self.instrument_version} {self.content_hash[:19]}"

    @classmethod
    def of(cls, plan: Plan, input: str) -> Provenance:
        """Where scores of ``plan`` over ``input`` come from, as of now (every engine's)."""
        from . import __version__

        return cls(
            instrument_id=plan.instrument.id,
            instrument_version=plan.instrument.version,
            content_hash=plan.instrument.content_hash,
            nefkit_version=__version__,
            rules={name: plan.origins.get(name, "unknown") for name in plan.rules_used},
            input=input,
            generated_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
        )


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """A clinician's acknowledgement of an alert a row raised, for reports from the clinic's
    store (rows there are administrations)."""

    row: int
    alert: str  # what it said: "RISK: Thoughts of ..."
    by: str
    at: dt.datetime
    note: Optional[str]
    closed: Optional[str]  # why its condition no longer holds; None while it does


SHOWN_ROWS = 5  # row numbers a warning names before "…"


@dataclass
class RowSample:
    """How many rows, and the first few of their numbers (the smallest, in whatever order the
    rows arrive: the columnar engine scores pieces of a file at once)."""

    count: int = 0
    first: list[int] = field(default_factory=list)

    def add(self, row: int) -> None:
        self.count += 1
        if len(self.first) < SHOWN_ROWS or row < self.first[-1]:
            insort(self.first, row)
            del self.first[SHOWN_ROWS:]

    def __str__(self) -> str:
        more = ", …" if self.count > len(self.first) else ""
        word = "row" if self.count == 1 else "rows"
        return f"{word} {', '.join(map(str, self.first))}{more}"


@dataclass
class FlagTally:
    """What the flags said that a summary must not lose, counted as rows pass: per flag id the
    rows where it could not be checked (``unknown``) and the invalid rows where it was raised
    (``raised_invalid``), and how many rows have a flag that could not be checked."""

    unchecked_rows: int = 0
    unknown: dict[str, RowSample] = field(default_factory=dict)
    raised_invalid: dict[str, RowSample] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, row: ScoredRow) -> None:
        self.add_flags(row.row, row.flags, row.valid)

    def add_flags(self, number: int, flags: Mapping[str, Optional[bool]], valid: bool) -> None:
        """One row's flags; safe to call from several threads (DuckDB's)."""
        states = flags.values()
        if None not in states and (valid or True not in states):
            return  # most rows: nothing to count, found at C speed
        unknown = [flag_id for flag_id, state in flags.items() if state is None]
        raised = [] if valid else [flag_id for flag_id, state in flags.items() if state]
        if not unknown and not raised:
            return
        with self._lock:
            self.unchecked_rows += bool(unknown)
            for flag_id in unknown:
                self.unknown.setdefault(flag_id, RowSample()).add(number)
            for flag_id in raised:
                self.raised_invalid.setdefault(flag_id, RowSample()).add(number)


@dataclass
class Results:
    """A scored dataset, streamed: iterate ``rows`` once; ``problems`` grows as rows pass and
    ``changes`` is complete once ``rows`` is exhausted, as is ``flag_tally`` (flags that could
    not be checked, or were raised on invalid rows) and ``change_gaps``, which :meth:`warnings`
    words."""

    instrument: Instrument
    plan: Plan
    context_columns: list[str]
    rows: Iterator[ScoredRow]
    provenance: Provenance
    problems: list[CellProblem] = field(default_factory=list)
    changes: list[ChangeRow] = field(default_factory=list)
    row_count: int = 0
    invalid_count: int = 0
    flag_tally: FlagTally = field(default_factory=FlagTally)
    # Per change id, the administrations (of respondents with two or more) without the score
    # it compares: there, and from or to them, the change could not be computed.
    change_gaps: dict[str, RowSample] = field(default_factory=dict)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)

    def write_native(self, format: str, path: Path) -> bool:
        """Write these results to ``path`` in ``format`` by the engine's own faster path, in
        the place of that format's renderer, which must allow it (``Renderer.native``); the
        output must equal the renderer's. False when there is none for these results: the
        renderer writes them. The row engine has none."""
        return False

    def warnings(self) -> list[str]:
        """A sentence per risk flag that could not be checked in some rows, or that was raised
        in rows invalid for scoring (whose problems might otherwise hide it), and per reliable
        change that could not be computed at some administrations."""
        tally, lines = self.flag_tally, []
        for step in self.plan.flags:
            if step.flag.level != "risk":
                continue
            name = f"risk flag '{step.flag.label}'"
            unknown = tally.unknown.get(step.flag.id)
            if unknown:
                lines.append(
                    f"{name} could not be checked in {_rows(unknown.count)} ({unknown}):"
                    " an answer it needs is missing or unreadable"
                )
            raised = tally.raised_invalid.get(step.flag.id)
            if raised:
                verb = "is" if raised.count == 1 else "are"
                lines.append(
                    f"{name} is raised in {_rows(raised.count)} that {verb} invalid for scoring"
                    f" ({raised}): the flag stands, whatever the problems"
                )
        labels = {s.score.id: s.score.label for s in self.plan.steps}
        for step in self.plan.changes:
            gaps = self.change_gaps.get(step.change.id)
            if gaps:
                lines.append(
                    f"'{step.change.label}' could not be computed at {_rows(gaps.count)}"
                    f" ({gaps}): the {labels[step.change.score]} is not scorable there, so"
                    " the change to or from them is unknown"
                )
        return lines


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"
