"""The Python API: the same operations as the command line, for scripts and notebooks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from .definitions.instrument import Instrument
from .definitions.plan import Plan
from .definitions.problems import Problem
from .errors import DefinitionError, NefkitError, blamed
from .registry import Registry, build_registry
from .renderers import Renderer, RenderOptions
from .results import FlagTally, Results, RowSample


def get_registry(instrument_paths: Sequence[Path | str] = ()) -> Registry:
    """Every instrument, scoring rule and renderer from the installed plugins, plus the
    definitions in ``instrument_paths`` (files or directories)."""
    return build_registry([Path(p) for p in instrument_paths])


def validate(
    definition: Path | str, reg: Registry | None = None, check_examples: bool = False
) -> list[Problem]:
    """Every problem in one definition, a file or else the id of an installed instrument (an
    empty list when it is valid); with ``check_examples``, also every golden case whose scores
    differ from what it expects."""
    return problems_in(definition, reg or get_registry(), check_examples)[1]


def problems_in(
    definition: Path | str, reg: Registry, check_examples: bool = False
) -> tuple[Instrument | None, list[Problem]]:
    """The instrument, if it has no errors, and every problem of a definition: a file, or else
    the id of an instrument in ``reg``, which a plugin may have registered as a model rather
    than a file; it gets the same checks."""
    from .definitions.checks import check_instrument
    from .definitions.golden import check_cases
    from .definitions.loading import load_definition

    path = Path(definition)
    if path.exists():
        file = str(path)
        instrument, problems = load_definition(path, reg.rule_map)
    else:
        try:
            instrument = reg.instrument(str(definition))
        except NefkitError as e:  # it names the instruments there are
            return None, [Problem(file=str(definition), message=f"no such file, and {e}")]
        file = reg.instruments[instrument.id].path or f"instrument {instrument.id}"
        problems = check_instrument(instrument, reg.rule_map, file)
    if instrument is None or not check_examples:
        return instrument, problems
    if not instrument.examples:
        problems.append(
            Problem(
                file=file,
                where="examples",
                level="warning",
                message="there are no [[examples]] to check",
            )
        )
    cases = [example.model_dump() for example in instrument.examples]
    for label, message in check_cases(Plan(instrument, reg.rule_map, reg.rule_origins), cases):
        problems.append(Problem(file=file, where=f'example "{label}"', message=message))
    failed = any(p.level == "error" for p in problems)
    return (None if failed else instrument), problems


def load_instrument(path: Path | str, reg: Registry | None = None) -> Instrument:
    """The instrument defined in a TOML file; :class:`DefinitionError` lists its problems."""
    from .definitions.loading import load_definition

    instrument, problems = load_definition(Path(path), (reg or get_registry()).rule_map)
    if instrument is None:
        raise DefinitionError([p for p in problems if p.level == "error"])
    return instrument


def get_plan(
    instrument: Instrument | str, reg: Registry | None = None, language: str | None = None
) -> Plan:
    """The checked scoring plan of an instrument (given by id or as a model), with its texts
    and answer labels in ``language`` when given."""
    reg = reg or get_registry()
    model = reg.instrument(instrument) if isinstance(instrument, str) else instrument
    return Plan(model.in_language(language), reg.rule_map, reg.rule_origins)


def score(
    instrument: Instrument | str,
    data: Path | str,
    reg: Registry | None = None,
    input_format: str | None = None,
    progress: Callable[[int], None] | None = None,
    engine: str = "python",
    language: str | None = None,
) -> Results:
    """Score a data file; iterate ``results.rows`` (once) to run it, or render the results.
    ``engine`` is "python" (nefkit's own row engine), an installed engine's name (``duckdb``,
    for large files) or "auto" (the one expected to be quickest on the file; see
    :meth:`Registry.engine_for`); answers given as labels are read in ``language`` (one the
    instrument has; default its first). Every row has its flags (True, False, or None: could
    not be checked), invalid rows too; afterwards ``results.flag_tally`` counts the unknown
    flags and the flags raised on invalid rows, ``results.change_gaps`` the administrations
    where a reliable change could not be computed, and ``results.warnings()`` words them as
    ``nefkit score`` prints them."""
    reg = reg or get_registry()
    plan = get_plan(instrument, reg, language)
    data = Path(data)
    entry, _ = reg.engine_for(engine, data, plan, input_format)
    who = f"engine '{entry.value.name}' from {entry.origin}"
    with blamed(who, f"scoring {data}"):
        results = entry.value.score(plan, data, reg.blamed_reader(data, input_format), progress)
    # The engine may have said more of itself (its library's version); the host says who.
    detail = f", {results.provenance.engine}" if results.provenance.engine else ""
    results.provenance.engine = f"{entry.value.name}: {entry.origin}{detail}"
    return results


def render(
    results: Results | Sequence[Results],
    path: Path | str,
    format: str | None = None,
    options: RenderOptions | None = None,
    reg: Registry | None = None,
    private: bool = False,
) -> None:
    """Write results with the renderer for ``path``'s extension (or ``format``). With
    ``options.respondent``, only that respondent's administrations are passed on. With
    ``private``, every file written (side files too) is readable by its owner only (0600),
    whatever the umask: for results that hold a clinic's client data."""
    from .documents import Scores
    from .outputs import write_output

    reg = reg or get_registry()
    options = options or RenderOptions()
    renderer = reg.renderer_for(Path(path), format)
    batch = [results] if isinstance(results, Results) else list(results)
    if len(batch) != 1 and not renderer.many:
        raise NefkitError(f"the {renderer.format} format holds one instrument's results at a time")
    origin = reg.renderers[renderer.format].origin
    for one in batch:
        one.provenance.renderer = f"{renderer.format}: {origin}"
    if options.respondent is not None:
        for one in batch:
            one.rows = _only(one.rows, one, options.respondent)
    document = Scores(tuple(batch))
    native = renderer.native and options.respondent is None and len(batch) == 1

    def write(renderer: Renderer, staged: Path, options: RenderOptions) -> None:
        if native:
            with blamed(f"engine {batch[0].provenance.engine}", f"writing {path}"):
                if batch[0].write_native(renderer.format, staged):
                    return
        renderer.write(document, staged, options)

    write_output(reg, Path(path), format, document, options, write, private)


def _only(rows, results: Results, respondent: str):
    """One respondent's rows; once they are exhausted, only their changes, problems and flag
    tally remain."""
    kept = set()
    tally = FlagTally()
    valid = []
    for row in rows:
        if row.respondent_id == respondent:
            kept.add(row.row)
            tally.add(row)
            if row.valid:
                valid.append(row)
            yield row
    results.changes[:] = [c for c in results.changes if c.respondent_id == respondent]
    results.problems[:] = [p for p in results.problems if p.row in kept]
    results.flag_tally = tally
    results.change_gaps = {}
    for step in results.plan.changes if len(valid) >= 2 else ():
        for row in valid:
            if row.scores[step.change.score].value is None:
                results.change_gaps.setdefault(step.change.id, RowSample()).add(row.row)
