"""Parameter (Gluon semantics): data + gradient on a device, with deferred shapes.

A shape may hold 0 for a dimension not known yet ((256, 0)). `initialize()` on such
a parameter only remembers (initializer, device, generator); the values are drawn
when the first forward pass fixes the shape. Reading data before that raises
DeferredInitializationError. A second `initialize()` without force_reinit warns and
keeps the values. The gradient is zeros right after initialization. A `Constant`
has grad_req 'null': it is never trained and has no gradient.
"""

from __future__ import annotations

import re
import warnings
from collections import OrderedDict

import numpy as np

from . import device as devices
from . import init as initializers
from .errors import (
    DeferredInitializationError,
    NoGradientError,
    NotInitializedError,
    ShapeMismatchError,
)
from .tensor import Tensor


def shape_is_known(shape) -> bool:
    return shape is not None and all(int(d) > 0 for d in shape)


def _warn_already_initialized(param: Parameter) -> None:
    warnings.warn(
        f"Parameter '{param.name}' is already initialized, ignoring. "
        "Set force_reinit=True to re-initialize.",
        stacklevel=4,
    )


class Parameter:
    def __init__(
        self,
        name,
        shape=None,
        dtype=np.float32,
        init=None,
        grad_req="write",
        allow_deferred_init=True,
    ):
        self.name = name
        self._shape = tuple(int(d) for d in shape) if shape is not None else None
        self.dtype = np.dtype(dtype)
        self.init = init
        self.grad_req = grad_req
        self.allow_deferred_init = allow_deferred_init
        self._var: Tensor | None = None
        self._deferred: tuple | None = None  # (initializer, device, generator)

    def __repr__(self) -> str:
        return f"{type(self).__name__} {self.name} (shape={self.shape}, dtype={self.dtype})"

    # -- shape ---------------------------------------------------------------
    @property
    def shape(self):
        return self._shape

    @shape.setter
    def shape(self, new_shape) -> None:
        """Fill in unknown (0) dimensions; a known dimension may not change."""
        new_shape = tuple(int(d) for d in new_shape)
        old = self._shape
        if old is not None and (
            len(old) != len(new_shape) or any(o and n and o != n for o, n in zip(old, new_shape))
        ):
            raise ShapeMismatchError(
                f"Parameter '{self.name}': shape {new_shape} is incompatible with its "
                f"shape {old} (only unknown dimensions, 0, can be filled in)"
            )
        if old is not None:
            new_shape = tuple(o or n for o, n in zip(old, new_shape))
        self._shape = new_shape

    # -- initialization ------------------------------------------------------
    def initialize(
        self, init=None, device=None, default_init=None, force_reinit=False, rng=None
    ) -> None:
        """`init` (given directly) beats the parameter's own init, which beats default_init."""
        if self._var is not None and not force_reinit:
            _warn_already_initialized(self)
            return
        self._var = None
        if init is None:
            init = self.init if self.init is not None else default_init
        device = devices.parse(device) if device is not None else devices.default_device()
        self._deferred = (init, device, rng)
        if not shape_is_known(self._shape):
            if self.allow_deferred_init:
                return
            raise ValueError(
                f"Cannot initialize Parameter '{self.name}': invalid shape {self.shape}"
            )
        self._finish_deferred_init()

    @property
    def is_deferred(self) -> bool:
        """Initialization was asked for and waits for the shape."""
        return self._var is None and self._deferred is not None

    def _finish_deferred_init(self, data: np.ndarray | None = None) -> None:
        if self._deferred is None:
            return
        init, device, rng = self._deferred
        if data is None:
            data = np.zeros(self._shape, dtype=self.dtype)
            initializers.create(init)(initializers.InitDesc(self.name, {"__init__": init}), data, rng)
        self._deferred = None
        self._set_var(np.asarray(data, dtype=self.dtype), device)

    def _set_var(self, data: np.ndarray, device) -> None:
        var = Tensor._wrap(data, device)
        if self.grad_req != "null":
            var.attach_grad()
        self._var = var

    def _not_ready_error(self) -> NotInitializedError:
        if self._deferred is not None:
            return DeferredInitializationError(
                f"Parameter '{self.name}' has not been initialized yet because initialization "
                f"was deferred: its shape {self.shape} is not known because in_units is missing. "
                "Actual initialization happens during the first forward pass. Please pass one "
                "batch of data through the network before accessing Parameters. You can also "
                "avoid deferred initialization by specifying in_units, num_features, etc., for "
                "network layers."
            )
        return NotInitializedError(
            f"Parameter '{self.name}' has not been initialized. Call initialize() on the block "
            "that holds it (or load parameters into it) before using it; parameters kept "
            "outside the block's registry (e.g. in a plain list) are not initialized by it."
        )

    # -- access --------------------------------------------------------------
    def data(self, device=None) -> Tensor:
        """The parameter's tensor (one storage shared by every user of the parameter)."""
        if self._var is None:
            raise self._not_ready_error()
        return self._var

    def grad(self, device=None) -> Tensor:
        if self.grad_req == "null":
            raise NoGradientError(
                f"Cannot get gradient array for Parameter '{self.name}' because grad_req='null'"
            )
        return self.data().grad

    def set_data(self, value) -> None:
        """Write new values into the existing storage (shared users see them)."""
        array = np.asarray(getattr(value, "_data", value), dtype=self.dtype)
        if self._var is None:
            if self._deferred is None:
                raise self._not_ready_error()
            self.shape = array.shape
            self._finish_deferred_init(array.copy())
            return
        if array.shape != self._var.shape:
            raise ShapeMismatchError(
                f"set_data: Parameter '{self.name}' has shape {self._var.shape}, got {array.shape}"
            )
        self._var._data[...] = array

    def zero_grad(self) -> None:
        if self._var is not None and self._var._grad is not None:
            self._var._grad[...] = 0

    # -- devices -------------------------------------------------------------
    @property
    def device(self):
        if self._var is not None:
            return self._var.device
        if self._deferred is not None:
            return self._deferred[1]
        return devices.default_device()

    def reset_device(self, device) -> None:
        """Move data (and gradient) to device; a deferred parameter will be created there."""
        device = devices.parse(device)
        if self._var is not None:
            old = self._var
            self._set_var(old._data.copy(), device)
            if old._grad is not None:
                self._var._grad[...] = old._grad
        elif self._deferred is not None:
            init, _, rng = self._deferred
            self._deferred = (init, device, rng)

    reset_ctx = reset_device

    def _load_init(self, array: np.ndarray, device=None) -> None:
        """Take values from a file: fixes an unknown shape, writes into existing storage."""
        self.shape = array.shape
        if self._var is not None:
            if device is not None and devices.parse(device) != self._var.device:
                self._set_var(np.array(array, dtype=self.dtype), devices.parse(device))
            else:
                self._var._data[...] = array
            return
        if device is None:
            device = self._deferred[1] if self._deferred else devices.default_device()
        self._deferred = None
        self._set_var(np.array(array, dtype=self.dtype), devices.parse(device))


class Constant(Parameter):
    """A parameter that is not trained (grad_req 'null'), initialized to a given value."""

    _grad_req = "null"

    def __init__(self, name, value):
        array = np.array(getattr(value, "_data", value), dtype=np.float32)
        super().__init__(
            name, shape=array.shape, init=initializers.Constant(array), grad_req=self._grad_req
        )
        self.value = array


class ParameterDict:
    """Ordered name -> Parameter; `get` creates prefix+name or returns the existing one."""

    def __init__(self, prefix: str = "", shared: ParameterDict | None = None):
        self.prefix = prefix
        self._params: OrderedDict[str, Parameter] = OrderedDict()
        self._shared = shared

    def __repr__(self) -> str:
        body = "\n".join(f"  {p!r}" for p in self._params.values())
        return f"{self.prefix} (\n{body}\n)"

    def __getitem__(self, name) -> Parameter:
        return self._params[name]

    def __contains__(self, name) -> bool:
        return name in self._params

    def __iter__(self):
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def keys(self):
        return self._params.keys()

    def values(self):
        return self._params.values()

    def items(self):
        return self._params.items()

    def _lookup(self, full_name):
        if full_name in self._params:
            return self._params[full_name]
        if self._shared is not None and full_name in self._shared._params:
            self._params[full_name] = self._shared._params[full_name]
            return self._params[full_name]
        return None

    def get(self, name: str, **kwargs) -> Parameter:
        full_name = self.prefix + name
        param = self._lookup(full_name)
        if param is None:
            param = Parameter(full_name, **kwargs)
            self._params[full_name] = param
        elif "shape" in kwargs and kwargs["shape"] is not None:
            param.shape = kwargs["shape"]
        return param

    def get_constant(self, name: str, value=None) -> Constant:
        full_name = self.prefix + name
        param = self._lookup(full_name)
        if param is None:
            param = Constant(full_name, value)
            self._params[full_name] = param
        return param

    def update(self, other: ParameterDict) -> None:
        for name, param in other.items():
            self._params.setdefault(name, param)

    def select(self, pattern: str | None) -> ParameterDict:
        """The parameters whose names match the regular expression (re.match)."""
        selected = ParameterDict(self.prefix)
        for name, param in self._params.items():
            if pattern is None or re.match(pattern, name):
                selected._params[name] = param
        return selected

    def initialize(
        self, init=None, device=None, verbose=False, force_reinit=False, rng=None
    ) -> None:
        default = initializers.create(init)
        for param in self._params.values():
            param.initialize(None, device, default_init=default, force_reinit=force_reinit, rng=rng)

    def zero_grad(self) -> None:
        for param in self._params.values():
            param.zero_grad()

    def reset_device(self, device) -> None:
        for param in self._params.values():
            param.reset_device(device)

    reset_ctx = reset_device
