"""The HTML renderer: client and cohort reports from the demo clinic, read back as a person
would read them (parsed, never matched as raw text), with numbers counted by hand from the demo
CSV files."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import pytest
from click.testing import CliRunner
from nefkit_html.renderer import HtmlRenderer

import nefkit
from nefkit.cli import cli
from nefkit.documents import Scores
from nefkit.renderers import RenderOptions

DEMO = Path(str(files("nefkit_demo") / "data"))
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "source", "wbr"}
SVG_LEAVES = {"rect", "line", "circle", "path", "polyline", "stop"}


class Node:
    def __init__(self, tag: str, attrs: dict, parent: Node | None):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return re.sub(r"\s+", " ", " ".join(parts)).strip()

    def all(self, tag: str | None = None, **attrs) -> list[Node]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                classes = child.attrs.get("class", "").split()
                if (tag is None or child.tag == tag) and all(
                    (value in classes) if name == "cls" else child.attrs.get(name) == value
                    for name, value in attrs.items()
                ):
                    found.append(child)
                found += child.all(tag, **attrs)
        return found

    def one(self, tag: str | None = None, **attrs) -> Node:
        [node] = self.all(tag, **attrs)
        return node

    def ancestors(self) -> list[Node]:
        node, found = self.parent, []
        while node is not None:
            found.append(node)
            node = node.parent
        return found


class _Builder(HTMLParser):
    """A small DOM: enough to find elements by tag, id or class and read their text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.node = Node("#document", {}, None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.node)
        self.node.children.append(node)
        if tag not in VOID and tag not in SVG_LEAVES:
            self.node = node

    def handle_startendtag(self, tag, attrs):
        self.node.children.append(Node(tag, {k: v or "" for k, v in attrs}, self.node))

    def handle_endtag(self, tag):
        if tag in VOID or tag in SVG_LEAVES:
            return
        assert self.node.tag == tag, f"</{tag}> closes <{self.node.tag}>"
        self.node = self.node.parent

    def handle_data(self, data):
        self.node.children.append(data)


def parse(path: Path) -> Node:
    builder = _Builder()
    builder.feed(path.read_text(encoding="utf-8"))
    builder.close()
    assert builder.node is builder.root, "an element was left open"
    return builder.root


def table_rows(table: Node) -> list[list[str]]:
    return [
        [cell.text() for cell in tr.children if isinstance(cell, Node)] for tr in table.all("tr")
    ]


@pytest.fixture(scope="module")
def registry():
    return nefkit.get_registry()


def demo(registry, *ids: str) -> list:
    return [nefkit.score(i, DEMO / f"{i}.csv", registry) for i in ids]


def write_csv(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


TRI_HEADER = (
    "respondent_id,session,administered_at,resilience,connection,unacknowledged,"
    "unacknowledged_what,risks_discussed,banking,banking_helpful,group_tried,group_why,"
    "supports,supports_other"
)
SCRIPT = "<script>alert(1)</script>"


def tri(tmp_path: Path, what: str = "I was tired for weeks and nobody asked.") -> Path:
    return write_csv(
        tmp_path / "tri.csv",
        TRI_HEADER,
        f'C005,3,2026-09-25,1,-1,Yes,"{what}",No,Yes,Mixed,No,Too shy,Family;Friends;9,Drawing',
    )


@pytest.fixture(scope="module")
def c005(registry, tmp_path_factory) -> Node:
    """The demo's C005 across PHQ-9, GAD-7, NEQ-20 and the reflection inventory."""
    folder = tmp_path_factory.mktemp("c005")
    batch = demo(registry, "phq-9", "gad-7", "neq-20")
    batch.append(nefkit.score("therapy-reflection", tri(folder), registry))
    out = folder / "c005.html"
    nefkit.render(batch, out, options=RenderOptions(respondent="C005"), reg=registry)
    return parse(out)


@pytest.fixture(scope="module")
def cohort(registry, tmp_path_factory) -> Node:
    out = tmp_path_factory.mktemp("cohort") / "cohort.html"
    options = RenderOptions(by="format", min_cell=4)
    nefkit.render(demo(registry, "phq-9", "gad-7", "neq-20"), out, options=options, reg=registry)
    return parse(out)


def section(doc: Node, instrument_id: str) -> Node:
    return doc.one("section", id=instrument_id)


# --- the renderer ------------------------------------------------------------------------------


def test_html_and_htm_files_choose_the_html_renderer(registry):
    for name in ("report.html", "REPORT.HTM"):
        assert isinstance(registry.renderer_for(Path(name), None), HtmlRenderer)
    assert HtmlRenderer.many


# --- client report -----------------------------------------------------------------------------


def test_client_report_names_the_pseudonym_and_says_no_names_are_stored(c005):
    assert c005.one("h1").text() == "Respondent C005"
    header = c005.one("header", cls="report-head").text()
    assert "Respondent ids are pseudonyms chosen by the clinic; nefkit stores no names." in header


def test_risk_flags_come_first_with_when_and_what_to_do(c005):
    main = c005.one("main")
    first = next(c for c in main.children if isinstance(c, Node))
    assert first.attrs["id"] == "flags" and "risk" in first.attrs["class"].split()
    assert first.one("h2").text() == "⚠ Risk flag raised (1)"
    risk, warning = first.all("li", cls="flag")
    assert "risk" in risk.attrs["class"].split()
    assert risk.one("span", cls="badge").text() == "risk"
    assert "Session 3 (2026-09-25)" in risk.text()
    assert risk.one("p", cls="flag-label").text() == (
        "Thoughts of being better off dead or of self-harm (item 9 above 0)"
    )
    assert risk.one("p", cls="action").text() == (
        "What to do: Ask the client about these thoughts today and follow your service's "
        "risk-assessment procedure before the session ends."
    )
    # The NEQ's warning (effects attributed to treatment) is listed after the risk.
    assert warning.one("span", cls="badge").text() == "warning"
    assert "Negative effects the client attributes to the treatment" in warning.text()


def test_no_risk_flags_is_said_in_so_many_words(registry, tmp_path):
    out = tmp_path / "c001.html"
    options = RenderOptions(respondent="C001")
    nefkit.render(demo(registry, "phq-9", "gad-7"), out, options=options, reg=registry)
    box = parse(out).one("section", id="flags")
    assert "clear" in box.attrs["class"].split()
    assert box.one("h2").text() == "✓ No risk flags raised"  # a mark, not only the colour
    assert "Checked and clear at every administration: " in box.text()
    assert "Patient Health Questionnaire-9 (PHQ-9) (3)" in box.text()
    assert box.all("li") == []


PHQ_HEADER = "respondent_id,session,administered_at," + ",".join(f"phq9_{i}" for i in range(1, 11))
ITEM_9 = "Thoughts that you would be better off dead or of hurting yourself in some way"


def phq(session: int, item_9: str, item_1: str = "1") -> str:
    """One PHQ-9 row of client X1, item 9 as given (blank, a code or something unreadable)."""
    return f"X1,{session},2026-10-0{session},{item_1},1,1,1,1,1,1,1,{item_9},1"


def client_report(tmp_path: Path, *rows: str) -> Node:
    """``nefkit score phq-9`` of these rows into an HTML client report, parsed."""
    data = write_csv(tmp_path / "phq.csv", PHQ_HEADER, *rows)
    out = tmp_path / "x1.html"
    result = CliRunner().invoke(cli, ["score", "phq-9", str(data), "-o", str(out)])
    assert out.exists(), result.output
    return parse(out)


def flag_box(doc: Node) -> tuple[str, str, list[Node]]:
    """The top box's state (its class), heading and listed flags."""
    box = doc.one("section", id="flags")
    [state] = set(box.attrs["class"].split()) - {"alert"}
    return state, box.one("h2").text(), box.all("li", cls="flag")


def test_item_9_left_blank_makes_an_amber_box_headed_risk_could_not_be_checked(tmp_path):
    doc = client_report(tmp_path, phq(1, "0"), phq(2, ""))
    state, heading, [flag] = flag_box(doc)
    assert (state, heading) == ("unknown", "? Risk could not be checked")
    assert "No risk flags raised" not in doc.text()
    box = doc.one("section", id="flags").text()
    assert "No risk flag was raised, but 1 risk flag could not be checked" in box
    assert "unknown" in flag.attrs["class"].split()
    assert flag.one("p", cls="flag-head").text() == (
        "risk not checked Patient Health Questionnaire-9 (PHQ-9) · Session 2 (2026-10-02)"
    )
    assert flag.one("p", cls="flag-label").text().startswith("Thoughts of being better off dead")
    assert flag.one("p", cls="why").text() == "Why unknown: phq9_9 was not answered"
    assert (
        flag.one("p", cls="action")
        .text()
        .startswith(
            f"What to do: Ask the client about “{ITEM_9}” today. If it applies: Ask the client"
        )
    )


def test_an_unreadable_item_9_is_said_to_be_unreadable(tmp_path):
    doc = client_report(tmp_path, phq(1, "0"), phq(2, "7"))  # 7 is no answer: the row is invalid
    state, _, [flag] = flag_box(doc)
    assert state == "unknown"
    assert "Session 2 (2026-10-02)" in flag.one("p", cls="flag-head").text()
    assert (
        flag.one("p", cls="why").text()
        == "Why unknown: the answer to phq9_9 ('7') could not be read"
    )
    assert (
        "row 3, column phq9_9 (value '7')"
        in section(doc, "phq-9").one("div", cls="problems").text()
    )


def test_item_9_answered_2_makes_the_box_red_and_lists_what_is_unknown_too(tmp_path):
    doc = client_report(tmp_path, phq(1, ""), phq(2, "2"))
    state, heading, flags = flag_box(doc)
    assert (state, heading) == ("risk", "⚠ Risk flag raised (1)")
    raised, unknown = flags
    assert "Session 2 (2026-10-02)" in raised.text() and "unknown" not in raised.attrs["class"]
    assert "Session 1 (2026-10-01)" in unknown.text() and "unknown" in unknown.attrs["class"]
    assert [h.text() for h in doc.one("section", id="flags").all("h3")] == [
        "Risk could not be checked (1)"
    ]


def test_every_risk_flag_checked_and_clear_makes_the_box_green(tmp_path):
    doc = client_report(tmp_path, phq(1, "0"), phq(2, "0", item_1=""))  # a blank elsewhere
    state, heading, flags = flag_box(doc)
    assert (state, heading, flags) == ("clear", "✓ No risk flags raised", [])
    assert "could not be checked" not in doc.one("section", id="flags").text()


def glance(doc: Node) -> list[str]:
    """The At a glance row of the PHQ-9 total: measure, first, latest, first to latest."""
    table = doc.one("section", cls="keep").one("table")
    return next(r for r in table_rows(table) if r[0] == "PHQ-9 total")


def test_a_change_that_could_not_be_computed_says_so_where_the_change_would_be(tmp_path):
    doc = client_report(
        tmp_path,
        phq(1, "0"),  # total 8
        phq(2, "", item_1="3"),  # not scorable
        "X1,3,2026-10-03,3,3,3,3,3,3,3,3,0,1",  # 24: reliably worse than session 1
        phq(4, "0", item_1=""),  # not scorable: the latest has no score
    )
    figure = section(doc, "phq-9").one("figure", cls="chart-figure")
    changes = [row[-1] for row in table_rows(figure.one("table"))[1:]]
    assert changes == [
        "",
        "could not be computed (no score at this administration)",
        "+16 from Session 1 (reliably deteriorated)",
        "could not be computed (no score at this administration)",
    ]
    worse = doc.one("section", cls="keep").one("tr", cls="worse")  # still marked, never hidden
    assert glance(doc) == [
        "PHQ-9 total",
        "8 (Session 1)",
        "24 (Session 3)",
        "▲ could not be computed (Session 4 not scorable); Session 1 to Session 3: "
        "reliably deteriorated",
    ]
    assert worse.one("th").text() == "PHQ-9 total"


def test_no_change_at_all_when_the_first_administration_has_no_score(tmp_path):
    doc = client_report(tmp_path, phq(1, ""), phq(2, "0"))
    figure = section(doc, "phq-9").one("figure", cls="chart-figure")
    assert [row[-1] for row in table_rows(figure.one("table"))[1:]] == [
        "",
        "could not be computed (no score at an earlier administration)",
    ]
    assert glance(doc)[-1] == "could not be computed (Session 1 not scorable)"


@pytest.mark.parametrize("item_9, state", [("1", "risk"), ("0", "clear"), ("", "unknown")])
def test_a_mistyped_date_does_not_hide_item_9(tmp_path, item_9, state):
    # The engine checks an invalid row's flags on the answers it could read.
    doc = client_report(tmp_path, phq(1, "0"), f"X1,2,01/10/2026,1,1,1,1,1,1,1,1,{item_9},1")
    assert flag_box(doc)[0] == state
    assert (
        "row 3, column administered_at" in section(doc, "phq-9").one("div", cls="problems").text()
    )
    assert "could not be read (see Problems)" not in doc.text()
    if state == "unknown":  # why: the answer it needs, not the date
        [unknown] = flag_box(doc)[2]
        assert unknown.one("p", cls="why").text() == "Why unknown: phq9_9 was not answered"


def test_an_invalid_row_whose_flags_were_not_evaluated_is_never_clear(registry, tmp_path):
    data = write_csv(
        tmp_path / "phq.csv", PHQ_HEADER, phq(1, "0"), "X1,2,01/10/2026,1,1,1,1,1,1,1,1,0,1"
    )
    out = tmp_path / "x1.html"
    results = nefkit.score("phq-9", data, registry)

    def unevaluated():  # as an engine gives rows whose flags it did not evaluate
        for row in results.rows:
            if not row.valid:
                row.flags = {}
            yield row

    nefkit.render(dataclasses.replace(results, rows=unevaluated()), out, reg=registry)
    state, _, [flag] = flag_box(parse(out))
    assert state == "unknown"
    assert flag.one("p", cls="why").text() == (
        "Why unknown: this administration could not be read (see Problems), "
        "so its flags were not checked"
    )
    assert f"Ask the client about “{ITEM_9}” today." in flag.one("p", cls="action").text()


def test_a_not_scorable_total_is_shown_in_the_timeline(registry, tmp_path):
    doc = client_report(tmp_path, phq(1, "0"), phq(2, ""))
    figure = section(doc, "phq-9").one("figure", cls="chart-figure")
    assert "not scorable" in figure.one("svg").text()
    [first, second] = table_rows(figure.one("table"))[1:]
    assert first[:2] == ["Session 1 (2026-10-01)", "8"]
    assert second[1].startswith("not scorable: ") and "phq9_9" in second[1]


def test_timeline_per_outcome_score_with_bands_threshold_and_deterioration(c005):
    phq = section(c005, "phq-9")
    [figure] = phq.all("figure", cls="chart-figure")
    svg = figure.one("svg")
    assert svg.attrs["role"] == "img"
    assert svg.one("title").text() == "PHQ-9 total by session"
    labels = [t.text() for t in svg.all("text")]
    for band in ("Minimal 0–4", "Mild 5–9", "Moderate 10–14", "Moderately severe 15–19"):
        assert band in labels  # each band's name over its range
    assert "Severe 20–27" in labels and "Caseness: 10 or more" in labels
    assert ["12", "14", "18"] == [t for t in labels if t in ("12", "14", "18")]
    # Deterioration is a triangle with words, not a colour: one triangle, at session 3.
    assert "reliably worse than Session 1" in labels
    triangles = [p for p in svg.all("path") if p.attrs["d"].count("L") == 2]
    assert len(triangles) == 2  # the marker and its legend entry
    assert "Reliable deterioration" in labels
    assert table_rows(figure.one("table")) == [
        ["Administration", "Score", "Band", "Caseness", "Change from previous"],
        ["Session 1 (2026-09-11)", "12", "Moderate", "yes", ""],
        ["Session 2 (2026-09-18)", "14", "Moderate", "yes", "+2 (no reliable change)"],
        ["Session 3 (2026-09-25)", "18", "Moderately severe", "yes", "+4 (no reliable change)"],
    ]
    assert "Session 1 to Session 3: 12 → 18 (+6), reliably deteriorated (first to latest)" in (
        figure.one("ul", cls="changes").text()
    )


def test_at_a_glance_shows_first_latest_and_the_classification(c005):
    glance = c005.one("section", **{"aria-labelledby": "glance-title"})
    assert table_rows(glance.one("table"))[1:] == [
        ["PHQ-9 total", "12 (Session 1)", "18 (Session 3)", "▲ reliably deteriorated"],
        ["GAD-7 total", "14 (Session 1)", "18 (Session 3)", "▲ reliably deteriorated"],
    ]


def test_neq_profile_lists_effects_with_impact_and_cause(c005):
    neq = section(c005, "neq-20")
    profile = neq.one("div", cls="profile")
    assert profile.one("h3").text() == "Negative effects reported · Session 3 (2026-09-25)"
    assert table_rows(profile.one("table"))[1:] == [
        ["I felt like I was under more stress", "1 – Slightly", "The treatment I received"],
        ["I felt more worried", "1 – Slightly", "The treatment I received"],
        ["I experienced more hopelessness", "1 – Slightly", "The treatment I received"],
    ]
    assert profile.one("summary").text() == "Not experienced (17)"
    scores = {row[0]: row[1] for row in table_rows(neq.one("table", cls="scores"))[1:]}
    assert scores["Negative effects experienced (number)"] == "3"
    assert scores["Negative effects attributed to the treatment (number)"] == "3"
    assert scores["Mean negative impact of the effects experienced"] == "1"
    quote = neq.one("figure", cls="own-words").one("blockquote").text()
    assert quote == "I felt rushed at the end of sessions and did not want to say so."


def test_reflection_inventory_in_the_clients_own_words_item_by_item(c005):
    tri_section = section(c005, "therapy-reflection")
    answers = {
        div.one("dt").text(): div.one("dd").text() for div in tri_section.one("dl").all("div")
    }
    assert answers == {
        "Overall, has therapy enhanced or diminished your resilience: your ability to cope when "
        "things get hard?": "Somewhat enhanced it",
        "Since starting therapy, do you feel more connected to the people and community around "
        "you, or more isolated from them?": "Somewhat more isolated",
        "Have you had negative effects from therapy that were not acknowledged, by your therapist "
        "or by others?": "Yes",
        "If you would like to, describe those effects in your own words.": "I was tired for weeks "
        "and nobody asked.",
        "Did anyone discuss the possible risks or side effects of therapy with you, before or "
        "during it?": "No",
        "Do you 'bank' difficult experiences, saving them up to bring to your next session rather "
        "than dealing with them as they happen?": "Yes",
        "Has saving difficult experiences for your sessions been helpful to you?": "Mixed",
        "Have you ever tried group therapy?": "No",
        "Why, or why not?": "Too shy",
        "Which relationships and practices outside professional help support you? Choose all "
        "that apply.": "Family; Friends; Something else",
        "What else supports you?": "Drawing",
    }
    assert tri_section.all("table") == [] and tri_section.all("svg") == []  # no total, no chart


def test_citations_licences_and_provenance_close_the_report(c005):
    sources = c005.one("section", id="sources")
    main_sections = [c for c in c005.one("main").children if isinstance(c, Node)]
    assert main_sections[-1] is sources
    phq = nefkit.get_plan("phq-9").instrument
    article = sources.all("article")[0]
    assert phq.citation in article.text() and phq.licence in article.text()
    assert phq.content_hash in article.one("code").text()
    assert f"nefkit {nefkit.__version__}" in article.text()
    assert len(sources.all("article")) == 4


def test_one_respondent_in_the_data_makes_a_client_report(registry, tmp_path):
    rows = [line for line in (DEMO / "gad-7.csv").read_text().splitlines() if "C010" in line]
    header = (DEMO / "gad-7.csv").read_text().splitlines()[0]
    out = tmp_path / "one.html"
    nefkit.render(
        nefkit.score("gad-7", write_csv(tmp_path / "g.csv", header, *rows), registry),
        out,
        reg=registry,
    )
    doc = parse(out)
    assert doc.one("h1").text() == "Respondent C010"
    assert "reliably worse than Session 1" in section(doc, "gad-7").one("svg").text()


def test_a_respondent_with_no_administrations_gets_an_empty_report_saying_so(registry, tmp_path):
    out = tmp_path / "nobody.html"
    nefkit.render(
        demo(registry, "phq-9"), out, options=RenderOptions(respondent="C999"), reg=registry
    )
    doc = parse(out)
    assert doc.one("h1").text() == "Respondent C999"
    assert "Not administered to this respondent" in section(doc, "phq-9").text()
    assert doc.all("svg") == []


def test_a_client_report_never_shows_another_persons_rows(registry, tmp_path):
    """Even when called directly with every row, not through nefkit.render's filter."""
    out = tmp_path / "c005.html"
    document = Scores(tuple(demo(registry, "phq-9")))
    HtmlRenderer().write(document, out, RenderOptions(respondent="C005"))
    doc = parse(out)
    rows = table_rows(section(doc, "phq-9").one("figure").one("table"))[1:]
    assert [r[:2] for r in rows] == [
        ["Session 1 (2026-09-11)", "12"],
        ["Session 2 (2026-09-18)", "14"],
        ["Session 3 (2026-09-25)", "18"],
    ]
    assert [t.text() for t in doc.one("section", id="flags").all("p", cls="flag-label")] == [
        "Thoughts of being better off dead or of self-harm (item 9 above 0)"
    ]


def test_nefkit_score_writes_html_reports(tmp_path):
    client, cohort = tmp_path / "c010.htm", tmp_path / "cohort.html"
    data = str(DEMO / "gad-7.csv")
    runner = CliRunner()
    result = runner.invoke(cli, ["score", "gad-7", data, "-o", str(client), "--respondent", "C010"])
    assert result.exit_code == 0, result.output
    assert parse(client).one("h1").text() == "Respondent C010"
    args = ["score", "gad-7", data, "-o", str(cohort), "--by", "therapist", "--min-cell", "4"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    rows = table_rows(section(parse(cohort), "gad-7").one("div", cls="groups").one("table"))
    assert [r[:2] for r in rows[1:]] == [
        ["All respondents", "12"],
        ["T1", "4"],
        ["T2", "4"],
        ["T3", "4"],
    ]


# --- cohort report -----------------------------------------------------------------------------


def test_cohort_effects_beside_published_figures(cohort):
    neq = section(cohort, "neq-20")
    rows = {row[0]: row for row in table_rows(neq.one("table", cls="effects"))[1:]}
    # neq02 "under more stress": yes for C001, C005, C009, C010, C011, C012 (6 of 12); cause
    # "the treatment" for C001, C005, C010 (3 of 12). Rozental et al. 2016 report 37.7%.
    assert rows["I felt like I was under more stress"][1:] == [
        "12",
        "50% (6)",
        "25% (3)",
        "1.83",
        "37.7% [1]",
    ]
    # neq08 "unpleasant memories": C002, C003, C004, C009, C012 (5 of 12), none blamed on
    # treatment; two published figures, the Strauss et al. one unverified.
    memories = rows["Unpleasant memories resurfaced"]
    assert memories[2:4] == ["42% (5)", "0% (0)"]
    assert memories[5] == "38.4% [1] 57.8% [2] unverified"
    references = [li.text() for li in neq.one("ol", cls="references").all("li")]
    assert references[0].startswith("[1] NEQ-32 respondents: self-help treatment")
    assert "(n = 653)" in references[0] and "Rozental et al. 2016, PLoS ONE" in references[0]
    assert "(n = 244)" in references[1] and "Strauss B" in references[1]
    chart = neq.one("svg")
    assert chart.one("title").text() == "Percentage experiencing each effect"
    assert "57.8% [2] unverified" in [t.text() for t in chart.all("text")]


def test_cohort_share_deteriorated_against_the_literature(cohort):
    phq, gad = section(cohort, "phq-9"), section(cohort, "gad-7")
    # PHQ-9: only C005 (12 → 18); GAD-7: C005 (14 → 18) and C010 (15 → 21).
    phq_lead, phq_plot = (p.text() for p in phq.all("p", cls="lead"))
    assert "1 of 12 respondents (8%) reliably deteriorated" in phq_lead
    # Jacobson & Truax's plot says its classes in words: 8 recovered and 1 improved, 2 without
    # reliable change, C005 (12 to 18) deteriorated.
    assert phq_plot.startswith(
        "12 respondents' first score (across) against their latest (up): 9 reliably improved,"
        " 2 no reliable change, 1 reliably deteriorated"
    )
    gad_lead = gad.all("p", cls="lead")[0].text()
    assert "2 of 12 respondents (17%) reliably deteriorated" in gad_lead
    assert (
        "5–10% of clients deteriorate in routine care (Hatfield, McCullough, Frantz & Krieger 2010)"
        in gad_lead
    )
    assert "Routine care: 5–10%" in [t.text() for t in gad.all("text")]


def test_cohort_histogram_with_band_counts(cohort):
    phq = section(cohort, "phq-9")
    figure = next(f for f in phq.all("figure") if "Distribution" in f.one("h3").text())
    # Totals of the 44 complete PHQ-9 rows of the demo CSV (C008's session 2 has a blank).
    bands, values = figure.all("table")
    assert table_rows(bands)[1:] == [
        ["Minimal", "0–4", "6", "14%"],
        ["Mild", "5–9", "17", "39%"],
        ["Moderate", "10–14", "14", "32%"],
        ["Moderately severe", "15–19", "4", "9%"],
        ["Severe", "20–27", "3", "7%"],
    ]
    *bars, sample = [r for r in figure.one("svg").all("rect") if r.attrs.get("fill") == "#1d4e89"]
    assert len(bars) == len(table_rows(values)) - 1  # one bar per value that occurred
    assert sample.attrs["width"] == "14"  # and one beside "Administrations with each score"


def test_cohort_flags_counted(cohort):
    tables = section(cohort, "neq-20").all("table")
    [table] = [t for t in tables if [c.text() for c in t.all("caption")] == ["Flags raised"]]
    flags = table_rows(table)
    # neq10 yes for C006, C010 and C012.
    assert flags[1][0].startswith("Thoughts that it would be better not to exist")
    assert flags[1][1:] == ["risk", "3"]


def test_breakdown_groups_with_their_figures(cohort):
    groups = section(cohort, "phq-9").one("div", cls="groups")
    rows = table_rows(groups.one("table"))
    assert rows[0][:2] == ["format", "Respondents"]
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [
        ("All respondents", "12", "8% (1 of 12)"),
        ("group", "4", "25% (1 of 4)"),  # C005 is in a group
        ("individual", "4", "0% (0 of 4)"),
        ("internet", "4", "0% (0 of 4)"),
    ]
    assert groups.all("p", cls="suppressed") == []


def test_small_groups_are_hidden_and_the_report_says_so(registry, tmp_path):
    out = tmp_path / "cohort.html"
    nefkit.render(demo(registry, "phq-9"), out, options=RenderOptions(by="format"), reg=registry)
    groups = section(parse(out), "phq-9").one("div", cls="groups")
    assert [r[0] for r in table_rows(groups.one("table"))[1:]] == ["All respondents"]
    assert (
        groups.one("p", cls="suppressed")
        .text()
        .startswith("3 groups hidden because they have fewer than 5 respondents")
    )


def test_a_missing_breakdown_column_is_explained(registry, tmp_path):
    out = tmp_path / "cohort.html"
    nefkit.render(demo(registry, "gad-7"), out, options=RenderOptions(by="site"), reg=registry)
    assert "this data has no context column site" in section(parse(out), "gad-7").text()


def test_problems_are_counted_with_a_note(registry, tmp_path):
    header = "respondent_id,session," + ",".join(f"gad7_{i}" for i in range(1, 8))
    data = write_csv(tmp_path / "g.csv", header, "A,1,0,0,0,0,0,0,0", "B,1,0,0,0,9,0,0,x")
    out = tmp_path / "cohort.html"
    nefkit.render(nefkit.score("gad-7", data, registry), out, reg=registry)
    note = section(parse(out), "gad-7").one("p", cls="problems-note").text()
    assert note.startswith("2 problems in 1 row of the data")


def test_one_client_first_then_many_makes_a_cohort_report_counting_every_row(registry, tmp_path):
    """The first instrument's rows are all C005's: they are kept in case this is a client
    report, and counted once the second instrument shows many respondents."""
    lines = (DEMO / "phq-9.csv").read_text().splitlines()
    only = write_csv(tmp_path / "p.csv", lines[0], *[x for x in lines if x.startswith("C005")])
    out = tmp_path / "mixed.html"
    batch = [nefkit.score("phq-9", only, registry), *demo(registry, "gad-7")]
    nefkit.render(batch, out, reg=registry)
    doc = parse(out)
    assert doc.one("h1").text() == "Cohort report: 12 respondents"
    assert "1 respondent, 3 administrations" in section(doc, "phq-9").text()
    assert "1 of 1 respondent (100%) reliably deteriorated" in section(doc, "phq-9").text()


# --- safety and accessibility --------------------------------------------------------------------


def _no_active_content(doc: Node) -> None:
    assert doc.all("script") == [] and doc.all("iframe") == [] and doc.all("object") == []
    for node in doc.all():
        for name, value in node.attrs.items():
            assert not name.startswith("on"), (node.tag, name)
            assert name not in ("src", "href", "action", "srcset"), (node.tag, name)
            assert "javascript:" not in value.lower()
    css = doc.one("style").text()
    assert "@import" not in css and not re.search(r"url\((?!#)", css)
    for node in doc.all():  # SVG paints url(#pattern) only, from the same document
        fill = node.attrs.get("fill", "")
        assert not fill.startswith("url(") or fill.startswith("url(#"), fill


@pytest.mark.parametrize("report", ["c005", "cohort"])
def test_reports_are_self_contained_and_run_nothing(report, request):
    doc = request.getfixturevalue(report)
    _no_active_content(doc)
    metas = {m.attrs.get("name") or m.attrs.get("http-equiv"): m.attrs for m in doc.all("meta")}
    csp = metas["Content-Security-Policy"]["content"]
    assert csp.startswith("default-src 'none'; style-src 'unsafe-inline'")
    assert "script-src" not in csp  # default-src 'none' forbids scripts, fonts, images, fetches
    assert metas["viewport"]["content"] == "width=device-width, initial-scale=1"


@pytest.mark.parametrize("report", ["c005", "cohort"])
def test_every_chart_is_labelled_and_has_a_text_equivalent(report, request):
    doc = request.getfixturevalue(report)
    charts = doc.all("svg")
    assert charts
    ids = {node.attrs["id"] for node in doc.all() if "id" in node.attrs}
    for svg in charts:
        assert svg.attrs["role"] == "img"
        assert svg.one("title").text() and svg.one("desc").text()
        assert set(svg.attrs["aria-labelledby"].split()) <= ids
        figure = next(a for a in svg.ancestors() if a.tag == "figure")
        assert figure.all("table") or figure.all("p", cls="lead"), svg.one("title").text()


@pytest.mark.parametrize("report", ["c005", "cohort"])
def test_headings_nest_and_tables_scroll_on_a_phone(report, request):
    doc = request.getfixturevalue(report)
    levels = [int(n.tag[1]) for n in doc.all() if re.fullmatch(r"h[1-6]", n.tag)]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), levels
    for table in doc.all("table"):
        assert any("table-wrap" in a.attrs.get("class", "").split() for a in table.ancestors())
    css = doc.one("style").text()
    assert ".table-wrap { overflow-x: auto;" in css
    assert "@media print" in css and "@page" in css and "break-inside: avoid" in css


def test_answers_and_context_values_are_shown_as_text_never_run(registry, tmp_path):
    client_out = tmp_path / "client.html"
    nefkit.render(
        nefkit.score("therapy-reflection", tri(tmp_path, SCRIPT), registry),
        client_out,
        reg=registry,
    )
    doc = parse(client_out)
    _no_active_content(doc)
    assert SCRIPT in section(doc, "therapy-reflection").one("dl").text()

    lines = (DEMO / "gad-7.csv").read_text().splitlines()
    hostile = [lines[0]] + [line.replace(",group,", f",{SCRIPT},") for line in lines[1:]]
    data = write_csv(tmp_path / "g.csv", *hostile)
    cohort_out = tmp_path / "cohort.html"
    nefkit.render(
        nefkit.score("gad-7", data, registry),
        cohort_out,
        options=RenderOptions(by="format", min_cell=1),
        reg=registry,
    )
    doc = parse(cohort_out)
    _no_active_content(doc)
    assert SCRIPT in [
        r[0] for r in table_rows(section(doc, "gad-7").one("div", cls="groups").one("table"))
    ]


def test_labels_from_an_instrument_file_are_escaped_inside_charts_too(registry, tmp_path):
    definition = (Path(str(files("nefkit_instruments") / "definitions")) / "gad-7.toml").read_text()
    definition = definition.replace('label = "Minimal"', f'label = "{SCRIPT}"')
    definition = definition.replace('label = "GAD-7 total"', 'label = "Total <b>bold</b>"')
    path = tmp_path / "gad-7-hostile.toml"
    path.write_text(definition.replace('id = "gad-7"', 'id = "gad-7-hostile"'), encoding="utf-8")
    instrument = nefkit.load_instrument(path, registry)
    out = tmp_path / "client.html"
    results = nefkit.score(instrument, DEMO / "gad-7.csv", registry)
    nefkit.render(results, out, options=RenderOptions(respondent="C001"), reg=registry)
    doc = parse(out)
    _no_active_content(doc)
    svg = doc.one("svg")
    assert doc.all("b") == []
    # Too long a word for the band key, so broken between lines, every character kept.
    assert any(t.text().replace(" ", "").startswith(SCRIPT) for t in svg.all("text"))
    assert svg.one("title").text() == "Total <b>bold</b> by session"


# --- templates --------------------------------------------------------------------------------


OVERRIDE = """{% extends "default:client.html" %}
{% block title %}Clinic North: {{ report.respondent }}{% endblock %}
{% block glance %}<p id="overridden">FROM {{ source }}</p>{{ super() }}{% endblock %}
"""


def _client_with(registry, tmp_path, templates=None) -> Node:
    out = tmp_path / "client.html"
    nefkit.render(
        demo(registry, "phq-9"),
        out,
        options=RenderOptions(respondent="C005", templates=templates),
        reg=registry,
    )
    return parse(out)


def test_a_user_template_directory_overrides_and_extends_the_default(registry, tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "client.html").write_text(OVERRIDE.replace("{{ source }}", "user"))
    doc = _client_with(registry, tmp_path, user)
    assert doc.one("head").one("title").text() == "Clinic North: C005"
    assert doc.one("p", id="overridden").text() == "FROM user"
    # default: reached the original: the risk box and the glance table are still there.
    assert doc.one("section", id="flags").one("h2").text() == "⚠ Risk flag raised (1)"
    assert doc.one("section", **{"aria-labelledby": "glance-title"})


def test_a_plugin_template_directory_overrides_and_the_user_one_wins(
    registry, tmp_path, register_plugin
):
    plugin_dir, user = tmp_path / "plugin", tmp_path / "mine"
    plugin_dir.mkdir()
    user.mkdir()
    (plugin_dir / "client.html").write_text(OVERRIDE.replace("{{ source }}", "plugin"))
    (plugin_dir / "report.css").write_text("body { color: #000; } /* from the plugin */")

    class Looks:
        @nefkit.hookimpl
        def register_templates(self, register):
            register(plugin_dir)

    register_plugin(Looks(), name="looks")
    with_plugin = nefkit.get_registry()
    doc = _client_with(with_plugin, tmp_path)
    assert doc.one("p", id="overridden").text() == "FROM plugin"
    assert "from the plugin" in doc.one("style").text()  # included templates are overridable
    assert doc.one("section", id="flags")

    (user / "client.html").write_text(OVERRIDE.replace("{{ source }}", "user"))
    doc = _client_with(with_plugin, tmp_path, user)
    assert doc.one("p", id="overridden").text() == "FROM user"
    assert "from the plugin" in doc.one("style").text()  # the user overrode client.html only


def test_dates_read_as_dates_and_times_only_where_known():
    """A spreadsheet's date is a date-time at midnight: shown as the date alone."""
    import datetime as dt

    from nefkit_html.facts import when

    assert when(3, dt.datetime(2026, 3, 1)) == "Session 3 (2026-03-01)"
    assert when(None, dt.datetime(2026, 3, 1, 14, 30)) == "2026-03-01 14:30"
    assert when(2, dt.date(2026, 3, 8)) == "Session 2 (2026-03-08)"
