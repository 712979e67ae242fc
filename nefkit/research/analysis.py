"""Psychometrics of a scored dataset: what ``nefkit analyze`` reports, as data for renderers.

Use::

    results = nefkit.score("phq-9", "baseline.csv")
    analysis = analyze(results)                      # iterates results.rows once
    analysis = analyze(results, where=lambda row: row.session == 1)   # first sessions only
    analysis = analyze(results, ci_level=0.90)       # confidence level of alpha's interval

:func:`analyze` reads ``results.rows`` once, keeping sums and cross-products rather than rows, and
returns an :class:`Analysis`: a frozen pydantic model (``analysis.model_dump(mode="json")`` gives
plain data). A number that cannot be computed is None, never NaN, and a ``*_note`` says why.

``Analysis``
    ``provenance`` (the scored results' own), ``instrument_title``; ``rows_read``,
    ``invalid_rows`` (counted, never analysed), ``rows_excluded`` (valid rows that ``where``
    left out), ``rows_analysed``, ``respondents`` (distinct ids among the rows analysed);
    ``items``, ``effects``, ``scores`` (below); ``notes`` (caveats about this dataset, such as
    repeated administrations); ``methods`` (how every figure was computed, one sentence each,
    with citations) and ``references`` (full citations), for a methods section.

``ItemAnalysis`` (every item except free text, in definition order)
    ``asked`` = ``answered`` + ``missing`` (asked but left blank); ``missing_percent`` of those
    asked; ``not_asked`` (a follow-up whose condition did not hold: never missing); ``mean``,
    ``sd`` (n − 1), ``minimum``, ``maximum`` of numeric answers; ``distribution``: one
    ``Category`` (code, label, count, percent of those who answered) per answer option, in scale
    order (for multiple choice, the share choosing each option; these add up to more than 100);
    ``floor_percent`` / ``ceiling_percent``: the share answering the scale's lowest / highest
    code (or a number item's ``min`` / ``max``); ``item_total``: one ``ItemTotal`` per reliability
    analysis the item is part of (equal to those in ``ScoreAnalysis.reliability``). A number item
    is tabulated value by value when it takes whole numbers with ``min`` and ``max`` at most 20
    apart; other number items have an empty ``distribution``.

``EffectAnalysis`` (NEQ-style items, from :func:`nefkit.summary.effect_items`: the table
published NEQ papers give per item)
    ``answered`` (n), ``experienced`` and ``percent_experienced`` (of those who answered);
    ``treatment`` (experienced and put down to the treatment), ``percent_treatment`` (of all who
    answered) and ``percent_treatment_of_experienced``; ``cause_missing`` (experienced, cause
    left blank: in the denominator of the last, never counted as the treatment); ``impact_n``,
    ``impact_mean``, ``impact_sd`` among those who experienced it and rated the impact.

``ScoreAnalysis`` (every score)
    ``n`` (scored), ``complete``, ``prorated``, ``not_scorable``; for numbers ``mean``, ``sd``,
    ``minimum``, ``maximum``; for labels and yes/no ``distribution`` (``ScoreCategory``);
    ``reliability`` for a score whose rule adds up or averages items
    (:data:`ITEM_COMBINING_RULES`) with at least 2 items, else None and ``reliability_note``
    says why.

``Reliability``
    ``items`` (in the score's order), ``reversed`` (re-keyed as the score's ``reverse`` params
    say, low + high − answer, before anything below); ``n_complete`` (listwise: administrations
    answering every item), ``n_incomplete``; ``alpha``, ``alpha_ci_low``, ``alpha_ci_high``
    (``ci_level``, Feldt), ``alpha_note``; ``omega``, ``loadings`` and ``omega_note`` (always
    set: the method when omega is given, the reason when it is not); ``item_total``
    (``ItemTotal``: ``corrected_r``, ``alpha_if_deleted``, on the same complete cases);
    ``correlations`` (``CorrelationMatrix``: Pearson ``r`` and the ``n`` behind each entry,
    pairwise complete, rows and columns in ``items`` order, 1.0 on the diagonal, for a heat map).

No figure is rounded: round for display only. Nothing here reads or writes files.

The arithmetic is in :mod:`nefkit.research.psychometrics`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Optional, Union

from pydantic import BaseModel, ConfigDict

from ..definitions.instrument import Instrument, Item
from ..definitions.plan import Plan, ScoreStep
from ..results import Provenance, Results, ScoredRow
from ..rules import NOT_ASKED
from ..summary import effect_items
from . import psychometrics as pm

# Rules whose score adds up or averages its items, so that the items form a scale whose internal
# consistency means something. Rule names are unique across plugins.
ITEM_COMBINING_RULES = frozenset({"sum", "mean", "prorated_sum", "prorated_mean"})

# Number items get a distribution when they take few whole values.
MAX_NUMBER_CATEGORIES = 21

REFERENCES = (
    "Cronbach LJ (1951). Coefficient alpha and the internal structure of tests. Psychometrika"
    " 16(3): 297-334. doi:10.1007/BF02310555",
    "Feldt LS (1965). The approximate sampling distribution of Kuder-Richardson reliability"
    " coefficient twenty. Psychometrika 30(3): 357-370.",
    "Feldt LS, Woodruff DJ, Salih FA (1987). Statistical inference for coefficient alpha."
    " Applied Psychological Measurement 11(1): 93-103.",
    "Harman HH, Jones WH (1966). Factor analysis by minimizing residuals (minres)."
    " Psychometrika 31(3): 351-368.",
    "McDonald RP (1999). Test Theory: A Unified Treatment. Mahwah, NJ: Lawrence Erlbaum.",
)

# How each figure is computed, for a methods section; {level} etc. are filled in by analyze().
METHODS = (
    "Cases: each valid row (one administration) is a case; invalid rows are counted and left"
    " out of every figure.",
    "Items: missing % is the share of blank answers among those asked (follow-up questions that"
    " were not asked are counted separately and are not missing); mean and SD (n − 1) are of the"
    " answer codes; the distribution gives each answer's share of those who answered; floor and"
    " ceiling are the shares answering the scale's lowest and highest code.",
    "Scores: n, mean, SD (n − 1), minimum and maximum of the scored administrations; not"
    " scorable administrations are counted (the score's missing-data rule decides).",
    "Reliability is analysed for scores that add up or average items (rules sum, mean,"
    " prorated_sum, prorated_mean). Reverse-keyed items are re-keyed (low + high − answer)"
    " first. Alpha, item-total statistics and omega use listwise deletion: only administrations"
    " that answered every item of the score (so a prorated score may have more cases).",
    "Cronbach's alpha (Cronbach 1951) from the item covariance matrix, with a {level}"
    " confidence interval by Feldt's F-distribution method (Feldt 1965; Feldt, Woodruff & Salih"
    " 1987): 1 − (1 − alpha)·F at the {upper} and {lower} quantiles of F(n − 1, (n − 1)(k − 1))."
    " The interval assumes independent cases.",
    "Corrected item-total correlation: the Pearson correlation of an item with the sum of the"
    " score's other items; alpha if item deleted: alpha of the other items.",
    "McDonald's omega total (McDonald 1999) = (Σλ)² / ((Σλ)² + Σψ), with loadings λ from one"
    " factor fitted by minres (unweighted least squares on the off-diagonal correlations; Harman"
    " & Jones 1966) to the complete-case correlation matrix and ψ = 1 − λ². Being fitted to"
    " correlations, it is the reliability of the sum of standardized items. It is not reported"
    " with fewer than 3 items, for an improper (Heywood) solution, or if the fit did not"
    " converge; it has no confidence interval.",
    "Inter-item correlations: Pearson, pairwise complete (each pair uses every administration"
    " that answered both, so entries may rest on different n), after reverse keying.",
    "Negative effects (NEQ): % experienced is of those who answered the item; % attributed to"
    " the treatment is given of all who answered and of those who experienced the effect (a"
    " blank cause counts in that denominator, never as the treatment); impact mean and SD are"
    " among those who experienced the effect and rated it.",
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Category(_Model):
    code: Union[int, float]
    label: str
    count: int
    percent: Optional[float]  # of those who answered the item


class ItemTotal(_Model):
    score_id: str
    item_id: str
    reversed: bool
    n: int  # complete cases of the score
    corrected_r: Optional[float]
    alpha_if_deleted: Optional[float]


class ItemAnalysis(_Model):
    item_id: str
    text: str
    type: str
    asked: int
    answered: int
    missing: int
    missing_percent: Optional[float]
    not_asked: int
    mean: Optional[float]
    sd: Optional[float]
    minimum: Optional[Union[int, float]]
    maximum: Optional[Union[int, float]]
    distribution: tuple[Category, ...]
    floor_percent: Optional[float]
    ceiling_percent: Optional[float]
    item_total: tuple[ItemTotal, ...]


class EffectAnalysis(_Model):
    item_id: str
    text: str
    impact_id: Optional[str]
    cause_id: Optional[str]
    answered: int
    experienced: int
    percent_experienced: Optional[float]
    treatment: int
    percent_treatment: Optional[float]
    percent_treatment_of_experienced: Optional[float]
    cause_missing: int
    impact_n: int
    impact_mean: Optional[float]
    impact_sd: Optional[float]


class CorrelationMatrix(_Model):
    items: tuple[str, ...]
    r: tuple[tuple[Optional[float], ...], ...]
    n: tuple[tuple[int, ...], ...]


class Reliability(_Model):
    items: tuple[str, ...]
    reversed: tuple[str, ...]
    n_complete: int
    n_incomplete: int
    alpha: Optional[float]
    alpha_ci_low: Optional[float]
    alpha_ci_high: Optional[float]
    ci_level: float
    alpha_note: str
    omega: Optional[float]
    loadings: Optional[tuple[float, ...]]
    omega_note: str
    item_total: tuple[ItemTotal, ...]
    correlations: CorrelationMatrix


class ScoreCategory(_Model):
    value: Union[bool, str]
    count: int
    percent: Optional[float]  # of the scored administrations


class ScoreAnalysis(_Model):
    score_id: str
    label: str
    rule: str
    kind: str
    n: int
    complete: int
    prorated: int
    not_scorable: int
    mean: Optional[float]
    sd: Optional[float]
    minimum: Optional[Union[int, float]]
    maximum: Optional[Union[int, float]]
    distribution: tuple[ScoreCategory, ...]
    reliability: Optional[Reliability]
    reliability_note: str


class MethodCounts(_Model):
    method: str  # a nefkit.reliable_change method, or "the definition's rule"
    improved: int
    unchanged: int
    deteriorated: int


class ChangeComparison(_Model):
    """A change rule's score from each respondent's first to last scored administration,
    classified by every reliable-change method with the sample's own figures."""

    change_id: str
    label: str
    score_id: str
    better: str
    pairs: int
    reliability: Optional[float]
    reliability_source: str
    pre_mean: Optional[float] = None
    pre_sd: Optional[float] = None
    post_mean: Optional[float] = None
    post_sd: Optional[float] = None
    correlation: Optional[float] = None
    methods: tuple[MethodCounts, ...] = ()
    note: str = ""
    # For the Jacobson-Truax plot: each pair with the definition's class ("better", "same",
    # "worse"), the half-width of its band of no reliable change in points (a fixed threshold,
    # or the critical value times S_diff; None for an index that is not a plain difference)
    # and its clinical cut-off.
    points: tuple[tuple[float, float, str], ...] = ()
    band: Optional[float] = None
    cutoff: Optional[float] = None


class Analysis(_Model):
    provenance: Provenance
    instrument_title: str
    rows_read: int
    invalid_rows: int
    rows_excluded: int
    rows_analysed: int
    respondents: int
    items: tuple[ItemAnalysis, ...]
    effects: tuple[EffectAnalysis, ...]
    scores: tuple[ScoreAnalysis, ...]
    changes: tuple[ChangeComparison, ...] = ()
    notes: tuple[str, ...]
    methods: tuple[str, ...]
    references: tuple[str, ...] = REFERENCES


def analyze(
    results: Results,
    where: Optional[Callable[[ScoredRow], bool]] = None,
    ci_level: float = 0.95,
) -> Analysis:
    """Item, effect, score and reliability statistics of ``results``, iterating its rows once.

    Invalid rows are counted and not analysed. ``where``, if given, chooses the valid rows to
    analyse (e.g. ``lambda row: row.session == 1``); the others are counted as excluded.
    """
    if not 0 < ci_level < 1:
        raise ValueError("ci_level must be between 0 and 1")
    gather = _Gatherer(results.plan)
    for row in results.rows:
        gather.add(row, where)
    return gather.finish(results.provenance, ci_level)


# --- accumulation -----------------------------------------------------------------------------


class _Moments:
    """n, sum and sum of squares (shifted by the first value: exact for integers), min and max."""

    __slots__ = ("n", "_shift", "_s", "_q", "minimum", "maximum")

    def __init__(self) -> None:
        self.n = 0
        self._shift = None
        self._s = 0
        self._q = 0
        self.minimum = None
        self.maximum = None

    def add(self, x) -> None:
        if self._shift is None:
            self._shift = x
            self.minimum = self.maximum = x
        elif x < self.minimum:
            self.minimum = x
        elif x > self.maximum:
            self.maximum = x
        self.n += 1
        d = x - self._shift
        self._s += d
        self._q += d * d

    @property
    def mean(self) -> Optional[float]:
        if not self.n:
            return None
        if isinstance(self._s, int) and isinstance(self._shift, int):
            return (self._shift * self.n + self._s) / self.n  # one rounding
        return self._shift + self._s / self.n

    @property
    def sd(self) -> Optional[float]:
        if self.n < 2:
            return None
        comoment = self.n * self._q - self._s * self._s
        return math.sqrt(max(comoment, 0) / (self.n * (self.n - 1)))


class _ItemGather:
    def __init__(self, instrument: Instrument, item: Item):
        self.item = item
        self.answered = self.missing = self.not_asked = 0
        self.counts: Counter = Counter()
        self.moments = _Moments()
        self.codes = [(code, label) for code, label in instrument.choices(item)]
        if (
            item.type == "number"
            and item.integer
            and item.min is not None
            and item.max is not None
            and item.max - item.min < MAX_NUMBER_CATEGORIES
        ):
            self.codes = [(v, str(v)) for v in range(int(item.min), int(item.max) + 1)]
        # Only values that are reported are counted: a continuous number item has no end of
        # distinct values, and memory must not grow with the rows.
        self.tracked = {code for code, _ in self.codes} | {
            bound for bound in (item.min, item.max) if bound is not None
        }

    def add(self, value) -> None:
        if value is NOT_ASKED:
            self.not_asked += 1
        elif value is None:
            self.missing += 1
        else:
            self.answered += 1
            if isinstance(value, tuple):
                for code in set(value):
                    self.counts[code] += 1
            else:
                if value in self.tracked:
                    self.counts[value] += 1
                self.moments.add(value)

    def finish(self, item_total: tuple[ItemTotal, ...]) -> ItemAnalysis:
        item, n = self.item, self.answered
        asked = n + self.missing
        distribution = tuple(
            Category(
                code=code, label=label, count=self.counts[code], percent=_pct(self.counts[code], n)
            )
            for code, label in self.codes
        )
        if item.type == "multiple":
            low = high = None
        elif item.type == "number":
            low, high = item.min, item.max
        else:
            values = [code for code, _ in self.codes]
            low, high = (min(values), max(values)) if values else (None, None)
        floor = _pct(_count_equal(self.counts, low), n) if low is not None else None
        ceiling = _pct(_count_equal(self.counts, high), n) if high is not None else None
        moments = self.moments
        return ItemAnalysis(
            item_id=item.id,
            text=item.text,
            type=item.type,
            asked=asked,
            answered=n,
            missing=self.missing,
            missing_percent=_pct(self.missing, asked),
            not_asked=self.not_asked,
            mean=moments.mean,
            sd=moments.sd,
            minimum=moments.minimum,
            maximum=moments.maximum,
            distribution=distribution,
            floor_percent=floor,
            ceiling_percent=ceiling,
            item_total=item_total,
        )


def _count_equal(counts: Counter, value) -> int:
    return sum(c for code, c in counts.items() if code == value)


class _EffectGather:
    def __init__(self, stats):
        self.stats = stats  # nefkit.summary.EffectStats: ids, text, treatment code
        self.answered = self.experienced = self.treatment = self.cause_missing = 0
        self.impact = _Moments()

    def add(self, answers) -> None:
        s = self.stats
        experienced = answers.get(s.item_id)
        if experienced is None or experienced is NOT_ASKED:
            return
        self.answered += 1
        if experienced != 1:
            return
        self.experienced += 1
        cause = answers.get(s.cause_id)
        if cause is None or cause is NOT_ASKED:
            self.cause_missing += 1
        elif cause == s.treatment:
            self.treatment += 1
        impact = answers.get(s.impact_id) if s.impact_id else None
        if isinstance(impact, (int, float)) and not isinstance(impact, bool):
            self.impact.add(impact)

    def finish(self) -> EffectAnalysis:
        s = self.stats
        return EffectAnalysis(
            item_id=s.item_id,
            text=s.text,
            impact_id=s.impact_id,
            cause_id=s.cause_id,
            answered=self.answered,
            experienced=self.experienced,
            percent_experienced=_pct(self.experienced, self.answered),
            treatment=self.treatment,
            percent_treatment=_pct(self.treatment, self.answered),
            percent_treatment_of_experienced=_pct(self.treatment, self.experienced),
            cause_missing=self.cause_missing,
            impact_n=self.impact.n,
            impact_mean=self.impact.mean,
            impact_sd=self.impact.sd,
        )


class _ScaleGather:
    """The items of one item-combining score: cross-products for alpha and correlations."""

    def __init__(self, step: ScoreStep):
        self.step = step
        self.items = tuple(step.score.items)
        reverse = getattr(step.params, "reverse", None)
        keyed = set(reverse.items) if reverse else set()
        self.reversed = tuple(i for i in self.items if i in keyed)
        self.flips = [reverse.low + reverse.high if i in keyed else None for i in self.items]
        self.sums = pm.CrossProducts(len(self.items))

    def add(self, answers) -> None:
        row = []
        for item_id, flip in zip(self.items, self.flips):
            value = answers.get(item_id)
            if value is None or value is NOT_ASKED:
                row.append(None)
            else:
                row.append(value if flip is None else flip - value)
        self.sums.add(row)

    def finish(self, ci_level: float) -> Reliability:
        items, k = self.items, len(self.items)
        n, m = self.sums.comoments()
        score_id = self.step.score.id
        alpha = low = high = None
        if n < 2:
            alpha_note = f"not computed: {n} administration(s) answered every item (2 needed)"
        else:
            alpha = pm.cronbach_alpha(m)
            if alpha is None:
                alpha_note = "not computed: the total does not vary among the complete cases"
            else:
                low, high = pm.feldt_interval(alpha, n, k, ci_level)
                alpha_note = (
                    f"Cronbach's alpha on {n} complete cases (listwise); {100 * ci_level:g}% CI"
                    " by Feldt's method"
                )
        stats = pm.item_total(m) if n >= 2 else [pm.ItemTotalStats(None, None)] * k
        item_total = tuple(
            ItemTotal(
                score_id=score_id,
                item_id=item_id,
                reversed=item_id in self.reversed,
                n=n,
                corrected_r=s.corrected_r,
                alpha_if_deleted=s.alpha_if_deleted,
            )
            for item_id, s in zip(items, stats)
        )
        omega, loadings, omega_note = _omega(m, n, items)
        counts, r = self.sums.pairwise()
        return Reliability(
            items=items,
            reversed=self.reversed,
            n_complete=n,
            n_incomplete=self.sums.n_rows - n,
            alpha=alpha,
            alpha_ci_low=low,
            alpha_ci_high=high,
            ci_level=ci_level,
            alpha_note=alpha_note,
            omega=omega,
            loadings=loadings,
            omega_note=omega_note,
            item_total=item_total,
            correlations=CorrelationMatrix(
                items=items,
                r=tuple(tuple(row) for row in r),
                n=tuple(tuple(row) for row in counts),
            ),
        )


def _omega(m, n: int, items: tuple[str, ...]):
    k = len(items)
    if k < 3:
        return None, None, "not computed: a one-factor model needs at least 3 items"
    if n < 3:
        return None, None, f"not computed: {n} administration(s) answered every item"
    r = pm.correlation_matrix(m)
    if r is None:
        constant = [items[i] for i in range(k) if m[i][i] <= 0]
        return (
            None,
            None,
            f"not computed: {', '.join(constant)} did not vary among the complete cases",
        )
    fit = pm.one_factor_minres(r)
    if fit.heywood:
        bad = [items[i] for i, psi in enumerate(fit.uniquenesses) if psi <= pm.HEYWOOD_UNIQUENESS]
        bad += [items[fit.runaway]] if fit.runaway is not None else []
        return (
            None,
            None,
            f"not computed: improper one-factor solution (Heywood case: loading of 1 or more"
            f" for {', '.join(bad)}), so one factor does not describe these items",
        )
    if not fit.converged:
        return (
            None,
            None,
            f"not computed: the one-factor fit did not converge in {fit.sweeps} sweeps",
        )
    omega = pm.omega_total(fit.loadings, fit.uniquenesses)
    note = (
        f"McDonald's omega total from one factor fitted by minres to the correlations of {n}"
        f" complete cases (the reliability of the sum of standardized items); root mean square"
        f" residual correlation {fit.rms_residual:.3f}"
    )
    return omega, fit.loadings, note


class _ScoreGather:
    def __init__(self, step: ScoreStep):
        self.step = step
        self.complete = self.prorated = self.not_scorable = 0
        self.moments = _Moments()
        self.counts: Counter = Counter()

    def add(self, result) -> None:
        if result.value is None:
            self.not_scorable += 1
            return
        if result.status == "prorated":
            self.prorated += 1
        else:
            self.complete += 1
        if isinstance(result.value, (bool, str)):
            self.counts[result.value] += 1
        else:
            self.moments.add(result.value)


class _CourseGather:
    """Each respondent's first and last scored administration of one change's score, in the
    order of sessions (then rows), for the comparison of reliable-change methods."""

    MIN_PAIRS = 3

    def __init__(self, step):
        self.step = step
        self.ends: dict[str, list] = {}  # respondent: [first (key, score), last (key, score)]

    def add(self, row: ScoredRow) -> None:
        result = row.scores.get(self.step.change.score)
        if (
            result is None
            or not isinstance(result.value, (int, float))
            or row.respondent_id is None
        ):
            return
        entry = ((row.session if row.session is not None else -1, row.row), result.value)
        ends = self.ends.get(row.respondent_id)
        if ends is None:
            self.ends[row.respondent_id] = [entry, entry]
        elif entry[0] < ends[0][0]:
            ends[0] = entry
        elif entry[0] > ends[1][0]:
            ends[1] = entry

    def finish(self, reliability: Optional["Reliability"]) -> "ChangeComparison":
        from ..reliable_change import METHODS, band_of, direction, sample_norms

        step, params = self.step, self.step.params
        pairs = [(e[0][1], e[1][1]) for e in self.ends.values() if e[0][0] != e[1][0]]
        better = getattr(params, "better", "lower")
        given = getattr(params, "reliability", None)
        r, source = (
            (given, "the change rule's")
            if given is not None
            else (reliability.alpha, "Cronbach's alpha of this data")
            if reliability is not None and reliability.alpha is not None
            else (None, "")
        )
        base = dict(
            change_id=step.change.id,
            label=step.change.label,
            score_id=step.change.score,
            better=better,
            pairs=len(pairs),
            reliability=r,
            reliability_source=source,
        )
        if len(pairs) < self.MIN_PAIRS:
            return ChangeComparison(
                **base, note=f"fewer than {self.MIN_PAIRS} respondents with two scores"
            )
        before, after = [b for b, _ in pairs], [a for _, a in pairs]
        rule = [step.rule.classify(b, a, params) for b, a in pairs]
        kinds = {"recovered": "better", "reliably improved": "better"}
        kinds["reliably deteriorated"] = "worse"
        base["points"] = tuple((b, a, kinds.get(c, "same")) for (b, a), c in zip(pairs, rule))
        base["band"] = band_of(params)
        base["cutoff"] = getattr(params, "clinical_cutoff", None)
        counts = [
            _method_counts(
                "the definition's rule",
                rule,
                improved=("recovered", "reliably improved"),
                deteriorated=("reliably deteriorated",),
            )
        ]
        if r is None or not 0 < r < 1:
            return ChangeComparison(
                **base, methods=tuple(counts), note="no reliability: the rule's classes only"
            )
        if len(set(before)) < 2 or len(set(after)) < 2:
            return ChangeComparison(
                **base, methods=tuple(counts), note="every first or every last score is the same"
            )
        norms = sample_norms(before, after, r)
        undefined = []
        for method in METHODS:
            try:
                classes = [direction(method, b, a, norms, better) for b, a in pairs]
            except ValueError as e:
                undefined.append(f"{method}: {e}")
                continue
            counts.append(_method_counts(method, classes))
        base["note"] = "; ".join(undefined)
        return ChangeComparison(
            **base,
            pre_mean=norms.pre_mean,
            pre_sd=norms.pre_sd,
            post_mean=norms.post_mean,
            post_sd=norms.post_sd,
            correlation=norms.correlation,
            methods=tuple(counts),
        )


def _method_counts(method, classes, improved=("improved",), deteriorated=("deteriorated",)):
    tally = Counter(classes)
    up = sum(tally[c] for c in improved)
    down = sum(tally[c] for c in deteriorated)
    return MethodCounts(
        method=method, improved=up, deteriorated=down, unchanged=len(classes) - up - down
    )


class _Gatherer:
    def __init__(self, plan: Plan):
        self.plan = plan
        instrument = plan.instrument
        self.rows = self.invalid = self.excluded = self.analysed = 0
        self.per_respondent: Counter = Counter()
        self.items = [_ItemGather(instrument, i) for i in instrument.items if i.type != "text"]
        self.effects = [_EffectGather(s) for s in effect_items(plan)]
        self.scores = [_ScoreGather(step) for step in plan.steps]
        self.scales: dict[str, _ScaleGather] = {}
        self.courses = [_CourseGather(step) for step in plan.changes]
        self.reliability_notes: dict[str, str] = {}
        for step in plan.steps:
            self.reliability_notes[step.score.id] = _why_no_scale(step, instrument)
            if not self.reliability_notes[step.score.id]:
                self.scales[step.score.id] = _ScaleGather(step)

    def add(self, row: ScoredRow, where) -> None:
        self.rows += 1
        if not row.valid:
            self.invalid += 1
            return
        if where is not None and not where(row):
            self.excluded += 1
            return
        self.analysed += 1
        self.per_respondent[row.respondent_id] += 1
        answers = row.answers
        for gather in self.items:
            gather.add(answers.get(gather.item.id))
        for effect in self.effects:
            effect.add(answers)
        scores = row.scores
        for gather in self.scores:
            gather.add(scores[gather.step.score.id])
        for scale in self.scales.values():
            scale.add(answers)
        for course in self.courses:
            course.add(row)

    def finish(self, provenance: Provenance, ci_level: float) -> Analysis:
        reliabilities = {sid: scale.finish(ci_level) for sid, scale in self.scales.items()}
        by_item: dict[str, list[ItemTotal]] = {}
        for reliability in reliabilities.values():
            for entry in reliability.item_total:
                by_item.setdefault(entry.item_id, []).append(entry)
        items = tuple(g.finish(tuple(by_item.get(g.item.id, ()))) for g in self.items)
        scores = tuple(
            self._score(g, reliabilities.get(g.step.score.id), self.reliability_notes)
            for g in self.scores
        )
        return Analysis(
            provenance=provenance,
            instrument_title=self.plan.instrument.title,
            rows_read=self.rows,
            invalid_rows=self.invalid,
            rows_excluded=self.excluded,
            rows_analysed=self.analysed,
            respondents=len(self.per_respondent),
            items=items,
            effects=tuple(e.finish() for e in self.effects),
            scores=scores,
            changes=tuple(c.finish(reliabilities.get(c.step.change.score)) for c in self.courses),
            notes=tuple(self._notes()),
            methods=_methods(ci_level),
        )

    def _score(self, g: _ScoreGather, reliability, notes) -> ScoreAnalysis:
        step, n = g.step, g.complete + g.prorated
        # Labels in the order the definition gives them (bands), then any others by frequency.
        order: list = [b.label for b in getattr(step.params, "bands", None) or ()]
        if step.output.kind == "boolean":
            order = [True, False]
        order += [v for v, _ in g.counts.most_common() if v not in order]
        distribution = tuple(
            ScoreCategory(value=v, count=g.counts[v], percent=_pct(g.counts[v], n)) for v in order
        )
        return ScoreAnalysis(
            score_id=step.score.id,
            label=step.score.label,
            rule=step.score.rule,
            kind=step.output.kind,
            n=n,
            complete=g.complete,
            prorated=g.prorated,
            not_scorable=g.not_scorable,
            mean=g.moments.mean,
            sd=g.moments.sd,
            minimum=g.moments.minimum,
            maximum=g.moments.maximum,
            distribution=distribution,
            reliability=reliability,
            reliability_note=notes[step.score.id],
        )

    def _notes(self) -> Iterable[str]:
        if self.invalid:
            yield f"{self.invalid} invalid row(s) were not analysed (see the scoring problems)."
        if self.excluded:
            yield f"{self.excluded} valid row(s) were left out by the selection."
        repeated = sum(1 for c in self.per_respondent.values() if c > 1)
        if repeated:
            yield (
                f"{repeated} respondent(s) have more than one administration among the"
                f" {self.analysed} analysed: every administration is a case, so cases are not"
                " independent and confidence intervals are too narrow. Analyse one"
                " administration per respondent (for example the first session) for"
                " psychometric properties."
            )


def _why_no_scale(step: ScoreStep, instrument: Instrument) -> str:
    """Empty when the score gets a reliability analysis, else the reason it does not."""
    if step.score.rule not in ITEM_COMBINING_RULES:
        return f"no reliability analysis: the '{step.score.rule}' rule does not add up or average items"
    if len(step.score.items) < 2:
        return "no reliability analysis: the score has a single item"
    if any(i not in instrument.item_map for i in step.score.items):
        return "no reliability analysis: the score combines other scores, not items"
    if len(set(step.score.items)) != len(step.score.items):
        return "no reliability analysis: the score lists an item twice"
    return ""


def _methods(ci_level: float) -> tuple[str, ...]:
    tail = (1 - ci_level) / 2
    level = f"{100 * ci_level:g}%"
    return tuple(m.format(level=level, upper=f"{1 - tail:g}", lower=f"{tail:g}") for m in METHODS)


def _pct(part: int, whole: int) -> Optional[float]:
    return 100 * part / whole if whole else None
