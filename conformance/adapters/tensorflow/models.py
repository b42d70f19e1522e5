"""How a TensorFlow program builds a case's model: the model half of `TensorflowIdiom`.

Rule: a model is a `tf.keras.Sequential` or one of the notes' `tf.keras.Model` / `Layer`
subclasses, each layer given its initializer at construction (`kernel_initializer=`: Keras has no
initialize()). Every variable is reached by Keras' own indexing (`net.layers[2].kernel`,
`net.dense1.bias`); the Dense kernels, stored (in, out), are listed so that observations
transpose them. Keras 2 shares a layer only by calling it twice in a functional model.
"""

from __future__ import annotations

from conformance.program.idiom import Context, Model, Unsupported, literal
from conformance.spec.vocabulary import model_kind

# model kind -> (note class, {canonical layer: attribute path from the model})
_CLASSES = {
    "mlp": ("MLP", {"hidden": ".dense1", "output": ".dense2"}),
    "mlp_no_super": ("MLPNoSuper", {"hidden": ".dense1", "output": ".dense2"}),
    "list_mlp": ("ListMLP", {"layers.0": ".net[0]", "layers.1": ".net[1]"}),
    # note 003's NestMLP starts its Sequential with a Flatten layer: its Dense layers are 1 and 2
    "nest_mlp": ("NestMLP", {"net.0": ".net.layers[1]", "net.1": ".net.layers[2]", "dense": ".dense"}),
    "fancy_mlp.000": ("FancyMLP", {"dense": ".dense"}), "fancy_mlp.001": ("FixedHiddenMLP", {"linear": ".linear"}),
    "fancy_mlp.003": ("FancyMLP003", {"dense": ".dense"}), "fancy_mlp.004": ("FancyMLP004", {"dense": ".dense"}),
    # 000's exercise without asscalar(): the Keras FancyMLP already compares the tensor tf.norm(x) > 1 itself
    "fancy_mlp.000-no-asscalar": ("FancyMLP", {"dense": ".dense"}),
}
# steps before which the model's variables must exist (no initializer can wait for them)
_NEEDS_VARIABLES = ("forward", "load_params", "write_param", "read_param", "snapshot", "save_params")


class KerasModel(Model):
    """A Model plus what Keras needs: which parameters are Dense kernels (stored (in, out)),
    which layer holds each kernel's initializer, the input size and how the model is built."""

    def __init__(self, var, spec):
        super().__init__(var, [], spec=spec)
        self.kernels: set[str] = set()
        self.initializers: dict[str, str] = {}  # kernel path -> its layer's kernel_initializer
        self.input_dim = _input_dim(spec)
        self.how = "build"  # net.build(shape); "call": net(tf.keras.Input(...)); "built": at construction
        self.inner: list[str] = []  # Dense kernels that the notes' classes construct themselves
        self.fixed = False  # a layer whose code passes its initializers to add_weight (note 003's myDense)


class TensorflowModels:
    """The model methods of `TensorflowIdiom` (a mixin: the idiom gives `initializer` and `keras3`)."""

    # -- models -----------------------------------------------------------------------------------
    def build(self, spec: dict, ctx: Context, var: str = "net", init=None) -> KerasModel:
        """The lines that construct `spec` as `var`; `init` is the kernel initializer of every
        Dense layer (the book passes it at construction: Keras has no initialize())."""
        model = KerasModel(var, spec)
        if init is None and ctx.step == -1:  # the first initialize, before anything needs the variables
            index, args = next(((i, a) for i, (k, a) in enumerate(ctx.case.steps)
                                if k == "initialize" or k in _NEEDS_VARIABLES), (None, {}))
            if index is not None and ctx.case.steps[index][0] == "initialize" and "target" not in args:
                ctx.state["construction_init"], init = index, args.get("init", "default")
                if "seed" in args:
                    model.lines.append(f"tf.keras.utils.set_random_seed({literal(args['seed'])})  # step {index}'s "
                                       "seed: Keras draws the values when it creates the variables")
        kernel_init = self.initializer(init or "default", ctx)
        kind = model_kind(spec)
        if kind == "param_dict":  # standalone parameters: a bare Layer's add_weight
            model.lines.append(f"{var} = tf.keras.layers.Layer()")
            given = "" if kernel_init == "None" else f", initializer={kernel_init}"
            for index, (name, shape) in enumerate(spec["param_dict"]["params"].items()):
                model.lines.append(f"{var}.add_weight(name={literal(name)}, shape={literal(tuple(shape))}{given})")
                model.params[name] = f"{var}.weights[{index}]"
            model.how = "built"
            return model
        if not self.keras3 and kind == "sequential" and any(model_kind(c) == "reuse" for c in _descendants(spec)):
            self._functional(spec, model, kernel_init, ctx)
            return model
        model.lines.append(f"{var} = {self._item(spec, '', var, model, {}, kernel_init, ctx)}")
        if kernel_init != "None":
            if model.fixed:
                raise Unsupported("note 003's myDense passes its initializers to add_weight in build() "
                                  "(tf.random_normal_initializer, tf.zeros_initializer); Keras has no initialize() "
                                  "to give it another")
            # a Dense layer that a note's class constructs takes the initializer before it builds
            model.lines += [f"{model.params[path][:-len('.kernel')]}.kernel_initializer = {kernel_init}"
                            for path in model.inner]
        if kind not in ("sequential", "dense"):
            model.how = "call"  # a Model/Layer subclass builds by a (symbolic) call
        return model

    def _functional(self, spec, model: KerasModel, kernel_init, ctx: Context) -> None:
        """Keras 2 shares a layer by calling it twice in a functional model, which starts from
        its input shape; its `layers` list the InputLayer first and a layer called twice once."""
        if model.input_dim is None:
            raise Unsupported("Keras 2 runs a layer twice only in a functional model, which needs its input shape "
                              "(tf.keras.Input) at construction; this model defers it")
        marked: dict = {}
        calls, index = [], 0
        for position, child in enumerate(spec["sequential"]):
            if model_kind(child) == "reuse":  # the layer Keras lists once, at its first call
                variable, where, path = marked[child["reuse"]]
                self._copy_paths(model, path, where, str(position), where)
                calls.append(variable)
                continue
            index += 1
            calls.append(self._item(child, str(position), f"{model.var}.layers[{index}]", model, marked, kernel_init, ctx))
        model.lines += [f"inputs = tf.keras.Input(shape=({model.input_dim},))", "hidden = inputs",
                        *[f"hidden = {call}(hidden)" for call in calls],
                        f"{model.var} = tf.keras.Model(inputs, hidden)  # a layer called twice is one layer"]
        model.how = "built"

    def _dense(self, args: dict, path: str, where: str, model: KerasModel, kernel_init: str, ctx: Context) -> str:
        if args.get("params_from"):
            raise Unsupported("Keras shares variables only by calling one layer object again (with its own "
                              "activation); a second Dense cannot take another layer's variables (Gluon's params=)")
        opts = [literal(args["units"])] + (["activation=tf.nn.relu"] if args.get("activation") else []) + (
            ["use_bias=False"] if args.get("use_bias", True) is False else [])
        inits = args.get("init") or {}
        weight = self.initializer(inits["weight"], ctx) if "weight" in inits else kernel_init
        bias = self.initializer(inits.get("bias", "default"), ctx)
        opts += [f"{key}={value}" for key, value in (("kernel_initializer", weight), ("bias_initializer", bias))
                 if value != "None"]
        self._dense_params(model, path, where, args.get("use_bias", True))
        return f"tf.keras.layers.Dense({', '.join(opts)})"

    def _dense_params(self, model: KerasModel, path: str, where: str, bias=True) -> None:
        model.layers[path] = where
        weight = _join(path, "weight")
        model.params[weight] = f"{where}.kernel"
        model.kernels.add(weight)
        model.initializers[weight] = f"{where}.kernel_initializer"
        if bias:
            model.params[_join(path, "bias")] = f"{where}.bias"

    def _item(self, node: dict, path: str, where: str, model: KerasModel, marked: dict, kernel_init, ctx) -> str:
        """The expression of one model node reached as `where`; records its canonical paths."""
        kind = model_kind(node)
        args = node[kind] if node[kind] is not None else {}
        if kind == "reuse":  # Keras 3's Sequential keeps and runs a layer at every position it was added
            variable, source_where, source = marked[args]
            self._copy_paths(model, source, source_where, path, where)
            return variable
        if kind == "fancy_mlp":
            kind = f"fancy_mlp.{args.get('variant', '000')}"
            model.params[_join(path, "rand_weight")] = f"{where}.rand_weight"
        if kind == "nest_mlp" and args.get("variant", "000") == "004":
            # note 004's counter-example: its own add() gives Keras one more tracked Dense(10)
            variable = ctx.name(f"layer_{path.replace('.', '_') or 'nest'}")
            model.lines += [f"{variable} = {ctx.need_class('NestMLP004')}()",
                            f"{variable}.add(tf.keras.layers.Dense(10))"]
            for sub, attr in (("dense", ".dense"), ("added", ".layers[1]")):
                self._dense_params(model, _join(path, sub), where + attr)
                model.inner.append(_join(path, sub, "weight"))
            model.params[_join(path, "rand_weight")] = f"{where}.rand_weight"
            model.layers.setdefault(path, where)
            return variable
        if kind == "dense":
            expr = self._dense(args, path, where, model, kernel_init, ctx)
        elif kind in ("relu", "flatten", "dropout"):
            expr = {"relu": "tf.keras.layers.ReLU()", "flatten": "tf.keras.layers.Flatten()",
                    "dropout": f"tf.keras.layers.Dropout({literal(args.get('rate'))})"}[kind]
        elif kind in ("sequential", "my_sequential"):
            names = [c.get("as") or c.get("reuse") for c in args if "as" in c or model_kind(c) == "reuse"]
            if kind == "sequential" and not self.keras3 and len(set(names)) < len(names):  # Keras 2 runs it once
                raise Unsupported("Keras 2's Sequential keeps a layer added twice only once: Keras 2 calls a layer "
                                  "twice in a functional model, at its top level")
            reach = "layers" if kind == "sequential" else "modules"  # the book's MySequential keeps `self.modules`
            items = [self._item(c, _join(path, str(i)), f"{where}.{reach}[{i}]", model, marked, kernel_init, ctx)
                     for i, c in enumerate(args)]
            expr = (f"tf.keras.models.Sequential([{', '.join(items)}])" if kind == "sequential" else
                    f"{ctx.need_class('MySequential')}({', '.join(items)})")
        elif kind in _CLASSES:
            cls, layers = _CLASSES[kind]
            expr = f"{ctx.need_class(cls)}()"
            for sub, attr in layers.items():
                self._dense_params(model, _join(path, sub), where + attr)
                model.inner.append(_join(path, sub, "weight"))
            if kind == "nest_mlp":
                model.layers[_join(path, "net")] = f"{where}.net"
        elif kind == "centered":
            expr = f"{ctx.need_class('CenteredLayer')}()"
        elif kind == "my_dense":
            if args.get("read_via_data"):
                raise Unsupported("a Keras variable has no `.data` that reads it outside the tape (torch's note): "
                                  "TensorFlow's explicit detach is tf.stop_gradient")
            expr = f"{ctx.need_class('myDense')}({literal(args['units'])})"
            model.params.update({_join(path, "weight"): f"{where}.w", _join(path, "bias"): f"{where}.b"})
            model.fixed = True
        elif kind == "named_sequential":
            raise Unsupported("Keras has no add_module(name, layer): a Sequential numbers its layers, and a layer "
                              "is named once, at construction (name=...)")
        elif kind == "my_sequential_by_object":
            raise Unsupported("Keras has no child registry to key by object (torch's _modules, Gluon's _children): "
                              "a Layer tracks the layers assigned to its attributes")
        else:
            raise Unsupported(f"no Keras model for {kind}")
        model.layers.setdefault(path, where)
        if "as" in node:
            variable = ctx.name(f"layer_{node['as']}")
            model.lines.append(f"{variable} = {expr}")
            marked[node["as"]] = (variable, where, path)
            return variable
        return expr

    def _copy_paths(self, model: KerasModel, source: str, source_where: str, path: str, where: str) -> None:
        """A layer used a second time answers under its second position too."""
        for table in (model.params, model.layers, model.initializers):
            for old, expr in list(table.items()):
                if old == source or old.startswith(source + "."):
                    new = path + old[len(source):]
                    table.setdefault(new, where + expr[len(source_where):])
                    if old in model.kernels:
                        model.kernels.add(new)

    def _build_lines(self, model: KerasModel, dim=None) -> list[str]:
        """Keras creates the variables in build(): with the input size known, now."""
        dim = dim or model.input_dim
        if model.how == "built" or dim is None:
            return []
        if model.how == "call":  # a Model/Layer subclass: a symbolic call runs its build() as a first call would
            return [f"{model.var}(tf.keras.Input(shape=({dim},)))"]
        return [f"{model.var}.build((None, {dim}))"]


def _join(*parts: str) -> str:
    return ".".join(part for part in parts if part)


def _descendants(node: dict):
    children = node[model_kind(node)]
    for child in children if isinstance(children, list) else []:
        yield child
        yield from _descendants(child)


def _input_dim(node: dict):
    """The input size a model declares (Keras' build shape), or None when it is deferred."""
    kind = model_kind(node)
    args = node[kind] or {}
    if kind in ("dense", "my_dense", "mlp", "list_mlp", "mlp_no_super"):
        return args.get("in_units")
    return _input_dim(args[0]) if kind in ("sequential", "my_sequential") and args else None
