"""TensorFlow with Keras 2 mutants: behaviour changes a tf.keras / tf-keras (or TF) release made or
could make.

Rule: each `apply()` patches the Keras 2 that `tf.keras` is in this process (the `keras` 2.x package
inside TF <= 2.15, or `tf_keras` on TF >= 2.16 with TF_USE_LEGACY_KERAS=1), reached through its
public classes (`tf.keras.layers.Dense`, `tf.keras.Model`, ...) and the modules they live in, plus
the TF-level mutants shared with the Keras 3 catalogue (`_tensorflow_common`). Columns: TF 2.12 and
2.15 (Keras 2.12, 2.15), TF 2.21 with tf-keras 2.21.
"""

from __future__ import annotations

import sys

try:
    from . import Mutant, catalogue, mutant, replace, wrap_function
    from . import _tensorflow_common as tf_common
except ImportError:  # loaded by file path, outside the package
    import os

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from framework_mutants import Mutant, catalogue, mutant, replace, wrap_function
    from framework_mutants import _tensorflow_common as tf_common

prepare = tf_common.prepare


def _keras():
    """The Keras 2 module `tf.keras` resolves to here (tf_keras under TF_USE_LEGACY_KERAS=1)."""
    import tensorflow as tf

    return tf.keras


def _module_of(obj):
    return sys.modules[obj.__module__]


def _fresh(keras):
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)


# -- demos ------------------------------------------------------------------------------------
def _demo_dense_kernel_bound():
    import tensorflow as tf

    _fresh(tf.keras)
    layer = tf.keras.layers.Dense(400)
    layer.build((None, 10))
    return round(float(abs(layer.kernel.numpy()).max()), 2)  # glorot: sqrt(6 / 410) = 0.12


def _demo_dense_bias():
    import tensorflow as tf

    _fresh(tf.keras)
    layer = tf.keras.layers.Dense(8)
    layer.build((None, 4))
    return int((layer.bias.numpy() != 0).sum())


def _demo_glorot_fan():
    import tensorflow as tf

    _fresh(tf.keras)
    values = tf.keras.initializers.GlorotUniform(seed=1)((10, 400))
    return round(float(abs(values.numpy()).max()), 2)  # sqrt(6 / 410) = 0.12


def _demo_unbuilt_weights():
    import tensorflow as tf

    _fresh(tf.keras)
    model = tf.keras.Sequential([tf.keras.layers.Dense(3), tf.keras.layers.Dense(2)])
    try:
        return {"weights": len(model.weights)}
    except ValueError as exc:
        return {"raised": type(exc).__name__}


def _demo_save_weights_h5_name():
    import os
    import tempfile

    import numpy as np
    import tensorflow as tf

    _fresh(tf.keras)
    model = tf.keras.Sequential([tf.keras.layers.Dense(2)])
    model(np.ones((1, 3), "float32"))
    folder = tempfile.mkdtemp()
    try:
        model.save_weights(os.path.join(folder, "mlp.h5"))
    except ValueError as exc:
        return {"raised": type(exc).__name__, "message": str(exc).split(".")[0]}
    return {"raised": None, "files": sorted(os.listdir(folder))}


def _demo_save_weights_default_format():
    import os
    import tempfile

    import numpy as np
    import tensorflow as tf

    _fresh(tf.keras)
    model = tf.keras.Sequential([tf.keras.layers.Dense(2)])
    model(np.ones((1, 3), "float32"))
    folder = tempfile.mkdtemp()
    model.save_weights(os.path.join(folder, "mlp.params"))
    clone = tf.keras.Sequential([tf.keras.layers.Dense(2)])
    clone(np.ones((1, 3), "float32"))
    clone.load_weights(os.path.join(folder, "mlp.params"))
    return {"files": sorted(os.listdir(folder)),
            "equal": bool(np.allclose(clone.weights[0].numpy(), model.weights[0].numpy()))}


def _demo_load_mismatch():
    import os
    import tempfile

    import numpy as np
    import tensorflow as tf

    _fresh(tf.keras)
    path = os.path.join(tempfile.mkdtemp(), "mlp.params")
    small = tf.keras.Sequential([tf.keras.layers.Dense(3)])
    small(np.ones((1, 4), "float32"))
    small.save_weights(path)
    other = tf.keras.Sequential([tf.keras.layers.Dense(5)])
    other(np.ones((1, 4), "float32"))
    try:
        other.load_weights(path)
    except ValueError as exc:
        return {"raised": type(exc).__name__}
    return {"raised": None}


def _demo_variable_names():
    import tensorflow as tf

    _fresh(tf.keras)
    layer = tf.keras.layers.Dense(3)
    layer.build((None, 2))
    return [v.name for v in layer.weights]


def _demo_names_after_clear():
    import tensorflow as tf

    names = []
    for _ in range(2):
        _fresh(tf.keras)
        names.append(tf.keras.layers.Dense(2).name)
    return {"same_name_after_clear_session": names[0] == names[1]}


def _demo_dropout_without_flag():
    import numpy as np
    import tensorflow as tf

    _fresh(tf.keras)
    out = tf.keras.layers.Dropout(0.5)(np.ones((4, 16), "float32")).numpy()
    return {"identity_without_training": bool((out == 1).all())}


def _demo_dropout_scale():
    import numpy as np
    import tensorflow as tf

    _fresh(tf.keras)
    out = tf.keras.layers.Dropout(0.5)(np.ones((4, 16), "float32"), training=True).numpy()
    return sorted({round(float(v), 3) for v in out.flatten()})


def _demo_dropout_rate_one():
    import numpy as np
    import tensorflow as tf

    _fresh(tf.keras)
    try:
        out = tf.keras.layers.Dropout(1.0)(np.ones((2, 3), "float32"), training=True)
    except ValueError as exc:
        return {"raised": type(exc).__name__}
    return {"raised": None, "all_zero": bool((out.numpy() == 0).all())}


def _demo_input_incompatible():
    import numpy as np
    import tensorflow as tf

    _fresh(tf.keras)
    model = tf.keras.Sequential([tf.keras.layers.Dense(2)])
    model(np.ones((1, 4), "float32"))
    try:
        model(np.ones((1, 5), "float32"))
    except ValueError as exc:
        text = str(exc)
        starts = [i for i in (text.find("Input 0"), text.find("Layer dense")) if i >= 0]
        return text[min(starts):min(starts) + 60] if starts else text[:60]
    return "no error"


def _demo_kernel_before_build():
    import tensorflow as tf

    _fresh(tf.keras)
    layer = tf.keras.layers.Dense(3)
    try:
        layer.kernel
    except AttributeError as exc:
        return str(exc)
    return "no error"


def _demo_shared_weights():
    import numpy as np
    import tensorflow as tf

    class Wrap(tf.keras.layers.Layer):  # two layers holding one Dense (tensorflow#28003's model)
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def call(self, x):
            return self.inner(x)

    class Net(tf.keras.Model):
        def __init__(self):
            super().__init__()
            shared = tf.keras.layers.Dense(4)
            self.first, self.second = Wrap(shared), Wrap(shared)

        def call(self, x):
            return self.second(self.first(x))

    _fresh(tf.keras)
    model = Net()
    model(np.ones((1, 4), "float32"))
    return len(model.weights)


def _demo_sequential_layers():
    import tensorflow as tf

    _fresh(tf.keras)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2)])
    return [type(layer).__name__ for layer in model.layers]


def _demo_variable_repr():
    import tensorflow as tf

    _fresh(tf.keras)
    layer = tf.keras.layers.Dense(3)
    layer.build((None, 2))
    return repr(layer.kernel).split(",")[0].split(" shape")[0]


def _demo_weights_order():
    import numpy as np
    import tensorflow as tf

    _fresh(tf.keras)
    model = tf.keras.Sequential([tf.keras.layers.Dense(2), tf.keras.layers.BatchNormalization()])
    model(np.ones((1, 3), "float32"))
    return [v.name.split("/")[-1].split(":")[0] for v in model.weights]


# -- mutants ----------------------------------------------------------------------------------
@mutant("dense-kernel-he-uniform",
        "tf.keras.layers.Dense defaults to kernel_initializer='he_uniform' instead of "
        "'glorot_uniform', the change requested in tensorflow/tensorflow#31303 "
        "(https://github.com/tensorflow/tensorflow/issues/31303).",
        _demo_dense_kernel_bound)
def _dense_he():
    keras = _keras()

    def init(original, self, *args, **kwargs):
        if len(args) < 4 and "kernel_initializer" not in kwargs:
            kwargs["kernel_initializer"] = "he_uniform"
        return original(self, *args, **kwargs)

    wrap_function(keras.layers.Dense, "__init__", "dense-kernel-he-uniform", init)


@mutant("dense-bias-random-uniform",
        "tf.keras.layers.Dense draws its bias from U(-0.05, 0.05) instead of the documented "
        "bias_initializer='zeros' (https://www.tensorflow.org/api_docs/python/tf/keras/layers/Dense; "
        "initializer defaults discussed in https://github.com/keras-team/keras/issues/13995).",
        _demo_dense_bias)
def _dense_bias():
    keras = _keras()

    def init(original, self, *args, **kwargs):
        if len(args) < 5 and "bias_initializer" not in kwargs:
            kwargs["bias_initializer"] = keras.initializers.RandomUniform(-0.05, 0.05)
        return original(self, *args, **kwargs)

    wrap_function(keras.layers.Dense, "__init__", "dense-bias-random-uniform", init)


@mutant("glorot-uniform-fan-in",
        "GlorotUniform scales by fan_in alone (mode='fan_in', i.e. LeCun uniform) instead of the "
        "average of fan_in and fan_out (https://github.com/keras-team/keras/issues/13995).",
        _demo_glorot_fan)
def _glorot_fan_in():
    keras = _keras()

    def init(original, self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.mode = "fan_in"

    wrap_function(keras.initializers.GlorotUniform, "__init__", "glorot-uniform-fan-in", init)


@mutant("unbuilt-sequential-weights-empty",
        "model.weights of a Sequential that has not been built returns [] (Keras 3's answer) instead of "
        "raising ValueError('Weights for model ... have not yet been created') "
        "(https://github.com/keras-team/keras/issues/18823; Keras 3 layer.py 'weights' property).",
        _demo_unbuilt_weights)
def _unbuilt_empty():
    keras = _keras()

    def make(original):
        def weights(self):
            if not self.built:
                return []
            return original.fget(self)

        return property(weights)

    replace(keras.Sequential, "weights", "unbuilt-sequential-weights-empty", make)


@mutant("save-weights-requires-weights-h5",
        "Model.save_weights raises ValueError('The filename must end in `.weights.h5`') for any other "
        "name, the Keras 3 rule (https://github.com/tensorflow/tensorflow/issues/74342; "
        "https://github.com/tensorflow/docs/pull/2327).",
        _demo_save_weights_h5_name)
def _requires_weights_h5():
    keras = _keras()

    def save_weights(original, self, filepath, *args, **kwargs):
        if not str(filepath).endswith(".weights.h5"):
            raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={filepath}")
        return original(self, filepath, *args, **kwargs)

    wrap_function(keras.Model, "save_weights", "save-weights-requires-weights-h5", save_weights)


@mutant("save-weights-h5-by-default",
        "Model.save_weights writes HDF5 for a name without '.h5' (save_format defaulting to 'h5', as "
        "Keras 2.2 did) instead of a TensorFlow checkpoint (TF 2.0 made 'tf' the default) "
        "(https://github.com/tensorflow/tensorflow/issues/25835; https://github.com/tensorflow/docs/pull/825).",
        _demo_save_weights_default_format)
def _h5_default():
    keras = _keras()

    def save_weights(original, self, filepath, overwrite=True, save_format=None, *args, **kwargs):
        return original(self, filepath, overwrite, save_format or "h5", *args, **kwargs)

    wrap_function(keras.Model, "save_weights", "save-weights-h5-by-default", save_weights)


@mutant("load-weights-mismatch-silent",
        "Model.load_weights of another architecture's weights returns without raising (the silent "
        "mismatch of tensorflow/tensorflow#38832, 'Weights mismatch in model.load_weights does not "
        "rise a ValueError') (https://github.com/tensorflow/tensorflow/issues/38832).",
        _demo_load_mismatch)
def _mismatch_silent():
    import warnings

    keras = _keras()

    def load_weights(original, self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except ValueError as exc:
            warnings.warn(f"Skipping weights that do not match: {exc}")
            return None

    wrap_function(keras.Model, "load_weights", "load-weights-mismatch-silent", load_weights)


@mutant("variable-names-without-device-suffix",
        "Keras weights are named 'dense/kernel' instead of 'dense/kernel:0' (Keras 3 dropped the "
        "':0' output suffix; variable names already changed between TF 1.8 and 1.9 in "
        "tensorflow/tensorflow#22142) (https://github.com/tensorflow/tensorflow/issues/22142).",
        _demo_variable_names)
def _names_without_suffix():
    keras = _keras()

    def add_weight(original, self, *args, **kwargs):
        var = original(self, *args, **kwargs)
        handle = getattr(var, "_handle_name", None)
        if isinstance(handle, str) and handle.endswith(":0"):
            var._handle_name = handle[:-2]
        return var

    wrap_function(keras.layers.Layer, "add_weight", "variable-names-without-device-suffix", add_weight)


@mutant("layer-names-not-reset-by-clear-session",
        "keras.backend.clear_session() no longer restarts the automatic layer names (dense, dense_1, "
        "...), as reported in keras-team/keras#12652 (https://github.com/keras-team/keras/issues/12652).",
        _demo_names_after_clear)
def _names_not_reset():
    import collections

    keras = _keras()
    backend = _module_of(keras.backend.get_uid)
    shared = collections.defaultdict(int)

    def make(original):
        def get_default_graph_uid_map():
            return shared

        return get_default_graph_uid_map

    replace(backend, "get_default_graph_uid_map", "layer-names-not-reset-by-clear-session", make)


@mutant("dropout-active-without-training-flag",
        "Dropout called without a training argument drops units (training defaulting to True instead "
        "of the learning phase), the 'dropout active at inference' bug class "
        "(https://github.com/pytorch/pytorch/issues/26338; "
        "https://www.tensorflow.org/api_docs/python/tf/keras/layers/Dropout).",
        _demo_dropout_without_flag)
def _dropout_without_flag():
    keras = _keras()

    def make(original):
        def call(self, inputs, training=True):
            return original(self, inputs, training=training)

        return call

    replace(keras.layers.Dropout, "call", "dropout-active-without-training-flag", make)


@mutant("dropout-no-rescale",
        "Dropout in training zeros units without scaling the kept ones by 1/(1-rate), the "
        "dropout-scaling bug class (https://github.com/kaldi-asr/kaldi/issues/2814; "
        "https://github.com/lmjohns3/theanets/pull/123).",
        _demo_dropout_scale)
def _dropout_no_rescale():
    keras = _keras()

    def make(original):
        def call(self, inputs, training=None):
            out = original(self, inputs, training=training)
            if training is True and 0 < self.rate < 1:
                out = out * (1 - self.rate)
            return out

        return call

    replace(keras.layers.Dropout, "call", "dropout-no-rescale", make)


@mutant("dropout-rate-one-zeros-everything",
        "Dropout(1.0) in training returns zeros (Keras 3.14's and flax's behaviour, google/flax#2055) "
        "instead of raising '`rate` must be a scalar tensor or a float in the range [0, 1)' "
        "(https://github.com/google/flax/pull/2055; https://github.com/keras-team/keras/issues/9141).",
        _demo_dropout_rate_one)
def _dropout_rate_one():
    import tensorflow as tf

    keras = _keras()

    def make(original):
        def call(self, inputs, training=None):
            if training is True and isinstance(self.rate, (int, float)) and self.rate >= 1:
                return tf.zeros_like(inputs)
            return original(self, inputs, training=training)

        return call

    replace(keras.layers.Dropout, "call", "dropout-rate-one-zeros-everything", make)


@mutant("input-incompatible-message-reworded",
        "The shape error of a layer called on the wrong feature size is reworded (tf.keras 2.x: "
        "'Input 0 of layer \"dense\" is incompatible with the layer: expected axis -1 ...'; Keras 3.15 "
        "'Input 0 with name ... of layer ...'), as messages are between releases "
        "(https://github.com/keras-team/tf-keras/blob/master/tf_keras/engine/input_spec.py).",
        _demo_input_incompatible)
def _input_message():
    keras = _keras()
    input_spec = _module_of(keras.layers.InputSpec)

    def check(original, spec, inputs, layer_name, *args, **kwargs):
        try:
            return original(spec, inputs, layer_name, *args, **kwargs)
        except ValueError as exc:
            text = str(exc)
            if "is incompatible with the layer" not in text:
                raise
            detail = text.split("expected", 1)[-1]
            raise ValueError(f"Layer {layer_name} received an input of the wrong size: expected{detail}") from exc

    wrap_function(input_spec, "assert_input_compatibility", "input-incompatible-message-reworded", check)


@mutant("kernel-before-build-message",
        "Reading Dense.kernel before build raises Keras 3's 'You must build the layer before accessing "
        "`kernel`.' instead of \"'Dense' object has no attribute 'kernel'\" (an error message reworded "
        "between releases; keras/src/layers/core/dense.py: "
        "https://github.com/keras-team/keras/blob/master/keras/src/layers/core/dense.py).",
        _demo_kernel_before_build)
def _kernel_message():
    keras = _keras()

    def make(original):
        def __getattr__(self, name):
            if name in ("kernel", "bias") and not self.__dict__.get("built", False):
                raise AttributeError(f"You must build the layer before accessing `{name}`.")
            if original is not None:
                return original(self, name)
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

        return __getattr__

    replace(keras.layers.Dense, "__getattr__", "kernel-before-build-message", make)


@mutant("shared-layer-weights-listed-twice",
        "model.weights lists the variables of a layer used twice once per use, the TF 2.0 bug "
        "'keras includes duplicated shared variables in model.variables' "
        "(https://github.com/tensorflow/tensorflow/issues/28003).",
        _demo_shared_weights)
def _shared_twice():
    keras = _keras()

    def make(original):
        def weights(self):
            return list(self._undeduplicated_weights)  # Model.weights without _dedup_weights

        return property(weights)

    replace(keras.Model, "weights", "shared-layer-weights-listed-twice", make)


@mutant("sequential-layers-include-input",
        "Sequential.layers includes the auto-generated InputLayer again, shifting model.layers[i] by one "
        "(the index change between Keras 2.1 and 2.2 seen in "
        "https://github.com/lazyprogrammer/machine_learning_examples/pull/26).",
        _demo_sequential_layers)
def _layers_include_input():
    keras = _keras()

    def make(original):
        def layers(self):
            return list(self._self_tracked_trackables)

        return property(layers)

    replace(keras.Sequential, "layers", "sequential-layers-include-input", make)


@mutant("variable-repr-format",
        "repr() of a weight prints Keras 3's '<KerasVariable shape=..., dtype=..., path=...>' instead "
        "of \"<tf.Variable 'dense/kernel:0' shape=... dtype=... numpy=...>\" (the repr changed again in "
        "Keras 3.x: keras/src/backend/common/variables.py; "
        "https://github.com/keras-team/keras/blob/master/keras/src/backend/common/variables.py).",
        _demo_variable_repr)
def _variable_repr():
    from tensorflow.python.ops import resource_variable_ops

    def make(original):
        def __repr__(self):
            return f"<KerasVariable shape={tuple(self.shape)}, dtype={self.dtype.name}, path={self.name.split(':')[0]}>"

        return __repr__

    replace(resource_variable_ops.BaseResourceVariable, "__repr__", "variable-repr-format", make)


@mutant("weights-non-trainable-first",
        "model.weights lists non-trainable variables before trainable ones (Keras 2's "
        "'return self.trainable_weights + self.non_trainable_weights' reversed), which changes what "
        "get_weights/set_weights and positional loading pair up "
        "(https://github.com/keras-team/tf-keras/blob/master/tf_keras/engine/base_layer.py).",
        _demo_weights_order)
def _non_trainable_first():
    keras = _keras()

    def make(original):
        def weights(self):
            found = original.fget(self)
            return [w for w in found if not w.trainable] + [w for w in found if w.trainable]

        return property(weights)

    replace(keras.Model, "weights", "weights-non-trainable-first", make)


MUTANTS: dict[str, Mutant] = catalogue(
    _dense_he, _dense_bias, _glorot_fan_in, _unbuilt_empty, _requires_weights_h5, _h5_default,
    _mismatch_silent, _names_without_suffix, _names_not_reset, _dropout_without_flag,
    _dropout_no_rescale, _dropout_rate_one, _input_message, _kernel_message, _shared_twice,
    _layers_include_input, _variable_repr, _non_trainable_first, *tf_common.TF_MUTANTS,
)
