"""The porting guide: what changes for a program moved from one column to another.

Rule: one guide for porting (mxnet -> torch) and for upgrading (tensorflow 2.15 -> 2.21),
built from the records alone (each cell's `outcome`, its `says` text, `message` and
`observations.error`; nothing is re-derived from the specs). A case whose two cells both
hold an outcome, and not the same one, is a *behaviour difference*: it is filed under its
first behaviour and, within it, under the pair of outcomes that held, so cases that show
the same difference sit together. Every other differing case (a skip, an unsupported
concept, a cell not run, a failure where no outcome held) is *status-only*: grouped by the
column that explains it, its status and its reason.

The checklist has one line per behaviour, ordered so that what a porter must act on comes
first: differences where the program runs on both sides and silently gives another result
before those where one side raises; a behaviour whose cases all differ the same way (a rule
to learn) before a mixed one; more cases before fewer; then catalogue order. The page's
script (templates/report.js, `porting`) follows the same rule, and the browser test holds
the two to the same checklist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from conformance.report.compare import evidence_text
from conformance.report.model import MISSING, NO_BEHAVIOUR, CaseEntry, ReportView, outcome_says

# A message's leading location ("step 2 (probe): ", "observing value:z: ", "construction: "),
# which differs between cases that fail for one reason.
_LOCATION = re.compile(r"^(?:step \d+ \([^()]*\)|observing \S+|construction):\s+")
# What the kit appends after the reason: how the other checks went, or the native error.
_APPENDIX = re.compile(r" \((?:\d+ other check|[a-z_]+: ).*\)$")


@dataclass
class Side:
    """One column's cell of a case, as the guide shows it."""

    column: str  # the column's label
    label: str  # the outcome that held, else the status ("not run" where absent)
    status: str
    says: str  # the held outcome's text, else the message
    program: str  # the code of the cell
    normative: bool | None  # the note's outcome held (True), another one (False), or neither
    evidence: str  # the pin's evidence in one line ("" when unpinned)
    raised: str  # the error type the program raised, "" when it raised nothing
    reason: str  # the message without its location: why a status-only cell is what it is

    @property
    def comparable(self) -> bool:
        """True when an outcome held in this cell (pass, or fail by moving to another)."""
        return self.status != MISSING and self.label != self.status


@dataclass
class Difference:
    """Cases of one behaviour whose two columns hold the same two outcomes."""

    a_label: str
    b_label: str
    cases: list[CaseEntry]
    sides: list[tuple[Side, Side]]  # per case, in case order; the first is shown in full

    @property
    def a(self) -> Side:
        return self.sides[0][0]

    @property
    def b(self) -> Side:
        return self.sides[0][1]

    @property
    def a_raised(self) -> str:
        return next((a.raised for a, _ in self.sides if a.raised), "")

    @property
    def b_raised(self) -> str:
        return next((b.raised for _, b in self.sides if b.raised), "")

    @property
    def silent(self) -> bool:
        """True when neither side raised: the program runs on both and gives another result."""
        return not (self.a_raised or self.b_raised)


@dataclass
class BehaviourDiff:
    """One behaviour that differs between the two columns: its differences, largest first."""

    id: str
    topic: str
    statement: str
    order: int  # catalogue order
    differences: list[Difference] = field(default_factory=list)

    @property
    def main(self) -> Difference:
        return self.differences[0]

    @property
    def case_count(self) -> int:
        return sum(len(d.cases) for d in self.differences)

    @property
    def rank(self) -> tuple:
        main = self.main
        return (not main.silent, len(self.differences) > 1, -len(main.cases), self.order)


@dataclass
class StatusGroup:
    """Status-only cases that one column explains the same way (status and reason)."""

    column: str
    status: str
    reason: str
    cases: list[CaseEntry]
    sides: list[tuple[Side, Side]]


@dataclass
class TopicDiffs:
    name: str
    behaviours: list[BehaviourDiff]


@dataclass
class PortingGuide:
    a: str  # the columns' labels
    b: str
    upgrade: bool  # two columns of one framework: "upgrading", else "porting"
    total: int  # cases in the report
    checklist: list[BehaviourDiff]
    topics: list[TopicDiffs]
    status_only: list[StatusGroup]

    @property
    def title(self) -> str:
        verb = "Upgrading" if self.upgrade else "Porting"
        return f"{verb} from {self.a} to {self.b}"

    @property
    def behaviour_cases(self) -> int:
        return sum(b.case_count for b in self.checklist)

    @property
    def status_cases(self) -> int:
        return sum(len(g.cases) for g in self.status_only)


def reason_text(message: str) -> str:
    """A message without its leading location and the detail the kit appends, so that cases
    stopped for one reason read alike: "step 2 (probe): torch has no X (1 other check(s)
    held, 1 could not run)" and "observing value:z: torch has no X (torch: copying ... raises
    NotImplementedError)" both read "torch has no X". A parenthesis of the reason itself
    ("attribute paths (weight, 0.bias)") stays."""
    text = " ".join(str(message or "").split())
    text = _LOCATION.sub("", text, count=1)
    return _APPENDIX.sub("", text).rstrip(" ;,")


def raised_type(result: dict | None) -> str:
    """The error type the cell's program raised (observations.error.type), else ""."""
    observations = result.get("observations") if result else None
    error = observations.get("error") if isinstance(observations, dict) else None
    if not isinstance(error, dict) or not error:
        return ""
    return str(error.get("type") or error.get("kind") or "error")


def program_of(result: dict | None) -> str:
    """The code of a cell: its `program` (the standalone program), else its `snippet`."""
    if not result:
        return ""
    return str(result.get("program", result.get("snippet", "")) or "")


def side(view: ReportView, entry: CaseEntry, ci: int) -> Side:
    column = view.columns[ci].label
    result = entry.results[ci]
    if result is None:
        return Side(column, "not run", MISSING, "this column has no result for the case", "",
                    None, "", "", "not run in this column")  # fmt: skip
    held = result["outcome"]
    message = result["message"]
    return Side(
        column=column,
        label=entry.labels[ci],
        status=result["status"],
        says=(outcome_says(result, held) if held else "") or message,
        program=program_of(result),
        normative=entry.normative[ci],
        evidence=evidence_text(result["pin"]),
        raised=raised_type(result),
        reason=reason_text(message) or result["status"],
    )


def differing(entry: CaseEntry, a: int, b: int) -> bool:
    """True when the outcome (or, where none held, the status) differs between a and b."""
    return entry.labels[a] != entry.labels[b] or entry.statuses[a] != entry.statuses[b]


def build_guide(view: ReportView, a: int, b: int) -> PortingGuide:
    """The porting guide from column `a` to column `b` of `view`."""
    known = _behaviours(view)
    behaviours: dict[str, BehaviourDiff] = {}
    groups: dict[tuple, StatusGroup] = {}
    for entry in view.cases:
        if not differing(entry, a, b):
            continue
        sa, sb = side(view, entry, a), side(view, entry, b)
        if sa.comparable and sb.comparable and sa.label != sb.label:
            bid = entry.behaviours[0] if entry.behaviours else NO_BEHAVIOUR
            row = behaviours.get(bid)
            if row is None:
                topic, statement, order = known.get(bid, (entry.topic, "", len(known)))
                row = behaviours[bid] = BehaviourDiff(bid, topic, statement, order)
            diff = next(
                (d for d in row.differences if (d.a_label, d.b_label) == (sa.label, sb.label)),
                None,
            )
            if diff is None:
                diff = Difference(sa.label, sb.label, [], [])
                row.differences.append(diff)
            diff.cases.append(entry)
            diff.sides.append((sa, sb))
            continue
        # status-only: explained by the target's cell where it is not comparable, else the source's
        if sa.comparable and sb.comparable:  # one outcome, two statuses: the one that fails
            explain = sa if sb.status == "pass" else sb
        else:
            explain = sb if not sb.comparable else sa
        key = (explain is sa, explain.status, explain.reason)
        group = groups.get(key)
        if group is None:
            group = groups[key] = StatusGroup(
                explain.column, explain.status, explain.reason, [], []
            )
        group.cases.append(entry)
        group.sides.append((sa, sb))
    for row in behaviours.values():
        row.differences.sort(key=lambda d: -len(d.cases))  # stable: first-seen order on ties
    checklist = sorted(behaviours.values(), key=lambda r: r.rank)
    topics: dict[str, list[BehaviourDiff]] = {}
    for row in sorted(behaviours.values(), key=lambda r: r.order):
        topics.setdefault(row.topic or "(no topic)", []).append(row)
    topic_order = {name: n for n, name in enumerate(t.name for t in view.topics)}
    status_only = sorted(
        groups.values(), key=lambda g: (g.column != view.columns[b].label, -len(g.cases))
    )
    return PortingGuide(
        a=view.columns[a].label,
        b=view.columns[b].label,
        upgrade=view.columns[a].framework == view.columns[b].framework,
        total=len(view.cases),
        checklist=checklist,
        topics=[
            TopicDiffs(name, rows)
            for name, rows in sorted(
                topics.items(), key=lambda item: topic_order.get(item[0], len(topic_order))
            )
        ],
        status_only=status_only,
    )


def _behaviours(view: ReportView) -> dict[str, tuple[str, str, int]]:
    """id -> (topic, statement, catalogue order) for every behaviour row of the matrix."""
    out: dict[str, tuple[str, str, int]] = {}
    for topic in view.topics:
        for row in topic.behaviours:
            if row.id != NO_BEHAVIOUR:
                out.setdefault(row.id, (row.topic or topic.name, row.statement, len(out)))
    return out


def checklist_line(row: BehaviourDiff, guide: PortingGuide) -> dict:
    """The words of one checklist line: what the target does, what the source did, and how
    it shows (runs on both, or raises on one side)."""
    main = row.main
    if main.silent:
        shows = "runs on both: no error tells you"
    else:
        raised = [f"{col} raises {kind}" for col, kind in ((guide.a, main.a_raised),
                  (guide.b, main.b_raised)) if kind]  # fmt: skip
        shows = "; ".join(raised)
    others = len(row.differences) - 1
    count = f"{row.case_count} case{'s' if row.case_count != 1 else ''}"
    if others:
        count += f", {others} other difference{'s' if others != 1 else ''}"
    return {
        "id": row.id,
        "statement": row.statement,
        "b": main.b.says or main.b_label,
        "a": main.a.says or main.a_label,
        "shows": shows,
        "count": count,
    }
