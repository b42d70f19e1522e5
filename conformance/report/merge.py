"""Merging runs into columns: one run per column, grouped by framework, ordered by version.

Rule: results produced from different specs or kit versions are not silently compared;
`merge_runs` records every such disagreement as a `Mismatch` naming the columns, and
two runs with the same label stay two columns with distinct labels. A column's label is
the run's own `column` ("tensorflow 2.21.0 · keras 3.15.1"), else "framework version"
with its components; runs of one framework sort by version (PEP 440), then components.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from conformance.report.runs import Run

CHECKED_FIELDS = ("spec_digest", "kit_version")


@dataclass(frozen=True)
class Column:
    label: str  # the run's label, with the platform or #n added when two runs share one
    run: Run

    @property
    def framework(self) -> str:
        return self.run.framework

    @property
    def version(self) -> str:
        return self.run.version


@dataclass(frozen=True)
class Mismatch:
    field: str  # "spec_digest" | "kit_version"
    groups: tuple[tuple[str, tuple[str, ...]], ...]  # (value, column labels)

    def describe(self) -> str:
        parts = [f"{_short(value)}: {', '.join(labels)}" for value, labels in self.groups]
        return f"{self.field} differs between columns — " + "; ".join(parts)


@dataclass
class Merged:
    columns: list[Column]
    mismatches: list[Mismatch]


def merge_runs(runs: list[Run]) -> Merged:
    """Order runs into columns (reference first, then by framework and version)."""
    ordered = sorted(runs, key=_column_sort_key)
    columns = [Column(label, run) for label, run in zip(_labels(ordered), ordered)]
    return Merged(columns=columns, mismatches=find_mismatches(columns))


def find_mismatches(columns: list[Column]) -> list[Mismatch]:
    mismatches = []
    for name in CHECKED_FIELDS:
        groups: dict[str, list[str]] = {}
        for column in columns:
            value = column.run.data.get(name)
            groups.setdefault("(missing)" if value in (None, "") else str(value), []).append(
                column.label
            )
        if len(groups) > 1:
            items = tuple((value, tuple(labels)) for value, labels in groups.items())
            mismatches.append(Mismatch(field=name, groups=items))
    return mismatches


def version_key(version: str):
    """Sort key for a version string: PEP 440 order when it parses, text order otherwise."""
    try:
        return (0, Version(version), "")
    except InvalidVersion:
        return (1, Version("0"), version)


def _column_sort_key(run: Run):
    parts = tuple((name, version_key(v)) for name, v in sorted(run.components.items()))
    return (run.framework != "reference", run.framework, version_key(run.version), parts, run.path)


def _labels(runs: list[Run]) -> list[str]:
    """The runs' labels; on a clash add the platform, then #n, so no two columns share one."""
    counts = Counter(run.label for run in runs)
    labels = []
    for run in runs:
        platform = run.data.get("platform")
        clash = counts[run.label] > 1 and platform
        labels.append(f"{run.label} [{platform}]" if clash else run.label)
    counts = Counter(labels)
    seen: Counter = Counter()
    out = []
    for label in labels:
        if counts[label] > 1:
            seen[label] += 1
            label = f"{label} #{seen[label]}"
        out.append(label)
    return out


def _short(value: str) -> str:
    return value[:12] + "…" if len(value) > 16 else value
