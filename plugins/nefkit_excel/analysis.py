"""The psychometrics of a dataset (``nefkit analyze``) as an Excel workbook, for a paper's tables.

Sheets: Items (one row per item: n, missing, mean, SD, floor and ceiling, item-total
correlation, alpha if deleted and loading per score, then each answer's count and share),
Answers (the same distributions, one row per item and answer, to filter or pivot), Effects (NEQ
items, when the instrument has them), Scores (n, mean, SD, range, alpha with its interval,
omega, and why a figure is not given), Score categories (bands and yes/no scores, when there are
any), Correlations (per scale: the inter-item matrix, shaded and with its numbers, then the n
behind each entry) and Methods (notes on the dataset, counts, how each figure was computed,
references, provenance).

Every figure is stored unrounded, as a number; number formats round it for display only.
Table sheets have a frozen, filtered header. Text comes from instrument files and goes through
:mod:`.styles`, so a label that looks like a formula stays text.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Optional

from nefkit import __version__
from nefkit.documents import Analysis, ItemAnalysis, Reliability, ScoreAnalysis

from .book import Book, open_book
from .paper import PROSE
from .report import table
from .styles import MARK, alert, number, styled

R = "r"  # correlations, item-total r, loadings: 0.00
ALPHA = "alpha"  # alpha, its interval, alpha if deleted, omega: 0.000
PERCENT = "percent"
DECIMAL = "decimal"

# Diverging shades for a correlation, by the size of r as shown (two decimals): blue for
# positive, orange for negative, deeper for stronger. The same as the HTML report's. Every
# cell also shows its value, so nothing rests on the colour. (text colour, fill) per level.
LEVELS = ((0.10, 1), (0.30, 2), (0.50, 3), (0.70, 4), (0.90, 5))
_SHADES = {
    "pos": ("DEEBF7", "B9D4EC", "8FBBE0", "2F6FAE", "0B3D74"),
    "neg": ("FDE4D6", "F8C4A6", "F0A07A", "B8432C", "7F1D12"),
}
_DIAGONAL = "fill:#EEEEEE"
_WHITE = "font:#FFFFFF"
_NOT_COMPUTED = "not computed"
SHADE_KEY = (
    "Shades: blue for a positive r, orange for a negative one, deeper for a stronger one"
    " (|r| from .10, .30, .50, .70, .90); under .10 unshaded. Every cell shows its value."
)


def shade(r: Optional[float]) -> Optional[tuple[str, int]]:
    """("pos" or "neg", level 1-5) for a correlation, judged on its value rounded to two
    decimals, as shown; None for none, or under .10."""
    if r is None:
        return None
    shown = round(r, 2)
    level = 0
    for least, step in LEVELS:
        if abs(shown) >= least:
            level = step
    if not level:
        return None
    return ("pos" if shown > 0 else "neg", level)


def write_analysis(analysis: Analysis, path: Path) -> None:
    with open_book(path) as book:
        scales = [s for s in analysis.scores if s.reliability is not None]
        _items(book, analysis, scales)
        _answers(book, analysis)
        if analysis.effects:
            _effects(book, analysis)
        _scores(book, analysis)
        if any(s.distribution for s in analysis.scores):
            _categories(book, analysis)
        _correlations(book, scales)
        if analysis.changes:
            _changes(book, analysis)
        _methods(book, analysis)


def _answer(code, label: str) -> str:
    return label if label == str(code) else f"{code} = {label}"


def _items(book: Book, analysis: Analysis, scales: list[ScoreAnalysis]) -> None:
    lines = book.lines("Items")
    widest = max((len(i.distribution) for i in analysis.items), default=0)
    columns = ["item", "question", "type", "asked", "n", "missing", "missing %", "not asked"]
    columns += ["mean", "SD", "min", "max", "floor %", "ceiling %"]
    for score in scales:
        sid = score.score_id
        columns += [f"{sid}: item-total r", f"{sid}: alpha if deleted", f"{sid}: loading"]
    for k in range(1, widest + 1):
        columns += [f"answer {k}", f"answer {k} n", f"answer {k} %"]
    rows = []
    for item in analysis.items:
        row = [
            item.item_id,
            item.text,
            item.type.replace("_", "/"),
            item.asked,
            item.answered,
            item.missing,
            number(item.missing_percent, PERCENT),
            item.not_asked,
            number(item.mean, DECIMAL),
            number(item.sd, DECIMAL),
            item.minimum,
            item.maximum,
            number(item.floor_percent, PERCENT),
            number(item.ceiling_percent, PERCENT),
        ]
        for score in scales:
            row += _item_total(item, score.reliability)
        for category in item.distribution:
            row += [
                _answer(category.code, category.label),
                category.count,
                number(category.percent, PERCENT),
            ]
        rows.append(row)
    table(lines, columns, rows, 1)


def _item_total(item: ItemAnalysis, reliability: Reliability) -> list[Any]:
    """Item-total r, alpha if deleted and loading of ``item`` in one scale (blank if not in it)."""
    if item.item_id not in reliability.items:
        return [None, None, None]
    entry = next(e for e in reliability.item_total if e.item_id == item.item_id)
    index = reliability.items.index(item.item_id)
    loading = reliability.loadings[index] if reliability.loadings else None
    return [
        number(entry.corrected_r, R),
        number(entry.alpha_if_deleted, ALPHA),
        number(loading, R),
    ]


def _answers(book: Book, analysis: Analysis) -> None:
    lines = book.lines("Answers")
    rows = [
        [
            item.item_id,
            category.code,
            category.label,
            category.count,
            number(category.percent, PERCENT),
            item.type.replace("_", "/"),
        ]
        for item in analysis.items
        for category in item.distribution
    ]
    table(lines, ["item", "code", "answer", "n", "% of answered", "type"], rows, 1)


def _effects(book: Book, analysis: Analysis) -> None:
    lines = book.lines("Effects")
    columns = [
        "item",
        "effect",
        "n",
        "experienced",
        "experienced %",
        "attributed to treatment",
        "treatment % of all",
        "treatment % of experienced",
        "cause blank",
        "impact n",
        "impact mean",
        "impact SD",
    ]
    rows = [
        [
            e.item_id,
            e.text,
            e.answered,
            e.experienced,
            number(e.percent_experienced, PERCENT),
            e.treatment,
            number(e.percent_treatment, PERCENT),
            number(e.percent_treatment_of_experienced, PERCENT),
            e.cause_missing,
            e.impact_n,
            number(e.impact_mean, DECIMAL),
            number(e.impact_sd, DECIMAL),
        ]
        for e in analysis.effects
    ]
    table(lines, columns, rows, 2)


def _changes(book: Book, analysis: Analysis) -> None:
    """Reliable change by method: a row per change and method, every figure a number."""
    lines = book.lines("Change methods")
    columns = [
        "change",
        "method",
        "improved",
        "no reliable change",
        "deteriorated",
        "pairs",
        "reliability",
        "reliability from",
        "first mean",
        "first SD",
        "last mean",
        "last SD",
        "r first-last",
        "note",
    ]
    rows = [
        [
            c.change_id,
            m.method if m else None,
            m.improved if m else None,
            m.unchanged if m else None,
            m.deteriorated if m else None,
            c.pairs,
            number(c.reliability, DECIMAL),
            c.reliability_source,
            number(c.pre_mean, DECIMAL),
            number(c.pre_sd, DECIMAL),
            number(c.post_mean, DECIMAL),
            number(c.post_sd, DECIMAL),
            number(c.correlation, DECIMAL),
            c.note,
        ]
        for c in analysis.changes
        for m in c.methods or [None]  # a change without figures still says why
    ]
    table(lines, columns, rows, 2)


def _interval(analysis: Analysis) -> str:
    """The intervals' name for the column headers: "alpha 95% CI" (plain "alpha CI" when no
    score has one, or their levels differ)."""
    levels = {s.reliability.ci_level for s in analysis.scores if s.reliability is not None}
    return f"alpha {100 * levels.pop():g}% CI" if len(levels) == 1 else "alpha CI"


def _scores(book: Book, analysis: Analysis) -> None:
    lines = book.lines("Scores")
    interval = _interval(analysis)
    columns = ["score", "label", "rule", "kind", "n", "complete", "prorated", "not scorable"]
    columns += ["mean", "SD", "min", "max", "items", "reversed items", "complete cases"]
    columns += ["alpha", f"{interval} low", f"{interval} high", "omega"]
    columns += ["alpha note", "omega note"]
    rows = []
    for s in analysis.scores:
        rel = s.reliability
        row = [
            s.score_id,
            s.label,
            s.rule,
            s.kind,
            s.n,
            s.complete,
            s.prorated,
            s.not_scorable,
            number(s.mean, DECIMAL),
            number(s.sd, DECIMAL),
            s.minimum,
            s.maximum,
        ]
        if rel is None:
            row += [None, None, None, None, None, None, None, s.reliability_note, None]
        else:
            row += [
                len(rel.items),
                ", ".join(rel.reversed),
                rel.n_complete,
                number(rel.alpha, ALPHA),
                number(rel.alpha_ci_low, ALPHA),
                number(rel.alpha_ci_high, ALPHA),
                number(rel.omega, ALPHA),
                rel.alpha_note,
                rel.omega_note,
            ]
        rows.append(row)
    table(lines, columns, rows, 1)


def _categories(book: Book, analysis: Analysis) -> None:
    lines = book.lines("Score categories")
    rows = [
        [
            s.score_id,
            ("yes" if c.value else "no") if isinstance(c.value, bool) else c.value,
            c.count,
            number(c.percent, PERCENT),
        ]
        for s in analysis.scores
        for c in s.distribution
    ]
    table(lines, ["score", "category", "n", "% of scored"], rows, 1)


def correlation_cell(r: Optional[float], diagonal: bool) -> Any:
    """r as a number shaded by its size and sign; the diagonal grey; text where none."""
    if r is None:
        return alert(_NOT_COMPUTED)
    if diagonal:
        return styled(r, R, _DIAGONAL)
    found = shade(r)
    if found is None:
        return styled(r, R)
    sign, level = found
    fill = f"fill:#{_SHADES[sign][level - 1]}"
    return styled(r, R, fill, *((_WHITE,) if level >= 4 else ()))


def _correlations(book: Book, scales: list[ScoreAnalysis]) -> None:
    lines = book.lines("Correlations")
    lines.title("Inter-item correlations")
    if not scales:
        lines.note(
            "No score adds up or averages items, so there are no inter-item correlations"
            " (see the Scores sheet for why)."
        )
        lines.write()
        return
    lines.note(
        "Pearson r, pairwise complete (each pair uses every administration that answered both),"
        " after reverse keying; (R) marks a reverse-keyed item."
    )
    lines.note(SHADE_KEY)
    for score in scales:
        rel = score.reliability
        matrix = rel.correlations
        names = [f"{i} (R)" if i in rel.reversed else i for i in matrix.items]
        lines.heading(f"{score.score_id}: {score.label}")
        lines.table(
            ["r", *names],
            [
                [names[i], *(correlation_cell(r, i == j) for j, r in enumerate(row))]
                for i, row in enumerate(matrix.r)
            ],
        )
        lines.lines.append(("blank", []))
        lines.table(["n", *names], [[names[i], *row] for i, row in enumerate(matrix.n)])
        lines.note("n: the administrations behind each r (the diagonal: those answering the item).")
    lines.write()
    lines.ws.freeze_panes(0, 1)


def _methods(book: Book, analysis: Analysis) -> None:
    lines = book.lines("Methods", most=PROSE)
    provenance = analysis.provenance
    lines.title(f"{provenance.instrument_id}: item and scale analysis")
    lines.note(analysis.instrument_title)
    lines.heading("Notes on this dataset")
    if analysis.notes:
        lines.table(
            ["#", "note"],
            [[n, alert(MARK + note)] for n, note in enumerate(analysis.notes, 1)],
        )
    else:
        lines.note("None: every row was valid, analysed, and from a different respondent.")
    lines.heading("Counts")
    lines.pair("rows read", analysis.rows_read)
    lines.pair("invalid rows (not analysed)", analysis.invalid_rows)
    lines.pair("rows excluded by the selection", analysis.rows_excluded)
    lines.pair("administrations analysed", analysis.rows_analysed)
    lines.pair("respondents", analysis.respondents)
    lines.heading("Methods")
    lines.table(
        ["#", "how each figure was computed"],
        [[n, sentence] for n, sentence in enumerate(analysis.methods, 1)],
    )
    lines.note(
        "Every figure in this workbook is stored unrounded; cells show percentages to 1"
        " decimal, means and SDs to 2, correlations and loadings to 2, alpha and omega to 3."
    )
    lines.heading("References")
    lines.table(["#", "reference"], [[n, ref] for n, ref in enumerate(analysis.references, 1)])
    lines.heading("Provenance")
    lines.pair("instrument", provenance.instrument_id)
    lines.pair("title", analysis.instrument_title)
    lines.pair("version", provenance.instrument_version)
    lines.pair("content hash", provenance.content_hash)
    lines.pair("scored by", f"nefkit {provenance.nefkit_version}")
    for rule, origin in provenance.rules.items():
        lines.pair(f"rule {rule}", origin)
    lines.pair("input file", provenance.input)
    scored_at = provenance.generated_at
    if scored_at.tzinfo is not None:
        scored_at = scored_at.astimezone(dt.timezone.utc)
    lines.pair("scored at (UTC)", scored_at.strftime("%Y-%m-%d %H:%M:%S"))
    lines.pair("written by", f"nefkit {__version__}")
    lines.write()
