"""Excel workbooks (.xlsx) in. openpyxl is imported only when a workbook is actually read."""

from nefkit import hookimpl


@hookimpl
def register_readers(register):
    from .reader import XlsxReader

    register(XlsxReader())
