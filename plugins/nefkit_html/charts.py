"""Inline SVG charts, drawn as text so that a report needs no script and fetches nothing.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>``; the templates put a
data table beside each. Meaning never rests on colour alone: a reliable deterioration is a
triangle and an improvement a diamond, each with words beside it; published figures are hatched;
bands and lines are labelled. All text passes through :func:`markupsafe.escape`, because labels
come from instrument files and values from respondents.

No words are ever cut, and none cover a line, a mark or other words: long labels wrap, and
words near the data go where :class:`~.chart_labels.Layout` finds room (a point's words that
find none are written under the chart instead). The chart grows to hold what it must.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from markupsafe import Markup, escape

from .chart_labels import Box, Label, Layout, Line, around, label
from .facts import Band, number

INK = "#1f2933"
MUTED = "#52606d"
GRID = "#d3dae3"
LINE = "#1d4e89"
WORSE = "#b42318"
BETTER = "#116149"
# A dashed outline as well as a tint, so that it reads apart from the severity bands in grey.
EXPECTED_STYLE = (
    f'fill="{LINE}" fill-opacity="0.13" stroke="{LINE}" stroke-width="1" stroke-dasharray="3 3"'
)
BAND_TINTS = ("#f6f8fb", "#eaeff5", "#dee6ef", "#d2dce9", "#c6d3e3", "#bacadd")
WIDTH = 720
GUTTER = 150  # the widest a band's name runs beside a timeline before it wraps


@dataclass(frozen=True)
class Point:
    """One administration on a timeline; ``marks`` are (kind, words), kind "worse" or "better"."""

    x: float
    tick: str
    subtick: str
    value: Optional[float]
    marks: tuple[tuple[str, str], ...] = ()
    # (low, high) of the range expected here for clients who started alike (an expected course)
    expected: Optional[tuple[float, float]] = None


@dataclass(frozen=True)
class Bar:
    """One effect: this cohort's percentage and published ones as (value, reference, verified)."""

    label: str
    percent: Optional[float]
    published: tuple[tuple[float, str, bool], ...] = ()


def _ident(key: str) -> str:
    return "chart-" + re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-")


def _svg(key: str, height: float, title: str, desc: str, body: Sequence[str]) -> Markup:
    ident = _ident(key)
    return Markup(
        f'<svg class="chart" id="{ident}" role="img" aria-labelledby="{ident}-title {ident}-desc" '
        f'viewBox="0 0 {WIDTH} {math.ceil(height)}" xmlns="http://www.w3.org/2000/svg">'
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


def _marker(kind: str, x: float, y: float, hatch: str = "") -> str:
    """A mark centred on (x, y), never more than 9 pixels from it."""
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
    if kind == "band":  # the band of no reliable change
        return (
            f'<rect x="{x - 8:.1f}" y="{y - 6:.1f}" width="16" height="12" fill="{BAND_TINTS[2]}"/>'
        )
    if kind == "expected":  # the range expected for clients who started alike
        return f'<rect x="{x - 8:.1f}" y="{y - 6:.1f}" width="16" height="12" {EXPECTED_STYLE}/>'
    if kind == "diagonal":  # the line of no change
        return (
            f'<line x1="{x - 8:.1f}" y1="{y + 6:.1f}" x2="{x + 8:.1f}" y2="{y - 6:.1f}" '
            f'stroke="{MUTED}" stroke-width="1.5"/>'
        )
    if kind in ("bar", "published"):
        fill = f"url(#{hatch})" if kind == "published" else LINE
        return f'<rect x="{x - 7:.1f}" y="{y - 5.5:.1f}" width="14" height="11" fill="{fill}"' + (
            f' stroke="{MUTED}"/>' if kind == "published" else "/>"
        )
    return (
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#fff" stroke="{LINE}" stroke-width="2.5"/>'
    )


def _legend(
    left: float, top: float, entries: Sequence[tuple[str, str]], hatch: str = ""
) -> tuple[list[str], float]:
    """Each mark with its words, in rows that wrap at the chart's edge; and the rows' bottom."""
    parts, x, y, bottom = [], left, top, top
    for kind, words in entries:
        text = label(words, 11.5, INK, room=WIDTH - 30 - left)
        if x > left and x + 20 + text.width > WIDTH - 4:
            x, y = left, bottom + 6
        text = text.at(x + 20, y)
        parts += [_marker(kind, x + 8, y + text.height / 2, hatch), text.svg()]
        x, bottom = x + 38 + text.width, max(bottom, text.box().bottom)
    return parts, bottom


def _notes(entries: Sequence[tuple[str, str]], left: float, top: float) -> tuple[list[str], float]:
    """Lines of words under a chart, each after its mark if it has one; and their bottom."""
    parts = []
    for kind, words in entries:
        text = label(words, 11.5, INK, room=WIDTH - left - 24).at(left + 14, top)
        if kind:
            parts.append(_marker(kind, left + 2, top + 7))
        parts.append(text.svg())
        top = text.box().bottom + 6
    return parts, top


def _case_line(threshold: float, integer: bool) -> float:
    """The caseness line sits between the last value that is not a case and the first that is."""
    return threshold - 0.5 if integer else threshold


def _within(threshold: Optional[float], integer: bool, low: float, high: float) -> bool:
    """Whether there is a caseness line to draw: one at either end of the scale or beyond it
    would divide nothing."""
    return threshold is not None and low < _case_line(threshold, integer) < high


def _caseness(threshold: float) -> str:
    return f"Caseness: {number(threshold)} or more"


def _range(band: Band) -> str:
    return f"{number(band.low)}–{number(band.high)}"


def _stack(
    wanted: Sequence[float], heights: Sequence[float], low: float, high: float
) -> list[float]:
    """Tops for boxes of these heights, in this order down the page and 6 pixels apart, each
    as near its wanted top as the others allow, between ``low`` and ``high`` when they fit."""
    tops: list[float] = []
    for i, want in enumerate(wanted):
        tops.append(max(want, tops[-1] + heights[i - 1] + 6 if tops else low))
    limit = high
    for i in reversed(range(len(tops))):
        tops[i] = min(tops[i], limit - heights[i])
        limit = tops[i] - 6
    return tops


def _x_ticks(ticks: Sequence[Label], layout: Layout) -> list[Label]:
    """As many of the ticks as fit side by side, always the first and the last."""
    kept: list[Label] = []
    for tick in ticks:
        if not kept or not tick.box().grown(6).overlaps(kept[-1].box()):
            kept.append(tick)
    if ticks and kept[-1] is not ticks[-1]:
        while kept and ticks[-1].box().grown(6).overlaps(kept[-1].box()):
            kept.pop()
        kept.append(ticks[-1])
    for tick in kept:
        layout.take(tick.box())
    return kept


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
    expected_words: str = "",
) -> Markup:
    """A score across administrations, over its shaded and labelled bands, and the range
    expected at each (``Point.expected``, named ``expected_words`` in the legend) when known."""
    ticks = sorted({low, *(b.low for b in bands), high}) if bands else [low, high]
    tick_words = {tick: label(number(tick), 11, MUTED, anchor="end") for tick in ticks}
    names = [
        Label(
            0,
            0,
            label(band.label, 12, INK, room=GUTTER).lines + (Line(_range(band), 10.5, MUTED),),
        )
        for band in bands
    ]
    left = 20 + max(words.width for words in tick_words.values())
    right = WIDTH - 8 - (max((n.width for n in names), default=0) + 12 if bands else 0)
    top = 32  # room for a value above a mark at the top of the scale
    bottom = top + max(232, sum(n.height + 6 for n in names))
    span = (high - low) or 1
    layout = Layout()

    def y(value: float) -> float:
        return bottom - (value - low) / span * (bottom - top)

    first, last = min(p.x for p in points), max(p.x for p in points)

    def x(value: float) -> float:
        if first == last:
            return (left + right) / 2
        return left + 30 + (value - first) / (last - first) * (right - left - 60)

    body = []
    spans = _band_spans(bands, low, high)
    for i, (start, end) in enumerate(spans):
        body.append(
            f'<rect x="{left}" y="{y(end):.1f}" width="{right - left:.1f}" '
            f'height="{y(start) - y(end):.1f}" fill="{_tint(i)}"/>'
        )
    body += _band_key(names, [(y(a) + y(b)) / 2 for a, b in spans], right, bottom, layout)
    axis = [(left, top), (left, bottom), (right, bottom)]
    layout.line(axis)
    body.append(
        f'<path d="M{left:.1f},{top} V{bottom} H{right:.1f}" fill="none" stroke="{MUTED}" '
        f'stroke-width="1"/>'
    )
    whole = Box(0, 0, WIDTH, math.inf)
    for tick in sorted(ticks, key=lambda t: t not in (low, high)):  # the ends first
        placed = layout.place([tick_words[tick].moved(left - 8, y(tick) + 4)], whole)
        body += [placed.svg()] if placed else []
    legend = [("score", "Score")]
    expected = _expected_range(points, x, y)
    if expected:
        body += expected
        legend.append(("expected", expected_words))
    if _within(threshold, integer, low, high):
        line = y(_case_line(threshold, integer))
        layout.line([(left, line), (right, line)])
        body.append(
            f'<line x1="{left:.1f}" y1="{line:.1f}" x2="{right:.1f}" y2="{line:.1f}" '
            f'stroke="{INK}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        legend.append(("threshold", _caseness(threshold)))
    parts, kinds = _data_line(points, x, y, layout)
    body += parts
    below = [
        Label(
            0,
            0,
            (Line(p.tick, 12, INK),) + ((Line(p.subtick, 10.5, MUTED),) if p.subtick else ()),
            "middle",
        )
        .at(x(p.x), bottom + 13)  # clear of a mark at the foot of the scale
        .within(2, WIDTH - 2)
        for p in points
    ]
    body += [tick.svg() for tick in _x_ticks(below, layout)]
    words, notes = _words_by_points(points, x, y, Box(left + 1, 2, right - 1, bottom - 1), layout)
    body += words
    parts, end = _notes(notes, left, max((t.box().bottom for t in below), default=bottom) + 14)
    body += parts
    if "worse" in kinds:
        legend.append(("worse", "Reliable deterioration"))
    if "better" in kinds:
        legend.append(("better", "Reliable improvement"))
    parts, end = _legend(left - 6, end + 4, legend)
    return _svg(key, end + 8, title, desc, body + parts)


def _band_key(
    names: Sequence[Label], middles: Sequence[float], right: float, bottom: float, layout: Layout
) -> list[str]:
    """Each band's name beside the chart, level with the band's middle or pushed up or down
    only as far as its neighbours need, with a short leader line when pushed."""
    parts = []
    heights = [n.height for n in names][::-1]  # from the top of the page down
    tops = _stack([m - h / 2 for m, h in zip(middles[::-1], heights)], heights, 4, bottom)
    for name, middle, at in zip(names[::-1], middles[::-1], tops):
        placed = name.at(right + 12, at)
        layout.take(placed.box())
        parts.append(placed.svg())
        if abs(at + name.height / 2 - middle) > 2:
            parts.append(
                f'<line x1="{right:.1f}" y1="{middle:.1f}" x2="{right + 8:.1f}" '
                f'y2="{at + name.height / 2:.1f}" stroke="{MUTED}"/>'
            )
    return parts


def _expected_range(points: Sequence[Point], x, y) -> list[str]:
    """The expected range as an area through the administrations that have one, broken where
    one has none (nothing is expected there); a lone one is a short bar."""
    parts, run = [], []
    for p in [*points, None]:
        if p is not None and p.expected is not None:
            run.append(p)
            continue
        if len(run) == 1:
            [only] = run
            low, high = only.expected
            parts.append(
                f'<rect x="{x(only.x) - 12:.1f}" y="{y(high):.1f}" width="24" '
                f'height="{y(low) - y(high):.1f}" {EXPECTED_STYLE}/>'
            )
        elif run:
            edge = [(x(q.x), y(q.expected[1])) for q in run]
            edge += [(x(q.x), y(q.expected[0])) for q in reversed(run)]
            parts.append(
                f'<polygon points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in edge)}" '
                f"{EXPECTED_STYLE}/>"
            )
        run = []
    return parts


def _data_line(points: Sequence[Point], x, y, layout: Layout) -> tuple[list[str], list[str]]:
    """The scores' line, broken where a score is blank, and a mark at each score; and the
    kinds of change marked."""
    parts, kinds = [], []
    segment: list[tuple[float, float]] = []
    for p in [*points, None]:
        if p is not None and p.value is not None:
            segment.append((x(p.x), y(p.value)))
            continue
        if len(segment) > 1:  # a blank score breaks the line rather than being bridged
            layout.line(segment)
            parts.append(
                f'<polyline points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in segment)}" '
                f'fill="none" stroke="{LINE}" stroke-width="2.5" stroke-linejoin="round"/>'
            )
        segment = []
    for p in points:
        if p.value is not None:
            marked = [kind for kind, _ in p.marks]
            kind = "worse" if "worse" in marked else "better" if "better" in marked else "score"
            kinds += [k for k in marked if k not in kinds]
            parts.append(_marker(kind, x(p.x), y(p.value)))
            layout.take(Box(x(p.x) - 9, y(p.value) - 9, x(p.x) + 9, y(p.value) + 9))
    return parts, kinds


def _words_by_points(
    points: Sequence[Point], x, y, room: Box, layout: Layout
) -> tuple[list[str], list[tuple[str, str]]]:
    """Each score's value and its change in words beside its mark, and "not scorable" where a
    score is missing, placed most telling first: changes, then the first and latest values,
    then the rest. A value with no room is left out (the table beside the chart gives it);
    words with no room come back as (kind, words), to be written under the chart. Both in the
    order of the points."""
    drawn: dict[int, list[str]] = {}
    missed: dict[int, list[tuple[str, str]]] = {}
    last = len(points) - 1
    for i in sorted(range(len(points)), key=lambda i: (not points[i].marks, 0 < i < last, i)):
        p, here, lost = points[i], drawn.setdefault(i, []), missed.setdefault(i, [])
        marks = [(kind, f"{p.tick}: {words}") for kind, words in p.marks]
        if p.value is None:
            words = label("not scorable", 11, MUTED)
            placed = layout.place(around(words, x(p.x), room.bottom - 8, 2), room)
            here += [placed.svg()] if placed else []
            lost += ([] if placed else [("", f"{p.tick}: not scorable")]) + marks
            continue
        value = label(number(p.value), 13, INK, bold=True)
        placed = layout.place(around(value, x(p.x), y(p.value), 9), room)
        here += [placed.svg()] if placed else []
        if p.marks:
            lines = tuple(Line(w, 11.5, WORSE if k == "worse" else BETTER) for k, w in p.marks)
            words = Label(0, 0, lines, bold=True)
            placed = layout.place(around(words, x(p.x), y(p.value), 9), room)
            here += [placed.svg(font_weight=600)] if placed else []
            lost += [] if placed else marks
    return [s for i in sorted(drawn) for s in drawn[i]], [
        n for i in sorted(missed) for n in missed[i]
    ]


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
    low, high = bins[0][0], bins[-1][1]
    tallest = max((count for _, _, count in bins), default=0) or 1
    counts = [label(str(n), 11, MUTED, anchor="end") for n in (tallest, 0)]
    left = 20 + max(c.width for c in counts)
    right = WIDTH - 16

    def x(value: float) -> float:
        return left + (value - low) / ((high - low) or 1) * (right - left)

    # Each band's name over it when it fits the band's width in three lines at most, every
    # word whole; else in the notes under the chart, with its range.
    spans = _band_spans(bands, low, high)
    names, notes = [], []
    for band, (start, end) in zip(bands, spans):
        room = x(end) - x(start) - 6
        words = label(band.label, 11, INK, room=room, anchor="middle")
        kept = [w for line in words.lines for w in line.text.split()] == band.label.split()
        if kept and len(words.lines) <= 3 and words.width <= room:
            names.append((words, (x(start) + x(end)) / 2))
        else:
            notes.append(("", f"{band.label}: {_range(band)}"))
    top = 16 + max((words.height for words, _ in names), default=0)
    bottom = top + 196

    def y(count: float) -> float:
        return bottom - count / tallest * (bottom - top - 18)

    layout = Layout()
    body = []
    for i, (start, end) in enumerate(spans):
        body.append(
            f'<rect x="{x(start):.1f}" y="4" width="{x(end) - x(start):.1f}" '
            f'height="{bottom - 4}" fill="{_tint(i)}" stroke="#fff" stroke-width="2"/>'
        )
    for words, middle in names:
        body.append(words.at(middle, top - 6 - words.height).svg())
    axis = [(left, top), (left, bottom), (right, bottom)]
    layout.line(axis)
    body.append(
        f'<path d="M{left:.1f},{top} V{bottom} H{right:.1f}" fill="none" stroke="{MUTED}"/>'
    )
    legend = [("bar", "Administrations with each score")]
    if _within(threshold, integer, low, high):
        at = x(_case_line(threshold, integer))
        layout.line([(at, top), (at, bottom)])
        body.append(
            f'<line x1="{at:.1f}" y1="{top}" x2="{at:.1f}" y2="{bottom}" stroke="{INK}" '
            f'stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        legend.append(("threshold", _caseness(threshold)))
    bars = [(start, end, count) for start, end, count in bins if count]
    for start, end, count in bars:
        layout.take(Box(x(start) + 1.5, y(count), max(x(end) - 1.5, x(start) + 2.5), bottom))
        body.append(
            f'<rect x="{x(start) + 1.5:.1f}" y="{y(count):.1f}" '
            f'width="{max(x(end) - x(start) - 3, 1):.1f}" height="{bottom - y(count):.1f}" '
            f'fill="{LINE}"/>'
        )
    room = Box(left + 1, top, right, bottom)
    for start, end, count in bars:  # each bar's count above it, where there is room
        words = label(str(count), 10.5, INK, anchor="middle")
        at = words.at((x(start) + x(end)) / 2, y(count) - 3 - words.height)
        body += [at.svg()] if layout.place([at], room) else []
    for count, words in zip((tallest, 0), counts):
        body.append(words.moved(left - 8, y(count) + 4).svg())
    ends = [(bins[0][0] + bins[0][1]) / 2, (bins[-1][0] + bins[-1][1]) / 2]
    ticks = sorted({b.low for b in bands} | {bands[-1].high}) if bands else ends
    whole = Box(0, 0, WIDTH, math.inf)
    for tick in ticks:
        words = label(number(tick), 11, MUTED, anchor="middle").at(x(tick), bottom + 6)
        placed = layout.place([words.within(2, WIDTH - 2)], whole)
        body += [placed.svg()] if placed else []
    parts, end = _notes(notes, left, bottom + 28)
    legend_parts, end = _legend(left - 6, end + 4, legend)
    return _svg(key, end + 8, title, desc, body + parts + legend_parts)


def prevalence(key: str, title: str, desc: str, bars: Sequence[Bar]) -> Markup:
    """Per effect, this cohort's percentage experiencing it (solid) beside published ones
    (hatched), each with its number written out. Long names wrap onto more lines."""
    label_width = 290
    hatch = _ident(key) + "-hatch"
    names = [label(bar.label, 11.5, INK, room=label_width, anchor="end") for bar in bars]
    shares = [
        [label(f"{bar.percent:.0f}%", 11, INK, bold=True)] if bar.percent is not None else []
        for bar in bars
    ]
    figures = [
        [
            label(f"{number(v)}% {ref}" + ("" if verified else " unverified"), 10.5, MUTED)
            for v, ref, verified in bar.published
        ]
        for bar in bars
    ]
    widest = max((w.width for row in shares + figures for w in row), default=0)
    left, right = label_width + 20, WIDTH - 10 - widest - 5

    def x(percent: float) -> float:
        return left + percent / 100 * (right - left)

    legend, top = _legend(
        left - 14, 4, [("bar", "This cohort"), ("published", "Published figure [reference]")], hatch
    )
    top += 30
    rows = [max(name.height, 16 + 14 * len(bar.published)) + 10 for name, bar in zip(names, bars)]
    height = top + sum(rows) + 10
    body = [_hatch(hatch), *legend]
    for tick in (0, 25, 50, 75, 100):
        body.append(
            f'<line x1="{x(tick):.1f}" y1="{top - 8}" x2="{x(tick):.1f}" y2="{height - 10}" '
            f'stroke="{GRID}"/>'
            + label(f"{tick}%", 10.5, MUTED, anchor="middle").moved(x(tick), top - 12).svg()
        )
    y = top
    for bar, name, share, published, row in zip(bars, names, shares, figures, rows):
        body.append(name.moved(label_width + 10, y + 11).svg())
        if bar.percent is not None:
            body.append(
                f'<rect x="{left}" y="{y:.1f}" width="{x(bar.percent) - left:.1f}" height="13" '
                f'fill="{LINE}"/>' + share[0].moved(x(bar.percent) + 5, y + 11).svg()
            )
        for n, ((value, _, _), words) in enumerate(zip(bar.published, published)):
            top_of = y + 17 + 14 * n
            body.append(
                f'<rect x="{left}" y="{top_of:.1f}" width="{x(value) - left:.1f}" height="9" '
                f'fill="url(#{hatch})" stroke="{MUTED}" stroke-width="0.8"/>'
                + words.moved(x(value) + 5, top_of + 8.5).svg()
            )
        y += row
    return _svg(key, height, title, desc, body)


def deterioration(
    key: str, title: str, desc: str, percent: float, low: float = 5, high: float = 10
) -> Markup:
    """This cohort's share reliably deteriorated, on a scale with the range the literature
    reports for routine care hatched."""
    left, right, line = 20, 700, 56
    top_of_scale = max(25, math.ceil((percent + 5) / 5) * 5)
    step = 5 if top_of_scale <= 50 else 10  # ticks far enough apart for their numbers

    def x(value: float) -> float:
        return left + value / top_of_scale * (right - left)

    hatch = _ident(key) + "-hatch"
    routine = label(f"Routine care: {number(low)}–{number(high)}%", 11.5, INK, anchor="middle")
    body = [
        _hatch(hatch),
        f'<rect x="{x(low):.1f}" y="{line - 26}" width="{x(high) - x(low):.1f}" height="26" '
        f'fill="url(#{hatch})" stroke="{MUTED}"/>',
        routine.moved((x(low) + x(high)) / 2, line - 34).within(2, WIDTH - 2).svg(),
        f'<line x1="{left}" y1="{line}" x2="{right}" y2="{line}" stroke="{MUTED}"/>',
    ]
    for tick in range(0, top_of_scale + 1, step):
        body.append(
            f'<line x1="{x(tick):.1f}" y1="{line}" x2="{x(tick):.1f}" y2="{line + 5}" '
            f'stroke="{MUTED}"/>'
            + label(f"{tick}%", 10.5, MUTED, anchor="middle")
            .moved(x(tick), line + 18)
            .within(2, WIDTH - 2)
            .svg()
        )
    at = x(percent)
    share = label(f"This cohort: {percent:.0f}%", 12, WORSE, bold=True, anchor="middle")
    body.append(
        _marker("worse", at, line - 4) + share.moved(at, line + 40).within(2, WIDTH - 2).svg()
    )
    return _svg(key, 104, title, desc, body)


def change_scatter(
    key: str,
    title: str,
    desc: str,
    pairs: Sequence[tuple[float, float, str]],
    band: Optional[float],
    cutoff: Optional[float],
    low: float,
    high: float,
) -> Markup:
    """Jacobson & Truax's plot: each respondent's first score across, last score up, on the same
    scale; the line of no change, the band within which a change is not reliable (``band``
    points either side of it), the clinical cut-off on both axes. ``pairs`` are (first, last,
    class): "better", "worse" or "same", each its own mark and in the legend; respondents with
    the same two scores share one mark."""
    left, size = 64, 420
    top, bottom, right = 36, 36 + size, 64 + size
    span = (high - low) or 1

    def x(value: float) -> float:
        return left + (value - low) / span * size

    def y(value: float) -> float:
        return bottom - (value - low) / span * size

    body = [f'<rect x="{left}" y="{top}" width="{size}" height="{size}" fill="none"/>']
    legend = []
    if band is not None:  # between the two parallels of the diagonal, within the plot
        edge = min(band, high - low)
        corners = [(low, low), (low, low + edge), (high - edge, high), (high, high)]
        corners += [(high, high - edge), (low + edge, low)]
        path = " L".join(f"{x(a):.1f},{y(b):.1f}" for a, b in corners)
        body.append(f'<path class="band" d="M{path} Z" fill="{BAND_TINTS[2]}"/>')
        legend.append(("band", f"No reliable change: within {number(band)} points of no change"))
    body += [
        f'<line x1="{x(low):.1f}" y1="{y(low):.1f}" x2="{x(high):.1f}" y2="{y(high):.1f}" '
        f'stroke="{MUTED}" stroke-width="1.5"/>',
        f'<path d="M{left},{top} V{bottom} H{right}" fill="none" stroke="{MUTED}"/>',
    ]
    legend.append(("diagonal", "No change: last score equals first"))
    if cutoff is not None and low < cutoff < high:
        body.append(
            f'<path d="M{x(cutoff):.1f},{top} V{bottom} M{left},{y(cutoff):.1f} H{right}" '
            f'stroke="{INK}" stroke-width="1.5" stroke-dasharray="6 4" fill="none"/>'
        )
        legend.append(("threshold", f"Clinical cut-off: {number(cutoff)}"))
    seen = set()
    for first, last, kind in pairs:
        if (first, last) in seen:
            continue
        seen.add((first, last))
        body.append(_marker({"same": "point"}.get(kind, kind), x(first), y(last)))
    shown = {kind for _, _, kind in pairs}
    words = {
        "better": "Reliably improved",
        "same": "No reliable change",
        "worse": "Reliably deteriorated",
    }
    legend += [(kind, words[kind]) for kind in ("better", "same", "worse") if kind in shown]
    step = _tick_step(span)
    tick = math.ceil(low / step) * step
    while tick <= high + 1e-9:
        body.append(
            label(number(tick), 11, MUTED, anchor="middle").moved(x(tick), bottom + 16).svg()
            + label(number(tick), 11, MUTED, anchor="end").moved(left - 8, y(tick) + 4).svg()
        )
        tick += step
    body.append(
        label("First score", 12, INK, anchor="middle").moved(x((low + high) / 2), bottom + 36).svg()
    )
    body.append(label("Last score", 12, INK, anchor="start").moved(8, top - 14).svg())
    legend_parts, end = _legend(left - 6, bottom + 50, legend)
    return _svg(key, end + 8, title, desc, body + legend_parts)


def _tick_step(span: float) -> float:
    """A round step giving four to eight ticks."""
    step = 10 ** math.floor(math.log10(span / 5)) if span > 0 else 1
    for factor in (1, 2, 5, 10):
        if span / (step * factor) <= 8:
            return step * factor
    return step * 10
