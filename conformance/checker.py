"""The one shared checker: a case's outcomes and the observed evidence -> a verdict.

Rule: every framework is judged here, by the same code (the expectation classes of
`conformance.spec.expectations`); adapters and programs never decide outcomes. Every
outcome of a case is evaluated; the status says whether the expected one, and only it,
held. The verdict carries the expected, normative and held outcomes and the pin, decided
once (`Case.resolve`); records and reports read them from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.spec.case import Resolution
from conformance.spec.checks import CheckResult
from conformance.spec.expectations import expectation


def needs(item: dict, case) -> list:
    """Evidence keys one expectation mapping needs observed."""
    return expectation(item).needs(case)


def evaluate(expectations: list[dict], case, execution) -> list[CheckResult]:
    """Every check of one outcome; an error raised by a step counts against an outcome
    that expects none, naming the error (and, through the checks, what it never produced)."""
    made = [expectation(item) for item in expectations]
    results: list[CheckResult] = []
    for item in made:
        results.extend(item.check(case, execution))
    if execution.error is not None and not any(item.mentions_error() for item in made):
        err = execution.error
        results.append(CheckResult(False, f"unexpected {err['type']} in phase {err['phase']} (step {err['step']}, "
                                          f"{err['step_kind']}): {err['message']}"))
    return results


@dataclass
class Verdict:
    """How one case went on one framework: status, message, checks, and its outcomes."""

    status: str
    message: str
    checks: list[dict]
    resolution: Resolution
    outcome: str | None = None  # the label of the outcome that held, if exactly one did
    outcomes: list[dict] | None = None  # per outcome: label, says, held, failed

    @property
    def expected(self) -> str:
        return self.resolution.expected.label


def _outcome_record(outcome, held, results) -> dict:
    return {"label": outcome.label, "says": outcome.says, "normative": outcome.normative, "held": held,
            "failed": [r.text for r in results if not r.ok]}


def unjudged(case, resolution: Resolution, status: str, message: str, checks=None) -> Verdict:
    """A verdict for a case whose outcomes were not evaluated (unsupported, skip, error, crash)."""
    return Verdict(status, message, checks or [], resolution, None,
                   [_outcome_record(o, None, []) for o in case.outcomes])


def _judge_partly_observable(case, resolution: Resolution, execution, message: str) -> Verdict:
    """Only some observations cannot be made here (e.g. values on torch's `meta` device):
    the expected outcome's checks that do not need them still run, and one that fails
    makes the case `fail`."""
    expected = resolution.expected
    checkable = [e for e in expected.expect if not set(needs(e, case)) & execution.skipped_keys]
    results = evaluate(checkable, case, execution)
    checks = [{"ok": r.ok, "check": r.text, "outcome": expected.label} for r in results]
    unchecked = len(expected.expect) - len(checkable)
    checks.append({"ok": None, "check": f"{unchecked} expectation(s) not checked: {message}", "outcome": expected.label})
    failed = [r for r in results if not r.ok]
    if failed:
        return unjudged(case, resolution, "fail",
                        f"[{','.join(case.behaviours)}] {expected.label}: {'; '.join(r.text for r in failed)}", checks)
    return unjudged(case, resolution, "skip",
                    f"{message} ({len(results)} other check(s) held, {unchecked} could not run)", checks)


def judge(case, resolution: Resolution, execution, who: str) -> Verdict:
    """Evaluate every outcome of `case`; `pass` only when exactly the expected one held.

    Another outcome holding is a `fail` naming the move; none holding lists each outcome's
    failing checks; two holding means the spec's outcomes do not tell each other apart.
    `who` names the framework and version in a move ("torch 2.13.0")."""
    expected = resolution.expected
    if execution.interruption is not None:
        status, message = execution.interruption
        if status == "skip" and execution.skipped_keys:
            return _judge_partly_observable(case, resolution, execution, message)
        return unjudged(case, resolution, status, message)
    behaviours = ",".join(case.behaviours)
    checks, records, held = [], [], []
    failures: dict[str, list[str]] = {}
    for outcome in case.outcomes:
        results = evaluate(outcome.expect, case, execution)
        ok = all(r.ok for r in results)
        checks += [{"ok": r.ok, "check": r.text, "outcome": outcome.label} for r in results]
        records.append(_outcome_record(outcome, ok, results))
        failures[outcome.label] = [r.text for r in results if not r.ok]
        if ok:
            held.append(outcome)
    labels = [o.label for o in held]
    if len(held) > 1:
        return Verdict("fail", f"[{behaviours}] outcomes not distinguished: {' and '.join(labels)} "
                               f"{'both' if len(labels) == 2 else 'all'} held; the spec must tell them apart",
                       checks, resolution, None, records)
    if held and held[0] is expected:
        return Verdict("pass", "", checks, resolution, expected.label, records)
    if held:
        moved = held[0]
        return Verdict("fail", f"[{behaviours}] moved: {expected.label} -> {moved.label}: {who} "
                               f"now shows '{moved.says}' (pinned '{expected.label}' fails: "
                               f"{'; '.join(failures[expected.label])})", checks, resolution, moved.label, records)
    detail = " | ".join(f"{label}: {'; '.join(texts)}" for label, texts in failures.items())
    return Verdict("fail", f"[{behaviours}] no outcome held (expected '{expected.label}'): {detail}", checks,
                   resolution, None, records)

