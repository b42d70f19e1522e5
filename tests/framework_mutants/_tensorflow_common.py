"""TensorFlow-level mutants shared by the Keras 3 and the Keras 2 catalogues (GradientTape,
tf initializers, device placement): the same TF release change shows in both columns.

Rule: `apply()` patches `tf.*` only, never starts TensorFlow's runtime (no tensors, no device
listing), so it can run in a worker forked from a zygote that only imported TensorFlow.
`prepare()` (for the demos, before any TF op) splits the CPU into two logical devices, as the
kit's TensorFlow adapter does.
"""

from __future__ import annotations

try:
    from . import Mutant, mutant, replace, wrap_function
except ImportError:  # loaded by file path, outside the package
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from framework_mutants import Mutant, mutant, replace, wrap_function  # noqa: F401


def prepare() -> None:
    """Two logical CPUs (the kit's second TF device), as the kit's adapter sets them up before
    TensorFlow's runtime starts. Raises if the runtime has already started: called after a
    mutant's `apply()`, that means `apply()` started it, which a worker forked from the zygote
    must never do."""
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    except RuntimeError as exc:
        raise RuntimeError(f"TensorFlow's runtime had already started before prepare(): {exc}") from exc


# -- demos ------------------------------------------------------------------------------------
def _demo_tape_persistent():
    import tensorflow as tf

    x = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(x * x)
    first = tape.gradient(y, x).numpy().tolist()
    try:
        second = tape.gradient(y, x).numpy().tolist()
    except RuntimeError as exc:
        second = type(exc).__name__
    return {"first": first, "second": second}


def _demo_unconnected():
    import tensorflow as tf

    x = tf.Variable([1.0, 2.0])
    unused = tf.Variable([3.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(2 * x)
    grads = tape.gradient(y, [x, unused])
    return [None if g is None else g.numpy().tolist() for g in grads]


def _demo_random_normal_initializer():
    import tensorflow as tf

    init = tf.random_normal_initializer(seed=1)
    return round(float(tf.math.reduce_std(init((200, 50)))), 2)


def _demo_constant_device():
    import tensorflow as tf

    with tf.device("/CPU:1"):
        x = tf.constant([1.0, 2.0])
    return x.device.split("/")[-1]


# -- mutants ----------------------------------------------------------------------------------
@mutant("tape-persistent-by-default",
        "tf.GradientTape() is persistent by default, so gradient() can be called twice on one tape "
        "(like a retained graph), against 'By default, the resources held by a GradientTape are "
        "released as soon as GradientTape.gradient() method is called' "
        "(https://www.tensorflow.org/api_docs/python/tf/GradientTape).",
        _demo_tape_persistent)
def tape_persistent():
    import tensorflow as tf

    def init(original, self, persistent=True, *args, **kwargs):
        return original(self, persistent, *args, **kwargs)

    wrap_function(tf.GradientTape, "__init__", "tape-persistent-by-default", init)


@mutant("tape-unconnected-gradients-zero",
        "GradientTape.gradient returns zeros, not None, for sources the target does not depend on "
        "(unconnected_gradients defaulting to tf.UnconnectedGradients.ZERO instead of NONE) "
        "(https://www.tensorflow.org/api_docs/python/tf/GradientTape#gradient; "
        "https://github.com/tensorflow/tensorflow/pull/31297).",
        _demo_unconnected)
def tape_unconnected_zero():
    import tensorflow as tf

    def gradient(original, self, target, sources, output_gradients=None,
                 unconnected_gradients=tf.UnconnectedGradients.ZERO):
        return original(self, target, sources, output_gradients, unconnected_gradients)

    wrap_function(tf.GradientTape, "gradient", "tape-unconnected-gradients-zero", gradient)


@mutant("random-normal-initializer-stddev-one",
        "tf.random_normal_initializer() defaults to stddev=1.0 (TF 1.x's default) instead of TF 2's "
        "0.05 (https://www.tensorflow.org/api_docs/python/tf/random_normal_initializer; TF1: "
        "https://www.tensorflow.org/api_docs/python/tf/compat/v1/random_normal_initializer).",
        _demo_random_normal_initializer)
def random_normal_stddev():
    import tensorflow as tf

    def init(original, self, mean=0.0, stddev=1.0, seed=None):
        return original(self, mean, stddev, seed)

    wrap_function(tf.random_normal_initializer, "__init__", "random-normal-initializer-stddev-one", init)


@mutant("constant-ignores-device-scope",
        "tf.constant places its tensor on the first CPU whatever tf.device scope is active, as TF "
        "did for int32 constants and for tf.convert_to_tensor "
        "(https://github.com/tensorflow/tensorflow/issues/34071; "
        "https://github.com/tensorflow/tensorflow/issues/42242).",
        _demo_constant_device)
def constant_ignores_device():
    import tensorflow as tf

    def constant(original, *args, **kwargs):
        with tf.device("/CPU:0"):
            return original(*args, **kwargs)

    wrap_function(tf, "constant", "constant-ignores-device-scope", constant)


TF_MUTANTS = (tape_persistent, tape_unconnected_zero, random_normal_stddev, constant_ignores_device)
