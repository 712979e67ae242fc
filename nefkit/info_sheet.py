"""A plain-language information sheet for clients, before treatment: the negative effects an
instrument asks about, how often people report them where a verified published figure exists
(with its source), and an invitation to raise them.

A figure nobody checked in its source is never shown to a client: it stays in the clinician's
codebook, marked unverified.

Built as data here; renderers that implement ``write_info_sheet`` lay it out."""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import NefkitError
from .plan import Plan
from .summary import effect_items

INTRODUCTION = (
    "Talking therapies help most people. Like any treatment, they can also have unwanted"
    " effects, usually passing, sometimes lasting. You have a right to know about them before"
    " you start, and to talk about them at any time."
)
INVITATION = (
    "If you notice any of these, or anything else that worries you, please raise it at any"
    " session. It will not be held against you, and it helps us adjust your treatment. We may"
    " also ask you about them with a short questionnaire during treatment."
)


@dataclass
class Figure:
    percent: float
    population: str  # in a client's words where the definition gives them
    source: int  # its number in InfoSheet.sources


@dataclass
class Effect:
    statement: str  # the questionnaire's own words
    figures: list[Figure] = field(default_factory=list)


@dataclass
class InfoSheet:
    title: str
    introduction: str
    effects: list[Effect]
    invitation: str
    instrument: str  # the questionnaire's title and citation
    sources: list[str]  # numbered from 1 in the figures


def build_info_sheet(plan: Plan) -> InfoSheet:
    instrument = plan.instrument
    items = effect_items(plan)
    if not items:
        raise NefkitError(
            f"{instrument.id} does not ask about the effects of treatment; an information sheet"
            " needs an instrument such as neq-20 or neq-32"
        )
    ids = {item.item_id for item in items}
    norms = [
        n
        for n in instrument.norms
        if n.statistic == "percent_experienced" and n.target in ids and n.verified
    ]
    sources = list(dict.fromkeys(n.source for n in norms))
    effects = []
    for item in items:
        figures = [
            Figure(n.value, n.plain_population or n.population, sources.index(n.source) + 1)
            for n in norms
            if n.target == item.item_id
        ]
        effects.append(Effect(item.text, figures))
    return InfoSheet(
        title="Possible unwanted effects of psychological treatment",
        introduction=INTRODUCTION,
        effects=effects,
        invitation=INVITATION,
        instrument=f"{instrument.title}. {instrument.citation}",
        sources=sources,
    )


def describe_figure(figure: Figure) -> str:
    """E.g. "About 58 in 100 people (57.8%) in a survey of ... reported this [2]"."""
    return (
        f"About {round(figure.percent)} in 100 people ({figure.percent:g}%) in"
        f" {figure.population} reported this [source {figure.source}]"
    )
