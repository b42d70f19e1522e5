"""The HTML matrix: one self-contained page rendered from a `ReportView` with Jinja2.

Rule: everything shown is escaped — Jinja2 runs with autoescape on, row markup built here
goes through markupsafe.escape, and the data the page's script reads is JSON with `<`,
`>`, `&` and line separators written as \\u escapes, so no value (an error message holding
`</script>`, say) can end the script or add markup. The page embeds two data elements:
the matrix essentials (columns, case metadata, each cell's status and outcome), read at
load, and the cell details (messages, observations, outcomes, pins, checks, snippets),
decoded only when first needed (a cell opened, a search, the comparison). Details over
`COMPRESS_OVER` bytes are embedded gzip-compressed and base64-encoded (the browser's
DecompressionStream unpacks them); base64 holds no markup characters.
"""

from __future__ import annotations

import base64
import json
import math
import zlib

import jinja2
from markupsafe import Markup, escape

from conformance.report.model import MISSING, CaseEntry, ReportView
from conformance.report.runs import LEGACY_STATUSES, STATUSES

# Field order of one cell's details (documented in the page's script too).
DETAIL_FIELDS = (
    "message", "snippet", "duration_s", "checks", "observations", "outcomes", "pin",
    "expected_outcome",
)  # fmt: skip
CELL_STATUSES = STATUSES + LEGACY_STATUSES
COMPRESS_OVER = 2_000_000
_SCRIPT_ESCAPES = (
    ("&", "\\u0026"),
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)
_NORM_CLASS = {True: " nrm", False: " alt", None: ""}
_MISSING_CELL = '<td class="s-missing"><span class="w">not run</span></td>'


class _CellMarkup(dict):
    """(status, label, normative) -> the <td> of a case cell; built once per distinct key."""

    def __missing__(self, key):
        status, label, normative = key
        if status == MISSING:
            text = _MISSING_CELL
        else:
            text = (
                f'<td class="s-{escape(status)}{_NORM_CLASS[normative]}">'
                f'<button class="c">{escape(label)}</button></td>'
            )
        self[key] = text
        return text


def case_row(entry: CaseEntry, cells: _CellMarkup) -> str:
    """The <tr> of one case: its id, title, claim change, and one cell per column."""
    head = f'<span class="cid">{escape(entry.id)}</span> <span class="title">{escape(entry.title)}</span>'
    if entry.changes:
        head += f' <span class="chg">{escape(entry.change_text)}</span>'
    tds = "".join(
        cells[(s, lab, n)] for s, lab, n in zip(entry.statuses, entry.labels, entry.normative)
    )
    d = ' data-d="1"' if entry.disagree else ""
    return f'<tr class="case" data-i="{entry.index}"{d}><th scope="row">{head}</th>{tds}</tr>\n'


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conformance", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["MISSING"] = MISSING
    cells = _CellMarkup()
    env.filters["case_rows"] = lambda entries: Markup("".join(case_row(e, cells) for e in entries))
    return env


def _finite(value):
    """A copy of `value` with NaN and infinities as the strings JSON results use for them."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def script_json(data) -> Markup:
    """JSON that is safe inside <script type="application/json"> (and in JS string context)."""
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    except ValueError:  # a NaN or infinity: JSON has none, so write them as strings
        text = json.dumps(_finite(data), ensure_ascii=False, separators=(",", ":"), default=str)
    for raw, escaped in _SCRIPT_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return Markup(text)


def page_data(view: ReportView) -> dict:
    """What the page reads at load: columns, case metadata, each cell's status and outcome."""
    label_ids: dict[str, int] = {}
    status_ids = {s: i for i, s in enumerate(CELL_STATUSES)}
    cells = []
    for entry in view.cases:
        row = []
        for status, label, normative in zip(entry.statuses, entry.labels, entry.normative):
            if status == MISSING:
                row.append(0)
            else:
                flag = 1 if normative else (2 if normative is False else 0)
                row.append([status_ids[status], label_ids.setdefault(label, len(label_ids)), flag])
        cells.append(row)
    return {
        "statuses": list(CELL_STATUSES),
        "labels": list(label_ids),
        "detailFields": DETAIL_FIELDS,
        "columns": [
            {"label": c.label, "framework": c.framework, **_environment_text(c.environment)}
            for c in view.columns
        ],
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
                e.normative_label,
                e.normative_says,
                e.change_text,
            ]
            for e in view.cases
        ],
        "cells": cells,
    }


def detail_data(view: ReportView) -> dict:
    """Every cell's details, [case][column] -> list in DETAIL_FIELDS order (0 where not run)."""
    snippets: dict[str, int] = {"": 0}
    cells = []
    for entry in view.cases:
        row = []
        for result in entry.results:
            if result is None:
                row.append(0)
                continue
            row.append(
                [
                    result["message"],
                    snippets.setdefault(result["snippet"], len(snippets)),
                    result.get("duration_s"),
                    result["checks"],
                    result["observations"],
                    result["outcomes"],
                    result["pin"],
                    result["expected_outcome"],
                ]
            )
        cells.append(row)
    return {"cells": cells, "snippets": list(snippets)}


def embedded_data(view: ReportView, compress_over: int = COMPRESS_OVER) -> tuple[str, Markup]:
    """(encoding, text) for the details element: "json", or "gzip-base64" when large."""
    text = script_json(detail_data(view))
    if len(text) <= compress_over:
        return "json", text
    packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: a gzip stream with header
    packed = packer.compress(text.encode("utf-8")) + packer.flush()
    return "gzip-base64", Markup(base64.b64encode(packed).decode("ascii"))


def render_html(view: ReportView, compress_over: int = COMPRESS_OVER) -> str:
    encoding, details = embedded_data(view, compress_over)
    template = environment().get_template("report.html.j2")
    return template.render(
        view=view, data=script_json(page_data(view)), details=details, details_encoding=encoding
    )


def _environment_text(environment: dict) -> dict:
    return {
        k: v
        for k, v in environment.items()
        if k
        in (
            "framework",
            "framework_version",
            "components",
            "column",
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

