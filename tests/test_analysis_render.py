"""`nefkit analyze` written by the Excel and HTML renderers, from the demo clinic's data: the
workbook's numbers are the Analysis model's, unrounded; the page shows them rounded as it says;
the heat map has a cell per item pair with its value written in it; texts from an instrument
file arrive as text."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest
from helpers import registry
from openpyxl import load_workbook
from test_codebook import LINK, SCRIPT, hostile_registry
from test_html import _no_active_content, parse, table_rows

import nefkit
from nefkit.definitions.instrument import Instrument
from nefkit.documents import Psychometrics
from nefkit.renderers import RenderOptions
from nefkit.research.analysis import Analysis, analyze

DEMO = Path(str(files("nefkit_demo") / "data"))
MINUS = "\u2212"
TABLE_SHEETS = {"Items": "B2", "Answers": "B2", "Effects": "C2", "Scores": "B2"}


def shown(value, places: int) -> str:
    """A figure as the page documents it: rounded to ``places``, a true minus sign."""
    if value is None:
        return "–"
    text = f"{value:.{places}f}"
    if text.startswith("-"):
        text = text[1:] if float(text) == 0 else MINUS + text[1:]
    return text


def same(stored, figure) -> bool:
    """A figure as the workbook holds it: openpyxl writes a float to 16 significant digits
    (Excel itself shows 15), so the last bit may differ; nothing is rounded beyond that."""
    if figure is None or stored is None:
        return stored is figure
    return stored == pytest.approx(figure, rel=1e-15, abs=1e-15)


def records(ws) -> list[dict]:
    header, *rows = ws.iter_rows(values_only=True)
    return [dict(zip(header, row)) for row in rows]


def cells_by_header(ws) -> list[dict]:
    header, *rows = ws.iter_rows()
    names = [c.value for c in header]
    return [dict(zip(names, row)) for row in rows]


def write(analysis: Analysis, path: Path, reg=None) -> Path:
    """As `nefkit analyze` does: the renderer chosen by the file name writes it."""
    (reg or registry()).renderer_for(path).write(Psychometrics(analysis), path, RenderOptions())
    return path


@pytest.fixture(scope="module")
def phq(tmp_path_factory):
    analysis = analyze(nefkit.score("phq-9", DEMO / "phq-9.csv", registry()))
    out = tmp_path_factory.mktemp("phq")
    return analysis, write(analysis, out / "a.xlsx"), parse(write(analysis, out / "a.html"))


@pytest.fixture(scope="module")
def neq(tmp_path_factory):
    analysis = analyze(nefkit.score("neq-20", DEMO / "neq-20.csv", registry()))
    out = tmp_path_factory.mktemp("neq")
    return analysis, write(analysis, out / "n.xlsx"), parse(write(analysis, out / "n.html"))


def total(analysis: Analysis):
    [score] = [s for s in analysis.scores if s.reliability is not None]
    return score, score.reliability


# --- Excel -------------------------------------------------------------------------------------


def test_workbook_sheets_and_table_headers(phq, neq):
    assert load_workbook(phq[1]).sheetnames == [
        "Items",
        "Answers",
        "Scores",
        "Score categories",
        "Correlations",
        "Change methods",  # PHQ-9 has a change rule: reliable change by every method
        "Methods",
    ]
    book = load_workbook(neq[1])
    assert book.sheetnames == ["Items", "Answers", "Effects", "Scores", "Correlations", "Methods"]
    for title, freeze in TABLE_SHEETS.items():
        ws = book[title]
        assert ws.freeze_panes == freeze
        rows = ws.max_row
        assert re.fullmatch(rf"A1:[A-Z]+{rows}", ws.auto_filter.ref), (title, ws.auto_filter.ref)
        assert all(c.font.b for c in ws[1])


def test_workbook_scores_are_the_models_figures(phq):
    analysis, xlsx, _ = phq
    score, rel = total(analysis)
    ws = load_workbook(xlsx)["Scores"]
    rows = {row["score"].value: row for row in cells_by_header(ws)}
    row = rows["total"]
    assert same(row["alpha"].value, rel.alpha) and row["alpha"].number_format == "0.000"
    assert same(row["alpha 95% CI low"].value, rel.alpha_ci_low)
    assert same(row["alpha 95% CI high"].value, rel.alpha_ci_high)
    assert same(row["omega"].value, rel.omega) and row["omega"].number_format == "0.000"
    assert same(row["mean"].value, score.mean) and same(row["SD"].value, score.sd)
    assert (row["n"].value, row["complete"].value, row["not scorable"].value) == (44, 44, 1)
    assert row["complete cases"].value == rel.n_complete
    assert row["alpha note"].value == rel.alpha_note
    assert row["omega note"].value == rel.omega_note
    # A score without a reliability analysis says why, where alpha would be.
    severity = rows["severity"]
    assert severity["alpha"].value is None
    assert severity["alpha note"].value == next(
        s.reliability_note for s in analysis.scores if s.score_id == "severity"
    )
    categories = records(load_workbook(xlsx)["Score categories"])
    assert [(r["score"], r["category"], r["n"]) for r in categories if r["score"] == "case"] == [
        ("case", "yes", 21),
        ("case", "no", 23),
    ]


def test_workbook_items_are_the_models_figures(phq):
    analysis, xlsx, _ = phq
    _, rel = total(analysis)
    rows = cells_by_header(load_workbook(xlsx)["Items"])
    assert [r["item"].value for r in rows] == [i.item_id for i in analysis.items]
    for row, item in zip(rows, analysis.items):
        assert row["question"].value == item.text
        assert (row["asked"].value, row["n"].value, row["missing"].value) == (
            item.asked,
            item.answered,
            item.missing,
        )
        assert same(row["mean"].value, item.mean) and same(row["SD"].value, item.sd)
        assert same(row["floor %"].value, item.floor_percent)
        assert same(row["ceiling %"].value, item.ceiling_percent)
        assert row["floor %"].number_format == "0.0"
        entry = {e.score_id: e for e in item.item_total}.get("total")
        if entry is None:  # phq9_10 is asked, never scored
            assert row["total: item-total r"].value is None
            continue
        assert same(row["total: item-total r"].value, entry.corrected_r)
        assert row["total: item-total r"].number_format == "0.00"
        assert same(row["total: alpha if deleted"].value, entry.alpha_if_deleted)
        assert row["total: alpha if deleted"].number_format == "0.000"
        assert same(row["total: loading"].value, rel.loadings[rel.items.index(item.item_id)])
        for k, category in enumerate(item.distribution, 1):
            assert row[f"answer {k}"].value == f"{category.code} = {category.label}"
            assert row[f"answer {k} n"].value == category.count
            assert same(row[f"answer {k} %"].value, category.percent)
    assert [r["item"] for r in records(load_workbook(xlsx)["Answers"])][:4] == ["phq9_1"] * 4


def test_workbook_effects_are_the_models_figures(neq):
    analysis, xlsx, _ = neq
    rows = records(load_workbook(xlsx)["Effects"])
    assert len(rows) == len(analysis.effects) == 20
    for row, effect in zip(rows, analysis.effects):
        assert row["item"] == effect.item_id and row["effect"] == effect.text
        assert row["n"] == effect.answered
        assert row["experienced"] == effect.experienced
        assert same(row["experienced %"], effect.percent_experienced)
        assert row["attributed to treatment"] == effect.treatment
        assert same(row["treatment % of all"], effect.percent_treatment)
        assert same(row["treatment % of experienced"], effect.percent_treatment_of_experienced)
        assert same(row["impact mean"], effect.impact_mean)
        assert same(row["impact SD"], effect.impact_sd)
    # Counted by hand from the demo file: 6 of the 12 had more problems with their sleep.
    assert (rows[0]["experienced"], rows[0]["experienced %"]) == (6, 50.0)


def test_workbook_correlations_show_numbers_and_shades(phq):
    analysis, xlsx, _ = phq
    _, rel = total(analysis)
    ws = load_workbook(xlsx)["Correlations"]
    lines = list(ws.iter_rows())
    starts = [i for i, row in enumerate(lines) if row[0].value == "r"]
    [start] = starts
    k = len(rel.items)
    header = [c.value for c in lines[start][: k + 1]]
    assert header == ["r", *rel.items]
    fills = {}
    for i in range(k):
        row = lines[start + 1 + i]
        assert row[0].value == rel.items[i]
        for j in range(k):
            cell = row[1 + j]
            r = rel.correlations.r[i][j]
            assert same(cell.value, r) and cell.number_format == "0.00"
            fills[round(r, 2)] = cell.fill.fgColor.rgb
    assert fills[0.51].endswith("8FBBE0")  # .50 to .69: the third blue
    assert fills[0.26].endswith("DEEBF7")  # .10 to .29: the lightest blue
    assert fills[-0.01] in ("00000000", None)  # under .10: no shade
    assert fills[1.0].endswith("EEEEEE")  # the diagonal: grey
    # The n behind each entry, in a block of its own below.
    [n_start] = [i for i, row in enumerate(lines) if row[0].value == "n"]
    assert n_start > start + k
    for i in range(k):
        values = [c.value for c in lines[n_start + 1 + i][: k + 1]]
        assert values == [rel.items[i], *rel.correlations.n[i]]


def test_workbook_negative_correlations_are_shaded_orange(tmp_path):
    analysis = analyse_rows(
        tmp_path,
        ["a", "b", "c"],
        [[0, 4, 0], [1, 3, 2], [2, 2, 1], [3, 1, 4], [4, 0, 3], [2, 1, 2]],
    )
    rel = analysis.scores[0].reliability
    ws = load_workbook(write(analysis, tmp_path / "neg.xlsx"))["Correlations"]
    lines = list(ws.iter_rows())
    [start] = [i for i, row in enumerate(lines) if row[0].value == "r"]
    r_ab = rel.correlations.r[0][1]
    assert round(r_ab, 2) <= -0.9
    cell = lines[start + 1][2]
    assert same(cell.value, r_ab)
    assert cell.fill.fgColor.rgb.endswith("7F1D12") and cell.font.color.rgb.endswith("FFFFFF")


def test_workbook_methods_sheet(phq):
    analysis, xlsx, _ = phq
    ws = load_workbook(xlsx)["Methods"]
    values = [v for row in ws.iter_rows(values_only=True) for v in row if v is not None]
    for sentence in (*analysis.methods, *analysis.references):
        assert sentence in values
    assert "⚠ " + analysis.notes[0] in values
    pairs = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r[0] and r[1] is not None}
    assert pairs["rows read"] == 45
    assert pairs["administrations analysed"] == 45
    assert pairs["respondents"] == 12
    assert pairs["invalid rows (not analysed)"] == 0
    assert pairs["content hash"] == analysis.provenance.content_hash
    assert pairs["version"] == analysis.provenance.instrument_version
    assert pairs["scored by"] == f"nefkit {analysis.provenance.nefkit_version}"


# --- HTML --------------------------------------------------------------------------------------


def test_page_is_self_contained_and_headings_nest(phq, neq):
    for _, _, doc in (phq, neq):
        _no_active_content(doc)
        metas = {m.attrs.get("http-equiv"): m.attrs for m in doc.all("meta")}
        assert metas["Content-Security-Policy"]["content"].startswith("default-src 'none';")
        levels = [int(n.tag[1]) for n in doc.all() if re.fullmatch(r"h[1-6]", n.tag)]
        assert levels[0] == 1 and levels.count(1) == 1
        assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), levels
        for table in doc.all("table"):
            assert any("table-wrap" in a.attrs.get("class", "").split() for a in table.ancestors())


def test_page_puts_the_notes_first(phq):
    analysis, _, doc = phq
    main = doc.one("main")
    first = next(c for c in main.children if not isinstance(c, str))
    assert first.attrs["id"] == "notes" and "warning" in first.attrs["class"].split()
    assert [li.text() for li in first.all("li")] == list(analysis.notes)


def test_page_scores_are_rounded_as_documented(phq):
    analysis, _, doc = phq
    score, rel = total(analysis)
    assert "alpha, its confidence interval and omega to 3" in doc.one("header").text()
    row = doc.one("tr", id="score-total")
    assert row.one("td", cls="alpha").text() == shown(rel.alpha, 3) == "0.777"
    assert row.one("td", cls="ci").text() == (
        f"[{shown(rel.alpha_ci_low, 3)}, {shown(rel.alpha_ci_high, 3)}]"
    )
    assert row.one("td", cls="omega").text() == shown(rel.omega, 3)
    cells = [c.text() for c in row.all("td")]
    assert cells[:7] == ["44", "44", "0", "1", shown(score.mean, 2), shown(score.sd, 2), "2 to 24"]
    why = doc.one("div", cls="why-not").text()
    for s in analysis.scores:
        if s.reliability is None:
            assert s.label in why and s.reliability_note in why


def test_page_item_total_statistics(phq):
    analysis, _, doc = phq
    _, rel = total(analysis)
    section = doc.one("section", id="scale-total")
    rows = table_rows(section.one("table", cls="item-total"))[1:]
    assert [r[0] for r in rows] == list(rel.items)
    for row, entry, loading in zip(rows, rel.item_total, rel.loadings):
        assert row[3:] == [
            shown(entry.corrected_r, 2),
            shown(entry.alpha_if_deleted, 3),
            shown(loading, 2),
        ]
    items = {r[0]: r for r in table_rows(doc.one("table", cls="items"))[1:]}
    phq9_4 = next(i for i in analysis.items if i.item_id == "phq9_4")
    assert items["phq9_4"][3] == f"1 ({shown(phq9_4.missing_percent, 1)}%)" == "1 (2.2%)"
    assert items["phq9_1"][-2:] == [
        shown(analysis.items[0].item_total[0].corrected_r, 2),
        shown(analysis.items[0].item_total[0].alpha_if_deleted, 3),
    ]


def test_heat_map_has_a_cell_per_item_pair_with_its_value_as_text(phq):
    analysis, _, doc = phq
    _, rel = total(analysis)
    k = len(rel.items)
    table = doc.one("section", id="scale-total").one("table", cls="heatmap")
    head = [th.text() for th in table.one("thead").all("th")]
    assert head == list(rel.items)
    body = table.one("tbody").all("tr")
    assert len(body) == k
    for i, tr in enumerate(body):
        assert tr.one("th").text() == rel.items[i]
        cells = tr.all("td")
        assert len(cells) == k
        for j, td in enumerate(cells):
            r = rel.correlations.r[i][j]
            assert td.text() == shown(r, 2)
            classes = td.attrs["class"].split()
            shade = [c for c in classes if re.fullmatch(r"(pos|neg)-[1-5]", c)]
            if i == j:
                assert "diag" in classes and not shade
            elif abs(round(r, 2)) < 0.10:
                assert not shade
            else:
                assert shade == [f"{'pos' if r > 0 else 'neg'}-{_level(r)}"]
                assert td.text().startswith(MINUS) == (r < 0)
            if i != j:
                assert td.attrs["title"] == (
                    f"{rel.items[i]} and {rel.items[j]}: r = {shown(r, 2)},"
                    f" n = {rel.correlations.n[i][j]}"
                )
    # The key says in words what each shade means; pairs' n are given too.
    key = table_rows(doc.one("section", id="scale-total").one("table", cls="heat-key"))
    assert key[0] == ["Size of r", "Positive", "Negative"]
    assert key[3] == [".30 to .49", "0.30 to 0.49", f"{MINUS}0.30 to {MINUS}0.49"]
    pairs = doc.one("section", id="scale-total").one("table", cls="pair-counts")
    assert [list(map(int, r[1:])) for r in table_rows(pairs)[1:]] == [
        list(row) for row in rel.correlations.n
    ]


def _level(r: float) -> int:
    return sum(1 for least in (0.10, 0.30, 0.50, 0.70, 0.90) if abs(round(r, 2)) >= least)


def test_page_answers_are_grouped_by_answer_options(phq, neq):
    analysis, _, doc = phq
    tables = doc.one("section", id="items").all("table", cls="distribution")
    assert len(tables) == 2  # the frequency items, and the difficulty question
    rows = table_rows(tables[0])
    assert rows[0] == ["Item", *(f"{c.code} = {c.label}" for c in analysis.items[0].distribution)]
    assert rows[1] == ["phq9_1", "18 (40.0%)", "13 (28.9%)", "6 (13.3%)", "8 (17.8%)"]
    _, _, neq_doc = neq
    captions = [t.one("caption").text() for t in neq_doc.all("table", cls="distribution")]
    assert captions == [
        "Items answered on: 0 = No; 1 = Yes",
        "Items answered on: 0 = Not at all; 1 = Slightly; 2 = Moderately; 3 = Very; 4 = Extremely",
        "Items answered on: 1 = The treatment I received; 0 = Other circumstances",
    ]


def test_page_effects_table(neq):
    analysis, _, doc = neq
    rows = table_rows(doc.one("section", id="effects").one("table"))[1:]
    assert len(rows) == 20
    for row, e in zip(rows, analysis.effects):
        assert row[0] == f"{e.text} {e.item_id}"
        assert row[1:5] == [
            str(e.answered),
            f"{e.experienced} ({shown(e.percent_experienced, 1)}%)",
            f"{e.treatment} ({shown(e.percent_treatment, 1)}%)",
            shown(e.percent_treatment_of_experienced, 1),
        ]
        assert row[6] == f"{shown(e.impact_mean, 2)} ({shown(e.impact_sd, 2)})"
    assert rows[0][2] == "6 (50.0%)"
    # No score of the NEQ adds up items: no heat map, and the page says why.
    assert doc.all("table", cls="heatmap") == []
    assert "does not add up or average items" in doc.one("div", cls="why-not").text()
    assert doc.one("section", id="notes").one("h2").text() == "No notes on this dataset"


def test_page_methods_references_and_provenance(phq):
    analysis, _, doc = phq
    section = doc.one("section", id="methods")
    assert [li.text() for li in section.one("ol", cls="methods").all("li")] == [
        " ".join(m.split()) for m in analysis.methods
    ]
    assert [li.text() for li in section.one("ol", cls="analysis-references").all("li")] == list(
        analysis.references
    )
    facts = {d.one("dt").text(): d.one("dd").text() for d in section.all("div")}
    assert facts["Content hash"] == analysis.provenance.content_hash
    assert facts["Administrations analysed"] == "45"
    assert facts["Respondents"] == "12"


# --- small and hostile datasets -----------------------------------------------------------------


def analyse_rows(tmp_path: Path, items: list[str], rows: list[list]) -> Analysis:
    instrument = Instrument.model_validate(
        {
            "id": "scale-test",
            "version": "1",
            "title": "A test scale",
            "citation": "none",
            "licence": "none",
            "source": "none",
            "scales": {
                "agree": {"choices": [{"value": v, "label": f"level {v}"} for v in range(5)]}
            },
            "items": [
                {"id": i, "text": f"Item {i}", "scale": "agree", "optional": True} for i in items
            ],
            "scores": [{"id": "total", "label": "Total", "rule": "sum", "items": items}],
        }
    )
    data = tmp_path / "data.csv"
    lines = ["respondent_id," + ",".join(items)]
    lines += [
        f"r{n}," + ",".join("" if v is None else str(v) for v in row) for n, row in enumerate(rows)
    ]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return analyze(nefkit.score(instrument, data, registry()))


def test_alpha_not_computed_is_said_in_both_formats(tmp_path):
    analysis = analyse_rows(tmp_path, ["a", "b", "c"], [[1, 2, 3], [1, None, 2], [None, 1, 1]])
    rel = analysis.scores[0].reliability
    assert rel.alpha is None and rel.omega is None
    row = records(load_workbook(write(analysis, tmp_path / "x.xlsx"))["Scores"])[0]
    assert row["alpha"] is None and row["omega"] is None
    assert row["alpha note"] == rel.alpha_note and row["omega note"] == rel.omega_note
    doc = parse(write(analysis, tmp_path / "x.html"))
    score = doc.one("tr", id="score-total")
    assert score.one("td", cls="alpha").text() == "–"
    why = doc.one("div", cls="why-not").text()
    assert f"alpha {rel.alpha_note}" in why and f"omega {rel.omega_note}" in why
    # Some pairs rest on no administrations at all: "n/c", never a made-up number.
    heat = doc.one("table", cls="heatmap")
    texts = [td.text() for td in heat.all("td") if "corner" not in td.attrs.get("class", "")]
    assert len(texts) == 9
    for text, r in zip(texts, [r for row in rel.correlations.r for r in row]):
        assert text == ("n/c" if r is None else shown(r, 2))


def test_hostile_labels_arrive_as_text(tmp_path):
    reg = hostile_registry(tmp_path)
    data = tmp_path / "h.csv"
    data.write_text("respondent_id,a1,a2,a3\nr1,0,1,2\nr2,1,1,2\nr3,2,2,1\nr4,0,0,1\n")
    analysis = analyze(nefkit.score("hostile-3", data, reg))

    doc = parse(write(analysis, tmp_path / "h.html", reg))
    _no_active_content(doc)
    assert doc.all("script") == doc.all("b") == doc.all("i") == []
    assert doc.one("h1").text() == "Hostile <b>three</b>"
    items = table_rows(doc.one("table", cls="items"))
    assert [row[1] for row in items[1:]] == [SCRIPT, LINK, "+cmd|' /C calc'!A0"]
    heads = table_rows(doc.one("table", cls="distribution"))[0]
    assert heads == [
        "Item",
        '0 = =HYPERLINK("http://example.com","never")',
        "1 = <script>alert(1)</script>",
        "2 = -2+3",
    ]
    assert doc.one("h2", id="scale-total-title").text() == "Reliability: <i>Total</i>"

    book = load_workbook(write(analysis, tmp_path / "h.xlsx", reg))
    rows = cells_by_header(book["Items"])
    assert [r["question"].value for r in rows] == [SCRIPT, LINK, "+cmd|' /C calc'!A0"]
    assert rows[1]["question"].data_type == "s" and rows[1]["question"].quotePrefix
    answers = [r["answer"] for r in records(book["Answers"])]
    assert answers[:3] == [
        '=HYPERLINK("http://example.com","never")',
        "<script>alert(1)</script>",
        "-2+3",
    ]
    for ws in book:
        for line in ws.iter_rows():
            for cell in line:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)


# --- the command line --------------------------------------------------------------------------


def test_analyze_command_writes_xlsx_and_html(nefkit_cli, tmp_path, phq):
    analysis = phq[0]
    _, rel = total(analysis)
    data = DEMO / "phq-9.csv"
    result = nefkit_cli("analyze", "phq-9", data, "-o", tmp_path / "x.xlsx")
    assert result.exit_code == 0, result.output
    assert "Analysed 45 administrations" in result.output
    row = records(load_workbook(tmp_path / "x.xlsx")["Scores"])[0]
    assert same(row["alpha"], rel.alpha) and same(row["alpha 95% CI low"], rel.alpha_ci_low)

    result = nefkit_cli("analyze", "phq-9", data, "-o", tmp_path / "x.html")
    assert result.exit_code == 0, result.output
    doc = parse(tmp_path / "x.html")
    assert doc.one("tr", id="score-total").one("td", cls="alpha").text() == shown(rel.alpha, 3)

    result = nefkit_cli("analyze", "phq-9", data, "--session", "1", "-o", tmp_path / "s1.xlsx")
    assert result.exit_code == 0, result.output
    methods = load_workbook(tmp_path / "s1.xlsx")["Methods"]
    pairs = {r[0]: r[1] for r in methods.iter_rows(values_only=True) if r[0] and r[1]}
    assert pairs["administrations analysed"] == 12
    assert pairs["rows excluded by the selection"] == 33
