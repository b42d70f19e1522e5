"""Benchmark of the reporter and the gate on synthetic results (5,000 cases x 12 columns).

Rule: measures only; prints seconds and file sizes, asserts nothing. Run it with
`python bench/bench_report_gate.py [--cases N] [--columns N] [--keep DIR]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import yaml

from conformance.gate import gate
from conformance.report import write_report
from conformance.report.synthetic import synthetic_catalogue, synthetic_results

FRAMEWORKS = ["reference", "torch", "tensorflow", "mxnet", "jax", "paddle"]


def columns(n: int) -> list[tuple[str, str]]:
    return [(FRAMEWORKS[i % len(FRAMEWORKS)], f"{1 + i // len(FRAMEWORKS)}.0.0") for i in range(n)]


def timed(function, *args, **kwargs):
    """(result, wall seconds, CPU seconds of this process) — CPU is steadier on a busy machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--columns", type=int, default=12)
    parser.add_argument("--behaviours", type=int, default=500)
    parser.add_argument("--keep", help="write the report into this folder and keep it")
    args = parser.parse_args(argv)

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

        out_dir = args.keep or os.path.join(work, "out")
        (written, report_s, report_cpu) = timed(write_report, paths, out_dir, catalogue)
        (result, gate_s, gate_cpu) = timed(gate, paths)
        (with_baseline, baseline_s, baseline_cpu) = timed(gate, paths, baseline_paths=paths)

        print(
            f"synthetic input: {args.cases} cases x {args.columns} columns "
            f"({args.cases * args.columns} cells), {input_bytes / 1e6:.1f} MB of results "
            f"files, generated in {generated:.2f} s"
        )
        print(f"write_report: {report_s:.2f} s wall, {report_cpu:.2f} s CPU")
        for kind, path in written.items():
            print(
                f"  {kind:8s} {os.path.getsize(path) / 1e6:7.2f} MB  {path if args.keep else os.path.basename(path)}"
            )
        print(
            f"gate: {gate_s:.2f} s wall, {gate_cpu:.2f} s CPU "
            f"(exit {result.exit_code}, {len(result.lines)} lines)"
        )
        print(
            f"gate with baseline (same files): {baseline_s:.2f} s wall, {baseline_cpu:.2f} s CPU "
            f"(exit {with_baseline.exit_code})"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
