"""The runner: cases x one framework -> case records -> a results file.

Rule: one case never takes the run down. `run_inprocess` executes cases in this process
(tests, the pytest plugin); `run_framework` executes them in worker processes, forked from
one zygote that imported the framework once (or spawned, with CONFORMANCE_FORK=0), each
restarted after a crash or a hang, so a segfault becomes `crash`, a hang `timeout`, and
the run goes on. Which worker runs which case is fixed before the run (`shard`: the
cases of one spec file stay together), never decided by timing, and a record does not
depend on it. Every finished case is journalled as it arrives; the results file, in case
order, is written atomically at the end.
"""

from __future__ import annotations

import json
import os
import platform
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime

from conformance import __version__
from conformance.checker import judge, needs, use_paths
from conformance.execute import Execution, gather, is_adapter_bug, run_steps, untie
from conformance.results import (
    FORMAT,
    Journal,
    atomic_write_json,
    read_journal,
    safe_name,
    summarise,
)

DEFAULT_TIMEOUT_S = 120.0
STARTUP_TIMEOUT_S = 900.0
ALWAYS_OBSERVED = ("param_paths", "native_names", "native_layouts", "init_calls")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _case_record(case, status: str, message: str, observations: dict, duration: float, framework: str,
                 version: str, snippet: str = "", checks: list | None = None, verdict=None,
                 components: dict | None = None) -> dict:
    pin = case.pin_for(framework, version, components) if version else None
    expected = case.outcome(pin["outcome"]) if pin else case.normative
    outcomes = (verdict.outcomes if verdict is not None and verdict.outcomes is not None else
                [{"label": o.label, "says": o.says, "normative": o.normative, "held": None, "failed": []}
                 for o in case.outcomes])
    return {
        "id": case.id, "file": case.file, "topic": case.topic, "title": case.title,
        "behaviours": case.behaviours, "status": status, "message": message,
        "outcome": verdict.outcome if verdict is not None else None,
        "expected_outcome": expected.label, "normative_outcome": case.normative.label,
        "outcomes": outcomes, "pin": pin,
        "observations": observations, "duration_s": round(duration, 4), "source": case.source,
        "checks": checks or [], "snippet": snippet,
    }


def execute_case(adapter, case, workdir: str, progress=None, version: str | None = None,
                 components: dict | None = None) -> tuple[Execution, object]:
    """Run one case's steps and gather the evidence every outcome needs; the expected
    outcome's evidence first, so that only its Unsupported/Skip interrupt the case."""
    framework = adapter.framework_name
    expected = case.expected_outcome(framework, version, components)
    execution = Execution()
    try:
        session = adapter.new_session(workdir)
        session.prepare(case)
    except Exception as exc:  # noqa: BLE001
        execution.interruption = ("error", f"adapter could not start a session: {type(exc).__name__}: {exc}")
        return execution, None
    everything = case.all_expectations()
    untied_uses = [e["grad_equals_untied_sum"] for e in everything if "grad_equals_untied_sum" in e]
    untied = _UntiedRun(adapter, case, workdir) if untied_uses and case.model else None
    before_forward = untied.capture_from(session) if untied else None
    run_steps(session, case, execution, before_forward=before_forward, progress=progress)
    if getattr(session, "notes", None):
        execution.evidence["adapter_notes"] = dict(session.notes)
    if execution.interruption is None:
        keys = list(ALWAYS_OBSERVED)
        for expectation in expected.expect:
            keys += needs(expectation, case)
        others = [k for e in everything for k in needs(e, case) if k not in keys]
        gather(session, keys + others, execution, case=case, optional=set(others))
    if untied and execution.interruption is None and execution.error is None:
        untied.run(execution, [use for spec in untied_uses for use in use_paths(spec)])
    return execution, session


class _UntiedRun:
    """The same case on an untied copy of the model holding the tied model's values."""

    def __init__(self, adapter, case, workdir):
        self.adapter, self.case = adapter, case
        self.workdir = os.path.join(workdir, "untied")
        os.makedirs(self.workdir, exist_ok=True)
        self.values: dict = {}
        self.session = None
        self.problem = None

    def capture_from(self, tied):
        def hook():
            try:
                self.session = self.adapter.new_session(self.workdir)
                self.session.prepare(self.case)
                self.session.build(untie(self.case.model))
                self.values = {p: tied.param_value(p) for p in self.session.param_paths()}
            except Exception as exc:  # noqa: BLE001 - reported through the check
                self.problem = f"{type(exc).__name__}: {exc}"
        return hook

    def run(self, execution: Execution, uses: list[str]) -> None:
        if self.problem or self.session is None:
            for use in uses:
                execution.evidence[f"untied_grad:{use}"] = None
            execution.evidence["untied_problem"] = self.problem or "the untied copy was never built"
            return
        session = self.session

        def load_values():
            for path, value in self.values.items():
                session.set_param(path, value)

        copy_case = _WithoutModel(self.case)
        shadow = Execution()
        run_steps(session, copy_case, shadow, before_forward=load_values)
        if shadow.error or shadow.interruption:
            execution.evidence["untied_problem"] = str(shadow.error or shadow.interruption)
        for use in uses:
            try:
                execution.evidence[f"untied_grad:{use}"] = session.param_grad(use)
            except Exception as exc:  # noqa: BLE001
                execution.evidence[f"untied_grad:{use}"] = None
                execution.evidence["untied_problem"] = f"{type(exc).__name__}: {exc}"


class _WithoutModel:
    """A view of a case whose model is already built (the untied session built it)."""

    def __init__(self, case):
        self.steps = case.steps
        self.model = None


def observations_of(execution: Execution) -> dict:
    observations = {"error": execution.error, "warnings": execution.warnings}
    for key, value in execution.evidence.items():
        if key.startswith("input:"):
            continue
        observations[key] = summarise(value)
    return observations


def run_case(adapter, case, version: str, progress=None, components: dict | None = None) -> dict:
    """Execute and judge one case in this process; returns its results record."""
    started = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="conformance-")
    verdict = None
    try:
        try:
            execution, _ = execute_case(adapter, case, workdir, progress=progress, version=version,
                                        components=components)
            verdict = judge(case, adapter.framework_name, version, execution, components)
            status, message, checks = verdict.status, verdict.message, verdict.checks
            observations = observations_of(execution)
        except Exception as exc:  # noqa: BLE001 - the kit itself broke on this case
            kind = "adapter bug" if is_adapter_bug(exc) else "kit error"
            status, message, checks, observations = "error", f"{kind}: {type(exc).__name__}: {exc}", [], {}
            verdict = None
        try:
            snippet = adapter.snippet(case) or ""
        except Exception as exc:  # noqa: BLE001
            snippet = f"# no snippet: {type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    # The private temporary folder differs per run; naming it would make runs differ.
    message, observations, checks = _scrub((message, observations, checks), workdir)
    if verdict is not None:
        verdict.outcomes = _scrub(verdict.outcomes, workdir)
    return _case_record(case, status, message, observations, time.perf_counter() - started,
                        adapter.framework_name, version, snippet, checks, verdict, components)


_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
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


def import_adapter(framework: str):
    """(adapter, None) with the framework imported (`Adapter.load`), or (None, error message)."""
    from conformance.adapters import get_adapter

    try:
        adapter = get_adapter(framework)
        adapter.load()
        return adapter, None
    except KeyError:
        return None, f"unknown framework '{framework}'"
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        return None, f"{framework} failed to load: {type(exc).__name__}: {str(exc).strip()[:500]}"


def describe_adapter(framework: str, adapter):
    """(version, devices, None) of an imported adapter, or (None, {}, error message). Asking
    for the devices may start the framework's runtime: a worker does it, never the zygote."""
    try:
        adapter.start_runtime()
        return str(adapter.version()), dict(adapter.devices()), None
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        return None, {}, f"{framework} failed to load: {type(exc).__name__}: {str(exc).strip()[:500]}"


def load_adapter(framework: str):
    """(adapter, version, devices, None) or (None, None, {}, error message)."""
    adapter, problem = import_adapter(framework)
    if problem:
        return None, None, {}, problem
    version, devices, problem = describe_adapter(framework, adapter)
    if problem:
        return None, None, {}, problem
    return adapter, version, devices, None


def components_of(adapter) -> dict:
    """Parts of the framework with their own versions (e.g. {"keras": "3.15.1"}); pins may range them."""
    try:
        return {str(k): str(v) for k, v in (adapter.components() or {}).items()}
    except Exception:  # noqa: BLE001 - an adapter without components, or one that failed to report them
        return {}


def column_label(framework: str, version: str | None, components: dict) -> str:
    """How a results file is named in a report: "tensorflow 2.21.0 · keras 3.15.1"."""
    parts = [f"{framework} {version or 'unavailable'}"] + [f"{k} {v}" for k, v in sorted(components.items())]
    return " · ".join(parts)


def run_inprocess(adapter, cases) -> list[dict]:
    """Run cases with an already-loaded adapter in this process (tests, mutants, plugin)."""
    adapter.start_runtime()  # as a worker does before its first case (a no-op the second time)
    version = str(adapter.version())
    components = components_of(adapter)
    return [run_case(adapter, case, version, components=components) for case in cases]


def _environment(framework, version, devices, spec_digest, started, import_error, components=None) -> dict:
    components = components or {}
    return {
        "format": FORMAT, "kit_version": __version__, "framework": framework,
        "framework_version": version or "unavailable", "components": components,
        "column": column_label(framework, version, components), "python": platform.python_version(),
        "numpy": _numpy_version(),
        "platform": platform.platform(), "devices": devices, "spec_digest": spec_digest,
        "started": started, "finished": None, "import_error": import_error,
    }


def _numpy_version() -> str:
    """NumPy makes the kit's inputs and all of the reference: its version is part of where a run ran."""
    import numpy

    return numpy.__version__


def results_path(out_dir: str, framework: str, version: str, components: dict | None = None) -> str:
    """One file per column: framework, version and component versions (Keras 2 and 3 on one TF differ)."""
    parts = [framework, version or "unavailable"] + [f"{k}-{v}" for k, v in sorted((components or {}).items())]
    return os.path.join(out_dir, "-".join(safe_name(p) for p in parts) + ".json")


def worker_count(n_cases: int | None = None, requested: int | None = None) -> int:
    """Worker processes for one column: `requested` (--workers), else $CONFORMANCE_WORKERS,
    else one per CPU up to 2 (measured on 2 cores only: each worker still pays the
    framework's runtime start and first-use costs); never more than `n_cases`, never fewer
    than one."""
    wanted = os.environ.get("CONFORMANCE_WORKERS", "").strip()
    count = requested or (int(wanted) if wanted.isdigit() and int(wanted) > 0 else min(2, os.cpu_count() or 1))
    return max(1, min(count, n_cases)) if n_cases else max(1, count)


def shard(cases, n: int) -> list[list[int]]:
    """Case indices for each of `n` workers, decided by the cases alone (never by timing).

    The cases of one spec file stay on one worker, because they share a framework's
    first-use costs (torch loads its meta-device kernels once, for the devices file); files
    go, largest first, to the worker with the fewest cases. While there are fewer groups
    than workers the largest group is halved. Each worker runs its cases in case order."""
    groups: dict[str, list[int]] = {}
    for index, case in enumerate(cases):
        groups.setdefault(case.file, []).append(index)
    parts = list(groups.values())
    while len(parts) < n and any(len(p) > 1 for p in parts):
        largest = max(parts, key=len)
        parts.remove(largest)
        half = (len(largest) + 1) // 2
        parts += [largest[:half], largest[half:]]
    loads: list[list[int]] = [[] for _ in range(max(1, n))]
    for part in sorted(parts, key=lambda p: (-len(p), p[0])):
        lightest = min(range(len(loads)), key=lambda i: (len(loads[i]), i))
        loads[lightest] += part
    return [sorted(load) for load in loads if load]


def forking() -> bool:
    """Whether a column's workers are forked from one zygote that imported the framework once
    (the default on Linux), rather than each importing it (CONFORMANCE_FORK=0)."""
    # Linux only: elsewhere (macOS) system libraries are not safe to use in a forked child.
    return (sys.platform.startswith("linux") and hasattr(socket, "send_fds")
            and os.environ.get("CONFORMANCE_FORK", "1").strip() != "0")


def prestart(framework: str, count: int | None = None) -> list:
    """`count` (default `worker_count()`) workers for `framework`, started now so that the
    framework is imported while the caller parses the specs: one zygote that imports it (the
    workers are forked from it once the cases exist), or, without forking, the worker
    processes themselves. Hand them to run_framework(prestarted=...)."""
    count = count or worker_count()
    if forking():
        zygote = _Zygote(framework)
        zygote.spawn()
        return [_Worker(framework, zygote) for _ in range(count)]
    workers = [_Worker(framework) for _ in range(count)]
    for worker in workers:
        worker.spawn()
    return workers


def close_workers(workers: list) -> None:
    """Stop `workers` (from `prestart` or a run) and the zygote they were forked from."""
    for worker in workers:
        worker.close()
    for zygote in {id(w.zygote): w.zygote for w in workers if w.zygote is not None}.values():
        zygote.close()


def run_framework(framework: str, cases, out_dir: str, spec_digest: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                  isolate: bool = True, echo=None, workers: int | None = None,
                  prestarted: list | None = None) -> tuple[str, dict]:
    """Run every case on `framework`, write the results file, return (path, results).

    `workers`: worker processes (default `worker_count`); `prestarted`: workers from `prestart`."""
    started = now()
    # One journal per process: parallel runs into one folder (`tox p`, two Keras columns) never share it.
    journal_path = os.path.join(out_dir, f".{safe_name(framework)}.{os.getpid()}.partial.jsonl")
    pool: list[_Worker] = list(prestarted or [])
    everyone = list(pool)  # closed at the end, with their zygote
    if isolate:
        count = worker_count(len(cases), workers)
        pool = pool[:count]
        if not pool:
            pool = prestart(framework, count)
            everyone = list(pool)
        while len(pool) < count:
            pool.append(_Worker(framework, pool[0].zygote))
            everyone.append(pool[-1])
        shared_cases_file = pool[0].write_cases(cases)
        for worker in pool:
            worker.use_cases(shared_cases_file)
            if worker.proc is None:
                worker.spawn()
        infos = [worker.start() for worker in pool]  # they start side by side
        info = next((i for i in infos if i.get("error")), infos[0])
    else:
        close_workers(everyone)
        pool = everyone = []
        adapter, version, devices, problem = load_adapter(framework)
        info = {"version": version, "devices": devices, "error": problem,
                "components": components_of(adapter) if adapter else {}}
    components = info.get("components") or {}
    results = _environment(framework, info.get("version"), info.get("devices") or {}, spec_digest, started,
                           info.get("error"), components)
    if pool:
        results["workers"] = len(pool)
    journal = Journal(journal_path)
    done: dict[int, dict] = {}
    interrupted = False

    def finished(index: int, record: dict) -> None:
        journal.append(record)
        done[index] = record
        if echo:
            echo(record)

    try:
        if info.get("error"):
            # The framework could not be loaded: the results file holds the error once
            # (`import_error`) and no case records, rather than one copy per case.
            pass
        elif len(pool) > 1:
            _run_shards(pool, shard(cases, len(pool)), cases, timeout_s, info["version"], finished)
        else:
            for index, case in enumerate(cases):
                if pool:
                    record = pool[0].run(index, case, case.timeout_s or timeout_s, info["version"])
                else:
                    record = run_case(adapter, case, info["version"], components=components)
                finished(index, record)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        close_workers(everyone)
        journal.close(remove=False)
    results["cases"] = [done[i] for i in sorted(done)]
    results["finished"] = now()
    if interrupted:
        results["interrupted"] = True
    path = results_path(out_dir, framework, info.get("version") or "unavailable", components)
    atomic_write_json(path, results)
    os.unlink(journal_path)
    if interrupted:
        raise KeyboardInterrupt
    return path, results


def _run_shards(pool: list, shards: list[list[int]], cases, timeout_s: float, version: str, finished) -> None:
    """Each worker runs its shard in a thread of its own; `finished(index, record)` is called
    under a lock as records arrive. Ctrl-C (or an exception in a thread) stops every worker;
    records finished before the stop are kept, a record cut short by the stop is not."""
    lock = threading.Lock()
    stop = threading.Event()
    raised: list[BaseException] = []

    def drive(worker, indices):
        for index in indices:
            if stop.is_set():
                return
            case = cases[index]
            try:
                record = worker.run(index, case, case.timeout_s or timeout_s, version)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                if not stop.is_set():
                    raised.append(exc)
                    stop.set()
                return
            with lock:
                if stop.is_set():
                    return  # the worker was killed by the stop: this is not the case's record
                finished(index, record)

    threads = [threading.Thread(target=drive, args=(w, s), daemon=True) for w, s in zip(pool, shards)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)  # a bounded join, so that Ctrl-C reaches this thread
        if raised:
            raise raised[0]
    except BaseException:
        with lock:
            stop.set()
        for worker in pool:
            worker.stop()
        raise


def _file_tail(path: str, size: int) -> str:
    """The last `size` bytes of a process's stderr file, as text ("" if there is none)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - size))
            return handle.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


class _Worker:
    """A child process running cases for one framework, restarted after a crash or hang."""

    def __init__(self, framework: str, zygote: _Zygote | None = None):
        self.framework = framework
        self.zygote = zygote  # forked from it; None: spawned, importing the framework itself
        self.spawn_error = ""
        self.folder = tempfile.mkdtemp(prefix="conformance-worker-")
        self.cases_file: str | None = None
        self.proc = None
        self.read_fd = None
        self.buffer = b""
        self.info: dict = {}
        self.stderr_path = os.path.join(self.folder, "stderr.txt")
        self.awaiting_cases = False  # spawned with "-": the cases file's path goes to its stdin

    def write_cases(self, cases) -> str:
        """Write `cases` into this worker's folder; the path, for every worker of the column."""
        path = os.path.join(self.folder, "cases.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump([c.to_json() for c in cases], handle)
        return path

    def use_cases(self, path: str) -> None:
        self.cases_file = path

    def spawn(self) -> None:
        """Start the process: forked from the zygote (which must have the cases file's path
        by then), or spawned, importing the framework while the caller goes on (e.g. parsing
        the specs); a spawned worker without cases yet is told the cases file by `start`."""
        self.buffer = b""
        if self.read_fd is not None:  # the pipe of a worker that died
            os.close(self.read_fd)
            self.read_fd = None
        if self.zygote is not None:
            try:
                self.read_fd, self.proc = self.zygote.fork(self.cases_file, self.stderr_path)
                self.spawn_error = ""
            except OSError as exc:
                self.proc, self.read_fd = None, None
                self.spawn_error = f"{exc}; zygote: {self.zygote.stderr_tail()}"
            return
        read_fd, write_fd = os.pipe()
        stderr = open(self.stderr_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                              env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.awaiting_cases = self.cases_file is None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "conformance.worker", self.framework, self.cases_file or "-", str(write_fd)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr, pass_fds=(write_fd,), env=env,
        )
        stderr.close()
        os.close(write_fd)
        self.read_fd = read_fd
        self.buffer = b""

    def start(self) -> dict:
        """Wait for the spawned process (spawning it if need be) to be ready; its info."""
        if self.proc is None or self.proc.poll() is not None:
            self.spawn()
        if self.proc is None:
            self.info = {"error": f"{self.framework} worker did not start: {self.spawn_error}"}
            return self.info
        message = self._next(STARTUP_TIMEOUT_S)
        if message is None or message == "timeout" or message.get("event") not in ("ready", "load_failed"):
            tail = self._stderr_tail()
            self.info = {"error": f"{self.framework} worker did not start: {tail}"}
        elif message["event"] == "load_failed":
            self.info = {"error": message["error"]}
        else:
            self.info = {"version": message["version"], "devices": message["devices"],
                         "components": message.get("components") or {}}
            if self.awaiting_cases:
                self._tell(f"{self.cases_file}\n")
                self.awaiting_cases = False
        return self.info

    def _tell(self, line: str) -> None:
        try:
            self.proc.stdin.write(line.encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the worker died; the next read notices

    def _next(self, timeout: float):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            ready, _, _ = select.select([self.read_fd], [], [], min(remaining, 1.0))
            if ready:
                chunk = os.read(self.read_fd, 65536)
                if not chunk:
                    return None  # the worker died
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def _stderr_tail(self, size: int = 2000) -> str:
        return _file_tail(self.stderr_path, size)

    def run(self, index: int, case, timeout_s: float, version: str) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
            if self.info.get("error"):
                return _case_record(case, "error", f"worker restart failed: {self.info['error']}", {}, 0.0,
                                    self.framework, version, components=self.info.get("components"))
        started = time.perf_counter()
        last = {"step": None, "kind": "before build"}
        self._tell(f"{index}\n")
        deadline = time.monotonic() + timeout_s
        while True:
            message = self._next(max(0.0, deadline - time.monotonic()))
            if message == "timeout":
                self.stop()
                status, what = "timeout", f"no result within {timeout_s:g} s"
                break
            if message is None:
                code = self.proc.wait()
                self.proc = None
                status, what = "crash", f"worker process died (exit status {code})"
                break
            if message["event"] == "step":
                last = message
            elif message["event"] == "result":
                return message["record"]
        tail = self._stderr_tail()
        step = f"step {last['step']} ({last['kind']})" if last.get("step") is not None else last["kind"]
        observations = {"last_step": last.get("step"), "last_step_kind": last.get("kind"), "stderr_tail": tail}
        message_text = f"{what}; last step started: {step}" + (f"; stderr: {tail.splitlines()[-1]}" if tail else "")
        return _case_record(case, status, message_text, observations, time.perf_counter() - started,
                            self.framework, version, components=self.info.get("components"))

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        if self.read_fd is not None:
            try:
                os.close(self.read_fd)
            except OSError:
                pass
            self.read_fd = None


class _Zygote:
    """The process that imports a column's framework once; its workers are forked from it
    (`conformance.worker --zygote`), and so is each restart after a crash or a hang."""

    def __init__(self, framework: str):
        self.framework = framework
        self.folder = tempfile.mkdtemp(prefix="conformance-zygote-")
        self.stderr_path = os.path.join(self.folder, "stderr.txt")
        self.proc = None
        self.sock = None
        self.lock = threading.Lock()  # one request at a time: sharded workers restart side by side

    def spawn(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        stderr = open(self.stderr_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                              env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "conformance.worker", "--zygote", self.framework, str(theirs.fileno())],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, pass_fds=(theirs.fileno(),),
            env=env,
        )
        stderr.close()
        theirs.close()
        self.sock = ours

    def _ask(self, request: dict, fds: tuple = ()) -> dict:
        with self.lock:
            if self.sock is None:
                raise OSError("the zygote is closed")
            self.sock.settimeout(STARTUP_TIMEOUT_S)  # a fork waits for the import to finish
            try:
                socket.send_fds(self.sock, [json.dumps(request).encode()], list(fds))
                reply = self.sock.recv(65536)
            except TimeoutError:
                raise OSError(f"the zygote did not answer within {STARTUP_TIMEOUT_S:g} s") from None
            except (BrokenPipeError, ConnectionResetError):
                reply = b""
            if not reply:
                raise OSError(f"the zygote died (exit status {self._exit_status()})")
            return json.loads(reply)

    def _exit_status(self):
        try:
            return self.proc.wait(timeout=5)
        except (subprocess.TimeoutExpired, AttributeError):
            return None

    def fork(self, cases_file: str | None, stderr_path: str):
        """(read end of the new worker's protocol pipe, its process handle)."""
        if not cases_file:
            raise OSError("a forked worker needs the cases file")
        read_fd, write_fd = os.pipe()
        stdin_read, stdin_write = os.pipe()
        stderr_fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            reply = self._ask({"fork": cases_file}, (write_fd, stdin_read, stderr_fd))
        except BaseException:
            os.close(read_fd)
            os.close(stdin_write)
            raise
        finally:
            for fd in (write_fd, stdin_read, stderr_fd):
                os.close(fd)
        return read_fd, _ForkedProcess(self, int(reply["pid"]), os.fdopen(stdin_write, "wb"))

    def wait(self, pid: int):
        """The exit status of a forked worker that has ended (or was killed); None if unknown."""
        try:
            return self._ask({"wait": pid}).get("status")
        except OSError:
            return None

    def stderr_tail(self, size: int = 2000) -> str:
        return _file_tail(self.stderr_path, size)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()  # the zygote leaves its loop and exits
            self.sock = None
        if self.proc is not None:
            # It holds nothing worth a clean exit, and tearing down an imported framework
            # takes a while (0.2 s for torch).
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.folder, ignore_errors=True)


class _ForkedProcess:
    """What `_Worker` needs of a Popen, for a worker forked by the zygote (not our child:
    the zygote reaps it and tells its exit status)."""

    def __init__(self, zygote: _Zygote, pid: int, stdin):
        self.zygote, self.pid, self.stdin = zygote, pid, stdin
        self.returncode = None
        self.ended = False

    def poll(self):
        return self.returncode if self.ended else None

    def kill(self) -> None:
        if not self.ended:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def wait(self):
        if not self.ended:
            self.returncode = self.zygote.wait(self.pid)
            self.ended = True
            try:
                self.stdin.close()
            except OSError:
                pass
        return self.returncode
