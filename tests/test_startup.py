"""Start-up: ``nefkit instruments`` and ``nefkit show`` load only what they need, and the
definitions cache that spares them reading every definition (nefkit/definitions/cache.py) is
trusted only under its key. How long they take is measured in benchmarks/startup.py."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import nefkit
from nefkit.definitions.cache import cache_directory, code_stamp
from nefkit.definitions.loading import load_definition
from nefkit.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = sorted((ROOT / "instruments").glob("*.toml"))
HEAVY = ("duckdb", "numpy", "openpyxl", "xlsxwriter", "jinja2")

MY_SCALE = textwrap.dedent(
    """\
    id = "my-scale"
    version = "0.9"
    title = "{title}"
    citation = "Me (2026). My own scale."
    licence = "Mine; ask first."
    source = "Written for nefkit's tests."

    [[items]]
    id = "felt_worse"
    text = "Did you feel worse after a session?"
    type = "{type}"

    [[scores]]
    id = "total"
    label = "Total"
    rule = "{rule}"
    items = ["felt_worse"]
    """
)


def my_scale(title: str = "My own scale", type: str = "yes_no", rule: str = "sum") -> str:
    return MY_SCALE.format(title=title, type=type, rule=rule)


class HighestRule(nefkit.ScoringRule):
    """A third party's rule, at the top of a module as plugins define theirs."""

    name = "highest"
    summary = "The highest of the answers."

    def output(self, score, params, instrument, outputs):
        return nefkit.Output("number", 0, 1, integer=True)

    def compute(self, values, params, names):
        return nefkit.ScoreValue(max(values), "complete", len(values))


class HighestPlugin:
    @nefkit.hookimpl
    def register_scoring_rules(self, register):
        register(HighestRule())


def run_nefkit(*args: str, **env: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """A real ``nefkit ARGS`` process, and every module it imported (``-X importtime``)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nefkit", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )
    lines = done.stderr.splitlines()
    modules = {line.split("|")[-1].strip() for line in lines if line.startswith("import time:")}
    done.stderr = "".join(f"{line}\n" for line in lines if not line.startswith("import time:"))
    return done, modules


def listed(instruments: dict) -> dict[str, str]:
    return {key: entry.summary.title for key, entry in instruments.items()}


def built(instrument_paths=()) -> tuple[dict, list[str]]:
    """A new registry's instruments, and the warnings collecting them gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        instruments = Registry(instrument_paths).instruments
    return instruments, [str(w.message) for w in caught]


def entries(cache: Path) -> list[Path]:
    """The cache's entries, one per definition file (rules.json records the rules)."""
    return [path for path in cache.glob("*.json") if path.name != "rules.json"]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache of this test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return cache_directory()


@pytest.fixture
def my_dir(tmp_path) -> Path:
    directory = tmp_path / "mine"
    directory.mkdir()
    (directory / "my-scale.toml").write_text(my_scale())
    return directory


# --------------------------------------------------------------------------------------------
# What each command imports


def test_help_imports_no_heavy_library_and_no_pydantic():
    done, modules = run_nefkit("--help")
    assert done.returncode == 0, done.stderr
    assert "Commands:" in done.stdout
    assert modules & {*HEAVY, "pydantic"} == set()


@pytest.mark.parametrize(
    "args",
    [["instruments"], ["instruments", "--json"], ["show", "phq-9"], ["show", "neq-20", "--json"]],
)
def test_instruments_and_show_import_no_renderer_reader_or_engine(args, tmp_path):
    for _ in range(2):  # with an empty cache, and with the cache the first run filled
        done, modules = run_nefkit(*args, XDG_CACHE_HOME=str(tmp_path))
        assert done.returncode == 0, done.stderr
        assert modules & set(HEAVY) == set()
        # the plugins' modules beyond the registration in their __init__
        loaded = {m for m in modules if m.startswith("nefkit_") and "." in m}
        assert {m.partition(".")[0] for m in loaded} <= {"nefkit_rules", "nefkit_instruments"}
        assert {"nefkit.renderers", "nefkit.scoring.rows", "nefkit.engines"} & modules == set()


def test_a_second_listing_reads_no_definition_and_imports_no_rule(tmp_path, my_dir):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "NEFKIT_INSTRUMENTS_PATH": str(my_dir)}
    first, loaded_first = run_nefkit("instruments", **env)
    second, loaded_second = run_nefkit("instruments", **env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "my-scale            My own scale (version 0.9, 1 questions)" in first.stdout
    assert second.stdout == first.stdout
    assert second.stderr == first.stderr == ""
    work = {"tomllib", "nefkit.definitions.checks", "nefkit.definitions.instrument", "pydantic"}
    assert work | {"nefkit_rules.aggregate"} <= loaded_first
    # neither read nor checked nor built, and the rules not asked for: all from the cache
    assert {m for m in loaded_second if m.partition(".")[0] in {*work, "nefkit_rules"}} == set()


def test_a_second_show_imports_no_rule_and_says_the_same(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    first, loaded_first = run_nefkit("show", "phq-9", **env)
    second, loaded_second = run_nefkit("show", "phq-9", **env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "rule from nefkit 0.1.0 (built-in plugin rules)" in first.stdout
    assert second.stdout == first.stdout
    assert "nefkit_rules.aggregate" in loaded_first
    assert not any(m.startswith("nefkit_rules.") for m in loaded_second)


# --------------------------------------------------------------------------------------------
# What the cache gives is what reading the definitions gives


def test_instruments_from_the_cache_equal_those_read_in_full(cache):
    built()  # fills the cache
    assert len(list(entries(cache))) == len(BUNDLED)
    registry = Registry()
    rules = registry.rule_map
    for path in BUNDLED:
        read, problems = load_definition(path, rules)
        assert read is not None, problems
        entry = registry.instruments[read.id]
        assert entry.value.model_dump() == read.model_dump()
        assert entry.value.content_hash == read.content_hash
        assert (entry.summary.title, entry.summary.items) == (read.title, len(read.items))


def test_an_edited_definition_is_read_again(cache, my_dir):
    assert listed(built([my_dir])[0])["my-scale"] == "My own scale"
    (my_dir / "my-scale.toml").write_text(my_scale(title="Renamed"))
    assert listed(built([my_dir])[0])["my-scale"] == "Renamed"
    (my_dir / "my-scale.toml").write_text(my_scale(type="yes-no"))
    instruments, warned = built([my_dir])
    assert "my-scale" not in instruments
    [message] = warned
    assert message.startswith(f"{my_dir / 'my-scale.toml'} was left out because it has errors")
    (my_dir / "my-scale.toml").write_text(my_scale(title="Mended"))
    assert listed(built([my_dir])[0])["my-scale"] == "Mended"


def test_a_broken_definition_warns_alike_from_the_cache(cache, my_dir):
    (my_dir / "broken.toml").write_text(my_scale(type="yes-no").replace("my-scale", "broken"))
    first, second = built([my_dir])[1], built([my_dir])[1]
    assert second == first
    [message] = first
    assert 'item "felt_worse" › type' in message


def test_a_plugins_broken_definition_is_its_failure_each_time(cache, my_dir, register_plugin):
    bad = my_dir / "bad.toml"
    bad.write_text(my_scale(type="yes-no").replace("my-scale", "bad"))

    class Sloppy:
        @nefkit.hookimpl
        def register_instruments(self, register):
            register(bad)

    register_plugin(Sloppy(), name="sloppy", distribution="nefkit-sloppy", version="0.1")
    for _ in range(2):
        instruments, warned = built()
        [message] = warned
        assert message.startswith("nefkit-sloppy 0.1 (plugin sloppy) registered an invalid")
        assert f'{bad}: item "felt_worse" › type' in message
        assert "bad" not in instruments


def test_the_key_follows_the_rules(cache, my_dir, register_plugin):
    (my_dir / "my-scale.toml").write_text(my_scale(rule="highest"))
    instruments, warned = built([my_dir])
    assert "my-scale" not in instruments
    assert "unknown scoring rule 'highest'" in warned[0]
    register_plugin(HighestPlugin(), name="highest", distribution="nefkit-highest", version="1")
    instruments, warned = built([my_dir])
    assert warned == []
    assert instruments["my-scale"].value.scores[0].rule == "highest"


PEAK_PLUGIN = """\
import nefkit

CALLS = []


class Peak(nefkit.ScoringRule):
    name = "highest"
    summary = "The highest of the answers."

    def output(self, score, params, instrument, outputs):
        return nefkit.Output("number", 0, 1, integer=True)

    def compute(self, values, params, names):
        return nefkit.ScoreValue(max(values), "complete", len(values))


@nefkit.hookimpl
def register_scoring_rules(register):
    CALLS.append(1)
    register(Peak())
"""


@pytest.fixture
def peak_plugin(tmp_path, monkeypatch, register_plugin):
    """A rule plugin installed as a module, as an entry point loads one: ``make(extra)``
    writes it (``extra`` ends its hook), registers it and gives the module."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(extra: str = ""):
        (tmp_path / "nefkit_peak.py").write_text(PEAK_PLUGIN + extra)
        module = importlib.import_module("nefkit_peak")
        return register_plugin(module, name="peak", distribution="nefkit-peak", version="1.0")

    try:
        yield make
    finally:
        sys.modules.pop("nefkit_peak", None)


def test_the_rules_come_from_the_cache_until_their_code_changes(cache, my_dir, peak_plugin):
    plugin = peak_plugin()
    (my_dir / "my-scale.toml").write_text(my_scale(rule="highest"))
    assert listed(built([my_dir])[0])["my-scale"] == "My own scale"
    assert plugin.CALLS == [1]
    instruments, warned = built([my_dir])
    assert (listed(instruments)["my-scale"], warned) == ("My own scale", [])
    assert Registry().rule_origins["highest"] == "nefkit-peak 1.0 (plugin peak)"
    assert plugin.CALLS == [1]  # the plugin was not asked again
    status = Path(plugin.__file__).stat()
    os.utime(plugin.__file__, ns=(status.st_atime_ns, status.st_mtime_ns + 10**9))
    assert listed(built([my_dir])[0])["my-scale"] == "My own scale"
    assert plugin.CALLS == [1, 1]


def test_a_rule_plugin_that_fails_is_asked_and_reported_every_time(cache, my_dir, peak_plugin):
    plugin = peak_plugin("    raise RuntimeError('boom')\n")
    (my_dir / "my-scale.toml").write_text(my_scale(rule="highest"))
    for calls in (1, 2):
        instruments, warned = built([my_dir])
        assert "my-scale" not in instruments
        assert warned[0].startswith(
            "nefkit-peak 1.0 (plugin peak) raised an error in register_scoring_rules:"
        )
        assert "unknown scoring rule 'highest'" in warned[1]
        assert plugin.CALLS == [1] * calls
    assert not (cache / "rules.json").exists()


@pytest.mark.parametrize(
    "damage",
    [
        lambda record: "{",
        lambda record: json.dumps({**record, "providers": []}),
        lambda record: json.dumps(
            {**record, "files": [[path, 0, 0] for path, *_ in record["files"]]}
        ),
        lambda record: json.dumps({**record, "origins": {"highest": 1}}),
    ],
)
def test_a_damaged_rules_record_is_not_believed(cache, my_dir, peak_plugin, damage):
    plugin = peak_plugin()
    (my_dir / "my-scale.toml").write_text(my_scale(rule="highest"))
    built([my_dir])
    record = cache / "rules.json"
    record.write_text(damage(json.loads(record.read_text())))
    assert Registry().rule_origins["highest"] == "nefkit-peak 1.0 (plugin peak)"
    assert listed(built([my_dir])[0])["my-scale"] == "My own scale"
    assert len(plugin.CALLS) > 1


def test_a_rules_code_and_state_are_in_the_key(tmp_path, monkeypatch):
    module = tmp_path / "nefkit_steep.py"
    module.write_text(
        textwrap.dedent(
            """\
            import nefkit


            class Steep(nefkit.ScoringRule):
                name = "highest"
                output = compute = None
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    steep = importlib.import_module("nefkit_steep").Steep
    try:
        before = code_stamp({"highest": steep()})[0]
        assert before == code_stamp({"highest": steep()})[0]
        status = module.stat()
        os.utime(module, ns=(status.st_atime_ns, status.st_mtime_ns + 10**9))
        assert code_stamp({"highest": steep()})[0] != before
        tuned = steep()
        tuned.factor = 2
        assert code_stamp({"highest": tuned})[0] != code_stamp({"highest": steep()})[0]
    finally:
        sys.modules.pop("nefkit_steep", None)


def test_nothing_is_cached_for_a_rule_made_inside_a_function(cache, my_dir, register_plugin):
    class Local(HighestRule):  # its code may differ from one call of this function to the next
        pass

    assert code_stamp({"highest": Local()})[0] is None

    class Plugin:
        @nefkit.hookimpl
        def register_scoring_rules(self, register):
            register(Local())

    register_plugin(Plugin(), name="local")
    (my_dir / "my-scale.toml").write_text(my_scale(rule="highest"))
    assert built([my_dir])[0]["my-scale"].value.scores[0].rule == "highest"
    assert not cache.exists()


def test_a_definition_json_cannot_hold_is_read_every_time(cache, my_dir):
    (my_dir / "my-scale.toml").write_text(
        my_scale() + '\n[[examples]]\nlabel = "A date"\nanswers = { felt_worse = 2026-01-05 }\n'
    )
    for _ in range(2):
        instruments, warned = built([my_dir])
        assert warned == []
        answers = instruments["my-scale"].value.examples[0].answers
        assert str(answers["felt_worse"]) == "2026-01-05"
    assert len(list(entries(cache))) == len(BUNDLED)  # the bundled ones only


# --------------------------------------------------------------------------------------------
# A cache that is damaged or cannot be used costs time, nothing else


def _tamper_key_kept(record):
    record["data"]["items"] = "not a list"  # the key matches, the table does not validate
    return json.dumps(record)


@pytest.mark.parametrize(
    "damage",
    [
        lambda record: "\x00 not JSON",
        lambda record: "[]",
        lambda record: json.dumps({**record, "key": "another key"}),
        lambda record: json.dumps({**record, "summary": None}),
        lambda record: json.dumps({**record, "summary": {**record["summary"], "items": "10"}}),
        lambda record: json.dumps({**record, "errors": [1]}),
        _tamper_key_kept,
    ],
)
def test_a_damaged_entry_is_not_believed(cache, damage):
    expected = {key: entry.value.model_dump() for key, entry in built()[0].items()}
    for entry in entries(cache):
        entry.write_text(damage(json.loads(entry.read_text())))
    instruments, warned = built()
    assert warned == []
    assert {key: entry.value.model_dump() for key, entry in instruments.items()} == expected
    assert {key: entry.summary.items for key, entry in instruments.items()} == {
        key: len(instrument["items"]) for key, instrument in expected.items()
    }


def test_entries_that_cannot_be_read_or_written_change_nothing(cache):
    expected = listed(built()[0])
    for entry in entries(cache):
        entry.unlink()
        entry.mkdir()  # neither readable as a file nor replaceable by one
    instruments, warned = built()
    assert (listed(instruments), warned) == (expected, [])
    assert all(entry.is_dir() for entry in entries(cache))


def test_a_cache_directory_that_cannot_be_made_changes_nothing(tmp_path, my_dir):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done, _ = run_nefkit(
        "instruments", XDG_CACHE_HOME=str(blocker / "cache"), NEFKIT_INSTRUMENTS_PATH=str(my_dir)
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "my-scale" in done.stdout and "phq-9" in done.stdout
