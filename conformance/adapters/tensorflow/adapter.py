"""The TensorFlow (tf.keras) adapter: loads TF, names its devices, classifies its errors.

Rule: TensorFlow is imported only in `load()` (TF_CPP_MIN_LOG_LEVEL=2 set first), and the
first TF call there splits the physical CPU into two logical CPUs so that a machine without
a GPU still has a second device. The Keras it drives is `keras_version.keras()`: Keras 3, or
Keras 2 (TF <= 2.15, or tf_keras with TF_USE_LEGACY_KERAS=1); the column names its version
(`components()`). Sessions (`session.py`) execute and observe; this module asserts nothing.
"""

from __future__ import annotations

import os
import re

from conformance.adapters.base import Adapter
from conformance.adapters.tensorflow.keras_version import keras, keras_version, legacy_requested

# (canonical kind, pattern on the full message, phases where it applies or None for all)
_ERROR_PATTERNS = (
    # Keras 2 words three situations differently from Keras 3 (first match wins, so these
    # come before the general patterns below):
    # - a Dense layer before build() has no `kernel` attribute at all (Keras 3: a property
    #   that raises "... has not been built");
    ("not_built", r"'\w*Dense' object has no attribute '(?:kernel|bias|w|b)'", ("access",)),
    # - load_weights into an unbuilt layer: "Layer 'dense_3' expected 0 variables, but received
    #   2 variables during loading" (Keras 3: "loading weights into a model that has not yet
    #   been built"; its own "expected N variables" messages start "A total of ...");
    ("not_built", r"\A\w+: Layer '[^']*' expected 0 variables, but received [1-9]", ("load",)),
    # - a loaded kernel of another shape: "Cannot assign value to variable ' kernel:0': Shape
    #   mismatch." (Keras 3 reports the layer as "could not be loaded" instead).
    ("shape_mismatch", r"Cannot assign value to variable .*Shape mismatch", ("load",)),
    ("missing_super_init", r"super\(\)\.__init__\(\)|__init__\(\) (?:was not|wasn't) called", None),
    ("graph_freed", r"non-persistent GradientTape can only be used", None),
    ("inplace_in_recording", r"does not support item assignment", None),
    ("bad_filename", (r"filename must end in|must end in `?\.weights\.h5|Invalid filepath|"
                      r"Unrecognized (?:file|save) format"), None),
    ("not_built", (r"has not yet been built|never built|must build the layer|not been built|"
                   r"before accessing|unbuilt"), None),
    ("load_mismatch", (r"could not be loaded|expected \d+ variables|shape of the target variable|"
                       r"Received incompatible|mismatch"), ("load",)),
    ("shape_mismatch", (r"incompatible with the layer|Matrix size-incompatible|Incompatible shapes|"
                        r"In\[0\] mismatch In\[1\]|Dimensions must be equal"), None),
    ("device_mismatch", r"(?:different|another|multiple) devices?|device mismatch|Could not satisfy device", None),
    ("no_gradient", r"No gradients provided|gradient.* None|NoneType", ("backward", "update")),
)


class TensorflowAdapter(Adapter):
    framework_name = "tensorflow"

    def __init__(self):
        self.tf = None
        self.default_device = "/device:CPU:0"
        self.second_device = None
        self.device_note = ""
        self._devices = None
        self._runtime_started = False

    def load(self) -> None:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        import tensorflow as tf

        cpus = tf.config.list_physical_devices("CPU")
        try:
            tf.config.set_logical_device_configuration(
                cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
            )
            self.device_note = "physical CPU split into two logical CPUs"
        except RuntimeError as exc:   # the runtime was initialised before load()
            self.device_note = f"logical CPU split refused: {exc}"
        self.tf = tf
        self.keras = keras()

    def start_runtime(self) -> None:
        # Listing the logical devices starts TF's runtime (its tf_Compute thread pools): a
        # worker (or run_inprocess) does that, never the zygote its workers are forked from.
        if self._runtime_started:
            return
        self._runtime_started = True
        tf = self.tf
        logical = [d.name for d in tf.config.list_logical_devices()]
        if tf.config.list_physical_devices("GPU"):
            self.second_device = "/GPU:0"
        elif "/device:CPU:1" in logical:
            self.second_device = "/device:CPU:1"

    def version(self) -> str:
        return self.tf.__version__

    def canonical_device(self, native: str) -> str:
        native = native or ""
        if "GPU" in native.upper():
            return "second" if self.second_device == "/GPU:0" and native.upper().endswith("GPU:0") else "gpu"
        if self.second_device and native.endswith(self.second_device.replace("/device:", "device:")):
            return "second"
        return "default"

    def devices(self) -> dict:
        if self._devices is not None:
            return self._devices
        tf = self.tf
        info = {
            "default": self.default_device, "second": self.second_device,
            "kind": "gpu" if self.second_device == "/GPU:0" else "virtual" if self.second_device else None,
            "logical": [d.name for d in tf.config.list_logical_devices()],
            "keras": keras_version(),
            "note": self.device_note,
        }
        if self.second_device:
            # what TF does with one op whose operands live on two devices
            with tf.device(self.default_device):
                a = tf.ones(3)
            with tf.device(self.second_device):
                b = tf.ones(3)
            try:
                c = a + b
                info["cross_device_op"] = f"no error: TF copies silently; result on {c.device}"
            except Exception as exc:  # noqa: BLE001 - the outcome is the observation
                info["cross_device_op"] = f"{type(exc).__name__}: {exc}"
            # and a model whose variables live on the second device, called on a default-device input
            with tf.device(self.second_device):
                layer = self.keras.layers.Dense(2)
                layer.build((None, 3))
            try:
                y = layer(a[None, :])
                info["model_input_other_device"] = (
                    f"no error: variables on {_variable_device(layer.kernel)}, output on {y.device}"
                )
            except Exception as exc:  # noqa: BLE001
                info["model_input_other_device"] = f"{type(exc).__name__}: {exc}"
        self._devices = info
        return info

    def new_session(self, workdir: str):
        from conformance.adapters.tensorflow.session import TensorflowSession

        session = TensorflowSession(self, workdir)
        session.notes["keras"] = keras_version()
        return session

    error_patterns = _ERROR_PATTERNS
    error_flags = re.IGNORECASE | re.DOTALL

    def classify_error(self, exc: BaseException, phase: str) -> str:
        kind = super().classify_error(exc, phase)
        if kind == "other" and phase == "load" and isinstance(exc, ValueError):
            return "load_mismatch"
        return kind

    def components(self) -> dict:
        return {"keras": keras_version()}

    def snippet(self, case) -> str:
        from conformance.adapters.tensorflow.snippet import snippet

        text = snippet(case)
        if legacy_requested() and text:
            # the same tf.keras code runs Keras 2 (tf_keras) when this is set before TF loads
            text = ('import os\nos.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf.keras is tf_keras (Keras 2)\n'
                    + text)
        return text


def _variable_device(var) -> str:
    # Keras 3: a keras.Variable wrapping a tf.Variable (`.value`); Keras 2: the tf.Variable itself
    inner = getattr(var, "value", var)
    return getattr(inner if not callable(inner) else var, "device", "?")
