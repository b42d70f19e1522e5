"""Spec INIT forms -> MXNet initializers, with the notes' MyInit as `zero_small`.

Rule: MXNet is imported inside the functions only. `make_init` returns what Gluon's
`initialize(init=...)` takes: an `mxnet.init.Initializer`, or None for the default.
"""

from __future__ import annotations

import functools

from conformance.adapters.base import Unsupported


@functools.cache
def my_init_class():
    from mxnet import init, nd

    class MyInit(init.Initializer):
        """000 §4.2.3: U(-10, 10), then zero every entry with |w| < 5; logs each call."""

        def __init__(self, on_call=None, **kwargs):
            super().__init__(**kwargs)
            self._on_call = on_call

        def _init_weight(self, name, data):
            if self._on_call is not None:
                self._on_call(str(name), tuple(data.shape))  # the note prints ('Init', name, shape)
            data[:] = nd.random.uniform(low=-10, high=10, shape=data.shape)
            data *= data.abs() >= 5

    return MyInit


def make_init(spec, on_call=None):
    """`default` | {normal: {sigma, mean?}} | {constant: {value}} | {uniform: {low, high}} |
    {xavier: {}} | {zeros: {}} | {ones: {}} | {custom: {name: zero_small}}."""
    from mxnet import init

    if spec in (None, "default"):
        return None  # Block.initialize() default: init.Uniform(scale=0.07); Dense bias 'zeros'
    kind, args = next(iter(spec.items()))
    args = args or {}
    if kind == "normal":
        if args.get("mean", 0) != 0:
            raise Unsupported("mxnet.init.Normal(sigma) has no mean; it always draws around 0")
        return init.Normal(sigma=args.get("sigma", 0.01))
    if kind == "constant":
        return init.Constant(args["value"])
    if kind == "uniform":
        low, high = args.get("low", -0.07), args.get("high", 0.07)
        if low != -high:
            raise Unsupported("mxnet.init.Uniform(scale) draws from [-scale, scale] only")
        return init.Uniform(scale=high)
    if kind == "xavier":
        return init.Xavier()
    if kind == "zeros":
        return init.Zero()
    if kind == "ones":
        return init.One()
    if kind == "mixed":  # 000's table: Mixed(patterns, initializers), patterns on native names
        return init.Mixed(args["patterns"], [make_init(i, on_call) for i in args["inits"]])
    if kind == "load":  # 000's table: Load(param, default_init); the session resolved the file
        return init.Load(args["file"], default_init=make_init(args.get("default"), on_call))
    if kind == "orthogonal":  # 000's table: Orthogonal([scale, rand_type])
        return init.Orthogonal(scale=args.get("scale", 1.414))
    if kind == "msra":  # 000's table: MSRAPrelu([factor_type, slope])
        return init.MSRAPrelu(factor_type="in", slope=args.get("slope", 0.25))
    if kind == "custom":
        if args.get("name") != "zero_small":
            raise Unsupported(f"no custom initializer named {args.get('name')!r}")
        return my_init_class()(on_call=on_call)
    raise Unsupported(f"no MXNet initializer for {kind!r}")
