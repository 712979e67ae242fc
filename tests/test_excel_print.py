"""The demo workbook on paper: LibreOffice prints it to PDF, and the PDF is read back with
poppler's tools as a reader would look at the pages: how many there are, whether each table is
whole across its page (not cut into strips laid side by side), whether any text runs over other
text, and whether a page is blank. Needs LibreOffice and poppler-utils (pdftotext, pdftoppm):
skipped without them, failed without them when NEFKIT_REQUIRE_EXTERNAL is set (as in CI).

Every page carries its sheet's name in its header (the workbook's page setup), which is how
pages are told apart here."""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from test_excel import external, libreoffice_convert

from nefkit.cli import cli

# The demo's sheets hold at most 45 rows of data each, and every sheet prints one page wide:
# none should need more than two pages down. Before the page setup the workbook printed on 145
# pages, each table cut into strips four pages wide.
PAGES_PER_SHEET = 2
# Sheets a person reads through, which must keep each row on one page across.
READ_THROUGH = ("Summary", "About", "Codebook")


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    """The demo workbook (as `nefkit demo` writes it) and LibreOffice's PDF of it."""
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(cli, ["demo", "-o", str(out / "demo")])
    assert result.exit_code == 0, result.output
    workbook = out / "demo" / "demo-clinic.xlsx"
    libreoffice_convert([workbook], out, "pdf")
    return workbook, out / "demo-clinic.pdf"


def pages(pdf: Path) -> list[str]:
    """Each page's text, in reading order."""
    done = subprocess.run(
        [external("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\f")[:-1]


def sheet_of(page: str) -> str:
    """The sheet a page belongs to: its header, the page's first line."""
    return page.strip().splitlines()[0].strip()


def words(pdf: Path, page: int) -> list[tuple[float, float, float, float, str]]:
    """(x0, y0, x1, y1, text) of every word on a page (numbered from 1)."""
    done = subprocess.run(
        [external("pdftotext"), "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    found = re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
        done.stdout,
    )
    return [(float(a), float(b), float(c), float(d), text) for a, b, c, d, text in found]


def overlapping(boxes: list[tuple[float, float, float, float, str]]) -> list[tuple[str, str]]:
    """Pairs of words drawn over each other: their boxes meet across, and down by more than a
    quarter of a line (the boxes of consecutive lines, ascent to descent, share a sliver
    of about a tenth). Found by a sweep down the page."""
    found = []
    boxes = sorted(boxes, key=lambda b: b[1])
    for i, (x0, y0, x1, y1, text) in enumerate(boxes):
        for u0, v0, u1, v1, other in boxes[i + 1 :]:
            if v0 >= y1:
                break
            shared = min(y1, v1) - max(y0, v0)
            if min(x1, u1) - max(x0, u0) > 0.5 and shared > 0.25 * min(y1 - y0, v1 - v0):
                found.append((text, other))
    return found


def test_the_demo_workbook_prints_on_a_sensible_number_of_pages(printed):
    workbook, pdf = printed
    sheets = load_workbook(workbook, read_only=True).sheetnames
    counted = Counter(sheet_of(page) for page in pages(pdf))
    assert set(counted) == set(sheets)  # every sheet printed, every page headed by its sheet
    assert all(n <= PAGES_PER_SHEET for n in counted.values()), counted
    assert sum(counted.values()) <= PAGES_PER_SHEET * len(sheets)


def test_sheets_read_through_keep_every_row_on_one_page(printed):
    """A sheet printed one page wide has each row's first and last cell on the same page; one
    cut into strips has them on different pages, and pages without the first column."""
    workbook, pdf = printed
    text = pages(pdf)
    book = load_workbook(workbook)
    checked = 0
    for title in book.sheetnames:
        if not title.endswith(READ_THROUGH):
            continue
        own = [" ".join(page.split()) for page in text if sheet_of(page) == title]
        for row in book[title].iter_rows(values_only=True):
            # Text only: a number prints as its format shows it.
            cells = [v for v in row if isinstance(v, str) and v.strip()]
            if len(cells) < 2:
                continue
            # First words only: a wrapped cell keeps its first word on its first line.
            first, last = cells[0].split()[0], cells[-1].split()[0]
            if len(first) < 4 or len(last) < 4:
                continue  # too common a word to place a row by
            assert any(first in page and last in page for page in own), (title, first, last)
            checked += 1
    assert checked > 100  # the check had rows to look at


def test_no_text_runs_over_other_text(printed):
    _, pdf = printed
    for number in range(1, len(pages(pdf)) + 1):
        assert overlapping(words(pdf, number)) == [], f"page {number}"


def test_a_page_rendered_is_not_blank(printed, tmp_path):
    """The first About page, which holds the longest wrapped text, as an image: a grey map in
    which some share of the page is ink."""
    _, pdf = printed
    number = next(n for n, page in enumerate(pages(pdf), 1) if sheet_of(page) == "phq-9 About")
    stem = tmp_path / "about"
    done = subprocess.run(
        [external("pdftoppm"), "-f", str(number), "-l", str(number), "-r", "50", "-gray"]
        + ["-singlefile", str(pdf), str(stem)],
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    width, height, pixels = read_pgm(stem.with_suffix(".pgm"))
    ink = sum(1 for p in pixels if p < 128) / (width * height)
    assert 0.005 < ink < 0.3, ink  # text on the page, not a blank or a black page


def read_pgm(path: Path) -> tuple[int, int, bytes]:
    """Width, height and grey levels of a binary PGM (P5), 8 bits a pixel."""
    data = path.read_bytes()
    magic, width, height, most, pixels = data.split(maxsplit=4)
    assert magic == b"P5" and int(most) == 255
    return int(width), int(height), pixels[: int(width) * int(height)]
