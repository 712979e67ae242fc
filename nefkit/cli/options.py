"""Command-line options that several of nefkit's commands share."""

from __future__ import annotations

from pathlib import Path

import click


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
