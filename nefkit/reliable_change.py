"""Reliable change between two scores by the methods in use, each as its sources give it.

Every method turns a client's pre and post scores into an index compared with a critical value:
past it in the better direction is reliable improvement, in the worse direction reliable
deterioration. They differ in what they take into account: measurement error of one score or
of both, regression toward the mean, the group's own change. What each uses comes from
:class:`Norms`: the reference (or the sample's) pre mean and SD, the reliability, and for some
the post mean and SD, the post reliability and the pre-post correlation.

Sources (the primary papers were not all read; see docs/reliable-change.md): Jacobson & Truax
1991; Christensen & Mendoza 1986; Gulliksen, Lord & Novick, after Hsu 1989; Edwards & Nunnally,
after Speer 1992; Hsu, Linn & Lord, after Hsu 1989; McNemar's standard error of a difference of
two fallible scores (the "classical approach", Maassen 2004); Hageman & Arrindell 1999. The
formulas agree with the R package clinicalsignificance (Claus et al.), whose published counts
the tests reproduce.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal, Optional, get_args

Method = Literal[
    "jacobson-truax",
    "christensen-mendoza",
    "gulliksen-lord-novick",
    "edwards-nunnally",
    "hsu-linn-lord",
    "mcnemar",
    "hageman-arrindell",
]
METHODS: tuple[Method, ...] = get_args(Method)
# The group's post statistics each method needs, beyond the pre mean, SD and reliability.
NEEDS: dict[str, tuple[str, ...]] = {
    "jacobson-truax": (),
    "christensen-mendoza": (),
    "gulliksen-lord-novick": (),
    "edwards-nunnally": (),
    "hsu-linn-lord": ("post_mean",),
    "mcnemar": ("post_sd",),
    "hageman-arrindell": ("post_mean", "post_sd", "correlation"),
}
# Two-sided 5 % (1.96, as Jacobson & Truax write it) for all but Hageman & Arrindell, who test
# the improved difference one-sided (5 %: 1.645, as clinicalsignificance computes it).
CRITICAL = {method: 1.96 for method in METHODS} | {"hageman-arrindell": NormalDist().inv_cdf(0.95)}


@dataclass(frozen=True)
class Norms:
    """What the methods compare a client with: a reference group's (or the sample's) pre mean
    and SD and the measure's reliability; where a method uses them, the post mean and SD, the
    post reliability (by default from the pre one, assuming the same measurement error at both
    times, as clinicalsignificance does) and the pre-post correlation."""

    pre_mean: float
    pre_sd: float
    reliability: float
    post_mean: Optional[float] = None
    post_sd: Optional[float] = None
    post_reliability: Optional[float] = None
    correlation: Optional[float] = None

    @property
    def se(self) -> float:
        """The standard error of measurement of a pre score."""
        return self.pre_sd * math.sqrt(1 - self.reliability)

    @property
    def post_reliability_or_derived(self) -> float:
        if self.post_reliability is not None:
            return self.post_reliability
        return (self.post_sd**2 - self.se**2) / self.post_sd**2

    def missing(self, method: Method) -> list[str]:
        return [name for name in NEEDS[method] if getattr(self, name) is None]


def affine(method: Method, norms: Norms) -> tuple[float, float, float]:
    """(a, b, c) with the method's index = a * after + b * before + c: every method is linear in
    the two scores, so the same three numbers serve Python and the SQL engines. ValueError
    (saying why) when the figures leave the method undefined."""
    missing = norms.missing(method)
    if missing:
        raise ValueError(f"{method} needs {', '.join(missing)}")
    m1, s1, r = norms.pre_mean, norms.pre_sd, norms.reliability
    se = norms.se
    if method in ("jacobson-truax", "christensen-mendoza"):
        # Christensen & Mendoza's standard error of the difference, which Jacobson & Truax
        # adopted: the same index.
        s_diff = math.sqrt(2 * se**2)
        return 1 / s_diff, -1 / s_diff, 0.0
    if method in ("gulliksen-lord-novick", "hsu-linn-lord", "edwards-nunnally"):
        # The post score against the one expected from the pre score by regression to the mean:
        # (after - m2) - r (before - m1), in standard errors of prediction (GLN, HLL) or of
        # measurement (EN); Hsu-Linn-Lord's m2 is the group's post mean (its change removed),
        # the others' the pre mean.
        m2 = norms.post_mean if method == "hsu-linn-lord" else m1
        scale = se if method == "edwards-nunnally" else s1 * math.sqrt(1 - r**2)
        return 1 / scale, -r / scale, (r * m1 - m2) / scale
    r2 = norms.post_reliability_or_derived
    if method == "mcnemar":
        # The standard error of the difference of two fallible scores, each with its own error.
        s_ed = math.sqrt(s1**2 * (1 - r) + norms.post_sd**2 * (1 - r2))
        return 1 / s_ed, -1 / s_ed, 0.0
    # Hageman & Arrindell: Kelley's estimate of the true difference over its standard error.
    r_dd = difference_reliability(norms)
    scale = math.sqrt(r_dd * 2 * se**2)
    return r_dd / scale, -r_dd / scale, (norms.post_mean - m1) * (1 - r_dd) / scale


def difference_reliability(norms: Norms) -> float:
    """The reliability of a change (Hageman & Arrindell's r_DD), from both reliabilities, both
    SDs and the pre-post correlation; ValueError where it is undefined or not positive."""
    s1, s2, r12 = norms.pre_sd, norms.post_sd, norms.correlation
    r2 = norms.post_reliability_or_derived
    spread = s1**2 + s2**2 - 2 * s1 * s2 * r12  # the variance of the observed differences
    if spread <= 0:
        raise ValueError("every change is the same, so the reliability of a change is undefined")
    r_dd = (s1**2 * norms.reliability + s2**2 * r2 - 2 * s1 * s2 * r12) / spread
    if r_dd <= 0:
        raise ValueError(f"the changes are not reliable (their reliability is {r_dd:.2f})")
    return r_dd


def index(method: Method, before: float, after: float, norms: Norms) -> float:
    """The method's reliable-change index of a change from ``before`` to ``after`` (positive:
    the score went up)."""
    a, b, c = affine(method, norms)
    return a * after + b * before + c


def direction(
    method: Method,
    before: float,
    after: float,
    norms: Norms,
    better: Literal["lower", "higher"],
    critical: Optional[float] = None,
) -> Literal["improved", "unchanged", "deteriorated"]:
    """Reliable improvement, deterioration, or neither: the index strictly past the critical
    value (the method's own by default)."""
    z = index(method, before, after, norms)
    toward_better = -z if better == "lower" else z
    limit = CRITICAL[method] if critical is None else critical
    if toward_better > limit:
        return "improved"
    if toward_better < -limit:
        return "deteriorated"
    return "unchanged"


def sample_norms(
    before: list[float], after: list[float], reliability: float, post_reliability=None
) -> Norms:
    """Norms from a pre/post sample itself (sample SDs, n - 1)."""
    from statistics import correlation, fmean, stdev

    return Norms(
        pre_mean=fmean(before),
        pre_sd=stdev(before),
        reliability=reliability,
        post_mean=fmean(after),
        post_sd=stdev(after),
        post_reliability=post_reliability,
        correlation=correlation(before, after),
    )


def band_of(params) -> Optional[float]:
    """How far from no change a change of ``reliable_change``'s parameters becomes reliable,
    in points, where that is a fixed distance (a line parallel to no change on Jacobson &
    Truax's plot): a threshold, or the critical value times S_diff; None for the indices that
    are not a plain difference."""
    if getattr(params, "threshold", None) is not None:
        return params.threshold
    if getattr(params, "method", None) in ("jacobson-truax", "christensen-mendoza"):
        return params.limit * math.sqrt(2) * params.sd * math.sqrt(1 - params.reliability)
    return None


# Hageman & Arrindell's clinical significance, on estimated true scores. The reliabilities of
# the post scores and of the functional group come, like the post one above, from the pre
# score's measurement error (as clinicalsignificance computes them; see docs/reliable-change.md).


def _true_reliability(sd: float, norms: Norms) -> float:
    return (sd**2 - norms.se**2) / sd**2


def true_cutoff(norms: Norms, functional_mean: float, functional_sd: float) -> float:
    """Cut-off c between the clinical (the reference pre figures) and the functional group, with
    each SD replaced by its true-score SD (S·√r)."""
    clinical = norms.pre_sd * math.sqrt(norms.reliability)
    functional = functional_sd * math.sqrt(_true_reliability(functional_sd, norms))
    return (clinical * functional_mean + functional * norms.pre_mean) / (clinical + functional)


def functional_at_end(
    before: float,
    after: float,
    norms: Norms,
    functional_mean: float,
    functional_sd: float,
    better: Literal["lower", "higher"],
) -> bool:
    """Whether a client clinical at the start has an estimated true end score reliably on the
    functional side of the true cut-off (CS_indiv past the one-sided 5 % value)."""
    toward = -1 if better == "lower" else 1
    c = true_cutoff(norms, functional_mean, functional_sd)
    if not toward * before < toward * c:
        return False
    r2 = norms.post_reliability_or_derived
    true_after = norms.post_mean + (after - norms.post_mean) * r2
    cs = (true_after - c) / (math.sqrt(r2) * norms.se)
    return toward * cs > CRITICAL["hageman-arrindell"]


def group_figures(
    before: list[float],
    after: list[float],
    norms: Norms,
    functional_mean: float,
    functional_sd: float,
    better: Literal["lower", "higher"],
) -> tuple[float, float]:
    """Hageman & Arrindell's group level, as clinicalsignificance computes it: the share of the
    group whose true change is an improvement, and whose true end score is functional."""
    from statistics import fmean, stdev

    differences = [a - b for b, a in zip(before, after)]
    r_dd, r2 = difference_reliability(norms), norms.post_reliability_or_derived
    normal = NormalDist()
    changed = normal.cdf((0 - fmean(differences)) / (stdev(differences) * math.sqrt(r_dd)))
    c = true_cutoff(norms, functional_mean, functional_sd)
    functional = normal.cdf((c - norms.post_mean) / (norms.post_sd * math.sqrt(r2)))
    if better == "higher":
        changed, functional = 1 - changed, 1 - functional
    return changed, functional
