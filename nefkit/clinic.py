"""What a clinic does with an administration once it is stored: score it, compare it with the
client's earlier ones, raise alerts, and say all that to the clinician in plain lines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .plan import Plan, Scored
from .responses import AnswerParser
from .store import Administration, Store

DETERIORATED = "reliably deteriorated"
DETERIORATION_ACTION = (
    "Review progress with the client: ask what has changed, whether the treatment may be"
    " contributing, and whether to adjust it; record what you agree."
)


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
    label: str
    since: str  # "previous" or "baseline"
    other: Administration
    before: float
    after: float
    classification: str


def changes_since(
    plan: Plan, store: Store, administration: Administration, scored: Scored
) -> list[ChangeLine]:
    """Change from the client's previous and first finished administrations of the instrument."""
    finished = [
        a
        for a in store.administrations(administration.client, administration.instrument)
        if a.finished_at
    ]
    finished.sort(key=_order)
    earlier = [a for a in finished if _order(a) < _order(administration)]
    if not earlier:
        return []
    lines = []
    comparisons = [("previous", earlier[-1])] + (
        [("baseline", earlier[0])] if len(earlier) > 1 else []
    )
    for since, other in comparisons:
        previous = score_administration(plan, other)
        for step in plan.changes:
            before = previous.scores[step.change.score].value
            after = scored.scores[step.change.score].value
            if before is None or after is None:
                continue
            classification = plan.classify(step, before, after)
            lines.append(ChangeLine(step.change.label, since, other, before, after, classification))
    return lines


def raise_alerts(
    plan: Plan, store: Store, administration: Administration, scored: Scored, changes
) -> list[str]:
    """Store an alert for every flag raised and every reliable deterioration; return their lines."""
    lines = []
    for step in plan.flags:
        if scored.flags.get(step.flag.id):
            store.raise_alert(administration.id, step.flag.level, step.flag.label, step.flag.action)
            lines.append(
                f"{step.flag.level.upper()}: {step.flag.label}. {step.flag.action}".strip()
            )
    for change in changes:
        if change.classification == DETERIORATED:
            label = (
                f"{plan.instrument.title}: reliably deteriorated since the {change.since}"
                f" administration ({_when(change.other)}): {change.before:g} to {change.after:g}"
            )
            store.raise_alert(administration.id, "deterioration", label, DETERIORATION_ACTION)
            lines.append(f"DETERIORATION: {label}. {DETERIORATION_ACTION}")
    return lines


def _order(administration: Administration) -> tuple:
    """Sessions first (as numbered), then when the client answered, then entry order."""
    when = administration.administered_at
    if not isinstance(when, dt.datetime):
        when = dt.datetime.combine(when, dt.time(), tzinfo=dt.timezone.utc)
    session = administration.session if administration.session is not None else -1
    return (session, when, administration.id)


def _when(administration: Administration) -> str:
    session = f"session {administration.session}, " if administration.session is not None else ""
    return f"{session}{administration.administered_at:%Y-%m-%d}"


def summary_lines(plan: Plan, scored: Scored, changes: list[ChangeLine]) -> list[str]:
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
    for change in changes:
        lines.append(
            f"  Since the {change.since} administration ({_when(change.other)}): {change.before:g} to"
            f" {change.after:g}, {change.classification}"
        )
    unknown = [s.flag.label for s in plan.flags if scored.flags.get(s.flag.id) is None]
    for label in unknown:
        lines.append(f"  Could not check: {label} (an answer it needs is missing)")
    return lines


def complete(plan: Plan, store: Store, administration_id: int, by: str) -> list[str]:
    """Finish an administration and return the clinician's summary, alerts first."""
    store.finish(administration_id, by)
    administration = store.get(administration_id)
    scored = score_administration(plan, administration)
    changes = changes_since(plan, store, administration, scored)
    alerts = raise_alerts(plan, store, administration, scored, changes)
    head = f"{plan.instrument.title}: client {administration.client}" + (
        f", session {administration.session}" if administration.session is not None else ""
    )
    lines = [head]
    lines += [f"  ! {line}" for line in alerts] or ["  No alerts."]
    return lines + summary_lines(plan, scored, changes)


def next_session(store: Store, client: str) -> int:
    sessions = [a.session for a in store.administrations(client) if a.session is not None]
    return max(sessions, default=0) + 1
