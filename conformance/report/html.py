"""The HTML matrix: one self-contained page rendered from a `ReportView` with Jinja2.

Rule: everything shown is escaped — Jinja2 runs with autoescape on, and the data the
page's script reads is JSON with `<`, `>`, `&` and line separators written as \\u escapes,
so no value (an error message holding `</script>`, say) can end the script or add markup.
Cell details are not rendered eagerly: the script builds them from that JSON on demand.
A large payload (over `COMPRESS_OVER` bytes) is embedded gzip-compressed and base64-encoded
instead (the browser's DecompressionStream unpacks it); base64 holds no markup characters.
"""

from __future__ import annotations

import base64
import gzip
import json

import jinja2
from markupsafe import Markup

from conformance.report.model import MISSING, ReportView
from conformance.report.runs import STATUSES

# Field order of one cell in the embedded data (documented in the page's script too).
CELL_FIELDS = (
    "status", "message", "known_reason", "doc", "note_says", "snippet", "duration_s", "checks",
    "observations",
)  # fmt: skip
COMPRESS_OVER = 2_000_000
_SCRIPT_ESCAPES = (
    ("&", "\\u0026"),
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


# Status words are a closed set, so each case cell's markup is fixed text; the `cells` filter
# joins a row's cells at once instead of escaping 60,000 values one by one in the template.
CELL_MARKUP = {
    status: f'<td class="s-{status}"><button class="c">{status}</button></td>'
    for status in STATUSES
}
CELL_MARKUP[MISSING] = '<td class="s-missing"><span class="w">not run</span></td>'


def cells_filter(statuses: list[str]) -> Markup:
    """The <td> cells of one case row (statuses come from the closed set above)."""
    return Markup("".join(CELL_MARKUP[s] for s in statuses))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conformance", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["MISSING"] = MISSING
    env.filters["cells"] = cells_filter
    return env


def script_json(data) -> Markup:
    """JSON that is safe inside <script type="application/json"> (and in JS string context)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    for raw, escaped in _SCRIPT_ESCAPES:
        text = text.replace(raw, escaped)
    return Markup(text)


def page_data(view: ReportView) -> dict:
    """What the page's script needs: columns, case metadata, and every cell's details."""
    snippets: dict[str, int] = {"": 0}
    cells = []
    for entry in view.cases:
        row = []
        for result in entry.results:
            if result is None:
                row.append(0)
                continue
            snippet = result["snippet"]
            ref = snippets.setdefault(snippet, len(snippets))
            row.append(
                [
                    result["status"],
                    result["message"],
                    result.get("known_reason"),
                    result.get("doc"),
                    result.get("note_says"),
                    ref,
                    result.get("duration_s"),
                    result.get("checks") or [],
                    result["observations"],
                ]
            )
        cells.append(row)
    return {
        "cellFields": CELL_FIELDS,
        "columns": [{"label": c.label, **_environment_text(c.environment)} for c in view.columns],
        "cases": [
            [
                e.id,
                e.title,
                e.file,
                e.topic,
                e.behaviours,
                e.source.get("note"),
                e.source.get("section"),
                e.source.get("claim"),
            ]
            for e in view.cases
        ],
        "cells": cells,
        "snippets": list(snippets),
    }


def embedded_data(view: ReportView, compress_over: int = COMPRESS_OVER) -> tuple[str, Markup]:
    """(encoding, text) for the page's data element: "json", or "gzip-base64" when large."""
    text = script_json(page_data(view))
    if len(text) <= compress_over:
        return "json", text
    packed = gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)
    return "gzip-base64", Markup(base64.b64encode(packed).decode("ascii"))


def render_html(view: ReportView, compress_over: int = COMPRESS_OVER) -> str:
    encoding, data = embedded_data(view, compress_over)
    template = environment().get_template("report.html.j2")
    return template.render(view=view, data=data, data_encoding=encoding)


def _environment_text(environment: dict) -> dict:
    return {
        k: v
        for k, v in environment.items()
        if k
        in (
            "framework",
            "framework_version",
            "kit_version",
            "python",
            "platform",
            "devices",
            "spec_digest",
            "started",
            "finished",
            "import_error",
        )
    }
