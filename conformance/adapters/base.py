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

What every session shares lives here, so a new framework writes only what differs:
`Session` keeps the value namespace (`values`, `named()`), host/native conversion of
nested values (`host`/`host_leaf`, `to_native`/`native_leaf`), `file_path`, `log_init`,
and generic `compute`, `update`, `value`, `device_of` and `probe` (dispatching to
`probe_<name>`) built on small hooks (`recording`, `produced`, `value_grad_native`,
`update_in_place`, `param_array`, `device_of_array`, `canonical_device`). Frameworks
whose blocks register parameters and children by name (Gluon, the reference) start from
`BlockTreeSession`. `Adapter.classify_error` reads the tables `error_patterns` and
`error_types` (see `classify_by_table`). A new framework is one folder
`conformance/adapters/<name>/`, one registry line in `conformance/adapters/__init__.py`
and one tox env.
"""

from __future__ import annotations

import contextlib
import os
import re

import numpy as np


class Unsupported(Exception):
    """The framework has no such concept; the message says what it has instead."""


class Skip(Exception):
    """This machine cannot exercise the behaviour; the message says what is missing."""


class AdapterBug(Exception):
    """The adapter or kit broke (status error), not the framework."""


class MissingValue(LookupError):
    """A value or model that no step produced (usually because an earlier step raised)."""


# What `device_of` says for a NumPy array (host memory, whatever the framework).
HOST_MEMORY = "numpy (host memory)"


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
    "random": "random",            # notes 000 §4.1: nd.random.uniform, the framework's own RNG
    "attach_grad": "attach_grad",  # note 002: attach_grad (requires_grad_) on an existing value
}

# Named functions for the `compute` step (args are value names).
COMPUTE_FUNCTIONS = {
    "two_x_squared": "2 * x * x (elementwise), one argument",
    "sum": "sum of all elements, one argument",
    "add": "a + b, two arguments",
    "mul": "a * b, two arguments",
    "setitem_zero": "inside recording, write 0 into element [0] of the first argument in place",
    "sum_two_x_squared": "(2 * x * x).sum(), one argument",
    "norm": "the framework's L2 norm of all elements (x.norm(), tf.norm), one argument",
    "add_out": "a + b written into c with the framework's out= (nd.elemwise_add(a, b, out=c)); returns c",
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
    "try_gpu": "args i? (default 0): {'device': native str of what try_gpu(i) gives, 'canonical': 'gpu'|'default'}",
    "structure": "{'text': printed model structure}",
    "param_type": "{'class': native class name of a parameter of the model}",
    "default_device": "{'device': canonical device of a tensor created with no device}",
    # probes of the notes' own code (issue 10; args in the probe step's `args`):
    "try_all_gpus": "{'devices': [native str], 'canonical': [...]}: the note's try_all_gpus()",
    "param_dict": "args target?, select?: Gluon's net[0].params / collect_params(select) as "
                  "{'container', 'names', 'shapes', 'dtypes', 'attributes': {native name: canonical path}, 'text'}",
    "state_dict": "args target?: torch's module.state_dict() as {'container', 'names', 'shapes', 'dtypes', 'attributes'}",
    "keras_weights": "args target?: Keras' layer.weights as {'short_names', 'shapes' (native layout), 'dtypes', 'count'}",
    "param_repr": "args param: {'text': the printed parameter, 'class', 'data_class'}",
    "saved_params": "args file: what the framework's plain loader reads from a save_params file: {'container', 'names', 'shapes'}",
    "sequential_class": "{'is_model': Sequential subclasses the framework's model class, 'base', 'class'}",
    "prefix_names": "args prefix: 004's MyDense(units=3, in_units=5, prefix=...): {'prefix', 'names': its parameters' native names}",
    "np_save": "args values ('x,y'), kind one|list|dict: the TF note's np.save of the framework's tensors, "
               "then np.load without pickle: {'saved', 'error', 'needs_pickle', 'loaded_shape', 'loaded_dtype'}",
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
        self.values: dict = {}            # the value namespace: name -> native value

    # -- helpers every adapter shares (not steps) --------------------------------
    def named(self, name: str):
        """The native value called `name`; MissingValue when no step made it."""
        if name not in self.values:
            raise MissingValue(f"no value named {name!r}: the step that makes it did not run "
                               "(an earlier step failed?)")
        return self.values[name]

    def file_path(self, file: str) -> str:
        """A spec's bare file name inside this case's private folder."""
        return os.path.join(self.workdir, file)

    def host(self, value):
        """Host copy of a native value, or of a list/tuple/dict of them (lists stay lists)."""
        if isinstance(value, dict):
            return {key: self.host(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.host(item) for item in value]
        return self.host_leaf(value)

    def host_leaf(self, value) -> np.ndarray:
        """One native array -> ndarray; override for framework arrays."""
        return np.array(value)

    def to_native(self, value):
        """ndarray, or a list/dict of them, -> the same structure of native arrays."""
        if isinstance(value, dict):
            return {key: self.to_native(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.to_native(item) for item in value]
        return self.native_leaf(value)

    def native_leaf(self, array: np.ndarray):
        """One ndarray -> a native array on the default device."""
        self._missing("native_leaf")

    def recording(self, record: bool):
        """Context in which `compute` runs: the framework's recording scope when `record`,
        its no-recording scope otherwise."""
        self._missing("recording")

    def produced(self, name: str, recorded: bool) -> None:
        """Hook: a step just stored value `name` (recorded or not)."""

    total = staticmethod(lambda x: x.sum())  # sum of all elements, the framework's way
    norm = staticmethod(lambda x: x.norm())  # L2 norm of all elements, the framework's way

    def add_out(self, a, b, out):
        """a + b written into `out` by the framework's out= argument; returns the result."""
        self._missing("compute:add_out")

    def log_init(self, native: str, shape, step: int | None = None) -> None:
        """Record one initializer call, named by canonical path when `native` is known."""
        by_native: dict = {}
        for path, name in self.native_names().items():
            by_native.setdefault(name, path)
        self.init_calls.append({"name": by_native.get(native, native), "shape": [int(d) for d in shape],
                                "step": self.current_step if step is None else step})

    def array_of(self, kind: str, name: str):
        """kind "param": the parameter's native array (`param_array`); else a named value."""
        return self.param_array(name) if kind == "param" else self.named(name)

    def param_array(self, path: str):
        """The native array holding a parameter's data."""
        self._missing("param_array")

    def native_device(self, name: str | None):
        """"default" | "second" (None: default) -> the framework's device object."""
        self._missing("native_device")

    def device_of_array(self, array):
        """The native device (or context) a native array lives on."""
        self._missing("device_of_array")

    def canonical_device(self, native) -> str:
        """A native device -> "default" | "second" | "gpu" | its own text."""
        self._missing("canonical_device")

    def value_grad_native(self, name: str):
        """The native gradient held for value `name` (for `update`), or None."""
        self._missing("value_grad_native")

    def update_in_place(self, w, grad, lr) -> None:
        """w -= lr * grad, keeping w's buffer, the framework's way."""
        self._missing("update_in_place")

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

    def forward(self, input, name="out", mode="predict", record=True, device="default"):
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
        """One of COMPUTE_FUNCTIONS on named values, inside `recording(record)`."""
        xs = [self.named(a) for a in args]
        with self.recording(record):
            if fn == "norm":
                result = self.norm(xs[0])
            elif fn == "add_out":
                result = self.add_out(*xs)
            else:
                result = run_compute(fn, xs, total=self.total)
        self.values[out] = result
        self.produced(out, record)

    def update(self, value, lr, how):
        """Gradient step on a leaf value: how = "rebind" (w = w - lr*g) | "in_place"."""
        w = self.named(value)
        grad = self.value_grad_native(value)
        if how == "rebind":
            self.values[value] = w - lr * grad  # a new array: no longer the leaf with a gradient
        elif how == "in_place":
            self.update_in_place(w, grad, lr)
        else:
            raise AdapterBug(f"unknown update {how!r}")

    def copy_to(self, value, device, name, how):
        """how = "copy" (always new memory) | "move" (as_in_context / .to)."""
        self._missing("copy_to")

    def to_numpy(self, value, name):
        self._missing("to_numpy")

    def random(self, name, low=None, high=None, shape=None):
        """A uniform draw from the framework's own RNG (the note's nd.random.uniform(low, high,
        shape=...)); arguments left out are left out of the call too."""
        self._missing("random")

    def attach_grad(self, value):
        """Ask for the gradient of an existing value (attach_grad / requires_grad_)."""
        self._missing("attach_grad")

    def probe(self, name, **args):
        """Dispatches to the method `probe_<name>` (see PROBES)."""
        method = getattr(self, f"probe_{name}", None)
        if method is None:
            self._missing(f"probe:{name}")
        return method(**args)

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
        return self.host(self.named(name))

    def value_grad(self, name: str):
        self._missing("value_grad")

    def device_of(self, kind: str, name: str) -> dict:
        """{"canonical": "default"|"second"|"gpu", "native": str}."""
        array = self.array_of(kind, name)
        if isinstance(array, np.ndarray):
            return {"canonical": "default", "native": HOST_MEMORY}
        native = self.device_of_array(array)
        return {"canonical": self.canonical_device(native), "native": str(native)}

    def classify_error(self, exc: BaseException, phase: str) -> str:
        return self.adapter.classify_error(exc, phase)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class NamedParametersMixin:
    """For frameworks whose modules list their parameters with `named_parameters()` (torch,
    Paddle): the session's builder keeps `self.built.slots` (canonical path -> slot holding
    the parameter, `slot.get()` the native parameter)."""

    def _slot(self, path: str):
        if self.built is None:
            raise MissingValue(f"no parameter {path!r}: no model was built (construction failed?)")
        if path not in self.built.slots:
            raise AdapterBug(f"no parameter {path!r}; known: {list(self.built.slots)}")
        return self.built.slots[path]

    def _param(self, path: str):
        return self._slot(path).get()

    def canonical_name(self, param) -> str:
        for path, slot in self.built.slots.items():
            if slot.get() is param:
                return path
        return "<unnamed>"

    def probe_structure(self):
        return {"text": str(self.model)}

    def probe_param_type(self):
        paths = self.param_paths()
        if not paths:
            return {"class": None}
        return {"class": type(self._param(paths[0])).__name__}

    def param_paths(self) -> list[str]:
        if self.model is None:
            return []
        by_id = {}
        for path, slot in self.built.slots.items():
            by_id.setdefault(id(slot.get()), path)
        # What the framework collects: named_parameters() (each parameter once, unregistered ones absent).
        return [by_id.get(id(p), native) for native, p in self.model.named_parameters()]


class BlockTreeSession(Session):
    """A Session for models that are trees of blocks registering their parameters and
    children by name (Gluon's `_reg_params`/`_children`; the reference copies Gluon).

    Canonical paths come from walking those registries. A subclass sets, in its
    `__init__`: `self.Block`, `self.Parameter`, `self.ParameterDict` (classes or None),
    `self.Array` (the framework's array class) and `self.autograd` (a module with
    record(train_mode) / train_mode() / predict_mode() / is_training()), and provides
    `make_array(value, device)`, `native_device(name)`, `grad_of(array)`, the device
    hooks and the steps that differ. Parameters have data(), set_data(), grad(),
    grad_req, zero_grad(), shape and name; arrays have asnumpy(), grad, copyto() and
    as_in_context().
    """

    Block = Parameter = ParameterDict = Array = autograd = None
    model = None
    # Follow a ParameterDict by key when resolving a path outside the registries.
    resolve_in_parameter_dict = False

    # -- canonical paths ---------------------------------------------------------
    def children_of(self, block) -> list:
        """(key, child) pairs of a block; override where paths number them differently.
        Children keyed by something other than a name (note 001's `_modules[block] = block`)
        are numbered by position."""
        children = list(block._children.items())
        if getattr(block, "_kit_numbered", False) or any(not isinstance(key, str) for key, _ in children):
            return [(str(i), child) for i, (_, child) in enumerate(children)]
        return children

    def walk(self, model=None) -> list[tuple[str, object]]:
        """(path, block or Parameter) through the registries, every path of a shared one."""
        model = self.model if model is None else model
        if model is None:
            return []
        if self.ParameterDict is not None and isinstance(model, self.ParameterDict):
            return list(model.items())
        found: list[tuple[str, object]] = []

        def visit(block, prefix):
            for attr, param in block._reg_params.items():
                found.append((_join(prefix, attr), param))
            for key, child in self.children_of(block):
                path = _join(prefix, key)
                found.append((path, child))
                visit(child, path)

        visit(model, "")
        return found

    def resolve(self, path: str):
        """A block or Parameter by canonical path; plain attributes (a list of layers that
        is not registered) are followed too, so they can still be inspected."""
        for found_path, obj in self.walk():
            if found_path == path:
                return obj
        obj = self.model
        for token in path.split("."):
            if isinstance(obj, (list, tuple)) and token.isdigit() and int(token) < len(obj):
                obj = obj[int(token)]
            elif isinstance(obj, self.Block) and token in obj._reg_params:
                obj = obj._reg_params[token]
            elif isinstance(obj, self.Block) and token in obj._children:
                obj = obj._children[token]
            elif self.resolve_in_parameter_dict and isinstance(obj, self.ParameterDict) and token in obj:
                obj = obj[token]
            elif hasattr(obj, token) and not token.startswith("_"):
                obj = getattr(obj, token)
            else:
                raise AdapterBug(f"{self.adapter.framework_name}: no block or parameter at path {path!r}")
        return obj

    def param(self, path: str):
        obj = self.resolve(path)
        if not isinstance(obj, self.Parameter):
            raise AdapterBug(f"{self.adapter.framework_name}: {path!r} is a {type(obj).__name__}, "
                             "not a Parameter")
        return obj

    def is_constant(self, param) -> bool:
        """A parameter that is not trained (left out of param_paths and sgd_step)."""
        return param.grad_req == "null"

    def unique_params(self, constants: bool = False) -> list[tuple[str, object]]:
        """Each parameter once, under its first path; constants only when asked for."""
        seen, out = set(), []
        for path, obj in self.walk():
            if isinstance(obj, self.Parameter) and id(obj) not in seen:
                seen.add(id(obj))
                if constants or not self.is_constant(obj):
                    out.append((path, obj))
        return out

    def make_array(self, value: np.ndarray, device):
        """ndarray -> a native array on device "default" | "second"."""
        self._missing("make_array")

    def grad_of(self, array):
        return array.grad

    # -- steps shared by Gluon-style frameworks ----------------------------------
    def forward(self, input, name="out", mode="predict", record=True, device="default"):
        if self.ParameterDict is not None and isinstance(self.model, self.ParameterDict):
            raise Unsupported("a ParameterDict has no forward; it only holds Parameters")
        x = self.make_array(input, device or "default")  # `device`: where the input is created
        autograd = self.autograd
        if record:
            scope = autograd.record(train_mode=(mode == "train"))
        else:
            scope = autograd.train_mode() if mode == "train" else autograd.predict_mode()
        with scope:
            self.values[name] = self.model(x)
        self.produced(name, record)

    def zero_grad(self):
        for _, param in self.unique_params():
            param.zero_grad()
        for value in self.values.values():
            if isinstance(value, self.Array) and value.grad is not None:
                value.grad[:] = 0

    def write_param(self, param, add=None, set=None, fill=None):
        p = self.param(param)
        if add is not None:
            p.set_data(p.data() + add)  # 000 §4.2.3: set_data(data() + 1)
        if set is not None:
            p.data()[tuple(set["index"])] = set["value"]  # writes through the data array
        if fill is not None:
            p.data()[:] = fill

    def read_param(self, param):
        return self.param(param).data().asnumpy()

    def sgd_step(self, lr):
        for _, param in self.unique_params():
            if param.grad_req != "null":
                param.data()[:] = param.data() - lr * param.grad()  # 004: param[:] -= lr * grad

    def tensor(self, name, value, requires_grad=False, device="default"):
        x = self.make_array(value, device)
        if requires_grad:
            x.attach_grad()
        self.values[name] = x

    def value_grad_native(self, name: str):
        return self.grad_of(self.named(name))

    def update_in_place(self, w, grad, lr) -> None:
        w[:] = w - lr * grad  # 002: param[:] = param - lr * param.grad keeps the buffer

    def copy_to(self, value, device, name, how):
        x = self.named(value)
        dev = self.native_device(device)
        # 000 §4.6: copyto always allocates; as_in_context returns x itself on its own device
        self.values[name] = x.copyto(dev) if how == "copy" else x.as_in_context(dev)

    def to_numpy(self, value, name):
        self.values[name] = self.named(value).asnumpy()

    def probe_is_training(self):
        with self.autograd.record():
            inside = self.autograd.is_training()
        return {"inside_recording": bool(inside), "outside_recording": bool(self.autograd.is_training())}

    def probe_structure(self):
        return {"text": repr(self.model)}

    def probe_param_type(self):
        params = [obj for _, obj in self.walk() if isinstance(obj, self.Parameter)]
        return {"class": type(params[0]).__name__ if params else None}

    # -- observers ---------------------------------------------------------------
    def param_paths(self) -> list[str]:
        return [path for path, _ in self.unique_params()]

    def native_names(self) -> dict[str, str]:
        return {path: obj.name for path, obj in self.walk() if isinstance(obj, self.Parameter)}

    def param_shape(self, path: str):
        shape = self.param(path).shape
        # an unknown dimension is 0: Gluon's (256, 0) means "not known yet"
        if shape is None or any(int(d) == 0 for d in shape):
            return None
        return tuple(int(d) for d in shape)

    def param_value(self, path: str) -> np.ndarray:
        return self.param(path).data().asnumpy()

    def param_grad(self, path: str):
        p = self.param(path)
        if p.grad_req == "null":
            return None
        return p.grad().asnumpy()

    def host_leaf(self, value) -> np.ndarray:
        return value.asnumpy() if isinstance(value, self.Array) else np.array(value)

    def value_grad(self, name: str):
        x = self.named(name)
        if not isinstance(x, self.Array) or x.grad is None:
            return None
        return x.grad.asnumpy()


def classify_by_table(exc: BaseException, phase: str, patterns=(), types=(), flags: int = 0) -> str | None:
    """The first canonical kind whose pattern matches, or None.

    patterns: (kind, regex searched in "ExceptionType: message", phases or None for all);
    types: (exception class or tuple of them, kind), tried after the patterns."""
    text = f"{type(exc).__name__}: {exc}"
    for kind, pattern, phases in patterns:
        if phases is not None and phase not in phases:
            continue
        if re.search(pattern, text, flags):
            return kind
    for classes, kind in types:
        if isinstance(exc, classes):
            return kind
    return None


class Adapter:
    """One framework. `load()` imports it; failures there make every case `error`."""

    framework_name = "base"

    def load(self) -> None:
        """Import the framework (only here, never at module import)."""

    def version(self) -> str:
        raise NotImplementedError

    def start_runtime(self) -> None:
        """What must follow `load` before the first case but may start the framework's runtime
        (threads, devices). Workers are forked after `load`, so `load` only imports and
        configures; this runs in each worker, before `version` and `devices`, and in
        `run_inprocess`. A second call does nothing."""

    def devices(self) -> dict:
        """{"default": native str, "second": native str or None, "kind": "gpu"|"virtual"|...}."""
        return {"default": "cpu", "second": None}

    def components(self) -> dict:
        """Parts of the framework with versions of their own, e.g. {"keras": "3.15.1"};
        they name the column and spec pins may range them (`keras: "<3"`)."""
        return {}

    def new_session(self, workdir: str) -> Session:
        raise NotImplementedError

    # Error tables for `classify_error` (see `classify_by_table`); the first match wins.
    error_patterns: tuple = ()  # (kind, regex on "Type: message", phases or None)
    error_types: tuple = ()     # (exception class(es), kind)
    error_flags = 0             # re flags for the patterns

    def classify_error(self, exc: BaseException, phase: str) -> str:
        return classify_by_table(exc, phase, self.error_patterns, self.error_types, self.error_flags) or "other"

    def snippet(self, case) -> str:
        """Framework code a person can copy to reproduce the case (best effort)."""
        return ""
