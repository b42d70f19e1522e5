"""Every program of a column run again on its own, without the kit: what it prints must be its record.

Rule: the programs of a results file are written into an empty folder and run by a small
script that is not part of the kit (`RUNNER`, started with `python -I` from that folder):
it imports what the programs import, refuses any import of the kit (for the reference
column, the reference framework itself excepted), then runs each program in a fresh
process forked from it (`runpy`, as `__main__`, in an empty folder of its own) and keeps
what it printed. The kit then reads each output exactly as it reads a worker's and
compares it with the record: observations, error and warnings must be equal.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

# The script that runs the programs. It is written next to them and run with `python -I`;
# it imports nothing of the kit, and nothing of the kit can be imported while it runs.
RUNNER = r'''
import importlib, json, os, runpy, sys

ALLOWED = set(json.loads(sys.argv[1]))  # kit modules a program may import (the reference framework)
jobs = int(sys.argv[2])
folders = sys.argv[3:]


class NoKit:
    """Refuses every module of the conformance kit but the framework under test."""

    def find_spec(self, name, path=None, target=None):
        if (name == "conformance" or name.startswith("conformance.")) and not any(
                name == allowed or name.startswith(allowed + ".") or allowed.startswith(name + ".")
                for allowed in ALLOWED):
            raise ModuleNotFoundError(f"the conformance kit is not importable here: {name}")
        return None


sys.meta_path.insert(0, NoKit())
modules = set()
for folder in folders:
    with open(os.path.join(folder, "cell.py"), encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if parts[:1] == ["import"] or (parts[:1] == ["from"] and "import" in parts):
                modules.add(parts[1].split(".")[0] if parts[0] == "import" else parts[1])
for name in sorted(modules):
    try:
        importlib.import_module(name)  # once, here: every program then starts from this state
    except Exception:
        pass


def run(folder):
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        out = os.open(os.path.join(folder, "stdout.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        work = os.path.join(folder, "work")
        os.mkdir(work)
        os.chdir(work)
        sys.argv = ["cell.py"]
        try:
            runpy.run_path(os.path.join(folder, "cell.py"), run_name="__main__")
        except BaseException as error:
            print(json.dumps({"escaped": f"{type(error).__name__}: {error}"[:500]}))
        sys.stdout.flush()
        kit = sorted(m for m in sys.modules if m == "conformance" or m.startswith("conformance."))
        with open(os.path.join(folder, "kit_modules.json"), "w") as handle:
            json.dump(kit, handle)
    except BaseException:
        code = 70
    finally:
        os._exit(code)


running = {}
queue = list(folders)
while queue or running:
    while queue and len(running) < jobs:
        folder = queue.pop(0)
        running[run(folder)] = folder
    pid, status = os.wait()
    running.pop(pid, None)
'''


def allowed_kit_modules(framework: str) -> list[str]:
    """What of the kit a program of `framework` may import: only the framework under test."""
    return ["conformance.reference"] if framework == "reference" else []


def run_programs(programs: dict[str, str], framework: str, python: str = sys.executable, jobs: int = 2,
                 timeout_s: float = 1800, threads: str | None = None) -> dict[str, dict]:
    """case id -> {"output": what its program printed, "kit_modules": [...], "folder": str}."""
    root = tempfile.mkdtemp(prefix="conformance-standalone-")
    try:
        folders = {}
        for index, (case_id, text) in enumerate(programs.items()):
            folder = os.path.join(root, f"cell{index:04d}")
            os.mkdir(folder)
            with open(os.path.join(folder, "cell.py"), "w", encoding="utf-8") as handle:
                handle.write(text)
            folders[case_id] = folder
        runner = os.path.join(root, "run_cells.py")
        with open(runner, "w", encoding="utf-8") as handle:
            handle.write(RUNNER)
        empty = os.path.join(root, "empty")
        os.mkdir(empty)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
        env.update(program_env(framework, env))  # what the column's workers ran under
        env["TMPDIR"] = os.path.join(root, "tmp")  # what the frameworks write there (autograph) goes too
        os.mkdir(env["TMPDIR"])
        if threads:  # the programs set it themselves, too late for the runner's imports above them
            env["OMP_NUM_THREADS"] = threads
        subprocess.run([python, "-I", runner, json.dumps(allowed_kit_modules(framework)), str(jobs),
                        *folders.values()], cwd=empty, env=env, timeout=timeout_s, check=False,
                       stdout=subprocess.DEVNULL)
        found = {}
        for case_id, folder in folders.items():
            found[case_id] = {"output": _read(os.path.join(folder, "stdout.txt")),
                              "kit_modules": json.loads(_read(os.path.join(folder, "kit_modules.json")) or "null"),
                              "folder": os.path.join(folder, "work")}
        return found
    finally:
        shutil.rmtree(root, ignore_errors=True)


def program_env(framework: str, env: dict) -> dict:
    """What the framework's adapter sets in its workers' environment (`Adapter.program_env`)."""
    from conformance.adapters import get_adapter

    try:
        return get_adapter(framework).program_env(env)
    except KeyError:
        return {}


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return ""


def compare_results(path: str, python: str = sys.executable, jobs: int = 2) -> tuple[int, list[str]]:
    """(programs run, mismatches) for one results file: each program run on its own must
    print exactly what its record holds."""
    from conformance.adapters import get_adapter
    from conformance.execute import read_execution
    from conformance.program.recording import decode
    from conformance.program.writer import Column
    from conformance.run.case import _scrub, observations_of

    with open(path, encoding="utf-8") as handle:
        results = json.load(handle)
    framework = results["framework"]
    records = {r["id"]: r for r in results["cases"] if r.get("program") and r["status"] not in ("crash", "timeout")}
    threads = (results.get("devices") or {}).get("omp_num_threads")
    outputs = run_programs({i: r["program"] for i, r in records.items()}, framework, python, jobs, threads=threads)
    column = Column(framework, results["framework_version"], results.get("components") or {},
                    results.get("devices") or {})
    unobservable = get_adapter(framework).unobservable
    cases = _cases_of(records)
    problems = []
    for case_id, record in records.items():
        got = outputs[case_id]
        allowed = allowed_kit_modules(framework)
        kit = [m for m in (got["kit_modules"] or []) if m != "conformance" and not any(
            m == a or m.startswith(a + ".") for a in allowed)]
        if got["kit_modules"] is None:
            problems.append(f"{case_id}: the program did not finish on its own (no record of its imports)")
            continue
        if kit:
            problems.append(f"{case_id}: the program imported the kit: {kit}")
        escaped = [json.loads(line)["escaped"] for line in got["output"].splitlines() if line.startswith('{"escaped": ')]
        if escaped:
            problems.append(f"{case_id}: the program did not run on its own: {escaped[0]}")
            continue
        case = cases[case_id]
        expected = case.resolve(framework, column.version, column.components).expected
        execution = read_execution(decode(got["output"]), case, expected, column, unobservable)
        observed = _scrub(observations_of(execution), got["folder"])
        if observed != record["observations"]:
            problems.append(f"{case_id}: prints other observations than its record: {_first_difference(record['observations'], observed)}")
    return len(records), problems


def _cases_of(records: dict) -> dict:
    """The cases of the records, from the kit's specs (the programs were written from them)."""
    from conformance.cli.specs import default_specs
    from conformance.spec import load_specs_tolerant

    here = os.getcwd()
    os.chdir(os.path.dirname(default_specs()))
    try:
        cases, _ = load_specs_tolerant([os.path.basename(default_specs())])
    finally:
        os.chdir(here)
    return {c.id: c for c in cases if c.id in records}


def _first_difference(a, b, where: str = "") -> str:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if a.get(key, "<missing>") != b.get(key, "<missing>"):
                return _first_difference(a.get(key, "<missing>"), b.get(key, "<missing>"), f"{where}/{key}")
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for index, (x, y) in enumerate(zip(a, b)):
            if x != y:
                return _first_difference(x, y, f"{where}[{index}]")
    text = f"{where or '/'}: record {json.dumps(a, default=str)[:200]}, alone {json.dumps(b, default=str)[:200]}"
    return re.sub(r"\s+", " ", text)
