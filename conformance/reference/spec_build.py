"""Spec forms -> reference objects: the model catalogue and the INIT forms of specs/README.md.

`ModelBuilder.build(spec)` turns a model mapping into a Block (or a ParameterDict for
`param_dict`); `as: NAME` marks a layer and `{reuse: NAME}` uses it again: a Dense is
rebuilt around the same parameters (`params=shared.params`, note 000 §4.2.4), any other
block is added a second time. `make_init(form, on_call)` gives an Initializer; the
custom `zero_small` reports each call through `on_call(name, shape)`.
"""

from __future__ import annotations

from . import init as initializers
from .block import Sequential
from .layers import Activation, Dense, Dropout, Flatten
from .models import (
    MLP,
    CenteredLayer,
    FancyMLP,
    ListMLP,
    MLPNoSuper,
    MyDense,
    MySequential,
    NestMLP,
)
from .parameter import ParameterDict


class LoggedMyInit(initializers.MyInit):
    """The notes' MyInit, reporting (name, shape) of every call as the note prints them."""

    def __init__(self, on_call=None):
        self._on_call = on_call

    def _init_weight(self, name, data):
        if self._on_call is not None:
            self._on_call(name, tuple(data.shape))
        super()._init_weight(name, data)


def make_init(form, on_call=None):
    """INIT form -> Initializer (None for `default`: the caller's default applies)."""
    if form in (None, "default"):
        return None
    kind, args = next(iter(form.items()))
    args = args or {}
    if kind == "normal":
        return initializers.Normal(sigma=args.get("sigma", 0.01), mean=args.get("mean", 0.0))
    if kind == "constant":
        return initializers.Constant(args["value"])
    if kind == "uniform":
        return initializers.Uniform(low=args.get("low", -0.07), high=args.get("high", 0.07))
    if kind == "xavier":
        return initializers.Xavier()
    if kind == "zeros":
        return initializers.Zero()
    if kind == "ones":
        return initializers.One()
    if kind == "orthogonal":
        return initializers.Orthogonal(scale=args.get("scale", 1.414))
    if kind == "mixed":
        return initializers.Mixed(args["patterns"], [make_init(i, on_call) for i in args["inits"]])
    if kind == "load":  # args["file"]: a path the session resolved
        return initializers.Load(args["file"], make_init(args.get("default"), on_call))
    if kind == "msra":
        return initializers.MSRAPrelu(slope=args.get("slope", 0.25))
    if kind == "custom" and args.get("name") == "zero_small":
        return LoggedMyInit(on_call)
    raise ValueError(f"unknown initializer form {form!r}")


class ModelBuilder:
    def __init__(self, on_init_call=None):
        self.on_init_call = on_init_call
        self.marked: dict[str, tuple[object, dict]] = {}

    def build(self, node: dict):
        kind = next(k for k in node if k != "as")
        built = getattr(self, f"_{kind}")(node[kind] if node[kind] is not None else {})
        if "as" in node:
            self.marked[node["as"]] = (built, node)
        return built

    def _dense(self, args, params=None):
        init = args.get("init") or {}
        if args.get("params_from"):  # 004 §6.2: nn.Dense(8, activation="relu", params=shared.params)
            params = self.marked[args["params_from"]][0].params
        kwargs = {}
        if "bias" in init:
            kwargs["bias_initializer"] = make_init(init["bias"], self.on_init_call)
        return Dense(
            args["units"],
            activation=args.get("activation"),
            use_bias=args.get("use_bias", True),
            in_units=args.get("in_units", 0),
            params=params,
            weight_initializer=make_init(init.get("weight"), self.on_init_call),
            **kwargs,
        )

    def _relu(self, args):
        return Activation("relu")

    def _flatten(self, args):
        return Flatten()

    def _dropout(self, args):
        return Dropout(args["rate"])

    def _sequential(self, children):
        net = Sequential()
        for child in children:
            net.add(self.build(child))
        return net

    def _named_sequential(self, children):
        # note 001's add_module(f'block {i}', block1()): children keyed by name, numbered in paths
        net = Sequential()
        for name, child in children.items():
            net.register_child(self.build(child), name)
        object.__setattr__(net, "_kit_numbered", True)
        return net

    def _my_sequential(self, children):
        net = MySequential()
        for child in children:
            net.add(self.build(child))
        return net

    def _my_sequential_by_object(self, children):
        from .models import MySequentialByObject  # note 001: self._modules[block] = block

        net = MySequentialByObject()
        for child in children:
            net.add(self.build(child))
        return net

    def _mlp(self, args):
        return MLP(in_units=args.get("in_units", 0))

    def _mlp_no_super(self, args):
        return MLPNoSuper(in_units=args.get("in_units", 0))

    def _list_mlp(self, args):
        return ListMLP(in_units=args.get("in_units", 0))

    def _fancy_mlp(self, args):
        variant = (args or {}).get("variant", "000")
        if variant != "000":
            from .models import FANCY_VARIANTS  # the other notes' FancyMLP as each writes it

            return FANCY_VARIANTS[variant]()
        return FancyMLP()

    def _nest_mlp(self, args):
        return NestMLP()

    def _centered(self, args):
        return CenteredLayer()

    def _my_dense(self, args):
        return MyDense(
            args["units"],
            in_units=args.get("in_units", 0),
            read_via_data=args.get("read_via_data", False),
        )

    def _param_dict(self, args):
        params = ParameterDict()
        for name, shape in args["params"].items():
            params.get(name, shape=tuple(shape))
        return params

    def _reuse(self, name):
        block, node = self.marked[name]
        if "dense" in node:
            return self._dense(node["dense"], params=block.params)
        return block
