"""Reading instrument definitions from TOML, with every structural problem named in plain words."""

from __future__ import annotations

import copy
import difflib
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import BaseModel, TypeAdapter, ValidationError

from ..rules import Rule
from .checks import check_instrument
from .instrument import Instrument, InstrumentId, ItemId
from .problems import Problem, describe_location

# Anything with read_bytes() and a name: a Path or an importlib.resources file inside a package.
Source = Union[Path, "importlib.resources.abc.Traversable"]  # noqa: F821

_PATTERNS = {
    ItemId.__metadata__[
        0
    ].pattern: "ids use lowercase letters, digits and _, starting with a letter",
    InstrumentId.__metadata__[
        0
    ].pattern: "instrument ids use lowercase letters, digits, -, _ and .,"
    " starting with a letter or digit",
}


def read_toml(source: Source) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The TOML table in a file, or a problem saying why it could not be read."""
    try:
        content = source.read_bytes()
    except OSError as e:
        return None, [Problem(file=str(source), message=f"cannot be read: {e.strerror or e}")]
    return parse_toml(content, str(source))


def parse_toml(content: bytes, file: str) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The TOML table in a file's bytes, or a problem saying where the syntax broke."""
    try:
        return tomllib.loads(content.decode("utf-8")), []
    except UnicodeDecodeError as e:
        return None, [Problem(file=file, message=f"is not UTF-8 text ({e.reason})")]
    except tomllib.TOMLDecodeError as e:
        return None, [Problem(file=file, message=f"is not valid TOML: {e}")]


def parse_instrument(
    data: dict[str, Any], file: str
) -> tuple[Instrument, list[Problem], dict[int, frozenset[str]]]:
    """Validate the shape of a definition.

    Returns the instrument and no problems, or every structural problem and a partial instrument
    so that later checks can still report what else is wrong in the same run. The partial
    instrument and each entry in it are built from their valid fields; the third value maps
    ``id()`` of each one built so to its fields that are invalid or missing, which hold
    defaults rather than what the file says. Unknown keys are left out and break nothing.
    """
    try:
        return Instrument.model_validate(data), [], {}
    except ValidationError as e:
        errors = e.errors()
    problems = [_problem(error, data, file) for error in errors]
    data = _without(data, [error["loc"] for error in errors if error["type"] == "extra_forbidden"])
    broken: dict[int, frozenset[str]] = {}
    sections: dict[str, Any] = {}
    for name, field in Instrument.model_fields.items():
        model, value = _model_in(field.annotation), data.get(name)
        if model is None:
            continue
        if typing.get_origin(field.annotation) is list and isinstance(value, list):
            entries = (_entry(model, name, v, broken) for v in value)
            sections[name] = [entry for entry in entries if entry is not None]
        elif typing.get_origin(field.annotation) is dict and isinstance(value, dict):
            entries = ((k, _entry(model, name, v, broken)) for k, v in value.items())
            sections[name] = {k: entry for k, entry in entries if entry is not None}
    instrument, failed = _build(Instrument, data, sections)
    if failed:
        broken[id(instrument)] = failed
    return instrument, problems, broken


def _without(data: dict[str, Any], locations: list[tuple]) -> dict[str, Any]:
    """A copy of ``data`` without the keys at these locations."""
    data = copy.deepcopy(data)
    for loc in locations:
        node = data
        for key in loc[:-1]:
            node = node[key]
        del node[loc[-1]]
    return data


# An entry of these sections is left out when this field of it is invalid: no check can use it.
_NEEDED = {"items": "id", "scores": "id", "flags": "id", "changes": "id", "scales": "choices"}


def _entry(
    model: type[BaseModel], section: str, value: Any, broken: dict[int, frozenset[str]]
) -> BaseModel | None:
    """One entry of a section, built from its valid fields if it is not valid as a whole."""
    if not isinstance(value, dict):
        return None
    try:
        return model.model_validate(value)
    except ValidationError:
        entry, failed = _build(model, value)
    if _NEEDED.get(section) in failed:
        return None
    broken[id(entry)] = failed
    return entry


def _build(
    model: type[BaseModel], data: dict[str, Any], built: dict[str, Any] | None = None
) -> tuple[BaseModel, frozenset[str]]:
    """``model`` from the fields already ``built`` and those of ``data`` that are valid, and
    the names of the fields that are invalid or missing."""
    fields = dict(built or {})
    for name, field in model.model_fields.items():
        if name in data and name not in fields:
            try:
                fields[name] = TypeAdapter(Annotated[field.annotation, field]).validate_python(
                    data[name], strict=True
                )
            except ValidationError:
                pass
    failed = {
        name
        for name, field in model.model_fields.items()
        if name not in fields and (name in data or field.is_required())
    }
    return model.model_construct(**fields), frozenset(failed)


def _problem(error: dict, data: dict, file: str) -> Problem:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        where = describe_location(loc[:-1], data) or "top level"
        allowed = _allowed_keys(loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        message = f"unknown key '{loc[-1]}'{suggestion}; allowed here: {', '.join(allowed)}"
        return Problem(file=file, where=where, message=message)
    where = describe_location(loc, data)
    if kind == "missing":
        return Problem(file=file, where=where, message="is required but missing")
    message = error["msg"][0].lower() + error["msg"][1:]
    if kind == "string_pattern_mismatch":
        message = _PATTERNS.get(error.get("ctx", {}).get("pattern"), message)
    if "input" in error and not isinstance(error["input"], (dict, list)):
        message += f" (found {error['input']!r})"
    return Problem(file=file, where=where, message=message)


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names of the model found by following ``loc`` down from :class:`Instrument`."""
    annotation: Any = Instrument
    for key in loc:
        model = _model_in(annotation)
        if isinstance(key, str) and model is not None and key in model.model_fields:
            annotation = model.model_fields[key].annotation
        else:
            args = [a for a in typing.get_args(annotation) if a is not str]
            annotation = args[-1] if args else annotation
    model = _model_in(annotation)
    return list(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def load_definition(
    source: Source, rules: Mapping[str, Rule]
) -> tuple[Instrument | None, list[Problem]]:
    """Read, parse and check one definition file: the instrument if it has no errors, and every
    problem found (warnings included)."""
    data, problems = read_toml(source)
    if data is None:
        return None, problems
    return load_definition_data(data, str(source), rules)


def load_definition_data(
    data: dict[str, Any], file: str, rules: Mapping[str, Rule]
) -> tuple[Instrument | None, list[Problem]]:
    """Parse and check a definition given as data (a TOML table, or one read from elsewhere)."""
    instrument, problems, broken = parse_instrument(data, file)
    left_out = _left_out(data, instrument)
    problems += check_instrument(instrument, rules, file, left_out, broken)
    ok = not any(p.level == "error" for p in problems)
    return (instrument if ok else None), problems


def _left_out(data: dict[str, Any], instrument: Instrument) -> frozenset[str]:
    """Ids of items and scores and names of scales written in ``data`` but left out of the
    partial ``instrument`` for failing the structural checks."""
    ids = set()
    for section in ("items", "scores"):
        entries = data.get(section)
        for entry in entries if isinstance(entries, list) else ():
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                ids.add(entry["id"])
    ids -= {i.id for i in instrument.items} | {s.id for s in instrument.scores}
    scales = data.get("scales")
    if isinstance(scales, dict):
        ids |= set(scales) - set(instrument.scales)
    return frozenset(ids)
