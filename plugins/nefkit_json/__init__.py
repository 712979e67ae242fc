"""JSON Lines in, JSON out."""

from nefkit import hookimpl


@hookimpl
def register_readers(register):
    from .reader import JsonLinesReader

    register(JsonLinesReader())


@hookimpl
def register_renderers(register):
    from .renderer import JsonRenderer

    register(JsonRenderer())
