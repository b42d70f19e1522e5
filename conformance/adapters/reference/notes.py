"""The notes' own code on the reference: probes and steps of issue 10 (claims ledger).

Rule: the reference states what the notes state. Gluon idioms (ParameterDict, collect_params
with a regex, nd.random.uniform, attach_grad, elemwise_add(out=)) are its own API; the torch
note's state_dict is its structural parameter dict (the names save_parameters writes), and
the TF note's Keras view (kernel stored (in, out)) is computed from its own parameters.
"""

from __future__ import annotations

import numpy as np

from conformance.adapters.notes_probes import GluonNotesMixin, attribute_paths, dtype_name, keras_view


class ReferenceNotesMixin(GluonNotesMixin):
    def probe_state_dict(self, target=None):
        block = self._target(target)
        params = block._collect_params_with_prefix()
        names = list(params)
        entries = [params[n] for n in names]
        paths = attribute_paths(self, entries)
        return {
            "container": type(params).__name__,
            "names": names,
            "shapes": {n: [int(d) for d in p.shape] for n, p in zip(names, entries)},
            "dtypes": {n: dtype_name(p.dtype) for n, p in zip(names, entries)},
            "attributes": {n: paths[id(p)] for n, p in zip(names, entries)},
        }

    def probe_keras_weights(self, target=None):
        return keras_view(self, target)

    def probe_try_gpu(self, i=0):
        dev = self.ref.try_gpu(i)
        return {"device": str(dev), "canonical": self.canonical_device(dev)}

    def probe_try_all_gpus(self):
        gpus = [self.ref.Device("gpu", i) for i in range(self.ref.num_gpus())]
        devices = gpus or [self.ref.device.default_device()]
        return {"devices": [str(d) for d in devices], "canonical": [self.canonical_device(d) for d in devices]}

    def probe_saved_params(self, file):
        loaded = self.ref.serialization._read_npz(self.file_path(file), self.ref.serialization.PARAMS_FORMAT)
        return {"container": "dict", "names": list(loaded),
                "shapes": {k: list(np.shape(v)) for k, v in loaded.items()}}

    def probe_sequential_class(self):
        return {"is_model": issubclass(self.ref.Sequential, self.ref.Block), "base": "Block",
                "class": self.ref.Sequential.__name__}

    def random(self, name, low=None, high=None, shape=None):
        """000 §4.1: nd.random.uniform(), nd.random.uniform(x, y), (x, y, shape=(2, 2))."""
        lo = 0.0 if low is None else low
        hi = 1.0 if high is None else high
        draw = self.ref.rng.uniform(lo, hi, shape=() if shape is None else tuple(shape))
        self.values[name] = self.ref.array(np.asarray(draw, dtype=np.float32))

    def attach_grad(self, value):
        self.named(value).attach_grad()

    def add_out(self, a, b, out):
        out[:] = a + b  # nd.elemwise_add(a, b, out=out): the sum lands in out's own buffer
        return out

    def to_numpy(self, value, name):
        # 000 §4.6 / 001 GPU: data not in main memory is copied there first; a tensor already in
        # main memory is handed to NumPy without a copy (torch's Tensor.numpy() shares memory)
        x = self.named(value)
        self.values[name] = x._data if x.device == self.ref.device.default_device() else x.asnumpy()

    def probe_np_save(self, values, kind="one"):
        # The reference's tensors reach np.save as NumPy arrays (as TF's do through __array__);
        # a ragged list is saved as an object array, as NumPy < 1.24 did for the note.
        from conformance.adapters.notes_probes import np_save_as_written

        return np_save_as_written(self, values, kind, convert=lambda t: t._data, ragged_as_objects=True)

    def probe_prefix_names(self, prefix):
        """004 §6.4: MyDense(in_units=5, units=3, prefix='oomydense'); dense.params."""
        dense = self.ref.MyDense(units=3, in_units=5, prefix=prefix)
        return {"prefix": dense.prefix, "names": list(dense.params)}
