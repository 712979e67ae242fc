"""The Excel renderer as nefkit sees it. The work is in :mod:`.workbook` and :mod:`.template`,
imported when a workbook is written, so that choosing another format never loads XlsxWriter."""

from __future__ import annotations

from pathlib import Path

from nefkit.documents import Codebook, Definition, Document, Psychometrics, Scores, Template
from nefkit.renderers import Renderer, RenderOptions


class XlsxRenderer(Renderer):
    """Scores, the answers as received, change, a cohort summary, problems, the codebook and
    where it all came from, one sheet each, for one or several instruments."""

    format = "xlsx"
    extensions = (".xlsx",)
    summary = (
        "Excel workbook: scores, responses, change, summary, problems, codebook and provenance."
    )
    writes = (Scores, Template, Definition, Psychometrics, Codebook)
    many = True

    def write(self, document: Document, path: Path, options: RenderOptions) -> None:
        """Scores (:mod:`.workbook`); a data-entry sheet with drop-downs of the valid answers
        that ``nefkit score`` reads back without edits (:mod:`.template`); a definition to edit,
        which the reader turns back into the same definition (:mod:`.definition`); item, effect,
        score and reliability tables, every figure a number (:mod:`.analysis`); a codebook, one
        sheet per table (:mod:`.codebook`)."""
        if isinstance(document, Scores):
            from .workbook import write_workbook

            write_workbook(document.results, path, options)
        elif isinstance(document, Template):
            from .template import write_template

            write_template(document.plan, path)
        elif isinstance(document, Definition):
            from .definition import write_definition

            write_definition(document.instrument, path)
        elif isinstance(document, Psychometrics):
            from .analysis import write_analysis

            write_analysis(document.analysis, path)
        else:
            from .codebook import write_codebook

            write_codebook(document.plan, path)
