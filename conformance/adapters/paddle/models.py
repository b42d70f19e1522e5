"""PaddlePaddle user-level code: the notes' nn.Layer subclasses as the Chinese edition writes them.

Rule: this module holds only what a Paddle user writes (the classes, the init functions passed
to `Layer.apply`, the writes through `set_value`), so an error raised here is Paddle's behaviour,
not a kit bug (`__conformance_user_code__`). Paddle is imported only inside `classes()`, called
from `PaddleAdapter.load()`, never at import time. The snippet writer copies these sources with
`inspect`, so nothing here may name the kit.
"""

from __future__ import annotations

from types import SimpleNamespace

__conformance_user_code__ = True

_CLASSES = None


def classes() -> SimpleNamespace:
    """The nn.Layer subclasses of the notes, defined once paddle is importable."""
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = _define()
    return _CLASSES


def is_parameter_dict(obj) -> bool:
    """True for a paddle nn.ParameterDict (Paddle 3.0 and later; 2.x has none)."""
    C = classes()
    return C.ParameterDict is not None and isinstance(obj, C.ParameterDict)


def _define() -> SimpleNamespace:
    import paddle
    from paddle import nn
    from paddle.nn import functional as F

    class MLP(nn.Layer):
        def __init__(self, in_units=20):
            super().__init__()
            self.hidden = nn.Linear(in_units, 256)
            self.output = nn.Linear(256, 10)

        def forward(self, X):
            return self.output(F.relu(self.hidden(X)))

    class MLPNoSuper(nn.Layer):
        def __init__(self, in_units=20):  # the note's mistake: no super().__init__()
            self.hidden = nn.Linear(in_units, 256)
            self.output = nn.Linear(256, 10)

        def forward(self, X):
            return self.output(F.relu(self.hidden(X)))

    class ListMLP(nn.Layer):
        def __init__(self, in_units=20):
            super().__init__()
            # A plain list: nn.Layer registers Layer/Parameter attributes (and nn.LayerList), not lists.
            self.layers = [nn.Linear(in_units, 256), nn.Linear(256, 10)]

        def forward(self, X):
            return self.layers[1](F.relu(self.layers[0](X)))

    class MySequential(nn.Layer):
        def __init__(self, *layers):
            super().__init__()
            for idx, layer in enumerate(layers):
                # add_sublayer puts the layer into self._sub_layers (an OrderedDict), as the book does
                self.add_sublayer(str(idx), layer)

        def forward(self, X):
            for layer in self._sub_layers.values():
                X = layer(X)
            return X

    class FixedHiddenMLP(nn.Layer):
        def __init__(self):
            super().__init__()
            # A plain tensor (stop_gradient=True by default), not a parameter: a constant.
            self.rand_weight = paddle.rand([20, 20])
            self.linear = nn.Linear(20, 20)

        def forward(self, X):
            X = F.relu(self.linear(X))
            X = F.relu(paddle.matmul(X, self.rand_weight) + 1)
            X = F.relu(self.linear(X))  # the same layer again: shared parameters
            while paddle.linalg.norm(X) > 1:
                X /= 2
            if paddle.linalg.norm(X) < 0.8:
                X *= 10
            return X.sum()

    class FixedHiddenMLP001(nn.Layer):
        """Note 001's FixedHiddenMLP as written: no activation on the Linear, the L1 norm, no x10."""

        def __init__(self):
            super().__init__()
            self.rand_weight = paddle.rand([20, 20])  # stop_gradient=True: a constant
            self.linear = nn.Linear(20, 20)

        def forward(self, X):
            X = self.linear(X)
            X = F.relu(paddle.matmul(X, self.rand_weight) + 1)
            X = self.linear(X)
            while X.abs().sum() > 1:
                X /= 2
            return X.sum()

    class FancyMLP003(nn.Layer):
        """Note 003's FancyMLP (TF), written the same way in Paddle."""

        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.rand_weight = paddle.rand([20, 20])
            self.dense = nn.Linear(20, 20)

        def forward(self, inputs):
            x = self.flatten(inputs)
            x = F.relu(paddle.matmul(x, self.rand_weight) + 1)
            x = F.relu(self.dense(x))
            while paddle.linalg.norm(x) > 1:
                x = x / 2
            if paddle.linalg.norm(x) < 0.8:
                x = x * 10
            return x.sum()

    class FancyMLP004(nn.Layer):
        """Note 004's 10x10 FancyMLP (MXNet), written the same way in Paddle (in_features given)."""

        def __init__(self, in_units=10):
            super().__init__()
            self.rand_weight = paddle.rand([10, 10])
            self.dense = nn.Linear(in_units, 10)

        def forward(self, x):
            x = F.relu(self.dense(x))
            x = F.relu(paddle.matmul(x, self.rand_weight) + 1)
            x = F.relu(self.dense(x))
            while paddle.linalg.norm(x) > 1:
                x = x / 2
            if paddle.linalg.norm(x) < 0.8:
                x = x * 10
            return x.sum()

    class NoteMySequential(nn.Layer):
        """Note 001's MySequential as written, in Paddle: the registry keyed by the block itself."""

        def __init__(self, *layers):
            super().__init__()
            for block in layers:
                self._sub_layers[block] = block

        def forward(self, X):
            for block in self._sub_layers.values():
                X = block(X)
            return X

    class MyDenseKwargs(nn.Layer):
        """004's MyDense(units, in_units, **kwargs): the keyword arguments go to nn.Layer (name_scope)."""

        def __init__(self, in_units, units, **kwargs):
            super().__init__(**kwargs)
            self.weight = self.create_parameter(shape=[in_units, units])
            self.bias = self.create_parameter(shape=[units], is_bias=True)

        def forward(self, X):
            return F.relu(paddle.matmul(X, self.weight) + self.bias)

    class NestMLP(nn.Layer):
        def __init__(self, in_units=20):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(in_units, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
            self.linear = nn.Linear(32, 16)

        def forward(self, X):
            return F.relu(self.linear(self.net(X)))

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
            if self.read_via_data:  # as the note: .data is a detached tensor over the same memory
                return F.relu(paddle.matmul(X, self.weight.data) + self.bias.data)
            return F.relu(paddle.matmul(X, self.weight) + self.bias)

    return SimpleNamespace(
        paddle=paddle, nn=nn, F=F, MLP=MLP, MLPNoSuper=MLPNoSuper, ListMLP=ListMLP,
        MySequential=MySequential, FixedHiddenMLP=FixedHiddenMLP, NestMLP=NestMLP,
        CenteredLayer=CenteredLayer, MyLinear=MyLinear, FixedHiddenMLP001=FixedHiddenMLP001,
        FancyMLP003=FancyMLP003, FancyMLP004=FancyMLP004, NoteMySequential=NoteMySequential,
        MyDenseKwargs=MyDenseKwargs,
        # nn.ParameterDict came with Paddle 3.0; 2.x has only nn.ParameterList.
        ParameterDict=getattr(nn, "ParameterDict", None),
    )


def initializer(kind, args):
    """One INIT -> a paddle.nn.initializer object (called on a parameter, it fills it in place)."""
    from paddle import nn

    if kind == "normal":
        return nn.initializer.Normal(mean=float(args.get("mean", 0.0)), std=float(args.get("sigma", 0.01)))
    if kind == "constant":
        return nn.initializer.Constant(value=float(args["value"]))
    if kind == "uniform":
        return nn.initializer.Uniform(low=float(args.get("low", -0.07)), high=float(args.get("high", 0.07)))
    if kind == "xavier":
        return nn.initializer.XavierUniform()
    if kind == "zeros":
        return nn.initializer.Constant(value=0.0)
    if kind == "ones":
        return nn.initializer.Constant(value=1.0)
    if kind == "orthogonal":
        return nn.initializer.Orthogonal(gain=float(args.get("scale", 1.414)))
    if kind == "msra":  # MXNet's MSRAPrelu(factor_type='in', slope): Kaiming normal for leaky_relu(slope)
        return nn.initializer.KaimingNormal(negative_slope=float(args.get("slope", 0.25)), nonlinearity="leaky_relu")
    if kind in ("mixed", "load"):
        from conformance.adapters.base import Unsupported

        raise Unsupported(f"paddle has no {kind} initializer: the idioms are net.apply(fn) choosing by layer, "
                          "or net.set_state_dict(paddle.load(path)) for saved values")
    from conformance.adapters.base import AdapterBug

    raise AdapterBug(f"unknown initializer {kind!r}")


def my_init(param, name, log):
    """The notes' MyInit: U(-10, 10), then zero every entry with |w| < 5 (weights only)."""
    import paddle

    log(name, list(param.shape))
    w = paddle.uniform(param.shape, dtype=param.dtype, min=-10.0, max=10.0)
    w = w * (w.abs() >= 5).astype(w.dtype)
    param.set_value(w)


def write_data(param, add=None, index=None, value=None, fill=None) -> None:
    """The book's writes: set_value for whole-tensor updates, an element write under no_grad
    (a parameter is a leaf that does not stop gradient, so Paddle refuses it while recording)."""
    import paddle

    if add is not None:
        param.set_value(param + add)
    if index is not None:
        with paddle.no_grad():
            param[tuple(index)] = value
    if fill is not None:
        param.set_value(paddle.full_like(param, fill))
