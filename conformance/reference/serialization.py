"""Save and load without pickle: tensors and parameters go into .npz files read with
np.load(allow_pickle=False), so a file can never run code.

`save(file, obj)` takes one tensor, a list or a dict of tensors; `load(file)` gives
the same structure back (values, dtype, shape, keys, order). Parameters are saved
under their structural paths ("hidden.weight", Gluon's save_parameters) and loaded
by name: a missing, unexpected or mis-shaped parameter raises LoadMismatchError. A
model whose shapes are still deferred takes its shapes from the file.
"""

from __future__ import annotations

import zipfile
from collections import OrderedDict

import numpy as np

from . import device as devices
from .errors import LoadMismatchError, LoadShapeMismatchError, UnsafeFileError
from .tensor import Tensor

TENSORS_FORMAT = "reference-tensors/1"
PARAMS_FORMAT = "reference-params/1"


def _write_npz(filename: str, arrays: dict) -> None:
    # A file object keeps the name exactly as given (np.savez would append ".npz").
    with open(filename, "wb") as handle:
        np.savez(handle, **arrays)


def _read_npz(filename: str, expected_format: str) -> OrderedDict:
    try:
        archive = np.load(filename, allow_pickle=False)
    except (ValueError, zipfile.BadZipFile) as exc:  # a missing file propagates as OSError
        raise UnsafeFileError(f"'{filename}' is not a reference .npz file: {exc}") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise UnsafeFileError(f"'{filename}' is a bare .npy array, not a reference .npz file")
    arrays = OrderedDict()
    with archive:
        for key in archive.files:
            try:
                arrays[key] = archive[key]
            except ValueError as exc:
                raise UnsafeFileError(
                    f"refusing to load '{key}' from '{filename}': it is an object array that "
                    f"would need pickle (files are read with allow_pickle=False): {exc}"
                ) from exc
    found = str(arrays.pop("__format__", np.array(""))[()])
    if found != expected_format:
        raise UnsafeFileError(
            f"'{filename}' holds {found or 'no reference format tag'}, expected {expected_format}"
        )
    return arrays


def _host(value) -> np.ndarray:
    return value._data if isinstance(value, Tensor) else np.asarray(value)


def save(filename: str, obj) -> None:
    """Save a tensor, a list of tensors or a dict name -> tensor (nd.save)."""
    arrays = {"__format__": np.array(TENSORS_FORMAT)}
    if isinstance(obj, dict):
        arrays["__kind__"] = np.array("dict")
        for key, value in obj.items():
            arrays[f"d:{key}"] = _host(value)
    elif isinstance(obj, (list, tuple)):
        arrays["__kind__"] = np.array("list")
        for i, value in enumerate(obj):
            arrays[f"l:{i}"] = _host(value)
    else:
        arrays["__kind__"] = np.array("single")
        arrays["value"] = _host(obj)
    _write_npz(filename, arrays)


def load(filename: str, device=None):
    """What save() wrote, as tensors on device (default: the default device); a file of
    save_parameters gives its dict of structural name -> tensor (as nd.load does in Gluon)."""
    target = devices.parse(device) if device is not None else devices.default_device()

    def tensor(array):
        return Tensor._wrap(np.array(array), target)

    try:
        arrays = _read_npz(filename, TENSORS_FORMAT)
    except UnsafeFileError:
        params = _read_npz(filename, PARAMS_FORMAT)
        return OrderedDict((key, tensor(value)) for key, value in params.items())
    kind = str(arrays.pop("__kind__")[()])

    if kind == "single":
        return tensor(arrays["value"])
    if kind == "list":
        return [tensor(arrays[f"l:{i}"]) for i in range(len(arrays))]
    return OrderedDict((key[2:], tensor(value)) for key, value in arrays.items())


def named_parameters(model) -> OrderedDict:
    """Path -> Parameter for a Block (structural paths) or a ParameterDict (names)."""
    if hasattr(model, "_collect_params_with_prefix"):
        return model._collect_params_with_prefix()
    return OrderedDict(model.items())


def _params_to_arrays(model) -> OrderedDict:
    return OrderedDict((path, p.data()._data) for path, p in named_parameters(model).items())


def save_parameters(model, filename: str) -> None:
    arrays = {"__format__": np.array(PARAMS_FORMAT)}
    arrays.update(_params_to_arrays(model))
    _write_npz(filename, arrays)


def _match_loaded(
    params: OrderedDict, loaded: OrderedDict, filename: str, allow_missing: bool, ignore_extra: bool
) -> list:
    """Pair each model parameter with the file's array OF THE SAME NAME."""
    if not allow_missing:
        for path in params:
            if path not in loaded:
                raise LoadMismatchError(
                    f"Parameter '{path}' is missing in file '{filename}', which contains "
                    f"parameters: {', '.join(loaded) or 'none'}. Set allow_missing=True to "
                    "ignore missing parameters."
                )
    if not ignore_extra:
        for path in loaded:
            if path not in params:
                raise LoadMismatchError(
                    f"Parameter '{path}' loaded from file '{filename}' is not present in the "
                    f"model, which contains parameters: {', '.join(params) or 'none'}. Set "
                    "ignore_extra=True to ignore."
                )
    return [(path, param, loaded[path]) for path, param in params.items() if path in loaded]


def _assign_loaded(path: str, param, array: np.ndarray, filename: str, device) -> None:
    shape = param.shape
    if shape is not None and (
        len(shape) != array.ndim or any(s and s != a for s, a in zip(shape, array.shape))
    ):
        raise LoadShapeMismatchError(
            f"Failed loading Parameter '{path}' from file '{filename}': shape incompatible, "
            f"expected {tuple(shape)} vs saved {tuple(array.shape)}"
        )
    param._load_init(array, device)


def load_parameters(
    model, filename: str, device=None, allow_missing=False, ignore_extra=False
) -> None:
    loaded = _read_npz(filename, PARAMS_FORMAT)
    params = named_parameters(model)
    for path, param, array in _match_loaded(params, loaded, filename, allow_missing, ignore_extra):
        _assign_loaded(path, param, array, filename, device)


def save_params(model, filename: str) -> None:
    """Gluon 1.x's Block.save_params: collect_params() by native name, the block's prefix
    stripped; a name without that prefix cannot be stripped (MXNet's ValueError)."""
    arrays = {"__format__": np.array(PARAMS_FORMAT)}
    prefix = model.prefix
    for name, param in model.collect_params().items():
        if not name.startswith(prefix):
            raise ValueError(f"Prefix '{prefix}' is to be striped before saving, but Parameter's name "
                             f"'{name}' does not start with '{prefix}'.")
        arrays[name[len(prefix):]] = param.data()._data
    _write_npz(filename, arrays)


def load_params(model, filename: str, device=None, allow_missing=False, ignore_extra=False) -> None:
    """Gluon 1.x's Block.load_params: names without a '.' are save_params' (native names, the
    prefix stripped): matched against collect_params() with this block's prefix put back."""
    loaded = _read_npz(filename, PARAMS_FORMAT)
    if any("." in key for key in loaded):
        return load_parameters(model, filename, device, allow_missing, ignore_extra)
    restored = OrderedDict((model.prefix + key, array) for key, array in loaded.items())
    params = OrderedDict(model.collect_params().items())
    for name, param, array in _match_loaded(params, restored, filename, allow_missing, ignore_extra):
        _assign_loaded(name, param, array, filename, device)
    return None
