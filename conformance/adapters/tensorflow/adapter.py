"""The TensorFlow (tf.keras) adapter: loads TF, names its Keras and its devices, resets Keras' names.

Rule: TensorFlow is imported only in `load()` (TF_CPP_MIN_LOG_LEVEL=2 set first), which also
splits the physical CPU into two logical CPUs (a virtual second device, not a GPU) before
anything starts TF's runtime: the zygote only imports and configures, and `start_runtime`
(in each worker) lists the devices. The programs use `tf.keras` as note 003 does: Keras 3 on
TF >= 2.16, Keras 2 inside TF <= 2.15, or tf_keras when TF_USE_LEGACY_KERAS=1; the column
names that Keras's version (`components()`).
"""

from __future__ import annotations

import os

from conformance.adapters.base import Adapter


def legacy_requested() -> bool:
    """TF_USE_LEGACY_KERAS=1 (or true): TF >= 2.16 routes tf.keras to the tf_keras package."""
    return os.environ.get("TF_USE_LEGACY_KERAS", "").strip().lower() in ("1", "true", "yes")


class TensorflowAdapter(Adapter):
    framework_name = "tensorflow"

    def __init__(self):
        self.tf = None
        self.split = ""
        self.second = None
        self._started = False

    def load(self) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf

        cpus = tf.config.list_physical_devices("CPU")
        try:
            tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
            self.split = "the physical CPU split into two logical CPUs"
        except RuntimeError as exc:  # the runtime was started before load()
            self.split = f"logical CPU split refused: {exc}"
        self.tf = tf

    def start_runtime(self) -> None:
        # Listing the logical devices starts TF's runtime (its thread pools): a worker (or an
        # in-process run) does it, never the zygote its workers are forked from.
        if self._started:
            return
        self._started = True
        tf = self.tf
        if tf.config.list_physical_devices("GPU"):
            self.second = "/GPU:0"
        elif "/device:CPU:1" in [d.name for d in tf.config.list_logical_devices()]:
            self.second = "/device:CPU:1"

    def version(self) -> str:
        return self.tf.__version__

    def devices(self) -> dict:
        kind = "gpu" if self.second == "/GPU:0" else ("virtual: a logical CPU" if self.second else None)
        return {"default": "/device:CPU:0", "second": self.second, "kind": kind, "note": self.split}

    def components(self) -> dict:
        keras = self.tf.keras
        version = getattr(keras, "__version__", None)
        if not version:  # tf_keras and TF 2.15's tf.keras carry no __version__; their packages do
            import importlib

            version = importlib.import_module("tf_keras" if legacy_requested() else "keras").__version__
        return {"keras": str(version)}

    def idiom(self, column):
        from conformance.adapters.tensorflow.idiom import TensorflowIdiom

        return TensorflowIdiom(column)

    def fresh_state(self) -> None:
        # Keras names layers and models from process-wide counters (dense, dense_1, ...;
        # sequential_3), which the printed names and structures show: clear_session() starts
        # them again, as in a fresh process. Here, not in each program: a program runs in a
        # fresh process on its own, and Keras 3's clear_session() would also run a full
        # gc.collect() per program (0.2-0.7 s) unless told free_memory=False, a keyword Keras 2 lacks.
        clear = self.tf.keras.backend.clear_session
        try:
            clear(free_memory=False)
        except TypeError:
            clear()
