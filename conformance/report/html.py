"""The HTML matrix: one self-contained page rendered from a `ReportView` with Jinja2.

Rule: everything shown is escaped — Jinja2 runs with autoescape on, and the data the
page's script reads is JSON with `<`, `>`, `&` and line separators written as \\u escapes,
so no value (an error message holding `</script>`, say) can end the script or add markup.
The page embeds the matrix essentials (columns, case metadata, each cell's status and
outcome; a text many cases share, such as a note's claim, once; the behaviours and topics
the porting guide groups by), read at load — the page's
script builds the case rows from them, escaping every value, so the markup holds only topics
and behaviours — and the cell details (messages, observations, outcomes, pins, checks,
programs) in chunks of `CHUNK_CASES` cases, each decoded only when first needed (a cell of
it opened; every chunk for a search or the comparison). When the details exceed
`COMPRESS_OVER` bytes, each chunk is embedded gzip-compressed and base64-encoded (the
browser's DecompressionStream unpacks it); a second thread packs each chunk while the next
one is encoded, which leaves the page as it would be without it.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import zlib
from concurrent.futures import Future, ThreadPoolExecutor

import jinja2
from markupsafe import Markup

from conformance.report.model import MISSING, NO_BEHAVIOUR, PROBLEMS, ReportView
from conformance.report.porting import program_of, raised_type, reason_text
from conformance.report.results_format import LEGACY_STATUSES, STATUSES

# Field order of one cell's details (documented in the page's script too). `held`: per
# outcome of the case (details.outcomes[case]), whether it held (true/false/null); the
# checks that failed for an outcome are the checks with ok false and that outcome.
# `program`: an index into the chunk's distinct programs (the code of the cell); `raised`: the
# error type its program raised ("" when none); `reason`: the message without its location
# (report/porting.py: what the porting guide groups status-only cases by).
DETAIL_FIELDS = (
    "message", "program", "duration_s", "checks", "observations", "held", "pin",
    "expected_outcome", "raised", "reason",
)  # fmt: skip
CELL_STATUSES = STATUSES + LEGACY_STATUSES
# Positions in a case's page data (see `page_data`) that hold an index into the shared texts.
SHARED_CASE_FIELDS = (2, 3, 5, 6, 7, 8, 9)
COMPRESS_OVER = 2_000_000
CHUNK_CASES = 100  # cases per details chunk: opening a cell decodes ~1/50 of a 5,000-case report
_SCRIPT_ESCAPES = (
    ("&", "\\u0026"),
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("conformance", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals["MISSING"] = MISSING
    env.filters["case_indexes"] = lambda entries: " ".join(str(e.index) for e in entries)
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


def script_json(data, ascii: bool = False) -> Markup:
    """JSON that is safe inside <script type="application/json"> (and in JS string context).

    `ascii`: write every non-ASCII character as a \\u escape too (the same data once parsed;
    the encoder's ASCII path is faster, which matters for the megabytes of cell details)."""
    try:
        text = json.dumps(data, ensure_ascii=ascii, separators=(",", ":"), allow_nan=False,
                          check_circular=False, default=str)  # fmt: skip
    except ValueError:  # a NaN or infinity: JSON has none, so write them as strings
        text = json.dumps(_finite(data), ensure_ascii=ascii, separators=(",", ":"), default=str)
    for raw, escaped in _SCRIPT_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return Markup(text)


def page_data(view: ReportView) -> dict:
    """What the page reads at load: columns, case metadata, each cell's status and outcome.

    The case fields that many cases share (`SHARED_CASE_FIELDS`: spec file, topic, the
    note, its section and claim, the notes' outcome and its text) are indexes into `texts`,
    which holds each distinct value once; the page's script puts the values back at load."""
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
    texts: list = []
    text_ids: dict = {}

    def text_id(value) -> int:
        """The index of `value` in `texts`, added on first use (a list or object every time)."""
        key = (type(value), value) if isinstance(value, (str, int, float, type(None))) else object()
        if key not in text_ids:
            text_ids[key] = len(texts)
            texts.append(value)
        return text_ids[key]

    cases = []
    for e in view.cases:
        source = e.source
        cases.append(
            [
                e.id,
                e.title,
                text_id(e.file),
                text_id(e.topic),
                e.behaviours,
                text_id(source.get("note")),
                text_id(source.get("section")),
                text_id(source.get("claim")),
                text_id(e.normative_label),
                text_id(e.normative_says),
                e.change_text,
            ]
        )
    behaviours = [
        [row.id, row.topic or topic.name, row.statement]
        for topic in view.topics
        for row in topic.behaviours
        if row.id != NO_BEHAVIOUR
    ]
    return {
        "statuses": list(CELL_STATUSES),
        "problems": list(PROBLEMS),
        "labels": list(label_ids),
        "detailFields": DETAIL_FIELDS,
        "columns": [
            {"label": c.label, "framework": c.framework, **_environment_text(c.environment)}
            for c in view.columns
        ],
        "cases": cases,
        "behaviours": behaviours,  # [id, topic, statement] in catalogue order (the porting guide)
        "topics": [t.name for t in view.topics],
        "sharedCaseFields": SHARED_CASE_FIELDS,
        "texts": texts,
        "cells": cells,
    }


def detail_chunks(view: ReportView, size: int = CHUNK_CASES) -> list[dict]:
    """The cell details in chunks of `size` consecutive cases (see `detail_data`)."""
    return list(_detail_chunks(view, size))


def _detail_chunks(view: ReportView, size: int = CHUNK_CASES):
    """`detail_chunks`, one at a time (the page needs only their text)."""
    for first in range(0, len(view.cases), size):
        yield detail_data(view, first, view.cases[first : first + size])
    if not view.cases:
        yield detail_data(view, 0, [])


def detail_data(view: ReportView, first: int = 0, entries=None) -> dict:
    """The details of cases `entries` (all by default), the first of them case `first`:
    cells [case][column] -> list in DETAIL_FIELDS order (0 where not run), each case's
    outcomes once ([label, says, normative]) and the distinct programs they use."""
    programs: dict[str, int] = {"": 0}
    cells, outcomes = [], []
    for entry in view.cases if entries is None else entries:
        row = []
        case_outcomes = None  # the case's outcomes, once: from its first result
        for result in entry.results:
            if result is None:
                row.append(0)
                continue
            if case_outcomes is None:  # the note's outcome is the record's normative_outcome
                normative = result["normative_outcome"]
                case_outcomes = [[o.get("label"), o.get("says") or "",
                                  normative is not None and o.get("label") == normative]
                                 for o in result["outcomes"] if isinstance(o, dict)]  # fmt: skip
            row.append(
                [
                    result["message"],
                    programs.setdefault(program_of(result), len(programs)),
                    result.get("duration_s"),
                    result["checks"],
                    result["observations"],
                    # per outcome, in the order of the spec's outcomes (the same in every column)
                    [o.get("held") for o in result["outcomes"] if isinstance(o, dict)],
                    result["pin"],
                    result["expected_outcome"],
                    raised_type(result),
                    reason_text(result["message"]),
                ]
            )
        outcomes.append(case_outcomes or [])
        cells.append(row)
    return {"first": first, "cells": cells, "outcomes": outcomes, "programs": list(programs)}


def embedded_data(
    view: ReportView, compress_over: int = COMPRESS_OVER
) -> tuple[str, list[tuple[int, Markup]]]:
    """(encoding, [(first case, text)]) for the details chunks: "json", or "gzip-base64"
    for every chunk when all of them together are larger than `compress_over`.

    Chunks are encoded one at a time; once their total passes `compress_over`, each is
    handed to a packing thread (zlib works without the interpreter lock), so packing one
    chunk overlaps encoding the next. The result does not depend on that timing."""
    texts: list[tuple[int, Markup]] = []
    packed: list[tuple[int, Future]] = []
    size = 0
    with ThreadPoolExecutor(max_workers=1) as packer:
        for chunk in _detail_chunks(view):
            text = script_json(chunk, ascii=True)
            texts.append((chunk["first"], text))
            size += len(text)
            if size > compress_over:  # so every chunk is packed: those before this one too
                for first, unpacked in texts[len(packed) :]:
                    packed.append((first, packer.submit(gzip_base64, unpacked)))
        if size <= compress_over:
            return "json", texts
        return "gzip-base64", [(first, future.result()) for first, future in packed]


def gzip_base64(text: str) -> Markup:
    """`text` (ASCII) as a gzip stream (no file name, time 0), base64-encoded."""
    data = zlib.compress(text.encode("ascii"), 6, 31)  # wbits 31: a gzip header and trailer
    return Markup(base64.b64encode(data).decode("ascii"))


@functools.cache
def _template() -> jinja2.Template:
    """The page's template, compiled once per process."""
    return environment().get_template("report.html.j2")


def render_html(view: ReportView, compress_over: int = COMPRESS_OVER) -> str:
    encoding, chunks = embedded_data(view, compress_over)
    return _template().render(
        view=view,
        data=script_json(page_data(view)),
        chunks=chunks,
        details_encoding=encoding,
        chunk_cases=CHUNK_CASES,
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
