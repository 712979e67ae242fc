"""Words in charts: measured without a browser, wrapped, and placed where they cover nothing.

A report is drawn in Python and shown in a browser nefkit never sees, so a label's width is
estimated from a table: the advance widths of DejaVu Sans, Book and Bold, from the fonts' own
metrics. DejaVu Sans is the widest face the reports' font stack can reach (it is what Chromium
draws ``system-ui`` with on Debian; Segoe UI, Roboto, San Francisco, Helvetica and Arial are all
narrower). Chromium rounds text to device pixels, so each advance is rounded up to a whole
pixel and a line gets one pixel more (measured in Chromium on the demo reports and a crowded
one, on a wide window and a phone: every line at most 0.93 of its estimate, 0.83 typically).
Two margins make the estimate conservative for other fonts too: no character counts less
than 0.62 em (0.70 em bold), which covers wider faces such as Verdana, and a character
outside the table (another script, an emoji) counts 1.25 em, more than any letter DejaVu
Sans draws.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Optional

from markupsafe import escape

# Advance widths in thousandths of an em, printable ASCII from " " to "~" (DejaVu Sans 2.37).
_BOOK = (
    (318, 401, 460, 838, 637, 951, 780, 275, 391, 391, 500, 838, 318, 361, 318, 337, 637, 637)
    + (637, 637, 637, 637, 637, 637, 637, 637, 337, 337, 838, 838, 838, 531, 1000, 685, 687)
    + (699, 771, 632, 576, 775, 752, 295, 295, 656, 558, 863, 749, 788, 604, 788, 695, 635)
    + (611, 732, 685, 989, 686, 611, 686, 391, 337, 391, 838, 500, 500, 613, 635, 550, 635)
    + (616, 353, 635, 634, 278, 278, 580, 278, 975, 634, 612, 635, 635, 412, 521, 393, 634)
    + (592, 818, 592, 592, 525, 637, 337, 637, 838)
)
_BOLD = (
    (349, 457, 521, 838, 696, 1002, 873, 307, 458, 458, 523, 838, 380, 416, 380, 366, 696)
    + (696, 696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 581, 1000, 774)
    + (763, 734, 831, 684, 684, 821, 837, 373, 373, 775, 638, 996, 837, 851, 733, 851, 771)
    + (721, 683, 813, 774, 1104, 771, 725, 726, 458, 366, 458, 838, 500, 500, 675, 716, 593)
    + (716, 679, 436, 716, 712, 343, 343, 666, 343, 1042, 712, 688, 716, 716, 494, 596, 479)
    + (712, 652, 924, 646, 652, 583, 712, 366, 712, 838)
)
# Punctuation the reports write themselves (ranges, quotes, arrows), Book and Bold.
_PUNCTUATION = {
    "–": (500, 500),
    "—": (1000, 1000),
    "‘": (318, 380),
    "’": (318, 380),
    "“": (519, 658),
    "”": (519, 658),
    "…": (1000, 1000),
    "•": (590, 640),
    "→": (838, 838),
    "≤": (838, 838),
    "≥": (838, 838),
    "×": (838, 838),
    "−": (838, 838),
}
_FLOOR = (620, 700)  # the least a character may count, Book and Bold
_UNKNOWN = 1250
# Of the font size, above and below the baseline: DejaVu Sans's 0.93 and 0.24, as Chromium's
# getBBox gives them once rounded to device pixels on the smallest screen a chart is drawn at
# (28rem wide, 0.62 of its size): 0.99 and 0.31.
ASCENT, DESCENT = 1.0, 0.32
LEADING = 1.2  # from one line's baseline to the next, in ems
GAP = 2.0  # the clear space kept around every label


def _advance(char: str, bold: bool) -> int:
    """A character's width in thousandths of an em: accented Latin letters take their base
    letter's width, as they do in the font; combining marks take none."""
    code = ord(char)
    if 32 <= code < 127:
        return (_BOLD if bold else _BOOK)[code - 32]
    if char in _PUNCTUATION:
        return _PUNCTUATION[char][bold]
    if unicodedata.combining(char):
        return 0
    base = unicodedata.normalize("NFKD", char)[:1]
    if base != char and base and 32 <= ord(base) < 127:
        return _advance(base, bold)
    return _UNKNOWN


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width ``text`` may take at ``size`` pixels in any of the reports' fonts, or less."""
    advances = [_advance(c, bold) for c in text]
    hinted = sum(math.ceil(a * size / 1000) for a in advances) + 1
    floor = sum(max(a, _FLOOR[bold]) for a in advances if a) * size / 1000
    return max(hinted, floor)


def wrap(text: str, room: float, size: float, bold: bool = False) -> tuple[str, ...]:
    """``text`` in lines no wider than ``room``, broken between words; a word wider than the
    room on its own starts a line and is broken between its letters, so nothing is ever cut."""
    lines: list[str] = []
    for word in text.split() or [""]:
        if lines and text_width(f"{lines[-1]} {word}", size, bold) <= room:
            lines[-1] += " " + word
            continue
        while len(word) > 1 and text_width(word, size, bold) > room:
            fits = [n for n in range(1, len(word)) if text_width(word[:n], size, bold) <= room]
            cut = max(fits, default=1)
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    return tuple(lines)


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    def grown(self, by: float) -> Box:
        return Box(self.left - by, self.top - by, self.right + by, self.bottom + by)

    def overlaps(self, other: Box) -> bool:
        return (
            self.left < other.right
            and other.left < self.right
            and self.top < other.bottom
            and other.top < self.bottom
        )

    def contains(self, other: Box) -> bool:
        return (
            self.left <= other.left
            and self.top <= other.top
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def crosses(self, start: tuple[float, float], end: tuple[float, float]) -> bool:
        """Whether the segment from ``start`` to ``end`` passes through the box (Liang-Barsky
        clipping: the part of the segment inside each edge's half-plane never empties)."""
        (x0, y0), (x1, y1) = start, end
        dx, dy = x1 - x0, y1 - y0
        enter, leave = 0.0, 1.0
        for p, q in (
            (-dx, x0 - self.left),
            (dx, self.right - x0),
            (-dy, y0 - self.top),
            (dy, self.bottom - y0),
        ):
            if p == 0:
                if q < 0:
                    return False
                continue
            t = q / p
            if p < 0:
                enter = max(enter, t)
            else:
                leave = min(leave, t)
            if enter > leave:
                return False
        return True


@dataclass(frozen=True)
class Line:
    text: str
    size: float
    fill: str


@dataclass(frozen=True)
class Label:
    """Words at a point: ``y`` is the first line's baseline; later lines follow, each as an
    SVG ``tspan``. ``bold`` draws every line heavier."""

    x: float
    y: float
    lines: tuple[Line, ...]
    anchor: str = "start"  # or "middle", "end", as SVG's text-anchor
    bold: bool = False

    @property
    def width(self) -> float:
        return max(text_width(line.text, line.size, self.bold) for line in self.lines)

    @property
    def height(self) -> float:
        return self.box().bottom - self.box().top

    def box(self) -> Box:
        shift = {"start": 0.0, "middle": 0.5, "end": 1.0}[self.anchor] * self.width
        baseline = self.y + sum(LEADING * line.size for line in self.lines[1:])
        return Box(
            self.x - shift,
            self.y - ASCENT * self.lines[0].size,
            self.x - shift + self.width,
            baseline + DESCENT * self.lines[-1].size,
        )

    def at(self, x: float, top: float, anchor: Optional[str] = None) -> Label:
        """The same words with the top of their box at ``top`` and their anchor at ``x``."""
        return replace(self, x=x, y=top + ASCENT * self.lines[0].size, anchor=anchor or self.anchor)

    def moved(self, dx: float = 0, dy: float = 0) -> Label:
        return replace(self, x=self.x + dx, y=self.y + dy)

    def within(self, left: float, right: float) -> Label:
        """Shifted sideways, if it must be, to lie between ``left`` and ``right``."""
        box = self.box()
        return self.moved(dx=max(left - box.left, min(0.0, right - box.right)))

    def svg(self, **attrs: object) -> str:
        first = self.lines[0]
        head = {
            "x": f"{self.x:.1f}",
            "y": f"{self.y:.1f}",
            "font_size": first.size,
            "fill": first.fill,
            **({"text_anchor": self.anchor} if self.anchor != "start" else {}),
            **({"font_weight": 700} if self.bold else {}),
            **attrs,
        }
        if len(self.lines) == 1:
            return f"<text{_attrs(head)}>{escape(first.text)}</text>"
        spans = [f'<tspan x="{self.x:.1f}">{escape(first.text)}</tspan>']
        for line in self.lines[1:]:
            style = {"x": f"{self.x:.1f}", "dy": f"{LEADING * line.size:.1f}"}
            if line.size != first.size:
                style["font_size"] = line.size
            if line.fill != first.fill:
                style["fill"] = line.fill
            spans.append(f"<tspan{_attrs(style)}>{escape(line.text)}</tspan>")
        return f"<text{_attrs(head)}>{''.join(spans)}</text>"


def label(
    text: str,
    size: float,
    fill: str,
    room: Optional[float] = None,
    bold: bool = False,
    anchor: str = "start",
) -> Label:
    """Words at the origin, wrapped to ``room`` pixels when given; move them with ``at``."""
    lines = wrap(text, room, size, bold) if room else (text,)
    return Label(0, 0, tuple(Line(line, size, fill) for line in lines), anchor, bold)


def _attrs(attrs: dict[str, object]) -> str:
    return "".join(f' {name.replace("_", "-")}="{escape(value)}"' for name, value in attrs.items())


Point = tuple[float, float]


class Layout:
    """The room left in a chart: what is drawn is recorded as boxes and segments, and a label
    goes to the first of its candidate places that is inside its bounds and clear of both."""

    def __init__(self) -> None:
        self.boxes: list[Box] = []
        self.segments: list[tuple[Point, Point]] = []

    def take(self, box: Box) -> None:
        self.boxes.append(box)

    def line(self, points: Sequence[Point]) -> None:
        self.segments += zip(points, points[1:])

    def free(self, box: Box, bounds: Box) -> bool:
        clear = box.grown(GAP)
        return (
            bounds.contains(box)
            and not any(clear.overlaps(taken) for taken in self.boxes)
            and not any(clear.crosses(a, b) for a, b in self.segments)
        )

    def place(self, candidates: Iterable[Label], bounds: Box) -> Optional[Label]:
        """The first candidate with room, now taken; None when none has room."""
        for candidate in candidates:
            box = candidate.box()
            if self.free(box, bounds):
                self.take(box)
                return candidate
        return None


def around(words: Label, x: float, y: float, reach: float) -> Iterator[Label]:
    """Places for ``words`` about a mark at (x, y) whose drawing reaches ``reach`` pixels from
    it, nearest first: above, below, right, left, then the corners; then a step further out."""
    height = words.height
    for distance in (reach + 3, reach + 16, reach + 30):
        above, below, middle = y - distance - height, y + distance, y - height / 2
        yield words.at(x, above, "middle")
        yield words.at(x, below, "middle")
        yield words.at(x + distance, middle, "start")
        yield words.at(x - distance, middle, "end")
        for top in (above, below):
            yield words.at(x - reach, top, "start")
            yield words.at(x + reach, top, "end")
