"""Cohort figures gathered while rows stream past: per item, per score, per change, per group.

Counts are per administration. Standard deviations are sample SDs (n - 1), accumulated with
Welford's method (merged per distinct value, after Chan et al.) so that a million rows need no
more memory than ten.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Any, Optional

from .definitions.instrument import Item
from .definitions.plan import Plan, ScoreStep
from .results import ChangeRow, ScoredRow, answer_columns
from .rules import NOT_ASKED


@dataclass
class Moments:
    n: int = 0
    mean: float = 0.0
    _m2: float = 0.0

    def add(self, x: float, times: int = 1) -> None:
        """``x`` seen ``times`` times: Chan et al.'s update for merging a group (of equal
        values), which with ``times=1`` is Welford's."""
        n = self.n + times
        delta = x - self.mean
        self.mean += delta * times / n
        self._m2 += delta * delta * self.n * times / n
        self.n = n

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

    def add_rows(self, rows: Sequence[ScoredRow]) -> None:
        """Count a batch of rows, a column at a time: per item, a count of its distinct answers
        (at C speed), from which everything else follows, rather than a step per answer."""
        self.rows += len(rows)
        valid = [row for row in rows if not row.problems]
        self.invalid += len(rows) - len(valid)
        if not valid:
            return
        self.respondents.update(row.respondent_id for row in valid)
        columns = answer_columns(valid)
        for item_id, stats in self.items.items():
            counts = Counter(columns(item_id))
            stats.not_asked += counts.pop(NOT_ASKED, 0)
            stats.missing += counts.pop(None, 0)
            for value, n in counts.items():
                stats.answered += n
                for code in value if isinstance(value, tuple) else (value,):
                    stats.counts[code] += n
                if isinstance(value, (int, float)):
                    stats.moments.add(value, n)
        for effect in self.effects:
            experienced = columns(effect.item_id)
            causes = columns(effect.cause_id)
            impacts = columns(effect.impact_id) if effect.impact_id else repeat(None)
            for (was, cause, impact), n in Counter(zip(experienced, causes, impacts)).items():
                if was is None:
                    continue
                effect.answered += n
                if was == 1:
                    effect.experienced += n
                    if cause == effect.treatment:
                        effect.treatment_count += n
                    if isinstance(impact, (int, float)):
                        effect.impact.add(impact, n)
        for score_id, stats in self.scores.items():
            for value, n in Counter(row.scores[score_id].value for row in valid).items():
                if value is None:
                    stats.not_scorable += n
                    continue
                stats.scored += n
                if isinstance(value, bool) or isinstance(value, str):
                    stats.counts[value] += n
                else:
                    stats.moments.add(value, n)
        for (flag_id, raised), n in Counter(
            chain.from_iterable(r.flags.items() for r in valid)
        ).items():
            if raised:
                self.flags[flag_id] += n
            elif raised is None:
                self.unknown_flags[flag_id] += n

    def add_change(self, change: ChangeRow) -> None:
        """Count baseline-to-latest classes: the share of clients who ended worse off."""
        if change.comparison == "baseline to latest":
            self.changes[change.change_id][change.classification] += 1


class GroupedSummary:
    """A summary overall and per value of one context column, each respondent in the group of
    their first administration. Rows are counted in batches; the figures are complete whenever
    they are read."""

    BATCH = 4096

    def __init__(self, plan: Plan, column: Optional[str] = None):
        self.column = column
        self._overall = Summary(plan)
        self._groups: dict[Any, Summary] = {}
        self._group_of: dict[str, Any] = {}
        self._plan = plan
        self._waiting: list[ScoredRow] = []

    def add(self, row: ScoredRow) -> None:
        self._waiting.append(row)
        if len(self._waiting) >= self.BATCH:
            self._count()

    def add_change(self, change: ChangeRow) -> None:
        self._count()
        self._overall.add_change(change)
        group = self._group_of.get(change.respondent_id)
        if self.column is not None and group in self._groups:
            self._groups[group].add_change(change)

    @property
    def overall(self) -> Summary:
        self._count()
        return self._overall

    @property
    def groups(self) -> dict[Any, Summary]:
        self._count()
        return self._groups

    def _count(self) -> None:
        rows, self._waiting = self._waiting, []
        if not rows:
            return
        self._overall.add_rows(rows)
        if self.column is None:
            return
        by_group: dict[Any, list[ScoredRow]] = {}
        for row in rows:
            if row.valid:
                group = self._group_of.setdefault(row.respondent_id, row.context.get(self.column))
                by_group.setdefault(group, []).append(row)
        for group, members in by_group.items():
            if group not in self._groups:
                self._groups[group] = Summary(self._plan)
            self._groups[group].add_rows(members)

    def shown_groups(self, min_cell: int) -> tuple[dict[Any, Summary], int]:
        """Groups with at least ``min_cell`` respondents, and how many groups were hidden."""
        groups = self.groups
        shown = {g: s for g, s in groups.items() if len(s.respondents) >= min_cell}
        return shown, len(groups) - len(shown)
