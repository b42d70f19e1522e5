"""One case on the bundled NumPy reference: the steps as Gluon-style code, and the observers.

Rule: it drives the reference the way the notes drive Gluon and asserts nothing. Each
session owns its random generator and name counters (swapped in around every step and
observer), so cases never leak state into one another. Canonical paths come from the
reference's registries (`_reg_params`, `_children`, walked by `base.BlockTreeSession`);
Dense weights are already (out, in).
"""

from __future__ import annotations

import functools
from collections import Counter

import numpy as np

from conformance.adapters.reference.notes import ReferenceNotesMixin
from conformance.adapters.base import STEP_METHODS, AdapterBug, BlockTreeSession


def _scoped(method):
    """Run a session method with the session's generator and name counters active."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.ref.rng.use(self._generator), self.ref.naming.use(self._names):
            return method(self, *args, **kwargs)

    return wrapper


# Every step and observer runs scoped (a nested scoped call re-enters the same scope).
_SCOPED = sorted({m for m in STEP_METHODS.values() if m != "runner"} | {
    "build", "set_param", "param_paths", "native_names", "param_shape", "param_value",
    "param_grad", "same_storage", "value", "value_grad", "device_of",
})


def _scope_all(cls):
    for name in _SCOPED:
        setattr(cls, name, _scoped(getattr(cls, name)))
    return cls


@_scope_all
class ReferenceSession(ReferenceNotesMixin, BlockTreeSession):
    """One case on the reference: the model (Block or ParameterDict) and named values."""

    resolve_in_parameter_dict = True

    def __init__(self, adapter, workdir: str):
        super().__init__(adapter, workdir)
        from conformance import reference

        self.ref = reference
        self.Block, self.Parameter, self.ParameterDict = reference.Block, reference.Parameter, reference.ParameterDict
        self.Array, self.autograd = reference.Tensor, reference.autograd
        self._generator = np.random.default_rng(0)
        self._names: Counter = Counter()
        self.model_spec = None
        self.device = reference.device.default_device()  # where initialize() puts parameters

    # -- building -------------------------------------------------------------
    def _build(self, spec: dict):
        return self.ref.spec_build.ModelBuilder(on_init_call=self.log_init).build(spec)

    def build(self, model: dict) -> None:
        self.model_spec = model
        self.model = self._build(model)

    def native_device(self, name):
        if name in (None, "default"):
            return self.ref.device.default_device()
        if name == "second":
            return self.ref.vdev(1)
        raise AdapterBug(f"reference: unknown device {name!r}")

    def make_array(self, value, device):
        return self.ref.Tensor(value, device=self.native_device(device))

    def native_leaf(self, array):
        return self.ref.Tensor(array)

    def grad_of(self, array):
        return self.ref.tensor.grad_of(array)

    # -- steps ------------------------------------------------------------------
    def initialize(self, init="default", force_reinit=False, target=None, seed=None):
        rng = np.random.default_rng(seed) if seed is not None else None
        if isinstance(init, dict) and "load" in init:  # 000's table: Load(param file)
            init = {"load": dict(init["load"], file=self.file_path(init["load"]["file"]))}
        initializer = self.ref.spec_build.make_init(init, on_call=self.log_init)
        obj = self.model if target is None else self.resolve(target)
        if isinstance(obj, self.ref.Parameter):
            # 000 §4.2.2: net[0].weight.initialize(init=init.Xavier(), force_reinit=True)
            obj.initialize(init=initializer, device=self.device, force_reinit=force_reinit, rng=rng)
        else:  # a Block (net.initialize / net[1].initialize) or a ParameterDict
            obj.initialize(initializer, device=self.device, force_reinit=force_reinit, rng=rng)

    def backward(self, of="out", loss="sum", head=None, retain_graph=False):
        y = self.named(of)
        if head is not None:
            out_grad = self.ref.Tensor(head, device=y.device)
        elif loss == "sum":
            out_grad = self.ref.ones(y.shape, device=y.device, dtype=y.dtype)  # d(y.sum())/dy
        elif loss == "mean":
            out_grad = self.ref.ones(y.shape, device=y.device, dtype=y.dtype) / max(y.size, 1)
        else:
            out_grad = None  # y.backward() as it is: a non-scalar is summed implicitly
        y.backward(out_grad, retain_graph=retain_graph)

    def save_tensors(self, file, value):
        self.notes["tensor_format"] = ".npz read with allow_pickle=False (no pickle)"
        self.ref.save(self.file_path(file), self.to_native(value))

    def load_tensors(self, file, name):
        self.values[name] = self.ref.load(self.file_path(file))

    def save_params(self, file):
        self.ref.serialization.save_parameters(self.model, self.file_path(file))

    def load_params(self, file, model=None, initialize=False, device=None):
        spec = self.model_spec if model is None else model
        target = self.native_device(device) if device is not None else None
        fresh = self._build(spec)
        if initialize:
            fresh.initialize(device=target)
        self.ref.serialization.load_parameters(fresh, self.file_path(file), device=target)
        self.model, self.model_spec = fresh, spec
        self.device = target or self.ref.device.default_device()

    def to_device(self, device, target="model"):
        dev = self.native_device(device)
        if target != "model":
            self.values[target] = self.named(target).as_in_context(dev)
            return
        for _, param in self.unique_params(constants=True):
            param.reset_device(dev)  # net.collect_params().reset_ctx(ctx)
        self.device = dev

    def recording(self, record: bool):
        return self.autograd.record() if record else self.autograd.pause()

    def probe_devices(self):
        ref = self.ref
        return {
            "default": str(ref.device.default_device()),
            "second": str(ref.vdev(1)),
            "gpus": ref.num_gpus(),
            "listed": [str(d) for d in ref.device.available()],
        }

    def probe_default_device(self):
        return {"device": self.canonical_device(self.ref.ones((1,)).device)}

    # -- observers ------------------------------------------------------------------
    def set_param(self, path: str, value: np.ndarray) -> None:
        self.param(path).set_data(value)

    def _data(self, kind: str, name: str):
        if kind == "param":
            return self.param(name).data()._data
        value = self.named(name)
        return value._data if isinstance(value, self.ref.Tensor) else value

    def same_storage(self, kind: str, a: str, b: str) -> bool:
        return bool(np.shares_memory(self._data(kind, a), self._data(kind, b)))

    def param_array(self, path: str):
        return self.param(path)

    def device_of_array(self, array):
        return array.device

    def canonical_device(self, dev) -> str:
        if dev == self.ref.device.default_device():
            return "default"
        if dev == self.ref.vdev(1):
            return "second"
        return "gpu" if dev.kind == "gpu" else str(dev)
