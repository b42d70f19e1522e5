"""One TensorFlow/Keras case: executes the spec steps with TF idioms and observes; judges nothing.

Rule: TensorFlow is imported only after the adapter's `load()` (through `adapter.tf`). Idioms:
Keras has no initialize(), so `initialize` assigns freshly drawn values to variables that
exist and, for variables Keras has not created yet, sets the layer's initializer so that
Keras's build() uses it at the first call. Recording is a tf.GradientTape (persistent only
when a later backward of the case asks for retain_graph); gradients are what tape.gradient
returns, kept per variable until the next backward. Framework errors propagate unchanged.
"""

from __future__ import annotations

import contextlib

import numpy as np

from conformance.adapters.base import AdapterBug, Session, Skip, Unsupported
from conformance.adapters.tensorflow.notes import TensorflowNotesMixin
from conformance.adapters.tensorflow.init import initialize, make_initializer
from conformance.adapters.tensorflow.keras_version import tf_variable, variable_path
from conformance.adapters.tensorflow.models import build_model


def _user_getattr(obj, attr: str):
    """`obj.<attr>` as user code reads it (an AttributeError is the framework's answer)."""
    if not attr.isidentifier():
        raise AdapterBug(f"bad attribute name {attr!r}")
    return eval(compile(f"obj.{attr}", "<user code>", "eval"), {"obj": obj})


def _reset_names(keras) -> None:
    """Restart Keras' layer-name counters (dense, dense_1, ...) and its global state.

    `clear_session()` does that, and in Keras 3 then runs `gc.collect()` (free_memory=True,
    its default): a full collection over TensorFlow's object graph, about 0.7 s per case
    here and nothing a case observes (name counters and seeds are reset either way).
    Keras 2's clear_session has no `free_memory` and collects nothing."""
    try:
        keras.backend.clear_session(free_memory=False)
    except TypeError:
        keras.backend.clear_session()


class TensorflowSession(TensorflowNotesMixin, Session):
    def __init__(self, adapter, workdir):
        super().__init__(adapter, workdir)
        self.tf = adapter.tf
        self.total = adapter.tf.reduce_sum
        # Every case starts from the same random state, so a case's values do not depend
        # on which cases ran before it in this process (determinism across runs).
        # clear_session also restarts Keras' layer-name counters (dense, dense_1, ...).
        self.keras = adapter.keras
        _reset_names(self.keras)
        self.keras.utils.set_random_seed(0)
        self.built = None
        self.spec = None
        self.value_tape: dict = {}        # value name -> the tape that recorded it (or None)
        self._active_tape = None
        self.grad_names: set = set()      # values created with requires_grad (tf.Variable)
        self.tape = None
        self.tape_spent = False
        self.persistent = False
        self.grads: dict = {}             # id(keras variable) -> gradient (last backward)
        self.value_grads: dict = {}
        self.files: dict = {}
        self.model_device = None

    # -- helpers -------------------------------------------------------------------------
    def native_device(self, device):
        if device in (None, "default"):
            return self.adapter.default_device
        second = self.adapter.second_device
        if second is None:
            raise Skip("no second TensorFlow device (logical CPU split failed and no GPU)")
        return second

    def _init(self, init, path="", transpose=False):
        return make_initializer(init, self, path, transpose)

    def _build(self, spec, device=None):
        scope = self.tf.device(self.native_device(device)) if device else contextlib.nullcontext()
        with scope:
            built = build_model(spec, self._init)
        self.notes.update(built.notes)
        return built

    def _model(self):
        if self.built is None:
            raise AdapterBug("no model was built for this case")
        return self.built.model

    def _ref(self, path):
        for ref in self.built.refs if self.built else []:
            if ref.path == path:
                return ref
        raise AdapterBug(f"no parameter '{path}' in this model")

    @staticmethod
    def _existing(ref):
        try:
            return getattr(ref.layer, ref.attr)
        except AttributeError:
            return None

    def _collected(self):
        """Variables in the framework's own collection (model.weights), by identity."""
        return {id(v) for v in self._model().weights}

    def _unique_refs(self):
        seen, out = set(), []
        for ref in self.built.refs if self.built else []:
            var = self._existing(ref)
            if var is not None and id(var) not in seen:
                seen.add(id(var))
                out.append((ref, var))
        return out

    def _canonical(self, ref, array):
        array = np.array(array)
        return array.T.copy() if ref.transpose else array

    def recording(self, record):
        """The case's GradientTape (a fresh one once a non-persistent tape is spent)."""
        if not record:
            self._active_tape = None
            return contextlib.nullcontext()
        if self.tape is None or self.tape_spent:
            self.tape = self.tf.GradientTape(persistent=self.persistent)
            self.tape_spent = False
        self._active_tape = self.tape
        return self.tape

    def produced(self, name, recorded):
        self.value_tape[name] = self._active_tape if recorded else None

    # -- lifecycle ---------------------------------------------------------------------
    def prepare(self, case):
        steps = getattr(case, "steps", None) or []
        self.persistent = any(kind == "backward" and (args or {}).get("retain_graph") for kind, args in steps)
        self.notes["tape"] = "persistent" if self.persistent else "non-persistent"

    def build(self, model):
        self.spec = model
        self.built = self._build(model)

    # -- parameters ----------------------------------------------------------------------
    def initialize(self, init="default", force_reinit=False, target=None, seed=None):
        initialize(self, init, force_reinit, target, seed)

    def write_param(self, param, add=None, set=None, fill=None):
        tf = self.tf
        ref = self._ref(param)
        var = _user_getattr(ref.layer, ref.attr)
        if add is not None:
            var.assign(var + add)
        elif fill is not None:
            var.assign(tf.fill(tuple(var.shape), tf.constant(fill, dtype=var.dtype)))
        else:
            index = list(set["index"])
            if ref.transpose:
                index = index[::-1]
            update = tf.tensor_scatter_nd_update(tf.convert_to_tensor(var), [index],
                                                 tf.constant([set["value"]], dtype=var.dtype))
            var.assign(update)

    def read_param(self, param):
        ref = self._ref(param)
        return self._canonical(ref, _user_getattr(ref.layer, ref.attr).numpy())

    def sgd_step(self, lr):
        applied = 0
        for ref, var in self._unique_refs():
            grad = self.grads.get(id(var))
            if grad is not None:
                var.assign_sub(lr * self.tf.convert_to_tensor(grad))
                applied += 1
        self.notes["sgd_step"] = f"v.assign_sub(lr * g) on {applied} variables with a gradient"

    # -- forward and autograd ----------------------------------------------------------
    def forward(self, input, name="out", mode="predict", record=True, device="default"):
        tf = self.tf
        model = self._model()
        with tf.device(self.native_device(device)):
            x = tf.constant(input)
        kwargs = {"training": True} if mode == "train" else {}
        scope = tf.device(self.model_device) if self.model_device else contextlib.nullcontext()
        with scope, self.recording(record):
            y = model(x, **kwargs)
        self.values[name] = y
        self.produced(name, record)
        if self.model_device:
            self.notes["forward_device"] = (
                f"model variables on {self.model_device}, input on {x.device}: "
                f"no error, output on {y.device} (TF copies silently)"
            )

    def _sources(self):
        pairs = [("param", ref.path, var) for ref, var in self._unique_refs() if var.trainable]
        pairs += [("value", name, self.values[name]) for name in sorted(self.grad_names)
                  if name in self.values]
        return pairs

    def backward(self, of="out", loss="sum", head=None, retain_graph=False):
        tf = self.tf
        y = self.named(of)
        tape = self.value_tape.get(of)
        if tape is None:
            # The value was computed outside any tape: a user's entered-but-empty tape. An
            # unentered tape would raise its own RuntimeError, which TF users never see.
            with tf.GradientTape() as tape:
                pass
            self.notes["backward"] = f"'{of}' was not recorded on a tape: TF returns None gradients"
        if head is not None:
            output_gradients = tf.constant(head, dtype=y.dtype)
        elif loss == "sum":
            output_gradients = tf.ones_like(y)
        elif loss == "mean":
            output_gradients = tf.ones_like(y) / tf.cast(tf.size(y), y.dtype)
        else:
            output_gradients = None    # a non-scalar target: TF sums implicitly
        sources = self._sources()
        grads = tape.gradient(y, [s[2] for s in sources], output_gradients=output_gradients)
        if tape is self.tape and not self.persistent:
            self.tape_spent = True
        self.grads = {}
        self.value_grads = {}
        for (kind, name, source), grad in zip(sources, grads):
            if kind == "param":
                self.grads[id(source)] = grad
            else:
                self.value_grads[name] = grad
        self.notes["gradients"] = (
            "tape.gradient returns fresh gradients; TF keeps none on variables, "
            "so a second backward replaces (never accumulates) the kept ones"
        )

    def zero_grad(self):
        self.grads = {}
        self.value_grads = {}
        self.notes["zero_grad"] = "TF holds no gradient buffers: nothing to zero (kept gradients dropped)"

    def tensor(self, name, value, requires_grad=False, device="default"):
        tf = self.tf
        with tf.device(self.native_device(device)):
            self.values[name] = tf.Variable(value) if requires_grad else tf.constant(value)
        if requires_grad:
            self.grad_names.add(name)
        self.value_tape[name] = None

    def value_grad_native(self, name):
        return self.value_grads.get(name)

    def update_in_place(self, w, grad, lr):
        w.assign_sub(lr * grad)

    def update(self, value, lr, how):
        super().update(value, lr, how)
        if how == "rebind":     # a new Tensor: no longer the tf.Variable
            self.notes["update"] = f"rebind gives {type(self.values[value]).__name__}, not a tf.Variable"

    def probe(self, name, **args):
        from conformance.adapters.tensorflow import probes as tensorflow_probes

        method = getattr(self, f"probe_{name}", None)  # the notes' probes (tensorflow/notes.py)
        if method is not None:
            return method(**args)
        return tensorflow_probes.probe(self, name)

    # -- devices -------------------------------------------------------------------------
    def to_device(self, device, target="model"):
        tf = self.tf
        dev = self.native_device(device)
        if target != "model":
            with tf.device(dev):
                self.values[target] = tf.identity(self.named(target))
            return
        # Keras has no model.to(device): variables live where they were created. The idiom is
        # to create the model under `with tf.device(...)`; a built model is re-created there
        # and its values copied (set_weights by canonical path).
        self.model_device = dev
        old = self.built
        values = {ref.path: var.numpy() for ref, var in self._unique_refs()}
        self.built = self._build(self.spec, device=device)
        for ref in self.built.refs:
            var = self._existing(ref)
            if var is not None and ref.path in values:
                with tf.device(dev):
                    var.assign(values[ref.path])
        self.notes["to_device"] = (
            f"Keras has no model.to(): the model was re-created under tf.device('{dev}') "
            f"and {len(values)} values copied" if old is not None else f"model created under {dev}"
        )

    def copy_to(self, value, device, name, how):
        with self.tf.device(self.native_device(device)):
            self.values[name] = self.tf.identity(self.named(value))
        self.value_tape[name] = None
        self.notes["copy_to"] = f"tf.identity under tf.device ({how}: TF has one idiom for both)"

    def to_numpy(self, value, name):
        self.values[name] = self.named(value).numpy()

    # -- save / load ---------------------------------------------------------------------
    def save_tensors(self, file, value):
        from conformance.adapters.tensorflow import io as tensorflow_io

        tensorflow_io.save_tensors(self, file, value)

    def load_tensors(self, file, name):
        from conformance.adapters.tensorflow import io as tensorflow_io

        self.values[name] = tensorflow_io.load_tensors(self, file)

    def save_params(self, file):
        self._model().save_weights(self.file_path(file))

    def load_params(self, file, model=None, initialize=False, device=None):
        built = self._build(model or self.spec, device=device)
        self.built, self.spec = built, (model or self.spec)
        if device:
            self.model_device = self.native_device(device)
        if initialize:
            self.initialize()
        built.model.load_weights(self.file_path(file))

    # -- observers -----------------------------------------------------------------------
    def param_paths(self):
        if self.built is None:
            return []
        collected = self._collected()
        return [ref.path for ref, var in self._unique_refs() if id(var) in collected]

    def native_names(self):
        return {ref.path: variable_path(var) for ref, var in self._unique_refs()}

    def native_layouts(self):
        # Keras keeps a Dense kernel as (in, out); the kit's canonical layout is (out, in).
        return {ref.path: "(in, out): the transpose of the canonical (out, in)"
                for ref, _ in self._unique_refs() if ref.transpose}

    def param_shape(self, path):
        var = self._existing(self._ref(path))
        if var is None:
            return None
        shape = tuple(int(d) for d in var.shape)
        return shape[::-1] if self._ref(path).transpose else shape

    def param_value(self, path):
        ref = self._ref(path)
        var = self._existing(ref)
        if var is None:
            raise ValueError(f"'{path}' does not exist yet: Keras creates it in build() at the first call")
        return self._canonical(ref, var.numpy())

    def param_grad(self, path):
        ref = self._ref(path)
        var = self._existing(ref)
        grad = None if var is None else self.grads.get(id(var))
        return None if grad is None else self._canonical(ref, self.tf.convert_to_tensor(grad).numpy())

    def set_param(self, path, value):
        ref = self._ref(path)
        var = self._existing(ref)
        if var is None:
            raise Unsupported(f"'{path}' does not exist yet (Keras creates variables at the first call)")
        var.assign(np.asarray(value).T if ref.transpose else np.asarray(value))

    def same_storage(self, kind, a, b):
        if kind == "param":
            va, vb = self._existing(self._ref(a)), self._existing(self._ref(b))
            return va is not None and va is vb
        from conformance.adapters.tensorflow.probes import buffer_address

        x, y = self.named(a), self.named(b)
        if x is y:
            return True
        ax, ay = buffer_address(self, x), buffer_address(self, y)
        self.notes[f"buffer:{a}|{b}"] = f"{ax} {ay}"
        return ax is not None and ax == ay

    def value_grad(self, name):
        grad = self.value_grads.get(name)
        return None if grad is None else self.tf.convert_to_tensor(grad).numpy()

    def param_array(self, path):
        var = self._existing(self._ref(path))
        if var is None:
            raise ValueError(f"'{path}' does not exist yet (Keras creates variables at the first call)")
        return tf_variable(var)   # a Keras 3 variable wraps a tf.Variable; a Keras 2 one is one

    def device_of_array(self, array):
        return array.device

    def canonical_device(self, native):
        return self.adapter.canonical_device(native)
