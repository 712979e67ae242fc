"""The HTML renderer: one self-contained file, a client report or a cohort report.

The file carries its own CSS and inline SVG, runs no script and fetches nothing (a strict
Content-Security-Policy says so to the browser), so it can be mailed, archived or printed as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from nefkit.documents import Codebook, Document, InformationSheet, InfoSheet, Psychometrics, Scores
from nefkit.errors import NefkitError
from nefkit.renderers import Renderer, RenderOptions
from nefkit.results import Results, ScoredRow

if TYPE_CHECKING:
    pass


class HtmlRenderer(Renderer):
    """A client report when the batch holds one respondent (or ``options.respondent`` names
    one), else a cohort report. Each ``results.rows`` is read once: a client's rows are kept
    (there are few), a cohort's only counted."""

    format = "html"
    extensions = (".html", ".htm")
    summary = (
        "A self-contained report: one client's flags, scores and answers, or a cohort's figures."
    )
    writes = (Scores, InformationSheet, Psychometrics, Codebook)
    many = True

    def write(self, document: Document, path: Path, options: RenderOptions) -> None:
        """A client or cohort report; an information sheet; an analysis (notes, scores with
        alpha and omega, item-total statistics, heat maps of the inter-item correlations, NEQ
        effects, methods; see :mod:`.analysis`); a printable codebook (:mod:`.codebook`)."""
        if isinstance(document, Scores):
            page = _report(document.results, options)
        elif isinstance(document, InformationSheet):
            page = _info_sheet(document.sheet, options)
        elif isinstance(document, Psychometrics):
            from .analysis import build

            report = build(document.analysis)
            page = environment(options).get_template("analysis.html").render(report=report)
        else:
            from .codebook import build

            report = build(document.plan)
            page = environment(options).get_template("codebook.html").render(report=report)
        path.write_text(page, encoding="utf-8")


def _report(batch: Sequence[Results], options: RenderOptions) -> str:
    """A client report when the batch holds one respondent (or ``options.respondent``
    names one), else a cohort report."""
    from . import client, cohort

    if not batch:
        raise NefkitError("an HTML report needs at least one instrument's results")
    kept, collectors, respondents = _read(batch, options)
    if collectors is None and (options.respondent or respondents):
        respondent = options.respondent or next(iter(respondents))
        report = client.build(list(batch), kept, respondent, options.expected)
        template = "client.html"
    else:
        report = cohort.build(collectors or _collectors(batch, kept, options), options)
        template = "cohort.html"
    return environment(options).get_template(template).render(report=report)


def _info_sheet(sheet: InfoSheet, options: RenderOptions) -> str:
    from types import SimpleNamespace

    import nefkit
    from nefkit.documents import describe_figure

    report = SimpleNamespace(
        sheet=sheet, describe=describe_figure, nefkit_version=nefkit.__version__
    )
    return environment(options).get_template("info-sheet.html").render(report=report)


def _read(batch: Sequence[Results], options: RenderOptions):
    """Read every results' rows once. Rows are kept while they could still make a client
    report; at a second respondent the kept rows go into cohort collectors and the rest stream
    after them. Returns (kept rows per results, None, respondents) or (None, collectors, ...)."""
    kept: Optional[list[list[ScoredRow]]] = [[] for _ in batch]
    collectors = None
    respondents: set[str] = set()
    for index, results in enumerate(batch):
        for row in results.rows:
            if collectors is not None:
                collectors[index].add(row)
                continue
            if options.respondent is not None and row.respondent_id != options.respondent:
                continue  # never another person's answers in a client's report
            kept[index].append(row)
            if row.respondent_id is not None:
                respondents.add(row.respondent_id)
            if options.respondent is None and len(respondents) > 1:
                collectors, kept = _collectors(batch, kept, options), None
    return kept, collectors, respondents


def _collectors(batch: Sequence[Results], kept: list[list[ScoredRow]], options: RenderOptions):
    from .cohort import Collector

    collectors = [Collector(results, options.by) for results in batch]
    for collector, rows in zip(collectors, kept):
        for row in rows:
            collector.add(row)
    return collectors


def environment(options: RenderOptions) -> Any:
    """Templates looked up in the user's directory, then each plugin's, then the built-in ones;
    ``default:NAME`` always reaches the built-in one, so an override can extend it."""
    import jinja2

    from .cohort import percent
    from .facts import counted, number

    defaults = jinja2.PackageLoader("nefkit_html", "templates")
    loaders: list[jinja2.BaseLoader] = []
    if options.templates is not None:
        loaders.append(jinja2.FileSystemLoader(options.templates))
    loaders += [_directory_loader(directory) for directory in options.plugin_templates]
    loaders += [defaults, jinja2.PrefixLoader({"default": defaults}, delimiter=":")]
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = number
    env.filters["percent"] = percent
    env.filters["counted"] = counted
    return env


def _directory_loader(directory: Any) -> Any:
    """A loader for a plugin's template folder: a path, or an ``importlib.resources`` folder
    that may live inside a zip (the register_templates hook accepts both)."""
    import jinja2
    from jinja2.loaders import split_template_path

    def load(name: str):
        place = directory.joinpath(*split_template_path(name))
        return place.read_text(encoding="utf-8") if place.is_file() else None

    return jinja2.FunctionLoader(load)
