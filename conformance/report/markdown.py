"""The Markdown summary and comparison: counts, claims a release broke, where frameworks
differ from the notes, non-pass cells; and the two-column comparison (porting view).

Rule: text from results is escaped for Markdown and HTML (GitHub renders inline HTML), a
message is one line, and the list is capped per column so the summary stays within the
limits CI systems put on it; the cap is stated, never silent. Snippets go in fenced
blocks whose fence is longer than any backtick run inside them.
"""

from __future__ import annotations

import re

from conformance.report.compare import differences, evidence_text
from conformance.report.model import MISSING, PROBLEMS, SEVERITY, ReportView, outcome_says

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
    out += _claims_coverage(view)
    out += _claims_broken(view)
    out += _notes_differ(view)
    out += ["", "## Cells that are not pass", ""]
    any_listed = False
    for ci, column in enumerate(view.columns):
        rows = [
            (entry, entry.results[ci])
            for entry in view.cases
            if entry.statuses[ci] not in ("pass", MISSING)
        ]
        if not rows:
            continue
        any_listed = True
        rank = {s: i for i, s in enumerate(SEVERITY)}
        rows.sort(key=lambda item: rank[item[1]["status"]])
        problems = sum(1 for _, r in rows if r["status"] in PROBLEMS)
        out += [f"### {md_text(column.label)} — {len(rows)} not pass, {problems} problems", ""]
        out += ["| case | status | outcome | message |", "|---|---|---|---|"]
        for entry, result in rows[:MAX_CELLS_PER_COLUMN]:
            message = result["message"]
            if result["status"] == "known" and result.get("known_reason"):
                message = result["known_reason"] if not message else message
            out.append(
                f"| `{entry.id.replace('`', '')}` | {result['status']} | "
                f"{md_text(result['outcome'] or '')} | {md_text(_shorten(message))} |"
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
    if any(c.follow or c.differ for c in view.columns):
        for word, get in (
            ("behaviours as the notes say", lambda c: c.follow_behaviours),
            ("behaviours that differ", lambda c: c.differ_behaviours),
            ("cases as the notes say", lambda c: c.follow),
            ("cases that differ", lambda c: c.differ),
        ):
            lines.append(f"| {word} | " + " | ".join(str(get(c)) for c in view.columns) + " |")
    if any(c.missing for c in view.columns):
        lines.append("| not run | " + " | ".join(str(c.missing) for c in view.columns) + " |")
    lines.append("| **total** | " + " | ".join(f"**{c.total}**" for c in view.columns) + " |")
    return lines


def _claims_coverage(view: ReportView) -> list[str]:
    """Per note: the ledger's claims, covered, out of scope, uncovered, and per column the
    covered claims whose cases all pass there."""
    claims = view.claims
    if claims is None:
        return []
    out = ["", "## Claims of the notes", ""]
    if claims.problem:
        return out + [f"{md_text(claims.problem)} — no claim coverage is shown."]
    out.append(
        f"Ledger `{str(claims.path).replace('`', '')}`. Per column: covered claims whose "
        "cases all pass there."
    )
    out.append("")
    head = "| note | claims | covered | out of scope | uncovered | "
    out.append(head + " | ".join(md_text(c.label) for c in view.columns) + " |")
    out.append("|---|---:|---:|---:|---:|" + "---:|" * len(view.columns))
    for note in claims.notes + [claims.total]:
        name = "**total**" if note is claims.total else md_text(note.note)
        cells = " | ".join(f"{p} of {note.covered}" for p in note.passing)
        out.append(
            f"| {name} | {note.claims} | {note.covered} | {note.out_of_scope} | "
            f"{len(note.uncovered)} | {cells} |"
        )
    return out


def _claims_broken(view: ReportView) -> list[str]:
    if not view.changes:
        return []
    out = ["", "## Claims of the notes that a release broke", ""]
    out += ["| case | the note says | holds up to | changed in | now |", "|---|---|---|---|---|"]
    for entry, change in view.changes:
        now = change.now + (f": {change.now_says}" if change.now_says else "")
        out.append(
            f"| `{entry.id.replace('`', '')}` | {md_text(_shorten(entry.normative_says))} | "
            f"{md_text(change.held_in)} | {md_text(change.changed_in)} | "
            f"{md_text(_shorten(now))} |"
        )
    return out


def _notes_differ(view: ReportView) -> list[str]:
    """Per column: the cases where an outcome other than the note's held, in words."""
    out = []
    for ci, column in enumerate(view.columns):
        rows = [e for e in view.cases if e.normative[ci] is False]
        if not rows:
            continue
        if not out:
            out = ["", "## Where a framework does not do what the notes say", ""]
        out += [f"### {md_text(column.label)} — {len(rows)} cases", ""]
        for entry in rows[:MAX_CELLS_PER_COLUMN]:
            result = entry.results[ci]
            line = note_vs_framework(entry, ci, column.label)
            evidence = evidence_text(result["pin"])
            status = "" if result["status"] == "pass" else f" **{result['status']}**"
            out.append(
                f"- `{entry.id.replace('`', '')}`{status}: {md_text(line)}"
                + (f" — {md_text(evidence)}" if evidence else "")
            )
        if len(rows) > MAX_CELLS_PER_COLUMN:
            out.append(f"- … {len(rows) - MAX_CELLS_PER_COLUMN} more: see results.json")
        out.append("")
    return out


def note_vs_framework(entry, ci: int, label: str) -> str:
    """ "the note says X; torch 2.13.0 does Y" for a cell whose outcome is not the note's."""
    result = entry.results[ci]
    held = result["outcome"]
    says = outcome_says(result, held) or held
    note = entry.normative_says or entry.normative_label or "?"
    return f"the note says {note}; {label} does {says}"


def render_compare(view: ReportView, a: int, b: int) -> str:
    """Markdown listing every case whose outcome (or status) differs between columns a and b."""
    left, right = view.columns[a], view.columns[b]
    diffs = differences(view, a, b)
    out = [f"# {md_text(left.label)} → {md_text(right.label)}", ""]
    out.append(
        f"{len(diffs)} of {len(view.cases)} cases differ in outcome or status "
        f"(generated {view.generated})."
    )
    out.append("")
    for banner in view.banners:
        out.append(f"> **{banner.kind}:** {md_text(banner.text)}")
        out.append("")
    for d in diffs:
        entry = d.entry
        behaviours = ", ".join(entry.behaviours)
        out.append(f"## `{entry.id.replace('`', '')}` — {md_text(entry.title)}")
        out.append("")
        if behaviours:
            out.append(f"Behaviours: {md_text(behaviours)}")
        claim = entry.source.get("claim")
        if claim:
            where = " ".join(
                str(x) for x in (entry.source.get("note"), entry.source.get("section")) if x
            )
            out.append(f"The note ({md_text(where)}) says: {md_text(claim)}")
        if entry.normative_says:
            out.append(
                f"The notes' outcome: **{md_text(entry.normative_label)}** — "
                f"{md_text(entry.normative_says)}"
            )
        out.append("")
        out += ["| | " + md_text(left.label) + " | " + md_text(right.label) + " |", "|---|---|---|"]
        out.append(
            f"| outcome | **{md_text(d.a.label)}**{_mark(d.a)} | "
            f"**{md_text(d.b.label)}**{_mark(d.b)} |"
        )
        out.append(f"| status | {d.a.status} | {d.b.status} |")
        out.append(
            f"| what it does | {md_text(_shorten(d.a.says))} | {md_text(_shorten(d.b.says))} |"
        )
        if d.a.evidence or d.b.evidence:
            out.append(f"| evidence | {md_text(d.a.evidence)} | {md_text(d.b.evidence)} |")
        out.append("")
        for column, s in ((left, d.a), (right, d.b)):
            if s.snippet:
                out += [f"{md_text(column.label)}:", "", *_fenced(s.snippet), ""]
    if not diffs:
        out += ["Every case has the same outcome and status in both columns.", ""]
    return "\n".join(out)


def _mark(s) -> str:
    return (
        " (as the notes say)"
        if s.normative
        else (" (not as the notes say)" if s.normative is False else "")
    )


def _fenced(code: str) -> list[str]:
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "python", code.rstrip("\n"), fence]


def _shorten(text: str) -> str:
    line = " ".join(str(text or "").split())
    return line if len(line) <= MAX_MESSAGE else line[: MAX_MESSAGE - 1] + "…"
