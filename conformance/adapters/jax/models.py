"""JAX/Flax user-level code: the notes' models as flax.linen modules, written the way the English
edition of Dive into Deep Learning writes its "Builders' guide" in JAX, and the idioms a JAX
user writes to read, write, re-initialize, differentiate, save and load parameters.

Rule: only what a JAX user writes lives here, so an error raised here is the framework's
behaviour, not a kit bug (`__conformance_user_code__`). jax and flax are imported inside
`classes()`, never at import time. The snippet writer copies these sources with `inspect`,
so a snippet runs the code that ran.
"""

from __future__ import annotations

from types import SimpleNamespace

__conformance_user_code__ = True

_CLASSES = None


def classes() -> SimpleNamespace:
    """The notes' flax.linen modules, defined once jax and flax are importable."""
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = _define()
    return _CLASSES


def _define() -> SimpleNamespace:
    import jax
    import jax.numpy as jnp
    from flax import linen as nn

    class MLP(nn.Module):
        # flax modules are dataclasses: layers are declared in setup(), shapes come from the
        # input given to init(key, X) (d2l JAX 6.1 names them hidden and out).
        def setup(self):
            self.hidden = nn.Dense(256)
            self.output = nn.Dense(10)

        def __call__(self, X):
            return self.output(nn.relu(self.hidden(X)))

    class MLPNoSuper(nn.Module):
        # The note's mistake in flax terms: a hand-written constructor that never lets the
        # parent (the dataclass __init__/__post_init__ of nn.Module) run.
        def __init__(self):
            self.hidden = nn.Dense(256)
            self.output = nn.Dense(10)

        def __call__(self, X):
            return self.output(nn.relu(self.hidden(X)))

    class ListMLP(nn.Module):
        def setup(self):
            # A plain Python list attribute assigned in setup().
            self.layers = [nn.Dense(256), nn.Dense(10)]

        def __call__(self, X):
            return self.layers[1](nn.relu(self.layers[0](X)))

    class MySequential(nn.Module):
        modules: tuple  # d2l JAX 6.1: the children are a dataclass field

        def __call__(self, X):
            for module in self.modules:
                X = module(X)
            return X

    class MySequentialByObject(nn.Module):
        # Note 001's `self._modules[block] = block` in flax: a dict attribute keyed by the modules.
        blocks: tuple

        def setup(self):
            self.modules_by_object = {block: block for block in self.blocks}

        def __call__(self, X):
            for block in self.modules_by_object.values():
                X = block(X)
            return X

    class FixedHiddenMLP(nn.Module):
        def setup(self):
            # A constant array, not a parameter. d2l JAX 6.1.3 declares it as a dataclass field
            # with an array default, which Python 3.11's dataclasses refuse ("mutable default
            # <class 'jaxlib._jax.ArrayImpl'> ... use default_factory"); a setup() attribute works.
            self.rand_weight = jax.random.uniform(jax.random.PRNGKey(0), (20, 20))
            self.dense = nn.Dense(20)

        def __call__(self, X):
            X = nn.relu(self.dense(X))
            X = nn.relu(X @ self.rand_weight + 1)
            X = nn.relu(self.dense(X))  # the same layer again: shared parameters
            while jnp.linalg.norm(X) > 1:  # arrays are immutable: X /= 2 rebinds X
                X /= 2
            if jnp.linalg.norm(X) < 0.8:
                X *= 10
            return X.sum()

    class FixedHiddenMLP001(nn.Module):
        # Note 001's FixedHiddenMLP as d2l JAX 6.1.3 writes it: no activation after the first
        # Dense, the same Dense again, halve while the L1 norm exceeds 1, no x10 branch.
        def setup(self):
            self.rand_weight = jax.random.uniform(jax.random.PRNGKey(0), (20, 20))
            self.dense = nn.Dense(20)

        def __call__(self, X):
            X = self.dense(X)
            X = nn.relu(X @ self.rand_weight + 1)
            X = self.dense(X)
            while jnp.abs(X).sum() > 1:
                X /= 2
            return X.sum()

    class FancyMLP003(nn.Module):
        # Note 003's FancyMLP (Flatten, the constant, the Dense layer once), in flax.
        def setup(self):
            self.rand_weight = jax.random.uniform(jax.random.PRNGKey(0), (20, 20))
            self.dense = nn.Dense(20)

        def __call__(self, X):
            X = X.reshape((X.shape[0], -1))
            X = nn.relu(X @ self.rand_weight + 1)
            X = nn.relu(self.dense(X))
            while jnp.linalg.norm(X) > 1:
                X /= 2
            if jnp.linalg.norm(X) < 0.8:
                X *= 10
            return X.sum()

    class FancyMLP004(nn.Module):
        # Note 004's 10x10 FancyMLP, in flax.
        def setup(self):
            self.rand_weight = jax.random.uniform(jax.random.PRNGKey(0), (10, 10))
            self.dense = nn.Dense(10)

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
        def setup(self):
            self.net = nn.Sequential([nn.Dense(64), nn.relu, nn.Dense(32), nn.relu])
            self.dense = nn.Dense(16)

        def __call__(self, X):
            return nn.relu(self.dense(self.net(X)))

    class CenteredLayer(nn.Module):
        def __call__(self, X):
            return X - X.mean()

    class MyDense(nn.Module):
        # d2l JAX 6.5.2: weight ~ N(0, 1) of shape (in_units, units), bias zeros.
        in_units: int
        units: int
        read_via_data: bool = False

        def setup(self):
            self.weight = self.param('weight', nn.initializers.normal(stddev=1), (self.in_units, self.units))
            self.bias = self.param('bias', nn.initializers.zeros, (self.units,))

        def __call__(self, X):
            weight, bias = self.weight, self.bias
            if self.read_via_data:  # JAX's explicit detach (torch's .data)
                weight, bias = jax.lax.stop_gradient(weight), jax.lax.stop_gradient(bias)
            return nn.relu(jnp.matmul(X, weight) + bias)

    class LazyMyDense(nn.Module):
        # Without in_units the weight's shape comes from the first input (@nn.compact).
        units: int
        read_via_data: bool = False

        @nn.compact
        def __call__(self, X):
            weight = self.param('weight', nn.initializers.normal(stddev=1), (X.shape[-1], self.units))
            bias = self.param('bias', nn.initializers.zeros, (self.units,))
            if self.read_via_data:
                weight, bias = jax.lax.stop_gradient(weight), jax.lax.stop_gradient(bias)
            return nn.relu(jnp.matmul(X, weight) + bias)

    class ParamDict(nn.Module):
        # Standalone parameters: self.param(name, init, shape); flax has no default
        # initializer, this uses the book's N(0, 1) for hand-made weights.
        shapes: tuple  # ((name, shape), ...)

        def setup(self):
            self.created = {name: self.param(name, nn.initializers.normal(stddev=1), tuple(shape))
                            for name, shape in self.shapes}

        def __call__(self):
            return self.created

    return SimpleNamespace(
        jax=jax, jnp=jnp, nn=nn, MLP=MLP, MLPNoSuper=MLPNoSuper, ListMLP=ListMLP,
        MySequential=MySequential, MySequentialByObject=MySequentialByObject, FixedHiddenMLP=FixedHiddenMLP, NestMLP=NestMLP,
        FixedHiddenMLP001=FixedHiddenMLP001, FancyMLP003=FancyMLP003, FancyMLP004=FancyMLP004,
        CenteredLayer=CenteredLayer, MyDense=MyDense, LazyMyDense=LazyMyDense, ParamDict=ParamDict,
    )


def flatten(X):
    """flax has no Flatten layer: any function is a layer of nn.Sequential."""
    return X.reshape((X.shape[0], -1))


# -- initializers: functions (key, shape, dtype) -> array -----------------------------------

def my_init(key, shape, dtype=None):
    """d2l JAX 6.3.2's custom initializer: U(-10, 10), then zero every |w| < 5."""
    import jax
    import jax.numpy as jnp

    data = jax.random.uniform(key, shape, minval=-10, maxval=10)
    return data * (jnp.abs(data) >= 5)


def uniform_between(low, high):
    import jax

    def init(key, shape, dtype=None):
        return jax.random.uniform(key, shape, minval=low, maxval=high)
    return init


# -- parameters are a nested dict (a pytree) of immutable arrays ----------------------------

def leaf(variables, path):
    """variables['params'][a][b]...: the read idiom (a KeyError when nothing was created)."""
    node = variables['params']
    for key in path:
        node = node[key]
    return node


def set_leaf(variables, path, value):
    """Rebind one leaf of the (mutable) dict; the array itself is never changed in place."""
    node = variables['params']
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def write(variables, path, transpose=False, add=None, set=None, fill=None):
    """The notes' writes, the JAX way: a new array (x + 1, x.at[i, j].set(v), full_like)."""
    import jax.numpy as jnp

    w = leaf(variables, path)
    if add is not None:
        w = w + add
    if set is not None:
        index = tuple(set['index'])
        w = w.at[index[::-1] if transpose else index].set(set['value'])
    if fill is not None:
        w = jnp.full_like(w, fill)
    set_leaf(variables, path, w)


def sgd(variables, grads, lr):
    """One SGD step on the whole pytree: p - lr * g (a new pytree)."""
    import jax

    return jax.tree_util.tree_map(lambda p, g: p - lr * g, variables, grads)


def copy_tree(tree):
    """A new dict structure over the same (immutable) arrays."""
    import jax

    return jax.tree_util.tree_map(lambda a: a, tree)


def save_params(variables, filename):
    from flax import serialization

    with open(filename, 'wb') as f:
        f.write(serialization.to_bytes(variables))


def load_params(filename, target=None):
    """flax.serialization: from_bytes into a target (an initialized model's variables),
    or msgpack_restore without one (the state dict as saved)."""
    from flax import serialization

    with open(filename, 'rb') as f:
        data = f.read()
    return serialization.from_bytes(target, data) if target is not None else serialization.msgpack_restore(data)
