"""The contract a renderer fulfils. Renderers themselves are plugins (``nefkit_csv``, ...)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Optional

from pydantic import BaseModel, ConfigDict, Field

from .errors import NefkitError

if TYPE_CHECKING:
    from .analysis import Analysis
    from .info_sheet import InfoSheet
    from .instrument import Instrument
    from .plan import Plan
    from .results import Results


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


class Renderer(ABC):
    """Writes scored results to one file format.

    ``format`` names it for ``--format``; ``extensions`` (with the dot, lower case) choose it from
    an output file name. ``render`` gets the results of one instrument, or of several when
    ``many`` is true (a client report across PHQ-9, GAD-7 and NEQ, say). It must consume each
    ``results.rows`` as an iterator, once, so that a large dataset streams through.
    """

    format: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]
    summary: ClassVar[str]
    many: ClassVar[bool] = False
    # An engine may write this format itself in this renderer's place (Results.write_native),
    # because its output is defined to the byte (a CSV, a Parquet table) and tested equal.
    native: ClassVar[bool] = False

    @abstractmethod
    def render(self, results: Sequence[Results], path: Path, options: RenderOptions) -> None:
        """Write ``results`` to ``path``."""

    def write_analysis(self, analysis: Analysis, path: Path, options: RenderOptions) -> None:
        """Write the psychometrics of a dataset (``nefkit analyze``). Optional."""
        raise NefkitError(f"the {self.format} format does not write analyses")

    def write_codebook(self, plan: Plan, path: Path) -> None:
        """Write a printable codebook of an instrument (``nefkit codebook``). Optional."""
        raise NefkitError(f"the {self.format} format does not write codebooks")

    def write_definition(self, instrument: Instrument, path: Path) -> None:
        """Write an instrument definition for editing outside nefkit, in a shape the same
        format's reader turns back into the definition (``nefkit export-definition``)."""
        raise NefkitError(f"the {self.format} format does not hold instrument definitions")

    def write_info_sheet(self, sheet: InfoSheet, path: Path) -> None:
        """Write a client information sheet (see :mod:`nefkit.info_sheet`). Optional."""
        raise NefkitError(f"the {self.format} format does not write information sheets")

    def write_template(self, instrument: Instrument, path: Path) -> None:
        """Write a blank data-entry file that ``nefkit score`` reads back without edits.
        Optional: formats that cannot hold one keep this default."""
        raise NefkitError(f"the {self.format} format does not write data-entry templates")
