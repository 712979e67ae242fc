"""A problem found in an instrument definition, located precisely enough to fix it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from ..terminal import safe


class Problem(BaseModel):
    file: str
    where: str = ""
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f": {self.where}" if self.where else ""
        # Shown in a terminal and in error messages; the where and the message may quote a
        # definition's own text.
        return safe(f"{self.file}{where}: {self.message}")


def describe_location(loc: tuple, data: Any) -> str:
    """``("items", 3, "scale")`` becomes ``item "neq04" › scale`` (or ``item #4`` without an id)."""
    parts: list[str] = []
    node = data
    for i, key in enumerate(loc):
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            element = node[key]
            kind = str(loc[i - 1]).rstrip("s") if i else "entry"
            ident = element.get("id") if isinstance(element, dict) else None
            label = f'{kind} "{ident}"' if isinstance(ident, str) else f"{kind} #{key + 1}"
            parts[-1:] = [label] if parts and parts[-1] == str(loc[i - 1]) else [*parts, label]
            node = element
        elif parts and parts[-1] == "scales" and isinstance(key, str):
            parts[-1] = f'scale "{key}"'
            node = node.get(key) if isinstance(node, dict) else None
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return " › ".join(parts)
