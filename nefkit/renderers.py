"""The contract a renderer fulfils. Renderers themselves are plugins (``nefkit_csv``, ...)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Optional

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from .documents import Document


class RenderOptions(BaseModel):
    """Choices a person makes about a report; a renderer uses those that apply to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    respondent: Optional[str] = Field(
        None, description="Only this respondent's administrations: a client report."
    )
    by: Optional[str] = Field(None, description="A context column to break cohort figures down by.")
    min_cell: int = Field(
        5, ge=1, description="Hide any breakdown group with fewer respondents than this."
    )
    templates: Optional[Path] = Field(
        None, description="A directory of templates that override the renderer's own."
    )
    plugin_templates: tuple[Any, ...] = Field(
        (), description="Template directories from plugins (register_templates), in order."
    )
    # Typed loosely: nefkit.trajectories reads definitions, which write through the renderers.
    expected: tuple[Any, ...] = Field(
        (),
        description="Expected courses (nefkit.trajectories.ExpectedCourse, from nefkit"
        " trajectories fit): a client report draws the range expected at each administration"
        " behind the client's scores.",
    )


class Renderer(ABC):
    """Writes documents of some kinds (see :mod:`nefkit.documents`) in one file format.

    ``format`` names it for ``--format``; ``extensions`` (with the dot, lower case) choose it from
    an output file name; ``writes`` lists the kinds of document it writes, and ``write`` gets
    only those. For :class:`~nefkit.documents.Scores` it gets one instrument's results, or
    several when ``many`` is true.
    """

    format: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]
    summary: ClassVar[str]
    writes: ClassVar[tuple[type[Document], ...]]
    many: ClassVar[bool] = False
    # An engine may write this format itself in this renderer's place (Results.write_native),
    # because its output is defined to the byte (a CSV, a Parquet table) and tested equal.
    native: ClassVar[bool] = False

    @abstractmethod
    def write(self, document: Document, path: Path, options: RenderOptions) -> None:
        """Write ``document``, an instance of one of the kinds in ``writes``, to ``path``."""
