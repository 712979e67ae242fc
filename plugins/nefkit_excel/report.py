"""The small sheets (Summary, Codebook, About) of both the results workbook and the data-entry
template. They are built whole and then written, so their column widths can be measured from
what they hold: a streamed sheet has to guess its widths from its header."""

from __future__ import annotations

from typing import Any, Optional

from xlsxwriter.worksheet import Worksheet

from nefkit import Instrument, Plan, __version__
from nefkit.codebook import codebook
from nefkit.summary import GroupedSummary, Summary

from .paper import fit_row, lines_needed, page_setup
from .styles import (
    Styled,
    Styles,
    alert,
    bold,
    number,
    set_widths,
    styled,
    width_for,
    write_value,
)

PRIVACY = "Respondent ids are pseudonyms chosen by the clinic; nefkit stores no names."
DETERIORATED = "reliably deteriorated"


class Lines:
    """A small sheet, line by line: titles and headings, tables, notes and key-value pairs."""

    def __init__(self, ws: Worksheet, styles: Styles, most: int = 60):
        self.ws = ws
        self.styles = styles
        self.most = most
        self.lines: list[tuple[str, list]] = []

    def title(self, text: str) -> None:
        self.lines.append(("title", [styled(text, "title")]))

    def heading(self, text: str) -> None:
        if self.lines:
            self.lines.append(("blank", []))
        self.lines.append(("heading", [styled(text, "heading")]))

    def note(self, text: str) -> None:
        self.lines.append(("note", [styled(text, "note")]))

    def table(self, columns: list[str], rows: list[list[Any]]) -> None:
        self.lines.append(("header", [styled(name, "header") for name in columns]))
        for row in rows:
            self.lines.append(("row", list(row)))

    def pair(self, key: str, value: Any) -> None:
        self.lines.append(("pair", [styled(key, "key"), value]))

    def write(self, header_rows: int = 0) -> list[float]:
        """Widths from the tables' contents (not titles or notes, which may run across), then
        every line; text wider than its column wraps, and every cell of a table row is aligned
        to the top, so that a row whose text wraps still reads across. The sheet prints one
        page wide, its first ``header_rows`` rows on every page. Returns the widths."""
        measured = [cells for kind, cells in self.lines if kind in ("header", "row", "pair")]
        columns = max((len(cells) for cells in measured), default=0)
        widths = [
            width_for(*(cells[i] for cells in measured if len(cells) > i), most=self.most)
            for i in range(columns)
        ]
        set_widths(self.ws, widths)
        ws, styles = self.ws, self.styles
        for row, (kind, cells) in enumerate(self.lines):
            in_table = kind in ("row", "pair", "header")
            lines = 1
            for col, cell in enumerate(cells):
                names: tuple[str, ...] = ()
                if in_table:
                    text = cell.value if type(cell) is Styled else cell
                    long = isinstance(text, str) and (len(text) > widths[col] - 2 or "\n" in text)
                    names = ("wrap",) if long or kind == "header" else ("top",)
                    if isinstance(text, str) and names == ("wrap",):
                        lines = max(lines, lines_needed(text, widths[col], bold(cell)))
                    if kind == "pair":
                        names += ("left",)  # a value under a value, number or text, reads down
                write_value(ws, styles, row, col, cell, names)
            fit_row(ws, row, lines)
        page_setup(ws, widths, header_rows)
        return widths


def table(lines: Lines, columns: list[str], rows: list[list[Any]], freeze: int) -> None:
    """One table filling the sheet from A1: its header frozen, filtered and printed on every
    page, widths from what the columns hold; the first ``freeze`` columns stay in view."""
    lines.table(columns, rows)
    lines.write(header_rows=1)
    lines.ws.freeze_panes(1, freeze)
    lines.ws.autofilter(0, 0, len(rows), len(columns) - 1)


def codebook_lines(lines: Lines, plan: Plan) -> None:
    """Items, scores with their missing-data policy, flags and changes, one block each."""
    lines.title(f"{plan.instrument.id}: codebook")
    lines.note(plan.instrument.title)
    for name, rows in codebook(plan).items():
        lines.heading(name.capitalize())
        if rows:
            lines.table(list(rows[0]), [list(row.values()) for row in rows])
        else:
            lines.note(f"The instrument defines no {name}.")


def instrument_pairs(lines: Lines, instrument: Instrument) -> None:
    lines.pair("instrument", instrument.id)
    lines.pair("title", instrument.title)
    lines.pair("version", instrument.version)
    lines.pair("content hash", instrument.content_hash)
    lines.pair("citation", instrument.citation)
    lines.pair("licence", instrument.licence)
    lines.pair("source", instrument.source)
    for note in instrument.notes:
        lines.pair("note", note)
    lines.pair("nefkit version", __version__)


def summary_lines(
    lines: Lines, plan: Plan, summary: GroupedSummary, by: Optional[str], min_cell: int
) -> None:
    """Cohort figures: overall, then per group of ``by`` when there are groups to show."""
    instrument = plan.instrument
    lines.title(f"{instrument.id}: cohort summary")
    lines.note(instrument.title)
    lines.note(
        "Counts are per administration; SD is the sample standard deviation (n - 1). "
        "Rows that could not be read (invalid) are left out of every figure but the first table."
    )
    groups: list[tuple[str, Summary]] = [("all", summary.overall)]
    if by is not None:
        shown, hidden = summary.shown_groups(min_cell)
        keys = sorted(shown, key=lambda g: (g is None, str(g)))
        groups += [("(blank)" if key is None else str(key), shown[key]) for key in keys]
        lines.note(
            f"Broken down by {by}, each respondent in the group of their first administration: "
            f"{len(shown)} group{'s' * (len(shown) != 1)} shown; {hidden} "
            f"group{'s' * (hidden != 1)} hidden because {'they' if hidden != 1 else 'it'} had "
            f"fewer than {min_cell} respondents."
        )
    lead = [by] if by is not None else []

    lines.heading("Administrations")
    lines.table(
        [*lead, "administrations", "invalid", "respondents"],
        [[*_g(by, g), s.rows, s.invalid, len(s.respondents)] for g, s in groups],
    )

    codes = sorted(
        {
            code
            for item in summary.overall.items.values()
            for code, _ in instrument.choices(item.item)
        }
    )
    lines.heading("Items")
    rows = []
    for g, s in groups:
        for stats in s.items.values():
            item_codes = {code for code, _ in instrument.choices(stats.item)}
            rows.append(
                [
                    *_g(by, g),
                    stats.item.id,
                    stats.item.text,
                    stats.answered,
                    stats.missing,
                    number(stats.missing_percent, "percent"),
                    stats.not_asked,
                    number(stats.moments.average, "decimal"),
                    number(stats.moments.sd, "decimal"),
                    *(stats.counts[c] if c in item_codes else None for c in codes),
                ]
            )
    lines.table(
        [*lead, "item", "question", "answered", "missing", "missing %", "not asked", "mean", "SD"]
        + [f"code {c}" for c in codes],
        rows,
    )

    if summary.overall.effects:
        lines.heading("Negative effects")
        lines.table(
            [*lead, "item", "effect", "answered", "experienced", "experienced %"]
            + ["attributed to treatment", "attributed to treatment %"]
            + ["impact n", "impact mean", "impact SD"],
            [
                [
                    *_g(by, g),
                    e.item_id,
                    e.text,
                    e.answered,
                    e.experienced,
                    number(e.percent_experienced, "percent"),
                    e.treatment_count,
                    number(e.percent_treatment, "percent"),
                    e.impact.n,
                    number(e.impact.average, "decimal"),
                    number(e.impact.sd, "decimal"),
                ]
                for g, s in groups
                for e in s.effects
            ],
        )
        lines.note(
            "experienced % and attributed to treatment % are of those who answered the item; "
            "impact is among those who experienced it."
        )

    if summary.overall.scores:
        lines.heading("Scores")
        lines.table(
            [*lead, "score", "label", "scored", "not scorable", "mean", "SD"],
            [
                [
                    *_g(by, g),
                    st.step.score.id,
                    st.step.score.label,
                    st.scored,
                    st.not_scorable,
                    number(st.moments.average, "decimal"),
                    number(st.moments.sd, "decimal"),
                ]
                for g, s in groups
                for st in s.scores.values()
            ],
        )
        categories = []
        for g, s in groups:
            for st in s.scores.values():
                for category in _categories(st):
                    count = st.counts[category]
                    categories.append(
                        [
                            *_g(by, g),
                            st.step.score.id,
                            _shown(category),
                            count,
                            number(100 * count / st.scored if st.scored else None, "percent"),
                        ]
                    )
        if categories:
            lines.heading("Score categories (bands, caseness)")
            lines.table([*lead, "score", "category", "administrations", "% of scored"], categories)

    if plan.changes:
        lines.heading("Change from baseline to latest administration")
        rows = []
        for g, s in groups:
            for step in plan.changes:
                counts = s.changes[step.change.id]
                total = sum(counts.values())
                if not total:
                    rows.append([*_g(by, g), step.change.id, step.change.label, "none", 0, None])
                for classification, count in counts.most_common():
                    worse = classification == DETERIORATED
                    rows.append(
                        [
                            *_g(by, g),
                            step.change.id,
                            step.change.label,
                            alert(classification, risk=True) if worse else classification,
                            alert(count, risk=True) if worse and count else count,
                            number(100 * count / total, "percent"),
                        ]
                    )
        lines.table(
            [*lead, "change", "label", "classification", "respondents", "% of respondents"], rows
        )
        lines.note(
            "Respondents with at least two scored administrations; 'none' means nobody had two."
        )

    if plan.flags:
        lines.heading("Flags")
        rows = []
        for g, s in groups:
            scored = s.rows - s.invalid
            for step in plan.flags:
                flag = step.flag
                raised, unknown = s.flags[flag.id], s.unknown_flags[flag.id]
                rows.append(
                    [
                        *_g(by, g),
                        flag.label,
                        flag.level,
                        alert(raised, risk=flag.level == "risk") if raised else 0,
                        alert(unknown) if unknown else 0,
                        number(100 * raised / scored if scored else None, "percent"),
                        f"flag_{flag.id}",
                    ]
                )
        lines.table(
            [*lead, "flag", "level", "raised", "could not be checked"]
            + ["% of scored administrations", "Scores column"],
            rows,
        )
        lines.note(
            "could not be checked: an answer the flag needs is missing or could not be read, so"
            " whether it applies is unknown (not clear); the Scores sheet marks each such row."
        )


def _g(by: Optional[str], group: str) -> list[str]:
    return [] if by is None else [group]


def _categories(stats) -> list[Any]:
    """A score's categories in the definition's order (bands low to high, yes before no), those
    that never occurred included, so a table always lists the same rows."""
    bands = getattr(stats.step.params, "bands", None)
    if bands:
        ordered = [band.label for band in sorted(bands, key=lambda b: b.min)]
    elif stats.step.output.kind == "boolean":
        ordered = [True, False]
    else:
        ordered = []
    return ordered + sorted((c for c in stats.counts if c not in ordered), key=str)


def _shown(category: Any) -> Any:
    if isinstance(category, bool):
        return "yes" if category else "no"
    return category
