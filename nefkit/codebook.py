"""An instrument's codebook as plain tables (lists of ordered dicts): items, scales, scores with
their rule and missing-data policy, flags and change rules. Renderers lay these out; nothing here
knows a file format."""

from __future__ import annotations

from typing import Any

from .definitions.instrument import Instrument
from .definitions.plan import Plan


def _params(params: Any) -> str:
    return "; ".join(f"{k} = {v}" for k, v in params.model_dump(exclude_defaults=True).items())


def item_table(instrument: Instrument) -> list[dict[str, Any]]:
    """One row per question: its column, wording, answers and when it is asked."""
    return [
        {
            "column": item.id,
            "question": item.text,
            "type": item.type.replace("_", "/"),
            "answers": "; ".join(f"{v} = {label}" for v, label in instrument.choices(item))
            or ("free text" if item.type == "text" else _number_range(item)),
            "asked when": item.when or "always",
            "may be skipped": "yes" if item.optional else "no",
            "scored": "yes" if item.scored else "no",
            "note": item.note,
        }
        for item in instrument.items
    ]


STATISTICS = {
    "percent_experienced": "% experienced",
    "percent_attributed_to_treatment": "% attributed to treatment",
    "mean": "mean",
    "sd": "SD",
}


def norm_table(instrument: Instrument) -> list[dict[str, Any]]:
    """One row per published figure; ``verified`` stays a bool, for each format to word."""
    about = {item.id: item.text for item in instrument.items}
    about |= {score.id: score.label for score in instrument.scores}
    return [
        {
            "target": norm.target,
            "about": about.get(norm.target, ""),
            "statistic": STATISTICS.get(norm.statistic, norm.statistic),
            "value": norm.value,
            "population": norm.population,
            "source": norm.source,
            "n": norm.n,
            "verified": norm.verified,
            "note": norm.note,
        }
        for norm in instrument.norms
    ]


def codebook(plan: Plan) -> dict[str, list[dict[str, Any]]]:
    scores = [
        {
            "score": step.score.id,
            "label": step.score.label,
            "rule": step.rule.name,
            "what it computes": step.rule.summary,
            "from": ", ".join(step.inputs),
            "parameters": _params(step.params),
            "missing answers": step.rule.missing_policy(step.params),
        }
        for step in plan.steps
    ]
    flags = [
        {
            "flag": step.flag.id,
            "label": step.flag.label,
            "level": step.flag.level,
            "raised when": step.flag.when,
            "action": step.flag.action,
        }
        for step in plan.flags
    ]
    changes = [
        {
            "change": step.change.id,
            "label": step.change.label,
            "score": step.change.score,
            "rule": step.rule.name,
            "what it computes": step.rule.summary,
            "parameters": _params(step.params),
        }
        for step in plan.changes
    ]
    tables = {"items": item_table(plan.instrument), "scores": scores}
    return tables | {"flags": flags, "changes": changes}


def _number_range(item) -> str:
    kind = "whole number" if item.integer else "number"
    low = "" if item.min is None else f" from {item.min}"
    high = "" if item.max is None else f" to {item.max}"
    return f"{kind}{low}{high}"
