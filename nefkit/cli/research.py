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
@click.group(name="trajectories")
def trajectories() -> None:
    """Expected courses of a score, fitted from your service's own data."""


@trajectories.command(name="fit")
@click.argument("instrument_id")
@click.argument("data", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The expected-course file to write (TOML).",
)
@click.option("--score", "score_id", help="The score (default: the one the change rule follows).")
@click.option(
    "--groups",
    type=click.Choice(["bands", "quantiles"]),
    default="bands",
    show_default=True,
    help="Group clients by the bands of their first score, or by its quantiles.",
)
@click.option("--quantiles", type=click.IntRange(2, 10), default=4, show_default=True)
@click.option(
    "--percentiles", default="10,90", show_default=True, help="The band: LOW,HIGH percentiles."
)
@click.option(
    "--min-cell",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Fewest clients behind a session's figures (thin cells pool the sessions either side).",
)
@click.option("--input-format", help="Input format, if not given by DATA's extension.")
@instruments_option
def trajectories_fit(
    instrument_id,
    data,
    output,
    score_id,
    groups,
    quantiles,
    percentiles,
    min_cell,
    input_format,
    instrument_paths,
):
    """Fit the expected course of INSTRUMENT_ID's score, session by session, for clients grouped
    by their first score: the median and a percentile band at each session, with the number of
    clients behind it. DATA has respondent_id and session columns, as `nefkit score` reads."""
    from .. import api
    from ..outputs import written_whole
    from ..trajectories import dumps, fit

    try:
        low, high = (int(p) for p in percentiles.split(","))
    except ValueError:
        raise click.BadParameter(
            "give two whole numbers, such as 10,90", param_hint="--percentiles"
        ) from None
    registry = registry_for(instrument_paths)
    plan = api.get_plan(instrument_id, registry)
    if score_id is None:
        if not plan.changes:
            raise click.UsageError(
                f"{instrument_id} has no change rule: name the score with --score"
            )
        score_id = plan.changes[0].change.score
    results = api.score(instrument_id, data, registry, input_format)
    course = fit(results, score_id, groups, quantiles, (low, high), min_cell)
    with written_whole(output) as staged:
        staged.write_text(dumps(course), encoding="utf-8")
    pooled = sum(c.pooled for c in course.cells)
    click.echo(
        f"Fitted {len(course.cells)} cells ({pooled} pooled) of {instrument_id} {score_id} from"
        f" {course.data.respondents} respondents into {output}",
        err=True,
    )


COMMANDS = (analyze, codebook, export_definition, import_definition, trajectories)
