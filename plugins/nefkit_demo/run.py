from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from importlib.resources import as_file, files
from pathlib import Path

import nefkit
from nefkit.renderers import RenderOptions
from nefkit.trajectories import loads

INSTRUMENTS = ("phq-9", "gad-7", "neq-20", "therapy-reflection")
CLIENT = "C005"  # deteriorates, and endorses PHQ-9 item 9 at session 3


def run_demo(output_dir: Path) -> Iterator[str]:
    """Score the demo clinic's data every way nefkit can, and keep it in a clinic database."""
    output_dir.mkdir(parents=True, exist_ok=True)
    registry = nefkit.get_registry()
    with ExitStack() as stack:
        data = {
            i: stack.enter_context(as_file(files(__package__) / "data" / f"{i}.csv"))
            for i in INSTRUMENTS
        }

        def score(instrument_id):
            return nefkit.score(instrument_id, data[instrument_id], registry)

        for instrument_id in INSTRUMENTS:
            out = output_dir / f"{instrument_id}-scores.csv"
            results = score(instrument_id)
            flags, statuses = Counter(), Counter()
            results.rows = _watch(results.rows, flags, statuses)
            nefkit.render(results, out, reg=registry)
            yield f"{instrument_id}: wrote {out}"
            yield from _summary(results, flags, statuses)
        expected = _expected(score("phq-9"), output_dir / "phq-9-expected.toml")
        yield f"wrote {expected}"
        course = loads(expected.read_text(encoding="utf-8"))
        reports = (
            ("demo-clinic.xlsx", RenderOptions()),
            ("cohort-report.html", RenderOptions(by="format", min_cell=4)),
            (f"client-report-{CLIENT}.html", RenderOptions(respondent=CLIENT, expected=(course,))),
        )
        for name, options in reports:
            nefkit.render(
                [score(i) for i in INSTRUMENTS], output_dir / name, options=options, reg=registry
            )
            yield f"wrote {output_dir / name}"
        yield from _clinic(registry, data, output_dir / "clinic.db", expected)


def _expected(results, path: Path) -> Path:
    """The expected course of the PHQ-9 total, as `nefkit trajectories fit` fits it: twelve
    clients are few, so two intake groups and cells of three. A demo only: a service fits on
    its own past clients, not on those it then checks."""
    from nefkit.trajectories import dumps, fit

    path.write_text(
        dumps(fit(results, "total", groups="quantiles", quantiles=2, min_cell=3)),
        encoding="utf-8",
    )
    return path


def _clinic(registry, data, db: Path, expected: Path) -> Iterator[str]:
    """The same forms entered into a clinic database, as `nefkit record --file --expected`
    would."""
    from nefkit import Clinic, open_store, record_file

    for suffix in ("", "-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    store = open_store(db, create=True)
    try:
        clinic = Clinic(store, registry, "demo")
        text = expected.read_text(encoding="utf-8")
        clinic.use_expected(loads(text), text, str(expected))
        for instrument_id in INSTRUMENTS:
            record_file(clinic, instrument_id, data[instrument_id])
        alerts = store.alerts()
        clients = store.clients()
    finally:
        store.close()
    yield f"wrote {db}: {len(clients)} clients, {len(alerts)} open alerts"
    yield f"  try: nefkit alerts --db {db}    nefkit history --client {CLIENT} --db {db}"


def _watch(rows, flags: Counter, statuses: Counter):
    for row in rows:
        statuses["invalid" if row.problems else "scored"] += 1
        for flag_id, raised in row.flags.items():
            if raised:
                flags[flag_id] += 1
        yield row


def _summary(results, flags: Counter, statuses: Counter) -> Iterator[str]:
    yield f"  {statuses['scored']} administrations scored, {statuses['invalid']} invalid"
    labels = {step.flag.id: step.flag.label for step in results.plan.flags}
    for flag_id, count in flags.items():
        yield f"  flag '{labels[flag_id]}': raised {count} times"
    deteriorated = sorted(
        {
            c.respondent_id
            for c in results.changes
            if c.comparison == "baseline to latest" and c.classification == "reliably deteriorated"
        }
    )
    if results.changes:
        yield f"  reliably deteriorated from first to latest session: {', '.join(deteriorated) or 'nobody'}"
