"""PyTorch adapter: runs the spec steps with torch idioms (nn.Module, apply + nn.init, autograd,
torch.save/torch.load) and reports what torch does.

Rule: torch is imported only in `TorchAdapter.load()` and inside methods; the adapter asserts
nothing. The second device is "cuda:0" when CUDA is available, else "meta" (a virtual device
that has shapes but no data: observing data on it raises Skip).
"""

from __future__ import annotations

import re

from conformance.adapters.base import Adapter, Session

# (canonical kind, regex on "Type: message", phases); the first match wins. Messages are torch 2.x's own.
_ERROR_PATTERNS = (
    ("missing_super_init", r"before Module\.__init__\(\) call", None),
    ("not_initialized", r"uninitialized parameter", None),
    ("graph_freed", r"Trying to backward through the graph a second time", None),
    ("non_scalar_backward", r"grad can be implicitly created only for scalar outputs", None),
    ("inplace_in_recording", r"in-place operation|modified by an inplace operation", None),
    ("load_mismatch", r"Error\(s\) in loading state_dict", None),
    ("no_gradient", r"does not require grad and does not have a grad_fn", None),
    ("device_mismatch", r"Expected all tensors to be on the same device", None),
    ("device_mismatch", r"is not on the expected device|Cannot copy out of meta tensor", None),
    ("shape_mismatch", r"shapes cannot be multiplied|size of tensor a .* must match", None),
    ("shape_mismatch", r"in_features inferred from input|shape .* is invalid for input", None),
    ("bad_filename", r"Parent directory .* does not exist|No such file or directory", None),
)


class TorchAdapter(Adapter):
    framework_name = "torch"

    def load(self) -> None:
        import torch

        from conformance.adapters.torch import models as torch_models

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
        from conformance.adapters.torch.session import TorchSession

        return TorchSession(self, workdir)

    error_patterns = _ERROR_PATTERNS
    error_types = (((FileNotFoundError, IsADirectoryError), "bad_filename"),)

    def classify_error(self, exc: BaseException, phase: str) -> str:
        text = str(exc)
        if re.search(r"Error\(s\) in loading state_dict", text):
            # Names found but shapes differ -> shape_mismatch; other keys -> another architecture.
            if "size mismatch" in text and not re.search(r"Missing key|Unexpected key", text):
                return "shape_mismatch"
            return "load_mismatch"
        return super().classify_error(exc, phase)

    def snippet(self, case) -> str:
        from conformance.adapters.torch.snippet import snippet

        try:
            return snippet(case, self.second_device())
        except Exception as exc:  # noqa: BLE001 - a snippet is best effort, never a failure
            return f"# snippet unavailable: {type(exc).__name__}: {exc}"

