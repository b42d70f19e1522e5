"""Execution of one case on one adapter session: steps in order, then the evidence its checks need.

Rule: this module runs and records; it judges nothing. A framework error raised by a step
stops the steps and becomes the `error` observation; `Unsupported`/`Skip` and adapter bugs
interrupt the case with their reason; everything else observed goes into `evidence`.
"""

from __future__ import annotations

import copy
import os
import traceback
import warnings
from dataclasses import dataclass, field

from conformance.adapters.base import STEP_METHODS, AdapterBug, Skip, Unsupported
from conformance.inputs import generate, generate_value

# Spec keys renamed when passed to adapter methods (`as` is a Python keyword).
_RENAMES = {"as": "name"}
_QUIET_CATEGORIES = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)
# Exception types that, raised from the kit's own code, mean a bug in the kit or adapter.
_BUG_TYPES = (
    NameError, KeyError, AttributeError, AssertionError, ImportError, NotImplementedError,
    RecursionError, IndexError,
)
_KIT_DIR = os.path.dirname(os.path.abspath(__file__))
_REFERENCE_DIR = os.path.join(_KIT_DIR, "reference")


class EvidenceFailure:
    """An observer raised: kept as evidence so the check can say what went wrong."""

    def __init__(self, exc: BaseException):
        self.type = type(exc).__name__
        self.message = _first_line(exc)

    def __repr__(self) -> str:
        return f"<{self.type}: {self.message}>"

    def to_json(self) -> dict:
        return {"observer_error": self.type, "message": self.message}


class NeverProduced(EvidenceFailure):
    """A value (or the model) that an expectation reads was never made: the step that
    makes it did not run because an earlier step raised."""

    def __init__(self, what: str, why: str):
        self.type = "NeverProduced"
        self.message = f"{what} was never produced: {why}"

    def __str__(self) -> str:
        return self.message


# The steps that make a named value, and the argument holding its name (default in brackets).
_PRODUCERS = {"tensor": ("name", None), "forward": ("as", "out"), "compute": ("out", None),
              "load_tensors": ("as", None), "copy_to": ("as", None), "to_numpy": ("as", None)}
_MODEL_KEYS = ("param_", "all_params", "param_paths", "same_storage:param", "device:param", "native_")


def unproduced(case, execution: "Execution", key: str) -> NeverProduced | None:
    """Why `key` cannot be observed because a step raised before making it, else None."""
    err = execution.error
    if err is None:
        return None
    done = case.steps[: max(err["step"], 0)]
    raised = f"step {err['step']} ({err['step_kind']}) raised {err['type']}: {err['message']}"
    if err["step"] < 0 and key.startswith(_MODEL_KEYS):
        return NeverProduced("the model", f"its construction raised {err['type']}: {err['message']}")
    kind, _, rest = key.partition(":")
    if kind not in ("value", "value_grad") and not (kind in ("same_storage", "device") and rest.startswith("value")):
        return None
    names = [rest] if kind in ("value", "value_grad") else rest.partition(":")[2].split("|")
    made = {args.get(arg, default) for step, args in done for s, (arg, default) in _PRODUCERS.items() if step == s}
    for name in names:
        if name not in made:
            return NeverProduced(f"`{name}`", raised)
    return None


@dataclass
class Execution:
    evidence: dict = field(default_factory=dict)
    error: dict | None = None
    warnings: list[dict] = field(default_factory=list)
    interruption: tuple[str, str] | None = None  # (status, message) for unsupported/skip/error
    last_step: int = -1
    skipped_keys: set = field(default_factory=set)  # observations this machine cannot make


def _first_line(exc: BaseException) -> str:
    """The first line of the message that says something: MXNet prefixes its messages
    with a C++ traceback ("Traceback ...", 'File "..."', "[bt] (0) ..."), skipped here."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("Traceback (most recent call last)", 'File "', "[bt]")):
            continue
        return line[:500]
    return lines[0][:500] if lines else ""


def phase_of(kind: str, args: dict, first_forward: bool) -> str:
    return {
        "initialize": "initialize", "forward": "first_forward" if first_forward else "forward",
        "backward": "backward", "zero_grad": "backward", "write_param": "access",
        "read_param": "access", "snapshot": "access", "sgd_step": "update", "update": "update",
        "save_tensors": "save", "save_params": "save", "load_tensors": "load", "load_params": "load",
        "to_device": "device_move", "copy_to": "device_move", "probe": "probe",
    }.get(kind, "compute")


def is_adapter_bug(exc: BaseException) -> bool:
    """True when the exception comes from kit/adapter code rather than the framework."""
    if isinstance(exc, AdapterBug):
        return True
    if not isinstance(exc, _BUG_TYPES):
        return False
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    # Adapter modules that hold the notes' user-level model code set this flag: an error
    # raised there is what user code sees from the framework, not a kit bug.
    if tb.tb_frame.f_globals.get("__conformance_user_code__"):
        return False
    deepest = os.path.abspath(tb.tb_frame.f_code.co_filename)
    return deepest.startswith(_KIT_DIR) and not deepest.startswith(_REFERENCE_DIR)


def _call_args(kind: str, args: dict, execution: Execution, index: int) -> dict:
    """Spec arguments -> adapter keyword arguments, with inputs generated."""
    call = {}
    for key, value in args.items():
        call[_RENAMES.get(key, key)] = value
    if kind == "forward":
        call["input"] = generate(args["input"])
        execution.evidence[f"input:{index}"] = call["input"]
    elif kind == "tensor":
        call["value"] = generate(args["value"])
        execution.evidence[f"input:{index}"] = call["value"]
    elif kind == "backward" and "head" in args:
        call["head"] = generate(args["head"])
        execution.evidence[f"input:{index}"] = call["head"]
    elif kind == "save_tensors":
        call["value"] = generate_value(args["value"])
        execution.evidence[f"input:{index}"] = call["value"]
    if kind == "probe":
        call = {"name": args["name"], **(args.get("args") or {})}
    return call


def _capture(session, method, call: dict, index: int, execution: Execution):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = method(**call)
    for item in caught:
        if issubclass(item.category, _QUIET_CATEGORIES):
            continue
        execution.warnings.append(
            {"step": index, "category": item.category.__name__, "text": str(item.message)[:500]}
        )
    return result


def _interrupt(execution: Execution, exc: BaseException, where: str) -> bool:
    """Record Unsupported/Skip/adapter bugs; return True when the case must stop."""
    if isinstance(exc, Unsupported):
        execution.interruption = ("unsupported", f"{where}: {_first_line(exc)}")
    elif isinstance(exc, Skip):
        execution.interruption = ("skip", f"{where}: {_first_line(exc)}")
    elif is_adapter_bug(exc):
        tb = traceback.extract_tb(exc.__traceback__)[-1]
        execution.interruption = (
            "error",
            (f"{where}: adapter bug {type(exc).__name__}: {_first_line(exc)} "
             f"(at {os.path.basename(tb.filename)}:{tb.lineno})"),
        )
    else:
        return False
    return True


def run_steps(session, case, execution: Execution, steps=None, before_forward=None, progress=None) -> None:
    """Build the model and run the steps; stop at the first error or interruption."""
    steps = case.steps if steps is None else steps
    if case.model is not None:
        session.current_step = -1
        if progress:
            progress(-1, "build")
        try:
            _capture(session, session.build, {"model": copy.deepcopy(case.model)}, -1, execution)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            if not _interrupt(execution, exc, "construction"):
                execution.error = _error_record(session, exc, "construction", -1, "build")
            return
    first_forward = True
    for index, (kind, args) in enumerate(steps):
        session.current_step = index
        execution.last_step = index
        if progress:
            progress(index, kind)
        phase = phase_of(kind, args, first_forward)
        try:
            if kind == "forward" and first_forward and before_forward:
                before_forward()
            if kind == "snapshot":
                execution.evidence[f"snapshot:{args['as']}"] = _all_params(session)
            else:
                method = getattr(session, STEP_METHODS[kind])
                result = _capture(session, method, _call_args(kind, args, execution, index), index, execution)
                if kind == "probe":
                    execution.evidence[f"probe:{args.get('as', args['name'])}"] = result
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            if not _interrupt(execution, exc, f"step {index} ({kind})"):
                execution.error = _error_record(session, exc, phase, index, kind)
            return
        if kind == "forward":
            first_forward = False


def _error_record(session, exc, phase, index, kind) -> dict:
    try:
        canonical = session.classify_error(exc, phase)
    except Exception:  # noqa: BLE001 - a broken classifier must not hide the error itself
        canonical = "other"
    return {
        "phase": phase, "step": index, "step_kind": kind, "kind": canonical,
        "type": f"{type(exc).__module__}.{type(exc).__name__}".removeprefix("builtins."),
        "message": _first_line(exc),
    }


def _all_params(session) -> dict:
    return {path: session.param_value(path) for path in session.param_paths()}


def observe(session, key: str):
    """Evaluate one evidence key against the session."""
    kind, _, rest = key.partition(":")
    if kind == "param_paths":
        return list(session.param_paths())
    if kind == "native_names":
        return dict(session.native_names())
    if kind == "native_layouts":
        return dict(session.native_layouts())
    if kind == "param_shape":
        shape = session.param_shape(rest)
        return None if shape is None else [int(d) for d in shape]
    if kind == "param_value":
        return session.param_value(rest)
    if kind == "param_grad":
        return session.param_grad(rest)
    if kind == "all_params":
        return _all_params(session)
    if kind == "value":
        return session.value(rest)
    if kind == "value_grad":
        return session.value_grad(rest)
    if kind == "same_storage":
        what, _, pair = rest.partition(":")
        a, _, b = pair.partition("|")
        return bool(session.same_storage(what, a, b))
    if kind == "device":
        what, _, name = rest.partition(":")
        return session.device_of(what, name)
    if kind == "init_calls":
        return list(session.init_calls)
    raise AdapterBug(f"unknown evidence key {key!r}")


def gather(session, keys: list[str], execution: Execution, case=None, optional: set | None = None) -> None:
    """Observe every key not yet in the evidence; observer failures become evidence.

    Keys that a raised step never let exist become `NeverProduced`. `optional` keys are
    needed only by outcomes other than the expected one: their Unsupported/Skip and
    adapter failures are recorded as evidence (and in `observer_failures`) without
    interrupting the case."""
    optional = optional or set()
    for key in keys:
        if key in execution.evidence:
            continue
        missing = unproduced(case, execution, key) if case is not None else None
        if missing is not None:
            execution.evidence[key] = missing
            continue
        try:
            execution.evidence[key] = observe(session, key)
        except (Unsupported, Skip) as exc:
            execution.evidence[key] = EvidenceFailure(exc)
            if key in optional:
                continue
            if isinstance(exc, Skip):
                execution.skipped_keys.add(key)
            if execution.interruption is None:
                _interrupt(execution, exc, f"observing {key}")
        except Exception as exc:  # noqa: BLE001 - recorded, judged by the checker
            execution.evidence[key] = EvidenceFailure(exc)
            if is_adapter_bug(exc):
                if key in optional:
                    execution.evidence.setdefault("observer_failures", {})[key] = f"{type(exc).__name__}: {_first_line(exc)}"
                elif execution.interruption is None:
                    _interrupt(execution, exc, f"observing {key}")


def untie(model: dict) -> dict:
    """The same model with every `reuse` replaced by an independent copy of its layer."""
    marked: dict[str, dict] = {}

    def walk(node):
        node = dict(node)
        if "reuse" in node:
            return walk({k: v for k, v in marked[node["reuse"]].items() if k != "as"})
        for kind in ("sequential", "my_sequential"):
            if kind in node:
                node[kind] = [walk(child) for child in node[kind]]
        if "as" in node:
            marked[node["as"]] = node
            node = {k: v for k, v in node.items() if k != "as"}
        return node

    return walk(copy.deepcopy(model))
