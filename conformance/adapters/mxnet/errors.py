"""MXNet 1.x exceptions -> the kit's canonical error kinds.

Rule: classification reads only the exception's type name and message (plus the phase and
what the session knows about the value being differentiated); it never imports MXNet.
MXNetError messages begin with a C++ traceback; the line that matters starts with
"MXNetError:" or "Check failed".
"""

from __future__ import annotations

# (canonical kind, phrases any of which identifies it), tried in order.
_MESSAGE_KINDS = (
    (
        "device_mismatch",
        (
            "was not initialized on context",
            "on the same context",
            "context mismatch",
            "device mismatch",
        ),
    ),
    (
        "not_initialized",
        (
            "initialization was deferred",
            "has not been initialized",
            "not initialized",
            "Cannot get gradient array",
        ),
    ),
    (
        "inplace_in_recording",
        ("Assigning to NDArrays that are already in a computational graph", "inplace operations"),
    ),
    (
        "shape_mismatch",
        (
            "Shape inconsistent",
            "shape cannot be inferred",
            "shape inconsistent",
            "Incompatible input shape",
            "shape mismatch",
        ),
    ),
    ("bad_filename", ("No such file", "Is a directory", "Permission denied")),
)
_LOAD_SHAPE_PHRASES = ("shape incompatible", "Shape mismatch")
_LOAD_PHRASES = (
    "is missing in file",
    "is not present in ParameterDict",
    "Failed loading Parameter",
    "Cannot initialize",
    "which contains parameters",
)
_NOT_IN_GRAPH = "Cannot differentiate node because it is not in a computational graph"


def meaningful_line(exc: BaseException) -> str:
    """The line of an MXNetError message that says what failed (skips the C++ traceback and,
    in MXNet 1.5, the "[17:05:27] src/imperative/imperative.cc:295: " log prefix)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("MXNetError:", "Check failed")):
            return line
        if "Check failed" in line:
            return line[line.index("Check failed"):]
    return lines[0] if lines else ""


def classify(exc: BaseException, phase: str, repeated_backward: bool = False) -> str:
    """Canonical kind of an exception raised in `phase`."""
    name = type(exc).__name__
    message = str(exc)
    if name == "AttributeError" and (
        "'_children'" in message
        or "'_reg_params'" in message
        or "'_scope'" in message
        or "'_prefix'" in message
    ):
        return "missing_super_init"  # Block.__setattr__ before Block.__init__ ran
    if name == "DeferredInitializationError":
        return "not_initialized"
    if phase == "load" and any(phrase in message for phrase in _LOAD_SHAPE_PHRASES):
        return "shape_mismatch"  # found by name, saved with another shape
    if phase == "load" and any(phrase in message for phrase in _LOAD_PHRASES):
        return "load_mismatch"
    if _NOT_IN_GRAPH in message:
        # MXNet says the same for a freed graph and for a value never recorded.
        return "graph_freed" if repeated_backward else "no_gradient"
    for kind, phrases in _MESSAGE_KINDS:
        if any(phrase in message for phrase in phrases):
            return kind
    if phase == "load" and name == "AssertionError":
        return "load_mismatch"
    return "other"
