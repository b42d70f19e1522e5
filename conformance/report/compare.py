"""Comparing two columns: the porting view (mxnet -> torch) and what changed between versions.

Rule: one comparison for both uses. A column is named by its label, by a framework name
(when that framework has one column), or by name@version where the version is a prefix
of the column's version at a dot, plus or end (`tensorflow@2.15` matches 2.15.1); extra
`,part@version` terms select by components (`tensorflow@2.21,keras@3`). A name that
matches no column or several is a `CompareError` naming the candidates (the CLI exits 2).
A case is listed when the outcome that held (or, where none held, the status) differs.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.report.model import MISSING, CaseEntry, ReportView, outcome_says


class CompareError(ValueError):
    """A column name that matches no column, or more than one."""


@dataclass
class Side:
    label: str  # outcome label, status, or "not run"
    status: str
    says: str  # the held outcome's text, else the message
    snippet: str
    normative: bool | None
    evidence: str  # the pin's evidence as one line ("" when unpinned)


@dataclass
class Difference:
    entry: CaseEntry
    a: Side
    b: Side


def _version_matches(version: str, prefix: str) -> bool:
    if version == prefix:
        return True
    return version.startswith(prefix) and version[len(prefix)] in ".+-"


def _term_matches(column, term: str) -> bool:
    name, _, version = term.partition("@")
    if name == column.framework:
        return not version or _version_matches(column.version, version)
    if name in column.components:
        return not version or _version_matches(column.components[name], version)
    return False


def resolve_column(view: ReportView, spec: str) -> int:
    """The index of the one column `spec` names; `CompareError` otherwise."""
    spec = spec.strip()
    labels = [c.label for c in view.columns]
    if spec in labels:
        return labels.index(spec)
    terms = [t.strip() for t in spec.split(",") if t.strip()]
    if not terms:
        raise CompareError("an empty column name")
    hits = [
        i for i, column in enumerate(view.columns) if all(_term_matches(column, t) for t in terms)
    ]
    if len(hits) == 1:
        return hits[0]
    known = "; ".join(labels) or "(no columns)"
    if not hits:
        raise CompareError(f"no column matches {spec!r}; the columns are: {known}")
    names = "; ".join(labels[i] for i in hits)
    raise CompareError(
        f"{spec!r} matches {len(hits)} columns ({names}); name one by its version, "
        f"e.g. framework@version or framework@version,keras@3, or by its full label"
    )


def side(entry: CaseEntry, ci: int) -> Side:
    result = entry.results[ci]
    if result is None:
        return Side("not run", MISSING, "this column has no result for the case", "", None, "")
    held = result["outcome"]
    says = outcome_says(result, held) if held else ""
    return Side(
        label=entry.labels[ci],
        status=result["status"],
        says=says or result["message"],
        snippet=result["snippet"],
        normative=entry.normative[ci],
        evidence=evidence_text(result["pin"]),
    )


def evidence_text(pin: dict | None) -> str:
    """A pin's evidence in one line: "doc: ...", "observed: ...", "note says: ..."."""
    if not pin or not isinstance(pin.get("evidence"), dict):
        return ""
    evidence = pin["evidence"]
    parts = []
    for key, word in (("doc", "doc"), ("observed", "observed"), ("note_says", "note says")):
        if evidence.get(key):
            parts.append(f"{word}: {evidence[key]}")
    ranges = [f"{k} {pin[k]}" for k in ("versions", "keras") if pin.get(k)]
    if ranges:
        parts.append("pinned for " + ", ".join(ranges))
    return "; ".join(parts)


def differences(view: ReportView, a: int, b: int) -> list[Difference]:
    """Every case whose outcome (or status) differs between columns `a` and `b`."""
    out = []
    for entry in view.cases:
        if entry.labels[a] == entry.labels[b] and entry.statuses[a] == entry.statuses[b]:
            continue
        out.append(Difference(entry, side(entry, a), side(entry, b)))
    return out
