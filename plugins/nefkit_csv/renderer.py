from __future__ import annotations

import csv
from pathlib import Path

from nefkit import Instrument
from nefkit.codebook import item_table
from nefkit.documents import Document, Scores, Template
from nefkit.renderers import Renderer, RenderOptions
from nefkit.tabular import (
    FORMULA_START,
    change_columns,
    change_record,
    csv_row,
    entry_columns,
    outside_text,
    score_columns,
    score_record,
)


class CsvRenderer(Renderer):
    """One row per administration (see :func:`nefkit.tabular.score_columns`); change scores,
    when there are any, go to ``<name>-changes.csv``, and where every number came from (the
    definition, each rule's plugin, this renderer, nefkit) to ``<name>-provenance.json``."""

    format = "csv"
    extensions = (".csv",)
    summary = "Scores as CSV, one row per administration; changes and provenance beside it."
    writes = (Scores, Template)
    native = True  # an engine may write it itself: the bytes are defined here, and tested

    def write(self, document: Document, path: Path, options: RenderOptions) -> None:
        if isinstance(document, Template):
            _template(document.plan.instrument, path)
        else:
            _scores(document, path)


def _scores(document: Scores, path: Path) -> None:
    [results] = document.results
    # Formula-safe: the header (it names context columns from the user's file) and every cell
    # that may hold outside text; checked in place, as it runs for every row of a large file.
    outside = outside_text(results)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_row(score_columns(results)))
        for row in results.rows:
            record = score_record(results, row)
            for i in outside:
                value = record[i]
                if value.__class__ is str and value[:1] in FORMULA_START:
                    record[i] = "'" + value
            writer.writerow(record)
    provenance = path.with_name(f"{path.stem}-provenance.json")
    provenance.write_text(results.provenance.model_dump_json(indent=2) + "\n", encoding="utf-8")
    if results.changes:
        changes = path.with_name(f"{path.stem}-changes{path.suffix}")
        with open(changes, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(csv_row(change_columns()))
            for change in results.changes:
                writer.writerow(csv_row(change_record(results, change)))


def _template(instrument: Instrument, path: Path) -> None:
    """The header line ``nefkit score`` expects, and the codebook beside it as
    ``<name>-codebook.csv`` (question, answer codes and labels, when it is asked)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow(csv_row(entry_columns(instrument)))
    book = item_table(instrument)
    with open(
        path.with_name(f"{path.stem}-codebook{path.suffix}"), "w", encoding="utf-8", newline=""
    ) as handle:
        writer = csv.writer(handle)
        writer.writerow(csv_row(book[0]))
        for row in book:
            writer.writerow(csv_row(row.values()))
