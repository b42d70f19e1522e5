"""The blocks the notes build (Dive into Deep Learning ch. 4), written the Gluon way.

Each class is what the notes write, with the kit's sizes (specs/README.md "Models").
`MLPNoSuper` forgets `super().__init__()` and so fails when it assigns a layer;
`ListMLP` keeps its layers in a plain list, which registers nothing.
"""

from __future__ import annotations

from collections import OrderedDict

from . import ops, rng
from .block import Block, Sequential
from .layers import Dense, Flatten, _finish_deferred
from .parameter import shape_is_known


class MLP(Block):
    """hidden: Dense(256, relu), output: Dense(10)."""

    def __init__(self, in_units: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.hidden = Dense(256, activation="relu", in_units=in_units)
        self.output = Dense(10, in_units=256 if in_units else 0)

    def forward(self, x):
        return self.output(self.hidden(x))


class MLPNoSuper(Block):
    """The MLP whose constructor forgets the parent constructor call."""

    def __init__(self, in_units: int = 0, **kwargs):  # super().__init__() is missing on purpose
        self.hidden = Dense(256, activation="relu", in_units=in_units)
        self.output = Dense(10, in_units=256 if in_units else 0)

    def forward(self, x):
        return self.output(self.hidden(x))


class MySequential(Block):
    """A hand-written Sequential: children go into the block's registry `_children`."""

    def add(self, block: Block) -> None:
        # The notes key by block.name; keying by position gives the same registry
        # behaviour and the canonical child names "0", "1", ... that files are saved under.
        self._children[str(len(self._children))] = block

    def forward(self, x):
        for block in self._children.values():
            x = block(x)
        return x

    def __getitem__(self, index):
        return list(self._children.values())[index]


class MySequentialByObject(MySequential):
    """Note 001's MySequential as written: `self._modules[block] = block`, the child itself is
    its key. The registry still holds every child, in order; structural names number them."""

    def add(self, block: Block) -> None:
        self._children[block] = block

    def _collect_params_with_prefix(self, prefix: str = "") -> OrderedDict:
        found = OrderedDict()
        for index, child in enumerate(self._children.values()):
            found.update(child._collect_params_with_prefix(f"{prefix}.{index}" if prefix else str(index)))
        return found


class ListMLP(Block):
    """Dense(256, relu) and Dense(10) kept in a plain list: NOT registered."""

    def __init__(self, in_units: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.layers = [
            Dense(256, activation="relu", in_units=in_units),
            Dense(10, in_units=256 if in_units else 0),
        ]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class FancyMLP(Block):
    """A constant weight, one Dense used twice, Python control flow; returns a scalar."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rand_weight = self.params.get_constant("rand_weight", rng.uniform(0, 1, (20, 20)))
        self.dense = Dense(20, activation="relu", in_units=20)

    def forward(self, x):
        x = self.dense(x)
        x = ops.relu(ops.dot(x, self.rand_weight.data()) + 1)
        x = self.dense(x)  # reused: both uses share one weight
        while x.norm().asscalar() > 1:
            x = x / 2
        if x.norm().asscalar() < 0.8:
            x = x * 10
        return x.sum()


class FixedHiddenMLP(Block):
    """Note 001's FixedHiddenMLP as written (fancy_mlp variant "001"): the constant is used
    after the first Linear (no activation), the loop halves while the L1 norm exceeds 1, and
    there is no x10 branch. Out of place here; the note's torch code divides in place."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rand_weight = self.params.get_constant("rand_weight", rng.uniform(0, 1, (20, 20)))
        self.linear = Dense(20, in_units=20)

    def forward(self, x):
        x = self.linear(x)
        x = ops.relu(ops.dot(x, self.rand_weight.data()) + 1)
        x = self.linear(x)
        while x.abs().sum().asscalar() > 1:
            x = x / 2
        return x.sum()


class FancyMLP003(Block):
    """Note 003's FancyMLP as written (variant "003"): Flatten, then the constant, then the
    Dense layer once (the text says it is reused; the code calls it once)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flatten = Flatten()
        self.rand_weight = self.params.get_constant("rand_weight", rng.uniform(0, 1, (20, 20)))
        self.dense = Dense(20, activation="relu", in_units=20)

    def forward(self, x):
        x = self.flatten(x)
        x = ops.relu(ops.dot(x, self.rand_weight.data()) + 1)
        x = self.dense(x)
        while x.norm().asscalar() > 1:
            x = x / 2
        if x.norm().asscalar() < 0.8:
            x = x * 10
        return x.sum()


class FancyMLP004(FancyMLP):
    """Note 004's FancyMLP (variant "004"): 000's code with a (10, 10) constant and Dense(10)."""

    def __init__(self, **kwargs):
        Block.__init__(self, **kwargs)
        self.rand_weight = self.params.get_constant("rand_weight", rng.uniform(0, 1, (10, 10)))
        self.dense = Dense(10, activation="relu")


FANCY_VARIANTS = {"001": FixedHiddenMLP, "003": FancyMLP003, "004": FancyMLP004}


class NestMLP(Block):
    """net: Sequential(Dense(64, relu), Dense(32, relu)), dense: Dense(16, relu)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.net = Sequential()
        self.net.add(Dense(64, activation="relu"), Dense(32, activation="relu"))
        self.dense = Dense(16, activation="relu")

    def forward(self, x):
        return self.dense(self.net(x))


class CenteredLayer(Block):
    """x - x.mean(); no parameters."""

    def forward(self, x):
        return x - x.mean()


class MyDense(Block):
    """weight (in_units, units), bias (units,), relu(x @ weight + bias).

    Without in_units the weight's shape is (0, units) and is fixed at the first call.
    `read_via_data` reads the parameters the way the PyTorch note does (`self.weight.data`):
    a view outside autograd, so no gradient reaches them (the kit's normative CL6).
    The default reads through `data()`, Gluon's normal access, which keeps the gradient.
    """

    def __init__(self, units: int, in_units: int = 0, read_via_data: bool = False, **kwargs):
        super().__init__(**kwargs)
        self._units = units
        self.read_via_data = read_via_data
        self.weight = self.params.get("weight", shape=(in_units, units))
        self.bias = self.params.get("bias", shape=(units,))

    def forward(self, x):
        if not shape_is_known(self.weight.shape):
            self.weight.shape = (x.shape[-1], self._units)
            _finish_deferred(self)
        weight, bias = self.weight.data(), self.bias.data()
        if self.read_via_data:
            weight, bias = weight.detach(), bias.detach()
        linear = ops.dot(x, weight) + bias
        return ops.relu(linear)

    def __repr__(self) -> str:
        return f"MyDense({self.weight.shape[0] or None} -> {self._units})"
