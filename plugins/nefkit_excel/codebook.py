"""An instrument's codebook (``nefkit codebook ID -o codebook.xlsx``), for a preregistration or an
ethics application: an About sheet first (what the instrument is, its licence and permitted use,
where it comes from, every caveat, the instructions), then one sheet per table of
:func:`nefkit.codebook.codebook` (Items, Scores, Flags, Changes) and the published norms.

Table sheets start at A1 with a frozen, filtered header, so they read back as tables. Every text
comes from the definition file and goes through :mod:`.styles`: a label that looks like a
formula stays text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nefkit import Instrument, Plan, __version__
from nefkit.codebook import codebook, norm_table

from .book import open_book
from .paper import PROSE
from .report import Lines, table
from .styles import alert

# Plain words for a norm's statistic.
UNVERIFIED = "UNVERIFIED: not checked in the source"
VERIFIED = "verified in the source"
SHEETS = {
    "items": "each question: its column, wording, answer codes, when it is asked",
    "scores": "each score: its rule, what it computes, from what, and its missing-data policy",
    "flags": "each alert: when it is raised and what to do",
    "changes": "how change between administrations is classified",
    "norms": "published figures, with their population and source, verified or not",
}


def write_codebook(plan: Plan, path: Path) -> None:
    instrument = plan.instrument
    tables: dict[str, list[dict[str, Any]]] = codebook(plan)
    tables["norms"] = norm_table(instrument)
    with open_book(path) as book:
        _about(book.lines("About", most=PROSE), instrument, tables)
        for name, rows in tables.items():
            lines = book.lines(name.capitalize())
            if not rows:
                lines.note(f"No {name}: the definition gives none.")
                lines.write()
                continue
            cells = [[_cell(key, value) for key, value in row.items()] for row in rows]
            table(lines, list(rows[0]), cells, 1)


def _cell(key: str, value: Any) -> Any:
    if key == "verified":
        return VERIFIED if value else alert(UNVERIFIED)
    return value


def _about(lines: Lines, instrument: Instrument, tables: dict[str, list]) -> None:
    lines.title(f"{instrument.id}: codebook")
    lines.note(instrument.title)
    lines.heading("Licence and permitted use")
    lines.pair("licence", instrument.licence)
    lines.heading("Instrument")
    lines.pair("instrument", instrument.id)
    lines.pair("title", instrument.title)
    lines.pair("version", instrument.version)
    lines.pair("content hash", instrument.content_hash)
    lines.pair("citation", instrument.citation)
    lines.pair("source", instrument.source)
    lines.pair("languages", ", ".join(instrument.languages))
    lines.pair("codebook written by", f"nefkit {__version__}")
    lines.heading("Notes: caveats and unverified facts")
    if instrument.notes:
        lines.table(["#", "note"], [[n, note] for n, note in enumerate(instrument.notes, 1)])
    else:
        lines.note("The definition gives no notes.")
    lines.heading("Instructions to respondents")
    if instrument.instructions:
        lines.pair("instructions", instrument.instructions)
    else:
        lines.note("The definition gives no instructions.")
    lines.heading("Sheets")
    for name, what in SHEETS.items():
        lines.pair(name.capitalize(), f"{what} ({len(tables[name])})")
    lines.write()
