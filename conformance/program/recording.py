"""How a program records what it observes, and how the kit reads it back.

Rule: a program prints one JSON line per observation, `{"observe": NAME, "value": VALUE}`,
through a few lines it defines itself (`RECORDING`, written into every program); the kit
only decodes those lines (`decode`). Arrays travel as their dtype, shape and raw bytes
(base64), so what the kit reads is bit for bit what the framework held. Everything else a
program prints is not an observation.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import numpy as np

# Written into every program after the framework's `host` function (which turns one
# framework value into plain Python/NumPy data). Names here are reserved in programs.
RECORDING = '''\
# -- recording: each observation is one JSON line on stdout --------------------------
QUIET = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)
STEP = None  # the step running now; -1 while the model is built
INIT_CALLS = []  # what a custom initializer records of its calls


def encode(value):
    """Plain JSON for a value: arrays as dtype, shape and base64 bytes; framework values
    through host()."""
    value = host(value)
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            return {"__array__": {"dtype": str(array.dtype), "shape": list(array.shape),
                                  "items": [str(item) for item in array.ravel()]}}
        return {"__array__": {"dtype": array.dtype.str, "shape": list(array.shape),
                              "base64": base64.b64encode(array.tobytes()).decode()}}
    if isinstance(value, dict):
        return {str(key): encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return {"__repr__": repr(value)}


def message_of(error):
    """An error's message, whole: every line that says something (MXNet puts a C++ traceback
    before and among its lines; Keras 3 puts what went wrong after a first line naming the
    call), at most 2000 characters."""
    skip = ("Traceback (most recent call last)", 'File "', "[bt]", "Stack trace")
    lines = [line.rstrip() for line in str(error).splitlines() if line.strip()]
    kept = [line for line in lines if not line.strip().startswith(skip)]
    return "\\n".join(kept or lines)[:2000]


def record(name, value):
    """Print one observation."""
    try:
        value = encode(value)
    except Exception as error:
        value = {"observer_error": type(error).__name__, "message": message_of(error)}
    print(json.dumps({"observe": name, "value": value}), flush=True)


def observe(name, get):
    """Record what get() returns; an exception raised while observing is recorded instead."""
    try:
        value = get()
    except Exception as error:
        value = {"observer_error": type(error).__name__, "message": message_of(error)}
        print(json.dumps({"observe": name, "value": value}), flush=True)
        return
    record(name, value)


def type_name(kind):
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def record_error(error):
    """A step raised: record its type (and the classes it is also an instance of), message and
    step; the program stops its steps."""
    bases = [type_name(c) for c in type(error).__mro__[1:] if c not in (Exception, BaseException, object)]
    record("error", {"step": STEP, "type": type_name(type(error)), "bases": bases, "message": message_of(error)})


WARNINGS = []


def on_warning(message, category, filename, lineno, file=None, line=None):
    if STEP is not None and not issubclass(category, QUIET):
        WARNINGS.append({"step": STEP, "category": category.__name__, "text": str(message)[:500]})


warnings.simplefilter("always")
warnings.showwarning = on_warning
'''

RECORDING_IMPORTS = ("import base64", "import json", "import warnings", "", "import numpy as np")


def decode_value(value):
    """The Python value of one encoded observation (arrays back as ndarrays)."""
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            spec = value["__array__"]
            if "base64" in spec:
                data = base64.b64decode(spec["base64"])
                return np.frombuffer(data, dtype=np.dtype(spec["dtype"])).reshape(spec["shape"]).copy()
            return np.array(spec["items"], dtype=object).reshape(spec["shape"])
        if set(value) == {"__repr__"}:
            return value["__repr__"]
        return {key: decode_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decode_value(item) for item in value]
    return value


@dataclass
class Printed:
    """What a program printed: its observations in order, and its other lines."""

    observations: list[tuple[str, object]] = field(default_factory=list)
    other: list[str] = field(default_factory=list)


def decode(text: str) -> Printed:
    """Split a program's output into observations (decoded) and other lines."""
    printed = Printed()
    for line in text.splitlines():
        if line.startswith('{"observe": '):
            try:
                item = json.loads(line)
                printed.observations.append((str(item["observe"]), decode_value(item["value"])))
                continue
            except (ValueError, KeyError, TypeError):
                pass
        if line.strip():
            printed.other.append(line)
    return printed
