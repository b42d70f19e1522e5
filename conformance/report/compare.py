"""Naming the two columns of a comparison (porting mxnet -> torch, upgrading a release).

Rule: a column is named by its label, by a framework name, or by name@version where the
version is a prefix of the column's version at a dot, plus or end (`tensorflow@2.15`
matches 2.15.1, `mxnet@1.8` matches 1.8.0); extra `,part@version` terms select by
components (`tensorflow@2.21,keras@3`). A name that several columns of one framework
match means the newest of them (by version, then components: the order of the matrix),
and `resolve` says which it picked and how to name the others. A name that matches no
column, or columns of several frameworks, is a `CompareError` naming the candidates (the
CLI exits 2). What differs between the two is the porting guide's (report/porting.py).
"""

from __future__ import annotations

from conformance.report.model import ReportView


class CompareError(ValueError):
    """A column name that matches no column, or columns of more than one framework."""


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


def resolve(view: ReportView, spec: str) -> tuple[int, str]:
    """(index, note) of the column `spec` names; the note is "" unless `spec` matched several
    columns of one framework and the newest was picked, when it says so. `CompareError`
    when it names none, or columns of several frameworks."""
    labels = [c.label for c in view.columns]
    hits = _hits(view, spec)
    if len(hits) == 1:
        return hits[0], ""
    known = "; ".join(labels) or "(no columns)"
    if not hits:
        raise CompareError(f"no column matches {spec!r}; the columns are: {known}")
    names = "; ".join(labels[i] for i in hits)
    if len({view.columns[i].framework for i in hits}) > 1:
        raise CompareError(
            f"{spec!r} matches columns of several frameworks ({names}); name one by its "
            "framework, framework@version or its full label"
        )
    newest = hits[-1]  # columns of a framework are in version order, then components
    others = [_short_name(view, i) for i in hits[:-1]]
    return newest, (
        f"{spec!r} matches {len(hits)} columns ({names}); using the newest, {labels[newest]} "
        f"(for another, name it: {', '.join(others)})"
    )


def _hits(view: ReportView, spec: str) -> list[int]:
    """The indexes of the columns `spec` names: its label, else every column all its terms match."""
    spec = spec.strip()
    labels = [c.label for c in view.columns]
    if spec in labels:
        return [labels.index(spec)]
    terms = [t.strip() for t in spec.split(",") if t.strip()]
    if not terms:
        raise CompareError("an empty column name")
    return [
        i for i, column in enumerate(view.columns) if all(_term_matches(column, t) for t in terms)
    ]


def resolve_column(view: ReportView, spec: str) -> int:
    """The index of the column `spec` names (the newest where several of one framework match)."""
    return resolve(view, spec)[0]


def _short_name(view: ReportView, i: int) -> str:
    """The shortest name@version that picks column `i` alone, else its full label."""
    column = view.columns[i]
    parts = column.version.replace("+", ".").replace("-", ".").split(".")
    for n in range(1, len(parts) + 1):
        name = f"{column.framework}@{'.'.join(parts[:n])}"
        for extra in [
            "",
            *(f",{k}@{v.split('.')[0]}" for k, v in sorted(column.components.items())),
        ]:
            candidate = name + extra
            if _hits(view, candidate) == [i]:
                return candidate
    return repr(column.label)


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
