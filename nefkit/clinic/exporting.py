"""The store seen as data: a table per instrument that the scoring engine reads like a file,
results for reports, and a full export for analysis."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Optional

from .. import api
from ..definitions.plan import Plan
from ..engines import Progress
from ..errors import NefkitError
from ..outputs import written_whole
from ..readers import Table
from ..registry import Registry
from ..results import Acknowledgement, Results
from ..scoring.rows import score_table
from ..stores import Store
from .alerts import ALERT_KINDS


def store_table(plan: Plan, store: Store, client: Optional[str] = None) -> Table:
    """Finished, not voided administrations of one instrument as a wide table; its row numbers
    are administration ids, so a problem names the administration to correct."""
    administrations = [
        a for a in store.administrations(client, plan.instrument.id) if a.finished_at
    ]
    context = sorted({key for a in administrations for key in a.context})
    items = [item.id for item in plan.items]
    columns = ["respondent_id", "administered_at", "session", *context, *items]
    rows = (
        (
            a.id,
            [
                a.client,
                a.administered_at,
                a.session,
                *(a.context.get(k) for k in context),
                *(a.answers.get(i) for i in items),
            ],
        )
        for a in administrations
    )
    return Table(f"{store.path} (row numbers are administration ids)", columns, rows)


def results_from_store(
    registry: Registry,
    store: Store,
    client: Optional[str],
    instrument_ids: Sequence[str] = (),
    language: Optional[str] = None,
    progress: Optional[Progress] = None,
) -> list[Results]:
    """Each instrument's finished administrations scored, with the alerts clinicians have
    acknowledged (who, when, their note) for reports to show. ``progress`` is told how many
    rows of each are scored, as they are."""
    present = sorted({a.instrument for a in store.administrations(client) if a.finished_at})
    acknowledged = [
        a
        for a in store.alerts(open_only=False)
        if a.acknowledged_at and (client is None or a.client == client)
    ]
    results = []
    for instrument_id in instrument_ids or present:
        plan = api.get_plan(instrument_id, registry, language)
        scored = score_table(plan, store_table(plan, store, client), progress)
        scored.acknowledgements = [
            Acknowledgement(
                a.administration,
                f"{ALERT_KINDS.get(a.kind, a.kind.upper())}: {a.label}",
                a.acknowledged_by,
                a.acknowledged_at,
                a.note,
                a.close_reason,
            )
            for a in acknowledged
            if a.instrument == instrument_id
        ]
        results.append(scored)
    return results


def cohort_sizes(store: Store) -> dict[str, int]:
    """Per instrument, how many clients have a finished administration of it that is not
    voided: the people whose answers a cohort report's figures for it are made of."""
    clients: dict[str, set[str]] = {}
    for administration in store.administrations():
        if administration.finished_at:
            clients.setdefault(administration.instrument, set()).add(administration.client)
    return {instrument: len(names) for instrument, names in clients.items()}


def export_all(
    registry: Registry,
    store: Store,
    directory: Path,
    progress: Optional[Callable[[int, int], None]] = None,
) -> Iterator[str]:
    """Per instrument the scores (through the CSV renderer, with changes and provenance), then
    every administration with its answers, the answer history, alerts and the audit trail.
    Every file is its owner's alone (0600), and so is the folder (0700) when the export makes
    it; a folder that exists already is the user's, and keeps its permissions.

    ``progress`` is told how many steps of how many are done: an administration scored, or
    written with its answers, or with its history (alerts and the audit trail are quick)."""
    if directory.exists() and not directory.is_dir():
        raise NefkitError(f"{directory} is a file; give a folder to export into")
    if not directory.exists():
        # The mode is only narrowed by the umask, never widened.
        directory.mkdir(mode=0o700, parents=True)
    everything = list(store.administrations(include_voided=True))
    scored = sum(1 for a in everything if a.finished_at and not a.voided_at)
    total = scored + 2 * len(everything)
    done = 0  # steps before the instrument being scored

    def scoring(rows: int) -> None:
        if progress:
            progress(done + rows, total)

    def steps(administrations: Iterable, before: int) -> Iterator:
        for k, administration in enumerate(administrations):
            if progress:
                progress(before + k, total)
            yield administration

    for results in results_from_store(registry, store, None, progress=scoring):
        path = directory / f"{results.instrument.id}-scores.csv"
        api.render(results, path, reg=registry, private=True)
        done += results.row_count
        yield f"wrote {path}"
    tables = {
        "administrations": ({**vars(a), "status": a.status} for a in steps(everything, scored)),
        "answer-history": (
            {"administration": a.id, **vars(record)}
            for a in steps(everything, scored + len(everything))
            for record in store.answer_history(a.id)
        ),
        "alerts": (vars(alert) for alert in store.alerts(open_only=False)),
        "audit": iter(store.audit_log()),
    }
    for name, records in tables.items():
        path = directory / f"{name}.jsonl"
        with (
            written_whole(path, private=True) as staged,
            open(staged, "w", encoding="utf-8") as out,
        ):
            for record in records:
                out.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        yield f"wrote {path}"
