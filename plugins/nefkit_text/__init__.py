"""Plain text: a readable report of scores, and client information sheets."""

from nefkit import hookimpl


@hookimpl
def register_renderers(register):
    from .renderer import TextRenderer

    register(TextRenderer())
