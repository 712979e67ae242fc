"""The clinic's commands: administer, record, follow clients, alerts, reports and the database.

Attached to the ``nefkit`` group by :func:`attach`; every heavy import happens inside a command.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..clinic.people import RULE, name_problem
from ..terminal import safe
from .common import registry_for
from .options import (
    CLIENT_ID,
    by_option,
    db_option,
    format_option,
    instruments_option,
    lang_option,
    output_option,
)

if TYPE_CHECKING:
    from ..stores import Store


def _open(db: Path | None, allow_damaged: bool = False) -> Store:
    """The clinic database (--db, else NEFKIT_DB, else the default path), to use in a ``with``
    block; where it was created is said, if this made it (the default path, on first use)."""
    from ..clinic.sqlite import open_store

    store = open_store(db, allow_damaged=allow_damaged)
    if store.created:
        click.echo(
            f"Created a new clinic database at {store.path} (readable by you only).", err=True
        )
    return store


def _audit_read(store: Store, by: str | None, action: str, client: str | None, detail: str) -> None:
    """Health data read out of the database goes into its audit trail, before it is shown or
    written; a database that cannot be written cannot hold the entry, which is said."""
    if not store.audit_read(_by(by), action, client, detail):
        click.echo(
            f"Warning: {store.path} cannot be written, so this {action} is not in its audit trail.",
            err=True,
        )


def _by(by) -> str:
    """``--by`` (checked as it is parsed), else ``NEFKIT_USER`` or the login, checked here."""
    if by is not None:
        return by
    from ..stores import current_user

    name = current_user()
    problem = name_problem(name)
    if problem is not None:
        source = "NEFKIT_USER" if os.environ.get("NEFKIT_USER") else "your login name"
        raise click.ClickException(
            f"{source} {problem}; the name of whoever acts is {RULE}. Set NEFKIT_USER to"
            " your name or initials, or give --by NAME"
        )
    return name


def _context(pairs) -> dict[str, str]:
    context = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"'{pair}' is not NAME=VALUE", param_hint="--context")
        context[key.strip()] = value.strip()
    return context


def expected_option(command):
    return click.option(
        "--expected",
        "expected_paths",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="An expected-course file (nefkit trajectories fit): check progress against it"
        " from now on, for every client of its instrument; kept in the database in place of"
        " the course of that score in use (see nefkit db expected). Repeatable.",
    )(command)


def _use_expected(clinic, paths) -> None:
    """Put each expected-course file in use (unless it already is), saying what followed."""
    from .common import read_courses

    in_use = {(c.instrument, c.score): c.text for c in clinic.store.expected_courses()}
    for path, course in zip(paths, read_courses(clinic.registry, paths)):
        text = path.read_text(encoding="utf-8")
        if in_use.get((course.instrument, course.score)) == text:
            continue
        clients = clinic.use_expected(course, text, str(path.resolve()))
        click.echo(
            f"Progress of {course.instrument} {course.score} is now checked against {path}"
            f" ({course.data.respondents} clients fitted); the alerts of {clients}"
            f" client{'' if clients == 1 else 's'} were brought up to date.",
            err=True,
        )


@click.command(name="administer")
@click.argument("instrument_ids", nargs=-1, required=True)
@click.option(
    "--client", required=True, type=CLIENT_ID, help="The client's pseudonym (never a name)."
)
@click.option("--session", type=click.IntRange(min=0), help="Session number (default: the next).")
@click.option("--context", multiple=True, help="NAME=VALUE, e.g. format=group; repeatable.")
@click.option(
    "--no-handback",
    "handback",
    flag_value=False,
    default=True,
    help="Show the summary at once (a clinician filling it in); by default the client is"
    " asked to hand the device back and the summary waits for Enter.",
)
@expected_option
@db_option
@by_option
@lang_option
@instruments_option
def administer(
    instrument_ids,
    client,
    session,
    context,
    handback,
    expected_paths,
    db,
    by,
    lang,
    instrument_paths,
):
    """Ask a client one or more questionnaires in this terminal, e.g.

        nefkit administer phq-9 gad-7 neq-20 --client C017

    Every answer is saved the moment it is given; stop at any time (q or Ctrl-C) and run the
    same command to carry on where the sitting stopped. At the end, the client is asked to
    hand the device back; the clinician then sees scores, change and alerts.
    """
    from ..api import get_plan
    from ..clinic.administer import NotSaved
    from ..clinic.alerts import Clinic

    registry = registry_for(instrument_paths)
    # Unknown ids and languages fail before the client is asked anything.
    plans = [get_plan(i, registry, lang) for i in instrument_ids]
    with _open(db) as store:
        clinic = Clinic(store, registry, _by(by))
        _use_expected(clinic, expected_paths)
        sitting = _sitting(clinic, plans, client, session, _context(context))
        try:
            summaries = _ask(clinic, sitting, handback)
        except (KeyboardInterrupt, EOFError):
            click.echo(
                "\nStopped. Every answer given so far is saved; run the same command to carry on."
            )
            _stopped(clinic, sitting, handback)
            sys.exit(130)
        except NotSaved as e:
            click.echo(
                f"\nStopped: {e.what} was not saved, because another program kept the"
                " database busy. Every answer before it is saved; run the same command to"
                " carry on."
            )
            _stopped(clinic, sitting, handback)
            sys.exit(130)
        click.echo("\nThank you. The questionnaire is finished.")
        _hand_back(handback)
        click.echo("For the clinician:")
        for line in summaries:
            click.echo(safe(line))


def _ask(clinic, sitting, handback: bool) -> list[str]:
    """Each unfinished form of the sitting asked and finished; the clinician's summaries."""
    from ..clinic.administer import Conversation

    summaries = []
    for plan, administration in sitting:
        if administration.finished_at:
            click.echo(
                f"{safe(plan.instrument.title)} was already finished in this sitting;"
                " going on to the next."
            )
        else:
            conversation = Conversation(plan, clinic, administration, input, click.echo)
            if not conversation.run():
                click.echo(
                    "\nStopped for now. Every answer so far is saved; run the same"
                    " command to carry on."
                )
                _stopped(clinic, sitting, handback)
                sys.exit(0)
            conversation.form.finish()
        summaries += clinic.summary(plan, administration.id)
    return summaries


def _sitting(clinic, plans, client, session, context):
    """The administration of each instrument in this sitting: carried on where an earlier
    run of the same command stopped (after asking), else started, all in one session."""
    store = clinic.store
    ids = [plan.instrument.id for plan in plans]
    mine = [a for a in store.administrations(client) if a.instrument in ids]
    unfinished = [a for a in mine if not a.finished_at]
    if session is None and unfinished:
        session = max(unfinished, key=lambda a: a.id).session
        held = [a for a in mine if a.session == session]
        if any(a.answers or a.finished_at for a in held) and not _carry_on(
            plans, client, session, held
        ):
            for a in held:
                if not a.finished_at:
                    clinic.void(a, "not finished; the client started again")
            session = None
    with store.transaction():
        if session is None:
            session = store.next_session(client)
        held = {
            a.instrument: a
            for a in store.administrations(client)
            if a.session == session and a.instrument in ids
        }
        sitting = []
        for plan in plans:
            instrument = plan.instrument
            administration = held.get(instrument.id)
            if administration is not None and not administration.finished_at:
                if administration.content_hash != instrument.content_hash:
                    clinic.void(
                        administration,
                        "not finished; the instrument's definition changed since",
                    )
                    administration = None
            if administration is None:
                administration = store.get(clinic.start(plan, client, session, context))
            sitting.append((plan, administration))
    return sitting


def _carry_on(plans, client, session, held) -> bool:
    by_id = {a.instrument: a for a in held}
    parts = []
    for plan in plans:
        a = by_id.get(plan.instrument.id)
        if a is None:
            state = "not started"
        elif a.finished_at:
            state = "finished"
        else:
            state = f"has {len(a.answers)} answers"
        parts.append(f"{plan.instrument.title} {state}")
    started = min(a.started_at for a in held)
    return click.confirm(
        safe(
            f"Session {session} of {client}, started {started:%Y-%m-%d %H:%M} UTC, was not"
            f" finished: {'; '.join(parts)}. Carry on with it?"
        ),
        default=True,
    )


def _hand_back(handback: bool) -> None:
    """The clinician's summary is not for the client's eyes: the client hands the device
    back, and the screen is cleared before the summary appears."""
    if not handback:
        click.echo("")
        return
    click.echo("Please hand the device back to your clinician.\n")
    try:
        input("Clinician: press Enter to see the summary. ")
    except EOFError:
        pass  # no one to press Enter: the input is not a person at a keyboard
    click.clear()


def _stopped(clinic, sitting, handback: bool) -> None:
    """A risk the unfinished forms already raise is shown to the clinician now."""
    ids = {administration.id for _, administration in sitting}
    from ..clinic.alerts import alert_line, sorted_alerts

    risks = [a for a in clinic.store.alerts() if a.administration in ids and a.kind == "risk"]
    if not risks:
        return
    _hand_back(handback)
    click.echo("For the clinician: the answers given so far raise")
    for alert in sorted_alerts(risks):
        click.echo(f"  ! {safe(alert_line(alert))}")


@click.command(name="record")
@click.argument("instrument_id")
@click.argument("answers", nargs=-1)
@click.option(
    "--client", type=CLIENT_ID, help="The client's pseudonym (answers on the command line)."
)
@click.option("--session", type=click.IntRange(min=0), help="Session number (default: the next).")
@click.option("--date", "administered_at", help="When the form was filled in (YYYY-MM-DD).")
@click.option("--context", multiple=True, help="NAME=VALUE, e.g. format=group; repeatable.")
@click.option(
    "--file",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A filled template or other data file: one completed form per row.",
)
@expected_option
@db_option
@by_option
@lang_option
@instruments_option
def record(
    instrument_id,
    answers,
    client,
    session,
    administered_at,
    context,
    data,
    expected_paths,
    db,
    by,
    lang,
    instrument_paths,
):
    """Enter completed paper forms, with the same checks as nefkit score.

    \b
    One form on the command line:
      nefkit record phq-9 --client C017 phq9_1=1 phq9_2="Several days" ...
    Many from a file (respondent_id names the client):
      nefkit record phq-9 --file filled-template.xlsx

    A form with any problem is not stored; every problem is listed and the exit status is 1.
    """
    from ..clinic.alerts import Clinic
    from ..clinic.recording import record_file, record_one
    from .progress import ProgressBar, expected_rows

    registry = registry_for(instrument_paths)
    if (data is None) == (client is None):
        raise click.UsageError("give either --client with ANSWERS, or --file")
    if data is not None and answers:
        raise click.UsageError("ANSWERS go with --client; a file carries its own")
    with _open(db) as store:
        clinic = Clinic(store, registry, _by(by))
        _use_expected(clinic, expected_paths)
        if data is not None:
            with ProgressBar("Recording", expected_rows(registry, data, None)) as progress:
                lines, problems = record_file(clinic, instrument_id, data, lang, progress)
                progress.finish()
        else:
            lines, problems = record_one(
                clinic,
                instrument_id,
                client,
                session,
                administered_at,
                _context(context),
                answers,
                lang,
            )
    for line in lines:
        click.echo(safe(line))
    for problem in problems:
        click.echo(f"Problem: {safe(problem)}", err=True)
    if problems:
        raise click.ClickException(f"{len(problems)} problems; forms with problems were not stored")


@click.command(name="clients")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def clients(db, as_json):
    """List clients (pseudonyms) with their administrations, the dates they took place, and
    open alerts."""
    with _open(db) as store:
        rows = store.clients()
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo("No clients yet. Start with: nefkit administer phq-9 --client C001")
    for row in rows:
        alerts = f", {row['open_alerts']} open alerts" if row["open_alerts"] else ""
        click.echo(
            f"{safe(row['client'])}: {row['administrations']} administrations,"
            f" {row['first']:%Y-%m-%d} to {row['last']:%Y-%m-%d}{alerts}"
        )


@click.command(name="history")
@click.option("--client", required=True, type=CLIENT_ID, help="The client's pseudonym.")
@db_option
@by_option
@instruments_option
def history(client, db, by, instrument_paths):
    """A client's administrations, session by session, with scores and change (a read
    recorded in the audit trail)."""
    from ..api import get_plan
    from ..clinic.alerts import changes, course, summary_lines

    registry = registry_for(instrument_paths)
    with _open(db) as store:
        administrations = list(store.administrations(client, include_voided=True))
        if not administrations:
            raise click.ClickException(f"there is no client {client!r} in the database")
        courses = {}
        for instrument_id in dict.fromkeys(a.instrument for a in administrations):
            plan = get_plan(instrument_id, registry)
            scored = course(plan, (a for a in administrations if a.instrument == instrument_id))
            courses[instrument_id] = (plan, scored)
        _audit_read(store, by, "history", client, "")
    click.echo("Client ids are pseudonyms chosen by the clinic; nefkit stores no names.")
    for administration in administrations:
        session = (
            f"session {administration.session}, " if administration.session is not None else ""
        )
        click.echo()
        click.echo(
            safe(
                f"#{administration.id} {administration.instrument} ({session}"
                f"{administration.administered_at:%Y-%m-%d}): {administration.status}"
                + (f" ({administration.void_reason})" if administration.void_reason else "")
            )
        )
        plan, scored = courses[administration.instrument]
        index = next((i for i, (a, _) in enumerate(scored) if a.id == administration.id), None)
        if index is None:
            continue
        for line in summary_lines(
            plan, administration, scored[index][1], changes(plan, scored, index)
        ):
            click.echo(safe(line))


@click.command(name="alerts")
@click.option("--all", "show_all", is_flag=True, help="Include acknowledged and closed alerts.")
@click.option("--ack", "acknowledge", type=int, help="Acknowledge this alert (give --note).")
@click.option("--note", help="What was done about it, for the audit trail.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@db_option
@by_option
def alerts(show_all, acknowledge, note, as_json, db, by):
    """Open alerts across clients: risk first, then risk that could not be checked,
    reliable deterioration, change that could not be computed, and the instruments' other
    flags (such as negative effects put down to treatment); newest administration first
    within each. Acknowledge one with --ack ID --note TEXT.

    Alerts follow the record: a correction or a void that ends an alert's condition closes
    it (see --all), one that creates a condition raises a new alert."""
    from ..clinic.alerts import ALERT_KINDS, sorted_alerts

    with _open(db) as store:
        if acknowledge is not None:
            if not note:
                raise click.UsageError("say what was done with --note")
            store.acknowledge(acknowledge, note, _by(by))
            click.echo(f"Alert {acknowledge} acknowledged.")
            return
        rows = sorted_alerts(store.alerts(open_only=not show_all))
    if as_json:
        records = [{**vars(a), "open": a.is_open} for a in rows]
        click.echo(json.dumps(records, indent=2, default=str))
        return
    if not rows:
        click.echo("No open alerts.")
    for alert in rows:
        state = ""
        if alert.acknowledged_at:
            state += (
                f" (acknowledged by {alert.acknowledged_by} on"
                f" {alert.acknowledged_at:%Y-%m-%d}: {alert.note})"
            )
        if alert.closed_at:
            state += f" (closed on {alert.closed_at:%Y-%m-%d}: {alert.close_reason})"
        session = f" session {alert.session}" if alert.session is not None else ""
        kind = ALERT_KINDS.get(alert.kind, alert.kind.upper())
        # One line an alert, whatever its client id, label or note holds.
        click.echo(
            safe(
                f"[{alert.id}] {alert.administered_at:%Y-%m-%d} {alert.client}"
                f" {alert.instrument}{session} {kind}: {alert.label}{state}"
            )
        )
        if alert.action and alert.is_open:
            click.echo(f"      {safe(alert.action)}")


@click.command(name="void")
@click.argument("administration", type=int)
@click.option("--reason", required=True, help="Why it should not count.")
@db_option
@by_option
@instruments_option
def void(administration, reason, db, by, instrument_paths):
    """Void an administration: it is kept, marked void with the reason, and left out of
    scores, reports and alerts (its alerts are closed, with the reason)."""
    from ..clinic.alerts import Clinic

    registry = registry_for(instrument_paths)
    with _open(db) as store:
        clinic = Clinic(store, registry, _by(by))
        clinic.void(store.get(administration), reason)
    click.echo(f"Administration {administration} voided.")


@click.command(name="correct")
@click.argument("administration", type=int)
@click.argument("answers", nargs=-1, required=True)
@click.option("--reason", required=True, help="Why the answer changes.")
@db_option
@by_option
@instruments_option
def correct(administration, answers, reason, db, by, instrument_paths):
    """Correct stored answers (ITEM=VALUE ...): each correction is a new record with who,
    when and why; the original stays in the history. Alerts follow: one whose condition no
    longer holds is closed, one the corrected answers call for is raised."""
    from ..clinic.alerts import Clinic
    from ..clinic.recording import correct_answers

    registry = registry_for(instrument_paths)
    with _open(db) as store:
        clinic = Clinic(store, registry, _by(by))
        problems = correct_answers(clinic, administration, answers, reason)
    if problems:
        for problem in problems:
            click.echo(f"Problem: {safe(problem)}", err=True)
        raise click.ClickException("nothing was changed")
    click.echo(f"Administration {administration} corrected.")


@click.command(name="info-sheet")
@click.argument("instrument_id")
@output_option("The file to write (.html or .txt).")
@format_option
@click.option(
    "--crisis-contact",
    metavar="TEXT",
    help="What a client should do in a crisis, in your service's words (default: the"
    " [clinic] crisis_contact setting; without either, the sheet tells the client to ask"
    " their clinician for it).",
)
@lang_option
@instruments_option
def info_sheet(instrument_id, output, output_format, crisis_contact, lang, instrument_paths):
    """A plain-language sheet for clients before treatment: the negative effects the
    instrument asks about, how often people report them (verified figures, with sources),
    an invitation to raise any of them at any session, and what to do in a crisis."""
    from ..api import get_plan
    from ..clinic.config import load_config
    from ..clinic.info_sheet import build_info_sheet
    from ..documents import InformationSheet
    from ..outputs import write_output

    if crisis_contact is not None and not crisis_contact.strip():
        raise click.BadParameter("is empty", param_hint="--crisis-contact")
    # The settings file is read only when the option does not already say it.
    contact = crisis_contact.strip() if crisis_contact else load_config().clinic.crisis_contact
    registry = registry_for(instrument_paths)
    sheet = build_info_sheet(get_plan(instrument_id, registry, lang), contact)
    write_output(registry, output, output_format, InformationSheet(sheet))
    click.echo(f"Wrote {output}", err=True)


@click.command(name="report")
@click.option("--client", type=CLIENT_ID, help="A client report for this client.")
@click.option("--cohort", is_flag=True, help="A report on every client.")
@click.option("--instrument", "instrument_ids", multiple=True, help="Only these instruments.")
@output_option("The report to write; its extension chooses the format.")
@click.option("--by", "by_column", help="Break cohort figures down by this context.")
@click.option(
    "--min-cell",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Hide breakdown groups with fewer clients than this; a cohort report needs at least"
    " this many clients (and never one) in each instrument it reports.",
)
@click.option(
    "--expected",
    "expected_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An expected-course file to draw behind the client's scores, in place of the one"
    " of its score in use (nefkit db expected); repeatable.",
)
@db_option
@lang_option
@instruments_option
def report(
    client,
    cohort,
    instrument_ids,
    output,
    by_column,
    min_cell,
    expected_paths,
    db,
    lang,
    instrument_paths,
):
    """A report from the database, through the same renderers as nefkit score:
    --client ID for one client, or --cohort for everyone. The audit trail records it, as
    read by NEFKIT_USER or your login (here --by is the breakdown).

    \b
    A format that holds one instrument (CSV) gets a file for each:
      -o cohort.csv writes cohort-phq-9.csv, cohort-gad-7.csv, ...
      (with one --instrument, cohort.csv)

    Every file written is readable by its owner only: it holds client data.
    """
    from .. import api
    from ..clinic.alerts import courses_in_use
    from ..clinic.exporting import cohort_sizes, results_from_store
    from ..renderers import RenderOptions
    from .common import read_courses

    if bool(client) == cohort:
        raise click.UsageError("give either --client ID or --cohort")
    registry = registry_for(instrument_paths)
    with _open(db) as store:
        batch = results_from_store(registry, store, client, instrument_ids, lang)
        if not batch:
            raise click.ClickException("nothing to report: no finished administrations")
        if cohort:
            ids = [results.instrument.id for results in batch]
            _refuse_small_cohorts(cohort_sizes(store), ids, min_cell)
        courses = {
            (c.instrument, c.score): c for group in courses_in_use(store).values() for c in group
        }
        courses |= {(c.instrument, c.score): c for c in read_courses(registry, expected_paths)}
        options = RenderOptions(
            respondent=client, by=by_column, min_cell=min_cell, expected=tuple(courses.values())
        )
        files = [(batch, output)]
        if len(instrument_ids) != 1 and not registry.renderer_for(output).many:
            # Named after the instrument even when there is one: then a file's name says
            # what it holds whatever the database (or the client) has.
            files = [
                ([one], output.with_name(f"{output.stem}-{one.instrument.id}{output.suffix}"))
                for one in batch
            ]
        whose = "client" if client else "cohort"
        written = ", ".join(str(path) for _, path in files)
        _audit_read(store, None, "report", client, f"{whose} report to {written}")
        for results, path in files:
            api.render(results, path, None, options, registry, private=True)
            click.echo(f"Wrote {path}", err=True)


def _refuse_small_cohorts(sizes: dict[str, int], ids: list[str], min_cell: int) -> None:
    """The small-cell rule for the cohort itself: figures of fewer than ``min_cell``
    clients could identify them, and a cohort of one is that client's whole report (the
    HTML renderer would write it as one). Refused, not trimmed: a report that quietly
    leaves an instrument out (or leaves last month's file of it in place) would be taken
    for the whole picture."""
    needed = max(min_cell, 2)
    small = [(i, sizes.get(i, 0)) for i in ids if sizes.get(i, 0) < needed]
    if not small:
        return
    counts = ", ".join(f"{i} has {n} client{'s' if n != 1 else ''}" for i, n in small)
    enough = [i for i in ids if i not in dict(small)]
    rule = f"--min-cell {min_cell}" if min_cell >= 2 else "never one client"
    others = (
        "Report the others with " + " ".join(f"--instrument {i}" for i in enough)
        if enough
        else "Wait until more clients have answered"
    )
    raise click.ClickException(
        f"too few clients for a cohort report: {counts}; it needs at least {needed} in each"
        f" instrument ({rule}), since figures of fewer could identify them. {others}, or"
        " report on one client with --client ID"
    )


# The commands this module adds to ``nefkit``.
COMMANDS = (administer, record, clients, history, alerts, void, correct, info_sheet, report)
