"""The worker process: loads one adapter, then runs the cases the runner names, one at a time.

Rule: it talks to the runner only through the protocol pipe (one JSON object per line:
ready | load_failed | step | result); the framework may print or crash as it likes, the
runner notices and restarts a fresh worker.

Usage: `python -m conformance.worker FRAMEWORK CASES_FILE FD`. The framework is imported
first, then the cases are read. With CASES_FILE `-` the worker can be started before the
cases exist (the runner parses the specs meanwhile): after `ready` it reads the cases
file's path as the first line of its stdin; then, as always, one case index per line.
"""

from __future__ import annotations

import json
import os
import signal
import sys

from conformance.loader import Case
from conformance.runner import components_of, load_adapter, run_case


def main(argv: list[str]) -> int:
    framework, cases_file, fd = argv[0], argv[1], int(argv[2])
    out = os.fdopen(fd, "w", buffering=1, encoding="utf-8")

    def send(message: dict) -> None:
        out.write(json.dumps(message, allow_nan=False) + "\n")
        out.flush()

    # Ctrl-C reaches the whole process group; it is the runner's to handle (it stops every
    # worker and keeps what finished), so a worker never dies of it halfway through a case
    # and has it recorded as a crash. Set again after the import: a framework may install its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    adapter, version, devices, problem = load_adapter(framework)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if problem:
        send({"event": "load_failed", "error": problem})
        return 0
    components = components_of(adapter)
    send({"event": "ready", "version": version, "devices": devices, "components": components})
    if cases_file == "-":
        cases_file = sys.stdin.readline().strip()
        if not cases_file:
            return 0  # the runner closed stdin without cases (e.g. the specs were unusable)
    with open(cases_file, encoding="utf-8") as handle:
        cases = [Case.from_json(item) for item in json.load(handle)]
    for line in sys.stdin:
        index = int(line)
        case = cases[index]

        def progress(step, kind, case_id=case.id):
            send({"event": "step", "case": case_id, "step": step, "kind": kind})

        record = run_case(adapter, case, version, progress=progress, components=components)
        send({"event": "result", "record": record})
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
