"""The adapter for JAX + Flax (linen): loads jax and flax, names the devices, gives the JAX idiom.

Rule: jax is imported only in `load()`, after `program_env` is applied: two host CPU devices
(the second one virtual) and XLA's CPU compiler set for speed. `check-programs` runs the
programs under the same environment, so a record and its program alone print the same.
No `fresh_state`: programs hold their randomness in keys and flax names modules by position.
"""

from __future__ import annotations

import os

from conformance.adapters.base import Adapter

# The programs run op by op, and XLA compiles every primitive for every new shape (about a
# thousand compilations per column, most of them the threefry draws of initializers): LLVM at
# -O0 and the classic loop emitters compile these tiny computations about 4x faster. Float
# results may then differ from XLA's defaults in the last bit (contraction, reduction order).
_FLAGS = ("--xla_force_host_platform_device_count=2", "--xla_backend_optimization_level=0",
          "--xla_cpu_use_fusion_emitters=false")


def xla_flags(environ: dict) -> str:
    """The XLA flags of a column: the environment's, then ours for any it does not set."""
    flags = environ.get("XLA_FLAGS", "").split()
    flags += [f for f in _FLAGS if f.split("=")[0] not in {g.split("=")[0] for g in flags}]
    return " ".join(flags)


class JaxAdapter(Adapter):
    framework_name = "jax"

    def program_env(self, environ: dict) -> dict:
        env = {"XLA_FLAGS": xla_flags(environ)}  # the programs set the same flags themselves
        if environ.get("JAX_COMPILATION_CACHE_DIR"):  # a cache both workers share: every compilation goes in
            env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = environ.get("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
            env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = environ.get("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "-1")
        return env

    def load(self) -> None:
        os.environ.update(self.program_env(dict(os.environ)))
        import flax.linen
        import flax.serialization  # noqa: F401
        import jax

        self.jax = jax

    def version(self) -> str:
        return self.jax.__version__

    def components(self) -> dict:
        import flax

        return {"flax": flax.__version__}

    def devices(self) -> dict:
        devices = self.jax.devices()
        return {"default": str(devices[0]), "second": str(devices[1]) if len(devices) > 1 else None,
                "kind": "gpu" if devices[0].platform == "gpu" else "virtual: host CPU devices of XLA",
                "listed": [str(d) for d in devices], "xla_flags": os.environ.get("XLA_FLAGS", "")}

    def idiom(self, column):
        from conformance.adapters.jax.idiom import JaxIdiom

        return JaxIdiom(column)
