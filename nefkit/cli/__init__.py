"""The ``nefkit`` command line. Heavy modules load inside commands so ``--help`` stays fast."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import click

from .. import __version__
from ..errors import NefkitError, PluginError, debugging, describe
from ..plugins import host
from . import clinic, db, research, sql, web
from .common import read_courses, registry_for
from .options import format_option, instruments_option, json_option, lang_option, output_option


class NefkitGroup(click.Group):
    """Every failure is one ``Error: ...`` line with exit status 1, never a traceback: nefkit's
    own errors with their message, anything else (a bug) as the last resort, saying how to see
    the traceback (``NEFKIT_DEBUG=1``)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except BrokenPipeError:
            # The reader went away (nefkit alerts | head): stop quietly, as other tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(1) from None
        except NefkitError as e:
            _show_traceback()
            raise click.ClickException(str(e)) from None
        except Exception as e:
            _show_traceback()
            raise click.ClickException(
                f"nefkit failed unexpectedly ({describe(e)}). Run it again with NEFKIT_DEBUG=1"
                " to see where, and report it with that output"
            ) from None


def _show_traceback() -> None:
    if debugging():
        import traceback

        traceback.print_exc()


@click.group(cls=NefkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nefkit")
def cli() -> None:
    """Ask about, record, score and report the negative effects of psychological treatment.

    \b
    Start here:
      nefkit demo                      score the bundled demo data
      nefkit instruments               the questionnaires nefkit knows
      nefkit show neq-20               items, scores, citation and licence
      nefkit validate my-scale.toml    check a definition you wrote
      nefkit plugins --all             the plugins providing all this
    """
    if _startup_error is not None:
        raise click.ClickException(str(_startup_error))


def _print_json(value) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


@cli.command(name="plugins")
@click.option("--all", "show_all", is_flag=True, help="Include nefkit's built-in plugins.")
@json_option
def plugins_command(show_all: bool, as_json: bool) -> None:
    """List installed plugins: name, version, hooks and any failure to load or register."""
    import warnings

    from ..plugins import PluginWarning
    from ..registry import build_registry

    host.load()
    registry = None
    with warnings.catch_warnings():  # failures are listed below, with their plugin
        warnings.simplefilter("ignore", PluginWarning)
        try:
            registry = build_registry()
        except NefkitError as e:
            click.echo(f"Error: {e}", err=True)
    provides = _provided(registry)
    rows = [
        {
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "builtin": info.builtin,
            "hooks": hooks,
            "provides": provides.get(info.label, {}),
            "failures": info.failures,
        }
        for info, hooks in host.plugins()
        if show_all or not info.builtin
    ]
    if show_all and registry is not None:  # nefkit's own row engine comes with no plugin
        core = provides.get(registry.engines["python"].origin, {})
        rows.insert(
            0,
            {
                "name": "core",
                "distribution": "nefkit",
                "version": __version__,
                "builtin": True,
                "hooks": [],
                "provides": core,
                "failures": [],
            },
        )
    if as_json:
        _print_json(rows)
        return
    if not rows:
        click.echo("No third-party plugins are installed. Use --all to see nefkit's built-in ones.")
    for row in rows:
        origin = "built-in" if row["builtin"] else f"{row['distribution']} {row['version']}"
        click.echo(f"{row['name']}  ({origin})")
        click.echo(f"  hooks: {', '.join(row['hooks']) or 'none'}")
        for kind, things in row["provides"].items():
            for thing in things:
                click.echo(f"  {kind[:-1]} {thing}")
        for failure in row["failures"]:
            click.echo(f"  FAILED: {failure}")


def _provided(registry) -> dict[str, dict[str, list[str]]]:
    """Per plugin (by its label), what it registered, in words: engines, readers, renderers
    (with their file extensions), rules and instruments."""
    provided: dict[str, dict[str, list[str]]] = {}
    if registry is None:
        return provided

    def add(kind: str, entry, text: str) -> None:
        provided.setdefault(entry.origin, {}).setdefault(kind, []).append(text)

    for name, entry in registry.engines.items():
        add("engines", entry, f"{name}: {entry.value.summary}")
    for kind, table in (("readers", registry.readers), ("renderers", registry.renderers)):
        for fmt, entry in table.items():
            add(kind, entry, f"{fmt} ({' '.join(entry.value.extensions)}): {entry.value.summary}")
    for name, entry in registry.rules.items():
        add("rules", entry, f"{name}: {entry.value.summary}")
    for name, entry in registry.instruments.items():
        add("instruments", entry, name)
    return provided


@cli.command(name="instruments")
@instruments_option
@json_option
def instruments_command(instrument_paths, as_json: bool) -> None:
    """List the instruments nefkit knows, from plugins and your own directories."""
    from ..registry import Registry

    # Only the instruments are collected, from the definitions cache where it can be: listing
    # them needs no renderer, engine, rule plugin or instrument model.
    rows = [
        {**asdict(entry.summary), "from": entry.origin}
        for _, entry in sorted(Registry(instrument_paths).instruments.items())
    ]
    if as_json:
        _print_json(rows)
        return
    width = max((len(r["id"]) for r in rows), default=0)
    for row in rows:
        click.echo(
            f"{row['id']:<{width}}  {row['title']} (version {row['version']}, {row['items']} questions)"
        )


@cli.command(name="show")
@click.argument("instrument_id")
@lang_option
@instruments_option
@json_option
def show_command(instrument_id: str, lang, instrument_paths, as_json: bool) -> None:
    """Show an instrument: items, scales, scores, citation and licence."""
    from ..definitions.describe import describe_instrument
    from ..registry import Registry

    registry = Registry(instrument_paths)  # only the instruments (and rules if it must)
    instrument = registry.instrument(instrument_id).in_language(lang)
    if as_json:
        data = instrument.model_dump(mode="json")
        data["content_hash"] = instrument.content_hash
        data["from"] = registry.instruments[instrument_id].origin
        used = {*(s.rule for s in instrument.scores), *(c.rule for c in instrument.changes)}
        data["rules"] = {name: registry.rule_origins[name] for name in sorted(used)}
        _print_json(data)
        return
    click.echo(describe_instrument(instrument, registry))


@cli.command(name="validate")
@click.argument("definitions", metavar="FILE|ID...", nargs=-1, required=True)
@click.option(
    "--check-examples",
    is_flag=True,
    help="Also score each definition's [[examples]] and compare with the scores they expect.",
)
@instruments_option
def validate_command(definitions, check_examples, instrument_paths) -> None:
    """Check definitions and report every problem in each, with where and why, on stderr.

    Each argument is a definition file or, if there is no such file, the id of an installed
    instrument (from a plugin or --instruments). Exits with status 1 if any has an error;
    warnings alone do not fail.
    """
    from .. import trajectories
    from ..api import problems_in

    registry = registry_for(instrument_paths)
    failed = 0
    for definition in definitions:
        if Path(definition).is_file() and trajectories.is_expected_course(definition):
            failed += _validate_course(definition, registry)
            continue
        instrument, problems = problems_in(definition, registry, check_examples)
        for problem in problems:
            click.echo(f"{problem.level}: {problem}", err=True)
        errors = sum(p.level == "error" for p in problems)
        if errors:
            failed += 1
            click.echo(f"{definition}: {errors} error{'s' if errors != 1 else ''}", err=True)
        else:
            checked = f", {len(instrument.examples)} examples agree" if check_examples else ""
            click.echo(
                f"{definition}: valid ({instrument.id} {instrument.version},"
                f" {len(instrument.items)} questions, {len(instrument.scores)} scores{checked})"
            )
    if failed:
        raise click.ClickException(f"{failed} of {len(definitions)} definitions have errors")


def _validate_course(path: str, registry) -> int:
    """An expected-course file (nefkit trajectories fit): 1 if it has an error."""
    from .. import trajectories

    course, problems = trajectories.check(path, registry)
    for level, message in problems:
        click.echo(f"{level}: {message}", err=True)
    if any(level == "error" for level, _ in problems):
        click.echo(f"{path}: not a usable expected course", err=True)
        return 1
    click.echo(
        f"{path}: valid (expected course of {course.instrument} {course.score},"
        f" {len(course.groups)} groups, {len(course.cells)} cells, fitted on"
        f" {course.data.respondents} respondents)"
    )
    return 0


@cli.command(name="new")
@click.argument("instrument_id")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write it (default: ID.toml here).",
)
def new_command(instrument_id, output) -> None:
    """Write a commented starter definition that already validates, showing every feature of
    the format: scales, item types, follow-ups, scores, bands, flags, change, norms, examples."""
    from importlib.resources import files

    from pydantic import TypeAdapter, ValidationError

    from ..definitions.instrument import InstrumentId
    from ..outputs import written_whole

    try:
        TypeAdapter(InstrumentId).validate_python(instrument_id)
    except ValidationError:
        raise click.BadParameter(
            "use lowercase letters, digits, - _ and ., starting with a letter or digit",
            param_hint="INSTRUMENT_ID",
        ) from None
    output = output or Path(f"{instrument_id}.toml")
    if output.exists():
        raise click.ClickException(f"{output} exists; choose another name with -o")
    text = (
        files("nefkit.definitions")
        .joinpath("starter", "definition.toml")
        .read_text(encoding="utf-8")
    )
    with written_whole(output) as staged:
        staged.write_text(text.replace("__ID__", instrument_id), encoding="utf-8")
    click.echo(f"Wrote {output}. Next: edit it, then nefkit validate --check-examples {output}")


@cli.command(name="schema")
@instruments_option
def schema_command(instrument_paths) -> None:
    """Print the JSON Schema of the definition format, for editor completion: each score's
    and change's params follow the model of the rule it names, from every installed plugin."""
    from ..definitions.schema import definition_schema

    _print_json(definition_schema(registry_for(instrument_paths)))


@cli.command(name="score")
@click.argument("instrument_id")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@output_option("Where to write the scores; its extension chooses the format.")
@format_option
@click.option("--input-format", help="Input format, if not given by DATA's extension.")
@click.option("--respondent", help="Report on this respondent only (a client report).")
@click.option(
    "--expected",
    "expected_paths",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="With --respondent: an expected-course file (nefkit trajectories fit) whose range"
    " the client report draws behind the respondent's scores; repeatable.",
)
@click.option("--by", help="Break cohort figures down by this context column.")
@click.option(
    "--min-cell",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Hide breakdown groups with fewer respondents than this.",
)
@click.option(
    "--templates",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Your own report templates, overriding the built-in ones.",
)
@click.option(
    "--engine",
    default="auto",
    show_default=True,
    help="python: nefkit's own, row by row; duckdb: columnar, for large files and Parquet;"
    " or another installed engine (nefkit plugins --all); auto: the one expected to be quickest"
    " on DATA, from its rows, the instrument's items and the format.",
)
@lang_option
@instruments_option
def score_command(
    instrument_id,
    data,
    output,
    output_format,
    input_format,
    respondent,
    expected_paths,
    by,
    min_cell,
    templates,
    engine,
    lang,
    instrument_paths,
) -> None:
    """Score DATA (CSV, XLSX, JSON Lines or Parquet; one row per administration) with an
    instrument.

    DATA has a respondent_id column, optionally administered_at and session, one column per
    answer named by item id (see nefkit show INSTRUMENT_ID), and any other columns, which are
    carried through as context. Answers may be codes or labels. Every problem is listed on
    stderr and in the output's notes; the exit status is 1 if any row had one. A row with a
    problem gets no scores, but its flags are checked on the answers that could be read. A
    flag is yes, no or unknown (an answer it needs is missing or unreadable); the last line
    counts the rows with an unknown flag, and a risk flag that is unknown, or raised on an
    invalid row, is a warning naming the rows. So is a reliable change that could not be
    computed: an administration of a respondent with several has no score to compare.
    """
    from .. import api
    from ..documents import Scores
    from ..outputs import writer_for
    from ..renderers import RenderOptions
    from ..terminal import safe
    from .progress import ProgressBar, expected_rows

    if expected_paths and respondent is None:
        raise click.UsageError(
            "--expected is drawn in a client report: give --respondent ID as well"
        )
    registry = registry_for(instrument_paths)
    plan = api.get_plan(instrument_id, registry, lang)
    courses = tuple(read_courses(registry, expected_paths))
    # An unknown format fails before any work; one an engine may write itself weighs engines.
    writer = writer_for(registry, output, output_format, Scores)
    rendered = not (writer.value.native and respondent is None)
    chosen, reason = registry.engine_for(engine, data, plan, input_format, rendered)
    if engine == "auto":
        click.echo(f"Engine: {chosen.value.name} ({reason})", err=True)
    options = RenderOptions(
        respondent=respondent, by=by, min_cell=min_cell, templates=templates, expected=courses
    )
    with ProgressBar("Scoring", expected_rows(registry, data, input_format)) as progress:
        results = api.score(
            instrument_id, data, registry, input_format, progress, chosen.value.name, language=lang
        )
        # Column names, cells and problems come from the data file: shown as text (see
        # terminal). Said before any row is scored, so before the bar is drawn.
        if results.context_columns:
            shown = safe(", ".join(results.context_columns))
            click.echo(f"Carrying through as context: {shown}", err=True)
        if by is not None and by not in results.context_columns:
            raise click.UsageError(f"--by {by}: DATA has no such context column")
        api.render(results, output, output_format, options, registry)
        progress.finish(results.row_count)
    for problem in results.problems:
        click.echo(f"Problem: {safe(str(problem))}", err=True)
    for warning in results.warnings():  # after the problems, so that none hides a risk
        click.echo(f"Warning: {safe(warning)}", err=True)
    scored = results.row_count - results.invalid_count
    summary = (
        f"Scored {scored} of {results.row_count} rows of {data} with {instrument_id} into {output}"
    )
    if results.changes:
        summary += f"; {len(results.changes)} change scores"
    unchecked = results.flag_tally.unchecked_rows
    if unchecked:
        rows = "1 row" if unchecked == 1 else f"{unchecked} rows"
        summary += f"; a flag could not be checked in {rows}"
    if results.change_gaps:
        gaps = max(sample.count for sample in results.change_gaps.values())
        rows = "1 row" if gaps == 1 else f"{gaps} rows"
        summary += f"; a reliable change could not be computed at {rows}"
    click.echo(summary, err=True)
    if results.problems:
        rows = len({p.row for p in results.problems})
        raise click.ClickException(
            f"{len(results.problems)} problems in {rows} rows (listed above)"
        )


@cli.command(name="template")
@click.argument("instrument_id")
@output_option("The file to write (.xlsx or .csv).")
@format_option
@lang_option
@instruments_option
def template_command(instrument_id, output, output_format, lang, instrument_paths) -> None:
    """Write a blank data-entry sheet for paper forms or other survey tools.

    One column per answer, in the order nefkit score reads them; a spreadsheet template offers
    only valid answers and carries the codebook. A filled template scores without edits.
    """
    from ..api import get_plan
    from ..documents import Template
    from ..outputs import write_output

    registry = registry_for(instrument_paths)
    plan = get_plan(instrument_id, registry, lang)
    write_output(registry, output, output_format, Template(plan))
    click.echo(f"Wrote a data-entry template for {instrument_id} to {output}", err=True)


def _pip(*args: str) -> None:
    """Run pip inside the environment nefkit runs in, so a plugin lands where nefkit finds it."""
    import runpy

    sys.argv = ["pip", *args]
    runpy.run_module("pip", run_name="__main__")


@cli.command(name="install")
@click.argument("packages", nargs=-1, required=True)
@click.option("-U", "--upgrade", is_flag=True, help="Upgrade packages to their latest version.")
@click.option("-e", "--editable", is_flag=True, help="Install a local project in editable mode.")
def install_command(packages, upgrade, editable) -> None:
    """Install plugins (or any package) into the environment nefkit runs in."""
    args = ["install", *(["--upgrade"] if upgrade else [])]
    args += [arg for package in packages for arg in (["-e", package] if editable else [package])]
    _pip(*args)


@cli.command(name="uninstall")
@click.argument("packages", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, help="Don't ask for confirmation.")
def uninstall_command(packages, yes) -> None:
    """Uninstall plugins (or any package) from the environment nefkit runs in."""
    if not yes and not sys.stdin.isatty():
        raise click.UsageError(
            "uninstall asks for confirmation in a terminal; add --yes to run it without one"
        )
    _pip("uninstall", *packages, *(["-y"] if yes else []))


for module in (clinic, db, research, sql, web):
    for command in module.COMMANDS:
        cli.add_command(command)


def _register_plugin_commands() -> PluginError | None:
    """Plugins add their commands as the CLI is built; in strict mode a broken plugin is kept
    as an error that any command then reports, instead of a traceback at import."""
    try:
        host.load()
        host.call_each("register_commands", lambda info: cli)
    except PluginError as e:
        return e
    return None


_startup_error = _register_plugin_commands()
