"""Charts whose words never collide: the SVG nefkit writes, parsed with xml.etree and measured.

Every word's box must lie inside the viewBox, overlap no other words, cross no line (the data
line, the caseness line, axes, leaders) and cover no mark or bar; and every label must be there
whole, never cut. The boxes come from a bound of this file's own, not from nefkit's estimate:
0.62 em a character (0.70 em bold, 1 em for East Asian wide letters), which DejaVu Sans, the
widest face of the reports' font stack, stays under for every label of a dozen characters or
more in the bundled instruments (0.60 em a character at most, 0.51 on average); and for heights, the most Chromium's getBBox gives
above and below the baseline at any window width (0.99 and 0.31 em, measured at phone width,
where device pixels are coarsest; DejaVu Sans's own are 0.93 and 0.24).
tests/test_html_browser.py checks the real boxes in Chromium.

The labels are the longest of every bundled instrument, and adversarial ones: a very long word,
right-to-left and non-Latin text, markup characters, flat series, series at the ends of their
scale, one session and forty; hypothesis draws more.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nefkit_html import charts
from nefkit_html.charts import Bar, Point
from nefkit_html.facts import Band, number, scales

import nefkit
from nefkit.renderers import RenderOptions

NS = "{http://www.w3.org/2000/svg}"
EM = {False: 0.62, True: 0.70}
ASCENT, DESCENT = 0.99, 0.31
BACKGROUND = {*charts.BAND_TINTS, charts.GRID, "#fff"}  # shading and grid lines may lie under words
DEMO = Path(str(files("nefkit_demo") / "data"))

LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3
MARKUP = 'Tom & Jerry <script>alert("x")</script> & "quotes"'
ADVERSARIAL = [
    LONG_WORD,
    "שאלה ארוכה מאוד על תחושות קשות במהלך הטיפול ולאחריו",  # Hebrew, right to left
    "شعرت بأن العلاج لم يحقق أي نتائج على الإطلاق",  # Arabic, right to left
    "治療の後で以前よりも不安を感じるようになった",  # Japanese: wide letters
    "Ängste & Sorgen: „größer“ als <vorher> — “much” worse",
    MARKUP,
    "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWW MMMMMMMMMMMMMMMMMMMMMM",
]


# --- reading the SVG back ---------------------------------------------------------------------


@dataclass(frozen=True)
class Rect:
    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: Rect) -> bool:
        return not (
            self.right <= other.left
            or other.right <= self.left
            or self.bottom <= other.top
            or other.bottom <= self.top
        )

    def inside(self, other: Rect) -> bool:
        return (
            other.left <= self.left
            and other.top <= self.top
            and self.right <= other.right
            and self.bottom <= other.bottom
        )

    def holds(self, x: float, y: float) -> bool:
        return self.left < x < self.right and self.top < y < self.bottom

    def hit_by(self, a: tuple[float, float], b: tuple[float, float]) -> bool:
        """A segment touching the box's inside: an end inside it, or crossing an edge."""
        if self.holds(*a) or self.holds(*b):
            return True
        corners = [
            (self.left, self.top),
            (self.right, self.top),
            (self.right, self.bottom),
            (self.left, self.bottom),
        ]
        return any(_proper(a, b, c, d) for c, d in zip(corners, corners[1:] + corners[:1]))


def _proper(a, b, c, d) -> bool:
    """Whether segments ab and cd cross at a point inside both."""

    def side(p, q, r):
        return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])

    return side(a, b, c) * side(a, b, d) < 0 and side(c, d, a) * side(c, d, b) < 0


def bound(text: str, size: float, bold: bool) -> float:
    wide = ("W", "F")
    return size * sum(
        1.0 if unicodedata.east_asian_width(c) in wide else EM[bold]
        for c in text
        if not unicodedata.combining(c)
    )


@dataclass
class Words:
    text: str  # the lines joined by spaces
    boxes: list[Rect]  # one a line


def words_in(svg: ET.Element) -> list[Words]:
    found = []
    for element in svg.iter(NS + "text"):
        size = float(element.get("font-size"))
        anchor = element.get("text-anchor", "start")
        bold = element.get("font-weight") in ("600", "700", "bold")
        x, y = float(element.get("x")), float(element.get("y"))
        lines = [] if len(element) else [(x, y, size, element.text or "")]
        for span in element.findall(NS + "tspan"):
            x, y = float(span.get("x", x)), y + float(span.get("dy", 0))
            lines.append((x, y, float(span.get("font-size", size)), span.text or ""))
        boxes = []
        for x, y, line_size, text in lines:
            width = bound(text, line_size, bold)
            left = x - {"start": 0, "middle": width / 2, "end": width}[anchor]
            boxes.append(Rect(left, y - ASCENT * line_size, left + width, y + DESCENT * line_size))
        found.append(Words(" ".join(line[3] for line in lines), boxes))
    return found


def _numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text)]


def ink(svg: ET.Element) -> tuple[list[tuple], list[Rect]]:
    """What words must keep off: lines as segments, marks and bars as boxes (shading, grid lines
    and the hatch pattern's own drawing excluded)."""
    segments, shapes = [], []

    def walk(element):
        for child in element:
            tag = child.tag.removeprefix(NS)
            if tag == "defs":
                continue
            walk(child)
            half = float(child.get("stroke-width", 1)) / 2
            if tag == "polyline":
                xy = _numbers(child.get("points"))
                points = list(zip(xy[::2], xy[1::2]))
                segments.extend(zip(points, points[1:]))
            elif tag == "line" and child.get("stroke") not in BACKGROUND:
                x1, y1, x2, y2 = (float(child.get(k)) for k in ("x1", "y1", "x2", "y2"))
                segments.append(((x1, y1), (x2, y2)))
            elif tag == "path":
                points, x, y = [], 0.0, 0.0
                for command, args in re.findall(r"([MLVHZ])([^MLVHZ]*)", child.get("d")):
                    values = _numbers(args)
                    if command in "ML":
                        x, y = values
                    elif command == "V":
                        y = values[0]
                    elif command == "H":
                        x = values[0]
                    else:
                        x, y = points[0]
                    points.append((x, y))
                if child.get("fill") == "none":
                    segments.extend(zip(points, points[1:]))
                else:  # a mark: its whole outline, with its stroke
                    xs, ys = [p[0] for p in points], [p[1] for p in points]
                    shapes.append(
                        Rect(min(xs) - half, min(ys) - half, max(xs) + half, max(ys) + half)
                    )
            elif tag == "circle":
                cx, cy = float(child.get("cx")), float(child.get("cy"))
                r = float(child.get("r")) + half
                shapes.append(Rect(cx - r, cy - r, cx + r, cy + r))
            elif tag == "rect" and child.get("fill") not in BACKGROUND:
                x, y = float(child.get("x")), float(child.get("y"))
                w, h = float(child.get("width")), float(child.get("height"))
                shapes.append(Rect(x, y, x + w, y + h))

    walk(svg)
    return segments, shapes


def view_of(svg: ET.Element) -> Rect:
    _, _, width, height = (float(v) for v in svg.get("viewBox").split())
    return Rect(0, 0, width, height)


def assert_clear(words: list[Words], segments: list[tuple], shapes: list[Rect], view: Rect):
    """Every line of words inside the view, crossing no line, covering no mark or bar and no
    other words; every line and mark inside the view too."""
    for w in words:
        for box in w.boxes:
            assert box.inside(view), f"{w.text!r} leaves the viewBox: {box} outside {view}"
            for a, b in segments:
                assert not box.hit_by(a, b), f"{w.text!r} crosses the line {a}–{b}"
            for shape in shapes:
                assert not box.overlaps(shape), f"{w.text!r} covers a mark or bar at {shape}"
    for one, other in itertools.combinations(words, 2):
        for a, b in itertools.product(one.boxes, other.boxes):
            assert not a.overlaps(b), f"{one.text!r} overlaps {other.text!r}"
    edge = Rect(view.left - 0.01, view.top - 0.01, view.right + 0.01, view.bottom + 0.01)
    for end in itertools.chain.from_iterable(segments):
        assert edge.holds(*end), f"{end} outside"
    for shape in shapes:
        assert shape.inside(Rect(-1, -1, view.right + 1, view.bottom + 1)), f"{shape} outside"


def checked(markup: str) -> list[Words]:
    """The chart's words, once its geometry has been checked; parsing it is the check that
    markup in a label stayed text."""
    svg = ET.fromstring(str(markup))
    words = words_in(svg)
    assert_clear(words, *ink(svg), view_of(svg))
    return words


def squash(text: str) -> str:
    """Text without its spaces: a label wrapped onto lines, or a word broken between them,
    still reads as the whole label."""
    return "".join(text.split())


def assert_whole(words: list[Words], labels) -> None:
    shown = [squash(w.text) for w in words]
    for text in labels:  # in one piece of text: the label, perhaps followed by its range
        assert any(squash(text) in s for s in shown), f"{text!r} is not shown whole"
    assert not any("…" in w.text for w in words if not any("…" in t for t in labels))


# --- charts to check --------------------------------------------------------------------------


def marks_words(session: int) -> tuple[tuple[str, str], ...]:
    return (("worse", f"reliably worse than Session {session}"),)


def series(values, marks=None, subtick="2026-09-11") -> list[Point]:
    marks = marks or {}
    return [
        Point(n + 1, f"Session {n + 1}", subtick, value, marks.get(n, ()))
        for n, value in enumerate(values)
    ]


def timeline(points, low=0, high=27, bands=(), threshold=10) -> list[Words]:
    bands = bands or (Band(0, 9, "Mild"), Band(10, 27, "Severe"))
    chart = charts.timeline("t", "Title", "Desc", points, low, high, bands, threshold, True)
    words = checked(chart)
    expected = [b.label for b in bands]
    if threshold is not None and low < threshold - 0.5 < high:  # a line that divides the scale
        expected.append(f"Caseness: {threshold} or more")
    shown = [squash(w.text) for w in words]
    for p in points:
        for _, text in p.marks:  # beside the mark, or written under the chart after its tick
            assert any(squash(text) in s for s in shown), text
            assert squash(f"{p.tick}: {text}") in shown or any(s == squash(text) for s in shown)
    assert_whole(words, expected)
    return words


def bands_named(labels, low=0, high=None) -> tuple[Band, ...]:
    high = high if high is not None else 4 * len(labels) - 1
    step = (high - low + 1) / len(labels)
    return tuple(
        Band(round(low + i * step), round(low + (i + 1) * step) - 1, text)
        for i, text in enumerate(labels)
    )


def bins_for(low: int, high: int, counts) -> list[tuple[float, float, int]]:
    return [(v - 0.5, v + 0.5, counts[(v - low) % len(counts)]) for v in range(low, high + 1)]


def instrument_labels(instrument) -> list[str]:
    texts = [item.text for item in instrument.items]
    texts += [score.label for score in instrument.scores] + [f.label for f in instrument.flags]
    for scale in instrument.scales.values():
        texts += [choice.label for choice in scale.choices]
    return sorted(set(texts), key=len, reverse=True)


REGISTRY = nefkit.get_registry()
BUNDLED = sorted(REGISTRY.instruments)


@pytest.mark.parametrize("instrument_id", BUNDLED)
def test_the_longest_labels_of_every_bundled_instrument(instrument_id):
    instrument = REGISTRY.instrument(instrument_id)
    labels = instrument_labels(instrument)
    assert labels
    for scale in scales(nefkit.get_plan(instrument, REGISTRY)):
        low, high = scale.low, scale.high
        values = [low, (low + high) / 2, high, high, low]
        timeline(series(values, {2: marks_words(1)}), low, high, scale.bands, scale.threshold)
        histogram = charts.histogram(
            "h",
            "T",
            "D",
            bins_for(int(low), int(high), [3, 0, 12, 7]),
            scale.bands,
            scale.threshold,
            True,
        )
        assert_whole(checked(histogram), [b.label for b in scale.bands])
    # Its longest labels as band names, as a change in words, and as effects in a bar chart.
    longest = labels[:6]
    timeline(
        series([0, 5, 23, 11], {2: (("worse", longest[0]), ("better", longest[1]))}),
        0,
        23,
        bands_named(longest),
        threshold=None,
    )
    histogram = charts.histogram(
        "h", "T", "D", bins_for(0, 23, [4, 1, 9]), bands_named(longest), None, True
    )
    assert_whole(checked(histogram), longest)
    bars = [
        Bar(text, (37 * n) % 101, ((57.8, "[2]", False),) if n % 3 == 0 else ())
        for n, text in enumerate(labels)
    ]
    assert_whole(checked(charts.prevalence("p", "T", "D", bars)), labels)


@pytest.mark.parametrize("text", ADVERSARIAL)
def test_adversarial_labels_stay_whole_and_clear(text):
    bands = bands_named([text, "Mild", text[::-1]], 0, 27)
    timeline(series([0, 27, 13], {1: (("worse", text),)}), 0, 27, bands, 14)
    histogram = charts.histogram("h", "T", "D", bins_for(0, 27, [2, 5]), bands, 14, True)
    assert_whole(checked(histogram), [text, text[::-1]])
    bars = [Bar(text, 100.0, ((100, "[1]", False),)), Bar("Short", 0.0)]
    assert_whole(checked(charts.prevalence("p", "T", "D", bars)), [text, "Short"])


def test_markup_in_a_label_stays_text():
    words = timeline(series([3, 4]), bands=bands_named(["A", MARKUP], 0, 27))
    # Parsed back as the characters written (the longest word broken between two lines).
    assert squash(f"{MARKUP} 14–27") in [squash(w.text) for w in words]


@pytest.mark.parametrize(
    "values",
    [
        [12],  # one session
        [None],
        [14] * 40,  # forty sessions, all alike
        [0, 27] * 20,  # forty, at the ends of the scale
        [27] * 3 + [None] * 3 + [0] * 3,
        [None, 5, None, 6, None],
    ],
    ids=["one", "one-not-scorable", "forty-flat", "forty-extremes", "gaps", "alternating"],
)
def test_awkward_series(values):
    marks = {i: marks_words(1) for i in range(1, len(values), 3)}
    words = timeline(
        series(values, marks), bands=bands_named(["Mild", "Moderate", "Severe"], 0, 27)
    )
    shown = [w.text for w in words]
    assert any(t.startswith("Session 1") for t in shown)
    assert any(t.startswith(f"Session {len(values)}") for t in shown)  # the latest, always


def test_every_value_and_word_is_shown_when_there_is_room():
    words = timeline(series([12, 14, 18], {2: marks_words(1)}))
    shown = [w.text for w in words]
    assert {"12", "14", "18", "reliably worse than Session 1"} <= set(shown)


@settings(max_examples=60, deadline=None)
@given(
    low=st.integers(-20, 20),
    span=st.integers(1, 120),
    shares=st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=1, max_size=40),
    days=st.one_of(st.none(), st.lists(st.integers(0, 90), min_size=40, max_size=40)),
    marked=st.sets(st.integers(0, 39), max_size=8),
    cuts=st.sets(st.floats(0, 1), max_size=6),
    threshold=st.one_of(st.none(), st.floats(0, 1)),
    names=st.lists(st.sampled_from(ADVERSARIAL + ["Minimal", "Moderately severe"]), min_size=7),
)
def test_random_timelines(low, span, shares, days, marked, cuts, threshold, names):
    """Scores anywhere on a scale, by session or by date (several on one day), with bands."""
    high = low + span
    values = [None if s is None else round(low + s * span, 1) for s in shares]
    edges = sorted({low, *(low + round(c * span) for c in cuts), high + 1})
    bands = tuple(Band(a, b - 1, names[i]) for i, (a, b) in enumerate(zip(edges, edges[1:])))
    points = series(values, {i: marks_words(i) for i in marked if i < len(values)})
    if days is not None:
        when = sorted(days[: len(points)])
        points = [Point(d, f"Day {d}", "", p.value, p.marks) for d, p in zip(when, points)]
    at = None if threshold is None else low + round(threshold * span)
    words = timeline(points, low, high, bands, at)
    if len(values) <= 4 and days is None:  # room for every value
        shown = [w.text for w in words]
        assert all(number(v) in shown for v in values if v is not None)


@settings(max_examples=40, deadline=None)
@given(
    labels=st.lists(
        st.text(st.characters(exclude_categories=("Cc", "Cs", "Cn")), min_size=1, max_size=160),
        min_size=1,
        max_size=12,
    ),
    percents=st.lists(st.one_of(st.none(), st.floats(0, 100)), min_size=12, max_size=12),
)
def test_random_bar_charts(labels, percents):
    bars = [
        Bar(text, percent, ((percent, "[1]", False),) if percent else ())
        for text, percent in zip(labels, percents)
    ]
    assert_whole(checked(charts.prevalence("p", "T", "D", bars)), labels)


@settings(max_examples=40, deadline=None)
@given(
    counts=st.lists(st.integers(0, 999), min_size=1, max_size=101),
    cuts=st.lists(st.integers(1, 100), max_size=8, unique=True),
    names=st.lists(st.sampled_from(ADVERSARIAL + ["Mild", "Moderately severe"]), min_size=9),
    threshold=st.one_of(st.none(), st.integers(0, 100)),
)
def test_random_histograms(counts, cuts, names, threshold):
    high = len(counts) - 1
    edges = [0, *sorted(c for c in cuts if c <= high), high + 1]
    bands = tuple(Band(a, b - 1, names[i]) for i, (a, b) in enumerate(zip(edges, edges[1:])))
    histogram = charts.histogram("h", "T", "D", bins_for(0, high, counts), bands, threshold, True)
    assert_whole(checked(histogram), [b.label for b in bands])


@given(st.floats(0, 100))
def test_the_share_deteriorated_anywhere_on_its_scale(percent):
    words = checked(charts.deterioration("d", "T", "D", percent))
    assert f"This cohort: {percent:.0f}%" in [w.text for w in words]


# --- the reports ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("reports")

    def batch():
        return [nefkit.score(i, DEMO / f"{i}.csv", REGISTRY) for i in ("phq-9", "gad-7", "neq-20")]

    client, cohort = folder / "c005.html", folder / "cohort.html"
    nefkit.render(batch(), client, options=RenderOptions(respondent="C005"), reg=REGISTRY)
    nefkit.render(batch(), cohort, options=RenderOptions(by="format", min_cell=4), reg=REGISTRY)
    return {"client": client.read_text(), "cohort": cohort.read_text()}


@pytest.mark.parametrize("report", ["client", "cohort"])
def test_the_demo_reports_charts(reports, report):
    svgs = re.findall(r"<svg class=\"chart\".*?</svg>", reports[report], re.S)
    assert len(svgs) == {"client": 2, "cohort": 7}[report]
    for svg in svgs:
        checked(svg)


def test_the_suicidal_thoughts_item_is_never_cut(reports):
    [effects] = re.findall(
        r"<svg class=\"chart\" id=\"chart-cohort-2-neq-20-effects\".*?</svg>",
        reports["cohort"],
        re.S,
    )
    item = next(
        i for i in REGISTRY.instrument("neq-20").items if i.text.startswith("I got thoughts")
    )
    assert_whole(checked(effects), [item.text])
