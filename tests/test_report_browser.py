"""The matrix page in a real browser: cells, filters, details, keyboard, print, screenshot.

Runs headless Debian Chromium through Playwright (no `playwright install`). Skips with the
reason when either is missing, unless CONFORMANCE_REQUIRE_BROWSER=1 (CI), then it fails.
Outside CI (env CI unset) it saves a screenshot of the demo matrix to reports/matrix.png.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from conformance.report import write_report
from conformance.report.catalogue import load_catalogue
from conformance.report.html import render_html
from conformance.report.merge import merge_runs
from conformance.report.model import build_view
from conformance.report.runs import load_run
from conformance.report.synthetic import synthetic_catalogue, synthetic_results

CHROMIUM = os.environ.get("CONFORMANCE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
REQUIRED = os.environ.get("CONFORMANCE_REQUIRE_BROWSER") == "1"
SCREENSHOT = Path(__file__).resolve().parent.parent / "reports" / "matrix.png"
XSS = "<script>alert(1)</script>"


def _unavailable(reason: str):
    if REQUIRED:
        pytest.fail(f"{reason} (CONFORMANCE_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package 'playwright' is not installed (pip install playwright)")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def case(case_id, behaviour, status="pass", **extra):
    return {
        "id": case_id, "file": "specs/params/sharing.yaml", "topic": "sharing",
        "title": f"The case {case_id}.", "behaviours": [behaviour], "status": status,
        "message": "", "observations": {"shape": [2, 3]}, "duration_s": 0.02,
        "source": {"note": "000_a.txt", "section": "4.2.4", "claim": "the note's claim"},
        "known_reason": None, "doc": None, "note_says": None, "snippet": "net = Net()\n",
        **extra,
    }  # fmt: skip


def run(version, cases, framework="torch"):
    return {
        "format": "conformance-results/1", "kit_version": "0.1.0", "framework": framework,
        "framework_version": version, "python": "3.11.7", "platform": "Linux", "devices": {},
        "spec_digest": "d1", "started": "", "finished": "", "import_error": None, "cases": cases,
    }  # fmt: skip


BROKEN = {"message": XSS, "observations": {"error": {"type": "RuntimeError"}, "marker": "obs-42"},
          "checks": [{"ok": False, "check": "gradient: expected sum of uses"}]}  # fmt: skip
RUNS = [
    run("0.1.0", [case("shared-storage", "SH1"), case("grad-sum", "SH2"),
                  case("default-init", "IN1")], framework="reference"),
    run("2.12.0", [case("shared-storage", "SH1"), case("grad-sum", "SH2"),
                   case("default-init", "IN1", "known", known_reason="documented")]),
    run("2.13.0", [case("shared-storage", "SH1"), case("grad-sum", "SH2", "fail", **BROKEN),
                   case("default-init", "IN1", "known", known_reason="documented")]),
]  # fmt: skip
CATALOGUE = {"behaviours": [
    {"id": "SH1", "topic": "sharing", "statement": "One storage for two uses.", "sources": []},
    {"id": "SH2", "topic": "sharing", "statement": "Shared gradients add up.", "sources": []},
    {"id": "IN1", "topic": "initialization", "statement": "Default init.", "sources": []},
]}  # fmt: skip


def write_inputs(folder: Path, runs, catalogue) -> tuple[list[str], str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for data in runs:
        path = folder / f"{data['framework']}-{data['framework_version']}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        paths.append(str(path))
    catalogue_path = folder / "catalogue.yaml"
    catalogue_path.write_text(yaml.safe_dump(catalogue, allow_unicode=True), encoding="utf-8")
    return paths, str(catalogue_path)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    paths, catalogue = write_inputs(folder / "in", RUNS, CATALOGUE)
    return write_report(paths, str(folder / "out"), catalogue)["html"]


@pytest.fixture
def page(browser, report_file):
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.dialogs = []
    page.errors = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(Path(report_file).as_uri())
    page.wait_for_selector("body[data-ready='1']")
    yield page
    assert page.errors == []
    assert page.dialogs == []
    page.close()


def behaviour_row(page, bid):
    return page.locator("tr.beh", has=page.locator(f"span.bid:text-is('{bid}')"))


def case_row(page, case_id):
    return page.locator("tr.case", has=page.locator(f"span.cid:text-is('{case_id}')"))


def test_matrix_cells_show_each_status_by_word(page):
    assert page.locator("thead th.fw").all_inner_texts() == ["reference", "torch"]
    assert page.locator("thead th.ver").all_inner_texts() == ["0.1.0", "2.12.0", "2.13.0"]
    page.click("#expand-all")
    rows = {
        "shared-storage": ["pass", "pass", "pass"],
        "grad-sum": ["pass", "pass", "fail"],
        "default-init": ["pass", "known", "known"],
    }
    for case_id, words in rows.items():
        row = case_row(page, case_id)
        assert row.is_visible()
        assert row.locator("td").all_inner_texts() == words
    assert behaviour_row(page, "SH2").locator("td").all_inner_texts() == ["pass", "pass", "fail"]


def test_disagreement_filter_hides_agreeing_rows(page):
    assert behaviour_row(page, "SH1").is_visible()
    page.check("#f-disagree")
    assert not behaviour_row(page, "SH1").is_visible()
    assert behaviour_row(page, "SH2").is_visible()
    assert behaviour_row(page, "IN1").is_visible()
    page.click("#expand-all")
    assert not case_row(page, "shared-storage").is_visible()
    assert case_row(page, "grad-sum").is_visible()
    assert "Showing 2 of 3 behaviours" in page.inner_text("#f-count")
    page.uncheck("#f-disagree")
    assert behaviour_row(page, "SH1").is_visible()
    assert case_row(page, "shared-storage").is_visible()


def test_status_topic_and_search_filters(page):
    page.select_option("#f-status", "known")
    assert [behaviour_row(page, b).is_visible() for b in ("SH1", "SH2", "IN1")] == [
        False, False, True]  # fmt: skip
    page.select_option("#f-status", "")
    page.select_option("#f-topic", "sharing")
    assert not behaviour_row(page, "IN1").is_visible() and behaviour_row(page, "SH1").is_visible()
    page.select_option("#f-topic", "")
    page.fill("#f-search", "alert(1)")  # matches the message of one cell
    page.wait_for_function("document.getElementById('f-count').textContent.includes('1 of')")
    assert behaviour_row(page, "SH2").is_visible() and not behaviour_row(page, "SH1").is_visible()


def test_a_cell_opens_to_its_observations_and_shows_markup_as_text(page):
    behaviour_row(page, "SH2").locator("button.tog").click()
    cell = case_row(page, "grad-sum").locator("button.c").nth(2)
    cell.click()
    assert cell.get_attribute("aria-expanded") == "true"
    panel = page.locator("tr.detail .panel")
    assert panel.is_visible()
    text = panel.inner_text()
    assert "grad-sum" in text and "torch@2.13.0" in text
    assert '"marker": "obs-42"' in panel.locator("pre.json").inner_text()
    assert "RuntimeError" in text and "the note's claim" in text
    assert "gradient: expected sum of uses" in panel.locator("ul.checks").inner_text()
    assert XSS in text  # the message is shown as text...
    assert page.evaluate("document.querySelectorAll('script').length") == 2  # ...not run
    assert panel.locator("pre.snippet").inner_text().strip() == "net = Net()"
    cell.click()  # the same cell closes it
    assert page.locator("tr.detail").count() == 0


def test_keyboard_reaches_and_opens_cells(page):
    page.focus("#collapse-all")
    page.keyboard.press("Tab")
    focused = page.evaluate_handle("document.activeElement")
    assert page.evaluate("(el) => el.closest('tr').innerText", focused).startswith("SH1")
    page.keyboard.press("ArrowDown")  # SH1 -> SH2 (case rows are collapsed)
    page.keyboard.press("Enter")
    assert behaviour_row(page, "SH2").locator("button.tog").get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowDown")  # into the first cell of the case row
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    active = "document.activeElement"
    assert page.evaluate(f"{active}.textContent") == "fail"
    outline = page.evaluate(f"getComputedStyle({active}).outlineStyle")
    assert outline not in ("none", ""), "focused cell has no visible focus style"
    page.keyboard.press("Enter")
    assert page.locator("tr.detail").count() == 1
    page.keyboard.press("Escape")
    assert page.locator("tr.detail").count() == 0
    assert page.evaluate(f"{active}.textContent") == "fail"  # focus returned to the cell


def test_print_shows_every_case_row(page):
    assert not case_row(page, "grad-sum").is_visible()
    page.emulate_media(media="print")
    assert case_row(page, "grad-sum").is_visible()
    assert page.locator(".controls").is_hidden()


def test_compressed_data_is_unpacked_by_the_page(browser, tmp_path):
    paths, _ = write_inputs(tmp_path / "in", RUNS, CATALOGUE)
    view = build_view(merge_runs([load_run(p) for p in paths]), load_catalogue(None))
    html_path = tmp_path / "packed.html"
    html_path.write_text(render_html(view, compress_over=0), encoding="utf-8")
    assert 'data-encoding="gzip-base64"' in html_path.read_text(encoding="utf-8")
    page = browser.new_page()
    try:
        page.goto(html_path.as_uri())
        page.wait_for_selector("body[data-ready='1']")
        page.click("#expand-all")
        case_row(page, "grad-sum").locator("button.c").nth(2).click()
        assert "obs-42" in page.locator("tr.detail pre.json").inner_text()
    finally:
        page.close()


@pytest.mark.skipif(bool(os.environ.get("CI")), reason="screenshots are for people, not CI")
def test_screenshot_of_the_demo_matrix(browser, tmp_path):
    paths, catalogue = write_inputs(tmp_path / "in", synthetic_results(), synthetic_catalogue())
    html = write_report(paths, str(tmp_path / "out"), catalogue)["html"]
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    try:
        page.goto(Path(html).as_uri())
        page.wait_for_selector("body[data-ready='1']")
        page.check("#f-disagree")
        page.click("#expand-all")
        page.locator("tr.case:not(.f) button.c", has_text="fail").first.click()
        page.evaluate("window.scrollTo(0, 0)")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    finally:
        page.close()
    assert SCREENSHOT.stat().st_size > 10_000
