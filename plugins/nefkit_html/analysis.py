"""The psychometrics of a dataset (``nefkit analyze -o analysis.html``) as one self-contained page:
notes first, then scores with alpha and omega, per scale the item-total statistics and the
inter-item correlations as a heat map, then the items, their answers, the NEQ effects, and the
methods and references for a paper.

Figures are rounded here, for display only, and the page says how: percentages to 1 decimal,
means and SDs to 2, correlations and loadings to 2, alpha (with its interval) and omega to 3.

The heat map is an HTML table: every cell shows its r as text, and its shade (blue positive,
orange negative, deeper for stronger) only repeats what the text says; a key in words sits
beside it. Shades are judged on the value as shown, so a cell reading 0.30 is never in the
".10 to .29" shade.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Optional

from markupsafe import Markup

from nefkit.documents import Analysis, ItemAnalysis, Reliability, ScoreAnalysis

from . import charts

ROUNDING = (
    "Figures are rounded for display: percentages to 1 decimal, means and SDs to 2,"
    " correlations and loadings to 2, alpha, its confidence interval and omega to 3."
    " The Excel output (-o analysis.xlsx) keeps every figure unrounded."
)
MINUS = "\u2212"
# |r| from which each shade level starts (levels 1 to 5), as in the Excel output.
LEVELS = (0.10, 0.30, 0.50, 0.70, 0.90)
# The key beside each heat map: (size of r in words, positive, negative, shade level).
KEY = (
    ("under .10", "0.00 to 0.09", f"{MINUS}0.01 to {MINUS}0.09", 0),
    (".10 to .29", "0.10 to 0.29", f"{MINUS}0.10 to {MINUS}0.29", 1),
    (".30 to .49", "0.30 to 0.49", f"{MINUS}0.30 to {MINUS}0.49", 2),
    (".50 to .69", "0.50 to 0.69", f"{MINUS}0.50 to {MINUS}0.69", 3),
    (".70 to .89", "0.70 to 0.89", f"{MINUS}0.70 to {MINUS}0.89", 4),
    (".90 and over", "0.90 to 1.00", f"{MINUS}0.90 to {MINUS}1.00", 5),
)


def fixed(value: Optional[float], places: int) -> str:
    """A figure to ``places`` decimals with a true minus sign; never "-0.00"; "–" for none."""
    if value is None:
        return "–"
    shown = f"{value:.{places}f}"
    if shown.startswith("-"):
        shown = shown[1:] if float(shown) == 0 else MINUS + shown[1:]
    return shown


def pct(value: Optional[float]) -> str:
    return fixed(value, 1)


def count_pct(count: int, percent: Optional[float]) -> str:
    return f"{count} ({pct(percent)}%)" if percent is not None else str(count)


def whole(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return fixed(value, 2)
    return fixed(value, 0)


def shade(r: Optional[float]) -> str:
    """The CSS class of a correlation's cell: "pos-3", "neg-1", or "" under .10."""
    if r is None:
        return ""
    shown = round(r, 2)
    level = sum(1 for least in LEVELS if abs(shown) >= least)
    if not level:
        return ""
    return f"{'pos' if shown > 0 else 'neg'}-{level}"


@dataclass
class HeatCell:
    text: str
    css: str
    title: str


@dataclass
class ScaleItem:
    id: str
    text: str
    reversed: bool
    corrected_r: str
    alpha_if_deleted: str
    loading: str


@dataclass
class Scale:
    id: str
    label: str
    k: int
    n_complete: int
    n_incomplete: int
    alpha: str
    ci: str
    ci_level: str
    omega: str
    alpha_note: str
    omega_note: str
    items: list[ScaleItem]
    heat: list[tuple[ScaleItem, list[HeatCell]]]
    pair_n: Optional[int]  # the n behind every pair, when they share one
    uncomputed: bool  # some r could not be computed ("n/c")
    n_rows: list[tuple[str, list[int]]]


@dataclass
class ScoreRow:
    id: str
    label: str
    rule: str
    n: int
    complete: int
    prorated: int
    not_scorable: int
    mean: str
    sd: str
    range: str
    alpha: str
    ci: str
    omega: str
    notes: list[str]  # why alpha or omega is not given
    categories: list[tuple[str, str]]  # bands, yes/no: (category, "n (%)")


@dataclass
class ItemRow:
    id: str
    text: str
    type: str
    answered: int
    missing: str
    not_asked: int
    mean: str
    sd: str
    floor: str
    ceiling: str
    scales: list[tuple[str, str]]  # per scale column: (item-total r, alpha if deleted)


@dataclass
class Distribution:
    answers: list[str]  # "0 = Not at all", in scale order
    rows: list[tuple[str, str, list[str]]]  # item id, question, "n (%)" per answer
    multiple: bool


@dataclass
class EffectRow:
    id: str
    text: str
    answered: int
    experienced: str
    treatment: str
    treatment_of_experienced: str
    cause_missing: int
    impact: str
    impact_n: int


@dataclass
class ChangeTable:
    label: str
    about: str  # pairs, reliability and its source, the sample's figures; or why there are none
    rows: list[tuple[str, int, int, int]]  # method, improved, unchanged, deteriorated
    chart: Optional[Markup] = None  # Jacobson & Truax's plot, by the definition's rule


@dataclass
class AnalysisPage:
    analysis: Analysis
    title: str
    generated_at: dt.datetime
    nefkit_version: str
    rounding: str = ROUNDING
    ci_level: str = ""  # "95%" when every interval has that level
    key: tuple = KEY
    counts: list[tuple[str, int]] = field(default_factory=list)
    scores: list[ScoreRow] = field(default_factory=list)
    # Why alpha or omega is not given: (note, the labels of the scores it is about).
    why_not: list[tuple[str, list[str]]] = field(default_factory=list)
    scales: list[Scale] = field(default_factory=list)
    scale_columns: list[tuple[str, str]] = field(default_factory=list)
    items: list[ItemRow] = field(default_factory=list)
    distributions: list[Distribution] = field(default_factory=list)
    effects: list[EffectRow] = field(default_factory=list)
    changes: list[ChangeTable] = field(default_factory=list)
    provenance: list[tuple[str, str]] = field(default_factory=list)


def build(analysis: Analysis) -> AnalysisPage:
    import nefkit

    p = analysis.provenance
    page = AnalysisPage(analysis, analysis.instrument_title, p.generated_at, nefkit.__version__)
    page.counts = [
        ("Rows read", analysis.rows_read),
        ("Invalid rows (not analysed)", analysis.invalid_rows),
        ("Rows left out by the selection", analysis.rows_excluded),
        ("Administrations analysed", analysis.rows_analysed),
        ("Respondents", analysis.respondents),
    ]
    with_scale = [s for s in analysis.scores if s.reliability is not None]
    texts = {item.item_id: item.text for item in analysis.items}
    page.scores = [_score(s) for s in analysis.scores]
    grouped: dict[str, list[str]] = {}
    for score in page.scores:
        for note in score.notes:
            grouped.setdefault(note, []).append(score.label)
    page.why_not = [(note, labels) for note, labels in grouped.items()]
    page.scales = [_scale(s, texts) for s in with_scale]
    levels = {scale.ci_level for scale in page.scales}
    if len(levels) == 1:
        page.ci_level = levels.pop()
    page.scale_columns = [(s.score_id, s.label) for s in with_scale]
    page.items = [_item(item, with_scale) for item in analysis.items]
    page.distributions = _distributions(analysis.items)
    page.effects = [
        EffectRow(
            e.item_id,
            e.text,
            e.answered,
            count_pct(e.experienced, e.percent_experienced),
            count_pct(e.treatment, e.percent_treatment),
            pct(e.percent_treatment_of_experienced),
            e.cause_missing,
            f"{fixed(e.impact_mean, 2)} ({fixed(e.impact_sd, 2)})",
            e.impact_n,
        )
        for e in analysis.effects
    ]
    page.changes = [_change(c) for c in analysis.changes]
    page.provenance = [
        ("Instrument", f"{p.instrument_id} version {p.instrument_version}"),
        ("Content hash", p.content_hash),
        ("Scored by", f"nefkit {p.nefkit_version}"),
        *((f"Rule {rule}", origin) for rule, origin in p.rules.items()),
        ("Input file", p.input),
        ("Scored at", p.generated_at.strftime("%Y-%m-%d %H:%M %Z")),
        ("Page written by", f"nefkit {nefkit.__version__}"),
    ]
    return page


def _change(c) -> ChangeTable:
    about = (
        f"{c.pairs} respondents with a first and a last score; lower is better"
        if (c.better == "lower")
        else f"{c.pairs} respondents with a first and a last score; higher is better"
    )
    if c.reliability is not None:
        about += f"; reliability {fixed(c.reliability, 2)} ({c.reliability_source})"
    if c.pre_mean is not None:
        about += (
            f"; first {fixed(c.pre_mean, 2)} (SD {fixed(c.pre_sd, 2)}), last"
            f" {fixed(c.post_mean, 2)} (SD {fixed(c.post_sd, 2)}), r = {fixed(c.correlation, 2)}"
        )
    if c.note:
        about += f". {c.note[0].upper()}{c.note[1:]}"
    rows = [(m.method, m.improved, m.unchanged, m.deteriorated) for m in c.methods]
    chart = None
    if c.points:
        values = [v for first, last, _ in c.points for v in (first, last)]
        values += [c.cutoff] if c.cutoff is not None else []
        low, high = math.floor(min(values)) - 1, math.ceil(max(values)) + 1  # marks inside
        counts = {kind: sum(p[2] == kind for p in c.points) for kind in ("better", "same", "worse")}
        chart = charts.change_scatter(
            f"change-{c.change_id}",
            f"{c.label}: first against last score",
            f"{c.pairs} respondents' first score (across) against their last (up), by the"
            f" definition's rule: {counts['better']} reliably improved,"
            f" {counts['same']} no reliable change, {counts['worse']} reliably deteriorated"
            " (the first row of the table).",
            c.points,
            c.band,
            c.cutoff,
            low,
            high,
        )
    return ChangeTable(c.label, about + ".", rows, chart)


def _ci(rel: Reliability) -> str:
    if rel.alpha_ci_low is None:
        return "–"
    return f"[{fixed(rel.alpha_ci_low, 3)}, {fixed(rel.alpha_ci_high, 3)}]"


def _score(s: ScoreAnalysis) -> ScoreRow:
    rel = s.reliability
    notes = []
    if rel is None:
        notes.append(s.reliability_note)
    else:
        if rel.alpha is None:
            notes.append(f"alpha {rel.alpha_note}")
        if rel.omega is None:
            notes.append(f"omega {rel.omega_note}")
    shown_range = f"{whole(s.minimum)} to {whole(s.maximum)}" if s.minimum is not None else "–"
    return ScoreRow(
        s.score_id,
        s.label,
        s.rule,
        s.n,
        s.complete,
        s.prorated,
        s.not_scorable,
        fixed(s.mean, 2),
        fixed(s.sd, 2),
        shown_range,
        fixed(rel.alpha, 3) if rel else "–",
        _ci(rel) if rel else "–",
        fixed(rel.omega, 3) if rel else "–",
        notes,
        [
            (
                ("yes" if c.value else "no") if isinstance(c.value, bool) else str(c.value),
                count_pct(c.count, c.percent),
            )
            for c in s.distribution
        ],
    )


def _scale(s: ScoreAnalysis, texts: dict[str, str]) -> Scale:
    rel = s.reliability
    matrix = rel.correlations
    by_item = {e.item_id: e for e in rel.item_total}
    items = [
        ScaleItem(
            item_id,
            texts.get(item_id, ""),
            item_id in rel.reversed,
            fixed(by_item[item_id].corrected_r, 2),
            fixed(by_item[item_id].alpha_if_deleted, 3),
            fixed(rel.loadings[i], 2) if rel.loadings else "–",
        )
        for i, item_id in enumerate(rel.items)
    ]
    heat = []
    for i, (item, row) in enumerate(zip(items, matrix.r)):
        cells = []
        for j, r in enumerate(row):
            other, n = matrix.items[j], matrix.n[i][j]
            if r is None:
                cells.append(
                    HeatCell("n/c", "heat none", f"{item.id} and {other}: not computed, n = {n}")
                )
            elif i == j:
                cells.append(HeatCell(fixed(r, 2), "heat diag", f"{item.id} with itself"))
            else:
                title = f"{item.id} and {other}: r = {fixed(r, 2)}, n = {n}"
                cells.append(HeatCell(fixed(r, 2), f"heat {shade(r)}".strip(), title))
        heat.append((item, cells))
    pairs = {matrix.n[i][j] for i in range(len(items)) for j in range(len(items)) if i != j}
    return Scale(
        s.score_id,
        s.label,
        len(rel.items),
        rel.n_complete,
        rel.n_incomplete,
        fixed(rel.alpha, 3),
        _ci(rel),
        f"{100 * rel.ci_level:g}%",
        fixed(rel.omega, 3),
        rel.alpha_note,
        rel.omega_note,
        items,
        heat,
        pairs.pop() if len(pairs) == 1 else None,
        any(r is None for row in matrix.r for r in row),
        [(item.id, list(row)) for item, row in zip(items, matrix.n)],
    )


def _item(item: ItemAnalysis, scales: list[ScoreAnalysis]) -> ItemRow:
    by_score = {e.score_id: e for e in item.item_total}
    columns = []
    for s in scales:
        entry = by_score.get(s.score_id)
        columns.append(
            (fixed(entry.corrected_r, 2), fixed(entry.alpha_if_deleted, 3)) if entry else ("", "")
        )
    return ItemRow(
        item.item_id,
        item.text,
        item.type.replace("_", "/"),
        item.answered,
        count_pct(item.missing, item.missing_percent),
        item.not_asked,
        fixed(item.mean, 2),
        fixed(item.sd, 2),
        pct(item.floor_percent),
        pct(item.ceiling_percent),
        columns,
    )


def _distributions(items: tuple[ItemAnalysis, ...]) -> list[Distribution]:
    """One table per set of answer options, the items sharing it as rows, in the order the
    sets first appear: a PHQ-9 gives one table, an NEQ three (yes/no, impact, cause)."""
    tables: dict[Any, Distribution] = {}
    for item in items:
        if not item.distribution:
            continue
        answers = [
            c.label if c.label == str(c.code) else f"{c.code} = {c.label}"
            for c in item.distribution
        ]
        multiple = item.type == "multiple"
        table = tables.setdefault((tuple(answers), multiple), Distribution(answers, [], multiple))
        table.rows.append(
            (item.item_id, item.text, [count_pct(c.count, c.percent) for c in item.distribution])
        )
    return list(tables.values())
