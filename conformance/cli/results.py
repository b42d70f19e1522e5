"""The commands that read results files: report, gate, check-programs.

Rule: no results file to read is unusable input (exit 2), never an empty pass: report and
gate read every file under reports/results/ when none is named, and a file they cannot
read is named, not skipped.
"""

from __future__ import annotations

import glob
import os
import sys

from conformance.cli.output import OUT_DEFAULT, USAGE_ERROR, err
from conformance.cli.specs import default_catalogue, load_cases


def _default_results(results: list[str], out: str) -> list[str]:
    """The results files named, or every one under OUT/results when none are."""
    return results or sorted(glob.glob(os.path.join(out, "results", "*.json")))


def _has_results(paths: list[str]) -> bool:
    """True when `paths` name at least one file (a folder counts for its results files)."""
    from conformance.report.runs import expand_paths

    return bool(expand_paths(list(paths)))


def cmd_report(args) -> int:
    from conformance.report.runs import gc_paused

    with gc_paused():  # the report builds millions of small objects: see gc_paused
        return _report(args)


def _report(args) -> int:
    from conformance.report import load_view, write_view
    from conformance.report.compare import CompareError, resolve
    from conformance.report.markdown import render_compare

    comparing = args.compare is not None
    out = args.out if args.out is not None else OUT_DEFAULT
    args.results = _default_results(args.results, OUT_DEFAULT if comparing else out)
    if not args.results:
        where = OUT_DEFAULT if comparing else out
        err(f"no results files given and none in {where}/results; run `conformance run` first")
        return USAGE_ERROR
    if not _has_results(args.results):  # as the gate: folders named that hold no results file
        err(f"{', '.join(args.results)}: no results files found")
        return USAGE_ERROR
    catalogue = default_catalogue()
    view, merged, unreadable = load_view(args.results, catalogue if os.path.exists(catalogue) else None)
    if unreadable:
        for exc in unreadable:
            err(f"{exc.path}: unusable results file: {exc.reason}")
        return USAGE_ERROR
    if comparing:
        try:
            (a, note_a), (b, note_b) = (resolve(view, name) for name in args.compare)
        except CompareError as exc:
            err(f"report --compare: {exc}")
            return USAGE_ERROR
        for note in (note_a, note_b):
            if note:
                err(f"report --compare: {note}")
        text = render_compare(view, a, b)
        if args.out is None:
            sys.stdout.write(text)
        else:
            with open(args.out, "w", encoding="utf-8") as handle:
                handle.write(text)
            print(f"compare: {args.out}")
        return 0
    paths = write_view(view, merged, unreadable, out)
    for kind, path in sorted(paths.items()):
        print(f"{kind}: {path}")
    return 0


def cmd_gate(args) -> int:
    from conformance.gate.command import run_gate

    cases, _, _ = load_cases(args.specs, keep_going=False)  # None: the kit's own specs
    if cases is None:
        return USAGE_ERROR
    spec_cases = [c.id for c in cases]
    args.results = _default_results(args.results, OUT_DEFAULT)
    if not args.results:  # unusable input, as for `report` (and `gate` of an empty folder)
        err(f"no results files given and none in {OUT_DEFAULT}/results: nothing ran, "
             "the gate cannot pass; run `conformance run` first")
        return USAGE_ERROR
    # Each line once: what could not be judged (UNUSABLE) on stderr, the findings on stdout.
    return run_gate(args.results, spec_cases, args.baseline or [], args.accept or [])


def cmd_check_programs(args) -> int:
    import time

    from conformance.adapters import components_of, load_adapter
    from conformance.run import results_path
    from conformance.standalone import compare_results

    paths = list(args.results)
    for framework in args.framework or []:
        adapter, version, _, problem = load_adapter(framework)
        if problem:
            err(problem)
            return USAGE_ERROR
        paths.append(results_path(os.path.join(args.out, "results"), framework, version, components_of(adapter)))
    if not paths:
        err("name results files or --framework")
        return USAGE_ERROR
    worst = 0
    for path in paths:
        if not os.path.isfile(path):
            err(f"no results file {path}")
            return USAGE_ERROR
        started = time.perf_counter()
        count, problems = compare_results(path, jobs=args.jobs)
        for problem in problems:
            print(f"  MISMATCH {problem}")
        print(f"{path}: {count} programs run on their own in {time.perf_counter() - started:.1f} s, "
              f"{len(problems)} mismatch(es)", flush=True)
        worst = max(worst, 1 if problems else 0)
    return worst
