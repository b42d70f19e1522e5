"""JAX/Flax adapter: loads jax and flax, names the devices, classifies JAX's errors.

Rule: jax is imported only in `load()`; before that, XLA_FLAGS gets
--xla_force_host_platform_device_count=2 (unless a device count is already set) so that a
machine without an accelerator still has a second device. Sessions execute and observe;
this module asserts nothing.
"""

from __future__ import annotations

import os
import re

from conformance.adapters.base import Adapter

_HOST_DEVICES = "--xla_force_host_platform_device_count=2"

# (canonical kind, pattern on "Type: message", phases where it applies or None for all)
_ERROR_PATTERNS = (
    ("missing_super_init", r"IncorrectPostInitOverrideError|without calling `super\(\)", None),
    ("not_initialized", r"ScopeCollectionNotFound|ScopeParamNotFoundError|collection is empty|"
                        r"Could not find parameter", None),
    ("non_scalar_backward", r"Gradient only defined for scalar-output functions", None),
    ("inplace_in_recording", r"immutable and do not support in-place item assignment", None),
    ("device_mismatch", r"incompatible devices|different devices", None),
    ("load_mismatch", r"target dict keys and state dict keys do not match|"
                      r"does not match the length of the target|state dict", ("load",)),
    ("shape_mismatch", r"ScopeParamShapeError|dot_general requires contracting dimensions|"
                       r"Incompatible shapes|shapes? .* (?:do not|don't) match|incompatible shapes", None),
    ("bad_filename", r"No such file or directory", None),
)


class JaxAdapter(Adapter):
    framework_name = "jax"

    def __init__(self):
        self.jax = None

    def load(self) -> None:
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_force_host_platform_device_count" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {_HOST_DEVICES}".strip()
        import jax

        from conformance.adapters.jax.models import classes

        self.jax = jax
        classes()

    def version(self) -> str:
        return self.jax.__version__

    def components(self) -> dict:
        import flax

        return {"flax": flax.__version__}

    def devices(self) -> dict:
        jax = self.jax
        devices = jax.devices()
        import flax

        return {
            "default": str(devices[0]), "second": str(devices[1]) if len(devices) > 1 else None,
            "kind": "virtual" if devices[0].platform == "cpu" else devices[0].platform,
            "listed": [str(d) for d in devices], "flax": flax.__version__,
            "xla_flags": os.environ.get("XLA_FLAGS", ""),
        }

    def new_session(self, workdir: str):
        from conformance.adapters.jax.session import JaxSession

        return JaxSession(self, workdir)

    def classify_error(self, exc: BaseException, phase: str) -> str:
        message = f"{type(exc).__name__}: {exc}"
        for kind, pattern, phases in _ERROR_PATTERNS:
            if phases is not None and phase not in phases:
                continue
            if re.search(pattern, message, flags=re.DOTALL):
                return kind
        if phase == "access" and isinstance(exc, KeyError):
            return "not_initialized"  # variables['params'][...] before net.init created anything
        if isinstance(exc, FileNotFoundError | IsADirectoryError):
            return "bad_filename"
        return "other"

    def snippet(self, case) -> str:
        from conformance.adapters.jax.snippet import snippet

        try:
            return snippet(case)
        except Exception as exc:  # noqa: BLE001 - a snippet is best effort, never a failure
            return f"# snippet unavailable: {type(exc).__name__}: {exc}"
