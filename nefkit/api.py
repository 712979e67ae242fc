"""The Python API: the same operations as the command line, for scripts and notebooks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import DefinitionError, NefkitError
from .instrument import Instrument
from .plan import Plan
from .problems import Problem
from .registry import Registry, build_registry
from .renderers import RenderOptions
from .results import FlagTally, Results, RowSample
from .scoring import score_table


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
    from .checks import check_instrument
    from .examples import check_cases
    from .loading import load_definition

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
    from .loading import load_definition

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
    ``engine`` is "python", "duckdb" (the columnar engine, for large files) or "auto" (see
    nefkit.engine); answers given as labels are read in ``language`` (one the instrument has;
    default its first). Every row has its flags (True, False, or None: could not be checked),
    invalid rows too; afterwards ``results.flag_tally`` counts the unknown flags and the flags
    raised on invalid rows, ``results.change_gaps`` the administrations where a reliable change
    could not be computed, and ``results.warnings()`` words them as ``nefkit score`` prints
    them."""
    reg = reg or get_registry()
    plan = get_plan(instrument, reg, language)
    if engine != "python":
        from .engine import choose_engine
        from .engine import input_format as columnar_format

        if choose_engine(engine, Path(data), None, input_format).name == "duckdb":
            from .engine.columnar import score as score_columnar

            fmt = columnar_format(Path(data), input_format)
            reader = None if fmt == "parquet" else reg.reader_for(Path(data), fmt)
            return score_columnar(plan, Path(data), reader, fmt)
    table = reg.read(Path(data), input_format)
    return score_table(plan, table, progress)


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
    from .outputs import write_output, written_whole

    reg = reg or get_registry()
    options = (options or RenderOptions()).model_copy(
        update={"plugin_templates": tuple(entry.value for entry in reg.templates)}
    )
    write_direct = getattr(results, "write_direct", None)  # the columnar engine writes itself
    if write_direct is not None and options.respondent is None:
        with written_whole(Path(path), private) as staged:
            if write_direct(staged, format):
                return
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
    write_output(
        reg, Path(path), format, lambda r, staged: r.render(batch, staged, options), private
    )


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
