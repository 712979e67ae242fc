"""A link as a QR code to scan with a phone: SVG, from segno (pure Python, no dependencies)."""

from __future__ import annotations


def svg(link: str) -> str:
    import segno

    code = segno.make(link, error="m")
    return code.svg_inline(scale=4, title="QR code of the link", dark="#000", light="#fff")
