"""The reference's `gluon` namespace (`mxnet.gluon`), for programs: `Trainer` and the `nn` layers.

A Trainer updates the parameters it is given, as Gluon 1.x's `Trainer(params, 'sgd',
{'learning_rate': lr, 'wd': wd}).step(batch_size)` does: every parameter with a gradient
(grad_req other than 'null'), biases included (Gluon's wd_mult is 1 for every parameter),
gets w <- w - lr * (grad / batch_size + wd * w) (MXNet's sgd_update: the L2 term coupled to
the gradient, scaled by the learning rate).
"""

from __future__ import annotations

from . import nn
from .parameter import ParameterDict


class Trainer:
    def __init__(self, params, optimizer: str = "sgd", optimizer_params: dict | None = None):
        if optimizer != "sgd":
            raise ValueError(f"the reference's Trainer knows the 'sgd' optimizer only, not {optimizer!r}")
        if isinstance(params, ParameterDict) or isinstance(params, dict):
            params = params.values()
        self._params = list(params)
        options = dict(optimizer_params or {})
        self.learning_rate = float(options.pop("learning_rate", 0.01))
        self.wd = float(options.pop("wd", 0.0))
        if options:
            raise ValueError(f"unknown optimizer parameters {sorted(options)}")

    def step(self, batch_size: int) -> None:
        for param in self._params:
            if param.grad_req == "null":
                continue
            data = param.data()._data
            grad = param.grad()._data / batch_size
            data[...] = data - self.learning_rate * (grad + self.wd * data)


__all__ = ["Trainer", "nn"]
