"""An instrument's codebook as a printable page (``nefkit codebook ID -o codebook.html``), for a
preregistration or an ethics application: what the instrument is, its licence and permitted use,
where it comes from, every caveat, the instructions, then the tables of
:func:`nefkit.codebook.codebook` (items, scores, flags, changes) and the published norms, each
figure marked verified or unverified in words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nefkit import Instrument, Plan
from nefkit.codebook import codebook, norm_table

# Plain words for a norm's statistic.
# Table name: (heading, what it holds, the key whose column heads each row).
TABLES = {
    "items": (
        "Items",
        "Each question: its column in the data, wording, answer codes and when it is asked.",
        "column",
    ),
    "scores": (
        "Scores",
        "Each score: its rule, what it computes, from which items, and what happens when answers are missing.",
        "score",
    ),
    "flags": (
        "Flags",
        "Alerts raised for one administration, and what to do when they are.",
        "flag",
    ),
    "changes": (
        "Change",
        "How change in a score between two administrations is classified.",
        "change",
    ),
    "norms": (
        "Published figures (norms)",
        "Figures from other samples, for orientation, with their population and source.",
        "target",
    ),
}


@dataclass
class Table:
    name: str
    heading: str
    description: str
    columns: list[str]
    rows: list[dict[str, Any]]
    key: str


@dataclass
class CodebookPage:
    instrument: Instrument
    nefkit_version: str
    tables: list[Table]


def build(plan: Plan) -> CodebookPage:
    import nefkit

    tables = codebook(plan)
    tables["norms"] = [
        row | {"n": "" if row["n"] is None else row["n"]} for row in norm_table(plan.instrument)
    ]
    shown = []
    for name, rows in tables.items():
        heading, description, key = TABLES.get(name, (name.capitalize(), "", ""))
        columns = list(rows[0]) if rows else []
        shown.append(Table(name, heading, description, columns, rows, key))
    return CodebookPage(plan.instrument, nefkit.__version__, shown)
