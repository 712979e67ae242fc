from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from importlib.resources import as_file, files
from pathlib import Path

import nefkit

INSTRUMENTS = ("phq-9", "gad-7", "neq-20")


def run_demo(output_dir: Path) -> Iterator[str]:
    """Score each demo file to CSV and JSON, and say what a clinician would look at first."""
    output_dir.mkdir(parents=True, exist_ok=True)
    registry = nefkit.get_registry()
    for instrument_id in INSTRUMENTS:
        with as_file(files(__package__) / "data" / f"{instrument_id}.csv") as data:
            for suffix in (".csv", ".json"):
                out = output_dir / f"{instrument_id}-scores{suffix}"
                results = nefkit.score(instrument_id, data, registry)
                flags, statuses = Counter(), Counter()
                results.rows = _watch(results.rows, flags, statuses)
                nefkit.render(results, out, reg=registry)
                yield f"{instrument_id}: wrote {out}"
                if results.changes and suffix == ".csv":
                    yield f"{instrument_id}: wrote {out.with_name(out.stem + '-changes.csv')}"
        yield from _summary(results, flags, statuses)


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
