"""Cohort figures gathered while rows stream past: per item, per score, per change, per group.

Counts are per administration. Standard deviations are sample SDs (n - 1), accumulated with
Welford's method so that a million rows need no more memory than ten.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

from .definitions.instrument import Item
from .definitions.plan import Plan, ScoreStep
from .results import ChangeRow, ScoredRow
from .rules import NOT_ASKED


@dataclass
class Moments:
    n: int = 0
    mean: float = 0.0
    _m2: float = 0.0

    def add(self, x: float) -> None:
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self._m2 += delta * (x - self.mean)

    @property
    def sd(self) -> Optional[float]:
        return math.sqrt(self._m2 / (self.n - 1)) if self.n > 1 else None

    @property
    def average(self) -> Optional[float]:
        return self.mean if self.n else None


@dataclass
class ItemStats:
    item: Item
    answered: int = 0
    missing: int = 0  # asked but left blank
    not_asked: int = 0
    counts: Counter = field(default_factory=Counter)  # answer code: administrations
    moments: Moments = field(default_factory=Moments)

    @property
    def missing_percent(self) -> Optional[float]:
        asked = self.answered + self.missing
        return 100 * self.missing / asked if asked else None


@dataclass
class EffectStats:
    """A negative-effects item: experienced yes/no with impact and cause follow-ups."""

    item_id: str
    text: str
    impact_id: Optional[str]
    cause_id: Optional[str]
    treatment: int
    answered: int = 0
    experienced: int = 0
    treatment_count: int = 0
    impact: Moments = field(default_factory=Moments)

    @property
    def percent_experienced(self) -> Optional[float]:
        return 100 * self.experienced / self.answered if self.answered else None

    @property
    def percent_treatment(self) -> Optional[float]:
        """Share of all who answered the item who experienced it and blamed the treatment."""
        return 100 * self.treatment_count / self.answered if self.answered else None


@dataclass
class ScoreStats:
    step: ScoreStep
    scored: int = 0
    not_scorable: int = 0
    moments: Moments = field(default_factory=Moments)
    counts: Counter = field(default_factory=Counter)  # band labels, yes/no


def effect_items(plan: Plan) -> list[EffectStats]:
    """Items scored by a rule whose parameters name ``impact``/``cause`` follow-ups (such as the
    NEQ's ``neq_count`` and ``neq_impact``): the effect items a prevalence table lists."""
    found: dict[str, EffectStats] = {}
    for step in plan.steps:
        params = step.params
        cause, treatment = getattr(params, "cause", None), getattr(params, "treatment", None)
        if not isinstance(cause, str) or not isinstance(treatment, int):
            continue
        impact = getattr(params, "impact", None)
        for item_id in step.score.items:
            stats = found.setdefault(
                item_id,
                EffectStats(
                    item_id,
                    plan.instrument.item_map[item_id].text,
                    None,
                    cause.replace("{item}", item_id),
                    treatment,
                ),
            )
            if isinstance(impact, str):
                stats.impact_id = impact.replace("{item}", item_id)
    return [s for s in found.values() if s.cause_id in plan.instrument.item_map]


class Summary:
    def __init__(self, plan: Plan):
        self.plan = plan
        self.rows = 0
        self.invalid = 0
        self.respondents: set[str] = set()
        self.items = {item.id: ItemStats(item) for item in plan.items if item.type != "text"}
        self.effects = effect_items(plan)
        self.scores = {step.score.id: ScoreStats(step) for step in plan.steps}
        self.flags: Counter = Counter()  # raised
        self.unknown_flags: Counter = Counter()  # could not be checked: never counted as clear
        self.changes: dict[str, Counter] = {c.change.id: Counter() for c in plan.changes}

    def add(self, row: ScoredRow) -> None:
        self.rows += 1
        if not row.valid:
            self.invalid += 1
            return
        self.respondents.add(row.respondent_id)
        answers = row.answers
        for item_id, stats in self.items.items():
            value = answers.get(item_id)
            if value is NOT_ASKED:
                stats.not_asked += 1
            elif value is None:
                stats.missing += 1
            else:
                stats.answered += 1
                for code in value if isinstance(value, tuple) else (value,):
                    stats.counts[code] += 1
                if isinstance(value, (int, float)):
                    stats.moments.add(value)
        for effect in self.effects:
            experienced = answers.get(effect.item_id)
            if experienced is None:
                continue
            effect.answered += 1
            if experienced == 1:
                effect.experienced += 1
                if answers.get(effect.cause_id) == effect.treatment:
                    effect.treatment_count += 1
                impact = answers.get(effect.impact_id) if effect.impact_id else None
                if isinstance(impact, (int, float)):
                    effect.impact.add(impact)
        for score_id, stats in self.scores.items():
            result = row.scores[score_id]
            if result.value is None:
                stats.not_scorable += 1
                continue
            stats.scored += 1
            if isinstance(result.value, bool) or isinstance(result.value, str):
                stats.counts[result.value] += 1
            else:
                stats.moments.add(result.value)
        for flag_id, raised in row.flags.items():
            if raised:
                self.flags[flag_id] += 1
            elif raised is None:
                self.unknown_flags[flag_id] += 1

    def add_change(self, change: ChangeRow) -> None:
        """Count baseline-to-latest classes: the share of clients who ended worse off."""
        if change.comparison == "baseline to latest":
            self.changes[change.change_id][change.classification] += 1


class GroupedSummary:
    """A summary overall and per value of one context column, each respondent in the group of
    their first administration."""

    def __init__(self, plan: Plan, column: Optional[str] = None):
        self.column = column
        self.overall = Summary(plan)
        self.groups: dict[Any, Summary] = {}
        self._group_of: dict[str, Any] = {}
        self._plan = plan

    def add(self, row: ScoredRow) -> None:
        self.overall.add(row)
        if self.column is None or not row.valid:
            return
        group = self._group_of.setdefault(row.respondent_id, row.context.get(self.column))
        if group not in self.groups:
            self.groups[group] = Summary(self._plan)
        self.groups[group].add(row)

    def add_change(self, change: ChangeRow) -> None:
        self.overall.add_change(change)
        group = self._group_of.get(change.respondent_id)
        if self.column is not None and group in self.groups:
            self.groups[group].add_change(change)

    def shown_groups(self, min_cell: int) -> tuple[dict[Any, Summary], int]:
        """Groups with at least ``min_cell`` respondents, and how many groups were hidden."""
        shown = {g: s for g, s in self.groups.items() if len(s.respondents) >= min_cell}
        return shown, len(self.groups) - len(shown)
