"""Running one program and reading back what it recorded: program text in, an `Execution` out.

Rule: this module runs exactly the program's text (in this process, as `__main__`, in a
fresh folder) and reads only the observations it printed; it judges nothing. A recorded
step error gets its phase from the step's kind; an observation that a raised
step never let exist becomes `NeverProduced`; an observation that this machine cannot make
(data on a virtual device) makes the case a `skip` for the checks that need it.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from dataclasses import dataclass, field

from conformance.program.recording import Printed
from conformance.spec import evidence as ev
from conformance.spec.checks import EvidenceFailure, NeverProduced
from conformance.spec.vocabulary import CONSTRUCTION, STEPS, phase_of

PROGRAM_NAME = "cell.py"
# A recorded error of these types means the program itself is broken (a writer bug), not
# that the framework refused something.
PROGRAM_BUGS = ("NameError", "UnboundLocalError", "SyntaxError", "IndentationError")


@dataclass
class Execution:
    evidence: dict = field(default_factory=dict)  # evidence key -> observed value
    error: dict | None = None
    warnings: list[dict] = field(default_factory=list)
    interruption: tuple[str, str] | None = None  # (status, message) for unsupported/skip/error
    skipped_keys: set = field(default_factory=set)  # observations this machine cannot make
    column: object = None  # where it ran (conformance.program.writer.Column): errors are pinned by it


def run_program(text: str, workdir: str) -> str:
    """Execute a program's text in this process as `python cell.py` would in `workdir`, and
    return what it printed. An exception that escapes the program propagates."""
    path = os.path.join(workdir, PROGRAM_NAME)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    code = code_of(text)
    namespace = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__}
    out = io.StringIO()
    here, argv = os.getcwd(), sys.argv
    os.chdir(workdir)
    sys.argv = [path]
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(out):
            exec(code, namespace)  # noqa: S102 - the program the kit wrote, shown in the cell
    finally:
        os.chdir(here)
        sys.argv = argv
        namespace.clear()
    return out.getvalue()


def code_of(text: str):
    """The code object of a program's text, compiled as `python cell.py` compiles it (not with
    this module's __future__ flags). Like Python's own __pycache__, it is kept on disk under
    the hash of the text and the interpreter's magic number, so a program seen before (the
    same case on the same column, run again) is not compiled again: the same text gives the
    same code. CONFORMANCE_CODE_CACHE names the folder (empty: no cache)."""
    import hashlib
    import importlib.util
    import marshal

    folder = _code_cache()
    key = hashlib.sha256(importlib.util.MAGIC_NUMBER + text.encode("utf-8")).hexdigest()
    path = os.path.join(folder, key[:2], key) if folder else None
    if path:
        try:
            with open(path, "rb") as handle:
                return marshal.loads(handle.read())
        except (OSError, EOFError, ValueError, TypeError):
            pass
    code = compile(text, PROGRAM_NAME, "exec", dont_inherit=True)
    if path:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            temporary = f"{path}.{os.getpid()}.tmp"
            with open(temporary, "wb") as handle:
                handle.write(marshal.dumps(code))
            os.replace(temporary, path)
        except OSError:
            pass  # a cache that cannot be written is no cache
    return code


def _code_cache() -> str:
    if "CONFORMANCE_CODE_CACHE" in os.environ:
        return os.environ["CONFORMANCE_CODE_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "conformance", "code", sys.implementation.cache_tag or "python")


def _first_forward(case, step: int) -> bool:
    return not any(kind == "forward" for kind, _ in case.steps[:step])


def _error(recorded: dict, case) -> dict:
    step = recorded.get("step")
    step = -1 if step is None else int(step)
    if step < 0:
        phase, kind = CONSTRUCTION, "build"
    else:
        kind = case.steps[step][0] if step < len(case.steps) else "?"
        phase = phase_of(kind, _first_forward(case, step)) if kind in STEPS else "compute"
    bases = recorded.get("bases")
    return {"phase": phase, "step": step, "step_kind": kind, "type": str(recorded.get("type", "")),
            "bases": [str(b) for b in bases] if isinstance(bases, list) else [],
            "message": str(recorded.get("message", ""))}


def unproduced(case, execution: Execution, key: ev.Key) -> NeverProduced | None:
    """Why `key` cannot be observed because a step raised before making it, else None."""
    err = execution.error
    if err is None:
        return None
    raised = f"step {err['step']} ({err['step_kind']}) raised {err['type']}: {err['message']}"
    if err["step"] < 0 and key.needs_model():
        return NeverProduced("the model", f"its construction raised {err['type']}: {err['message']}")
    made = {STEPS[kind].made_value(args) for kind, args in case.steps[: max(err["step"], 0)]}
    for name in key.values():
        if name not in made:
            return NeverProduced(f"`{name}`", raised)
    return None


def read_execution(printed: Printed, case, expected, column, unobservable=()) -> Execution:
    """What a program recorded on `column`, as the checker's evidence.

    `unobservable` holds (regex, reason) pairs: an observer error matching one means this
    machine cannot make that observation (e.g. data on torch's `meta` device)."""
    import re

    from conformance.checker import needs
    from conformance.inputs import generate_value

    execution = Execution(column=column)
    observed: dict = {}
    for name, value in printed.observations:
        if name == "error" and isinstance(value, dict):
            execution.error = _error(value, case)
        elif name == "warnings" and isinstance(value, list):
            execution.warnings = [w for w in value if isinstance(w, dict)]
        else:
            try:
                observed[ev.parse(name)] = value
            except ValueError:
                continue
    if execution.error is not None and execution.error["type"].rsplit(".", 1)[-1] in PROGRAM_BUGS:
        err = execution.error
        execution.interruption = ("error", f"the program is broken at step {err['step']} ({err['step_kind']}): "
                                           f"{err['type']}: {err['message']}")
    wanted = {key for item in expected.expect for key in needs(item, case)}
    for key, value in observed.items():
        if isinstance(value, dict) and set(value) == {"observer_error", "message"}:
            missing = unproduced(case, execution, key)
            if missing is not None:
                execution.evidence[key] = missing
                continue
            execution.evidence[key] = EvidenceFailure(str(value["observer_error"]), str(value["message"]))
            text = f"{value['observer_error']}: {value['message']}"
            reason = next((why for pattern, why in unobservable if re.search(pattern, text)), None)
            if reason is not None and key in wanted:
                execution.skipped_keys.add(key)
                if execution.interruption is None:
                    execution.interruption = ("skip", f"observing {key}: {reason}")
            continue
        execution.evidence[key] = value
    for index, (kind, args) in enumerate(case.steps):
        for name in STEPS[kind].generated:
            if name in args:
                execution.evidence[ev.Input(index)] = generate_value(args[name])
    return execution
