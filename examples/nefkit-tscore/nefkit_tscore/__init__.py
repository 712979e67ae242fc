"""nefkit-tscore: an example nefkit plugin.

It provides a scoring rule (``tscore``: a raw sum looked up in a T-score table), a renderer
(``markdown``: scores as Markdown tables) and an instrument that uses both (``wellbeing-5``, an
invented scale for this example, not for clinical use).

This module holds only the hook implementations. Everything else is imported inside them, so
that loading the plugin, which every ``nefkit`` command does, costs next to nothing.
"""

from nefkit import hookimpl


@hookimpl
def register_instruments(register):
    from importlib.resources import files

    register(files(__name__) / "definitions" / "wellbeing-5.toml")


@hookimpl
def register_scoring_rules(register):
    from .rule import TScoreRule

    register(TScoreRule())


@hookimpl
def register_renderers(register):
    from .markdown import MarkdownRenderer

    register(MarkdownRenderer())
