"""The other notes' FancyMLPs on TF/Keras (model `fancy_mlp: {variant}`), as user code.

Rule: "003" is note 003's FancyMLP exactly as written (Flatten, the constant, the Dense layer
once); "001" (torch's FixedHiddenMLP) and "004" (MXNet, 10x10) are written the same way in
Keras. TensorFlow is imported inside `fancy_variants()`. An error raised here is the
framework's behaviour (`__conformance_user_code__`).
"""

from __future__ import annotations

__conformance_user_code__ = True


def fancy_variants(tf, keras) -> dict:
    class FixedHiddenMLP001(keras.Model):
        def __init__(self):
            super().__init__()
            self.rand_weight = tf.constant(tf.random.uniform((20, 20)))
            self.linear = keras.layers.Dense(units=20)

        def call(self, X):
            X = self.linear(X)
            X = tf.nn.relu(tf.matmul(X, self.rand_weight) + 1)
            X = self.linear(X)
            while tf.reduce_sum(tf.abs(X)) > 1:
                X /= 2
            return tf.reduce_sum(X)

    class FancyMLP(keras.Model):  # note 003 §4.1.3, verbatim
        def __init__(self):
            super().__init__()
            self.flatten = keras.layers.Flatten()  # tf.keras.layers in the note
            self.rand_weight = tf.constant(
                tf.random.uniform((20, 20)))
            self.dense = keras.layers.Dense(units=20, activation=tf.nn.relu)

        def call(self, inputs):
            x = self.flatten(inputs)
            x = tf.nn.relu(tf.matmul(x, self.rand_weight) + 1)
            x = self.dense(x)
            while tf.norm(x) > 1:
                x /= 2
            if tf.norm(x) < 0.8:
                x *= 10
            return tf.reduce_sum(x)

    class FancyMLP004(keras.Model):
        def __init__(self):
            super().__init__()
            self.rand_weight = tf.constant(tf.random.uniform((10, 10)))
            self.dense = keras.layers.Dense(10, activation=tf.nn.relu)

        def call(self, x):
            x = self.dense(x)
            x = tf.nn.relu(tf.matmul(x, self.rand_weight) + 1)
            x = self.dense(x)
            while tf.norm(x) > 1:
                x /= 2
            if tf.norm(x) < 0.8:
                x *= 10
            return tf.reduce_sum(x)

    # variant -> (class, attribute of the Dense layer, its input size)
    return {"001": (FixedHiddenMLP001, "linear", 20), "003": (FancyMLP, "dense", 20), "004": (FancyMLP004, "dense", 10)}


def shared_dense(tf, keras):
    """004 §6.2's nn.Dense(8, activation='relu', params=shared.params) the Keras way: Keras
    shares weights by calling the same layer object, so this layer calls the shared Dense
    and applies its own activation."""

    class SharedDense(keras.layers.Layer):
        def __init__(self, shared, activation=None):
            super().__init__()
            self.shared = shared
            self.activation = keras.activations.get(activation)

        def call(self, x):
            return self.activation(self.shared(x))

    return SharedDense
