"""Benchmark of each framework column: import time, `conformance run` time, their ratio, slowest cases.

Rule: measures only; prints seconds, asserts nothing. For every framework installed in the
interpreter that runs it (run it with each tox env's python, e.g.
`.tox/torch/bin/python bench/bench_columns.py`), it times, as whole processes with the tox
env's settings (PYTHONHASHSEED=0, TF_CPP_MIN_LOG_LEVEL=2, OMP_NUM_THREADS=1):

- `python -c "import <framework>"` (the reference: `import conformance.reference`),
- `python -m conformance run --framework <fw> --no-report --out <tmp>`,

each `--repeat` times (default 3), and prints the medians (wall seconds, and the CPU
seconds of the child processes, steadier on a busy machine), the ratio run/import, and
the 5 slowest cases (median of their `duration_s` over the runs). `--kit DIR` measures the
kit in another checkout (e.g. an older commit) the same way; `--frameworks` picks columns;
`--workers 1 2` measures the run once per worker count (CONFORMANCE_WORKERS; default: the
kit's own default, one per CPU up to 2); `--start fork spawn` once per way of starting the
workers (forked from a zygote that imported the framework once, the default, or spawned,
each importing it: CONFORMANCE_FORK=0).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {"PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "2", "OMP_NUM_THREADS": "1"}
# Issue 13, measured on the kit before this work (wall medians of 3, envs existing).
BEFORE = {"tensorflow": (28.8, 3.4), "torch": (5.5, 2.5), "mxnet": (3.2, 1.8)}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], kit: str, extra_env: dict | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process tree) of one command run to the end."""
    env = dict(os.environ, **ENV, **(extra_env or {}))
    env["PYTHONPATH"] = os.pathsep.join([kit, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cpu, wall = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=kit, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall, cpu = time.perf_counter() - wall, _children_cpu() - cpu
    if done.returncode not in (0, 1):  # `run` exits 1 when a case fails; that is still a run
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return wall, cpu


def installed(kit: str) -> list[str]:
    code = "import json; from conformance.adapters import installed_frameworks; print(json.dumps(installed_frameworks()))"
    env = dict(os.environ, PYTHONPATH=kit)
    out = subprocess.run([sys.executable, "-c", code], cwd=kit, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def module_of(framework: str, kit: str) -> str:
    code = f"from conformance.adapters import FRAMEWORK_MODULES; print(FRAMEWORK_MODULES[{framework!r}] or '')"
    env = dict(os.environ, PYTHONPATH=kit)
    out = subprocess.run([sys.executable, "-c", code], cwd=kit, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip() or "conformance.reference"


def bench(framework: str, repeat: int, kit: str, workers: int | None = None, start: str | None = None) -> dict:
    module = module_of(framework, kit)
    extra = {"CONFORMANCE_WORKERS": str(workers)} if workers else {}
    if start:
        extra["CONFORMANCE_FORK"] = "1" if start == "fork" else "0"
    imports = [timed([sys.executable, "-c", f"import {module}"], kit) for _ in range(repeat)]
    runs, durations = [], {}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench-columns-") as out:
            runs.append(timed([sys.executable, "-m", "conformance", "run", "--framework", framework,
                               "--no-report", "--out", out], kit, extra))
            for path in glob.glob(os.path.join(out, "**", f"{framework}-*.json"), recursive=True):
                with open(path, encoding="utf-8") as handle:
                    for case in json.load(handle).get("cases", []):
                        durations.setdefault(case["id"], []).append(case["duration_s"])
    slowest = sorted(((statistics.median(v), k) for k, v in durations.items()), reverse=True)[:5]
    result = {
        "framework": framework, "module": module, "cases": len(durations), "workers": workers or "default",
        "start": start or "default",
        "import_s": statistics.median(w for w, _ in imports), "import_cpu_s": statistics.median(c for _, c in imports),
        "run_s": statistics.median(w for w, _ in runs), "run_cpu_s": statistics.median(c for _, c in runs),
        "run_walls": [round(w, 2) for w, _ in runs],
        "slowest": [(round(s, 3), k) for s, k in slowest],
    }
    result["ratio"] = result["run_s"] / result["import_s"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", nargs="+", help="columns to measure (default: every one installed here)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is printed")
    parser.add_argument("--kit", default=HERE, help="checkout of the kit to measure (default: this one)")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--workers", nargs="+", type=int, default=[None],
                        help="worker counts to measure the run with (default: the kit's default)")
    parser.add_argument("--start", nargs="+", choices=("fork", "spawn"), default=[None],
                        help="ways to start the workers to measure (default: the kit's default, fork)")
    args = parser.parse_args(argv)
    kit = os.path.abspath(args.kit)
    frameworks = args.frameworks or installed(kit)
    print(f"python {sys.version.split()[0]} ({sys.executable}); kit {kit}; medians of {args.repeat}")
    results = []
    for framework in frameworks:
        for workers, start in [(w, s) for w in args.workers for s in args.start]:
            r = bench(framework, args.repeat, kit, workers, start)
            results.append(r)
            before = BEFORE.get(framework)
            was = f"  (issue 13 before: {before[0]} s / {before[1]} s = {before[0] / before[1]:.1f}x)" if before else ""
            print(f"\n{framework}: {r['cases']} cases, workers: {r['workers']}, started: {r['start']}")
            print(f"  import {r['module']:<22} {r['import_s']:6.2f} s wall  {r['import_cpu_s']:6.2f} s CPU")
            print(f"  conformance run          {r['run_s']:6.2f} s wall  {r['run_cpu_s']:6.2f} s CPU  (runs {r['run_walls']})")
            print(f"  ratio run/import         {r['ratio']:6.2f}x wall  {r['run_cpu_s'] / r['import_cpu_s']:6.2f}x CPU{was}")
            print("  slowest cases (median duration_s):")
            for seconds, case_id in r["slowest"]:
                print(f"    {seconds:7.3f} s  {case_id}")
    if len(results) > 1:
        print("\nsummary (wall medians): framework  workers  start  import  run  run/import")
        for r in results:
            print(f"  {r['framework']:<11} {r['workers']!s:<7} {r['start']:<7} {r['import_s']:6.2f} {r['run_s']:6.2f} "
                  f"{r['ratio']:6.2f}x")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
