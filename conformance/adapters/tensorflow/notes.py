"""The TF note's own code (003) as probes and steps for issue 10 (claims ledger).

Rule: every probe calls TensorFlow/Keras as note 003 does (net.weights[0], tf.random.uniform,
try_gpu / try_all_gpus the d2l way, the file save_weights wrote) and reports what it returns;
Gluon's ParameterDict and torch's state_dict are not Keras concepts.
"""

from __future__ import annotations

import numpy as np

from conformance.adapters.base import Unsupported
from conformance.adapters.notes_probes import dtype_name
from conformance.adapters.tensorflow.keras_version import variable_path


def _short(name: str) -> str:
    return name.rsplit("/", 1)[-1].split(":", 1)[0]


class TensorflowNotesMixin:
    def _target_layer(self, target):
        if target in (None, ""):
            return self._model()
        return self.built.layers[target]

    def probe_keras_weights(self, target=None):
        """003 §4.2.1: net.weights[0] is <tf.Variable 'sequential/dense/kernel:0' shape=(20, 256)>."""
        weights = list(self._target_layer(target).weights)
        paths = [variable_path(v) for v in weights]
        return {
            "short_names": [_short(p) for p in paths],
            "paths": paths,
            "shapes": [[int(d) for d in v.shape] for v in weights],
            "dtypes": [dtype_name(v.dtype) for v in weights],
            "count": len(weights),
        }

    def probe_param_dict(self, target=None, select=None):
        raise Unsupported("Keras has no ParameterDict and no regex selection: the idiom is "
                          "model.weights (variables with paths like 'sequential/dense/kernel') filtered in Python")

    def probe_state_dict(self, target=None):
        raise Unsupported("Keras has no state_dict: model.weights lists the variables, get_weights() their arrays")

    def probe_param_repr(self, param):
        var = self._existing(self._ref(param))
        if var is None:
            raise Unsupported("the Keras layer has no variable yet (weights are created at the first call)")
        return {"text": repr(var), "class": type(var).__name__, "data_class": type(var.numpy()).__name__}

    def _gpus(self):
        return len(self.tf.config.list_physical_devices("GPU"))

    def probe_try_gpu(self, i=0):
        # d2l's TF try_gpu(i): '/GPU:i' when there are at least i + 1 GPUs, else '/CPU:0'
        device = f"/GPU:{i}" if self._gpus() >= i + 1 else "/CPU:0"
        with self.tf.device(device):
            placed_on = self.tf.ones(1).device
        return {"device": device, "placed_on": placed_on, "canonical": "gpu" if "GPU" in device else "default"}

    def probe_try_all_gpus(self):
        devices = [f"/GPU:{i}" for i in range(self._gpus())] or ["/CPU:0"]
        return {"devices": devices, "canonical": ["gpu" if "GPU" in d else "default" for d in devices]}

    def probe_saved_params(self, file):
        import h5py

        names: list[str] = []
        with h5py.File(self.file_path(file), "r") as handle:  # what save_weights wrote
            handle.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
        return {"container": "h5py.File", "names": names, "shapes": {}}

    def probe_sequential_class(self):
        keras = self.adapter.keras
        return {"is_model": issubclass(keras.Sequential, keras.Model), "base": "Model",
                "class": keras.Sequential.__name__}

    def random(self, name, low=None, high=None, shape=None):
        if shape is None:
            raise Unsupported("tf.random.uniform needs a shape; nd.random.uniform() with no shape has no TF counterpart")
        lo = 0.0 if low is None else low
        hi = 1.0 if high is None else high
        self.values[name] = self.tf.random.uniform(tuple(shape), lo, hi)
        self.value_tape[name] = None

    def attach_grad(self, value):
        # TF's idiom is a tf.Variable (watched by the tape); a new object, like the note's rebind
        self.values[value] = self.tf.Variable(self.named(value))
        self.grad_names.add(value)
        self.value_tape[value] = None

    def add_out(self, a, b, out):
        raise Unsupported("TF tensors are immutable and ops take no out=: the idiom is "
                          "tf.Variable.assign(a + b)")

    def norm(self, x):
        return self.tf.norm(x)  # 003 §4.1.3: tf.norm(x)

    def probe_np_save(self, values, kind="one"):
        """003 读取和存储: the note's np.save of the framework's tensors, then np.load without pickle."""
        from conformance.adapters.notes_probes import np_save_as_written

        return np_save_as_written(self, values, kind)

    def probe_prefix_names(self, prefix):
        """Keras' counterpart of Gluon's prefix is the layer name: Dense(3, name=prefix) on 5 inputs."""
        keras = self.adapter.keras
        dense = keras.layers.Dense(3, name=prefix)
        dense.build((None, 5))
        return {"prefix": dense.name, "names": [variable_path(v) for v in dense.weights]}
