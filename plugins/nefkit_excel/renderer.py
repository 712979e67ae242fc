"""The Excel renderer as nefkit sees it. The work is in :mod:`.workbook` and :mod:`.template`,
imported when a workbook is written, so that choosing another format never loads openpyxl."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nefkit.instrument import Instrument
from nefkit.renderers import Renderer, RenderOptions
from nefkit.results import Results

if TYPE_CHECKING:
    from nefkit.analysis import Analysis
    from nefkit.plan import Plan


class XlsxRenderer(Renderer):
    """Scores, the answers as received, change, a cohort summary, problems, the codebook and
    where it all came from, one sheet each, for one or several instruments."""

    format = "xlsx"
    extensions = (".xlsx",)
    summary = (
        "Excel workbook: scores, responses, change, summary, problems, codebook and provenance."
    )
    many = True

    def render(self, batch: Sequence[Results], path: Path, options: RenderOptions) -> None:
        from .workbook import write_workbook

        write_workbook(batch, path, options)

    def write_definition(self, instrument: Instrument, path: Path) -> None:
        """The definition as a workbook to edit (settings, choices, items, scores... sheets,
        after a Read me), which the reader turns back into the same definition."""
        from .definition import write_definition

        write_definition(instrument, path)

    def write_template(self, instrument: Instrument, path: Path) -> None:
        """An Excel data-entry sheet with drop-downs of the valid answers, which ``nefkit
        score`` reads back without edits."""
        from .template import write_template

        write_template(instrument, path)

    def write_analysis(self, analysis: Analysis, path: Path, options: RenderOptions) -> None:
        """Item, effect, score and reliability tables, the inter-item correlations and the
        methods, one sheet each, every figure a number (see :mod:`.analysis`)."""
        from .analysis import write_analysis

        write_analysis(analysis, path)

    def write_codebook(self, plan: Plan, path: Path) -> None:
        """An About sheet (licence, citation, caveats), then items, scores, flags, changes and
        norms, one sheet each (see :mod:`.codebook`)."""
        from .codebook import write_codebook

        write_codebook(plan, path)
