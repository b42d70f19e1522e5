"""Short runnable TensorFlow code reproducing a case, for people reading the reports.

Rule: pure text generation from the spec (imports nothing from TensorFlow); the code uses the
same idioms as the adapter (tf.keras subclasses, GradientTape, assign, save_weights).
"""

from __future__ import annotations

from conformance.adapters.tensorflow.models import in_dim
from conformance.inputs import numpy_source

_CLASSES = {
    "mlp": '''class MLP(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = tf.keras.layers.Dense(256, activation=tf.nn.relu)
        self.out = tf.keras.layers.Dense(10)  # `output` is a read-only Model property

    def call(self, x):
        return self.out(self.hidden(x))
''',
    "mlp_no_super": '''class MLPNoSuper(tf.keras.Model):
    def __init__(self):  # no super().__init__()
        self.hidden = tf.keras.layers.Dense(256, activation=tf.nn.relu)
        self.out = tf.keras.layers.Dense(10)

    def call(self, x):
        return self.out(self.hidden(x))
''',
    "list_mlp": '''class ListMLP(tf.keras.Model):
    def __init__(self):
        super().__init__()  # `self.layers` is reserved in Keras 3
        self.layer_list = [tf.keras.layers.Dense(256, activation=tf.nn.relu), tf.keras.layers.Dense(10)]

    def call(self, x):
        for layer in self.layer_list:
            x = layer(x)
        return x
''',
    "my_sequential": '''class MySequential(tf.keras.Model):
    def __init__(self, *blocks):
        super().__init__()
        self.block_names = []
        for i, block in enumerate(blocks):
            setattr(self, f"block_{i}", block)
            self.block_names.append(f"block_{i}")

    def call(self, x):
        for name in self.block_names:
            x = getattr(self, name)(x)
        return x
''',
    "fancy_mlp": '''class FancyMLP(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.rand_weight = tf.constant(tf.random.uniform((20, 20)))
        self.dense = tf.keras.layers.Dense(20, activation=tf.nn.relu)

    def call(self, x):
        x = self.dense(x)
        x = tf.nn.relu(tf.matmul(x, self.rand_weight) + 1)
        x = self.dense(x)
        while tf.norm(x) > 1:
            x /= 2
        if tf.norm(x) < 0.8:
            x *= 10
        return tf.reduce_sum(x)
''',
    "nest_mlp": '''class NestMLP(tf.keras.Model):
    def __init__(self):
        super().__init__()
        self.net = tf.keras.Sequential([tf.keras.layers.Dense(64, activation=tf.nn.relu),
                                        tf.keras.layers.Dense(32, activation=tf.nn.relu)])
        self.dense = tf.keras.layers.Dense(16, activation=tf.nn.relu)

    def call(self, x):
        return self.dense(self.net(x))
''',
    "centered": '''class CenteredLayer(tf.keras.layers.Layer):
    def call(self, x):
        return x - tf.reduce_mean(x)
''',
    "my_dense": '''class MyDense(tf.keras.layers.Layer):
    def __init__(self, units):
        super().__init__()
        self.units = units

    def build(self, input_shape):  # runs at the first call
        self.w = self.add_weight(name="w", shape=[input_shape[-1], self.units],
                                 initializer=tf.random_normal_initializer())
        self.b = self.add_weight(name="b", shape=[self.units], initializer=tf.zeros_initializer())

    def call(self, x):
        return tf.nn.relu(tf.matmul(x, self.w) + self.b)
''',
    "zero_small": '''class ZeroSmall(tf.keras.initializers.Initializer):  # the notes' MyInit
    def __call__(self, shape, dtype=None):
        print("Init", shape)
        w = tf.random.uniform(shape, -10, 10)
        return w * tf.cast(tf.abs(w) >= 5, w.dtype)
''',
    "param_dict": '''class ParamDict(tf.keras.layers.Layer):
    def __init__(self, params):
        super().__init__()
        for name, shape in params.items():  # Keras 3 tracks only add_weight variables
            setattr(self, name, self.add_weight(name=name, shape=shape))
''',
}

_INITS = {
    "normal": "tf.keras.initializers.RandomNormal(mean={mean}, stddev={sigma})",
    "constant": "tf.keras.initializers.Constant({value})",
    "uniform": "tf.keras.initializers.RandomUniform({low}, {high})",
    "xavier": "tf.keras.initializers.GlorotUniform()",
    "zeros": "tf.keras.initializers.Zeros()",
    "ones": "tf.keras.initializers.Ones()",
    "orthogonal": "tf.keras.initializers.Orthogonal(gain={scale})",
    "msra": "tf.keras.initializers.VarianceScaling(scale=2 / (1 + {slope} ** 2), mode='fan_in', distribution='untruncated_normal')",
}

_COMPUTE = {
    "two_x_squared": "2 * {0} * {0}", "sum": "tf.reduce_sum({0})", "add": "{0} + {1}",
    "mul": "{0} * {1}", "sum_two_x_squared": "tf.reduce_sum(2 * {0} * {0})",
    "norm": "tf.norm({0})", "add_out": "None",
}


def _init_expr(init, classes: dict) -> str:
    if init in (None, "default"):
        return "layer's own initializer (glorot_uniform kernel, zeros bias)"
    (name, args), = init.items()
    if name == "custom":
        classes["zero_small"] = _CLASSES["zero_small"]
        return "ZeroSmall()"
    if name in ("mixed", "load"):
        return "(lambda shape, dtype=None: None)"  # Keras has no mixed/load initializer (unsupported)
    args = {"mean": 0, "scale": 1.414, "slope": 0.25, **(args or {})}
    return _INITS[name].format(**args)


_gen = numpy_source


def _model(node: dict, classes: dict, shared: list) -> str:
    kind = next(k for k in node if k != "as")
    args = node[kind] or {}
    if kind == "reuse":
        return args
    if kind == "dense" and args.get("params_from"):  # 004's params=shared.params: call the shared layer
        text = (f"tf.keras.Sequential([{args['params_from']}, "
                f"tf.keras.layers.Activation({args.get('activation') or 'linear'!r})])")
    elif kind in ("named_sequential", "my_sequential_by_object"):
        text = "None"  # named_sequential / my_sequential_by_object: no Keras counterpart (unsupported)
    elif kind == "fancy_mlp" and args.get("variant", "000") != "000":
        text = {"001": "FixedHiddenMLP001()", "003": "FancyMLP()", "004": "FancyMLP004()"}[args["variant"]]
        shared.append(f"# {text}: note {args['variant']}'s model, see conformance/adapters/tensorflow/note_models.py")
    elif kind == "dense":
        text = f"tf.keras.layers.Dense({args['units']}"
        if args.get("activation"):
            text += f", activation='{args['activation']}'"
        if args.get("use_bias") is False:
            text += ", use_bias=False"
        for role, key in (("weight", "kernel_initializer"), ("bias", "bias_initializer")):
            init = (args.get("init") or {}).get(role, "default")
            if init != "default":
                text += f", {key}={_init_expr(init, classes)}"
        text += ")"
    elif kind in ("relu", "flatten"):
        text = {"relu": "tf.keras.layers.ReLU()", "flatten": "tf.keras.layers.Flatten()"}[kind]
    elif kind == "dropout":
        text = f"tf.keras.layers.Dropout({args['rate']})"
    elif kind == "sequential":
        text = "tf.keras.Sequential([" + ", ".join(_model(c, classes, shared) for c in args) + "])"
    else:
        classes[kind] = _CLASSES[kind]
        name = {"mlp": "MLP", "mlp_no_super": "MLPNoSuper", "list_mlp": "ListMLP", "my_sequential": "MySequential",
                "fancy_mlp": "FancyMLP", "nest_mlp": "NestMLP", "centered": "CenteredLayer",
                "my_dense": "MyDense", "param_dict": "ParamDict"}[kind]
        if kind == "my_sequential":
            text = f"MySequential({', '.join(_model(c, classes, shared) for c in args)})"
        elif kind == "my_dense":
            text = f"MyDense({args['units']})"
        elif kind == "param_dict":
            text = f"ParamDict({args.get('params', {})!r})"
        else:
            text = f"{name}()"
    if "as" in node:
        shared.append(f"{node['as']} = {text}")
        return node["as"]
    return text


def _build_lines(model, name="net") -> list[str]:
    """Keras idiom for a known input size: Sequential.build, or a symbolic call of a subclass."""
    dim = in_dim(model) if model else None
    if dim is None:
        return []
    if "sequential" in model:
        return [f"{name}.build((None, {dim}))"]
    if "fancy_mlp" in model:   # its Python control flow cannot be traced symbolically
        return [f"{name}.dense.build((None, {dim}))"]
    return [f"{name}(tf.keras.Input(shape=({dim},)))"]


def _recorded(body: list[str], record: bool, ctx: dict) -> list[str]:
    """Run `body` on the case's tape (a new one once a non-persistent tape was used)."""
    if not record:
        return body
    lines = []
    if ctx.get("_tape") != "open":
        lines.append(f"tape = tf.GradientTape(persistent={ctx.get('_persistent', False)})")
        ctx["_tape"] = "open"
    return lines + ["with tape:"] + ["    " + b for b in body]


def _step(kind: str, args: dict, model_text: str, classes: dict) -> list[str]:
    if kind == "initialize":
        init = args.get("init", "default")
        lines = [f"tf.keras.utils.set_random_seed({args['seed']})"] if "seed" in args else []
        return lines + [
            "# Keras has no initialize(): assign to the kernels that exist (biases keep zeros)",
            "for v in net.weights:",
            f"    if v.name in ('kernel', 'w'): v.assign({_init_expr(init, classes)}(v.shape))"
            if init != "default" else "    pass  # values were drawn when the weights were built",
        ]
    if kind == "forward":
        training = ", training=True" if args.get("mode") == "train" else ""
        return [f"X = tf.constant({_gen(args['input'])})"] + _recorded(
            [f"{args.get('as', 'out')} = net(X{training})"], args.get("record", True), classes)
    if kind == "backward":
        of = args.get("of", "out")
        if "head" in args:
            head = f"tf.constant({_gen(args['head'])})"
        elif args.get("loss") == "none":
            head = "None"   # a non-scalar target: TF sums implicitly
        elif args.get("loss") == "mean":
            head = f"tf.ones_like({of}) / tf.cast(tf.size({of}), {of}.dtype)"
        else:
            head = f"tf.ones_like({of})"   # = the gradient of tf.reduce_sum({of})
        grad_vars = classes.get("_grad_vars") or []
        sources = "net.trainable_variables" if model_text != "..." else f"[{', '.join(grad_vars)}]"
        if not classes.get("_persistent"):
            classes["_tape"] = "spent"   # a second tape.gradient() raises RuntimeError
        if model_text == "...":
            return [f"grads = dict(zip({grad_vars!r}, tape.gradient({of}, {sources}, output_gradients={head})))"]
        return [f"grads = tape.gradient({of}, {sources}, output_gradients={head})"]
    if kind == "tensor":
        maker = "tf.Variable" if args.get("requires_grad") else "tf.constant"
        device = "'/device:CPU:1'" if args.get("device") == "second" else "'/device:CPU:0'"
        return [f"with tf.device({device}):", f"    {args['name']} = {maker}({_gen(args['value'])})"]
    if kind == "compute":
        if args["fn"] == "setitem_zero":
            body = [f"{args['args'][0]}[0] = 0  # TypeError: no item assignment in TF"]
        else:
            body = [f"{args['out']} = {_COMPUTE[args['fn']].format(*args['args'])}"]
        return _recorded(body, args.get("record", True), classes)
    if kind == "update":
        v = args["value"]
        if args["how"] == "rebind":
            return [f"{v} = {v} - {args['lr']} * grads['{v}']  # now a Tensor, not a Variable"]
        return [f"{v}.assign_sub({args['lr']} * grads['{v}'])"]
    if kind == "sgd_step":
        return [f"for v, g in zip(net.trainable_variables, grads): v.assign_sub({args['lr']} * g)"]
    if kind == "save_tensors":
        value = args["value"]
        is_dict = isinstance(value, dict) and not any(
            k in value for k in ("uniform", "normal", "ones", "zeros", "arange", "values"))
        ext = ".npz" if isinstance(value, list) or is_dict else ".npy"
        name = args["file"] if args["file"].endswith(ext) else args["file"] + ext
        classes.setdefault("_files", {})[args["file"]] = name
        if isinstance(value, list):
            return [f"np.savez('{args['file']}', *[{', '.join(_gen(v) for v in value)}])"]
        if is_dict:
            items = ", ".join(f"{k}={_gen(v)}" for k, v in value.items())
            return [f"np.savez('{args['file']}', {items})  # the note's np.save(dict) needs pickle"]
        return [f"np.save('{args['file']}', tf.constant({_gen(value)}))"]
    if kind == "load_tensors":
        saved = classes.get("_files", {}).get(args["file"], args["file"])
        if saved.endswith(".npz"):
            return [f"with np.load('{saved}', allow_pickle=False) as data:",
                    f"    {args['as']} = [data[k] for k in data.files]  # or {{k: data[k] ...}} for a dict"]
        return [f"{args['as']} = np.load('{saved}', allow_pickle=False)"]
    if kind == "save_params":
        return [f"net.save_weights('{args['file']}')  # Keras 3: the name must end in .weights.h5"]
    if kind == "load_params":
        model = args.get("model") or classes.get("_model")
        shared: list = []
        text = _model(model, classes, shared) if model else model_text
        lines = shared + [f"net = {text}"] + _build_lines(model)
        return lines + [f"net.load_weights('{args['file']}')  # the model must be built"]
    if kind == "to_device":
        target = args.get("target", "model")
        device = "'/device:CPU:1'" if args["device"] == "second" else "'/device:CPU:0'"
        if target == "model":
            return [f"with tf.device({device}):  # Keras has no model.to(): re-create it there",
                    f"    net = {model_text}"] + ["    " + b for b in _build_lines(classes.get("_model"))]
        return [f"with tf.device({device}):", f"    {target} = tf.identity({target})"]
    if kind == "copy_to":
        device = "'/device:CPU:1'" if args["device"] == "second" else "'/device:CPU:0'"
        return [f"with tf.device({device}):", f"    {args['as']} = tf.identity({args['value']})"]
    if kind == "to_numpy":
        return [f"{args['as']} = {args['value']}.numpy()"]
    if kind == "write_param":
        return [f"# write {args['param']} (Dense kernels are (in, out), the transpose of (out, in))"]
    if kind == "read_param":
        return [f"# read {args['param']}: net.layers[i].kernel.numpy().T"]
    if kind == "zero_grad":
        return ["grads = None  # TF keeps no gradients on variables"]
    if kind == "probe":
        return [f"# probe {args.get('name')}"]
    return [f"# {kind}: {args}"]


def snippet(case) -> str:
    classes: dict = {}
    shared: list = []
    lines = ["import numpy as np", "import tensorflow as tf", ""]
    model = getattr(case, "model", None)
    model_text = _model(model, classes, shared) if model is not None else None
    body = shared + ([f"net = {model_text}"] if model_text is not None else []) + _build_lines(model)
    classes["_model"] = model
    steps = getattr(case, "steps", None) or []
    grad_vars = [a["name"] for k, a in steps if k == "tensor" and (a or {}).get("requires_grad")]
    classes["_persistent"] = any(k == "backward" and (a or {}).get("retain_graph") for k, a in steps)
    for kind, args in steps:
        classes["_grad_vars"] = grad_vars
        body.extend(_step(kind, args or {}, model_text or "...", classes))
    for key in ("_grad_vars", "_model", "_files", "_tape", "_persistent"):
        classes.pop(key, None)
    return "\n".join(lines + list(classes.values()) + body) + "\n"
