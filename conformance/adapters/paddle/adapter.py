"""PaddlePaddle adapter: runs the spec steps with Paddle idioms (nn.Layer, paddle.nn.initializer,
stop_gradient, clear_gradients, paddle.save/paddle.load) and reports what Paddle does.

Rule: paddle is imported only in `PaddleAdapter.load()` and inside methods; the adapter asserts
nothing. The CPU build has a single place (CPUPlace), so there is no second device: steps that
need one raise Skip with the reason.
"""

from __future__ import annotations

import os
import re

from conformance.adapters.base import Adapter, Session

# (message regex, canonical kind); the first match wins. Messages are Paddle 3.x's own,
# with 2.6's where they differ (its matmul: "Input(Y) has error dim. Y'dims[0] must be equal to").
_ERROR_PATTERNS = [
    (r"super\(\)\.__init__\(\) should be called first", "missing_super_init"),
    (r"TensorWrappers of .* do not exist|has been released|retain_graph=True", "graph_freed"),
    (r"can't use inplace strategy|[Ii]nplace", "inplace_in_recording"),
    (r"Place.*(mismatch|different)|not on the same place|Expected all tensors to be on the same", "device_mismatch"),
    (r"dimension of Input\(X\) must be equal to|shape.* mismatch|matmul.*must be equal|"
     r"Input\(Y\) has error dim", "shape_mismatch"),
    (r"to load model not exists|No such file or directory", "bad_filename"),
    (r"does not have gradient|stop_gradient=True|no grad", "no_gradient"),
]


class PaddleAdapter(Adapter):
    framework_name = "paddle"

    def load(self) -> None:
        # Paddle logs through glog at import and on some errors; keep the run's output readable.
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("FLAGS_call_stack_level", "1")
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "No ccache found" from paddle.utils.cpp_extension
            import paddle

        from conformance.adapters.paddle import models

        paddle.device.set_device("cpu")
        paddle.disable_static()
        self.paddle = paddle
        models.classes()

    def version(self) -> str:
        import paddle

        return paddle.__version__

    def devices(self) -> dict:
        import paddle

        return {"default": str(paddle.CPUPlace()), "second": None, "kind": "none (CPU build: one place)",
                "gpus": paddle.device.cuda.device_count()}

    def new_session(self, workdir: str) -> Session:
        from conformance.adapters.paddle.session import PaddleSession

        return PaddleSession(self, workdir)

    def classify_error(self, exc: BaseException, phase: str) -> str:
        text = str(exc)
        for pattern, kind in _ERROR_PATTERNS:
            if re.search(pattern, text):
                return kind
        if isinstance(exc, FileNotFoundError | IsADirectoryError):
            return "bad_filename"
        return "other"

    def snippet(self, case) -> str:
        from conformance.adapters.paddle.snippet import snippet

        try:
            return snippet(case)
        except Exception as exc:  # noqa: BLE001 - a snippet is best effort, never a failure
            return f"# snippet unavailable: {type(exc).__name__}: {exc}"
