"""JAX / Flax (linen) mutants: behaviour changes a JAX or Flax release made or could make.

Rule: each `apply()` patches public JAX/Flax API (`flax.linen.Dense` defaults, `flax.linen.Dropout`,
`jax.nn.initializers`, `jax.grad`, `jax.device_put`, `jax.Array` operators, `flax.serialization`,
`flax.traverse_util`, `flax.config`) so that plain linen programs see the change. Column: jax 0.10
with flax 0.12 (two host CPU devices: XLA_FLAGS=--xla_force_host_platform_device_count=2).
"""

from __future__ import annotations

import inspect

try:
    from . import Mutant, catalogue, mutant, replace, wrap_function
except ImportError:  # loaded by file path, outside the package
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from framework_mutants import Mutant, catalogue, mutant, replace, wrap_function

_MARK = "__framework_mutant__"


def _set_field_default(cls, field: str, value, name: str) -> None:
    """Change a flax Module dataclass field's default (the generated __init__'s default, the
    dataclass field record, the class attribute); idempotent through a mark on `value`'s kind."""
    init = cls.__init__
    inner = getattr(init, "__wrapped__", init)
    params = [p for p in inspect.signature(inner).parameters.values() if p.name != "self"]
    positional = [p for p in params if p.default is not inspect.Parameter.empty
                  and p.kind is not inspect.Parameter.KEYWORD_ONLY]
    current = cls.__dataclass_fields__[field].default
    if getattr(current, _MARK, None) == name:
        return
    try:
        setattr(value, _MARK, name)
    except (AttributeError, TypeError):
        pass
    if inner.__defaults__ is not None:
        index = [p.name for p in positional].index(field)
        defaults = list(inner.__defaults__)
        defaults[len(defaults) - len(positional) + index] = value
        inner.__defaults__ = tuple(defaults)
    if inner.__kwdefaults__ and field in inner.__kwdefaults__:
        inner.__kwdefaults__ = {**inner.__kwdefaults__, field: value}
    cls.__dataclass_fields__[field].default = value
    if field in cls.__dict__:
        setattr(cls, field, value)


# -- demos ------------------------------------------------------------------------------------
def _init_dense(features, in_dim, **kwargs):
    import flax.linen as nn
    import jax
    import jax.numpy as jnp

    return nn.Dense(features, **kwargs).init(jax.random.PRNGKey(0), jnp.ones((1, in_dim)))["params"]


def _demo_dense_kernel():
    import numpy as np

    kernel = np.asarray(_init_dense(400, 10)["kernel"])
    return {"max_abs": round(float(abs(kernel).max()), 2), "std": round(float(kernel.std()), 2)}


def _demo_dense_bias():
    import numpy as np

    return int((np.asarray(_init_dense(8, 4)["bias"]) != 0).sum())


def _demo_dense_keys():
    return sorted(_init_dense(3, 2).keys())


def _demo_lecun_std():
    import jax
    import numpy as np

    values = jax.nn.initializers.lecun_normal()(jax.random.PRNGKey(1), (400, 300))
    return round(float(np.asarray(values).std() * np.sqrt(400)), 2)  # 1.0: variance 1 / fan_in


def _demo_xavier():
    import flax.linen as nn
    import jax
    import numpy as np

    values = nn.initializers.xavier_uniform()(jax.random.PRNGKey(1), (10, 400))
    return round(float(abs(np.asarray(values)).max()), 2)  # sqrt(6 / 410) = 0.12


def _demo_init_container():
    return type(_init_dense(2, 2)).__name__


def _demo_grad_nonscalar():
    import jax
    import jax.numpy as jnp

    try:
        grad = jax.grad(lambda x: 2 * x)(jnp.arange(3.0))
    except TypeError as exc:
        return {"raised": type(exc).__name__}
    return {"raised": None, "grad": [float(v) for v in grad]}


def _demo_device_put_alias():
    import jax
    import jax.numpy as jnp

    x = jnp.arange(4.0)
    y = jax.device_put(x, jax.devices()[0])
    return {"shares_buffer": x.unsafe_buffer_pointer() == y.unsafe_buffer_pointer()}


def _demo_cross_device():
    import jax
    import jax.numpy as jnp

    a = jax.device_put(jnp.ones(2), jax.devices()[0])
    b = jax.device_put(jnp.ones(2), jax.devices()[1])
    try:
        out = a + b
    except ValueError:
        return {"raised": "ValueError"}
    return {"raised": None, "device": str(list(out.devices())[0])}


def _demo_setitem():
    import jax.numpy as jnp

    x = jnp.arange(3)
    try:
        x[0] = 5
    except TypeError as exc:
        return str(exc)[:90]
    return "no error"


def _dropout_apply(rate, deterministic, shape=(4, 16)):
    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    import numpy as np

    layer = nn.Dropout(rate)
    out = layer.apply({}, jnp.ones(shape), deterministic=deterministic,
                      rngs={"dropout": jax.random.PRNGKey(0)})
    return np.asarray(out)


def _demo_dropout_deterministic():
    return {"identity_when_deterministic": bool((_dropout_apply(0.5, True) == 1).all())}


def _demo_dropout_scale():
    return sorted({round(float(v), 3) for v in _dropout_apply(0.5, False).flatten()})


def _demo_dropout_rate_one():
    import numpy as np

    out = _dropout_apply(1.0, False, (2, 3))
    return {"all_zero": bool((out == 0).all()), "any_nan": bool(np.isnan(out).any())}


def _demo_load_dict_order():
    import os
    import tempfile

    import jax.numpy as jnp

    path = os.path.join(tempfile.mkdtemp(), "d.npy")
    jnp.save(path, {"zeta": jnp.zeros(1), "alpha": jnp.ones(2), "mid": jnp.ones(3)})  # pickled
    return list(jnp.load(path, allow_pickle=True).item().keys())


def _demo_from_bytes_strict():
    from flax import serialization

    params = _init_dense(3, 2)
    data = serialization.to_bytes({"kernel": params["kernel"]})
    try:
        restored = serialization.from_bytes(params, data)
    except ValueError:
        return {"raised": "ValueError"}
    return {"raised": None, "keys": sorted(restored)}


def _demo_flatten_order():
    from flax import traverse_util

    params = {"params": _init_dense(3, 2)}
    return ["/".join(key) for key in traverse_util.flatten_dict(params)]


def _demo_msgpack_dtype():
    import numpy as np
    from flax import serialization

    data = serialization.msgpack_serialize({"w": np.ones(2, np.float32), "n": np.arange(2, dtype=np.int32)})
    restored = serialization.msgpack_restore(data)
    return {key: str(value.dtype) for key, value in restored.items()}


def _demo_module_repr():
    import flax.linen as nn

    return repr(nn.Dense(3)).splitlines()[0:2]


def _demo_prng_key():
    import jax

    key = jax.random.PRNGKey(0)
    return {"shape": list(key.shape), "dtype": str(key.dtype)}


def _demo_variance_scaling_fan():
    import jax
    import numpy as np

    init = jax.nn.initializers.variance_scaling(1.0, "fan_in", "uniform")
    values = init(jax.random.PRNGKey(1), (10, 400))  # a Dense kernel: (in, out)
    return round(float(abs(np.asarray(values)).max()), 2)  # sqrt(3 / 10) = 0.55


# -- mutants ----------------------------------------------------------------------------------
@mutant("dense-kernel-init-xavier-uniform",
        "flax.linen.Dense defaults to kernel_init=xavier_uniform() (Keras' glorot_uniform) instead of "
        "lecun_normal() (https://flax.readthedocs.io/en/latest/api_reference/flax.linen/layers.html; "
        "RLlib's flax models defaulted to xavier_uniform: https://github.com/ray-project/ray/pull/21649).",
        _demo_dense_kernel)
def _dense_xavier():
    import flax.linen as nn
    import jax

    _set_field_default(nn.Dense, "kernel_init", jax.nn.initializers.xavier_uniform(),
                       "dense-kernel-init-xavier-uniform")


@mutant("dense-bias-init-normal",
        "flax.linen.Dense draws its bias from normal(1e-2) instead of the documented bias_init=zeros "
        "(https://flax.readthedocs.io/en/latest/api_reference/flax.linen/layers.html; bias defaults "
        "differ across frameworks: https://github.com/pytorch/pytorch/issues/42083).",
        _demo_dense_bias)
def _dense_bias():
    import flax.linen as nn
    import jax

    _set_field_default(nn.Dense, "bias_init", jax.nn.initializers.normal(1e-2), "dense-bias-init-normal")


@mutant("dense-use-bias-default-false",
        "flax.linen.Dense defaults to use_bias=False, so a Dense layer has a kernel and no bias (a "
        "flipped default of the documented use_bias=True; "
        "https://flax.readthedocs.io/en/latest/api_reference/flax.linen/layers.html).",
        _demo_dense_keys)
def _dense_no_bias():
    import flax.linen as nn

    if getattr(nn.Dense, "__framework_mutant_use_bias__", False):
        return
    _set_field_default(nn.Dense, "use_bias", False, "dense-use-bias-default-false")
    nn.Dense.__framework_mutant_use_bias__ = True


@mutant("lecun-normal-without-truncation-correction",
        "variance_scaling's truncated normal drops the 1/0.8796 stddev correction, so lecun_normal "
        "(flax Dense's default) has variance 0.77/fan_in instead of 1/fan_in, the bug of "
        "tensorflow/tfjs#8594 and keras-team/keras#8048 (https://github.com/tensorflow/tfjs/issues/8594; "
        "https://github.com/keras-team/keras/issues/8048).",
        _demo_lecun_std)
def _lecun_uncorrected():
    import types

    import jax
    from jax._src.nn import initializers

    current = initializers.__dict__.get("random")
    if getattr(current, _MARK, None) == "lecun-normal-without-truncation-correction":
        return
    proxy = types.SimpleNamespace(**{k: getattr(jax.random, k) for k in dir(jax.random) if not k.startswith("__")})

    def truncated_normal(key, lower, upper, shape=(), dtype=float, *args, **kwargs):
        return jax.random.truncated_normal(key, lower, upper, shape, dtype, *args, **kwargs) * 0.87962566103423978

    proxy.truncated_normal = truncated_normal
    setattr(proxy, _MARK, "lecun-normal-without-truncation-correction")
    initializers.random = proxy


@mutant("xavier-uniform-fan-in",
        "jax.nn.initializers.xavier_uniform scales by fan_in alone (variance_scaling(1, 'fan_in', "
        "'uniform')) instead of fan_avg (the scale questions of https://github.com/jax-ml/jax/issues/13519 "
        "and https://github.com/keras-team/keras/issues/13995).",
        _demo_xavier)
def _xavier_fan_in():
    import flax.linen as nn
    import jax

    def make(original):
        def xavier_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
            kwargs = {} if dtype is None else {"dtype": dtype}
            return jax.nn.initializers.variance_scaling(1.0, "fan_in", "uniform", in_axis=in_axis,
                                                        out_axis=out_axis, batch_axis=batch_axis, **kwargs)

        return xavier_uniform

    replace(jax.nn.initializers, "xavier_uniform", "xavier-uniform-fan-in", make)
    replace(nn.initializers, "xavier_uniform", "xavier-uniform-fan-in", make)
    replace(jax.nn.initializers, "glorot_uniform", "xavier-uniform-fan-in", make)


@mutant("init-returns-frozendict",
        "Module.init returns a FrozenDict again (the flax_return_frozendict flag on), as before Flax "
        "0.7.1 returned regular dicts (https://github.com/google/flax/pull/2872; "
        "https://github.com/google/flax/issues/1223).",
        _demo_init_container)
def _frozendict():
    import flax

    flax.config.update("flax_return_frozendict", True)  # a flag: idempotent


@mutant("grad-nonscalar-sums",
        "jax.grad of a non-scalar function sums the output implicitly (as MXNet's and TF's backward "
        "do) instead of raising TypeError('Gradient only defined for scalar-output functions') "
        "(https://docs.jax.dev/en/latest/_autosummary/jax.grad.html).",
        _demo_grad_nonscalar)
def _grad_sums():
    import jax
    import jax.numpy as jnp

    def grad(original, fun, *args, **kwargs):
        has_aux = kwargs.get("has_aux", False)

        def summed(*a, **k):
            out = fun(*a, **k)
            if has_aux:
                value, aux = out
                return (jnp.sum(value) if jnp.ndim(value) else value), aux
            return jnp.sum(out) if jnp.ndim(out) else out

        return original(summed, *args, **kwargs)

    wrap_function(jax, "grad", "grad-nonscalar-sums", grad)


@mutant("device-put-always-copies",
        "jax.device_put(x, device) copies even when x is already there (may_alias defaulting to "
        "False), against 'behaves like the identity function if the operand is on any device "
        "already' (https://docs.jax.dev/en/latest/_autosummary/jax.device_put.html; copies "
        "discussed in https://github.com/google/jax/issues/17702).",
        _demo_device_put_alias)
def _device_put_copies():
    import jax

    def device_put(original, x, device=None, *args, **kwargs):
        if kwargs.get("may_alias") is None:
            kwargs["may_alias"] = False
        return original(x, device, *args, **kwargs)

    wrap_function(jax, "device_put", "device-put-always-copies", device_put)


@mutant("cross-device-silent-copy",
        "An operation on arrays committed to two devices copies the second operand to the first's "
        "device instead of raising 'Received incompatible devices for jitted computation' (MXNet 1.x's "
        "silent copy; https://docs.jax.dev/en/latest/_autosummary/jax.Array.committed.html).",
        _demo_cross_device)
def _cross_device():
    import jax
    import jax.numpy as jnp
    from jax._src import array

    def retry(original, *args, **kwargs):
        try:
            return original(*args, **kwargs)
        except ValueError as exc:
            if "incompatible devices" not in str(exc):
                raise
            arrays = [a for a in args if isinstance(a, jax.Array)]
            target = list(arrays[0].devices())[0]
            moved = [jax.device_put(a, target) if isinstance(a, jax.Array) else a for a in args]
            return original(*moved, **kwargs)

    for op in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
               "__rtruediv__", "__matmul__", "__rmatmul__"):
        wrap_function(array.ArrayImpl, op, "cross-device-silent-copy", retry)
    for fn in ("add", "subtract", "multiply", "divide", "matmul", "dot"):
        wrap_function(jnp, fn, "cross-device-silent-copy", retry)


@mutant("setitem-error-legacy-message",
        "x[i] = v on a jax.Array raises the pre-0.2.20 message \"... object does not support item "
        "assignment. JAX arrays are immutable; perhaps you want jax.ops.index_update or "
        "jax.ops.index_add instead?\" (reworded in https://github.com/jax-ml/jax/pull/7783 and "
        "https://github.com/jax-ml/jax/pull/24315).",
        _demo_setitem)
def _setitem_message():
    from jax._src import array

    def make(original):
        def __setitem__(self, index, value):
            raise TypeError(f"'{type(self)}' object does not support item assignment. JAX arrays are "
                            "immutable; perhaps you want jax.ops.index_update or jax.ops.index_add instead?")

        return __setitem__

    replace(array.ArrayImpl, "__setitem__", "setitem-error-legacy-message", make)


@mutant("dropout-ignores-deterministic",
        "flax.linen.Dropout drops even with deterministic=True (eval mode leaking dropout), the bug "
        "class of https://github.com/pytorch/pytorch/issues/11999 "
        "(https://flax.readthedocs.io/en/latest/api_reference/flax.linen/layers.html#flax.linen.Dropout).",
        _demo_dropout_deterministic)
def _dropout_ignores():
    from flax.linen import stochastic

    def merge_param(original, name, a, b):
        if name == "deterministic":
            return False
        return original(name, a, b)

    wrap_function(stochastic, "merge_param", "dropout-ignores-deterministic", merge_param)


@mutant("dropout-no-rescale",
        "flax.linen.Dropout zeros units without scaling the kept ones by 1/(1-rate), the "
        "dropout-scaling bug class (https://github.com/kaldi-asr/kaldi/issues/2814; "
        "https://github.com/lmjohns3/theanets/pull/123).",
        _demo_dropout_scale)
def _dropout_no_rescale():
    from flax.linen import stochastic

    def call(original, self, inputs, deterministic=None, rng=None, *args, **kwargs):
        out = original(self, inputs, deterministic, rng, *args, **kwargs)
        active = deterministic if deterministic is not None else self.deterministic
        if not active and 0 < self.rate < 1:
            out = out * (1 - self.rate)
        return out

    wrap_function(stochastic.Dropout, "__call__", "dropout-no-rescale", call)


@mutant("dropout-rate-one-nan",
        "flax.linen.Dropout(1.0) returns NaN (0/0 from rescaling by keep_prob = 0) instead of zeros: "
        "the edge case google/flax#2055 fixed (https://github.com/google/flax/pull/2055).",
        _demo_dropout_rate_one)
def _dropout_nan():
    import jax.numpy as jnp
    from flax.linen import stochastic

    def call(original, self, inputs, deterministic=None, rng=None, *args, **kwargs):
        out = original(self, inputs, deterministic, rng, *args, **kwargs)
        active = deterministic if deterministic is not None else self.deterministic
        if not active and self.rate >= 1.0:
            return out * jnp.nan
        return out

    wrap_function(stochastic.Dropout, "__call__", "dropout-rate-one-nan", call)


@mutant("load-dict-sorted-keys",
        "jnp.load of a saved dict gives it back with sorted keys (the dict order of jax.tree_util and "
        "jax.jit outputs, https://github.com/jax-ml/jax/issues/4085 and "
        "https://github.com/jax-ml/jax/issues/24398) instead of the saved insertion order.",
        _demo_load_dict_order)
def _load_sorted():
    import jax.numpy as jnp
    import numpy as np

    def load(original, *args, **kwargs):
        result = original(*args, **kwargs)
        if isinstance(result, np.ndarray) and result.dtype == object and result.shape == ():
            item = result.item()
            if isinstance(item, dict):
                out = np.empty((), dtype=object)
                out[()] = {k: item[k] for k in sorted(item, key=str)}
                return out
        return result

    wrap_function(jnp, "load", "load-dict-sorted-keys", load)


@mutant("from-bytes-not-strict",
        "flax.serialization.from_bytes/from_state_dict keeps the target's value for keys missing from "
        "the saved state instead of raising 'The target dict keys and state dict keys do not match' "
        "(the strictness added in https://github.com/google/flax/pull/2632, with its review's worry "
        "about partial restores).",
        _demo_from_bytes_strict)
def _from_bytes_lenient():
    from flax import serialization

    registry = serialization._STATE_DICT_REGISTRY
    to_state, restore = registry[dict]
    if getattr(restore, _MARK, None) == "from-bytes-not-strict":
        return

    def lenient(xs, states):
        return {key: (serialization.from_state_dict(value, states[str(key)]) if str(key) in states else value)
                for key, value in xs.items()}

    setattr(lenient, _MARK, "from-bytes-not-strict")
    registry[dict] = (to_state, lenient)


@mutant("flatten-dict-sorted-keys",
        "flax.traverse_util.flatten_dict lists parameters in sorted key order ('bias' before "
        "'kernel'), the order of jax.tree_util's flattening, instead of insertion order "
        "(https://github.com/jax-ml/jax/issues/4085; https://github.com/pytorch/pytorch/pull/114947).",
        _demo_flatten_order)
def _flatten_sorted():
    from flax import traverse_util

    def flatten_dict(original, *args, **kwargs):
        flat = original(*args, **kwargs)
        return dict(sorted(flat.items(), key=lambda item: tuple(map(str, item[0])) if isinstance(item[0], tuple)
                           else (str(item[0]),)))

    wrap_function(traverse_util, "flatten_dict", "flatten-dict-sorted-keys", flatten_dict)


@mutant("msgpack-restore-float64",
        "flax.serialization.msgpack_restore gives float32 arrays back as float64 (dtype lost on load, "
        "as in https://github.com/apache/mxnet/issues/16048 and "
        "https://github.com/helmholtz-analytics/heat/issues/2004).",
        _demo_msgpack_dtype)
def _msgpack_float64():
    import numpy as np
    from flax import serialization

    def widen(value):
        if isinstance(value, dict):
            return {k: widen(v) for k, v in value.items()}
        if isinstance(value, np.ndarray) and value.dtype == np.float32:
            return value.astype(np.float64)
        return value

    def restore(original, *args, **kwargs):
        return widen(original(*args, **kwargs))

    wrap_function(serialization, "msgpack_restore", "msgpack-restore-float64", restore)


@mutant("module-repr-one-line",
        "repr(flax Module) prints one line 'Dense(features=3, use_bias=True, ...)' instead of the "
        "multi-line '# attributes' layout added in https://github.com/google/flax/pull/597 "
        "(https://github.com/google/flax/issues/2791).",
        _demo_module_repr)
def _module_repr():
    import dataclasses

    import flax.linen as nn

    def make(original):
        def __repr__(self):
            fields = [f.name for f in dataclasses.fields(self) if f.name not in ("parent", "name")]
            def show(value):
                return getattr(value, "__name__", None) or repr(value)

            return f"{type(self).__name__}(" + ", ".join(f"{k}={show(getattr(self, k, None))}" for k in fields) + ")"

        return __repr__

    replace(nn.Module, "__repr__", "module-repr-one-line", make)


@mutant("prngkey-returns-typed-key",
        "jax.random.PRNGKey(seed) returns a new-style typed key (shape (), dtype key<fry>) like "
        "jax.random.key instead of a uint32 array of shape (2,): the migration of JEP 9263 "
        "(https://docs.jax.dev/en/latest/jep/9263-typed-keys.html; https://github.com/google/jax/pull/17297).",
        _demo_prng_key)
def _typed_key():
    import jax

    def make(original):
        def PRNGKey(seed, *, impl=None):
            return jax.random.key(seed, impl=impl)

        return PRNGKey

    replace(jax.random, "PRNGKey", "prngkey-returns-typed-key", make)


@mutant("variance-scaling-fan-axes-swapped",
        "jax.nn.initializers.variance_scaling takes fan_in from the last axis and fan_out from the "
        "one before (torch's (out, in) layout; in_axis/out_axis defaults swapped), so fan_in of a "
        "Dense kernel (in, out) is its output size (fan conventions differ between libraries: "
        "https://github.com/SymJAX/SymJAX/pull/9; https://github.com/keras-team/keras/pull/22789).",
        _demo_variance_scaling_fan)
def _fan_axes_swapped():
    import flax.linen as nn
    import jax
    from jax._src.nn import initializers

    def variance_scaling(original, scale, mode, distribution, in_axis=-1, out_axis=-2, *args, **kwargs):
        return original(scale, mode, distribution, in_axis, out_axis, *args, **kwargs)

    for owner in (initializers, jax.nn.initializers, nn.initializers):
        wrap_function(owner, "variance_scaling", "variance-scaling-fan-axes-swapped", variance_scaling)


MUTANTS: dict[str, Mutant] = catalogue(
    _dense_xavier, _dense_bias, _dense_no_bias, _lecun_uncorrected, _xavier_fan_in, _frozendict,
    _grad_sums, _device_put_copies, _cross_device, _setitem_message, _dropout_ignores,
    _dropout_no_rescale, _dropout_nan, _load_sorted, _from_bytes_lenient, _flatten_sorted,
    _msgpack_float64, _module_repr, _typed_key, _fan_axes_swapped,
)
