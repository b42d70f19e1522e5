"""The adapter for the bundled NumPy reference (`conformance.reference`), the specs' norm.

Rule: it drives the reference the way the notes drive Gluon and asserts nothing. Each
session owns its random generator and name counters (swapped in around every call), so
cases never leak state into one another. Canonical paths come from the reference's
registries (`_reg_params`, `_children`); Dense weights are already (out, in).
"""

from __future__ import annotations

import functools
import os
from collections import Counter

import numpy as np

from conformance.adapters.base import Adapter, AdapterBug, Session, Unsupported, run_compute


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _scoped(method):
    """Run a session method with the session's generator and name counters active."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.ref.rng.use(self._generator), self.ref.naming.use(self._names):
            return method(self, *args, **kwargs)

    return wrapper


class ReferenceSession(Session):
    """One case on the reference: the model (Block or ParameterDict) and named values."""

    def __init__(self, adapter: ReferenceAdapter, workdir: str):
        super().__init__(adapter, workdir)
        from conformance import reference

        self.ref = reference
        self._generator = np.random.default_rng(0)
        self._names: Counter = Counter()
        self.model = None
        self.model_spec = None
        self.device = reference.device.default_device()  # where initialize() puts parameters
        self.values: dict = {}

    # -- building -------------------------------------------------------------
    def _build(self, spec: dict):
        return self.ref.spec_build.ModelBuilder(on_init_call=self._log_init).build(spec)

    @_scoped
    def build(self, model: dict) -> None:
        self.model_spec = model
        self.model = self._build(model)

    def _log_init(self, native: str, shape: tuple) -> None:
        by_native = {}
        for path, obj in self._walk():
            if isinstance(obj, self.ref.Parameter):
                by_native.setdefault(obj.name, path)
        self.init_calls.append(
            {"name": by_native.get(native, native), "shape": list(shape), "step": self.current_step}
        )

    # -- canonical paths ------------------------------------------------------------
    def _walk(self, model=None) -> list[tuple[str, object]]:
        """(path, block or Parameter) through the registries, every path of a shared one."""
        model = self.model if model is None else model
        if model is None:
            return []
        if isinstance(model, self.ref.ParameterDict):
            return list(model.items())
        found: list[tuple[str, object]] = []

        def visit(block, prefix):
            for attr, param in block._reg_params.items():
                found.append((_join(prefix, attr), param))
            for key, child in block._children.items():
                path = _join(prefix, key)
                found.append((path, child))
                visit(child, path)

        visit(model, "")
        return found

    def _resolve(self, path: str):
        """A block or Parameter by canonical path; plain attributes (a list of layers that
        is not registered) are followed too so they can still be inspected."""
        for found_path, obj in self._walk():
            if found_path == path:
                return obj
        obj = self.model
        for token in path.split("."):
            if isinstance(obj, (list, tuple)) and token.isdigit() and int(token) < len(obj):
                obj = obj[int(token)]
            elif isinstance(obj, self.ref.Block) and token in obj._reg_params:
                obj = obj._reg_params[token]
            elif isinstance(obj, self.ref.Block) and token in obj._children:
                obj = obj._children[token]
            elif isinstance(obj, self.ref.ParameterDict) and token in obj:
                obj = obj[token]
            elif hasattr(obj, token) and not token.startswith("_"):
                obj = getattr(obj, token)
            else:
                raise AdapterBug(f"reference: no block or parameter at path {path!r}")
        return obj

    def _param(self, path: str):
        obj = self._resolve(path)
        if not isinstance(obj, self.ref.Parameter):
            raise AdapterBug(f"reference: {path!r} is a {type(obj).__name__}, not a Parameter")
        return obj

    def _unique_params(self, trainable_only: bool = True) -> list[tuple[str, object]]:
        """Each parameter once, under its first path; constants (grad_req 'null') only
        when asked for."""
        seen, out = set(), []
        for path, obj in self._walk():
            if isinstance(obj, self.ref.Parameter) and id(obj) not in seen:
                seen.add(id(obj))
                if obj.grad_req != "null" or not trainable_only:
                    out.append((path, obj))
        return out

    def _device(self, name):
        if name in (None, "default"):
            return self.ref.device.default_device()
        if name == "second":
            return self.ref.vdev(1)
        raise AdapterBug(f"reference: unknown device {name!r}")

    # -- steps ------------------------------------------------------------------
    @_scoped
    def initialize(self, init="default", force_reinit=False, target=None, seed=None):
        rng = np.random.default_rng(seed) if seed is not None else None
        initializer = self.ref.spec_build.make_init(init, on_call=self._log_init)
        obj = self.model if target is None else self._resolve(target)
        if isinstance(obj, self.ref.Parameter):
            # 000 §4.2.2: net[0].weight.initialize(init=init.Xavier(), force_reinit=True)
            obj.initialize(init=initializer, device=self.device, force_reinit=force_reinit, rng=rng)
        else:  # a Block (net.initialize / net[1].initialize) or a ParameterDict
            obj.initialize(initializer, device=self.device, force_reinit=force_reinit, rng=rng)

    @_scoped
    def forward(self, input, name="out", mode="predict", record=True, device=None):
        if isinstance(self.model, self.ref.ParameterDict):
            raise Unsupported("a ParameterDict has no forward; it only holds Parameters")
        x = self.ref.Tensor(input, device=self._device(device))
        autograd = self.ref.autograd
        if record:
            scope = autograd.record(train_mode=(mode == "train"))
        else:
            scope = autograd.train_mode() if mode == "train" else autograd.predict_mode()
        with scope:
            self.values[name] = self.model(x)

    @_scoped
    def backward(self, of="out", loss="sum", head=None, retain_graph=False):
        y = self.values[of]
        if head is not None:
            out_grad = self.ref.Tensor(head, device=y.device)
        elif loss == "sum":
            out_grad = self.ref.ones(y.shape, device=y.device, dtype=y.dtype)  # d(y.sum())/dy
        elif loss == "mean":
            out_grad = self.ref.ones(y.shape, device=y.device, dtype=y.dtype) / max(y.size, 1)
        else:
            out_grad = None  # y.backward() as it is: a non-scalar is summed implicitly
        y.backward(out_grad, retain_graph=retain_graph)

    @_scoped
    def zero_grad(self):
        for _, param in self._unique_params():
            param.zero_grad()
        for value in self.values.values():
            if isinstance(value, self.ref.Tensor) and value.grad is not None:
                value.grad[:] = 0

    @_scoped
    def write_param(self, param, add=None, set=None, fill=None):
        p = self._param(param)
        if add is not None:
            p.set_data(p.data() + add)  # 000 §4.2.3: set_data(data() + 1)
        if set is not None:
            p.data()[tuple(set["index"])] = set["value"]  # writes through the data array
        if fill is not None:
            p.data()[:] = fill

    @_scoped
    def read_param(self, param):
        return self._param(param).data().asnumpy()

    @_scoped
    def sgd_step(self, lr):
        for _, param in self._unique_params():
            param.data()[:] = param.data() - lr * param.grad()  # 004: param[:] -= lr * grad

    def _path(self, file: str) -> str:
        return os.path.join(self.workdir, file)

    def _to_tensor(self, value):
        if isinstance(value, dict):
            return {key: self._to_tensor(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._to_tensor(item) for item in value]
        return self.ref.Tensor(value)

    @_scoped
    def save_tensors(self, file, value):
        self.notes["tensor_format"] = ".npz read with allow_pickle=False (no pickle)"
        self.ref.save(self._path(file), self._to_tensor(value))

    @_scoped
    def load_tensors(self, file, name):
        self.values[name] = self.ref.load(self._path(file))

    @_scoped
    def save_params(self, file):
        self.ref.serialization.save_parameters(self.model, self._path(file))

    @_scoped
    def load_params(self, file, model=None, initialize=False, device=None):
        spec = self.model_spec if model is None else model
        target = self._device(device) if device is not None else None
        fresh = self._build(spec)
        if initialize:
            fresh.initialize(device=target)
        self.ref.serialization.load_parameters(fresh, self._path(file), device=target)
        self.model, self.model_spec = fresh, spec
        self.device = target or self.ref.device.default_device()

    @_scoped
    def to_device(self, device, target="model"):
        dev = self._device(device)
        if target != "model":
            self.values[target] = self.values[target].as_in_context(dev)
            return
        for _, param in self._unique_params(trainable_only=False):
            param.reset_device(dev)  # net.collect_params().reset_ctx(ctx)
        self.device = dev

    @_scoped
    def tensor(self, name, value, requires_grad=False, device="default"):
        x = self.ref.Tensor(value, device=self._device(device))
        if requires_grad:
            x.attach_grad()
        self.values[name] = x

    @_scoped
    def compute(self, fn, args, out, record=True):
        xs = [self.values[a] for a in args]
        autograd = self.ref.autograd
        with autograd.record() if record else autograd.pause():
            result = run_compute(fn, xs)
        self.values[out] = result

    @_scoped
    def update(self, value, lr, how):
        w = self.values[value]
        grad = self.ref.tensor.grad_of(w)
        if how == "rebind":
            self.values[value] = w - lr * grad  # 002: a new array, without attach_grad
        else:
            w[:] = w - lr * grad  # 002: param[:] = param - lr * param.grad keeps the buffer

    @_scoped
    def copy_to(self, value, device, name, how):
        x = self.values[value]
        dev = self._device(device)
        # 000 §4.6: copyto always allocates; as_in_context returns x itself on its device
        self.values[name] = x.copyto(dev) if how == "copy" else x.as_in_context(dev)

    @_scoped
    def to_numpy(self, value, name):
        self.values[name] = self.values[value].asnumpy()

    @_scoped
    def probe(self, name, **args):
        ref = self.ref
        if name == "is_training":
            with ref.autograd.record():
                inside = ref.autograd.is_training()
            return {"inside_recording": inside, "outside_recording": ref.autograd.is_training()}
        if name == "devices":
            return {
                "default": str(ref.device.default_device()),
                "second": str(ref.vdev(1)),
                "gpus": ref.num_gpus(),
                "listed": [str(d) for d in ref.device.available()],
            }
        if name == "try_gpu":
            dev = ref.try_gpu()
            return {"device": str(dev), "canonical": self._canonical_device(dev)}
        if name == "structure":
            return {"text": repr(self.model)}
        if name == "param_type":
            params = [obj for _, obj in self._walk() if isinstance(obj, ref.Parameter)]
            return {"class": type(params[0]).__name__ if params else None}
        if name == "default_device":
            return {"device": self._canonical_device(ref.ones((1,)).device)}
        raise Unsupported(f"reference adapter has no probe {name!r}")

    # -- observers ------------------------------------------------------------------
    def param_paths(self) -> list[str]:
        return [path for path, _ in self._unique_params()]

    def native_names(self) -> dict[str, str]:
        return {path: obj.name for path, obj in self._walk() if isinstance(obj, self.ref.Parameter)}

    def param_shape(self, path: str):
        shape = self._param(path).shape
        # an unknown dimension is 0: (256, 0) means "not known yet"
        if shape is None or any(int(d) == 0 for d in shape):
            return None
        return tuple(int(d) for d in shape)

    def param_value(self, path: str) -> np.ndarray:
        return self._param(path).data().asnumpy()

    def param_grad(self, path: str):
        p = self._param(path)
        if p.grad_req == "null":
            return None
        return p.grad().asnumpy()

    @_scoped
    def set_param(self, path: str, value: np.ndarray) -> None:
        self._param(path).set_data(value)

    def _array(self, kind: str, name: str):
        if kind == "param":
            return self._param(name).data()._data
        value = self.values[name]
        return value._data if isinstance(value, self.ref.Tensor) else value

    def same_storage(self, kind: str, a: str, b: str) -> bool:
        return bool(np.shares_memory(self._array(kind, a), self._array(kind, b)))

    def _host(self, value):
        if isinstance(value, dict):
            return {key: self._host(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._host(item) for item in value]
        if isinstance(value, self.ref.Tensor):
            return value.asnumpy()
        return np.array(value)

    def value(self, name: str):
        return self._host(self.values[name])

    def value_grad(self, name: str):
        x = self.values[name]
        if not isinstance(x, self.ref.Tensor) or x.grad is None:
            return None
        return x.grad.asnumpy()

    def _canonical_device(self, dev) -> str:
        if dev == self.ref.device.default_device():
            return "default"
        if dev == self.ref.vdev(1):
            return "second"
        return "gpu" if dev.kind == "gpu" else str(dev)

    def device_of(self, kind: str, name: str) -> dict:
        if kind == "param":
            dev = self._param(name).device
        else:
            value = self.values[name]
            if not isinstance(value, self.ref.Tensor):
                return {"canonical": "default", "native": "numpy.ndarray (host memory)"}
            dev = value.device
        return {"canonical": self._canonical_device(dev), "native": str(dev)}


# The reference's own exception classes -> canonical kinds (most specific first).
_ERROR_KINDS = (
    ("MissingSuperInitError", "missing_super_init"),
    ("NotInitializedError", "not_initialized"),
    ("LoadShapeMismatchError", "shape_mismatch"),  # found by name, another shape
    ("LoadMismatchError", "load_mismatch"),
    ("ShapeMismatchError", "shape_mismatch"),
    ("DeviceMismatchError", "device_mismatch"),
    ("GraphFreedError", "graph_freed"),
    ("NotInGraphError", "no_gradient"),
    ("NoGradientError", "no_gradient"),
    ("InplaceInRecordingError", "inplace_in_recording"),
    ("UnsafeFileError", "other"),
)


class ReferenceAdapter(Adapter):
    framework_name = "reference"

    def load(self) -> None:
        from conformance import reference  # noqa: F401 - NumPy only, always importable

    def version(self) -> str:
        try:
            from conformance import __version__
        except ImportError:
            return "0.1.0"
        return __version__

    def devices(self) -> dict:
        return {"default": "cpu(0)", "second": "vdev(1)", "kind": "virtual"}

    def new_session(self, workdir: str) -> Session:
        return ReferenceSession(self, workdir)

    def classify_error(self, exc: BaseException, phase: str) -> str:
        from conformance.reference import errors

        for class_name, kind in _ERROR_KINDS:
            if isinstance(exc, getattr(errors, class_name)):
                return kind
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
            return "bad_filename"
        return "other"

    def snippet(self, case) -> str:
        from conformance.reference.snippet import snippet

        return snippet(case)
