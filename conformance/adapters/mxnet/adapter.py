"""The MXNet 1.x (Gluon) adapter: version, contexts, the Gluon idiom, fresh process state.

Rule: MXNet is imported only in `load()` and inside methods, never at module import. The
second device is gpu(0) where this MXNet build sees a GPU, else cpu(1): another context in
host memory, a virtual device.
"""

from __future__ import annotations

from conformance.adapters.base import Adapter


class MxnetAdapter(Adapter):
    framework_name = "mxnet"

    def load(self) -> None:
        import mxnet  # noqa: F401 - MXNet 1.x imports with numpy<1.24 (np.bool is gone later)

    def version(self) -> str:
        import mxnet

        return mxnet.__version__

    def devices(self) -> dict:
        import mxnet as mx

        if mx.context.num_gpus():
            return {"default": "cpu(0)", "second": "gpu(0)", "kind": "gpu"}
        return {"default": "cpu(0)", "second": "cpu(1)", "kind": "virtual (cpu(1): a second MXNet context on the host)"}

    def idiom(self, column):
        from conformance.adapters.mxnet.idiom import MxnetIdiom

        return MxnetIdiom(column)

    def fresh_state(self) -> None:
        """What a fresh process has, where Gluon 1.x keeps process-wide state a program shows."""
        from mxnet import initializer, name, registry

        # Gluon names blocks from the thread's NameManager counters (dense0_, dense1_, ...); a
        # fresh process has none until the first block asks (name.NameManager.current).
        if hasattr(name.NameManager._current, "value"):
            del name.NameManager._current.value
        # Each gluon.Constant registers an initializer 'constant_<name>_<id(self)>' in MXNet's
        # registry; a later program whose Constant reuses the name and the address would be
        # warned "... is overriding existing initializer". A fresh process has only MXNet's own.
        table = registry._REGISTRY.get(initializer.Initializer, {})
        for key in [k for k in table if k.startswith("constant_")]:
            del table[key]
