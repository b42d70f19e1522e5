"""The worker process: runs the cases the runner names, one at a time, with one adapter.

Rule: it talks to the runner only through the protocol pipe (one JSON object per line:
ready | load_failed | program | result); the framework may print or crash as it likes, the
runner notices and starts a fresh worker.

Two ways to start one:
- `python -m conformance.worker --zygote FRAMEWORK SOCKET_FD` imports the framework once and
  then forks a worker for every request on the socket (a SOCK_SEQPACKET socket: a request
  is one JSON packet carrying the worker's three file descriptors as SCM_RIGHTS, the reply
  one packet). A column's workers, and every restart after a crash or a hang, start from
  the same just-imported state without importing the framework again. The zygote only
  imports: everything that may start the framework's runtime (its version, its devices,
  the first case) happens in the forked worker, so no runtime threads exist at a fork.
- `python -m conformance.worker FRAMEWORK CASES_FILE FD` imports the framework itself
  (CONFORMANCE_FORK=0, or where there is no fork). With CASES_FILE `-` it can be started
  before the cases exist: after `ready` it reads the cases file's path as the first line
  of its stdin.
Either way the worker then reads one case index per line of its stdin.
"""

from __future__ import annotations

import faulthandler
import gc
import json
import os
import signal
import socket
import sys
import traceback

from conformance.adapters import components_of, describe_adapter, import_adapter
from conformance.program.writer import Column
from conformance.run.case import run_case
from conformance.spec.case import Case


def serve(framework: str, adapter, problem: str | None, cases_file: str, out, lines) -> int:
    """Describe the adapter to the runner, then run the cases it names on `lines`."""

    def send(message: dict) -> None:
        out.write(json.dumps(message, allow_nan=False) + "\n")
        out.flush()

    version, devices = None, {}
    if not problem:
        version, devices, problem = describe_adapter(framework, adapter)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a framework may install its own handler
    if problem:
        send({"event": "load_failed", "error": problem})
        return 0
    components = components_of(adapter)
    column = Column(framework, version, components, devices)
    send({"event": "ready", "version": version, "devices": devices, "components": components})
    if cases_file == "-":
        cases_file = lines.readline().strip()
        if not cases_file:
            return 0  # the runner closed stdin without cases (e.g. the specs were unusable)
    with open(cases_file, encoding="utf-8") as handle:
        cases = [Case.from_json(item) for item in json.load(handle)]
    # A crash or a hang shows where the program was: the Python stack goes to stderr (the
    # runner sends SIGUSR1 before it kills a hanging worker).
    faulthandler.enable(file=sys.stderr)
    if hasattr(faulthandler, "register"):
        faulthandler.register(signal.SIGUSR1, file=sys.stderr)
    for line in lines:
        case = cases[int(line)]
        record = run_case(adapter, case, column, on_program=lambda text: send({"event": "program", "text": text}))
        send({"event": "result", "record": record})
    return 0


def _die_with_parent() -> None:
    """Be killed when the parent process ends, however it ends (Linux prctl PR_SET_PDEATHSIG):
    a runner killed outright leaves no zygote, and a dead zygote no worker, running."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent ended before the request took effect
        os._exit(1)


def _limit_memory() -> None:
    """Cap the address space of this process (and of every worker forked from it) at
    CONFORMANCE_WORKER_MEMORY_MB (default 8192; 0: no cap): a case that asks for too much
    memory gets a MemoryError (its step's error) instead of taking the machine down."""
    import resource

    text = os.environ.get("CONFORMANCE_WORKER_MEMORY_MB", "8192").strip()
    megabytes = int(text) if text.isdigit() else 8192
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _use_folder(folder: str | None) -> None:
    """Put this worker's temporary files (and each case's folder) in its own folder, which the
    runner removes whatever happens to the worker."""
    if folder:
        import tempfile

        os.environ["TMPDIR"] = folder
        tempfile.tempdir = folder


def _import(framework: str):
    # Ctrl-C reaches the whole process group; it is the runner's to handle (it stops every
    # worker and keeps what finished), so a worker never dies of it halfway through a case
    # and has it recorded as a crash. Set again after the import: a framework may install its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    adapter, problem = import_adapter(framework)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not problem:
        problem = _apply_mutant()
    return adapter, problem


def _apply_mutant() -> str | None:
    """CONFORMANCE_FRAMEWORK_MUTANT=<catalogue file>:<mutant>: plant one framework mutant (a
    monkeypatch of the framework just imported, before any program runs) in this process and
    every worker forked from it. The kit measures its own sensitivity this way
    (bench/framework_mutants.py); None, or why the mutant could not be planted."""
    wanted = os.environ.get("CONFORMANCE_FRAMEWORK_MUTANT", "").strip()
    if not wanted:
        return None
    import importlib.util

    path, _, name = wanted.rpartition(":")
    try:
        spec = importlib.util.spec_from_file_location("conformance_framework_mutants", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.MUTANTS[name].apply()
    except Exception as exc:  # noqa: BLE001 - reported as the column's load failure
        return f"framework mutant {wanted!r} could not be planted: {type(exc).__name__}: {exc}"
    return None


def zygote(framework: str, sock_fd: int) -> int:
    """Import `framework`, then fork a worker per request until the runner closes the socket."""
    sock = socket.socket(fileno=sock_fd)
    _die_with_parent()
    _limit_memory()
    adapter, problem = _import(framework)
    # Out of the collector's reach, the imported objects' pages stay shared with every worker
    # instead of being copied when a worker's collection walks them (a torch run: 4,600 fewer
    # page faults, its cases 0.1 s faster).
    gc.collect()
    gc.freeze()
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, 65536, 3)
        except OSError:
            break
        if not data:
            break  # the runner is gone or done
        request = json.loads(data)
        if "fork" in request:
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                code = 70
                try:
                    sock.close()
                    _die_with_parent()
                    _use_folder(request.get("folder"))
                    code = _forked(framework, adapter, problem, request["fork"], fds)
                except BaseException:  # noqa: BLE001 - said on this worker's stderr, then exit 70
                    traceback.print_exc()
                finally:
                    os._exit(code)  # never the zygote's exit path (its atexit, its socket)
            for fd in fds:
                os.close(fd)
            reply = {"pid": pid}
        elif "wait" in request:
            try:
                _, status = os.waitpid(int(request["wait"]), 0)
                reply = {"status": os.waitstatus_to_exitcode(status)}  # -N for signal N, as Popen
            except ChildProcessError:
                reply = {"status": None}
        else:
            reply = {"error": f"unknown request {sorted(request)}"}
        sock.send(json.dumps(reply).encode())
    os._exit(0)  # nothing to clean up; an imported framework's teardown only costs time


def _forked(framework: str, adapter, problem, cases_file: str, fds: list[int]) -> int:
    protocol_fd, stdin_fd, stderr_fd = fds
    os.dup2(stderr_fd, 2)  # the framework's own C-level output lands in this worker's file
    os.close(stderr_fd)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 1)
    os.dup2(devnull, 0)
    os.close(devnull)
    out = os.fdopen(protocol_fd, "w", buffering=1, encoding="utf-8")
    lines = os.fdopen(stdin_fd, "r", encoding="utf-8")
    code = serve(framework, adapter, problem, cases_file, out, lines)
    out.flush()
    sys.stderr.flush()
    return code


def main(argv: list[str]) -> int:
    if argv[0] == "--zygote":
        return zygote(argv[1], int(argv[2]))
    framework, cases_file, fd = argv[0], argv[1], int(argv[2])
    _die_with_parent()
    _limit_memory()
    _use_folder(os.environ.get("CONFORMANCE_WORKER_FOLDER"))
    out = os.fdopen(fd, "w", buffering=1, encoding="utf-8")
    adapter, problem = _import(framework)
    return serve(framework, adapter, problem, cases_file, out, sys.stdin)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
