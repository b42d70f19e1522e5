"""Initializers (Gluon semantics): each writes values into a parameter's NumPy buffer.

`Initializer.__call__(name, array, rng)` calls `_init_weight(name, array)` with
`self.rng` set to the generator to draw from. A parameter with its own initializer
(Dense's bias: "zeros") uses it; the others use the one given to `initialize()`;
that is how a custom `_init_weight` reaches weights but not biases. The default is
Uniform(-0.07, 0.07) (`default_initializer()`).
"""

from __future__ import annotations

import numpy as np

from . import rng as rng_module

DEFAULT_UNIFORM_SCALE = 0.07


class InitDesc(str):
    """MXNet's descriptor of one initialization (000's table: "Descriptor for the initialization
    pattern"): the parameter's name as a str, with `attrs` ({'__init__': the initializer the
    parameter asked for}) and `global_init` (the initializer that was called with it)."""

    def __new__(cls, name: str, attrs: dict | None = None, global_init=None):
        desc = super().__new__(cls, name)
        desc.attrs = dict(attrs or {})
        desc.global_init = global_init
        return desc


class Initializer:
    """Subclass and implement `_init_weight(name, data)`; data is a NumPy array to fill, and
    `name` is the InitDesc a parameter passes (a str with `attrs` and `global_init`)."""

    rng: np.random.Generator

    def __call__(self, name: str, data: np.ndarray, rng: np.random.Generator | None = None):
        self.rng = rng if rng is not None else rng_module.generator()
        if isinstance(name, InitDesc) and name.global_init is None:
            name.global_init = self  # as MXNet's Initializer.__call__ does
        self._init_weight(name, data)

    def _init_weight(self, name: str, data: np.ndarray) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _init_weight")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if k != "rng")
        return f"{type(self).__name__}({fields})"


class Uniform(Initializer):
    """U(low, high); Uniform(scale) is U(-scale, scale); the default scale is 0.07."""

    def __init__(self, scale: float | None = None, low: float | None = None, high=None):
        scale = DEFAULT_UNIFORM_SCALE if scale is None else scale
        self.low = -scale if low is None else low
        self.high = scale if high is None else high

    def _init_weight(self, name, data):
        data[...] = self.rng.uniform(self.low, self.high, size=data.shape)


class Normal(Initializer):
    """N(mean, sigma^2)."""

    def __init__(self, sigma: float = 0.01, mean: float = 0.0):
        self.sigma = sigma
        self.mean = mean

    def _init_weight(self, name, data):
        data[...] = self.rng.normal(self.mean, self.sigma, size=data.shape)


class Constant(Initializer):
    def __init__(self, value):
        self.value = value

    def _init_weight(self, name, data):
        data[...] = np.asarray(getattr(self.value, "_data", self.value))


class Zero(Constant):
    def __init__(self):
        super().__init__(0.0)


class One(Constant):
    def __init__(self):
        super().__init__(1.0)


class Xavier(Initializer):
    """Glorot: uniform in +-sqrt(magnitude / ((fan_in + fan_out) / 2)), i.e. sqrt(6/(in+out))."""

    def __init__(self, rnd_type: str = "uniform", factor_type: str = "avg", magnitude: float = 3):
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = float(magnitude)

    def _init_weight(self, name, data):
        if data.ndim < 2:
            raise ValueError(f"Xavier initializer cannot be applied to vector {name}: it needs 2-D")
        receptive = int(np.prod(data.shape[2:])) if data.ndim > 2 else 1
        fan_in, fan_out = data.shape[1] * receptive, data.shape[0] * receptive
        factor = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}[self.factor_type]
        scale = np.sqrt(self.magnitude / factor)
        if self.rnd_type == "uniform":
            data[...] = self.rng.uniform(-scale, scale, size=data.shape)
        else:
            data[...] = self.rng.normal(0.0, scale, size=data.shape)


class Orthogonal(Initializer):
    """MXNet's Orthogonal(scale, rand_type='uniform'): the SVD factor of a U(-1, 1) matrix
    with orthonormal rows (or columns, whichever are fewer), times scale (000's table)."""

    def __init__(self, scale: float = 1.414):
        self.scale = float(scale)

    def _init_weight(self, name, data):
        nout, nin = data.shape[0], int(np.prod(data.shape[1:]))
        tmp = self.rng.uniform(-1.0, 1.0, size=(nout, nin))
        u, _, v = np.linalg.svd(tmp, full_matrices=False)
        res = u if u.shape == tmp.shape else v
        data[...] = (self.scale * res).reshape(data.shape)


class MSRAPrelu(Initializer):
    """MXNet's MSRAPrelu(factor_type='in', slope): N(0, 2 / ((1 + slope^2) * fan_in)) (000's table)."""

    def __init__(self, slope: float = 0.25):
        self.slope = float(slope)

    def _init_weight(self, name, data):
        fan_in = int(np.prod(data.shape[1:]))
        std = np.sqrt(2.0 / (1.0 + self.slope ** 2) / fan_in)
        data[...] = self.rng.normal(0.0, std, size=data.shape)


class Mixed(Initializer):
    """MXNet's Mixed(patterns, initializers): the first pattern that matches the parameter's
    native name picks its initializer (000's table)."""

    def __init__(self, patterns, initializers):
        self.patterns = list(patterns)
        self.initializers = list(initializers)

    def __call__(self, name, data, rng=None):
        import re

        for pattern, initializer in zip(self.patterns, self.initializers):
            if re.match(pattern, name):
                return initializer(name, data, rng)
        raise ValueError(f"Parameter name {name} did not match any pattern. Consider adding a "
                         '".*" pattern at the and with default Initializer.')


class Load(Initializer):
    """MXNet's Load(param, default_init): arrays by native name from a dict (or a file the
    reference saved); names it lacks go to default_init (000's table)."""

    def __init__(self, param, default_init=None):
        if isinstance(param, str):
            from . import serialization

            param = serialization.load(param)
        self.param = {str(k): np.asarray(getattr(v, "_data", v)) for k, v in dict(param).items()}
        self.default_init = default_init

    def __call__(self, name, data, rng=None):
        if name in self.param:
            if self.param[name].shape != data.shape:
                raise ValueError(f"Parameter {name} cannot be initialized from loading. Shape mismatch, "
                                 f"target {data.shape} vs loaded {self.param[name].shape}")
            data[...] = self.param[name]
            return None
        if self.default_init is None:
            raise ValueError(f"Cannot Initialize {name}. Not found in loaded param and no default "
                             "Initializer is provided.")
        return self.default_init(name, data, rng)


class Bilinear(Initializer):
    """MXNet's Bilinear() (000's table: "Initialize weight for upsampling layers"): every (k, k)
    kernel of a 4-d weight gets (1 - |x/f - c|) (1 - |y/f - c|), f = ceil(k/2), c = (2f - 1 - f % 2) / 2f."""

    def _init_weight(self, name, data):
        shape = data.shape
        f = np.ceil(shape[3] / 2.0)
        c = (2 * f - 1 - f % 2) / (2.0 * f)
        index = np.arange(int(np.prod(shape)))
        x = index % shape[3]
        y = (index // shape[3]) % shape[2]
        data[...] = ((1 - np.abs(x / f - c)) * (1 - np.abs(y / f - c))).reshape(shape)


class LSTMBias(Initializer):
    """MXNet's LSTMBias(forget_bias=1.0) (000's table): all zeros but the forget gate, the second
    of the four gates (rows n/4 .. n/2), which gets forget_bias."""

    def __init__(self, forget_bias: float = 1.0):
        self.forget_bias = forget_bias

    def _init_weight(self, name, data):
        data[...] = 0.0
        hidden = int(data.shape[0] / 4)
        data[hidden:2 * hidden] = self.forget_bias


class MyInit(Initializer):
    """The notes' custom initializer (zero_small): U(-10, 10), then zero every |w| < 5."""

    def _init_weight(self, name, data):
        data[...] = self.rng.uniform(-10, 10, size=data.shape)
        data *= np.abs(data) >= 5


_BY_NAME = {
    "zeros": Zero,
    "zero": Zero,
    "ones": One,
    "one": One,
    "uniform": Uniform,
    "normal": Normal,
    "xavier": Xavier,
}


def default_initializer() -> Initializer:
    """What initialize() uses when given no initializer: Uniform(-0.07, 0.07)."""
    return Uniform()


def create(init) -> Initializer:
    """An Initializer from an instance, a name ("zeros", "xavier", ...) or None (default)."""
    if init is None:
        return default_initializer()
    if isinstance(init, Initializer):
        return init
    if isinstance(init, str) and init.lower() in _BY_NAME:
        return _BY_NAME[init.lower()]()
    raise ValueError(f"unknown initializer {init!r}; known: {sorted(_BY_NAME)}")
