"""The report's view model: plain dataclasses built from merged runs, rendered elsewhere.

Rule: every decision about what the matrix shows — row grouping, roll-up status,
disagreement, per-column counts, banners — is made here, once; the HTML and Markdown
renderers only format what they are given (coverage.py's html.py does the same).
A cell is its outcome: the label of the outcome that held (else the status), coloured by
status; columns disagree when their labels or their statuses differ. Where the note's
(normative) outcome held on an older column of a framework and another one holds on a
newer column, the case says "holds up to X, changed in Y".
"""

from __future__ import annotations

import operator
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from conformance.report.catalogue import Catalogue
from conformance.report.claims import Ledger
from conformance.report.merge import Merged
from conformance.report.runs import LEGACY_STATUSES, STATUSES, ResultsError, cell_label

MISSING = "missing"  # the column has no result for this case
SEVERITY = (
    "crash",
    "timeout",
    "error",
    "fail",
    "known",  # legacy: runs written before outcomes
    "unsupported",
    "skip",
    "pass",
)  # worst first
PROBLEMS = ("fail", "error", "crash", "timeout")
NO_BEHAVIOUR = "(none)"  # behaviour row for cases that name no behaviour
_RANK = {status: rank for rank, status in enumerate(SEVERITY)}
_STATUS = operator.itemgetter("status")


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
    labels: list[str] = field(default_factory=list)  # per column: outcome label, else status
    # per column: True = the note's outcome held, False = another outcome held, None = neither
    normative: list[bool | None] = field(default_factory=list)
    disagree: bool = False
    normative_label: str | None = None
    normative_says: str = ""
    changes: list[ClaimChange] = field(default_factory=list)

    @property
    def change_text(self) -> str:
        return "; ".join(c.text for c in self.changes)


@dataclass
class ClaimChange:
    """A note's claim that held on an older column of a framework and not on a newer one."""

    framework: str
    held_in: str  # label of the last column (in version order) where the claim held
    changed_in: str  # label of the first later column where another outcome holds
    now: str  # what the newer column shows (outcome label or status)
    now_says: str

    @property
    def text(self) -> str:
        return f"holds up to {self.held_in}, changed in {self.changed_in}"


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
    rollup_differ: list[bool] = field(default_factory=list)  # a case holds a non-note outcome
    # per column: a case holds the note's outcome and none holds another
    rollup_follow: list[bool] = field(default_factory=list)
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
    follow: int  # cases where the note's (normative) outcome held
    differ: int  # cases where another outcome held (pinned: pass; unpinned: fail)
    head: str  # the header text under the framework's name: "2.21.0 · keras 3.15.1"
    components: dict
    missing: int  # case ids other columns ran and this one did not
    import_error: str | None
    follow_behaviours: int = 0  # behaviours whose every outcome here is the note's
    differ_behaviours: int = 0  # behaviours with a case where another outcome held


@dataclass
class Banner:
    kind: str  # "mismatch" | "import" | "unreadable" | "note"
    text: str


@dataclass
class ClaimRow:
    """One claim of the ledger, with what its cases do in each column."""

    id: str
    section: str
    quote: str
    says: str
    cases: list[str]
    out_of_scope: str  # the reason, "" for a claim with cases
    # per column: "pass" when every case of the claim passed there, else the worst status of
    # its cases that did not pass (MISSING when they were not run); "" when out of scope
    statuses: list[str] = field(default_factory=list)


@dataclass
class NoteClaims:
    """The claims of one note: counts, and per column the covered claims whose cases all pass."""

    note: str
    claims: int = 0
    covered: int = 0  # claims with cases
    out_of_scope: int = 0
    uncovered: list[str] = field(default_factory=list)  # neither cases nor a reason
    passing: list[int] = field(default_factory=list)  # per column
    rows: list[ClaimRow] = field(default_factory=list)


@dataclass
class ClaimsView:
    path: str | None
    problem: str | None  # "claims ledger not found: ..." when there is no usable ledger
    notes: list[NoteClaims] = field(default_factory=list)
    total: NoteClaims | None = None  # the sums over the notes (note "total", no rows)


@dataclass
class ReportView:
    generated: str
    columns: list[ColumnView]
    framework_groups: list[tuple[str, int]]  # (framework, number of adjacent columns)
    topics: list[TopicGroup]
    cases: list[CaseEntry]
    banners: list[Banner]
    statuses: tuple[str, ...] = STATUSES
    changes: list[tuple[CaseEntry, ClaimChange]] = field(default_factory=list)
    claims: ClaimsView | None = None  # None: the report was built without a ledger lookup

    @property
    def behaviour_count(self) -> int:
        return sum(len(t.behaviours) for t in self.topics)


def worst(statuses) -> str:
    """The most severe status of those given, ignoring MISSING (MISSING if none)."""
    present = [s for s in statuses if s != MISSING]
    return min(present, key=_RANK.__getitem__) if present else MISSING


def disagrees(statuses, labels=None) -> bool:
    """Columns disagree when their statuses, or the outcomes that held (labels), differ
    (absent cells aside): two passes with different outcomes disagree."""
    if len({s for s in statuses if s != MISSING}) > 1:
        return True
    if labels is None:
        return False
    return len({lab for lab, s in zip(labels, statuses) if s != MISSING}) > 1


def outcome_says(result: dict | None, label: str | None) -> str:
    """The one-line text of outcome `label` as the case record lists it ("" if unknown)."""
    if result is None or not label:
        return ""
    for item in result["outcomes"]:
        if isinstance(item, dict) and item.get("label") == label:
            return str(item.get("says") or "")
    return ""


def build_view(
    merged: Merged,
    catalogue: Catalogue,
    unreadable: list[ResultsError] = (),
    generated: str | None = None,
    ledger: Ledger | None = None,
) -> ReportView:
    columns = merged.columns
    cases = _case_entries(merged)
    _claim_changes(cases, columns)
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


def claims_view(ledger: Ledger, cases: list[CaseEntry], n: int) -> ClaimsView:
    """Claim coverage per note from the ledger, and per column (of `n`) how many covered
    claims have every case passing there. One pass over the claims and their cases."""
    view = ClaimsView(ledger.path, ledger.problem)
    if ledger.problem:
        return view
    by_id = {entry.id: entry for entry in cases}
    notes: dict[str, NoteClaims] = {}
    for claim in ledger.claims:
        name = str(claim.get("note") or "?")
        note = notes.get(name)
        if note is None:
            note = notes[name] = NoteClaims(name, passing=[0] * n)
        raw = claim.get("cases")
        ids = [str(c) for c in raw] if isinstance(raw, list) else []
        reason = claim.get("out_of_scope")
        reason = str(reason).strip() if reason and not ids else ""
        row = ClaimRow(
            id=str(claim.get("id") or "?"),
            section=str(claim.get("section") or ""),
            quote=" ".join(str(claim.get("quote") or "").split()),
            says=str(claim.get("says") or ""),
            cases=ids,
            out_of_scope=reason,
        )
        note.claims += 1
        note.rows.append(row)
        if ids:
            note.covered += 1
            entries = [by_id.get(c) for c in ids]
            for ci in range(n):
                status = _claim_status([e.statuses[ci] if e else MISSING for e in entries])
                row.statuses.append(status)
                note.passing[ci] += status == "pass"
        else:
            row.statuses = [""] * n
            if reason:
                note.out_of_scope += 1
            else:
                note.uncovered.append(row.id)
    view.notes = [notes[k] for k in sorted(notes)]
    total = NoteClaims("total", passing=[0] * n)
    for note in view.notes:
        total.claims += note.claims
        total.covered += note.covered
        total.out_of_scope += note.out_of_scope
        total.uncovered += note.uncovered
        total.passing = [a + b for a, b in zip(total.passing, note.passing)]
    view.total = total
    return view


def _claim_status(statuses: list[str]) -> str:
    """`pass` when every case passed; else the worst of those that did not (MISSING last)."""
    others = [s for s in statuses if s != "pass"]
    if not others:
        return "pass"
    return worst(others)


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


# Statuses that say something about the claim on a newer column (skip/error/crash/timeout do not).
_CHANGED_STATUSES = ("pass", "fail", "unsupported")


def _claim_changes(cases: list[CaseEntry], columns) -> None:
    """Fill `entry.changes`: per framework with 2+ columns (in version order), where the
    note's outcome no longer holds in a column although it held in the column before it on
    its line of releases. A column's predecessor is the nearest earlier column of that
    framework that it upgrades (no component older: Keras 3.3 -> tf_keras 2.21 is no upgrade,
    so that pair is never compared), preferring one with the same component majors (Keras 3.3
    on TF 2.16 before tf_keras 2.21 for Keras 3.15 on TF 2.21). Each line reports its first
    change only."""
    by_framework: dict[str, list[int]] = {}
    for ci, column in enumerate(columns):
        by_framework.setdefault(column.framework, []).append(ci)
    series = [idx for idx in by_framework.values() if len(idx) > 1]
    if not series:
        return
    predecessor = {}
    for idx in series:
        for pos, ci in enumerate(idx):
            earlier = [p for p in idx[:pos] if _upgrades(columns[p], columns[ci])]
            same_line = [p for p in earlier if _majors(columns[p]) == _majors(columns[ci])]
            predecessor[ci] = (same_line or earlier or [None])[-1]
    for entry in cases:
        reported: set[int] = set()  # the columns whose break was reported: a line reports once
        for idx in series:
            for ci in idx:
                flag, result = entry.normative[ci], entry.results[ci]
                if flag or result is None or result["status"] not in _CHANGED_STATUSES:
                    continue
                if flag is not False and result["status"] == "pass":
                    continue
                held = predecessor[ci]
                while held is not None and entry.normative[held] is None:  # no verdict there
                    held = predecessor[held]
                if held is None or not entry.normative[held] or _reported_on_line(held, predecessor, reported):
                    continue
                reported.add(ci)
                entry.changes.append(
                    ClaimChange(
                        framework=columns[ci].framework,
                        held_in=columns[held].label,
                        changed_in=columns[ci].label,
                        now=entry.labels[ci],
                        now_says=outcome_says(result, result["outcome"]) or result["message"],
                    )
                )


def _upgrades(old, new) -> bool:
    """True when `new` is a later release than `old` on one line: no component older."""
    from conformance.report.merge import version_key

    if version_key(new.version) < version_key(old.version):
        return False
    old_parts, new_parts = old.run.components, new.run.components
    return all(version_key(str(new_parts[k])) >= version_key(str(v)) for k, v in old_parts.items() if k in new_parts)


def _majors(column) -> dict:
    """The major version of each component: Keras 2 and Keras 3 are two lines of releases."""
    return {k: str(v).split(".")[0] for k, v in column.run.components.items()}


def _reported_on_line(ci: int, predecessor: dict, reported: set[int]) -> bool:
    """True when a break on the line that leads to column `ci` was already reported
    (predecessors are always earlier columns, so the walk ends)."""
    while ci is not None:
        if ci in reported:
            return True
        ci = predecessor[ci]
    return False


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
