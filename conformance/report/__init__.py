"""The reporter: results files in, a self-contained HTML matrix, merged JSON and Markdown out.

Rule: build the view model once (`build.build_view`), then render it; nothing here
decides what a cell means. An unreadable results file does not stop the report: it is
named in a banner on the page and in the Markdown (the gate fails it separately).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

from conformance.report.build import build_view
from conformance.report.catalogue import load_catalogue
from conformance.report.claims import default_ledger_path, load_ledger
from conformance.report.html import render_html
from conformance.report.markdown import render_markdown
from conformance.report.merge import merge_runs
from conformance.report.runs import gc_paused, load_runs
from conformance.results import atomic_write_text

REPORT_FORMAT = "conformance-report/1"

__all__ = ["REPORT_FORMAT", "load_view", "write_report", "write_view"]


def load_view(
    results_paths: list[str], catalogue_path: str | None = None, claims_path: str | None = None
):
    """(view, merged, unreadable) for the results files or folders named.

    The claims ledger is `claims_path`, by default the one beside the catalogue, else the
    kit's own (report.claims.default_ledger_path); a missing one is named on the page.

    Callers that keep the view while building more should pause the collector around
    both (`runs.gc_paused`), as `write_report` does."""
    with gc_paused():
        runs, unreadable = load_runs(list(results_paths))
        merged = merge_runs(runs)
        ledger = load_ledger(claims_path or default_ledger_path(catalogue_path))
        view = build_view(merged, load_catalogue(catalogue_path), unreadable, ledger=ledger)
    return view, merged, unreadable


def write_report(
    results_paths: list[str],
    out_dir: str,
    catalogue_path: str | None = None,
    claims_path: str | None = None,
) -> dict:
    """Write index.html, results.json and summary.md into `out_dir`; return their paths.

    `results_paths` may name files or folders (a folder means its *.json files).
    Returns {"html": path, "json": path, "markdown": path}.
    """
    with gc_paused():  # one pause for the whole report: see runs.gc_paused
        return _load_and_write(results_paths, out_dir, catalogue_path, claims_path)


def _load_and_write(results_paths, out_dir, catalogue_path, claims_path=None) -> dict:
    # A function of its own, so that the view is freed (by reference counting) before the
    # collector is switched back on: otherwise its first pass walks every object of it.
    view, merged, unreadable = load_view(results_paths, catalogue_path, claims_path)
    return write_view(view, merged, unreadable, out_dir)


def write_view(view, merged, unreadable, out_dir: str) -> dict:
    """Write index.html, results.json and summary.md for a loaded view (see `load_view`).

    The files are written by a second thread while the next one is rendered (writing
    releases the interpreter lock): results.json, the bulk of the bytes, goes first."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {
        "html": os.path.join(out_dir, "index.html"),
        "json": os.path.join(out_dir, "results.json"),
        "markdown": os.path.join(out_dir, "summary.md"),
    }
    with gc_paused(), ThreadPoolExecutor(max_workers=1) as writer:
        writes = [
            writer.submit(_write_text, paths["json"], merged_json_parts(view, merged, unreadable)),
            writer.submit(_write_text, paths["html"], [render_html(view)]),
            writer.submit(_write_text, paths["markdown"], [render_markdown(view)]),
        ]
        for write in writes:
            write.result()  # raises what the write raised
    return paths


def _merged_head(view, merged, unreadable) -> dict:
    return {
        "format": REPORT_FORMAT,
        "generated": view.generated,
        "columns": [
            {
                "label": c.label,
                "path": c.run.path,
                "framework": c.framework,
                "version": c.version,
                "components": c.run.components,
                "follow_notes": v.follow,
                "differ_from_notes": v.differ,
                "behaviours_follow_notes": v.follow_behaviours,
                "behaviours_differ_from_notes": v.differ_behaviours,
            }
            for c, v in zip(merged.columns, view.columns)
        ],
        "claims_broken": [
            {
                "case": entry.id,
                "normative_outcome": entry.normative_label,
                "says": entry.normative_says,
                "framework": change.framework,
                "holds_up_to": change.held_in,
                "changed_in": change.changed_in,
                "now": change.now,
            }
            for entry, change in view.changes
        ],
        "mismatches": [
            {
                "field": m.field,
                "groups": [{"value": v, "columns": list(cols)} for v, cols in m.groups],
            }
            for m in merged.mismatches
        ],
        "claims": claims_json(view),
        "unreadable": [{"path": e.path, "reason": e.reason} for e in unreadable],
    }


def merged_json_parts(view, merged, unreadable) -> list[str]:
    """The merged results in pieces (so that the runs' text is written out without copying):
    every run as it was read (its environment included), one per column.

    The runs' own JSON text is spliced in unchanged (each case record carries its
    `outcome`, `expected_outcome`, `normative_outcome`, `outcomes` and `pin`):
    `columns[i]` describes `runs[i]`. The head adds, per column, how many cases follow the
    notes and how many differ, every claim a release broke, and `claims`: the ledger's
    claims per note (claims, covered, out of scope, uncovered) with, per column, how many
    covered claims hold as noted there (`as_noted`), how many differ (`differ`) and how many
    have all their cases passing (`passing`: pinned deviations included).
    """
    head = _merged_head(view, merged, unreadable)
    opening = json.dumps(head, ensure_ascii=False, indent=1)[:-2]  # drop the closing "\n}"
    parts = [opening, ',\n "runs": [\n']
    for i, column in enumerate(merged.columns):
        if i:
            parts.append(",\n")
        parts.append(column.run.text.strip())
    parts.append("\n]\n}\n")
    return parts


def claims_json(view) -> dict | None:
    """The `claims` key of results.json (None when the view was built without a ledger)."""
    claims = view.claims
    if claims is None:
        return None
    labels = [c.label for c in view.columns]

    def counts(note) -> dict:
        return {
            "note": note.note,
            "claims": note.claims,
            "covered": note.covered,
            "out_of_scope": note.out_of_scope,
            "uncovered": list(note.uncovered),
            "columns": [
                {
                    "label": label,
                    "passing": passing,
                    "as_noted": as_noted,
                    "differ": differ,
                    "of": note.covered,
                }
                for label, passing, as_noted, differ in zip(
                    labels, note.passing, note.as_noted, note.differ
                )
            ],
        }

    return {
        "ledger": claims.path,
        "problem": claims.problem,
        "notes": [counts(note) for note in claims.notes],
        "total": counts(claims.total) if claims.total else None,
    }


def _write_text(path: str, parts) -> None:
    """Write the text `parts` to `path` through a temporary file of its own (no half-written
    report, and two reports written into one folder at once never share a temporary name)."""
    atomic_write_text(path, parts)
