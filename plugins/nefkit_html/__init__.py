"""Self-contained HTML reports: a client report and a cohort report. jinja2 is imported only
when a report is actually written."""

from nefkit import hookimpl


@hookimpl
def register_renderers(register):
    from .renderer import HtmlRenderer

    register(HtmlRenderer())
