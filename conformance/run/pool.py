"""Worker processes for one column: forked from a zygote that imported the framework once.

Rule: a worker talks to the runner only through its protocol pipe; a crash or a hang
costs a restart (a fork from the zygote, or a spawn with CONFORMANCE_FORK=0), never the
run. Whatever may start the framework's runtime happens in the workers, never in the zygote.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from conformance.run.case import record_without_verdict

STARTUP_TIMEOUT_S = 900.0
_KIT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def worker_count(n_cases: int | None = None, requested: int | None = None) -> int:
    """Worker processes for one column: `requested` (--workers), else $CONFORMANCE_WORKERS,
    else one per CPU up to 2 (measured on 2 cores only: each worker still pays the
    framework's runtime start and first-use costs); never more than `n_cases`, never fewer
    than one."""
    wanted = os.environ.get("CONFORMANCE_WORKERS", "").strip()
    count = requested or (int(wanted) if wanted.isdigit() and int(wanted) > 0 else min(2, os.cpu_count() or 1))
    return max(1, min(count, n_cases)) if n_cases else max(1, count)



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
        zygote = Zygote(framework)
        zygote.spawn()
        return [Worker(framework, zygote) for _ in range(count)]
    workers = [Worker(framework) for _ in range(count)]
    for worker in workers:
        worker.spawn()
    return workers


def close_workers(workers: list) -> None:
    """Stop `workers` (from `prestart` or a run) and the zygote they were forked from."""
    for worker in workers:
        worker.close()
    for zygote in {id(w.zygote): w.zygote for w in workers if w.zygote is not None}.values():
        zygote.close()



def where_in_program(program: str, stack: str) -> str:
    """Which step a crashed or hanging program was in, from the stack faulthandler printed:
    the last `cell.py` line it names, and the last `STEP = n` marker at or above it."""
    import re

    lines = [int(n) for n in re.findall(r'File "[^"]*cell\.py", line (\d+)', stack)]
    if not program or not lines:
        return "step unknown (no program stack)"
    text = program.split("\n")
    line = lines[0]  # faulthandler prints the innermost frame first, the module's frame last
    step = None
    for number in range(min(lines[-1], len(text)), 0, -1):
        found = re.match(r"\s*STEP = (-?\d+)  # (.*)", text[number - 1])
        if found:
            step = f"step {found.group(1)} ({found.group(2)})"
            break
    return f"in {step or 'the program'} at cell.py line {line}: {text[line - 1].strip() if line <= len(text) else ''}"


def _file_tail(path: str, size: int) -> str:
    """The last `size` bytes of a process's stderr file, as text ("" if there is none)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - size))
            return handle.read().decode("utf-8", "replace").strip()
    except OSError:
        return ""


class Worker:
    """A child process running cases for one framework, restarted after a crash or hang."""

    def __init__(self, framework: str, zygote: Zygote | None = None):
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
        self.closed = False

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
                self.read_fd, self.proc = self.zygote.fork(self.cases_file, self.stderr_path, self.folder)
                self.spawn_error = ""
            except OSError as exc:
                self.proc, self.read_fd = None, None
                self.spawn_error = f"{exc}; zygote: {self.zygote.stderr_tail()}"
            return
        read_fd, write_fd = os.pipe()
        stderr = open(self.stderr_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([_KIT_ROOT, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env["CONFORMANCE_WORKER_FOLDER"] = self.folder
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

    def column(self):
        from conformance.program.writer import Column

        return Column(self.framework, self.info.get("version") or "unavailable", self.info.get("components") or {},
                      self.info.get("devices") or {})

    def run(self, index: int, case, timeout_s: float) -> dict:
        if self.closed:
            raise RuntimeError("the worker is closed (the run was stopped)")
        if self.proc is None or self.proc.poll() is not None:
            self.start()
            if self.info.get("error"):
                return record_without_verdict(case, self.column(), "error",
                                              f"worker restart failed: {self.info['error']}")
        started = time.perf_counter()
        program = ""
        self._tell(f"{index}\n")
        deadline = time.monotonic() + timeout_s
        while True:
            message = self._next(max(0.0, deadline - time.monotonic()))
            if message == "timeout":
                self._dump_stack()
                self.stop()
                status, what = "timeout", f"no result within {timeout_s:g} s"
                break
            if message is None:
                code = self.proc.wait()
                self.proc = None
                status, what = "crash", f"worker process died (exit status {code})"
                break
            if message["event"] == "program":
                program = message["text"]
            elif message["event"] == "result":
                return message["record"]
        tail = self._stderr_tail(4000)
        where = where_in_program(program, tail)
        observations = {"stderr_tail": tail[-2000:]}
        message_text = f"{what}; {where}" + (f"; stderr: {tail.splitlines()[-1]}" if tail else "")
        return record_without_verdict(case, self.column(), status, message_text, observations,
                                      time.perf_counter() - started, program)

    def _dump_stack(self) -> None:
        """Ask a hanging worker for its Python stack (faulthandler, on stderr) before it is killed."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGUSR1)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.3)

    def close(self) -> None:
        self.closed = True
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


class Zygote:
    """The process that imports a column's framework once; its workers are forked from it
    (`conformance.worker --zygote`), and so is each restart after a crash or a hang."""

    def __init__(self, framework: str):
        self.framework = framework
        self.folder = tempfile.mkdtemp(prefix="conformance-zygote-")
        self.stderr_path = os.path.join(self.folder, "stderr.txt")
        self.proc = None
        self.sock = None
        self.lock = threading.Lock()  # one request at a time: sharded workers restart side by side
        self.revived = 0
        self.broken: str | None = None  # why the column cannot go on (the zygote died twice)
        self.closed = False

    def spawn(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        stderr = open(self.stderr_path, "ab")  # noqa: SIM115 - handed to the child, closed below
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([_KIT_ROOT, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
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

    def fork(self, cases_file: str | None, stderr_path: str, folder: str | None = None):
        """(read end of the new worker's protocol pipe, its process handle). A dead zygote is
        started again once; when it dies a second time the column is broken."""
        try:
            return self._fork(cases_file, stderr_path, folder)
        except OSError as exc:
            if not self._revive(exc):
                raise
        return self._fork(cases_file, stderr_path, folder)

    def _revive(self, exc: OSError) -> bool:
        """Start a dead zygote again, once per column; False when it may not be (closed,
        alive, or already revived: then the column is broken)."""
        with self.lock:
            if self.closed or (self.proc is not None and self.proc.poll() is None):
                return False
            if self.revived >= 1:
                self.broken = self.broken or f"the zygote died twice ({exc}); stderr: {self.stderr_tail()[-300:]}"
                return False
            self.revived += 1
            if self.sock is not None:
                self.sock.close()
                self.sock = None
            self.spawn()
            return True

    def _fork(self, cases_file: str | None, stderr_path: str, folder: str | None):
        if self.broken:
            raise OSError(f"column broken: {self.broken}")
        if not cases_file:
            raise OSError("a forked worker needs the cases file")
        read_fd, write_fd = os.pipe()
        stdin_read, stdin_write = os.pipe()
        stderr_fd = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            reply = self._ask({"fork": cases_file, "folder": folder}, (write_fd, stdin_read, stderr_fd))
        except BaseException:
            os.close(read_fd)
            os.close(stdin_write)
            raise
        finally:
            for fd in (write_fd, stdin_read, stderr_fd):
                os.close(fd)
        return read_fd, ForkedProcess(self, int(reply["pid"]), os.fdopen(stdin_write, "wb"))

    def wait(self, pid: int):
        """The exit status of a forked worker that has ended (or was killed); None if unknown."""
        try:
            return self._ask({"wait": pid}).get("status")
        except OSError:
            return None

    def stderr_tail(self, size: int = 2000) -> str:
        return _file_tail(self.stderr_path, size)

    def close(self) -> None:
        self.closed = True
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


class ForkedProcess:
    """What `Worker` needs of a Popen, for a worker forked by the zygote (not our child:
    the zygote reaps it and tells its exit status)."""

    def __init__(self, zygote: Zygote, pid: int, stdin):
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
