"""Shared by the ``nefkit sql`` tests (no tests here): tables of answers as codes, and what the
Python engine makes of each row, to compare with what a database makes of the emitted SQL."""

from __future__ import annotations

import math
import random

from nefkit.definitions.plan import Plan
from nefkit.definitions.responses import AnswerParser, CellError

SQL_TYPES = {"choice": "INTEGER", "yes_no": "INTEGER", "number": "DOUBLE PRECISION", "text": "TEXT"}


def random_rows(plan: Plan, n: int, seed: int) -> list[dict]:
    """Answers as codes: mostly valid, some blank, a few codes that are not answers, and
    follow-ups answered whether or not they were asked."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        row = {}
        for item in plan.items:
            codes = [v for v, _ in plan.instrument.choices(item)]
            roll = rng.random()
            if roll < 0.08:
                row[item.id] = None
            elif item.type in ("choice", "yes_no"):
                row[item.id] = rng.choice(codes) if roll < 0.97 else max(codes) + 5
            elif item.type == "number":
                row[item.id] = rng.choice([0, 1.5, 3, 24, 30, 2])
            elif item.type == "multiple":
                row[item.id] = sorted(rng.sample(codes, rng.randint(0, len(codes))))
            else:
                row[item.id] = rng.choice(["fine", "a 'quote'", None])
        # NEQ-style follow-ups: usually consistent with their gate
        for item, condition in plan.follow_ups:
            if not condition.evaluate(row) and rng.random() < 0.9:
                row[item.id] = None
        rows.append(row)
    return rows


def expected(plan: Plan, row: dict) -> dict:
    """What the Python engine gives for one row, in the emitted query's columns: an invalid
    row's flags, checked on its other answers, and no scores."""
    invalid = False
    answers = {}
    for item in plan.items:
        value = row[item.id]
        if value is None:
            answers[item.id] = None
            continue
        try:
            answers[item.id] = AnswerParser(plan.instrument, item).parse(value)
        except CellError:
            invalid = True
            answers[item.id] = None
    scored = plan.score(answers)
    flags = {
        f"flag_{flag_id}": {True: "yes", False: "no", None: "unknown"}[raised]
        for flag_id, raised in scored.flags.items()
    }
    if invalid or scored.problems:
        return {"row_status": "invalid", **flags}
    out = {"row_status": "scored", **flags}
    notes = []
    for score_id, result in scored.scores.items():
        out[score_id] = result.value
        out[f"{score_id}_status"] = result.status
        if result.reason:
            notes.append(f"{score_id}: {result.reason}")
    out["notes"] = "; ".join(notes)
    return out


def same(want, got: str) -> bool:
    """A Python value against a database's CSV text."""
    if want is None:
        return got == ""
    if isinstance(want, bool):
        return got.lower() in (("t", "true") if want else ("f", "false"))
    if isinstance(want, (int, float)):
        return got != "" and math.isclose(float(got), want, rel_tol=0, abs_tol=1e-12)
    return got == want


def literal(value, item) -> str:
    if value is None:
        return "NULL"
    if item.type == "multiple":
        return (
            "ARRAY[" + ", ".join(map(str, value)) + "]::INTEGER[]"
            if value
            else "ARRAY[]::INTEGER[]"
        )
    if item.type == "text":
        return "'" + value.replace("'", "''") + "'"
    return repr(value)
