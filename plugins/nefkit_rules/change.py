"""Reliable and clinically significant change between two administrations.

Reliable change is either a fixed threshold in score points (as NHS Talking Therapies uses: 6 on
the PHQ-9, 4 on the GAD-7) or the Jacobson & Truax (1991) index: the change divided by
S_diff = SD_baseline × √2 × √(1 − reliability), reliable when its size exceeds ``critical``
(1.96 for 95 %). With a clinical cut-off, a reliable improvement that also crosses from the
clinical to the functional side counts as "recovered". The cut-off is either given as a number or
computed as Jacobson & Truax's a, b or c from clinical and functional means and SDs.
"""

from __future__ import annotations

import math
from typing import Literal, Optional

from pydantic import Field, model_validator

from nefkit.rules import ChangeRule, RuleParams

RECOVERED = "recovered"
IMPROVED = "reliably improved"
NO_CHANGE = "no reliable change"
DETERIORATED = "reliably deteriorated"
CLASSES = (RECOVERED, IMPROVED, NO_CHANGE, DETERIORATED)


class ReliableChangeParams(RuleParams):
    better: Literal["lower", "higher"] = Field(description="Which direction is improvement.")
    threshold: Optional[float] = Field(None, gt=0, description="Fixed reliable change, in points.")
    reliability: Optional[float] = Field(None, gt=0, lt=1, description="For Jacobson & Truax.")
    sd: Optional[float] = Field(None, gt=0, description="Baseline SD, for Jacobson & Truax.")
    critical: float = Field(1.96, gt=0, description="|RCI| above this is reliable.")
    cutoff: Optional[float] = Field(None, description="Clinical cut-off: the first clinical value.")
    cutoff_type: Optional[Literal["a", "b", "c"]] = Field(
        None, description="Or a Jacobson & Truax cut-off computed from the norms below."
    )
    clinical_mean: Optional[float] = Field(None, description="Clinical norm, for cut-off a or c.")
    clinical_sd: Optional[float] = Field(None, gt=0, description="Its SD.")
    functional_mean: Optional[float] = Field(
        None, description="Functional norm, for cut-off b or c."
    )
    functional_sd: Optional[float] = Field(None, gt=0, description="Its SD.")

    @model_validator(mode="after")
    def _one_method(self):
        fixed = self.threshold is not None
        jt = self.reliability is not None or self.sd is not None
        if fixed == jt:
            raise ValueError("give either threshold, or reliability and sd (Jacobson & Truax)")
        if jt and (self.reliability is None or self.sd is None):
            raise ValueError("Jacobson & Truax needs both reliability and sd")
        if self.cutoff is not None and self.cutoff_type is not None:
            raise ValueError("give either cutoff or cutoff_type, not both")
        if self.cutoff_type is not None:
            need = {
                "a": ("clinical_mean", "clinical_sd"),
                "b": ("functional_mean", "functional_sd"),
                "c": ("clinical_mean", "clinical_sd", "functional_mean", "functional_sd"),
            }[self.cutoff_type]
            absent = [n for n in need if getattr(self, n) is None]
            if absent:
                raise ValueError(f"cut-off {self.cutoff_type} needs {', '.join(absent)}")
        return self

    @property
    def s_diff(self) -> Optional[float]:
        if self.threshold is not None:
            return None
        return self.sd * math.sqrt(2) * math.sqrt(1 - self.reliability)

    @property
    def clinical_cutoff(self) -> Optional[float]:
        """The boundary between the clinical and the functional range (Jacobson & Truax 1991):
        a = 2 SD beyond the clinical mean, b = 2 SD within the functional mean (with the
        functional SD), c = the SD-weighted point between the two means."""
        if self.cutoff_type is None:
            return self.cutoff
        toward_functional = -1 if self.better == "lower" else 1
        if self.cutoff_type == "a":
            return self.clinical_mean + toward_functional * 2 * self.clinical_sd
        if self.cutoff_type == "b":
            return self.functional_mean - toward_functional * 2 * self.functional_sd
        return (
            self.clinical_sd * self.functional_mean + self.functional_sd * self.clinical_mean
        ) / (self.clinical_sd + self.functional_sd)


class ReliableChangeRule(ChangeRule):
    name = "reliable_change"
    summary = (
        "recovered / reliably improved / no reliable change / reliably deteriorated, by a fixed"
        " threshold or the Jacobson-Truax index, with an optional clinical cut-off."
    )
    Params = ReliableChangeParams

    def check(self, change, params, output):
        if output.kind != "number":
            yield f"'{change.score}' is not a number, so its change cannot be measured"

    def classify(self, before: float, after: float, params: ReliableChangeParams) -> str:
        improvement = (before - after) if params.better == "lower" else (after - before)
        if params.threshold is not None:
            reliable = abs(improvement) >= params.threshold
        else:
            reliable = abs(improvement) / params.s_diff > params.critical
        if not reliable or improvement == 0:
            return NO_CHANGE
        if improvement < 0:
            return DETERIORATED
        cutoff = params.clinical_cutoff
        if (
            cutoff is not None
            and _clinical(before, cutoff, params)
            and not _clinical(after, cutoff, params)
        ):
            return RECOVERED
        return IMPROVED

    def to_sql(self, params: ReliableChangeParams, before: str, after: str, sql) -> str:
        improvement = (
            f"({before} - {after})" if params.better == "lower" else f"({after} - {before})"
        )
        if params.threshold is not None:
            reliable = f"ABS({improvement}) >= {sql.number(params.threshold)}"
        else:
            reliable = (
                f"{sql.double(f'ABS({improvement})')} / {sql.number(params.s_diff)}"
                f" > {sql.number(params.critical)}"
            )
        recovered = ""
        cutoff = params.clinical_cutoff
        if cutoff is not None:
            op = ">=" if params.better == "lower" else "<="
            limit = sql.number(cutoff)
            recovered = (
                f" WHEN {before} {op} {limit} AND NOT ({after} {op} {limit})"
                f" THEN {sql.text(RECOVERED)}"
            )
        return (
            f"(CASE WHEN NOT ({reliable}) OR {improvement} = 0 THEN {sql.text(NO_CHANGE)}"
            f" WHEN {improvement} < 0 THEN {sql.text(DETERIORATED)}{recovered}"
            f" ELSE {sql.text(IMPROVED)} END)"
        )


def _clinical(score: float, cutoff: float, params: ReliableChangeParams) -> bool:
    """Whether a score lies on the clinical side; a fixed cutoff is the first clinical value
    (PHQ-9 caseness is 10 or more)."""
    return score >= cutoff if params.better == "lower" else score <= cutoff
