"""The report's view model: plain dataclasses built from merged runs, rendered elsewhere.

Rule: every decision about what the matrix shows — row grouping, roll-up status,
disagreement, per-column counts, banners — is made here, once; the HTML and Markdown
renderers only format what they are given (coverage.py's html.py does the same).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from conformance.report.catalogue import Catalogue
from conformance.report.merge import Merged
from conformance.report.runs import STATUSES, ResultsError

MISSING = "missing"  # the column has no result for this case
SEVERITY = (
    "crash",
    "timeout",
    "error",
    "fail",
    "known",
    "unsupported",
    "skip",
    "pass",
)  # worst first
PROBLEMS = ("fail", "error", "crash", "timeout")
NO_BEHAVIOUR = "(none)"  # behaviour row for cases that name no behaviour
_RANK = {status: rank for rank, status in enumerate(SEVERITY)}


@dataclass
class CaseEntry:
    """One case id across all columns."""

    index: int
    id: str
    title: str
    file: str
    topic: str
    behaviours: list[str]
    source: dict
    results: list[dict | None]  # per column, the case as the run wrote it
    statuses: list[str] = field(default_factory=list)  # per column; MISSING where absent
    disagree: bool = False


@dataclass
class BehaviourRow:
    id: str
    topic: str
    statement: str
    sources: str
    catalogued: bool
    cases: list[CaseEntry] = field(default_factory=list)
    rollup: list[str] = field(default_factory=list)  # worst status per column
    rollup_titles: list[str] = field(default_factory=list)  # "pass 2 · fail 1" per column
    disagree: bool = False


@dataclass
class TopicGroup:
    name: str
    behaviours: list[BehaviourRow]

    @property
    def case_count(self) -> int:
        return sum(len(b.cases) for b in self.behaviours)


@dataclass
class ColumnView:
    label: str
    framework: str
    version: str
    path: str
    environment: dict
    counts: dict[str, int]  # per status, every status present (zeros included)
    total: int
    missing: int  # case ids other columns ran and this one did not
    import_error: str | None


@dataclass
class Banner:
    kind: str  # "mismatch" | "import" | "unreadable" | "note"
    text: str


@dataclass
class ReportView:
    generated: str
    columns: list[ColumnView]
    framework_groups: list[tuple[str, int]]  # (framework, number of adjacent columns)
    topics: list[TopicGroup]
    cases: list[CaseEntry]
    banners: list[Banner]
    statuses: tuple[str, ...] = STATUSES

    @property
    def behaviour_count(self) -> int:
        return sum(len(t.behaviours) for t in self.topics)


def worst(statuses) -> str:
    """The most severe status of those given, ignoring MISSING (MISSING if none)."""
    present = [s for s in statuses if s != MISSING]
    return min(present, key=_RANK.__getitem__) if present else MISSING


def disagrees(statuses) -> bool:
    """Columns disagree when the statuses they report (absent ones aside) are not all equal."""
    return len({s for s in statuses if s != MISSING}) > 1


def build_view(
    merged: Merged,
    catalogue: Catalogue,
    unreadable: list[ResultsError] = (),
    generated: str | None = None,
) -> ReportView:
    columns = merged.columns
    cases = _case_entries(merged)
    rows = _behaviour_rows(cases, catalogue, len(columns))
    return ReportView(
        generated=generated or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        columns=[_column_view(i, column, cases) for i, column in enumerate(columns)],
        framework_groups=_framework_groups([c.framework for c in columns]),
        topics=_topic_groups(rows, catalogue),
        cases=cases,
        banners=_banners(merged, catalogue, unreadable),
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
        entry.statuses = [r["status"] if r else MISSING for r in entry.results]
        entry.disagree = disagrees(entry.statuses)
    return list(entries.values())


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
        for ci in range(n):
            column = [c.statuses[ci] for c in row.cases]
            row.rollup.append(worst(column))
            counts = Counter(column)
            row.rollup_titles.append(
                " · ".join(f"{_word(s)} {counts[s]}" for s in (*SEVERITY, MISSING) if counts[s])
            )
        row.disagree = any(c.disagree for c in row.cases)
    return list(rows.values())


def _topic_groups(rows: list[BehaviourRow], catalogue: Catalogue) -> list[TopicGroup]:
    groups: dict[str, list[BehaviourRow]] = {}
    for b in catalogue.behaviours.values():  # catalogue order first
        groups.setdefault(b.topic or "(no topic)", [])
    for row in rows:
        groups.setdefault(row.topic or "(no topic)", []).append(row)
    return [TopicGroup(name, items) for name, items in groups.items() if items]


def _column_view(ci: int, column, cases: list[CaseEntry]) -> ColumnView:
    run = column.run
    counts = Counter(case["status"] for case in run.cases)
    return ColumnView(
        label=column.label,
        framework=run.framework,
        version=run.version,
        path=run.path,
        environment=run.environment(),
        counts={s: counts.get(s, 0) for s in STATUSES},
        total=len(run.cases),
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
        if column.run.data.get("interrupted"):
            banners.append(
                Banner("import", f"{column.label}: the run was interrupted; it is partial.")
            )
    if catalogue.problem:
        banners.append(Banner("note", catalogue.problem))
    return banners


def _word(status: str) -> str:
    return "not run" if status == MISSING else status
