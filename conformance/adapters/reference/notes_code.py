"""The notes' user code on the reference, written the Gluon way (MXNet's tab of the book).

Rule: this file is program text, never imported by the kit: the program writer copies the
classes and functions a case uses into its program (`idiom.class_source`). Each is what the
notes write, with the kit's sizes (specs/README.md "Models").
"""

from conformance.reference import init, nd, nn
from conformance.reference.device import Device, cpu, num_gpus

INIT_CALLS = []  # the program's own list: MyInit appends (name, shape, step) of every call
STEP = None


class MLP(nn.Block):
    def __init__(self, in_units=0, **kwargs):
        super().__init__(**kwargs)
        self.hidden = nn.Dense(256, activation="relu", in_units=in_units)
        self.output = nn.Dense(10, in_units=256 if in_units else 0)

    def forward(self, x):
        return self.output(self.hidden(x))


class MLPNoSuper(nn.Block):
    def __init__(self, in_units=0, **kwargs):  # the note's mistake: super().__init__() is missing
        self.hidden = nn.Dense(256, activation="relu", in_units=in_units)
        self.output = nn.Dense(10, in_units=256 if in_units else 0)

    def forward(self, x):
        return self.output(self.hidden(x))


class ListMLP(nn.Block):
    def __init__(self, in_units=0, **kwargs):
        super().__init__(**kwargs)
        # a plain list: Blocks inside it are not registered
        self.layers = [nn.Dense(256, activation="relu", in_units=in_units), nn.Dense(10, in_units=256 if in_units else 0)]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class MySequential(nn.Block):
    def add(self, block):
        # The notes key the registry by block.name; the kit keys it by position, which registers
        # the child the same way and names it "0", "1", ... as nn.Sequential does.
        self._children[str(len(self._children))] = block

    def forward(self, x):
        for block in self._children.values():
            x = block(x)
        return x


class MySequentialByObject(nn.Block):
    def add(self, block):
        self._children[block] = block  # note 001 as written: the child itself is its key

    def forward(self, x):
        for block in self._children.values():
            x = block(x)
        return x


class FancyMLP(nn.Block):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # a constant weight: not trained (grad_req 'null')
        self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(20, 20)))
        self.dense = nn.Dense(20, activation="relu", in_units=20)

    def forward(self, x):
        x = self.dense(x)
        x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)
        x = self.dense(x)  # the same layer again: its parameters are shared
        while x.norm().asscalar() > 1:
            x = x / 2
        if x.norm().asscalar() < 0.8:
            x = x * 10
        return x.sum()


class FixedHiddenMLP(nn.Block):
    """Note 001's FixedHiddenMLP: no activation on the first layer, the L1 loop, no x10."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(20, 20)))
        self.linear = nn.Dense(20, in_units=20)

    def forward(self, x):
        x = self.linear(x)
        x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)
        x = self.linear(x)
        while x.abs().sum().asscalar() > 1:
            x = x / 2
        return x.sum()


class FancyMLP003(nn.Block):
    """Note 003's FancyMLP: Flatten, then the constant, then the Dense layer once."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flatten = nn.Flatten()
        self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(20, 20)))
        self.dense = nn.Dense(20, activation="relu", in_units=20)

    def forward(self, x):
        x = self.flatten(x)
        x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)
        x = self.dense(x)
        while x.norm().asscalar() > 1:
            x = x / 2
        if x.norm().asscalar() < 0.8:
            x = x * 10
        return x.sum()


class FancyMLP004(nn.Block):
    """Note 004's FancyMLP: 000's code with a (10, 10) constant and Dense(10)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(10, 10)))
        self.dense = nn.Dense(10, activation="relu")

    def forward(self, x):
        x = self.dense(x)
        x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)
        x = self.dense(x)
        while x.norm().asscalar() > 1:
            x = x / 2
        if x.norm().asscalar() < 0.8:
            x = x * 10
        return x.sum()


class FancyMLPNoAsscalar(nn.Block):
    """Note 000's exercise: FancyMLP without asscalar(): `while` and `if` take the one-element
    comparison x.norm() > 1 itself."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(20, 20)))
        self.dense = nn.Dense(20, activation="relu", in_units=20)

    def forward(self, x):
        x = self.dense(x)
        x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)
        x = self.dense(x)
        while x.norm() > 1:
            x = x / 2
        if x.norm() < 0.8:
            x = x * 10
        return x.sum()


class NestMLP004(nn.Block):
    """Note 004's counter-example (marked 错误实例), as written: the forward runs the child
    registry (the attribute `dense`, then what add() put there) and returns nothing."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(10, 10)))
        self.dense = nn.Dense(20, activation="relu")

    def add(self, block):
        self._children[block.name] = block

    def forward(self, x):
        for block in self._children.values():
            x = block(x)


class NestMLP(nn.Block):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.net = nn.Sequential()
        self.net.add(nn.Dense(64, activation="relu"), nn.Dense(32, activation="relu"))
        self.dense = nn.Dense(16, activation="relu")

    def forward(self, x):
        return self.dense(self.net(x))


class CenteredLayer(nn.Block):
    def forward(self, x):
        return x - x.mean()


class MyDense(nn.Block):
    def __init__(self, units, in_units=0, read_via_data=False, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.read_via_data = read_via_data
        self.weight = self.params.get("weight", shape=(in_units, units))
        self.bias = self.params.get("bias", shape=(units,))

    def infer_shape(self, x):
        # Without in_units the weight waits for the first input (Gluon 2's infer_shape hook).
        self.weight.shape = (x.shape[-1], self.units)

    def forward(self, x):
        weight, bias = self.weight.data(), self.bias.data()
        if self.read_via_data:  # as the PyTorch note reads its parameters: .data, outside autograd
            weight, bias = weight.detach(), bias.detach()
        return nd.relu(nd.dot(x, weight) + bias)

    def __repr__(self):
        return f"MyDense({self.weight.shape[0] or None} -> {self.units})"


class MyInit(init.Initializer):
    def _init_weight(self, name, data):
        INIT_CALLS.append({"name": name, "shape": list(data.shape), "step": STEP})
        print("Init", name, data.shape)
        data[...] = self.rng.uniform(-10, 10, size=data.shape)
        data *= abs(data) >= 5


def try_gpu(i=0):
    """The note's try_gpu: gpu(i) if it exists, else cpu()."""
    if num_gpus() >= i + 1:
        return Device("gpu", i)
    return cpu()


def try_all_gpus():
    """The note's try_all_gpus: every GPU, or [cpu()] when there is none."""
    devices = [Device("gpu", i) for i in range(num_gpus())]
    return devices if devices else [cpu()]
