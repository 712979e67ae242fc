"""How nefkit's sheets print: on any paper (the printer's own size), one page wide, the header
row on every page, the sheet's name at the top of each page and its page number at the
bottom, so that a printed table is never cut into strips that must be laid side by side.

Row heights are left to the program that prints: Excel and LibreOffice size a row to fit its
wrapped cells when the file gives no height.
"""

from __future__ import annotations

from xlsxwriter.worksheet import Worksheet

# Column widths (in characters of the default font, as set_column counts them) that a portrait
# page holds at full size; wider sheets print in landscape, and any sheet is scaled to fit.
PORTRAIT = 95


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
