"""The worker process: loads one adapter, then runs the cases the runner names, one at a time.

Rule: it talks to the runner only through the protocol pipe (one JSON object per line:
ready | load_failed | step | result); the framework may print or crash as it likes, the
runner notices and restarts a fresh worker.
"""

from __future__ import annotations

import json
import os
import sys

from conformance.loader import Case
from conformance.runner import components_of, load_adapter, run_case


def main(argv: list[str]) -> int:
    framework, cases_file, fd = argv[0], argv[1], int(argv[2])
    out = os.fdopen(fd, "w", buffering=1, encoding="utf-8")

    def send(message: dict) -> None:
        out.write(json.dumps(message, allow_nan=False) + "\n")
        out.flush()

    with open(cases_file, encoding="utf-8") as handle:
        cases = [Case.from_json(item) for item in json.load(handle)]
    adapter, version, devices, problem = load_adapter(framework)
    if problem:
        send({"event": "load_failed", "error": problem})
        return 0
    components = components_of(adapter)
    send({"event": "ready", "version": version, "devices": devices, "components": components})
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
