"""The notes' Gluon blocks (MXNet 1.x), built exactly as chapter 4 writes them.

Rule: MXNet is imported only inside `blocks()`, never at module import. Each class is the
notes' code (000 §4.1-4.4, 004 §6): `nn.Block` subclasses that declare layers in
`__init__` and compute in `forward`; where the kit needs a variant the note lacks (shapes
given with `in_units`, MyDense without `in_units`), the deviation is commented in place.
"""

from __future__ import annotations

import functools

from conformance.adapters.mxnet.init import make_init


@functools.cache
def blocks():
    """Define the note classes once (MXNet imported here) and return them by name."""
    from mxnet import nd
    from mxnet.gluon import nn

    class MLP(nn.Block):
        # 000 §4.1.1; in_units (0 = deferred) is the kit's knob for DI4.
        def __init__(self, in_units=0, **kwargs):
            super().__init__(**kwargs)
            self.hidden = nn.Dense(256, activation="relu", in_units=in_units)
            self.output = nn.Dense(10, in_units=256 if in_units else 0)

        def forward(self, x):
            return self.output(self.hidden(x))

    class MLPNoSuper(nn.Block):
        # 000 §4.1 exercise: the parent constructor is never called, so assigning the
        # first sublayer reaches Block.__setattr__ before `_children` exists.
        def __init__(self, in_units=0, **kwargs):
            self.hidden = nn.Dense(256, activation="relu", in_units=in_units)
            self.output = nn.Dense(10)

        def forward(self, x):
            return self.output(self.hidden(x))

    class ListMLP(nn.Block):
        # 000 §4.1 exercise: layers kept in a plain Python list are not registered
        # (MXNet warns "unregistered container" when parameters are collected).
        def __init__(self, in_units=0, **kwargs):
            super().__init__(**kwargs)
            self.layers = [
                nn.Dense(256, activation="relu", in_units=in_units),
                nn.Dense(10, in_units=256 if in_units else 0),
            ]

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    class MySequential(nn.Block):
        # 000 §4.1.2: children go straight into Block._children, keyed by block.name.
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

        def add(self, block):
            self._children[block.name] = block

        def forward(self, x):
            for block in self._children.values():
                x = block(x)
            return x

    class FancyMLP(nn.Block):
        # 000 §4.1.3; the spec fixes in_units=20 for the shared Dense.
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.rand_weight = self.params.get_constant(
                "rand_weight", nd.random.uniform(shape=(20, 20))
            )
            self.dense = nn.Dense(20, activation="relu", in_units=20)

        def forward(self, x):
            x = self.dense(x)
            x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)
            x = self.dense(x)
            while x.norm().asscalar() > 1:
                x /= 2  # in-place: MXNet refuses this inside autograd.record()
            if x.norm().asscalar() < 0.8:
                x *= 10
            return x.sum()

    class NestMLP(nn.Block):
        # 000 §4.1.3
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.net = nn.Sequential()
            self.net.add(nn.Dense(64, activation="relu"), nn.Dense(32, activation="relu"))
            self.dense = nn.Dense(16, activation="relu")

        def forward(self, x):
            return self.dense(self.net(x))

    class CenteredLayer(nn.Block):
        # 000 §4.4.1
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

        def forward(self, x):
            return x - x.mean()

    class MyDense(nn.Block):
        # 000 §4.4.2. The note always passes in_units; without it (in_units=0) the kit
        # lets the weight wait for the first input (allow_deferred_init) and fills in its
        # shape there, the way Gluon's own layers finish deferred initialization. A plain
        # Block has no shape inference of its own, and nd.dot cannot infer it either.
        def __init__(self, units, in_units=0, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.weight = self.params.get(
                "weight", shape=(in_units, units), allow_deferred_init=not in_units
            )
            self.bias = self.params.get("bias", shape=(units,))

        def forward(self, x):
            if self.weight.shape[0] == 0:
                self.weight.shape = (x.shape[1], self.units)
                self.weight._finish_deferred_init()  # Gluon's own deferred-init hook
            # Parameters are read through .data() as the note does: in MXNet that is
            # the recorded array itself, so gradients still flow.
            linear = nd.dot(x, self.weight.data()) + self.bias.data()
            return nd.relu(linear)

    return {
        "MLP": MLP,
        "MLPNoSuper": MLPNoSuper,
        "ListMLP": ListMLP,
        "MySequential": MySequential,
        "FancyMLP": FancyMLP,
        "NestMLP": NestMLP,
        "CenteredLayer": CenteredLayer,
        "MyDense": MyDense,
    }


class ModelBuilder:
    """Spec model dict -> Gluon block; remembers `as` names and the specs of dense layers."""

    def __init__(self, on_init_call=None):
        from mxnet import gluon
        from mxnet.gluon import nn

        self.nn, self.gluon, self.cls = nn, gluon, blocks()
        self.marked: dict[str, tuple[object, dict]] = {}
        self.on_init_call = on_init_call  # logs zero_small calls of per-layer initializers

    def build(self, node: dict):
        kind = next(k for k in node if k != "as")
        args = node[kind]
        block = getattr(self, f"_{kind}")(args)
        if "as" in node:
            self.marked[node["as"]] = (block, node)
        return block

    def _dense(self, args):
        init = args.get("init") or {}

        def make(spec):
            return make_init(spec, on_call=self.on_init_call)

        return self.nn.Dense(
            args["units"],
            activation=args.get("activation"),
            use_bias=args.get("use_bias", True),
            in_units=args.get("in_units", 0),
            # 004 §6.2: params=shared.params shares the marked layer's parameters
            params=self.marked[args["params_from"]][0].params if args.get("params_from") else None,
            weight_initializer=make(init["weight"]) if "weight" in init else None,
            bias_initializer=(make(init["bias"]) if "bias" in init else None) or "zeros",
        )

    def _relu(self, args):
        return self.nn.Activation("relu")

    def _flatten(self, args):
        return self.nn.Flatten()

    def _dropout(self, args):
        return self.nn.Dropout(args["rate"])

    def _sequential(self, children):
        net = self.nn.Sequential()
        for child in children:
            net.add(self.build(child))
        return net

    def _named_sequential(self, children):
        # note 001's add_module(f'block {i}', ...) in Gluon: register_child(block, name)
        net = self.nn.Sequential()
        for name, child in children.items():
            net.register_child(self.build(child), name)
        net._kit_numbered = True  # canonical paths number the children
        return net

    def _my_sequential(self, children):
        net = self.cls["MySequential"]()
        for child in children:
            net.add(self.build(child))
        return net

    def _mlp(self, args):
        return self.cls["MLP"](in_units=args.get("in_units", 0))

    def _mlp_no_super(self, args):
        return self.cls["MLPNoSuper"](in_units=args.get("in_units", 0))

    def _list_mlp(self, args):
        return self.cls["ListMLP"](in_units=args.get("in_units", 0))

    def _my_sequential_by_object(self, children):
        from conformance.adapters.mxnet.note_models import MySequentialByObject

        net = MySequentialByObject()()
        for child in children:
            net.add(self.build(child))
        return net

    def _fancy_mlp(self, args):
        variant = (args or {}).get("variant", "000")
        if variant != "000":
            from conformance.adapters.mxnet.note_models import fancy_variants  # the notes' own FancyMLPs

            return fancy_variants()[variant]()
        return self.cls["FancyMLP"]()

    def _nest_mlp(self, args):
        return self.cls["NestMLP"]()

    def _centered(self, args):
        return self.cls["CenteredLayer"]()

    def _my_dense(self, args):
        return self.cls["MyDense"](args["units"], in_units=args.get("in_units", 0))

    def _param_dict(self, args):
        # 000 §4.4.2: params = gluon.ParameterDict(); params.get('param2', shape=(2, 3))
        params = self.gluon.ParameterDict()
        for name, shape in args["params"].items():
            params.get(name, shape=tuple(shape))
        return params

    def _reuse(self, name):
        block, node = self.marked[name]
        if "dense" in node:
            # 000 §4.2.4: a second Dense that takes the first one's parameters.
            args = node["dense"]
            return self.nn.Dense(
                args["units"],
                activation=args.get("activation"),
                use_bias=args.get("use_bias", True),
                in_units=args.get("in_units", 0),
                params=block.params,
            )
        return block  # any other block: the same object added a second time
