"""One case on MXNet 1.x (Gluon): the steps, written the way the notes write Gluon code.

Rule: MXNet is imported inside methods only. The session executes and observes; it asserts
nothing. Each MXNet quirk the kit relies on is commented where it is used.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from conformance.adapters.base import AdapterBug, Session, Unsupported, run_compute
from conformance.adapters.mxnet_errors import classify, meaningful_line
from conformance.adapters.mxnet_inits import make_init
from conformance.adapters.mxnet_models import ModelBuilder
from conformance.adapters.mxnet_paths import data_pointer, resolve, unique_params, walk


class MissingValue(LookupError):
    """An observer asked for a value that an earlier (failed) step never made."""


class MxnetSession(Session):
    """One case on MXNet: the model (a Block, or a ParameterDict), named NDArrays, contexts."""

    def __init__(self, adapter, workdir: str):
        super().__init__(adapter, workdir)
        import mxnet as mx

        self.mx, self.nd, self.autograd, self.gluon = mx, mx.nd, mx.autograd, mx.gluon
        # Every case starts from the same random state, whatever ran before it.
        mx.random.seed(0)
        np.random.seed(0)
        # A fresh NameManager restarts Gluon's name counters (dense0_, dense1_, ...), so
        # native names do not depend on how many blocks earlier cases built.
        mx.name.NameManager._current.value = mx.name.NameManager()
        self.model = None
        self.model_spec = None
        self.ctx = adapter.default_ctx()  # where initialize() puts the model's parameters
        self.values: dict = {}
        # MXNet gives one message for "graph freed" and "never recorded": remember when each
        # value was recorded and when a backward without retain_graph last freed graphs.
        self._recorded_at: dict[str, int] = {}  # value name -> clock when recorded
        self._clock = 0
        self._freed_at = -1
        self._repeated_backward = False

    # -- building -------------------------------------------------------------
    def _build(self, spec: dict):
        return ModelBuilder(on_init_call=self._log_init).build(spec)

    def build(self, model: dict) -> None:
        self.model_spec = model
        self.model = self._build(model)

    def _log_init(self, native: str, shape: tuple) -> None:
        by_native = {}
        for path, obj in self._walk():
            if isinstance(obj, self.gluon.Parameter):
                by_native.setdefault(obj.name, path)
        self.init_calls.append(
            {"name": by_native.get(native, native), "shape": list(shape), "step": self.current_step}
        )

    # -- canonical paths (mxnet_paths) ---------------------------------------------
    def _walk(self) -> list[tuple[str, object]]:
        return walk(self.model)

    def _resolve(self, path: str):
        return resolve(self.model, path)

    def _param(self, path: str):
        obj = self._resolve(path)
        if not isinstance(obj, self.gluon.Parameter):
            raise AdapterBug(f"mxnet: {path!r} is a {type(obj).__name__}, not a Parameter")
        return obj

    def _unique_params(self) -> list[tuple[str, object]]:
        return unique_params(self.model)

    # -- steps ------------------------------------------------------------------
    def initialize(self, init="default", force_reinit=False, target=None, seed=None):
        if seed is not None:
            self.mx.random.seed(seed)
            np.random.seed(seed)
        initializer = make_init(init, on_call=self._log_init)
        # A second initialize() without force_reinit: Gluon's Parameter.initialize calls
        # warnings.warn("Parameter '...' is already initialized, ignoring. Set force_reinit=True
        # ...") (a UserWarning, not logging), once per parameter whose data exists; a parameter
        # still deferred (shape (256, 0)) takes the new initializer silently.
        obj = self.model if target is None else self._resolve(target)
        if isinstance(obj, self.gluon.Parameter):
            # 000 §4.2.2: net[0].weight.initialize(init=init.Xavier(), force_reinit=True)
            obj.initialize(init=initializer, ctx=self.ctx, force_reinit=force_reinit)
        else:  # a Block (net.initialize / net[1].initialize) or a ParameterDict
            obj.initialize(
                initializer or self.mx.init.Uniform(), ctx=self.ctx, force_reinit=force_reinit
            )

    def forward(self, input, name="out", mode="predict", record=True):
        if isinstance(self.model, self.gluon.ParameterDict):
            raise Unsupported("a gluon.ParameterDict has no forward; it only holds Parameters")
        x = self.nd.array(input, ctx=self.adapter.default_ctx(), dtype=input.dtype)
        if record:
            scope = self.autograd.record(train_mode=(mode == "train"))
        else:
            scope = self.autograd.train_mode() if mode == "train" else self.autograd.predict_mode()
        with scope:
            self.values[name] = self.model(x)
        self._stamp(name, record)

    def backward(self, of="out", loss="sum", head=None, retain_graph=False):
        y = self._named(of)
        if head is not None:
            out_grad = self.nd.array(head, ctx=y.context, dtype=head.dtype)
        elif loss == "sum":
            out_grad = self.nd.ones_like(y)  # d(y.sum())/dy: the forward already left record()
        elif loss == "mean":
            out_grad = self.nd.ones_like(y) / y.size
        else:
            out_grad = None  # y.backward() as it is: MXNet sums a non-scalar implicitly
        self._repeated_backward = self._recorded_at.get(of, self._clock + 1) < self._freed_at
        y.backward(out_grad=out_grad, retain_graph=retain_graph)
        if not retain_graph:
            self._freed_at = self._tick()

    def zero_grad(self):
        for _, param in self._unique_params():
            param.zero_grad()
        for value in self.values.values():
            if isinstance(value, self.nd.NDArray) and value.grad is not None:
                value.grad[:] = 0

    def write_param(self, param, add=None, set=None, fill=None):
        p = self._param(param)
        if add is not None:
            p.set_data(p.data() + add)  # 000 §4.2.3: set_data(data() + 1)
        if set is not None:
            p.data()[tuple(set["index"])] = set["value"]  # writes through the data array
        if fill is not None:
            p.data()[:] = fill

    def read_param(self, param):
        return self._param(param).data().asnumpy()

    def sgd_step(self, lr):
        for _, param in self._unique_params():
            if param.grad_req != "null":
                param.data()[:] = param.data() - lr * param.grad()  # 004: param[:] -= lr * grad

    def _path(self, file: str) -> str:
        return os.path.join(self.workdir, file)

    def _to_nd(self, value):
        if isinstance(value, dict):
            return {key: self._to_nd(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._to_nd(item) for item in value]
        return self.nd.array(value, ctx=self.adapter.default_ctx(), dtype=value.dtype)

    def save_tensors(self, file, value):
        # nd.save writes MXNet's own binary NDArray format (no pickle); a single array,
        # a list or a str-keyed dict.
        self.notes["tensor_format"] = "mxnet.nd.save binary NDArray list/dict (no pickle)"
        self.nd.save(self._path(file), self._to_nd(value))

    def load_tensors(self, file, name):
        # nd.load returns a list for an array or a list, a dict for a dict.
        self.values[name] = self.nd.load(self._path(file))

    def save_params(self, file):
        if isinstance(self.model, self.gluon.ParameterDict):
            self.model.save(self._path(file))
        else:
            self.model.save_parameters(self._path(file))  # 000 §4.5.2

    def load_params(self, file, model=None, initialize=False, device=None):
        spec = self.model_spec if model is None else model
        ctx = self.adapter.ctx_of(device or "default")
        fresh = self._build(spec)
        if initialize:
            fresh.initialize(self.mx.init.Uniform(), ctx=ctx)
        if isinstance(fresh, self.gluon.ParameterDict):
            fresh.load(self._path(file), ctx=ctx)
        else:
            fresh.load_parameters(self._path(file), ctx=ctx)  # 000 §4.5.2: net2.load_parameters
        self.model, self.model_spec, self.ctx = fresh, spec, ctx

    def to_device(self, device, target="model"):
        ctx = self.adapter.ctx_of(device)
        if target != "model":
            self.values[target] = self._named(target).as_in_context(ctx)
            return
        for _, param in self._unique_params():
            # Parameters not initialized yet have no context; initialize() will use self.ctx
            # (the note's idiom is net.initialize(ctx=mx.gpu())).
            if param._data is not None or param._deferred_init:
                param.reset_ctx(ctx)
        self.ctx = ctx

    def tensor(self, name, value, requires_grad=False, device="default"):
        x = self.nd.array(value, ctx=self.adapter.ctx_of(device), dtype=value.dtype)
        if requires_grad:
            x.attach_grad()
        self.values[name] = x

    def compute(self, fn, args, out, record=True):
        xs = [self._named(a) for a in args]
        with self.autograd.record() if record else contextlib.nullcontext():
            result = run_compute(fn, xs)
        self.values[out] = result
        self._stamp(out, record)

    def _stamp(self, name: str, recorded: bool) -> None:
        if recorded:
            self._recorded_at[name] = self._tick()
        else:
            self._recorded_at.pop(name, None)

    def _tick(self) -> int:
        self._clock += 1
        return self._clock

    def update(self, value, lr, how):
        w = self._named(value)
        if how == "rebind":
            self.values[value] = w - lr * w.grad  # 002: a new NDArray, without attach_grad
        else:
            w[:] = w - lr * w.grad  # 002: param[:] = param - lr * param.grad keeps the buffer

    def copy_to(self, value, device, name, how):
        x = self._named(value)
        ctx = self.adapter.ctx_of(device)
        # 000 §4.6: copyto always allocates; as_in_context returns x itself on its own context
        self.values[name] = x.copyto(ctx) if how == "copy" else x.as_in_context(ctx)

    def to_numpy(self, value, name):
        self.values[name] = self._named(value).asnumpy()

    def probe(self, name, **args):
        mx, autograd = self.mx, self.autograd
        if name == "is_training":
            with autograd.record():
                inside = autograd.is_training()
            return {
                "inside_recording": bool(inside),
                "outside_recording": bool(autograd.is_training()),
            }
        if name == "devices":
            second = self.adapter.second_ctx()
            return {
                "default": str(self.adapter.default_ctx()),
                "second": str(second),
                "gpus": mx.context.num_gpus(),
                "listed": [str(mx.cpu(0))] + [str(mx.gpu(i)) for i in range(mx.context.num_gpus())],
            }
        if name == "try_gpu":
            ctx = self.adapter.try_gpu()
            return {
                "device": str(ctx),
                "canonical": "gpu" if ctx.device_type == "gpu" else "default",
            }
        if name == "structure":
            return {"text": str(self.model)}
        if name == "param_type":
            objs = [obj for _, obj in self._walk() if isinstance(obj, self.gluon.Parameter)]
            return {"class": type(objs[0]).__name__ if objs else None}
        if name == "default_device":
            return {"device": self._canonical_ctx(self.nd.ones((1,)).context)}
        raise Unsupported(f"mxnet adapter has no probe {name!r}")

    # -- observers ------------------------------------------------------------------
    def param_paths(self) -> list[str]:
        return [path for path, _ in self._unique_params()]

    def native_names(self) -> dict[str, str]:
        return {
            path: obj.name for path, obj in self._walk() if isinstance(obj, self.gluon.Parameter)
        }

    def param_shape(self, path: str):
        shape = self._param(path).shape
        # Gluon writes an unknown dimension as 0: (256, 0) means "not known yet".
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

    def set_param(self, path: str, value: np.ndarray) -> None:
        p = self._param(path)
        p.set_data(self.nd.array(value, dtype=p.dtype))

    def _named(self, name: str):
        if name not in self.values:
            raise MissingValue(f"no value named {name!r}: the step that makes it did not run")
        return self.values[name]

    def _array(self, kind: str, name: str):
        return self._param(name).data() if kind == "param" else self._named(name)

    def same_storage(self, kind: str, a: str, b: str) -> bool:
        return data_pointer(self._array(kind, a)) == data_pointer(self._array(kind, b))

    def _host(self, value):
        if isinstance(value, dict):
            return {key: self._host(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._host(item) for item in value]
        if isinstance(value, self.nd.NDArray):
            return value.asnumpy()
        return np.asarray(value)

    def value(self, name: str):
        return self._host(self._named(name))

    def value_grad(self, name: str):
        x = self._named(name)
        if not isinstance(x, self.nd.NDArray) or x.grad is None:
            return None
        return x.grad.asnumpy()

    def _canonical_ctx(self, ctx) -> str:
        if ctx == self.adapter.default_ctx():
            return "default"
        if ctx == self.adapter.second_ctx():
            return "second"
        return "gpu" if ctx.device_type == "gpu" else str(ctx)

    def device_of(self, kind: str, name: str) -> dict:
        x = self._array(kind, name)
        if isinstance(x, np.ndarray):
            return {"canonical": "default", "native": "numpy.ndarray (host memory)"}
        return {"canonical": self._canonical_ctx(x.context), "native": str(x.context)}

    def classify_error(self, exc: BaseException, phase: str) -> str:
        self.notes.setdefault("error_lines", []).append(meaningful_line(exc))
        return classify(exc, phase, repeated_backward=self._repeated_backward)
