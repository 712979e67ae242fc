"""What both reports read from a plan about a score: its bands, caseness threshold and change
rule, and whether it deserves a chart. Kept apart so the client and cohort reports agree."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional

from nefkit import Instrument, Item, Plan, ScoreStep
from nefkit.results import day  # ISO dates, the date alone at midnight: one rule for every output
from nefkit.rules import NOT_ASKED


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    label: str


@dataclass(frozen=True)
class Scale:
    """How to draw one numeric score: its range, bands and caseness threshold."""

    step: ScoreStep
    low: Optional[float]  # None when neither the rule nor the bands say: the data decide
    high: Optional[float]
    integer: bool
    bands: tuple[Band, ...]
    band_id: Optional[str]  # the score holding each administration's band label
    threshold: Optional[float]  # a case from this value up
    threshold_id: Optional[str]

    @property
    def id(self) -> str:
        return self.step.score.id

    @property
    def label(self) -> str:
        return self.step.score.label


def _derived(plan: Plan, score_id: str, rule: str) -> Optional[ScoreStep]:
    for step in plan.steps:
        if step.rule.name == rule and getattr(step.params, "score", None) == score_id:
            return step
    return None


def scales(plan: Plan) -> list[Scale]:
    """The numeric scores worth a chart: those with severity bands or a change rule (a PHQ-9
    total, say). Counts and impact sums without either are shown as numbers instead."""
    found = []
    for step in plan.steps:
        if step.output.kind != "number":
            continue
        banded = _derived(plan, step.score.id, "bands")
        changed = any(c.change.score == step.score.id for c in plan.changes)
        if banded is None and not changed:
            continue
        bands = ()
        if banded is not None:
            ordered = sorted(banded.params.bands, key=lambda b: b.min)
            bands = tuple(Band(b.min, b.max, b.label) for b in ordered)
        threshold = _derived(plan, step.score.id, "threshold")
        low, high = step.output.minimum, step.output.maximum
        found.append(
            Scale(
                step,
                low if low is not None else (bands[0].low if bands else None),
                high if high is not None else (bands[-1].high if bands else None),
                step.output.integer,
                bands,
                banded.score.id if banded else None,
                threshold.params.at_least if threshold else None,
                threshold.score.id if threshold else None,
            )
        )
    return found


def derived_from(plan: Plan, score_ids: set[str]) -> set[str]:
    """Scores computed from the given ones (bands, caseness): a chart of the source shows them."""
    return {
        step.score.id for step in plan.steps if getattr(step.params, "score", None) in score_ids
    }


def answer_text(instrument: Instrument, item: Item, value: Any) -> Optional[str]:
    """An answer as the respondent saw it: the choice label(s), the number or the text; None
    for a follow-up that was not asked."""
    if value is NOT_ASKED:
        return None
    if value is None:
        return "no answer"
    labels = dict(instrument.choices(item))
    if isinstance(value, tuple):
        return "; ".join(labels.get(code, str(code)) for code in value)
    if labels:
        return labels.get(value, str(value))
    return str(value)


def when(session: Optional[int], date: Optional[dt.date]) -> str:
    """An administration named as a clinician would: "Session 3 (2026-09-25)"."""
    if session is not None and date is not None:
        return f"Session {session} ({day(date)})"
    if session is not None:
        return f"Session {session}"
    return day(date) if date is not None else "undated administration"


def fixed(value: Optional[float], places: int = 2) -> str:
    """A mean or SD, always to the same places so a column of them lines up."""
    return "–" if value is None else f"{value:.{places}f}"


def number(value: Optional[float], places: int = 1) -> str:
    """A figure as a report shows it: whole numbers bare, others rounded; a dash for none."""
    if value is None:
        return "–"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.{places}f}"


def counted(n: int, noun: str) -> str:
    """A count with its noun: "1 respondent", "2 respondents" (every noun counted takes an s)."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
