"""The Markdown summary for CI job summaries and pull requests: counts, then non-pass cells.

Rule: text from results is escaped for Markdown and HTML (GitHub renders inline HTML), a
message is one line, and the list is capped per column so the summary stays within the
limits CI systems put on it; the cap is stated, never silent.
"""

from __future__ import annotations

import re

from conformance.report.model import PROBLEMS, SEVERITY, ReportView

MAX_CELLS_PER_COLUMN = 200
MAX_MESSAGE = 180
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")


def md_text(text) -> str:
    """One line of text, safe inside a Markdown table cell."""
    line = " ".join(str(text or "").split())
    line = line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", line)


def render_markdown(view: ReportView) -> str:
    out = ["# Framework behaviour conformance", ""]
    out.append(
        f"{view.behaviour_count} behaviours · {len(view.cases)} cases · "
        f"{len(view.columns)} framework runs · generated {view.generated}"
    )
    out.append("")
    for banner in view.banners:
        out.append(f"> **{banner.kind}:** {md_text(banner.text)}")
        out.append("")
    if not view.columns:
        return "\n".join(out) + "\n"
    out += _counts_table(view)
    out += ["", "## Cells that are not pass", ""]
    any_listed = False
    for ci, column in enumerate(view.columns):
        rows = [
            (entry, entry.results[ci])
            for entry in view.cases
            if entry.results[ci] is not None and entry.results[ci]["status"] != "pass"
        ]
        if not rows:
            continue
        any_listed = True
        rank = {s: i for i, s in enumerate(SEVERITY)}
        rows.sort(key=lambda item: rank[item[1]["status"]])
        problems = sum(1 for _, r in rows if r["status"] in PROBLEMS)
        out += [f"### {md_text(column.label)} — {len(rows)} not pass, {problems} problems", ""]
        out += ["| case | status | message |", "|---|---|---|"]
        for entry, result in rows[:MAX_CELLS_PER_COLUMN]:
            message = result["message"]
            if result["status"] == "known" and result.get("known_reason"):
                message = result["known_reason"] if not message else message
            out.append(
                f"| `{entry.id.replace('`', '')}` | {result['status']} | "
                f"{md_text(_shorten(message))} |"
            )
        if len(rows) > MAX_CELLS_PER_COLUMN:
            out.append(f"| … | | {len(rows) - MAX_CELLS_PER_COLUMN} more: see results.json |")
        out.append("")
    if not any_listed:
        out += ["Every case passed in every column.", ""]
    return "\n".join(out)


def _counts_table(view: ReportView) -> list[str]:
    head = "| status | " + " | ".join(md_text(c.label) for c in view.columns) + " |"
    rule = "|---|" + "---:|" * len(view.columns)
    lines = ["## Counts per column", "", head, rule]
    for status in view.statuses:
        if any(c.counts[status] for c in view.columns):
            lines.append(
                f"| {status} | " + " | ".join(str(c.counts[status]) for c in view.columns) + " |"
            )
    if any(c.missing for c in view.columns):
        lines.append("| not run | " + " | ".join(str(c.missing) for c in view.columns) + " |")
    lines.append("| **total** | " + " | ".join(f"**{c.total}**" for c in view.columns) + " |")
    return lines


def _shorten(text: str) -> str:
    line = " ".join(str(text or "").split())
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"
