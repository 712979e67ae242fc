"""What the registry keeps of a definition file, and a cache of it so start-up stays fast.

Reading, validating and checking every installed definition takes longer than the rest of a
command such as ``nefkit instruments`` (the models need pydantic, about 60 ms to import, and
their schemas built). So the verdict on each file (its errors, or its summary and its TOML
table) is kept in ``$XDG_CACHE_HOME/nefkit/definitions`` (``~/.cache/...``), one JSON file per
definition file, under a key of everything the verdict depends on:

- the file's path (problems name it) and the SHA-256 of its bytes;
- the versions of Python, pydantic (whose messages problems quote) and nefkit;
- each registered rule's name, class and state (a state that prints differently on each run
  only keeps the cache from being used), and the path, modification time and size of every
  file of code of nefkit, pydantic and each package a rule's class or a rule plugin comes
  from: editing a check or a rule, even without a new version, changes the key.

The part of the key that depends on the rules, with each rule's plugin, is kept too
(``rules.json``), with the plugins that provided the rules and the files of code it was made
from. While the same plugins provide rules (each a module, at the same version) and none of
those files has changed, it stands in for the rules, so that no rule plugin, and no pydantic,
is imported to list the instruments. It is kept only when collecting the rules went without a
plugin failing: a failing plugin is asked, and reported, every time.

An entry whose key differs, or that cannot be read or understood, is ignored and written
again; a cache directory that cannot be made or written leaves nefkit as slow as without one,
never broken. Nothing is cached when a rule's code cannot be told from files (a class made
inside a function, or without a module file), or for a definition a JSON file cannot hold (a
TOML date). A valid definition's instrument is built from the cached table, validated by the
model as on any run, only when a command asks for it; ``nefkit validate`` never uses the cache.
What a plugin registers is taken to follow from its code and version: a plugin whose rules
change with, say, an environment variable would need its cache entries removed by hand.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..errors import DefinitionError, NefkitError

if TYPE_CHECKING:
    from ..plugins import PluginHost
    from ..registry import Entry
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


# Where the rules were last collected: who provided them, the files of code they depend on,
# their digest and their origins.
RULES = "rules.json"


class DefinitionCache:
    """Definition files read through the cache. ``collect`` collects the registered rules (it
    calls the plugins' hook) and says whether every plugin did so without failing; it is called
    only when the cache cannot answer without the rules."""

    def __init__(
        self, host: PluginHost, collect: Callable[[], tuple[Mapping[str, Entry[Rule]], bool]]
    ):
        self.host = host
        self.collect = collect
        self.directory = cache_directory()

    @cached_property
    def rules(self) -> dict[str, Rule]:
        return {name: entry.value for name, entry in self.collect()[0].items()}

    @cached_property
    def rule_origins(self) -> dict[str, str]:
        """The plugin each rule comes from."""
        if self.record is not None:
            return self.record["origins"]
        return {name: entry.origin for name, entry in self.collect()[0].items()}

    @cached_property
    def record(self) -> dict[str, Any] | None:
        """The rules' digest and origins as last collected, if the same plugins provide them
        and no file of code they depend on has changed since: then no rule plugin is imported."""
        providers = rule_providers(self.host)
        try:
            record = json.loads((self.directory / RULES).read_bytes())
        except (OSError, ValueError):
            return None
        if (
            providers is None
            or not isinstance(record, dict)
            or record.get("providers") != providers
        ):
            return None
        stamp, origins, files = record.get("stamp"), record.get("origins"), record.get("files")
        if not (
            isinstance(stamp, str)
            and isinstance(origins, dict)
            and all(isinstance(o, str) for o in origins.values())
            and isinstance(files, list)
            and all(isinstance(f, list) and len(f) == 3 and isinstance(f[0], str) for f in files)
        ):
            return None
        return record if files and _statuses([f[0] for f in files]) == files else None

    @cached_property
    def stamp(self) -> str | None:
        """The part of every entry's key that is not the file's own (see the module's
        description); None when nothing may be cached."""
        if self.record is not None:
            return self.record["stamp"]
        entries, clean = self.collect()
        providers = rule_providers(self.host)
        modules = [module for _, _, module in providers[3:]] if providers else []
        stamp, files = code_stamp(self.rules, modules)
        if stamp is not None and providers is not None and clean:
            origins = {name: entry.origin for name, entry in entries.items()}
            record = {"providers": providers, "files": files, "stamp": stamp, "origins": origins}
            _write(self.directory / RULES, record)
        return stamp

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


def rule_providers(host: PluginHost) -> list[Any] | None:
    """Who provides the rules, told without calling on them: nefkit's and Python's versions and
    each plugin implementing ``register_scoring_rules`` as installed; None unless each is a
    module (what a plugin object registers may depend on its state)."""
    providers: list[Any] = [FORMAT, sys.version, __version__]
    for hook in host.pm.hook.register_scoring_rules.get_hookimpls():
        if not isinstance(hook.plugin, ModuleType):
            return None
        info = host.info.get(hook.plugin_name)
        providers.append([hook.plugin_name, info.label if info else "", hook.plugin.__name__])
    return providers


def code_stamp(
    rules: Mapping[str, Rule], modules: Iterable[str] = ()
) -> tuple[str | None, list[list[Any]]]:
    """A digest of the code a definition's verdict depends on and the files of that code:
    nefkit's, pydantic's, the rules' and those of ``modules``; no digest where the code cannot
    be told from files (see the module's description)."""
    import pydantic.version

    parts: list[Any] = [sys.version, pydantic.version.VERSION, __version__]
    roots = {"nefkit", "pydantic", "pydantic_core", *(m.partition(".")[0] for m in modules)}
    for name, rule in sorted(rules.items()):
        classes = [c for c in type(rule).__mro__ if c.__module__ != "builtins"]
        state = getattr(rule, "__dict__", None)
        if state is None or any("<locals>" in c.__qualname__ for c in classes):
            return None, []
        parts.append([name, [f"{c.__module__}.{c.__qualname__}" for c in classes]])
        parts.append(repr(sorted(state.items())))
        roots |= {c.__module__.partition(".")[0] for c in classes}
    files = []
    for root in sorted(roots - sys.stdlib_module_names):
        found = _code_files(sys.modules.get(root))
        if not found:
            return None, []
        files += found
    return _sha256([parts, files]), files


_CODE = tuple(importlib.machinery.all_suffixes())


def _code_files(module: Any) -> list[list[Any]]:
    """Path, modification time and size of every file of code in a package (or of the
    module's own file); none if one cannot be read."""
    if module is None:
        return []
    if not hasattr(module, "__path__"):
        file = getattr(module, "__file__", None)
        return (_statuses([file]) or []) if file else []
    paths = []
    for top in module.__path__:
        for folder, subfolders, names in os.walk(top):
            subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
            paths += [os.path.join(folder, n) for n in sorted(names) if n.endswith(_CODE)]
    return _statuses(paths) or []


def _statuses(paths: list[str]) -> list[list[Any]] | None:
    """``[path, modification time, size]`` of each file, or None if one cannot be read."""
    try:
        return [[path, (st := os.stat(path)).st_mtime_ns, st.st_size] for path in paths]
    except OSError:
        return None


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
