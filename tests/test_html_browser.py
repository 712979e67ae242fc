"""The HTML reports in a real browser (headless Chromium through Selenium): the risk box and the
charts are visible with real sizes, the Content-Security-Policy blocks nothing the report uses,
and a phone-width window never scrolls sideways.

Needs Debian's ``chromium`` and ``chromium-driver``. Skipped when they are missing, unless
NEFKIT_REQUIRE_EXTERNAL is set (as in CI), where their absence is a failure. Screenshots go to
NEFKIT_SCREENSHOT_DIR when it is set (docs/client-report.png is made this way), else to a
temporary folder.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
import os
import shutil
import xml.etree.ElementTree as ET
from importlib.resources import files
from pathlib import Path

import pytest
from nefkit_html.chart_labels import text_width

import nefkit
from nefkit.renderers import RenderOptions

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
DEMO = Path(str(files("nefkit_demo") / "data"))
RISK_RED = "rgba(180, 35, 24, 1)"  # --risk in report.css
# axe-core from npm (.ci/run installs it there, or NEFKIT_AXE_JS names it)
AXE = os.environ.get("NEFKIT_AXE_JS") or str(
    Path.home() / ".cache/nefkit-axe/node_modules/axe-core/axe.min.js"
)

if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
    if not os.environ.get("NEFKIT_REQUIRE_EXTERNAL"):
        pytest.skip("chromium and chromedriver are not installed", allow_module_level=True)
    raise RuntimeError(
        f"NEFKIT_REQUIRE_EXTERNAL is set but {CHROMIUM} or {CHROMEDRIVER} is missing"
    )

from selenium import webdriver  # noqa: E402  (the skip above must come first)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.print_page_options import PrintOptions  # noqa: E402
from test_chart_geometry import Rect, Words, assert_clear, ink, view_of  # noqa: E402


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("NEFKIT_SCREENSHOT_DIR")
    return Path(folder) if folder else tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path]:
    registry = nefkit.get_registry()
    folder = tmp_path_factory.mktemp("reports")

    def batch():
        return [nefkit.score(i, DEMO / f"{i}.csv", registry) for i in ("phq-9", "gad-7", "neq-20")]

    client, cohort = folder / "c005.html", folder / "cohort.html"
    nefkit.render(batch(), client, options=RenderOptions(respondent="C005"), reg=registry)
    nefkit.render(batch(), cohort, options=RenderOptions(by="format", min_cell=4), reg=registry)
    return {"client": client, "cohort": cohort}


def open_report(browser, path: Path, width: int = 1000, height: int = 1700) -> None:
    browser.set_window_size(width, height)
    browser.get(path.as_uri())
    browser.get_log("browser")  # start each page with an empty console


def accessible(driver, page: str) -> None:
    """axe-core's WCAG 2.1 A and AA rules find nothing on the page."""
    if not os.path.exists(AXE):
        if os.environ.get("NEFKIT_REQUIRE_EXTERNAL"):
            pytest.fail(f"NEFKIT_REQUIRE_EXTERNAL is set but axe-core is missing: {AXE}")
        return
    driver.execute_script(Path(AXE).read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        ".then(r => done(JSON.stringify(r.violations.map(v => [v.id, v.impact, v.nodes.map(n => n.target)]))))"
        ".catch(e => done(JSON.stringify([['axe failed', String(e), []]])));"
    )
    assert json.loads(result) == [], f"{page}: {result}"


def visible(element) -> None:
    assert element.is_displayed()
    assert element.size["width"] > 0 and element.size["height"] > 0


def console_errors(browser) -> list[str]:
    """Console messages at warning level or above: a blocked style, font or fetch shows here."""
    return [e["message"] for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def save(browser, element, path: Path) -> None:
    element.screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def save_top(browser, down_to, path: Path) -> None:
    """The page from its top to the bottom of ``down_to``, at the window's width."""
    bottom = down_to.location["y"] + down_to.size["height"] + 8
    width = browser.execute_script("return document.documentElement.clientWidth")
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "clip": {"x": 0, "y": 0, "width": width, "height": bottom, "scale": 1},
            "captureBeyondViewport": True,
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_client_report_shows_the_risk_box_first_and_the_charts(browser, reports, shots):
    open_report(browser, reports["client"])
    box = browser.find_element(By.ID, "flags")
    visible(box)
    assert "Thoughts of being better off dead or of self-harm" in box.text
    assert "What to do: Ask the client about these thoughts today" in box.text
    assert box.value_of_css_property("border-left-color") == RISK_RED  # the inline CSS applies
    assert box.location["y"] < 300  # at the top, above everything but the header
    for chart_id in ("chart-client-0-phq-9-total", "chart-client-1-gad-7-total"):
        chart = browser.find_element(By.ID, chart_id)
        visible(chart)
        assert chart.location["y"] > box.location["y"] + box.size["height"]
        assert chart.size["width"] >= 600  # scaled to the page, not collapsed
        assert any(
            t.text == "reliably worse than Session 1" and t.is_displayed()
            for t in chart.find_elements(By.TAG_NAME, "text")
        )
    assert console_errors(browser) == []
    # The README's picture: the risk box, the glance table and the PHQ-9 chart with its summary.
    summary = browser.find_element(By.CSS_SELECTOR, "#phq-9 figure ul.changes")
    save_top(browser, summary, shots / "client-report.png")
    save(browser, box, shots / "client-risk-box.png")


def test_cohort_report_shows_its_charts(browser, reports, shots):
    open_report(browser, reports["cohort"])
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert (
        len(charts) == 7
    )  # PHQ-9 and GAD-7: deterioration, first against latest, distribution; NEQ: effects
    for chart in charts:
        browser.execute_script("arguments[0].scrollIntoView()", chart)
        visible(chart)
    effects = browser.find_element(By.ID, "chart-cohort-2-neq-20-effects")
    assert effects.size["height"] > 400  # twenty effects, each with a bar
    assert console_errors(browser) == []
    save(browser, effects, shots / "cohort-effects.png")
    first_histogram = browser.find_elements(By.CSS_SELECTOR, "#phq-9 figure")[1]
    save_top(browser, first_histogram, shots / "cohort-report.png")


LINE_BOXES = """
return [...arguments[0].querySelectorAll('text')].map(text => {
  const spans = text.querySelectorAll('tspan');
  return [...(spans.length ? spans : [text])].map(line => {
    const box = line.getBBox(), style = getComputedStyle(line);
    return [line.textContent, box.x, box.y, box.x + box.width, box.y + box.height,
            parseFloat(style.fontSize), parseInt(style.fontWeight)];
  });
});
"""
LONG_BANDS = {
    "Minimal": "Minimal: no more than the everyday worries that almost everyone has",
    "Mild": "חרדה קלה: דאגות שמופיעות בחלק מהימים",
    "Moderate": 'Moderate <b>&amp;</b> "quoted"',
    "Severe": "Pneumonoultramicroscopicsilicovolcanoconiosis",
}


def crowded_report(folder: Path) -> Path:
    """A client's forty PHQ-9 sessions, swinging across the whole scale, and twelve GAD-7
    ones with long band names: right-to-left, markup, a word longer than the band key."""
    registry = nefkit.get_registry()
    header = "respondent_id,session,administered_at,"

    def phq_row(session: int) -> str:  # totals 27, 18, 9 and 0 in turn
        level, day = session * 7 % 4, dt.date(2026, 1, 1) + dt.timedelta(days=session)
        impact = "1" if level else ""  # asked only after a symptom
        return f"X1,{session},{day},{','.join([str(level)] * 9)},{impact}\n"

    phq = folder / "phq.csv"
    phq.write_text(
        header
        + ",".join(f"phq9_{i}" for i in range(1, 11))
        + "\n"
        + "".join(phq_row(s) for s in range(1, 41))
    )
    definition = (Path(str(files("nefkit_instruments") / "definitions")) / "gad-7.toml").read_text()
    for short, long in LONG_BANDS.items():
        definition = definition.replace(f'label = "{short}"', f"label = '{long}'")
    (folder / "gad-7-long.toml").write_text(definition.replace('id = "gad-7"', 'id = "gad-7-long"'))
    gad = folder / "gad.csv"
    gad.write_text(
        header
        + ",".join(f"gad7_{i}" for i in range(1, 8))
        + "\n"
        + "".join(f"X1,{s},2026-01-{s:02d},{','.join([str(s % 4)] * 7)}\n" for s in range(1, 13))
    )
    instrument = nefkit.load_instrument(folder / "gad-7-long.toml", registry)
    results = [nefkit.score("phq-9", phq, registry), nefkit.score(instrument, gad, registry)]
    out = folder / "x1.html"
    nefkit.render(results, out, options=RenderOptions(respondent="X1"), reg=registry)
    return out


def test_chart_words_never_collide_in_chromium(browser, reports, tmp_path):
    """The honest check of the width estimate: Chromium's own box for every line of words
    (getBBox), in the demo's reports and a crowded client report, is no wider than nefkit
    reckoned, and crosses no line, mark or other words; on a wide screen and on a phone,
    where a chart is drawn smallest and device pixels round its text the most."""
    crowded = crowded_report(tmp_path)
    for path, width in itertools.product(
        (reports["client"], reports["cohort"], crowded), (1000, 390)
    ):
        open_report(browser, path, width=width)
        charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
        assert charts
        for chart in charts:
            svg = ET.fromstring(chart.get_attribute("outerHTML"))
            texts = browser.execute_script(LINE_BOXES, chart)
            for text, left, _, right, _, size, weight in (line for t in texts for line in t):
                assert right - left <= text_width(text, size, weight >= 600), text
            words = [
                Words(" ".join(line[0] for line in t), [Rect(*line[1:5]) for line in t])
                for t in texts
            ]
            assert_clear(words, *ink(svg), view_of(svg))


@pytest.mark.parametrize("report", ["client", "cohort"])
def test_a_phone_never_scrolls_sideways(browser, reports, report):
    open_report(browser, reports[report], width=390, height=844)
    page_width = browser.execute_script("return document.documentElement.scrollWidth")
    window_width = browser.execute_script("return window.innerWidth")
    assert page_width <= window_width
    visible(browser.find_element(By.CSS_SELECTOR, "svg.chart"))


def test_the_client_report_prints_with_its_risk_box(browser, reports, shots):
    open_report(browser, reports["client"])
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        box = browser.find_element(By.ID, "flags")
        visible(box)
        assert box.value_of_css_property("background-color") == "rgba(254, 243, 242, 1)"
        options = PrintOptions()
        options.page_width, options.page_height = 21.0, 29.7  # A4, in centimetres
        pdf = base64.b64decode(browser.print_page(options))
        assert pdf.startswith(b"%PDF")
        (shots / "client-report.pdf").write_bytes(pdf)
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})


@pytest.mark.parametrize("kind", ["client", "cohort"])
def test_reports_pass_axe(browser, reports, kind):
    open_report(browser, reports[kind])
    accessible(browser, f"the {kind} report")
