"""The ``markdown`` renderer: scores as Markdown tables (GitHub-flavoured), one per instrument.

Every piece of text in the output may come from someone else: respondent ids and context columns
from the data file, the values of cells nefkit refused (quoted in the notes), labels from a
definition. Markdown passes HTML through and turns brackets into links, so each text cell is
escaped: ``&``, ``<`` and ``>`` become entities, Markdown's inline punctuation is
backslash-escaped, ``|`` cannot end the cell and a line break cannot end the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from nefkit import Renderer
from nefkit.documents import Scores

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_PUNCTUATION = set("\\`*_[]|~")  # inline syntax: code, emphasis, links, table cells, strikeout
_FLAG = {True: "yes", False: "no", None: "unknown"}


def escape(value: Any) -> str:
    """Text that shows as itself in a Markdown table cell and can carry no HTML or link."""
    text = " ".join(str(value).splitlines())
    return "".join(
        _ENTITIES.get(ch) or ("\\" + ch if ch in _PUNCTUATION else ch) for ch in text
    ).strip()


def number(value: Any) -> str:
    """A score value as shown: yes/no, whole numbers as they are, others to two decimals."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return str(value)
    return escape(value)


def _text(value: Any) -> str:
    return "" if value is None else escape(value)


def _when(session: Any, row: int) -> str:
    return f"row {row}" if session is None else f"session {session} (row {row})"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |\n"


class MarkdownRenderer(Renderer):
    """One section per instrument: a table of every administration (scored or not), the change
    scores when there are any, and where the numbers came from."""

    format = "markdown"
    extensions = (".md", ".markdown")
    summary = "Scores as Markdown tables, one section per instrument."
    # Scores only: a Markdown file is no data-entry sheet, and nefkit says so if asked.
    writes = (Scores,)
    many = True  # nefkit may pass several instruments' results for one file

    def write(self, document, path: Path, options) -> None:
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            out.write("# Scores\n")
            for results in document.results:
                self._section(results, out)

    def _section(self, results, out: TextIO) -> None:
        instrument = results.instrument
        steps = results.plan.steps
        flags = results.plan.flags
        out.write(f"\n## {escape(instrument.title)}\n\n")
        header = ["row", "respondent", "session", "date", *results.context_columns]
        header += [step.score.label for step in steps]
        header += [f"flag: {step.flag.label}" for step in flags]
        header += ["status", "notes"]
        out.write(_row([escape(h) for h in header]))
        out.write(_row(["---"] * len(header)))
        # results.rows is an iterator: read it once, writing as we go, so that any number of
        # rows streams through in constant memory.
        for row in results.rows:
            cells = [
                str(row.row),
                _text(row.respondent_id),
                "" if row.session is None else str(row.session),
                "" if row.administered_at is None else row.administered_at.isoformat(),
                *(_text(row.context.get(c)) for c in results.context_columns),
            ]
            notes = []
            for step in steps:
                result = row.scores.get(step.score.id)
                if result is None:  # an invalid row: nefkit never scores around a bad value
                    cells.append("")
                    continue
                if result.value is None:
                    cells.append("not scorable")
                elif result.status == "prorated":
                    cells.append(f"{number(result.value)} (prorated)")
                else:
                    cells.append(number(result.value))
                if result.reason:
                    notes.append(f"{step.score.id}: {result.reason}")
            cells += [_FLAG[row.flags.get(s.flag.id)] if row.valid else "" for s in flags]
            notes += [str(problem) for problem in row.problems]
            cells += ["scored" if row.valid else "invalid", escape("; ".join(notes))]
            out.write(_row(cells))
        # Only now, with every row read, are the change scores complete.
        if results.changes:
            out.write("\n### Change between administrations\n\n")
            columns = ["respondent", "change", "comparison", "from", "to", "before", "after"]
            out.write(_row([*columns, "difference", "class"]))
            out.write(_row(["---"] * (len(columns) + 2)))
            for change in results.changes:
                out.write(
                    _row(
                        [
                            escape(change.respondent_id),
                            escape(change.change_id),
                            escape(change.comparison),
                            _when(change.from_session, change.from_row),
                            _when(change.to_session, change.to_row),
                            number(change.before),
                            number(change.after),
                            number(change.difference),
                            escape(change.classification),
                        ]
                    )
                )
        provenance = results.provenance
        rules = "; ".join(f"{name} from {origin}" for name, origin in provenance.rules.items())
        out.write(
            f"\n{results.row_count} rows, {results.invalid_count} invalid."
            f" Definition {escape(provenance.instrument_label)};"
            f" rules: {escape(rules)}; nefkit {escape(provenance.nefkit_version)}.\n"
        )
