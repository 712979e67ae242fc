"""A plain-language information sheet for clients, before treatment: the negative effects an
instrument asks about, how often people report them where a verified published figure exists
(with its source), and an invitation to raise them.

A figure nobody checked in its source is never shown to a client: it stays in the clinician's
codebook, marked unverified.

Built as data here; renderers that write :class:`nefkit.documents.InformationSheet` lay it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from ..definitions.plan import Plan
from ..errors import NefkitError
from ..summary import effect_items

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
CRISIS = "If you ever feel unsafe, or in crisis, do not wait for your next session."
# nefkit never invents a contact: without the service's own, the client is sent to ask for it.
ASK_FOR_CONTACT = (
    "Ask your clinician for this service's crisis contact, and keep it where you can find it."
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
    crisis: str  # what to do in a crisis, in the service's words where it gave them
    instrument: str  # the questionnaire's title and citation
    sources: list[str]  # numbered from 1 in the figures


def build_info_sheet(plan: Plan, crisis_contact: Optional[str] = None) -> InfoSheet:
    """The sheet for an instrument that asks about negative effects; ``crisis_contact`` is the
    service's own (``--crisis-contact`` or the ``[clinic]`` setting)."""
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
        crisis=f"{CRISIS} {crisis_contact or ASK_FOR_CONTACT}",
        instrument=f"{instrument.title}. {instrument.citation}",
        sources=sources,
    )


def describe_figure(figure: Figure) -> str:
    """E.g. "About 58 in 100 people (57.8%) in a survey of ... reported this [2]"."""
    return (
        f"About {round(figure.percent)} in 100 people ({figure.percent:g}%) in"
        f" {figure.population} reported this [source {figure.source}]"
    )
