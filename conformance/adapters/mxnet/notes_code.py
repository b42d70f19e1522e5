"""The notes' user code on MXNet 1.x, as notes 000, 002 and 004 (and d2l's MXNet tab) write it.

Rule: this file is program text, never imported by the kit: the program writer copies the
classes and functions a case uses into its program (`idiom.class_source`). Each is what the
notes write, with the kit's sizes (specs/README.md "Models"); `in_units=0` is the kit's knob
for Gluon's own deferred shapes (nn.Dense's `in_units=0`). In-place updates (`x /= 2`) and
`self._children[block.name] = block` are kept as the notes write them.
"""

import mxnet as mx
from mxnet import init, nd
from mxnet.gluon import nn

INIT_CALLS = []  # the program's own list: MyInit appends (name, shape, step) of every call
STEP = None


class MLP(nn.Block):
    def __init__(self, in_units=0, **kwargs):
        super(MLP, self).__init__(**kwargs)
        self.hidden = nn.Dense(256, activation="relu", in_units=in_units)
        self.output = nn.Dense(10, in_units=256 if in_units else 0)

    def forward(self, x):
        return self.output(self.hidden(x))


class MLPNoSuper(nn.Block):
    def __init__(self, in_units=0, **kwargs):  # 000's exercise: super().__init__() is missing
        self.hidden = nn.Dense(256, activation="relu", in_units=in_units)
        self.output = nn.Dense(10, in_units=256 if in_units else 0)

    def forward(self, x):
        return self.output(self.hidden(x))


class ListMLP(nn.Block):
    def __init__(self, in_units=0, **kwargs):
        super(ListMLP, self).__init__(**kwargs)
        # 000's exercise: a plain Python list instead of a Sequential
        self.layers = [nn.Dense(256, activation="relu", in_units=in_units),
                       nn.Dense(10, in_units=256 if in_units else 0)]

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class MySequential(nn.Block):
    def __init__(self, **kwargs):
        super(MySequential, self).__init__(**kwargs)

    def add(self, block):
        # 000 §4.1.2: the child goes into Block._children under its unique name
        self._children[block.name] = block

    def forward(self, x):
        for block in self._children.values():
            x = block(x)
        return x


class MySequentialByObject(nn.Block):
    """Note 001's MySequential (`self._modules[block] = block`) written for Gluon."""

    def __init__(self, **kwargs):
        super(MySequentialByObject, self).__init__(**kwargs)

    def add(self, block):
        self._children[block] = block

    def forward(self, x):
        for block in self._children.values():
            x = block(x)
        return x


class FancyMLP(nn.Block):
    def __init__(self, **kwargs):
        super(FancyMLP, self).__init__(**kwargs)
        # a random weight made with get_constant: not iterated in training (a constant parameter)
        self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(20, 20)))
        self.dense = nn.Dense(20, activation="relu", in_units=20)

    def forward(self, x):
        x = self.dense(x)
        x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)
        x = self.dense(x)  # the same layer again: its parameters are shared
        while x.norm().asscalar() > 1:
            x /= 2
        if x.norm().asscalar() < 0.8:
            x *= 10
        return x.sum()


class FixedHiddenMLP(nn.Block):
    """Note 001's FixedHiddenMLP written for Gluon: no activation on `linear`, the L1 loop, no x10."""

    def __init__(self, **kwargs):
        super(FixedHiddenMLP, self).__init__(**kwargs)
        self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(20, 20)))
        self.linear = nn.Dense(20, in_units=20)

    def forward(self, X):
        X = self.linear(X)
        X = nd.relu(nd.dot(X, self.rand_weight.data()) + 1)
        X = self.linear(X)
        while X.abs().sum().asscalar() > 1:
            X /= 2
        return X.sum()


class FancyMLP003(nn.Block):
    """Note 003's FancyMLP written for Gluon: Flatten, then the constant, then the Dense layer once."""

    def __init__(self, **kwargs):
        super(FancyMLP003, self).__init__(**kwargs)
        self.flatten = nn.Flatten()
        self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(20, 20)))
        self.dense = nn.Dense(20, activation="relu", in_units=20)

    def forward(self, inputs):
        x = self.flatten(inputs)
        x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)
        x = self.dense(x)
        while x.norm().asscalar() > 1:
            x /= 2
        if x.norm().asscalar() < 0.8:
            x *= 10
        return x.sum()


class FancyMLP004(nn.Block):
    """Note 004 §6.1's FancyMLP as written: a (10, 10) constant and Dense(10) without in_units."""

    def __init__(self, **kwargs):
        super(FancyMLP004, self).__init__(**kwargs)
        self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(10, 10)))
        self.dense = nn.Dense(10, activation="relu")

    def forward(self, x):
        x = self.dense(x)
        x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)
        x = self.dense(x)
        while x.norm().asscalar() > 1:
            x /= 2
        if x.norm().asscalar() < 0.8:
            x *= 10
        return x.sum()


class FancyMLPNoAsscalar(nn.Block):
    """Note 000's exercise (如果去掉FancyMLP类里面的asscalar函数): the loop and the branch compare
    x.norm() itself, an NDArray of shape (1,)."""

    def __init__(self, **kwargs):
        super(FancyMLPNoAsscalar, self).__init__(**kwargs)
        self.rand_weight = self.params.get_constant("rand_weight", nd.random.uniform(shape=(20, 20)))
        self.dense = nn.Dense(20, activation="relu", in_units=20)

    def forward(self, x):
        x = self.dense(x)
        x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)
        x = self.dense(x)
        while x.norm() > 1:
            x /= 2
        if x.norm() < 0.8:
            x *= 10
        return x.sum()


class NestMLP004(nn.Block):
    """Note 004 §6.1's counter-example (##错误实例), as written: no `return` in forward."""

    def __init__(self, **kwargs):
        super(NestMLP004, self).__init__(**kwargs)
        self.rand_weight = self.params.get_constant(
            'rand_weight', nd.random.uniform(shape=(10, 10)))
        self.dense = nn.Dense(20, activation="relu")

    def add(self, block):
        self._children[block.name] = block

    def forward(self, x):
        for block in self._children.values():
            x = block(x)


class NestMLP(nn.Block):
    def __init__(self, **kwargs):
        super(NestMLP, self).__init__(**kwargs)
        self.net = nn.Sequential()
        self.net.add(nn.Dense(64, activation="relu"), nn.Dense(32, activation="relu"))
        self.dense = nn.Dense(16, activation="relu")

    def forward(self, x):
        return self.dense(self.net(x))


class CenteredLayer(nn.Block):
    def __init__(self, **kwargs):
        super(CenteredLayer, self).__init__(**kwargs)

    def forward(self, x):
        return x - x.mean()


class MyDense(nn.Block):
    # units: the layer's outputs; in_units: its inputs (000 §4.4.2 takes both)
    def __init__(self, units, in_units, **kwargs):
        super(MyDense, self).__init__(**kwargs)
        self.weight = self.params.get("weight", shape=(in_units, units))
        self.bias = self.params.get("bias", shape=(units,))

    def forward(self, x):
        linear = nd.dot(x, self.weight.data()) + self.bias.data()
        return nd.relu(linear)


class MyInit(init.Initializer):
    def _init_weight(self, name, data):
        INIT_CALLS.append({"name": name, "shape": list(data.shape), "step": STEP})
        print("Init", name, data.shape)
        data[:] = nd.random.uniform(low=-10, high=10, shape=data.shape)
        data *= data.abs() >= 5


def try_gpu(i=0):
    """Return gpu(i) if exists, otherwise return cpu() (d2l's MXNet tab)."""
    return mx.gpu(i) if mx.context.num_gpus() >= i + 1 else mx.cpu()


def try_all_gpus():
    """Return all available GPUs, or [cpu()] if no GPU exists (d2l's MXNet tab)."""
    devices = [mx.gpu(i) for i in range(mx.context.num_gpus())]
    return devices if devices else [mx.cpu()]
