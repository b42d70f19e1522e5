"""Building the report's view model from merged runs: every decision about what the matrix shows.

Rule: row grouping, roll-up status, disagreement, per-column counts and banners are decided
here, once; the renderers only format what they are given. A cell is its outcome: the label
of the outcome that held (else the status), coloured by how it stands to the notes (the
note's outcome, another pinned one, or a move: `fail`); columns disagree when their labels
or their statuses differ. A collapsed behaviour row says per column "as noted", "2 of 5
differ", "1 of 5 fail", or the status its cases share.
"""

from __future__ import annotations

import operator
from collections import Counter
from datetime import UTC, datetime

from conformance.report.catalogue import Catalogue
from conformance.report.claim_changes import claim_changes
from conformance.report.claims import Ledger
from conformance.report.claims_view import claims_view
from conformance.report.merge import Merged
from conformance.report.model import (
    MISSING,
    NO_BEHAVIOUR,
    PROBLEMS,
    SEVERITY,
    Banner,
    BehaviourRow,
    CaseEntry,
    ColumnView,
    ReportView,
    TopicGroup,
    disagrees,
    outcome_says,
    worst,
)
from conformance.report.results_format import LEGACY_STATUSES, STATUSES
from conformance.report.runs import ResultsError, cell_label

_STATUS = operator.itemgetter("status")


def build_view(
    merged: Merged,
    catalogue: Catalogue,
    unreadable: list[ResultsError] = (),
    generated: str | None = None,
    ledger: Ledger | None = None,
) -> ReportView:
    columns = merged.columns
    cases = _case_entries(merged)
    claim_changes(cases, columns)
    rows = _behaviour_rows(cases, catalogue, len(columns))
    legacy = any(c.run.legacy for c in columns)
    views = [_column_view(i, column, cases) for i, column in enumerate(columns)]
    for ci, view in enumerate(views):
        view.differ_behaviours = sum(row.rollup_differ[ci] for row in rows)
        view.follow_behaviours = sum(row.rollup_follow[ci] for row in rows)
    return ReportView(
        generated=generated or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        columns=views,
        framework_groups=_framework_groups([c.framework for c in columns]),
        topics=_topic_groups(rows, catalogue),
        cases=cases,
        banners=_banners(merged, catalogue, unreadable),
        statuses=STATUSES + (LEGACY_STATUSES if legacy else ()),
        changes=[(entry, change) for entry in cases for change in entry.changes],
        claims=None if ledger is None else claims_view(ledger, cases, len(columns)),
    )


def _case_entries(merged: Merged) -> list[CaseEntry]:
    n = len(merged.columns)
    entries: dict[str, CaseEntry] = {}
    for ci, column in enumerate(merged.columns):
        for case in column.run.cases:
            entry = entries.get(case["id"])
            if entry is None:
                entry = entries[case["id"]] = CaseEntry(
                    index=len(entries),
                    id=case["id"],
                    title=case["title"],
                    file=case["file"],
                    topic=case["topic"],
                    behaviours=[str(b) for b in case["behaviours"]],
                    source=case["source"],
                    results=[None] * n,
                )
            entry.results[ci] = case
    for entry in entries.values():
        results = entry.results
        entry.statuses = [r["status"] if r else MISSING for r in results]
        entry.labels = [cell_label(r) if r else MISSING for r in results]
        entry.normative = [_follows(r) if r else None for r in results]
        entry.disagree = disagrees(entry.statuses, entry.labels)
        for r in entry.results:
            if r is not None and r["normative_outcome"]:
                entry.normative_label = r["normative_outcome"]
                entry.normative_says = outcome_says(r, r["normative_outcome"])
                if entry.normative_says:
                    break
    return list(entries.values())


def _follows(result: dict | None) -> bool | None:
    """True: the note's outcome held; False: another outcome held; None: neither is known."""
    if result is None:
        return None
    held, normative = result["outcome"], result["normative_outcome"]
    return held == normative if held and normative else None


def _behaviour_rows(cases: list[CaseEntry], catalogue: Catalogue, n: int) -> list[BehaviourRow]:
    rows: dict[tuple[str, str], BehaviourRow] = {}
    for b in catalogue.behaviours.values():
        rows[(b.id, "")] = BehaviourRow(b.id, b.topic, b.statement, b.sources, catalogued=True)
    for entry in cases:
        for bid in entry.behaviours or [NO_BEHAVIOUR]:
            key = (bid, "") if bid != NO_BEHAVIOUR else (bid, entry.topic)
            row = rows.get(key)
            if row is None:
                statement = "Cases that name no behaviour." if bid == NO_BEHAVIOUR else ""
                row = rows[key] = BehaviourRow(bid, entry.topic, statement, "", catalogued=False)
            row.cases.append(entry)
    for row in rows.values():
        # per column (the rows' cases transposed): their statuses and normative flags
        by_column = zip(*(c.statuses for c in row.cases)) if row.cases else [()] * n
        flags_by_column = zip(*(c.normative for c in row.cases)) if row.cases else [()] * n
        for column, flags in zip(by_column, flags_by_column):
            row.rollup.append(worst(column))
            counts = Counter(column)
            differ = flags.count(False)
            title = " · ".join(f"{_word(s)} {counts[s]}" for s in (*SEVERITY, MISSING) if counts[s])
            if differ:
                title += f" · {differ} not as the notes say"
            row.rollup_titles.append(title)
            row.rollup_differ.append(bool(differ))
            row.rollup_follow.append(not differ and True in flags)
            kind, text = _rollup_word(counts, differ, True in flags)
            row.rollup_kind.append(kind)
            row.rollup_text.append(text)
        row.disagree = any(c.disagree for c in row.cases)
    return list(rows.values())


def _rollup_word(counts: Counter, differ: int, follows: bool) -> tuple[str, str]:
    """(kind, text) of a collapsed behaviour row's cell in one column: a problem first
    ("1 of 3 fail"), then how many cases hold another outcome than the note's ("2 of 3
    differ"), then "as noted" where a case holds the note's outcome, else the worst status."""
    run = sum(n for status, n in counts.items() if status != MISSING)
    problems = [s for s in PROBLEMS if counts[s]]
    if problems:
        worst_problem = worst(problems)
        n = sum(counts[s] for s in problems)
        return worst_problem, worst_problem if run == 1 else f"{n} of {run} {worst_problem}"
    if differ:
        return "differ", "differs" if run == 1 else f"{differ} of {run} differ"
    if follows:
        return "follow", "as noted"
    status = worst(counts.elements())
    return status, _word(status)


def _topic_groups(rows: list[BehaviourRow], catalogue: Catalogue) -> list[TopicGroup]:
    groups: dict[str, list[BehaviourRow]] = {}
    for b in catalogue.behaviours.values():  # catalogue order first
        groups.setdefault(b.topic or "(no topic)", [])
    for row in rows:
        groups.setdefault(row.topic or "(no topic)", []).append(row)
    return [TopicGroup(name, items) for name, items in groups.items() if items]


def _column_view(ci: int, column, cases: list[CaseEntry]) -> ColumnView:
    run = column.run
    counts = Counter(map(_STATUS, run.cases))
    flags = Counter(entry.normative[ci] for entry in cases)  # every case of the run is an entry
    label = column.label
    prefix = run.framework + " "
    head = label.removeprefix(prefix)
    return ColumnView(
        label=label,
        framework=run.framework,
        version=run.version,
        path=run.path,
        environment=run.environment(),
        counts={s: counts.get(s, 0) for s in STATUSES + LEGACY_STATUSES},
        total=len(run.cases),
        follow=flags[True],
        differ=flags[False],
        head=head,
        components=run.components,
        missing=sum(1 for entry in cases if entry.results[ci] is None),
        import_error=run.import_error,
    )


def _framework_groups(frameworks: list[str]) -> list[tuple[str, int]]:
    groups: list[tuple[str, int]] = []
    for name in frameworks:
        if groups and groups[-1][0] == name:
            groups[-1] = (name, groups[-1][1] + 1)
        else:
            groups.append((name, 1))
    return groups


def _banners(merged: Merged, catalogue: Catalogue, unreadable) -> list[Banner]:
    banners = [Banner("unreadable", f"{e.path}: {e.reason} — not shown") for e in unreadable]
    if not merged.columns:
        banners.append(Banner("unreadable", "No usable results files: the matrix is empty."))
    for m in merged.mismatches:
        banners.append(
            Banner("mismatch", m.describe() + ". Cells in different groups may not be comparable.")
        )
    for column in merged.columns:
        if column.run.import_error:
            text = f"{column.label}: the framework could not be imported: {column.run.import_error}"
            banners.append(Banner("import", text))
        elif not column.run.cases:
            banners.append(Banner("import", f"{column.label}: the run holds no cases."))
        if column.run.legacy:
            banners.append(
                Banner(
                    "import",
                    f"{column.label}: an old results format ({column.run.legacy} cases with "
                    "status 'known', which this kit no longer writes); rerun it to see outcomes.",
                )
            )
        if column.run.data.get("interrupted"):
            banners.append(
                Banner("import", f"{column.label}: the run was interrupted; it is partial.")
            )
    if catalogue.problem:
        banners.append(Banner("note", catalogue.problem))
    return banners


def _word(status: str) -> str:
    return "not run" if status == MISSING else status
