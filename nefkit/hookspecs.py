"""The whole extension surface of nefkit: every hook a plugin may implement.

A plugin is a module (or object) with functions decorated ``@nefkit.hookimpl`` whose names match
the specs below; it is found through the ``nefkit`` entry-point group. Each hook receives a
``register`` callback rather than returning values, so the host can check every registration,
know which plugin sent it and refuse duplicates by name. An implementation may accept any subset
of a hook's documented arguments.
"""

import pluggy

hookspec = pluggy.HookspecMarker("nefkit")
hookimpl = pluggy.HookimplMarker("nefkit")


@hookspec
def register_instruments(register):
    """Register instrument definitions.

    Call ``register(source)`` once per instrument, where ``source`` is the path of a TOML
    definition file (a ``pathlib.Path`` or an ``importlib.resources`` file) or an already built
    :class:`nefkit.Instrument`. Two plugins registering the same instrument id is an error.
    """


@hookspec
def register_scoring_rules(register):
    """Register scoring rules that instrument definitions name in ``rule = "..."``.

    Call ``register(rule)`` with an instance of a :class:`nefkit.ScoringRule` subclass. Its
    ``name`` must be unique across all plugins.
    """


@hookspec
def register_renderers(register):
    """Register renderers that write scored results to a file format.

    Call ``register(renderer)`` with an instance of a :class:`nefkit.Renderer` subclass. Its
    ``format`` must be unique across all plugins; its ``extensions`` pick it from an output
    file name.
    """


@hookspec
def register_readers(register):
    """Register readers that turn a data file into rows of answers for ``nefkit score``.

    Call ``register(reader)`` with an instance of a :class:`nefkit.Reader` subclass. Its
    ``format`` must be unique across all plugins; its ``extensions`` pick it from an input file
    name. (A real need: reading .xlsx takes openpyxl, which the core does not import.)
    """


@hookspec
def register_engines(register):
    """Register engines that score data files another way than nefkit's own row engine.

    Call ``register(engine)`` with an instance of a :class:`nefkit.Engine` subclass. Its
    ``name`` chooses it (``nefkit score --engine NAME``) and must be unique across all plugins;
    ``python`` is nefkit's own. For ``--engine auto`` the host takes the engine whose
    ``cost`` (its expected seconds on the input) is lowest. Its results must equal the row
    engine's, row for row.
    """


@hookspec
def register_templates(register):
    """Register a directory of report templates that override a renderer's own.

    Call ``register(path)`` with a directory (a ``pathlib.Path`` or ``importlib.resources``
    folder). Its templates take precedence over the built-in ones of the same name; a user's
    ``--templates`` directory takes precedence over every plugin's. A template can still extend
    the original as ``default:NAME`` (for example ``{% extends "default:client.html" %}``).
    """


@hookspec
def register_commands(cli):
    """Add commands to the ``nefkit`` command line.

    ``cli`` is the top-level :class:`click.Group`; decorate new commands with ``@cli.command()``.
    """
