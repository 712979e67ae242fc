"""Reading instrument definitions from TOML, with every structural problem named in plain words."""

from __future__ import annotations

import difflib
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel, TypeAdapter, ValidationError

from .checks import check_instrument
from .instrument import Instrument, InstrumentId, ItemId
from .problems import Problem
from .rules import Rule

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
    """The TOML table in a file, or a problem saying where the syntax broke."""
    try:
        return tomllib.loads(source.read_bytes().decode("utf-8")), []
    except UnicodeDecodeError as e:
        return None, [Problem(file=str(source), message=f"is not UTF-8 text ({e.reason})")]
    except tomllib.TOMLDecodeError as e:
        return None, [Problem(file=str(source), message=f"is not valid TOML: {e}")]
    except OSError as e:
        return None, [Problem(file=str(source), message=f"cannot be read: {e.strerror or e}")]


def parse_instrument(data: dict[str, Any], file: str) -> tuple[Instrument, list[Problem]]:
    """Validate the shape of a definition.

    Returns the instrument and no problems, or every structural problem and a partial instrument
    built from the parts that were valid, so that later checks can still report what else is
    wrong in the same run.
    """
    try:
        return Instrument.model_validate(data), []
    except ValidationError as e:
        problems = [_problem(error, data, file) for error in e.errors()]
    parts: dict[str, Any] = {}
    for name, field in Instrument.model_fields.items():
        if name not in data:
            continue
        value = data[name]
        adapter = TypeAdapter(field.annotation)
        if typing.get_origin(field.annotation) is list and isinstance(value, list):
            element = TypeAdapter(typing.get_args(field.annotation)[0])
            parts[name] = [v for v in (_valid(element, x) for x in value) if v is not None]
        elif typing.get_origin(field.annotation) is dict and isinstance(value, dict):
            element = TypeAdapter(typing.get_args(field.annotation)[1])
            checked = {k: _valid(element, v) for k, v in value.items()}
            parts[name] = {k: v for k, v in checked.items() if v is not None}
        elif (valid := _valid(adapter, value)) is not None:
            parts[name] = valid
    return Instrument.model_construct(**parts), problems


def _valid(adapter: TypeAdapter, value: Any) -> Any:
    try:
        return adapter.validate_python(value, strict=True)
    except ValidationError:
        return None


def describe_location(loc: tuple, data: Any) -> str:
    """``("items", 3, "scale")`` becomes ``item "neq04" › scale`` (or ``item #4`` without an id)."""
    parts: list[str] = []
    node = data
    for i, key in enumerate(loc):
        if isinstance(key, int) and isinstance(node, list) and 0 <= key < len(node):
            element = node[key]
            kind = str(loc[i - 1]).rstrip("s") if i else "entry"
            ident = element.get("id") if isinstance(element, dict) else None
            label = f'{kind} "{ident}"' if isinstance(ident, str) else f"{kind} #{key + 1}"
            parts[-1:] = [label] if parts and parts[-1] == str(loc[i - 1]) else [*parts, label]
            node = element
        elif parts and parts[-1] == "scales" and isinstance(key, str):
            parts[-1] = f'scale "{key}"'
            node = node.get(key) if isinstance(node, dict) else None
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return " › ".join(parts)


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
    instrument, problems = parse_instrument(data, file)
    valid = (
        {i.id for i in instrument.items}
        | {s.id for s in instrument.scores}
        | set(instrument.scales)
    )
    known = _raw_ids(data) - valid
    problems += check_instrument(instrument, rules, file, frozenset(known))
    ok = not any(p.level == "error" for p in problems)
    return (instrument if ok else None), problems


def _raw_ids(data: dict[str, Any]) -> set[str]:
    """Ids of items and scores and names of scales, as written, whether valid or not."""
    scales = data.get("scales")
    ids = set(scales) if isinstance(scales, dict) else set()
    for section in ("items", "scores"):
        for entry in data.get(section) or ():
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                ids.add(entry["id"])
    return ids
