"""The Paddle idiom: programs as the Paddle tab of the Chinese edition of the book writes them.

Rule: a program builds `nn.Sequential(nn.Linear(in, out), nn.ReLU(), ...)` and the book's
nn.Layer subclasses, calls initializers on parameters (`weight_attr=paddle.ParamAttr(...)`,
`net.apply(init_fn)`), saves `net.state_dict()` and loads with `set_state_dict`, reaches each
parameter by Paddle's own indexing (`net[2].weight`) and lists them with `net.parameters()`.
nn.Linear keeps its weight (in, out): observations transpose it to the kit's (out, in), visibly.
Paddle has no shape inference, no initialize() and (before 3.0) no ParameterDict: `Unsupported`
naming Paddle's idiom, or the program runs Paddle's own idiom and records what it does. The
class writes the frame, the initializers and the steps; it builds models with `PaddleModels`
(models.py) and observes with `PaddleObservations` (observe.py).
"""

from __future__ import annotations

import functools
import os

from conformance.adapters.paddle.models import PaddleModels
from conformance.adapters.paddle.observe import PaddleObservations
from conformance.program.idiom import (
    Context,
    Idiom,
    Unsupported,
    comment,
    is_generator,
    literal,
    numpy_expr,
)
from conformance.spec.vocabulary import COMPUTE_FUNCTIONS, init_kind, model_kind

_NO_LEGACY = ("Paddle has no Layer.save_params/load_params (MXNet's pre-1.3 names): the idiom is "
              "paddle.save(net.state_dict(), path) and net.set_state_dict(paddle.load(path)) (Paddle 1.x's "
              "fluid.io.save_params saved a static Program's variables, not a Layer's)")


@functools.lru_cache(maxsize=1)
def _notes() -> dict:
    from conformance.program.idiom import notes_sources

    return notes_sources(os.path.join(os.path.dirname(__file__), "notes_code.py"))


class PaddleIdiom(PaddleModels, PaddleObservations, Idiom):
    framework = "paddle"
    imports = ("import paddle", "from paddle import nn", "from paddle.nn import functional as F")
    reserved = frozenset({"paddle", "nn", "F", "second", "params", "layer", "loaded", "data", "val", "devices",
                          "PARAMS", "IN_OUT", "canonical", "kit_layout", "storage", "device_of", "sd", "trainer"})
    host = '''\
def host(value):
    """A Paddle tensor as NumPy data."""
    return value.numpy() if isinstance(value, paddle.Tensor) else value
'''

    def preamble(self, ctx: Context) -> list[str]:
        lines = ['paddle.set_device("cpu")  # the notes\' default device: the CPU (a GPU is their second one)',
                 "paddle.seed(0)  # Paddle's global generator, seeded as a user would",
                 "paddle.utils.unique_name.switch()  # parameter names count from linear_0.w_0, as in a fresh process"]
        if ctx.state.get("second"):
            ctx.need_class("try_gpu")
            lines.append(f"second = try_gpu()  # the notes' GPU; {comment(self.column.devices.get('kind', ''))}")
        return lines

    def class_source(self, name: str) -> str:
        try:
            return _notes()[name]
        except KeyError:
            raise Unsupported(f"paddle: no notes code for {name}") from None

    # -- devices and inputs ---------------------------------------------------------------
    def place(self, name, ctx: Context) -> str | None:
        if name in (None, "default"):
            return None
        ctx.state["second"] = True
        return "second"

    def tensor_of(self, spec, ctx: Context, device=None, extra: str = "") -> str:
        where = self.place(device, ctx)
        return f"paddle.to_tensor({numpy_expr(spec)}{f', place={where}' if where else ''}{extra})"

    # -- initializers ---------------------------------------------------------------------
    def initializer(self, form) -> str:
        kind, args = init_kind(form)
        if kind == "normal":
            return f"nn.initializer.Normal(mean={literal(float(args.get('mean', 0.0)))}, std={literal(args.get('sigma', 0.01))})"
        if kind in ("constant", "zeros", "ones"):
            value = {"zeros": 0.0, "ones": 1.0}.get(kind, args.get("value"))
            return f"nn.initializer.Constant({literal(value)})"
        if kind == "uniform":
            return f"nn.initializer.Uniform(low={literal(args.get('low', -0.07))}, high={literal(args.get('high', 0.07))})"
        if kind == "xavier":
            return "nn.initializer.XavierUniform()"
        if kind == "orthogonal":
            return f"nn.initializer.Orthogonal(gain={literal(args.get('scale', 1.414))})"
        if kind == "bilinear":  # MXNet's init.Bilinear(): Paddle's own, for Conv2DTranspose weights
            return "nn.initializer.Bilinear()"
        if kind == "lstm_bias":
            raise Unsupported("Paddle has no LSTMBias initializer: nn.LSTM's bias_ih/bias_hh have no forget-bias "
                              "option; the idiom is a ParamAttr(initializer=...) for the whole bias, or "
                              "set_value on the forget slice")
        if kind == "msra":  # Gluon's MSRAPrelu(factor_type='in', slope): Kaiming normal for leaky_relu(slope)
            return f"nn.initializer.KaimingNormal(negative_slope={literal(args.get('slope', 0.25))}, nonlinearity='leaky_relu')"
        raise Unsupported(f"paddle has no {kind} initializer: its idioms are an init function applied with "
                          "net.apply(fn) that chooses per layer, and net.set_state_dict(paddle.load(path)) for saved values")

    # -- steps ----------------------------------------------------------------------------
    def initialize(self, args: dict, ctx: Context) -> list[str]:
        """Paddle has no initialize(): nn.Linear draws its parameters when it is built. An
        initializer is called on a parameter, or on every nn.Linear weight through net.apply."""
        kind, _ = init_kind(args.get("init", "default"))
        if kind == "default":  # nothing is drawn here, so the step's seed has nothing to seed
            return ["# Paddle has no initialize(): the layers drew their parameters when they were built"]
        lines = [f"paddle.seed({literal(args['seed'])})"] if "seed" in args else []
        target = args.get("target")
        if target in ctx.model.params:
            if kind == "custom":
                raise Unsupported("the book's my_init(m) initializes the weight of an nn.Linear layer m, not one parameter")
            return lines + [f"{self.initializer(args['init'])}({ctx.param(target)})"]
        owner = ctx.layer(target) if target else ctx.model.var
        if kind == "custom":
            ctx.need_class("my_init")
            return lines + [f"{owner}.apply(my_init)"]
        init = self.initializer(args["init"])
        if model_kind(ctx.model.spec) == "param_dict" and not target:
            return lines + [f"for param in {owner}.parameters():", f"    {init}(param)"]
        layers = "nn.Linear" if "MyLinear" not in ctx.classes else "(nn.Linear, MyLinear)"
        fn = ctx.name(f"init_{kind}")  # the book's init_normal, init_constant, ...
        return lines + [f"def {fn}(m):", f"    if {'type(m) == ' if '(' not in layers else 'type(m) in '}{layers}:",
                        f"        {init}(m.weight)", f"{owner}.apply({fn})"]

    def _mode(self, train: bool, ctx: Context) -> list[str]:
        """net.train() / net.eval() where the mode matters (dropout); a new nn.Layer trains."""
        if ctx.state.get("training") == train or not ctx.state.get("dropout"):
            return []
        ctx.state["training"] = train
        return [f"{ctx.model.var}.{'train' if train else 'eval'}()"]

    def forward(self, args: dict, ctx: Context) -> list[str]:
        out = ctx.name(args.get("as", "out"))
        lines = self._mode(args.get("mode") == "train", ctx)
        call = f"{out} = {ctx.model.var}({self.tensor_of(args['input'], ctx, args.get('device'))})"
        if args.get("record", True):
            return lines + [call]
        return lines + ["with paddle.no_grad():", f"    {call}"]

    def backward(self, args: dict, ctx: Context) -> list[str]:
        y = ctx.name(args.get("of", "out"))
        opts = []
        if "head" in args:
            target = y
            opts.append(f"grad_tensor={self.tensor_of(args['head'], ctx)}")
        else:
            target = {"sum": f"{y}.sum()", "mean": f"{y}.mean()", "none": y}[args.get("loss", "sum")]
        if args.get("retain_graph"):
            opts.append("retain_graph=True")
        return [f"{target}.backward({', '.join(opts)})"]

    def zero_grad(self, args: dict, ctx: Context) -> list[str]:
        if ctx.model and ctx.state.get("optimizer_of") == id(ctx.model):
            lines = ["trainer.clear_grad()"]  # a training loop clears through its optimizer (the book's trainer)
        else:
            lines = [f"{ctx.model.var}.clear_gradients()"] if ctx.model else []
        return lines + [f"{name}.clear_grad()" for name in ctx.state.get("with_grad", [])]

    def write_param(self, args: dict, ctx: Context) -> list[str]:
        p = ctx.param(args["param"])
        if "add" in args:
            return [f"{p}.set_value({p}.numpy() + {literal(args['add'])})"]
        if "set" in args:
            index = list(args["set"]["index"])
            note = ""
            if args["param"] in ctx.state["in_out"]:
                index, note = index[::-1], "  # nn.Linear keeps (in, out): the kit's [out, in] index reversed"
            return [f"val = {p}.numpy()", f"val[{', '.join(literal(i) for i in index)}] = {literal(args['set']['value'])}{note}",
                    f"{p}.set_value(val)"]
        return [f"{p}.set_value(paddle.full_like({p}, {literal(args['fill'])}))"]

    def read_param(self, args: dict, ctx: Context) -> list[str]:
        return [f"data = {ctx.param(args['param'])}.numpy()"]

    def sgd_step(self, args: dict, ctx: Context) -> list[str]:
        lr, var = literal(args["lr"]), ctx.model.var
        ctx.state["optimizer_of"] = id(ctx.model)
        if "wd" in args:  # note 002's wd: the optimizer's weight_decay (an L2Decay), on an optimizer made once
            made = ctx.state.get("trainer") == (args["lr"], args["wd"], id(ctx.model))
            ctx.state["trainer"] = (args["lr"], args["wd"], id(ctx.model))
            return ([] if made else [f"trainer = paddle.optimizer.SGD(learning_rate={lr}, parameters={var}.parameters(), "
                                     f"weight_decay={literal(float(args['wd']))})"]) + ["trainer.step()"]
        return [f"trainer = paddle.optimizer.SGD(learning_rate={lr}, parameters={var}.parameters())", "trainer.step()"]

    def _saved(self, value, ctx) -> str:
        if isinstance(value, list):
            return "[" + ", ".join(self.tensor_of(v, ctx) for v in value) + "]"
        if not is_generator(value):
            return "{" + ", ".join(f"{literal(k)}: {self.tensor_of(v, ctx)}" for k, v in value.items()) + "}"
        return self.tensor_of(value, ctx)

    def save_tensors(self, args: dict, ctx: Context) -> list[str]:
        return [f"paddle.save({self._saved(args['value'], ctx)}, {literal(args['file'])})"]

    def load_tensors(self, args: dict, ctx: Context) -> list[str]:
        return [f"{ctx.name(args['as'])} = paddle.load({literal(args['file'])})"]

    def save_params(self, args: dict, ctx: Context) -> list[str]:
        if args.get("legacy"):
            raise Unsupported(_NO_LEGACY)
        return [f"paddle.save({ctx.model.var}.state_dict(), {literal(args['file'])})"]

    def load_params(self, args: dict, ctx: Context) -> list[str]:
        if args.get("legacy"):
            raise Unsupported(_NO_LEGACY)
        ctx.model = self.build(args.get("model") or ctx.model.spec, ctx, ctx.model.var)
        lines = list(ctx.model.lines)
        if args.get("initialize"):
            lines.append("# Paddle has no initialize(): the layers drew their parameters when they were built")
        if args.get("device"):
            lines.append(f"{ctx.model.var}.to(device={self.place(args['device'], ctx) or 'paddle.CPUPlace()'})")
        return lines + [f"{ctx.model.var}.set_state_dict(paddle.load({literal(args['file'])}))"]

    def to_device(self, args: dict, ctx: Context) -> list[str]:
        where = self.place(args["device"], ctx) or "paddle.CPUPlace()"
        target = args.get("target", "model")
        if target == "model":
            return [f"{ctx.model.var}.to(device={where})"]
        name = ctx.name(target)
        if where == "paddle.CPUPlace()":  # the Tensor method Paddle's users move to the CPU with
            return [f"{name} = {name}.cpu()"]
        return [f"{name} = {name}.to({where})"]

    def tensor(self, args: dict, ctx: Context) -> list[str]:
        name = ctx.name(args["name"])
        grad = ", stop_gradient=False" if args.get("requires_grad") else ""
        lines = [f"{name} = {self.tensor_of(args['value'], ctx, args.get('device'), grad)}"]
        if args.get("requires_grad"):
            ctx.state.setdefault("with_grad", []).append(name)
            # Paddle's messages name a tensor: by default generated_tensor_N, a process-wide count
            lines.append(f"{name}.name = {literal(args['name'])}  # the name Paddle's messages give it")
        return lines

    def compute(self, args: dict, ctx: Context) -> list[str]:
        names = [ctx.name(a) for a in args["args"]]
        out = ctx.name(args["out"])
        if args["fn"] == "add_out":
            lines = [f"{out} = paddle.add({names[0]}, {names[1]}, out={names[2]})"]
        elif args["fn"] == "setitem_zero":
            lines = [f"{names[0]}[0] = 0", f"{out} = {names[0]}"]
        else:
            lines = [f"{out} = {COMPUTE_FUNCTIONS[args['fn']].python.format(*names)}"]
        if args.get("record", True):
            return lines
        return ["with paddle.no_grad():", *("    " + line for line in lines)]

    def update(self, args: dict, ctx: Context) -> list[str]:
        w, lr = ctx.name(args["value"]), literal(args["lr"])
        if args["how"] == "rebind":
            return [f"{w} = {w} - {lr} * {w}.grad  # a new tensor"]
        return ["with paddle.no_grad():", f"    {w}.set_value({w} - {lr} * {w}.grad)  # in place: the same tensor"]

    def copy_to(self, args: dict, ctx: Context) -> list[str]:
        value, where = ctx.name(args["value"]), self.place(args["device"], ctx) or "paddle.CPUPlace()"
        if args["how"] == "copy":  # to_tensor of a tensor always makes a new one
            return [f"{ctx.name(args['as'])} = paddle.to_tensor({value}, place={where})"]
        if where == "paddle.CPUPlace()":  # the Tensor method Paddle's users move to the CPU with
            return [f"{ctx.name(args['as'])} = {value}.cpu()"]
        return [f"{ctx.name(args['as'])} = {value}.to({where})"]

    def to_numpy(self, args: dict, ctx: Context) -> list[str]:
        return [f"{ctx.name(args['as'])} = {ctx.name(args['value'])}.numpy()"]

    def random(self, args: dict, ctx: Context) -> list[str]:
        if "shape" not in args:
            raise Unsupported("paddle.rand(shape) and paddle.uniform(shape, min, max) take a shape: "
                              "nd.random.uniform() with no arguments has no Paddle counterpart")
        shape = literal(list(args["shape"]))
        if "low" not in args and "high" not in args:  # the book writes nd.random.uniform(shape=...) as paddle.rand
            return [f"{ctx.name(args['as'])} = paddle.rand({shape})"]
        bounds = "".join(f", {k}={literal(float(args[a]))}" for a, k in (("low", "min"), ("high", "max")) if a in args)
        return [f"{ctx.name(args['as'])} = paddle.uniform({shape}{bounds})"]

    def attach_grad(self, args: dict, ctx: Context) -> list[str]:
        name = ctx.name(args["value"])
        ctx.state.setdefault("with_grad", []).append(name)
        return [f"{name}.stop_gradient = False  # Paddle's attach_grad"]
