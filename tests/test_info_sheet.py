"""The information sheet for clients: every effect asked about, verified figures only, each with
its source."""

import pytest
from test_html import parse, table_rows

import nefkit
from nefkit.errors import NefkitError
from nefkit.info_sheet import build_info_sheet
from nefkit.summary import effect_items

# Strauss et al. 2021: in the NEQ definitions, unverified (which NEQ item each figure belongs to
# is nefkit's inference).
UNVERIFIED = "57.8"  # and 30.3, the only figure for "I experienced more unpleasant feelings"


def test_every_effect_is_listed_with_only_its_verified_figures_each_sourced():
    plan = nefkit.get_plan("neq-20")
    sheet = build_info_sheet(plan)
    assert len(sheet.effects) == 20
    memories = next(e for e in sheet.effects if e.statement == "Unpleasant memories resurfaced")
    assert [f.percent for f in memories.figures] == [38.4]  # 57.8 (Strauss) is unverified
    verified = {
        (n.target, n.value)
        for n in plan.instrument.norms
        if n.statistic == "percent_experienced" and n.verified
    }
    items = {e.text: e.item_id for e in effect_items(plan)}
    shown = {(items[e.statement], f.percent) for e in sheet.effects for f in e.figures}
    assert shown == verified
    for effect in sheet.effects:
        for figure in effect.figures:
            assert 1 <= figure.source <= len(sheet.sources)
    assert not any("Strauss" in source for source in sheet.sources)


def test_the_text_sheet_reads_plainly(nefkit_cli, tmp_path):
    result = nefkit_cli("info-sheet", "neq-20", "-o", tmp_path / "sheet.txt")
    assert result.exit_code == 0, result.output
    raw = (tmp_path / "sheet.txt").read_text()
    text = " ".join(raw.split())  # as read, whatever the line breaks
    assert "please raise it at any session" in text
    assert "About 38 in 100 people (38.4%) in a study of people in an online self-help" in text
    assert "[source 1]" in text
    assert '\n- "I did not always understand my treatment"\n' in raw
    assert "[1] Rozental et al. 2016" in text


def test_an_unverified_figure_is_left_out_of_the_sheet_and_marked_in_the_codebook(
    nefkit_cli, tmp_path
):
    for name in ("sheet.html", "sheet.txt"):
        result = nefkit_cli("info-sheet", "neq-20", "-o", tmp_path / name)
        assert result.exit_code == 0, result.output
        text = " ".join((tmp_path / name).read_text().split())
        assert f"({UNVERIFIED}%)" not in text and "Strauss" not in text, name
        assert "could not fully check" not in text, name
    # An effect whose only figure is unverified (30.3%) is still listed, plainly.
    assert '\n- "I experienced more unpleasant feelings"\n-' in (tmp_path / "sheet.txt").read_text()

    result = nefkit_cli("codebook", "neq-20", "-o", tmp_path / "codebook.html")
    assert result.exit_code == 0, result.output
    header, *rows = table_rows(parse(tmp_path / "codebook.html").one("section", id="norms"))
    [row] = [r for r in rows if r[header.index("value")] == UNVERIFIED]
    assert row[header.index("verified")] == "unverified not checked in the source"


def test_an_outcome_measure_has_no_information_sheet():
    with pytest.raises(NefkitError, match="does not ask about the effects of treatment"):
        build_info_sheet(nefkit.get_plan("phq-9"))


def test_the_text_renderer_writes_results_too(tmp_path):
    data = tmp_path / "in.csv"
    data.write_text(
        "respondent_id,session,"
        + ",".join(f"phq9_{i}" for i in range(1, 10))
        + "\nC1,1,0,0,0,0,0,0,0,0,2\n"
    )
    nefkit.render(nefkit.score("phq-9", data), tmp_path / "out.txt")
    text = (tmp_path / "out.txt").read_text()
    assert "C1, session 1 (row 2)" in text
    assert "RISK RAISED: Thoughts of being better off dead" in text
    assert "PHQ-9 total: 2" in text


def test_the_html_sheet_is_self_contained_and_sourced(nefkit_cli, tmp_path):
    from html.parser import HTMLParser

    result = nefkit_cli("info-sheet", "neq-32", "-o", tmp_path / "sheet.html")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "sheet.html").read_text()
    tags = []

    class Tags(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append((tag, dict(attrs)))

    Tags().feed(page)
    assert not [t for t, a in tags if t == "script" or "src" in a]
    assert any(t == "meta" and a.get("http-equiv") == "Content-Security-Policy" for t, a in tags)
    text = " ".join(page.split())
    assert "&ldquo;Unpleasant memories resurfaced&rdquo;" in text
    assert "About 38 in 100 people (38.4%)" in text
    assert "please raise it at any session" in text
