"""MXNet (Gluon, 1.x) mutants: behaviour changes an MXNet release made or could make.

Rule: each `apply()` patches public MXNet API (`gluon.Block`, `gluon.Parameter`, `gluon.nn.Dense`,
`gluon.nn.Dropout`, `mx.nd.NDArray`, `mx.nd.save/load`, `mx.autograd`, `mx.init`) so that plain
Gluon programs see the change. Columns: MXNet 1.5.1, 1.8.0 and 1.9.1.
"""

from __future__ import annotations

try:
    from . import Mutant, catalogue, mutant, replace, wrap_function
except ImportError:  # loaded by file path, outside the package
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from framework_mutants import Mutant, catalogue, mutant, replace, wrap_function


# -- demos ------------------------------------------------------------------------------------
def _demo_default_init_bound():
    import mxnet as mx
    from mxnet.gluon import nn

    mx.random.seed(0)
    net = nn.Dense(64, in_units=64)
    net.initialize()
    return round(float(net.weight.data().abs().max().asscalar()), 2)  # U(-0.07, 0.07)


def _demo_bias_init():
    import mxnet as mx
    from mxnet import init
    from mxnet.gluon import nn

    mx.random.seed(0)
    net = nn.Dense(4, in_units=3)
    net.initialize(init.Constant(42))
    return {"weight": float(net.weight.data()[0, 0].asscalar()), "bias": float(net.bias.data()[0].asscalar())}


def _demo_xavier():
    import mxnet as mx
    from mxnet import init
    from mxnet.gluon import nn

    mx.random.seed(0)
    net = nn.Dense(400, in_units=10)
    net.initialize(init.Xavier())
    return round(float(net.weight.data().abs().max().asscalar()), 2)  # sqrt(3 / 205) = 0.12


def _demo_initialize_twice_warning():
    import warnings

    import mxnet as mx
    from mxnet.gluon import nn

    mx.random.seed(0)
    net = nn.Dense(3, in_units=2)
    net.initialize()
    before = net.weight.data().asnumpy().copy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.initialize()
    return {"warned": any("already initialized" in str(w.message) for w in caught),
            "kept": bool((net.weight.data().asnumpy() == before).all())}


def _demo_two_backward_params():
    import mxnet as mx
    from mxnet import autograd
    from mxnet.gluon import nn

    net = nn.Dense(1, in_units=2)
    net.initialize(mx.init.One())
    x = mx.nd.array([[1.0, 2.0]])
    for _ in range(2):
        with autograd.record():
            y = net(x)
        y.backward()
    return net.weight.grad().asnumpy().tolist()


def _demo_two_backward_arrays():
    import mxnet as mx
    from mxnet import autograd

    x = mx.nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = (x * x).sum()
    y.backward()
    with autograd.record():
        z = (3 * x).sum()
    z.backward()
    return x.grad.asnumpy().tolist()


def _demo_record_training():
    from mxnet import autograd

    with autograd.record():
        inside = autograd.is_training()
    return {"is_training_inside_record": inside}


def _demo_dropout_predict():
    import mxnet as mx
    from mxnet.gluon import nn

    mx.random.seed(0)
    drop = nn.Dropout(0.5)
    x = mx.nd.ones((4, 16))
    return {"identity_outside_record": bool((drop(x) == x).asnumpy().all())}


def _demo_dropout_scale():
    import mxnet as mx
    from mxnet import autograd
    from mxnet.gluon import nn

    mx.random.seed(0)
    drop = nn.Dropout(0.5)
    with autograd.record():
        out = drop(mx.nd.ones((4, 16)))
    return sorted({round(float(v), 3) for v in out.asnumpy().flatten()})


def _demo_retain_graph():
    import mxnet as mx
    from mxnet import autograd

    x = mx.nd.array([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = (x * x).sum()
    y.backward()
    try:
        y.backward()
    except mx.base.MXNetError:
        return {"second_backward": "MXNetError"}
    return {"second_backward": "ran", "grad": x.grad.asnumpy().tolist()}


def _demo_nonscalar_backward():
    import mxnet as mx
    from mxnet import autograd

    x = mx.nd.array([1.0, 2.0, 3.0])
    x.attach_grad()
    with autograd.record():
        y = 2 * x
    try:
        y.backward()
    except Exception as exc:  # noqa: BLE001 - the type is the observation
        return {"raised": type(exc).__name__}
    return {"raised": None, "grad": x.grad.asnumpy().tolist()}


def _demo_as_in_context():
    import mxnet as mx

    x = mx.nd.ones((2,))
    return {"same_object": x.as_in_context(mx.cpu()) is x}


def _demo_copyto():
    import mxnet as mx

    x = mx.nd.ones((2,))
    y = x.copyto(mx.cpu())
    y[:] = 5
    return {"new_memory": bool(x.asnumpy()[0] == 1)}


def _demo_cross_context():
    import mxnet as mx

    a = mx.nd.ones((2,), ctx=mx.cpu(0))
    b = mx.nd.ones((2,), ctx=mx.cpu(1))
    try:
        out = a + b
    except mx.base.MXNetError:
        return {"raised": "MXNetError"}
    return {"raised": None, "context": str(out.context)}


def _demo_save_parameters_keys():
    import os
    import tempfile

    import mxnet as mx
    from mxnet.gluon import nn

    net = nn.Sequential(prefix="net_")
    with net.name_scope():  # children named net_dense0_, net_dense1_
        net.add(nn.Dense(3, in_units=2), nn.Dense(1, in_units=3))
    net.initialize()
    path = os.path.join(tempfile.mkdtemp(), "mlp.params")
    net.save_parameters(path)
    return sorted(mx.nd.load(path).keys())


def _demo_nd_load_order():
    import os
    import tempfile

    import mxnet as mx

    path = os.path.join(tempfile.mkdtemp(), "d")
    mx.nd.save(path, {"zeta": mx.nd.zeros((1,)), "alpha": mx.nd.ones((2,)), "mid": mx.nd.ones((3,))})
    return list(mx.nd.load(path).keys())


def _demo_nd_load_dtype():
    import os
    import tempfile

    import mxnet as mx

    path = os.path.join(tempfile.mkdtemp(), "l")
    mx.nd.save(path, [mx.nd.array([1, 2], dtype="int64"), mx.nd.ones((2,))])
    import numpy as np

    return [np.dtype(a.dtype).name for a in mx.nd.load(path)]


def _demo_load_missing():
    import os
    import tempfile

    from mxnet.gluon import nn

    small = nn.Sequential()
    small.add(nn.Dense(3, in_units=2))
    small.initialize()
    path = os.path.join(tempfile.mkdtemp(), "small.params")
    small.save_parameters(path)
    big = nn.Sequential()
    big.add(nn.Dense(3, in_units=2), nn.Dense(1, in_units=3))
    big.initialize()
    try:
        big.load_parameters(path)
    except AssertionError:
        return {"raised": "AssertionError"}
    return {"raised": None}


def _demo_deferred_error():
    from mxnet.gluon import nn

    net = nn.Dense(4)
    net.initialize()
    try:
        net.weight.data()
    except Exception as exc:  # noqa: BLE001 - the type is the observation
        message = str(exc).replace(net.weight.name, "<name>")
        return {"type": type(exc).__name__, "message": message.split(" because")[0][:70]}
    return {"type": None}


def _demo_parameter_repr():
    from mxnet.gluon import nn

    net = nn.Dense(4, in_units=3)
    return repr(net.weight).replace(net.weight.name, "<name>")


def _demo_collect_params_names():
    from mxnet.gluon import nn

    net = nn.Sequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Dense(3, in_units=2), nn.Dense(1, in_units=3))
    return list(net.collect_params().keys())


# -- mutants ----------------------------------------------------------------------------------
@mutant("default-init-uniform-001",
        "Block.initialize()'s default initializer draws weights from U(-0.01, 0.01) instead of "
        "U(-0.07, 0.07) (the documented default, https://github.com/mli/new-docs/pull/39), as "
        "Lasagne's Uniform default range was changed to (-0.01, 0.01) in Lasagne/Lasagne#180 "
        "(https://github.com/Lasagne/Lasagne/pull/180).",
        _demo_default_init_bound)
def _default_init():
    import mxnet as mx
    from mxnet import gluon

    def initialize(original, self, init=None, *args, **kwargs):
        return original(self, init if init is not None else mx.init.Uniform(0.01), *args, **kwargs)

    wrap_function(gluon.Block, "initialize", "default-init-uniform-001", initialize)


@mutant("dense-bias-takes-global-init",
        "nn.Dense's bias no longer defaults to bias_initializer='zeros', so net.initialize(init) also "
        "draws the biases from init (what users of custom initializers expected in "
        "apache/mxnet#14490) (https://github.com/apache/mxnet/issues/14490).",
        _demo_bias_init)
def _bias_global_init():
    from mxnet.gluon import nn

    def init(original, self, units, activation=None, use_bias=True, flatten=True, dtype="float32",
             weight_initializer=None, bias_initializer=None, *args, **kwargs):
        return original(self, units, activation, use_bias, flatten, dtype, weight_initializer,
                        bias_initializer, *args, **kwargs)

    wrap_function(nn.Dense, "__init__", "dense-bias-takes-global-init", init)


@mutant("xavier-factor-in",
        "mx.init.Xavier() defaults to factor_type='in' instead of 'avg', so its bound uses fan_in "
        "alone (the fan_avg-vs-paper question of https://github.com/keras-team/keras/issues/13995; "
        "https://mxnet.apache.org/versions/1.9.1/api/python/docs/api/initializer/index.html).",
        _demo_xavier)
def _xavier_in():
    import mxnet as mx

    def init(original, self, rnd_type="uniform", factor_type="in", magnitude=3):
        return original(self, rnd_type, factor_type, magnitude)

    wrap_function(mx.init.Xavier, "__init__", "xavier-factor-in", init)


@mutant("initialize-twice-no-warning",
        "A second initialize() without force_reinit keeps the values silently, without the warning "
        "\"Parameter '...' is already initialized, ignoring. Set force_reinit=True to "
        "re-initialize.\" (the ignore_reinit switch of apache/mxnet#11434 on by default) "
        "(https://github.com/apache/mxnet/pull/11434).",
        _demo_initialize_twice_warning)
def _init_twice_silent():
    from mxnet import gluon

    def initialize(original, self, *args, **kwargs):
        if self._data is not None and not kwargs.get("force_reinit", len(args) > 3 and args[3]):
            return None
        return original(self, *args, **kwargs)

    wrap_function(gluon.Parameter, "initialize", "initialize-twice-no-warning", initialize)


@mutant("initialize-twice-reinitializes",
        "A second initialize() redraws the values (force_reinit defaulting to True) instead of "
        "warning and keeping them (https://github.com/apache/mxnet/pull/11434; "
        "https://mxnet.apache.org/versions/1.9.1/api/python/docs/api/gluon/parameter.html).",
        _demo_initialize_twice_warning)
def _init_twice_redraws():
    from mxnet import gluon

    def initialize(original, self, *args, **kwargs):
        if len(args) < 4:  # (init, ctx, verbose, force_reinit)
            kwargs.setdefault("force_reinit", True)
        return original(self, *args, **kwargs)

    wrap_function(gluon.Block, "initialize", "initialize-twice-reinitializes", initialize)
    wrap_function(gluon.ParameterDict, "initialize", "initialize-twice-reinitializes", initialize)


@mutant("parameter-grad-req-add",
        "gluon.Parameter defaults to grad_req='add', so two backward passes add their gradients up "
        "instead of the second overwriting the first (grad_req 'write' vs 'add', "
        "https://mxnet.apache.org/versions/1.9.1/api/python/docs/api/gluon/parameter.html).",
        _demo_two_backward_params)
def _param_grad_add():
    from mxnet import gluon

    def init(original, self, name, grad_req="add", *args, **kwargs):
        return original(self, name, grad_req, *args, **kwargs)

    wrap_function(gluon.Parameter, "__init__", "parameter-grad-req-add", init)


@mutant("attach-grad-add",
        "NDArray.attach_grad() defaults to grad_req='add' (accumulate across backward passes, "
        "torch's rule) instead of 'write' "
        "(https://mxnet.apache.org/versions/1.9.1/api/python/docs/api/legacy/ndarray/ndarray.html).",
        _demo_two_backward_arrays)
def _attach_grad_add():
    import mxnet as mx

    def attach_grad(original, self, grad_req="add", stype=None):
        return original(self, grad_req, stype)

    wrap_function(mx.nd.NDArray, "attach_grad", "attach-grad-add", attach_grad)


@mutant("record-not-training",
        "autograd.record() defaults to train_mode=False, so code recorded for training runs in "
        "prediction mode (dropout off) (https://mxnet.apache.org/versions/1.9.1/api/python/docs/api/autograd/index.html: "
        "'record(train_mode=True)').",
        _demo_record_training)
def _record_not_training():
    from mxnet import autograd

    def record(original, train_mode=False):
        return original(train_mode)

    wrap_function(autograd, "record", "record-not-training", record)


@mutant("dropout-always-active",
        "gluon.nn.Dropout drops in prediction mode too (mode='always' instead of the default "
        "'training'), the 'dropout active at inference' bug class "
        "(https://mxnet.apache.org/versions/1.6/api/r/docs/api/mx.nd.Dropout.html: 'If mode is always, the "
        "same computation as during training will be applied'; https://github.com/pytorch/pytorch/issues/11999).",
        _demo_dropout_predict)
def _dropout_always():
    from mxnet.gluon import nn

    def make(original):
        def hybrid_forward(self, F, x):
            if self._rate > 0:
                return F.Dropout(x, p=self._rate, axes=self._axes, mode="always", name="fwd", cudnn_off=False)
            return original(self, F, x)

        return hybrid_forward

    replace(nn.Dropout, "hybrid_forward", "dropout-always-active", make)


@mutant("dropout-no-rescale",
        "gluon.nn.Dropout in training zeros units without scaling the kept ones by 1/(1-rate), the "
        "dropout-scaling bug class (https://github.com/kaldi-asr/kaldi/issues/2814; "
        "https://github.com/lmjohns3/theanets/pull/123).",
        _demo_dropout_scale)
def _dropout_no_rescale():
    from mxnet import autograd
    from mxnet.gluon import nn

    def make(original):
        def hybrid_forward(self, F, x):
            out = original(self, F, x)
            if autograd.is_training() and 0 < self._rate < 1:
                out = out * (1 - self._rate)
            return out

        return hybrid_forward

    replace(nn.Dropout, "hybrid_forward", "dropout-no-rescale", make)


@mutant("retain-graph-by-default",
        "NDArray.backward() keeps the graph by default (retain_graph=True), so a second backward "
        "through one recording runs (https://mxnet.apache.org/versions/1.9.1/api/python/docs/api/legacy/ndarray/ndarray.html: "
        "'backward(out_grad=None, retain_graph=False, train_mode=True)').",
        _demo_retain_graph)
def _retain_graph():
    import mxnet as mx

    def backward(original, self, out_grad=None, retain_graph=True, train_mode=True):
        return original(self, out_grad, retain_graph, train_mode)

    wrap_function(mx.nd.NDArray, "backward", "retain-graph-by-default", backward)


@mutant("nonscalar-backward-raises",
        "backward() on a non-scalar without out_grad raises (torch's 'grad can be implicitly created "
        "only for scalar outputs') instead of summing implicitly "
        "(https://github.com/cybertronai/autograd-hacks/issues/8; "
        "https://mxnet.apache.org/versions/1.9.1/api/python/docs/api/autograd/index.html).",
        _demo_nonscalar_backward)
def _nonscalar_raises():
    import mxnet as mx

    def backward(original, self, out_grad=None, *args, **kwargs):
        if out_grad is None and self.size != 1:
            raise mx.base.MXNetError("grad can be implicitly created only for scalar outputs")
        return original(self, out_grad, *args, **kwargs)

    wrap_function(mx.nd.NDArray, "backward", "nonscalar-backward-raises", backward)


@mutant("as-in-context-copies",
        "NDArray.as_in_context(ctx) copies even when the array is already there, against its "
        "docstring example 'y = x.as_in_context(mx.cpu()); y is x -> True' "
        "(https://mxnet.apache.org/versions/1.9.1/api/python/docs/api/legacy/ndarray/ndarray.html).",
        _demo_as_in_context)
def _as_in_context_copies():
    import mxnet as mx

    def as_in_context(original, self, context):
        return self.copyto(context)

    wrap_function(mx.nd.NDArray, "as_in_context", "as-in-context-copies", as_in_context)


@mutant("copyto-same-context-shares",
        "NDArray.copyto(ctx) returns the array itself when it is already on ctx (as_in_context's "
        "rule), so the 'copy' shares memory (copyto vs as_in_context in the Gluon docs, "
        "https://mxnet.apache.org/versions/1.9.1/api/python/docs/api/legacy/ndarray/ndarray.html).",
        _demo_copyto)
def _copyto_shares():
    import mxnet as mx

    def copyto(original, self, other):
        if isinstance(other, mx.Context) and self.context == other:
            return self
        return original(self, other)

    wrap_function(mx.nd.NDArray, "copyto", "copyto-same-context-shares", copyto)


@mutant("cross-context-op-raises",
        "An operation on arrays in two contexts (cpu(0) and cpu(1)) raises, as it does across GPUs, "
        "instead of copying silently (the device rule of the Gluon GPU tutorial; "
        "https://mxnet.apache.org/versions/1.9.1/api/python/docs/tutorials/getting-started/crash-course/6-use_gpus.html).",
        _demo_cross_context)
def _cross_context():
    import mxnet as mx

    def checked(original, self, other, *args, **kwargs):
        if isinstance(other, mx.nd.NDArray) and other.context != self.context:
            raise mx.base.MXNetError(
                f"operands are on different contexts: {self.context} and {other.context}")
        return original(self, other, *args, **kwargs)

    for op in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
               "__rtruediv__"):
        wrap_function(mx.nd.NDArray, op, "cross-context-op-raises", checked)


@mutant("save-parameters-prefixed-names",
        "Block.save_parameters writes the prefixed names of the old save_params (collect_params() "
        "with the model's prefix stripped: 'dense0_weight') instead of structural names ('0.weight'); "
        "load_parameters still reads them through its legacy branch "
        "(https://github.com/zackchase/mxnet-the-straight-dope/issues/81; "
        "https://github.com/apache/mxnet/issues/10544).",
        _demo_save_parameters_keys)
def _save_prefixed():
    import mxnet as mx
    from mxnet import gluon

    def save_parameters(original, self, filename, *args, **kwargs):
        prefix = self.prefix
        arrays = {(name.removeprefix(prefix)): param._reduce()
                  for name, param in self.collect_params().items()}
        mx.nd.save(filename, arrays)  # read back by load_parameters' legacy (no '.') branch

    wrap_function(gluon.Block, "save_parameters", "save-parameters-prefixed-names", save_parameters)


@mutant("nd-load-sorted-dict",
        "mx.nd.load returns a saved dict with its keys sorted rather than in the saved order (dict "
        "order on load, as in https://github.com/safetensors/safetensors/issues/357; "
        "https://mxnet.apache.org/versions/1.9.1/api/python/docs/api/legacy/ndarray/ndarray.html#mxnet.ndarray.load).",
        _demo_nd_load_order)
def _nd_load_sorted():
    import mxnet as mx

    def load(original, *args, **kwargs):
        result = original(*args, **kwargs)
        if isinstance(result, dict):
            return dict(sorted(result.items()))
        return result

    wrap_function(mx.nd, "load", "nd-load-sorted-dict", load)


@mutant("nd-load-int64-as-float32",
        "mx.nd.load gives int64 arrays back as float32 (MXNet's float32 default applied on load; "
        "dtype information lost as in https://github.com/apache/mxnet/issues/16048 and #12268).",
        _demo_nd_load_dtype)
def _nd_load_float():
    import mxnet as mx
    import numpy as np

    def cast(value):
        if isinstance(value, mx.nd.NDArray) and value.dtype == np.int64:
            return value.astype("float32")
        return value

    def load(original, *args, **kwargs):
        result = original(*args, **kwargs)
        if isinstance(result, dict):
            return {k: cast(v) for k, v in result.items()}
        if isinstance(result, list):
            return [cast(v) for v in result]
        return cast(result)

    wrap_function(mx.nd, "load", "nd-load-int64-as-float32", load)


@mutant("load-parameters-not-strict",
        "Block.load_parameters defaults to allow_missing=True and ignore_extra=True, so a file of "
        "another architecture loads partially without an error (the assertion 'Parameter ... is "
        "missing in file' of https://github.com/apache/mxnet/issues/10544 gone).",
        _demo_load_missing)
def _load_not_strict():
    from mxnet import gluon

    def load_parameters(original, self, filename, ctx=None, allow_missing=True, ignore_extra=True,
                        *args, **kwargs):
        return original(self, filename, ctx, allow_missing, ignore_extra, *args, **kwargs)

    wrap_function(gluon.Block, "load_parameters", "load-parameters-not-strict", load_parameters)


@mutant("deferred-init-error-reclassed",
        "Reading a parameter whose initialization is deferred raises RuntimeError with another "
        "message instead of DeferredInitializationError(\"Parameter '...' has not been initialized "
        "yet because initialization was deferred ...\") (message introduced in "
        "https://github.com/apache/mxnet/pull/7976).",
        _demo_deferred_error)
def _deferred_reclassed():
    from mxnet import gluon
    from mxnet.gluon.parameter import DeferredInitializationError

    def check(original, self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except DeferredInitializationError as exc:
            raise RuntimeError(f"Parameter {self.name} has no data yet: its shape is only known after "
                               "the first forward pass") from exc

    wrap_function(gluon.Parameter, "_check_and_get", "deferred-init-error-reclassed", check)


@mutant("parameter-repr-without-name",
        "repr(Parameter) drops the name ('Parameter (shape=(4, 3), dtype=float32)'), as Gluon 2.0's "
        "Parameter prints, instead of 'Parameter dense0_weight (shape=(4, 3), dtype=float32)' "
        "(https://github.com/apache/mxnet/pull/18413; https://github.com/apache/mxnet/pull/8956).",
        _demo_parameter_repr)
def _param_repr():
    from mxnet import gluon

    def make(original):
        def __repr__(self):
            return f"Parameter (shape={self.shape}, dtype={self.dtype})"

        return __repr__

    replace(gluon.Parameter, "__repr__", "parameter-repr-without-name", make)


@mutant("collect-params-structural-names",
        "Block.collect_params() keys parameters by structural name ('0.weight', '1.bias'), as Gluon "
        "2.0 does, instead of the prefixed names 'sequential0_dense0_weight' (and select= matches "
        "those names) (https://github.com/apache/mxnet/pull/18413; migration guide "
        "https://github.com/apache/mxnet/pull/20473).",
        _demo_collect_params_names)
def _structural_names():
    import re

    from mxnet import gluon

    def collect_params(original, self, select=None):
        ret = gluon.ParameterDict(self._params.prefix)
        pattern = re.compile(select) if select else None
        for name, param in self._collect_params_with_prefix().items():
            if pattern is None or pattern.match(name):
                ret._params[name] = param
        return ret

    wrap_function(gluon.Block, "collect_params", "collect-params-structural-names", collect_params)


MUTANTS: dict[str, Mutant] = catalogue(
    _default_init, _bias_global_init, _xavier_in, _init_twice_silent, _init_twice_redraws,
    _param_grad_add, _attach_grad_add, _record_not_training, _dropout_always, _dropout_no_rescale,
    _retain_graph, _nonscalar_raises, _as_in_context_copies, _copyto_shares, _cross_context,
    _save_prefixed, _nd_load_sorted, _nd_load_float, _load_not_strict, _deferred_reclassed,
    _param_repr, _structural_names,
)
