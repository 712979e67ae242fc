"""Helpers shared by the standard rules: missing-answer wording and input checks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from nefkit.rules import Output


def positions(column: list, value: Any) -> Iterator[int]:
    """Where ``value`` stands in a column, found at C speed. For an uncommon value: None or
    NOT_ASKED, which a batch form leaves to the per-row form while it adds up the other rows
    column by column; an effect experienced, the only rows that add to an NEQ score."""
    position = -1
    while True:
        try:
            position = column.index(value, position + 1)
        except ValueError:
            return
        yield position


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def missing_reason(missing: Sequence[str], expected: int, allowed: int) -> str:
    """E.g. "2 of 9 answers missing (phq9_3, phq9_7); at most 1 may be missing"."""
    shown = ", ".join(missing[:5]) + (", …" if len(missing) > 5 else "")
    limit = "every answer is needed" if allowed == 0 else f"at most {allowed} may be missing"
    return f"{len(missing)} of {expected} answers missing ({shown}); {limit}"


def numeric_inputs(inputs: Iterable[str], outputs: Mapping[str, Output]) -> Iterable[str]:
    """Problems for inputs that are not numbers (free text, multiple choice, labels)."""
    for ref in inputs:
        output = outputs.get(ref)
        if output is not None and output.kind != "number":
            yield f"'{ref}' gives {output.kind} answers, which cannot be added up or averaged"


def half_up(value: float) -> int:
    """Round half away from zero, as scoring manuals do (Python's round() rounds half to even)."""
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)
