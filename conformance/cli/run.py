"""`conformance run`: the specs run against each framework's column, then the report.

Rule: only a run of every case of the kit's specs may replace OUT/results/<column>.json;
any other (--case, --specs, --keep-going) is partial and written under OUT/partial/. An
interruption (Ctrl-C, SIGTERM, SIGHUP) stops the workers, keeps what finished beside the
results, and exits 128 + the signal's number.
"""

from __future__ import annotations

import contextlib
import glob
import os

from conformance.cli.output import USAGE_ERROR, Echo, err, say
from conformance.cli.specs import default_catalogue, is_default, load_cases, select_cases
from conformance.spec.vocabulary import PROBLEM_STATUSES

PARTIAL = "partial"  # a partial run writes under OUT/partial/, never over OUT/results/


@contextlib.contextmanager
def _stop_signals():
    """SIGTERM and SIGHUP stop a run the way Ctrl-C does (workers stopped, what finished kept
    beside the results, temporary files removed); the signal's number is kept for the exit status."""
    import signal

    caught: list[int] = []

    def stop(signum, frame):
        caught.append(signum)
        raise KeyboardInterrupt

    saved = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield caught
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def cmd_run(args) -> int:
    from conformance.adapters import ADAPTERS, installed_frameworks
    from conformance.run import close_workers, prestart

    frameworks = args.framework or installed_frameworks()
    unknown = [f for f in frameworks if f not in ADAPTERS and ":" not in f]
    if unknown:
        err(f"unknown framework(s) {unknown}; known: {sorted(ADAPTERS)}")
        return USAGE_ERROR
    if args.workers is not None and args.workers < 1:
        err(f"--workers must be at least 1, not {args.workers}")
        return USAGE_ERROR
    echo = Echo(args.verbose)
    prestarted: list = []
    with _stop_signals() as caught:
        try:
            # The first column's workers import its framework while the specs are parsed.
            if frameworks and not args.in_process:
                prestarted = prestart(frameworks[0], args.workers)
            return _run_columns(args, frameworks, prestarted, echo)
        except KeyboardInterrupt:
            err("interrupted before the first case started; nothing was written")
            return 128 + (caught[0] if caught else 2)
        except _RunInterrupted as stop:
            err(stop.text)
            return 128 + (caught[0] if caught else 2)
        except OSError as exc:
            err(f"cannot go on: {exc.strerror or exc} ({exc.filename or 'writing the results'}); "
                 "results already written are left as they were")
            return 1
        finally:
            close_workers(prestarted)


class _RunInterrupted(Exception):
    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


def _run_columns(args, frameworks, prestarted, echo) -> int:
    from conformance.run import Interrupted, results_path, run_framework, worker_count

    cases, digest, had_problems = load_cases(args.specs, args.keep_going, keep_going_flag=True)
    if cases is not None:
        cases = select_cases(cases, args.case)
    if not cases:
        if cases is not None:
            err(f"no cases to run: no case id contains {' or '.join(repr(p) for p in args.case)}")
        return USAGE_ERROR
    # Only a run of every case of the kit's specs may replace OUT/results/<column>.json.
    partial = bool(args.case) or had_problems or not is_default(args.specs)
    out = os.path.join(args.out, PARTIAL) if partial else args.out
    results_dir = os.path.join(out, "results")
    if partial:
        say(echo, f"partial run (--case, --specs or --keep-going): results go to {results_dir}/; "
                   f"{os.path.join(args.out, 'results')}/ is left as it is")
    worst = 0
    for framework in frameworks:
        if args.in_process:
            where = "in this process"
        else:
            count = worker_count(len(cases), args.workers)
            where = f"{count} worker process{'es' if count > 1 else ''}"
        say(echo, f"== {framework}: {len(cases)} case{'s' if len(cases) != 1 else ''}, {where}")
        try:
            path, results = run_framework(framework, cases, results_dir, digest, timeout_s=args.timeout,
                                          isolate=not args.in_process, echo=echo, workers=args.workers,
                                          prestarted=prestarted if framework == frameworks[0] else None,
                                          partial_dir=os.path.join(args.out, PARTIAL, "results"))
        except Interrupted as stop:
            raise _RunInterrupted(stop.text()) from None
        if results.get("import_error"):
            # Said once, with the real error; the file holds no case records, only the error.
            say(echo, f"   {results['import_error']}")
            say(echo, f"   -> {path} (marks the failure; report and gate show it once)")
            worst = 1
            continue
        stale = results_path(results_dir, framework, "unavailable")
        if os.path.exists(stale) and os.path.abspath(stale) != os.path.abspath(path):
            os.unlink(stale)  # an earlier import failure of this framework, now imported
        counts: dict[str, int] = {}
        for record in results["cases"]:
            counts[record["status"]] = counts.get(record["status"], 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        if results.get("broken"):
            say(echo, f"   broken: {results['broken']}")
        say(echo, f"   {results['framework']} {results['framework_version']}: {summary} -> {path}")
        if any(s in counts for s in PROBLEM_STATUSES) or results.get("broken"):
            worst = 1
    if not args.no_report:
        all_results = sorted(glob.glob(os.path.join(results_dir, "*.json")))
        report_paths = _write_report(all_results, out)
        if report_paths:
            say(echo, f"report: {report_paths.get('html', out)}")
    if had_problems:
        worst = max(worst, USAGE_ERROR)
    return worst


def _write_report(results: list[str], out: str) -> dict:
    from conformance.report import write_report

    catalogue = default_catalogue()
    return write_report(results, out, catalogue if os.path.exists(catalogue) else None)
