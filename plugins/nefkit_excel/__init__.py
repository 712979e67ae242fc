"""Excel workbooks (.xlsx) in and out, and Excel data-entry templates. openpyxl (which reads) and
XlsxWriter (which writes) are imported only when a workbook is actually read or written."""

from nefkit import hookimpl


@hookimpl
def register_readers(register):
    from .reader import XlsxReader

    register(XlsxReader())


@hookimpl
def register_renderers(register):
    from .renderer import XlsxRenderer

    register(XlsxRenderer())
