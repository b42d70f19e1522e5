"""The bundled NumPy reference framework: the executable statement of the specs.

It implements the notes' normative (Gluon-style) behaviour with NumPy only: Tensor
with reverse-mode autograd, virtual devices, Parameter with deferred shapes, Block
and Sequential with child registration, initializers, and pickle-free save/load.
Every spec case passes on it; a deliberately broken copy fails the cases that
describe what was broken (tests/test_mutants.py).

    from conformance import reference as ref
    net = ref.Sequential().add(ref.Dense(256, activation="relu"), ref.Dense(10))
    net.initialize()
    with ref.autograd.record():
        y = net(ref.array(x)).sum()
    y.backward()
"""

from . import autograd, init, naming, nd, nn, rng, serialization
from .block import Block, Sequential
from .device import Device, cpu, num_gpus, try_gpu, vdev
from .errors import (
    DeferredInitializationError,
    DeviceMismatchError,
    GraphFreedError,
    InplaceInRecordingError,
    LoadMismatchError,
    LoadShapeMismatchError,
    MissingSuperInitError,
    NoGradientError,
    NotInGraphError,
    NotInitializedError,
    ReferenceFrameworkError,
    ShapeMismatchError,
    UnsafeFileError,
)
from .layers import Activation, Dense, Dropout, Flatten
from .ops import dot, dropout, relu
from .parameter import Constant, Parameter, ParameterDict
from .serialization import load, save
from .tensor import Tensor, array, ones, zeros

__all__ = [
    "Activation",
    "Block",
    "Constant",
    "DeferredInitializationError",
    "Dense",
    "Device",
    "DeviceMismatchError",
    "Dropout",
    "Flatten",
    "GraphFreedError",
    "InplaceInRecordingError",
    "LoadMismatchError",
    "LoadShapeMismatchError",
    "MissingSuperInitError",
    "NoGradientError",
    "NotInGraphError",
    "NotInitializedError",
    "Parameter",
    "ParameterDict",
    "ReferenceFrameworkError",
    "Sequential",
    "ShapeMismatchError",
    "Tensor",
    "UnsafeFileError",
    "array",
    "autograd",
    "cpu",
    "dot",
    "dropout",
    "init",
    "load",
    "naming",
    "nd",
    "nn",
    "num_gpus",
    "ones",
    "relu",
    "rng",
    "save",
    "serialization",
    "try_gpu",
    "vdev",
    "zeros",
]
