"""Programs on MXNet 1.x: the Gluon idiom (`conformance.adapters.gluon`) with MXNet's own names.

Rule: a program imports `mxnet as mx`, `autograd, gluon, init, nd` and `nn` as the notes do;
devices are contexts (`ctx=`), the second one `mx.gpu(0)` where MXNet sees a GPU, else
`mx.cpu(1)` (virtual: another context in host memory). Storage is read from the DLPack view
MXNet exports (`nd.to_dlpack_for_read`), never from objects the program placed itself.
"""

from __future__ import annotations

import functools
import os

from conformance.adapters.gluon import GluonIdiom
from conformance.program.idiom import Unsupported, literal, notes_sources, numpy_expr
from conformance.spec.vocabulary import init_kind


@functools.lru_cache(maxsize=1)
def _notes() -> dict:
    return notes_sources(os.path.join(os.path.dirname(__file__), "notes_code.py"))


class MxnetIdiom(GluonIdiom):
    framework = "mxnet"
    ctx_keyword = "ctx"
    ctx_attribute = "context"  # NDArray.ctx is an alias that MXNet 1.5 lacks
    seed_call = "mx.random.seed"
    imports = ("import mxnet as mx", "from mxnet import autograd, gluon, init, nd", "from mxnet.gluon import nn")
    reserved = frozenset({"mx", "autograd", "gluon", "init", "nd", "nn", "ctypes", "default", "second", "params",
                          "inside", "layer", "loaded", "data", "param", "PARAMS", "canonical", "trainer", "descs"})
    host = '''\
def host(value):
    """An MXNet array as NumPy data (asnumpy copies it to host memory)."""
    return value.asnumpy() if isinstance(value, nd.NDArray) else value
'''

    def preamble(self, ctx):
        second = "mx.gpu(0)" if self.column.devices.get("kind") == "gpu" else \
            "mx.cpu(1)  # a second context in host memory: a virtual device, not a GPU"
        return ["mx.random.seed(0)",
                "np.random.seed(0)  # MXNet's Orthogonal initializer draws from NumPy's global generator",
                "default = mx.cpu()",
                f"second = {second}"]

    def class_source(self, name: str) -> str:
        try:
            return _notes()[name]
        except KeyError:
            raise Unsupported(f"mxnet: no notes code for {name}") from None

    def array(self, spec, device=None) -> str:
        # nd.array makes float32 of any NumPy array unless it is given the dtype
        where = f", ctx={self.device(device)}" if device not in (None, "default") else ""
        dtype = spec.get("dtype", "float32")
        kind = "" if dtype == "float32" else f", dtype={literal(dtype)}"
        return f"nd.array({numpy_expr(spec)}{where}{kind})"

    def initializer(self, form, ctx) -> str:
        kind, args = init_kind(form)
        if kind == "msra":  # the specs' MSRAPrelu is fan-in; MXNet's default factor_type is "avg"
            return f"init.MSRAPrelu(factor_type='in', slope={literal(args.get('slope', 0.25))})"
        return super().initializer(form, ctx)

    def missing_mean(self, args) -> str:
        raise Unsupported("mxnet.init.Normal(sigma) has no mean: it always draws around 0")

    def my_dense(self, args, ctx) -> str:
        if not args.get("in_units"):
            raise Unsupported("Gluon 1.x's MyDense (note 000 §4.4.2, d2l's MXNet tab) takes in_units: a Block has "
                              "no build-at-first-call hook (Keras' build); shapes are inferred only by Gluon's own "
                              "layers (nn.Dense(in_units=0))")
        # read_via_data needs nothing: the note's MyDense always reads weight.data(), the recorded array
        return f"{ctx.need_class('MyDense')}({literal(args['units'])}, in_units={literal(args['in_units'])})"

    def storage_source(self) -> str:
        return '''\
def storage(array):
    """The address of an array's memory: NumPy's array interface; for an NDArray, the data
    pointer of the DLPack view MXNet exports (a DLTensor begins with it)."""
    if isinstance(array, np.ndarray):
        return array.__array_interface__["data"][0]
    capsule = nd.to_dlpack_for_read(array)
    get_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
        ("PyCapsule_GetPointer", ctypes.pythonapi))
    return ctypes.c_void_p.from_address(get_pointer(capsule, b"dltensor")).value
'''

    def observe_same_storage(self, key, ctx) -> str:
        ctx.need_import("import ctypes")
        return super().observe_same_storage(key, ctx)

    def probe_state_dict(self, args, ctx):
        raise Unsupported("Gluon 1.x has no state_dict: net.collect_params() is keyed by prefixed names "
                          "(dense0_weight); save_parameters writes structural names (0.weight)")

    def probe_keras_weights(self, args, ctx):
        raise Unsupported("Gluon's Dense holds weight (out, in) and bias as Parameters named like dense0_weight "
                          "(net[0].weight); Keras' kernel (in, out) has no Gluon counterpart")
