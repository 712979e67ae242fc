"""CSV in and out: reads comma-, semicolon- or tab-separated UTF-8 files and writes scores."""

from nefkit import hookimpl


@hookimpl
def register_readers(register):
    from .reader import CsvReader

    register(CsvReader())


@hookimpl
def register_renderers(register):
    from .renderer import CsvRenderer

    register(CsvRenderer())
