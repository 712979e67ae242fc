from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from nefkit.renderers import Renderer
from nefkit.results import Results, ScoredRow


def _default(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return str(value)  # NOT_ASKED and anything else a plugin may put in context


class JsonRenderer(Renderer):
    """One JSON document: provenance, then every row (streamed), then changes and problems."""

    format = "json"
    extensions = (".json",)
    summary = "Scores, changes, problems and provenance as one JSON document."

    def render(self, results: Results, path: Path) -> None:
        dumps = lambda value: json.dumps(value, default=_default, ensure_ascii=False)  # noqa: E731
        with open(path, "w", encoding="utf-8") as out:
            out.write('{"provenance": ' + results.provenance.model_dump_json() + ',\n"rows": [')
            for index, row in enumerate(results.rows):
                out.write(("," if index else "") + "\n" + dumps(self._row(row)))
            out.write(
                '\n],\n"changes": '
                + dumps(
                    [
                        {**{k: getattr(c, k) for k in c.__slots__}, "difference": c.difference}
                        for c in results.changes
                    ]
                )
            )
            out.write(
                ',\n"problems": '
                + dumps(
                    [
                        {"row": p.row, "column": p.column, "value": p.value, "reason": p.reason}
                        for p in results.problems
                    ]
                )
                + "}\n"
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
