"""Everything the plugins registered, checked and attributed to the plugin that sent it."""

from __future__ import annotations

import difflib
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from . import __version__
from .definitions.checks import check_instrument
from .definitions.instrument import Instrument
from .definitions.loading import load_definition
from .definitions.problems import Problem
from .documents import Document
from .engines import Engine, Workload
from .errors import DuplicateRegistration, NefkitError, PluginError, blamed
from .plugins import PluginHost, PluginInfo, PluginWarning
from .plugins import host as default_host
from .readers import Reader, Table
from .renderers import Renderer
from .rules import Rule
from .scoring.rows import RowEngine

if TYPE_CHECKING:
    from .definitions.plan import Plan

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


@dataclass
class Registry:
    instruments: dict[str, Entry[Instrument]] = field(default_factory=dict)
    rules: dict[str, Entry[Rule]] = field(default_factory=dict)
    renderers: dict[str, Entry[Renderer]] = field(default_factory=dict)
    readers: dict[str, Entry[Reader]] = field(default_factory=dict)
    engines: dict[str, Entry[Engine]] = field(default_factory=dict)
    templates: list[Entry[Any]] = field(default_factory=list)  # directories, in load order

    @property
    def rule_map(self) -> dict[str, Rule]:
        return {name: entry.value for name, entry in self.rules.items()}

    @property
    def rule_origins(self) -> dict[str, str]:
        return {name: entry.origin for name, entry in self.rules.items()}

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
        self, requested: str, data: Path, plan: Plan, format: str | None = None
    ) -> tuple[Entry[Engine], str]:
        """The engine to score ``data`` with ``plan``, and why: the one ``requested``, or for
        "auto" the one expected to be quickest (:meth:`Engine.cost` of each engine that reads
        the input, on the reader's estimate of its rows), else the row engine."""
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
        others = {
            name: entry
            for name, entry in self.engines.items()
            if name != ROW_ENGINE and (not entry.value.formats or fmt in entry.value.formats)
        }
        if not others:
            return row_engine, f"no other engine reads {fmt}"
        with blamed(f"{fmt} reader from {reader.origin}", f"counting the rows of {data}"):
            rows = reader.value.count_rows(data)
        if rows is None:
            return row_engine, f"the {fmt} reader cannot tell how large the file is"
        work = Workload(rows, len(plan.items), bool(plan.changes), fmt)
        costs: dict[str, float] = {}
        for name, entry in {ROW_ENGINE: row_engine, **others}.items():
            with blamed(f"engine '{name}' from {entry.origin}", f"weighing {data}"):
                cost = entry.value.cost(work)
            if cost is not None:
                costs[name] = cost
        if not costs:
            return row_engine, f"{work}; no engine gave an estimate"
        ranked = sorted(costs, key=costs.__getitem__)
        estimates = ", ".join(f"{name} ~{_seconds(costs[name])}" for name in ranked)
        left = [name for name in [ROW_ENGINE, *others] if name not in costs]
        if left:
            estimates += f"; not for this input: {', '.join(left)}"
        return {ROW_ENGINE: row_engine, **others}[ranked[0]], f"{work}: {estimates}"

    def add(self, kind: str, table: dict[str, Entry[Any]], key: str, entry: Entry[Any]) -> None:
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


def _format_checker(kind: type, noun: str):
    def check(thing: Any):
        if not isinstance(thing, kind):
            raise PluginError(
                f"registered {thing!r}, which is not a nefkit.{kind.__name__} instance"
            )
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
        writes = getattr(thing, "writes", ())
        if kind is Renderer and not (
            isinstance(writes, tuple)
            and writes
            and all(isinstance(w, type) and issubclass(w, Document) for w in writes)
        ):
            raise PluginError(
                f"renderer '{fmt}' writes {writes!r}; give a tuple of the kinds of document it"
                " writes, like (nefkit.documents.Scores,)"
            )
        return thing

    return check


def build_registry(
    instrument_paths: Sequence[Path] = (), plugin_host: PluginHost = default_host
) -> Registry:
    """Collect rules, renderers and instruments from every plugin, then the user's own
    definitions from ``instrument_paths`` and ``NEFKIT_INSTRUMENTS_PATH``."""
    plugin_host.load()
    registry = Registry()

    def committer(kind: str, table: dict, key):
        def commit(collector: _Collector) -> None:
            for thing in collector.pending:
                registry.add(kind, table, key(thing), Entry(thing, collector.info.label))

        return commit

    plugin_host.call_each(
        "register_scoring_rules",
        lambda info: _Collector(info, _check_rule),
        committer("scoring rule", registry.rules, lambda r: r.name),
    )
    plugin_host.call_each(
        "register_renderers",
        lambda info: _Collector(info, _format_checker(Renderer, "renderer")),
        committer("renderer format", registry.renderers, lambda r: r.format),
    )
    plugin_host.call_each(
        "register_readers",
        lambda info: _Collector(info, _format_checker(Reader, "reader")),
        committer("reader format", registry.readers, lambda r: r.format),
    )
    registry.engines[ROW_ENGINE] = Entry(RowEngine(), f"nefkit {__version__} (core)")
    plugin_host.call_each(
        "register_engines",
        lambda info: _Collector(info, _check_engine),
        committer("engine", registry.engines, lambda e: e.name),
    )
    plugin_host.call_each(
        "register_templates",
        lambda info: _Collector(info, _check_directory),
        lambda c: registry.templates.extend(Entry(d, c.info.label) for d in c.pending),
    )
    for table in (registry.renderers, registry.readers):
        _warn_shared_extensions(table)
    rules = registry.rule_map

    def commit_instruments(collector: _Collector) -> None:
        for source in collector.pending:
            instrument, problems, path = _instrument_from(source, rules)
            if instrument is None:
                details = "; ".join(str(p) for p in problems if p.level == "error")
                plugin_host.fail(collector.info, f"registered an invalid instrument: {details}")
                continue
            registry.add(
                "instrument",
                registry.instruments,
                instrument.id,
                Entry(instrument, collector.info.label, path),
            )

    plugin_host.call_each(
        "register_instruments", lambda info: _Collector(info, _check_source), commit_instruments
    )
    for path in _definition_files([*instrument_paths, *_environment_paths()]):
        instrument, problems = load_definition(path, rules)
        if instrument is None:
            details = "\n  ".join(str(p) for p in problems if p.level == "error")
            warnings.warn(
                f"{path} was left out because it has errors (run nefkit validate {path}):\n  {details}",
                DefinitionWarning,
                stacklevel=2,
            )
            continue
        registry.add(
            "instrument",
            registry.instruments,
            instrument.id,
            Entry(instrument, f"your file {path}", str(path)),
        )
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
    if isinstance(source, Instrument) or (
        hasattr(source, "read_bytes") and hasattr(source, "name")
    ):
        return source
    raise PluginError(
        f"registered {source!r}; give a path to a TOML definition or a nefkit.Instrument"
    )


def _instrument_from(source: Any, rules) -> tuple[Instrument | None, list[Problem], str | None]:
    if isinstance(source, Instrument):
        problems = check_instrument(source, rules, f"instrument {source.id}")
        bad = any(p.level == "error" for p in problems)
        return (None if bad else source), problems, None
    instrument, problems = load_definition(source, rules)
    return instrument, problems, str(source)


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
