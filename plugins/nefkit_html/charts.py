"""Inline SVG charts, drawn as text so that a report needs no script and fetches nothing.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>``; the templates put a
data table beside each. Meaning never rests on colour alone: a reliable deterioration is a
triangle and an improvement a diamond, each with words beside it; published figures are hatched;
bands and lines are labelled. All text passes through :func:`markupsafe.escape`, because labels
come from instrument files and values from respondents.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from markupsafe import Markup, escape

from .facts import Band, number

INK = "#1f2933"
MUTED = "#52606d"
GRID = "#d3dae3"
LINE = "#1d4e89"
WORSE = "#b42318"
BETTER = "#116149"
BAND_TINTS = ("#f6f8fb", "#eaeff5", "#dee6ef", "#d2dce9", "#c6d3e3", "#bacadd")


@dataclass(frozen=True)
class Point:
    """One administration on a timeline; ``marks`` are (kind, words), kind "worse" or "better"."""

    x: float
    tick: str
    subtick: str
    value: Optional[float]
    marks: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Bar:
    """One effect: this cohort's percentage and published ones as (value, reference, verified)."""

    label: str
    percent: Optional[float]
    published: tuple[tuple[float, str, bool], ...] = ()


def _attrs(attrs: dict[str, object]) -> str:
    return "".join(f' {name.replace("_", "-")}="{escape(value)}"' for name, value in attrs.items())


def _text(x: float, y: float, text: str, size: float = 12, halo: bool = False, **attrs) -> str:
    if halo:  # a white outline keeps words readable where they cross lines and bands
        attrs |= {"paint_order": "stroke", "stroke": "#fff", "stroke_width": 3}
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}"{_attrs(attrs)}>{escape(text)}</text>'


def _ident(key: str) -> str:
    return "chart-" + re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")


def _svg(key: str, width: int, height: int, title: str, desc: str, body: Sequence[str]) -> Markup:
    ident = _ident(key)
    return Markup(
        f'<svg class="chart" id="{ident}" role="img" aria-labelledby="{ident}-title {ident}-desc" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _hatch(ident: str) -> str:
    return (
        f'<defs><pattern id="{ident}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{MUTED}" stroke-width="2.4"/></pattern></defs>'
    )


def _band_spans(bands: Sequence[Band], low: float, high: float) -> list[tuple[float, float]]:
    """Where each band's shading starts and ends: halfway between one band's top and the next
    one's bottom, so that a whole-number score sits inside its band, never on an edge."""
    spans = []
    for i, band in enumerate(bands):
        start = low if i == 0 else (bands[i - 1].high + band.low) / 2
        end = high if i == len(bands) - 1 else (band.high + bands[i + 1].low) / 2
        spans.append((start, end))
    return spans


def _tint(index: int) -> str:
    return BAND_TINTS[min(index, len(BAND_TINTS) - 1)]


def _marker(kind: str, x: float, y: float) -> str:
    if kind == "worse":  # a warning triangle
        return (
            f'<path d="M{x:.1f},{y - 9:.1f} L{x + 8:.1f},{y + 6:.1f} L{x - 8:.1f},{y + 6:.1f} Z" '
            f'fill="{WORSE}" stroke="#fff" stroke-width="1"/>'
        )
    if kind == "better":
        return (
            f'<path d="M{x:.1f},{y - 8:.1f} L{x + 8:.1f},{y:.1f} L{x:.1f},{y + 8:.1f} '
            f'L{x - 8:.1f},{y:.1f} Z" fill="#fff" stroke="{BETTER}" stroke-width="2.5"/>'
        )
    if kind == "threshold":
        return (
            f'<line x1="{x - 8:.1f}" y1="{y:.1f}" x2="{x + 8:.1f}" y2="{y:.1f}" stroke="{INK}" '
            f'stroke-width="1.5" stroke-dasharray="4 3"/>'
        )
    return (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#fff" stroke="{LINE}" stroke-width="2.5"/>'
    )


def _legend(x: float, y: float, entries: Sequence[tuple[str, str]]) -> str:
    parts = []
    for kind, words in entries:
        parts.append(_marker(kind, x + 8, y - 4) + _text(x + 20, y, words, 11.5, fill=INK))
        x += 36 + 6.2 * len(words)
    return "".join(parts)


def _case_line(threshold: float, integer: bool) -> float:
    """The caseness line sits between the last value that is not a case and the first that is."""
    return threshold - 0.5 if integer else threshold


def _range(band: Band) -> str:
    return f"{number(band.low)}–{number(band.high)}"


def timeline(
    key: str,
    title: str,
    desc: str,
    points: Sequence[Point],
    low: float,
    high: float,
    bands: Sequence[Band],
    threshold: Optional[float],
    integer: bool,
) -> Markup:
    """A score across administrations, over its shaded and labelled bands."""
    width, height = 720, 340
    left, right, top, bottom = 44, 560, 14, 256
    span = (high - low) or 1

    def y(value: float) -> float:
        return bottom - (value - low) / span * (bottom - top)

    first, last = min(p.x for p in points), max(p.x for p in points)

    def x(value: float) -> float:
        if first == last:
            return (left + right) / 2
        return left + 40 + (value - first) / (last - first) * (right - left - 80)

    body = []
    for i, (band, (start, end)) in enumerate(zip(bands, _band_spans(bands, low, high))):
        middle = (y(start) + y(end)) / 2
        body.append(
            f'<rect x="{left}" y="{y(end):.1f}" width="{right - left}" '
            f'height="{y(start) - y(end):.1f}" fill="{_tint(i)}"/>'
        )
        body.append(_text(right + 10, middle + 1, band.label, 12, fill=INK))
        body.append(_text(right + 10, middle + 14, _range(band), 10.5, fill=MUTED))
    ticks = sorted({low, *(b.low for b in bands), high}) if bands else [low, high]
    for tick in ticks:
        body.append(_text(left - 8, y(tick) + 4, number(tick), 11, fill=MUTED, text_anchor="end"))
    body.append(
        f'<path d="M{left},{top} V{bottom} H{right}" fill="none" stroke="{MUTED}" stroke-width="1"/>'
    )
    legend = [("score", "Score")]
    if threshold is not None:
        line = y(_case_line(threshold, integer))
        body.append(
            f'<line x1="{left}" y1="{line:.1f}" x2="{right}" y2="{line:.1f}" stroke="{INK}" '
            f'stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        body.append(
            _text(
                left + 6,
                line - 6,
                f"Caseness: {number(threshold)} or more",
                11,
                halo=True,
                fill=INK,
            )
        )
        legend.append(("threshold", "Caseness threshold"))
    segment: list[str] = []
    for p in [*points, None]:
        if p is not None and p.value is not None:
            segment.append(f"{x(p.x):.1f},{y(p.value):.1f}")
            continue
        if len(segment) > 1:  # a blank score breaks the line rather than being bridged
            body.append(
                f'<polyline points="{" ".join(segment)}" fill="none" stroke="{LINE}" '
                f'stroke-width="2.5" stroke-linejoin="round"/>'
            )
        segment = []
    kinds: list[str] = []
    for p in points:
        px = x(p.x)
        body.append(_text(px, bottom + 20, p.tick, 12, fill=INK, text_anchor="middle"))
        body.append(_text(px, bottom + 35, p.subtick, 10.5, fill=MUTED, text_anchor="middle"))
        if p.value is None:
            body.append(
                _text(px, bottom - 10, "not scorable", 11, fill=MUTED, text_anchor="middle")
            )
            continue
        py = y(p.value)
        marked = [kind for kind, _ in p.marks]
        kind = "worse" if "worse" in marked else "better" if "better" in marked else "score"
        kinds += [k for k in marked if k not in kinds]
        body.append(_marker(kind, px, py))
        body.append(
            _text(
                px,
                py - 14,
                number(p.value),
                13,
                halo=True,
                fill=INK,
                font_weight=700,
                text_anchor="middle",
            )
        )
        anchor = "start" if px < left + 90 else "end" if px > right - 90 else "middle"
        # Words go where the line is not: above a rise into the point, below a fall.
        above = kind == "worse" and py - 32 - 14 * len(p.marks) > top
        for line, (mark, words) in enumerate(p.marks):
            at = py - 32 - 14 * line if above else py + 26 + 14 * line
            body.append(
                _text(
                    px + {"start": -6, "end": 6}.get(anchor, 0),
                    at,
                    words,
                    11.5,
                    halo=True,
                    fill=WORSE if mark == "worse" else BETTER,
                    font_weight=600,
                    text_anchor=anchor,
                )
            )
    if "worse" in kinds:
        legend.append(("worse", "Reliable deterioration"))
    if "better" in kinds:
        legend.append(("better", "Reliable improvement"))
    body.append(_legend(left - 6, height - 12, legend))
    return _svg(key, width, height, title, desc, body)


def histogram(
    key: str,
    title: str,
    desc: str,
    bins: Sequence[tuple[float, float, int]],
    bands: Sequence[Band],
    threshold: Optional[float],
    integer: bool,
) -> Markup:
    """How many administrations had each value of a score, over its shaded, labelled bands.
    ``bins`` are (start, end, count) and cover the whole range of the score."""
    width, height = 720, 290
    left, right, top, bottom = 48, 704, 52, 248
    low, high = bins[0][0], bins[-1][1]
    tallest = max((count for _, _, count in bins), default=0) or 1

    def x(value: float) -> float:
        return left + (value - low) / ((high - low) or 1) * (right - left)

    def y(count: float) -> float:
        return bottom - count / tallest * (bottom - top - 14)

    body = []
    for i, (band, (start, end)) in enumerate(zip(bands, _band_spans(bands, low, high))):
        body.append(
            f'<rect x="{x(start):.1f}" y="{top - 40}" width="{x(end) - x(start):.1f}" '
            f'height="{bottom - top + 40}" fill="{_tint(i)}" stroke="#fff" stroke-width="2"/>'
        )
        lines = _wrap(band.label, x(end) - x(start) - 6)
        for n, words in enumerate(lines):
            body.append(
                _text(
                    (x(start) + x(end)) / 2,
                    top - 13 * (len(lines) - n) - 8,
                    words,
                    11,
                    fill=INK,
                    text_anchor="middle",
                )
            )
    for start, end, count in bins:
        if count:
            body.append(
                f'<rect x="{x(start) + 1.5:.1f}" y="{y(count):.1f}" '
                f'width="{max(x(end) - x(start) - 3, 1):.1f}" height="{bottom - y(count):.1f}" '
                f'fill="{LINE}"/>'
            )
            body.append(
                _text(
                    (x(start) + x(end)) / 2,
                    y(count) - 4,
                    str(count),
                    10.5,
                    fill=INK,
                    text_anchor="middle",
                )
            )
    body.append(
        f'<path d="M{left},{top - 40} V{bottom} H{right}" fill="none" stroke="{MUTED}"/>'
        + _text(left - 8, y(tallest) + 4, str(tallest), 11, fill=MUTED, text_anchor="end")
        + _text(left - 8, bottom + 4, "0", 11, fill=MUTED, text_anchor="end")
    )
    ends = [(bins[0][0] + bins[0][1]) / 2, (bins[-1][0] + bins[-1][1]) / 2]
    ticks = sorted({b.low for b in bands} | {bands[-1].high}) if bands else ends
    for tick in ticks:
        body.append(_text(x(tick), bottom + 18, number(tick), 11, fill=MUTED, text_anchor="middle"))
    if threshold is not None:
        at = x(_case_line(threshold, integer))
        body.append(
            f'<line x1="{at:.1f}" y1="{top - 10}" x2="{at:.1f}" y2="{bottom}" stroke="{INK}" '
            f'stroke-width="1.5" stroke-dasharray="6 4"/>'
            + _text(
                at + 5, top - 4, f"Caseness: {number(threshold)} or more", 11, halo=True, fill=INK
            )
        )
    body.append(_text(left, height - 6, "Bars: administrations with each score", 11, fill=MUTED))
    return _svg(key, width, height, title, desc, body)


def _wrap(words: str, room: float, size: float = 11) -> list[str]:
    """Band labels on one line when they fit the band, else on two (a rough width estimate:
    system fonts average about 0.56 em a character)."""
    if len(words) * size * 0.56 <= room or " " not in words:
        return [words]
    middle = len(words) // 2
    cut = min((i for i, c in enumerate(words) if c == " "), key=lambda i: abs(i - middle))
    return [words[:cut], words[cut + 1 :]]


def prevalence(key: str, title: str, desc: str, bars: Sequence[Bar]) -> Markup:
    """Per effect, this cohort's percentage experiencing it (solid) beside published ones
    (hatched), each with its number written out."""
    width, label_width = 720, 300
    left, right = label_width + 10, 650
    hatch = _ident(key) + "-hatch"
    row_heights = [16 + 12 * len(bar.published) + 10 for bar in bars]
    top = 44
    height = top + sum(row_heights) + 10

    def x(percent: float) -> float:
        return left + percent / 100 * (right - left)

    body = [_hatch(hatch)]
    body.append(
        f'<rect x="{left}" y="6" width="14" height="11" fill="{LINE}"/>'
        + _text(left + 20, 16, "This cohort", 11.5, fill=INK)
        + f'<rect x="{left + 110}" y="6" width="14" height="11" fill="url(#{hatch})" '
        f'stroke="{MUTED}"/>'
        + _text(left + 130, 16, "Published figure [reference]", 11.5, fill=INK)
    )
    for tick in (0, 25, 50, 75, 100):
        body.append(
            f'<line x1="{x(tick):.1f}" y1="{top - 8}" x2="{x(tick):.1f}" y2="{height - 10}" '
            f'stroke="{GRID}"/>'
            + _text(x(tick), top - 12, f"{tick}%", 10.5, fill=MUTED, text_anchor="middle")
        )
    y = top
    for bar, row_height in zip(bars, row_heights):
        body.append(
            _text(label_width, y + 11, _shorten(bar.label, 46), 11.5, fill=INK, text_anchor="end")
        )
        if bar.percent is not None:
            body.append(
                f'<rect x="{left}" y="{y:.1f}" width="{x(bar.percent) - left:.1f}" height="13" '
                f'fill="{LINE}"/>'
                + _text(
                    x(bar.percent) + 5, y + 11, f"{bar.percent:.0f}%", 11, fill=INK, font_weight=700
                )
            )
        for n, (value, reference, verified) in enumerate(bar.published):
            top_of = y + 17 + 12 * n
            words = f"{number(value)}% {reference}" + ("" if verified else " unverified")
            body.append(
                f'<rect x="{left}" y="{top_of:.1f}" width="{x(value) - left:.1f}" height="9" '
                f'fill="url(#{hatch})" stroke="{MUTED}" stroke-width="0.8"/>'
                + _text(x(value) + 5, top_of + 8.5, words, 10.5, fill=MUTED)
            )
        y += row_height
    return _svg(key, width, height, title, desc, body)


def _shorten(words: str, limit: int) -> str:
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def deterioration(
    key: str, title: str, desc: str, percent: float, low: float = 5, high: float = 10
) -> Markup:
    """This cohort's share reliably deteriorated, on a scale with the range the literature
    reports for routine care hatched."""
    width, height = 720, 104
    left, right, line = 20, 700, 56
    top_of_scale = max(25, math.ceil((percent + 5) / 5) * 5)

    def x(value: float) -> float:
        return left + value / top_of_scale * (right - left)

    hatch = _ident(key) + "-hatch"
    body = [
        _hatch(hatch),
        f'<rect x="{x(low):.1f}" y="{line - 26}" width="{x(high) - x(low):.1f}" height="26" '
        f'fill="url(#{hatch})" stroke="{MUTED}"/>',
        _text(
            (x(low) + x(high)) / 2,
            line - 34,
            f"Routine care: {number(low)}–{number(high)}%",
            11.5,
            fill=INK,
            text_anchor="middle",
        ),
        f'<line x1="{left}" y1="{line}" x2="{right}" y2="{line}" stroke="{MUTED}"/>',
    ]
    for tick in range(0, top_of_scale + 1, 5):
        body.append(
            f'<line x1="{x(tick):.1f}" y1="{line}" x2="{x(tick):.1f}" y2="{line + 5}" '
            f'stroke="{MUTED}"/>'
            + _text(x(tick), line + 18, f"{tick}%", 10.5, fill=MUTED, text_anchor="middle")
        )
    at = x(percent)
    anchor = "end" if at > right - 100 else "start" if at < left + 100 else "middle"
    body.append(
        _marker("worse", at, line - 4)
        + _text(
            at,
            line + 40,
            f"This cohort: {percent:.0f}%",
            12,
            halo=True,
            fill=WORSE,
            font_weight=700,
            text_anchor=anchor,
        )
    )
    return _svg(key, width, height, title, desc, body)
