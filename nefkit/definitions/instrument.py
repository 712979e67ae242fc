"""The instrument definition format: pydantic models that a TOML file must fit exactly.

These models check shape and types (unknown keys are rejected everywhere). Checks that need the
whole definition or the registered scoring rules, such as an item id used twice or a score naming
an unknown rule, live in :mod:`nefkit.definitions.checks`.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from typing import Annotated, Any, Literal, Optional

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictFloat,
    StrictInt,
    StringConstraints,
)

from ..errors import NefkitError

ItemId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
InstrumentId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)]
Text = Annotated[str, StringConstraints(min_length=1)]
ItemType = Literal["choice", "yes_no", "multiple", "number", "text"]

YES_NO_CHOICES = ((0, "No"), (1, "Yes"))


class Model(BaseModel):
    """Base of every definition model: unknown keys are errors, values are never coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Choice(Model):
    value: StrictInt = Field(description="The code stored and scored for this answer.")
    label: Text = Field(description="The answer as the respondent reads it.")


class Scale(Model):
    """A named list of answer options shared by several items."""

    choices: list[Choice] = Field(min_length=1)
    description: str = ""


class Item(Model):
    """One question. A follow-up is an item with a ``when`` condition on earlier answers."""

    id: ItemId
    text: Text
    type: ItemType = "choice"
    scale: Optional[str] = Field(None, description="Scale name, for choice and multiple items.")
    when: Optional[str] = Field(None, description="Ask only when this condition holds.")
    optional: bool = Field(False, description="The respondent may skip it.")
    min: Optional[StrictInt | StrictFloat] = Field(None, description="Smallest number allowed.")
    max: Optional[StrictInt | StrictFloat] = Field(None, description="Largest number allowed.")
    integer: bool = Field(True, description="Number items: whole numbers only.")
    scored: bool = Field(True, description="False for questions asked but never scored.")
    note: str = Field("", description="For researchers: provenance, caveats, what is unverified.")


class Score(Model):
    """A value computed from answers (or from an earlier score) by a named scoring rule."""

    id: ItemId
    label: Text
    rule: Text
    items: list[ItemId] = Field(default_factory=list)
    params: dict[str, Any] = Field(default_factory=dict)
    description: str = ""


class Flag(Model):
    """An alert raised for one administration when its condition holds."""

    id: ItemId
    label: Text
    when: Text
    level: Literal["risk", "warning", "info"] = "warning"
    action: str = Field("", description="What the clinician should do when it is raised.")


class Change(Model):
    """How change in a score between two administrations is classified."""

    id: ItemId
    label: Text
    score: ItemId
    rule: Text
    params: dict[str, Any] = Field(default_factory=dict)
    description: str = ""


class Norm(Model):
    """A published figure for an item or a score, with where it comes from."""

    target: ItemId = Field(description="The item or score id the figure is about.")
    statistic: Literal["percent_experienced", "percent_attributed_to_treatment", "mean", "sd"]
    value: StrictInt | StrictFloat
    population: Text
    plain_population: str = Field(
        "", description="The population in words a client understands, for information sheets."
    )
    source: Text
    n: Optional[StrictInt] = None
    verified: bool = Field(description="False when the figure was not checked in the source.")
    note: str = ""


class Example(Model):
    """A golden case: answers, and the scores and flags they must give."""

    label: Text
    answers: dict[str, Any] = Field(default_factory=dict, description="Item id: code or label.")
    fill: Optional[StrictInt | str] = Field(
        None, description="The answer to every unlisted question that is always asked."
    )
    expected: dict[str, Any] = Field(
        default_factory=dict, description='Score id: value, or "not scorable".'
    )
    flags: dict[str, bool | Literal["unknown"]] = Field(
        default_factory=dict,
        description='Flag id: raised (true), not (false), or "unknown" (an answer is missing).',
    )


class Translation(Model):
    """The texts of a definition in one more language; codes and scoring stay the same."""

    title: Optional[Text] = None
    instructions: Optional[str] = None
    items: dict[ItemId, Text] = Field(default_factory=dict, description="Item id: question.")
    scales: dict[str, list[Text]] = Field(
        default_factory=dict, description="Scale name: its labels, in the scale's order."
    )
    yes_no: Optional[list[Text]] = Field(
        None, min_length=2, max_length=2, description='The words for "No" and "Yes".'
    )


class Instrument(Model):
    """A complete instrument definition."""

    id: InstrumentId
    version: Text
    title: Text
    citation: Text
    licence: Text
    source: Text
    languages: list[Text] = Field(default_factory=lambda: ["en"], min_length=1)
    instructions: str = ""
    notes: list[str] = Field(default_factory=list, description="Caveats, e.g. unverified facts.")
    scales: dict[str, Scale] = Field(default_factory=dict)
    items: list[Item] = Field(default_factory=list)
    scores: list[Score] = Field(default_factory=list)
    flags: list[Flag] = Field(default_factory=list)
    changes: list[Change] = Field(default_factory=list)
    norms: list[Norm] = Field(default_factory=list)
    examples: list[Example] = Field(
        default_factory=list, description="Golden cases: nefkit validate --check-examples."
    )
    translations: dict[str, Translation] = Field(
        default_factory=dict, description="Texts in the other languages listed in languages."
    )
    _source: Optional[Instrument] = PrivateAttr(None)  # the definition a translation came from

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the definition's canonical JSON: results carry it so a number can be traced
        to the exact definition that produced it (comments and layout of the file don't count)."""
        if self._source is not None:
            return self._source.content_hash
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()

    @cached_property
    def item_map(self) -> dict[str, Item]:
        return {item.id: item for item in self.items}

    def in_language(self, language: Optional[str]) -> Instrument:
        """The definition with its texts in ``language`` (None or the first language: itself).
        Its content hash stays the definition's: it is the same instrument."""
        if language is None or language == self.languages[0]:
            return self
        if language not in self.translations:
            raise NefkitError(
                f"{self.id} is not available in '{language}'; it has {', '.join(self.languages)}"
            )
        t = self.translations[language]
        scales = {
            name: scale.model_copy(
                update={
                    "choices": [
                        c.model_copy(update={"label": label})
                        for c, label in zip(scale.choices, t.scales.get(name) or [], strict=False)
                    ]
                    or scale.choices
                }
            )
            for name, scale in self.scales.items()
        }
        items = [i.model_copy(update={"text": t.items.get(i.id, i.text)}) for i in self.items]
        localized = self.model_copy(
            update={
                "title": t.title or self.title,
                "instructions": t.instructions if t.instructions is not None else self.instructions,
                "scales": scales,
                "items": items,
                "languages": [language],
                "translations": {},
            }
        )
        localized._source = self
        localized._yes_no = tuple(zip((0, 1), t.yes_no)) if t.yes_no else YES_NO_CHOICES
        return localized

    _yes_no: tuple[tuple[int, str], ...] = PrivateAttr(YES_NO_CHOICES)

    def choices(self, item: Item) -> tuple[tuple[int, str], ...]:
        """The (code, label) pairs an item accepts; empty for number and text items."""
        if item.type == "yes_no":
            return self._yes_no
        if item.type in ("choice", "multiple") and item.scale in self.scales:
            return tuple((c.value, c.label) for c in self.scales[item.scale].choices)
        return ()
