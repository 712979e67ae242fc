"""A clinic's record and what it calls for: each administration scored, compared with the
client's earlier ones, and the alerts that follow from them now.

Alerts are derived, never kept as a copy that can drift: :func:`derive_alerts` computes them from
the current record (answers with their corrections, voided administrations left out), and every
write that can change them runs in one transaction with :meth:`Clinic.sync`, which brings the
stored alerts to exactly that set. An acknowledgement stays with its alert while the alert's
condition holds; an alert whose condition no longer holds is closed with the reason.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Optional

from ..definitions.plan import FlagStep, Plan, Scored
from ..definitions.responses import AnswerParser
from ..errors import NefkitError
from ..registry import Registry
from ..rules import NOT_ASKED
from ..stores import Administration, Alert, AlertSpec, ExpectedCourseInUse, Store, now
from ..trajectories import ExpectedCourse, loads

DETERIORATED = "reliably deteriorated"
DETERIORATION_ACTION = (
    "Review progress with the client: ask what has changed, whether the treatment may be"
    " contributing, and whether to adjust it; record what you agree."
)
UNCHECKED_ACTION = (
    "Ask the client about it today, and record the answer with nefkit correct"
    " (or the reason it cannot be asked)."
)
NOT_ON_TRACK_ACTION = (
    "Review progress with the client before the change becomes reliable: ask how treatment is"
    " going, about side effects of the treatment and what else has changed, and whether to"
    " adjust it; record what you agree."
)
UNCOMPUTED_ACTION = (
    "Check the missing answers with the client and record them with nefkit correct, or judge"
    " the change from the answers given."
)
# Kinds in the order a clinician should see them: a risk, then a risk nobody could check, then
# reliable deterioration and change nobody could check, then the instruments' other flags.
ALERT_KINDS = {
    "risk": "RISK",
    "risk-unchecked": "RISK NOT CHECKED",
    "deterioration": "DETERIORATION",
    "change-unchecked": "CHANGE NOT CHECKED",
    "warning": "WARNING",
    "info": "INFO",
}


def score_administration(plan: Plan, administration: Administration) -> Scored:
    """Scores of a stored administration; its answers are codes as given."""
    answers = {}
    for item in plan.items:
        value = administration.answers.get(item.id)
        answers[item.id] = (
            None if value is None else AnswerParser(plan.instrument, item).parse(value)
        )
    return plan.score(answers)


@dataclass
class ChangeLine:
    change_id: str
    score: str
    label: str
    since: str  # "previous" or "baseline"
    other: Administration
    before: float
    after: Optional[float]  # None: not scorable now, so the change could not be computed
    classification: Optional[str]


def order(administration: Administration) -> tuple:
    """Sessions first (as numbered), then when the client answered, then entry order."""
    when = administration.administered_at
    if not isinstance(when, dt.datetime):
        when = dt.datetime.combine(when, dt.time(), tzinfo=dt.timezone.utc)
    session = administration.session if administration.session is not None else -1
    return (session, when, administration.id)


def when(administration: Administration) -> str:
    session = f"session {administration.session}, " if administration.session is not None else ""
    return f"{session}{administration.administered_at:%Y-%m-%d}"


def changes(
    plan: Plan, course: list[tuple[Administration, Scored]], index: int
) -> list[ChangeLine]:
    """Change of the ``index``-th finished administration of a client's ``course`` (in order)
    from the latest and the first earlier one whose score could be computed."""
    administration, scored = course[index]
    lines = []
    for step in plan.changes:
        score = step.change.score
        earlier = [(a, s) for a, s in course[:index] if s.scores[score].value is not None]
        if not earlier:
            continue
        after = scored.scores[score].value
        comparisons = [("previous", earlier[-1])] + (
            [("baseline", earlier[0])] if len(earlier) > 1 else []
        )
        for since, (other, previous) in comparisons:
            before = previous.scores[score].value
            classification = None if after is None else plan.classify(step, before, after)
            lines.append(
                ChangeLine(
                    step.change.id,
                    score,
                    step.change.label,
                    since,
                    other,
                    before,
                    after,
                    classification,
                )
            )
    return lines


def course(
    plan: Plan, administrations: Iterable[Administration]
) -> list[tuple[Administration, Scored]]:
    """A client's finished, not voided administrations of one instrument, in order, scored."""
    finished = sorted((a for a in administrations if a.finished_at and not a.voided_at), key=order)
    return [(a, score_administration(plan, a)) for a in finished]


def derive_alerts(
    plan: Plan,
    administrations: Iterable[Administration],
    courses: Sequence[ExpectedCourse] = (),
) -> list[AlertSpec]:
    """The alerts a client's current record of one instrument calls for.

    Finished administrations raise their flags, a risk flag that could not be checked, reliable
    deterioration, change that could not be computed, and a score off the expected ``courses``
    of the instrument (not on track). An unfinished one raises its risk flags already: a
    clinician must not learn of a risk later than the answer that raised it.
    """
    administrations = [a for a in administrations if not a.voided_at]
    specs = []
    for administration in administrations:
        if not administration.finished_at:
            scored = score_administration(plan, administration)
            specs += [
                _flag_alert(administration, step, True)
                for step in plan.flags
                if step.flag.level == "risk" and scored.flags[step.flag.id]
            ]
    finished = course(plan, administrations)
    for index, (administration, scored) in enumerate(finished):
        for step in plan.flags:
            state = scored.flags[step.flag.id]
            if state or (state is None and step.flag.level == "risk"):
                missing = _missing(plan, step, administration, scored)
                specs.append(_flag_alert(administration, step, state, missing))
        for line in changes(plan, finished, index):
            if line.classification == DETERIORATED:
                specs.append(
                    AlertSpec(
                        administration.id,
                        f"deterioration:{line.change_id}:{line.other.id}",
                        "deterioration",
                        f"{plan.instrument.title}: reliably deteriorated since the {line.since}"
                        f" administration ({when(line.other)}): {line.before:g} to {line.after:g}",
                        DETERIORATION_ACTION,
                    )
                )
            elif line.after is None and line.since == "previous":
                reason = scored.scores[line.score].reason
                specs.append(
                    AlertSpec(
                        administration.id,
                        f"change-unchecked:{line.change_id}",
                        "change-unchecked",
                        f"{plan.instrument.title}: change since the previous administration"
                        f" ({when(line.other)}, {line.before:g}) could not be computed; the"
                        f" score is not scorable ({reason})",
                        UNCOMPUTED_ACTION,
                    )
                )
    for expected in courses:
        specs += _not_on_track(plan, finished, expected)
    return specs


def _not_on_track(
    plan: Plan, finished: list[tuple[Administration, Scored]], expected: ExpectedCourse
) -> list[AlertSpec]:
    """An alert for each administration after the first whose score is past the band expected
    at its session for clients whose first score was like this client's. Sessions are counted
    as the fit counted them: the numbers given, else 1, 2, ... over the scored ones."""
    score = expected.score
    points = [
        (a, s.scores[score].value)
        for a, s in finished
        if score in s.scores and isinstance(s.scores[score].value, (int, float))
    ]
    if len(points) < 2:
        return []
    first = points[0][1]
    label = next((s.score.label for s in plan.steps if s.score.id == score), score)
    past = "above" if expected.better == "lower" else "below"
    specs = []
    for position, (administration, value) in enumerate(points[1:], 2):
        session = administration.session if administration.session is not None else position
        cell = expected.cell(first, session)
        if cell is None or expected.on_track(first, session, value):
            continue
        specs.append(
            AlertSpec(
                administration.id,
                f"not-on-track:{score}",
                "warning",
                f"{plan.instrument.title}: not on track at session {session}: {label} {value:g}"
                f" is {past} the range expected for clients who started at {first:g}"
                f" ({cell.low:g} to {cell.high:g}, median {cell.median:g}, from"
                f" {cell.n} clients of {PurePath(expected.data.file).name})",
                NOT_ON_TRACK_ACTION,
            )
        )
    return specs


def courses_in_use(store: Store) -> dict[str, list[ExpectedCourse]]:
    """The expected courses the clinic checks progress against, by instrument id."""
    courses: dict[str, list[ExpectedCourse]] = defaultdict(list)
    for stored in store.expected_courses():
        source = f"the expected course of {stored.instrument} {stored.score} (from {stored.source})"
        courses[stored.instrument].append(loads(stored.text, source))
    return courses


def alert_findings(store: Store, registry: Registry) -> list[str]:
    """Where the stored alerts are not those the record calls for (:func:`derive_alerts` on
    each client's administrations of each instrument), one line each; empty when they are."""
    from ..api import get_plan

    groups: dict[tuple[str, str], list[Administration]] = defaultdict(list)
    for administration in store.administrations(include_voided=True):
        groups[administration.client, administration.instrument].append(administration)
    wanted: dict[tuple[int, str], AlertSpec] = {}
    courses = courses_in_use(store)
    unknown: set[str] = set()
    unchecked: set[int] = set()
    for (_, instrument_id), administrations in groups.items():
        try:
            plan = get_plan(instrument_id, registry)
        except NefkitError:
            unknown.add(instrument_id)
            unchecked |= {a.id for a in administrations}
            continue
        specs = derive_alerts(plan, administrations, courses.get(instrument_id, ()))
        wanted |= {(s.administration, s.key): s for s in specs}
    findings = [
        f"the alerts of {instrument_id} could not be checked: nefkit does not know that"
        " instrument (install its plugin, or give its definition with --instruments)"
        for instrument_id in sorted(unknown)
    ]
    held = {
        (a.administration, a.key): a
        for a in store.alerts(open_only=False)
        if a.closed_at is None and a.administration not in unchecked
    }
    for key in sorted(wanted.keys() - held.keys()):
        spec = wanted[key]
        findings.append(
            f"administration {spec.administration} lacks the alert its record calls for"
            f" ({spec.kind}: {spec.label})"
        )
    for key in sorted(held.keys() - wanted.keys()):
        alert = held[key]
        findings.append(
            f"alert {alert.id} of administration {alert.administration} ({alert.kind}:"
            f" {alert.label}) is open, but its record no longer calls for it"
        )
    for key in sorted(held.keys() & wanted.keys()):
        alert, spec = held[key], wanted[key]
        if (alert.kind, alert.label, alert.action) != (spec.kind, spec.label, spec.action):
            findings.append(
                f"alert {alert.id} of administration {alert.administration} says"
                f" '{alert.kind}: {alert.label}' where its record calls for"
                f" '{spec.kind}: {spec.label}'"
            )
    return findings


def _flag_alert(administration, step, state, missing: str = "") -> AlertSpec:
    flag = step.flag
    if state:
        return AlertSpec(administration.id, f"flag:{flag.id}", flag.level, flag.label, flag.action)
    return AlertSpec(
        administration.id,
        f"unchecked:{flag.id}",
        "risk-unchecked",
        f"{flag.label}: could not be checked ({missing})",
        UNCHECKED_ACTION,
    )


def _missing(plan: Plan, step: FlagStep, administration: Administration, scored: Scored) -> str:
    """Which answers (or scores) a flag could not be checked without: an answer by its item id,
    which nefkit correct takes; a score by its label, with why it could not be scored."""
    labels = {s.score.id: s.score.label for s in plan.steps}
    blank = [
        ref
        for ref in step.refs
        if ref not in scored.scores and administration.answers.get(ref) is None
    ]
    unscored = [
        f"{labels[ref]} is not scorable: {scored.scores[ref].reason}"
        for ref in step.refs
        if ref in scored.scores and scored.scores[ref].value is None
    ]
    missing = ([f"no answer to {', '.join(blank)}"] if blank else []) + unscored
    return "; ".join(missing) or "an answer it needs is missing"


class Clinic:
    """The clinic's writes, each in one transaction with the alerts it changes."""

    def __init__(
        self, store: Store, registry: Registry, by: str, plans: dict[str, Plan] | None = None
    ):
        self.store = store
        self.registry = registry
        self.by = by
        # Plans by instrument id; a long-running server shares one cache between requests.
        self._plans: dict[str, Plan] = {} if plans is None else plans
        self._courses: Optional[dict[str, list[ExpectedCourse]]] = None  # read when first needed

    def plan(self, instrument_id: str) -> Plan:
        """The plan alerts are derived with: the instrument's own language, so that stored
        alerts do not depend on the language a form was asked in."""
        if instrument_id not in self._plans:
            from ..api import get_plan

            self._plans[instrument_id] = get_plan(instrument_id, self.registry)
        return self._plans[instrument_id]

    def sync(self, client: str, instrument_id: str, reason: str) -> None:
        """Bring the stored alerts of a client's instrument to those the record calls for."""
        administrations = list(
            self.store.administrations(client, instrument_id, include_voided=True)
        )
        wanted = derive_alerts(
            self.plan(instrument_id), administrations, self.courses(instrument_id)
        )
        self.store.sync_alerts([a.id for a in administrations], wanted, "nefkit", reason)

    def courses(self, instrument_id: str) -> list[ExpectedCourse]:
        """The expected courses of an instrument that progress is checked against."""
        if self._courses is None:
            self._courses = courses_in_use(self.store)
        return self._courses.get(instrument_id, [])

    def use_expected(self, expected: ExpectedCourse, text: str, source: str) -> int:
        """Check progress against ``expected`` (its file's ``text``, read from ``source``) from
        now on, in place of the course of its instrument and score in use; every client's
        alerts of that instrument follow in the same transaction. Returns how many clients."""
        stored = ExpectedCourseInUse(
            expected.instrument, expected.score, text, source, now(), self.by
        )
        reason = f"progress of {expected.score} is now checked against {source}"
        with self.store.transaction():
            self.store.use_expected_course(stored)
            return self._resync(expected.instrument, reason)

    def stop_expected(self, instrument_id: str, score: str) -> Optional[int]:
        """Stop checking ``score`` against an expected course: None when none was in use,
        else how many clients' alerts followed."""
        reason = f"progress of {score} is no longer checked against an expected course"
        with self.store.transaction():
            if not self.store.stop_expected_course(instrument_id, score, self.by):
                return None
            return self._resync(instrument_id, reason)

    def _resync(self, instrument_id: str, reason: str) -> int:
        self._courses = None
        clients = sorted(
            {
                a.client
                for a in self.store.administrations(instrument=instrument_id, include_voided=True)
            }
        )
        for client in clients:
            self.sync(client, instrument_id, reason)
        return len(clients)

    def record(
        self,
        plan: Plan,
        client: str,
        session: Optional[int],
        context: Mapping[str, str],
        administered_at: Optional[dt.date],
        answers: Mapping[str, Any],
    ) -> int:
        """A completed paper form, its answers, its finish and its alerts: all or nothing."""
        instrument = plan.instrument
        with self.store.transaction():
            if session is None:
                session = self.store.next_session(client)
            administration = self.start(plan, client, session, context, "recorded", administered_at)
            for item in plan.items:
                value = answers.get(item.id)
                if value is not None and value is not NOT_ASKED:
                    self.store.answer(administration, item.id, value, self.by)
            self.store.finish(administration, self.by)
            self.sync(client, instrument.id, f"administration {administration} was recorded")
        return administration

    def start(
        self,
        plan: Plan,
        client: str,
        session: int,
        context: Mapping[str, str],
        mode: str = "administered",
        administered_at: Optional[dt.date] = None,
    ) -> int:
        """A new unfinished administration of ``plan``'s instrument, as it is defined now."""
        instrument = plan.instrument
        return self.store.start(
            client,
            instrument.id,
            instrument.version,
            instrument.content_hash,
            session,
            context,
            self.by,
            mode=mode,
            administered_at=administered_at,
        )

    def answer(
        self, administration: Administration, item: str, value: Any, reason: Optional[str] = None
    ) -> None:
        """One answer given while administering, with the risk it raises."""
        with self.store.transaction():
            self.store.answer(administration.id, item, value, self.by, reason)
            self.sync(
                administration.client,
                administration.instrument,
                f"the answer to {item} was changed while administering",
            )

    def finish(self, administration: Administration) -> None:
        with self.store.transaction():
            self.store.finish(administration.id, self.by)
            self.sync(
                administration.client,
                administration.instrument,
                f"administration {administration.id} was finished",
            )

    def correct(
        self, administration: Administration, answers: Mapping[str, Any], reason: str
    ) -> None:
        with self.store.transaction():
            for item, value in answers.items():
                self.store.answer(administration.id, item, value, self.by, reason=reason)
            self.sync(
                administration.client,
                administration.instrument,
                f"corrected on {now():%Y-%m-%d} by {self.by}: {reason}",
            )

    def void(self, administration: Administration, reason: str) -> None:
        with self.store.transaction():
            self.store.void(administration.id, reason, self.by)
            self.sync(
                administration.client,
                administration.instrument,
                f"administration {administration.id} voided on {now():%Y-%m-%d} by {self.by}: {reason}",
            )

    def summary(self, plan: Plan, administration_id: int) -> list[str]:
        """What the clinician sees after a form: its alerts first, then scores and change."""
        administration = self.store.get(administration_id)
        administrations = list(
            self.store.administrations(administration.client, administration.instrument)
        )
        finished = course(plan, administrations)
        index = next(i for i, (a, _) in enumerate(finished) if a.id == administration_id)
        scored = finished[index][1]
        alerts = [
            a
            for a in self.store.alerts(open_only=False)
            if a.administration == administration_id and a.closed_at is None
        ]
        head = f"{plan.instrument.title}: client {administration.client}" + (
            f", session {administration.session}" if administration.session is not None else ""
        )
        lines = [head]
        lines += [f"  ! {alert_line(a)}" for a in sorted_alerts(alerts)] or ["  No alerts."]
        alerted = {
            a.key.partition(":")[2] for a in alerts if a.key.startswith(("flag:", "unchecked:"))
        }
        return lines + summary_lines(
            plan, administration, scored, changes(plan, finished, index), alerted
        )


def alert_line(alert: Alert) -> str:
    return (
        f"{ALERT_KINDS.get(alert.kind, alert.kind.upper())}: {alert.label}. {alert.action}".strip()
    )


def sorted_alerts(alerts: Iterable[Alert]) -> list[Alert]:
    """Risk first, then what could not be checked, deterioration, the rest; within each kind the
    administration that took place last first."""
    kinds = list(ALERT_KINDS)

    def key(alert: Alert):
        moment = alert.administered_at
        if not isinstance(moment, dt.datetime):
            moment = dt.datetime.combine(moment, dt.time(), tzinfo=dt.timezone.utc)
        rank = kinds.index(alert.kind) if alert.kind in kinds else len(kinds)
        return (rank, -moment.timestamp(), -alert.id)

    return sorted(alerts, key=key)


def summary_lines(
    plan: Plan,
    administration: Administration,
    scored: Scored,
    lines_of_change: list[ChangeLine],
    alerted: Iterable[str] = (),
) -> list[str]:
    """Scores, flags raised or not checked (but those ``alerted`` already), and change, one line
    each."""
    lines = []
    for step in plan.steps:
        result = scored.scores[step.score.id]
        value = result.value
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, float):
            value = f"{value:.2f}"
        shown = f"not scorable ({result.reason})" if result.value is None else str(value)
        extra = f" [{result.status}]" if result.status == "prorated" else ""
        lines.append(f"  {step.score.label}: {shown}{extra}")
    for step in plan.flags:
        state = scored.flags.get(step.flag.id)
        if step.flag.id in alerted:
            continue
        if state:
            lines.append(
                f"  Flag raised: {ALERT_KINDS.get(step.flag.level, step.flag.level.upper())}: {step.flag.label}"
            )
        elif state is None:
            missing = _missing(plan, step, administration, scored)
            lines.append(f"  Could not check: {step.flag.label} ({missing})")
    for change in lines_of_change:
        if change.after is None:
            lines.append(
                f"  Since the {change.since} administration ({when(change.other)}): {change.before:g}"
                f" to not scorable, change could not be computed"
            )
        else:
            lines.append(
                f"  Since the {change.since} administration ({when(change.other)}): {change.before:g} to"
                f" {change.after:g}, {change.classification}"
            )
    return lines
