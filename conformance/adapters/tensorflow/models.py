"""Keras models for the TensorFlow adapter: a spec model -> Keras objects + a canonical parameter map.

Rule: TensorFlow is imported only inside `classes()` / `build_model()` (called after the adapter's
`load()`); every model is built the way the TensorFlow note builds it (tf.keras.Model subclasses
with `call`, tf.keras.Sequential, Layer.build for weights created at the first call), and every
parameter is recorded with its canonical path, the layer attribute holding it and its layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from types import SimpleNamespace

from conformance.adapters.tensorflow.keras_version import keras as keras_module
from conformance.adapters.tensorflow.keras_version import keras3


@dataclass
class ParamRef:
    """One canonical parameter path: which layer attribute holds the variable, and its layout."""

    path: str
    layer: object
    attr: str           # attribute of `layer` holding the Keras variable ("kernel", "w", ...)
    role: str           # "weight" | "bias" | "other" (initializer semantics)
    transpose: bool     # native layout is the transpose of the canonical one (Dense kernel)
    init_attr: str | None  # layer attribute naming the initializer used at build (deferred init)


@dataclass
class BuiltModel:
    model: object
    spec: dict
    refs: list = field(default_factory=list)       # ParamRef, every path (reused layers twice)
    layers: dict = field(default_factory=dict)     # canonical layer path -> layer
    notes: dict = field(default_factory=dict)


@lru_cache(maxsize=1)
def classes():
    """The model classes of the TF note, written against tf.keras (Keras 3 behind it)."""
    import tensorflow as tf

    keras = keras_module()

    class MLP(keras.Model):
        def __init__(self):
            super().__init__()
            self.flatten = keras.layers.Flatten()
            self.hidden = keras.layers.Dense(units=256, activation=tf.nn.relu)
            # `output` is a read-only property of keras.Model in Keras 3 (AttributeError: no setter)
            self.out = keras.layers.Dense(units=10)

        def call(self, inputs):
            return self.out(self.hidden(self.flatten(inputs)))

    class MLPNoSuper(keras.Model):
        def __init__(self):  # forgets super().__init__() on purpose
            self.hidden = keras.layers.Dense(units=256, activation=tf.nn.relu)
            self.out = keras.layers.Dense(units=10)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    class ListMLP(keras.Model):
        def __init__(self):
            super().__init__()
            # `layers` is reserved on keras.Model in Keras 3 (AttributeError), so another name
            self.layer_list = [keras.layers.Dense(256, activation=tf.nn.relu), keras.layers.Dense(10)]

        def call(self, inputs):
            x = inputs
            for layer in self.layer_list:
                x = layer(x)
            return x

    class MySequential(keras.Model):
        def __init__(self, *blocks):
            super().__init__()
            self.block_names = []
            for index, block in enumerate(blocks):
                name = f"block_{index}"   # tracked attributes are Keras's child registry
                setattr(self, name, block)
                self.block_names.append(name)

        def call(self, inputs):
            x = inputs
            for name in self.block_names:
                x = getattr(self, name)(x)
            return x

    class FancyMLP(keras.Model):
        def __init__(self):
            super().__init__()
            self.flatten = keras.layers.Flatten()
            self.rand_weight = tf.constant(tf.random.uniform((20, 20)))  # not a variable
            self.dense = keras.layers.Dense(units=20, activation=tf.nn.relu)

        def call(self, inputs):
            x = self.flatten(inputs)
            x = self.dense(x)
            x = tf.nn.relu(tf.matmul(x, self.rand_weight) + 1)
            x = self.dense(x)            # the same layer again: shared weights
            while tf.norm(x) > 1:
                x /= 2
            if tf.norm(x) < 0.8:
                x *= 10
            return tf.reduce_sum(x)

    class NestMLP(keras.Model):
        def __init__(self):
            super().__init__()
            self.net = keras.Sequential()
            self.net.add(keras.layers.Dense(64, activation=tf.nn.relu))
            self.net.add(keras.layers.Dense(32, activation=tf.nn.relu))
            self.dense = keras.layers.Dense(units=16, activation=tf.nn.relu)

        def call(self, inputs):
            return self.dense(self.net(inputs))

    class CenteredLayer(keras.layers.Layer):
        def __init__(self):
            super().__init__()

        def call(self, inputs):
            return inputs - tf.reduce_mean(inputs)

    class MyDense(keras.layers.Layer):
        def __init__(self, units, read_via_data=False):
            super().__init__()
            self.units = units
            self.read_via_data = read_via_data
            # the note passes these inline to add_weight; kept as attributes so the
            # kit's initialize step can change them before the weights exist
            self.w_initializer = tf.random_normal_initializer()
            self.b_initializer = tf.zeros_initializer()

        def build(self, input_shape):  # input_shape: the shape of the first call's input
            self.w = self.add_weight(name="w", shape=[input_shape[-1], self.units],
                                     initializer=self.w_initializer)
            self.b = self.add_weight(name="b", shape=[self.units], initializer=self.b_initializer)

        def call(self, inputs):
            if self.read_via_data:  # TF has no `.data`; `.value` is the nearest read (still recorded)
                # Keras 3: `.value` is a property; Keras 2 (tf.Variable): `.value()` is a method
                w, b = self.w.value, self.b.value
                w, b = (w(), b()) if callable(w) else (w, b)
                return tf.nn.relu(tf.matmul(inputs, w) + b)
            return tf.nn.relu(tf.matmul(inputs, self.w) + self.b)

    class ParamDict(keras.layers.Layer):
        """Standalone parameters: Keras 3 tracks only variables made with add_weight."""

        def __init__(self, params):
            super().__init__()
            self.param_names = []
            for name, shape in params.items():
                setattr(self, name, self.add_weight(name=name, shape=tuple(shape)))
                self.param_names.append(name)

        def call(self, inputs):
            return inputs

    return SimpleNamespace(
        MLP=MLP, MLPNoSuper=MLPNoSuper, ListMLP=ListMLP, MySequential=MySequential,
        FancyMLP=FancyMLP, NestMLP=NestMLP, CenteredLayer=CenteredLayer, MyDense=MyDense,
        ParamDict=ParamDict,
    )


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def in_dim(node: dict):
    """The input feature count a model spec declares, or None when it is deferred."""
    kind = next(k for k in node if k != "as")
    args = node[kind]
    if kind in ("dense", "my_dense", "mlp", "list_mlp", "mlp_no_super"):
        return (args or {}).get("in_units")
    if kind == "fancy_mlp":
        return 10 if (args or {}).get("variant") == "004" else 20
    if kind in ("sequential", "my_sequential") and args:
        return in_dim(args[0])
    return None


class _Builder:
    def __init__(self, make_init, result: BuiltModel):
        import tensorflow as tf

        self.tf = tf
        self.keras = keras_module()
        self.cls = classes()
        self.make_init = make_init       # (INIT, path, transpose) -> Keras initializer or None
        self.result = result
        self.marked: dict[str, tuple[object, str]] = {}

    def dense_refs(self, layer, prefix, use_bias=True):
        refs = [ParamRef(_join(prefix, "weight"), layer, "kernel", "weight", True, "kernel_initializer")]
        if use_bias:
            refs.append(ParamRef(_join(prefix, "bias"), layer, "bias", "bias", False, "bias_initializer"))
        self.result.refs.extend(refs)

    def dense(self, args, prefix, activation=None):
        keras = self.keras
        if args.get("params_from"):
            from conformance.adapters.tensorflow.note_models import shared_dense

            source, _first = self.marked[args["params_from"]]
            self.dense_refs(source, prefix, args.get("use_bias", True))  # the same variables
            return shared_dense(self.tf, keras)(source, args.get("activation", activation))
        init = args.get("init") or {}
        kwargs = {}
        for role, key, transpose in (("weight", "kernel_initializer", True), ("bias", "bias_initializer", False)):
            made = self.make_init(init.get(role, "default"), _join(prefix, role), transpose)
            if made is not None:
                kwargs[key] = made
        layer = keras.layers.Dense(args["units"], activation=args.get("activation", activation),
                                   use_bias=args.get("use_bias", True), **kwargs)
        if args.get("in_units") is not None:
            layer.build((None, args["in_units"]))
        self.dense_refs(layer, prefix, args.get("use_bias", True))
        return layer

    def node(self, node: dict, prefix: str):
        kind = next(k for k in node if k != "as")
        args = node[kind]
        if kind == "reuse":
            layer, first = self.marked[args]
            for ref in [r for r in self.result.refs if r.path == first or r.path.startswith(first + ".")]:
                path = prefix + ref.path[len(first):]
                self.result.refs.append(ParamRef(path, ref.layer, ref.attr, ref.role, ref.transpose, ref.init_attr))
            self.result.layers[prefix] = layer
            return layer
        layer = getattr(self, f"make_{kind}")(args or {}, prefix)
        self.result.layers[prefix] = layer
        if "as" in node:
            self.marked[node["as"]] = (layer, prefix)
        return layer

    # -- one method per model kind ---------------------------------------------------
    def make_dense(self, args, prefix):
        return self.dense(args, prefix)

    def make_relu(self, args, prefix):
        return self.keras.layers.ReLU()

    def make_flatten(self, args, prefix):
        return self.keras.layers.Flatten()

    def make_dropout(self, args, prefix):
        return self.keras.layers.Dropout(args["rate"])

    def make_sequential(self, args, prefix):
        children = [self.node(child, _join(prefix, str(i))) for i, child in enumerate(args)]
        if len({id(child) for child in children}) < len(children) and not keras3():
            # Keras 2's Sequential keeps a layer added twice only once (model.layers deduplicates
            # it) and runs it once; Keras 3's runs it at both places.
            from conformance.adapters.base import Unsupported

            raise Unsupported("Keras 2's Sequential keeps a layer added twice only once (model.layers "
                              "deduplicates it) and runs it once: Keras 2 shares a layer through the "
                              "functional API or a subclassed Model that calls it twice")
        model = self.keras.Sequential(children)
        dim = in_dim({"sequential": args})
        if dim is not None:
            model.build((None, dim))   # the Keras idiom for a known input shape
        return model

    def make_named_sequential(self, args, prefix):
        from conformance.adapters.base import Unsupported

        raise Unsupported("Keras Sequential has no add_module(name, layer): a layer is named once, "
                          "at construction (name=...)")

    def make_my_sequential_by_object(self, args, prefix):
        from conformance.adapters.base import Unsupported

        raise Unsupported("Keras has no child registry to key by object (torch's _modules, Gluon's "
                          "_children): a Layer tracks the layers assigned to its attributes or lists")

    def make_my_sequential(self, args, prefix):
        children = [self.node(child, _join(prefix, str(i))) for i, child in enumerate(args)]
        model = self.cls.MySequential(*children)
        dim = in_dim({"my_sequential": args})
        if dim is not None:
            model(self.keras.Input(shape=(dim,)))   # a symbolic call builds every child
        return model

    def _mlp(self, model, args, prefix, names):
        hidden, output = names
        self.dense_refs(hidden[1], _join(prefix, hidden[0]))
        self.dense_refs(output[1], _join(prefix, output[0]))
        if args.get("in_units") is not None:
            model(self.keras.Input(shape=(args["in_units"],)))
        return model

    def make_mlp(self, args, prefix):
        model = self.cls.MLP()
        self.result.layers[_join(prefix, "hidden")] = model.hidden
        self.result.layers[_join(prefix, "output")] = model.out
        return self._mlp(model, args, prefix, (("hidden", model.hidden), ("output", model.out)))

    def make_mlp_no_super(self, args, prefix):
        model = self.cls.MLPNoSuper()
        return self._mlp(model, args, prefix, (("hidden", model.hidden), ("output", model.out)))

    def make_list_mlp(self, args, prefix):
        model = self.cls.ListMLP()
        self.result.notes["list_mlp"] = (
            "Keras 3 reserves `Model.layers` (AttributeError), so the plain list is `layer_list`; "
            "Keras 3 tracks layers kept in plain Python lists"
        )
        first, second = model.layer_list
        self.result.layers[_join(prefix, "layers.0")] = first
        self.result.layers[_join(prefix, "layers.1")] = second
        return self._mlp(model, args, prefix, (("layers.0", first), ("layers.1", second)))

    def make_fancy_mlp(self, args, prefix):
        variant = (args or {}).get("variant", "000")
        if variant != "000":
            from conformance.adapters.tensorflow.note_models import fancy_variants  # the notes' own

            cls, attr, width = fancy_variants(self.tf, self.keras)[variant]
            model = cls()
            getattr(model, attr).build((None, width))
            self.dense_refs(getattr(model, attr), _join(prefix, attr))
            self.result.layers[_join(prefix, attr)] = getattr(model, attr)
            return model
        model = self.cls.FancyMLP()
        model.dense.build((None, 20))
        self.dense_refs(model.dense, _join(prefix, "dense"))
        self.result.layers[_join(prefix, "dense")] = model.dense
        return model

    def make_nest_mlp(self, args, prefix):
        model = self.cls.NestMLP()
        for index, layer in enumerate(model.net.layers):
            self.dense_refs(layer, _join(prefix, f"net.{index}"))
            self.result.layers[_join(prefix, f"net.{index}")] = layer
        self.result.layers[_join(prefix, "net")] = model.net
        self.dense_refs(model.dense, _join(prefix, "dense"))
        self.result.layers[_join(prefix, "dense")] = model.dense
        return model

    def make_centered(self, args, prefix):
        return self.cls.CenteredLayer()

    def make_my_dense(self, args, prefix):
        layer = self.cls.MyDense(args["units"], read_via_data=args.get("read_via_data", False))
        self.result.refs.append(ParamRef(_join(prefix, "weight"), layer, "w", "weight", False, "w_initializer"))
        self.result.refs.append(ParamRef(_join(prefix, "bias"), layer, "b", "bias", False, "b_initializer"))
        if args.get("in_units") is not None:
            layer.build((None, args["in_units"]))
            # Keras 3 marks a layer built when its build() returns; Keras 2 only in __call__ or in
            # the base Layer.build(), which the note's MyDense.build does not call, so Keras 2
            # would build it again, with new weights, at the first call.
            layer.built = True
        return layer

    def make_param_dict(self, args, prefix):
        layer = self.cls.ParamDict(args.get("params", {}))
        for name in layer.param_names:
            self.result.refs.append(ParamRef(_join(prefix, name), layer, name, "other", False, None))
        return layer


def build_model(spec: dict, make_init) -> BuiltModel:
    """Construct the Keras model for `spec`; errors of the framework propagate unchanged."""
    result = BuiltModel(model=None, spec=spec)
    builder = _Builder(make_init, result)
    result.model = builder.node(spec, "")
    return result
