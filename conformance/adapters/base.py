"""The adapter interface: adapters execute steps and observe; they never decide outcomes.

One `Adapter` subclass per framework (einops-style): it names itself with
`framework_name`, imports its framework inside `load()`, and overrides only what its
framework does. A method left alone raises `Unsupported` naming itself, so a missing
feature fails loudly. All judging lives in `conformance.checker`.

Per case the runner calls `adapter.new_session(workdir)`, which returns a fresh
`Session`. The runner then calls, in order:

    session.prepare(case)           # look-ahead hook (e.g. TF tape persistence)
    session.build(model_spec)       # when the case has a model; phase "construction"
    session.<step>(**args)          # one call per step, see STEP_METHODS
    session.<observer>(...)         # the observations its expectations need

Conventions every adapter follows (the spec language in README.md is normative):

- Canonical parameter paths join child names with dots: Sequential children are
  their index ("0", "1.0"), named blocks use their attribute names ("hidden",
  "net.0"); a parameter adds ".weight" / ".bias" (or the name a custom layer gives it).
  A layer reused in two places answers under both paths; `param_paths()` lists each
  parameter once, under its first path.
- Canonical Dense weight layout is (out, in). Custom layers keep the layout they
  declare (`my_dense` weight is (in_units, units)).
- Values cross the interface as NumPy arrays (host copies).
- A framework error raised by a step propagates unchanged: the runner records its
  phase, type and message and asks `classify_error` for the canonical kind.
- `Unsupported(reason)`: the framework has no such concept (say the idiom instead).
  `Skip(reason)`: this machine cannot exercise it (e.g. no second device).
  Any other exception coming from adapter code itself is a kit bug (status error):
  raise `AdapterBug` when the adapter detects one. A module holding the notes'
  user-level model code sets `__conformance_user_code__ = True`, so that an error raised
  in it (e.g. reading a Keras weight before build) counts as the framework's behaviour.
- `session.notes` (a dict) is recorded as the observation `adapter_notes`.
"""

from __future__ import annotations

import numpy as np


class Unsupported(Exception):
    """The framework has no such concept; the message says what it has instead."""


class Skip(Exception):
    """This machine cannot exercise the behaviour; the message says what is missing."""


class AdapterBug(Exception):
    """The adapter or kit broke (status error), not the framework."""


# Canonical error kinds that `classify_error` maps native exceptions to.
ERROR_KINDS = (
    "missing_super_init",   # a sublayer assigned before the parent constructor ran
    "not_initialized",      # parameter data read before shapes/values exist
    "shape_mismatch",       # input shape, or a loaded parameter's shape (names match), does not fit
    "device_mismatch",      # operands / model and input on different devices
    "graph_freed",          # second backward without retain_graph / persistent tape
    "non_scalar_backward",  # backward on a non-scalar without a head gradient
    "inplace_in_recording", # in-place write to a recorded array (or immutable tensor)
    "load_mismatch",        # loaded names/structure differ (missing or unexpected parameters)
    "bad_filename",         # a save/load path the format refuses
    "not_built",            # the model has no variables yet (e.g. Keras before build)
    "no_gradient",          # backward reaches no parameter / gradient not attached
    "other",
)

# Step kinds and the method of Session that runs each. Steps marked "runner" are
# executed by the runner itself on top of the observer methods.
STEP_METHODS = {
    "initialize": "initialize",
    "forward": "forward",
    "backward": "backward",
    "zero_grad": "zero_grad",
    "write_param": "write_param",
    "read_param": "read_param",
    "sgd_step": "sgd_step",
    "save_tensors": "save_tensors",
    "load_tensors": "load_tensors",
    "save_params": "save_params",
    "load_params": "load_params",
    "to_device": "to_device",
    "tensor": "tensor",
    "compute": "compute",
    "update": "update",
    "copy_to": "copy_to",
    "to_numpy": "to_numpy",
    "probe": "probe",
    "snapshot": "runner",
}

# Named functions for the `compute` step (args are value names).
COMPUTE_FUNCTIONS = {
    "two_x_squared": "2 * x * x (elementwise), one argument",
    "sum": "sum of all elements, one argument",
    "add": "a + b, two arguments",
    "mul": "a * b, two arguments",
    "setitem_zero": "inside recording, write 0 into element [0] of the first argument in place",
    "sum_two_x_squared": "(2 * x * x).sum(), one argument",
}

def run_compute(fn: str, xs: list, total=lambda x: x.sum()):
    """Apply one of COMPUTE_FUNCTIONS to framework tensors that have Python operators.

    `total` sums all elements in the framework's way (`tf.reduce_sum` for TF). Called
    inside the adapter's recording context; `setitem_zero` writes in place, so the
    framework's own refusal (recorded array, leaf that requires grad, immutable tensor)
    is what propagates."""
    if fn == "two_x_squared":
        return 2 * xs[0] * xs[0]
    if fn == "sum":
        return total(xs[0])
    if fn == "add":
        return xs[0] + xs[1]
    if fn == "mul":
        return xs[0] * xs[1]
    if fn == "sum_two_x_squared":
        return total(2 * xs[0] * xs[0])
    if fn == "setitem_zero":
        xs[0][0] = 0
        return xs[0]
    raise AdapterBug(f"unknown compute function {fn!r}")


# Names for the `probe` step; each returns plain JSON-able data.
PROBES = {
    "is_training": "{'inside_recording': bool, 'outside_recording': bool}",
    "devices": "{'default': str, 'second': str|None, 'gpus': int, 'listed': [str]}",
    "try_gpu": "{'device': native str of what try_gpu(0) gives, 'canonical': 'gpu'|'default'}",
    "structure": "{'text': printed model structure}",
    "param_type": "{'class': native class name of a parameter of the model}",
    "default_device": "{'device': canonical device of a tensor created with no device}",
}


class Session:
    """State for one case: the model, named values, saved files, init-call log.

    Values (`tensor`, `forward ... as`, `compute ... out`, `load_tensors ... as`) live
    in one namespace of names. `self.workdir` is a private temporary folder.
    """

    def __init__(self, adapter: Adapter, workdir: str):
        self.adapter = adapter
        self.workdir = workdir
        self.init_calls: list[dict] = []  # {"name": canonical path, "shape": [..], "step": int}
        self.current_step = -1            # set by the runner before each step
        self.notes: dict = {}             # free-form observations the adapter wants recorded

    # -- lifecycle --------------------------------------------------------
    def prepare(self, case) -> None:
        """Look-ahead hook, called before build. `case.steps` is a list of (kind, args)."""

    def build(self, model: dict) -> None:
        raise Unsupported(f"{self.adapter.framework_name}: build is not implemented")

    # -- steps --------------------------------------------------------------
    def _missing(self, name):
        raise Unsupported(f"{self.adapter.framework_name} adapter has no step '{name}'")

    def initialize(self, init="default", force_reinit=False, target=None, seed=None):
        self._missing("initialize")

    def forward(self, input, name="out", mode="predict", record=True):
        """`input` is a NumPy array already generated by the kit."""
        self._missing("forward")

    def backward(self, of="out", loss="sum", head=None, retain_graph=False):
        """loss: "sum" | "mean" | "none" (backward on the value as it is). head: ndarray."""
        self._missing("backward")

    def zero_grad(self):
        self._missing("zero_grad")

    def write_param(self, param, add=None, set=None, fill=None):
        """add: number added to all; set: {"index": [..], "value": v}; fill: all = v."""
        self._missing("write_param")

    def read_param(self, param):
        """Read the data (host copy) as user code would; errors propagate."""
        self._missing("read_param")

    def sgd_step(self, lr):
        self._missing("sgd_step")

    def save_tensors(self, file, value):
        """value: ndarray | list[ndarray] | dict[str, ndarray]; file is a bare name."""
        self._missing("save_tensors")

    def load_tensors(self, file, name):
        """Load what save_tensors wrote; store it as value `name` (same structure)."""
        self._missing("load_tensors")

    def save_params(self, file):
        self._missing("save_params")

    def load_params(self, file, model=None, initialize=False, device=None):
        """Build a fresh model (`model` spec, default: the current spec), optionally
        initialize it, load `file` into it, and make it the current model."""
        self._missing("load_params")

    def to_device(self, device, target="model"):
        """device: "default" | "second"; target: "model" or a value name."""
        self._missing("to_device")

    def tensor(self, name, value, requires_grad=False, device="default"):
        self._missing("tensor")

    def compute(self, fn, args, out, record=True):
        self._missing("compute")

    def update(self, value, lr, how):
        """Gradient step on a leaf value: how = "rebind" (w = w - lr*g) | "in_place"."""
        self._missing("update")

    def copy_to(self, value, device, name, how):
        """how = "copy" (always new memory) | "move" (as_in_context / .to)."""
        self._missing("copy_to")

    def to_numpy(self, value, name):
        self._missing("to_numpy")

    def probe(self, name, **args):
        self._missing(f"probe:{name}")

    # -- observers ----------------------------------------------------------
    def param_paths(self) -> list[str]:
        self._missing("param_paths")

    def native_names(self) -> dict[str, str]:
        """canonical path -> native name, for the observations."""
        return {}

    def native_layouts(self) -> dict[str, str]:
        """canonical path -> how the native layout differs, e.g. "(in, out): transposed";
        empty where native and canonical layouts agree."""
        return {}

    def param_shape(self, path: str):
        """Canonical shape as a tuple, or None when it is not known yet."""
        self._missing("param_shape")

    def param_value(self, path: str) -> np.ndarray:
        self._missing("param_value")

    def param_grad(self, path: str):
        """ndarray in canonical layout, or None when the framework holds no gradient."""
        self._missing("param_grad")

    def set_param(self, path: str, value: np.ndarray) -> None:
        """Overwrite a parameter's values (canonical layout); used for untied copies."""
        self._missing("set_param")

    def same_storage(self, kind: str, a: str, b: str) -> bool:
        """kind: "param" (canonical paths) or "value" (value names)."""
        self._missing("same_storage")

    def value(self, name: str):
        """Host copy of a named value: ndarray, or list/dict of ndarrays."""
        self._missing("value")

    def value_grad(self, name: str):
        self._missing("value_grad")

    def device_of(self, kind: str, name: str) -> dict:
        """{"canonical": "default"|"second"|"gpu", "native": str}."""
        self._missing("device_of")

    def classify_error(self, exc: BaseException, phase: str) -> str:
        return self.adapter.classify_error(exc, phase)


class Adapter:
    """One framework. `load()` imports it; failures there make every case `error`."""

    framework_name = "base"

    def load(self) -> None:
        """Import the framework (only here, never at module import)."""

    def version(self) -> str:
        raise NotImplementedError

    def devices(self) -> dict:
        """{"default": native str, "second": native str or None, "kind": "gpu"|"virtual"|...}."""
        return {"default": "cpu", "second": None}

    def new_session(self, workdir: str) -> Session:
        raise NotImplementedError

    def classify_error(self, exc: BaseException, phase: str) -> str:
        return "other"

    def snippet(self, case) -> str:
        """Framework code a person can copy to reproduce the case (best effort)."""
        return ""
