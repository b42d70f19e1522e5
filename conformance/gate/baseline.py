"""The baseline: which earlier run a column is compared with, and rewriting it (`--accept`).

Rule: a column is compared with the baseline run of its framework, the same version and
components first. Accepting a column copies its results file, byte for byte, over that
column's baseline file and no other, and only a complete run (not interrupted, empty,
broken at import or short of the spec's cases) can be accepted.
"""

from __future__ import annotations

import os

from conformance.gate.findings import OK, UNUSABLE, printable
from conformance.report.merge import merge_runs, version_key
from conformance.report.runs import Run, load_runs


def baseline_for(run: Run, baseline: list[Run]) -> Run | None:
    """The baseline run of the same framework: the same version and components first, then
    the same components (e.g. the Keras 2 column), then the newest of that framework."""
    same = [b for b in baseline if b.framework == run.framework]
    for match in (
        lambda b: b.version == run.version and b.components == run.components,
        lambda b: b.version == run.version and not run.components,
        lambda b: (
            b.components.keys() == run.components.keys()
            and all(_major(b.components[k]) == _major(v) for k, v in run.components.items())
        ),
    ):
        hits = [b for b in same if match(b)]
        if hits:
            return max(hits, key=lambda b: version_key(b.version))
    return max(same, key=lambda b: version_key(b.version)) if same else None


def _major(version: str) -> str:
    return version.split(".")[0]


def accept(
    results_paths, baseline_dir: str, names: list[str], spec_cases=None
) -> tuple[int, list[str]]:
    """Rewrite the baseline of the columns `names` names (and nothing else): each one's results
    file is copied, byte for byte, into `baseline_dir` under its own file name, replacing the
    baseline file of that column (the one with its label). (exit code, lines): 0 when every
    name was accepted, 2 (UNUSABLE) when a name matches no column or several, or a run cannot
    be a baseline (interrupted, empty, broken at import, short of the spec's cases)."""
    from conformance.results import atomic_write_text

    if not os.path.isdir(baseline_dir):
        return UNUSABLE, [f"gate --accept: the baseline {baseline_dir} is not a folder"]
    runs, errors = load_runs(list(results_paths))
    if errors:
        return UNUSABLE, [
            f"gate --accept: {e.path}: results file unusable: {e.reason}" for e in errors
        ]
    columns = merge_runs(runs).columns
    chosen, problems = [], []
    for name in names:
        hits = _columns_named(columns, name)
        labels = "; ".join(c.label for c in columns) or "(no columns)"
        if len(hits) != 1:
            which = "no column" if not hits else f"{len(hits)} columns"
            problems.append(f"gate --accept: {name!r} matches {which}; the columns are: {labels}")
            continue
        run = hits[0].run
        reason = _not_a_baseline(run, spec_cases)
        if reason:
            problems.append(f"gate --accept: {hits[0].label} cannot be a baseline: {reason}")
        elif all(run is not other for other in chosen):
            chosen.append(run)
    baseline, _ = load_runs([baseline_dir])
    for run in chosen:  # a file of the baseline under the same name holds this column only
        target = os.path.join(baseline_dir, os.path.basename(run.path))
        other = [b for b in baseline if _same_file(b.path, target) and b.label != run.label]
        if other:
            problems.append(
                f"gate --accept: {target} holds another column ({other[0].label}); "
                f"name the results file of {run.label} after its column"
            )
    if problems:
        return UNUSABLE, [printable(p) for p in problems]
    lines = []
    for run in chosen:
        target = os.path.join(baseline_dir, os.path.basename(run.path))
        replaced = [b.path for b in baseline if b.label == run.label]
        if not _same_file(run.path, target):
            atomic_write_text(target, [run.text])
        for old in replaced:
            if not _same_file(old, target):
                os.unlink(old)
        was = ", ".join(replaced) or "none before"
        lines.append(printable(f"accepted {run.label}: {run.path} -> {target} (was: {was})"))
    return OK, lines


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _columns_named(columns, name: str) -> list:
    """The columns `name` names: a full label, or `framework[@version]` terms joined by commas,
    a term's version a prefix at a dot, plus or dash (`torch@2.13`, `tensorflow@2.21,keras@3`)."""
    name = name.strip()
    exact = [c for c in columns if c.label == name]
    if exact:
        return exact
    terms = [t.strip() for t in name.split(",") if t.strip()]
    return [c for c in columns if terms and all(_term_matches(c.run, t) for t in terms)]


def _term_matches(run: Run, term: str) -> bool:
    part, _, version = term.partition("@")
    if part == run.framework:
        have = run.version
    elif part in run.components:
        have = run.components[part]
    else:
        return False
    return (
        not version or have == version or (have.startswith(version) and have[len(version)] in ".+-")
    )


def _not_a_baseline(run: Run, spec_cases) -> str:
    if run.import_error:
        return "the framework could not be imported"
    if not run.cases:
        return "it holds no cases"
    if run.data.get("interrupted"):
        return "the run was interrupted"
    if run.legacy:
        return "it is in the old results format (status 'known')"
    if spec_cases is not None:
        missing = set(spec_cases) - {case["id"] for case in run.cases}
        if missing:
            return f"{len(missing)} spec cases are not in it (a partial run)"
    return ""
