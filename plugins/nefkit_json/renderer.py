from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from nefkit.documents import Document, Scores
from nefkit.renderers import Renderer, RenderOptions
from nefkit.results import Results, ScoredRow


def _dumps(value) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False)


def _default(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return str(value)  # NOT_ASKED and anything else a plugin may put in context


class JsonRenderer(Renderer):
    """One JSON document per instrument: provenance, then every row (streamed), then changes
    and problems. Several instruments make a JSON list of such documents."""

    format = "json"
    extensions = (".json",)
    summary = "Scores, changes, problems and provenance as one JSON document."
    writes = (Scores,)
    many = True

    def write(self, document: Document, path: Path, options: RenderOptions) -> None:
        batch = document.results
        with open(path, "w", encoding="utf-8") as out:
            if len(batch) > 1:
                out.write("[")
            for index, results in enumerate(batch):
                out.write(",\n" if index else "")
                self._document(results, out)
            out.write("]\n" if len(batch) > 1 else "\n")

    def _document(self, results: Results, out) -> None:
        out.write('{"provenance": ' + results.provenance.model_dump_json() + ',\n"rows": [')
        for index, row in enumerate(results.rows):
            out.write(("," if index else "") + "\n" + _dumps(self._row(row)))
        changes = [
            {**{k: getattr(c, k) for k in c.__slots__}, "difference": c.difference}
            for c in results.changes
        ]
        problems = [
            {"row": p.row, "column": p.column, "value": p.value, "reason": p.reason}
            for p in results.problems
        ]
        out.write(
            '\n],\n"changes": ' + _dumps(changes) + ',\n"problems": ' + _dumps(problems) + "}"
        )

    @staticmethod
    def _row(row: ScoredRow) -> dict:
        return {
            "row": row.row,
            "respondent_id": row.respondent_id,
            "administered_at": row.administered_at,
            "session": row.session,
            "context": row.context,
            "status": "scored" if row.valid else "invalid",
            "scores": {
                score_id: {
                    "value": r.value,
                    "status": r.status,
                    "answered": r.answered,
                    "reason": r.reason,
                }
                for score_id, r in row.scores.items()
            },
            "flags": row.flags,
            "problems": [
                {"column": p.column, "value": p.value, "reason": p.reason} for p in row.problems
            ],
        }
