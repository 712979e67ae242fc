"""Completed paper forms into the store, with the same checks as ``nefkit score``; and
corrections, each a new record with who, when and why."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ..api import get_plan
from ..definitions.plan import Plan
from ..definitions.responses import AnswerParser, CellError, parse_when
from ..engines import Progress
from ..errors import NefkitError
from ..results import CellProblem
from ..scoring.rows import score_table
from .alerts import Clinic
from .people import RULE, name_problem


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
    clinic: Clinic,
    instrument_id: str,
    client: str,
    session: Optional[int],
    administered_at: Optional[str],
    context: dict[str, str],
    answers: tuple[str, ...],
    language: Optional[str] = None,
) -> tuple[list[str], list[str]]:
    """Store one form given as ITEM=VALUE pairs; nothing is stored if it has any problem."""
    plan = get_plan(instrument_id, clinic.registry, language)
    pairs, problems = _pairs(answers)
    parsed, more = _parse(plan, pairs)
    problems += more
    scored = plan.score(parsed)
    problems += [f"{item}: {reason}" for item, reason in scored.problems]
    when = None
    try:
        when = parse_when(administered_at)
    except CellError as e:
        problems.append(f"--date (value {administered_at!r}): {e}")
    if problems:
        return [], _risks(plan, f"the form for {client}", scored.flags) + problems
    administration = clinic.record(plan, client, session, context, when, parsed)
    return clinic.summary(plan, administration), []


def _risks(plan: Plan, what: str, flags: dict[str, Optional[bool]]) -> list[str]:
    """A risk in a form that cannot be stored is said at once, before its problems."""
    return [
        f"{what} was not stored, but its answers raise RISK: {s.flag.label}. {s.flag.action}"
        for s in plan.flags
        if s.flag.level == "risk" and flags.get(s.flag.id)
    ]


def record_file(
    clinic: Clinic,
    instrument_id: str,
    path: Path,
    language: Optional[str] = None,
    progress: Optional[Progress] = None,
) -> tuple[list[str], list[str]]:
    """Store every valid form of a data file (one per row), each whole or not at all; report
    every problem of the rest, a risk their answers raise first. A respondent_id that is not a
    valid client id (see :mod:`nefkit.clinic.people`) is a problem of its row, as a bad answer is.
    ``progress`` is told how many rows are done, row by row: storing a form takes far longer
    than scoring it."""
    plan = get_plan(instrument_id, clinic.registry, language)
    results = score_table(plan, clinic.registry.read(path))
    lines, risks, bad_ids = [], [], []
    for done, row in enumerate(results.rows):
        if progress:
            progress(done)
        problem = name_problem(row.respondent_id) if row.respondent_id is not None else None
        if problem is not None:
            # The id itself is left out: it may be 100,000 characters long.
            reason = f"the client id {problem}; a client id is {RULE}"
            bad_ids.append(CellProblem(row.row, "respondent_id", None, reason))
            risks += _risks(plan, f"row {row.row}", row.flags)
            continue
        if not row.valid:
            risks += _risks(plan, f"row {row.row} (client {row.respondent_id})", row.flags)
            continue
        context = {k: "" if v is None else str(v) for k, v in row.context.items()}
        answers = {item.id: row.answers[item.id] for item in plan.items}
        administration = clinic.record(
            plan, row.respondent_id, row.session, context, row.administered_at, answers
        )
        lines += clinic.summary(plan, administration)
    if progress:
        progress(results.row_count)
    problems = sorted([*results.problems, *bad_ids], key=lambda p: p.row)
    return lines, risks + [str(p) for p in problems]


def correct_answers(
    clinic: Clinic, administration: int, answers: tuple[str, ...], reason: str
) -> list[str]:
    """Record corrected answers (an empty VALUE withdraws one), with the alerts they change;
    nothing changes on a problem."""
    stored = clinic.store.get(administration)
    if stored.voided_at:
        raise NefkitError(f"administration {administration} was voided")
    plan = clinic.plan(stored.instrument)
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
    clinic.correct(stored, {item: merged[item] for item in [*parsed, *withdrawn]}, reason)
    return []


def _current(plan: Plan, answers: dict[str, Any]) -> dict[str, Any]:
    current = {}
    for item in plan.items:
        value = answers.get(item.id)
        current[item.id] = (
            None if value is None else AnswerParser(plan.instrument, item).parse(value)
        )
    return current
