"""Which Keras a TensorFlow column runs, and its version: Keras 3 (`keras`), Keras 2 inside
TensorFlow <= 2.15 (`tf.keras`), or Keras 2 as `tf_keras` on TF >= 2.16 with TF_USE_LEGACY_KERAS=1.

Rule: TensorFlow is imported only inside these functions (called after the adapter's `load()`).
Every module of the TF adapter gets its Keras from `keras()`, so one column never mixes two
Kerases (on TF 2.21 the `keras` package is Keras 3 even when tf.keras is tf_keras).
"""

from __future__ import annotations

import os
from functools import lru_cache


def legacy_requested() -> bool:
    """TF_USE_LEGACY_KERAS=1 (or true): TF >= 2.16 routes tf.keras to the tf_keras package."""
    return os.environ.get("TF_USE_LEGACY_KERAS", "").strip().lower() in ("1", "true", "yes")


@lru_cache(maxsize=1)
def keras():
    """The Keras module of this column: tf_keras when legacy Keras is requested, tf.keras for
    TF < 2.16 (Keras 2 ships inside TF), else the `keras` package (Keras 3)."""
    import tensorflow as tf
    from packaging.version import Version

    if legacy_requested():
        import tf_keras

        return tf_keras
    if Version(Version(tf.__version__).base_version) < Version("2.16"):
        return tf.keras
    import keras as keras3

    return keras3


@lru_cache(maxsize=1)
def keras_version() -> str:
    """The version of the Keras in use: tf_keras.__version__, keras.__version__ (Keras 2.15
    installed with TF 2.15 and serving tf.keras there) or Keras 3's."""
    module = keras()
    version = getattr(module, "__version__", None)
    if version:
        return str(version)
    # TF 2.15's tf.keras (keras.api._v2.keras) has no __version__; the keras package it is does
    import keras as package

    return str(package.__version__)


def keras3() -> bool:
    """True for Keras 3 (the `keras` package on TF >= 2.16), False for Keras 2."""
    return int(keras_version().split(".")[0]) >= 3


def tf_variable(var):
    """The tf.Variable behind a Keras weight. Keras 3: a keras.Variable whose `.value` property is
    the tf.Variable; Keras 2: the weight is a tf.Variable itself (its `.value` is a method)."""
    inner = getattr(var, "value", None)
    return var if inner is None or callable(inner) else inner


def variable_path(var) -> str:
    """The weight's own name. Keras 3: `var.path` ('sequential/dense/kernel'); Keras 2: the
    tf.Variable name ('dense/kernel:0'), which has no `path`."""
    return getattr(var, "path", None) or var.name
