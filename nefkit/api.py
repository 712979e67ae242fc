"""The Python API: the same operations as the command line, for scripts and notebooks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .errors import DefinitionError
from .instrument import Instrument
from .problems import Problem
from .registry import Registry, build_registry


def registry(instrument_paths: Sequence[Path | str] = ()) -> Registry:
    """Every instrument, scoring rule and renderer from the installed plugins, plus the
    definitions in ``instrument_paths`` (files or directories)."""
    return build_registry([Path(p) for p in instrument_paths])


def validate(path: Path | str, rules: Registry | None = None) -> list[Problem]:
    """Every problem in one definition file (an empty list when it is valid)."""
    from .loading import load_definition

    return load_definition(Path(path), (rules or registry()).rule_map)[1]


def load_instrument(path: Path | str, rules: Registry | None = None) -> Instrument:
    """The instrument defined in a TOML file; :class:`DefinitionError` lists its problems."""
    from .loading import load_definition

    instrument, problems = load_definition(Path(path), (rules or registry()).rule_map)
    if instrument is None:
        raise DefinitionError([p for p in problems if p.level == "error"])
    return instrument
