"""Reliable and clinically significant change between two administrations.

Reliable change is either a fixed threshold in score points (as NHS Talking Therapies uses: 6 on
the PHQ-9, 4 on the GAD-7) or a reliable-change index by one of the methods in
:mod:`nefkit.reliable_change` (Jacobson & Truax by default: the change divided by
S_diff = SD_baseline × √2 × √(1 − reliability)), reliable when past ``critical`` (the method's
own: 1.96, or 1.645 for Hageman & Arrindell's one-sided test). With a clinical cut-off, a
reliable improvement that also crosses from the clinical to the functional side counts as
"recovered". The cut-off is either given as a number or computed as Jacobson & Truax's a, b or c
from clinical and functional means and SDs.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, model_validator

from nefkit.reliable_change import CRITICAL, Method, Norms, affine
from nefkit.rules import ChangeRule, RuleParams

RECOVERED = "recovered"
IMPROVED = "reliably improved"
NO_CHANGE = "no reliable change"
DETERIORATED = "reliably deteriorated"
CLASSES = (RECOVERED, IMPROVED, NO_CHANGE, DETERIORATED)


class ReliableChangeParams(RuleParams):
    better: Literal["lower", "higher"] = Field(description="Which direction is improvement.")
    threshold: Optional[float] = Field(None, gt=0, description="Fixed reliable change, in points.")
    method: Method = Field(
        "jacobson-truax", description="The reliable-change index (with reliability and sd)."
    )
    reliability: Optional[float] = Field(None, gt=0, lt=1, description="Of the baseline score.")
    sd: Optional[float] = Field(None, gt=0, description="Baseline SD of the reference group.")
    mean: Optional[float] = Field(None, description="Baseline mean of the reference group.")
    post_mean: Optional[float] = Field(None, description="Its mean at the end.")
    post_sd: Optional[float] = Field(None, gt=0, description="Its SD at the end.")
    post_reliability: Optional[float] = Field(
        None, gt=0, lt=1, description="At the end (default: the same measurement error)."
    )
    correlation: Optional[float] = Field(
        None, gt=-1, lt=1, description="Its baseline-to-end correlation."
    )
    critical: Optional[float] = Field(
        None, gt=0, description="An index past this is reliable (default: the method's)."
    )
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
            raise ValueError(f"{self.method} needs both reliability and sd")
        if jt:
            missing = self.norms.missing(self.method)
            if (
                self.method
                in (
                    "gulliksen-lord-novick",
                    "edwards-nunnally",
                    "hsu-linn-lord",
                    "hageman-arrindell",
                )
                and self.mean is None
            ):
                missing.insert(0, "mean")
            if missing:
                raise ValueError(f"{self.method} needs {', '.join(missing)}")
        elif "method" in self.model_fields_set:
            raise ValueError("a fixed threshold has no method; give reliability and sd for one")
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
    def norms(self) -> Norms:
        return Norms(
            pre_mean=0.0 if self.mean is None else self.mean,
            pre_sd=self.sd,
            reliability=self.reliability,
            post_mean=self.post_mean,
            post_sd=self.post_sd,
            post_reliability=self.post_reliability,
            correlation=self.correlation,
        )

    @property
    def limit(self) -> float:
        return CRITICAL[self.method] if self.critical is None else self.critical

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
        " threshold or a reliable-change index (Jacobson-Truax or another method), with an"
        " optional clinical cut-off."
    )
    Params = ReliableChangeParams

    def check(self, change, params, output):
        if output.kind != "number":
            yield f"'{change.score}' is not a number, so its change cannot be measured"

    def classify(self, before: float, after: float, params: ReliableChangeParams) -> str:
        toward = -1 if params.better == "lower" else 1
        if params.threshold is not None:
            improvement = toward * (after - before)
            reliable = abs(improvement) >= params.threshold
        else:
            a, b, c = affine(params.method, params.norms)
            improvement = toward * (a * after + b * before + c)  # the index, better-positive
            reliable = abs(improvement) > params.limit
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
        toward = -1 if params.better == "lower" else 1
        if params.threshold is not None:
            improvement = f"({before} - {after})" if toward < 0 else f"({after} - {before})"
            reliable = f"ABS({improvement}) >= {sql.number(params.threshold)}"
        else:
            a, b, c = affine(params.method, params.norms)
            # The index as Python computes it (the same three coefficients), better-positive.
            index = (
                f"({sql.number(toward * a)} * {sql.double(after)}"
                f" + {sql.number(toward * b)} * {sql.double(before)} + {sql.number(toward * c)})"
            )
            improvement = index
            reliable = f"ABS({index}) > {sql.number(params.limit)}"
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
