"""One case in this process: write its program, run it, judge what it recorded, make its record.

Rule: one case never takes its worker down: whatever the kit itself breaks becomes the
case's `error` record. The record holds the program that ran, what it recorded, and the
verdict's outcomes as the checker resolved them (expected, normative, held, pin), once;
nothing downstream re-derives them.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time

from conformance.checker import judge, unjudged
from conformance.execute import read_execution, run_program
from conformance.program.idiom import Unsupported
from conformance.program.recording import decode
from conformance.program.writer import Column, write_program
from conformance.results import ADDRESS as _ADDRESS
from conformance.results import summarise
from conformance.spec import evidence as ev
from conformance.spec.vocabulary import uses_second_device


def case_record(case, verdict, observations: dict, duration: float, program: str = "") -> dict:
    """The results record of one case: its verdict (status, message, checks, the outcomes as
    resolved once), what the program recorded, and the program itself."""
    resolution = verdict.resolution
    return {
        "id": case.id, "file": case.file, "topic": case.topic, "title": case.title,
        "behaviours": case.behaviours, "status": verdict.status, "message": verdict.message,
        "outcome": verdict.outcome, "expected_outcome": resolution.expected.label,
        "normative_outcome": resolution.normative.label, "outcomes": verdict.outcomes, "pin": resolution.pin,
        "observations": observations, "duration_s": round(duration, 4), "source": case.source,
        "checks": verdict.checks, "program": program,
    }


def record_without_verdict(case, column: Column, status: str, message: str, observations: dict | None = None,
                           duration: float = 0.0, program: str = "") -> dict:
    """The record of a case that ended before it could be judged (crash, timeout, a worker
    that would not start)."""
    resolution = case.resolve(column.framework, column.version, column.components)
    return case_record(case, unjudged(case, resolution, status, message), observations or {}, duration, program)


def observations_of(execution) -> dict:
    """What a record keeps of the evidence: every observation summarised under its key's text
    (the generated inputs are the spec's, not observations)."""
    observations = {"error": execution.error, "warnings": execution.warnings}
    for key, value in execution.evidence.items():
        if isinstance(key, ev.Input):
            continue
        observations[str(key)] = summarise(value)
    return observations


def _virtual_device(case, column: Column, verdict) -> None:
    """A result on a virtual second device never stands in for the notes' GPU claim."""
    if verdict.status in ("pass", "fail") and column.second_is_virtual and uses_second_device(case):
        held = verdict.outcome or "none"
        verdict.status = "skip"
        verdict.message = (f"virtual device: the second device here is {column.devices.get('second')} "
                           f"({column.devices.get('kind')}), not a GPU; the claim stays open until a GPU column "
                           f"runs it (outcome held here: {held})")
    elif verdict.status in ("pass", "fail") and not column.devices.get("second") and uses_second_device(case):
        verdict.status = "skip"  # e.g. a CPU build of Paddle: one place, and its programs fall back to it
        verdict.message = (f"no second device: {column.devices.get('kind', 'this column has one device')}; the claim "
                           f"stays open until a column with a second device runs it (outcome held here: "
                           f"{verdict.outcome or 'none'})")


def run_case(adapter, case, column: Column, on_program=None) -> dict:
    """Write the case's program for `column`, run exactly that text in this process, read
    what it recorded, judge it; returns the results record. `on_program(text)` is told the
    program before it runs (a worker sends it to the runner, so a crash keeps it)."""
    started = time.perf_counter()
    resolution = case.resolve(column.framework, column.version, column.components)
    workdir = tempfile.mkdtemp(prefix="conformance-")
    program, observations = "", {}
    try:
        try:
            program = write_program(case, adapter.idiom(column))
        except Unsupported as exc:
            verdict = unjudged(case, resolution, "unsupported", f"{column.framework}: {exc}")
        else:
            if on_program is not None:
                on_program(program)
            try:
                adapter.fresh_state()
                output = run_program(program, workdir)
            except Exception as exc:  # noqa: BLE001 - escaped the program's own try: the program is broken
                verdict = unjudged(case, resolution, "error", f"the program raised outside its steps: "
                                                              f"{type(exc).__name__}: {str(exc)[:300]}")
            else:
                execution = read_execution(decode(output), case, resolution.expected, column, adapter.unobservable)
                verdict = judge(case, resolution, execution, f"{column.framework} {column.version}")
                _virtual_device(case, column, verdict)
                observations = observations_of(execution)
    except Exception as exc:  # noqa: BLE001 - the kit itself broke on this case
        verdict = unjudged(case, resolution, "error", f"kit error: {type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    # The private temporary folder differs per run; naming it would make runs differ.
    verdict.message, verdict.checks, verdict.outcomes, observations = _scrub(
        (verdict.message, verdict.checks, verdict.outcomes, observations), workdir)
    return case_record(case, verdict, observations, time.perf_counter() - started, program)


# dmlc/glog's log prefix, which MXNet 1.5 puts in its error messages: "[17:05:27] src/x.cc:295: ".
_LOG_TIME = re.compile(r"\[\d\d:\d\d:\d\d\] (?=[\w./-]+\.(?:cc|cpp|cu|h):\d+: )")


def _scrub(obj, workdir: str):
    """What differs between two runs of the same case and says nothing about the framework:
    the private temporary folder, and memory addresses in printed objects
    (`<function relu at 0x7f90b8b43350>` in a printed flax model), and the clock time that
    MXNet 1.5's errors begin with (`[17:05:27] src/imperative/imperative.cc:295: Check failed`)."""
    return _scrub_in(obj, (os.path.realpath(workdir), workdir))


def _scrub_in(obj, folders: tuple[str, str]):
    if isinstance(obj, str):
        for folder in folders:
            obj = obj.replace(folder, "$WORKDIR")
        if "0x" in obj:
            obj = _ADDRESS.sub("0x…", obj)
        return _LOG_TIME.sub("[hh:mm:ss] ", obj) if "] " in obj else obj
    if isinstance(obj, dict):
        return {k: _scrub_in(v, folders) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_scrub_in(v, folders) for v in obj)
    return obj


def column_of(adapter) -> Column:
    """The column an imported adapter runs as (its runtime started)."""
    from conformance.adapters import components_of, devices_of

    adapter.start_runtime()  # as a worker does before its first case (a no-op the second time)
    return Column(adapter.framework_name, str(adapter.version()), components_of(adapter), devices_of(adapter))


def run_inprocess(adapter, cases) -> list[dict]:
    """Run cases with an already-loaded adapter in this process (tests, mutants, plugin)."""
    column = column_of(adapter)
    return [run_case(adapter, case, column) for case in cases]
