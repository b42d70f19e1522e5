"""Benchmark of the reporter and the gate on synthetic results (5,000 cases x 12 columns).

Rule: measures only; prints seconds and file sizes, asserts nothing. Each of `report`
(write_report: index.html, results.json, summary.md) and `gate --baseline` is run
`--repeat` times (default 3) and its median printed, wall and CPU seconds, with the ratio
to the figures issue 13 measured on the old code (3.74 s, 3.99 s, a 6.6 MB index.html).
`--kit DIR` measures the kit in another checkout (e.g. an older commit) on the same input.
Run it with `python bench/bench_report_gate.py [--cases N] [--columns N] [--keep DIR]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAMEWORKS = ["reference", "torch", "tensorflow", "mxnet", "jax", "paddle"]
# Issue 13, measured on the kit before this benchmark's changes (5,000 x 12, wall seconds).
BEFORE = {"report": 3.74, "gate --baseline": 3.99, "index.html MB": 6.6}


def columns(n: int) -> list[tuple[str, str]]:
    return [(FRAMEWORKS[i % len(FRAMEWORKS)], f"{1 + i // len(FRAMEWORKS)}.0.0") for i in range(n)]


def timed(function, *args, **kwargs):
    """(result, wall seconds, CPU seconds of this process) — CPU is steadier on a busy machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def median_of(repeat: int, function, *args, **kwargs):
    """(last result, median wall, median CPU, every wall time) over `repeat` runs."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        result, wall, cpu = timed(function, *args, **kwargs)
        walls.append(wall)
        cpus.append(cpu)
    return result, statistics.median(walls), statistics.median(cpus), walls


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000, help="cases per column")
    parser.add_argument("--columns", type=int, default=12, help="results files (columns)")
    parser.add_argument("--behaviours", type=int, default=500, help="behaviours in the catalogue")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command (median printed)")
    parser.add_argument("--keep", help="write the report into this folder and keep it")
    parser.add_argument("--kit", default=HERE, help="checkout whose `conformance` to measure")
    args = parser.parse_args(argv)

    # The input always comes from this checkout's generator (the current results format),
    # the code measured from --kit: so an older kit is timed on the very same files.
    sys.path.insert(0, HERE)
    import yaml

    from conformance.report.synthetic import synthetic_catalogue, synthetic_results

    if os.path.abspath(args.kit) != HERE:
        for name in [m for m in sys.modules if m == "conformance" or m.startswith("conformance.")]:
            del sys.modules[name]
        sys.path.insert(0, os.path.abspath(args.kit))
    from conformance.gate import gate
    from conformance.report import write_report

    work = tempfile.mkdtemp(prefix="bench-report-")
    try:
        started = time.perf_counter()
        runs = synthetic_results(
            args.cases, columns(args.columns), seed=1, n_behaviours=args.behaviours
        )
        paths = []
        for run in runs:
            path = os.path.join(work, f"{run['framework']}-{run['framework_version']}.json")
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(run, handle)
            paths.append(path)
        catalogue = os.path.join(work, "catalogue.yaml")
        with open(catalogue, "w", encoding="utf-8") as handle:
            yaml.safe_dump(synthetic_catalogue(args.behaviours), handle)
        generated = time.perf_counter() - started
        input_bytes = sum(os.path.getsize(p) for p in paths)
        del runs

        out_dir = args.keep or os.path.join(work, "out")
        written, report_s, report_cpu, report_all = median_of(
            args.repeat, write_report, paths, out_dir, catalogue
        )
        result, gate_s, gate_cpu = timed(gate, paths)
        with_baseline, baseline_s, baseline_cpu, baseline_all = median_of(
            args.repeat, gate, paths, baseline_paths=paths
        )

        print(f"kit: {os.path.abspath(args.kit)}")
        print(
            f"synthetic input: {args.cases} cases x {args.columns} columns "
            f"({args.cases * args.columns} cells), {input_bytes / 1e6:.1f} MB of results "
            f"files, generated in {generated:.2f} s"
        )
        print(
            f"report: median of {args.repeat} {report_s:.2f} s wall "
            f"({', '.join(f'{w:.2f}' for w in report_all)}), {report_cpu:.2f} s CPU; "
            f"{report_s / BEFORE['report']:.2f}x the {BEFORE['report']} s measured before"
        )
        html_mb = os.path.getsize(written["html"]) / 1e6
        for kind, path in written.items():
            print(
                f"  {kind:8s} {os.path.getsize(path) / 1e6:7.2f} MB  "
                f"{path if args.keep else os.path.basename(path)}"
            )
        print(f"  index.html is {html_mb / BEFORE['index.html MB']:.2f}x the 6.6 MB before")
        print(
            f"gate: {gate_s:.2f} s wall, {gate_cpu:.2f} s CPU "
            f"(exit {result.exit_code}, {len(result.lines)} lines)"
        )
        print(
            f"gate --baseline (the same files): median of {args.repeat} {baseline_s:.2f} s wall "
            f"({', '.join(f'{w:.2f}' for w in baseline_all)}), {baseline_cpu:.2f} s CPU "
            f"(exit {with_baseline.exit_code}); "
            f"{baseline_s / BEFORE['gate --baseline']:.2f}x the "
            f"{BEFORE['gate --baseline']} s measured before"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
