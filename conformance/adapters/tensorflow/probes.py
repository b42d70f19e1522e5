"""Probes for the TensorFlow adapter: plain JSON-able answers about the running TF/Keras.

Rule: called only from a live session (TensorFlow already loaded); observes, never judges.
"""

from __future__ import annotations

import numpy as np

from conformance.adapters.base import Unsupported
from conformance.adapters.tensorflow.keras_version import keras, tf_variable


def buffer_address(session, obj):
    """The host buffer address of a value, or None where TF gives no view of it."""
    if isinstance(obj, np.ndarray):
        return obj.__array_interface__["data"][0]
    if isinstance(obj, session.tf.Variable) or hasattr(obj, "assign"):
        return None
    if "CPU" not in (getattr(obj, "device", "") or ""):
        return None   # numpy() of a GPU tensor is a fresh host copy: no address to compare
    # Tensor.numpy() is `self._numpy().copy()` (TF source): the private _numpy() is a view of
    # the tensor's own host buffer, so its address tells whether two tensors share storage
    view = obj._numpy()
    return view.__array_interface__["data"][0] if isinstance(view, np.ndarray) else None


def _training_used(session, record):
    tf = session.tf
    layer = keras().layers.Dropout(0.5)
    x = tf.ones((1000,))
    if record:
        with tf.GradientTape():
            y = layer(x)
    else:
        y = layer(x)
    return bool(np.any(y.numpy() == 0))


def probe(session, name):
    tf = session.tf
    adapter = session.adapter
    if name == "is_training":
        return {"inside_recording": _training_used(session, True),
                "outside_recording": _training_used(session, False),
                "how": "Dropout(0.5) called without `training` inside / outside a GradientTape"}
    if name == "devices":
        listed = [d.name for d in tf.config.list_logical_devices()]
        return {"default": adapter.default_device, "second": adapter.second_device,
                "gpus": len(tf.config.list_physical_devices("GPU")), "listed": listed}
    if name == "try_gpu":
        # d2l's TF try_gpu(i=0): '/GPU:0' when a GPU is listed, else '/CPU:0'
        device = "/GPU:0" if tf.config.list_physical_devices("GPU") else "/CPU:0"
        with tf.device(device):
            native = tf.ones(1).device
        return {"device": device, "placed_on": native,
                "canonical": "gpu" if "GPU" in device else "default"}
    if name == "structure":
        lines = []
        session._model().summary(print_fn=lambda text, **kw: lines.append(text))
        return {"text": "\n".join(lines)}
    if name == "param_type":
        weights = session._model().weights
        if not weights:
            return {"class": None, "reason": "the model has no variables yet (Keras creates them at the first call)"}
        var = weights[0]
        inner = tf_variable(var)   # Keras 3 wraps a tf.Variable; Keras 2's weight is one
        return {"class": type(var).__name__, "module": type(var).__module__,
                "wraps": type(inner).__name__ if inner is not var else None}
    if name == "default_device":
        native = tf.ones(3).device
        return {"device": adapter.canonical_device(native), "native": native}
    raise Unsupported(f"tensorflow adapter has no probe '{name}'")
