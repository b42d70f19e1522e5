"""The notes' own MXNet code (000, 002, 004) as probes and steps for issue 10 (claims ledger).

Rule: every probe calls Gluon 1.x as the notes do (net[0].params, collect_params('.*weight'),
nd.random.uniform, x.attach_grad(), nd.elemwise_add(out=), nd.load of a params file) and
reports what it returns; torch's state_dict and Keras' kernel view are not Gluon concepts.
"""

from __future__ import annotations

from conformance.adapters.base import Unsupported
from conformance.adapters.notes_probes import GluonNotesMixin


class MxnetNotesMixin(GluonNotesMixin):
    def probe_state_dict(self, target=None):
        raise Unsupported("Gluon 1.x has no state_dict: net.collect_params() is keyed by prefixed names "
                          "(dense0_weight); save_parameters writes structural names (0.weight)")

    def probe_try_gpu(self, i=0):
        mx = self.mx
        ctx = mx.gpu(i) if mx.context.num_gpus() >= i + 1 else mx.cpu()  # d2l's try_gpu(i)
        return {"device": str(ctx), "canonical": "gpu" if ctx.device_type == "gpu" else "default"}

    def probe_try_all_gpus(self):
        mx = self.mx
        ctxs = [mx.gpu(i) for i in range(mx.context.num_gpus())] or [mx.cpu()]
        return {"devices": [str(c) for c in ctxs],
                "canonical": ["gpu" if c.device_type == "gpu" else "default" for c in ctxs]}

    def probe_saved_params(self, file):
        loaded = self.nd.load(self.file_path(file))  # 002: a name -> NDArray dict
        names = list(loaded) if isinstance(loaded, dict) else [str(i) for i in range(len(loaded))]
        return {"container": type(loaded).__name__, "names": names,
                "shapes": {n: list(loaded[n].shape) for n in names} if isinstance(loaded, dict) else {}}

    def probe_sequential_class(self):
        nn = self.gluon.nn
        return {"is_model": issubclass(nn.Sequential, nn.Block), "base": "Block", "class": nn.Sequential.__name__}

    def random(self, name, low=None, high=None, shape=None):
        """000 §4.1: nd.random.uniform(), nd.random.uniform(x, y), nd.random.uniform(x, y, shape=(2, 2))."""
        args = () if low is None and high is None else (0.0 if low is None else low, 1.0 if high is None else high)
        kwargs = {} if shape is None else {"shape": tuple(shape)}
        self.values[name] = self.nd.random.uniform(*args, **kwargs)

    def attach_grad(self, value):
        self.named(value).attach_grad()

    def add_out(self, a, b, out):
        return self.nd.elemwise_add(a, b, out=out)  # 004 §1

    def probe_keras_weights(self, target=None):
        raise Unsupported("Gluon's Dense holds weight (out, in) and bias as Parameters named like "
                          "dense0_weight (net[0].weight); Keras' kernel (in, out) has no Gluon counterpart")

    def probe_np_save(self, values, kind="one"):
        """003 读取和存储: the note's np.save of the framework's tensors, then np.load without pickle."""
        from conformance.adapters.notes_probes import np_save_as_written

        return np_save_as_written(self, values, kind)

    def probe_prefix_names(self, prefix):
        """004 §6.4: MyDense(in_units=5, units=3, prefix='oomydense'); dense.params."""
        from conformance.adapters.mxnet.models import blocks

        dense = blocks()["MyDense"](units=3, in_units=5, prefix=prefix)
        return {"prefix": dense.prefix, "names": list(dense.params.keys())}
