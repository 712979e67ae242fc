"""The cohort report: a service's or a study's figures per instrument, gathered while rows stream
past (a :class:`nefkit.summary.GroupedSummary` plus one histogram per charted score), so that a
million administrations take no more memory than a dozen.

Small groups are suppressed: a breakdown group with fewer respondents than ``min_cell`` could
point at a person, so it is left out and the report says how many were hidden and why."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

from markupsafe import Markup

from nefkit.codebook import codebook
from nefkit.reliable_change import band_of
from nefkit.renderers import RenderOptions
from nefkit.results import Results, ScoredRow
from nefkit.summary import EffectStats, GroupedSummary, Summary

from . import charts
from .facts import Scale, fixed, number, scales

DETERIORATED = "reliably deteriorated"
CLASSES = ("recovered", "reliably improved", "no reliable change", DETERIORATED)
FINE_BINS = 20  # histogram bars for a score that is not a whole number


def _percent(part: int, whole: int) -> Optional[float]:
    return 100 * part / whole if whole else None


def percent(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:.0f}%"


@dataclass
class Reference:
    mark: str
    population: str
    source: str
    n: Optional[int]
    notes: list[str] = field(default_factory=list)  # caveats of the figures cited from it


@dataclass
class Published:
    value: float
    reference: Reference
    verified: bool


@dataclass
class EffectRow:
    stats: EffectStats
    impact_mean: str
    published: list[Published]  # percent experienced
    published_treatment: list[Published]
    published_impact: list[Published]


@dataclass
class Histogram:
    scale: Scale
    chart: Markup
    bands: list[dict[str, str]]  # label, range, n, percent
    values: list[tuple[str, int]]
    scored: int


@dataclass
class ChangeFigure:
    score: str  # the label of the score whose change is classified
    label: str  # the change rule's label
    counts: list[tuple[str, int, str]]  # class, n, percent
    compared: int
    deteriorated: int
    percent: Optional[float]
    chart: Optional[Markup]
    scatter: Optional[Markup] = None  # Jacobson & Truax's plot of first against latest
    scatter_text: str = ""  # what it shows, in words


@dataclass
class Groups:
    column: str
    headers: list[str]
    rows: list[list[str]]
    hidden: int
    min_cell: int


@dataclass
class CohortSection:
    results: Results
    summary: Summary
    scores: list[dict[str, str]] = field(default_factory=list)
    histograms: list[Histogram] = field(default_factory=list)
    changes: list[ChangeFigure] = field(default_factory=list)
    effects: list[EffectRow] = field(default_factory=list)
    effects_chart: Optional[Markup] = None
    references: list[Reference] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    groups: Optional[Groups] = None
    missing_column: Optional[str] = None  # --by names a column this data does not have
    codebook: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def instrument(self):
        return self.results.instrument

    @property
    def provenance(self):
        return self.results.provenance

    @property
    def problem_rows(self) -> int:
        return len({p.row for p in self.results.problems})


@dataclass
class CohortReport:
    sections: list[CohortSection]
    respondents: int
    generated_at: dt.datetime
    nefkit_version: str
    by: Optional[str]
    min_cell: int


class Collector:
    """One instrument's cohort figures, fed one row at a time."""

    def __init__(self, results: Results, by: Optional[str]):
        self.results = results
        self.by = by if by in results.context_columns else None
        self.grouped = GroupedSummary(results.plan, self.by)
        self.scales = scales(results.plan)
        self.bins: dict[str, Counter] = {s.id: Counter() for s in self.scales}

    def add(self, row: ScoredRow) -> None:
        self.grouped.add(row)
        if not row.valid:
            return
        for scale in self.scales:
            value = row.scores[scale.id].value
            if value is not None:
                self.bins[scale.id][_bin(scale, value)] += 1

    def finish(self, options: RenderOptions, index: int) -> CohortSection:
        """The section, once the rows are exhausted and the changes known."""
        for change in self.results.changes:
            self.grouped.add_change(change)
        overall = self.grouped.overall
        section = CohortSection(self.results, overall)
        plan = self.results.plan
        key = f"cohort-{index}-{self.results.instrument.id}"
        section.scores = _scores(overall)
        section.histograms = [
            _histogram(scale, self.bins[scale.id], overall, f"{key}-{scale.id}")
            for scale in self.scales
        ]
        labels = {score.id: score.label for score in self.results.instrument.scores}
        section.changes = [
            _change(
                step, labels[step.change.score], overall, self.results, f"{key}-{step.change.id}"
            )
            for step in plan.changes
        ]
        if overall.effects:
            section.effects, section.references = _effects(self.results, overall.effects)
            section.effects_chart = _effects_chart(section.effects, f"{key}-effects")
        section.flags = [
            {
                "label": step.flag.label,
                "level": step.flag.level,
                "count": overall.flags[step.flag.id],
            }
            for step in plan.flags
        ]
        if options.by is not None and self.by is None:
            section.missing_column = options.by
        elif self.by is not None:
            section.groups = _groups(self, options.min_cell)
        section.codebook = codebook(plan)
        return section


def _bin(scale: Scale, value: float) -> float:
    """Whole-number scores (or any without a known range) get a bar per value, others one of
    FINE_BINS equal bars."""
    if scale.integer or scale.low is None or scale.high is None or scale.high == scale.low:
        return round(value)
    width = (scale.high - scale.low) / FINE_BINS
    return min(int((value - scale.low) / width), FINE_BINS - 1)


def _bins(scale: Scale, counts: Counter) -> list[tuple[float, float, int]]:
    if scale.integer or scale.low is None or scale.high is None or scale.high == scale.low:
        keys = list(counts)
        low = round(scale.low) if scale.low is not None else min(keys, default=0)
        high = round(scale.high) if scale.high is not None else max(keys, default=0)
        low, high = min([low, *keys]), max([high, *keys])
        return [(v - 0.5, v + 0.5, counts[v]) for v in range(int(low), int(high) + 1)]
    width = (scale.high - scale.low) / FINE_BINS
    return [
        (scale.low + i * width, scale.low + (i + 1) * width, counts[i]) for i in range(FINE_BINS)
    ]


def _scores(summary: Summary) -> list[dict[str, str]]:
    rows = []
    for stats in summary.scores.values():
        kind = stats.step.output.kind
        if kind == "number":
            shown = f"mean {fixed(stats.moments.average)}"
            if stats.moments.sd is not None:
                shown += f" (SD {fixed(stats.moments.sd)})"
        elif kind == "boolean":
            shown = f"yes at {percent(_percent(stats.counts[True], stats.scored))}"
        elif kind == "label":
            shown = "; ".join(f"{label} {n}" for label, n in stats.counts.most_common())
        else:
            continue
        rows.append(
            {
                "label": stats.step.score.label,
                "scored": str(stats.scored),
                "not_scorable": str(stats.not_scorable),
                "shown": shown,
            }
        )
    return rows


def _histogram(scale: Scale, counts: Counter, summary: Summary, key: str) -> Histogram:
    scored = sum(counts.values())
    bins = _bins(scale, counts)
    band_counts = summary.scores[scale.band_id].counts if scale.band_id else Counter()
    bands = [
        {
            "label": band.label,
            "range": f"{number(band.low)}–{number(band.high)}",
            "n": str(band_counts[band.label]),
            "percent": percent(_percent(band_counts[band.label], scored)),
        }
        for band in scale.bands
    ]
    values = [
        (
            f"{number(start)}–{number(end)}" if not scale.integer else number((start + end) / 2),
            count,
        )
        for start, end, count in bins
        if count
    ]
    desc = (
        f"{scored} administrations scored. "
        + "; ".join(f"{b['label']} ({b['range']}): {b['n']}" for b in bands)
        if bands
        else f"{scored} administrations scored."
    )
    chart = charts.histogram(
        key,
        f"Distribution of {scale.label}",
        desc,
        bins,
        scale.bands,
        scale.threshold,
        scale.integer,
    )
    return Histogram(scale, chart, bands, values, scored)


def _change(step, score: str, summary: Summary, results: Results, key: str) -> ChangeFigure:
    change = step.change
    counts = summary.changes[change.id]
    compared = sum(counts.values())
    deteriorated = counts[DETERIORATED]
    share = _percent(deteriorated, compared)
    chart = None
    if share is not None:
        chart = charts.deterioration(
            key,
            f"Share reliably deteriorated: {score}",
            f"{deteriorated} of {compared} respondents ({number(share)}%) reliably deteriorated "
            "from their first to their latest administration; 5–10% of clients deteriorate in "
            "routine care.",
            share,
        )
    return ChangeFigure(
        score,
        change.label,
        [(name, counts[name], percent(_percent(counts[name], compared))) for name in CLASSES],
        compared,
        deteriorated,
        share,
        chart,
        *_scatter(step, score, results, f"{key}-scatter"),
    )


_KIND = {"recovered": "better", "reliably improved": "better", DETERIORATED: "worse"}


def _scatter(step, score: str, results: Results, key: str) -> tuple[Optional[Markup], str]:
    """First against latest score of every respondent with two, by the change rule, and what
    it shows in words."""
    ends = [
        c
        for c in results.changes
        if c.change_id == step.change.id and c.comparison == "baseline to latest"
    ]
    if not ends:
        return None, ""
    points = [(c.before, c.after, _KIND.get(c.classification, "same")) for c in ends]
    cutoff = getattr(step.params, "clinical_cutoff", None)
    values = [v for first, last, _ in points for v in (first, last)]
    values += [cutoff] if cutoff is not None else []
    kinds = Counter(kind for _, _, kind in points)
    words = (
        f"{len(points)} respondents' first score (across) against their latest (up):"
        f" {kinds['better']} reliably improved, {kinds['same']} no reliable change,"
        f" {kinds['worse']} reliably deteriorated (the table above gives recovered apart);"
        " respondents with the same two scores share a mark."
    )
    return charts.change_scatter(
        key,
        f"{score}: first against latest score",
        words,
        points,
        band_of(step.params),
        cutoff,
        math.floor(min(values)) - 1,
        math.ceil(max(values)) + 1,
    ), words


def _effects(results: Results, effects: list[EffectStats]):
    """Each effect item's figures beside every published figure for it, with references
    numbered in order of first use."""
    references: dict[tuple, Reference] = {}

    def published(target: str, statistic: str) -> list[Published]:
        found = []
        for norm in results.instrument.norms:
            if norm.target != target or norm.statistic != statistic:
                continue
            key = (norm.population, norm.source, norm.n)
            if key not in references:
                references[key] = Reference(f"[{len(references) + 1}]", *key)
            reference = references[key]
            if norm.note and norm.note not in reference.notes:
                reference.notes.append(norm.note)
            found.append(Published(norm.value, reference, norm.verified))
        return found

    rows = [
        EffectRow(
            stats,
            fixed(stats.impact.average),
            published(stats.item_id, "percent_experienced"),
            published(stats.item_id, "percent_attributed_to_treatment"),
            published(stats.impact_id, "mean") if stats.impact_id else [],
        )
        for stats in effects
    ]
    return rows, list(references.values())


def _effects_chart(rows: list[EffectRow], key: str) -> Markup:
    bars = [
        charts.Bar(
            row.stats.text,
            row.stats.percent_experienced,
            tuple((p.value, p.reference.mark, p.verified) for p in row.published),
        )
        for row in rows
    ]
    desc = "; ".join(
        f"{row.stats.text}: {percent(row.stats.percent_experienced)}"
        + "".join(f", published {number(p.value)}% {p.reference.mark}" for p in row.published)
        for row in rows
    )
    return charts.prevalence(key, "Percentage experiencing each effect", desc, bars)


def _key_scores(collector: Collector) -> list[tuple[str, str]]:
    """The scores a breakdown compares: the charted ones, else the instrument's first number."""
    if collector.scales:
        return [(s.id, s.label) for s in collector.scales]
    for step in collector.results.plan.steps:
        if step.output.kind == "number":
            return [(step.score.id, step.score.label)]
    return []


def _groups(collector: Collector, min_cell: int) -> Groups:
    overall = collector.grouped.overall
    scores = _key_scores(collector)
    labels = {score.id: score.label for score in collector.results.instrument.scores}
    changes = [(c.change.id, labels[c.change.score]) for c in collector.results.plan.changes]
    common = sorted(
        (e for e in overall.effects if e.experienced),
        key=lambda e: e.percent_experienced,
        reverse=True,
    )[:3]
    headers = (
        [collector.by, "Respondents"]
        + [f"Mean {label}" for _, label in scores]
        + [f"Reliably deteriorated ({label})" for _, label in changes]
        + [f"Experienced: {e.text}" for e in common]
    )

    def row(name: str, summary: Summary) -> list[str]:
        effects = {e.item_id: e for e in summary.effects}
        cells = [name, str(len(summary.respondents))]
        cells += [fixed(summary.scores[score_id].moments.average, 1) for score_id, _ in scores]
        for change_id, _ in changes:
            counts = summary.changes[change_id]
            compared = sum(counts.values())
            cells.append(
                f"{percent(_percent(counts[DETERIORATED], compared))} "
                f"({counts[DETERIORATED]} of {compared})"
            )
        cells += [percent(effects[e.item_id].percent_experienced) for e in common]
        return cells

    shown, hidden = collector.grouped.shown_groups(min_cell)
    rows = [row("All respondents", overall)]
    rows += [
        row("(blank)" if name in (None, "") else str(name), summary)
        for name, summary in sorted(shown.items(), key=lambda item: str(item[0]))
    ]
    return Groups(collector.by, headers, rows, hidden, min_cell)


def build(collectors: list[Collector], options: RenderOptions) -> CohortReport:
    """The report's content, once every collector's rows are exhausted."""
    from nefkit import __version__

    sections = [c.finish(options, i) for i, c in enumerate(collectors)]
    respondents = set().union(*(s.summary.respondents for s in sections))
    return CohortReport(
        sections,
        len(respondents),
        max(c.results.provenance.generated_at for c in collectors),
        __version__,
        options.by,
        options.min_cell,
    )
