"""The researcher's commands: analyze a dataset, print a codebook, and move a definition between
TOML and a spreadsheet. Attached to the ``nefkit`` group by :func:`attach`."""

from __future__ import annotations

from pathlib import Path

import click

from .common import registry_for
from .options import format_option, instruments_option, lang_option, output_option

out_option = output_option("The file to write; its extension chooses the format (.xlsx, .html).")


@click.command(name="analyze")
@click.argument("instrument_id")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@out_option
@format_option
@click.option("--input-format", help="Input format, if not given by DATA's extension.")
@click.option(
    "--session", type=int, help="Only administrations of this session (e.g. 1 for baseline)."
)
@lang_option
@instruments_option
def analyze(
    instrument_id, data, output, output_format, input_format, session, lang, instrument_paths
):
    """Item statistics and reliability of a dataset: per item n, missing, mean, SD, answers,
    floor and ceiling, item-total correlation, alpha if deleted; per NEQ effect the share
    experiencing it and attributing it to the treatment; per score alpha with its 95%
    interval and omega; the inter-item correlations."""
    from .. import api
    from ..documents import Psychometrics
    from ..outputs import write_output, writer_for
    from ..research.analysis import analyze as run
    from .progress import ProgressBar, expected_rows

    registry = registry_for(instrument_paths)
    writer_for(registry, output, output_format, Psychometrics)  # fails before any work
    with ProgressBar("Analysing", expected_rows(registry, data, input_format)) as progress:
        results = api.score(instrument_id, data, registry, input_format, progress, language=lang)
        where = None if session is None else (lambda row: row.session == session)
        analysis = run(results, where=where)
        write_output(registry, output, output_format, Psychometrics(analysis))
        progress.finish(results.row_count)
    if results.problems:
        click.echo(
            f"{len(results.problems)} problems in the data: those rows are left out"
            f" (nefkit score {instrument_id} {data} lists them)",
            err=True,
        )
    click.echo(f"Analysed {analysis.rows_analysed} administrations into {output}", err=True)


@click.command(name="codebook")
@click.argument("instrument_id")
@out_option
@format_option
@lang_option
@instruments_option
def codebook(instrument_id, output, output_format, lang, instrument_paths):
    """A printable codebook: items, answer codes, scores, rules, missing-data policy,
    citation and licence, for a preregistration or an ethics application."""
    from ..api import get_plan
    from ..documents import Codebook
    from ..outputs import write_output

    registry = registry_for(instrument_paths)
    plan = get_plan(instrument_id, registry, lang)
    write_output(registry, output, output_format, Codebook(plan))
    click.echo(f"Wrote {output}", err=True)


@click.command(name="export-definition")
@click.argument("instrument_id")
@out_option
@format_option
@instruments_option
def export_definition(instrument_id, output, output_format, instrument_paths):
    """Write a definition as a spreadsheet (items, choices and scores sheets) to edit in
    Excel; nefkit import-definition turns it back into TOML."""
    from ..documents import Definition
    from ..outputs import write_output

    registry = registry_for(instrument_paths)
    instrument = registry.instrument(instrument_id)
    write_output(registry, output, output_format, Definition(instrument))
    click.echo(f"Wrote {output}", err=True)


@click.command(name="import-definition")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The TOML file to write (default: ID.toml here).",
)
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@instruments_option
def import_definition(source, output, force, instrument_paths):
    """Turn a spreadsheet definition (items, choices and scores sheets, in the spirit of
    XLSForm and REDCap data dictionaries) into a TOML definition, checked as nefkit validate
    checks it. Every problem names its sheet, row and column."""
    from ..definitions.loading import load_definition_data
    from ..definitions.toml import dumps_definition
    from ..errors import blamed
    from ..outputs import written_whole

    registry = registry_for(instrument_paths)
    reader = registry.reader_for(source)
    origin = registry.readers[reader.format].origin
    with blamed(f"reader '{reader.format}' from {origin}", f"reading {source}"):
        data = reader.read_definition(source)
    instrument, problems = load_definition_data(data, str(source), registry.rule_map)
    for problem in reader.locate(problems, data):
        click.echo(f"{problem.level}: {problem}", err=True)
    if instrument is None:
        raise click.ClickException(f"{source} does not make a valid definition (problems above)")
    output = output or Path(f"{instrument.id}.toml")
    if output.exists() and not force:
        raise click.ClickException(f"{output} exists; use --force or choose -o")
    with written_whole(output) as staged:
        staged.write_text(dumps_definition(data), encoding="utf-8")
    click.echo(f"Wrote {output} ({instrument.id} {instrument.version})", err=True)


# The commands this module adds to ``nefkit``.
COMMANDS = (analyze, codebook, export_definition, import_definition)
