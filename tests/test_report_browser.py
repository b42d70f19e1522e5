"""The matrix page in a real browser: outcome cells and their colours, filters, search,
details, the porting guide (on the committed baselines too: mxnet -> torch), keyboard, print,
800 px, Chinese text, NaN, screenshot.

Runs headless Debian Chromium through Playwright (no `playwright install`). Skips with the
reason when either is missing (and the Chinese text test when no CJK font is installed),
unless CONFORMANCE_REQUIRE_BROWSER=1 (CI), then it fails.
Outside CI (env CI unset) it saves a screenshot of the demo matrix to reports/matrix.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conformance.report import write_report
from conformance.report.build import build_view
from conformance.report.catalogue import load_catalogue
from conformance.report.html import render_html
from conformance.report.merge import merge_runs
from conformance.report.runs import load_run
from conformance.report.synthetic import synthetic_catalogue, synthetic_results

CHROMIUM = os.environ.get("CONFORMANCE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
REQUIRED = os.environ.get("CONFORMANCE_REQUIRE_BROWSER") == "1"
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "reports" / "matrix.png"
BASELINE = ROOT / "reports" / "baseline"
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


CLAIM = "第二隐藏层和第三隐藏层的梯度都会被累加在shared.params.grad()里"
GRAD = [("overwrite", "the second pass replaces the gradient"), ("accumulate", "gradients add up")]
INIT = [("normal-0-01", "weights from N(0, 0.01²)"), ("kaiming-uniform", "uniform in ±1/√fan_in")]


def case(case_id, behaviour, status="pass", outcomes=(("as-noted", "as the note states"),),
         held=None, **extra):  # fmt: skip
    """A case record; `outcomes` (label, says) pairs, the first the note's; `held` a label."""
    held = held or (outcomes[0][0] if status == "pass" else None)
    return {
        "id": case_id, "file": "specs/params/sharing.yaml", "topic": "sharing",
        "title": f"The case {case_id}.", "behaviours": [behaviour], "status": status,
        "message": "", "observations": {"shape": [2, 3]}, "duration_s": 0.02,
        "source": {"note": "000_a.txt", "section": "4.2.4", "claim": CLAIM},
        "outcome": held, "expected_outcome": held or outcomes[0][0],
        "normative_outcome": outcomes[0][0],
        "outcomes": [{"label": lab, "says": says, "normative": n == 0, "held": lab == held,
                      "failed": []} for n, (lab, says) in enumerate(outcomes)],
        "pin": None if held in (None, outcomes[0][0]) else
        {"outcome": held, "versions": ">=2", "evidence": {"doc": f"torch docs: {held}"}},
        "checks": [], "snippet": "net = Net()\n",
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
NAN = {"observations": {"values": {"mean": "NaN", "max": "Infinity", "min": "-Infinity"}}}
RUNS = [
    run("0.1.0", [case("shared-storage", "SH1"), case("grad-sum", "SH2", title=f"Grad {XSS}"),
                  case("default-init", "IN1", outcomes=INIT),
                  case("two-passes", "AG6", outcomes=GRAD, **NAN)], framework="reference"),
    run("1.9.1", [case("shared-storage", "SH1"), case("grad-sum", "SH2"),
                  case("default-init", "IN1", outcomes=INIT),
                  case("two-passes", "AG6", outcomes=GRAD)], framework="mxnet"),
    run("2.12.0", [case("shared-storage", "SH1"), case("grad-sum", "SH2"),
                   case("default-init", "IN1", outcomes=INIT, held="kaiming-uniform"),
                   case("two-passes", "AG6", outcomes=GRAD, held="accumulate")]),
    run("2.13.0", [case("shared-storage", "SH1"), case("grad-sum", "SH2", "fail", **BROKEN),
                   case("default-init", "IN1", outcomes=INIT, held="kaiming-uniform"),
                   case("two-passes", "AG6", outcomes=GRAD, held="accumulate",
                        snippet="y.backward(); y.backward()  # torch\n")]),
]  # fmt: skip
CATALOGUE = {"behaviours": [
    {"id": "SH1", "topic": "sharing", "statement": "One storage for two uses.", "sources": []},
    {"id": "SH2", "topic": "sharing", "statement": "Shared gradients add up.", "sources": []},
    {"id": "IN1", "topic": "initialization", "statement": "Default init.", "sources": []},
    {"id": "AG6", "topic": "autograd", "statement": "A second pass overwrites.", "sources": []},
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


def test_matrix_cells_show_each_outcome_by_word(page):
    assert page.locator("thead th.fw").all_inner_texts() == ["reference", "mxnet", "torch"]
    assert page.locator("thead th.ver").all_inner_texts() == ["0.1.0", "1.9.1", "2.12.0", "2.13.0"]
    page.click("#expand-all")
    rows = {
        "shared-storage": ["as-noted", "as-noted", "as-noted", "as-noted"],
        "grad-sum": ["as-noted", "as-noted", "as-noted", "fail"],
        "default-init": ["normal-0-01", "normal-0-01", "kaiming-uniform", "kaiming-uniform"],
        "two-passes": ["overwrite", "overwrite", "accumulate", "accumulate"],
    }
    for case_id, words in rows.items():
        row = case_row(page, case_id)
        assert row.is_visible()
        assert row.locator("td").all_inner_texts() == words
    # the note's outcome is marked ✓, another pinned outcome ≠ (drawn by the style sheet)
    marks = (
        case_row(page, "two-passes")
        .locator("button.c")
        .evaluate_all("els => els.map(b => getComputedStyle(b, '::after').content)")
    )
    assert marks == ['" ✓"', '" ✓"', '" ≠"', '" ≠"']
    # collapsed rows: as the notes say, how many cases differ, a problem
    assert behaviour_row(page, "SH2").locator("td").all_inner_texts() == [
        "as noted", "as noted", "as noted", "fail"]  # fmt: skip
    assert behaviour_row(page, "AG6").locator("td").all_inner_texts() == [
        "as noted", "as noted", "differs", "differs"]  # fmt: skip


BACKGROUND = "els => els.map(e => getComputedStyle(e).backgroundColor)"


def test_colour_says_follows_the_notes_differs_by_a_pin_or_moved(page):
    page.click("#expand-all")
    follows, differs = case_row(page, "two-passes").locator("td").evaluate_all(BACKGROUND)[1:3]
    moved = case_row(page, "grad-sum").locator("td").evaluate_all(BACKGROUND)[3]
    assert len({follows, differs, moved}) == 3, (follows, differs, moved)
    # a collapsed row takes the same colours as its cases
    row = behaviour_row(page, "AG6").locator("td").evaluate_all(BACKGROUND)
    assert row[1:3] == [follows, differs]
    assert behaviour_row(page, "SH2").locator("td").evaluate_all(BACKGROUND)[3] == moved


def test_differs_from_the_notes_and_between_two_columns_filters(page):
    assert behaviour_row(page, "SH1").is_visible()
    page.check("#f-notes")  # a column holds another outcome than the note's, or fails
    assert [behaviour_row(page, b).is_visible() for b in ("SH1", "SH2", "IN1", "AG6")] == [
        False, True, True, True]  # fmt: skip
    assert page.inner_text("#f-count") == "Showing 3 of 4 behaviours · 3 matching cases"
    page.uncheck("#f-notes")
    page.select_option("#f-col-a", label="torch 2.12.0")
    assert page.inner_text("#f-count") == "Showing 4 of 4 behaviours"  # one column: no filter
    page.select_option("#f-col-b", label="torch 2.13.0")  # only grad-sum differs there
    assert [behaviour_row(page, b).is_visible() for b in ("SH1", "SH2", "IN1", "AG6")] == [
        False, True, False, False]  # fmt: skip
    assert page.inner_text("#f-count") == "Showing 1 of 4 behaviours · 1 matching cases"
    page.select_option("#f-col-a", label="mxnet 1.9.1")  # two outcomes and a failure differ
    assert page.inner_text("#f-count") == "Showing 3 of 4 behaviours · 3 matching cases"
    page.click("#expand-all")
    assert case_row(page, "two-passes").is_visible()
    assert not case_row(page, "shared-storage").is_visible()


def test_searching_a_case_id_opens_its_row(page):
    assert not case_row(page, "two-passes").is_visible()
    page.fill("#f-search", "two-passes")
    row = case_row(page, "two-passes")
    row.wait_for(state="visible")  # no "Expand all": the search opened its behaviour row
    assert "hit" in row.get_attribute("class")
    assert behaviour_row(page, "AG6").locator("button.tog").get_attribute("aria-expanded") == "true"
    page.fill("#f-search", "")
    row.wait_for(state="hidden")  # the search ended: the row it opened closes again


def test_status_topic_and_search_filters_and_nothing_matches(page):
    page.select_option("#f-status", "fail")
    assert [behaviour_row(page, b).is_visible() for b in ("SH1", "SH2", "IN1")] == [
        False, True, False]  # fmt: skip
    assert page.locator("#nothing").is_hidden()
    page.select_option("#f-status", "timeout")  # no cell has it
    assert page.locator("#nothing").is_visible()
    assert "Nothing matches" in page.inner_text("#nothing")
    page.select_option("#f-status", "")
    assert page.locator("#nothing").is_hidden()
    page.select_option("#f-topic", "sharing")
    assert not behaviour_row(page, "IN1").is_visible() and behaviour_row(page, "SH1").is_visible()
    page.select_option("#f-topic", "")
    page.fill("#f-search", "alert(1)")  # matches the message of one cell (in the details)
    page.wait_for_function("document.getElementById('f-count').textContent.includes('1 of')")
    assert behaviour_row(page, "SH2").is_visible() and not behaviour_row(page, "SH1").is_visible()
    page.fill("#f-search", "no such text anywhere")
    page.wait_for_function("!document.getElementById('nothing').hidden")


def test_a_cell_opens_to_its_observations_and_shows_markup_as_text(page):
    behaviour_row(page, "SH2").locator("button.tog").click()
    cell = case_row(page, "grad-sum").locator("button.c").nth(3)
    cell.click()
    assert cell.get_attribute("aria-expanded") == "true"
    panel = page.locator("tr.detail .panel")
    assert panel.is_visible()
    panel.locator("pre.json").wait_for()
    text = panel.inner_text()
    assert "grad-sum" in text and "torch 2.13.0" in text
    assert '"marker": "obs-42"' in panel.locator("pre.json").inner_text()
    assert "RuntimeError" in text and CLAIM in text
    assert "gradient: expected sum of uses" in panel.locator("ul.checks").inner_text()
    assert XSS in text  # the message is shown as text...
    assert f"Grad {XSS}" in case_row(page, "grad-sum").locator("th").inner_text()  # and the title
    assert page.evaluate("document.querySelectorAll('script').length") == 3  # ...not run
    assert panel.locator("pre.program").inner_text().strip() == "net = Net()"
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
        case_row(page, "grad-sum").locator("button.c").nth(3).click()
        assert "obs-42" in page.locator("tr.detail pre.json").inner_text()  # waits for it
    finally:
        page.close()


def test_a_cell_whose_outcome_is_not_the_notes_says_so_in_words(page):
    page.click("#expand-all")
    case_row(page, "two-passes").locator("button.c").nth(3).click()
    differs = page.locator("tr.detail dd.differs")
    differs.wait_for()
    assert differs.inner_text() == (
        "the note says the second pass replaces the gradient; torch 2.13.0 does gradients add up"
    )
    assert "torch docs: accumulate" in page.locator("tr.detail .panel").inner_text()  # evidence


def test_nan_and_infinities_are_shown_as_such(page):
    page.click("#expand-all")
    case_row(page, "two-passes").locator("button.c").nth(0).click()
    observed = page.locator("tr.detail pre.json").inner_text()
    assert '"mean": NaN' in observed and '"max": Infinity' in observed
    assert '"min": -Infinity' in observed and "null" not in observed


def test_porting_guide_of_two_picked_columns(page):
    page.select_option("#cmp-a", label="mxnet 1.9.1")
    assert page.locator("li.cmp-case").count() == 0  # one side picked: nothing yet
    page.select_option("#cmp-b", label="torch 2.13.0")
    page.wait_for_function("document.getElementById('cmp-count').textContent.includes('differ')")
    assert "3 of 4 cases differ" in page.inner_text("#cmp-count")
    guide = page.locator("#cmp-out .guide")
    assert (
        guide.locator("h3.guide-title").inner_text() == "Porting from mxnet 1.9.1 to torch 2.13.0"
    )
    # one checklist line per behaviour, in the records' words: the target's, then the source's
    items = guide.locator("ol.checklist > li")
    assert items.evaluate_all("els => els.map(e => e.dataset.b)") == ["IN1", "AG6"]
    ag6 = guide.locator("ol.checklist > li[data-b='AG6']")
    assert ag6.locator(".now").inner_text() == "torch 2.13.0: gradients add up"
    assert ag6.locator(".was").inner_text() == "mxnet 1.9.1: the second pass replaces the gradient"
    # the difference keeps both programs side by side
    diff = guide.locator(".g-beh[data-b='AG6'] .g-diff")
    sides = diff.locator(".pair").first.locator(".side").all_inner_texts()
    assert "overwrite" in sides[0] and "the second pass replaces the gradient" in sides[0]
    assert "accumulate" in sides[1] and "gradients add up" in sides[1]
    assert [t.strip() for t in diff.locator(".pair").first.locator("pre.program").all_inner_texts()] == [
        "net = Net()", "y.backward(); y.backward()  # torch"]  # fmt: skip
    # a checklist line links to its cases
    ag6.locator("a.bid").click()
    assert page.evaluate("location.hash") == "#g-ag6"
    # grad-sum cannot be compared: torch 2.13.0 fails with no outcome; listed after, closed
    status = guide.locator("details.g-status")
    assert status.count() == 1 and not status.evaluate("e => e.open")
    assert status.locator("summary").first.inner_text().startswith("torch 2.13.0: fail (1 case)")
    assert XSS in status.locator("summary").first.inner_text()  # the message, shown as text
    page.select_option("#cmp-b", label="mxnet 1.9.1")  # a column with itself
    page.wait_for_function("document.getElementById('cmp-count').textContent.startsWith('0 of')")
    assert "Nothing differs" in page.inner_text("#cmp-out")


def test_usable_at_800_px(browser, tmp_path):
    # nine columns: wider than 800 px
    more = [{**RUNS[-1], "framework_version": f"2.{v}.0"} for v in range(14, 19)]
    paths, catalogue = write_inputs(tmp_path / "in", RUNS + more, CATALOGUE)
    html = write_report(paths, str(tmp_path / "out"), catalogue)["html"]
    page = browser.new_page(viewport={"width": 800, "height": 700})
    try:
        page.goto(Path(html).as_uri())
        page.wait_for_selector("body[data-ready='1']")
        page.click("#expand-all")
        # the page itself does not scroll sideways; the matrix box does
        assert page.evaluate("document.documentElement.scrollWidth") <= 800
        wrap = "document.getElementById('matrix-wrap')"
        assert page.evaluate(f"{wrap}.scrollWidth > {wrap}.clientWidth")
        head = case_row(page, "two-passes").locator("th")
        x_before = head.bounding_box()["x"]
        page.evaluate(f"{wrap}.scrollLeft = {wrap}.scrollWidth")
        last = case_row(page, "two-passes").locator("td").nth(8)
        box = last.bounding_box()
        assert box["x"] + box["width"] <= 800 + 1, box  # the last column can be reached
        assert abs(head.bounding_box()["x"] - x_before) < 1  # the behaviour column stays
        assert last.inner_text() == "accumulate"
    finally:
        page.close()


CJK_GLYPHS = """(font) => {
  // Each character drawn alone: a missing font gives the same empty box for every one.
  const canvas = document.createElement('canvas');
  canvas.width = 40; canvas.height = 40;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  return Array.from('梯度累加层').map(ch => {
    ctx.clearRect(0, 0, 40, 40);
    ctx.font = font; ctx.fillStyle = '#000'; ctx.textBaseline = 'top';
    ctx.fillText(ch, 4, 4);
    const px = ctx.getImageData(0, 0, 40, 40).data;
    let ink = 0, sig = '';
    for (let i = 3; i < px.length; i += 4) { if (px[i] > 0) ink += 1; sig += px[i] > 127 ? '1' : '0'; }
    return {ink: ink, sig: sig};
  });
}"""


def _no_cjk_font() -> str:
    """Why the notes' Chinese cannot render here ("" when a CJK font is installed, or when
    fontconfig cannot be asked: then the glyph check below decides)."""
    import subprocess

    if not shutil.which("fc-list"):
        return ""
    listed = subprocess.run(
        ["fc-list", ":lang=zh", "family"], check=False, capture_output=True, text=True
    )
    return "" if listed.stdout.strip() else "no CJK font (apt-get install fonts-noto-cjk)"


def test_chinese_text_of_the_notes_renders(page):
    if reason := _no_cjk_font():
        _unavailable(reason)
    page.click("#expand-all")
    case_row(page, "grad-sum").locator("button.c").nth(0).click()
    claim = page.locator("tr.detail blockquote.claim")
    claim.wait_for()
    assert claim.inner_text() == CLAIM
    family = page.evaluate(
        "getComputedStyle(document.querySelector('blockquote.claim')).fontFamily"
    )
    assert "Noto Sans CJK SC" in family  # the page names a CJK font in its stack
    style = page.evaluate("""() => { const s = getComputedStyle(document.querySelector(
        'blockquote.claim')); return s.fontSize + ' ' + s.fontFamily; }""")
    glyphs = page.evaluate(CJK_GLYPHS, style)
    assert all(g["ink"] > 20 for g in glyphs), glyphs  # something is drawn for each
    shapes = {g["sig"] for g in glyphs}
    # (checked to fail with a fontconfig that has only DejaVu: one shape for all five)
    assert len(shapes) == len(glyphs), "CJK characters render as identical boxes (no CJK font)"


@pytest.mark.skipif(bool(os.environ.get("CI")), reason="screenshots are for people, not CI")
def test_screenshot_of_the_demo_matrix(browser, tmp_path):
    paths, catalogue = write_inputs(tmp_path / "in", synthetic_results(), synthetic_catalogue())
    html = write_report(paths, str(tmp_path / "out"), catalogue)["html"]
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    try:
        page.goto(Path(html).as_uri())
        page.wait_for_selector("body[data-ready='1']")
        page.check("#f-notes")
        page.click("#expand-all")
        page.locator("tr.case:not(.f) button.c", has_text="fail").first.click()
        page.evaluate("window.scrollTo(0, 0)")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
    finally:
        page.close()
    assert SCREENSHOT.stat().st_size > 10_000


LEDGER = {"claims": [
    {"id": "000-4.2.4-01", "note": "000_a.txt", "section": "4.2.4", "framework": "mxnet",
     "quote": CLAIM, "cases": ["grad-sum", "shared-storage"]},
    {"id": "000-4.2.4-02", "note": "000_a.txt", "section": "4.2.4", "framework": "any",
     "quote": "a training loop", "out_of_scope": "a dataset training loop"},
]}  # fmt: skip


def test_claims_section_is_visible_and_a_note_opens(browser, tmp_path):
    paths, catalogue = write_inputs(tmp_path / "in", RUNS, CATALOGUE)
    # the ledger beside the catalogue is the one the report reads
    ledger = tmp_path / "in" / "claims.yaml"
    ledger.write_text(yaml.safe_dump(LEDGER, allow_unicode=True), encoding="utf-8")
    html = write_report(paths, str(tmp_path / "out"), catalogue)["html"]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto(Path(html).as_uri())
        page.wait_for_selector("body[data-ready='1']")
        section = page.locator("section#claims")
        section.scroll_into_view_if_needed()
        assert section.locator("h2").is_visible()
        note = section.locator("details.claims-note")
        assert note.count() == 1
        summary = note.locator("summary").inner_text()
        # grad-sum fails on torch 2.13.0 only
        assert "note 000_a.txt: 2 claims, 1 covered, 1 out of scope" in summary
        assert "torch 2.12.0: 1 as noted, 0 differ" in summary
        assert "torch 2.13.0: 0 as noted, 0 differ" in summary
        rows = note.locator("table.claims-table tbody tr")
        assert not rows.first.is_visible()  # collapsed by default
        note.locator("summary").click()
        rows.first.wait_for(state="visible")
        assert rows.count() == 2
        assert CLAIM in rows.first.inner_text()
        cells = rows.first.locator("td")
        assert cells.last.inner_text() == "fail"  # torch 2.13.0, the last column
        assert "out of scope: a dataset training loop" in rows.nth(1).inner_text()
    finally:
        page.close()


# -- the committed baselines: the porting guide a person reads ----------------------------------


@pytest.fixture(scope="module")
def baseline_report(tmp_path_factory):
    if not any(BASELINE.glob("*.json")):
        pytest.skip(f"no committed baselines in {BASELINE}")
    out = tmp_path_factory.mktemp("baseline")
    return write_report([str(BASELINE)], str(out), str(ROOT / "specs" / "catalogue.yaml"))["html"]


def test_porting_guide_mxnet_to_torch_on_the_baselines(browser, baseline_report):
    """The checklist of mxnet -> torch starts with the differences a porter must act on,
    accumulate/overwrite (AG6) and the initializers (IN1 the defaults, IN2 init.Normal on a
    whole net, which torch applies to the weights only); status-only rows (torch's
    skips for lack of a second device, what is unsupported) come after every real difference;
    and the page's checklist is the one `report --compare` builds."""
    from conformance.report import load_view
    from conformance.report.compare import resolve_column
    from conformance.report.porting import build_guide

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(Path(baseline_report).as_uri())
        page.wait_for_selector("body[data-ready='1']")
        page.select_option("#cmp-a", label="mxnet 1.9.1")
        page.select_option("#cmp-b", label="torch 2.13.0+cpu")
        page.wait_for_selector("#cmp-out ol.checklist")
        items = page.locator("#cmp-out ol.checklist > li")
        ids = items.evaluate_all("els => els.map(e => e.dataset.b)")
        assert set(ids[:3]) == {"AG6", "IN1", "IN2"}, ids  # the differences of most cases first
        first, second = items.nth(ids.index("AG6")).inner_text(), items.nth(ids.index("IN1")).inner_text()
        assert "torch 2.13.0+cpu: the gradients of both passes add up" in first
        assert "mxnet 1.9.1: the second pass replaces the gradient" in first
        assert "weights and biases ~ U(-1/sqrt(in), 1/sqrt(in))" in second
        assert "weights ~ U(-0.07, 0.07)" in second
        # status-only rows after every real difference, torch's skips among them
        order = page.evaluate("""() => {
            const nodes = Array.from(document.querySelectorAll('#cmp-out .g-diff, #cmp-out details.g-status'));
            return nodes.map(n => n.classList.contains('g-diff') ? 'diff' : 'status');
        }""")
        assert "diff" in order and "status" in order
        assert order.index("status") > len(order) - 1 - order[::-1].index("diff")
        statuses = page.locator("#cmp-out details.g-status summary").all_inner_texts()
        assert re.match(r"torch 2\.13\.0\+cpu: skip \(\d+ cases\)", statuses[0]), statuses
        # the page and the Markdown guide agree on the checklist
        view, _, _ = load_view([str(BASELINE)], str(ROOT / "specs" / "catalogue.yaml"))
        guide = build_guide(
            view, resolve_column(view, "mxnet@1.9"), resolve_column(view, "torch@2.13")
        )
        assert ids == [row.id for row in guide.checklist]
        shown = page.locator("#cmp-out details.g-status summary b").all_inner_texts()
        words = {"missing": "not run"}
        assert shown == [f"{g.column}: {words.get(g.status, g.status)}" for g in guide.status_only]
    finally:
        page.close()


def test_claims_table_counts_pinned_deviations_as_differing(browser, baseline_report):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(Path(baseline_report).as_uri())
        page.wait_for_selector("body[data-ready='1']")
        head = page.locator("table.claims-counts thead th").all_inner_texts()
        total = page.locator("table.claims-counts tr.total td").all_inner_texts()
        cells = dict(zip(head[5:], total[4:]))

        def counts(label):  # "192 as noted" and "29 differ", one above the other
            found = re.fullmatch(r"(\d+) as noted\s+(\d+) differ", cells[label].strip())
            return int(found.group(1)), int(found.group(2))

        as_noted, differ = counts("mxnet 1.9.1")
        assert differ > 0  # MXNet differs from the notes in some claims: they are not "passes"
        ref_noted, ref_differ = counts("reference 0.1.0")
        assert ref_differ == 0 and as_noted + differ <= ref_noted
    finally:
        page.close()
