"""The information sheet for clients: every effect asked about, figures only with sources."""

import pytest

import nefkit
from nefkit.errors import NefkitError
from nefkit.info_sheet import build_info_sheet


def test_every_effect_is_listed_and_every_figure_has_its_source():
    sheet = build_info_sheet(nefkit.get_plan("neq-20"))
    assert len(sheet.effects) == 20
    memories = next(e for e in sheet.effects if e.statement == "Unpleasant memories resurfaced")
    figures = {(f.percent, f.verified) for f in memories.figures}
    assert figures == {(38.4, True), (57.8, False)}
    for effect in sheet.effects:
        for figure in effect.figures:
            assert 1 <= figure.source <= len(sheet.sources)
    assert any("Strauss" in source for source in sheet.sources)


def test_the_text_sheet_reads_plainly_and_flags_unchecked_figures(nefkit_cli, tmp_path):
    result = nefkit_cli("info-sheet", "neq-20", "-o", tmp_path / "sheet.txt")
    assert result.exit_code == 0, result.output
    raw = (tmp_path / "sheet.txt").read_text()
    text = " ".join(raw.split())  # as read, whatever the line breaks
    assert "please raise it at any session" in text
    assert "About 58 in 100 people (57.8%) in a survey of people in Germany" in text
    assert "we could not fully check this figure" in text
    assert '\n- "I did not always understand my treatment"\n' in raw
    assert "[2] Strauss B, Gawlytta R, Schleu A, Frenzl D (2021)" in text


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
    assert (
        "About 38 in 100 people (38.4%)" in text and "we could not fully check this figure" in text
    )
    assert "please raise it at any session" in text
