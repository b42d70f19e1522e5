"""Adapter registry: framework name -> adapter class, resolved lazily by import path.

Only `get_adapter(name)` imports an adapter module, so listing frameworks never imports one;
`load_adapter` also imports the framework (`Adapter.load`) and describes it.
"""

from __future__ import annotations

import importlib
import os

ADAPTERS = {
    "reference": "conformance.adapters.reference.adapter:ReferenceAdapter",
    "torch": "conformance.adapters.torch.adapter:TorchAdapter",
    "tensorflow": "conformance.adapters.tensorflow.adapter:TensorflowAdapter",
    "mxnet": "conformance.adapters.mxnet.adapter:MxnetAdapter",
}

# The module each framework needs; used to detect what is installed without importing it.
FRAMEWORK_MODULES = {"reference": None, "torch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet"}
ADAPTERS["paddle"] = "conformance.adapters.paddle.adapter:PaddleAdapter"
FRAMEWORK_MODULES["paddle"] = "paddle"
ADAPTERS["jax"] = "conformance.adapters.jax.adapter:JaxAdapter"
FRAMEWORK_MODULES["jax"] = "jax"


def get_adapter(name: str):
    """Instantiate the adapter for `name`: a registered name, or "package.module:Class"
    for an adapter outside the kit (tests, third parties). KeyError for an unknown name."""
    target = ADAPTERS.get(name) or (name if ":" in name else None)
    if target is None:
        raise KeyError(name)
    module_name, class_name = target.split(":")
    module = importlib.import_module(module_name)
    return getattr(module, class_name)()


def installed_frameworks() -> list[str]:
    """Frameworks whose module can be found here (the reference always can)."""
    import importlib.util

    found = []
    for name, module in FRAMEWORK_MODULES.items():
        if module is None or importlib.util.find_spec(module) is not None:
            found.append(name)
    return found


def import_adapter(framework: str):
    """(adapter, None) with the framework imported (`Adapter.load`), or (None, error message)."""
    try:
        adapter = get_adapter(framework)
        adapter.load()
        return adapter, None
    except KeyError:
        return None, f"unknown framework '{framework}'"
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        return None, f"{framework} failed to load: {type(exc).__name__}: {str(exc).strip()[:500]}"


def devices_of(adapter) -> dict:
    """The column's devices as its adapter names them, and the thread count it runs with (the
    programs set it too, so that their float sums keep the column's order)."""
    devices = dict(adapter.devices())
    if os.environ.get("OMP_NUM_THREADS"):
        devices["omp_num_threads"] = os.environ["OMP_NUM_THREADS"]
    return devices


def describe_adapter(framework: str, adapter):
    """(version, devices, None) of an imported adapter, or (None, {}, error message). Asking
    for the devices may start the framework's runtime: a worker does it, never the zygote."""
    try:
        adapter.start_runtime()
        return str(adapter.version()), devices_of(adapter), None
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        return None, {}, f"{framework} failed to load: {type(exc).__name__}: {str(exc).strip()[:500]}"


def load_adapter(framework: str):
    """(adapter, version, devices, None) or (None, None, {}, error message)."""
    adapter, problem = import_adapter(framework)
    if problem:
        return None, None, {}, problem
    version, devices, problem = describe_adapter(framework, adapter)
    if problem:
        return None, None, {}, problem
    return adapter, version, devices, None


def components_of(adapter) -> dict:
    """Parts of the framework with their own versions (e.g. {"keras": "3.15.1"}); pins may range them."""
    try:
        return {str(k): str(v) for k, v in (adapter.components() or {}).items()}
    except Exception:  # noqa: BLE001 - an adapter without components, or one that failed to report them
        return {}
