"""The ``tscore`` scoring rule: the raw sum of a score's items, looked up in a T-score table.

A T-score table gives, for every raw total a scale can produce, a standardised score (mean 50 and
SD 10 in some normative sample). The table is data in the definition, so one rule serves any
scale and any set of norms::

    [[scores]]
    id = "t"
    label = "T-score"
    rule = "tscore"
    items = ["wb1", "wb2", "wb3", "wb4", "wb5"]
    [scores.params]
    max_missing = 1
    table = [{ raw = 0, t = 23 }, { raw = 1, t = 25 }, ...]

Missing answers: with up to ``max_missing`` blanks the raw sum is prorated (the mean of the
answered items times the number of items, rounded half up) before the look-up; with more, the
score is not scorable. Nothing is ever guessed beyond that.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from functools import cached_property
from typing import Union

from nefkit import NOT_ASKED, Output, RuleParams, ScoreValue, ScoringRule
from pydantic import Field, model_validator


class TableEntry(RuleParams):
    """One line of a T-score table."""

    raw: int = Field(description="A raw total (the sum of the items' answers).")
    t: Union[int, float] = Field(description="Its T-score.")


class TScoreParams(RuleParams):
    """The rule's parameters; RuleParams forbids unknown keys and never coerces values."""

    table: list[TableEntry] = Field(
        min_length=1, description="One { raw, t } entry for every possible raw total."
    )
    max_missing: int = Field(
        0, ge=0, description="Blank answers allowed; the raw sum is then prorated."
    )

    @model_validator(mode="after")
    def _one_t_per_raw(self):
        seen: set[int] = set()
        twice = sorted({e.raw for e in self.table if e.raw in seen or seen.add(e.raw)})
        if twice:
            raise ValueError(f"the table gives raw {_spans(twice)} more than once")
        return self

    @cached_property
    def lookup(self) -> dict[int, Union[int, float]]:
        """Raw total to T-score, built once per parsed definition."""
        return {entry.raw: entry.t for entry in self.table}


class TScoreRule(ScoringRule):
    name = "tscore"
    summary = "T-score looked up from the raw sum of the items in a table given in params."
    Params = TScoreParams

    # inputs() is inherited: the score's items, in the order they are listed.

    def check(self, score, params, instrument, outputs: Mapping[str, Output]) -> Iterable[str]:
        """Problems in plain words; nefkit reports each one with the file and the score."""
        if not score.items:
            yield "list the items whose raw sum is looked up, in items = [...]"
            return
        usable = True
        for ref in score.items:
            item = instrument.item_map.get(ref)
            if item is not None and item.when is not None:
                yield (
                    f"'{ref}' is a follow-up (asked only when {item.when}); a T-score table is"
                    " for the whole scale, so every item must always be asked"
                )
            out = outputs[ref]  # nefkit has already reported inputs that do not exist
            if out.kind != "number" or not out.integer or None in (out.minimum, out.maximum):
                yield f"'{ref}' needs whole-number answers with a lowest and a highest value"
                usable = False
        if params.max_missing >= len(score.items):
            yield (
                f"max_missing is {params.max_missing} but there are {len(score.items)} items;"
                " at least one answer must be needed"
            )
        if not usable:
            return
        low, high = _raw_range(score.items, outputs)
        absent = [raw for raw in range(low, high + 1) if raw not in params.lookup]
        if absent:
            yield (
                f"the table has no T-score for raw {_spans(absent)}; it must cover every raw"
                f" total from {low} to {high}"
            )
        outside = sorted(raw for raw in params.lookup if not low <= raw <= high)
        if outside:
            yield (
                f"the table gives raw {_spans(outside)}, but the raw total lies between {low}"
                f" and {high}: is it the table of another scale?"
            )

    def output(self, score, params, instrument, outputs) -> Output:
        """The T-scores' range, so that bands over this score are checked against it."""
        values = list(params.lookup.values())
        integer = all(isinstance(t, int) for t in values)
        return Output("number", min(values), max(values), integer=integer)

    def missing_policy(self, params) -> str:
        if params.max_missing == 0:
            return "every answer is needed; otherwise not scorable"
        return (
            f"up to {params.max_missing} blank answers: the raw sum is prorated (mean of the"
            " answered items times the number of items, rounded half up) before the look-up;"
            " more blanks: not scorable"
        )

    def compute(self, values, params, names) -> ScoreValue:
        total, missing = 0, []
        for value, name in zip(values, names):
            if value is None or value is NOT_ASKED:
                missing.append(name)
            else:
                total += value
        return _finish(total, missing, len(values), params)

    def compute_batch(self, columns, params, names) -> list[ScoreValue]:
        """The columnar form: one pass per column. It must agree with ``compute`` on any input
        (the tests check both through assert_scores and on every combination of answers)."""
        rows = len(columns[0]) if columns else 0
        totals = [0] * rows
        missing: list[list[str]] = [[] for _ in range(rows)]
        for column, name in zip(columns, names):
            for index, value in enumerate(column):
                if value is None or value is NOT_ASKED:
                    missing[index].append(name)
                else:
                    totals[index] += value
        return [_finish(t, m, len(columns), params) for t, m in zip(totals, missing)]


def _finish(total: int, missing: Sequence[str], items: int, params: TScoreParams) -> ScoreValue:
    answered = items - len(missing)
    if len(missing) > params.max_missing or answered == 0:
        limit = (
            "every answer is needed"
            if params.max_missing == 0
            else f"at most {params.max_missing} may be missing"
        )
        reason = f"{len(missing)} of {items} answers missing ({', '.join(missing)}); {limit}"
        return ScoreValue(None, "not scorable", answered, reason)
    if missing:
        raw = _half_up(Fraction(total * items, answered))
        status = "prorated"
        reason = f"raw sum prorated to {raw} from {answered} of {items} answers"
    else:
        raw, status, reason = total, "complete", ""
    t = params.lookup.get(raw)
    if t is None:  # impossible for a definition that passed check(); never guess a value
        return ScoreValue(None, "not scorable", answered, f"the table has no T-score for raw {raw}")
    return ScoreValue(t, status, answered, reason)


def _half_up(value: Fraction) -> int:
    """Round half away from zero, as scoring manuals do (round() rounds half to even)."""
    half = Fraction(1, 2)
    return math.floor(value + half) if value >= 0 else -math.floor(-value + half)


def _raw_range(items: Sequence[str], outputs: Mapping[str, Output]) -> tuple[int, int]:
    return (
        int(sum(outputs[i].minimum for i in items)),
        int(sum(outputs[i].maximum for i in items)),
    )


def _spans(numbers: Sequence[int]) -> str:
    """[3, 4, 5, 9] as "3-5, 9"."""
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)
