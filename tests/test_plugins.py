"""The plugin host: every hook, and every way a plugin can go wrong without taking nefkit down."""

from __future__ import annotations

import inspect
import json
import sys
import textwrap
import warnings
from importlib.metadata import entry_points
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import nefkit
from nefkit import hookspecs
from nefkit.cli import cli
from nefkit.documents import Scores
from nefkit.errors import DuplicateRegistration, PluginError
from nefkit.plugins import PluginHost, PluginInfo, PluginWarning, host
from nefkit.registry import build_registry

BUILT_IN_INSTRUMENTS = {"gad-7", "neq-20", "neq-32", "phq-9", "therapy-reflection"}
# nefkit's own plugins, as its installed metadata declares them (instruments, rules, ...).
BUILT_IN_PLUGINS = {
    ep.name for ep in entry_points(group="nefkit") if ep.dist and ep.dist.name == "nefkit"
}

DEFINITION = """\
id = "{id}"
version = "1.0"
title = "An instrument from a plugin"
citation = "Nobody (2026)."
licence = "Public domain."
source = "nefkit's test suite."

[scales.freq]
choices = [
  {{ value = 0, label = "Never" }},
  {{ value = 1, label = "Sometimes" }},
  {{ value = 2, label = "Often" }},
]

[[items]]
id = "q1"
text = "How often?"
scale = "freq"

[[items]]
id = "q2"
text = "And how often this?"
scale = "freq"
"""


def instrument(instrument_id: str) -> nefkit.Instrument:
    return nefkit.Instrument.model_validate(
        {
            "id": instrument_id,
            "version": "1.0",
            "title": "Built in Python",
            "citation": "Nobody (2026).",
            "licence": "Public domain.",
            "source": "nefkit's test suite.",
            "items": [{"id": "q1", "text": "Yes?", "type": "yes_no"}],
        }
    )


class HighestRule(nefkit.ScoringRule):
    name = "highest"
    summary = "The highest of the answers."

    def output(self, score, params, instrument, outputs):
        inputs = [outputs[i] for i in score.items]
        return nefkit.Output(
            "number",
            min(o.minimum for o in inputs),
            max(o.maximum for o in inputs),
            integer=True,
        )

    def compute(self, values, params, names):
        return nefkit.ScoreValue(max(values), "complete", len(values))


class MarkdownRenderer(nefkit.Renderer):
    format = "markdown"
    extensions = (".md", ".markdown")
    summary = "A Markdown table."
    writes = (Scores,)

    def write(self, document, path, options):
        path.write_text("| results |\n")


def plugin_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]


# --------------------------------------------------------------------------------------------
# One test per hook


def test_hook_register_instruments(register_plugin, tmp_path):
    definition = tmp_path / "from-a-file.toml"
    definition.write_text(DEFINITION.format(id="from-a-file"))

    class InstrumentPlugin:
        @nefkit.hookimpl
        def register_instruments(self, register):
            register(definition)
            register(instrument("from-python"))

    register_plugin(InstrumentPlugin(), name="extra", distribution="nefkit-extra", version="2.1")
    registry = build_registry()
    from_file = registry.instruments["from-a-file"]
    assert [i.id for i in from_file.value.items] == ["q1", "q2"]
    assert from_file.origin == "nefkit-extra 2.1 (plugin extra)"
    assert from_file.path == str(definition)
    from_python = registry.instruments["from-python"]
    assert from_python.origin == "nefkit-extra 2.1 (plugin extra)"
    assert from_python.path is None
    assert BUILT_IN_INSTRUMENTS <= set(registry.instruments)


def test_hook_register_scoring_rules(register_plugin, tmp_path):
    class RulePlugin:
        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            register(HighestRule())

    definition = tmp_path / "uses-highest.toml"
    definition.write_text(
        DEFINITION.format(id="uses-highest")
        + '\n[[scores]]\nid = "worst"\nlabel = "Worst"\nrule = "highest"\nitems = ["q1", "q2"]\n'
        + '\n[[scores]]\nid = "band"\nlabel = "Band"\nrule = "bands"\n'
        + 'params = { score = "worst", bands = [{ min = 0, max = 1, label = "Low" },'
        + ' { min = 2, max = 2, label = "High" }] }\n'
    )
    # Without the plugin the definition names an unknown rule...
    problems = nefkit.validate(definition)
    assert problems[0].where == 'score "worst"'
    assert problems[0].message.startswith("unknown scoring rule 'highest'")

    register_plugin(RulePlugin(), name="highest", distribution="nefkit-highest", version="0.2")
    registry = build_registry()
    entry = registry.rules["highest"]
    assert isinstance(entry.value, HighestRule)
    assert entry.origin == "nefkit-highest 0.2 (plugin highest)"
    assert "sum" in registry.rules
    # ...with it, the rule is known and its output range is used to check the bands.
    assert nefkit.validate(definition, registry) == []


def test_hook_register_renderers(register_plugin):
    class RendererPlugin:
        @nefkit.hookimpl
        def register_renderers(self, register):
            register(MarkdownRenderer())

    register_plugin(
        RendererPlugin(), name="markdown", distribution="nefkit-markdown", version="1.0"
    )
    registry = build_registry()
    assert isinstance(registry.renderer_for(Path("x.md")), MarkdownRenderer)
    assert isinstance(registry.renderer_for(Path("REPORT.MARKDOWN")), MarkdownRenderer)
    assert isinstance(registry.renderer_for(Path("x.csv"), format="markdown"), MarkdownRenderer)
    assert registry.renderers["markdown"].origin == "nefkit-markdown 1.0 (plugin markdown)"
    with pytest.raises(nefkit.NefkitError, match=r"'\.nope' files") as info:
        registry.renderer_for(Path("x.nope"))
    assert ".md" in str(info.value) and ".markdown" in str(info.value)


class PipeReader(nefkit.Reader):
    format = "pipes"
    extensions = (".psv",)
    summary = "Pipe-separated values."

    def read(self, path):
        from nefkit.readers import Table

        header, *lines = Path(path).read_text().splitlines()
        rows = ((number, line.split("|")) for number, line in enumerate(lines, 2))
        return Table(str(path), header.split("|"), rows)


def test_hook_register_readers(register_plugin, tmp_path):
    class ReaderPlugin:
        @nefkit.hookimpl
        def register_readers(self, register):
            register(PipeReader())

    register_plugin(ReaderPlugin(), name="pipes", distribution="nefkit-pipes", version="0.4")
    registry = build_registry()
    assert isinstance(registry.reader_for(Path("clinic.psv")), PipeReader)
    assert isinstance(registry.reader_for(Path("clinic.dat"), format="pipes"), PipeReader)
    assert registry.readers["pipes"].origin == "nefkit-pipes 0.4 (plugin pipes)"
    # nefkit score reads a .psv file through the plugin
    data = tmp_path / "clinic.psv"
    items = [f"gad7_{i}" for i in range(1, 8)]
    data.write_text("respondent_id|" + "|".join(items) + "\nC1|1|2|3|0|1|2|3\n")
    results = nefkit.score("gad-7", data, registry)
    [row] = list(results.rows)
    assert row.respondent_id == "C1"
    assert row.problems == []
    assert row.scores["total"].value == 12


def test_hook_register_engines(register_plugin, tmp_path):
    """An engine from a plugin is chosen by name, and by auto when its estimate is the lowest."""
    from nefkit import Engine, score_table

    class Reversed(Engine):  # scores with the row engine, reading rows last to first
        name = "reversed"
        summary = "Rows read last to first."
        formats = ("csv",)

        def cost(self, work):
            return 0.0 if work.rows > 100 else None  # instant on a big file; not for small ones

        def score(self, plan, data, reader, progress=None):
            table = reader.read(data)
            return score_table(
                plan, type(table)(table.path, table.columns, reversed([*table.rows]))
            )

    class EnginePlugin:
        @nefkit.hookimpl
        def register_engines(self, register):
            register(Reversed())

    register_plugin(EnginePlugin(), name="reversed", distribution="nefkit-rev", version="0.2")
    registry = build_registry()
    assert registry.engines["reversed"].origin == "nefkit-rev 0.2 (plugin reversed)"
    items = [f"gad7_{i}" for i in range(1, 8)]
    header = "respondent_id," + ",".join(items) + "\n"
    (tmp_path / "big.csv").write_text(header + "C1,1,2,3,0,1,2,3\nC2,0,0,0,0,0,0,0\n" * 200)
    (tmp_path / "small.csv").write_text(header + "C1,1,2,3,0,1,2,3\nC2,0,0,0,0,0,0,0\n")
    gad7 = nefkit.get_plan("gad-7", registry)
    entry, reason = registry.engine_for("auto", tmp_path / "big.csv", gad7)
    assert entry.value.name == "reversed"
    assert reason.startswith("about 400 rows of 7 items, written row by row: reversed ~0.0 s, ")
    entry, reason = registry.engine_for("auto", tmp_path / "small.csv", gad7)
    assert entry.value.name == "python" and "not for this input: reversed" in reason
    (tmp_path / "big.csv").write_text(header + "C1,1,2,3,0,1,2,3\nC2,0,0,0,0,0,0,0\n")
    results = nefkit.score("gad-7", tmp_path / "big.csv", registry, engine="reversed")
    assert [(r.row, r.scores["total"].value) for r in results.rows] == [(3, 0), (2, 12)]
    assert results.provenance.engine == "reversed: nefkit-rev 0.2 (plugin reversed)"


def test_hook_register_templates(register_plugin, tmp_path):
    """Template directories reach renderers through RenderOptions, plugins' in load order."""
    templates = tmp_path / "templates"
    templates.mkdir()

    class TemplatePlugin:
        @nefkit.hookimpl
        def register_templates(self, register):
            register(templates)

    class SeeOptions(MarkdownRenderer):
        format = "seeoptions"
        extensions = (".seen",)
        seen = None

        def write(self, document, path, options):
            SeeOptions.seen = options

    class RendererPlugin:
        @nefkit.hookimpl
        def register_renderers(self, register):
            register(SeeOptions())

    register_plugin(TemplatePlugin(), name="looks", distribution="nefkit-looks", version="2.0")
    register_plugin(RendererPlugin(), name="see")
    registry = build_registry()
    assert [(e.value, e.origin) for e in registry.templates] == [
        (templates, "nefkit-looks 2.0 (plugin looks)")
    ]
    data = tmp_path / "in.csv"
    data.write_text(
        "respondent_id," + ",".join(f"gad7_{i}" for i in range(1, 8)) + "\nC1,0,0,0,0,0,0,0\n"
    )
    nefkit.render(nefkit.score("gad-7", data, registry), tmp_path / "out.seen", reg=registry)
    assert SeeOptions.seen.plugin_templates == (templates,)


def test_registering_a_missing_template_directory_is_one_warning(register_plugin, tmp_path):
    class TemplatePlugin:
        @nefkit.hookimpl
        def register_templates(self, register):
            register(tmp_path / "nowhere")

    register_plugin(TemplatePlugin(), name="looks", distribution="nefkit-looks", version="2.0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = build_registry()
    [message] = plugin_warnings(caught)
    assert "nefkit-looks 2.0" in message and "give an existing directory" in message
    assert registry.templates == []


def test_hook_register_commands(register_plugin):
    class CommandPlugin:
        @nefkit.hookimpl
        def register_commands(self, cli):
            @cli.command(name="hello-from-plugin")
            @click.argument("who")
            def hello(who):
                """Greet someone (a plugin's command)."""
                click.echo(f"hello {who}")

    register_plugin(CommandPlugin(), name="hello", distribution="nefkit-hello", version="1.0")
    try:
        host.call_each("register_commands", lambda info: cli)
        result = CliRunner().invoke(cli, ["hello-from-plugin", "world"])
        assert result.exit_code == 0, result.output
        assert result.output == "hello world\n"
        assert "hello-from-plugin" in CliRunner().invoke(cli, ["--help"]).output
    finally:
        cli.commands.pop("hello-from-plugin", None)


def test_every_hook_has_a_test():
    hooks = [
        name
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, "nefkit_spec")
    ]
    assert "register_instruments" in hooks  # the spec marker is found at all
    module = sys.modules[__name__]
    missing = [name for name in hooks if not callable(getattr(module, f"test_hook_{name}", None))]
    assert not missing, f"hooks without a test_hook_<name> test in {__name__}: {missing}"


# --------------------------------------------------------------------------------------------
# Duplicates are errors naming both plugins


@pytest.mark.parametrize(
    "hook, make, kind, key",
    [
        ("register_instruments", lambda: instrument("twin"), "instrument", "twin"),
        ("register_scoring_rules", HighestRule, "scoring rule", "highest"),
        ("register_renderers", MarkdownRenderer, "renderer format", "markdown"),
        ("register_readers", PipeReader, "reader format", "pipes"),
    ],
)
def test_two_plugins_registering_the_same_name(register_plugin, hook, make, kind, key):
    def plugin():
        class Plugin:
            pass

        def implementation(self, register):
            register(make())

        implementation.__name__ = hook
        setattr(Plugin, hook, nefkit.hookimpl(implementation))
        return Plugin()

    register_plugin(plugin(), name="alpha", distribution="nefkit-alpha", version="1.0")
    register_plugin(plugin(), name="beta", distribution="nefkit-beta", version="2.0")
    with pytest.raises(DuplicateRegistration) as info:
        build_registry()
    message = str(info.value)
    assert message.startswith(f"{kind} '{key}' is registered twice: by ")
    assert "nefkit-alpha 1.0 (plugin alpha)" in message
    assert "nefkit-beta 2.0 (plugin beta)" in message
    assert "NEFKIT_DISABLE_PLUGINS" in message


def test_a_plugin_rule_clashing_with_a_built_in_one(register_plugin):
    class SumRule(HighestRule):
        name = "sum"

    class Plugin:
        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            register(SumRule())

    register_plugin(Plugin(), name="mysum", distribution="nefkit-mysum", version="0.1")
    with pytest.raises(DuplicateRegistration) as info:
        build_registry()
    message = str(info.value)
    assert f"nefkit {nefkit.__version__} (built-in plugin rules)" in message
    assert "nefkit-mysum 0.1 (plugin mysum)" in message


# --------------------------------------------------------------------------------------------
# A failing plugin is one warning; the rest keep working


def test_a_plugin_whose_hook_raises_is_one_warning(register_plugin):
    class Broken:
        @nefkit.hookimpl
        def register_instruments(self, register):
            register(instrument("half-done"))
            raise RuntimeError("boom")

    register_plugin(Broken(), name="broken", distribution="nefkit-broken", version="9.9")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = build_registry()
    [message] = plugin_warnings(caught)
    assert message.startswith(
        "nefkit-broken 9.9 (plugin broken) raised an error in register_instruments:"
    )
    assert "RuntimeError: boom" in message
    assert "phq-9" in registry.instruments
    assert BUILT_IN_INSTRUMENTS <= set(registry.instruments)
    # what the plugin registered before it raised is left out with it
    assert "half-done" not in registry.instruments
    # and `nefkit plugins` remembers the failure
    assert host.info["broken"].failures == [message[len("nefkit-broken 9.9 (plugin broken) ") :]]


def test_registering_something_that_is_not_a_rule_is_one_warning(register_plugin):
    class Confused:
        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            register("sum of everything")

    register_plugin(Confused(), name="confused", distribution="nefkit-confused", version="0.1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = build_registry()
    [message] = plugin_warnings(caught)
    assert message.startswith("nefkit-confused 0.1 (plugin confused) register_scoring_rules: ")
    assert "registered 'sum of everything', which is not a nefkit.ScoringRule" in message
    assert "sum" in registry.rules
    assert "phq-9" in registry.instruments


@pytest.mark.parametrize(
    "hook, thing, words",
    [
        ("register_renderers", "csv", "which is not a nefkit.Renderer instance"),
        ("register_instruments", 42, "give a path to a TOML definition or a nefkit.Instrument"),
    ],
)
def test_other_invalid_registrations_are_one_warning(register_plugin, hook, thing, words):
    class Plugin:
        pass

    def implementation(self, register):
        register(thing)

    setattr(Plugin, hook, nefkit.hookimpl(implementation))
    register_plugin(Plugin(), name="odd", distribution="nefkit-odd", version="0.1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = build_registry()
    [message] = plugin_warnings(caught)
    assert message.startswith(f"nefkit-odd 0.1 (plugin odd) {hook}: ")
    assert words in message
    assert "phq-9" in registry.instruments


def test_a_plugin_registering_an_invalid_definition_is_one_warning(register_plugin, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(DEFINITION.format(id="bad").replace('scale = "freq"\n', 'scale = "fre"\n', 1))

    class Plugin:
        @nefkit.hookimpl
        def register_instruments(self, register):
            register(bad)

    register_plugin(Plugin(), name="sloppy", distribution="nefkit-sloppy", version="0.1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = build_registry()
    [message] = plugin_warnings(caught)
    assert message.startswith(
        "nefkit-sloppy 0.1 (plugin sloppy) registered an invalid instrument: "
    )
    assert f"{bad}: item \"q1\": unknown scale 'fre'; did you mean 'freq'?" in message
    assert "bad" not in registry.instruments
    assert "phq-9" in registry.instruments


def test_validate_checks_a_plugins_instrument_by_its_id(register_plugin):
    """A plugin may register a model, with no file to give validate: its id is checked the same
    way, golden cases included."""
    data = instrument("pulse").model_dump()
    data["items"].append({"id": "q2", "text": "Worse?", "type": "yes_no"})
    data["scores"] = [{"id": "total", "label": "Total", "rule": "sum", "items": ["q1"]}]
    data["examples"] = [
        {"label": "Yes", "answers": {"q1": 1}, "expected": {"total": 1}},
        {"label": "No", "answers": {"q1": 0}, "expected": {"total": 1}},
    ]

    class Plugin:
        @nefkit.hookimpl
        def register_instruments(self, register):
            register(nefkit.Instrument.model_validate(data))

    register_plugin(Plugin(), name="pulse", distribution="nefkit-pulse", version="1.0")
    result = CliRunner().invoke(cli, ["validate", "pulse"])
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        'warning: instrument pulse: item "q2": no score uses it and no flag tests it;'
        " if it is only asked, mark it scored = false\n"
    )
    assert result.stdout == "pulse: valid (pulse 1.0, 2 questions, 1 scores)\n"
    result = CliRunner().invoke(cli, ["validate", "--check-examples", "pulse"])
    assert result.exit_code == 1
    assert 'error: instrument pulse: example "No": total is 0, expected 1' in result.stderr
    assert result.stdout == ""


class Misspelt:
    @nefkit.hookimpl
    def register_instrument(self, register):  # no such hook: register_instruments
        register(instrument("never"))


def test_a_misspelt_hook_is_refused():
    fresh = PluginHost()
    with pytest.raises(PluginError) as info:
        fresh.register(Misspelt(), PluginInfo("typo", "nefkit-typo", "1.0", builtin=False))
    assert "unknown hook 'register_instrument'" in str(info.value)
    assert "register_instruments" in str(info.value)  # the list of real hooks
    assert not fresh.pm.has_plugin("typo")
    assert "typo" not in fresh.info


def test_a_misspelt_hook_error_lists_only_real_hooks():
    real = sorted(
        name
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, "nefkit_spec")
    )
    fresh = PluginHost()
    with pytest.raises(PluginError) as info:
        fresh.register(Misspelt(), PluginInfo("typo", "nefkit-typo", "1.0", builtin=False))
    listed = str(info.value).split("nefkit's hooks are: ")[1].split(", ")
    assert listed == real


def test_strict_mode_turns_a_failing_plugin_into_an_error(register_plugin, monkeypatch):
    class Broken:
        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            raise RuntimeError("boom")

    register_plugin(Broken(), name="broken", distribution="nefkit-broken", version="9.9")
    monkeypatch.setenv("NEFKIT_STRICT_PLUGINS", "1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(PluginError) as info:
            build_registry()
    assert str(info.value).startswith(
        "nefkit-broken 9.9 (plugin broken) raised an error in register_scoring_rules: "
        "RuntimeError: boom"
    )
    assert plugin_warnings(caught) == []


def test_strict_mode_off_with_zero(register_plugin, monkeypatch):
    class Broken:
        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            raise RuntimeError("boom")

    register_plugin(Broken(), name="broken", distribution="nefkit-broken", version="9.9")
    monkeypatch.setenv("NEFKIT_STRICT_PLUGINS", "0")
    with pytest.warns(PluginWarning, match="nefkit-broken 9.9"):
        build_registry()


# --------------------------------------------------------------------------------------------
# The real entry-point path, with a fake installed distribution


GOOD_PLUGIN = """
from pathlib import Path

import nefkit


@nefkit.hookimpl
def register_instruments(register):
    register(Path(__file__).with_name("fake-scale.toml"))
"""

IMPORT_ERROR_PLUGIN = """
import nefkit
import a_module_that_is_not_installed
"""

MISSPELT_PLUGIN = """
import nefkit


@nefkit.hookimpl
def register_instrument(register):
    pass
"""


@pytest.fixture
def fake_distribution(tmp_path, monkeypatch):
    """Install ``nefkit-fake 0.3`` into tmp_path: ``make(source)`` writes its plugin module."""

    def make(source: str, entry_point: str = "fake") -> Path:
        info = tmp_path / "nefkit_fake-0.3.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nefkit-fake\nVersion: 0.3\n")
        (info / "entry_points.txt").write_text(f"[nefkit]\n{entry_point} = nefkit_fake_plugin\n")
        (tmp_path / "nefkit_fake_plugin.py").write_text(textwrap.dedent(source))
        (tmp_path / "fake-scale.toml").write_text(DEFINITION.format(id="fake-scale"))
        return tmp_path

    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("NEFKIT_LOAD_PLUGINS", "nefkit-fake")
    monkeypatch.delitem(sys.modules, "nefkit_fake_plugin", raising=False)
    try:
        yield make
    finally:
        sys.modules.pop("nefkit_fake_plugin", None)


def load_fresh_host() -> tuple[PluginHost, list[str]]:
    fresh = PluginHost()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fresh.load()
    return fresh, plugin_warnings(caught)


@pytest.mark.parametrize(
    "selection", ["nefkit-fake", "nefkit_fake", "NEFKIT-FAKE", "fake", "x, fake"]
)
def test_an_installed_plugin_is_loaded(fake_distribution, monkeypatch, selection):
    fake_distribution(GOOD_PLUGIN)
    monkeypatch.setenv("NEFKIT_LOAD_PLUGINS", selection)
    fresh, warned = load_fresh_host()
    assert warned == []
    assert set(fresh.info) == BUILT_IN_PLUGINS | {"fake"}
    info = fresh.info["fake"]
    assert (info.distribution, info.version, info.builtin) == ("nefkit-fake", "0.3", False)
    assert dict((i.name, hooks) for i, hooks in fresh.plugins())["fake"] == ["register_instruments"]
    registry = build_registry(plugin_host=fresh)
    assert registry.instruments["fake-scale"].origin == "nefkit-fake 0.3 (plugin fake)"
    assert BUILT_IN_INSTRUMENTS <= set(registry.instruments)


def test_a_plugin_that_fails_to_import_is_one_warning(fake_distribution):
    fake_distribution(IMPORT_ERROR_PLUGIN)
    fresh, warned = load_fresh_host()
    [message] = warned
    assert message.startswith("nefkit-fake 0.3 (plugin fake) could not be loaded: ")
    assert "ModuleNotFoundError: No module named 'a_module_that_is_not_installed'" in message
    assert "nefkit_fake_plugin.py, line 3" in message
    # nefkit's own plugins still load, and everything they provide is there
    assert fresh.info["instruments"].builtin and fresh.info["rules"].builtin
    assert fresh.info["fake"].failures == [message[len("nefkit-fake 0.3 (plugin fake) ") :]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = build_registry(plugin_host=fresh)
    assert plugin_warnings(caught) == []
    assert set(registry.instruments) == BUILT_IN_INSTRUMENTS
    assert "sum" in registry.rules


def test_an_installed_plugin_with_a_misspelt_hook_is_one_warning(fake_distribution):
    fake_distribution(MISSPELT_PLUGIN)
    fresh, warned = load_fresh_host()
    [message] = warned
    assert message.startswith("nefkit-fake 0.3 (plugin fake) could not be loaded: PluginError: ")
    assert "unknown hook 'register_instrument'" in message
    assert not fresh.pm.has_plugin("fake")
    assert fresh.pm.has_plugin("instruments") and fresh.pm.has_plugin("rules")


def test_strict_mode_makes_an_import_failure_an_error(fake_distribution, monkeypatch):
    fake_distribution(IMPORT_ERROR_PLUGIN)
    monkeypatch.setenv("NEFKIT_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match=r"^nefkit-fake 0\.3 \(plugin fake\) could not be loaded"):
        PluginHost().load()


def test_empty_load_plugins_skips_third_party_plugins(fake_distribution, monkeypatch):
    fake_distribution(GOOD_PLUGIN)
    monkeypatch.setenv("NEFKIT_LOAD_PLUGINS", "")
    fresh, warned = load_fresh_host()
    assert warned == []
    assert set(fresh.info) == BUILT_IN_PLUGINS
    assert "nefkit_fake_plugin" not in sys.modules  # not even imported


def test_load_plugins_naming_another_plugin_skips_this_one(fake_distribution, monkeypatch):
    fake_distribution(GOOD_PLUGIN)
    monkeypatch.setenv("NEFKIT_LOAD_PLUGINS", "nefkit-other")
    fresh, _ = load_fresh_host()
    assert set(fresh.info) == BUILT_IN_PLUGINS


def test_disable_plugins_leaves_out_a_built_in_plugin(fake_distribution, monkeypatch):
    fake_distribution(GOOD_PLUGIN)
    monkeypatch.setenv("NEFKIT_DISABLE_PLUGINS", "rules")
    fresh, warned = load_fresh_host()
    assert warned == []
    assert set(fresh.info) == BUILT_IN_PLUGINS - {"rules"} | {"fake"}
    assert not fresh.pm.has_plugin("rules")


def test_disable_plugins_wins_over_load_plugins(fake_distribution, monkeypatch):
    fake_distribution(GOOD_PLUGIN)
    monkeypatch.setenv("NEFKIT_DISABLE_PLUGINS", "nefkit-fake")
    fresh, _ = load_fresh_host()
    assert set(fresh.info) == BUILT_IN_PLUGINS
    assert "nefkit_fake_plugin" not in sys.modules


def test_load_is_done_once(fake_distribution):
    fake_distribution(GOOD_PLUGIN)
    fresh, _ = load_fresh_host()
    fresh.load()  # would raise "Plugin name already registered" if it loaded again
    assert set(fresh.info) == BUILT_IN_PLUGINS | {"fake"}


def test_a_third_party_entry_point_cannot_displace_a_built_in_plugin(fake_distribution):
    fake_distribution(GOOD_PLUGIN, entry_point="rules")
    fresh, warned = load_fresh_host()
    assert fresh.info["rules"].builtin
    assert warned == [
        f"nefkit-fake 0.3 (plugin rules) its name is already taken by nefkit {nefkit.__version__}"
        " (built-in plugin rules)"
    ]
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        registry = build_registry(plugin_host=fresh)
    assert "sum" in registry.rules
    assert BUILT_IN_INSTRUMENTS <= set(registry.instruments)


def test_plugins_command_shows_a_failed_plugin(fake_distribution, monkeypatch):
    fake_distribution(IMPORT_ERROR_PLUGIN)
    fresh = PluginHost()
    monkeypatch.setattr("nefkit.cli.host", fresh)
    with pytest.warns(PluginWarning, match="nefkit-fake 0.3"):
        result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:2] == ["fake  (nefkit-fake 0.3)", "  hooks: none"]
    assert lines[2].startswith("  FAILED: could not be loaded: ModuleNotFoundError: ")


# --------------------------------------------------------------------------------------------
# nefkit plugins


def test_plugins_all_json_lists_the_built_in_plugins():
    assert {"instruments", "rules"} <= BUILT_IN_PLUGINS
    result = CliRunner().invoke(cli, ["plugins", "--all", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert set(rows) == {"core", *BUILT_IN_PLUGINS}  # core: nefkit's own row engine
    instruments = rows["instruments"]
    assert instruments == {
        "name": "instruments",
        "distribution": "nefkit",
        "version": nefkit.__version__,
        "builtin": True,
        "hooks": ["register_instruments"],
        "provides": {"instruments": instruments["provides"]["instruments"]},
        "failures": [],
    }
    assert {"phq-9", "neq-20"} <= set(instruments["provides"]["instruments"])
    assert rows["core"]["provides"] == {
        "engines": [f"python: {nefkit.get_registry().engines['python'].value.summary}"]
    }
    assert [e.split(":")[0] for e in rows["duckdb"]["provides"]["engines"]] == ["duckdb"]
    # Every format read and written is listed with the plugin that brings it.
    readers = [r.split(" ")[0] for row in rows.values() for r in row["provides"].get("readers", [])]
    renderers = [
        r.split(" ")[0] for row in rows.values() for r in row["provides"].get("renderers", [])
    ]
    assert sorted(readers) == sorted(nefkit.get_registry().readers)
    assert sorted(renderers) == sorted(nefkit.get_registry().renderers)
    assert {"parquet", "jsonl", "csv"} <= set(renderers)
    assert all(row["builtin"] and not row["failures"] for row in rows.values())


def test_plugins_without_all_says_there_are_no_third_party_plugins():
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    assert result.output == (
        "No third-party plugins are installed. Use --all to see nefkit's built-in ones.\n"
    )
    assert CliRunner().invoke(cli, ["plugins", "--json"]).output.strip() == "[]"


def test_plugins_lists_a_third_party_plugin_and_its_hooks(register_plugin):
    class Plugin:
        @nefkit.hookimpl
        def register_renderers(self, register):
            register(MarkdownRenderer())

        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            register(HighestRule())

    register_plugin(Plugin(), name="both", distribution="nefkit-both", version="3.0")
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    assert result.output == (
        "both  (nefkit-both 3.0)\n  hooks: register_renderers, register_scoring_rules\n"
        f"  renderer markdown (.md .markdown): {MarkdownRenderer.summary}\n"
        f"  rule highest: {HighestRule.summary}\n"
    )


# --------------------------------------------------------------------------------------------
# Plugin code failing where the host calls it, and support switches


def run_nefkit(tmp_path, *args, **env):
    import os
    import subprocess

    environment = {**os.environ, "PYTHONPATH": str(tmp_path), **env}
    return subprocess.run(
        [sys.executable, "-m", "nefkit", *args], capture_output=True, text=True, env=environment
    )


def test_strict_mode_and_a_broken_plugin_give_an_error_not_a_traceback(fake_distribution, tmp_path):
    fake_distribution("raise ImportError('no module named tabulate')\n")
    result = run_nefkit(tmp_path, "instruments", NEFKIT_STRICT_PLUGINS="1")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: nefkit-fake 0.3 (plugin fake) could not be loaded")
    assert "Traceback" not in result.stderr


def test_trace_plugins_prints_every_hook_call(tmp_path):
    # nefkit plugins calls every hook; nefkit instruments only those it needs (test_startup.py)
    result = run_nefkit(tmp_path, "plugins", NEFKIT_TRACE_PLUGINS="1", NEFKIT_LOAD_PLUGINS="")
    assert result.returncode == 0
    assert (
        "nefkit: calling register_instruments of nefkit 0.1.0 (built-in plugin instruments)"
        in result.stderr
    )
    assert (
        "nefkit: calling register_renderers of nefkit 0.1.0 (built-in plugin csv)" in result.stderr
    )


def test_a_rule_whose_check_raises_is_a_problem_not_a_crash(register_plugin, tmp_path):
    class Explodes(HighestRule):
        name = "explodes"

        def check(self, score, params, instrument, outputs):
            raise RuntimeError("lookup table missing")

    class Plugin:
        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            register(Explodes())

    register_plugin(Plugin(), name="boom", distribution="nefkit-boom")
    path = tmp_path / "x.toml"
    path.write_text(
        DEFINITION.format(id="x")
        + '\n[[scores]]\nid = "t"\nlabel = "T"\nrule = "explodes"\nitems = ["q1", "q2"]\n'
    )
    [problem] = nefkit.validate(path)
    assert problem.where == 'score "t"'
    assert (
        problem.message
        == "rule 'explodes' failed while checking it: RuntimeError: lookup table missing"
    )


def test_an_extension_claimed_twice_stays_with_nefkits_own_renderer(register_plugin):
    class OtherCsv(MarkdownRenderer):
        format = "othercsv"
        extensions = (".csv",)

    class Plugin:
        @nefkit.hookimpl
        def register_renderers(self, register):
            register(OtherCsv())

    register_plugin(Plugin(), name="othercsv", distribution="nefkit-othercsv", version="1.2")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = build_registry()
    [message] = plugin_warnings(caught)
    assert "nefkit-othercsv 1.2 (plugin othercsv) also claims '.csv' files" in message
    assert "choose this one with --format othercsv" in message
    assert registry.renderer_for(Path("out.csv")).format == "csv"
    assert registry.renderer_for(Path("out.csv"), "othercsv").format == "othercsv"


def test_plugins_command_lists_registration_failures(register_plugin):
    class Plugin:
        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            register("not a rule")

    register_plugin(Plugin(), name="badrule", distribution="nefkit-badrule", version="0.9")
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    [row] = [r for r in json.loads(result.output) if r["name"] == "badrule"]
    assert "which is not a nefkit.ScoringRule or ChangeRule instance" in row["failures"][0]
