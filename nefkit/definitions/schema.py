"""The JSON Schema of the definition format, with each installed rule's parameters: an editor
that reads it completes ``params = {...}`` for the rule a score names and flags a parameter the
rule does not take, as ``nefkit validate`` would."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic.json_schema import models_json_schema

from ..rules import ChangeRule, Rule, ScoringRule
from .instrument import Change, Instrument, Score

if TYPE_CHECKING:
    from ..registry import Registry


def definition_schema(registry: Registry) -> dict[str, Any]:
    rules = sorted(registry.rule_map.values(), key=lambda rule: rule.name)
    # One call for the format and every rule's model, so that names never collide in $defs.
    refs, schema = models_json_schema(
        [(Instrument, "validation"), *((rule.Params, "validation") for rule in rules)],
        ref_template="#/$defs/{model}",
    )
    definitions = schema["$defs"]
    top = definitions.pop(_name(refs[Instrument, "validation"]))
    for model, kind in ((Score, ScoringRule), (Change, ChangeRule)):
        mine = [rule for rule in rules if isinstance(rule, kind)]
        definition = definitions[model.__name__]
        definition["properties"]["rule"]["enum"] = [rule.name for rule in mine]
        definition["allOf"] = [_params_of(rule, refs[rule.Params, "validation"]) for rule in mine]
    return {**top, "$defs": definitions}


def _name(ref: dict[str, str]) -> str:
    return ref["$ref"].rsplit("/", 1)[1]


def _params_of(rule: Rule, ref: dict[str, str]) -> dict[str, Any]:
    """If ``rule`` is this rule, ``params`` follows its model."""
    return {
        "if": {"properties": {"rule": {"const": rule.name}}, "required": ["rule"]},
        "then": {"properties": {"params": {**ref, "description": rule.summary}}},
    }
