"""Command-line options that several of nefkit's commands share."""

from __future__ import annotations

from pathlib import Path

import click

from ..clinic.people import RULE, name_problem


def instruments_option(command):
    """``--instruments DIR``: a researcher's own definitions, used without packaging them."""
    return click.option(
        "--instruments",
        "instrument_paths",
        multiple=True,
        type=click.Path(exists=True, path_type=Path),
        help="A directory (or file) of your own TOML definitions; repeatable. "
        "NEFKIT_INSTRUMENTS_PATH works too.",
    )(command)


def json_option(command):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(
        command
    )


def lang_option(command):
    """``--lang``: one of the languages a definition lists; its texts and answer labels, which
    answers given as labels are read in."""
    return click.option(
        "--lang", help="The language of questions and answer labels (one the definition has)."
    )(command)


def output_option(help: str):
    """``-o/--output FILE``: what a command writes; its extension chooses the format."""
    return click.option(
        "-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help=help
    )


format_option = click.option(
    "--format", "output_format", help="Format, if not given by the extension."
)


class PersonName(click.ParamType):
    """A client id, or the name of whoever acts: refused as it enters unless it follows the
    rule in :mod:`nefkit.clinic.people`."""

    name = "text"

    def __init__(self, what: str):
        self.what = what

    def convert(self, value, param, ctx) -> str:
        problem = name_problem(value)
        if problem is not None:
            self.fail(f"{problem}; {self.what} is {RULE}", param, ctx)
        return value


CLIENT_ID = PersonName("a client id")
ACTOR = PersonName("the name of whoever acts")


def db_option(command):
    return click.option(
        "--db",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The database file (default: NEFKIT_DB, else ~/.local/share/nefkit/nefkit.db).",
    )(command)


def by_option(command):
    return click.option(
        "--by",
        "by",
        type=ACTOR,
        help="Who is acting, for the audit trail (default: NEFKIT_USER or your login).",
    )(command)
