"""The reference's one source of randomness: a NumPy Generator that can be reseeded.

Initializers take an explicit Generator when one is given (initialize(seed=...));
everything else (dropout masks, constants drawn at construction) uses `generator()`.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

_generator = np.random.default_rng(0)


def seed(value: int) -> None:
    """Reseed the global generator (like mx.random.seed)."""
    global _generator
    _generator = np.random.default_rng(value)


@contextmanager
def use(generator_: np.random.Generator):
    """Make generator_ the global generator for the duration (one per adapter session)."""
    global _generator
    saved, _generator = _generator, generator_
    try:
        yield generator_
    finally:
        _generator = saved


def generator() -> np.random.Generator:
    return _generator


def uniform(low=0.0, high=1.0, shape=(), rng: np.random.Generator | None = None) -> np.ndarray:
    return (rng or _generator).uniform(low, high, size=shape).astype(np.float32)
