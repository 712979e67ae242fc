"""What a renderer writes: one class per kind of document, each holding everything its writer
needs, so that no renderer calls back into the host. A renderer says which kinds it writes
(``Renderer.writes``) and implements one ``write(document, path, options)``; a new kind of
document is a new class here, not a new method on every renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from .clinic.info_sheet import InfoSheet
    from .definitions.instrument import Instrument
    from .definitions.plan import Plan
    from .research.analysis import Analysis
    from .results import Results


class Document:
    """Base of the kinds of document; ``noun`` names the kind in messages (plural)."""

    noun: ClassVar[str]


@dataclass(frozen=True)
class Scores(Document):
    """Scored data (``nefkit score``, ``nefkit report``): one instrument's results, or several
    for a renderer whose ``many`` is true (a client report across PHQ-9, GAD-7 and NEQ). Each
    ``results.rows`` is an iterator: consume it once, so that a large dataset streams through."""

    noun = "scores"
    results: tuple[Results, ...]


@dataclass(frozen=True)
class Psychometrics(Document):
    """Item statistics, reliability and prevalence of a dataset (``nefkit analyze``)."""

    noun = "analyses"
    analysis: Analysis


@dataclass(frozen=True)
class Codebook(Document):
    """A printable codebook of an instrument: items, answers, scores, flags, norms, licence
    (``nefkit codebook``). The plan holds the instrument and each score's rule and output."""

    noun = "codebooks"
    plan: Plan


@dataclass(frozen=True)
class Template(Document):
    """A blank data-entry file that ``nefkit score`` reads back without edits (``nefkit
    template``); the plan is there for a codebook beside the entry sheet."""

    noun = "data-entry templates"
    plan: Plan


@dataclass(frozen=True)
class Definition(Document):
    """An instrument definition to edit outside nefkit, in a shape the same format's reader
    turns back into the definition (``nefkit export-definition``)."""

    noun = "instrument definitions"
    instrument: Instrument


@dataclass(frozen=True)
class InformationSheet(Document):
    """A plain-language sheet for clients on possible unwanted effects (``nefkit info-sheet``)."""

    noun = "information sheets"
    sheet: InfoSheet


# What the documents hold, for a renderer to read: the analysis's parts, the information
# sheet, and helpers to word them. Loaded on first use, as the documents themselves need none.
_CONTENTS = {
    "Analysis": "nefkit.research.analysis",
    "ItemAnalysis": "nefkit.research.analysis",
    "ScoreAnalysis": "nefkit.research.analysis",
    "Reliability": "nefkit.research.analysis",
    "InfoSheet": "nefkit.clinic.info_sheet",
    "describe_figure": "nefkit.clinic.info_sheet",
    "dumps_inline": "nefkit.definitions.toml",
}


def __getattr__(name: str):
    import importlib

    if name in _CONTENTS:
        return getattr(importlib.import_module(_CONTENTS[name]), name)
    raise AttributeError(f"module 'nefkit.documents' has no attribute {name!r}")
