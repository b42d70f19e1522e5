"""PyTorch adapter: runs the spec steps with torch idioms (nn.Module, apply + nn.init, autograd,
torch.save/torch.load) and reports what torch does.

Rule: torch is imported only in `TorchAdapter.load()` and inside methods; the adapter asserts
nothing. The second device is "cuda:0" when CUDA is available, else "meta" (a virtual device
that has shapes but no data: observing data on it raises Skip).
"""

from __future__ import annotations

import re

from conformance.adapters.base import Adapter, Session

# (message regex, canonical kind); the first match wins. Messages are torch 2.x's own.
_ERROR_PATTERNS = [
    (r"before Module\.__init__\(\) call", "missing_super_init"),
    (r"uninitialized parameter", "not_initialized"),
    (r"Trying to backward through the graph a second time", "graph_freed"),
    (r"grad can be implicitly created only for scalar outputs", "non_scalar_backward"),
    (r"in-place operation|modified by an inplace operation", "inplace_in_recording"),
    (r"Error\(s\) in loading state_dict", "load_mismatch"),
    (r"does not require grad and does not have a grad_fn", "no_gradient"),
    (r"Expected all tensors to be on the same device", "device_mismatch"),
    (r"is not on the expected device|Cannot copy out of meta tensor", "device_mismatch"),
    (r"shapes cannot be multiplied|size of tensor a .* must match", "shape_mismatch"),
    (r"in_features inferred from input|shape .* is invalid for input", "shape_mismatch"),
    (r"Parent directory .* does not exist|No such file or directory", "bad_filename"),
]


class TorchAdapter(Adapter):
    framework_name = "torch"

    def load(self) -> None:
        import torch

        from conformance.adapters import torch_models

        self.torch = torch
        torch_models.classes()

    def version(self) -> str:
        import torch

        return torch.__version__

    def second_device(self) -> str:
        import torch

        return "cuda:0" if torch.cuda.is_available() else "meta"

    def devices(self) -> dict:
        second = self.second_device()
        return {"default": "cpu", "second": second, "kind": "gpu" if second != "meta" else "virtual-meta"}

    def new_session(self, workdir: str) -> Session:
        from conformance.adapters.torch_session import TorchSession

        return TorchSession(self, workdir)

    def classify_error(self, exc: BaseException, phase: str) -> str:
        text = str(exc)
        if re.search(r"Error\(s\) in loading state_dict", text):
            # Names found but shapes differ -> shape_mismatch; other keys -> another architecture.
            if "size mismatch" in text and not re.search(r"Missing key|Unexpected key", text):
                return "shape_mismatch"
            return "load_mismatch"
        for pattern, kind in _ERROR_PATTERNS:
            if re.search(pattern, text):
                return kind
        if isinstance(exc, FileNotFoundError | IsADirectoryError):
            return "bad_filename"
        return "other"

    def snippet(self, case) -> str:
        from conformance.adapters.torch_snippet import snippet

        try:
            return snippet(case, self.second_device())
        except Exception as exc:  # noqa: BLE001 - a snippet is best effort, never a failure
            return f"# snippet unavailable: {type(exc).__name__}: {exc}"

