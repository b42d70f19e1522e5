"""Differentiable operations: each computes its result and, while recording, attaches a
`_backward` closure that maps the output gradient to one gradient per parent.

Operands must live on one device. Broadcasting is NumPy's; the gradient of a
broadcast operand is summed back to its shape. Python numbers are constants.
"""

from __future__ import annotations

import numpy as np

from . import autograd, rng
from . import device as devices
from .autograd import Node
from .errors import ShapeMismatchError
from .tensor import Tensor


def _result(op: str, data: np.ndarray, parents, backward) -> Tensor:
    """Wrap an op's output; record the node when recording and a parent is in the graph."""
    tensors = [p for p in parents if isinstance(p, Tensor)]
    out = Tensor._wrap(np.asarray(data), tensors[0]._device)
    if autograd.is_recording() and any(autograd.in_graph(t) for t in tensors):
        out._node = Node(op, tensors, backward)
    return out


def _operands(op: str, *values):
    """Tensor operands' arrays; numbers stay numbers. Checks devices."""
    devices.check_same_device(op, [v._device for v in values if isinstance(v, Tensor)])
    return [v._data if isinstance(v, Tensor) else v for v in values]


def _unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a broadcast gradient back to the operand's shape."""
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad.reshape(shape)


def _shape(value) -> tuple:
    return np.shape(value._data if isinstance(value, Tensor) else value)


def _binary(op, a, b, forward, grad_a, grad_b) -> Tensor:
    x, y = _operands(op, a, b)
    tensors = [v for v in (a, b) if isinstance(v, Tensor)]
    sa, sb = _shape(a), _shape(b)

    def backward(g):
        grads = []
        if isinstance(a, Tensor):
            grads.append(_unbroadcast(grad_a(g, x, y), sa))
        if isinstance(b, Tensor):
            grads.append(_unbroadcast(grad_b(g, x, y), sb))
        return tuple(grads)

    return _result(op, forward(x, y), tensors, backward)


def add(a, b) -> Tensor:
    return _binary("add", a, b, lambda x, y: x + y, lambda g, x, y: g, lambda g, x, y: g)


def sub(a, b) -> Tensor:
    return _binary("sub", a, b, lambda x, y: x - y, lambda g, x, y: g, lambda g, x, y: -g)


def mul(a, b) -> Tensor:
    return _binary("mul", a, b, lambda x, y: x * y, lambda g, x, y: g * y, lambda g, x, y: g * x)


def div(a, b) -> Tensor:
    return _binary(
        "div", a, b, lambda x, y: x / y, lambda g, x, y: g / y, lambda g, x, y: -g * x / (y * y)
    )


def power(a: Tensor, exponent) -> Tensor:
    if isinstance(exponent, Tensor):
        raise TypeError("power: the exponent must be a number")
    (x,) = _operands("power", a)
    return _result("power", x**exponent, [a], lambda g: (g * exponent * x ** (exponent - 1),))


def dot(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product of 1-D/2-D arrays (nd.dot)."""
    x, y = _operands("dot", a, b)
    if x.ndim not in (1, 2) or y.ndim not in (1, 2):
        raise ShapeMismatchError(f"dot: only 1-D and 2-D operands, got {x.shape} and {y.shape}")
    if x.shape[-1] != y.shape[0]:
        raise ShapeMismatchError(
            f"dot: shapes {x.shape} and {y.shape} do not fit ({x.shape[-1]} != {y.shape[0]})"
        )
    x2, y2 = np.atleast_2d(x), y.reshape(y.shape[0], -1)

    def backward(g):
        g2 = np.asarray(g).reshape(x2.shape[0], y2.shape[1])
        return (
            (g2 @ y2.T).reshape(x.shape),
            (x2.T @ g2).reshape(y.shape),
        )

    return _result("dot", x @ y, [a, b], backward)


def _relu_grad_mask(x: np.ndarray) -> np.ndarray:
    """Where relu passes the gradient: the inputs above zero."""
    return (x > 0).astype(x.dtype)


def relu(a: Tensor) -> Tensor:
    (x,) = _operands("relu", a)
    return _result("relu", np.maximum(x, 0), [a], lambda g: (g * _relu_grad_mask(x),))


def absolute(a: Tensor) -> Tensor:
    (x,) = _operands("abs", a)
    return _result("abs", np.abs(x), [a], lambda g: (g * np.sign(x),))


def sum(a: Tensor, axis=None, keepdims=False) -> Tensor:
    (x,) = _operands("sum", a)
    out = x.sum(axis=axis, keepdims=keepdims)

    def backward(g):
        g = np.asarray(g)
        if axis is not None and not keepdims:
            g = np.expand_dims(g, axis)
        return (np.broadcast_to(g, x.shape).copy(),)

    return _result("sum", out, [a], backward)


def mean(a: Tensor, axis=None, keepdims=False) -> Tensor:
    (x,) = _operands("mean", a)
    count = x.size if axis is None else np.prod([x.shape[i] for i in np.atleast_1d(axis)])
    return div(sum(a, axis=axis, keepdims=keepdims), float(count))


def reshape(a: Tensor, shape) -> Tensor:
    (x,) = _operands("reshape", a)
    return _result("reshape", x.reshape(shape), [a], lambda g: (np.reshape(g, x.shape),))


def flatten(a: Tensor) -> Tensor:
    """Keep the first axis, flatten the rest (Gluon's Flatten)."""
    return reshape(a, (a.shape[0], -1) if a.ndim > 0 else (1, 1))


def transpose(a: Tensor) -> Tensor:
    (x,) = _operands("transpose", a)
    return _result("transpose", x.T, [a], lambda g: (np.asarray(g).T,))


def norm(a: Tensor) -> Tensor:
    """L2 norm of all elements, a scalar."""
    (x,) = _operands("norm", a)
    value = np.sqrt((x * x).sum())

    def backward(g):
        return (g * x / value if value != 0 else np.zeros_like(x),)

    return _result("norm", value, [a], backward)


def getitem(a: Tensor, index) -> Tensor:
    (x,) = _operands("getitem", a)
    from .tensor import _index

    index = _index(index)

    def backward(g):
        full = np.zeros_like(x)
        np.add.at(full, index, g)
        return (full,)

    return _result("getitem", x[index], [a], backward)


def _dropout_active() -> bool:
    """Dropout acts only in training mode (record() switches it on)."""
    return autograd.is_training()


def _dropout_scale(rate: float) -> float:
    """Kept units are divided by the keep probability so the expectation is unchanged."""
    return 1.0 / (1.0 - rate)


def dropout(a: Tensor, rate: float) -> Tensor:
    """Zero each element with probability `rate` and scale the rest by 1/(1-rate)."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"dropout rate must be in [0, 1], got {rate}")
    if not _dropout_active() or rate == 0.0:
        return a
    (x,) = _operands("dropout", a)
    if rate == 1.0:
        factor = np.zeros_like(x)
    else:
        keep = rng.generator().uniform(size=x.shape) >= rate
        factor = (keep * _dropout_scale(rate)).astype(x.dtype)
    return _result("dropout", x * factor, [a], lambda g: (g * factor,))
