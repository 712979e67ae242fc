"""nefkit: ask about, record, score and report the negative effects of psychological treatment.

Importing nefkit is cheap: only the plugin markers load here, and the rest of the public API
loads on first use, so that ``nefkit --help`` and plugin imports stay fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .hookspecs import hookimpl

__version__ = "0.1.0"

_LAZY = {
    "Instrument": "nefkit.definitions.instrument",
    "Item": "nefkit.definitions.instrument",
    "Score": "nefkit.definitions.instrument",
    "Change": "nefkit.definitions.instrument",
    "Translation": "nefkit.definitions.instrument",
    "Plan": "nefkit.definitions.plan",
    "ScoreStep": "nefkit.definitions.plan",
    "FlagStep": "nefkit.definitions.plan",
    "Problem": "nefkit.definitions.problems",
    "NefkitError": "nefkit.errors",
    "DefinitionError": "nefkit.errors",
    "PluginError": "nefkit.errors",
    "ScoringRule": "nefkit.rules",
    "ChangeRule": "nefkit.rules",
    "RuleParams": "nefkit.rules",
    "ScoreValue": "nefkit.rules",
    "Output": "nefkit.rules",
    "NOT_ASKED": "nefkit.rules",
    "Renderer": "nefkit.renderers",
    "get_registry": "nefkit.api",
    "load_instrument": "nefkit.api",
    "validate": "nefkit.api",
    "get_plan": "nefkit.api",
    "score": "nefkit.api",
    "render": "nefkit.api",
    "Reader": "nefkit.readers",
    "Engine": "nefkit.engines",
    "Workload": "nefkit.engines",
    "score_table": "nefkit.scoring.rows",
    "Results": "nefkit.results",
    "PluginWarning": "nefkit.plugins",
    # The clinic's Python API: a store, and the service that records into it.
    "open_store": "nefkit.clinic.sqlite",
    "Clinic": "nefkit.clinic.alerts",
    "record_file": "nefkit.clinic.recording",
}

# Public modules, as ``nefkit.sql`` (loaded on first use too).
_MODULES = (
    "codebook",
    "documents",
    "engines",
    "errors",
    "readers",
    "renderers",
    "results",
    "rules",
    "sql",
    "stores",
    "summary",
    "tabular",
    "testing",
)

__all__ = ["hookimpl", "__version__", *_LAZY, *_MODULES]

if TYPE_CHECKING:
    from . import documents, engines, sql, stores
    from .api import get_plan, get_registry, load_instrument, render, score, validate
    from .clinic.alerts import Clinic
    from .clinic.recording import record_file
    from .clinic.sqlite import open_store
    from .definitions.instrument import Change, Instrument, Item, Score, Translation
    from .definitions.plan import FlagStep, Plan, ScoreStep
    from .definitions.problems import Problem
    from .engines import Engine, Workload
    from .errors import DefinitionError, NefkitError, PluginError
    from .plugins import PluginWarning
    from .readers import Reader
    from .renderers import Renderer
    from .results import Results
    from .rules import NOT_ASKED, ChangeRule, Output, RuleParams, ScoreValue, ScoringRule
    from .scoring.rows import score_table


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f"nefkit.{name}")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nefkit' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
