"""Programs in TensorFlow/Keras, as note 003 and the TensorFlow tab of the book write them.

Rule: a program builds `tf.keras.Sequential` models and the notes' `tf.keras.Model` /
`Layer` subclasses, gives each layer its initializer at construction (`kernel_initializer=`:
Keras has no initialize()), creates the variables with `net.build(...)` when the input size is
known (else at the first call), records with `tf.GradientTape`, writes with `Variable.assign`,
saves with `save_weights` / `np.save`, places with `tf.device`. Every parameter is reached by
Keras' own indexing (`net.layers[2].kernel`, `net.dense1.bias`) and listed by Keras
(`net.weights`); a Dense kernel is (in, out), and an observation transposes it to the kit's
(out, in) in plain sight. Where Keras 2 and 3 differ, the code says so at the spot (`keras3`).
The class writes the frame, the initializers and the steps; it builds models with
`TensorflowModels` (models.py) and observes with `TensorflowObservations` (observe.py).
"""

from __future__ import annotations

import functools
import os

from conformance.adapters.tensorflow.models import KerasModel, TensorflowModels
from conformance.adapters.tensorflow.observe import GRAD_OF, TensorflowObservations
from conformance.inputs import generate_value
from conformance.program.idiom import (
    Context,
    Idiom,
    Unsupported,
    is_generator,
    literal,
    notes_sources,
    numpy_expr,
)
from conformance.spec.vocabulary import COMPUTE_FUNCTIONS, init_kind


@functools.lru_cache(maxsize=1)
def _notes() -> dict:
    return notes_sources(os.path.join(os.path.dirname(__file__), "notes_code.py"))


# What Keras has instead of the MXNet names of notes 000 and 002 it lacks.
_LACKS = {
    "bilinear": "Keras has no bilinear initializer: upsampling is tf.keras.layers.UpSampling2D(interpolation="
                "'bilinear') or a Conv2DTranspose whose kernel the user fills (no initializer computes it)",
    "lstm_bias": "Keras has no LSTMBias initializer: tf.keras.layers.LSTM(unit_forget_bias=True) adds 1 to the "
                 "forget gate's bias at initialization (a layer option, not an initializer of a given parameter)",
    "legacy": "Keras has no save_params/load_params (MXNet's pre-1.3 names): the idiom is model.save_weights(path) "
              "and model.load_weights(path)",
}
_INITIALIZERS = {"xavier": "GlorotUniform()", "zeros": "Zeros()", "ones": "Ones()", "constant": "Constant({value})",
                 "normal": "RandomNormal(mean={mean}, stddev={sigma})", "uniform": "RandomUniform({low}, {high})",
                 "orthogonal": "Orthogonal(gain={scale})",
                 # MXNet's MSRAPrelu(factor_type='in', slope): the untruncated He normal, scaled by the slope
                 "msra": "VarianceScaling(scale=2 / (1 + {slope} ** 2), mode='fan_in', distribution='untruncated_normal')"}
_DEFAULTS = {"mean": 0.0, "sigma": 0.01, "low": -0.07, "high": 0.07, "scale": 1.414, "slope": 0.25}
_COMPUTE = {"sum": "tf.reduce_sum({0})", "sum_two_x_squared": "tf.reduce_sum(2 * {0} * {0})", "norm": "tf.norm({0})"}


class TensorflowIdiom(TensorflowModels, TensorflowObservations, Idiom):
    framework = "tensorflow"
    reserved = frozenset({
        "tf", "os", "default", "second", "X", "tape", "empty_tape", "sources", "grads", "grad_of", "PARAMS",
        "KERNELS", "INITIALIZERS", "canonical", "as_canonical", "shape_of", "storage", "device_of", "inputs",
        "hidden", "data", "param", "grad", "inside", "outside", "dropout", "lines", "loaded", "names", "dense", "trainer",
        "np_save_as_written", "initialized", "weights", "w0", "cpus", "scope", "placed", "h5py", "key",
    })
    host = '''\
def host(value):
    """A TensorFlow tensor or Keras variable as NumPy data."""
    return value.numpy() if hasattr(value, "numpy") else value
'''

    def __init__(self, column):
        super().__init__(column)
        self.keras3 = int(str(column.components.get("keras", "3")).split(".")[0]) >= 3
        tf_version = tuple(int(p) for p in str(column.version).split(".")[:2] if p.isdigit())
        # TF >= 2.16 with Keras 2: tf.keras is tf_keras only when asked for before TF is imported
        legacy = ("import os", 'os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf.keras is tf_keras (Keras 2)')
        self.imports = (legacy if not self.keras3 and tf_version >= (2, 16) else ()) + ("import tensorflow as tf",)
        self.name = "path" if self.keras3 else "name"  # Keras 3: 'sequential/dense/kernel'; 2: 'dense/kernel:0'
        self.behind = ".value" if self.keras3 else ""  # the tf.Variable behind a Keras 3 variable

    def class_source(self, name: str) -> str:
        try:
            return _notes()[name]
        except KeyError:
            raise Unsupported(f"tensorflow: no notes code for {name}") from None

    def preamble(self, ctx: Context) -> list[str]:
        lines = ["tf.keras.utils.set_random_seed(0)  # Python's, NumPy's and TensorFlow's seeds"]
        if ctx.state.get("devices"):
            if self.column.second_is_virtual:
                lines += ["# the second device: this machine's CPU split into two logical CPUs (virtual, not a GPU)",
                          'cpus = tf.config.list_physical_devices("CPU")',
                          "tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)"]
            lines += [f"default = {literal(self.column.devices.get('default') or '/device:CPU:0')}",
                      f"second = {literal(self.column.devices.get('second') or '/device:CPU:1')}"]
        return lines

    def device(self, name, ctx: Context) -> str:
        ctx.state["devices"] = True
        return "second" if name == "second" else "default"

    def initializer(self, form, ctx: Context) -> str:
        kind, args = init_kind(form)
        if kind == "default":
            return "None"
        if kind == "custom":
            return f"{ctx.need_class('MyInit')}()"
        if kind in _LACKS:
            raise Unsupported(_LACKS[kind])
        if kind not in _INITIALIZERS:
            raise Unsupported(f"Keras has no {kind} initializer: each layer takes its own initializer at construction "
                              "(kernel_initializer=...), and saved values load with load_weights")
        values = {k: literal(float(args.get(k, v))) for k, v in _DEFAULTS.items()}
        return "tf.keras.initializers." + _INITIALIZERS[kind].format(**values, value=literal(args.get("value")))

    # -- steps ----------------------------------------------------------------------------------------
    def initialize(self, args: dict, ctx: Context) -> list[str]:
        model: KerasModel = ctx.model
        init = args.get("init", "default")
        if ctx.step == ctx.state.get("construction_init"):
            built = self._build_lines(model)
            ctx.state["built"] = ctx.state.get("built") or bool(built) or model.how == "built"
            return ["# Keras has no initialize(): the layers took their initializers at construction", *built]
        lines = [f"tf.keras.utils.set_random_seed({literal(args['seed'])})"] if "seed" in args else []
        target = args.get("target")
        if target is None:  # the book's idiom: a new model whose layers take the initializer
            dim = ctx.state.get("input_dim") if ctx.state.get("built") else None
            ctx.model = self.build(model.spec, ctx, model.var, init=init)
            return lines + ["# Keras has no initialize(): a new model whose layers take the initializer (the book's idiom)",
                            *ctx.model.lines, *self._build_lines(ctx.model, dim)]
        given = self.initializer(init, ctx)
        paths = [target] if target in model.params else [p for p in model.kernels if p == target + ".weight"]
        if not ctx.state.get("built") or given == "None" or not paths:
            raise Unsupported("Keras has no initialize(): a layer takes its initializer at construction, and a built "
                              "variable is given values with assign")
        lines.append("# Keras has no initialize(): a fresh draw of the initializer assigned to the variable")
        return lines + [f"{ctx.param(p)}.assign({given}({ctx.param(p)}.shape, {ctx.param(p)}.dtype))" for p in paths]

    def _recorded(self, body: list[str], record: bool, ctx: Context, made: str) -> list[str]:
        """`body` on the case's tape; a new tape when none is open (a spent non-persistent tape
        is not reused: tape.gradient on it raises, as the user's next backward would)."""
        if not record:
            return body
        ctx.state.setdefault("recorded", set()).add(made)
        lines = []
        if ctx.state.get("tape") != "open":
            # the book's tf.GradientTape(): its default releases the tape at the first gradient()
            lines.append("tape = tf.GradientTape(persistent=True)" if _retains(ctx) else "tape = tf.GradientTape()")
            ctx.state["tape"] = "open"
        return lines + ["with tape:"] + ["    " + line for line in body]

    def _placed(self, line: str, device, ctx: Context) -> list[str]:
        if device in (None, "default"):
            return [line]
        return [f"with tf.device({self.device(device, ctx)}):", "    " + line]

    def forward(self, args: dict, ctx: Context) -> list[str]:
        out = ctx.name(args.get("as", "out"))
        training = ", training=True" if args.get("mode") == "train" else ""
        ctx.state["input_dim"] = generate_value(args["input"]).shape[-1]
        ctx.state["built"] = True
        return self._placed(f"X = tf.constant({numpy_expr(args['input'])})", args.get("device"), ctx) + \
            self._recorded([f"{out} = {ctx.model.var}(X{training})"], args.get("record", True), ctx, out)

    def backward(self, args: dict, ctx: Context) -> list[str]:
        y = ctx.name(args.get("of", "out"))
        ctx.helper("grad_of", GRAD_OF)
        lines, tape = [], "tape"
        if y not in ctx.state.get("recorded", ()):  # no tape recorded y: one that recorded nothing
            lines, tape = ["with tf.GradientTape() as empty_tape:", f"    pass  # {y} was computed outside any tape"], \
                "empty_tape"
        if "head" in args:
            head = f", output_gradients=tf.constant({numpy_expr(args['head'])})"
        elif args.get("loss", "sum") == "sum":
            head = f", output_gradients=tf.ones_like({y})"  # the gradient of tf.reduce_sum(y)
        elif args.get("loss") == "mean":
            head = f", output_gradients=tf.ones_like({y}) / tf.cast(tf.size({y}), {y}.dtype)"
        else:
            head = ""  # tape.gradient of a non-scalar target sums it
        watched = ctx.state.get("watched", [])
        parts = ([f"{ctx.model.var}.trainable_variables"] if ctx.model else []) + (
            [f"[{', '.join(watched)}]"] if watched else [])
        if tape == "tape" and not _retains(ctx):
            ctx.state["tape"] = "spent"
        return lines + [f"sources = {' + '.join(parts) or '[]'}", f"grads = {tape}.gradient({y}, sources{head})"]

    def zero_grad(self, args: dict, ctx: Context) -> list[str]:
        ctx.helper("grad_of", GRAD_OF)
        return ["grads = None  # TF keeps no gradient on a variable: dropping what tape.gradient returned clears it"]

    def write_param(self, args: dict, ctx: Context) -> list[str]:
        p = ctx.param(args["param"])
        if "add" in args:
            return [f"{p}.assign({p} + {literal(args['add'])})"]
        if "set" in args:
            index = list(args["set"]["index"])
            if args["param"] in ctx.model.kernels:  # the kit's [out, in] is the kernel's [in, out]
                index = index[::-1]
            return [f"{p}[{', '.join(literal(i) for i in index)}].assign({literal(float(args['set']['value']))})"]
        return [f"{p}.assign(tf.fill({p}.shape, {literal(float(args['fill']))}))"]

    def read_param(self, args: dict, ctx: Context) -> list[str]:
        return [f"data = tf.convert_to_tensor({ctx.param(args['param'])})"]

    def sgd_step(self, args: dict, ctx: Context) -> list[str]:
        ctx.helper("grad_of", GRAD_OF)
        if "wd" in args:  # note 002's wd: the Keras optimizer's weight_decay, on an optimizer made once
            made = ctx.state.get("trainer") == (args["lr"], args["wd"], id(ctx.model))
            ctx.state["trainer"] = (args["lr"], args["wd"], id(ctx.model))
            return ([] if made else [f"trainer = tf.keras.optimizers.SGD(learning_rate={literal(args['lr'])}, "
                                     f"weight_decay={literal(args['wd'])})"]) + \
                [f"trainer.apply_gradients([(grad_of(param), param) for param in {ctx.model.var}.trainable_variables])"]
        return [f"for param in {ctx.model.var}.trainable_variables:", "    grad = grad_of(param)",
                "    if grad is not None:", f"        param.assign_sub({literal(args['lr'])} * grad)"]

    def save_tensors(self, args: dict, ctx: Context) -> list[str]:
        value, file = args["value"], args["file"]
        kind = "array" if is_generator(value) else "list" if isinstance(value, list) else "dict"
        suffix = ".npy" if kind == "array" else ".npz"
        ctx.state.setdefault("files", {})[file] = (kind, file if file.endswith(suffix) else file + suffix)
        if kind == "array":  # note 003: np.save of a tensor
            return [f"np.save({literal(file)}, tf.constant({numpy_expr(value)}))"]
        # a list or dict: np.savez keeps each tensor (the note's np.save of them needs pickle)
        items = [f"tf.constant({numpy_expr(v)})" for v in value] if kind == "list" else \
            ["**{" + ", ".join(f"{literal(k)}: tf.constant({numpy_expr(v)})" for k, v in value.items()) + "}"]
        return [f"np.savez({literal(file)}, {', '.join(items)})"]

    def load_tensors(self, args: dict, ctx: Context) -> list[str]:
        kind, path = ctx.state.get("files", {}).get(args["file"], ("array", args["file"]))
        name = ctx.name(args["as"])
        if kind == "array":
            return [f"{name} = np.load({literal(path)}, allow_pickle=False)"]
        items = "[loaded[key] for key in loaded.files]" if kind == "list" else "{key: loaded[key] for key in loaded.files}"
        return [f"with np.load({literal(path)}, allow_pickle=False) as loaded:", f"    {name} = {items}"]

    def save_params(self, args: dict, ctx: Context) -> list[str]:
        if args.get("legacy"):
            raise Unsupported(_LACKS["legacy"])
        return [f"{ctx.model.var}.save_weights({literal(args['file'])})"]

    def load_params(self, args: dict, ctx: Context) -> list[str]:
        if args.get("legacy"):
            raise Unsupported(_LACKS["legacy"])
        ctx.model = self.build(args.get("model") or ctx.model.spec, ctx, ctx.model.var, init="default")
        lines = ["# a new model; load_weights needs its variables: build() creates them when the input size is known",
                 *ctx.model.lines]
        built = self._build_lines(ctx.model)
        if args.get("device") and built:
            lines += [f"with tf.device({self.device(args['device'], ctx)}):  # variables live where they are created",
                      *["    " + line for line in built]]
        else:
            lines += built
        ctx.state["built"] = bool(built) or ctx.model.how == "built"
        return lines + [f"{ctx.model.var}.load_weights({literal(args['file'])})"]

    def to_device(self, args: dict, ctx: Context) -> list[str]:
        target = args.get("target", "model")
        if target == "model":
            raise Unsupported("Keras has no model.to(device): a model's variables are created on the device in "
                              "scope when it is built (`with tf.device(...)`) and stay there")
        name = ctx.name(target)
        return [f"with tf.device({self.device(args['device'], ctx)}):", f"    {name} = tf.identity({name})"]

    def tensor(self, args: dict, ctx: Context) -> list[str]:
        name = ctx.name(args["name"])
        if args.get("requires_grad"):
            ctx.state.setdefault("watched", []).append(name)
        make = "tf.Variable" if args.get("requires_grad") else "tf.constant"
        return self._placed(f"{name} = {make}({numpy_expr(args['value'])})", args.get("device"), ctx)

    def compute(self, args: dict, ctx: Context) -> list[str]:
        names, out, fn = [ctx.name(a) for a in args["args"]], ctx.name(args["out"]), args["fn"]
        if fn == "add_out":
            raise Unsupported("TF tensors are immutable and its ops take no out=: the idiom is Variable.assign(a + b)")
        if fn == "setitem_zero":
            body = [f"{names[0]}[0] = 0", f"{out} = {names[0]}"]
        else:
            body = [f"{out} = {(_COMPUTE.get(fn) or COMPUTE_FUNCTIONS[fn].python).format(*names)}"]
        return self._recorded(body, args.get("record", True), ctx, out)

    def update(self, args: dict, ctx: Context) -> list[str]:
        w, lr = ctx.name(args["value"]), literal(args["lr"])
        ctx.helper("grad_of", GRAD_OF)
        if args["how"] == "rebind":
            return [f"{w} = {w} - {lr} * grad_of({w})  # a new tensor, no longer the tf.Variable"]
        return [f"{w}.assign_sub({lr} * grad_of({w}))  # in place: the same tf.Variable"]

    def copy_to(self, args: dict, ctx: Context) -> list[str]:
        return [f"with tf.device({self.device(args['device'], ctx)}):  # TF's copy and move are one idiom",
                f"    {ctx.name(args['as'])} = tf.identity({ctx.name(args['value'])})"]

    def to_numpy(self, args: dict, ctx: Context) -> list[str]:
        return [f"{ctx.name(args['as'])} = {ctx.name(args['value'])}.numpy()"]

    def random(self, args: dict, ctx: Context) -> list[str]:
        if "shape" not in args:
            raise Unsupported("tf.random.uniform needs a shape; nd.random.uniform() with no shape has no TF counterpart")
        opts = [literal(tuple(args["shape"]))] + [literal(float(args[k])) for k in ("low", "high") if k in args]
        return [f"{ctx.name(args['as'])} = tf.random.uniform({', '.join(opts)})"]

    def attach_grad(self, args: dict, ctx: Context) -> list[str]:
        name = ctx.name(args["value"])
        ctx.state.setdefault("watched", []).append(name)
        return [f"{name} = tf.Variable({name})  # the book's TensorFlow idiom: a tape watches variables"]


def _retains(ctx: Context) -> bool:
    """Whether some backward of the case keeps its graph: TF decides that when the tape is made."""
    return any(kind == "backward" and args.get("retain_graph") for kind, args in ctx.case.steps)
