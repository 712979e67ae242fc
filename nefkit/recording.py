"""Completed paper forms into the store, with the same checks as ``nefkit score``; and
corrections, each a new record with who, when and why."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from .api import get_plan
from .clinic import complete, next_session
from .errors import NefkitError
from .plan import Plan
from .registry import Registry
from .responses import AnswerParser, CellError, parse_when
from .rules import NOT_ASKED
from .scoring import score_table
from .store import Store


def _pairs(answers: tuple[str, ...]) -> tuple[dict[str, str], list[str]]:
    pairs, problems = {}, []
    for text in answers:
        item, sep, value = text.partition("=")
        if not sep:
            problems.append(f"'{text}' is not ITEM=VALUE")
        else:
            pairs[item.strip()] = value.strip()
    return pairs, problems


def _parse(plan: Plan, pairs: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    parsed, problems = {}, []
    for item_id, text in pairs.items():
        item = plan.instrument.item_map.get(item_id)
        if item is None:
            problems.append(f"{item_id}: {plan.instrument.id} has no such question")
            continue
        try:
            parsed[item_id] = AnswerParser(plan.instrument, item).parse(text)
        except CellError as e:
            problems.append(f"{item_id} (value {text!r}): {e}")
    return parsed, problems


def record_one(
    registry: Registry,
    instrument_id: str,
    client: str,
    session: Optional[int],
    administered_at: Optional[str],
    context: dict[str, str],
    answers: tuple[str, ...],
    store: Store,
    by: str,
    language: Optional[str] = None,
) -> tuple[list[str], list[str]]:
    """Store one form given as ITEM=VALUE pairs; nothing is stored if it has any problem."""
    plan = get_plan(instrument_id, registry, language)
    pairs, problems = _pairs(answers)
    parsed, more = _parse(plan, pairs)
    problems += more
    problems += [f"{item}: {reason}" for item, reason in plan.score(parsed).problems]
    when = None
    try:
        when = parse_when(administered_at)
    except CellError as e:
        problems.append(f"--date (value {administered_at!r}): {e}")
    if problems:
        return [], problems
    session = next_session(store, client) if session is None else session
    return _store_form(plan, store, client, session, context, when, parsed, by), []


def _store_form(plan, store, client, session, context, when, answers, by) -> list[str]:
    instrument = plan.instrument
    administration = store.start(
        client,
        instrument.id,
        instrument.version,
        instrument.content_hash,
        session,
        context,
        by,
        mode="recorded",
        administered_at=when,
    )
    for item in plan.items:
        value = answers.get(item.id)
        if value is not None and value is not NOT_ASKED:
            store.answer(administration, item.id, value, by)
    return complete(plan, store, administration, by)


def record_file(
    registry: Registry,
    instrument_id: str,
    path: Path,
    store: Store,
    by: str,
    language: Optional[str] = None,
) -> tuple[list[str], list[str]]:
    """Store every valid form of a data file (one per row); report every problem of the rest."""
    plan = get_plan(instrument_id, registry, language)
    table = registry.read(path)
    results = score_table(plan, table)
    lines = []
    for row in results.rows:
        if not row.valid:
            continue
        client = row.respondent_id
        session = row.session if row.session is not None else next_session(store, client)
        context = {k: "" if v is None else str(v) for k, v in row.context.items()}
        answers = {item.id: row.answers[item.id] for item in plan.items}
        lines += _store_form(
            plan, store, client, session, context, row.administered_at, answers, by
        )
    problems = [str(p) for p in results.problems]
    return lines, problems


def correct_answers(
    registry: Registry,
    store: Store,
    administration: int,
    answers: tuple[str, ...],
    reason: str,
    by: str,
) -> list[str]:
    """Record corrected answers (an empty VALUE withdraws one); nothing changes on a problem."""
    stored = store.get(administration)
    if stored.voided_at:
        raise NefkitError(f"administration {administration} was voided")
    plan = get_plan(stored.instrument, registry)
    pairs, problems = _pairs(answers)
    parsed, more = _parse(plan, {k: v for k, v in pairs.items() if v != ""})
    problems += more
    withdrawn = {k for k, v in pairs.items() if v == ""}
    unknown = [k for k in withdrawn if k not in plan.instrument.item_map]
    problems += [f"{k}: {plan.instrument.id} has no such question" for k in unknown]
    merged = {**_current(plan, stored.answers), **parsed, **{k: None for k in withdrawn}}
    problems += [f"{item}: {reason}" for item, reason in plan.score(merged).problems]
    if problems:
        return problems
    for item_id in [*parsed, *withdrawn]:
        store.answer(administration, item_id, merged[item_id], by, reason=reason)
    return []


def _current(plan: Plan, answers: dict[str, Any]) -> dict[str, Any]:
    current = {}
    for item in plan.items:
        value = answers.get(item.id)
        current[item.id] = (
            None if value is None else AnswerParser(plan.instrument, item).parse(value)
        )
    return current
