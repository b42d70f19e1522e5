"""The notes' user code in TensorFlow/Keras, as note 003 and the TensorFlow tab of the book write it.

Rule: this file is program text, never imported by the kit: the program writer copies the
classes and functions a case uses into its program (`idiom.class_source`). Note 003's own
classes (MLP, FancyMLP003, NestMLP, CenteredLayer, myDense) are written exactly as the note
writes them; the other notes' classes are written the way the TensorFlow tab of *Dive into
Deep Learning* writes its counterparts (MySequential, MyInit, try_gpu, try_all_gpus), with
the kit's sizes (specs/README.md "Models").
"""

import tensorflow as tf

INIT_CALLS = []  # the program's own list: MyInit appends every call (which initializer, shape, step)
STEP = None


class MLP(tf.keras.Model):  # note 003 §4.1.1
    def __init__(self):
        super().__init__()
        self.flatten = tf.keras.layers.Flatten()    # Flatten层将除第一维（batch_size）以外的维度展平
        self.dense1 = tf.keras.layers.Dense(units=256, activation=tf.nn.relu)
        self.dense2 = tf.keras.layers.Dense(units=10)

    def call(self, inputs):
        x = self.flatten(inputs)
        x = self.dense1(x)
        output = self.dense2(x)
        return output


class MLPNoSuper(tf.keras.Model):
    def __init__(self):  # note 000's mistake: super().__init__() is missing
        self.flatten = tf.keras.layers.Flatten()
        self.dense1 = tf.keras.layers.Dense(units=256, activation=tf.nn.relu)
        self.dense2 = tf.keras.layers.Dense(units=10)

    def call(self, inputs):
        return self.dense2(self.dense1(self.flatten(inputs)))


class ListMLP(tf.keras.Model):
    def __init__(self):
        super().__init__()
        # note 000's exercise: self.net becomes a plain Python list (`layers` itself is a Keras property)
        self.net = [tf.keras.layers.Dense(256, activation=tf.nn.relu), tf.keras.layers.Dense(10)]

    def call(self, inputs):
        x = inputs
        for layer in self.net:
            x = layer(x)
        return x


class MySequential(tf.keras.Model):  # the book's TensorFlow tab
    def __init__(self, *args):
        super().__init__()
        self.modules = args

    def call(self, X):
        for module in self.modules:
            X = module(X)
        return X


class FancyMLP(tf.keras.Model):
    """Note 000's FancyMLP in Keras: the constant, the Dense layer used twice, the norm loops."""

    def __init__(self):
        super().__init__()
        self.rand_weight = tf.constant(tf.random.uniform((20, 20)))
        self.dense = tf.keras.layers.Dense(units=20, activation=tf.nn.relu)

    def call(self, inputs):
        x = self.dense(inputs)
        x = tf.nn.relu(tf.matmul(x, self.rand_weight) + 1)
        x = self.dense(x)
        while tf.norm(x) > 1:
            x /= 2
        if tf.norm(x) < 0.8:
            x *= 10
        return tf.reduce_sum(x)


class FixedHiddenMLP(tf.keras.Model):
    """Note 001's FixedHiddenMLP in Keras: no activation on the layer used twice, the L1 loop, no x10."""

    def __init__(self):
        super().__init__()
        self.rand_weight = tf.constant(tf.random.uniform((20, 20)))
        self.linear = tf.keras.layers.Dense(units=20)

    def call(self, X):
        X = self.linear(X)
        X = tf.nn.relu(tf.matmul(X, self.rand_weight) + 1)
        X = self.linear(X)
        while tf.reduce_sum(tf.abs(X)) > 1:
            X /= 2
        return tf.reduce_sum(X)


class FancyMLP003(tf.keras.Model):  # note 003 §4.1.3, as written
    def __init__(self):
        super().__init__()
        self.flatten = tf.keras.layers.Flatten()
        self.rand_weight = tf.constant(
            tf.random.uniform((20,20)))
        self.dense = tf.keras.layers.Dense(units=20, activation=tf.nn.relu)

    def call(self, inputs):
        x = self.flatten(inputs)
        x = tf.nn.relu(tf.matmul(x, self.rand_weight) + 1)
        x = self.dense(x)
        while tf.norm(x) > 1:
            x /= 2
        if tf.norm(x) < 0.8:
            x *= 10
        return tf.reduce_sum(x)


class FancyMLP004(tf.keras.Model):
    """Note 004's FancyMLP in Keras: 000's code with a (10, 10) constant and Dense(10)."""

    def __init__(self):
        super().__init__()
        self.rand_weight = tf.constant(tf.random.uniform((10, 10)))
        self.dense = tf.keras.layers.Dense(10, activation=tf.nn.relu)

    def call(self, x):
        x = self.dense(x)
        x = tf.nn.relu(tf.matmul(x, self.rand_weight) + 1)
        x = self.dense(x)
        while tf.norm(x) > 1:
            x /= 2
        if tf.norm(x) < 0.8:
            x *= 10
        return tf.reduce_sum(x)


class NestMLP004(tf.keras.Model):
    """Note 004's counter-example (an MXNet note, marked 错误实例) in Keras: Keras' registry is
    attribute tracking (add() sets an attribute by the layer's name, as the note keys _children
    by block.name) listed by model.layers; call runs them and, as written, returns nothing."""

    def __init__(self):
        super().__init__()
        self.rand_weight = tf.constant(tf.random.uniform((10, 10)))
        self.dense = tf.keras.layers.Dense(20, activation=tf.nn.relu)

    def add(self, block):
        setattr(self, block.name, block)

    def call(self, inputs):
        x = inputs
        for block in self.layers:
            x = block(x)


class NestMLP(tf.keras.Model):  # note 003 §4.1.3
    def __init__(self):
        super().__init__()
        self.net = tf.keras.Sequential()
        self.net.add(tf.keras.layers.Flatten())
        self.net.add(tf.keras.layers.Dense(64, activation=tf.nn.relu))
        self.net.add(tf.keras.layers.Dense(32, activation=tf.nn.relu))
        self.dense = tf.keras.layers.Dense(units=16, activation=tf.nn.relu)

    def call(self, inputs):
        return self.dense(self.net(inputs))


class CenteredLayer(tf.keras.layers.Layer):  # note 003 §4.4.1
    def __init__(self):
        super().__init__()

    def call(self, inputs):
        return inputs - tf.reduce_mean(inputs)


class myDense(tf.keras.layers.Layer):  # note 003 §4.4.2, as written (no activation)
    def __init__(self, units):
        super().__init__()
        self.units = units

    def build(self, input_shape):     # 这里 input_shape 是第一次运行call()时参数inputs的形状
        self.w = self.add_weight(name='w',
            shape=[input_shape[-1], self.units], initializer=tf.random_normal_initializer())
        self.b = self.add_weight(name='b',
            shape=[self.units], initializer=tf.zeros_initializer())

    def call(self, inputs):
        y_pred = tf.matmul(inputs, self.w) + self.b
        return y_pred


class MyInit(tf.keras.initializers.Initializer):  # the book's TensorFlow tab
    def __call__(self, shape, dtype=None):
        INIT_CALLS.append({"initializer": self, "shape": list(shape), "step": STEP})
        data=tf.random.uniform(shape, -10, 10, dtype=dtype)
        factor=(tf.abs(data) >= 5)
        factor=tf.cast(factor, tf.float32)
        return data * factor


def try_gpu(i=0):  # the book's TensorFlow tab
    """Return gpu(i) if exists, otherwise return cpu()."""
    if len(tf.config.experimental.list_physical_devices('GPU')) >= i + 1:
        return tf.device(f'/GPU:{i}')
    return tf.device('/CPU:0')


def try_all_gpus():  # the book's TensorFlow tab
    """Return all available GPUs, or [cpu(),] if no GPU exists."""
    num_gpus = len(tf.config.experimental.list_physical_devices('GPU'))
    devices = [tf.device(f'/GPU:{i}') for i in range(num_gpus)]
    return devices if devices else [tf.device('/CPU:0')]
