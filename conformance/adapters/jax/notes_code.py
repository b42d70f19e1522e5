"""The notes' user code in JAX + Flax (linen), the way the JAX tab of Dive into Deep Learning writes it.

Rule: this file is program text, never imported by the kit: the program writer copies the
classes and functions a case uses into its program (`idiom.class_source`). Flax modules are
dataclasses that hold no parameters: `params = net.init(key, X)` creates them, and an
initializer is a constructor argument (`kernel_init=`), where Gluon takes it in
`initialize()`; so the notes' blocks that own a Dense take a `kernel_init` field.
"""

from typing import Callable, List

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

INIT_CALLS = []  # the program's own list: MyInit appends each call flax makes
STEP = None
PARAMS = {}  # the program's table: the kit's name of each parameter -> (its flax module from the model, its name there)


def param(model, variables, path):
    """The array flax's own module reads as this parameter from `variables` (what net.init
    returned, or its gradients; None where the pytree holds none), or the constant array a
    module set in setup() (no name: not a parameter)."""
    owner, name = PARAMS[path]
    found = owner(model.bind(variables))
    return found if name is None else found.variables.get('params', {}).get(name)


def canonical(model, variables, keys):
    """The kit's name for the leaf at `keys`: the first path whose module flax itself names so."""
    keys, bound = tuple(getattr(k, 'key', k) for k in keys), model.bind(variables)
    for path, (owner, name) in PARAMS.items():
        if name is not None and ('params',) + owner(bound).path + (name,) == keys:
            return path
    return '/'.join(map(str, keys))


def initialized_by(model, variables, init):
    """The kit's name of the weight whose module was given this initializer (flax passes no name)."""
    bound = model.bind(variables)
    return next((path for path, (owner, name) in PARAMS.items()
                 if name in ('kernel', 'weight') and getattr(owner(bound), 'kernel_init', None) is init), None)


def shape_of(array, transpose=False):
    """A parameter's shape (a Dense kernel (in, out) read as (out, in)); None if there is none."""
    return None if array is None else list(array.shape[::-1] if transpose else array.shape)


def storage(array):
    """The address of an array's buffer: JAX's unsafe_buffer_pointer(), NumPy's array interface."""
    if isinstance(array, np.ndarray):
        return array.__array_interface__['data'][0]
    return array.unsafe_buffer_pointer()


def device_of(array):
    """Where an array lives: the kit's name for the device, and JAX's own."""
    if isinstance(array, np.ndarray):
        return {'canonical': 'default', 'native': 'numpy (host memory)'}
    (native,) = array.devices()
    names = dict(zip(jax.devices(), ['default', 'second']))
    return {'canonical': names.get(native, 'gpu' if native.platform == 'gpu' else str(native)), 'native': str(native)}


def flatten(X):
    """Flax has no Flatten layer: any function of X is a layer of nn.Sequential."""
    return X.reshape((X.shape[0], -1))


class MLP(nn.Module):
    kernel_init: Callable = nn.initializers.lecun_normal()  # nn.Dense's own default

    def setup(self):
        self.hidden = nn.Dense(256, kernel_init=self.kernel_init)
        self.output = nn.Dense(10, kernel_init=self.kernel_init)

    def __call__(self, X):
        return self.output(nn.relu(self.hidden(X)))


class MLPNoSuper(nn.Module):
    # The note's mistake in flax: a constructor of its own that never lets nn.Module's
    # (dataclass) __init__ run.
    def __init__(self):
        self.hidden = nn.Dense(256)
        self.output = nn.Dense(10)

    def __call__(self, X):
        return self.output(nn.relu(self.hidden(X)))


class ListMLP(nn.Module):
    def setup(self):
        self.layers = [nn.Dense(256), nn.Dense(10)]  # a plain Python list attribute

    def __call__(self, X):
        return self.layers[1](nn.relu(self.layers[0](X)))


class MySequential(nn.Module):
    modules: List  # the JAX tab's MySequential: the children are a dataclass field

    def __call__(self, X):
        for module in self.modules:
            X = module(X)
        return X


class MySequentialByObject(nn.Module):
    modules: List

    def setup(self):
        self.blocks = {block: block for block in self.modules}  # note 001: the registry keyed by the block itself

    def __call__(self, X):
        for block in self.blocks.values():
            X = block(X)
        return X


class FancyMLP(nn.Module):
    kernel_init: Callable = nn.initializers.lecun_normal()

    def setup(self):
        # A constant: an array of the module, not a parameter (flax's params hold only
        # self.param(...)). The JAX tab declares it as a dataclass field with an array
        # default, which Python 3.11's dataclasses refuse ("mutable default"): setup() it is.
        self.rand_weight = jax.random.uniform(jax.random.PRNGKey(0), (20, 20))
        self.dense = nn.Dense(20, kernel_init=self.kernel_init)

    def __call__(self, X):
        X = nn.relu(self.dense(X))
        X = nn.relu(X @ self.rand_weight + 1)
        X = nn.relu(self.dense(X))  # the same layer again: its parameters are shared
        while jnp.linalg.norm(X) > 1:
            X /= 2
        if jnp.linalg.norm(X) < 0.8:
            X *= 10
        return X.sum()


class FixedHiddenMLP(nn.Module):  # note 001's: no activation on the first layer, the L1 loop, no x10
    kernel_init: Callable = nn.initializers.lecun_normal()

    def setup(self):
        self.rand_weight = jax.random.uniform(jax.random.PRNGKey(0), (20, 20))
        self.linear = nn.Dense(20, kernel_init=self.kernel_init)

    def __call__(self, X):
        X = self.linear(X)
        X = nn.relu(X @ self.rand_weight + 1)
        X = self.linear(X)
        while jnp.abs(X).sum() > 1:
            X /= 2
        return X.sum()


class FancyMLP003(nn.Module):  # note 003's: flatten, then the constant, then the Dense layer once
    kernel_init: Callable = nn.initializers.lecun_normal()

    def setup(self):
        self.rand_weight = jax.random.uniform(jax.random.PRNGKey(0), (20, 20))
        self.dense = nn.Dense(20, kernel_init=self.kernel_init)

    def __call__(self, X):
        X = X.reshape((X.shape[0], -1))
        X = nn.relu(X @ self.rand_weight + 1)
        X = nn.relu(self.dense(X))
        while jnp.linalg.norm(X) > 1:
            X /= 2
        if jnp.linalg.norm(X) < 0.8:
            X *= 10
        return X.sum()


class FancyMLP004(nn.Module):  # note 004's: 000's code with a (10, 10) constant and Dense(10)
    kernel_init: Callable = nn.initializers.lecun_normal()

    def setup(self):
        self.rand_weight = jax.random.uniform(jax.random.PRNGKey(0), (10, 10))
        self.dense = nn.Dense(10, kernel_init=self.kernel_init)

    def __call__(self, X):
        X = nn.relu(self.dense(X))
        X = nn.relu(X @ self.rand_weight + 1)
        X = nn.relu(self.dense(X))
        while jnp.linalg.norm(X) > 1:
            X /= 2
        if jnp.linalg.norm(X) < 0.8:
            X *= 10
        return X.sum()


class NestMLP(nn.Module):
    kernel_init: Callable = nn.initializers.lecun_normal()

    def setup(self):
        self.net = nn.Sequential([nn.Dense(64, kernel_init=self.kernel_init), nn.relu,
                                  nn.Dense(32, kernel_init=self.kernel_init), nn.relu])
        self.dense = nn.Dense(16, kernel_init=self.kernel_init)

    def __call__(self, X):
        return nn.relu(self.dense(self.net(X)))


class CenteredLayer(nn.Module):
    def __call__(self, X):
        return X - X.mean()


class MyDense(nn.Module):
    units: int
    in_units: int = None  # None: the weight's first axis comes from the first input
    kernel_init: Callable = nn.initializers.normal(stddev=1)  # the JAX tab's MyDense: N(0, 1)
    read_via_data: bool = False

    @nn.compact
    def __call__(self, X):
        weight = self.param('weight', self.kernel_init, (self.in_units or X.shape[-1], self.units))
        bias = self.param('bias', nn.initializers.zeros, (self.units,))
        if self.read_via_data:  # as the PyTorch note reads .data: JAX's explicit detach
            weight, bias = jax.lax.stop_gradient(weight), jax.lax.stop_gradient(bias)
        return nn.relu(jnp.matmul(X, weight) + bias)


class ParamDict(nn.Module):
    """Standalone parameters: self.param(name, initializer, shape), as the JAX tab makes its
    hand-written weights (flax has no default initializer: N(0, 1) as the tab's MyDense)."""

    shapes: dict
    kernel_init: Callable = nn.initializers.normal(stddev=1)

    def setup(self):
        self.created = {name: self.param(name, self.kernel_init, shape) for name, shape in self.shapes.items()}

    def __call__(self):
        return self.created


class MyInit:
    """The notes' MyInit as a flax initializer: U(-10, 10), then zero every |w| < 5. Flax
    calls it with (key, shape, dtype) when it creates the weight it was given to."""

    def __call__(self, key, shape, dtype=jnp.float32):
        INIT_CALLS.append({"init": self, "shape": list(shape), "step": STEP})
        data = jax.random.uniform(key, shape, dtype, minval=-10, maxval=10)
        return data * (jnp.abs(data) >= 5)


def cpu():
    return jax.devices('cpu')[0]


def gpu(i=0):
    return jax.devices('gpu')[i]


def num_gpus():
    try:
        return jax.device_count('gpu')
    except:  # noqa: E722 - the JAX tab's own bare except: no GPU backend found
        return 0


def try_gpu(i=0):
    """Return gpu(i) if exists, otherwise return cpu()."""
    if num_gpus() >= i + 1:
        return gpu(i)
    return cpu()


def try_all_gpus():
    """Return all available GPUs, or [cpu(),] if no GPU exists."""
    return [gpu(i) for i in range(num_gpus())]
