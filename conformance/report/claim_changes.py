"""Where a note's claim stopped holding across releases: "holds up to X, changed in Y".

Rule: where the note's (normative) outcome held on a column of a framework and another
outcome holds on a later column of the same line of releases, the case says so, once per
line; a column that says nothing about the claim (skip, error, crash, timeout) is passed over.
"""

from __future__ import annotations

from conformance.report.model import CaseEntry, ClaimChange, outcome_says

# Statuses that say something about the claim on a newer column (skip/error/crash/timeout do not).
_CHANGED_STATUSES = ("pass", "fail", "unsupported")


def claim_changes(cases: list[CaseEntry], columns) -> None:
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
                if (
                    held is None
                    or not entry.normative[held]
                    or _reported_on_line(held, predecessor, reported)
                ):
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
    return all(
        version_key(str(new_parts[k])) >= version_key(str(v))
        for k, v in old_parts.items()
        if k in new_parts
    )


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
