"""Would the gate notice? Run a column under each framework mutant and gate it against its baseline.

    python3 bench/framework_mutants.py --env torch [--env mxnet ...] [--mutant NAME ...] [--jobs 1]

Rule: for every mutant of the column's catalogue (tests/framework_mutants/<catalogue>.py) that
applies to the column's version, the column is run with CONFORMANCE_FRAMEWORK_MUTANT naming it
(the worker plants it right after importing the framework, before any program runs), and the
gate compares the results with the committed baseline of that column. A mutant is killed when
the gate reports a change (a moved outcome or status, or moved observations); the cases it
names are its killers. Prints, per column, the score, each mutant's killers, and the survivors.
The unmutated column is gated first: it must be clean, or a kill would prove nothing.
The column envs are editable installs of the checkout they were made from: the kit and the
specs they run are that checkout's, whatever tree this script is started from, so nothing may
edit that checkout while the bench runs (an edited case would show as a killer).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAMEWORK_OF = {"torch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet", "paddle": "paddle", "jax": "jax",
                "reference": "reference"}
ENV_VARS = {  # what tox.ini sets for each env (beside the defaults below)
    "tensorflow-keras2": {"TF_USE_LEGACY_KERAS": "1"},
    "jax": {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
}


def framework_of(env: str) -> str:
    return next(fw for prefix, fw in FRAMEWORK_OF.items() if env.startswith(prefix))


def catalogue_of(env: str) -> str:
    framework = framework_of(env)
    if framework == "tensorflow":
        keras2 = env in ("tensorflow-keras2", "tensorflow215", "tensorflow212")
        return "tensorflow_keras2" if keras2 else "tensorflow_keras3"
    return framework


def _environment(env: str) -> dict:
    found = dict(os.environ, PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="2", OMP_NUM_THREADS="1")
    found.update(ENV_VARS.get(env, {}))
    return found


def run_column(env: str, out: str, mutant: str | None) -> str:
    """Run the column env's conformance into `out`; the results file it wrote."""
    environ = _environment(env)
    environ.pop("CONFORMANCE_FRAMEWORK_MUTANT", None)
    if mutant:
        environ["CONFORMANCE_FRAMEWORK_MUTANT"] = mutant
    binary = os.path.join(ROOT, ".tox", env, "bin", "conformance")
    subprocess.run([binary, "run", "--framework", framework_of(env), "--no-report", "--out", out],
                   cwd=ROOT, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    found = [p for p in glob.glob(os.path.join(out, "results", "*.json"))]
    if len(found) != 1:
        raise RuntimeError(f"{env}: expected one results file in {out}, found {found}")
    return found[0]


def baseline_of(results: str) -> str:
    path = os.path.join(ROOT, "reports", "baseline", os.path.basename(results))
    if not os.path.exists(path):
        raise RuntimeError(f"no baseline for {os.path.basename(results)} in reports/baseline/")
    return path


def killers(results: str, baseline: str) -> tuple[list[str], list[str]]:
    """(case ids the gate names, its other findings) for one results file against its baseline."""
    sys.path.insert(0, ROOT)
    from conformance.gate import gate

    result = gate([results], baseline_paths=[baseline])
    cases = sorted({f.case for f in result.findings if f.case})
    other = [f.text for f in result.findings if not f.case]
    return cases, other


def mutants_of(env: str, python: str) -> list[str]:
    """The names of the catalogue's mutants that apply to this env's framework version."""
    script = (
        "import json, sys; sys.path.insert(0, 'tests')\n"
        "from framework_mutants import load_catalogue\n"
        f"import {framework_of(env) if framework_of(env) != 'tensorflow' else 'tensorflow as tf'}\n"
        "from conformance.adapters import get_adapter, components_of\n"
        f"a = get_adapter({framework_of(env)!r}); a.load()\n"
        "v = str(a.version()); k = components_of(a).get('keras')\n"
        f"print(json.dumps([n for n, m in load_catalogue({catalogue_of(env)!r}).items() if m.applies_to(v, k)]))\n"
    )
    done = subprocess.run([python, "-c", script], cwd=ROOT, env=_environment(env), capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", action="append", required=True, help="a column env under .tox/ (repeatable)")
    parser.add_argument("--mutant", action="append", help="only these mutants")
    args = parser.parse_args(argv)
    worst = 0
    for env in args.env:
        python = os.path.join(ROOT, ".tox", env, "bin", "python")
        catalogue = os.path.join(ROOT, "tests", "framework_mutants", f"{catalogue_of(env)}.py")
        names = [n for n in mutants_of(env, python) if not args.mutant or n in args.mutant]
        with tempfile.TemporaryDirectory(prefix="framework-mutants-") as scratch:
            started = time.perf_counter()
            clean = run_column(env, os.path.join(scratch, "clean"), None)
            base = baseline_of(clean)
            noise, other = killers(clean, base)
            print(f"== {env}: {len(names)} mutants of {catalogue_of(env)}; unmutated run vs baseline: "
                  f"{'clean' if not noise and not other else f'NOT CLEAN: {noise} {other}'}", flush=True)
            found: dict[str, list[str]] = {}
            for name in names:
                results = run_column(env, os.path.join(scratch, name), f"{catalogue}:{name}")
                cases, other = killers(results, base)
                cases = [c for c in cases if c not in noise]
                with open(results, encoding="utf-8") as handle:
                    problem = json.load(handle).get("import_error")
                found[name] = cases if not problem else []
                shown = ", ".join(cases[:4]) + (f" (+{len(cases) - 4})" if len(cases) > 4 else "")
                verdict = (f"NOT PLANTED: {problem}" if problem else
                           f"killed by {len(cases)}: {shown}" if cases else "SURVIVED")
                print(f"  {name}: {verdict}", flush=True)
            killed = [n for n, c in found.items() if c]
            twice = [n for n, c in found.items() if len(c) >= 2]
            print(f"   {env}: {len(killed)}/{len(found)} killed, {len(twice)} by at least two cases; "
                  f"survivors: {sorted(set(found) - set(killed)) or 'none'}; "
                  f"{time.perf_counter() - started:.0f} s", flush=True)
            worst = max(worst, 0 if len(killed) == len(found) else 1)
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
