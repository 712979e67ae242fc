"""The Markdown renderer: what it writes, and that text from a data file stays text."""

import nefkit

from nefkit_tscore.markdown import escape

HEADER = "respondent_id,session,site,wb1,wb2,wb3,wb4,wb5\n"


def test_escape_leaves_no_html_link_or_cell_break():
    assert escape("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escape("a | b") == "a \\| b"
    assert escape("[click](javascript:x)") == "\\[click\\](javascript:x)"
    assert escape("*bold* _it_ `code` ~~gone~~ \\") == (
        "\\*bold\\* \\_it\\_ \\`code\\` \\~\\~gone\\~\\~ \\\\"
    )
    assert escape("&amp; &#60;") == "&amp;amp; &amp;#60;"
    assert escape("two\nlines\r\nhere") == "two lines here"
    assert escape("Ünïcode, 1.5 - ok") == "Ünïcode, 1.5 - ok"


def table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ")]


def cells(line: str) -> int:
    """The cells of a table row: pipes that are not escaped, less one."""
    return line.replace("\\|", "").count("|") - 1


def test_untrusted_text_cannot_break_the_table_or_inject_html(nefkit_cli, tmp_path):
    data = tmp_path / "clinic.csv"
    data.write_text(
        HEADER
        + 'C<img src=x onerror=alert(1)>,1,"North | x\nline two",1,2,3,2,1\n'
        + "C2,1,[link](http://example.org),=cmd|' /C calc'!A0,2,2,2,2\n",
        encoding="utf-8",
    )
    out = tmp_path / "scores.md"
    result = nefkit_cli("score", "wellbeing-5", data, "-o", out)
    assert result.exit_code == 1  # the second row's wb1 is not an answer
    text = out.read_text(encoding="utf-8")
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "[link]" not in text and "\\[link\\](http://example.org)" in text  # text, no link
    lines = table_lines(text)
    widths = {cells(line) for line in lines[:4]}
    assert len(widths) == 1, lines  # header, rule and both rows have the same number of cells
    [first, second] = lines[2:4]
    assert "North \\| x line two" in first and "| 9 | 45 |" in first
    assert "| invalid |" in second
    assert "column wb1 (value \"=cmd\\|' /C calc'!A0\"): not an answer to wb1" in second


def test_several_instruments_in_one_file(tmp_path):
    data = tmp_path / "w.csv"
    data.write_text(HEADER + "C1,1,North,2,2,2,2,2\n", encoding="utf-8")
    gad = tmp_path / "g.csv"
    gad.write_text(
        "respondent_id," + ",".join(f"gad7_{i}" for i in range(1, 8)) + "\nC1,1,1,1,1,1,1,1\n",
        encoding="utf-8",
    )
    out = tmp_path / "both.md"
    nefkit.render([nefkit.score("wellbeing-5", data), nefkit.score("gad-7", gad)], out)
    text = out.read_text(encoding="utf-8")
    assert "## Wellbeing-5 (invented example scale, not for clinical use)" in text
    assert "## Generalized Anxiety Disorder 7" in text
    assert text.count("1 rows, 0 invalid.") == 2


def test_markdown_writes_no_data_entry_template(nefkit_cli, tmp_path):
    result = nefkit_cli("template", "wellbeing-5", "-o", tmp_path / "entry.md")
    assert result.exit_code == 1
    assert "the markdown format does not write data-entry templates" in result.output
