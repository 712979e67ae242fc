"""The information sheet for clients: every effect asked about, verified figures only, each with
its source."""

import pytest
from test_html import parse, table_rows

import nefkit
from nefkit.clinic.info_sheet import build_info_sheet
from nefkit.errors import NefkitError
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


def test_the_text_renderer_says_which_flags_could_not_be_checked(tmp_path):
    data = tmp_path / "in.csv"
    data.write_text(
        "respondent_id,session,administered_at,"
        + ",".join(f"phq9_{i}" for i in range(1, 10))
        + "\nC1,1,2026-10-01,0,0,0,0,0,0,0,0,"  # item 9 blank
        + "\nC1,2,01/10/2026,0,0,0,0,0,0,0,0,0"  # a mistyped date: invalid
        + "\nC1,3,2026-10-03,0,0,0,0,0,0,0,0,0\n"
    )
    nefkit.render(nefkit.score("phq-9", data), tmp_path / "out.txt")
    blocks = (tmp_path / "out.txt").read_text().split("\n\n")
    first, second, third = (" ".join(b.split()) for b in blocks[1:4])
    assert first.startswith("C1, session 1, 2026-10-01 (row 2)")
    assert (
        "RISK could not be checked (an answer it needs is missing or unreadable): Thoughts" in first
    )
    # The date is unreadable, but item 9 was read: its flag is checked and clear.
    assert "NOT SCORED: row 3, column administered_at" in second and "RISK" not in second
    assert "RISK" not in third  # checked and clear


def test_the_text_renderer_uses_an_invalid_rows_flags_when_evaluated(tmp_path):
    data = tmp_path / "in.csv"
    data.write_text(
        "respondent_id,session,administered_at,"
        + ",".join(f"phq9_{i}" for i in range(1, 10))
        + "\nC1,1,01/10/2026,0,0,0,0,0,0,0,0,2\n"
    )
    nefkit.render(nefkit.score("phq-9", data), tmp_path / "out.txt")
    text = " ".join((tmp_path / "out.txt").read_text().split())
    assert "RISK RAISED: Thoughts of being better off dead" in text
    assert "NOT SCORED: row 2, column administered_at" in text


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


# --- what to do in a crisis ----------------------------------------------------------------

ASK = "Ask your clinician for this service's crisis contact"
CONTACT = "Call the duty team on 0000"  # obviously not a real number


def crisis(nefkit_cli, tmp_path, *options: str, name: str = "sheet.html") -> str:
    """The sheet's crisis box (HTML) or its section (text), as a client reads it."""
    result = nefkit_cli("info-sheet", "neq-20", "-o", tmp_path / name, *options)
    assert result.exit_code == 0, result.output
    if name.endswith(".html"):
        return parse(tmp_path / name).one("section", id="crisis").text()
    text = (tmp_path / name).read_text()
    return " ".join(text.split("In a crisis\n-----------\n", 1)[1].split("\n\n", 1)[0].split())


def settings(tmp_path, monkeypatch, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("NEFKIT_CONFIG", str(path))
    return path


def test_the_crisis_contact_given_as_an_option_is_on_the_sheet(nefkit_cli, tmp_path):
    for name in ("sheet.html", "sheet.txt"):
        box = crisis(nefkit_cli, tmp_path, "--crisis-contact", CONTACT, name=name)
        assert box.endswith(f"do not wait for your next session. {CONTACT}"), box
        assert ASK not in box


def test_the_crisis_contact_comes_from_the_settings_file(nefkit_cli, tmp_path, monkeypatch):
    settings(tmp_path, monkeypatch, f'[clinic]\ncrisis_contact = "{CONTACT}"\n')
    assert CONTACT in crisis(nefkit_cli, tmp_path)


def test_the_option_wins_over_the_settings_file(nefkit_cli, tmp_path, monkeypatch):
    settings(tmp_path, monkeypatch, '[clinic]\ncrisis_contact = "Call the front desk"\n')
    box = crisis(nefkit_cli, tmp_path, "--crisis-contact", CONTACT)
    assert CONTACT in box and "front desk" not in box


def test_without_a_contact_the_client_is_told_to_ask_and_no_number_is_made_up(nefkit_cli, tmp_path):
    for name in ("sheet.html", "sheet.txt"):
        box = crisis(nefkit_cli, tmp_path, name=name)
        assert ASK in box, box
        assert not any(c.isdigit() for c in box), box


def test_a_settings_file_in_the_default_place_is_read(nefkit_cli, tmp_path, monkeypatch):
    (tmp_path / "nefkit").mkdir()
    (tmp_path / "nefkit" / "config.toml").write_text(f'[clinic]\ncrisis_contact = "{CONTACT}"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert CONTACT in crisis(nefkit_cli, tmp_path)


@pytest.mark.parametrize(
    "text, names",
    [
        ("[clinic]\ncrisis_contact = 112\n", "clinic.crisis_contact"),
        ('[clinic]\ncrisis_contakt = "x"\n', "clinic.crisis_contakt: not a setting nefkit knows"),
        ('[clinic]\ncrisis_contact = "  "\n', "clinic.crisis_contact"),
        ("[clinic\n", "is not valid TOML"),
    ],
)
def test_a_bad_settings_file_is_one_error_naming_the_file_and_key(
    nefkit_cli, tmp_path, monkeypatch, text, names
):
    path = settings(tmp_path, monkeypatch, text)
    result = nefkit_cli("info-sheet", "neq-20", "-o", tmp_path / "sheet.html")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {path}: ") and names in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert not (tmp_path / "sheet.html").exists()


def test_a_settings_file_named_but_missing_is_an_error(nefkit_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("NEFKIT_CONFIG", str(tmp_path / "nope.toml"))
    result = nefkit_cli("info-sheet", "neq-20", "-o", tmp_path / "sheet.html")
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'nope.toml'}: the settings file does not exist\n"


def test_a_blank_crisis_contact_option_is_bad_usage(nefkit_cli, tmp_path):
    result = nefkit_cli("info-sheet", "neq-20", "-o", tmp_path / "s.html", "--crisis-contact", " ")
    assert result.exit_code == 2 and "--crisis-contact" in result.output


def test_the_crisis_contact_is_shown_as_text_never_run(nefkit_cli, tmp_path):
    hostile = "<script>alert(1)</script> <b>Call us</b>"
    result = nefkit_cli(
        "info-sheet", "neq-20", "-o", tmp_path / "s.html", "--crisis-contact", hostile
    )
    assert result.exit_code == 0, result.output
    page = (tmp_path / "s.html").read_text()
    assert "<script>" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;Call us&lt;/b&gt;" in page
    assert hostile in parse(tmp_path / "s.html").one("section", id="crisis").text()
