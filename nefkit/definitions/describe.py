"""Plain-text description of an instrument for ``nefkit show``."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from .instrument import Instrument

if TYPE_CHECKING:
    from ..registry import Registry


def _wrap(text: str, indent: str = "  ") -> str:
    return textwrap.fill(text, width=96, initial_indent=indent, subsequent_indent=indent)


def describe_instrument(instrument: Instrument, registry: Registry) -> str:
    entry = registry.instruments.get(instrument.id)
    lines = [
        f"{instrument.title}",
        f"  id {instrument.id}, version {instrument.version}, languages {', '.join(instrument.languages)}",
        f"  content hash {instrument.content_hash}",
        f"  from {entry.origin if entry else 'a file'}",
        "",
        "Citation:",
        _wrap(instrument.citation),
        "Licence and permitted use:",
        _wrap(instrument.licence),
        "Source:",
        _wrap(instrument.source),
    ]
    if instrument.notes:
        lines += ["Notes:", *(_wrap(f"- {note}") for note in instrument.notes)]
    if instrument.instructions:
        lines += ["Instructions:", _wrap(instrument.instructions)]
    if instrument.scales:
        lines.append("Scales:")
        for name, scale in instrument.scales.items():
            choices = ", ".join(f"{c.value} = {c.label}" for c in scale.choices)
            lines.append(_wrap(f"{name}: {choices}"))
    lines.append(f"Items ({len(instrument.items)}):")
    for item in instrument.items:
        answers = f"scale {item.scale}" if item.scale else item.type.replace("_", "/")
        extra = "" if item.when is None else f"  [asked if {item.when}]"
        extra += "" if item.scored else "  [not scored]"
        lines.append(_wrap(f"{item.id}: {item.text} ({answers}){extra}"))
    if instrument.scores:
        lines.append("Scores:")
        for score in instrument.scores:
            inputs = _items_summary(score.items)
            lines.append(_wrap(f"{score.id}: {score.label} (rule {score.rule}{inputs})"))
            lines.append(_wrap(f"rule from {_rule_origin(registry, score.rule)}", "    "))
    if instrument.flags:
        lines.append("Flags:")
        for flag in instrument.flags:
            lines.append(_wrap(f"{flag.id} [{flag.level}]: {flag.label}, when {flag.when}"))
            if flag.action:
                lines.append(_wrap(f"action: {flag.action}", "    "))
    if instrument.changes:
        lines.append("Change between administrations:")
        for change in instrument.changes:
            lines.append(
                _wrap(f"{change.id}: {change.label} (rule {change.rule} on {change.score})")
            )
            lines.append(_wrap(f"rule from {_rule_origin(registry, change.rule)}", "    "))
    if instrument.norms:
        lines.append("Published figures:")
        for norm in instrument.norms:
            status = "" if norm.verified else " [UNVERIFIED]"
            lines.append(
                _wrap(
                    f"{norm.target} {norm.statistic} = {norm.value} in {norm.population}; {norm.source}{status}"
                )
            )
    return "\n".join(lines)


def _items_summary(items: list[str]) -> str:
    if not items:
        return ""
    if len(items) <= 4:
        return " over " + ", ".join(items)
    return f" over {len(items)} items, {items[0]} … {items[-1]}"


def _rule_origin(registry: Registry, name: str) -> str:
    """The plugin (and its version) that provides a rule: who to ask about its numbers."""
    return registry.rule_origins.get(name, "no installed plugin")
