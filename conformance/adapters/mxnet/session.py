"""One case on MXNet 1.x (Gluon): the steps, written the way the notes write Gluon code.

Rule: MXNet is imported inside methods only. The session executes and observes; it asserts
nothing. What Gluon shares with the reference (registries, Parameter data, NDArray steps)
lives in `base.BlockTreeSession`; this class keeps what is MXNet's own. Canonical paths
join child names with dots: Sequential children by index, named blocks by attribute
(`Block._children`), parameters by their registered name (`Block._reg_params`);
MySequential's children, which the note keys by block name ("dense0"), are numbered by
position instead. Each MXNet quirk the kit relies on is commented where it is used.
"""

from __future__ import annotations

import contextlib

import numpy as np

from conformance.adapters.base import BlockTreeSession
from conformance.adapters.mxnet.notes import MxnetNotesMixin
from conformance.adapters.mxnet.errors import classify, meaningful_line
from conformance.adapters.mxnet.init import make_init
from conformance.adapters.mxnet.models import ModelBuilder, blocks


class MxnetSession(MxnetNotesMixin, BlockTreeSession):
    """One case on MXNet: the model (a Block, or a ParameterDict), named NDArrays, contexts."""

    def __init__(self, adapter, workdir: str):
        super().__init__(adapter, workdir)
        import mxnet as mx

        self.mx, self.nd, self.autograd, self.gluon = mx, mx.nd, mx.autograd, mx.gluon
        self.Block, self.Parameter, self.ParameterDict = mx.gluon.Block, mx.gluon.Parameter, mx.gluon.ParameterDict
        self.Array = mx.nd.NDArray
        self._my_sequential = blocks()["MySequential"]
        # Every case starts from the same random state, whatever ran before it.
        mx.random.seed(0)
        np.random.seed(0)
        # A fresh NameManager restarts Gluon's name counters (dense0_, dense1_, ...), so
        # native names do not depend on how many blocks earlier cases built.
        mx.name.NameManager._current.value = mx.name.NameManager()
        self.model_spec = None
        self.ctx = adapter.default_ctx()  # where initialize() puts the model's parameters
        # MXNet gives one message for "graph freed" and "never recorded": remember when each
        # value was recorded and when a backward without retain_graph last freed graphs.
        self._recorded_at: dict[str, int] = {}  # value name -> clock when recorded
        self._clock = 0
        self._freed_at = -1
        self._repeated_backward = False

    # -- building and paths ---------------------------------------------------------
    def _build(self, spec: dict):
        return ModelBuilder(on_init_call=self.log_init).build(spec)

    def build(self, model: dict) -> None:
        self.model_spec = model
        self.model = self._build(model)

    def children_of(self, block) -> list:
        children = list(block._children.items())
        if (isinstance(block, self._my_sequential) or getattr(block, "_kit_numbered", False)
                or any(not isinstance(k, str) for k, _ in children)):
            # its _children are keyed by block.name ("dense0"); canonical paths use the index
            return [(str(i), child) for i, (_, child) in enumerate(children)]
        return children

    def is_constant(self, param) -> bool:
        return isinstance(param, self.gluon.Constant)

    def make_array(self, value, device):
        return self.nd.array(value, ctx=self.adapter.ctx_of(device), dtype=value.dtype)

    def native_leaf(self, array):
        return self.make_array(array, "default")

    def native_device(self, name):
        return self.adapter.ctx_of(name or "default")

    # -- steps ------------------------------------------------------------------
    def initialize(self, init="default", force_reinit=False, target=None, seed=None):
        if seed is not None:
            self.mx.random.seed(seed)
            np.random.seed(seed)
        if isinstance(init, dict) and "load" in init:  # 000's table: init.Load(param file)
            init = {"load": dict(init["load"], file=self.file_path(init["load"]["file"]))}
        initializer = make_init(init, on_call=self.log_init)
        # A second initialize() without force_reinit: Gluon's Parameter.initialize calls
        # warnings.warn("Parameter '...' is already initialized, ignoring. Set force_reinit=True
        # ...") (a UserWarning, not logging), once per parameter whose data exists; a parameter
        # still deferred (shape (256, 0)) takes the new initializer silently.
        obj = self.model if target is None else self.resolve(target)
        if isinstance(obj, self.gluon.Parameter):
            # 000 §4.2.2: net[0].weight.initialize(init=init.Xavier(), force_reinit=True)
            obj.initialize(init=initializer, ctx=self.ctx, force_reinit=force_reinit)
        else:  # a Block (net.initialize / net[1].initialize) or a ParameterDict
            obj.initialize(
                initializer or self.mx.init.Uniform(), ctx=self.ctx, force_reinit=force_reinit
            )

    def backward(self, of="out", loss="sum", head=None, retain_graph=False):
        y = self.named(of)
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

    def save_tensors(self, file, value):
        # nd.save writes MXNet's own binary NDArray format (no pickle); a single array,
        # a list or a str-keyed dict.
        self.notes["tensor_format"] = "mxnet.nd.save binary NDArray list/dict (no pickle)"
        self.nd.save(self.file_path(file), self.to_native(value))

    def load_tensors(self, file, name):
        # nd.load returns a list for an array or a list, a dict for a dict.
        self.values[name] = self.nd.load(self.file_path(file))

    def save_params(self, file):
        if isinstance(self.model, self.gluon.ParameterDict):
            self.model.save(self.file_path(file))
        else:
            self.model.save_parameters(self.file_path(file))  # 000 §4.5.2

    def load_params(self, file, model=None, initialize=False, device=None):
        spec = self.model_spec if model is None else model
        ctx = self.adapter.ctx_of(device or "default")
        fresh = self._build(spec)
        if initialize:
            fresh.initialize(self.mx.init.Uniform(), ctx=ctx)
        if isinstance(fresh, self.gluon.ParameterDict):
            fresh.load(self.file_path(file), ctx=ctx)
        else:
            fresh.load_parameters(self.file_path(file), ctx=ctx)  # 000 §4.5.2: net2.load_parameters
        self.model, self.model_spec, self.ctx = fresh, spec, ctx

    def to_device(self, device, target="model"):
        ctx = self.adapter.ctx_of(device)
        if target != "model":
            self.values[target] = self.named(target).as_in_context(ctx)
            return
        for _, param in self.unique_params():
            # Parameters not initialized yet have no context; initialize() will use self.ctx
            # (the note's idiom is net.initialize(ctx=mx.gpu())).
            if param._data is not None or param._deferred_init:
                param.reset_ctx(ctx)
        self.ctx = ctx

    def recording(self, record: bool):
        return self.autograd.record() if record else contextlib.nullcontext()

    def produced(self, name: str, recorded: bool) -> None:
        if recorded:
            self._recorded_at[name] = self._tick()
        else:
            self._recorded_at.pop(name, None)

    def _tick(self) -> int:
        self._clock += 1
        return self._clock

    # 002: update "rebind" is w - lr * w.grad, a new NDArray without attach_grad (base)

    def probe_devices(self):
        mx = self.mx
        return {
            "default": str(self.adapter.default_ctx()),
            "second": str(self.adapter.second_ctx()),
            "gpus": mx.context.num_gpus(),
            "listed": [str(mx.cpu(0))] + [str(mx.gpu(i)) for i in range(mx.context.num_gpus())],
        }

    def probe_default_device(self):
        return {"device": self.canonical_device(self.nd.ones((1,)).context)}

    # -- observers ------------------------------------------------------------------
    def set_param(self, path: str, value: np.ndarray) -> None:
        p = self.param(path)
        p.set_data(self.nd.array(value, dtype=p.dtype))

    def param_array(self, path: str):
        return self.param(path).data()

    def same_storage(self, kind: str, a: str, b: str) -> bool:
        return data_pointer(self.array_of(kind, a)) == data_pointer(self.array_of(kind, b))

    def device_of_array(self, array):
        return array.context

    def canonical_device(self, ctx) -> str:
        if ctx == self.adapter.default_ctx():
            return "default"
        if ctx == self.adapter.second_ctx():
            return "second"
        return "gpu" if ctx.device_type == "gpu" else str(ctx)

    def classify_error(self, exc: BaseException, phase: str) -> str:
        self.notes.setdefault("error_lines", []).append(meaningful_line(exc))
        return classify(exc, phase, repeated_backward=self._repeated_backward)


def data_pointer(x) -> int:
    """Address of the first element: equal addresses mean one storage."""
    if isinstance(x, np.ndarray):
        return int(x.__array_interface__["data"][0])
    import ctypes

    from mxnet.base import _LIB, check_call

    x.wait_to_read()
    pointer = ctypes.c_void_p()
    check_call(_LIB.MXNDArrayGetData(x.handle, ctypes.byref(pointer)))
    return int(pointer.value or 0)
