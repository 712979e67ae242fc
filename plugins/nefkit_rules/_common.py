"""Helpers shared by the standard rules: missing-answer wording and input checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nefkit.rules import Output

# The scores of one instrument read the same answer columns (NEQ-20's seven scores, its twenty
# yes/no answers), so where a value stands in one is found once per batch, as the SQL form
# shares such tallies with `let`. Keyed by the column's identity: each entry holds its column,
# so the id cannot be reused while it is remembered, and rules never change the columns they
# are given (docs/plugins.md). Bounded: a batch's columns replace the last batch's.
_FOUND: dict[tuple[int, Any], tuple[list, list[int]]] = {}
_REMEMBERED = 128


def positions(column: list, value: Any) -> list[int]:
    """Where ``value`` stands in a column, found at C speed; a shared list, not to be changed.
    For an uncommon value: None or NOT_ASKED, which a batch form leaves to the per-row form
    while it adds up the other rows column by column; an effect experienced, the only rows that
    add to an NEQ score."""
    key = (id(column), value)
    found = _FOUND.get(key)
    if found is not None and found[0] is column:
        return found[1]
    where, position = [], -1
    try:
        while True:
            position = column.index(value, position + 1)
            where.append(position)
    except ValueError:
        pass
    if len(_FOUND) >= _REMEMBERED:
        _FOUND.clear()
    _FOUND[key] = (column, where)
    return where


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
