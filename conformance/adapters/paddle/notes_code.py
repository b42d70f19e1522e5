"""The notes' user code in PaddlePaddle, as the Paddle tab of the Chinese edition of the book writes it.

Rule: this file is program text, never imported by the kit: the program writer copies the
classes and functions a case uses into its program (`idiom.class_source`). Where the book has
a Paddle version (MLP, MySequential, FixedHiddenMLP, NestMLP, CenteredLayer, MyLinear, my_init,
try_gpu, try_all_gpus) this is it, with the sizes it hard-codes (Paddle has no shape
inference: nn.Linear(20, 256)); the other notes' classes are written the same way.
"""

import paddle
from paddle import nn
from paddle.nn import functional as F

INIT_CALLS = []  # the program's own list: my_init appends (name, shape, step) of every call
STEP = None


class MLP(nn.Layer):
    def __init__(self, in_units=20):  # the book writes nn.Linear(20, 256): 20 is its input size
        super().__init__()
        self.hidden = nn.Linear(in_units, 256)
        self.output = nn.Linear(256, 10)

    def forward(self, X):
        return self.output(F.relu(self.hidden(X)))


class MLPNoSuper(nn.Layer):
    def __init__(self, in_units=20):  # the note's mistake: super().__init__() is missing
        self.hidden = nn.Linear(in_units, 256)
        self.output = nn.Linear(256, 10)

    def forward(self, X):
        return self.output(F.relu(self.hidden(X)))


class ListMLP(nn.Layer):
    def __init__(self, in_units=20):
        super().__init__()
        # a plain list: nn.Layer registers Layer attributes (and nn.LayerList), not lists
        self.layers = [nn.Linear(in_units, 256), nn.Linear(256, 10)]

    def forward(self, X):
        return self.layers[1](F.relu(self.layers[0](X)))


class MySequential(nn.Layer):
    def __init__(self, *layers):
        super().__init__()
        for idx, layer in enumerate(layers):
            # add_sublayer puts the layer into self._sub_layers (an OrderedDict)
            self.add_sublayer(str(idx), layer)

    def forward(self, X):
        for layer in self._sub_layers.values():
            X = layer(X)
        return X


class MySequentialByObject(nn.Layer):  # note 001's, as written: self._modules[block] = block
    def __init__(self, *layers):
        super().__init__()
        for block in layers:
            self._sub_layers[block] = block

    def forward(self, X):
        for block in self._sub_layers.values():
            X = block(X)
        return X


class FancyMLP(nn.Layer):  # note 000's: a constant weight, one Linear used twice, control flow
    def __init__(self):
        super().__init__()
        # a plain tensor (stop_gradient=True), not a parameter: it is not trained
        self.rand_weight = paddle.rand([20, 20])
        self.dense = nn.Linear(20, 20)

    def forward(self, X):
        X = F.relu(self.dense(X))
        X = F.relu(paddle.mm(X, self.rand_weight) + 1)
        X = F.relu(self.dense(X))  # the same layer again: its parameters are shared
        while paddle.linalg.norm(X) > 1:
            X /= 2
        if paddle.linalg.norm(X) < 0.8:
            X *= 10
        return X.sum()


class FixedHiddenMLP(nn.Layer):
    def __init__(self):
        super().__init__()
        # 不计算梯度的随机权重参数。因此其在训练期间保持不变。
        self.rand_weight = paddle.rand([20, 20])
        self.linear = nn.Linear(20, 20)

    def forward(self, X):
        X = self.linear(X)
        X = F.relu(paddle.tensor.mm(X, self.rand_weight) + 1)
        X = self.linear(X)
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()


class FancyMLP003(nn.Layer):  # note 003's: Flatten, then the constant, then the Linear once
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.rand_weight = paddle.rand([20, 20])
        self.dense = nn.Linear(20, 20)

    def forward(self, inputs):
        X = self.flatten(inputs)
        X = F.relu(paddle.mm(X, self.rand_weight) + 1)
        X = F.relu(self.dense(X))
        while paddle.linalg.norm(X) > 1:
            X /= 2
        if paddle.linalg.norm(X) < 0.8:
            X *= 10
        return X.sum()


class FancyMLP004(nn.Layer):  # note 004's: 000's with a (10, 10) constant; the Linear takes its own output
    def __init__(self):
        super().__init__()
        self.rand_weight = paddle.rand([10, 10])
        self.dense = nn.Linear(10, 10)

    def forward(self, X):
        X = F.relu(self.dense(X))
        X = F.relu(paddle.mm(X, self.rand_weight) + 1)
        X = F.relu(self.dense(X))
        while paddle.linalg.norm(X) > 1:
            X /= 2
        if paddle.linalg.norm(X) < 0.8:
            X *= 10
        return X.sum()


class NestMLP004(nn.Layer):
    """Note 004's counter-example (an MXNet note, marked 错误实例) in Paddle: the child registry is
    _sub_layers; the forward runs it and, as the note writes it, returns nothing."""

    def __init__(self):
        super().__init__()
        self.rand_weight = paddle.rand([10, 10])
        self.dense = nn.Sequential(nn.Linear(20, 20), nn.ReLU())  # Gluon's Dense(20, activation='relu') on X (20, 20)

    def add(self, block):
        self._sub_layers[str(len(self._sub_layers))] = block

    def forward(self, X):
        for block in self._sub_layers.values():
            X = block(X)


class NestMLP(nn.Layer):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(),
                                 nn.Linear(64, 32), nn.ReLU())
        self.dense = nn.Linear(32, 16)

    def forward(self, X):
        return F.relu(self.dense(self.net(X)))


class CenteredLayer(nn.Layer):
    def __init__(self):
        super().__init__()

    def forward(self, X):
        return X - X.mean()


class MyLinear(nn.Layer):
    def __init__(self, in_units, units, read_via_data=False):
        super().__init__()
        self.read_via_data = read_via_data
        self.weight = paddle.create_parameter(shape=(in_units, units), dtype='float32')
        self.bias = paddle.create_parameter(shape=(units,), dtype='float32')

    def forward(self, X):
        if self.read_via_data:  # as the PyTorch note reads its parameters: .data
            return F.relu(paddle.matmul(X, self.weight.data) + self.bias.data)
        linear = paddle.matmul(X, self.weight) + self.bias
        return F.relu(linear)


class MyDense(nn.Layer):  # note 004's MyDense(units, in_units, **kwargs)
    def __init__(self, units, in_units, **kwargs):
        super().__init__(**kwargs)  # the keyword arguments go to nn.Layer (name_scope)
        # the layer's own create_parameter, as the note's self.params.get
        self.weight = self.create_parameter(shape=[in_units, units])
        self.bias = self.create_parameter(shape=[units], is_bias=True)

    def forward(self, X):
        return F.relu(paddle.matmul(X, self.weight) + self.bias)


def my_init(m):
    if type(m) == nn.Linear:
        name, param = next(iter(m.named_parameters()))
        print("Init", name, param.shape)
        INIT_CALLS.append({"name": m.weight.name, "shape": list(m.weight.shape), "step": STEP})
        nn.initializer.Uniform(-10, 10)(m.weight)
        h = (paddle.abs(m.weight) >= 5).astype(m.weight.dtype)
        m.weight.set_value(m.weight * h)


def try_gpu(i=0):
    """如果存在，则返回gpu(i)，否则返回cpu()。"""
    if paddle.device.cuda.device_count() >= i + 1:
        return paddle.CUDAPlace(i)
    return paddle.CPUPlace()


def try_all_gpus():
    """返回所有可用的GPU，如果没有GPU，则返回[cpu(),]。"""
    devices = [paddle.CUDAPlace(i)
               for i in range(paddle.device.cuda.device_count())]
    return devices if devices else paddle.CPUPlace()
