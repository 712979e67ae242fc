from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from nefkit.documents import Document, InformationSheet, InfoSheet, Scores, describe_figure
from nefkit.renderers import Renderer, RenderOptions
from nefkit.results import Results, day
from nefkit.tabular import display

# A flag's state in words; clear flags are not listed. Unknown is never left out as if clear.
_FLAG = {True: "RAISED", None: "could not be checked (an answer it needs is missing or unreadable)"}
_NOT_READ = "could not be checked (this administration could not be read)"


def _fill(text: str, indent: str = "") -> str:
    return textwrap.fill(text, width=78, initial_indent=indent, subsequent_indent=indent)


class TextRenderer(Renderer):
    """For a terminal, an e-mail or a printout: one block per administration, risk first."""

    format = "text"
    extensions = (".txt",)
    summary = "Plain text: one block per administration; also client information sheets."
    writes = (Scores, InformationSheet)
    many = True

    def write(self, document: Document, path: Path, options: RenderOptions) -> None:
        if isinstance(document, InformationSheet):
            _info_sheet(document.sheet, path)
        else:
            _scores(document.results, path)


def _scores(batch: Sequence[Results], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for results in batch:
            out.write(f"{results.instrument.title}\n{'=' * len(results.instrument.title)}\n")
            for row in results.rows:
                when = f", {day(row.administered_at)}" if row.administered_at else ""
                session = f", session {row.session}" if row.session is not None else ""
                out.write(f"\n{row.respondent_id}{session}{when} (row {row.row})\n")
                for step in results.plan.flags:
                    # An invalid row's flags count wherever the engine evaluated them.
                    state = _FLAG.get(row.flags.get(step.flag.id)) if row.flags else _NOT_READ
                    if state:
                        out.write(
                            _fill(f"{step.flag.level.upper()} {state}: {step.flag.label}", "  ")
                            + "\n"
                        )
                for problem in row.problems:
                    out.write(_fill(f"NOT SCORED: {problem}", "  ") + "\n")
                for step in results.plan.steps:
                    result = row.scores.get(step.score.id)
                    if result is not None:
                        shown = result.reason if result.value is None else display(result.value)
                        out.write(_fill(f"{step.score.label}: {shown}", "  ") + "\n")
            scores = {step.score.id: step.score.label for step in results.plan.steps}
            for change in results.changes:
                start = _point(change.from_session, change.from_date, change.from_row)
                end = _point(change.to_session, change.to_date, change.to_row)
                line = (
                    f"{change.respondent_id}: {scores[change.score_id]}, {change.comparison}:"
                    f" {change.before:g} ({start}) to {change.after:g} ({end}),"
                    f" {change.classification}"
                )
                out.write("\n" + _fill(line) + "\n")
            out.write(f"\n{results.instrument.citation}\n{results.provenance.instrument_label}\n\n")


def _point(session: Optional[int], date: Optional[dt.date], row: int) -> str:
    """One end of a change as the blocks above name an administration: its session and date,
    else its row."""
    parts = ([f"session {session}"] if session is not None else []) + ([day(date)] if date else [])
    return ", ".join(parts) or f"row {row}"


def _info_sheet(sheet: InfoSheet, path: Path) -> None:
    lines = [sheet.title, "=" * len(sheet.title), "", _fill(sheet.introduction), ""]
    lines.append("People in psychological treatment have reported, for example:")
    for effect in sheet.effects:
        lines.append(textwrap.fill(f'- "{effect.statement}"', 78, subsequent_indent="  "))
        for figure in effect.figures:
            lines.append(_fill(describe_figure(figure), "    "))
    lines += [
        "",
        _fill(sheet.invitation),
        "",
        "In a crisis",
        "-----------",
        _fill(sheet.crisis),
    ]
    lines += ["", "Sources", "-------"]
    lines += [_fill(f"[{n}] {source}") for n, source in enumerate(sheet.sources, 1)]
    lines.append(_fill(f"The questions come from: {sheet.instrument}"))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
