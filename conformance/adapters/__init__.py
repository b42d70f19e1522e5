"""Adapter registry: framework name -> adapter class, resolved lazily by import path.

Only `get_adapter(name)` imports an adapter module, so listing frameworks never imports one.
"""

from __future__ import annotations

import importlib

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
