"""The report's view model: plain dataclasses the renderers format, and the words they share.

Rule: a dataclass here holds what the page shows, decided once by `build.build_view`; the
HTML and Markdown renderers only format it (coverage.py's html.py does the same). `worst`
ranks statuses and `disagrees` compares cells, for every part of the report alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.report.results_format import STATUSES
from conformance.spec.vocabulary import PROBLEM_STATUSES

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
PROBLEMS = PROBLEM_STATUSES  # declared once, in the spec vocabulary
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
    # per column, what the collapsed row says: "as noted", "2 of 5 differ", "1 of 5 fail",
    # else the worst status; and its kind: "follow", "differ", or that status (the colour)
    rollup_text: list[str] = field(default_factory=list)
    rollup_kind: list[str] = field(default_factory=list)
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
    # per column: "as noted" when every case holds the note's outcome, "differs" when a case
    # holds another outcome (pinned or moved), else the worst status; "" when out of scope
    verdicts: list[str] = field(default_factory=list)


@dataclass
class NoteClaims:
    """The claims of one note: counts, and per column the covered claims whose cases all pass."""

    note: str
    claims: int = 0
    covered: int = 0  # claims with cases
    out_of_scope: int = 0
    uncovered: list[str] = field(default_factory=list)  # neither cases nor a reason
    passing: list[int] = field(default_factory=list)  # per column
    as_noted: list[int] = field(default_factory=list)  # per column: every case holds the note's
    differ: list[int] = field(default_factory=list)  # per column: a case holds another outcome
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
