"""The reporter: page structure, escaping, merging, mismatch banners, Markdown, columns.

Results fixtures are built here as dicts and written to temporary files.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
from html.parser import HTMLParser

import pytest
import yaml

from conformance.cli import main as cli_main
from conformance.report import write_report
from conformance.report.build import build_view
from conformance.report.catalogue import load_catalogue
from conformance.report.html import detail_chunks, page_data, render_html, script_json
from conformance.report.merge import merge_runs
from conformance.report.model import MISSING, disagrees, worst
from conformance.report.results_format import check_results
from conformance.report.runs import Run

XSS = "<script>alert(1)</script>"


AS_NOTED = {"label": "as-noted", "says": "as the note states", "normative": True}
GRAD = [
    {"label": "overwrite", "says": "the second pass replaces the gradient", "normative": True},
    {"label": "accumulate", "says": "gradients add up", "normative": False},
]


def case(case_id, status="pass", behaviours=("SH1",), **extra):
    """A case record in the results format; by default one outcome ("as-noted")."""
    outcomes = extra.pop("outcomes", [AS_NOTED])
    normative = next(o["label"] for o in outcomes if o["normative"])
    held = extra.pop("held", normative if status == "pass" else None)
    expected = extra.pop("expected", held if status == "pass" and held else normative)
    return {
        "id": case_id,
        "file": "specs/sharing.yaml",
        "topic": "sharing",
        "title": f"Title of {case_id}.",
        "behaviours": list(behaviours),
        "status": status,
        "message": extra.pop("message", "" if status == "pass" else f"{status} happened"),
        "outcome": held,
        "expected_outcome": expected,
        "normative_outcome": normative,
        "outcomes": [
            {**o, "held": None if status not in ("pass", "fail") else o["label"] == held,
             "failed": []}
            for o in outcomes
        ],
        "pin": extra.pop("pin", None if expected == normative else
                         {"outcome": expected, "evidence": {"doc": f"docs say {expected}"}}),
        "observations": extra.pop("observations", {"shape": [2, 3]}),
        "duration_s": 0.01,
        "source": {"note": "000_a.txt", "section": "4.2.4", "claim": "the claim"},
        "checks": [],
        "snippet": extra.pop("snippet", "net = Net()\n"),
        **extra,
    }  # fmt: skip


def grad(case_id, held, status="pass", **extra):
    """A two-outcome case (overwrite is the note's) where `held` held."""
    return case(case_id, status, behaviours=["AG6"], outcomes=GRAD, held=held, **extra)


def run(framework, version, cases, **extra):
    return {
        "format": "conformance-results/1",
        "kit_version": "0.1.0",
        "framework": framework,
        "framework_version": version,
        "python": "3.11.7",
        "platform": "Linux",
        "devices": {},
        "spec_digest": "d1",
        "started": "2025-01-01T00:00:00Z",
        "finished": "2025-01-01T00:00:01Z",
        "import_error": None,
        "cases": cases,
        **extra,
    }


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def write_runs(tmp_path, runs):
    paths = []
    for n, data in enumerate(runs):
        path = tmp_path / f"run{n}-{data['framework']}-{data['framework_version']}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        paths.append(str(path))
    return paths


CATALOGUE = {
    "behaviours": [
        {
            "id": "SH1",
            "topic": "sharing",
            "statement": "Two uses of one layer hold one storage.",
            "sources": [{"note": "000_a.txt", "section": "4.2.4"}],
        },
        {"id": "SH2", "topic": "sharing", "statement": "Shared gradients add up.", "sources": []},
        {
            "id": "IN1",
            "topic": "initialization",
            "statement": "Default init per framework.",
            "sources": "001",
        },
        {"id": "AG6", "topic": "autograd", "statement": "Second pass overwrites.", "sources": []},
    ]
}


@pytest.fixture
def catalogue_path(tmp_path):
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(CATALOGUE), encoding="utf-8")
    return str(path)


class Rows(HTMLParser):
    """Collects the matrix's rows: (class, attributes, [cell classes], [cell texts])."""

    def __init__(self):
        super().__init__()
        self.rows, self.in_matrix, self.row, self.text = [], False, None, None
        self.headers = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "matrix":
            self.in_matrix = True
        if not self.in_matrix:
            return
        if tag == "tr":
            self.row = {"class": attrs.get("class", ""), "attrs": attrs, "cells": [], "texts": []}
            self.rows.append(self.row)
        elif tag in ("td", "th") and self.row is not None:
            self.row["cells"].append(attrs.get("class", ""))
            self.row["texts"].append("")
            self.headers.append(attrs)

    def handle_endtag(self, tag):
        if tag == "table":
            self.in_matrix = False

    def handle_data(self, data):
        if self.in_matrix and self.row is not None and self.row["texts"]:
            self.row["texts"][-1] += data


def parse_rows(html):
    """The matrix's rows in page order; case rows as the page's script builds them from the
    embedded essentials (after their behaviour row; the browser tests check the real DOM)."""
    parser = Rows()
    parser.feed(html)
    data = data_of(html)
    rows = []
    for row in parser.rows:
        row["texts"] = [" ".join(t.split()) for t in row["texts"]]
        rows.append(row)
        for i in (row["attrs"].get("data-c") or "").split():
            rows.append(_case_row(data, int(i)))
    return rows


def _case_row(data, i):
    kase = data["cases"][i]
    head = f"{kase[0]} {kase[1]}" + (f" {kase[10]}" if kase[10] else "")
    cells, texts = [""], [head]
    for cell in data["cells"][i]:
        if not cell:
            cells.append("s-missing")
            texts.append("not run")
            continue
        status, label, flag = data["statuses"][cell[0]], data["labels"][cell[1]], cell[2]
        cells.append(f"s-{status}" + {1: " nrm", 2: " alt"}.get(flag, ""))
        texts.append(label)
    attrs = {"data-i": str(i)}
    return {"class": "case", "attrs": attrs, "cells": cells, "texts": texts}


def report(tmp_path, runs, catalogue=None):
    out = write_report(write_runs(tmp_path, runs), str(tmp_path / "out"), catalogue)
    return out, read(out["html"])


def data_of(html):
    """The matrix essentials the page embeds."""
    match = re.search(r'<script type="application/json" id="report-data"[^>]*>(.*?)</script>', html,
                      re.DOTALL)  # fmt: skip
    return json.loads(match.group(1))


def resolved_cases(data):
    """The page data's cases with the shared texts put back, as the page's script does."""
    shared = data["sharedCaseFields"]
    texts = data["texts"]
    return [[texts[v] if p in shared else v for p, v in enumerate(k)] for k in data["cases"]]


def detail_chunks_of(html):
    """The cell details chunks the page embeds (decoded as the page's script would)."""
    found = re.findall(
        r'<script type="application/json" class="report-details" data-first="(\d+)" '
        r'data-encoding="([^"]+)">(.*?)</script>',
        html,
        re.DOTALL,
    )
    chunks = []
    for first, encoding, text in found:
        if encoding == "gzip-base64":
            text = gzip.decompress(base64.b64decode(text)).decode("utf-8")
        chunk = json.loads(text)
        assert chunk["first"] == int(first)
        chunks.append(chunk)
    return chunks


def details_of(html):
    """Every case's details: {"cells": [case][column], "outcomes": [case]}."""
    chunks = detail_chunks_of(html)
    return {key: [item for chunk in chunks for item in chunk[key]] for key in ("cells", "outcomes")}


# -- structure -------------------------------------------------------------------------------


def test_page_has_topics_behaviours_cases_and_one_cell_per_column(tmp_path, catalogue_path):
    runs = [
        run(
            "reference",
            "0.1.0",
            [case("a"), case("b", behaviours=["SH2"]), case("c", behaviours=["IN1"])],
        ),
        run(
            "torch",
            "2.13.0",
            [
                case("a", "fail"),
                case("b", "unsupported", behaviours=["SH2"]),
                case("c", behaviours=["IN1"]),
            ],
        ),
    ]
    out, html = report(tmp_path, runs, catalogue_path)
    assert set(out) == {"html", "json", "markdown"}
    rows = parse_rows(html)
    topics = [r["texts"][0].split()[0] for r in rows if r["class"] == "topic"]
    assert topics == ["sharing", "initialization", "autograd"]  # catalogue order
    behaviours = [r for r in rows if r["class"].startswith("beh")]
    assert [r["texts"][0].split()[0] for r in behaviours] == ["SH1", "SH2", "IN1", "AG6"]
    assert "Two uses of one layer hold one storage." in behaviours[0]["texts"][0]
    # the collapsed row: as the notes say (green), a problem counted (red)
    assert behaviours[0]["cells"][1:] == ["k-follow", "s-fail"]
    assert behaviours[0]["texts"][1:] == ["as noted", "fail"]
    cases = [r for r in rows if r["class"] == "case"]
    assert [r["texts"][0].split()[0] for r in cases] == ["a", "b", "c"]
    for row in cases:
        assert len(row["cells"]) == 1 + 2
    assert cases[0]["texts"][1:] == ["as-noted", "fail"]  # outcome label, else the status
    assert cases[0]["cells"][1:] == ["s-pass nrm", "s-fail"]
    assert cases[1]["cells"][1:] == ["s-pass nrm", "s-unsupported"]


def test_page_is_self_contained(tmp_path):
    _, html = report(tmp_path, [run("reference", "0.1.0", [case("a")])])
    assert "<link" not in html
    assert not re.search(r'\b(src|href)\s*=\s*"(https?:)?//', html)
    assert "@import" not in html
    assert all("src=" not in tag for tag in re.findall(r"<script[^>]*>", html))
    assert len(re.findall(r"<script[^>]*>", html)) == 3  # essentials + details + code, inline


def test_summary_counts_per_column(tmp_path):
    runs = [
        run("reference", "0.1.0", [case("a"), case("b")]),
        run("torch", "2.13.0", [case("a", "fail")]),
    ]
    _, html = report(tmp_path, runs)
    summary = html[html.index('<table class="counts">') : html.index("</table>")]
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', summary)
    counts = {label: re.findall(r">(\d+)<", cells) for label, cells in rows}
    # columns: behaviours as the notes say, that differ | pass fail unsupported skip error
    # crash timeout | not run | cases run
    assert counts["reference 0.1.0"] == ["1", "0", "2", "0", "0", "0", "0", "0", "0", "0", "2"]
    assert counts["torch 2.13.0"] == ["0", "0", "0", "1", "0", "0", "0", "0", "0", "1", "1"]


def test_catalogue_behaviour_without_cases_is_shown(tmp_path, catalogue_path):
    _, html = report(tmp_path, [run("reference", "0.1.0", [case("a")])], catalogue_path)
    rows = {r["texts"][0].split()[0]: r for r in parse_rows(html) if r["class"].startswith("beh")}
    assert "nocase" in rows["IN1"]["class"]
    assert rows["IN1"]["texts"][1] == "no case"


def test_missing_or_broken_catalogue_is_tolerated(tmp_path):
    runs = [run("reference", "0.1.0", [case("a", behaviours=["XX9"]), case("b", behaviours=[])])]
    _, html = report(tmp_path, runs, str(tmp_path / "nope.yaml"))
    assert "behaviour catalogue not found" in html
    labels = [r["texts"][0].split()[0] for r in parse_rows(html) if r["class"].startswith("beh")]
    assert labels == ["XX9", "(none)"]
    (tmp_path / "bad.yaml").write_text("behaviours: [unclosed", encoding="utf-8")
    assert "unreadable" in load_catalogue(str(tmp_path / "bad.yaml")).problem
    assert load_catalogue(None).behaviours == {}


# -- escaping ----------------------------------------------------------------------------------


def test_markup_in_results_is_shown_as_text(tmp_path):
    evil = case(
        "a",
        "error",
        message=XSS,
        title=f"title {XSS}",
        observations={"error": {"message": "</script><script>alert(2)</script>"}},
        snippet=f"print('{XSS}')",
    )
    runs = [
        run("reference", "0.1.0", [evil]),
        run("torch", "2.13.0", [case("a")], import_error=f"ImportError: {XSS}"),
    ]
    out, html = report(tmp_path, runs)
    assert "<script>alert(" not in html
    assert "alert(2)</script>" not in html
    assert html.count("<script") == 3
    assert data_of(html)["cases"][0][1] == f"title {XSS}"  # the case title, as data
    assert "title \\u003cscript\\u003e" in html  # (the page's script escapes it; browser test)
    assert "ImportError: &lt;script&gt;alert(1)&lt;/script&gt;" in html  # banner
    data, details = data_of(html), details_of(html)  # the embedded data holds the exact text
    cell = details["cells"][0][0]
    assert cell[data["detailFields"].index("message")] == XSS
    assert cell[data["detailFields"].index("observations")] == {
        "error": {"message": "</script><script>alert(2)</script>"}
    }
    markdown = read(out["markdown"])
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown


def test_large_payload_is_compressed_and_round_trips(tmp_path):
    runs = [
        Run("r.json", check_results("r.json", run("reference", "0.1.0", [case("a", message=XSS)])))
    ]
    view = build_view(merge_runs(runs), load_catalogue(None))
    html = render_html(view, compress_over=0)
    assert 'data-encoding="gzip-base64"' in html
    assert detail_chunks_of(html) == json.loads(json.dumps(detail_chunks(view)))
    assert data_of(html) == json.loads(json.dumps(page_data(view)))


# -- merging, mismatches, columns ---------------------------------------------------------------


def test_results_json_merges_runs_with_environments(tmp_path):
    runs = [
        run("reference", "0.1.0", [case("a")], platform="Linux-x"),
        run("torch", "2.13.0", [case("a", "fail")], python="3.12.1"),
    ]
    out, _ = report(tmp_path, runs)
    merged = json.loads(read(out["json"]))
    assert merged["format"] == "conformance-report/1"
    assert [c["label"] for c in merged["columns"]] == ["reference 0.1.0", "torch 2.13.0"]
    assert merged["runs"][0]["platform"] == "Linux-x"
    assert merged["runs"][1]["python"] == "3.12.1"
    assert merged["runs"][1]["cases"][0]["status"] == "fail"
    assert merged["mismatches"] == [] and merged["unreadable"] == []


def test_different_spec_digest_or_kit_version_is_flagged(tmp_path):
    runs = [
        run("reference", "0.1.0", [case("a")], spec_digest="aaaa"),
        run("torch", "2.13.0", [case("a")], spec_digest="bbbb"),
        run("mxnet", "1.9.1", [case("a")], spec_digest="aaaa", kit_version="0.0.9"),
    ]
    out, html = report(tmp_path, runs)
    banners = re.findall(r'<div class="banner banner-mismatch"[^>]*>(.*?)</div>', html, re.DOTALL)
    assert len(banners) == 2
    assert "spec_digest" in banners[0]
    assert "aaaa: reference 0.1.0, mxnet 1.9.1; bbbb: torch 2.13.0" in banners[0]
    assert "kit_version" in banners[1] and "0.0.9: mxnet 1.9.1" in banners[1]
    assert "spec\\_digest differs" in read(out["markdown"])
    merged = json.loads(read(out["json"]))
    assert {m["field"] for m in merged["mismatches"]} == {"spec_digest", "kit_version"}


def test_same_digest_has_no_banner(tmp_path):
    _, html = report(
        tmp_path, [run("reference", "0.1.0", [case("a")]), run("torch", "2.13.0", [case("a")])]
    )
    assert 'class="banner banner-mismatch"' not in html


def test_versions_of_one_framework_sit_side_by_side_in_version_order(tmp_path):
    runs = [
        run("torch", "2.10.0", [case("a", "fail")]),
        run("tensorflow", "2.17.0", [case("a")]),
        run("reference", "0.1.0", [case("a")]),
        run("torch", "2.9.1", [case("a")]),
    ]
    _, html = report(tmp_path, runs)
    start = html.index('<table class="matrix"')
    head = html[start : html.index("</thead>", start)]
    groups = re.findall(r'colspan="(\d+)" class="fw">([^<]+)<', head)
    assert groups == [("1", "reference"), ("1", "tensorflow"), ("2", "torch")]
    versions = re.findall(r'class="ver"[^>]*>([^<]+)<', head)
    assert versions == ["0.1.0", "2.17.0", "2.9.1", "2.10.0"]
    case_row = next(r for r in parse_rows(html) if r["class"] == "case")
    assert case_row["texts"][1:] == ["as-noted", "as-noted", "as-noted", "fail"]


def test_two_runs_of_one_version_stay_two_columns(tmp_path):
    runs = [
        run("torch", "2.13.0", [case("a")], platform="Linux"),
        run("torch", "2.13.0", [case("a", "fail")], platform="macOS"),
    ]
    out, _ = report(tmp_path, runs)
    labels = [c["label"] for c in json.loads(read(out["json"]))["columns"]]
    assert labels == ["torch 2.13.0 [Linux]", "torch 2.13.0 [macOS]"]


def test_unreadable_results_file_is_named_not_fatal(tmp_path):
    paths = write_runs(tmp_path, [run("reference", "0.1.0", [case("a")])])
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    out = write_report(paths + [str(garbage)], str(tmp_path / "out"), None)
    html = read(out["html"])
    assert "banner-unreadable" in html and "garbage.json" in html and "not JSON" in html
    assert json.loads(read(out["json"]))["unreadable"][0]["path"] == str(garbage)


def test_a_folder_of_results_is_read(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    write_runs(
        folder, [run("reference", "0.1.0", [case("a")]), run("torch", "2.13.0", [case("a")])]
    )
    out = write_report([str(folder)], str(tmp_path / "out"))
    assert len(json.loads(read(out["json"]))["runs"]) == 2


# -- the view model ---------------------------------------------------------------------------


def test_worst_and_disagreement_ignore_missing_cells():
    assert worst(["pass", "unsupported", "fail", MISSING]) == "fail"
    assert worst([MISSING]) == MISSING
    assert worst(["skip", "unsupported"]) == "unsupported"
    assert disagrees(["pass", "fail"]) and not disagrees(["pass", "pass", MISSING])
    assert disagrees(["pass", "pass"], ["overwrite", "accumulate"])  # outcomes differ
    assert not disagrees(["pass", "pass", MISSING], ["a", "a", MISSING])


def test_collapsed_rows_say_how_many_cases_differ_or_fail(tmp_path):
    runs = [
        run("reference", "0.1.0", [grad("g1", "overwrite"), grad("g2", "overwrite"),
                                   grad("g3", "overwrite"), case("same")]),
        run("torch", "2.13.0", [grad("g1", "accumulate"), grad("g2", "accumulate"),
                                grad("g3", "overwrite"), case("same")]),
        run("mxnet", "1.9.1", [grad("g1", "overwrite"), grad("g2", "accumulate", "fail"),
                               grad("g3", "overwrite", "skip")]),
    ]  # fmt: skip
    _, html = report(tmp_path, runs)
    rows = {r["texts"][0].split()[0]: r for r in parse_rows(html) if r["class"] != "topic"}
    # columns: reference, mxnet, torch. The reference follows the notes; mxnet moved in one
    # case (fail); torch differs by a pinned outcome in 2 of 3
    assert rows["AG6"]["texts"][1:] == ["as noted", "1 of 3 fail", "2 of 3 differ"]
    assert rows["AG6"]["cells"][1:] == ["k-follow", "s-fail", "k-differ"]
    assert rows["SH1"]["texts"][1:] == ["as noted", "not run", "as noted"]  # mxnet: not run
    assert rows["g1"]["cells"][1:] == ["s-pass nrm", "s-pass nrm", "s-pass alt"]
    assert rows["same"]["texts"][1:] == ["as-noted", "not run", "as-noted"]


# -- markdown -------------------------------------------------------------------------------------


def test_markdown_has_counts_and_every_non_pass_cell(tmp_path):
    runs = [
        run("reference", "0.1.0", [case("a"), case("b")]),
        run(
            "torch",
            "2.13.0",
            [
                case("a", "fail", message="expected 1 | got 2"),
                case("b", "skip", message="needs a second device"),
            ],
        ),
    ]
    out, _ = report(tmp_path, runs)
    md = read(out["markdown"])
    assert "| status | reference 0.1.0 | torch 2.13.0 |" in md
    assert "| pass | 2 | 0 |" in md and "| fail | 0 | 1 |" in md and "| skip | 0 | 1 |" in md
    assert (
        "| behaviours as the notes say | 1 | 0 |" in md
        and "| cases as the notes say | 2 | 0 |" in md
    )
    assert "### torch 2.13.0 — 2 not pass, 1 problem" in md
    assert "| `a` | fail |  | expected 1 \\| got 2 |" in md
    assert "| `b` | skip |  | needs a second device |" in md
    assert "reference 0.1.0 —" not in md  # nothing to list for an all-pass column


# -- outcomes in the matrix -------------------------------------------------------------------


def _porting_runs():
    """mxnet overwrites (the note's outcome), torch accumulates (pinned): both pass."""
    return [
        run("reference", "0.1.0", [grad("two-passes", "overwrite"), case("same")]),
        run("mxnet", "1.9.1", [grad("two-passes", "overwrite"), case("same")]),
        run("torch", "2.13.0", [grad("two-passes", "accumulate",
                                     snippet="y.backward(); y.backward()  # torch"),
                                case("same")]),
    ]  # fmt: skip


def test_cells_show_outcome_labels_and_mark_the_notes_outcome(tmp_path, catalogue_path):
    out, html = report(tmp_path, _porting_runs(), catalogue_path)
    rows = {r["texts"][0].split()[0]: r for r in parse_rows(html) if r["class"] == "case"}
    assert rows["two-passes"]["texts"][1:] == ["overwrite", "overwrite", "accumulate"]
    assert rows["two-passes"]["cells"][1:] == ["s-pass nrm", "s-pass nrm", "s-pass alt"]
    summary = html[html.index('<table class="counts">') : html.index("</table>")]
    counts = dict(re.findall(r'<tr><th scope="row">([^<]+)</th><td[^>]*>(\d+)</td><td', summary))
    assert counts == {"reference 0.1.0": "2", "mxnet 1.9.1": "2", "torch 2.13.0": "1"}
    differ = re.findall(r'<tr><th scope="row">torch 2.13.0</th><td[^>]*>\d+</td><td[^>]*>(\d+)<',
                        summary)  # fmt: skip
    assert differ == ["1"]
    merged = json.loads(read(out["json"]))
    torch = merged["columns"][2]
    assert (torch["follow_notes"], torch["differ_from_notes"]) == (1, 1)
    assert merged["runs"][2]["cases"][0]["outcome"] == "accumulate"  # results.json: outcomes
    md = read(out["markdown"])
    assert (
        "the note says the second pass replaces the gradient; torch 2.13.0 does gradients add up"
        in md
    )
    assert "docs say accumulate" in md  # the pin's evidence


def test_the_page_has_the_two_difference_filters_and_the_behaviours_of_the_guide(
    tmp_path, catalogue_path
):
    _, html = report(tmp_path, _porting_runs(), catalogue_path)
    assert 'id="f-notes"' in html and 'id="f-col-a"' in html and 'id="f-col-b"' in html
    assert 'id="f-disagree"' not in html
    data = data_of(html)
    assert data["behaviours"][:4] == [
        ["SH1", "sharing", "Two uses of one layer hold one storage."],
        ["SH2", "sharing", "Shared gradients add up."],
        ["IN1", "initialization", "Default init per framework."],
        ["AG6", "autograd", "Second pass overwrites."]]  # fmt: skip
    assert data["topics"] == ["sharing", "initialization", "autograd"]


INIT = [
    {"label": "uniform-0-07", "says": "weights ~ U(-0.07, 0.07), biases zero", "normative": True},
    {"label": "kaiming-uniform", "says": "weights and biases ~ U(-1/sqrt(in), 1/sqrt(in))",
     "normative": False},
]  # fmt: skip
RAISES = {"observations": {"error": {"phase": "step", "type": "RuntimeError", "message": "no"}}}


def _guide_runs():
    """mxnet -> torch: two silent differences (AG6 in two cases, IN1 in one), one where torch
    raises (SH2), two torch skips for one reason, one mxnet unsupported, one case alike."""

    def init(case_id, held):
        return case(case_id, behaviours=["IN1"], outcomes=INIT, held=held)

    def sh2(case_id, held, **extra):
        return case(case_id, behaviours=["SH2"], outcomes=GRAD, held=held, **extra)

    mxnet = [
        grad("g1", "overwrite", snippet="mx g1"),
        grad("g2", "overwrite"),
        init("i1", "uniform-0-07"),
        sh2("s1", "overwrite"),
        case("d1"),
        case("d2"),
        case("u1", "unsupported", message="step 0 (probe): no mean"),
        case("same"),
    ]
    torch = [
        grad("g1", "accumulate", program="torch g1", snippet="old"),
        grad("g2", "accumulate", message=""),
        init("i1", "kaiming-uniform"),
        sh2("s1", "accumulate", **RAISES),
        case("d1", "skip", message="step 1 (to_device): no second device (1 other check held)"),
        case("d2", "skip", message="observing value:z: no second device"),
        case("u1"),
        case("same"),
    ]
    return [run("mxnet", "1.9.1", mxnet), run("torch", "2.13.0", torch)]  # fmt: skip


def _guide(tmp_path, runs, a="mxnet", b="torch"):
    from conformance.report import load_view
    from conformance.report.compare import resolve_column
    from conformance.report.porting import build_guide

    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text(yaml.safe_dump(CATALOGUE), encoding="utf-8")
    view, _, _ = load_view(write_runs(tmp_path, runs), str(catalogue))
    return build_guide(view, resolve_column(view, a), resolve_column(view, b))


def test_the_porting_guide_groups_cases_under_one_line_per_behaviour(tmp_path):
    guide = _guide(tmp_path, _guide_runs())
    assert guide.title == "Porting from mxnet 1.9.1 to torch 2.13.0"
    # silent differences first (a rule in the most cases first), then where one side raises
    assert [row.id for row in guide.checklist] == ["AG6", "IN1", "SH2"]
    ag6 = guide.checklist[0]
    assert [(d.a_label, d.b_label, [e.id for e in d.cases]) for d in ag6.differences] == [
        ("overwrite", "accumulate", ["g1", "g2"])]  # fmt: skip
    assert ag6.main.silent and not guide.checklist[2].main.silent
    assert guide.checklist[2].main.b_raised == "RuntimeError"
    # the code of a cell is its program where the record has one, else its snippet
    assert (ag6.main.a.program, ag6.main.b.program) == ("mx g1", "torch g1")
    # the body: behaviours by topic, in catalogue order
    assert [(t.name, [r.id for r in t.behaviours]) for t in guide.topics] == [
        ("sharing", ["SH2"]), ("initialization", ["IN1"]), ("autograd", ["AG6"])]  # fmt: skip
    # status-only: the target's reasons first, one group per column, status and reason
    assert [(g.column, g.status, g.reason, [e.id for e in g.cases]) for g in guide.status_only] == [
        ("torch 2.13.0", "skip", "no second device", ["d1", "d2"]),
        ("mxnet 1.9.1", "unsupported", "no mean", ["u1"])]  # fmt: skip


def test_the_porting_guide_reads_outcomes_from_the_records_not_the_specs(tmp_path):
    """`expected_outcome`, `normative_outcome` and `outcome` come from the record; an outcome
    list without the `normative` flag still marks the note's outcome."""
    runs = _guide_runs()
    for data in runs:
        for record in data["cases"]:
            for outcome in record["outcomes"]:
                outcome.pop("normative", None)
    guide = _guide(tmp_path, runs)
    main = guide.checklist[0].main
    assert (main.a.normative, main.b.normative) == (True, False)
    (tmp_path / "page").mkdir()
    _, html = report(tmp_path / "page", runs)
    outcomes = details_of(html)["outcomes"]
    assert outcomes[0] == [["overwrite", "the second pass replaces the gradient", True],
                           ["accumulate", "gradients add up", False]]  # fmt: skip


def test_compare_prints_the_porting_guide_checklist_first_and_status_only_last(tmp_path, capsys):
    paths = write_runs(tmp_path, _guide_runs())
    assert cli_main(["report", *paths, "--compare", "mxnet", "torch"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# Porting from mxnet 1.9.1 to torch 2.13.0\n")
    assert "7 of 8 cases differ in outcome or status: 4 in 3 behaviours that differ, and 3 " in md
    checklist = md[md.index("## Checklist") : md.index("## Behaviour differences, by topic")]
    lines = [line for line in checklist.splitlines() if line[:1].isdigit()]
    # the statement is the catalogue's (the kit's, for the CLI), the rest the records' words
    assert lines[0].startswith("1. **AG6** Two backward passes overwrite the gradient")
    assert lines[0].endswith(
        " — **torch 2.13.0:** gradients add up; **mxnet 1.9.1:** the second pass replaces the "
        "gradient ([2 cases](#b-ag6))"
    )
    assert lines[1].startswith("2. **IN1** ") and "**torch 2.13.0:** weights and biases" in lines[1]
    assert lines[2].endswith("([torch 2.13.0 raises RuntimeError; 1 case](#b-sh2))")
    assert checklist.index("**No error will tell you (2):**") < checklist.index(lines[0])
    assert checklist.index(lines[1]) < checklist.index("**One side raises (1):**")
    assert checklist.index("**One side raises (1):**") < checklist.index(lines[2])
    assert md.index("## Behaviour differences, by topic") < md.index("## What cannot be compared")
    assert '#### <a id="b-ag6"></a>AG6 — Two backward passes overwrite' in md
    assert "**mxnet 1.9.1: overwrite → torch 2.13.0: accumulate** (2 cases; runs on both)" in md
    assert (
        "| outcome | **overwrite** (as the notes say) | **accumulate** (not as the notes say) |"
        in md
    )
    assert "| what it does | the second pass replaces the gradient | gradients add up |" in md
    assert "- `g1` — Title of g1.\n- `g2` — Title of g2." in md
    assert "```python\nmx g1\n```" in md and "```python\ntorch g1\n```" in md  # both programs
    assert md.count("```python\n") == 2 * 3  # one pair per difference, not per case
    assert "- **torch 2.13.0: skip** (2 cases) — no second device: `d1`, `d2`" in md
    assert "- **mxnet 1.9.1: unsupported** (1 case) — no mean: `u1`" in md
    assert "`same`" not in md
    target = tmp_path / "porting.md"
    assert (
        cli_main(["report", *paths, "--compare", "mxnet@1.9", "torch@2.13.0", "-o", str(target)])
        == 0
    )
    assert read(str(target)) == md


def test_a_framework_name_means_its_newest_column_and_says_which(tmp_path, capsys):
    runs = _porting_runs() + [run("torch", "2.12.0", [grad("two-passes", "accumulate")])]
    paths = write_runs(tmp_path, runs)
    assert cli_main(["report", *paths, "--compare", "mxnet", "jax"]) == 2
    err = capsys.readouterr().err
    assert "no column matches 'jax'" in err and "torch 2.13.0" in err
    assert cli_main(["report", *paths, "--compare", "mxnet", "torch"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# Porting from mxnet 1.9.1 to torch 2.13.0\n")
    assert ("'torch' matches 2 columns (torch 2.12.0; torch 2.13.0); using the newest, "
            "torch 2.13.0 (for another, name it: torch@2.12)") in captured.err  # fmt: skip
    assert cli_main(["report", *paths, "--compare", "mxnet", "torch@2.1"]) == 2  # not 2.12/2.13
    assert "no column matches 'torch@2.1'" in capsys.readouterr().err
    assert cli_main(["report", *paths, "--compare", "torch@2.12", "torch@2.13"]) == 0
    captured = capsys.readouterr()
    assert "# Upgrading from torch 2.12.0 to torch 2.13.0" in captured.out
    assert captured.err == ""  # each name picked one column: nothing to say


def test_columns_with_components_do_not_collide_and_show_both_versions(tmp_path, capsys):
    runs = [
        run("tensorflow", "2.21.0", [grad("two-passes", "accumulate")],
            components={"keras": "3.15.1"}, column="tensorflow 2.21.0 · keras 3.15.1"),
        run("tensorflow", "2.21.0", [grad("two-passes", "overwrite")],
            components={"keras": "2.21.0"}),
        run("tensorflow", "2.15.1", [grad("two-passes", "overwrite")],
            components={"keras": "2.15.0"}),
    ]  # fmt: skip
    paths = write_runs(tmp_path, runs)
    for n, path in enumerate(paths):  # distinct file names for the same framework version
        os.replace(path, str(tmp_path / f"tf-{n}.json"))
        paths[n] = str(tmp_path / f"tf-{n}.json")
    out = write_report(paths, str(tmp_path / "out"))
    html = read(out["html"])
    start = html.index('<table class="matrix"')
    head = html[start : html.index("</thead>", start)]
    assert re.findall(r'class="ver"[^>]*>([^<]+)<', head) == [
        "2.15.1 · keras 2.15.0", "2.21.0 · keras 2.21.0", "2.21.0 · keras 3.15.1"]  # fmt: skip
    assert re.findall(r'colspan="(\d+)" class="fw">([^<]+)<', head) == [("3", "tensorflow")]
    assert cli_main(["report", *paths, "--compare", "tensorflow@2.21,keras@2",
                     "tensorflow@2.21,keras@3"]) == 0  # fmt: skip
    md = capsys.readouterr().out
    assert (
        "# Upgrading from tensorflow 2.21.0 · keras 2.21.0 to tensorflow 2.21.0 · keras 3.15.1"
        in md
    )
    assert "**overwrite** (as the notes say)" in md and "**accumulate**" in md
    # tensorflow@2.21 matches two columns: the newest (Keras 3.15) is picked and named
    assert cli_main(["report", *paths, "--compare", "tensorflow@2.15", "tensorflow@2.21"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(
        "# Upgrading from tensorflow 2.15.1 · keras 2.15.0 to tensorflow 2.21.0 · keras 3.15.1"
    )
    assert "using the newest, tensorflow 2.21.0 · keras 3.15.1" in captured.err
    assert "(for another, name it: tensorflow@2.21,keras@2)" in captured.err
    # a version prefix stops at a dot: mxnet@1.8 names 1.8.0.post0, not 1.80
    runs = [run("mxnet", "1.8.0.post0", [grad("two-passes", "overwrite")]),
            run("mxnet", "1.80.1", [grad("two-passes", "overwrite")])]  # fmt: skip
    paths = write_runs(tmp_path / "mx", runs) if (tmp_path / "mx").mkdir() is None else []
    assert cli_main(["report", *paths, "--compare", "mxnet@1.8", "mxnet@1.80"]) == 0
    assert "# Upgrading from mxnet 1.8.0.post0 to mxnet 1.80.1" in capsys.readouterr().out


def test_a_claim_a_release_broke_says_holds_up_to_and_changed_in(tmp_path):
    runs = [
        run("tensorflow", "2.15.1", [grad("two-passes", "overwrite"), case("same")],
            components={"keras": "2.15.0"}),
        run("tensorflow", "2.21.0", [grad("two-passes", "accumulate"), case("same")],
            components={"keras": "3.15.1"}),
        run("torch", "2.13.0", [grad("two-passes", "accumulate"), case("same")]),
    ]  # fmt: skip
    out, html = report(tmp_path, runs)
    text = ("holds up to tensorflow 2.15.1 · keras 2.15.0, "
            "changed in tensorflow 2.21.0 · keras 3.15.1")  # fmt: skip
    rows = {r["texts"][0].split()[0]: r for r in parse_rows(html) if r["class"] == "case"}
    assert text in rows["two-passes"]["texts"][0]
    assert "holds up to" not in rows["same"]["texts"][0]
    md = read(out["markdown"])
    assert "## Claims of the notes that a release broke" in md
    assert (
        "| `two-passes` | the second pass replaces the gradient | tensorflow 2.15.1 · keras "
        "2.15.0 | tensorflow 2.21.0 · keras 3.15.1 | accumulate: gradients add up |"
    ) in md
    broken = json.loads(read(out["json"]))["claims_broken"]
    assert [(b["case"], b["changed_in"]) for b in broken] == [
        ("two-passes", "tensorflow 2.21.0 · keras 3.15.1")]  # fmt: skip


def test_a_release_line_is_followed_by_component_versions(tmp_path):
    """Keras 3.3 on TF 2.16 -> tf_keras 2.21 on TF 2.21 is not an upgrade: it is never
    compared. Keras 2.15 (TF 2.15) -> Keras 3.3 (TF 2.16) is, and so is 3.3 -> 3.15."""
    runs = [
        run("tensorflow", "2.15.1", [grad("k2-never-held", "accumulate"), grad("broke-at-k3", "overwrite"),
                                     grad("broke-late", "overwrite")], components={"keras": "2.15.0"}),
        run("tensorflow", "2.16.2", [grad("k2-never-held", "overwrite"), grad("broke-at-k3", "accumulate"),
                                     grad("broke-late", "overwrite")], components={"keras": "3.3.3"}),
        run("tensorflow", "2.21.0", [grad("k2-never-held", "accumulate"), grad("broke-at-k3", "accumulate"),
                                     grad("broke-late", "overwrite")], components={"keras": "2.21.0"}),
        run("tensorflow", "2.21.0", [grad("k2-never-held", "overwrite"), grad("broke-at-k3", "accumulate"),
                                     grad("broke-late", "accumulate")], components={"keras": "3.15.1"}),
    ]  # fmt: skip
    out, _ = report(tmp_path, runs)
    broken = json.loads(read(out["json"]))["claims_broken"]
    pairs = sorted((b["case"], b["holds_up_to"], b["changed_in"]) for b in broken)
    assert (
        pairs
        == [  # each line from Keras 2.15 breaks: to Keras 3.3 (TF 2.16) and to tf_keras 2.21
            ("broke-at-k3", "tensorflow 2.15.1 · keras 2.15.0", "tensorflow 2.16.2 · keras 3.3.3"),
            ("broke-at-k3", "tensorflow 2.15.1 · keras 2.15.0", "tensorflow 2.21.0 · keras 2.21.0"),
            ("broke-late", "tensorflow 2.16.2 · keras 3.3.3", "tensorflow 2.21.0 · keras 3.15.1"),
        ]
    ), pairs  # never "keras 3.3.3 -> keras 2.21.0", and broke-at-k3 not again at keras 3.15.1


def test_nan_and_infinities_are_kept_as_such(tmp_path):
    observations = {"mean": float("nan"), "max": float("inf"), "min": float("-inf"),
                    "std": "NaN"}  # fmt: skip
    data = run("reference", "0.1.0", [case("a", observations=observations)])
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(data), encoding="utf-8")  # Python writes bare NaN / Infinity
    assert "NaN" in path.read_text(encoding="utf-8")
    out = write_report([str(path)], str(tmp_path / "out"))
    html = read(out["html"])
    details = details_of(html)  # valid JSON (no bare NaN), the values kept as strings
    obs = details["cells"][0][0][data_of(html)["detailFields"].index("observations")]
    assert obs == {"mean": "NaN", "max": "Infinity", "min": "-Infinity", "std": "NaN"}
    assert "NaN" in script_json({"x": float("nan")}) and "null" not in script_json(
        {"x": float("-inf")})  # fmt: skip


def test_an_old_results_file_with_known_is_read_and_flagged(tmp_path):
    old = case("a", "unsupported", message="n/a")
    old["status"] = "known"
    for key in ("outcome", "expected_outcome", "normative_outcome", "outcomes", "pin"):
        del old[key]
    _, html = report(tmp_path, [run("torch", "2.12.0", [old])])
    assert "an old results format (1 cases with status &#39;known&#39;" in html
    rows = [r for r in parse_rows(html) if r["class"] == "case"]
    assert rows[0]["texts"][1:] == ["known"]


def test_cell_details_come_in_chunks_of_consecutive_cases(tmp_path):
    cases = [case(f"c{n:03d}", message=f"message {n}") for n in range(250)]
    _, html = report(tmp_path, [run("reference", "0.1.0", cases)])
    chunks = detail_chunks_of(html)
    assert [c["first"] for c in chunks] == [0, 100, 200]  # one chunk per 100 cases
    message = data_of(html)["detailFields"].index("message")
    assert [row[0][message] for row in details_of(html)["cells"]] == [
        f"message {n}" for n in range(250)]  # fmt: skip


def test_every_chunk_is_packed_once_the_details_pass_the_threshold():
    cases = [case(f"c{n:03d}", message=f"message {n} {XSS}") for n in range(450)]
    results = check_results("r.json", run("reference", "0.1.0", cases))
    view = build_view(merge_runs([Run("r.json", results)]), load_catalogue(None))
    chunks = json.loads(json.dumps(detail_chunks(view)))
    one = len(script_json(chunks[0], ascii=True))
    # the total passes the threshold at the third of five chunks: the first two are packed too
    html = render_html(view, compress_over=int(2.5 * one))
    assert re.findall(r'data-encoding="([^"]+)"', html) == ["gzip-base64"] * 5
    assert detail_chunks_of(html) == chunks
    html = render_html(view, compress_over=10 * one)  # under it: plain JSON, the same data
    assert re.findall(r'data-encoding="([^"]+)"', html) == ["json"] * 5
    assert detail_chunks_of(html) == chunks


def test_case_texts_many_cases_share_are_embedded_once(tmp_path):
    claim = "第二隐藏层和第三隐藏层的梯度都会被累加 " + XSS
    source = {"note": "000_a.txt", "section": "4.2.4", "claim": claim}
    cases = [case(f"c{n}", source=source, file=f"specs/f{n % 2}.yaml") for n in range(6)]
    cases.append(case("odd", source={"note": ["not", "text"], "section": 4.2, "claim": None}))
    _, html = report(tmp_path, [run("reference", "0.1.0", cases)])
    data = data_of(html)
    assert data["texts"].count(claim) == 1 and html.count("\\u003cscript") == 1
    assert [(k[2], k[5], k[6], k[7]) for k in resolved_cases(data)] == [
        (f"specs/f{n % 2}.yaml", "000_a.txt", "4.2.4", claim) for n in range(6)
    ] + [("specs/sharing.yaml", ["not", "text"], 4.2, None)]
    assert resolved_cases(data)[0][8:10] == ["as-noted", "as the note states"]


def test_results_checks_fill_in_defaults_and_drop_unusable_fields():
    nulls = {**case("b"), "checks": None, "observations": None, "message": None, "pin": None}
    bad = {**case("d", "fail"), "outcome": "", "expected_outcome": 3, "pin": "x", "source": [],
           "outcomes": {}}  # fmt: skip
    known = {**case("e"), "status": "known"}
    empty = {**case("f"), "outcome": ""}  # the only flaw: an empty label
    sparse = {"id": "c", "status": "skip"}
    cases = [case("a"), nulls, sparse, bad, known, empty]
    data = check_results("r.json", run("reference", "0.1.0", cases))
    a, b, c, d, _, f = data["cases"]
    assert a == case("a")  # complete and well typed: as written
    assert (b["checks"], b["observations"], b["message"], b["pin"]) == ([], {}, "", None)
    assert c == {
        "id": "c", "status": "skip", "file": "", "topic": "", "title": "", "behaviours": [],
        "message": "", "observations": {}, "source": {}, "snippet": "", "outcome": None,
        "expected_outcome": None, "normative_outcome": None, "outcomes": [], "pin": None,
        "checks": [],
    }  # fmt: skip
    assert (d["outcome"], d["expected_outcome"], d["normative_outcome"]) == (None, None, "as-noted")
    assert (d["pin"], d["source"], d["outcomes"]) == (None, {}, [])
    assert (f["outcome"], f["expected_outcome"]) == (None, "as-noted")
    assert Run("r.json", data).legacy == 1


# -- claims of the notes ---------------------------------------------------------------------

LEDGER = {
    "claims": [
        {"id": "000-4.1-01", "note": "000_a.txt", "section": "4.1", "framework": "mxnet",
         "quote": "net(X) " + XSS, "cases": ["a"]},
        {"id": "000-4.1-02", "note": "000_a.txt", "section": "4.1", "framework": "mxnet",
         "quote": "two cases", "says": "both must pass", "cases": ["a", "b"]},
        {"id": "000-4.1-03", "note": "000_a.txt", "section": "4.1", "framework": "any",
         "quote": "training loop", "out_of_scope": "a dataset training loop"},
        {"id": "001-4.2-01", "note": "001_b.txt", "section": "4.2", "framework": "torch",
         "quote": "c holds", "cases": ["c"]},
        {"id": "001-4.2-02", "note": "001_b.txt", "section": "4.2", "framework": "torch",
         "quote": "no case yet"},
    ]
}  # fmt: skip


def ledger_file(tmp_path, ledger=LEDGER):
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(ledger, allow_unicode=True), encoding="utf-8")
    return str(path)


def claims_report(tmp_path, runs, claims_path):
    out = write_report(write_runs(tmp_path, runs), str(tmp_path / "out"), None, claims_path)
    merged = json.loads(read(out["json"]))
    return out, read(out["html"]), read(out["markdown"]), merged["claims"]


def test_claim_counts_per_note_match_the_ledger(tmp_path):
    runs = [run("reference", "0.1.0", [case("a"), case("b"), case("c")])]
    _, html, markdown, claims = claims_report(tmp_path, runs, ledger_file(tmp_path))
    by_note = {n["note"]: n for n in claims["notes"]}
    assert {k: by_note["000_a.txt"][k] for k in ("claims", "covered", "out_of_scope")} == {
        "claims": 3, "covered": 2, "out_of_scope": 1}  # fmt: skip
    assert {k: by_note["001_b.txt"][k] for k in ("claims", "covered", "out_of_scope")} == {
        "claims": 2, "covered": 1, "out_of_scope": 0}  # fmt: skip
    assert by_note["001_b.txt"]["uncovered"] == ["001-4.2-02"]
    assert [c["passing"] for c in by_note["000_a.txt"]["columns"]] == [2]
    assert claims["total"]["claims"] == 5 and claims["total"]["covered"] == 3
    assert claims["problem"] is None
    # the page: a section with one collapsed table per note, every value escaped
    assert '<h2 id="claims-title">Claims of the notes</h2>' in html
    assert len(re.findall(r'<details class="claims-note" data-note="[^"]+">', html)) == 2
    assert (
        "note 000_a.txt: 3 claims, 2 covered, 1 out of scope; reference 0.1.0: 2 as noted, 0 differ"
    ) in html
    assert XSS not in html and "net(X) &lt;script&gt;" in html
    assert "out of scope: a dataset training loop" in html
    # the Markdown: one row per note and a total
    assert "| 000\\_a.txt | 3 | 2 | 1 | 0 | 2 as noted · 0 differ |" in markdown
    assert "| 001\\_b.txt | 2 | 1 | 0 | 1 | 1 as noted · 0 differ |" in markdown
    assert "| **total** | 5 | 3 | 1 | 1 | 3 as noted · 0 differ |" in markdown


def test_the_kits_ledger_is_the_default_and_counted_as_conformance_claims_counts(tmp_path):
    from conformance.claims import coverage, load_ledger
    from conformance.report.claims import kit_ledger_path

    runs = [run("reference", "0.1.0", [case("a")])]
    _, _, _, claims = claims_report(tmp_path, runs, None)
    expected = coverage(load_ledger(kit_ledger_path()))
    assert claims["ledger"] == kit_ledger_path()
    got = [(n["note"], n["claims"], n["covered"], n["out_of_scope"]) for n in claims["notes"]]
    assert got == [(n["note"], n["claims"], n["covered"], n["out_of_scope"])
                   for n in expected["notes"]]  # fmt: skip
    assert claims["total"]["claims"] == expected["total"]["claims"] > 0


def test_a_failing_case_lowers_only_its_columns_claim_count(tmp_path):
    runs = [
        run("reference", "0.1.0", [case("a"), case("b"), case("c")]),
        run("torch", "2.13.0", [case("a"), case("b", "fail"), case("c")]),
        run("mxnet", "1.9.1", [case("a"), case("b")]),  # c not run
    ]
    _, html, markdown, claims = claims_report(tmp_path, runs, ledger_file(tmp_path))
    passing = {n["note"]: {c["label"]: c["passing"] for c in n["columns"]} for n in claims["notes"]}
    # b fails on torch: claim 02 (cases a and b) does not pass there
    assert passing["000_a.txt"] == {"reference 0.1.0": 2, "torch 2.13.0": 1, "mxnet 1.9.1": 2}
    # c was not run on mxnet: its claim does not count there
    assert passing["001_b.txt"] == {"reference 0.1.0": 1, "torch 2.13.0": 1, "mxnet 1.9.1": 0}
    assert "torch 2.13.0: 1 as noted, 0 differ" in html
    assert "mxnet 1.9.1: 0 as noted, 0 differ" in html
    order = [c["label"] for c in claims["notes"][0]["columns"]]
    cells = " | ".join(f"{passing['000_a.txt'][label]} as noted · 0 differ" for label in order)
    assert f"| 000\\_a.txt | 3 | 2 | 1 | 0 | {cells} |" in markdown
    row = re.search(
        r'<th scope="row" class="mono cid"[^>]*>000-4.1-02</th>(.*?)</tr>', html, re.DOTALL
    )
    shown = dict(zip(order, re.findall(r'<td class="([a-z]-[a-z]+)">', row.group(1))))
    assert shown == {"reference 0.1.0": "k-follow", "torch 2.13.0": "s-fail",
                     "mxnet 1.9.1": "k-follow"}  # fmt: skip


def test_a_pinned_deviation_counts_as_a_claim_that_differs_not_one_that_holds(tmp_path):
    """mxnet passes every case, but holds another outcome than the note's for one claim's
    case (pinned): the claim differs there, it does not hold as noted."""
    runs = [
        run("reference", "0.1.0", [case("a"), grad("b", "overwrite"), case("c")]),
        run("mxnet", "1.9.1", [case("a"), grad("b", "accumulate"), case("c")]),
    ]
    _, html, markdown, claims = claims_report(tmp_path, runs, ledger_file(tmp_path))
    columns = {c["label"]: c for c in claims["total"]["columns"]}
    assert {k: columns["mxnet 1.9.1"][k] for k in ("passing", "as_noted", "differ")} == {
        "passing": 3, "as_noted": 2, "differ": 1}  # fmt: skip
    assert {k: columns["reference 0.1.0"][k] for k in ("as_noted", "differ")} == {
        "as_noted": 3, "differ": 0}  # fmt: skip
    assert (
        "| **total** | 5 | 3 | 1 | 1 | 3 as noted · 0 differ | 2 as noted · 1 differ |" in markdown
    )
    row = re.search(
        r'<th scope="row" class="mono cid"[^>]*>000-4.1-02</th>(.*?)</tr>', html, re.DOTALL
    )
    assert re.findall(r'<td class="(k-[a-z]+)">([^<]+)<', row.group(1)) == [
        ("k-follow", "as noted"), ("k-differ", "differs")]  # fmt: skip


@pytest.mark.parametrize("content", [None, "claims: [unclosed", "just: a mapping\n"])
def test_a_missing_or_unreadable_ledger_still_renders_and_says_so(tmp_path, content):
    path = tmp_path / "nowhere" / "claims.yaml"
    if content is not None:
        path.parent.mkdir()
        path.write_text(content, encoding="utf-8")
    runs = [run("reference", "0.1.0", [case("a"), case("b")])]
    _, html, markdown, claims = claims_report(tmp_path, runs, str(path))
    assert claims["problem"].startswith("claims ledger not found") and claims["notes"] == []
    assert "claims ledger not found" in html and "claims ledger not found" in markdown
    assert '<details class="claims-note"' not in html
    assert [r["texts"][0] for r in parse_rows(html) if r["class"] == "case"][:2] == [
        "a Title of a.", "b Title of b."]  # fmt: skip
