"""The run of one column: cases x one framework -> a results file.

Rule: which worker runs which case is fixed before the run (`shard`: the cases of one spec
file stay together), never decided by timing, and a record does not depend on it. Every
finished case is journalled as it arrives; the results file, in case order, is written
atomically at the end.
"""

from __future__ import annotations

import contextlib
import os
import platform
import threading
from datetime import UTC, datetime

from conformance import __version__
from conformance.adapters import components_of, load_adapter
from conformance.program.writer import Column
from conformance.results import FORMAT, Journal, atomic_write_json, safe_name
from conformance.run.case import run_case
from conformance.run.pool import Worker, close_workers, prestart, worker_count

DEFAULT_TIMEOUT_S = 120.0


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def column_label(framework: str, version: str | None, components: dict) -> str:
    """How a results file is named in a report: "tensorflow 2.21.0 · keras 3.15.1"."""
    parts = [f"{framework} {version or 'unavailable'}"] + [f"{k} {v}" for k, v in sorted(components.items())]
    return " · ".join(parts)



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



class Interrupted(Exception):
    """A run stopped by Ctrl-C, SIGTERM or SIGHUP: what it finished, and where that went."""

    def __init__(self, framework: str, finished: int, total: int, written: str | None, complete: str):
        self.framework, self.finished, self.total = framework, finished, total
        self.written, self.complete = written, complete
        super().__init__(self.text())

    def text(self) -> str:
        if self.written is None:
            return f"{self.framework}: interrupted before any case finished; nothing was written"
        return (f"{self.framework}: interrupted after {self.finished} of {self.total} cases; they are kept in "
                f"{self.written} (a partial results file, marked interrupted); {self.complete} is left as it was")


def run_framework(framework: str, cases, out_dir: str, spec_digest: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                  isolate: bool = True, echo=None, workers: int | None = None,
                  prestarted: list | None = None, partial_dir: str | None = None) -> tuple[str, dict]:
    """Run every case on `framework`, write the results file, return (path, results).

    `workers`: worker processes (default `worker_count`); `prestarted`: workers from `prestart`.
    An interrupted run never replaces a results file: what finished goes to `partial_dir`
    (default OUT/../partial/results) and `Interrupted` says where. Whatever ends the run, its
    workers, their zygote, their folders and its journal are gone afterwards."""
    started = now()
    os.makedirs(out_dir, exist_ok=True)
    # One journal per process: parallel runs into one folder (`tox p`, two Keras columns) never share it.
    journal_path = os.path.join(out_dir, f".{safe_name(framework)}.{os.getpid()}.partial.jsonl")
    pool: list[Worker] = list(prestarted or [])
    everyone = list(pool)  # closed at the end, with their zygote
    journal = None
    done: dict[int, dict] = {}
    stopped: BaseException | None = None
    info: dict = {}
    try:
        journal = Journal(journal_path)
        if isolate:
            count = worker_count(len(cases), workers)
            pool = pool[:count]
            if not pool:
                pool = prestart(framework, count)
                everyone = list(pool)
            while len(pool) < count:
                pool.append(Worker(framework, pool[0].zygote))
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
        column = Column(framework, info.get("version") or "unavailable", components, info.get("devices") or {})

        def finished(index: int, record: dict) -> None:
            journal.append(record)
            done[index] = record
            if echo:
                echo(record)

        if info.get("error"):
            pass  # the results file holds the import error once (`import_error`) and no case records
        elif len(pool) > 1:
            _run_shards(pool, shard(cases, len(pool)), cases, timeout_s, finished)
        else:
            for index, case in enumerate(cases):
                if pool:
                    record = pool[0].run(index, case, case.timeout_s or timeout_s)
                else:
                    record = run_case(adapter, case, column)
                finished(index, record)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP turned into it by the CLI
        stopped = exc
    except BaseException:
        _remove(journal_path)  # e.g. no space left for it: the error says so, nothing is left behind
        raise
    finally:
        broken = next((w.zygote.broken for w in everyone if w.zygote is not None and w.zygote.broken), None)
        close_workers(everyone)
        if journal is not None:
            with contextlib.suppress(OSError):
                journal.close(remove=False)
    components = info.get("components") or {}
    results = _environment(framework, info.get("version"), info.get("devices") or {}, spec_digest, started,
                           info.get("error"), components)
    if pool:
        results["workers"] = len(pool)
    if broken:
        results["broken"] = broken
    results["cases"] = [done[i] for i in sorted(done)]
    results["finished"] = now()
    path = results_path(out_dir, framework, info.get("version") or "unavailable", components)
    try:
        if stopped is not None:
            results["interrupted"] = True
            written = None
            if done:
                where = partial_dir or os.path.join(os.path.dirname(os.path.abspath(out_dir)), "partial", "results")
                # A partial run already writes there: its files are never complete ones.
                written = results_path(where, framework, info.get("version") or "unavailable", components)
                atomic_write_json(written, results)
            raise Interrupted(framework, len(done), len(cases), written, path) from stopped
        atomic_write_json(path, results)
    finally:
        _remove(journal_path)
    return path, results


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _run_shards(pool: list, shards: list[list[int]], cases, timeout_s: float, finished) -> None:
    """Each worker runs its shard in a thread of its own; `finished(index, record)` is called
    under a lock as records arrive. Ctrl-C (or an exception in a thread) stops every worker;
    records finished before the stop are kept, a record cut short by the stop is not, and no
    thread outlives the call."""
    lock = threading.Lock()
    stop = threading.Event()
    raised: list[BaseException] = []

    def drive(worker, indices):
        for index in indices:
            if stop.is_set():
                return
            case = cases[index]
            try:
                record = worker.run(index, case, case.timeout_s or timeout_s)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                if not stop.is_set():
                    raised.append(exc)
                    stop.set()
                return
            with lock:
                if stop.is_set():
                    return  # the worker was killed by the stop: this is not the case's record
                try:
                    finished(index, record)
                except BaseException as exc:  # noqa: BLE001 - e.g. the journal's disk is full
                    raised.append(exc)
                    stop.set()
                    return

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
        for thread in threads:
            thread.join(10)  # each is in a worker that was just killed: it returns at once
        raise
