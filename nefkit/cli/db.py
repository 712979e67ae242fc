"""The clinic database's own commands: create it, check it, read its audit trail, back it up,
export it, erase a client. Attached to the ``nefkit`` group by :func:`attach`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click

from ..terminal import safe
from .clinic import _audit_read, _by, _open
from .common import registry_for
from .options import CLIENT_ID, by_option, db_option, instruments_option, json_option


@click.group(name="db")
def db_group():
    """Create, check, back up, export or erase the clinic's database; read its audit
    trail."""


@db_group.command(name="init")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def init(path):
    """Create the clinic's database at PATH (default: NEFKIT_DB, else
    ~/.local/share/nefkit/nefkit.db), readable by you only, as is any folder made for it.

    Every other command opens an existing database only, so that a mistyped --db is an
    error rather than a new, empty clinic."""
    from ..clinic.sqlite import default_path, open_store

    with open_store(path or default_path(), create=True) as store:
        created, where = store.created, store.path
    if not created:
        click.echo(f"{where} is a nefkit database already; nothing was changed.")
        return
    click.echo(f"Created the clinic database {where} (readable by you only).")
    if path is not None:
        click.echo(f"Use it with --db {where}, or set NEFKIT_DB={where}.")


@db_group.command(name="check")
@db_option
@instruments_option
def check(db, instrument_paths):
    """Check the database: SQLite's integrity check, every answer and alert belonging to
    an administration, and every administration holding exactly the alerts its record
    calls for. Each problem is listed; the exit status is 1 if there is any."""
    from ..clinic.alerts import alert_findings

    with _open(db, allow_damaged=True) as store:
        findings = store.check()
        if findings:
            findings.append("the alerts were not checked, because of the problems above")
        else:
            findings = alert_findings(store, registry_for(instrument_paths))
        where = store.path
    for finding in findings:
        click.echo(f"Problem: {finding}", err=True)
    if findings:
        raise click.ClickException(
            f"{len(findings)} problems in {where}; keep a copy (nefkit db backup --force"
            " PATH), then restore your latest backup, or ask who supports nefkit for you"
        )
    click.echo(f"{where}: no problems found.")


@db_group.command(name="audit")
@click.option("--client", type=CLIENT_ID, help="Only entries about this client.")
@click.option("--since", help="Only entries from this date (YYYY-MM-DD) or UTC time on.")
@json_option
@db_option
def audit(client, since, as_json, db):
    """The audit trail: who started, finished, corrected, voided or erased what, raised
    and acknowledged alerts, and read health data out (reports, history, exports,
    backups), and when. An erased client's entries keep what was done, not about whom."""
    since_time = _since(since)
    with _open(db) as store:
        entries = store.audit_log(client, since_time)
    if as_json:
        click.echo(json.dumps(entries, indent=2, default=str))
        return
    if not entries:
        click.echo("No audit entries" + (" match." if client or since else " yet."))
    for entry in entries:
        click.echo(safe(_audit_line(entry)))


@db_group.command(name="backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Copy a damaged database as it is (to keep it before restoring an older backup).",
)
@db_option
@by_option
def backup(path, force, db, by):
    """Write a consistent copy of the database, even while others are using it. A
    damaged database is not copied unless --force says so."""
    from ..stores import DatabaseDamaged

    try:
        store = _open(db, allow_damaged=force)
    except DatabaseDamaged as e:
        raise click.ClickException(f"{e}; to copy it as it is, add --force") from None
    with store:
        _audit_read(store, by, "backup", None, f"cohort, to {path}")
        store.backup(path)
    click.echo(f"Backed up to {path}")


@db_group.command(name="export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@db_option
@by_option
@instruments_option
def export(directory, db, by, instrument_paths):
    """Everything, for analysis: per instrument, scores and answers as CSV; the full answer
    history, alerts and audit trail as JSON Lines."""
    from ..clinic.exporting import export_all
    from .progress import ProgressBar

    with _open(db) as store, ProgressBar("Exporting", unit="") as progress:
        _audit_read(store, by, "export", None, f"cohort, to {directory}")
        for line in export_all(registry_for(instrument_paths), store, directory, progress):
            progress.close()  # the line goes where the bar was; the bar is drawn again below
            click.echo(line)
        progress.finish()


@db_group.command(name="erase")
@click.option("--client", type=CLIENT_ID, help="The client whose data is erased.")
@click.option("--reason", help="E.g. 'data-protection request of 2026-11-27'.")
@click.option(
    "--finish",
    is_flag=True,
    help="Finish an erasure that other programs using the database held up.",
)
@click.option("--yes", is_flag=True, help="Don't ask for confirmation.")
@db_option
@by_option
def erase(client, reason, finish, yes, db, by):
    """Erase every record of a client (a data-protection request), and the erased data
    from the database file and its write-ahead log, verified. The audit trail keeps that
    an erasure happened, not whose. Backups are not touched.

    While another program has the database open, the erasure is recorded but its data
    stays in the file until that program closes it; then run nefkit db erase --finish."""
    if finish:
        if client or reason:
            raise click.UsageError("--finish takes neither --client nor --reason")
        with _open(db) as store:
            store.finish_erasure()
        click.echo(f"Erasure finished: the erased data is no longer in {store.path}.")
        return
    if not client or not reason:
        raise click.UsageError("give --client and --reason (or --finish)")
    if not yes:
        click.confirm(f"Erase everything stored about {client}? This cannot be undone", abort=True)
    with _open(db) as store:
        counts = store.erase_client(client, reason, _by(by))
    click.echo(
        "Erased "
        + ", ".join(f"{n} {what}" for what, n in counts.items())
        + f"; none of it is left in {store.path}. Backups are not touched."
    )


@db_group.command(name="expected")
@click.option(
    "--stop",
    nargs=2,
    metavar="INSTRUMENT SCORE",
    help="Stop checking that score against an expected course (its alerts close).",
)
@db_option
@by_option
@instruments_option
def expected(stop, db, by, instrument_paths):
    """The expected courses progress is checked against: a client past the band expected at a
    session is "not on track" (a warning alert). Put a course in use with --expected FILE on
    nefkit administer or record; fit one with nefkit trajectories fit."""
    from ..clinic.alerts import Clinic
    from ..trajectories import loads

    with _open(db) as store:
        if stop:
            instrument_id, score = stop
            clinic = Clinic(store, registry_for(instrument_paths), _by(by))
            clients = clinic.stop_expected(instrument_id, score)
            if clients is None:
                raise click.ClickException(
                    f"no expected course of {instrument_id} {score} is in use (nefkit db"
                    " expected lists those that are)"
                )
            click.echo(
                f"{instrument_id} {score} is no longer checked against an expected course; the"
                f" alerts of {clients} client{'' if clients == 1 else 's'} were brought up to date."
            )
            return
        courses = store.expected_courses()
    if not courses:
        click.echo(
            "No expected course is in use; put one in use with --expected FILE on"
            " nefkit administer or record."
        )
    for stored in courses:
        course = loads(stored.text, stored.source)
        data = course.data
        click.echo(
            safe(
                f"{stored.instrument} {stored.score}: {stored.source}, fitted"
                f" {course.fitted_at:%Y-%m-%d} on {data.respondents} clients ({data.rows} rows"
                f" of {data.file}), {course.method}, percentiles {course.percentiles[0]} to"
                f" {course.percentiles[1]}; in use since {stored.set_at:%Y-%m-%d} ({stored.set_by})"
            )
        )


def _since(text: str | None) -> dt.datetime | None:
    """A date or time given with --since, in UTC unless it says otherwise."""
    if text is None:
        return None
    try:
        since = dt.datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"'{text}' is not a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM)",
            param_hint="--since",
        ) from None
    return since if since.tzinfo else since.replace(tzinfo=dt.timezone.utc)


def _audit_line(entry: dict) -> str:
    about = f" {entry['client']}" if entry["client"] else ""
    if entry["administration"] is not None:
        about += f" #{entry['administration']}"
    detail = f": {entry['detail']}" if entry["detail"] else ""
    return f"{entry['at']:%Y-%m-%d %H:%M:%S} {entry['by']} {entry['action']}{about}{detail}"


# The commands this module adds to ``nefkit``.
COMMANDS = (db_group,)
