"""The Excel renderer: workbooks read back with openpyxl (and LibreOffice) as a person would check
them: sheets, headers, Excel-native values, highlights that do not rely on colour, formula-proof
text, several instruments, row limits, and the cohort summary against figures computed here."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import zipfile
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import registry
from nefkit_excel import workbook as excel_workbook
from nefkit_excel.renderer import XlsxRenderer
from nefkit_excel.styles import MAX_CELL_TEXT, sheet_title
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

import nefkit
from nefkit.cli import cli
from nefkit.errors import NefkitError
from nefkit.renderers import RenderOptions
from nefkit.tabular import change_columns, score_columns

DEMO = files("nefkit_demo") / "data"
SHEETS = ["Scores", "Responses", "Change", "Summary", "Problems", "Codebook", "About"]
PHQ_ITEMS = [f"phq9_{i}" for i in range(1, 11)]
NEQ_ITEMS = [f"neq{k:02d}" for k in range(1, 21)]
# Text a spreadsheet could take for a formula (or, for openpyxl, an error value).
HOSTILE = [
    "=1+2",
    "+1+2",
    "-1+2",
    "@SUM(1+2)",
    "\t=1+2",
    "\r=1+2",
    '=HYPERLINK("http://example.com","click")',
    "#N/A",
    "=cmd|' /C calc'!A0",
    # XlsxWriter copies text that looks like its own rich-string XML into the file unescaped:
    # this would add a formula cell, were it not written as text.
    '<r></r></is></c><c r="Z9"><f>HYPERLINK("http://example.com","x")</f></c><c><is><r></r>',
]
# XML reads a carriage return as a line feed (Excel shows both as a line break); nothing else
# about the text may change.
SHOWN = [text.replace("\r", "\n") for text in HOSTILE]
RISKY_START = ("=", "+", "-", "@", "\t", "\r")
# PHQ-9's risk flag, as a workbook names it to its reader.
SELF_HARM = registry().instrument("phq-9").flags[0].label
# LibreOffice's CSV export: comma, double quote, UTF-8, every sheet to <name>-<sheet>.csv,
# values as shown (formatted), formulas' results rather than their text.
LO_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1"


def external(*names: str) -> str:
    """The path of an external program. Missing, the test is skipped, unless
    NEFKIT_REQUIRE_EXTERNAL is set (as in CI, which installs it): then the test fails."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("NEFKIT_REQUIRE_EXTERNAL"):
        pytest.fail(f"{names[0]} is not installed, and NEFKIT_REQUIRE_EXTERNAL is set")
    pytest.skip(f"{names[0]} is not installed (set NEFKIT_REQUIRE_EXTERNAL=1 to require it)")


def libreoffice_convert(workbooks: list[Path], outdir: Path, target: str = LO_CSV) -> None:
    """Convert workbooks with LibreOffice, by default every sheet to <stem>-<sheet>.csv as
    LibreOffice shows it."""
    soffice = external("libreoffice", "soffice")
    profile = outdir / "lo-profile"  # its own profile: no clash with a running LibreOffice
    done = subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless"]
        + ["--convert-to", target, "--outdir", str(outdir), *map(str, workbooks)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for workbook in workbooks:  # LibreOffice says little when it cannot read a file
        assert list(outdir.glob(f"{workbook.stem}*")), f"LibreOffice did not convert {workbook}"


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def records(ws) -> list[dict]:
    header, *rows = ws.iter_rows(values_only=True)
    return [dict(zip(header, row)) for row in rows]


def column_widths(ws) -> dict[str, float]:
    """Each column's width as set, in characters, whether the file gives it column by column or
    for a run of columns."""
    return {
        get_column_letter(index): dim.width
        for dim in ws.column_dimensions.values()
        if dim.customWidth
        for index in range(dim.min, dim.max + 1)
    }


def header_of(ws) -> list:
    return [cell.value for cell in next(ws.iter_rows(max_row=1))]


def column_cells(ws, name: str) -> list:
    index = header_of(ws).index(name)
    return [row[index] for row in ws.iter_rows(min_row=2)]


def blocks(ws) -> dict[str, list[dict]]:
    """The tables of a report sheet (Summary, Codebook) by their heading (bold, size 13): each a
    list of rows keyed by the table's header, up to a blank line or a note (italic)."""
    found: dict[str, list[dict]] = {}
    rows = [list(r) for r in ws.iter_rows()]
    for i, row in enumerate(rows):
        first = row[0]
        if first.value and first.font.bold and first.font.sz == 13:
            header = [c.value for c in rows[i + 1] if c.value is not None]
            table = []
            for line in rows[i + 2 :]:
                if all(c.value is None for c in line) or line[0].font.i or line[0].font.sz == 13:
                    break
                table.append(dict(zip(header, (c.value for c in line))))
            found[first.value] = table
    return found


def about(ws) -> dict[str, list]:
    pairs: dict[str, list] = {}
    for key, value, *_ in ws.iter_rows(values_only=True):
        if key is not None and value is not None:
            pairs.setdefault(key, []).append(value)
    return pairs


def sheet_xml(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as book:
        return [
            book.read(name).decode()
            for name in book.namelist()
            if name.startswith("xl/worksheets/sheet")
        ]


def score_cli(*args) -> object:
    return CliRunner().invoke(cli, ["score", *map(str, args)])


@pytest.fixture(scope="module")
def phq_book(tmp_path_factory):
    """The demo clinic's PHQ-9 data scored through the command line into CSV and XLSX."""
    out = tmp_path_factory.mktemp("phq")
    data = Path(str(DEMO / "phq-9.csv"))
    for name in ("scores.xlsx", "scores.csv"):
        result = score_cli("phq-9", data, "-o", out / name)
        assert result.exit_code == 0, result.output
    return out / "scores.xlsx", out / "scores.csv"


def hostile_neq_csv(path: Path) -> Path:
    """NEQ-20 rows whose free text (the open question `other` and a context column) is each
    hostile string, plus one row whose answer to neq01 is a formula."""
    follow_ups = [c for i in NEQ_ITEMS for c in (i, f"{i}_impact", f"{i}_cause")]
    no = ["No", "", ""] * 20
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "session", "comment", *follow_ups, "other"])
        for n, text in enumerate(HOSTILE, 1):
            writer.writerow([f"r{n}", 1, text, *no, text])
        writer.writerow(["bad", 1, "fine", "=1+1", *no[1:], ""])
    return path


@pytest.fixture(scope="module")
def hostile_book(tmp_path_factory):
    out = tmp_path_factory.mktemp("hostile")
    data = hostile_neq_csv(out / "hostile.csv")
    results = nefkit.score("neq-20", data, registry())
    path = out / "hostile.xlsx"
    nefkit.render(results, path, options=RenderOptions(by="comment", min_cell=1), reg=registry())
    return path


@pytest.fixture(scope="module")
def libreoffice(phq_book, hostile_book, tmp_path_factory):
    """Both workbooks converted by LibreOffice in one run (it takes seconds to start)."""
    outdir = tmp_path_factory.mktemp("libreoffice")
    libreoffice_convert([phq_book[0], hostile_book], outdir)
    return outdir


# ---------------------------------------------------------------------------------------------
# The renderer as nefkit sees it


def test_the_renderer_is_found_by_extension_and_holds_several_instruments():
    renderer = registry().renderer_for(Path("report.XLSX"))
    assert isinstance(renderer, XlsxRenderer)
    assert (renderer.format, renderer.extensions, renderer.many) == ("xlsx", (".xlsx",), True)
    assert registry().renderer_for(Path("x"), "xlsx") is renderer


def test_finding_renderers_does_not_load_openpyxl_or_xlsxwriter():
    """`nefkit --help` and every other format stay fast: openpyxl loads only to read a
    workbook, XlsxWriter only to write one."""
    code = (
        "import sys, nefkit; from nefkit.cli import cli; nefkit.get_registry();"
        "print('openpyxl' in sys.modules or 'xlsxwriter' in sys.modules)"
    )
    env = {**os.environ, "NEFKIT_LOAD_PLUGINS": ""}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "False", done.stderr


# ---------------------------------------------------------------------------------------------
# The PHQ-9 demo workbook


def test_sheets_in_order(phq_book):
    book = load_workbook(phq_book[0])
    assert book.sheetnames == SHEETS


def test_scores_hold_the_csv_values_as_excel_values(phq_book):
    """Same rows and columns as the CSV output (plus the attention column), but numbers are
    numbers and dates are dates."""
    xlsx, csv_path = phq_book
    ws = load_workbook(xlsx)["Scores"]
    results = nefkit.score("phq-9", Path(str(DEMO / "phq-9.csv")), registry())
    assert header_of(ws) == ["attention", *score_columns(results)]
    expected = read_csv(csv_path)
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(expected) - 1 == 45
    for row, line in zip(rows, expected[1:]):
        shown = [
            "" if v is None else v.date().isoformat() if isinstance(v, dt.datetime) else str(v)
            for v in row[1:]
        ]
        assert shown == line
    first = records(ws)[0]
    assert isinstance(first["row"], int) and isinstance(first["total"], int)
    assert isinstance(first["session"], int)
    assert first["administered_at"] == dt.datetime(2026, 9, 7)
    assert first["severity"] == "Moderate" and first["case"] == "yes"


def test_header_frozen_filtered_styled_and_sized(phq_book):
    book = load_workbook(phq_book[0])
    ws = book["Scores"]
    assert ws.freeze_panes == "D2"  # header row, and attention, row and respondent_id columns
    assert ws.auto_filter.ref == "A1:Q46"
    assert all(cell.font.bold and cell.fill.fgColor.rgb.endswith("DDEBF7") for cell in ws[1])
    widths = column_widths(ws)
    assert len(widths) == 17 and all(6 <= w <= 61 for w in widths.values())
    assert widths["P"] == pytest.approx(60, abs=1)  # notes
    assert widths["J"] >= len("Moderately severe")  # severity: as wide as its longest band
    date_cell = ws["D2"]
    assert date_cell.number_format == "yyyy-mm-dd"
    for name in ("Responses", "Change", "Problems"):
        assert book[name].freeze_panes in ("A2", "C2", "D2")
        assert book[name].auto_filter.ref.startswith("A1:")


def test_every_sheet_prints_one_page_wide_tables_with_their_header(phq_book):
    book = load_workbook(phq_book[0])
    for ws in book.worksheets:
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (ws.page_setup.fitToWidth or 1, ws.page_setup.fitToHeight) == (1, 0), ws.title
        assert ws.HeaderFooter.oddHeader.left.text == "&A"  # the sheet's name on each page
        table = ws.title in ("Scores", "Responses", "Change", "Problems")
        assert ws.print_title_rows == ("$1:$1" if table else None), ws.title
    assert book["Scores"].page_setup.orientation == "landscape"  # 17 columns
    assert book["About"].page_setup.orientation in (None, "portrait")  # two columns


def test_a_raised_flag_says_so_in_words_not_only_colour(phq_book):
    ws = load_workbook(phq_book[0])["Scores"]
    flags = column_cells(ws, "flag_self_harm_thoughts")
    attention = column_cells(ws, "attention")
    raised = [i for i, cell in enumerate(flags) if cell.value == "yes"]
    assert raised, "the demo data raise the risk flag"
    for i in raised:
        assert flags[i].font.bold and flags[i].fill.fgColor.rgb.endswith("FFC7CE")
        assert attention[i].value == f"⚠ risk flag: {SELF_HARM}"  # in words, not an id
        assert attention[i].font.bold
    quiet = [i for i, cell in enumerate(flags) if cell.value == "no"]
    assert quiet and all(not flags[i].font.bold for i in quiet)
    assert all("flag" not in (attention[i].value or "") for i in quiet)


PHQ_HEADER = "respondent_id,session,administered_at," + ",".join(PHQ_ITEMS)


def phq_client(tmp_path: Path, *rows: str) -> Path:
    """Client X1's PHQ-9 rows scored into a workbook."""
    data = tmp_path / "phq.csv"
    data.write_text("\n".join([PHQ_HEADER, *rows]) + "\n", encoding="utf-8")
    results = nefkit.score("phq-9", data, registry())
    path = tmp_path / "x1.xlsx"
    nefkit.render(results, path, options=RenderOptions(respondent="X1"), reg=registry())
    return path


def test_a_flag_that_could_not_be_checked_is_marked_unknown_never_clear(tmp_path):
    book = load_workbook(
        phq_client(
            tmp_path, "X1,1,2026-10-01,1,1,1,1,1,1,1,1,0,1", "X1,2,2026-10-02,1,1,1,1,1,1,1,1,,1"
        )
    )
    ws = book["Scores"]
    clear, blank = column_cells(ws, "flag_self_harm_thoughts")
    attention = column_cells(ws, "attention")
    assert clear.value == "no" and not clear.font.bold
    assert blank.value == "unknown" and blank.font.bold  # amber, and in words
    assert blank.fill.fgColor.rgb.endswith("FFEB9C")
    assert f"risk flag could not be checked: {SELF_HARM}" in attention[1].value
    [flag] = blocks(book["Summary"])["Flags"]
    assert (flag["raised"], flag["could not be checked"]) == (0, 1)


def test_an_invalid_rows_flags_are_marked_when_they_were_evaluated(tmp_path):
    path = phq_client(
        tmp_path,
        "X1,1,01/10/2026,1,1,1,1,1,1,1,1,2,1",  # a mistyped date: invalid, item 9 = 2
    )
    ws = load_workbook(path)["Scores"]
    [flag] = column_cells(ws, "flag_self_harm_thoughts")
    [attention] = column_cells(ws, "attention")
    assert flag.value == "yes" and flag.fill.fgColor.rgb.endswith("FFC7CE")
    assert attention.value.startswith("⚠ invalid: administered_at")
    assert f"risk flag: {SELF_HARM}" in attention.value


def test_responses_are_the_cells_as_received(phq_book):
    ws = load_workbook(phq_book[0])["Responses"]
    assert header_of(ws) == [
        "attention",
        "row",
        "respondent_id",
        "session",
        "administered_at",
        *PHQ_ITEMS,
    ]
    lines = read_csv(Path(str(DEMO / "phq-9.csv")))
    header = lines[0]
    for number, (got, line) in enumerate(zip(records(ws), lines[1:]), 2):
        raw = dict(zip(header, line))
        assert got["row"] == number
        assert got["respondent_id"] == raw["respondent_id"]
        assert got["session"] == int(raw["session"])
        assert got["administered_at"] == dt.datetime.fromisoformat(raw["administered_at"])
        # From a CSV every answer is text, exactly as typed; a blank stays blank.
        assert [got[i] for i in PHQ_ITEMS] == [raw[i] or None for i in PHQ_ITEMS]


def test_change_sheet_one_row_per_change_deterioration_marked(phq_book):
    ws = load_workbook(phq_book[0])["Change"]
    results = nefkit.score("phq-9", Path(str(DEMO / "phq-9.csv")), registry())
    list(results.rows)
    assert header_of(ws) == ["attention", *change_columns()]
    rows = records(ws)
    assert len(rows) == len(results.changes) == 44
    for row, change in zip(rows, results.changes):
        assert (row["respondent_id"], row["from_row"], row["to_row"]) == (
            change.respondent_id,
            change.from_row,
            change.to_row,
        )
        assert (row["before"], row["after"], row["difference"]) == (
            change.before,
            change.after,
            change.difference,
        )
        assert row["classification"] == change.classification
        dates = (
            dt.datetime.combine(change.from_date, dt.time()),
            dt.datetime.combine(change.to_date, dt.time()),
        )
        assert (row["from_date"], row["to_date"]) == dates
        worse = change.classification == "reliably deteriorated"
        assert row["attention"] == ("⚠ reliably deteriorated" if worse else None)
    assert any(r["classification"] == "reliably deteriorated" for r in rows)


def test_no_problems_is_said(phq_book):
    ws = load_workbook(phq_book[0])["Problems"]
    assert list(ws.iter_rows(values_only=True)) == [
        ("row", "column", "value", "reason"),
        ("No problems: every row was read.", None, None, None),
    ]


def test_codebook_has_every_table(phq_book):
    tables = blocks(load_workbook(phq_book[0])["Codebook"])
    assert list(tables) == ["Items", "Scores", "Flags", "Changes"]
    items = {row["column"]: row for row in tables["Items"]}
    assert list(items) == PHQ_ITEMS
    assert items["phq9_9"]["question"].startswith("Thoughts that you would be better off dead")
    assert items["phq9_1"]["answers"].startswith("0 = Not at all; 1 = Several days")
    scores = {row["score"]: row for row in tables["Scores"]}
    assert scores["total"]["missing answers"] == (
        "every applicable answer is needed; otherwise not scorable"
    )
    assert tables["Flags"][0]["flag"] == "self_harm_thoughts"
    assert tables["Changes"][0]["rule"] == "reliable_change"


def test_about_says_where_every_number_came_from(phq_book):
    pairs = about(load_workbook(phq_book[0])["About"])
    instrument = registry().instrument("phq-9")
    assert pairs["instrument"] == ["phq-9"]
    assert pairs["content hash"] == [instrument.content_hash]
    assert pairs["version"] == [instrument.version]
    assert pairs["citation"] == [instrument.citation]
    assert pairs["licence"] == [instrument.licence]
    assert pairs["note"] == instrument.notes
    assert pairs["nefkit version"] == [nefkit.__version__]
    assert pairs["rule sum"][0].startswith("nefkit")
    assert pairs["input file"][0].endswith("phq-9.csv")
    generated = pairs["generated at (UTC)"][0]
    assert isinstance(generated, dt.datetime)
    assert abs(dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - generated) < dt.timedelta(
        hours=1
    )
    assert pairs["Scores"] == ["45 rows"] and pairs["Problems"] == ["no problems"]
    values = [
        v for row in load_workbook(phq_book[0])["About"].iter_rows(values_only=True) for v in row
    ]
    assert "Respondent ids are pseudonyms chosen by the clinic; nefkit stores no names." in values


def test_summary_figures_match_the_scores_sheet(phq_book):
    book = load_workbook(phq_book[0])
    tables = blocks(book["Summary"])
    scores = records(book["Scores"])
    totals = [r["total"] for r in scores if r["total"] is not None]
    total = next(r for r in tables["Scores"] if r["score"] == "total")
    assert (total["scored"], total["not scorable"]) == (44, 1)
    assert total["mean"] == pytest.approx(statistics.mean(totals))
    assert total["SD"] == pytest.approx(statistics.stdev(totals))
    bands = [
        (r["category"], r["administrations"])
        for r in tables["Score categories (bands, caseness)"]
        if r["score"] == "severity"
    ]
    assert [b for b, _ in bands] == ["Minimal", "Mild", "Moderate", "Moderately severe", "Severe"]
    assert dict(bands) == {b: sum(r["severity"] == b for r in scores) for b, _ in bands}
    items = {r["item"]: r for r in tables["Items"]}
    assert (items["phq9_4"]["answered"], items["phq9_4"]["missing"]) == (44, 1)
    assert items["phq9_4"]["missing %"] == pytest.approx(100 / 45)
    answers = [int(r["phq9_1"]) for r in records(book["Responses"])]
    assert [items["phq9_1"][f"code {c}"] for c in range(4)] == [answers.count(c) for c in range(4)]
    assert items["phq9_1"]["mean"] == pytest.approx(statistics.mean(answers))
    changes = [r for r in records(book["Change"]) if r["comparison"] == "baseline to latest"]
    summary = {
        r["classification"]: r["respondents"]
        for r in tables["Change from baseline to latest administration"]
    }
    assert summary == {c: sum(r["classification"] == c for r in changes) for c in summary}
    assert sum(summary.values()) == len(changes) == 12
    flag = tables["Flags"][0]
    assert flag["raised"] == sum(r["flag_self_harm_thoughts"] == "yes" for r in scores)


def test_summary_number_formats(phq_book):
    ws = load_workbook(phq_book[0])["Summary"]
    formats = {
        cell.number_format
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, float)
    }
    assert formats == {"0.00", "0.0"}


# ---------------------------------------------------------------------------------------------
# Problems, invalid rows, not scorable


MESSY = """respondent_id,session,administered_at,therapist,phq9_1,phq9_2,phq9_3,phq9_4,phq9_5,phq9_6,phq9_7,phq9_8,phq9_9,phq9_10
a,1,2026-01-05,T1,1,1,1,1,1,1,1,1,0,1
a,2,2026-01-12,T1,4,1,1,1,1,1,1,1,0,1
b,1,2026-01-05,T2,1,1,1,1,,1,1,1,0,1
b,x,2026-01-12,T2,1,1,1,1,1,1,1,1,0,=1+1
"""


@pytest.fixture
def messy(tmp_path):
    data = tmp_path / "messy.csv"
    data.write_text(MESSY, encoding="utf-8")
    results = nefkit.score("phq-9", data, registry())
    nefkit.render(results, tmp_path / "messy.xlsx", reg=registry())
    return load_workbook(tmp_path / "messy.xlsx"), results


def test_every_problem_is_listed(messy):
    book, results = messy
    rows = list(book["Problems"].iter_rows(min_row=2, values_only=True))
    assert rows == [
        (p.row, p.column or None, p.value, p.reason)
        for p in sorted(results.problems, key=lambda p: p.row)
    ]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (3, "phq9_1", "4"),
        (5, "phq9_10", "=1+1"),
        (5, "session", "x"),
    ]


def test_invalid_and_not_scorable_rows_are_marked_in_words(messy):
    book, _ = messy
    ws = book["Scores"]
    rows = records(ws)
    assert [r["attention"] for r in rows] == [
        None,
        "⚠ invalid: phq9_1",
        "⚠ not scorable: total, severity, case",
        "⚠ invalid: phq9_10, session",
    ]
    status = column_cells(ws, "row_status")
    assert [c.value for c in status] == ["scored", "invalid", "scored", "invalid"]
    assert status[1].font.bold and not status[0].font.bold
    total_status = column_cells(ws, "total_status")
    assert total_status[2].value == "not scorable" and total_status[2].font.bold
    responses = book["Responses"]
    marks = [c.value for c in column_cells(responses, "attention")]
    assert marks == [None, "⚠ invalid: phq9_1", None, "⚠ invalid: phq9_10, session"]
    bad = column_cells(responses, "phq9_1")[1]
    assert bad.value == "4" and bad.font.bold  # the cell as received, marked
    assert column_cells(responses, "session")[3].value == "x"


def test_a_risk_is_marked_on_an_invalid_row_and_an_unknown_one_said(tmp_path):
    """A bad session cell leaves row 2 unscored, not its risk; item 9 blank on row 3."""
    items = ",".join(f"phq9_{k}" for k in range(1, 11))
    data = tmp_path / "risk.csv"
    data.write_text(
        f"respondent_id,session,{items}\nc,x,1,1,1,1,1,1,1,1,2,1\nd,1,1,1,1,1,1,1,1,1,,1\n",
        encoding="utf-8",
    )
    nefkit.render(nefkit.score("phq-9", data, registry()), tmp_path / "r.xlsx", reg=registry())
    ws = load_workbook(tmp_path / "r.xlsx")["Scores"]
    assert [r["attention"] for r in records(ws)] == [
        f"⚠ invalid: session; risk flag: {SELF_HARM}",
        f"⚠ risk flag could not be checked: {SELF_HARM}; not scorable: total, severity, case",
    ]
    raised, unknown = column_cells(ws, "flag_self_harm_thoughts")
    assert (raised.value, unknown.value) == ("yes", "unknown")
    assert raised.font.bold and unknown.font.bold


# ---------------------------------------------------------------------------------------------
# Text never becomes a formula


def test_hostile_text_stays_text_for_openpyxl(hostile_book):
    book = load_workbook(hostile_book)
    for sheet, column in (("Scores", "comment"), ("Responses", "other")):
        cells = column_cells(book[sheet], column)[: len(HOSTILE)]
        assert [c.value for c in cells] == SHOWN
        assert all(c.data_type == "s" for c in cells)
        assert [c.quotePrefix for c in cells] == [t.startswith(RISKY_START) for t in HOSTILE]
    problems = records(book["Problems"])
    assert problems[0]["value"] == "=1+1"
    groups = [r["comment"] for r in blocks(book["Summary"])["Administrations"]]
    assert set(SHOWN) <= set(groups)  # --by comment: the groups are named by hostile text
    for xml in sheet_xml(hostile_book):
        assert "<f>" not in xml and 't="e"' not in xml  # no formula, no error cell anywhere


def test_hostile_text_stays_text_for_libreoffice(libreoffice):
    for sheet, column in (("Scores", "comment"), ("Responses", "other")):
        header, *rows = read_csv(libreoffice / f"hostile-{sheet}.csv")
        shown = [row[header.index(column)] for row in rows[: len(HOSTILE)]]
        assert shown == SHOWN  # "=1+2", not 3; the HYPERLINK's text, not "click"
    header, *rows = read_csv(libreoffice / "hostile-Problems.csv")
    assert rows[0][header.index("value")] == "=1+1"


# ---------------------------------------------------------------------------------------------
# LibreOffice opens the workbook and shows what openpyxl reads


def test_libreoffice_shows_the_scores_openpyxl_reads(phq_book, libreoffice):
    assert sorted(p.name for p in libreoffice.glob("scores-*.csv")) == sorted(
        f"scores-{name}.csv" for name in SHEETS
    )
    ws = load_workbook(phq_book[0])["Scores"]
    expected = [
        [
            "" if v is None else v.strftime("%Y-%m-%d") if isinstance(v, dt.datetime) else str(v)
            for v in row
        ]
        for row in ws.iter_rows(values_only=True)
    ]
    assert read_csv(libreoffice / "scores-Scores.csv") == expected


def test_libreoffice_shows_summary_means_as_formatted(libreoffice):
    lines = read_csv(libreoffice / "scores-Summary.csv")
    header = next(line for line in lines if line[:2] == ["score", "label"])
    total = next(line for line in lines if line[:2] == ["total", "PHQ-9 total"])
    mean = total[header.index("mean")]
    assert mean.count(".") == 1 and len(mean.split(".")[1]) == 2  # "0.00"


# ---------------------------------------------------------------------------------------------
# NEQ-20: free text and the negative-effects table


def test_neq20_demo_effects_table_and_free_text(tmp_path):
    data = Path(str(DEMO / "neq-20.csv"))
    out = tmp_path / "neq.xlsx"
    result = score_cli("neq-20", data, "-o", out)
    assert result.exit_code == 0, result.output
    book = load_workbook(out)
    assert book.sheetnames == [s for s in SHEETS if s != "Change"]  # NEQ-20 defines no change
    lines = read_csv(data)
    raw = [dict(zip(lines[0], line)) for line in lines[1:]]
    responses = records(book["Responses"])
    assert [r["other"] for r in responses] == [r["other"] or None for r in raw]
    assert any(r["other"] for r in responses)

    effects = {r["item"]: r for r in blocks(book["Summary"])["Negative effects"]}
    assert list(effects) == NEQ_ITEMS
    for item in NEQ_ITEMS:
        yes = [r for r in raw if r[item] == "Yes"]
        impacts = [int(r[f"{item}_impact"]) for r in yes]
        row = effects[item]
        assert row["answered"] == len(raw)
        assert row["experienced"] == len(yes)
        assert row["experienced %"] == pytest.approx(100 * len(yes) / len(raw))
        treatment = sum(r[f"{item}_cause"] == "1" for r in yes)
        assert row["attributed to treatment"] == treatment
        assert row["attributed to treatment %"] == pytest.approx(100 * treatment / len(raw))
        assert row["impact n"] == len(impacts)
        if impacts:
            assert row["impact mean"] == pytest.approx(statistics.mean(impacts))
        if len(impacts) > 1:
            assert row["impact SD"] == pytest.approx(statistics.stdev(impacts))
    assert effects["neq01"]["experienced"] == 6  # by hand from the demo file

    scores = records(book["Scores"])
    assert [r["effects"] for r in scores] == [sum(r[i] == "Yes" for i in NEQ_ITEMS) for r in raw]
    flags = {r["Scores column"]: r for r in blocks(book["Summary"])["Flags"]}
    flag = flags["flag_effects_from_treatment"]
    assert flag["flag"] == registry().instrument("neq-20").flags[1].label  # in words
    assert flag["raised"] == sum(r["flag_effects_from_treatment"] == "yes" for r in scores)


# ---------------------------------------------------------------------------------------------
# Several instruments, breakdowns, one respondent


def test_several_instruments_share_one_workbook(tmp_path):
    out = tmp_path / "clinic.xlsx"
    batch = [
        nefkit.score(i, Path(str(DEMO / f"{i}.csv")), registry())
        for i in ("phq-9", "gad-7", "neq-20")
    ]
    nefkit.render(batch, out, reg=registry())
    book = load_workbook(out)
    expected = [f"phq-9 {s}" for s in SHEETS] + [f"gad-7 {s}" for s in SHEETS]
    expected += [f"neq-20 {s}" for s in SHEETS if s != "Change"]
    assert book.sheetnames == expected
    assert about(book["gad-7 About"])["content hash"] == [
        registry().instrument("gad-7").content_hash
    ]
    assert len(records(book["gad-7 Scores"])) == 45
    assert "gad7_1" in header_of(book["gad-7 Responses"])


def test_sheet_titles_fit_excel():
    long_id = "a-very-long-instrument-id-for-a-local-study-2026"
    taken: set[str] = set()
    first = sheet_title("Responses", long_id, 2, taken)
    second = sheet_title("Responses", long_id + "-b", 2, taken)
    assert len(first) <= 31 and len(second) <= 31
    assert first.endswith("Responses (2)") and first.startswith("a-very-long")
    assert first != second  # the same shortened prefix: the second gets a number
    assert sheet_title("Sco[re]s: a/b?*", taken=set()) == "Sco_re_s_ a_b__"


def test_breakdown_by_a_context_column_hides_small_groups(tmp_path):
    data = Path(str(DEMO / "phq-9.csv"))
    lines = read_csv(data)
    header = lines[0]
    clients = {}
    for line in lines[1:]:
        row = dict(zip(header, line))
        clients.setdefault(row["format"], set()).add(row["respondent_id"])
    assert {k: len(v) for k, v in clients.items()} == {"individual": 4, "group": 4, "internet": 4}

    def summary(min_cell):
        results = nefkit.score("phq-9", data, registry())
        out = tmp_path / f"by-{min_cell}.xlsx"
        options = RenderOptions(by="format", min_cell=min_cell)
        nefkit.render(results, out, options=options, reg=registry())
        ws = load_workbook(out)["Summary"]
        notes = [
            r[0]
            for r in ws.iter_rows(values_only=True)
            if r[0] and str(r[0]).startswith("Broken down")
        ]
        return blocks(ws), notes

    tables, notes = summary(4)
    assert notes == [
        "Broken down by format, each respondent in the group of their first administration: "
        "3 groups shown; 0 groups hidden because they had fewer than 4 respondents."
    ]
    groups = {
        r["format"]: (r["administrations"], r["respondents"]) for r in tables["Administrations"]
    }
    assert groups == {"all": (45, 12), "group": (15, 4), "individual": (15, 4), "internet": (15, 4)}
    tables, notes = summary(5)
    assert "0 groups shown; 3 groups hidden because they had fewer than 5 respondents." in notes[0]
    assert [r["format"] for r in tables["Administrations"]] == ["all"]


def test_one_respondent(tmp_path):
    results = nefkit.score("phq-9", Path(str(DEMO / "phq-9.csv")), registry())
    out = tmp_path / "c001.xlsx"
    nefkit.render(results, out, options=RenderOptions(respondent="C001"), reg=registry())
    book = load_workbook(out)
    assert {r["respondent_id"] for r in records(book["Scores"])} == {"C001"}
    assert {r["respondent_id"] for r in records(book["Change"])} == {"C001"}
    assert about(book["About"])["respondent"] == ["only C001's administrations"]


# ---------------------------------------------------------------------------------------------
# Large results, odd values, unwritable paths


def test_rows_beyond_a_sheet_continue_on_the_next(tmp_path, monkeypatch):
    monkeypatch.setattr(excel_workbook, "MAX_ROWS", 4)  # a header and three rows a sheet
    results = nefkit.score("phq-9", Path(str(DEMO / "phq-9.csv")), registry())
    out = tmp_path / "split.xlsx"
    nefkit.render(results, out, reg=registry())
    book = load_workbook(out)
    scores = ["Scores"] + [f"Scores ({n})" for n in range(2, 16)]  # 45 rows, 3 a sheet
    assert book.sheetnames[:15] == scores
    assert book.sheetnames[15:17] == ["Responses", "Responses (2)"]
    rows = []
    for name in scores:
        ws = book[name]
        assert header_of(ws)[:3] == ["attention", "row", "respondent_id"]
        assert ws.freeze_panes == "D2"
        part = records(ws)
        assert len(part) == 3 and ws.auto_filter.ref == "A1:Q4"
        assert ws.print_title_rows == "$1:$1"  # each part's own header on each printed page
        rows += [r["row"] for r in part]
    assert rows == list(range(2, 47))  # every input row, in order, none twice
    change_parts = [n for n in book.sheetnames if n.startswith("Change")]
    assert sum(len(records(book[n])) for n in change_parts) == 44
    pairs = about(book["About"])
    assert pairs["Scores"] == ["rows 1 to 3 of 45"] and pairs["Scores (15)"] == [
        "rows 43 to 45 of 45"
    ]


def test_dates_show_as_dates_and_times_only_where_there_is_one(tmp_path):
    """A spreadsheet stores a date as a date-time at midnight (so the XLSX reader gives one):
    shown without 00:00. A time of day that was given is shown."""
    source = Workbook()
    source.active.append(["respondent_id", "session", "administered_at", *PHQ_ITEMS])
    source.active.append(["a", 1, dt.datetime(2026, 3, 1), *[1] * 10])
    source.active.append(["a", 2, dt.datetime(2026, 3, 8, 14, 30), *[1] * 10])
    source.save(tmp_path / "in.xlsx")
    results = nefkit.score("phq-9", tmp_path / "in.xlsx", registry())
    nefkit.render(results, tmp_path / "out.xlsx", reg=registry())
    book = load_workbook(tmp_path / "out.xlsx")
    midnight, afternoon = column_cells(book["Scores"], "administered_at")
    assert (midnight.value, midnight.number_format) == (dt.datetime(2026, 3, 1), "yyyy-mm-dd")
    assert afternoon.number_format == "yyyy-mm-dd hh:mm"
    [change, _] = records(book["Change"])
    assert change["from_date"] == dt.datetime(2026, 3, 1)
    assert column_cells(book["Change"], "from_date")[0].number_format == "yyyy-mm-dd"


def test_odd_values_are_kept_visible(tmp_path):
    long_text = "x" * (MAX_CELL_TEXT + 100)
    data = tmp_path / "odd.csv"
    with open(data, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["respondent_id", "administered_at", "comment", *PHQ_ITEMS[:9]])
        writer.writerow(["a", "2026-03-01T14:30:00+01:00", long_text, *["0"] * 9])
        writer.writerow(["b", "2026-03-01T14:30", "bell\x07here", *["0"] * 9])
    results = nefkit.score("phq-9", data, registry())
    nefkit.render(results, tmp_path / "odd.xlsx", reg=registry())
    rows = records(load_workbook(tmp_path / "odd.xlsx")["Scores"])
    # Excel has no time zones: an offset is kept as written, as text; a plain time is a date.
    assert rows[0]["administered_at"] == "2026-03-01T14:30:00+01:00"
    assert rows[1]["administered_at"] == dt.datetime(2026, 3, 1, 14, 30)
    # Text beyond Excel's limit is cut with a note saying how much is missing.
    cut = rows[0]["comment"]
    assert len(cut) == MAX_CELL_TEXT
    kept, note = cut.split(" … [")
    assert note.endswith(" more characters: Excel holds 32,767 in a cell]")
    assert set(kept) == {"x"} and len(kept) + int(note.split()[0].replace(",", "")) == len(
        long_text
    )
    assert rows[1]["comment"] == "bell\ufffdhere"


def test_an_unwritable_output_is_an_error_before_any_work(tmp_path):
    results = nefkit.score("phq-9", Path(str(DEMO / "phq-9.csv")), registry())
    with pytest.raises(NefkitError, match="missing-dir does not exist"):
        nefkit.render(results, tmp_path / "missing-dir" / "out.xlsx", reg=registry())
    assert results.row_count == 0  # nothing was scored


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_a_file_that_breaks_halfway_leaves_no_workbook(tmp_path):
    """A line that is not UTF-8 after 5,000 good ones: the workbook has been started (rows are
    scored in chunks of 4,096) when reading fails. Its sheets' streams are closed, not left for
    the garbage collector to fail on later."""
    data = tmp_path / "broken.csv"
    good = "respondent_id," + ",".join(PHQ_ITEMS[:9]) + "\n"
    good += "".join(f"r{n}," + ",".join("0" * 9) + "\n" for n in range(5000))
    data.write_bytes(good.encode() + b"b,\xff," + b",".join([b"0"] * 8) + b"\n")
    out = tmp_path / "out.xlsx"
    result = score_cli("phq-9", data, "-o", out)
    assert result.exit_code == 1
    assert "is not UTF-8" in result.output
    assert not out.exists()  # no empty or half-written workbook to mistake for results


def test_text_xml_cannot_carry_still_makes_a_workbook_that_opens(tmp_path):
    items = ",".join(f"gad7_{i}" for i in range(1, 8))
    data = tmp_path / "odd.csv"
    data.write_text(
        f"respondent_id,site,{items}\nC1,north\ufffe\uffff\x07,0,0,0,0,0,0,0\n", encoding="utf-8"
    )
    nefkit.render(nefkit.score("gad-7", data), tmp_path / "odd.xlsx")
    sheet = load_workbook(tmp_path / "odd.xlsx", read_only=True)["Scores"]
    sites = [row for row in sheet.iter_rows(values_only=True)]
    assert any(cell == "north\ufffd\ufffd\ufffd" for row in sites for cell in row)


def test_a_corrupt_workbook_is_a_plain_error(tmp_path, nefkit_cli):
    import zipfile

    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types")
    result = nefkit_cli("score", "gad-7", path, "-o", tmp_path / "out.csv")
    assert result.exit_code == 1 and "cannot be opened as an Excel workbook" in result.output
