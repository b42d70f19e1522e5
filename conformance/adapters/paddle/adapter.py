"""The PaddlePaddle adapter: paddlepaddle's version and places, and the Paddle idiom for programs.

Rule: paddle is imported only in `load()` and in the methods that ask it something; the
adapter runs no case (the worker runs the program `idiom.PaddleIdiom` wrote). The CPU build
has one place, CPUPlace(): `devices()` says there is no second device, and the kit skips the
cases that need one.
"""

from __future__ import annotations

import os

from conformance.adapters.base import Adapter


class PaddleAdapter(Adapter):
    framework_name = "paddle"

    def load(self) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")  # Paddle's C++ logging (stderr only)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "No ccache found" from paddle.utils.cpp_extension
            import paddle  # noqa: F401

    def version(self) -> str:
        import paddle

        return paddle.__version__

    def devices(self) -> dict:
        import paddle

        gpus = paddle.device.cuda.device_count()
        if gpus:
            return {"default": str(paddle.CPUPlace()), "second": str(paddle.CUDAPlace(0)), "kind": "gpu"}
        return {"default": str(paddle.CPUPlace()), "second": None,
                "kind": (f"none: paddle {paddle.__version__} is a CPU build with one place, CPUPlace(); the book's "
                         "try_gpu() falls back to it")}

    def idiom(self, column):
        from conformance.adapters.paddle.idiom import PaddleIdiom

        return PaddleIdiom(column)

    def fresh_state(self) -> None:
        from paddle.tensor import creation

        # Paddle 3's paddle.to_tensor(a_tensor) warns "To copy construct from a tensor ..." once
        # per process (a module flag, not the warnings registry): a fresh process has not warned.
        if hasattr(creation, "_warned_in_tensor"):
            creation._warned_in_tensor = False
