"""TensorFlow with Keras 3 mutants: behaviour changes a Keras 3 (or TF) release made or could make.

Rule: each `apply()` patches public Keras 3 classes (`keras.layers.Dense`, `keras.layers.Dropout`,
`keras.Model`, `keras.Sequential`, `keras.initializers.GlorotUniform`, `keras.Variable`) or the
`keras.src` function they call, plus the TF-level mutants shared with the Keras 2 catalogue
(`_tensorflow_common`). Columns: TF 2.16 with Keras 3.3, TF 2.21 with Keras 3.15; mutants of a
change that happened between those carry a `keras` range.
"""

from __future__ import annotations

try:
    from . import Mutant, catalogue, mutant, replace, wrap_function
    from . import _tensorflow_common as tf_common
except ImportError:  # loaded by file path, outside the package
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from framework_mutants import Mutant, catalogue, mutant, replace, wrap_function
    from framework_mutants import _tensorflow_common as tf_common

prepare = tf_common.prepare


def _fresh(keras):
    """Restart Keras' name counters and seeds, as a program starting afresh would be."""
    try:
        keras.backend.clear_session(free_memory=False)
    except TypeError:
        keras.backend.clear_session()
    keras.utils.set_random_seed(0)


# -- demos ------------------------------------------------------------------------------------
def _demo_dense_kernel_bound():
    import keras

    _fresh(keras)
    layer = keras.layers.Dense(400)
    layer.build((None, 10))
    return round(float(abs(layer.kernel.numpy()).max()), 2)  # glorot: sqrt(6 / 410) = 0.12


def _demo_dense_bias():
    import keras

    _fresh(keras)
    layer = keras.layers.Dense(8)
    layer.build((None, 4))
    return int((layer.bias.numpy() != 0).sum())


def _demo_load_unbuilt():
    import os
    import tempfile

    import keras
    import numpy as np

    _fresh(keras)
    path = os.path.join(tempfile.mkdtemp(), "mlp.weights.h5")
    built = keras.Sequential([keras.layers.Dense(3)])
    built(np.ones((1, 4), "float32"))
    built.save_weights(path)
    fresh = keras.Sequential([keras.layers.Dense(3)])
    try:
        fresh.load_weights(path)
    except ValueError as exc:
        return {"raised": type(exc).__name__}
    return {"raised": None, "built": fresh.built, "weights": len(fresh.weights)}


def _demo_dropout_rate_one():
    import keras
    import numpy as np

    _fresh(keras)
    try:
        out = keras.layers.Dropout(1.0)(np.ones((2, 3), "float32"), training=True)
    except ValueError as exc:
        return {"raised": type(exc).__name__}
    return {"raised": None, "all_zero": bool((np.asarray(out) == 0).all())}


def _demo_save_weights_name():
    import os
    import tempfile

    import keras
    import numpy as np

    _fresh(keras)
    model = keras.Sequential([keras.layers.Dense(2)])
    model(np.ones((1, 3), "float32"))
    path = os.path.join(tempfile.mkdtemp(), "mlp.params")
    try:
        model.save_weights(path)
    except ValueError as exc:
        return {"raised": type(exc).__name__, "message": str(exc).split(".")[0]}
    clone = keras.Sequential([keras.layers.Dense(2)])
    clone(np.ones((1, 3), "float32"))
    clone.load_weights(path)
    return {"raised": None, "equal": bool(np.allclose(clone.weights[0].numpy(), model.weights[0].numpy()))}


def _demo_load_mismatch():
    import os
    import tempfile

    import keras
    import numpy as np

    _fresh(keras)
    path = os.path.join(tempfile.mkdtemp(), "a.weights.h5")
    small = keras.Sequential([keras.layers.Dense(3)])
    small(np.ones((1, 4), "float32"))
    small.save_weights(path)
    other = keras.Sequential([keras.layers.Dense(5)])
    other(np.ones((1, 4), "float32"))
    try:
        other.load_weights(path)
    except ValueError as exc:
        return {"raised": type(exc).__name__}
    return {"raised": None}


def _demo_unbuilt_weights():
    import keras

    _fresh(keras)
    model = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(2)])
    try:
        return {"weights": len(model.weights)}
    except ValueError as exc:
        return {"raised": type(exc).__name__, "message": str(exc).split(".")[0]}


def _demo_kernel_before_build():
    import keras

    _fresh(keras)
    layer = keras.layers.Dense(3)
    try:
        layer.kernel
    except AttributeError as exc:
        return str(exc)
    return "no error"


def _demo_input_incompatible():
    import keras
    import numpy as np

    _fresh(keras)
    model = keras.Sequential([keras.layers.Dense(2)])
    model(np.ones((1, 4), "float32"))
    try:
        model(np.ones((1, 5), "float32"))
    except ValueError as exc:
        text = str(exc)
        starts = [i for i in (text.find("Input 0"), text.find("Layer dense")) if i >= 0]
        return text[min(starts):min(starts) + 60] if starts else text[:60]
    return "no error"


def _demo_shared_weights():
    import keras
    import numpy as np

    _fresh(keras)
    shared = keras.layers.Dense(4)
    model = keras.Sequential([keras.layers.Dense(4), shared, shared])
    model(np.ones((1, 4), "float32"))
    return len(model.weights)


def _demo_names_after_clear():
    import keras

    names = []
    for _ in range(2):
        _fresh(keras)
        names.append(keras.layers.Dense(2).name)
    return {"same_name_after_clear_session": names[0] == names[1]}


def _demo_dropout_without_flag():
    import keras
    import numpy as np

    _fresh(keras)
    layer = keras.layers.Dropout(0.5)
    out = np.asarray(layer(np.ones((4, 16), "float32")))
    return {"identity_without_training": bool((out == 1).all())}


def _demo_dropout_scale():
    import keras
    import numpy as np

    _fresh(keras)
    out = np.asarray(keras.layers.Dropout(0.5)(np.ones((4, 16), "float32"), training=True))
    return sorted({round(float(v), 3) for v in out.flatten()})


def _demo_sequential_layers():
    import keras

    _fresh(keras)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    return [type(layer).__name__ for layer in model.layers]


def _demo_variable_repr():
    import keras

    _fresh(keras)
    layer = keras.layers.Dense(3)
    layer.build((None, 2))
    return repr(layer.kernel).split(",")[0]


def _demo_glorot_fan():
    import keras

    _fresh(keras)
    values = keras.initializers.GlorotUniform(seed=1)((10, 400))
    return round(float(abs(keras.ops.convert_to_numpy(values)).max()), 2)  # sqrt(6 / 410) = 0.12


def _demo_trainable_weights_order():
    import keras
    import numpy as np

    _fresh(keras)
    model = keras.Sequential([keras.layers.Dense(2), keras.layers.BatchNormalization()])
    model(np.ones((1, 3), "float32"))
    return [v.path.split("/")[-1] for v in model.weights]


# -- mutants ----------------------------------------------------------------------------------
@mutant("dense-kernel-he-uniform",
        "keras.layers.Dense defaults to kernel_initializer='he_uniform' instead of 'glorot_uniform', "
        "the change requested in tensorflow/tensorflow#31303 for relu models "
        "(https://github.com/tensorflow/tensorflow/issues/31303).",
        _demo_dense_kernel_bound)
def _dense_he():
    import keras

    def init(original, self, *args, **kwargs):
        if len(args) < 4 and "kernel_initializer" not in kwargs:
            kwargs["kernel_initializer"] = "he_uniform"
        return original(self, *args, **kwargs)

    wrap_function(keras.layers.Dense, "__init__", "dense-kernel-he-uniform", init)


@mutant("dense-bias-random-uniform",
        "keras.layers.Dense draws its bias from U(-0.05, 0.05) instead of the documented "
        "bias_initializer='zeros' (torch's non-zero bias default, asked for when porting: "
        "https://keras.io/api/layers/core_layers/dense/; https://github.com/keras-team/keras/issues/13995).",
        _demo_dense_bias)
def _dense_bias():
    import keras

    def init(original, self, *args, **kwargs):
        if len(args) < 5 and "bias_initializer" not in kwargs:
            kwargs["bias_initializer"] = keras.initializers.RandomUniform(-0.05, 0.05)
        return original(self, *args, **kwargs)

    wrap_function(keras.layers.Dense, "__init__", "dense-bias-random-uniform", init)


@mutant("glorot-uniform-fan-in",
        "GlorotUniform scales by fan_in alone (mode='fan_in', i.e. LeCun uniform) instead of the "
        "average of fan_in and fan_out, the formula questioned in keras-team/keras#13995 "
        "(https://github.com/keras-team/keras/issues/13995).",
        _demo_glorot_fan)
def _glorot_fan_in():
    import keras

    def init(original, self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.mode = "fan_in"

    wrap_function(keras.initializers.GlorotUniform, "__init__", "glorot-uniform-fan-in", init)


@mutant("load-weights-into-unbuilt-loads-nothing",
        "Model.load_weights into a model that was never built returns without loading anything, "
        "as Keras did before keras-team/keras#20530 ('Raise an error when save_weights or "
        "load_weights is called on an unbuilt model', Keras 3.7) "
        "(https://github.com/keras-team/keras/pull/20530).",
        _demo_load_unbuilt, keras=">=3.7")
def _load_unbuilt():
    import keras

    def load_weights(original, self, *args, **kwargs):
        if not self.built:
            return None
        return original(self, *args, **kwargs)

    wrap_function(keras.Model, "load_weights", "load-weights-into-unbuilt-loads-nothing", load_weights)


@mutant("dropout-rate-one-raises",
        "Dropout(1.0) raises ValueError('`rate` must be a scalar tensor or a float in the range "
        "[0, 1)') when called in training again, as before Keras 3.14 (and as tf.keras did; "
        "rate 1 zeroing everything is flax's choice in google/flax#2055) "
        "(https://github.com/google/flax/pull/2055; https://github.com/keras-team/keras/issues/9141).",
        _demo_dropout_rate_one, keras=">=3.14")
def _dropout_rate_one():
    import keras

    def make(original):
        def call(self, inputs, training=False):
            if training and self.rate >= 1:
                raise ValueError(f"`rate` must be a scalar tensor or a float in the range [0, 1). "
                                 f"Received: rate={self.rate}")
            return original(self, inputs, training=training)

        return call

    replace(keras.layers.Dropout, "call", "dropout-rate-one-raises", make)


@mutant("save-weights-any-filename",
        "Model.save_weights accepts a name that does not end in '.weights.h5' (and load_weights reads "
        "it back) instead of raising 'The filename must end in `.weights.h5`', the Keras 3 rule that "
        "broke tf.keras code (https://github.com/tensorflow/tensorflow/issues/74342; "
        "https://github.com/tensorflow/docs/pull/2327).",
        _demo_save_weights_name)
def _save_any_name():
    import os
    import shutil
    import tempfile

    import keras

    suffixes = (".weights.h5", ".weights.json", ".keras", ".h5", ".hdf5")

    def save_weights(original, self, filepath, *args, **kwargs):
        if str(filepath).endswith(suffixes):
            return original(self, filepath, *args, **kwargs)
        scratch = os.path.join(tempfile.mkdtemp(), "model.weights.h5")
        original(self, scratch, *args, **kwargs)
        shutil.move(scratch, str(filepath))

    def load_weights(original, self, filepath, *args, **kwargs):
        if str(filepath).endswith(suffixes) or not os.path.isfile(str(filepath)):
            return original(self, filepath, *args, **kwargs)
        scratch = os.path.join(tempfile.mkdtemp(), "model.weights.h5")
        shutil.copy(str(filepath), scratch)
        return original(self, scratch, *args, **kwargs)

    wrap_function(keras.Model, "save_weights", "save-weights-any-filename", save_weights)
    wrap_function(keras.Model, "load_weights", "save-weights-any-filename", load_weights)


@mutant("load-weights-skip-mismatch-default",
        "Model.load_weights defaults to skip_mismatch=True, so weights of another architecture are "
        "skipped with a warning instead of raising (the argument documented at "
        "https://keras.io/api/models/model_saving_apis/weights_saving_and_loading/; silent mismatches "
        "as in https://github.com/tensorflow/tensorflow/issues/38832).",
        _demo_load_mismatch)
def _skip_mismatch():
    import keras

    def load_weights(original, self, filepath, skip_mismatch=True, **kwargs):
        return original(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    wrap_function(keras.Model, "load_weights", "load-weights-skip-mismatch-default", load_weights)


@mutant("unbuilt-sequential-weights-raise",
        "model.weights of a Sequential that has not been built raises Keras 2's ValueError('Weights "
        "for model ... have not yet been created') instead of returning [] "
        "(tf.keras behaviour; https://github.com/keras-team/keras/issues/18823).",
        _demo_unbuilt_weights)
def _unbuilt_weights():
    import keras

    def make(original):
        def weights(self):
            if not self.built:
                raise ValueError(
                    f"Weights for model '{self.name}' have not yet been created. Weights are created "
                    "when the model is first called on inputs or `build()` is called with an "
                    "`input_shape`.")
            return original.fget(self)

        return property(weights)

    replace(keras.Sequential, "weights", "unbuilt-sequential-weights-raise", make)


@mutant("kernel-before-build-message",
        "Reading Dense.kernel before build raises Keras 2's \"'Dense' object has no attribute "
        "'kernel'\" instead of 'You must build the layer before accessing `kernel`.' (an error "
        "message reworded between releases; tf_keras source: "
        "https://github.com/keras-team/tf-keras/blob/master/tf_keras/layers/core/dense.py).",
        _demo_kernel_before_build)
def _kernel_message():
    import keras

    def make(original):
        def kernel(self):
            if not self.built:
                raise AttributeError(f"'{type(self).__name__}' object has no attribute 'kernel'")
            return original.fget(self)

        return property(kernel)

    replace(keras.layers.Dense, "kernel", "kernel-before-build-message", make)


@mutant("input-incompatible-message-reworded",
        "The shape error of a layer called on the wrong feature size is reworded (Keras 3.3 says "
        "'Input 0 of layer \"dense\" is incompatible with the layer: ...', 3.15 'Input 0 with name "
        "... of layer ...'; older tf.keras 'Input 0 is incompatible with layer dense') "
        "(keras/src/layers/input_spec.py; https://github.com/keras-team/keras/blob/master/keras/src/layers/input_spec.py).",
        _demo_input_incompatible)
def _input_message():
    from keras.src.layers import input_spec

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


@mutant("shared-layer-weights-listed-twice",
        "model.weights lists the variables of a layer used twice once per use (no de-duplication), "
        "the TF 2.0 bug 'keras includes duplicated shared variables in model.variables' "
        "(https://github.com/tensorflow/tensorflow/issues/28003).",
        _demo_shared_weights)
def _shared_twice():
    import keras

    def make(original):
        def weights(self):
            out = list(self._trainable_variables + self._non_trainable_variables)
            for layer in self._layers:
                out.extend(layer.weights)
            return out

        return property(weights)

    replace(keras.layers.Layer, "weights", "shared-layer-weights-listed-twice", make)


@mutant("layer-names-not-reset-by-clear-session",
        "keras.backend.clear_session() no longer restarts the automatic layer names (dense, dense_1, "
        "...), the behaviour reported in keras-team/keras#12652 "
        "(https://github.com/keras-team/keras/issues/12652).",
        _demo_names_after_clear)
def _names_not_reset():
    import collections

    from keras.src.utils import naming

    counts = collections.defaultdict(int)

    def make(original):
        def uniquify(name):
            unique = f"{name}_{counts[name]}" if counts[name] else name
            counts[name] += 1
            return unique

        return uniquify

    replace(naming, "uniquify", "layer-names-not-reset-by-clear-session", make)


@mutant("dropout-active-without-training-flag",
        "Dropout called without a training argument drops units (training defaulting to True), the "
        "'dropout applied at inference' bug class of keras-team/keras#9141-era functional models and "
        "torch's F.dropout (https://github.com/pytorch/pytorch/issues/26338; "
        "https://keras.io/api/layers/regularization_layers/dropout/).",
        _demo_dropout_without_flag)
def _dropout_without_flag():
    import keras

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
    import keras

    def make(original):
        def call(self, inputs, training=False):
            out = original(self, inputs, training=training)
            if training and 0 < self.rate < 1:
                out = out * (1 - self.rate)
            return out

        return call

    replace(keras.layers.Dropout, "call", "dropout-no-rescale", make)


@mutant("sequential-layers-include-input",
        "Sequential.layers includes the auto-generated InputLayer again, shifting model.layers[i] by "
        "one (the index change between Keras 2.1 and 2.2 seen in "
        "https://github.com/lazyprogrammer/machine_learning_examples/pull/26; keras "
        "sequential.py: 'Historically, sequential.layers only returns layers that were added via add').",
        _demo_sequential_layers)
def _layers_include_input():
    import keras

    def make(original):
        def layers(self):
            return list(self._layers)

        return property(layers)

    replace(keras.Sequential, "layers", "sequential-layers-include-input", make)


@mutant("variable-repr-format",
        "repr() of a Keras variable changes format ('<KerasVariable shape=..., dtype=..., path=...>' "
        "in Keras 3.3, '<Variable path=..., shape=..., dtype=..., value=...>' in 3.15; this one "
        "prints tf.keras's \"<tf.Variable 'dense/kernel:0' ...>\") "
        "(keras/src/backend/common/variables.py; https://github.com/keras-team/keras/blob/master/keras/src/backend/common/variables.py).",
        _demo_variable_repr)
def _variable_repr():
    from keras.src.backend.common import variables

    # the common Keras variable class: KerasVariable up to 3.3, Variable later
    base = getattr(variables, "KerasVariable", None) or variables.Variable

    def make(original):
        def __repr__(self):
            return f"<tf.Variable '{self.path}:0' shape={tuple(self.shape)} dtype={self.dtype}>"

        return __repr__

    replace(base, "__repr__", "variable-repr-format", make)


@mutant("weights-non-trainable-first",
        "model.weights lists each layer's non-trainable variables before its trainable ones (the order "
        "of weights is what save/load by position and get_weights rely on; Keras 2 listed trainable "
        "first: 'return self.trainable_weights + self.non_trainable_weights', "
        "https://github.com/keras-team/tf-keras/blob/master/tf_keras/engine/base_layer.py).",
        _demo_trainable_weights_order)
def _non_trainable_first():
    import keras

    def make(original):
        def weights(self):
            out, seen = [], set()
            for w in self._non_trainable_variables + self._trainable_variables:
                if id(w) not in seen:
                    out.append(w)
                    seen.add(id(w))
            for layer in self._layers:
                for w in layer.weights:
                    if id(w) not in seen:
                        out.append(w)
                        seen.add(id(w))
            return out

        return property(weights)

    replace(keras.layers.Layer, "weights", "weights-non-trainable-first", make)


MUTANTS: dict[str, Mutant] = catalogue(
    _dense_he, _dense_bias, _glorot_fan_in, _load_unbuilt, _dropout_rate_one, _save_any_name,
    _skip_mismatch, _unbuilt_weights, _kernel_message, _input_message, _shared_twice,
    _names_not_reset, _dropout_without_flag, _dropout_no_rescale, _layers_include_input,
    _variable_repr, _non_trainable_first, *tf_common.TF_MUTANTS,
)
