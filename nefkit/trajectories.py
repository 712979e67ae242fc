"""Expected courses: how a score goes, session by session, for clients who started like this one.

Fitted from a service's own data (:func:`fit`): clients are grouped by the severity of their first
score (the instrument's bands of that score, or quantiles of it), and at each session the
group's scores give a median and a band between two percentiles (10th and 90th by default),
with the number of clients behind each cell. A cell with fewer than ``min_cell`` clients pools
the sessions either side of it (a window of three); if that is still too few, it is left out and
nothing is expected there. A client above the band (for a score where lower is better) is "not
on track" (Lambert's OQ-Analyst; Delgadillo et al. 2018 used the same idea with PHQ-9 and
GAD-7). The fit is data, written as TOML (:func:`dumps`), read back and checked with
:class:`ExpectedCourse`.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from typing import TYPE_CHECKING, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import NefkitError

if TYPE_CHECKING:
    from .results import Results

SMOOTHING = (
    "a cell with fewer than min_cell clients pools the sessions either side of it (three"
    " sessions); if that is still too few, the cell is left out"
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Group(_Model):
    """Clients whose first score lies in [low, high]."""

    name: str
    low: float
    high: float


class Cell(_Model):
    group: str
    session: int = Field(ge=0)
    n: int = Field(ge=1, description="Clients behind the figures.")
    low: float
    median: float
    high: float
    pooled: bool = Field(False, description="Sessions either side were pooled (thin data).")

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low <= self.median <= self.high:
            raise ValueError(f"cell {self.group} session {self.session}: low ≤ median ≤ high")
        return self


class DataFacts(_Model):
    file: str
    rows: int
    respondents: int
    first: Optional[dt.date] = None
    last: Optional[dt.date] = None


class ExpectedCourse(_Model):
    """An expected-course file: what it was fitted on, how, and its cells."""

    expected_course: Literal[1] = Field(1, description="The format's version.")
    instrument: str
    instrument_version: str
    content_hash: str
    score: str
    better: Literal["lower", "higher"]
    method: Literal["intake-bands", "intake-quantiles"]
    percentiles: tuple[int, int] = (10, 90)
    min_cell: int = Field(10, ge=1)
    smoothing: str = SMOOTHING
    groups: tuple[Group, ...]
    cells: tuple[Cell, ...]
    data: DataFacts
    fitted_at: dt.datetime
    nefkit_version: str

    @model_validator(mode="after")
    def _consistent(self):
        low, high = self.percentiles
        if not 0 < low < 50 < high < 100:
            raise ValueError("percentiles: a low one under 50 and a high one over 50")
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError("groups: each name once")
        for cell in self.cells:
            if cell.group not in names:
                raise ValueError(f"cell session {cell.session}: no group {cell.group!r}")
        seen = {(c.group, c.session) for c in self.cells}
        if len(seen) != len(self.cells):
            raise ValueError("cells: each group and session once")
        return self

    def group_of(self, first: float) -> Optional[Group]:
        """The group of a first score: the last whose low end it reaches (so that a prorated
        9.5 between bands 5-9 and 10-14 is in the lower, as the bands rule has it)."""
        reached = [g for g in self.groups if g.low <= first]
        if not reached or first > max(g.high for g in self.groups):
            return None
        return max(reached, key=lambda g: g.low)

    def cell(self, first: float, session: int) -> Optional[Cell]:
        """What is expected at ``session`` of a client whose first score was ``first``."""
        group = self.group_of(first)
        if group is None:
            return None
        return next((c for c in self.cells if c.group == group.name and c.session == session), None)

    def on_track(self, first: float, session: int, score: float) -> Optional[bool]:
        """False when ``score`` is past the band on the worse side; None when nothing is
        expected there (no group, or a cell left out)."""
        cell = self.cell(first, session)
        if cell is None:
            return None
        return score <= cell.high if self.better == "lower" else score >= cell.low


def fit(
    results: Results,
    score: str,
    groups: Literal["bands", "quantiles"] = "bands",
    quantiles: int = 4,
    percentiles: tuple[int, int] = (10, 90),
    min_cell: int = 10,
) -> ExpectedCourse:
    """Fit expected courses of ``score`` from scored ``results`` (each respondent's
    administrations in session order; without sessions, in the order of the rows)."""
    import nefkit

    plan = results.plan
    step = next((s for s in plan.steps if s.score.id == score), None)
    if step is None:
        raise NefkitError(f"{plan.instrument.id} has no score {score!r}")
    if step.output.kind != "number":
        raise NefkitError(
            f"{plan.instrument.id}'s {score} is {step.output.kind}, not a number: an expected"
            " course is of a numeric score"
        )
    courses: dict[str, list[tuple[tuple, Optional[int], float]]] = defaultdict(list)
    rows = 0
    dates: list[dt.date] = []
    for row in results.rows:
        rows += 1
        value = row.scores.get(score).value if row.valid and score in row.scores else None
        if (
            row.respondent_id is None
            or not isinstance(value, (int, float))
            or isinstance(value, bool)
        ):
            continue
        key = (row.session if row.session is not None else row.row, row.row)
        courses[row.respondent_id].append((key, row.session, float(value)))
        if row.administered_at is not None:
            day = row.administered_at
            dates.append(day.date() if isinstance(day, dt.datetime) else day)
    # Each client's scores by session: the session numbers given, else 1, 2, ... in row order.
    series = {
        client: [
            (given if given is not None else position, value)
            for position, (_, given, value) in enumerate(sorted(points), 1)
        ]
        for client, points in courses.items()
    }
    if not series:
        raise NefkitError(f"no scored {score} in {results.provenance.input}: nothing to fit")
    firsts = [values[0][1] for values in series.values()]
    made = _groups(plan, score, firsts, groups, quantiles)
    by_cell: dict[tuple[str, int], list[float]] = defaultdict(list)
    for values in series.values():
        reached = [g for g in made if g.low <= values[0][1]]
        if not reached:  # below every band (a score outside the instrument's range)
            continue
        group = max(reached, key=lambda g: g.low)
        for session, value in values:
            by_cell[(group.name, session)].append(value)
    cells = []
    for group in made:
        sessions = [s for g, s in by_cell if g == group.name]
        for session in range(min(sessions, default=1), max(sessions, default=0) + 1):
            values, pooled = by_cell.get((group.name, session), []), False
            if len(values) < min_cell:
                values = [
                    v
                    for s in (session - 1, session, session + 1)
                    for v in by_cell.get((group.name, s), [])
                ]
                pooled = True
            if len(values) < min_cell:
                continue
            low, high = _percentiles(values, percentiles)
            cells.append(
                Cell(
                    group=group.name,
                    session=session,
                    n=len(values),
                    low=low,
                    median=statistics.median(values),
                    high=high,
                    pooled=pooled,
                )
            )
    better = _better(plan, score)
    return ExpectedCourse(
        instrument=plan.instrument.id,
        instrument_version=plan.instrument.version,
        content_hash=plan.instrument.content_hash,
        score=score,
        better=better,
        method="intake-bands" if groups == "bands" else "intake-quantiles",
        percentiles=percentiles,
        min_cell=min_cell,
        groups=tuple(made),
        cells=tuple(cells),
        data=DataFacts(
            file=results.provenance.input,
            rows=rows,
            respondents=len(series),
            first=min(dates, default=None),
            last=max(dates, default=None),
        ),
        fitted_at=dt.datetime.now(dt.timezone.utc).replace(microsecond=0),
        nefkit_version=nefkit.__version__,
    )


def _percentiles(values: list[float], percentiles: tuple[int, int]) -> tuple[float, float]:
    """The two percentiles, interpolated between the ordered values (the "inclusive" method:
    R's type 7, numpy's default)."""
    if len(values) == 1:
        return values[0], values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[percentiles[0] - 1], cuts[percentiles[1] - 1]


def _groups(plan, score: str, firsts: list[float], groups: str, quantiles: int) -> list[Group]:
    if groups == "bands":
        for step in plan.steps:
            if getattr(step.params, "score", None) == score and getattr(step.params, "bands", None):
                return [Group(name=b.label, low=b.min, high=b.max) for b in step.params.bands]
        raise NefkitError(
            f"{plan.instrument.id} has no bands of {score}; group by quantiles of the first"
            " score instead (--groups quantiles)"
        )
    cuts = statistics.quantiles(firsts, n=quantiles, method="inclusive") if len(firsts) > 1 else []
    edges = [min(firsts), *cuts, max(firsts)]
    made = []
    for k in range(quantiles):
        low, high = edges[k], edges[k + 1]
        if made and low <= made[-1].high:
            low = math.nextafter(made[-1].high, math.inf)  # the groups never overlap
        if low > high:
            continue
        made.append(Group(name=f"intake quantile {k + 1} of {quantiles}", low=low, high=high))
    return made


def _better(plan, score: str) -> Literal["lower", "higher"]:
    """Which way is better for the score: its change rule says so; lower by default."""
    for step in plan.changes:
        if step.change.score == score:
            return getattr(step.params, "better", "lower")
    return "lower"


def dumps(course: ExpectedCourse) -> str:
    """The fit as TOML, read back by :func:`loads`."""
    from .definitions.toml import dumps_definition

    data = course.model_dump(mode="python", exclude_none=True)
    data["percentiles"] = list(data["percentiles"])
    return dumps_definition(data)


def loads(text: str, source: str = "the expected-course file") -> ExpectedCourse:
    import tomllib

    from pydantic import ValidationError

    try:
        return ExpectedCourse.model_validate(tomllib.loads(text))
    except tomllib.TOMLDecodeError as e:
        raise NefkitError(f"{source} is not TOML: {e}") from None
    except ValidationError as e:
        where = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}:"
            f" {err['msg'].removeprefix('Value error, ')}"
            for err in e.errors()
        )
        raise NefkitError(f"{source}: {where}") from None


def is_expected_course(path) -> bool:
    """Whether a TOML file is an expected-course file (its first key says so)."""
    from pathlib import Path

    try:
        with open(Path(path), encoding="utf-8") as handle:
            head = handle.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    return any(line.startswith("expected_course") for line in head.splitlines())


def check(path, registry) -> tuple[Optional[ExpectedCourse], list[tuple[str, str]]]:
    """The course in ``path`` and its problems as (level, message): an error when it does not
    read as one, or its instrument or score is unknown; a warning when the instrument's
    definition has changed since the fit."""
    from pathlib import Path

    try:
        course = loads(Path(path).read_text(encoding="utf-8"), str(path))
    except NefkitError as e:
        return None, [("error", str(e))]
    except UnicodeDecodeError:
        return None, [("error", f"{path}: is not UTF-8 text, so not an expected-course file")]
    except OSError as e:
        return None, [("error", f"{path}: cannot be read ({e.strerror or e})")]
    if course.instrument not in registry.instruments:
        return course, [("error", f"{path}: no instrument {course.instrument!r} is installed")]
    instrument = registry.instrument(course.instrument)
    problems = []
    if course.score not in {s.id for s in instrument.scores}:
        problems.append(("error", f"{path}: {course.instrument} has no score {course.score!r}"))
    if instrument.content_hash != course.content_hash:
        problems.append(
            (
                "warning",
                f"{path}: {course.instrument}'s definition has changed since the fit"
                f" (version {course.instrument_version} then, {instrument.version} now): fit"
                " it again",
            )
        )
    return course, problems
