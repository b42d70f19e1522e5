"""A test-only framework whose programs double, crash, segfault, hang or grab memory, chosen by
the input's seed.

Rule: it exists to prove the runner survives a program that dies or hangs; it is never
registered, tests name it as "fake_adapter:FakeAdapter". Its programs are real programs
(written by the kit's writer from `FakeIdiom`), run the way every column's are.
"""

from __future__ import annotations

import ctypes
import os
import sys

from conformance.adapters.base import Adapter
from conformance.program.idiom import Idiom, Model, Unsupported, literal, numpy_expr

CRASH_SEED, HANG_SEED, SEGFAULT_SEED, FAIL_SEED, UNSUPPORTED_SEED, SKIP_SEED, MEMORY_SEED = 13, 7, 11, 5, 17, 19, 23

# What the fake framework's forward does with an input whose first element is seed / 1000.
FORWARD = f'''\
def forward(x):
    """The fake framework's forward: doubles, or crashes, hangs, fails as its seed says."""
    seed = round(float(x.flat[0]) * 1000) if x.size else 0
    if seed == {CRASH_SEED}:
        os._exit({CRASH_SEED})
    if seed == {HANG_SEED}:
        time.sleep(3600)
    if seed == {SEGFAULT_SEED}:
        ctypes.string_at(0)
    if seed == {FAIL_SEED}:
        raise ValueError("fake framework error: shapes do not fit")
    if seed == {MEMORY_SEED}:
        return np.empty((1 << 34,), dtype=np.uint8)  # 16 GiB, never touched
    if seed == {SKIP_SEED}:
        return "meta"  # data this machine cannot read back
    return x * 2
'''


class FakeIdiom(Idiom):
    framework = "fake"
    imports = ("import ctypes", "import os", "import time")
    host = '''\
def host(value):
    if isinstance(value, str) and value == "meta":
        raise NotImplementedError("Cannot copy out of meta tensor; no data!")
    return value
'''

    def build(self, spec, ctx, var="net"):
        ctx.helper("forward", FORWARD)
        return Model(var, [f"{var} = forward"], spec=spec)

    def forward(self, args, ctx):
        seed = round(float((args["input"].get("values") or [[0]])[0][0]) * 1000)
        if seed == UNSUPPORTED_SEED:
            raise Unsupported("the fake framework has no such thing; its idiom is something else")
        return [f"{ctx.name(args.get('as', 'out'))} = net({numpy_expr(args['input'])})"]

    def observe_param_paths(self, key, ctx):
        return "[]"

    def observe_native_names(self, key, ctx):
        return "{}"

    def observe_value(self, key, ctx):
        return ctx.name(key.name)

    def preamble(self, ctx):
        return [f"# the fake framework, version {literal('1.0')}"]


def _log(event: str) -> None:
    """With FAKE_ADAPTER_LOG set, which process imported the framework or asked for its devices."""
    if os.environ.get("FAKE_ADAPTER_LOG"):
        with open(os.environ["FAKE_ADAPTER_LOG"], "a", encoding="utf-8") as handle:
            handle.write(f"{event} {os.getpid()}\n")


class FakeAdapter(Adapter):
    framework_name = "fake"
    unobservable = ((r"Cannot copy out of meta tensor", "no second device here: its data cannot be read back"),)

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

    def idiom(self, column):
        return FakeIdiom(column)
