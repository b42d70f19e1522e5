"""The adapter for the bundled NumPy reference (`conformance.reference`), the specs' norm.

Rule: NumPy only, always importable; it names the reference's version and its devices (a
virtual second device) and gives the program writer the Gluon idiom on the reference.
"""

from __future__ import annotations

from conformance.adapters.base import Adapter


class ReferenceAdapter(Adapter):
    framework_name = "reference"

    def load(self) -> None:
        from conformance import reference  # noqa: F401 - NumPy only, always importable

    def version(self) -> str:
        from conformance import __version__

        return __version__

    def devices(self) -> dict:
        return {"default": "cpu(0)", "second": "vdev(1)", "kind": "modelled: the reference's own device model (host memory)"}

    def idiom(self, column):
        from conformance.adapters.reference.idiom import ReferenceIdiom

        return ReferenceIdiom(column)

    def fresh_state(self) -> None:
        from conformance.reference import naming, rng

        naming.reset()  # Gluon-style name counters ("dense0_") start again, as in a fresh process
        rng.seed(0)
