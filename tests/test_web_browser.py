"""nefkit serve in a real browser (headless Chromium through Selenium, against a real server on
a loopback port): a client fills in a PHQ-9 on a phone-sized window and an NEQ-20 with its
follow-ups on a desktop window, goes back, skips where allowed, closes the tab mid-way, opens
the link again and finishes; the clinician's alerts badge shows the risk without a reload.
Every page passes axe-core (WCAG 2.1 A and AA) with no violation.

Needs chromium and chromium-driver (the browser fixture of test_html_browser, with its skip
rules) and axe-core from npm: NEFKIT_AXE_JS names its axe.min.js (.ci/run installs it);
without it the accessibility checks are skipped, unless NEFKIT_REQUIRE_EXTERNAL is set.
Screenshots go to NEFKIT_SCREENSHOT_DIR when set (docs/web-form-phone.png and
docs/web-alerts.png are made this way).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
import test_html_browser as chromium  # its skip rules hold here too
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

import nefkit
from nefkit.clinic import invitations
from nefkit.clinic.alerts import Clinic
from nefkit.clinic.sqlite import open_store
from nefkit.clinic.users import hash_password

browser, shots, accessible = chromium.browser, chromium.shots, chromium.accessible
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A clinic database with a clinician, served by `nefkit serve` on a free loopback port."""
    db = tmp_path_factory.mktemp("serve") / "clinic.db"
    with open_store(db, create=True) as store:
        store.add_user("dr.lee", hash_password(PASSWORD), "admin")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "nefkit", "serve", "--port", str(port), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{base}/login", timeout=2)
            break
        except OSError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("nefkit serve did not start: " + process.stderr.read())
    yield base, db
    process.terminate()
    process.wait(timeout=20)


def invite(db, client, *ids) -> str:
    registry = nefkit.get_registry()
    plans = [nefkit.get_plan(i, registry) for i in ids]
    with open_store(db) as store:
        made = invitations.invite(
            Clinic(store, registry, "dr.lee"), client, plans, None, "question", invitations.LONGEST
        )
    return f"/f/{made.token}"


def question(driver) -> str:
    return driver.find_element(By.NAME, "item").get_attribute("value")


def _stale(element) -> bool:
    """Whether the page holding ``element`` has gone: Chromium says so either as a stale
    element or, mid-navigation, as a node no longer in the document."""
    try:
        element.is_enabled()
    except WebDriverException:  # StaleElementReferenceException among them
        return True
    return False


def submit(driver, button) -> None:
    """Click and wait for the next page."""
    page = driver.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(driver, 10).until(lambda _: _stale(page))


def choose(driver, value: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'input[name="answer"][value="{value}"]').click()
    submit(driver, driver.find_element(By.CSS_SELECTOR, 'button[value="answer"]'))


def press(driver, action: str) -> None:
    submit(driver, driver.find_element(By.CSS_SELECTOR, f'button[value="{action}"]'))


def no_sideways_scroll(driver) -> None:
    width = driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= driver.execute_script("return window.innerWidth")


def test_phq9_on_a_phone_with_back_skip_and_a_closed_tab(browser, server, shots):
    base, db = server
    link = invite(db, "C101", "phq-9")
    browser.set_window_size(320, 640)
    browser.get(base + link)
    assert question(browser) == "phq9_1"
    no_sideways_scroll(browser)
    accessible(browser, "question")
    browser.save_screenshot(str(shots / "web-form-phone.png"))
    choose(browser, "1")
    choose(browser, "2")
    press(browser, "back")
    assert question(browser) == "phq9_2"
    assert browser.find_element(By.CSS_SELECTOR, 'input[value="2"]').is_selected()
    choose(browser, "1")
    # The tab is closed mid-way; the link, opened again in a new one, carries on.
    first = browser.current_window_handle
    browser.switch_to.new_window("tab")
    browser.switch_to.window(first)
    browser.close()
    browser.switch_to.window(browser.window_handles[0])
    browser.get(base + link)
    assert question(browser) == "phq9_3"
    for value in ["0", "1", "0", "1", "0", "0", "3"]:  # the last: thoughts of self-harm
        choose(browser, value)
    assert question(browser) == "phq9_10"  # problems were ticked: the difficulty question
    press(browser, "skip")
    assert "Check your answers" in browser.page_source
    no_sideways_scroll(browser)
    accessible(browser, "review")
    submit(browser, browser.find_element(By.CSS_SELECTOR, 'form[action="/form/submit"] button'))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Thank you"
    accessible(browser, "thank-you")
    with open_store(db) as store:
        [administration] = store.administrations("C101")
        assert administration.status == "finished"
        assert administration.answers["phq9_2"] == 1 and administration.answers["phq9_10"] is None


def test_neq20_with_follow_ups_on_a_desktop(browser, server):
    base, db = server
    browser.set_window_size(1280, 900)
    browser.get(base + invite(db, "C102", "neq-20"))
    # By keyboard alone: Tab to the answers, arrow down to "No", Tab to Next, Enter.
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.get_attribute("name") == "answer"
    focused.send_keys(Keys.SPACE)
    if focused.get_attribute("value") != "0":
        focused.send_keys(Keys.ARROW_DOWN)
    assert browser.find_element(By.CSS_SELECTOR, 'input[value="0"]').is_selected()
    page = browser.find_element(By.TAG_NAME, "html")
    browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.text == "Next"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda _: _stale(page))
    assert question(browser) == "neq02"  # neq01 not experienced: no follow-ups
    choose(browser, "1")
    assert question(browser) == "neq02_impact"
    assert "About:" in browser.find_element(By.TAG_NAME, "legend").text
    accessible(browser, "follow-up")
    choose(browser, "2")
    assert question(browser) == "neq02_cause"
    choose(browser, "1")
    assert question(browser) == "neq03"
    with open_store(db) as store:
        [administration] = store.administrations("C102")
    assert administration.answers == {"neq01": 0, "neq02": 1, "neq02_impact": 2, "neq02_cause": 1}


def sign_in(driver, base: str) -> None:
    driver.get(base + "/login")
    accessible(driver, "login")
    driver.find_element(By.ID, "name").send_keys("dr.lee")
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    submit(driver, driver.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def test_the_badge_shows_a_new_risk_without_a_reload(browser, server, shots):
    base, db = server
    browser.set_window_size(1280, 900)
    sign_in(browser, base)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Open alerts"
    before = browser.find_element(By.ID, "badge").text
    # A client answers the self-harm question in another browser, meanwhile.
    link = invite(db, "C103", "phq-9")
    client = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    page = client.open(base + link).read().decode()
    for item, value in [(f"phq9_{i}", "0") for i in range(1, 9)] + [("phq9_9", "2")]:
        csrf = page.split('name="csrf" value="')[1].split('"')[0]
        data = urllib.parse.urlencode(
            {"csrf": csrf, "item": item, "action": "answer", "answer": value}
        )
        page = client.open(base + "/form", data=data.encode()).read().decode()
    WebDriverWait(browser, 12).until(lambda d: d.find_element(By.ID, "badge").text != before)
    assert "risk" in browser.find_element(By.ID, "badge").text
    assert browser.find_element(By.ID, "fresh").is_displayed()
    submit(browser, browser.find_element(By.ID, "fresh"))
    assert "C103" in browser.find_element(By.TAG_NAME, "main").text
    accessible(browser, "alerts")
    browser.save_screenshot(str(shots / "web-alerts.png"))
    for path in ("/clients", "/clients/C101", "/invitations"):
        browser.get(base + path)
        accessible(browser, path)
