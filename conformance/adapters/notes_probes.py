"""Probes and steps that run the notes' own code on Gluon-style sessions (MXNet, reference).

Rule: each probe calls the framework's own API as the notes write it and reports what it
returns, as plain data; nothing here decides an outcome. `GluonNotesMixin` goes before
`BlockTreeSession` in the bases of the MXNet and reference sessions; torch and TensorFlow
have their own mixins in their packages. A probe a framework has no concept for raises
`Unsupported` naming the framework's idiom (see PROBES in base.py).
"""

from __future__ import annotations

import numpy as np

from conformance.adapters.base import Unsupported


def dtype_name(dtype) -> str:
    """numpy.float32 / 'float32' / torch.float32 / tf.float32 -> 'float32'."""
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(getattr(dtype, "name", dtype)).replace("torch.", "")


def attribute_paths(session, objects) -> dict:
    """id(parameter) -> its first canonical path, walking the session's registries."""
    found = {}
    for path, obj in session.walk():
        found.setdefault(id(obj), path)
    return {id(o): found.get(id(o)) for o in objects}


class GluonNotesMixin:
    """Notes probes for sessions whose models are Gluon-style block trees."""

    def _target(self, target):
        return self.model if target in (None, "") else self.resolve(target)

    def probe_param_dict(self, target=None, select=None):
        """000 §4.2.1: net[0].params / net.collect_params() / net.collect_params('.*weight')."""
        block = self._target(target)
        if isinstance(block, self.ParameterDict):
            params = block
        elif select is None and target not in (None, ""):
            params = block.params  # the note's net[0].params
        else:
            params = block.collect_params(select) if select is not None else block.collect_params()
        names = list(params.keys()) if hasattr(params, "keys") else list(params)
        entries = [params[n] for n in names]
        paths = attribute_paths(self, entries)
        return {
            "container": type(params).__name__,
            "names": names,
            "shapes": {n: [int(d) for d in (p.shape or ())] for n, p in zip(names, entries)},
            "dtypes": {n: dtype_name(p.dtype) for n, p in zip(names, entries)},
            "attributes": {n: paths[id(p)] for n, p in zip(names, entries)},
            "text": repr(params),
        }

    def probe_param_repr(self, param):
        """000 §4.3.2: print(net[0].weight)."""
        p = self.param(param)
        return {"text": repr(p), "class": type(p).__name__, "data_class": type(p.data()).__name__
                if self.param_shape(param) is not None else None}

def keras_view(session, target=None) -> dict:
    """The reference's statement of 003 §4.2.1: Keras lists a Dense layer's kernel, stored
    (in, out), then its bias. Built from the reference's own parameters in canonical order."""
    prefix = "" if target in (None, "") else target + "."
    short, shapes, dtypes = [], [], []
    for path, param in session.unique_params():
        if not path.startswith(prefix):
            continue
        shape = [int(d) for d in (param.shape or ())]
        name = path.rsplit(".", 1)[-1]
        if name == "weight" and len(shape) == 2:
            short.append("kernel")
            shape = shape[::-1]
        else:
            short.append(name)
        shapes.append(shape)
        dtypes.append(dtype_name(param.dtype))
    return {"short_names": short, "shapes": shapes, "dtypes": dtypes, "count": len(short)}


def np_save_as_written(session, values: str, kind: str = "one", convert=None, ragged_as_objects=False) -> dict:
    """003 读取和存储: np.save(path, x) / np.save(path, [x, y]) / np.save(path, {'x': x, 'y': y})
    on the framework's own tensors, then np.load(path) WITHOUT pickle: what was saved, and
    whether loading needs allow_pickle=True (the kit never unpickles).

    `convert` turns a tensor into what np.asanyarray sees (None: the tensor itself, as the
    note passes it); `ragged_as_objects` saves a ragged list as an object array, which NumPy
    before 1.24 did by itself (the note's environment)."""
    names = [n.strip() for n in values.split(",") if n.strip()]
    items = [session.named(n) for n in names]
    if convert is not None:
        items = [convert(i) for i in items]
    obj = items[0] if kind == "one" else (dict(zip(names, items)) if kind == "dict" else list(items))
    if kind == "list" and ragged_as_objects and len({np.shape(i) for i in items}) > 1:
        packed = np.empty(len(items), dtype=object)
        packed[:] = items
        obj = packed
    path = session.file_path(f"np_save_{kind}.npy")
    result = {"saved": False, "error": None, "needs_pickle": None, "loaded_shape": None, "loaded_dtype": None}
    try:
        np.save(path, obj)
    except Exception as exc:  # noqa: BLE001 - what np.save does is the observation
        text = str(exc).strip().splitlines()
        result["error"] = f"{type(exc).__name__}: {text[0] if text else ''}"
        return result
    result["saved"] = True
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError:
        result["needs_pickle"] = True  # an object array: only np.load(allow_pickle=True) reads it
        return result
    result.update(needs_pickle=False, loaded_shape=[int(d) for d in loaded.shape], loaded_dtype=loaded.dtype.name)
    return result
