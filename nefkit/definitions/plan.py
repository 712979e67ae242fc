"""A checked instrument compiled into a scoring plan: which follow-ups apply, which rule computes
each score from what, which flags to raise and how change is classified.

The plan runs one administration at a time (:meth:`Plan.score`, used when administering) or a
batch of columns (:meth:`Plan.score_batch`, used for data files); both must agree exactly.

Follow-ups are decided in item order with the three-valued conditions of
:mod:`nefkit.definitions.conditions`: a follow-up whose condition is False was not asked (NOT_ASKED, and an
answer given to it is a problem); one whose condition is unknown (its gating answer is blank)
keeps what was given, a blank staying None, so that scores over it follow their missing-data
policy and no answer is called one to a question that should not have been asked.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import compress, repeat
from typing import Any, Optional

from ..errors import DefinitionError, NefkitError, RuleFailed
from ..rules import NOT_ASKED, ChangeRule, Output, Rule, RuleParams, ScoreValue, ScoringRule, Value
from . import conditions
from .checks import check_instrument, item_output
from .instrument import Change, Flag, Instrument, Item, Score

_UNLESS_ASKED = {False: NOT_ASKED}  # .get(asked, answer): NOT_ASKED where a condition is False


@dataclass(frozen=True)
class ScoreStep:
    score: Score
    rule: ScoringRule
    params: RuleParams
    inputs: tuple[str, ...]
    output: Output


@dataclass(frozen=True)
class FlagStep:
    flag: Flag
    condition: conditions.Condition
    refs: tuple[str, ...]


@dataclass(frozen=True)
class ChangeStep:
    change: Change
    rule: ChangeRule
    params: RuleParams


@dataclass
class Scored:
    """One administration's results. A flag is True (raised), False (clear), or None when it
    could not be checked: its condition is unknown because an answer or score it needs is
    missing."""

    scores: dict[str, ScoreValue]
    flags: dict[str, Optional[bool]]
    problems: list[tuple[str, str]]  # (item id, reason) for answers given to questions not asked


class Plan:
    def __init__(
        self,
        instrument: Instrument,
        rules: Mapping[str, Rule],
        origins: Mapping[str, str] | None = None,
    ):
        errors = [
            p
            for p in check_instrument(instrument, rules, f"instrument {instrument.id}")
            if p.level == "error"
        ]
        if errors:
            raise DefinitionError(errors)
        self.instrument = instrument
        self.origins = dict(origins or {})  # rule name to the plugin it came from, for errors
        self.follow_ups = [
            (item, conditions.parse(item.when))
            for item in instrument.items
            if item.when is not None
        ]
        self._gates = {t.ref for _, c in self.follow_ups for t in conditions.tests(c)}
        outputs: dict[str, Output] = {i.id: item_output(instrument, i) for i in instrument.items}
        self.steps: list[ScoreStep] = []
        for score in instrument.scores:
            rule = rules[score.rule]
            params = rule.parse_params(score.params)
            output = rule.output(score, params, instrument, outputs)
            outputs[score.id] = output
            self.steps.append(
                ScoreStep(score, rule, params, tuple(rule.inputs(score, params)), output)
            )
        self.flags = []
        for flag in instrument.flags:
            condition = conditions.parse(flag.when)
            refs = tuple(dict.fromkeys(t.ref for t in conditions.tests(condition)))
            self.flags.append(FlagStep(flag, condition, refs))
        self.changes = [
            ChangeStep(c, rules[c.rule], rules[c.rule].parse_params(c.params))
            for c in instrument.changes
        ]
        self.rules_used = sorted(
            {s.score.rule for s in self.steps} | {c.change.rule for c in self.changes}
        )

    @property
    def items(self) -> list[Item]:
        return self.instrument.items

    def score(self, answers: Mapping[str, Value]) -> Scored:
        """Score one administration from parsed answers (item id to answer; absent means blank)."""
        values: dict[str, Any] = {item.id: answers.get(item.id) for item in self.items}
        problems = []
        for item, condition in self.follow_ups:
            if condition.evaluate(values) is False:
                if values[item.id] is not None:
                    problems.append((item.id, self._not_asked_reason(item, condition, values)))
                values[item.id] = NOT_ASKED
        scores: dict[str, ScoreValue] = {}
        for step in self.steps:
            inputs = [values[i] for i in step.inputs]
            try:
                result = step.rule.compute(inputs, step.params, step.inputs)
            except NefkitError:
                raise
            except Exception as error:
                raise self._failed(step, error, 0) from error
            scores[step.score.id] = result
            values[step.score.id] = result.value
        flags = {step.flag.id: step.condition.evaluate(values) for step in self.flags}
        return Scored(scores, flags, problems)

    def score_batch(
        self, columns: Mapping[str, list[Value]], rows: int
    ) -> tuple[
        dict[str, list[ScoreValue]], dict[str, list[Optional[bool]]], list[tuple[int, str, str]]
    ]:
        """Score ``rows`` administrations given one column of parsed answers per item.

        Returns the score columns, the flag columns and (row index, item id, reason) for answers
        given to questions that were not asked.
        """
        values: dict[str, list[Any]] = {
            item.id: list(columns.get(item.id) or [None] * rows) for item in self.items
        }
        problems = self.apply_conditions(values)
        scores, flags = self.score_columns(values)
        return scores, flags, problems

    def apply_conditions(self, values: dict[str, list[Any]]) -> list[tuple[int, str, str]]:
        """Mark follow-ups whose condition is False as NOT_ASKED, in place and in item order (a
        follow-up of a follow-up sees whether its gate was asked); return (row index, item id,
        reason) for each such follow-up that was answered anyway. Where the condition is
        unknown the answer, or blank, stays."""
        problems = []
        # Follow-ups of one question share its condition (an NEQ effect's impact and cause):
        # evaluated once, until a column some condition reads is marked.
        asked_by: dict[Any, list] = {}
        for item, condition in self.follow_ups:
            column = values[item.id]
            asked = asked_by.get(condition)
            if asked is None:
                asked = asked_by[condition] = condition.evaluate_batch(values)
            if False not in asked:
                continue
            # In most data most follow-ups are not asked and blank: checked and marked at C speed.
            given = list(compress(column, map(operator.is_, asked, repeat(False))))
            if given.count(None) < len(given):
                for index, (value, state) in enumerate(zip(column, asked)):
                    if state is False and value is not None:
                        row = {ref: values[ref][index] for ref in values}
                        reason = self._not_asked_reason(item, condition, row)
                        problems.append((index, item.id, reason))
            column[:] = map(_UNLESS_ASKED.get, asked, column)
            if item.id in self._gates:
                asked_by.clear()
        return problems

    def score_columns(
        self, values: dict[str, list[Any]]
    ) -> tuple[dict[str, list[ScoreValue]], dict[str, list[Optional[bool]]]]:
        """Scores and flags from answer columns that conditions were applied to. The score
        columns are added to ``values``, for later scores and flags to read."""
        scores: dict[str, list[ScoreValue]] = {}
        for step in self.steps:
            results = self.compute(step, [values[i] for i in step.inputs])
            scores[step.score.id] = results
            values[step.score.id] = [r.value for r in results]
        flags = {step.flag.id: step.condition.evaluate_batch(values) for step in self.flags}
        return scores, flags

    def compute(self, step: ScoreStep, columns: list[list[Any]]) -> list[ScoreValue]:
        """One score over a batch (a column per input); a rule that raises is a
        :class:`RuleFailed` naming the first administration it fails on."""
        try:
            return step.rule.compute_batch(columns, step.params, step.inputs)
        except NefkitError:
            raise
        except Exception as error:
            failed = self._failed(step, error, None)
            for index, row in enumerate(zip(*columns)):
                try:
                    step.rule.compute(list(row), step.params, step.inputs)
                except Exception:
                    failed.index = index
                    break
            raise failed from error

    def classify(self, step: ChangeStep, before: Any, after: Any) -> str:
        """The change rule's class for one pair of scores, or :class:`RuleFailed`."""
        try:
            return step.rule.classify(before, after, step.params)
        except NefkitError:
            raise
        except Exception as error:
            target = f"change '{step.change.id}' ({before} to {after})"
            failed = RuleFailed("change rule", step.change.rule, target, error, None)
            failed.origin = self.origins.get(step.change.rule)
            raise failed from error

    def _failed(self, step: ScoreStep, error: Exception, index: int | None) -> RuleFailed:
        target = f"score '{step.score.id}'"
        failed = RuleFailed("scoring rule", step.score.rule, target, error, index)
        failed.origin = self.origins.get(step.score.rule)
        return failed

    def _not_asked_reason(self, item: Item, condition, values: Mapping[str, Any]) -> str:
        facts = []
        for ref in dict.fromkeys(t.ref for t in conditions.tests(condition)):
            value = values.get(ref)
            if value is None:
                facts.append(f"{ref} is blank")
            elif value is NOT_ASKED:
                facts.append(f"{ref} was not asked")
            else:
                label = dict(self.instrument.choices(self.instrument.item_map[ref])).get(value)
                facts.append(f"{ref} is {value}" + (f" ({label})" if label else ""))
        return f"answered, but this question is asked only when {condition}, and {', '.join(facts)}"
