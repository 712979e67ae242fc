"""Everything the plugins registered, checked and attributed to the plugin that sent it.

Each kind (rules, renderers, readers, engines, templates, instruments) is collected from the
plugins when a command first asks for it, so that ``nefkit instruments`` never imports a
renderer; :func:`build_registry` collects them all at once, and so reports every plugin's
problem whichever kind it is in.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import __version__
from .errors import DuplicateRegistration, NefkitError, PluginError, blamed
from .plugins import PluginHost, PluginInfo, PluginWarning
from .plugins import host as default_host
from .readers import Reader, Table

if TYPE_CHECKING:
    from .definitions.cache import Definition, DefinitionCache, Summary
    from .definitions.instrument import Instrument
    from .definitions.plan import Plan
    from .engines import Engine
    from .renderers import Renderer
    from .rules import Rule

T = TypeVar("T")
ROW_ENGINE = "python"  # nefkit's own, always registered: the reference and the fallback
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class DefinitionWarning(UserWarning):
    """An instrument definition in a user's directory has errors and was left out."""


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered thing and where it came from (a plugin, or a user's directory)."""

    value: T
    origin: str
    path: str | None = None


@dataclass(frozen=True)
class InstrumentEntry:
    """A registered instrument: its summary at once, the model (``value``) when first used."""

    definition: Definition
    origin: str
    path: str | None = None

    @property
    def summary(self) -> Summary:
        return self.definition.summary

    @property
    def value(self) -> Instrument:
        return self.definition.instrument


class Registry:
    """What the plugins registered, each kind collected when first asked for; the user's own
    definitions come from ``instrument_paths`` and ``NEFKIT_INSTRUMENTS_PATH``."""

    def __init__(
        self, instrument_paths: Sequence[Path] = (), plugin_host: PluginHost = default_host
    ) -> None:
        plugin_host.load()
        self.host = plugin_host
        self.instrument_paths = [*instrument_paths, *_environment_paths()]

    @cached_property
    def rules(self) -> dict[str, Entry[Rule]]:
        failures = self.host.failure_count
        rules = self._collect("register_scoring_rules", "scoring rule", _check_rule, "name")
        self._rules_without_failures = self.host.failure_count == failures
        return rules

    @cached_property
    def _definitions(self) -> DefinitionCache:
        """Definition files read through the cache, which asks for the rules only if it must."""
        from .definitions.cache import DefinitionCache

        return DefinitionCache(self.host, lambda: (self.rules, self._rules_without_failures))

    @cached_property
    def renderers(self) -> dict[str, Entry[Renderer]]:
        table = self._collect("register_renderers", "renderer format", _check_renderer, "format")
        _warn_shared_extensions(table)
        return table

    @cached_property
    def readers(self) -> dict[str, Entry[Reader]]:
        table = self._collect("register_readers", "reader format", _check_reader, "format")
        _warn_shared_extensions(table)
        return table

    @cached_property
    def engines(self) -> dict[str, Entry[Engine]]:
        from .scoring.rows import RowEngine

        table = {ROW_ENGINE: Entry(RowEngine(), f"nefkit {__version__} (core)")}
        return self._collect("register_engines", "engine", _check_engine, "name", table)

    @cached_property
    def templates(self) -> list[Entry[Any]]:
        """Template directories, in load order."""
        templates: list[Entry[Any]] = []
        self.host.call_each(
            "register_templates",
            lambda info: _Collector(info, _check_directory),
            lambda c: templates.extend(Entry(d, c.info.label) for d in c.pending),
        )
        return templates

    @cached_property
    def instruments(self) -> dict[str, InstrumentEntry]:
        """The plugins' instruments, then the user's own; a definition with errors is left out
        with a warning (a plugin's is counted against it)."""
        cache = self._definitions
        table: dict[str, InstrumentEntry] = {}

        def commit(collector: _Collector) -> None:
            for source in collector.pending:
                definition, errors = _definition_from(source, cache)
                if definition is None:
                    details = "; ".join(errors)
                    self.host.fail(collector.info, f"registered an invalid instrument: {details}")
                    continue
                path = str(source) if _is_file(source) else None
                entry = InstrumentEntry(definition, collector.info.label, path)
                self.add("instrument", table, definition.summary.id, entry)

        self.host.call_each(
            "register_instruments", lambda info: _Collector(info, _check_source), commit
        )
        for path in _definition_files(self.instrument_paths):
            definition, errors = cache.load(path)
            if definition is None:
                details = "\n  ".join(errors)
                warnings.warn(
                    f"{path} was left out because it has errors (run nefkit validate {path}):\n  {details}",
                    DefinitionWarning,
                    stacklevel=2,
                )
                continue
            entry = InstrumentEntry(definition, f"your file {path}", str(path))
            self.add("instrument", table, definition.summary.id, entry)
        return table

    def _collect(
        self,
        hook: str,
        kind: str,
        check,
        key: str,
        table: dict[str, Entry[Any]] | None = None,
    ) -> dict[str, Entry[Any]]:
        """Call ``hook`` of every plugin, checking each registration, and keep them by the
        attribute ``key``: a name taken twice is an error naming both plugins."""
        table = {} if table is None else table

        def commit(collector: _Collector) -> None:
            for thing in collector.pending:
                self.add(kind, table, getattr(thing, key), Entry(thing, collector.info.label))

        self.host.call_each(hook, lambda info: _Collector(info, check), commit)
        return table

    @property
    def rule_map(self) -> dict[str, Rule]:
        return {name: entry.value for name, entry in self.rules.items()}

    @property
    def rule_origins(self) -> dict[str, str]:
        """The plugin each rule comes from (from the definitions cache when it knows)."""
        return self._definitions.rule_origins

    def instrument(self, instrument_id: str) -> Instrument:
        entry = self.instruments.get(instrument_id)
        if entry is None:
            raise NefkitError(_unknown("instrument", instrument_id, self.instruments))
        return entry.value

    def renderer_for(self, path: Path, format: str | None = None) -> Renderer:
        """The renderer named by ``format``, else the one that writes ``path``'s extension."""
        return self.renderer_entry_for(path, format).value

    def renderer_entry_for(self, path: Path, format: str | None = None) -> Entry[Renderer]:
        """:meth:`renderer_for` with the plugin it came from."""
        return _by_format("output", self.renderers, path, format)

    def reader_for(self, path: Path, format: str | None = None) -> Reader:
        """The reader named by ``format``, else the one that reads ``path``'s extension."""
        return _by_format("input", self.readers, path, format).value

    def read(self, path: Path, format: str | None = None) -> Table:
        """A data file read by the reader for it; a reader that fails, at once or on a later
        row, is named with its plugin."""
        return self.blamed_reader(path, format).read(path)

    def blamed_reader(self, path: Path, format: str | None = None) -> Reader:
        """The reader for ``path`` (or ``format``), which names its plugin when it fails."""
        return _BlamedReader(_by_format("input", self.readers, path, format))

    def engine_for(
        self,
        requested: str,
        data: Path,
        plan: Plan,
        format: str | None = None,
        rendered: bool = True,
    ) -> tuple[Entry[Engine], str]:
        """The engine to score ``data`` with ``plan``, and why: the one ``requested``, or for
        "auto" the one expected to be quickest (:meth:`Engine.cost` of each engine that reads
        the input, on the reader's estimate of its rows), else the row engine. ``rendered``:
        every scored row will go to Python (false only when the output's renderer lets an
        engine write it in its place)."""
        from .engines import Workload

        reader = _by_format("input", self.readers, data, format)
        fmt = reader.value.format
        if requested != "auto":
            entry = self.engines.get(requested)
            if entry is None:
                raise NefkitError(_unknown("engine", requested, [*self.engines, "auto"]))
            formats = entry.value.formats
            if formats and fmt not in formats:
                raise NefkitError(
                    f"{data}: the {requested} engine reads {', '.join(formats)} files, not"
                    f" {fmt}; use --engine python"
                )
            return entry, "asked for"
        row_engine = self.engines[ROW_ENGINE]
        candidates = {  # the row engine first: it reads every format
            name: entry
            for name, entry in self.engines.items()
            if name == ROW_ENGINE or not entry.value.formats or fmt in entry.value.formats
        }
        if len(candidates) == 1:
            return row_engine, f"no other engine reads {fmt}"
        with blamed(f"{fmt} reader from {reader.origin}", f"counting the rows of {data}"):
            rows = reader.value.count_rows(data)
        if rows is None:
            return row_engine, f"the {fmt} reader cannot tell how large the file is"
        work = Workload(rows, len(plan.items), bool(plan.changes), fmt, rendered)
        costs: dict[str, float] = {}
        for name, entry in candidates.items():
            with blamed(f"engine '{name}' from {entry.origin}", f"weighing {data}"):
                cost = entry.value.cost(work)
            if cost is not None:
                costs[name] = cost
        if not costs:
            return row_engine, f"{work}; no engine gave an estimate"
        ranked = sorted(costs, key=costs.__getitem__)
        estimates = ", ".join(f"{name} ~{_seconds(costs[name])}" for name in ranked)
        left = [name for name in candidates if name not in costs]
        if left:
            estimates += f"; not for this input: {', '.join(left)}"
        return candidates[ranked[0]], f"{work}: {estimates}"

    def add(
        self, kind: str, table: dict[str, Any], key: str, entry: Entry | InstrumentEntry
    ) -> None:
        if key in table:
            raise DuplicateRegistration(
                f"{kind} '{key}' is registered twice: by {table[key].origin} and by {entry.origin}."
                " Uninstall one, or leave one out with NEFKIT_DISABLE_PLUGINS."
            )
        table[key] = entry


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"


class _BlamedReader(Reader):
    """A registered reader whose failures, at once or on a later row, name its plugin."""

    def __init__(self, entry: Entry[Reader]):
        self.entry = entry
        self.format = entry.value.format
        self.extensions = entry.value.extensions
        self.summary = entry.value.summary

    def read(self, path: Path) -> Table:
        who = f"reader '{self.format}' from {self.entry.origin}"
        with blamed(who, f"reading {path}"):
            table = self.entry.value.read(path)
        table.rows = _blamed_rows(table.rows, who, f"reading {path}")
        return table

    def count_rows(self, path: Path) -> int | None:
        with blamed(f"reader '{self.format}' from {self.entry.origin}", f"counting {path}"):
            return self.entry.value.count_rows(path)


def _blamed_rows(rows: Iterator[Any], who: str, doing: str) -> Iterator[Any]:
    with blamed(who, doing):
        yield from rows


def _by_format(
    direction: str, table: dict[str, Entry[Any]], path: Path, format: str | None
) -> Entry[Any]:
    if format is not None:
        entry = table.get(format)
        if entry is None:
            raise NefkitError(_unknown(f"{direction} format", format, table))
        return entry
    suffix = path.suffix.lower()
    for entry in table.values():
        if suffix in entry.value.extensions:
            return entry
    known = sorted(e for entry in table.values() for e in entry.value.extensions)
    raise NefkitError(
        f"nefkit has no {direction} format for '{suffix or path.name}' files; it knows"
        f" {', '.join(known) or 'none'} (or choose one with --format)"
    )


def _unknown(noun: str, name: str, known: Iterable[str]) -> str:
    import difflib  # only when a name is not found

    known = sorted(known)
    hint = difflib.get_close_matches(name, known, n=1)
    suggestion = f" Did you mean '{hint[0]}'?" if hint else ""
    return f"unknown {noun} '{name}'.{suggestion} Known: {', '.join(known) or 'none'}."


class _Collector:
    """The ``register`` callback handed to one plugin's hook: checks each registration and keeps
    it until the hook has returned."""

    def __init__(self, info: PluginInfo, check):
        self.info = info
        self.check = check
        self.pending: list[Any] = []

    def __call__(self, thing: Any) -> None:
        self.pending.append(self.check(thing))


def _check_rule(rule: Any) -> Rule:
    from .rules import Rule

    if not isinstance(rule, Rule):
        raise PluginError(
            f"registered {rule!r}, which is not a nefkit.ScoringRule or ChangeRule instance"
        )
    name = getattr(rule, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise PluginError(
            f"registered a rule whose name {name!r} is not lowercase letters, digits and _"
        )
    return rule


def _check_engine(engine: Any) -> Engine:
    from .engines import Engine

    if not isinstance(engine, Engine):
        raise PluginError(f"registered {engine!r}, which is not a nefkit.Engine instance")
    name, formats = getattr(engine, "name", None), getattr(engine, "formats", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise PluginError(
            f"registered an engine whose name {name!r} is not lowercase letters, digits and _"
        )
    if not isinstance(formats, tuple) or not all(isinstance(f, str) for f in formats):
        raise PluginError(f"engine '{name}' has formats {formats!r}; give a tuple like ('csv',)")
    return engine


def _check_reader(reader: Any) -> Reader:
    return _check_format(reader, Reader, "reader")


def _check_renderer(renderer: Any) -> Renderer:
    from .documents import Document
    from .renderers import Renderer

    _check_format(renderer, Renderer, "renderer")
    writes = getattr(renderer, "writes", ())
    if not (
        isinstance(writes, tuple)
        and writes
        and all(isinstance(w, type) and issubclass(w, Document) for w in writes)
    ):
        raise PluginError(
            f"renderer '{renderer.format}' writes {writes!r}; give a tuple of the kinds of"
            " document it writes, like (nefkit.documents.Scores,)"
        )
    return renderer


def _check_format(thing: Any, kind: type, noun: str) -> Any:
    if not isinstance(thing, kind):
        raise PluginError(f"registered {thing!r}, which is not a nefkit.{kind.__name__} instance")
    fmt, extensions = getattr(thing, "format", None), getattr(thing, "extensions", None)
    if not isinstance(fmt, str) or not _NAME.match(fmt):
        raise PluginError(
            f"registered a {noun} whose format {fmt!r} is not lowercase letters, digits and _"
        )
    if not isinstance(extensions, tuple) or not all(
        isinstance(e, str) and e.startswith(".") and e == e.lower() for e in extensions
    ):
        raise PluginError(
            f"{noun} '{fmt}' has extensions {extensions!r}; give a tuple like ('.csv',)"
        )
    return thing


def build_registry(
    instrument_paths: Sequence[Path] = (), plugin_host: PluginHost = default_host
) -> Registry:
    """A registry with every kind collected now: rules, renderers, readers, engines and
    templates from every plugin, then the instruments, the user's own definitions from
    ``instrument_paths`` and ``NEFKIT_INSTRUMENTS_PATH`` included."""
    registry = Registry(instrument_paths, plugin_host)
    for kind in ("rules", "renderers", "readers", "engines", "templates", "instruments"):
        getattr(registry, kind)
    return registry


def _warn_shared_extensions(table: dict[str, Entry[Any]]) -> None:
    """An extension claimed twice stays with the first claimant (nefkit's own come first)."""
    claimed: dict[str, Entry[Any]] = {}
    for fmt, entry in table.items():
        for extension in entry.value.extensions:
            first = claimed.setdefault(extension, entry)
            if first is not entry:
                warnings.warn(
                    f"{entry.origin} also claims '{extension}' files, which stay with"
                    f" {first.origin}; choose this one with --format {fmt}",
                    PluginWarning,
                    stacklevel=3,
                )


def _check_directory(directory: Any) -> Any:
    if hasattr(directory, "is_dir") and hasattr(directory, "joinpath") and directory.is_dir():
        return directory
    raise PluginError(f"registered {directory!r} as templates; give an existing directory")


def _check_source(source: Any) -> Any:
    if _is_file(source):
        return source
    from .definitions.instrument import Instrument

    if isinstance(source, Instrument):
        return source
    raise PluginError(
        f"registered {source!r}; give a path to a TOML definition or a nefkit.Instrument"
    )


def _is_file(source: Any) -> bool:
    """A definition file (a ``Path`` or an ``importlib.resources`` file), not a model."""
    return hasattr(source, "read_bytes") and hasattr(source, "name")


def _definition_from(source: Any, cache: DefinitionCache) -> tuple[Definition | None, list[str]]:
    """A definition a plugin registered, if it has no errors, else its errors."""
    if _is_file(source):
        return cache.load(source)
    from .definitions.cache import Definition
    from .definitions.checks import check_instrument

    # A model built in Python has no file to key a cache entry by: it is checked every time.
    problems = check_instrument(source, cache.rules, f"instrument {source.id}")
    errors = [str(p) for p in problems if p.level == "error"]
    return (None if errors else Definition.of(source)), errors


def _environment_paths() -> list[Path]:
    value = os.environ.get("NEFKIT_INSTRUMENTS_PATH", "")
    return [Path(p) for p in value.split(os.pathsep) if p]


def _definition_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.toml")))
        elif path.exists():
            files.append(path)
        else:
            raise NefkitError(f"instrument path {path} does not exist")
    return files
