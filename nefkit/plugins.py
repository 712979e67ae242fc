"""Finding, loading and calling plugins, so that one broken plugin never takes nefkit down.

Every plugin, nefkit's own included, is found through the ``nefkit`` entry-point group and loaded
one at a time. A plugin that fails to import, implements a hook that does not exist, or raises
inside a hook becomes one warning naming its distribution and version; the rest keep working.
``NEFKIT_STRICT_PLUGINS=1`` turns those warnings into errors.

Environment switches:

- ``NEFKIT_LOAD_PLUGINS=a,b``: load only these third-party plugins (entry-point or distribution
  names) besides nefkit's own; an empty value loads none of them.
- ``NEFKIT_DISABLE_PLUGINS=a,b``: never load these, nefkit's own included.
- ``NEFKIT_STRICT_PLUGINS=1``: a broken plugin is an error.
- ``NEFKIT_TRACE_PLUGINS=1``: print every hook call to stderr.
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import pluggy

from . import hookspecs
from .errors import DuplicateRegistration, PluginError

ENTRY_POINT_GROUP = "nefkit"
OWN_DISTRIBUTION = "nefkit"


class PluginWarning(UserWarning):
    """A plugin failed and was left out; nefkit carried on without it."""


@dataclass
class PluginInfo:
    """What ``nefkit plugins`` reports about one plugin."""

    name: str
    distribution: str
    version: str
    builtin: bool
    failures: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.builtin:
            return f"nefkit {self.version} (built-in plugin {self.name})"
        return f"{self.distribution} {self.version} (plugin {self.name})"


def _names(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {_normalise(n) for n in value.split(",") if n.strip()}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def _is_own(ep: EntryPoint) -> bool:
    return ep.dist is not None and _normalise(ep.dist.name) == OWN_DISTRIBUTION


def _strict() -> bool:
    return os.environ.get("NEFKIT_STRICT_PLUGINS", "") not in ("", "0")


class PluginHost:
    """The plugin manager with the bookkeeping that lets nefkit blame the right plugin."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.loaded = False
        self.trace = os.environ.get("NEFKIT_TRACE_PLUGINS", "") not in ("", "0")

    def load(self) -> None:
        """Load every selected entry point once; later calls do nothing."""
        if self.loaded:
            return
        self.loaded = True
        only, disabled = _names("NEFKIT_LOAD_PLUGINS"), _names("NEFKIT_DISABLE_PLUGINS") or set()
        # nefkit's own first, so a third party's plugin of the same name cannot displace one.
        found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: not _is_own(ep))
        for ep in found:
            dist = ep.dist.name if ep.dist else "unknown distribution"
            names = {_normalise(ep.name), _normalise(dist)}
            builtin = _is_own(ep)
            if names & disabled or (only is not None and not builtin and not names & only):
                continue
            self._load_entry_point(ep, dist, builtin)

    def _load_entry_point(self, ep: EntryPoint, dist: str, builtin: bool) -> None:
        version = ep.dist.version if ep.dist else "?"
        info = PluginInfo(ep.name, dist, version, builtin)
        if ep.name in self.info or self.pm.has_plugin(ep.name):
            other = self.info.get(ep.name)
            self.fail(
                info, f"its name is already taken by {other.label if other else 'another plugin'}"
            )
            return
        try:
            module = ep.load()
            self.register(module, info)
        except Exception as e:  # a plugin's import may raise anything; nefkit carries on
            self.fail(info, f"could not be loaded: {_describe(e)}")

    def register(self, plugin: Any, info: PluginInfo) -> None:
        """Register one plugin object, refusing it whole if it implements a hook that no spec
        declares (a misspelt name would otherwise be ignored in silence)."""
        try:
            self.pm.register(plugin, name=info.name)
        except pluggy.PluginValidationError as e:  # a hook's arguments do not match its spec
            raise PluginError(str(e)) from None
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as e:
            self.pm.unregister(plugin)
            raise PluginError(f"{e}; nefkit's hooks are: {', '.join(self.hook_names())}") from None
        self.info[info.name] = info

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self.info.pop(name, None)

    def fail(self, info: PluginInfo, message: str) -> None:
        """Report a broken plugin once: a warning, or an error in strict mode."""
        info.failures.append(message)
        self.info.setdefault(info.name, info)
        text = f"{info.label} {message}"
        if _strict():
            raise PluginError(text)
        warnings.warn(text, PluginWarning, stacklevel=2)

    @property
    def failure_count(self) -> int:
        """How many failures of plugins have been reported so far."""
        return sum(len(info.failures) for info in self.info.values())

    def hook_names(self) -> list[str]:
        return sorted(
            name
            for name in dir(self.pm.hook)
            if not name.startswith("_") and getattr(self.pm.hook, name).has_spec()
        )

    def call_each(
        self,
        hook: str,
        make: Callable[[PluginInfo], Any],
        done: Callable[[Any], None] = lambda _: None,
    ) -> None:
        """Call each implementation of ``hook`` on its own with the argument ``make(plugin)``.

        Each plugin gets its own argument (a ``register`` callback that knows who registers);
        ``done(argument)`` runs only when the plugin's hook returned, so what a plugin registered
        before raising is discarded with it. Duplicates are errors and propagate.
        """
        # In registration order, nefkit's own first: where a name or an extension is shared,
        # the first registration is the one kept.
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            info = self.info.get(impl.plugin_name) or PluginInfo(
                impl.plugin_name, "unknown", "?", builtin=False
            )
            if self.trace:
                print(f"nefkit: calling {hook} of {info.label}", file=sys.stderr)
            argument = make(info)
            try:
                impl.function(*(argument for _ in impl.argnames))
            except DuplicateRegistration:
                raise
            except PluginError as e:
                self.fail(info, f"{hook}: {e}")
            except Exception as e:  # plugin code may raise anything; nefkit carries on
                self.fail(info, f"raised an error in {hook}: {_describe(e)}")
            else:
                done(argument)

    def plugins(self) -> Iterator[tuple[PluginInfo, list[str]]]:
        """Each known plugin with the hooks it implements (none for a plugin that failed to load)."""
        for name, info in sorted(self.info.items()):
            plugin = self.pm.get_plugin(name)
            hooks = (
                [] if plugin is None else sorted(h.name for h in self.pm.get_hookcallers(plugin))
            )
            yield info, hooks


def _describe(error: BaseException) -> str:
    frame = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    where = f" ({frame[0].filename}, line {frame[0].lineno})" if frame else ""
    return f"{type(error).__name__}: {error}{where}"


host = PluginHost()
