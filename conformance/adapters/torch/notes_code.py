"""The notes' user code in PyTorch, as note 001 and the torch tab of d2l-en write it.

Rule: this file is program text, never imported by the kit: the program writer copies the
classes and functions a case uses into its program (`idiom.class_source`). Each is what the
notes write; where the kit's model differs only in a size, the size is a constructor
argument. Nothing here is added to make torch look like another framework.
"""

import torch
from torch import nn
from torch.nn import functional as F

INIT_CALLS = []  # the program's own list: my_init appends each call
STEP = None


class MLP(nn.Module):
    """Note 001 (读写文件): nn.Linear(20, 256) and nn.Linear(256, 10); the input size is an argument."""

    def __init__(self, in_units=20):
        super().__init__()
        self.hidden = nn.Linear(in_units, 256)
        self.output = nn.Linear(256, 10)

    def forward(self, X):
        return self.output(F.relu(self.hidden(X)))


class LazyMLP(nn.Module):
    """d2l-en's MLP (torch tab): nn.LazyLinear layers, shapes inferred at the first call."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.LazyLinear(256)
        self.output = nn.LazyLinear(10)

    def forward(self, X):
        return self.output(F.relu(self.hidden(X)))


class MLPNoSuper(nn.Module):
    def __init__(self):
        # the mistake: super().__init__() is missing
        self.hidden = nn.LazyLinear(256)
        self.output = nn.LazyLinear(10)

    def forward(self, X):
        return self.output(F.relu(self.hidden(X)))


class ListMLP(nn.Module):
    def __init__(self, in_units=20):
        super().__init__()
        # a plain Python list: nn.Module registers Module attributes, not lists of them
        self.layers = [nn.Linear(in_units, 256), nn.Linear(256, 10)]

    def forward(self, X):
        return self.layers[1](F.relu(self.layers[0](X)))


class LazyListMLP(nn.Module):
    def __init__(self):
        super().__init__()
        # a plain Python list: nn.Module registers Module attributes, not lists of them
        self.layers = [nn.LazyLinear(256), nn.LazyLinear(10)]

    def forward(self, X):
        return self.layers[1](F.relu(self.layers[0](X)))


class MySequential(nn.Module):
    """d2l-en's MySequential (torch tab): children registered under their index."""

    def __init__(self, *args):
        super().__init__()
        for idx, module in enumerate(args):
            self.add_module(str(idx), module)

    def forward(self, X):
        for module in self.children():
            X = module(X)
        return X


class MySequentialByObject(nn.Module):
    """Note 001's MySequential as written: `_modules` keyed by the block itself."""

    def __init__(self, *args):
        super().__init__()
        for block in args:
            # 这里，`block` 是 `Module` 子类的一个实例。我们把它保存在 `Module` 类的成员变量
            # `_modules` 中。`block` 的类型是 OrderedDict
            self._modules[block] = block

    def forward(self, X):
        # OrderedDict 保证了按照成员添加的顺序遍历它们
        for block in self._modules.values():
            X = block(X)
        return X


class FixedHiddenMLP(nn.Module):
    """Note 001's FixedHiddenMLP as written."""

    def __init__(self):
        super().__init__()
        # 不计算梯度的随机权重函数，因此其在训练期间保持不变
        self.rand_weight = torch.rand((20, 20), requires_grad=False)
        self.linear = nn.Linear(20, 20)

    def forward(self, X):
        X = self.linear(X)
        # 使用创建的常量参数以及 `relu` 和 `dot` 函数
        X = F.relu(torch.mm(X, self.rand_weight) + 1)
        # 复用全连接层，相当于两个全连接层共享参数
        X = self.linear(X)
        # 控制流
        while X.abs().sum() > 1:
            X /= 2
        return X.sum()


class FancyMLP003(nn.Module):
    """Note 003's FancyMLP (a TF note) in torch: Flatten, the constant first, the dense layer once."""

    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.rand_weight = torch.rand((20, 20), requires_grad=False)
        self.dense = nn.Linear(20, 20)

    def forward(self, inputs):
        x = self.flatten(inputs)
        x = F.relu(torch.mm(x, self.rand_weight) + 1)
        x = F.relu(self.dense(x))
        while torch.norm(x) > 1:
            x = x / 2  # TF's `x /= 2` makes a new tensor
        if torch.norm(x) < 0.8:
            x = x * 10
        return x.sum()


class FancyMLP(nn.Module):
    """Note 000's FancyMLP (an MXNet note) in torch: the constant after the first use of the
    layer, the layer used again, the halving loop and the x10 branch, as the note writes them."""

    def __init__(self):
        super().__init__()
        self.rand_weight = torch.rand((20, 20), requires_grad=False)
        self.dense = nn.Linear(20, 20)

    def forward(self, x):
        x = F.relu(self.dense(x))
        x = F.relu(torch.mm(x, self.rand_weight) + 1)
        x = F.relu(self.dense(x))
        while x.norm() > 1:
            x /= 2
        if x.norm() < 0.8:
            x *= 10
        return x.sum()


class FancyMLP004(nn.Module):
    """Note 004's FancyMLP (an MXNet note) in torch: a (10, 10) constant and a 10-unit layer."""

    def __init__(self):
        super().__init__()
        self.rand_weight = torch.rand((10, 10), requires_grad=False)
        self.dense = nn.LazyLinear(10)

    def forward(self, x):
        x = F.relu(self.dense(x))
        x = F.relu(torch.mm(x, self.rand_weight) + 1)
        x = F.relu(self.dense(x))
        while x.norm() > 1:
            x /= 2
        if x.norm() < 0.8:
            x *= 10
        return x.sum()


class NestMLP004(nn.Module):
    """Note 004's counter-example (an MXNet note, marked 错误实例) in torch: torch's child
    registry is _modules; the forward runs it and, as the note writes it, returns nothing."""

    def __init__(self):
        super().__init__()
        self.rand_weight = torch.rand((10, 10), requires_grad=False)
        self.dense = nn.Sequential(nn.LazyLinear(20), nn.ReLU())  # Gluon's Dense(20, activation='relu')

    def add(self, block):
        self._modules[str(len(self._modules))] = block

    def forward(self, X):
        for block in self._modules.values():
            X = block(X)


class NestMLP(nn.Module):
    """Note 001's NestMLP as written."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(20, 64), nn.ReLU(),
                                 nn.Linear(64, 32), nn.ReLU())
        self.linear = nn.Linear(32, 16)

    def forward(self, X):
        return self.linear(self.net(X))


class CenteredLayer(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, X):
        return X - X.mean()


class MyLinear(nn.Module):
    """Note 001's MyLinear reading its parameters themselves (autograd sees them)."""

    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units,))

    def forward(self, X):
        linear = torch.matmul(X, self.weight) + self.bias
        return F.relu(linear)


class MyLinearData(nn.Module):
    """Note 001's MyLinear as written: forward reads `.data`, outside autograd."""

    def __init__(self, in_units, units):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_units, units))
        self.bias = nn.Parameter(torch.randn(units,))

    def forward(self, X):
        linear = torch.matmul(X, self.weight.data) + self.bias.data
        return F.relu(linear)


def my_init(m):
    if type(m) == nn.Linear:
        print("Init", *[(name, param.shape) for name, param in m.named_parameters()][0])
        INIT_CALLS.append({"param": m.weight, "shape": list(m.weight.shape), "step": STEP})  # the kit's record
        nn.init.uniform_(m.weight, -10, 10)
        m.weight.data *= m.weight.data.abs() >= 5


def try_gpu(i=0):
    """如果存在，则返回gpu(i)，否则返回cpu()。"""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f'cuda:{i}')
    return torch.device('cpu')


def try_all_gpus():
    """返回所有可用的GPU，如果没有GPU，则返回[cpu(),]。"""
    devices = [torch.device(f'cuda:{i}')
               for i in range(torch.cuda.device_count())]
    return devices if devices else [torch.device('cpu')]
