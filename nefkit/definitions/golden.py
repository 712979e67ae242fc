"""Golden cases: example answers with the scores they must give, carried by a definition and
checked by ``nefkit validate --check-examples`` and by :func:`nefkit.testing.assert_scores`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ..rules import ScoreValue
from .plan import Plan
from .responses import AnswerParser, CellError

NOT_SCORABLE = "not scorable"
_FLAG = {True: "raised", False: "not raised", None: "unknown"}


def _matches(actual: ScoreValue, expected: Any) -> bool:
    if expected == NOT_SCORABLE:
        return actual.value is None
    if isinstance(expected, bool) or isinstance(actual.value, bool):
        return actual.value is expected
    if isinstance(expected, (int, float)) and isinstance(actual.value, (int, float)):
        return math.isclose(actual.value, expected, rel_tol=1e-9, abs_tol=1e-9)
    return actual.value == expected


def answers_of(plan: Plan, answers: Mapping[str, Any], fill: Any = None) -> dict[str, Any]:
    """The example's answers as codes (labels allowed), ``fill`` for every unlisted question
    that is always asked and accepts it."""
    parsed: dict[str, Any] = {}
    for item in plan.items:
        parser = AnswerParser(plan.instrument, item)
        if item.id in answers:
            parsed[item.id] = parser.parse(answers[item.id])
        elif fill is not None and item.when is None and item.type != "text":
            parsed[item.id] = parser.parse(fill)
    return parsed


def check_case(plan: Plan, case: Mapping[str, Any]) -> list[str]:
    """Every way one case's scores and flags differ from what it expects, in plain words;
    both the per-row and the batch form are checked."""
    unknown = [k for k in case.get("answers", {}) if k not in plan.instrument.item_map]
    if unknown:
        return [f"answers name unknown item(s): {', '.join(unknown)}"]
    try:
        answers = answers_of(plan, case.get("answers", {}), case.get("fill"))
    except CellError as e:
        return [f"an answer is not valid: {e}"]
    single = plan.score(answers)
    columns = {item.id: [answers.get(item.id)] for item in plan.items}
    scores, flags, problems = plan.score_batch(columns, 1)
    found = []
    if single.problems:
        found += [f"{item}: {reason}" for item, reason in single.problems]
    for score_id, expected in case.get("expected", {}).items():
        if score_id not in single.scores:
            found.append(f"expects a score '{score_id}' that the instrument does not have")
            continue
        for form, actual in (("", single.scores[score_id]), (" (batch form)", scores[score_id][0])):
            if not _matches(actual, expected):
                shown = NOT_SCORABLE if actual.value is None else repr(actual.value)
                found.append(f"{score_id} is {shown}{form}, expected {expected!r}")
    for flag_id, expected in case.get("flags", {}).items():
        expected = None if expected == "unknown" else expected
        if flag_id not in single.flags:
            found.append(f"expects a flag '{flag_id}' that the instrument does not have")
        elif single.flags[flag_id] is not expected or flags[flag_id][0] is not expected:
            found.append(
                f"flag {flag_id} is {_FLAG[single.flags[flag_id]]}, expected {_FLAG[expected]}"
            )
    return found


def check_cases(plan: Plan, cases: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(case label, problem) for every case that does not give what it expects."""
    failures = []
    for number, case in enumerate(cases, 1):
        label = case.get("label") or f"example #{number}"
        failures += [(label, problem) for problem in check_case(plan, case)]
    return failures
