"""docs/plugins.md, the plugin author's guide, checked against nefkit itself.

- Every hook in ``nefkit.hookspecs`` has a section headed by its exact signature,
  ``## name(arg, ...)``, and no such heading names a hook that does not exist.
- Every example runs. Blocks labelled ``<!-- file: PATH -->`` are written out as the files of
  small plugin projects, imported, registered with the ``nefkit_register`` fixture and used the
  way the guide says; blocks labelled ``<!-- run -->`` are executed; the quick start's own tests
  run under pytest with the quick-start plugin installed (a dist-info carrying the entry point
  of the guide's pyproject.toml). Every Python block carries a label (``fragment`` blocks are
  only compiled) and every TOML block parses.
- The example distribution ``examples/nefkit-tscore`` works with this nefkit.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

import nefkit
from nefkit import hookspecs
from nefkit.plugins import PluginHost, PluginWarning, host
from nefkit.renderers import RenderOptions
from nefkit.testing import assert_scores

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "plugins.md"
TEXT = GUIDE.read_text(encoding="utf-8")
EXAMPLE = ROOT / "examples" / "nefkit-tscore"

HOOK_HEADING = re.compile(r"^## (\w+)\((.*)\)[ \t]*$", re.M)
FENCE = re.compile(
    r"^(?:<!-- (?P<label>[^\n]*?) -->\n)?```(?P<lang>[\w-]*)\n(?P<code>.*?)^```[ \t]*$",
    re.M | re.S,
)


@dataclass(frozen=True)
class Block:
    label: str
    lang: str
    code: str
    line: int

    @property
    def path(self) -> str | None:
        return self.label[len("file: ") :] if self.label.startswith("file: ") else None


def blocks(text: str = TEXT) -> list[Block]:
    return [
        Block(m["label"] or "", m["lang"], m["code"], text.count("\n", 0, m.start()) + 1)
        for m in FENCE.finditer(text)
    ]


def sections() -> dict[str, str]:
    """Each hook section's text, from its heading to the next ``## `` heading."""
    found = {}
    for match in HOOK_HEADING.finditer(TEXT):
        rest = TEXT[match.end() :]
        end = re.search(r"^## ", rest, re.M)
        found[match[1]] = rest[: end.start() if end else len(rest)]
    return found


def hook_specs() -> dict[str, tuple[str, ...]]:
    """Hook name to argument names, as pluggy reads them from nefkit.hookspecs."""
    hook = PluginHost().pm.hook
    names = [n for n in dir(hook) if not n.startswith("_") and getattr(hook, n).has_spec()]
    return {name: tuple(getattr(hook, name).spec.argnames) for name in names}


def origin(name: str) -> str:
    return f"nefkit-{name} 0.1.0 (plugin {name})"


# --------------------------------------------------------------------------------------------
# One section per hook, headed by its exact signature


def test_pluggy_and_the_hookspecs_module_agree():
    declared = {
        name: tuple(inspect.signature(function).parameters)
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, "nefkit_spec")
    }
    assert declared == hook_specs()
    assert "register_instruments" in declared


def test_every_hook_is_documented_under_its_exact_signature():
    specs = hook_specs()
    headings = [
        (m[1], tuple(a.strip() for a in m[2].split(",") if a.strip()))
        for m in HOOK_HEADING.finditer(TEXT)
    ]
    documented = dict(headings)
    missing = sorted(set(specs) - set(documented))
    assert not missing, f"hooks without a '## name(args)' section in docs/plugins.md: {missing}"
    stale = sorted(set(documented) - set(specs))
    assert not stale, f"docs/plugins.md has sections for hooks that do not exist: {stale}"
    wrong = {
        name: f"documented {documented[name]}, declared {specs[name]}"
        for name in specs
        if documented[name] != specs[name]
    }
    assert not wrong, f"hook sections whose arguments differ from nefkit.hookspecs: {wrong}"
    assert len(headings) == len(documented), "a hook has two sections"


@pytest.mark.parametrize("cls", [nefkit.ScoringRule, nefkit.ChangeRule])
def test_each_rule_contract_lists_the_methods_under_their_exact_signature(cls):
    """The contract tables name each method as ``name(args)``; the class has it, so."""
    table = TEXT.split(f"### The {cls.__name__} contract", 1)[1].split("\n### ", 1)[0]
    documented = re.findall(r"^\| `(\w+)\(([^)]*)\)` \|", table, re.M)
    assert documented
    for name, args in documented:
        method = getattr(cls, name, None)
        assert callable(method), f"{cls.__name__} has no {name}, which docs/plugins.md lists"
        declared = [p for p in inspect.signature(method).parameters if p != "self"]
        assert [a.strip() for a in args.split(",") if a.strip()] == declared, name


def standard_rules_table() -> str:
    """The guide's table of nefkit's own rules, from the rules themselves: name, summary, and
    each parameter of its model with its description."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| rule | what it computes | parameters |", "| --- | --- | --- |"]
    registry = nefkit.get_registry()
    for name, entry in sorted(registry.rules.items()):
        if entry.origin != f"nefkit {nefkit.__version__} (built-in plugin rules)":
            continue
        rule = entry.value
        params = [
            f"`{field}`{'' if info.is_required() else ' (optional)'}: {info.description}"
            for field, info in rule.Params.model_fields.items()
        ]
        lines.append(f"| `{name}` | {cell(rule.summary)} | {cell('<br>'.join(params)) or 'none'} |")
    return "\n".join(lines) + "\n"


def test_the_standard_rules_table_is_the_rules_own():
    """Generated from the code; after changing a rule, paste ``standard_rules_table()``."""
    section = TEXT.split("<!-- standard rules: from the rules' own models -->\n", 1)[1]
    assert section.startswith(standard_rules_table())
    # Every parameter is described: the table, nefkit schema and editors show it.
    assert ": None" not in standard_rules_table()


@pytest.mark.parametrize("cls", [nefkit.sql.SqlBuilder, nefkit.sql.Dialect])
def test_every_sql_helper_is_documented_under_its_exact_signature(cls):
    """The tables of "SQL for a rule" list every public method of the builder and the dialect,
    as ``name(args)``, and nothing else."""
    section = TEXT.split("### SQL for a rule: `nefkit.sql`", 1)[1].split("\n### ", 1)[0]
    first, second = re.split(r"^and, from the dialect", section, flags=re.M)
    table = first if cls is nefkit.sql.SqlBuilder else second
    documented = dict(re.findall(r"^\| `(\w+)\(([^)]*)\)` \|", table, re.M))
    declared = {
        name: ", ".join(p for p in inspect.signature(method).parameters if p != "self")
        for name, method in inspect.getmembers(cls, inspect.isfunction)
        if not name.startswith("_")
    }
    assert documented == declared


def test_the_sql_example_scores_as_python_does():
    """The guide's ``to_sql`` example, run in DuckDB, agrees with the standard ``count`` rule's
    ``compute`` on every row (inputs are never follow-ups here, where the two rules agree)."""
    duckdb = pytest.importorskip("duckdb")
    from nefkit.sql import DIALECTS, SqlBuilder, SqlInput, SqlScore

    [block] = [b for b in blocks() if b.code.startswith("def to_sql(")]
    namespace = {"SqlScore": SqlScore}
    exec(block.code, namespace)
    rule = nefkit.get_registry().rules["count"].value
    params = rule.Params(values=[2, 3])
    ids = ["a", "b", "c"]
    inputs = [SqlInput(i, i, f"({i} IS NULL)") for i in ids]
    sql = SqlBuilder(DIALECTS["duckdb"], "s_")
    score = namespace["to_sql"](None, params, inputs, sql)
    lets = "".join(f", {expr} AS {column}" for column, expr in sql.lets)
    names = "".join(f", {expr} AS {column}" for column, expr in sql.lists)
    rows = [(1, 2, 3), (0, None, 3), (None, None, None), (3, 3, 3)]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (k INTEGER, a INTEGER, b INTEGER, c INTEGER)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [(k, *r) for k, r in enumerate(rows)])
    got = con.execute(
        f"SELECT {score.value}, {score.status}, {score.reason}, {score.answered}"
        f" FROM (SELECT *{names} FROM (SELECT *{lets} FROM t)) ORDER BY k"
    ).fetchall()
    for row, (value, status, reason, answered) in zip(rows, got):
        expected = rule.compute(list(row), params, ids)
        assert (value, status, answered) == (expected.value, expected.status, expected.answered)
        assert reason == expected.reason


@pytest.mark.parametrize("hook", sorted(hook_specs()))
def test_each_hook_section_has_its_parts_and_an_example_implementing_it(hook):
    section = sections()[hook]
    for part in ("### Parameters", "### Example", "### Errors", "### Notes"):
        assert f"\n{part}\n" in section, f"## {hook}: no {part}"
    implementing = [
        block
        for block in blocks(section)
        if block.path and block.lang == "python"
        if re.search(rf"^@hookimpl\ndef {hook}\(", block.code, re.M)
    ]
    assert implementing, f"## {hook}: no file: example with an @hookimpl {hook}"


def test_the_entry_point_snippet_is_exact():
    assert '```toml\n[project.entry-points.nefkit]\nmyplugin = "nefkit_myplugin"\n```' in TEXT


def test_the_environment_switches_are_all_documented():
    for variable in (
        "NEFKIT_LOAD_PLUGINS",
        "NEFKIT_DISABLE_PLUGINS",
        "NEFKIT_STRICT_PLUGINS",
        "NEFKIT_TRACE_PLUGINS",
    ):
        assert f"| `{variable}" in TEXT, variable
        assert variable in inspect.getsource(importlib.import_module("nefkit.plugins"))


# --------------------------------------------------------------------------------------------
# Every block is labelled and parses


def test_every_block_is_labelled_and_parses():
    found = blocks()
    assert len(found) > 20
    paths = [block.path for block in found if block.path]
    assert len(paths) == len(set(paths)), "two blocks write the same file"
    for block in found:
        where = f"docs/plugins.md, line {block.line}"
        if block.lang == "python":
            assert block.label in ("run", "fragment") or block.path, (
                f"{where}: label the block <!-- file: PATH -->, <!-- run --> or <!-- fragment -->"
            )
            compile(block.code, where, "exec")
        elif block.lang == "toml":
            tomllib.loads(block.code)
        else:
            assert not block.label or block.path, f"{where}: unknown label {block.label!r}"


# --------------------------------------------------------------------------------------------
# The examples, built into plugins and used


@pytest.fixture
def guide(tmp_path, monkeypatch):
    """The guide's example projects written out under tmp_path, their packages importable."""
    file_blocks = [block for block in blocks() if block.path]
    for block in file_blocks:
        path = tmp_path / block.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.code, encoding="utf-8")
    for project in sorted({block.path.split("/")[0] for block in file_blocks}):
        monkeypatch.syspath_prepend(str(tmp_path / project))
    importlib.invalidate_caches()
    try:
        yield tmp_path
    finally:
        for name, module in list(sys.modules.items()):
            if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
                del sys.modules[name]


@pytest.fixture
def use(nefkit_register):
    """Register one of the guide's packages as plugin NAME; the registry, where any plugin
    warning fails the test."""

    def use(package: str, name: str):
        module = importlib.import_module(package)
        nefkit_register(module, name=name, distribution=f"nefkit-{name}", version="0.1.0")
        with warnings.catch_warnings():
            warnings.simplefilter("error", PluginWarning)
            return nefkit.get_registry()

    return use


def write_csv(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


GAD7 = "respondent_id,session," + ",".join(f"gad7_{i}" for i in range(1, 8))


def test_quick_start_plugin(guide, use, nefkit_cli):
    project = tomllib.loads((guide / "nefkit-myplugin" / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["nefkit"] == {"myplugin": "nefkit_myplugin"}
    assert project["tool"]["setuptools"]["package-data"] == {
        "nefkit_myplugin": ["definitions/*.toml"]
    }
    registry = use("nefkit_myplugin", "myplugin")
    entry = registry.instruments["my-scale"]
    assert entry.origin == origin("myplugin")
    assert_scores(entry.value, entry.value.examples)
    definition = guide / "nefkit-myplugin" / "nefkit_myplugin" / "definitions" / "my-scale.toml"
    result = nefkit_cli("validate", "--check-examples", definition)
    assert result.exit_code == 0, result.output
    shown = "valid (my-scale 0.1.0, 3 questions, 2 scores, 3 examples agree)"
    assert result.output == f"{definition}: {shown}\n"
    assert shown in TEXT
    listed = json.loads(nefkit_cli("plugins", "--json").output)
    assert {"name": "myplugin", "hooks": ["register_instruments"], "failures": []}.items() <= [
        p for p in listed if p["name"] == "myplugin"
    ][0].items()


def test_quick_start_tests_pass_with_the_plugin_installed(guide):
    """The guide's test file, run by pytest as its author would, against the quick-start
    plugin installed: found through the entry point its pyproject.toml declares."""
    project = guide / "nefkit-myplugin"
    points = tomllib.loads((project / "pyproject.toml").read_text())["project"]["entry-points"]
    metadata = project / "nefkit_myplugin-0.1.0.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: nefkit-myplugin\nVersion: 0.1.0\n"
    )
    (metadata / "entry_points.txt").write_text(
        "[nefkit]\n" + "".join(f"{name} = {value}\n" for name, value in points["nefkit"].items())
    )
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(project), os.environ.get("PYTHONPATH")])),
        "NEFKIT_LOAD_PLUGINS": "nefkit-myplugin",  # this one, not whatever else is installed
        "NEFKIT_STRICT_PLUGINS": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^6 passed", result.stdout, re.M), result.stdout


def test_register_instruments_example(guide, use, nefkit_cli):
    registry = use("nefkit_pulse", "pulse")
    entry = registry.instruments["session-pulse"]
    assert (entry.origin, entry.path) == (origin("pulse"), None)
    assert_scores(entry.value, entry.value.examples)
    result = nefkit_cli("validate", "--check-examples", "session-pulse")
    assert result.exit_code == 0, result.output
    shown = "session-pulse: valid (session-pulse 1.0.0, 3 questions, 0 scores, 2 examples agree)"
    assert result.output == f"{shown}\n"
    assert shown in TEXT


def test_register_scoring_rules_example(guide, use, tmp_path):
    registry = use("nefkit_extrarules", "extrarules")
    assert registry.rules["highest"].origin == origin("extrarules")
    assert registry.rules["response"].origin == origin("extrarules")
    definition = guide / "nefkit-extrarules" / "example.toml"
    assert nefkit.validate(definition, registry, check_examples=True) == []
    instrument = nefkit.load_instrument(definition, registry)
    data = write_csv(
        tmp_path / "mood.csv",
        "respondent_id,session,low,tense,alone",
        "C1,1,3,3,2",
        "C1,2,1,2,1",  # total 8 -> 4: halved, a response
        "C2,1,2,2,2",
        "C2,2,2,,1",  # total not scorable: no change; the worst leaves the blank out
        "C2,3,2,1,1",  # total 6 -> 4: a third less, no response
    )
    results = nefkit.score(instrument, data, registry)
    worst = [(row.scores["worst"].value, row.scores["worst"].status) for row in results.rows]
    assert worst == [
        (3, "complete"),
        (2, "complete"),
        (2, "complete"),
        (2, "prorated"),
        (2, "complete"),
    ]
    classes = {
        (c.respondent_id, c.comparison, c.from_row, c.to_row): c.classification
        for c in results.changes
    }
    assert classes == {
        ("C1", "baseline to latest", 2, 3): "response",
        ("C1", "session to session", 2, 3): "response",
        ("C2", "baseline to latest", 4, 6): "no response",
        ("C2", "session to session", 4, 6): "no response",
    }
    # A parameter the model refuses, reported as the guide shows it
    bad = tmp_path / "bad.toml"
    bad.write_text(definition.read_text().replace('missing = "ignore"', 'missing = "skip"'))
    [problem] = nefkit.validate(bad, registry)
    shown = "score \"worst\" › params › missing: input should be 'not scorable' or 'ignore' (found 'skip')"
    assert f"{problem.where}: {problem.message}" == shown
    assert shown in TEXT.replace("\n", " ")


def test_register_readers_example(guide, use, tmp_path, nefkit_cli):
    registry = use("nefkit_psv", "psv")
    reader = registry.reader_for(Path("clinic.psv"))
    assert type(reader).__name__ == "PsvReader"
    assert registry.readers["psv"].origin == origin("psv")
    data = tmp_path / "clinic.psv"
    data.write_text(
        GAD7.replace(",", "|") + "\nC1|1|1|2|3|0|1|2|3\n\nC2|1|Several days|0|0|0|0|0|\n",
        encoding="utf-8",
    )
    rows = list(nefkit.score("gad-7", data, registry).rows)
    assert [(r.row, r.respondent_id, r.scores["total"].value) for r in rows] == [
        (2, "C1", 12),
        (4, "C2", None),
    ]
    out = tmp_path / "scores.csv"
    assert nefkit_cli("score", "gad-7", data, "-o", out).exit_code == 0
    broken = tmp_path / "broken.psv"
    broken.write_bytes(b"respondent_id|gad7_1\n\xff\xfe|1\n")
    result = nefkit_cli("score", "gad-7", broken, "-o", out)
    assert result.exit_code == 1
    assert f"Error: {broken}: the file is not UTF-8 text" in result.output


def test_register_renderers_example(guide, use, tmp_path, nefkit_cli):
    registry = use("nefkit_tsv", "tsv")
    assert registry.renderers["tsv"].origin == origin("tsv")
    data = write_csv(
        tmp_path / "clinic.csv",
        GAD7 + ",note",
        'C1,1,3,3,3,3,3,3,3,"=HYPERLINK(""http://x"")"',
        'C1,2,0,0,1,0,0,1,0,"two\tcells\nand lines"',
        "C2,1,1,1,1,1,1,1,,-1",
    )
    out = tmp_path / "scores.tsv"
    result = nefkit_cli("score", "gad-7", data, "-o", out)
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    assert len(lines) == 4 and {len(line.split("\t")) for line in lines} == {len(header)}
    notes = [line.split("\t")[header.index("note")] for line in lines[1:]]
    assert notes == ['\'=HYPERLINK("http://x")', "two cells and lines", "'-1"]
    changes = (tmp_path / "scores-changes.tsv").read_text(encoding="utf-8")
    assert "\tsession to session\t2\t3\t1\t2\t\t\t21\t2\t-19\trecovered\t" in changes
    # the data-entry template reads back without edits
    blank = tmp_path / "blank.tsv"
    assert nefkit_cli("template", "gad-7", "-o", blank).exit_code == 0
    with open(blank, "a", encoding="utf-8") as handle:
        handle.write("C9\t2026-03-01\t1\t" + "\t".join("1" * 7) + "\n")
    result = nefkit_cli("score", "gad-7", blank, "-o", tmp_path / "back.csv")
    assert result.exit_code == 0, result.output
    assert "Scored 1 of 1 rows" in result.output
    # no codebooks: said before any work
    refused = nefkit_cli("codebook", "gad-7", "-o", tmp_path / "codebook.tsv")
    assert refused.exit_code == 1
    assert "Error: the tsv format does not write codebooks (it writes scores, data-entry" in (
        refused.output
    )
    # one instrument at a time
    with pytest.raises(nefkit.NefkitError, match="the tsv format holds one instrument's"):
        twice = [nefkit.score("gad-7", data, registry), nefkit.score("gad-7", data, registry)]
        nefkit.render(twice, tmp_path / "two.tsv", reg=registry)


def test_register_templates_example(guide, use, tmp_path):
    registry = use("nefkit_clinicbrand", "clinicbrand")
    [entry] = [e for e in registry.templates if e.origin == origin("clinicbrand")]
    assert entry.value.joinpath("client.html").is_file()
    if "html" not in registry.renderers:
        pytest.skip("no html renderer is registered to use the template")
    data = write_csv(
        tmp_path / "phq.csv",
        "respondent_id,session," + ",".join(f"phq9_{i}" for i in range(1, 10)),
        "C1,1,1,1,1,1,1,1,1,1,0",
    )
    out = tmp_path / "client.html"
    results = nefkit.score("phq-9", data, registry)
    nefkit.render(results, out, options=RenderOptions(respondent="C1"), reg=registry)
    assert "<title>Riverside Clinic · " in out.read_text(encoding="utf-8")


def test_register_engines_example(guide, use, tmp_path, nefkit_cli):
    registry = use("nefkit_wholefile", "wholefile")
    assert registry.engines["wholefile"].origin == origin("wholefile")
    data = write_csv(tmp_path / "clinic.csv", GAD7, "C1,1,1,2,3,0,1,2,3", "C1,2,0,0,0,0,0,0,")
    for engine in ("python", "wholefile"):
        result = nefkit_cli(
            "score", "gad-7", data, "-o", tmp_path / f"{engine}.csv", "--engine", engine
        )
        assert result.exit_code == 0, result.output
    assert (tmp_path / "python.csv").read_text() == (tmp_path / "wholefile.csv").read_text()
    assert "Engine:" not in result.output  # chosen by name: nothing to explain
    auto = nefkit_cli("score", "gad-7", data, "-o", tmp_path / "auto.csv")
    assert "Engine: python (" in auto.output  # never chosen by auto
    listed = nefkit_cli("plugins").output
    assert "engine wholefile: Reads the whole file first" in listed
    xlsx = tmp_path / "clinic.xlsx"
    nefkit_cli("template", "gad-7", "-o", xlsx)
    refused = nefkit_cli("score", "gad-7", xlsx, "-o", tmp_path / "x.csv", "--engine", "wholefile")
    assert refused.exit_code == 1
    assert "the wholefile engine reads csv files, not xlsx; use --engine python" in refused.output


def test_register_commands_example(guide, nefkit_register, nefkit_cli):
    from nefkit.cli import cli

    module = importlib.import_module("nefkit_rulelist")
    nefkit_register(module, name="rulelist", distribution="nefkit-rulelist", version="0.1.0")
    host.call_each("register_commands", lambda info: cli)
    try:
        result = nefkit_cli("rule-list", "--json")
        assert result.exit_code == 0, result.output
        rows = {row["name"]: row for row in json.loads(result.output)}
        assert rows["sum"]["from"] == f"nefkit {nefkit.__version__} (built-in plugin rules)"
        first = nefkit_cli("rule-list").output.splitlines()[0]
        assert first.replace(nefkit.__version__, "0.1.0") in TEXT
    finally:
        cli.commands.pop("rule-list", None)


@pytest.mark.parametrize(
    "block", [b for b in blocks() if b.label == "run"], ids=lambda b: f"line {b.line}"
)
def test_run_blocks(guide, block):
    exec(compile(block.code, f"docs/plugins.md, line {block.line}", "exec"), {})


# --------------------------------------------------------------------------------------------
# The complete example distribution the guide points to


def test_the_example_distribution_is_packaged_as_the_guide_says():
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())
    meta = project["project"]
    assert (meta["name"], meta["version"]) == ("nefkit-tscore", "0.1.0")
    assert meta["entry-points"]["nefkit"] == {"tscore": "nefkit_tscore"}
    assert any(d.startswith("nefkit") for d in meta["dependencies"])
    assert any(d.startswith("pytest") for d in meta["optional-dependencies"]["test"])
    assert project["tool"]["setuptools"]["package-data"] == {
        "nefkit_tscore": ["definitions/*.toml"]
    }
    hooks = (EXAMPLE / "nefkit_tscore" / "__init__.py").read_text()
    assert not re.search(r"^(from \.|import (?!nefkit))", hooks, re.M), "heavy imports at the top"


def test_the_example_plugin_works_with_this_nefkit(
    nefkit_register, nefkit_cli, monkeypatch, tmp_path
):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    try:
        module = importlib.import_module("nefkit_tscore")
        nefkit_register(module, name="tscore", distribution="nefkit-tscore", version="0.1.0")
        with warnings.catch_warnings():
            warnings.simplefilter("error", PluginWarning)
            registry = nefkit.get_registry()
        for table, key in ((registry.rules, "tscore"), (registry.renderers, "markdown")):
            assert table[key].origin == origin("tscore")
        entry = registry.instruments["wellbeing-5"]
        assert "not for clinical use" in entry.value.title
        assert_scores(entry.value, entry.value.examples)
        result = nefkit_cli("validate", "--check-examples", entry.path)
        assert result.exit_code == 0 and "8 examples agree" in result.output, result.output
        out = tmp_path / "scores.md"
        result = nefkit_cli("score", "wellbeing-5", EXAMPLE / "data.csv", "-o", out)
        assert result.exit_code == 0, result.output
        text = out.read_text(encoding="utf-8")
        assert (
            "| 5 | C02 | 1 | 2026-01-14 | South | not scorable | 58 (prorated) | Average |" in text
        )
        assert "East \\| annex" in text
    finally:
        for name in [
            n for n in sys.modules if n == "nefkit_tscore" or n.startswith("nefkit_tscore.")
        ]:
            del sys.modules[name]
