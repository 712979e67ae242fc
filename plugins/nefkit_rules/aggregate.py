"""Rules that combine item answers: sum, mean, their prorated forms, and counts.

Missing data is a stated policy, never an accident: ``sum`` and ``mean`` need every applicable
answer; ``prorated_sum`` and ``prorated_mean`` accept up to ``max_missing`` blanks and say so in
the result's status. A follow-up that was not asked (NOT_ASKED: its condition is false) is not
applicable, so it is not missing; one whose gating answer is blank arrives as None (whether it
applied is unknown), so it is missing, and a sum over the follow-ups of an empty form is not
scorable rather than 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

from pydantic import Field, model_validator

from nefkit.rules import NOT_ASKED, Output, RuleParams, ScoreValue, ScoringRule
from nefkit.sql import SqlScore

from ._common import half_up, missing_reason, numeric_inputs, positions


class Reverse(RuleParams):
    """Reverse keying: an answer x on items scored ``low``..``high`` counts as low + high - x."""

    items: list[str] = Field(min_length=1)
    low: int
    high: int

    @model_validator(mode="after")
    def _ordered(self):
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class ItemsParams(RuleParams):
    reverse: Optional[Reverse] = Field(
        None, description="Reverse keying: { items = [...], low = 0, high = 3 }."
    )


class ProratedParams(ItemsParams):
    max_missing: int = Field(ge=0, description="How many answers may be blank.")
    round: bool = Field(False, description="Round the prorated value to a whole number.")


class _Tally:
    """Answers of one row after reverse keying: their total, count and who is missing."""

    __slots__ = ("total", "answered", "missing", "applicable")

    def __init__(self) -> None:
        self.total = 0
        self.answered = 0
        self.missing: list[str] = []
        self.applicable = 0


def _flips(params: ItemsParams, names: Sequence[str]) -> list[Optional[int]]:
    """Per input, low + high for a reversed item, else None."""
    reverse = params.reverse
    keyed = set(reverse.items) if reverse else set()
    return [reverse.low + reverse.high if name in keyed else None for name in names]


class _ItemsRule(ScoringRule):
    """Sum-like rules over item answers; subclasses say how a tally becomes a score."""

    Params = ItemsParams
    allowed_missing = 0  # overridden by the prorated rules through params

    def check(self, score, params, instrument, outputs: Mapping[str, Output]):
        yield from numeric_inputs(score.items, outputs)
        if not score.items:
            yield "list the items it combines in items = [...]"
        if params.reverse:
            for ref in params.reverse.items:
                if ref not in score.items:
                    yield f"reverse-keyed item '{ref}' is not among the score's items"
                    continue
                out = outputs.get(ref)
                if out and (out.minimum, out.maximum) != (params.reverse.low, params.reverse.high):
                    yield (
                        f"reverse keying uses {params.reverse.low}–{params.reverse.high} but"
                        f" '{ref}' is answered {out.minimum}–{out.maximum}"
                    )

    def _max_missing(self, params) -> int:
        return getattr(params, "max_missing", 0)

    def missing_policy(self, params) -> str:
        return "every applicable answer is needed; otherwise not scorable"

    def compute(self, values, params, names) -> ScoreValue:
        tally = _Tally()
        for value, name, flip in zip(values, names, _flips(params, names)):
            if value is NOT_ASKED:
                continue
            tally.applicable += 1
            if value is None:
                tally.missing.append(name)
            else:
                tally.total += value if flip is None else flip - value
                tally.answered += 1
        return self._finish(tally, params)

    def compute_batch(self, columns, params, names) -> list[ScoreValue]:
        """Rows with every question asked and answered are added up column by column at C
        speed, left to right as the per-row form adds; the others take the per-row form."""
        if not columns:
            return []
        incomplete: set[int] = set()
        keyed = []  # the answers as added: reverse keyed; 0 where the per-row form decides
        for column, flip in zip(columns, _flips(params, names)):
            gaps = {*positions(column, None), *positions(column, NOT_ASKED)}
            incomplete |= gaps
            if gaps or flip is not None:
                column = [
                    0 if v is None or v is NOT_ASKED else v if flip is None else flip - v
                    for v in column
                ]
            keyed.append(column)
        totals = list(map(sum, zip(*keyed)))
        full = _Tally()  # a row with nothing missing: only its total differs
        full.answered = full.applicable = len(columns)

        def complete(total) -> ScoreValue:
            full.total = total
            return self._finish(full, params)

        # One result per distinct total (scores are immutable), the kind of number kept apart.
        keys = list(zip(totals, map(type, totals)))
        made = {key: complete(key[0]) for key in set(keys)}
        results = list(map(made.__getitem__, keys))
        for i in incomplete:
            results[i] = self.compute([column[i] for column in columns], params, names)
        return results

    def _finish(self, tally: _Tally, params) -> ScoreValue:
        allowed = self._max_missing(params)
        if len(tally.missing) > allowed:
            reason = missing_reason(tally.missing, tally.applicable, allowed)
            return ScoreValue(None, "not scorable", tally.answered, reason)
        if tally.answered == 0 and self._needs_answers:
            return ScoreValue(None, "not scorable", 0, "no question of this score applied")
        value = self._value(tally, params)
        return ScoreValue(value, "prorated" if tally.missing else "complete", tally.answered)

    _needs_answers = True

    def _value(self, tally: _Tally, params):
        raise NotImplementedError

    def to_sql(self, params, inputs, sql):
        """Tally in SQL as ``compute`` does: not-asked inputs do not apply, blanks are missing,
        answers (reverse-keyed where asked) are added left to right."""
        flips = _flips(params, [i.id for i in inputs])
        terms = [
            f"COALESCE({i.value if flip is None else f'({flip} - {i.value})'}, 0)"
            for i, flip in zip(inputs, flips)
        ]
        asked = [f"NOT {i.not_asked}" for i in inputs if i.not_asked != "FALSE"]
        applicable = sql.let(
            sql.count(asked) + f" + {len(inputs) - len(asked)}" if asked else str(len(inputs)),
            "app",
        )
        missing, names = sql.missing([(i.missing, i.id) for i in inputs])
        total = sql.let(sql.sum(terms), "total")
        total_float = sql.any(
            [f"({i.value} IS NOT NULL AND {i.is_float})" for i in inputs if i.is_float != "FALSE"]
        )
        answered = f"({applicable} - {missing})"
        allowed = self._max_missing(params)
        reason = sql.missing_reason(names, missing, applicable, allowed, len(inputs) > 5)
        empty = f"{answered} = 0" if self._needs_answers else "FALSE"
        value, is_float = self._sql_value(
            params, sql, total, total_float, applicable, missing, answered
        )
        return SqlScore(
            value=f"(CASE WHEN {missing} > {allowed} OR {empty} THEN NULL ELSE {value} END)",
            status=f"(CASE WHEN {missing} > {allowed} OR {empty} THEN 'not scorable'"
            f" WHEN {missing} > 0 THEN 'prorated' ELSE 'complete' END)",
            reason=f"(CASE WHEN {missing} > {allowed} THEN {reason}"
            f" WHEN {empty} THEN 'no question of this score applied' ELSE '' END)",
            answered=answered,
            is_float=is_float,
        )

    def _sql_value(self, params, sql, total, total_float, applicable, missing, answered):
        """(value, is_float) expressions from the tally's columns."""
        return None, "FALSE"

    def _bounds(self, score, outputs) -> tuple[Optional[float], Optional[float], bool]:
        outs = [outputs[i] for i in score.items if i in outputs]
        if any(o.minimum is None or o.maximum is None for o in outs):
            return None, None, all(o.integer for o in outs)
        return (
            sum(o.minimum for o in outs),
            sum(o.maximum for o in outs),
            all(o.integer for o in outs),
        )


class SumRule(_ItemsRule):
    name = "sum"
    summary = "Sum of the items; every applicable answer is needed."
    _needs_answers = False

    def output(self, score, params, instrument, outputs) -> Output:
        low, high, integer = self._bounds(score, outputs)
        return Output("number", low, high, integer)

    def _value(self, tally, params):
        return tally.total

    def _sql_value(self, params, sql, total, total_float, applicable, missing, answered):
        return total, total_float


class MeanRule(_ItemsRule):
    name = "mean"
    summary = "Mean of the items; every applicable answer is needed."

    def output(self, score, params, instrument, outputs) -> Output:
        low, high, _ = self._bounds(score, outputs)
        n = len(score.items) or 1
        return Output(
            "number", None if low is None else low / n, None if high is None else high / n
        )

    def _value(self, tally, params):
        return tally.total / tally.answered

    def _sql_value(self, params, sql, total, total_float, applicable, missing, answered):
        return f"({sql.double(total)} / NULLIF({answered}, 0))", "TRUE"


class ProratedSumRule(SumRule):
    name = "prorated_sum"
    summary = (
        "Sum of the items; up to max_missing blanks are replaced by the mean of the answered items."
    )
    Params = ProratedParams
    _needs_answers = True

    def missing_policy(self, params) -> str:
        rounding = ", rounded half up" if params.round else ""
        return (
            f"up to {params.max_missing} blank answers: the sum is prorated (mean of the answered"
            f" items times the number of items{rounding}); more blanks: not scorable"
        )

    def output(self, score, params, instrument, outputs) -> Output:
        low, high, integer = self._bounds(score, outputs)
        return Output("number", low, high, integer and params.round)

    def _value(self, tally, params):
        if not tally.missing:
            return tally.total
        value = tally.total * tally.applicable / tally.answered
        return half_up(value) if params.round else value

    def _sql_value(self, params, sql, total, total_float, applicable, missing, answered):
        prorated = f"({sql.double(f'{total} * {applicable}')} / NULLIF({answered}, 0))"
        if params.round:
            prorated = sql.half_up(prorated)
        value = f"(CASE WHEN {missing} = 0 THEN {total} ELSE {prorated} END)"
        if params.round:
            return value, f"({missing} = 0 AND {total_float})"
        return value, f"({missing} > 0 OR {total_float})"


class ProratedMeanRule(MeanRule):
    name = "prorated_mean"
    summary = "Mean of the answered items when at most max_missing are blank."
    Params = ProratedParams

    def missing_policy(self, params) -> str:
        rounding = ", rounded half up" if params.round else ""
        return (
            f"up to {params.max_missing} blank answers: the mean of the answered items{rounding};"
            " more blanks: not scorable"
        )

    def _value(self, tally, params):
        value = tally.total / tally.answered
        return half_up(value) if params.round else value

    def _sql_value(self, params, sql, total, total_float, applicable, missing, answered):
        value = f"({sql.double(total)} / NULLIF({answered}, 0))"
        if params.round:
            return sql.half_up(value), "FALSE"
        return value, "TRUE"


class CountParams(RuleParams):
    values: list[int] = Field(min_length=1, description="Answers that count.")


class CountRule(ScoringRule):
    name = "count"
    summary = "How many items were answered with one of the given values; every answer is needed."
    Params = CountParams

    def check(self, score, params, instrument, outputs):
        yield from numeric_inputs(score.items, outputs)
        for ref in score.items:
            codes = (
                {v for v, _ in instrument.choices(instrument.item_map[ref])}
                if ref in instrument.item_map
                else set()
            )
            unknown = [v for v in params.values if codes and v not in codes]
            if unknown:
                yield f"counts {unknown} but '{ref}' has no such answer"

    def output(self, score, params, instrument, outputs) -> Output:
        return Output("number", 0, len(score.items), integer=True)

    def missing_policy(self, params) -> str:
        return "every applicable answer is needed; otherwise not scorable"

    def compute(self, values, params, names) -> ScoreValue:
        wanted = set(params.values)
        missing = [n for v, n in zip(values, names) if v is None]
        applicable = sum(v is not NOT_ASKED for v in values)
        answered = applicable - len(missing)
        if missing:
            return ScoreValue(
                None, "not scorable", answered, missing_reason(missing, applicable, 0)
            )
        return ScoreValue(sum(v in wanted for v in values), "complete", answered)

    def compute_batch(self, columns, params, names) -> list[ScoreValue]:
        wanted = set(params.values)
        rows = len(columns[0]) if columns else 0
        counts, applicable = [0] * rows, [0] * rows
        missing: list[list[str]] = [[] for _ in range(rows)]
        for column, name in zip(columns, names):
            for i, value in enumerate(column):
                if value is None:
                    missing[i].append(name)
                    applicable[i] += 1
                elif value is not NOT_ASKED:
                    applicable[i] += 1
                    counts[i] += value in wanted
        return [
            ScoreValue(None, "not scorable", a - len(m), missing_reason(m, a, 0))
            if m
            else ScoreValue(c, "complete", a)
            for c, a, m in zip(counts, applicable, missing)
        ]

    def to_sql(self, params, inputs, sql):
        wanted = [sql.number(v) for v in params.values]
        asked = [f"NOT {i.not_asked}" for i in inputs if i.not_asked != "FALSE"]
        applicable = sql.let(
            sql.count(asked) + f" + {len(inputs) - len(asked)}" if asked else str(len(inputs)),
            "app",
        )
        missing, names = sql.missing([(i.missing, i.id) for i in inputs])
        counted = sql.count([f"COALESCE({sql.in_list(i.value, wanted)}, FALSE)" for i in inputs])
        reason = sql.missing_reason(names, missing, applicable, 0, len(inputs) > 5)
        return SqlScore(
            value=f"(CASE WHEN {missing} > 0 THEN NULL ELSE {counted} END)",
            status=f"(CASE WHEN {missing} > 0 THEN 'not scorable' ELSE 'complete' END)",
            reason=f"(CASE WHEN {missing} > 0 THEN {reason} ELSE '' END)",
            answered=f"({applicable} - {missing})",
        )
