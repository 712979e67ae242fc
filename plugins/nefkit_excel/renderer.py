"""The Excel renderer as nefkit sees it. The work is in :mod:`.workbook` and :mod:`.template`,
imported when a workbook is written, so that choosing another format never loads openpyxl."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nefkit.instrument import Instrument
from nefkit.renderers import Renderer, RenderOptions
from nefkit.results import Results


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

    def write_template(self, instrument: Instrument, path: Path) -> None:
        """An Excel data-entry sheet with drop-downs of the valid answers, which ``nefkit
        score`` reads back without edits."""
        from .template import write_template

        write_template(instrument, path)
