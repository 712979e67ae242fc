"""What the command modules share besides their options (see options.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from ..registry import Registry


def registry_for(instrument_paths: Sequence[Path] = ()) -> Registry:
    """Every plugin's registrations, with the user's own definitions (``--instruments``)."""
    from ..registry import build_registry

    return build_registry(instrument_paths)
