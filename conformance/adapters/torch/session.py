"""One case on PyTorch: the steps as torch code and the observers that read torch state back.

Rule: every step does what a torch user writes (the note's idioms); nothing here judges.
Data on the "meta" device does not exist, so observing it raises Skip (a real GPU is needed).
"""

from __future__ import annotations

import contextlib

import numpy as np

from conformance.adapters.torch import init as torch_init
from conformance.adapters.base import (
    AdapterBug,
    NamedParametersMixin,
    Session,
    Skip,
    Unsupported,
)
from conformance.adapters.torch.notes import TorchNotesMixin
from conformance.adapters.torch.build import Builder
from conformance.adapters.torch.models import classes, host_copy, write_data

_META_SKIP = ("the second device here is torch's 'meta' device, which holds shapes but no data; "
              "observing values on it needs a GPU")


class TorchSession(TorchNotesMixin, NamedParametersMixin, Session):
    def __init__(self, adapter, workdir: str):
        super().__init__(adapter, workdir)
        self.C = classes()
        self.torch = self.C.torch
        self.second = adapter.second_device()
        self.spec: dict | None = None
        self.built = None
        self.model = None
        self.pending_inits: dict = {}  # id(module) -> forward pre-hook handle (deferred init)
        self.layer_inits: dict = {}  # id(module) -> construction-time {weight: INIT, bias: INIT}
        # Each case starts from the same global RNG state, whatever ran before it (torch draws
        # default weights at construction, before any `initialize: {seed}` step).
        torch_init.manual_seed(self.torch, 0)

    # -- helpers ------------------------------------------------------------
    def native_device(self, name: str | None):
        if name in (None, "default"):
            return self.torch.device("cpu")
        if name == "second":
            return self.torch.device(self.second)
        raise AdapterBug(f"unknown device name {name!r}")

    def host_leaf(self, tensor) -> np.ndarray:
        """A host copy of a tensor for the observers (Skip for meta data)."""
        if isinstance(tensor, np.ndarray):
            return tensor.copy()
        if tensor.device.type == "meta":
            raise Skip(_META_SKIP)
        return host_copy(tensor).copy()

    def recording(self, record: bool):
        return contextlib.nullcontext() if record else self.torch.no_grad()

    # -- lifecycle ----------------------------------------------------------
    def build(self, model: dict) -> None:
        self.spec = model
        self.model = None
        self.layer_inits = {}
        self.built = Builder().build(model)
        self.model = self.built.root
        self.notes.update(self.built.notes)
        torch_init.construction_inits(self, self.built.layer_inits)

    # -- steps --------------------------------------------------------------
    def initialize(self, init="default", force_reinit=False, target=None, seed=None):
        layer = slot = None
        if target is not None:
            if target in self.built.slots:
                slot = self.built.slots[target]
            elif target in self.built.layers:
                layer = self.built.layers[target]
            else:
                raise AdapterBug(f"initialize target {target!r} is neither a layer nor a parameter")
        torch_init.initialize(self, self.model, layer, slot, init, seed, force_reinit)

    def forward(self, input, name="out", mode="predict", record=True, device="default"):
        x = self.torch.tensor(input, device=self.native_device(device))
        self.model.train(mode == "train")  # torch: dropout follows module.training, not autograd
        with self.recording(record):
            self.values[name] = self.model(x)

    def backward(self, of="out", loss=None, head=None, retain_graph=False):
        y = self.named(of)
        loss = loss or ("none" if head is not None else "sum")  # a head applies to the value itself
        target = {"sum": lambda: y.sum(), "mean": lambda: y.mean(), "none": lambda: y}[loss]()
        if head is not None:
            target.backward(gradient=self.torch.tensor(head, device=y.device), retain_graph=retain_graph)
        else:
            target.backward(retain_graph=retain_graph)

    def zero_grad(self):
        if self.model is not None:
            self.model.zero_grad()  # torch 2.x: set_to_none=True, the grads become None
        for value in self.values.values():
            if isinstance(value, self.torch.Tensor) and value.is_leaf and value.grad is not None:
                value.grad.zero_()

    def write_param(self, param, add=None, set=None, fill=None):
        write_data(self._param(param), add=add, set=set, fill=fill)

    def read_param(self, param):
        data = self._param(param).data  # the note's idiom: net[2].bias.data
        self.notes.setdefault("read_param", []).append(
            {"param": param, "type": type(self._param(param)).__name__, "data_shape": list(data.shape)}
        )
        return self.host_leaf(data)

    def sgd_step(self, lr):
        self.torch.optim.SGD(self.model.parameters(), lr=lr).step()

    def save_tensors(self, file, value):
        self.torch.save(self.to_native(value), self.file_path(file))

    def load_tensors(self, file, name):
        self.values[name] = self.torch.load(self.file_path(file), weights_only=True)

    def save_params(self, file):
        self.torch.save(self.model.state_dict(), self.file_path(file))

    def load_params(self, file, model=None, initialize=False, device=None):
        self.build(model if model is not None else self.spec)
        if initialize:
            self.initialize()
        location = self.native_device(device) if device is not None else None
        if location is not None:
            self.model.to(location)
        state = self.torch.load(self.file_path(file), weights_only=True, map_location=location)
        self.model.load_state_dict(state)
        self._drop_pending_inits()

    def _drop_pending_inits(self):
        """Loaded (materialized) values win over an initialization still waiting for forward."""
        from torch.nn.parameter import is_lazy

        for module in self.model.modules():
            if id(module) in self.pending_inits and not any(is_lazy(p) for p in module.parameters(False)):
                self.pending_inits.pop(id(module)).remove()

    def _leave_meta(self, tensors, dev) -> None:
        """Data cannot leave 'meta' (it has none): this machine cannot exercise the move."""
        if dev.type != "meta" and any(t.device.type == "meta" for t in tensors):
            raise Skip(f"{_META_SKIP} (torch: copying a meta tensor to {dev} raises "
                       "NotImplementedError: Cannot copy out of meta tensor; no data!)")

    def to_device(self, device, target="model"):
        dev = self.native_device(device)
        if target == "model":
            self._leave_meta(list(self.model.parameters()), dev)
            self.model.to(dev)  # in place for modules
        else:
            self._leave_meta([self.named(target)], dev)
            self.values[target] = self.named(target).to(dev)

    def tensor(self, name, value, requires_grad=False, device="default"):
        self.values[name] = self.torch.tensor(value, device=self.native_device(device), requires_grad=requires_grad)

    def native_leaf(self, array):
        return self.torch.tensor(array)

    # update "rebind": w - lr * w.grad is a new non-leaf tensor whose .grad stays None (base)
    def value_grad_native(self, name: str):
        return self.named(name).grad

    def update_in_place(self, w, grad, lr) -> None:
        with self.torch.no_grad():
            w -= lr * grad

    def copy_to(self, value, device, name, how):
        t = self.named(value)
        dev = self.native_device(device)
        self._leave_meta([t], dev)
        if how == "copy":
            self.values[name] = t.clone().to(dev)  # always new memory
        elif how == "move":
            self.values[name] = t.to(dev)  # same device: returns t itself
        else:
            raise AdapterBug(f"unknown copy_to how {how!r}")

    def to_numpy(self, value, name):
        t = self.named(value)
        self._leave_meta([t], self.torch.device("cpu"))
        array = host_copy(t)  # CPU: shares memory with t; GPU: a host copy
        self.notes.setdefault("to_numpy", []).append(
            {"value": value, "device": str(t.device), "shares_memory": bool(_shares(self.torch, t, array))}
        )
        self.values[name] = array

    def probe_is_training(self):
        raise Unsupported("torch has no autograd training mode; the idiom is module.train()/eval() "
                          f"(torch.is_grad_enabled() is {self.torch.is_grad_enabled()} outside no_grad)")

    def probe_devices(self):
        count = self.torch.cuda.device_count()
        listed = [f"cuda:{i}" for i in range(count)] or ["cpu"]  # the note's try_all_gpus()
        return {"default": "cpu", "second": self.second, "gpus": count, "listed": listed}

    def probe_default_device(self):
        return {"device": self.canonical_device(self.torch.tensor([1, 2, 3]).device)}

    # -- observers ----------------------------------------------------------
    def native_names(self) -> dict[str, str]:
        if self.built is None:
            return {}
        return {path: slot.native or f"<not registered: {path}>" for path, slot in self.built.slots.items()}

    def param_shape(self, path: str):
        from torch.nn.parameter import is_lazy

        p = self._param(path)
        return None if is_lazy(p) else tuple(int(d) for d in p.shape)

    def param_value(self, path: str) -> np.ndarray:
        return self.host_leaf(self._param(path))

    def param_grad(self, path: str):
        grad = self._param(path).grad
        return None if grad is None else self.host_leaf(grad)

    def set_param(self, path: str, value: np.ndarray) -> None:
        from torch.nn.parameter import is_lazy

        p = self._param(path)
        if is_lazy(p):
            p.materialize(tuple(value.shape))
        with self.torch.no_grad():
            p.copy_(self.torch.from_numpy(np.ascontiguousarray(value)))
        self._drop_pending_inits()

    def param_array(self, path: str):
        return self._param(path)

    def same_storage(self, kind: str, a: str, b: str) -> bool:
        return _same_storage(self.torch, self.array_of(kind, a), self.array_of(kind, b))

    def value_grad(self, name: str):
        t = self.named(name)
        if not isinstance(t, self.torch.Tensor):
            return None
        if not t.is_leaf:  # reading .grad of a non-leaf warns and gives None
            self.notes["value_grad_non_leaf"] = name
            return None
        return None if t.grad is None else self.host_leaf(t.grad)

    def canonical_device(self, device) -> str:
        if device.type == "cpu":
            return "default"
        return "second" if str(device) == self.second or device.type == self.second else "gpu"

    def device_of_array(self, tensor):
        return tensor.device


def _shares(torch, tensor, array: np.ndarray) -> bool:
    if tensor.device.type != "cpu":
        return False
    return np.shares_memory(array, tensor.detach().numpy())


def _same_storage(torch, a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            return bool(np.shares_memory(a, b))
        t, arr = (b, a) if isinstance(a, np.ndarray) else (a, b)
        return _shares(torch, t, arr)
    if a is b:
        return True
    if a.device != b.device:
        return False
    # One StorageImpl (views included); meta tensors have no data pointer to compare.
    if a.untyped_storage()._cdata == b.untyped_storage()._cdata:
        return True
    return a.device.type != "meta" and a.data_ptr() != 0 and a.data_ptr() == b.data_ptr()
