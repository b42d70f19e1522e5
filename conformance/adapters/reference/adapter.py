"""The adapter for the bundled NumPy reference (`conformance.reference`), the specs' norm.

Rule: NumPy only, always importable; it names the reference's version and virtual devices,
maps the reference's own exception classes to canonical kinds, and asserts nothing.
Sessions (`session.py`) execute and observe.
"""

from __future__ import annotations

from conformance.adapters.base import Adapter, Session


# The reference's own exception classes -> canonical kinds (most specific first).
_ERROR_KINDS = (
    ("MissingSuperInitError", "missing_super_init"),
    ("NotInitializedError", "not_initialized"),
    ("LoadShapeMismatchError", "shape_mismatch"),  # found by name, another shape
    ("LoadMismatchError", "load_mismatch"),
    ("ShapeMismatchError", "shape_mismatch"),
    ("DeviceMismatchError", "device_mismatch"),
    ("GraphFreedError", "graph_freed"),
    ("NotInGraphError", "no_gradient"),
    ("NoGradientError", "no_gradient"),
    ("InplaceInRecordingError", "inplace_in_recording"),
    ("UnsafeFileError", "other"),
)


class ReferenceAdapter(Adapter):
    framework_name = "reference"

    def load(self) -> None:
        from conformance import reference  # noqa: F401 - NumPy only, always importable

    def version(self) -> str:
        try:
            from conformance import __version__
        except ImportError:
            return "0.1.0"
        return __version__

    def devices(self) -> dict:
        return {"default": "cpu(0)", "second": "vdev(1)", "kind": "virtual"}

    def new_session(self, workdir: str) -> Session:
        from conformance.adapters.reference.session import ReferenceSession

        return ReferenceSession(self, workdir)

    def classify_error(self, exc: BaseException, phase: str) -> str:
        from conformance.reference import errors

        for class_name, kind in _ERROR_KINDS:
            if isinstance(exc, getattr(errors, class_name)):
                return kind
        if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
            return "bad_filename"
        return "other"

    def snippet(self, case) -> str:
        from conformance.reference.snippet import snippet

        return snippet(case)
