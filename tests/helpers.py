"""Shared by the scoring tests: score one administration by both code paths and demand that
they agree, so every hand-computed case also checks the batch form."""

from __future__ import annotations

import nefkit
from nefkit.definitions.plan import Plan, Scored

_registry = None


def registry():
    global _registry
    if _registry is None:
        _registry = nefkit.get_registry()
    return _registry


def plan(instrument_id: str) -> Plan:
    return nefkit.get_plan(instrument_id, registry())


def score_both(plan: Plan, answers: dict) -> Scored:
    """Score by the per-row form and the batch form; fail unless they agree exactly."""
    one = plan.score(answers)
    columns = {item.id: [answers.get(item.id)] for item in plan.items}
    scores, flags, problems = plan.score_batch(columns, 1)
    assert {k: v[0] for k, v in scores.items()} == one.scores
    assert {k: v[0] for k, v in flags.items()} == one.flags
    assert [(item, reason) for _, item, reason in problems] == one.problems
    return one


def values(scored: Scored) -> dict:
    return {score_id: result.value for score_id, result in scored.scores.items()}
