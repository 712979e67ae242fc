"""How nefkit's sheets print: on any paper (the printer's own size), one page wide, the header
row on every page, the sheet's name at the top of each page and its page number at the
bottom, so that a printed table is never cut into strips that must be laid side by side.

A row whose text wraps is given a height that holds it: LibreOffice does not size rows to their
wrapped text when it opens a workbook (it keeps the default height, and the text runs over the
rows below), so the height is worked out here from the text and the column's width.
"""

from __future__ import annotations

from functools import lru_cache

from xlsxwriter.worksheet import Worksheet

# Column widths (in characters of the default font, as set_column counts them) that a portrait
# page holds at full size; wider sheets print in landscape, and any sheet is scaled to fit.
PORTRAIT = 95
# The widest a column of prose (About sheets, notes) is made: with a column of keys beside it,
# it prints on a portrait page at full size.
PROSE = 72
# Points a line of the default font (11 pt) takes: Excel's default row height.
LINE = 15.0
# Characters of text a line holds per character of its column's width, erring short, so that
# no text is cut: LibreOffice's stand-in for Calibri (DejaVu Sans, where Calibri is missing)
# holds about 1.2 in prose, Calibri more; bold text is wider.
PER_WIDTH = 1.0
PER_WIDTH_BOLD = 0.9


def page_setup(ws: Worksheet, widths: list[float], header_rows: int = 0) -> None:
    """Landscape when ``widths`` add up to more than a portrait page holds; one page wide; the
    first ``header_rows`` rows repeated on each page (a table's header), with gridlines
    printed so that a row can be followed across."""
    if sum(widths) > PORTRAIT:
        ws.set_landscape()
    ws.fit_to_pages(1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.7)
    ws.set_header("&L&A", {"margin": 0.3})
    ws.set_footer("&RPage &P of &N", {"margin": 0.3})
    if header_rows:
        ws.repeat_rows(0, header_rows - 1)
        ws.hide_gridlines(0)


@lru_cache(maxsize=4096)  # the same notes recur row after row
def lines_needed(text: str, width: float, bold: bool = False) -> int:
    """The lines ``text`` takes wrapped at spaces in a column ``width`` characters wide (a word
    longer than a line is broken), counted generously."""
    per_line = max(1, int(width * (PER_WIDTH_BOLD if bold else PER_WIDTH)))
    total = 0
    for paragraph in text.split("\n"):
        count, used = 1, 0
        for word in paragraph.split(" "):
            need = used + 1 + len(word) if used else len(word)
            if need <= per_line:
                used = need
                continue
            if used:
                count += 1
            used = len(word)
            while used > per_line:
                count += 1
                used -= per_line
        total += count
    return total


def fit_row(ws: Worksheet, row: int, lines: int) -> None:
    """Give ``row`` the height of ``lines`` lines, if it needs more than one."""
    if lines > 1:
        ws.set_row(row, lines * LINE)
