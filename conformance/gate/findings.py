"""What the gate finds: a `Finding` per problem of a run, or per case moved since its baseline.

Rule: never a pass by default. A run fails on every case that is not pass, or
unsupported/skip with a reason, and when it is empty, broken at import, interrupted, short
of the spec's cases or in the old results format (status `known`, which could hide
failures); against a baseline, on every case whose outcome, status or observations moved.
Every text is one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.gate.observations import brief, diff_observations
from conformance.report.runs import Run, cell_label
from conformance.spec.vocabulary import NEEDS_REASON, PROBLEM_STATUSES

OK, FAILED, UNUSABLE = 0, 1, 2
MAX_LISTED_IDS = 30


@dataclass(frozen=True)
class Finding:
    column: str  # framework@version, or a path for unusable input
    kind: str  # a status (fail, error, crash, timeout) or one of the other keys of verdict._TAGS
    case: str | None
    text: str


def judge_run(
    label: str, run: Run, spec_cases=None, notes: list[str] | None = None
) -> list[Finding]:
    """Findings for one run on its own (statuses, emptiness, import error, coverage)."""
    found: list[Finding] = []
    if run.import_error:
        found.append(
            Finding(
                label,
                "import_error",
                None,
                f"the framework could not be imported: {one_line(run.import_error)}",
            )
        )
    if not run.cases:
        found.append(Finding(label, "empty", None, "the run holds no cases"))
    if run.data.get("interrupted"):
        found.append(Finding(label, "interrupted", None, "the run was interrupted; it is partial"))
    if run.legacy:
        found.append(
            Finding(
                label,
                "old_format",
                None,
                f"{run.legacy} cases have status 'known', which this kit no longer writes "
                "(an old results format that can hide failures); rerun with this kit",
            )
        )
    for case in run.cases:
        status, message = case["status"], case["message"].strip()
        if status in PROBLEM_STATUSES:
            found.append(Finding(label, status, case["id"], one_line(message) or "(no message)"))
        elif status in NEEDS_REASON and not message:
            found.append(Finding(label, "no_reason", case["id"], f"{status} without a reason"))
    if spec_cases is not None:
        have = {case["id"] for case in run.cases}
        missing = [cid for cid in spec_cases if cid not in have]
        if missing:
            found.append(
                Finding(
                    label,
                    "missing_cases",
                    None,
                    f"{len(missing)} of {len(spec_cases)} spec cases are not in this "
                    f"run: {id_list(missing)}",
                )
            )
        extra = sorted(have - set(spec_cases))
        if extra and notes is not None:
            notes.append(f"{len(extra)} cases are not in the specs: {id_list(extra)}")
    return found


def compare_runs(label: str, base: Run, new: Run) -> list[Finding]:
    """A finding for every case whose outcome, status or observations differ from the baseline.

    A changed outcome reads "<column>: a -> b (since <baseline>; ...)", so that the gate's
    line is `MOVED <case>: <column>: a -> b`; a / b are the outcome labels (the status
    where none held). Runs in the old format (no outcomes) compare statuses only.
    """
    found = []
    old_cases = {case["id"]: case for case in base.cases}
    new_ids = set()
    for case in new.cases:
        new_ids.add(case["id"])
        old = old_cases.get(case["id"])
        if old is None:
            continue
        changes = []
        before, after = cell_label(old), cell_label(case)
        moved = (
            old["normative_outcome"] is not None
            and case["normative_outcome"] is not None
            and before != after
        )
        if old["status"] != case["status"]:
            changes.append(f"status {old['status']} -> {case['status']}")
        same = old["observations"] == case["observations"]  # fast path: nothing to diff
        diffs = [] if same else diff_observations(old["observations"], case["observations"])
        if diffs:
            shown = "; ".join(f"{path}: {brief(a)} -> {brief(b)}" for path, a, b in diffs[:4])
            more = f" (+{len(diffs) - 4} more)" if len(diffs) > 4 else ""
            changes.append(f"observations {shown}{more}")
        if moved:
            text = f"{label}: {before} -> {after} (since {base.label}"
            text += "; " + "; ".join(changes) + ")" if changes else ")"
            found.append(Finding(label, "moved", case["id"], text))
        elif changes:
            found.append(
                Finding(label, "moved", case["id"], f"since {base.label}: " + "; ".join(changes))
            )
    for case_id in old_cases:
        if case_id not in new_ids:
            found.append(
                Finding(label, "moved", case_id, f"in the baseline ({base.label}), not in this run")
            )
    return found


def one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= 240 else line[:237] + "..."


def printable(line: str) -> str:
    """`line` as one line of printable text: any other character written as its escape."""
    if line.isprintable():
        return line
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)


def id_list(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_LISTED_IDS])
    return shown + (
        f", ... (+{len(ids) - MAX_LISTED_IDS} more)" if len(ids) > MAX_LISTED_IDS else ""
    )
