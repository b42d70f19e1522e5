"""Input generators: a spec's named, seeded generator -> the same NumPy array on every framework.

Rule: inputs are made here, once, by the kit; adapters only convert them.
"""

from __future__ import annotations

import numpy as np

GENERATOR_KINDS = ("uniform", "normal", "ones", "zeros", "arange", "values")


def generate(spec: dict) -> np.ndarray:
    """One array from a generator mapping such as {uniform: [2, 20], seed: 1}."""
    dtype = np.dtype(spec.get("dtype", "float32"))
    rng = np.random.default_rng(spec.get("seed", 0))
    if "uniform" in spec:
        array = rng.uniform(spec.get("low", 0.0), spec.get("high", 1.0), size=tuple(spec["uniform"]))
    elif "normal" in spec:
        array = rng.normal(spec.get("mean", 0.0), spec.get("std", 1.0), size=tuple(spec["normal"]))
    elif "ones" in spec:
        array = np.ones(tuple(spec["ones"]))
    elif "zeros" in spec:
        array = np.zeros(tuple(spec["zeros"]))
    elif "arange" in spec:
        array = np.arange(spec["arange"])
    elif "values" in spec:
        array = np.array(spec["values"])
    else:
        raise ValueError(f"no generator kind in {sorted(spec)}; expected one of {GENERATOR_KINDS}")
    return np.ascontiguousarray(array.astype(dtype))


def numpy_source(spec: dict) -> str:
    """The NumPy expression that makes the same array as `generate(spec)`: snippets use it
    so that a reproduction sees exactly the kit's numbers."""
    rng = f"np.random.default_rng({spec.get('seed', 0)})"
    if "uniform" in spec:
        body = f"{rng}.uniform({spec.get('low', 0.0)}, {spec.get('high', 1.0)}, size={tuple(spec['uniform'])})"
    elif "normal" in spec:
        body = f"{rng}.normal({spec.get('mean', 0.0)}, {spec.get('std', 1.0)}, size={tuple(spec['normal'])})"
    elif "ones" in spec:
        body = f"np.ones({tuple(spec['ones'])})"
    elif "zeros" in spec:
        body = f"np.zeros({tuple(spec['zeros'])})"
    elif "arange" in spec:
        body = f"np.arange({spec['arange']})"
    else:
        body = f"np.array({spec.get('values')!r})"
    return f"{body}.astype({spec.get('dtype', 'float32')!r})"


def generate_value(spec):
    """A generator, a list of generators, or a dict of them -> the same structure of arrays."""
    if isinstance(spec, list):
        return [generate(item) for item in spec]
    if isinstance(spec, dict) and not any(kind in spec for kind in GENERATOR_KINDS):
        return {key: generate(item) for key, item in spec.items()}
    return generate(spec)
