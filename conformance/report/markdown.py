"""The Markdown summary and the porting guide: counts, claims a release broke, where
frameworks differ from the notes, non-pass cells; and, for two columns, the porting guide
(report/porting.py: a checklist, the differences by topic, what cannot be compared).

Rule: text from results is escaped for Markdown and HTML (GitHub renders inline HTML), a
message is one line, and the list is capped per column so the summary stays within the
limits CI systems put on it; the cap is stated, never silent. Programs go in fenced
blocks whose fence is longer than any backtick run inside them.
"""

from __future__ import annotations

import re

from conformance.report.compare import evidence_text
from conformance.report.model import MISSING, PROBLEMS, SEVERITY, ReportView, outcome_says
from conformance.report.porting import build_guide, checklist_line

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
        f"Ledger `{str(claims.path).replace('`', '')}`. Per column, of the covered claims: "
        "how many hold as noted (every case holds the note's outcome) and how many differ "
        "(a case holds another outcome: pinned for that version, or moved)."
    )
    out.append("")
    head = "| note | claims | covered | out of scope | uncovered | "
    out.append(head + " | ".join(md_text(c.label) for c in view.columns) + " |")
    out.append("|---|---:|---:|---:|---:|" + "---:|" * len(view.columns))
    for note in claims.notes + [claims.total]:
        name = "**total**" if note is claims.total else md_text(note.note)
        cells = " | ".join(f"{p} as noted · {d} differ" for p, d in zip(note.as_noted, note.differ))
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
    """The porting guide from column a to column b as Markdown (see report/porting.py): the
    checklist, one line per behaviour; the behaviour differences by topic, each with its
    cases and both programs; then what cannot be compared, grouped by reason."""
    guide = build_guide(view, a, b)
    out = [f"# {md_text(guide.title)}", ""]
    differ = guide.behaviour_cases + guide.status_cases
    out.append(
        f"{differ} of {guide.total} cases differ in outcome or status: {guide.behaviour_cases} "
        f"in {len(guide.checklist)} behaviours that differ, and {guide.status_cases} that cannot "
        f"be compared (skip, unsupported, not run; listed last). Generated {view.generated}."
    )
    out.append("")
    for banner in view.banners:
        out.append(f"> **{banner.kind}:** {md_text(banner.text)}")
        out.append("")
    if not differ:
        out += ["Every case has the same outcome and status in both columns.", ""]
        return "\n".join(out)
    if guide.checklist:
        out += ["## Checklist", ""]
        out.append(
            f"What {md_text(guide.b)} does that {md_text(guide.a)} did not, one line per "
            "behaviour, each linking to its cases below."
        )
        silent = None
        for n, row in enumerate(guide.checklist, 1):
            if row.main.silent is not silent:  # two parts: silent, then raises
                silent = row.main.silent
                count = sum(r.main.silent is silent for r in guide.checklist)
                out += ["", f"**No error will tell you ({count}):** the program runs on both "
                        "and its results differ." if silent else
                        f"**One side raises ({count}):**", ""]  # fmt: skip
            line = checklist_line(row, guide)
            how = line["count"] if silent else f"{line['shows']}; {line['count']}"
            out.append(
                f"{n}. **{md_text(row.id)}** {md_text(line['statement'])} — "
                f"**{md_text(guide.b)}:** {md_text(line['b'])}; "
                f"**{md_text(guide.a)}:** {md_text(line['a'])} "
                f"([{md_text(how)}](#{_anchor(row.id)}))"
            )
        out += ["", "## Behaviour differences, by topic", ""]
        for topic in guide.topics:
            out += [f"### {md_text(topic.name)}", ""]
            for row in topic.behaviours:
                out += _behaviour_section(row, guide)
    if guide.status_only:
        out += ["## What cannot be compared", ""]
        out.append("Cases where one column has no outcome to compare: the reason is its message.")
        out.append("")
        for group in guide.status_only:
            ids = ", ".join(f"`{e.id.replace('`', '')}`" for e in group.cases)
            count = f"{len(group.cases)} case{'s' if len(group.cases) != 1 else ''}"
            out.append(
                f"- **{md_text(group.column)}: {md_text(_word(group.status))}** ({count}) — "
                f"{md_text(_shorten(group.reason))}: {ids}"
            )
        out.append("")
    return "\n".join(out)


def _behaviour_section(row, guide) -> list[str]:
    out = [f'#### <a id="{_anchor(row.id)}"></a>{md_text(row.id)} — {md_text(row.statement)}', ""]
    for diff in row.differences:
        first = diff.cases[0]
        count = f"{len(diff.cases)} case{'s' if len(diff.cases) != 1 else ''}"
        out.append(
            f"**{md_text(guide.a)}: {md_text(diff.a_label)} → {md_text(guide.b)}: "
            f"{md_text(diff.b_label)}** ({count}; "
            + ("runs on both" if diff.silent else _raises(diff, guide))
            + ")"
        )
        out.append("")
        out += ["| | " + md_text(guide.a) + " | " + md_text(guide.b) + " |", "|---|---|---|"]
        out.append(
            f"| outcome | **{md_text(diff.a_label)}**{_mark(diff.a)} | "
            f"**{md_text(diff.b_label)}**{_mark(diff.b)} |"
        )
        if diff.a.status != "pass" or diff.b.status != "pass":
            out.append(f"| status | {diff.a.status} | {diff.b.status} |")
        out.append(
            f"| what it does | {md_text(_shorten(diff.a.says))} | "
            f"{md_text(_shorten(diff.b.says))} |"
        )
        if diff.a.evidence or diff.b.evidence:
            out.append(
                f"| evidence | {md_text(_shorten(diff.a.evidence))} | "
                f"{md_text(_shorten(diff.b.evidence))} |"
            )
        out.append("")
        for entry, (sa, sb) in zip(diff.cases, diff.sides):
            line = f"- `{entry.id.replace('`', '')}` — {md_text(entry.title)}"
            if entry is not first and (sa.says, sb.says) != (diff.a.says, diff.b.says):
                line += f" ({md_text(_shorten(sa.says))} → {md_text(_shorten(sb.says))})"
            out.append(line)
        out += ["", f"The programs of `{first.id.replace('`', '')}`:", ""]
        for s in (diff.a, diff.b):
            if s.program:
                out += [f"{md_text(s.column)}:", "", *_fenced(s.program), ""]
    return out


def _raises(diff, guide) -> str:
    parts = [f"{col} raises {kind}" for col, kind in ((guide.a, diff.a_raised),
             (guide.b, diff.b_raised)) if kind]  # fmt: skip
    return "; ".join(parts)


def _anchor(behaviour: str) -> str:
    return "b-" + re.sub(r"[^a-z0-9]+", "-", behaviour.lower()).strip("-")


def _word(status: str) -> str:
    return "not run" if status == MISSING else status


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
