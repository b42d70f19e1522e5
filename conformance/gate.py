"""The regression gate: results files (and optionally a baseline) in, an exit code and a list out.

Rule: never a pass by default. Exit 0 only when every case of every run is pass, or
unsupported/skip with a reason, no run is empty, broken at import, short of the spec's
cases or in the old results format (status `known`, which could hide failures), and —
with a baseline — no case's outcome, status or observations moved. A changed outcome is
named `MOVED <case>: <column>: a -> b`. Exit 1 lists each finding grouped by column.
Exit 2 means the input could not be judged: a results file that is missing or is not a
results file.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass, field

from conformance.report.merge import merge_runs, version_key
from conformance.report.runs import (
    ResultsError,
    Run,
    cell_label,
    expand_paths,
    gc_paused,
    load_run,
)

OK, FAILED, UNUSABLE = 0, 1, 2
PROBLEM_STATUSES = ("fail", "error", "crash", "timeout")
NEEDS_REASON = ("unsupported", "skip")
# Observation keys that change between runs without the behaviour changing.
VOLATILE_KEYS = frozenset({"duration_s", "filename", "lineno", "traceback", "workdir"})
MAX_LISTED_IDS = 30
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
_TEMP_PATH = re.compile(r"(?:/tmp|/var/folders|/private/var/folders)/[^\s'\"),]*")
_ABSENT = object()


@dataclass(frozen=True)
class Finding:
    column: str  # framework@version, or a path for unusable input
    kind: str  # a status (fail, error, crash, timeout) or one of the other keys of _TAGS
    case: str | None
    text: str


@dataclass
class GateResult:
    exit_code: int
    lines: list[str]
    findings: list[Finding] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def gate(results_paths, spec_cases=None, baseline_paths=None) -> GateResult:
    """Judge `results_paths` (files or folders); see the module rule for the exit codes.

    spec_cases: case ids the specs define; each run must hold every one of them.
    baseline_paths: earlier results; a case (matched by framework and id) whose status or
    observations differ from the baseline is a finding ("behaviour moved").
    """
    with gc_paused():
        return _gate(results_paths, spec_cases, baseline_paths)


def _gate(results_paths, spec_cases, baseline_paths) -> GateResult:
    findings: list[Finding] = []
    runs = _load_all(results_paths, findings, "results")
    baseline = _load_all(baseline_paths, findings, "baseline") if baseline_paths else []
    columns = merge_runs(runs).columns
    notes: dict[str, list[str]] = {}
    for column in columns:
        findings += judge_run(
            column.label, column.run, spec_cases, notes.setdefault(column.label, [])
        )
        if baseline_paths:
            base = _baseline_for(column.run, baseline)
            if base is None:
                notes[column.label].append(f"no baseline run for {column.run.framework}")
            else:
                if base.legacy:
                    notes[column.label].append(
                        f"the baseline {base.path} is in the old format (status 'known'); "
                        "outcomes cannot be compared, statuses and observations are"
                    )
                findings += compare_runs(column.label, base, column.run)
    exit_code = (
        UNUSABLE if any(f.kind == "unusable" for f in findings) else (FAILED if findings else OK)
    )
    return GateResult(exit_code, _lines(columns, findings, notes, exit_code), findings)


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
                f"the framework could not be imported: {_one_line(run.import_error)}",
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
            found.append(Finding(label, status, case["id"], _one_line(message) or "(no message)"))
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
                    f"run: {_id_list(missing)}",
                )
            )
        extra = sorted(have - set(spec_cases))
        if extra and notes is not None:
            notes.append(f"{len(extra)} cases are not in the specs: {_id_list(extra)}")
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
            shown = "; ".join(f"{path}: {_brief(a)} -> {_brief(b)}" for path, a, b in diffs[:4])
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


def diff_observations(old, new, path: str = "") -> list[tuple[str, object, object]]:
    """(path, old, new) for each difference; floats compare with a small tolerance,
    strings with memory addresses and temporary paths scrubbed, volatile keys ignored."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            if key in VOLATILE_KEYS:
                continue
            sub = f"{path}.{key}" if path else str(key)
            out += diff_observations(old.get(key, _ABSENT), new.get(key, _ABSENT), sub)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for index, (a, b) in enumerate(zip(old, new)):
            out += diff_observations(a, b, f"{path}[{index}]")
        return out
    return [] if _same(old, new) else [(path or "(all)", old, new)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="conformance gate",
        description="Exit 0 when every case is pass/unsupported/skip-with-reason; "
        "1 listing what needs attention; 2 when the input is unusable.",
    )
    parser.add_argument("results", nargs="+", help="results files or folders of them")
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="PATH",
        help="earlier results (file or folder); changed cases fail the gate",
    )
    parser.add_argument(
        "--specs",
        action="append",
        default=[],
        metavar="PATH",
        help="spec files or folders; every case they define must be in every run",
    )
    args = parser.parse_args(argv)
    spec_cases = None
    if args.specs:
        from conformance.loader import SpecError, load_specs

        try:
            spec_cases = [case.id for case in load_specs(args.specs)]
        except SpecError as exc:
            print(f"gate: the specs are unusable:\n{exc}", file=sys.stderr)
            return UNUSABLE
    result = gate(args.results, spec_cases, args.baseline or None)
    print(result.text)
    return result.exit_code


# -- helpers ------------------------------------------------------------------------------


def _load_all(paths, findings: list[Finding], what: str) -> list[Run]:
    paths = list(paths or [])
    files = expand_paths(paths)
    if not files:
        findings.append(
            Finding(", ".join(paths) or "(none)", "unusable", None, f"no {what} files found")
        )
    runs = []
    for path in files:
        try:
            runs.append(load_run(path))
        except ResultsError as exc:
            findings.append(Finding(path, "unusable", None, f"{what} file unusable: {exc.reason}"))
    return runs


def _baseline_for(run: Run, baseline: list[Run]) -> Run | None:
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


def _same(a, b) -> bool:
    if a is _ABSENT or b is _ABSENT:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, str) and isinstance(b, str):
        return _scrub(a) == _scrub(b)
    return type(a) is type(b) and a == b


def _scrub(text: str) -> str:
    return _TEMP_PATH.sub("<tmp>", _ADDRESS.sub("0x…", text))


def _brief(value) -> str:
    text = "absent" if value is _ABSENT else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= 240 else line[:237] + "..."


def _id_list(ids: list[str]) -> str:
    shown = ", ".join(ids[:MAX_LISTED_IDS])
    return shown + (
        f", ... (+{len(ids) - MAX_LISTED_IDS} more)" if len(ids) > MAX_LISTED_IDS else ""
    )


_TAGS = {
    "fail": "FAIL",
    "error": "ERROR",
    "crash": "CRASH",
    "timeout": "TIMEOUT",
    "old_format": "OLD FORMAT",
    "no_reason": "NO REASON",
    "empty": "EMPTY RUN",
    "import_error": "IMPORT",
    "missing_cases": "MISSING",
    "moved": "MOVED",
    "interrupted": "PARTIAL",
    "unusable": "UNUSABLE",
}


def _lines(
    columns, findings: list[Finding], notes: dict[str, list[str]], exit_code: int
) -> list[str]:
    lines = []
    unusable = [f for f in findings if f.kind == "unusable"]
    for f in unusable:
        lines.append(f"{_TAGS[f.kind]:9s} {f.column}: {f.text}")
    by_column: dict[str, list[Finding]] = {}
    for f in findings:
        if f.kind != "unusable":
            by_column.setdefault(f.column, []).append(f)
    for column in columns:
        own = by_column.get(column.label, [])
        counts = {}
        for case in column.run.cases:
            counts[case["status"]] = counts.get(case["status"], 0) + 1
        tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        verdict = f"{len(own)} to look at" if own else "ok"
        lines.append(f"{column.label} ({column.run.path}): {verdict}; {tally or 'no cases'}")
        for f in own:
            where = f"{f.case}: " if f.case else ""
            lines.append(f"  {_TAGS[f.kind]:9s} {where}{f.text}")
        for note in notes.get(column.label, []):
            lines.append(f"  note      {note}")
    problems = len(findings) - len(unusable)
    if exit_code == UNUSABLE:
        lines.append(
            f"gate: UNUSABLE INPUT — {len(unusable)} file(s) could not be judged "
            f"(exit 2){f'; also {problems} finding(s)' if problems else ''}"
        )
    elif exit_code == FAILED:
        lines.append(
            f"gate: FAILED — {problems} finding(s) in "
            f"{len(by_column)} of {len(columns)} run(s) (exit 1)"
        )
    else:
        lines.append(
            f"gate: OK — {len(columns)} run(s), "
            f"{sum(len(c.run.cases) for c in columns)} cases (exit 0)"
        )
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
