"""Built-in layers (Gluon nn): Dense, Dropout, Flatten, Activation.

Dense keeps its weight as (units, in_units) and computes x @ weight.T + bias. Without
in_units the weight's shape is (units, 0) until the first forward pass fills in the
input size and finishes the deferred initialization. The bias has its own
initializer ("zeros"), so an initializer passed to initialize() reaches weights only.
"""

from __future__ import annotations

from . import ops
from .block import Block
from .errors import ShapeMismatchError
from .parameter import shape_is_known

_DEFAULT = object()


def _finish_deferred(block: Block) -> None:
    for param in block._reg_params.values():
        if param.is_deferred and shape_is_known(param.shape):
            param._finish_deferred_init()


class Dense(Block):
    default_bias_initializer = "zeros"

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        use_bias: bool = True,
        flatten: bool = True,
        weight_initializer=None,
        bias_initializer=_DEFAULT,
        in_units: int = 0,
        prefix=None,
        params=None,
    ):
        super().__init__(prefix, params)
        if activation not in (None, "relu"):
            raise ValueError(f"Dense: unsupported activation {activation!r} (only 'relu')")
        if bias_initializer is _DEFAULT:
            bias_initializer = type(self).default_bias_initializer
        self._units = units
        self._activation = activation
        self._flatten = flatten
        self.weight = self.params.get("weight", shape=(units, in_units), init=weight_initializer)
        if use_bias:
            self.bias = self.params.get("bias", shape=(units,), init=bias_initializer)
        else:
            self.bias = None

    def _inferred_weight_shape(self, in_units: int) -> tuple:
        return (self._units, in_units)

    def forward(self, x):
        if self._flatten and x.ndim != 2:
            x = ops.flatten(x)
        in_units = x.shape[-1]
        if not shape_is_known(self.weight.shape):
            self.weight.shape = self._inferred_weight_shape(in_units)
            _finish_deferred(self)
        weight = self.weight.data()
        if weight.shape[1] != in_units:
            raise ShapeMismatchError(
                f"Dense '{self.name}': the input has {in_units} features but the weight "
                f"{self.weight.name} has shape {weight.shape} (in_units={weight.shape[1]})"
            )
        out = ops.dot(x, ops.transpose(weight))
        if self.bias is not None:
            out = out + self.bias.data()
        if self._activation == "relu":
            out = ops.relu(out)
        return out

    def __repr__(self) -> str:
        in_units = self.weight.shape[1] or None
        act = f"Activation({self._activation})" if self._activation else "linear"
        return f"Dense({in_units} -> {self._units}, {act})"


class Dropout(Block):
    def __init__(self, rate: float, prefix=None, params=None):
        super().__init__(prefix, params)
        self._rate = rate

    def forward(self, x):
        return ops.dropout(x, self._rate)

    def __repr__(self) -> str:
        return f"Dropout(p = {self._rate}, axes=())"


class Flatten(Block):
    def forward(self, x):
        return ops.flatten(x)

    def __repr__(self) -> str:
        return "Flatten"


class Activation(Block):
    def __init__(self, activation: str = "relu", prefix=None, params=None):
        super().__init__(prefix, params)
        if activation != "relu":
            raise ValueError(f"Activation: unsupported {activation!r} (only 'relu')")
        self._activation = activation

    def _alias(self) -> str:
        return "relu"

    def forward(self, x):
        return ops.relu(x)

    def __repr__(self) -> str:
        return f"Activation({self._activation})"
