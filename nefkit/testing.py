"""Test helpers for plugin authors, loaded by pytest through nefkit's ``pytest11`` entry point.

Fixtures:

- ``nefkit_register``: ``nefkit_register(plugin, name=..., distribution=..., version=...)``
  registers a plugin object in-process for one test; it is always unregistered afterwards.
- ``nefkit_cli``: ``nefkit_cli("score", "phq-9", "data.csv", "-o", "out.csv")`` runs the
  command line in-process and returns click's ``Result`` (``exit_code``, ``output``).

And a function, ``assert_scores(instrument, cases)``, that checks golden input-to-score cases
by both the per-row and the batch form of every rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest


@pytest.fixture
def nefkit_register():
    from .plugins import PluginInfo, host

    names: list[str] = []

    def register(
        plugin, name: str = "test-plugin", distribution: str = "nefkit-test", version="0.0"
    ):
        host.load()
        host.register(plugin, PluginInfo(name, distribution, version, builtin=False))
        names.append(name)
        return plugin

    try:
        yield register
    finally:
        for name in names:
            host.unregister(name)


@pytest.fixture
def nefkit_cli():
    from click.testing import CliRunner

    from .cli import cli

    def run(*args: Any, input: str | None = None):
        return CliRunner().invoke(cli, [str(a) for a in args], input=input)

    return run


def assert_scores(instrument: Any, cases: Iterable[Mapping[str, Any] | Any]) -> None:
    """Fail with every mismatch when a case's answers do not give the scores it expects.

    ``instrument`` is an instrument id, a :class:`nefkit.Instrument` or a plan. Each case is a
    mapping (or a definition's ``Example``) with ``answers`` (item id: code or label),
    ``expected`` (score id: value or "not scorable"), and optionally ``flags`` (flag id: true,
    false or "unknown"), ``fill`` and ``label``.
    """
    from .api import get_plan
    from .definitions.golden import check_cases
    from .definitions.plan import Plan

    plan = instrument if isinstance(instrument, Plan) else get_plan(instrument)
    plain = [case.model_dump() if hasattr(case, "model_dump") else case for case in cases]
    failures = check_cases(plan, plain)
    if failures:
        lines = "\n".join(f"  {label}: {problem}" for label, problem in failures)
        raise AssertionError(f"{len(failures)} score(s) differ from the cases:\n{lines}")
