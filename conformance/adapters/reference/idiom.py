"""Programs on the bundled reference: the Gluon idiom on `conformance.reference`.

Rule: a reference program imports the reference the way an MXNet program imports MXNet
(`nd`, `nn`, `init`, `autograd`) and nothing else of the kit. Its second device is virtual
(`vdev(1)`, host memory), and its arrays name their device `device` (Gluon: `ctx`).
"""

from __future__ import annotations

import functools
import os

from conformance.adapters.gluon import GluonIdiom
from conformance.program.idiom import Unsupported, notes_sources


@functools.lru_cache(maxsize=1)
def _notes() -> dict:
    return notes_sources(os.path.join(os.path.dirname(__file__), "notes_code.py"))


class ReferenceIdiom(GluonIdiom):
    framework = "reference"
    ctx_keyword = "device"
    imports = ("from conformance.reference import autograd, init, nd, nn",
               "from conformance.reference.device import Device, cpu, num_gpus, vdev")
    reserved = frozenset({"autograd", "init", "nd", "nn", "Device", "cpu", "num_gpus", "vdev", "default", "second",
                          "params", "inside", "layer", "loaded", "data", "param", "PARAMS", "canonical", "gluon",
                          "trainer", "descs"})
    gluon_import = "from conformance.reference import gluon"  # gluon.Trainer, where a program asks for it
    host = '''\
def host(value):
    """A reference array as NumPy data."""
    return value.asnumpy() if isinstance(value, nd.Tensor) else value
'''

    def preamble(self, ctx):
        return ["nd.random.seed(0)  # the reference's one random generator, as a fresh process has it",
                "default = cpu(0)",
                "second = vdev(1)  # the reference's second device: virtual (host memory), not a GPU"]

    def class_source(self, name: str) -> str:
        try:
            return _notes()[name]
        except KeyError:
            raise Unsupported(f"reference: no notes code for {name}") from None

    def param_dict_class(self) -> str:
        return "nn.ParameterDict"

    def missing_mean(self, args) -> str:
        return ""

    def initializer(self, form, ctx):
        from conformance.program.idiom import literal
        from conformance.spec.vocabulary import init_kind

        kind, args = init_kind(form)
        if kind == "normal":
            return f"init.Normal(sigma={literal(args.get('sigma', 0.01))}, mean={literal(args.get('mean', 0.0))})"
        return super().initializer(form, ctx)

    def uniform(self, args) -> str:
        from conformance.program.idiom import literal

        return f"init.Uniform(low={literal(args.get('low', -0.07))}, high={literal(args.get('high', 0.07))})"

    def storage_source(self) -> str:
        return '''\
def storage(array):
    """The address of an array's memory: the reference's data_ptr(), NumPy's array interface."""
    if isinstance(array, np.ndarray):
        return array.__array_interface__["data"][0]
    return array.data_ptr()
'''

    def probe_state_dict(self, args, ctx):
        raise Unsupported("the reference is Gluon-style: it has no state_dict (the torch note's API); "
                          "save_parameters writes the structural names, collect_params() lists native names")

    def probe_np_save(self, args, ctx):
        raise Unsupported("note 003's np.save of TensorFlow tensors (NumPy converting them through __array__); "
                          "the reference's arrays convert with asnumpy()")

    def probe_keras_weights(self, args, ctx):
        raise Unsupported("the reference is Gluon-style: Dense keeps its weight (out, in), with no Keras kernel "
                          "(in, out) and no model.weights")
