"""A test-only adapter whose steps double, crash, segfault or hang, chosen by the input's seed.

Rule: it exists to prove the runner survives a framework that dies or hangs; it is never
registered, tests name it as "fake_adapter:FakeAdapter".
"""

from __future__ import annotations

import ctypes
import os
import sys
import time

import numpy as np

from conformance.adapters.base import Adapter, Session, Skip, Unsupported

CRASH_SEED, HANG_SEED, SEGFAULT_SEED, FAIL_SEED, UNSUPPORTED_SEED, SKIP_SEED = 13, 7, 11, 5, 17, 19


class FakeSession(Session):
    def __init__(self, adapter, workdir):
        super().__init__(adapter, workdir)
        self.values = {}

    def build(self, model):
        self.model = model

    def forward(self, input, name="out", mode="predict", record=True):
        seed = round(float(input.flat[0]) * 1000) if input.size else 0
        if seed == CRASH_SEED:
            os._exit(CRASH_SEED)
        if seed == HANG_SEED:
            time.sleep(3600)
        if seed == SEGFAULT_SEED:
            ctypes.string_at(0)
        if seed == FAIL_SEED:
            raise ValueError("fake framework error: shapes do not fit")
        if seed == UNSUPPORTED_SEED:
            raise Unsupported("the fake framework has no such thing; its idiom is something else")
        if seed == SKIP_SEED:
            raise Skip("no second device here")
        self.values[name] = np.asarray(input) * 2

    def value(self, name):
        return self.values[name]

    def param_paths(self):
        return []


def _log(event: str) -> None:
    """With FAKE_ADAPTER_LOG set, which process imported the framework or asked for its devices."""
    if os.environ.get("FAKE_ADAPTER_LOG"):
        with open(os.environ["FAKE_ADAPTER_LOG"], "a", encoding="utf-8") as handle:
            handle.write(f"{event} {os.getpid()}\n")


class FakeAdapter(Adapter):
    framework_name = "fake"

    def load(self):
        _log("load")
        if os.environ.get("FAKE_ADAPTER_IMPORT_FAILS"):
            raise ImportError("No module named 'fakeframework'")
        if os.environ.get("FAKE_ADAPTER_IMPORT_SEGFAULTS"):
            print("fakeframework: about to die in its import", file=sys.stderr, flush=True)
            ctypes.string_at(0)

    def devices(self):
        _log("devices")
        return {"default": "cpu", "second": None}

    def version(self):
        return "1.0"

    def new_session(self, workdir):
        return FakeSession(self, workdir)

    def classify_error(self, exc, phase):
        return "shape_mismatch" if "shapes" in str(exc) else "other"
