"""Canonical parameter paths for Gluon models, found by walking Gluon's own registries.

Rule: MXNet is imported inside the functions only. A path joins child names with dots:
Sequential children by index, named blocks by attribute (`Block._children`), parameters by
their registered name (`Block._reg_params`); MySequential's children, which the note keys by
block name ("dense0"), are numbered by position instead.
"""

from __future__ import annotations

import numpy as np

from conformance.adapters.base import AdapterBug
from conformance.adapters.mxnet_models import blocks


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def walk(model) -> list[tuple[str, object]]:
    """(path, block or Parameter) for everything reachable through Gluon's registries,
    every path of a reused block or shared parameter included."""
    from mxnet import gluon

    found: list[tuple[str, object]] = []
    if model is None:
        return found
    if isinstance(model, gluon.ParameterDict):
        return list(model.items())
    my_sequential = blocks()["MySequential"]

    def visit(block, prefix):
        for attr, param in block._reg_params.items():
            found.append((_join(prefix, attr), param))
        children = list(block._children.items())
        if isinstance(block, my_sequential):
            # its _children are keyed by block.name ("dense0"); canonical paths use the index
            children = [(str(i), child) for i, (_, child) in enumerate(children)]
        for key, child in children:
            path = _join(prefix, key)
            found.append((path, child))
            visit(child, path)

    visit(model, "")
    return found


def resolve(model, path: str):
    """A block or Parameter by canonical path; falls back to plain attributes so that
    unregistered layers (a plain list, `list_mlp`) can still be inspected."""
    from mxnet import gluon

    for found_path, obj in walk(model):
        if found_path == path:
            return obj
    obj = model
    for token in path.split("."):
        if isinstance(obj, (list, tuple)) and token.isdigit() and int(token) < len(obj):
            obj = obj[int(token)]
        elif isinstance(obj, gluon.Block) and token in obj._reg_params:
            obj = obj._reg_params[token]
        elif isinstance(obj, gluon.Block) and token in obj._children:
            obj = obj._children[token]
        elif hasattr(obj, token) and not token.startswith("_"):
            obj = getattr(obj, token)
        else:
            raise AdapterBug(f"mxnet: no block or parameter at path {path!r}")
    return obj


def unique_params(model) -> list[tuple[str, object]]:
    """Trainable parameters, each once under its first path (Constants excluded)."""
    from mxnet import gluon

    seen, out = set(), []
    for path, obj in walk(model):
        if isinstance(obj, gluon.Parameter) and id(obj) not in seen:
            seen.add(id(obj))
            if not isinstance(obj, gluon.Constant):
                out.append((path, obj))
    return out


def data_pointer(x) -> int:
    """Address of the first element: equal addresses mean one storage."""
    if isinstance(x, np.ndarray):
        return int(x.__array_interface__["data"][0])
    import ctypes

    from mxnet.base import _LIB, check_call

    x.wait_to_read()
    pointer = ctypes.c_void_p()
    check_call(_LIB.MXNDArrayGetData(x.handle, ctypes.byref(pointer)))
    return int(pointer.value or 0)
