"""The runner: cases x one framework -> case records -> a results file.

Rule: one case never takes the run down. `run_inprocess` executes cases in this process
(tests, the pytest plugin); `run_framework` executes them in a worker process that is
restarted after a crash or a hang, so a segfault becomes `crash`, a hang `timeout`, and
the run goes on. Every finished case is journalled before the next starts; the results
file is written atomically at the end.
"""

from __future__ import annotations

import json
import os
import platform
import select
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

from conformance import __version__
from conformance.checker import judge, known_entry, needs, use_paths
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
                 version: str, snippet: str = "", checks: list | None = None) -> dict:
    _, entry = case.expectations_for(framework)
    known = known_entry(case, framework, version) if version else None
    return {
        "id": case.id, "file": case.file, "topic": case.topic, "title": case.title,
        "behaviours": case.behaviours, "status": status, "message": message,
        "observations": observations, "duration_s": round(duration, 4), "source": case.source,
        "known_reason": known["reason"] if known else None,
        "doc": entry["doc"] if entry else None,
        "note_says": (entry or {}).get("note_says") or (known or {}).get("note_says"),
        "checks": checks or [], "snippet": snippet,
    }


def execute_case(adapter, case, workdir: str, progress=None) -> tuple[Execution, object]:
    """Run one case's steps and gather the evidence its expectations need."""
    framework = adapter.framework_name
    expectations, _ = case.expectations_for(framework)
    execution = Execution()
    try:
        session = adapter.new_session(workdir)
        session.prepare(case)
    except Exception as exc:  # noqa: BLE001
        execution.interruption = ("error", f"adapter could not start a session: {type(exc).__name__}: {exc}")
        return execution, None
    untied_uses = [e["grad_equals_untied_sum"] for e in expectations if "grad_equals_untied_sum" in e]
    untied = _UntiedRun(adapter, case, workdir) if untied_uses and case.model else None
    before_forward = untied.capture_from(session) if untied else None
    run_steps(session, case, execution, before_forward=before_forward, progress=progress)
    if getattr(session, "notes", None):
        execution.evidence["adapter_notes"] = dict(session.notes)
    if execution.interruption is None:
        keys = list(ALWAYS_OBSERVED)
        pinned = [e for k in case.known if k["framework"] == framework for e in k.get("expect", [])]
        for expectation in expectations + pinned:
            keys += needs(expectation, case)
        gather(session, keys, execution)
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


def run_case(adapter, case, version: str, progress=None) -> dict:
    """Execute and judge one case in this process; returns its results record."""
    started = time.perf_counter()
    workdir = tempfile.mkdtemp(prefix="conformance-")
    try:
        try:
            execution, _ = execute_case(adapter, case, workdir, progress=progress)
            status, message, checks = judge(case, adapter.framework_name, version, execution)
            observations = observations_of(execution)
        except Exception as exc:  # noqa: BLE001 - the kit itself broke on this case
            kind = "adapter bug" if is_adapter_bug(exc) else "kit error"
            status, message, checks, observations = "error", f"{kind}: {type(exc).__name__}: {exc}", [], {}
        try:
            snippet = adapter.snippet(case) or ""
        except Exception as exc:  # noqa: BLE001
            snippet = f"# no snippet: {type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    # The private temporary folder differs per run; naming it would make runs differ.
    message, observations, checks = _scrub((message, observations, checks), workdir)
    return _case_record(case, status, message, observations, time.perf_counter() - started,
                        adapter.framework_name, version, snippet, checks)


def _scrub(obj, workdir: str):
    if isinstance(obj, str):
        return obj.replace(os.path.realpath(workdir), "$WORKDIR").replace(workdir, "$WORKDIR")
    if isinstance(obj, dict):
        return {k: _scrub(v, workdir) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_scrub(v, workdir) for v in obj)
    return obj


def load_adapter(framework: str):
    """(adapter, version, devices, None) or (None, None, {}, error message)."""
    from conformance.adapters import get_adapter

    try:
        adapter = get_adapter(framework)
        adapter.load()
        return adapter, str(adapter.version()), dict(adapter.devices()), None
    except KeyError:
        return None, None, {}, f"unknown framework '{framework}'"
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        return None, None, {}, f"{framework} failed to load: {type(exc).__name__}: {str(exc).strip()[:500]}"


def error_records(cases, framework: str, message: str) -> list[dict]:
    return [_case_record(c, "error", message, {}, 0.0, framework, "") for c in cases]


def run_inprocess(adapter, cases) -> list[dict]:
    """Run cases with an already-loaded adapter in this process (tests, mutants, plugin)."""
    version = str(adapter.version())
    return [run_case(adapter, case, version) for case in cases]


def _environment(framework, version, devices, spec_digest, started, import_error) -> dict:
    return {
        "format": FORMAT, "kit_version": __version__, "framework": framework,
        "framework_version": version or "unavailable", "python": platform.python_version(),
        "platform": platform.platform(), "devices": devices, "spec_digest": spec_digest,
        "started": started, "finished": None, "import_error": import_error,
    }


def results_path(out_dir: str, framework: str, version: str) -> str:
    return os.path.join(out_dir, f"{safe_name(framework)}-{safe_name(version or 'unavailable')}.json")


def run_framework(framework: str, cases, out_dir: str, spec_digest: str, timeout_s: float = DEFAULT_TIMEOUT_S,
                  isolate: bool = True, echo=None) -> tuple[str, dict]:
    """Run every case on `framework`, write the results file, return (path, results)."""
    started = now()
    journal_path = os.path.join(out_dir, f".{safe_name(framework)}.partial.jsonl")
    if isolate:
        worker = _Worker(framework, cases)
        info = worker.start()
    else:
        adapter, version, devices, problem = load_adapter(framework)
        info = {"version": version, "devices": devices, "error": problem}
        worker = None
    results = _environment(framework, info.get("version"), info.get("devices") or {}, spec_digest, started,
                           info.get("error"))
    journal = Journal(journal_path)
    records: list[dict] = []
    interrupted = False
    try:
        if info.get("error"):
            records = error_records(cases, framework, info["error"])
            for record in records:
                journal.append(record)
        else:
            for index, case in enumerate(cases):
                if worker:
                    record = worker.run(index, case, case.timeout_s or timeout_s, info["version"])
                else:
                    record = run_case(adapter, case, info["version"])
                journal.append(record)
                records.append(record)
                if echo:
                    echo(record)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if worker:
            worker.close()
        journal.close(remove=False)
    results["cases"] = records if records else read_journal(journal_path)
    results["finished"] = now()
    if interrupted:
        results["interrupted"] = True
    path = results_path(out_dir, framework, info.get("version") or "unavailable")
    atomic_write_json(path, results)
    os.unlink(journal_path)
    if interrupted:
        raise KeyboardInterrupt
    return path, results


class _Worker:
    """A child process running cases for one framework, restarted after a crash or hang."""

    def __init__(self, framework: str, cases):
        self.framework = framework
        self.cases = cases
        self.folder = tempfile.mkdtemp(prefix="conformance-worker-")
        self.cases_file = os.path.join(self.folder, "cases.json")
        with open(self.cases_file, "w", encoding="utf-8") as handle:
            json.dump([c.to_json() for c in cases], handle)
        self.proc = None
        self.read_fd = None
        self.buffer = b""
        self.info: dict = {}
        self.stderr_path = os.path.join(self.folder, "stderr.txt")

    def start(self) -> dict:
        read_fd, write_fd = os.pipe()
        stderr = open(self.stderr_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                              env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "conformance.worker", self.framework, self.cases_file, str(write_fd)],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr, pass_fds=(write_fd,), env=env,
        )
        stderr.close()
        os.close(write_fd)
        self.read_fd = read_fd
        self.buffer = b""
        message = self._next(STARTUP_TIMEOUT_S)
        if message is None or message.get("event") not in ("ready", "load_failed"):
            tail = self._stderr_tail()
            self.info = {"error": f"{self.framework} worker did not start: {tail}"}
        elif message["event"] == "load_failed":
            self.info = {"error": message["error"]}
        else:
            self.info = {"version": message["version"], "devices": message["devices"]}
        return self.info

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
        try:
            with open(self.stderr_path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - size))
                return handle.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def run(self, index: int, case, timeout_s: float, version: str) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
            if self.info.get("error"):
                return _case_record(case, "error", f"worker restart failed: {self.info['error']}", {}, 0.0,
                                    self.framework, version)
        started = time.perf_counter()
        last = {"step": None, "kind": "before build"}
        try:
            self.proc.stdin.write(f"{index}\n".encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass
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
                            self.framework, version)

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
