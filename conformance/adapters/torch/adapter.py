"""The PyTorch adapter: torch's version and devices, and the torch idiom for the program writer.

Rule: torch is imported only in `load()` and inside methods. The second device is `cuda:0`
where CUDA is available, else `meta`: a virtual device that holds shapes but no data, so an
observation of data on it ("Cannot copy out of meta tensor") makes the case a skip.
"""

from __future__ import annotations

from conformance.adapters.base import Adapter

_META = ("the second device here is torch's 'meta' device, which holds shapes but no data; "
         "observing values on it needs a GPU")


class TorchAdapter(Adapter):
    framework_name = "torch"
    unobservable = ((r"Cannot copy out of meta tensor|meta device type tensor|a meta tensor has no data", _META),)

    def load(self) -> None:
        # torch.optim's first step() imports torch._dynamo (about 1 s): left to the workers whose
        # programs step an optimizer, so it is not on every column's critical path in the zygote
        import torch  # noqa: F401

    def version(self) -> str:
        import torch

        return torch.__version__

    def devices(self) -> dict:
        import torch

        if torch.cuda.is_available():
            return {"default": "cpu", "second": "cuda:0", "kind": "gpu"}
        return {"default": "cpu", "second": "meta", "kind": "virtual-meta"}

    def idiom(self, column):
        from conformance.adapters.torch.idiom import TorchIdiom

        return TorchIdiom(column)
