"""One case on PaddlePaddle: the steps as Paddle code and the observers that read Paddle state back.

Rule: every step does what a Paddle user writes (the Chinese edition's idioms: nn.Layer,
paddle.nn.initializer, stop_gradient, clear_gradients, paddle.save/paddle.load, set_state_dict);
nothing here judges. nn.Linear keeps its weight as (in, out); the observers answer in the
canonical (out, in) layout and `native_layouts` says so. The CPU build has one place,
CPUPlace(), so every step that needs a second device raises Skip.
"""

from __future__ import annotations

import contextlib

import numpy as np

from conformance.adapters.base import (
    AdapterBug,
    NamedParametersMixin,
    Session,
    Skip,
    Unsupported,
)
from conformance.adapters.paddle import init as paddle_init
from conformance.adapters.paddle.build import Builder
from conformance.adapters.paddle.models import classes, write_data
from conformance.adapters.paddle.notes import PaddleNotesMixin
from conformance.inputs import generate


def no_second_device(paddle) -> str:
    return (f"paddle {paddle.__version__} (CPU build) has one place, CPUPlace(), which takes no index "
            f"(set_device('cpu:1') raises ValueError); paddle.device.cuda.device_count() == "
            f"{paddle.device.cuda.device_count()}: a second device needs paddlepaddle-gpu and a GPU")


class PaddleSession(PaddleNotesMixin, NamedParametersMixin, Session):
    def __init__(self, adapter, workdir: str):
        super().__init__(adapter, workdir)
        self.C = classes()
        self.paddle = self.C.paddle
        self.spec: dict | None = None
        self.built = None
        self.model = None
        self.layer_inits: dict = {}  # id(layer) -> construction-time {weight: INIT, bias: INIT}
        self.input_shape = None      # shape of the case's first forward input (for in_features)
        # Each case starts from the same RNG state and fresh parameter names (linear_0.w_0, ...),
        # whatever ran before it: Paddle draws at construction and numbers layers globally.
        self.paddle.utils.unique_name.switch()
        self.paddle.seed(0)

    # -- helpers ------------------------------------------------------------
    def _place(self, name: str | None):
        if name in (None, "default"):
            return self.paddle.CPUPlace()
        if name == "second":
            raise Skip(no_second_device(self.paddle))
        raise AdapterBug(f"unknown device name {name!r}")

    def _canonical(self, path: str, array: np.ndarray) -> np.ndarray:
        return array.T.copy() if self._slot(path).transposed else array

    def host_leaf(self, tensor) -> np.ndarray:
        if isinstance(tensor, np.ndarray):
            return tensor.copy()
        return np.array(tensor.numpy())

    _host = host_leaf

    def recording(self, record: bool):
        """Paddle records every op on a tensor that does not stop gradient, unless paddle.no_grad()."""
        return contextlib.nullcontext() if record else self.paddle.no_grad()

    # -- lifecycle ----------------------------------------------------------
    def prepare(self, case) -> None:
        """Look ahead for the first forward input: its shape gives in_features (no deferral)."""
        for kind, args in case.steps:
            if kind == "forward":
                self.input_shape = tuple(generate(args["input"]).shape)
                break

    def build(self, model: dict) -> None:
        self.spec = model
        self.model = None
        self.layer_inits = {}
        self.built = Builder(self.input_shape).build(model)
        self.model = self.built.root
        if self.built.inferred:
            self.notes["in_features_from_first_input"] = dict(self.built.inferred)
        self.notes.update(self.built.notes)
        paddle_init.construction_inits(self, self.built.layer_inits)

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
        paddle_init.initialize(self, self.model, layer, slot, init, seed, force_reinit)

    def forward(self, input, name="out", mode="predict", record=True):
        paddle = self.paddle
        x = paddle.to_tensor(input)
        # Paddle: dropout follows Layer.training (train()/eval()); recording is paddle.no_grad().
        if mode == "train":
            self.model.train()
        else:
            self.model.eval()
        if record:
            self.values[name] = self.model(x)
        else:
            with paddle.no_grad():
                self.values[name] = self.model(x)

    def backward(self, of="out", loss=None, head=None, retain_graph=False):
        y = self.named(of)
        loss = loss or ("none" if head is not None else "sum")
        target = {"sum": lambda: y.sum(), "mean": lambda: y.mean(), "none": lambda: y}[loss]()
        grad = self.paddle.to_tensor(head) if head is not None else None
        # Paddle: a non-scalar target without grad_tensor gets a gradient of ones.
        target.backward(grad_tensor=grad, retain_graph=retain_graph)

    def zero_grad(self):
        if self.model is not None:
            self.model.clear_gradients()  # Paddle 3: set_to_zero=True, the gradients become zeros
        for value in self.values.values():
            if isinstance(value, self.paddle.Tensor) and not value.stop_gradient and value.grad is not None:
                value.clear_grad()

    def write_param(self, param, add=None, set=None, fill=None):
        slot = self._slot(param)
        index = None
        if set is not None:
            index = list(set["index"])
            if slot.transposed:
                index = index[::-1]  # canonical (out, in) index -> Paddle's (in, out)
        write_data(slot.get(), add=add, index=index, value=None if set is None else set["value"], fill=fill)

    def read_param(self, param):
        p = self._param(param)
        data = p.numpy()  # the book's idiom: net[2].bias.numpy() (or print(net[2].state_dict()))
        self.notes.setdefault("read_param", []).append(
            {"param": param, "type": type(p).__name__, "native_shape": list(data.shape)}
        )
        return self._canonical(param, data)

    def sgd_step(self, lr):
        self.paddle.optimizer.SGD(learning_rate=lr, parameters=self.model.parameters()).step()

    def save_tensors(self, file, value):
        self.paddle.save(_to_paddle(self.paddle, value), self.file_path(file))

    def load_tensors(self, file, name):
        self.values[name] = self.paddle.load(self.file_path(file))

    def save_params(self, file):
        self.paddle.save(self.model.state_dict(), self.file_path(file))

    def load_params(self, file, model=None, initialize=False, device=None):
        if device is not None:
            self._place(device)  # Skip before building when the device does not exist here
        self.build(model if model is not None else self.spec)
        if initialize:
            self.initialize()
        state = self.paddle.load(self.file_path(file))
        # set_state_dict does not raise on missing/unexpected/mis-shaped entries: it warns
        # "Skip loading for ..." and returns (missing_keys, unexpected_keys).
        missing, unexpected = self.model.set_state_dict(state)
        self.notes.setdefault("set_state_dict", []).append(
            {"missing_keys": list(missing), "unexpected_keys": list(unexpected)}
        )

    def to_device(self, device, target="model"):
        place = self._place(device)
        if target == "model":
            self.model.to(device=place)
        else:
            self.values[target] = self.named(target).to(place)

    def tensor(self, name, value, requires_grad=False, device="default"):
        place = self._place(device)
        # Tensors stop gradient by default; requires_grad is stop_gradient=False.
        t = self.paddle.to_tensor(value, place=place, stop_gradient=not requires_grad)
        # Its own name instead of generated_tensor_N, a counter of every tensor in the process
        # (Paddle's messages name the tensor; results must not depend on what ran before).
        t.name = name
        self.values[name] = t

    def value_grad_native(self, name: str):
        return self.named(name).grad

    def update_in_place(self, w, grad, lr) -> None:
        with self.paddle.no_grad():
            w.set_value(w - lr * grad)  # the book's sgd: param.set_value(...) keeps the leaf

    def copy_to(self, value, device, name, how):
        t = self.named(value)
        place = self._place(device)
        if how == "copy":
            self.values[name] = t.clone()  # always new memory (same place)
        elif how == "move":
            self.values[name] = t.to(place)  # same place: returns t itself
        else:
            raise AdapterBug(f"unknown copy_to how {how!r}")

    def to_numpy(self, value, name):
        t = self.named(value)
        array = t.numpy()
        self.notes.setdefault("to_numpy", []).append(
            {"value": value, "device": str(t.place), "shares_memory": bool(array.ctypes.data == t.data_ptr())}
        )
        self.values[name] = array

    # -- probes (the base dispatches `probe` to probe_<name>; the notes' probes are in notes.py) --
    def probe_is_training(self):
        raise Unsupported("paddle has no autograd training mode: recording is on unless paddle.no_grad(), "
                          "and dropout follows Layer.training, set by net.train()/net.eval()")

    def probe_devices(self):
        paddle = self.paddle
        count = paddle.device.cuda.device_count()
        listed = [f"gpu:{i}" for i in range(count)] or [str(paddle.CPUPlace())]  # the book's try_all_gpus()
        return {"default": str(paddle.CPUPlace()), "second": None, "gpus": count, "listed": listed}

    def probe_default_device(self):
        return {"device": self._canonical_place(self.paddle.to_tensor([1, 2, 3]).place)}

    # -- observers ----------------------------------------------------------
    def native_names(self) -> dict[str, str]:
        if self.built is None:
            return {}
        out = {}
        for path, slot in self.built.slots.items():
            param = slot.get()
            if slot.native:
                out[path] = f"{slot.native} ({param.name})"
            else:
                out[path] = f"<not registered: {param.name}>"
        return out

    def native_layouts(self) -> dict[str, str]:
        if self.built is None:
            return {}
        return {path: "(in, out): transposed" for path, slot in self.built.slots.items() if slot.transposed}

    def param_shape(self, path: str):
        shape = tuple(int(d) for d in self._param(path).shape)
        return shape[::-1] if self._slot(path).transposed else shape

    def param_value(self, path: str) -> np.ndarray:
        return self._canonical(path, self._host(self._param(path)))

    def param_grad(self, path: str):
        grad = self._param(path).grad
        return None if grad is None else self._canonical(path, self._host(grad))

    def set_param(self, path: str, value: np.ndarray) -> None:
        slot = self._slot(path)
        native = value.T if slot.transposed else value
        slot.get().set_value(np.ascontiguousarray(native, dtype=np.float32))

    def same_storage(self, kind: str, a: str, b: str) -> bool:
        get = self._param if kind == "param" else self.named
        return _same_storage(get(a), get(b))

    def value(self, name: str):
        return self.host(self.named(name))

    def value_grad(self, name: str):
        t = self.named(name)
        if not isinstance(t, self.paddle.Tensor):
            return None
        if not t.is_leaf:  # a non-leaf keeps no gradient
            self.notes["value_grad_non_leaf"] = name
            return None
        return None if t.grad is None else self._host(t.grad)

    def _canonical_place(self, place) -> str:
        if place.is_cpu_place():
            return "default"
        return "gpu" if place.is_gpu_place() else "second"

    def device_of(self, kind: str, name: str) -> dict:
        t = self._param(name) if kind == "param" else self.named(name)
        if isinstance(t, np.ndarray):
            return {"canonical": "default", "native": "numpy (host memory)"}
        return {"canonical": self._canonical_place(t.place), "native": str(t.place)}


def _to_paddle(paddle, value):
    if isinstance(value, list):
        return [_to_paddle(paddle, v) for v in value]
    if isinstance(value, dict):
        return {k: _to_paddle(paddle, v) for k, v in value.items()}
    return paddle.to_tensor(value)


def _same_storage(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            return bool(np.shares_memory(a, b))
        t, arr = (b, a) if isinstance(a, np.ndarray) else (a, b)
        return arr.ctypes.data == t.data_ptr()
    if a is b:
        return True
    if str(a.place) != str(b.place):
        return False
    return a.data_ptr() != 0 and a.data_ptr() == b.data_ptr()
