"""The contract a renderer fulfils. Renderers themselves are plugins (``nefkit_csv``, ...)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from .results import Results


class Renderer(ABC):
    """Writes scored results to one file format.

    ``format`` names it for ``--format``; ``extensions`` (with the dot, lower case) choose it from
    an output file name. ``render`` must consume ``results.rows`` as an iterator, once, so that a
    large dataset streams through without being held in memory.
    """

    format: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]
    summary: ClassVar[str]

    @abstractmethod
    def render(self, results: Results, path: Path) -> None:
        """Write ``results`` to ``path``."""
