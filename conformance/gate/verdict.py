"""The gate's verdict: every run judged and compared with its baseline; an exit code, lines.

Rule: exit 0 only when no run has a finding; 1 lists each finding grouped by column, a
changed outcome named `MOVED <case>: <column>: a -> b`; 2 when the input could not be
judged (a results file that is missing, is not a results file, or shares its column label
with another). Every line is printable text; the lines naming unusable input go to stderr.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from conformance.gate.baseline import baseline_for
from conformance.gate.findings import (
    FAILED,
    OK,
    UNUSABLE,
    Finding,
    compare_runs,
    judge_run,
    printable,
)
from conformance.report.merge import merge_runs
from conformance.report.runs import Run, expand_paths, gc_paused, load_runs


@dataclass
class GateResult:
    exit_code: int
    lines: list[str]
    findings: list[Finding] = field(default_factory=list)
    unusable_lines: int = 0  # the first lines: what could not be judged (stderr)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def write(self, out=None, err=None) -> None:
        """Print each line once: unusable input to `err` (stderr), the rest to `out` (stdout)."""
        out, err = out or sys.stdout, err or sys.stderr
        for index, line in enumerate(self.lines):
            print(line, file=err if index < self.unusable_lines else out)


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
            base = baseline_for(column.run, baseline)
            if base is None:
                notes[column.label].append(f"no baseline run for {column.run.framework}")
            else:
                if base.legacy:
                    notes[column.label].append(
                        f"the baseline {base.path} is in the old format (status 'known'); "
                        "outcomes cannot be compared, statuses and observations are"
                    )
                digest = base.data.get("spec_digest")
                if digest and digest != column.run.data.get("spec_digest"):
                    notes[column.label].append(
                        f"the baseline {base.path} was made from other specs (spec_digest "
                        f"{str(digest)[:12]}); cases the specs added since are not compared"
                    )
                findings += compare_runs(column.label, base, column.run)
    exit_code = (
        UNUSABLE if any(f.kind == "unusable" for f in findings) else (FAILED if findings else OK)
    )
    lines, unusable = _lines(columns, findings, notes, exit_code)
    return GateResult(exit_code, lines, findings, unusable)


def _load_all(paths, findings: list[Finding], what: str) -> list[Run]:
    paths = list(paths or [])
    if not expand_paths(paths):
        findings.append(
            Finding(", ".join(paths) or "(none)", "unusable", None, f"no {what} files found")
        )
        return []
    runs, errors = load_runs(paths)
    for exc in errors:
        findings.append(Finding(exc.path, "unusable", None, f"{what} file unusable: {exc.reason}"))
    return runs


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
) -> tuple[list[str], int]:
    """(the lines, how many of the first are about unusable input), every line printable."""
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
    return [printable(line) for line in lines], len(unusable)
