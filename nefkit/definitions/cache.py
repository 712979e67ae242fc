"""What the registry keeps of a definition file, and a cache of it so start-up stays fast.

Reading, validating and checking every installed definition takes longer than the rest of a
command such as ``nefkit instruments`` (the models alone need pydantic's schemas built). So
the verdict on each file (its errors, or its summary and its TOML table) is kept in
``$XDG_CACHE_HOME/nefkit/definitions`` (``~/.cache/...``), one JSON file per definition file,
under a key of everything the verdict depends on:

- the file's path (problems name it) and the SHA-256 of its bytes;
- the versions of Python and pydantic (whose messages problems quote) and nefkit's;
- each registered rule's name, class and state (a state that prints differently on each run
  only keeps the cache from being used), and the path, modification time and size of every
  file of code of nefkit and of each package a rule's class comes from: editing a check or a
  rule, even without a new version, changes the key.

An entry whose key differs, or that cannot be read or understood, is ignored and written
again; a cache directory that cannot be made or written leaves nefkit as slow as without one,
never broken. Nothing is cached when a rule's code cannot be told from files (a class made
inside a function, or without a module file), or for a definition a JSON file cannot hold (a
TOML date). A valid definition's instrument is built from the cached table, validated by the
model as on any run, only when a command asks for it; ``nefkit validate`` never uses the cache.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import DefinitionError, NefkitError

if TYPE_CHECKING:
    from ..rules import Rule
    from .instrument import Instrument
    from .loading import Source

# Changes when what an entry holds changes, so that older entries are not read as newer ones.
FORMAT = 1


@dataclass(frozen=True)
class Summary:
    """What ``nefkit instruments`` shows of an instrument."""

    id: str
    version: str
    title: str
    items: int
    scores: int

    @classmethod
    def of(cls, instrument: Instrument) -> Summary:
        return cls(
            instrument.id,
            instrument.version,
            instrument.title,
            len(instrument.items),
            len(instrument.scores),
        )

    @classmethod
    def from_json(cls, value: Any) -> Summary | None:
        """The summary a cache entry holds, or None if it is not one."""
        texts, counts = ("id", "version", "title"), ("items", "scores")
        if not isinstance(value, dict) or set(value) != {*texts, *counts}:
            return None
        if all(type(value[k]) is str for k in texts) and all(type(value[k]) is int for k in counts):
            return cls(**value)
        return None


class Definition:
    """A valid definition: its summary at once, its instrument when first asked for."""

    def __init__(self, summary: Summary, load: Callable[[], Instrument]):
        self.summary = summary
        self._load = load

    @classmethod
    def of(cls, instrument: Instrument) -> Definition:
        return cls(Summary.of(instrument), lambda: instrument)

    @cached_property
    def instrument(self) -> Instrument:
        return self._load()


def cache_directory() -> Path:
    """``$XDG_CACHE_HOME/nefkit/definitions`` (``~/.cache/nefkit/definitions``)."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(cache_home).expanduser() / "nefkit" / "definitions"


class DefinitionCache:
    """Definition files read through the cache, checked against ``rules``."""

    def __init__(self, rules: Mapping[str, Rule]):
        self.rules = rules
        self.directory = cache_directory()

    @cached_property
    def stamp(self) -> str | None:
        return code_stamp(self.rules)

    def load(self, source: Source) -> tuple[Definition | None, list[str]]:
        """The definition in a file if it has no errors, else its errors (as
        :func:`~nefkit.definitions.loading.load_definition` finds them): from the cache when its
        key matches, else read, parsed and checked in full, and cached."""
        file = str(source)
        try:
            content = source.read_bytes()
        except OSError:  # loading it in full names the problem as for any unreadable file
            return self._checked(source, None)[:2]
        if self.stamp is None:
            return self._checked(source, content)[:2]
        digest = hashlib.sha256(content).hexdigest()
        key = _sha256([FORMAT, self.stamp, file, digest])
        entry = self.directory / f"{_sha256(os.path.abspath(file))[:32]}.json"
        cached = _read(entry, key)
        if cached is not None:
            summary, errors, data = cached
            if summary is None:
                return None, errors
            return Definition(summary, lambda: self._from_data(data, source, content)), []
        definition, errors, data = self._checked(source, content)
        summary = asdict(definition.summary) if definition else None
        _write(entry, {"key": key, "summary": summary, "errors": errors, "data": data})
        return definition, errors

    def _checked(
        self, source: Source, content: bytes | None
    ) -> tuple[Definition | None, list[str], dict[str, Any] | None]:
        """A definition read, parsed and checked in full (``content``: its bytes, else read
        from ``source``), its errors, and its TOML table if it is valid."""
        from .loading import load_definition, load_definition_data, parse_toml

        instrument, data = None, None
        if content is None:
            instrument, problems = load_definition(source, self.rules)
        else:
            data, problems = parse_toml(content, str(source))
            if data is not None:
                instrument, problems = load_definition_data(data, str(source), self.rules)
        errors = [str(p) for p in problems if p.level == "error"]
        if instrument is None:
            return None, errors, None
        return Definition.of(instrument), errors, data

    def _from_data(self, data: dict[str, Any], source: Source, content: bytes) -> Instrument:
        """The instrument from a cached table; if the model refuses it (an entry made by hand
        to match the key), from the file's bytes, in full."""
        from pydantic import ValidationError

        from .instrument import Instrument

        try:
            return Instrument.model_validate(data)
        except ValidationError:
            definition, errors, _ = self._checked(source, content)
            if definition is None:
                raise DefinitionError(errors) from None
            return definition.instrument


def code_stamp(rules: Mapping[str, Rule]) -> str | None:
    """A digest of the code a definition's verdict depends on, or None where it cannot be
    told from files (see the module's description)."""
    import pydantic.version

    parts: list[Any] = [sys.version, pydantic.version.VERSION, __version__]
    roots = {"nefkit"}
    for name, rule in sorted(rules.items()):
        classes = [c for c in type(rule).__mro__ if c.__module__ != "builtins"]
        state = getattr(rule, "__dict__", None)
        if state is None or any("<locals>" in c.__qualname__ for c in classes):
            return None
        parts.append([name, [f"{c.__module__}.{c.__qualname__}" for c in classes]])
        parts.append(repr(sorted(state.items())))
        roots |= {c.__module__.partition(".")[0] for c in classes}
    for root in sorted(roots - sys.stdlib_module_names):
        files = _code_files(sys.modules.get(root))
        if not files:
            return None
        parts += files
    return _sha256(parts)


_CODE = tuple(importlib.machinery.all_suffixes())


def _code_files(module: Any) -> list[tuple[str, int, int]]:
    """Path, modification time and size of every file of code in a package (or of the
    module's own file); none if one cannot be read."""
    if module is None:
        return []
    if hasattr(module, "__path__"):
        paths = []
        for top in module.__path__:
            for folder, subfolders, names in os.walk(top):
                subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
                paths += [os.path.join(folder, n) for n in sorted(names) if n.endswith(_CODE)]
    else:
        paths = [module.__file__] if getattr(module, "__file__", None) else []
    try:
        statuses = [os.stat(path) for path in paths]
    except OSError:
        return []
    return [(path, st.st_mtime_ns, st.st_size) for path, st in zip(paths, statuses)]


def _sha256(value: Any) -> str:
    return hashlib.sha256(json.dumps(value).encode()).hexdigest()


def _read(entry: Path, key: str) -> tuple[Summary | None, list[str], Any] | None:
    """The summary (None for an invalid definition), errors and table in a cache entry, or
    None if it is missing, unreadable, for another key or not what nefkit writes."""
    try:
        record = json.loads(entry.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    errors, data = record.get("errors"), record.get("data")
    if not isinstance(errors, list) or not all(isinstance(e, str) for e in errors):
        return None
    summary = Summary.from_json(record.get("summary"))
    valid = summary is not None and not errors and isinstance(data, dict)
    invalid = record.get("summary") is None and errors and data is None
    return (summary, errors, data) if valid or invalid else None


def _write(entry: Path, record: dict[str, Any]) -> None:
    """Keep a cache entry if it can be: a cache that cannot be written only costs time."""
    from ..outputs import written_whole

    try:
        text = json.dumps(record, ensure_ascii=False)
    except (TypeError, ValueError):  # a TOML date or time has no JSON form
        return
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        with written_whole(entry) as staged:
            staged.write_text(text, encoding="utf-8")
    except (OSError, NefkitError):
        return
