"""The client report: one respondent's administrations of every instrument in the batch, laid
out for the clinician who will sit with them. Flags come first, then each score over time, what
negative effects they reported and, for reflection questions, their answers in their own words.

A client has few rows, so they are held in memory; everything here works on those lists."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from markupsafe import Markup

from nefkit import FlagStep, Plan
from nefkit.results import ChangeRow, Results, ScoredRow
from nefkit.summary import effect_items
from nefkit.trajectories import Cell, ExpectedCourse

from . import charts
from .facts import Scale, answer_text, day, derived_from, number, scales, when

LEVELS = ("risk", "warning", "info")
NOT_READ = "this administration could not be read (see Problems), so its flags were not checked"
CLASS_WORDS = {
    "reliably deteriorated": ("worse", "reliably worse than {}"),
    "reliably improved": ("better", "reliably better than {}"),
    "recovered": ("better", "recovered since {}"),
}


@dataclass
class FlagEvent:
    level: str
    label: str
    action: str  # for a flag that could not be checked: what to ask, then the flag's action
    instrument: str
    when: str
    raised: Optional[bool]  # None: an answer it needs was missing or could not be read
    why: str = ""  # why it could not be checked


@dataclass
class Reviewed:
    """An alert a clinician acknowledged, as the report shows it."""

    instrument: str
    when: str
    alert: str
    by: str
    at: str
    note: str
    closed: str  # why its condition no longer holds, or ""


@dataclass
class Timeline:
    scale: Scale
    chart: Markup
    rows: list[dict[str, str]]
    changes: list[str]  # reliable changes in words: the chart's text equivalent
    first: str
    latest: str
    overall: str  # the first-to-latest classification, or why it could not be computed
    worse: bool  # the first-to-latest change is a reliable deterioration
    expected: bool = False  # an expected course is drawn: the table has its column


@dataclass
class Effect:
    text: str
    impact: str
    cause: str
    treatment: bool


@dataclass
class Profile:
    """The negative effects one administration reports."""

    when: str
    experienced: list[Effect]
    not_experienced: list[str]
    unanswered: list[str]


@dataclass
class Section:
    """One instrument's part of the report."""

    results: Results
    administrations: list[str]
    checked: int = 0  # administrations whose flags were evaluated, invalid ones included
    timelines: list[Timeline] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    scores: list[dict[str, Any]] = field(default_factory=list)  # {"label", "values": [...]}
    answers: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    matrix: list[tuple[str, list[str]]] = field(default_factory=list)  # item text, answers
    own_words: list[tuple[str, str, str]] = field(default_factory=list)  # when, question, text
    problems: list[str] = field(default_factory=list)

    @property
    def instrument(self):
        return self.results.instrument

    @property
    def provenance(self):
        return self.results.provenance


@dataclass
class ClientReport:
    respondent: str
    sections: list[Section]
    flags: list[FlagEvent]
    reviewed: list[Reviewed]
    generated_at: dt.datetime
    nefkit_version: str

    @property
    def raised(self) -> list[FlagEvent]:
        return [f for f in self.flags if f.raised]

    @property
    def risks(self) -> list[FlagEvent]:
        return [f for f in self.raised if f.level == "risk"]

    @property
    def unchecked(self) -> list[FlagEvent]:
        return [f for f in self.flags if f.raised is None]

    @property
    def unchecked_risks(self) -> list[FlagEvent]:
        return [f for f in self.unchecked if f.level == "risk"]

    @property
    def risk_state(self) -> str:
        """The top box: "risk" when a risk flag is raised, "unknown" when none is but one could
        not be checked, "clear" only when every risk flag was checked and clear."""
        return "risk" if self.risks else ("unknown" if self.unchecked_risks else "clear")

    @property
    def checked(self) -> list[tuple[str, int]]:
        """Instruments that can raise a risk flag, and how many administrations were checked."""
        return [
            (s.instrument.title, s.checked)
            for s in self.sections
            if s.checked and any(f.flag.level == "risk" for f in s.results.plan.flags)
        ]

    @property
    def timelines(self) -> list[Timeline]:
        return [t for s in self.sections for t in s.timelines]


def _order(rows: list[ScoredRow]) -> tuple[list[ScoredRow], str]:
    """Rows in the order they were given: by session when every row has one, else by date,
    else as they appear in the file; and which of those it was."""
    if rows and all(r.session is not None for r in rows):
        return sorted(rows, key=lambda r: (r.session, r.row)), "session"
    if rows and all(r.administered_at is not None for r in rows):
        return sorted(rows, key=lambda r: (_moment(r.administered_at), r.row)), "date"
    return sorted(rows, key=lambda r: r.row), "order"


def _moment(date: dt.date) -> dt.datetime:
    return date if isinstance(date, dt.datetime) else dt.datetime.combine(date, dt.time())


def _tick(row: ScoredRow, by: str, index: int) -> tuple[float, str, str]:
    if by == "session":
        return (
            row.session,
            f"Session {row.session}",
            day(row.administered_at) if row.administered_at else "",
        )
    if by == "date":
        return _moment(row.administered_at).timestamp() / 86400, day(row.administered_at), ""
    return index + 1, f"#{index + 1}", ""


def _score_text(result) -> str:
    if result.value is None:
        return f"not scorable: {result.reason}" if result.reason else "not scorable"
    value = result.value
    text = (
        ("yes" if value else "no")
        if isinstance(value, bool)
        else (number(value, 2) if isinstance(value, (int, float)) else str(value))
    )
    return text + (" (prorated)" if result.status == "prorated" else "")


def _expected(
    course: Optional[ExpectedCourse], scale: Scale, rows: list[ScoredRow]
) -> list[Optional[tuple[Cell, Optional[bool]]]]:
    """Per row, the cell of ``course`` expected there for a client whose first score was this
    one's, and whether the score is on track (None at the first, which is never judged); None
    where nothing is expected. Sessions count as the fit and the alerts count them: the numbers
    given, else 1, 2, ... over the scored administrations."""
    if course is None:
        return [None] * len(rows)
    values = [row.scores[scale.id].value for row in rows]
    scored = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not scored:
        return [None] * len(rows)
    found, position = [], 0
    for row, value in zip(rows, values):
        known = isinstance(value, (int, float)) and not isinstance(value, bool)
        position += known
        session = row.session if row.session is not None else (position if known else None)
        cell = None if session is None else course.cell(scored[0], session)
        if cell is None:
            found.append(None)
            continue
        judged = known and position > 1
        found.append((cell, course.on_track(scored[0], session, value) if judged else None))
    return found


def _timeline(
    scale: Scale,
    rows: list[ScoredRow],
    changes: list[ChangeRow],
    by: str,
    key: str,
    changed: bool,
    course: Optional[ExpectedCourse] = None,
) -> Timeline:
    """``changed``: the plan classifies change in this score, so a change missing between two
    administrations is a gap to explain, not nothing; ``course``: the score's expected course,
    drawn behind the client's line."""
    ticks = {row.row: _tick(row, by, i) for i, row in enumerate(rows)}
    short = {row.row: ticks[row.row][1] for row in rows}
    changes = [c for c in changes if c.score_id == scale.id]
    marks: dict[int, list[tuple[str, str]]] = {}
    for change in changes:
        if change.classification in CLASS_WORDS:
            kind, words = CLASS_WORDS[change.classification]
            text = words.format(short.get(change.from_row, f"row {change.from_row}"))
            if (kind, text) not in marks.setdefault(change.to_row, []):
                marks[change.to_row].append((kind, text))
    points, table = [], []
    previous: dict[int, ChangeRow] = {
        c.to_row: c for c in changes if c.comparison == "session to session"
    }
    expected = _expected(course, scale, rows)
    for index, (row, here) in enumerate(zip(rows, expected)):
        x, tick, subtick = ticks[row.row]
        result = row.scores[scale.id]
        points.append(
            charts.Point(
                x,
                tick,
                subtick,
                result.value,
                tuple(marks.get(row.row, ())),
                None if here is None else (here[0].low, here[0].high),
            )
        )
        step = previous.get(row.row)
        if step is not None:
            since = (
                "" if step.from_row == rows[index - 1].row else f" from {short.get(step.from_row)}"
            )
            change = f"{step.difference:+g}{since} ({step.classification})"
        elif changed and index:
            change = f"could not be computed ({_no_change(points)})"
        else:
            change = ""
        table.append(
            {
                "when": when(row.session, row.administered_at),
                "score": _score_text(result),
                "band": _score_text(row.scores[scale.band_id]) if scale.band_id else "",
                "case": _score_text(row.scores[scale.threshold_id]) if scale.threshold_id else "",
                "change": change,
                "expected": _expected_text(here, course),
            }
        )
    values = [p.value for p in points if p.value is not None]
    values += [end for p in points if p.expected for end in p.expected]
    low = scale.low if scale.low is not None else min(values, default=0)
    high = scale.high if scale.high is not None else max(values, default=1)
    overall = next((c for c in changes if c.comparison == "baseline to latest"), None)
    sentences = [
        f"{short.get(c.from_row)} to {short.get(c.to_row)}: {number(c.before)} → "
        f"{number(c.after)} ({c.difference:+g}), {c.classification}"
        + (" (first to latest)" if c.comparison == "baseline to latest" else "")
        for c in changes
        if c.classification != "no reliable change" or c.comparison == "baseline to latest"
    ]
    scored = [(row, p) for row, p in zip(rows, points) if p.value is not None]
    title = f"{scale.label} by {'session' if by == 'session' else 'date'}"
    desc = "; ".join(f"{p.tick}: {number(p.value)}" for _, p in scored) or "no scores"
    ranges = [
        f"{p.tick}: {number(p.expected[0])} to {number(p.expected[1])}"
        for p in points
        if p.expected
    ]
    if ranges:
        desc += ". Expected range: " + "; ".join(ranges)
    words = ""
    if course is not None:
        low_p, high_p = course.percentiles
        words = (
            f"Range expected for clients who started alike ({low_p}th to {high_p}th percentile,"
            f" {course.data.respondents} clients fitted)"
        )
    chart = charts.timeline(
        key,
        title,
        desc + ". " + ". ".join(sentences),
        points,
        low,
        high,
        scale.bands,
        scale.threshold,
        scale.integer,
        words,
    )
    return Timeline(
        scale,
        chart,
        table,
        sentences,
        f"{number(scored[0][1].value)} ({scored[0][1].tick})" if scored else "–",
        f"{number(scored[-1][1].value)} ({scored[-1][1].tick})" if scored else "–",
        _overall(points, overall, changed),
        overall is not None and overall.classification == "reliably deteriorated",
        course is not None,
    )


def _expected_text(here, course: Optional[ExpectedCourse]) -> str:
    if course is None:
        return ""
    if here is None:
        return "nothing expected here"
    cell, on_track = here
    text = f"{number(cell.low)} to {number(cell.high)} (median {number(cell.median)})"
    if on_track is False:
        text += f", {'above' if course.better == 'lower' else 'below'} it: not on track"
    return text


def _no_change(points: list[charts.Point]) -> str:
    """Why the engine gave no change from the previous administration to the last of
    ``points``: a change needs a score at both ends, and the administrations in order."""
    if points[-1].value is None:
        return "no score at this administration"
    if all(p.value is None for p in points[:-1]):
        return "no score at an earlier administration"
    return "the order of the administrations is unknown: see Problems"


def _overall(points: list[charts.Point], change: Optional[ChangeRow], changed: bool) -> str:
    """First to latest in words. When the first or latest administration has no score, the
    change between them could not be computed: said, beside the change between the scored
    administrations nearest them, which the engine compares instead."""
    scored = [p for p in points if p.value is not None]
    ends = list(dict.fromkeys(p.tick for p in (points[0], points[-1]) if p.value is None))
    gap = f"could not be computed ({' and '.join(ends)} not scorable)" if ends else ""
    if change is not None:
        if not gap:
            return change.classification
        return f"{gap}; {scored[0].tick} to {scored[-1].tick}: {change.classification}"
    if not changed or len(points) < 2:
        return "only one scored administration" if len(scored) < 2 else "not classified"
    return gap or f"could not be computed ({_no_change(points)})"


def _profile(results: Results, row: ScoredRow) -> Profile:
    instrument = results.instrument
    items = instrument.item_map
    profile = Profile(when(row.session, row.administered_at), [], [], [])
    for effect in effect_items(results.plan):
        answer = row.answers.get(effect.item_id)
        if answer == 1:
            impact_item = items.get(effect.impact_id)
            impact_value = row.answers.get(effect.impact_id) if impact_item else None
            impact = answer_text(instrument, impact_item, impact_value) if impact_item else None
            if isinstance(impact_value, int):
                impact = f"{impact_value} – {impact}"
            cause = row.answers.get(effect.cause_id)
            profile.experienced.append(
                Effect(
                    effect.text,
                    impact or "not asked",
                    answer_text(instrument, items[effect.cause_id], cause),
                    cause == effect.treatment,
                )
            )
        elif answer == 0:
            profile.not_experienced.append(effect.text)
        else:
            profile.unanswered.append(effect.text)
    return profile


def _section(
    results: Results,
    rows: list[ScoredRow],
    respondent: str,
    index: int,
    expected: Sequence[ExpectedCourse],
) -> Section:
    plan, instrument = results.plan, results.instrument
    rows, by = _order(rows)
    valid = [r for r in rows if r.valid]
    section = Section(
        results,
        [when(r.session, r.administered_at) for r in valid],
        sum(1 for r in rows if r.flags),
    )
    numbers = {r.row for r in rows}
    section.problems = [str(p) for p in results.problems if p.row in numbers]
    if not valid:
        return section
    charted = scales(plan)
    changed = {c.change.score for c in plan.changes}
    # Changes of this respondent only: the batch may hold everyone's when it was not filtered.
    changes = [c for c in results.changes if c.respondent_id == respondent]
    for scale in charted:
        key = f"client-{index}-{instrument.id}-{scale.id}"
        course = next(
            (c for c in expected if (c.instrument, c.score) == (instrument.id, scale.id)), None
        )
        section.timelines.append(
            _timeline(scale, valid, changes, by, key, scale.id in changed, course)
        )
    if effect_items(plan):
        section.profiles = [_profile(results, row) for row in valid]
    shown = {s.id for s in charted}
    shown |= derived_from(plan, shown)
    section.scores = [
        {"label": step.score.label, "values": [_score_text(r.scores[step.score.id]) for r in valid]}
        for step in plan.steps
        if step.score.id not in shown
    ]
    if not plan.steps:  # nothing scored, such as reflection questions: every answer, in words
        section.answers = [
            (when(row.session, row.administered_at), _answers(instrument, row)) for row in valid
        ]
        return section
    section.own_words = [
        (when(row.session, row.administered_at), item.text, text)
        for row in valid
        for item in instrument.items
        if item.type == "text"
        and isinstance(text := row.answers.get(item.id), str)
        and text.strip()
    ]
    if charted:
        section.matrix = [
            (
                item.text,
                [
                    answer_text(instrument, item, r.answers.get(item.id)) or "not asked"
                    for r in valid
                ],
            )
            for item in instrument.items
        ]
    return section


def _answers(instrument, row: ScoredRow) -> list[tuple[str, str]]:
    """Each question asked and its answer as the respondent gave it (follow-ups not asked are
    left out)."""
    return [
        (item.text, answer)
        for item in instrument.items
        if (answer := answer_text(instrument, item, row.answers.get(item.id))) is not None
    ]


def _flags(results: Results, rows: list[ScoredRow]) -> list[FlagEvent]:
    """Each flag raised or not checked, per administration. An invalid row's flags count when
    they were evaluated (an unrelated bad cell must not hide a risk); when they were not, they
    could not be checked."""
    events = []
    title = results.instrument.title
    for row in _order(rows)[0]:
        moment = when(row.session, row.administered_at)
        for step in results.plan.flags:
            flag = step.flag
            raised = row.flags.get(flag.id)
            if raised:
                events.append(FlagEvent(flag.level, flag.label, flag.action, title, moment, True))
            elif raised is None:
                why, ask = _unchecked(results.plan, row, step)
                action = f"{ask} If it applies: {flag.action}" if flag.action else ask
                events.append(FlagEvent(flag.level, flag.label, action, title, moment, None, why))
    return events


def _unchecked(plan: Plan, row: ScoredRow, step: FlagStep) -> tuple[str, str]:
    """Why a flag could not be checked on this row, and what to ask the client."""
    items = plan.instrument.item_map
    needed = _items_behind(plan, step.refs)
    unreadable = {p.column: p for p in row.problems if p.column in needed}
    blank = [i for i in needed if i not in unreadable and row.answers.get(i) is None]
    reasons = [f"the answer to {i} ({p.value!r}) could not be read" for i, p in unreadable.items()]
    reasons += [f"{i} was not answered" for i in blank]
    if not reasons:  # nothing it needs is missing: another cell stopped the row being checked
        reasons = [NOT_READ if not row.flags else "an answer it needs is missing"]
    asked = [i for i in needed if i in unreadable or i in blank] or needed
    texts = "; ".join(f"“{items[i].text}”" for i in asked)
    return "; ".join(reasons), f"Ask the client about {texts} today."


def _items_behind(plan: Plan, refs: tuple[str, ...]) -> list[str]:
    """The items that a flag's answers and scores come from, in the definition's order."""
    inputs = {step.score.id: step.inputs for step in plan.steps}
    found: set[str] = set()
    pending = list(refs)
    while pending:
        ref = pending.pop()
        if ref in inputs:
            pending += inputs[ref]
        else:
            found.add(ref)
    return [item.id for item in plan.items if item.id in found]


def _reviewed(results: Results, rows: list[ScoredRow]) -> list[Reviewed]:
    """The clinic's acknowledgements of this respondent's alerts, oldest administration first."""
    ordered, _ = _order(rows)
    at = {row.row: index for index, row in enumerate(ordered)}
    mine = sorted((a for a in results.acknowledgements if a.row in at), key=lambda a: at[a.row])
    return [
        Reviewed(
            results.instrument.title,
            when(ordered[at[a.row]].session, ordered[at[a.row]].administered_at),
            a.alert,
            a.by,
            day(a.at),
            a.note or "",
            a.closed or "",
        )
        for a in mine
    ]


def build(
    batch: list[Results],
    rows: list[list[ScoredRow]],
    respondent: str,
    expected: Sequence[ExpectedCourse] = (),
) -> ClientReport:
    """The report's content; ``rows`` are each results' rows, already read; ``expected``, the
    expected courses to draw behind the scores they are of."""
    from nefkit import __version__

    sections = [
        _section(results, kept, respondent, i, expected)
        for i, (results, kept) in enumerate(zip(batch, rows))
    ]
    flags = [event for results, kept in zip(batch, rows) for event in _flags(results, kept)]
    flags.sort(key=lambda f: LEVELS.index(f.level))
    return ClientReport(
        respondent,
        sections,
        flags,
        [r for results, kept in zip(batch, rows) for r in _reviewed(results, kept)],
        max(r.provenance.generated_at for r in batch),
        __version__,
    )
