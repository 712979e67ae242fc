"""`nefkit codebook`: the Excel and HTML codebooks of every bundled instrument, written by the
renderers and read back (openpyxl; html.parser) against :func:`nefkit.codebook.codebook`, and a
hostile definition whose texts must arrive as text, never as markup or formulas."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest
from helpers import registry
from openpyxl import load_workbook
from test_html import Node, _no_active_content, parse, table_rows

import nefkit
from nefkit.codebook import codebook
from nefkit.documents import Codebook
from nefkit.renderers import RenderOptions

BUNDLED = ["gad-7", "neq-20", "neq-32", "phq-9", "therapy-reflection"]
SHEETS = ["About", "Items", "Scores", "Flags", "Changes", "Norms"]
TABLES = ["items", "scores", "flags", "changes"]
DEFINITIONS = Path(str(files("nefkit_instruments") / "definitions"))

SCRIPT = "<script>alert('a1')</script>"
LINK = '=HYPERLINK("http://example.com","a2")'
HOSTILE = f"""
id = "hostile-3"
version = "1.0.0"
title = "Hostile <b>three</b>"
citation = "=HYPERLINK(\\"http://example.com\\",\\"cite\\")"
licence = "<script>alert('licence')</script> free to use"
source = "@SUM(1+2)"
instructions = "<img src=x onerror=alert(1)>"
notes = ["<script>alert('note')</script>", "=1+2"]

[scales.often]
choices = [
  {{ value = 0, label = "=HYPERLINK(\\"http://example.com\\",\\"never\\")" }},
  {{ value = 1, label = "<script>alert(1)</script>" }},
  {{ value = 2, label = "-2+3" }},
]

[[items]]
id = "a1"
text = "{SCRIPT}"
scale = "often"

[[items]]
id = "a2"
text = '{LINK}'
scale = "often"
note = "<b>bold</b>"

[[items]]
id = "a3"
text = "+cmd|' /C calc'!A0"
scale = "often"

[[scores]]
id = "total"
label = "<i>Total</i>"
rule = "sum"
items = ["a1", "a2", "a3"]

[[norms]]
target = "total"
statistic = "mean"
value = 2.5
population = "<script>x</script>"
source = "=SUM(A1)"
verified = false
"""


def hostile_registry(tmp_path: Path):
    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "hostile-3.toml").write_text(HOSTILE, encoding="utf-8")
    return nefkit.get_registry([folder])


def write(plan, path: Path, reg=None) -> Path:
    """As `nefkit codebook` does: the renderer chosen by the file name writes it."""
    (reg or registry()).renderer_for(path).write(Codebook(plan), path, RenderOptions())
    return path


def sheet_rows(ws) -> list[dict]:
    """A table sheet as rows keyed by its header; an empty cell reads back as ""."""
    header, *rows = ws.iter_rows(values_only=True)
    return [{k: ("" if v is None else v) for k, v in zip(header, row)} for row in rows]


def expected_rows(rows: list[dict]) -> list[dict]:
    return [{k: ("" if v is None else v) for k, v in row.items()} for row in rows]


def about_pairs(ws) -> dict[str, list]:
    pairs: dict[str, list] = {}
    for key, value, *_ in ws.iter_rows(values_only=True):
        if key is not None and value is not None:
            pairs.setdefault(key, []).append(value)
    return pairs


@pytest.fixture(scope="module", params=BUNDLED)
def bundled(request, tmp_path_factory):
    """Each bundled instrument's codebook in both formats, as the renderers write them."""
    plan = nefkit.get_plan(request.param, registry())
    out = tmp_path_factory.mktemp(request.param)
    return plan, write(plan, out / "codebook.xlsx"), write(plan, out / "codebook.html")


# --- Excel -------------------------------------------------------------------------------------


def test_excel_codebook_has_an_about_sheet_then_one_sheet_per_table(bundled):
    plan, xlsx, _ = bundled
    book = load_workbook(xlsx)
    assert book.sheetnames == SHEETS
    tables = codebook(plan)
    for name in TABLES:
        ws = book[name.capitalize()]
        if tables[name]:
            assert sheet_rows(ws) == expected_rows(tables[name]), name
            assert ws.freeze_panes == "B2"
            assert ws.auto_filter.ref.startswith("A1:")
            assert ws.auto_filter.ref.endswith(str(len(tables[name]) + 1))
        else:
            assert [c.value for c in ws[1]] == [f"No {name}: the definition gives none."]


def test_excel_codebook_items_sheet_is_the_codebook_items_table(bundled):
    plan, xlsx, _ = bundled
    items = load_workbook(xlsx)["Items"]
    assert sheet_rows(items) == expected_rows(codebook(plan)["items"])
    assert [c.value for c in items[1]] == list(codebook(plan)["items"][0])
    assert len(sheet_rows(items)) == len(plan.instrument.items)


def test_excel_codebook_about_sheet_gives_licence_citation_notes_and_instructions(bundled):
    plan, xlsx, _ = bundled
    instrument = plan.instrument
    ws = load_workbook(xlsx)["About"]
    # The licence comes first, under its own heading: nobody has to look for it.
    headings = [r[0].value for r in ws.iter_rows() if r[0].font.sz == 13 and r[0].font.b]
    assert headings[0] == "Licence and permitted use"
    pairs = about_pairs(ws)
    assert pairs["licence"] == [instrument.licence]
    assert pairs["citation"] == [instrument.citation]
    assert pairs["source"] == [instrument.source]
    assert pairs["version"] == [instrument.version]
    assert pairs["content hash"] == [instrument.content_hash]
    notes = [value for key, value, *_ in ws.iter_rows(values_only=True) if isinstance(key, int)]
    assert notes == instrument.notes
    if instrument.instructions:
        assert pairs["instructions"] == [instrument.instructions]


def test_excel_norms_say_verified_or_unverified_in_words(tmp_path):
    plan = nefkit.get_plan("neq-20", registry())
    ws = load_workbook(write(plan, tmp_path / "neq.xlsx"))["Norms"]
    rows = sheet_rows(ws)
    assert len(rows) == len(plan.instrument.norms)
    for row, norm in zip(rows, plan.instrument.norms):
        assert (row["target"], row["value"], row["source"]) == (
            norm.target,
            norm.value,
            norm.source,
        )
        assert row["n"] == ("" if norm.n is None else norm.n)
        assert row["verified"] == (
            "verified in the source" if norm.verified else "UNVERIFIED: not checked in the source"
        )
    assert any(not norm.verified for norm in plan.instrument.norms)
    # An unverified figure is also marked in bold and colour, on top of the words.
    column = [c.value for c in ws[1]].index("verified")
    for cells in ws.iter_rows(min_row=2):
        cell = cells[column]
        assert cell.font.b == cell.value.startswith("UNVERIFIED")
    assert rows[0]["about"] == plan.instrument.item_map[rows[0]["target"]].text


# --- HTML --------------------------------------------------------------------------------------


def test_html_codebook_shows_the_licence_first_and_every_fact(bundled):
    plan, _, html = bundled
    instrument = plan.instrument
    doc = parse(html)
    _no_active_content(doc)
    assert doc.one("h1").text() == instrument.title
    main = doc.one("main")
    first = next(c for c in main.children if isinstance(c, Node))
    assert first.attrs["id"] == "licence"
    assert first.one("h2").text() == "Licence and permitted use"
    assert first.one("p").text() == " ".join(instrument.licence.split())
    facts = {
        div.one("dt").text(): div.one("dd").text() for div in doc.one("dl", cls="facts").all("div")
    }
    assert facts["Citation"] == " ".join(instrument.citation.split())
    assert facts["Content hash"] == instrument.content_hash
    assert facts["Version"] == instrument.version
    notes = [li.text() for li in doc.one("section", id="notes").all("li")]
    assert notes == [" ".join(n.split()) for n in instrument.notes]
    if instrument.instructions:
        assert doc.one("blockquote").text() == " ".join(instrument.instructions.split())


def test_html_codebook_tables_are_the_codebook_tables(bundled):
    plan, _, html = bundled
    doc = parse(html)
    tables = codebook(plan)
    for name in TABLES:
        section = doc.one("section", id=name)
        rows = tables[name]
        if not rows:
            assert section.all("table") == []
            assert "The definition gives no" in section.one("p", cls="none").text()
            continue
        shown = table_rows(section.one("table"))
        assert shown[0] == list(rows[0])
        assert shown[1:] == [[" ".join(str(v).split()) for v in row.values()] for row in rows], name


def test_html_codebook_is_printable(bundled):
    """The structure; test_html_print.py prints it on A4 and Letter."""
    _, _, html = bundled
    doc = parse(html)
    css = doc.one("style").text()
    assert "@media print" in css
    assert not re.search(r"@page\s*{[^}]*\bsize:", css)  # the printer's paper, A4 or Letter
    assert "thead { display: table-header-group; }" in css  # headers repeat on every page
    levels = [int(n.tag[1]) for n in doc.all() if n.tag in ("h1", "h2", "h3")]
    assert levels[0] == 1 and levels.count(1) == 1
    for table in doc.all("table"):
        assert any("table-wrap" in a.attrs.get("class", "").split() for a in table.ancestors())


def test_html_norms_mark_unverified_figures_in_words(tmp_path):
    plan = nefkit.get_plan("neq-20", registry())
    doc = parse(write(plan, tmp_path / "neq.html"))
    rows = table_rows(doc.one("section", id="norms").one("table"))
    header, *body = rows
    column = header.index("verified")
    assert len(body) == len(plan.instrument.norms)
    for row, norm in zip(body, plan.instrument.norms):
        expected = "verified" if norm.verified else "unverified not checked in the source"
        assert row[column] == expected
        assert row[header.index("value")] == str(norm.value)


# --- hostile texts -----------------------------------------------------------------------------


def test_hostile_definition_texts_arrive_as_text(tmp_path):
    reg = hostile_registry(tmp_path)
    plan = nefkit.get_plan("hostile-3", reg)
    html = write(plan, tmp_path / "h.html", reg)
    xlsx = write(plan, tmp_path / "h.xlsx", reg)

    doc = parse(html)
    _no_active_content(doc)
    assert doc.all("script") == doc.all("img") == doc.all("b") == doc.all("i") == []
    assert doc.one("h1").text() == "Hostile <b>three</b>"
    assert doc.one("section", id="licence").one("p").text() == (
        "<script>alert('licence')</script> free to use"
    )
    assert doc.one("blockquote").text() == "<img src=x onerror=alert(1)>"
    items = table_rows(doc.one("section", id="items").one("table"))
    assert [row[1] for row in items[1:]] == [SCRIPT, LINK, "+cmd|' /C calc'!A0"]
    assert items[1][3] == (
        '0 = =HYPERLINK("http://example.com","never"); 1 = <script>alert(1)</script>; 2 = -2+3'
    )
    assert "<i>Total</i>" in doc.one("section", id="scores").text()

    book = load_workbook(xlsx)
    ws = book["Items"]
    questions = [row[1] for row in ws.iter_rows(min_row=2)]
    assert [c.value for c in questions] == [SCRIPT, LINK, "+cmd|' /C calc'!A0"]
    for cell in questions:
        assert cell.data_type == "s"  # never a formula
    assert questions[1].quotePrefix and questions[2].quotePrefix
    pairs = about_pairs(book["About"])
    assert pairs["citation"] == ['=HYPERLINK("http://example.com","cite")']
    assert pairs["source"] == ["@SUM(1+2)"]
    for ws in book:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    norms = sheet_rows(book["Norms"])
    assert norms[0]["source"] == "=SUM(A1)"
    assert norms[0]["about"] == "<i>Total</i>"


# --- the command line --------------------------------------------------------------------------


def test_codebook_command_writes_html_and_xlsx(nefkit_cli, tmp_path):
    result = nefkit_cli("codebook", "neq-20", "-o", tmp_path / "c.html")
    assert result.exit_code == 0, result.output
    doc = parse(tmp_path / "c.html")
    plan = nefkit.get_plan("neq-20", registry())
    items = table_rows(doc.one("section", id="items").one("table"))
    assert len(items) == 1 + len(plan.instrument.items)
    assert "Licence and permitted use" in doc.one("section", id="licence").text()

    result = nefkit_cli("codebook", "neq-20", "-o", tmp_path / "c.xlsx")
    assert result.exit_code == 0, result.output
    assert load_workbook(tmp_path / "c.xlsx").sheetnames == SHEETS


def test_codebook_command_reads_definitions_from_a_folder(nefkit_cli, tmp_path):
    hostile_registry(tmp_path)  # writes the definition into tmp_path / "definitions"
    out = tmp_path / "h.html"
    result = nefkit_cli(
        "codebook", "hostile-3", "-o", out, "--instruments", tmp_path / "definitions"
    )
    assert result.exit_code == 0, result.output
    _no_active_content(parse(out))
