"""The reference's arrays under Gluon's names (`mxnet.nd`), for programs: creation, the ops the
notes call by name, save/load, the random draw and `elemwise_add(a, b, out=c)`.

Each name calls into the module that implements it when it is called (not bound at import),
so the reference behaves as one framework whichever name a program uses.
"""

from types import SimpleNamespace

from . import ops, rng, serialization, tensor
from .tensor import Tensor


def array(data, device=None, dtype=None):
    return tensor.array(data, device=device, dtype=dtype)


def ones(shape, device=None, dtype=None):
    return tensor.ones(shape, device=device) if dtype is None else tensor.ones(shape, device=device, dtype=dtype)


def zeros(shape, device=None, dtype=None):
    return tensor.zeros(shape, device=device) if dtype is None else tensor.zeros(shape, device=device, dtype=dtype)


def dot(a, b):
    return ops.dot(a, b)


def relu(a):
    return ops.relu(a)


def save(filename, obj):
    return serialization.save(filename, obj)


def load(filename, device=None):
    return serialization.load(filename, device)


def elemwise_add(a, b, out=None):
    """a + b; with `out`, written into out's existing memory (and out is returned)."""
    result = a + b
    if out is None:
        return result
    out[:] = result
    return out


def _uniform(low=0.0, high=1.0, shape=()):
    return array(rng.uniform(low, high, shape=tuple(shape) if shape is not None else ()))


def _seed(value):
    rng.seed(value)


random = SimpleNamespace(uniform=_uniform, seed=_seed)

__all__ = ["Tensor", "array", "dot", "elemwise_add", "load", "ones", "random", "relu", "save", "zeros"]
