"""The reporter: page structure, escaping, merging, mismatch banners, Markdown, columns.

Results fixtures are built here as dicts and written to temporary files.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from html.parser import HTMLParser

import pytest
import yaml

from conformance.report import write_report
from conformance.report.catalogue import load_catalogue
from conformance.report.html import page_data, render_html
from conformance.report.merge import merge_runs
from conformance.report.model import MISSING, build_view, disagrees, worst
from conformance.report.runs import Run, check_results

XSS = "<script>alert(1)</script>"


def case(case_id, status="pass", behaviours=("SH1",), **extra):
    return {
        "id": case_id,
        "file": "specs/sharing.yaml",
        "topic": "sharing",
        "title": f"Title of {case_id}.",
        "behaviours": list(behaviours),
        "status": status,
        "message": extra.pop("message", "" if status == "pass" else f"{status} happened"),
        "observations": extra.pop("observations", {"shape": [2, 3]}),
        "duration_s": 0.01,
        "source": {"note": "000_a.txt", "section": "4.2.4", "claim": "the claim"},
        "known_reason": None,
        "doc": None,
        "note_says": None,
        "snippet": "net = Net()\n",
        **extra,
    }


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
    parser = Rows()
    parser.feed(html)
    for row in parser.rows:
        row["texts"] = [" ".join(t.split()) for t in row["texts"]]
    return parser.rows


def report(tmp_path, runs, catalogue=None):
    out = write_report(write_runs(tmp_path, runs), str(tmp_path / "out"), catalogue)
    return out, read(out["html"])


def data_of(html):
    match = re.search(
        r'<script type="application/json" id="report-data" '
        r'data-encoding="([^"]+)">(.*?)</script>',
        html,
        re.DOTALL,
    )
    encoding, text = match.groups()
    if encoding == "gzip-base64":
        text = gzip.decompress(base64.b64decode(text)).decode("utf-8")
    return json.loads(text)


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
                case("b", "known", behaviours=["SH2"]),
                case("c", behaviours=["IN1"]),
            ],
        ),
    ]
    out, html = report(tmp_path, runs, catalogue_path)
    assert set(out) == {"html", "json", "markdown"}
    rows = parse_rows(html)
    topics = [r["texts"][0].split()[0] for r in rows if r["class"] == "topic"]
    assert topics == ["sharing", "initialization"]  # catalogue order
    behaviours = [r for r in rows if r["class"].startswith("beh")]
    assert [r["texts"][0].split()[0] for r in behaviours] == ["SH1", "SH2", "IN1"]
    assert "Two uses of one layer hold one storage." in behaviours[0]["texts"][0]
    assert behaviours[0]["cells"][1:] == ["s-pass", "s-fail"]  # roll-up: worst per column
    cases = [r for r in rows if r["class"] == "case"]
    assert [r["texts"][0].split()[0] for r in cases] == ["a", "b", "c"]
    for row in cases:
        assert len(row["cells"]) == 1 + 2
    assert cases[0]["texts"][1:] == ["pass", "fail"]  # the status as a word
    assert cases[1]["cells"][1:] == ["s-pass", "s-known"]


def test_page_is_self_contained(tmp_path):
    _, html = report(tmp_path, [run("reference", "0.1.0", [case("a")])])
    assert "<link" not in html
    assert not re.search(r'\b(src|href)\s*=\s*"(https?:)?//', html)
    assert "@import" not in html
    assert all("src=" not in tag for tag in re.findall(r"<script[^>]*>", html))
    assert len(re.findall(r"<script[^>]*>", html)) == 2  # data + code, both inline


def test_summary_counts_per_column(tmp_path):
    runs = [
        run("reference", "0.1.0", [case("a"), case("b")]),
        run("torch", "2.13.0", [case("a", "fail")]),
    ]
    _, html = report(tmp_path, runs)
    summary = html[html.index('<table class="counts">') : html.index("</table>")]
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', summary)
    counts = {label: re.findall(r">(\d+)<", cells) for label, cells in rows}
    # columns: pass fail known unsupported skip error crash timeout | not run | cases run
    assert counts["reference@0.1.0"] == ["2", "0", "0", "0", "0", "0", "0", "0", "0", "2"]
    assert counts["torch@2.13.0"] == ["0", "1", "0", "0", "0", "0", "0", "0", "1", "1"]


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
    assert html.count("<script") == 2
    assert f"title {XSS}".replace("<", "&lt;").replace(">", "&gt;") in html  # case title
    assert "ImportError: &lt;script&gt;alert(1)&lt;/script&gt;" in html  # banner
    data = data_of(html)  # the embedded data still holds the exact text
    cell = data["cells"][0][0]
    assert cell[data["cellFields"].index("message")] == XSS
    assert cell[-1] == {"error": {"message": "</script><script>alert(2)</script>"}}
    markdown = read(out["markdown"])
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown


def test_large_payload_is_compressed_and_round_trips(tmp_path):
    runs = [
        Run("r.json", check_results("r.json", run("reference", "0.1.0", [case("a", message=XSS)])))
    ]
    view = build_view(merge_runs(runs), load_catalogue(None))
    html = render_html(view, compress_over=0)
    assert 'data-encoding="gzip-base64"' in html
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
    assert [c["label"] for c in merged["columns"]] == ["reference@0.1.0", "torch@2.13.0"]
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
    assert "aaaa: reference@0.1.0, mxnet@1.9.1; bbbb: torch@2.13.0" in banners[0]
    assert "kit_version" in banners[1] and "0.0.9: mxnet@1.9.1" in banners[1]
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
    assert case_row["texts"][1:] == ["pass", "pass", "pass", "fail"]


def test_two_runs_of_one_version_stay_two_columns(tmp_path):
    runs = [
        run("torch", "2.13.0", [case("a")], platform="Linux"),
        run("torch", "2.13.0", [case("a", "fail")], platform="macOS"),
    ]
    out, _ = report(tmp_path, runs)
    labels = [c["label"] for c in json.loads(read(out["json"]))["columns"]]
    assert labels == ["torch@2.13.0 [Linux]", "torch@2.13.0 [macOS]"]


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
    assert worst(["pass", "known", "fail", MISSING]) == "fail"
    assert worst([MISSING]) == MISSING
    assert worst(["skip", "unsupported"]) == "unsupported"
    assert disagrees(["pass", "fail"]) and not disagrees(["pass", "pass", MISSING])


def test_disagreeing_rows_are_marked(tmp_path):
    runs = [
        run("reference", "0.1.0", [case("same"), case("differs", behaviours=["SH2"])]),
        run("torch", "2.13.0", [case("same"), case("differs", "fail", behaviours=["SH2"])]),
        run("mxnet", "1.9.1", [case("differs", "fail", behaviours=["SH2"])]),
    ]
    _, html = report(tmp_path, runs)
    rows = {r["texts"][0].split()[0]: r for r in parse_rows(html) if r["class"] != "topic"}
    assert "data-d" not in rows["same"]["attrs"] and "data-d" not in rows["SH1"]["attrs"]
    assert rows["differs"]["attrs"]["data-d"] == "1" and rows["SH2"]["attrs"]["data-d"] == "1"
    assert rows["same"]["texts"][1:] == ["pass", "not run", "pass"]  # mxnet did not run it


# -- markdown -------------------------------------------------------------------------------------


def test_markdown_has_counts_and_every_non_pass_cell(tmp_path):
    runs = [
        run("reference", "0.1.0", [case("a"), case("b")]),
        run(
            "torch",
            "2.13.0",
            [
                case("a", "fail", message="expected 1 | got 2"),
                case("b", "known", message="", known_reason="torch differs"),
            ],
        ),
    ]
    out, _ = report(tmp_path, runs)
    md = read(out["markdown"])
    assert "| status | reference@0.1.0 | torch@2.13.0 |" in md
    assert "| pass | 2 | 0 |" in md and "| fail | 0 | 1 |" in md and "| known | 0 | 1 |" in md
    assert "### torch@2.13.0 — 2 not pass, 1 problem" in md
    assert "| `a` | fail | expected 1 \\| got 2 |" in md
    assert "| `b` | known | torch differs |" in md
    assert "reference@0.1.0 —" not in md  # nothing to list for an all-pass column
