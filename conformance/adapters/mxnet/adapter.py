"""The MXNet 1.x (Gluon) adapter: contexts, error kinds, snippets; sessions in session.py.

Rule: MXNet is imported only in `MxnetAdapter.load()` and inside methods, never at module
import. Canonical parameter paths come from walking Gluon's own registries (base.BlockTreeSession);
native names ("dense0_weight") are kept as observations. Gluon's Dense weight is already
(out, in). The second device is gpu(0) when this MXNet build sees a GPU, else cpu(1).
"""

from __future__ import annotations

from conformance.adapters.base import Adapter, AdapterBug, Session
from conformance.adapters.mxnet.errors import classify


class MxnetAdapter(Adapter):
    framework_name = "mxnet"

    def load(self) -> None:
        import mxnet  # noqa: F401 - MXNet 1.9.1 imports with numpy<1.24 (np.bool is gone later)

    def version(self) -> str:
        import mxnet

        return mxnet.__version__

    def default_ctx(self):
        import mxnet as mx

        return mx.cpu(0)

    def second_ctx(self):
        # A GPU when this MXNet build sees one; else cpu(1), another context on this host.
        import mxnet as mx

        return mx.gpu(0) if mx.context.num_gpus() > 0 else mx.cpu(1)

    def ctx_of(self, device: str):
        if device == "default":
            return self.default_ctx()
        if device == "second":
            return self.second_ctx()
        raise AdapterBug(f"mxnet: unknown device {device!r}")

    def try_gpu(self):
        """d2l's try_gpu: mx.gpu() if an array can be made there, else mx.cpu()."""
        import mxnet as mx

        try:
            ctx = mx.gpu()
            mx.nd.zeros((1,), ctx=ctx).wait_to_read()
        except mx.base.MXNetError:
            ctx = mx.cpu()
        return ctx

    def devices(self) -> dict:
        import mxnet as mx

        gpus = mx.context.num_gpus()
        return {
            "default": str(self.default_ctx()),
            "second": str(self.second_ctx()),
            "kind": "gpu" if gpus else "virtual (cpu(1): a second MXNet context on the host)",
        }

    def new_session(self, workdir: str) -> Session:
        from conformance.adapters.mxnet.session import MxnetSession

        self._forget_constant_initializers()
        return MxnetSession(self, workdir)

    def _forget_constant_initializers(self) -> None:
        """Each gluon Constant registers an initializer named 'constant_<name>_<id(self)>' in
        MXNet's global registry. A later case whose Constant gets the same name and, by
        memory reuse, the same id draws the warning "... is overriding existing initializer":
        one case's leftovers would show in another's record. The ones earlier cases left go."""
        from mxnet import initializer, registry

        table = getattr(registry, "_REGISTRY", {}).get(initializer.Initializer)
        if table:
            for name in [n for n in table if n.startswith("constant_")]:
                del table[name]

    def classify_error(self, exc: BaseException, phase: str) -> str:
        return classify(exc, phase)

    def snippet(self, case) -> str:
        from conformance.adapters.mxnet.snippet import snippet

        return snippet(case, second=str(self.second_ctx()))
