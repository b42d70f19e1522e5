"""Tensor: a NumPy array on a device, with an optional gradient buffer and graph node.

The data lives in `_data` (a NumPy array owned by this tensor). Arithmetic goes
through `ops`, which records a graph node inside `autograd.record()`. The only
in-place write is `__setitem__`; inside a recording it is refused for arrays that
take part in the graph (MXNet's rule), outside it writes into the existing memory.
Augmented operators (`x /= 2`) rebind to a new tensor rather than write in place.
"""

from __future__ import annotations

import numpy as np

from . import autograd
from . import device as devices
from .errors import NoGradientError


class Tensor:
    __slots__ = ("__weakref__", "_data", "_device", "_grad", "_node")
    __array_priority__ = 100  # numpy scalars/arrays on the left defer to Tensor's operators

    def __init__(self, data, device=None, dtype=None):
        array = np.array(getattr(data, "_data", data), dtype=dtype)
        if dtype is None and array.dtype == np.float64 and not isinstance(data, np.ndarray):
            array = array.astype(np.float32)  # Python lists become float32, like nd.array
        self._data = array
        self._device = devices.parse(device) if device is not None else devices.default_device()
        self._grad = None
        self._node = None

    @classmethod
    def _wrap(cls, array: np.ndarray, device) -> Tensor:
        """A tensor around an existing array (no copy)."""
        tensor = cls.__new__(cls)
        tensor._data = array
        tensor._device = device
        tensor._grad = None
        tensor._node = None
        return tensor

    # -- description -------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def device(self):
        return self._device

    context = device  # MXNet's name

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return (
            f"{self._data!r} <Tensor {'x'.join(map(str, self.shape)) or 'scalar'} @{self._device}>"
        )

    # -- host access -------------------------------------------------------
    def data_ptr(self) -> int:
        """The address of the first element of this tensor's memory (torch's `data_ptr`)."""
        return int(self._data.__array_interface__["data"][0])

    def asnumpy(self) -> np.ndarray:
        """The data as a NumPy array: the tensor's own memory when it is already in host memory
        (the default device), a copy from any other device."""
        return self._data if self._device == devices.default_device() else self._data.copy()

    def asscalar(self):
        if self._data.size != 1:
            raise ValueError(f"asscalar needs exactly one element, got shape {self.shape}")
        return self._data.reshape(()).item()

    item = asscalar

    def __float__(self) -> float:
        return float(self.asscalar())

    def __bool__(self) -> bool:
        """MXNet's rule: a one-element array is as true as its value (so `while x.norm() > 1`
        runs without asscalar()); more elements are ambiguous."""
        if self._data.size == 0:
            return False
        if self._data.size == 1:
            return bool(self._data.reshape(()).item())
        raise ValueError("The truth value of an NDArray with multiple elements is ambiguous.")

    # -- comparisons: 1.0 where true, 0.0 elsewhere, in the array's dtype (never recorded) ----
    def _compare(self, other, op) -> Tensor:
        other = other._data if isinstance(other, Tensor) else other
        return Tensor._wrap(op(self._data, other).astype(self._data.dtype), self._device)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __lt__(self, other):
        return self._compare(other, np.less)

    # -- gradients ---------------------------------------------------------
    def attach_grad(self) -> None:
        """Allocate a zero gradient buffer; the tensor becomes a leaf of later graphs."""
        self._grad = np.zeros_like(self._data)
        self._node = None

    @property
    def grad(self):
        if self._grad is None:
            return None
        return Tensor._wrap(self._grad, self._device)

    def backward(self, head=None, retain_graph: bool = False) -> None:
        if head is not None and not isinstance(head, Tensor):
            head = Tensor(head, device=self._device, dtype=self._data.dtype)
        if head is not None:
            devices.check_same_device("backward", [self._device, head._device])
        autograd.backward(self, head, retain_graph=retain_graph)

    def detach(self) -> Tensor:
        return Tensor._wrap(self._data, self._device)

    # -- devices -----------------------------------------------------------
    def copyto(self, device) -> Tensor:
        """Always new memory, on any device (MXNet copyto)."""
        return Tensor._wrap(self._data.copy(), devices.parse(device))

    def as_in_context(self, device) -> Tensor:
        """The same tensor when already there (shared memory), else a copy."""
        target = devices.parse(device)
        if target == self._device:
            return self
        return self.copyto(target)

    to_device = as_in_context

    # -- in-place write ------------------------------------------------------
    def __setitem__(self, index, value) -> None:
        autograd.check_inplace_write(self)
        if isinstance(value, Tensor):
            devices.check_same_device("setitem", [self._device, value._device])
            value = value._data
        self._data[_index(index)] = value

    # -- operators (implemented in ops) ----------------------------------------
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __neg__(self):
        return ops.mul(self, -1.0)

    def __pow__(self, exponent):
        return ops.power(self, exponent)

    def __matmul__(self, other):
        return ops.dot(self, other)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    def sum(self, axis=None, keepdims=False):
        return ops.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return ops.mean(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return ops.reshape(self, shape)

    def flatten(self):
        return ops.flatten(self)

    def norm(self):
        return ops.norm(self)

    def relu(self):
        return ops.relu(self)

    def abs(self):
        return ops.absolute(self)

    @property
    def T(self):
        return ops.transpose(self)


def _index(index):
    """Tensor indices become their arrays."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    return index


def array(data, device=None, dtype=None) -> Tensor:
    """A new tensor holding a copy of data (float32 for Python lists, like nd.array)."""
    return Tensor(data, device=device, dtype=dtype)


def zeros(shape, device=None, dtype=np.float32) -> Tensor:
    return Tensor._wrap(np.zeros(shape, dtype=dtype), _device(device))


def ones(shape, device=None, dtype=np.float32) -> Tensor:
    return Tensor._wrap(np.ones(shape, dtype=dtype), _device(device))


def _device(device):
    return devices.parse(device) if device is not None else devices.default_device()


def grad_of(tensor: Tensor) -> np.ndarray:
    """The gradient buffer, or NoGradientError when none is attached."""
    if tensor._grad is None:
        raise NoGradientError("no gradient attached: call attach_grad() before recording")
    return tensor._grad


from . import ops
