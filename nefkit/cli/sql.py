"""``nefkit sql``: print an instrument's scoring plan as SQL (see nefkit/scoring/sql_emit.py)."""

from __future__ import annotations

import click

from ..sql import DIALECTS
from .common import registry_for
from .options import instruments_option


@click.command(name="sql")
@click.argument("instrument_id")
@click.option(
    "--dialect",
    type=click.Choice(list(DIALECTS)),
    default="duckdb",
    show_default=True,
    help="The SQL dialect to write.",
)
@click.option(
    "--table",
    default="answers",
    show_default=True,
    help="The table (or view) of answers: one row per administration, a column per item id "
    "holding the answer's code.",
)
@instruments_option
def sql_command(instrument_id, dialect, table, instrument_paths) -> None:
    """Print the scoring plan of INSTRUMENT_ID as one SQL query over a table of answers.

    The query adds every score and its status, the flags, row_status and notes, as nefkit
    score writes them, so a registry can score where its data lives. Answers must already
    be codes (see nefkit show INSTRUMENT_ID); a code that is not an answer, or a follow-up
    answered although it was not asked, makes the row invalid.
    """
    from ..definitions.plan import Plan
    from ..scoring.sql_emit import plan_sql

    registry = registry_for(instrument_paths)
    plan = Plan(registry.instrument(instrument_id), registry.rule_map, registry.rule_origins)
    click.echo(plan_sql(plan, dialect, table), nl=False)


# The commands this module adds to ``nefkit``.
COMMANDS = (sql_command,)
