"""The HTML reports on paper: every kind (client, cohort, analysis, codebook, information sheet)
printed by headless Chromium to PDF on A4 and on Letter, from the demo data made harder: one
client with the longest id nefkit accepts, every NEQ effect (the longest labels of the bundled
instruments) and free-text answers holding a very long unbroken word.

"No table is cut" is checked twice:
- in the layout, with print media emulated at the paper's printable width and every <details>
  opened (the most a reader can print): every table and chart ends inside that width and no
  element overflows sideways (Chromium would shrink such a page, or cut it);
- in the PDF (poppler): the page size asked for, a sensible number of pages, every word inside
  the printable area, the text of every table on screen there, and no heading left alone at
  the foot of a page.

Needs chromium, chromium-driver (the browser fixture of test_html_browser, with its skip rules)
and poppler-utils. PDFs go to NEFKIT_SCREENSHOT_DIR when it is set.
"""

from __future__ import annotations

import base64
import csv
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import test_html_browser as chromium  # its skip rules hold here too
from click.testing import CliRunner

import nefkit
from nefkit.cli import cli
from nefkit.renderers import RenderOptions

# The same headless Chromium, and the folder the PDFs go to.
browser, shots, DEMO = chromium.browser, chromium.shots, chromium.DEMO

POPPLER = ("pdfinfo", "pdftotext")
if not all(shutil.which(tool) for tool in POPPLER):
    if not os.environ.get("NEFKIT_REQUIRE_EXTERNAL"):
        pytest.skip("poppler-utils (pdfinfo, pdftotext) is not installed", allow_module_level=True)
    raise RuntimeError("NEFKIT_REQUIRE_EXTERNAL is set but poppler-utils is missing")

# Width and height in inches, as Page.printToPDF takes them.
PAPERS = {"A4": (210 / 25.4, 297 / 25.4), "Letter": (8.5, 11.0)}
CLIENT = "CLINIC-NORTH-2026-OUTPATIENT-PSYCHOTHERAPY-REFERRAL-000000000005"  # 64: the longest
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 4
# The most pages each report of the demo's size may take, on either paper: about a quarter more
# than it takes today, so a layout that breaks fails and a font's metrics do not; the sheet for
# clients fits one sheet of paper, printed on both sides.
MOST_PAGES = {
    "client": 9,
    "cohort": 14,  # 11 before #20 added a plot of first against latest score per change
    "analysis-phq-9": 8,
    "analysis-neq-20": 10,
    "analysis-therapy-reflection": 5,
    "codebook-phq-9": 5,
    "codebook-neq-32": 18,
    "codebook-therapy-reflection": 4,
    "info-sheet": 2,
}


def harder_demo(folder: Path) -> Path:
    """The demo data with C005 renamed to CLIENT, experiencing every NEQ effect (all flags
    raised), and long words in every free-text answer."""
    edits = {
        "neq-20.csv": lambda row: {
            **{
                key: {"": "Yes", "_impact": "4", "_cause": "1"}[key[5:]]
                for key in row
                if re.fullmatch(r"neq\d\d(_impact|_cause)?", key)
            },
            "other": f"After session two: {LONG_WORD}, and nobody asked.",
        },
        "therapy-reflection.csv": lambda row: {
            "unacknowledged_what": f"It started with {LONG_WORD}.",
            "group_why": LONG_WORD,
            "supports": "Family; Something else",
            "supports_other": f"My neighbour's {LONG_WORD}",
        },
    }
    for source in sorted(DEMO.glob("*.csv")):
        with source.open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        for row in rows:
            if row["respondent_id"] == "C005":
                row.update(respondent_id=CLIENT, **edits.get(source.name, lambda row: {})(row))
        with (folder / source.name).open("w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return folder


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    data = harder_demo(tmp_path_factory.mktemp("data"))
    out = tmp_path_factory.mktemp("reports")
    registry = nefkit.get_registry()

    def batch():
        return [
            nefkit.score(i, data / f"{i}.csv", registry)
            for i in ("phq-9", "gad-7", "neq-20", "therapy-reflection")
        ]

    made = {"client": out / "client.html", "cohort": out / "cohort.html"}
    nefkit.render(batch(), made["client"], options=RenderOptions(respondent=CLIENT), reg=registry)
    nefkit.render(batch(), made["cohort"], options=RenderOptions(by="format", min_cell=4))
    commands = {
        f"analysis-{i}": ("analyze", i, data / f"{i}.csv")
        for i in ("phq-9", "neq-20", "therapy-reflection")
    }
    commands |= {
        f"codebook-{i}": ("codebook", i) for i in ("phq-9", "neq-32", "therapy-reflection")
    }
    commands["info-sheet"] = ("info-sheet", "neq-32")
    for name, command in commands.items():
        made[name] = out / f"{name}.html"
        result = CliRunner().invoke(cli, [str(a) for a in (*command, "-o", made[name])])
        assert result.exit_code == 0, result.output
    return made


PAGE_BOX = """
// The printable box of one sheet of paper, in CSS px: the paper less the @page margins.
const [width, height] = arguments;
const margins = {top: '0px', right: '0px', bottom: '0px', left: '0px'};
for (const sheet of document.styleSheets)
  for (const rule of sheet.cssRules)
    if (rule instanceof CSSPageRule)
      for (const side in margins) margins[side] = rule.style['margin-' + side] || margins[side];
const probe = document.createElement('div');
document.body.append(probe);
const px = length => { probe.style.width = length; return probe.getBoundingClientRect().width; };
const box = {
  width: px(width) - px(margins.left) - px(margins.right),
  height: px(height) - px(margins.top) - px(margins.bottom),
  left: px(margins.left),
};
probe.remove();
return box;
"""

OVERFLOWS = """
// What sticks out of the printable width: tables, charts, and any element whose content is
// wider than its box (not inside a chart, whose words are laid out by SVG, not by CSS boxes:
// tests/test_chart_geometry.py and test_html_browser.py check those).
const width = arguments[0];
const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
  (typeof e.className === 'string' && e.className ? '.' + e.className.split(' ').join('.') : '');
const out = [];
for (const e of document.querySelectorAll('table, svg')) {
  const box = e.getBoundingClientRect();
  if (box.left < -0.5 || box.right > width + 0.5)
    out.push(`${name(e)} spans ${Math.round(box.left)} to ${Math.round(box.right)} px`);
}
for (const e of document.querySelectorAll('body, body *:not(svg *)'))
  if (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
    out.push(`${name(e)} holds ${e.scrollWidth} px in ${e.clientWidth} px`);
if (document.documentElement.scrollWidth > width + 0.5)
  out.push(`the page is ${document.documentElement.scrollWidth} px wide`);
return out;
"""

# The text of every table cell a reader sees on screen, and of every folded <details>' summary;
# the headings seen on paper.
CELLS = """return [...document.querySelectorAll('table th, table td')]
  .filter(c => c.checkVisibility()).map(c => c.innerText)"""
FOLDED = """return [...document.querySelectorAll('details:not([open]) > summary')]
  .map(s => s.innerText)"""
HEADINGS = """return [...document.querySelectorAll('h1, h2, h3')]
  .filter(h => h.checkVisibility()).map(h => h.innerText)"""


def in_print(browser, path: Path, paper: str, opened: bool = False) -> dict:
    """Open ``path`` as it lays out on ``paper``: print media, a window as wide as the
    printable width. Returns the printable box (CSS px)."""
    browser.get(path.as_uri())
    if opened:
        browser.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    width, height = PAPERS[paper]
    box = browser.execute_script(PAGE_BOX, f"{width}in", f"{height}in")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": math.floor(box["width"]), "height": math.floor(box["height"])}
        | {"deviceScaleFactor": 1, "mobile": False},
    )
    return box


def back_to_screen(browser) -> None:
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


def print_pdf(browser, path: Path, paper: str, target: Path) -> Path:
    """Print ``path`` as a reader would: default settings, the paper chosen."""
    browser.get(path.as_uri())
    width, height = PAPERS[paper]
    pdf = browser.execute_cdp_cmd("Page.printToPDF", {"paperWidth": width, "paperHeight": height})
    target.write_bytes(base64.b64decode(pdf["data"]))
    return target


def poppler(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def squeezed(text: str) -> str:
    """Text without whitespace, so a line broken anywhere still matches."""
    return re.sub(r"\s+", "", text)


PAPER_CASES = [pytest.param(r, p, id=f"{r}-{p}") for r in MOST_PAGES for p in PAPERS]


@pytest.mark.parametrize("report, paper", PAPER_CASES)
def test_every_table_and_chart_fits_the_printable_width(browser, reports, report, paper):
    box = in_print(browser, reports[report], paper, opened=True)
    try:
        assert browser.execute_script(OVERFLOWS, math.floor(box["width"])) == []
    finally:
        back_to_screen(browser)


@pytest.mark.parametrize("report, paper", PAPER_CASES)
def test_the_pdf_holds_every_table_uncut_on_the_paper_asked_for(
    browser, reports, shots, report, paper
):
    path = reports[report]
    browser.get(path.as_uri())
    cells = browser.execute_script(CELLS)
    folded = browser.execute_script(FOLDED)
    box = in_print(browser, path, paper)
    try:
        headings = browser.execute_script(HEADINGS)
        length = browser.execute_script("return document.documentElement.scrollHeight")
    finally:
        back_to_screen(browser)
    pdf = print_pdf(browser, path, paper, shots / f"{report}-{paper}.pdf")

    info = poppler("pdfinfo", str(pdf))
    width, height = (
        float(n) for n in re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups()
    )
    asked = [n * 72 for n in PAPERS[paper]]  # points
    assert abs(width - asked[0]) < 1 and abs(height - asked[1]) < 1, info
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    # Sensible: within the stated most, and little more than the content laid end to end
    # (keeping figures and rows whole may leave some space at the foot of a page).
    end_to_end = math.ceil(length / box["height"])
    assert pages <= MOST_PAGES[report]
    assert pages <= end_to_end * 1.25 + 1, (pages, end_to_end)

    # Every word inside the printable area (the margins: the @page rule's, in points).
    left, right = box["left"] * 0.75, width - box["left"] * 0.75
    words = re.findall(
        r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)"[^>]*>([^<]*)<',
        poppler("pdftotext", "-bbox", str(pdf), "-"),
    )
    assert words
    outside = [text for x0, x1, text in words if float(x0) < left - 1 or float(x1) > right + 1]
    assert outside == []

    # The text of every table cell on screen is in the PDF: nothing was cut off.
    text = poppler("pdftotext", "-raw", str(pdf), "-")
    printed = squeezed(text)
    missing = [cell for cell in cells if squeezed(cell) not in printed]
    assert missing == []
    assert CLIENT in printed or report != "client"
    # A folded <details> is something to click: paper has none of it, not even its summary.
    assert [summary for summary in folded if squeezed(summary) in printed] == []

    # No heading ends a page: each keeps with what follows it.
    for number, page in enumerate(text.split("\f")[:-2], start=1):
        ending = squeezed(page)
        assert not any(ending.endswith(squeezed(h)) for h in headings), (number, page[-200:])
