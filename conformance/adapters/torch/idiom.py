"""The PyTorch idiom: programs as note 001 and the torch tab of d2l-en write them.

Rule: a program builds `nn.Sequential` / `nn.Module` subclasses (a layer used twice is the
same module object at two positions), initializes with `net.apply(init_fn)` where the init
function is the book's (`init_normal`, `init_constant`, `init_xavier`, `init_42`, `my_init`)
or with `nn.init` on one parameter, records autograd with `requires_grad=True`, saves with
`torch.save(net.state_dict(), ...)` and loads with `net.load_state_dict(torch.load(...,
weights_only=True))`. Every parameter is reached through torch's own indexing (`net[2].weight`,
`net.hidden.bias`) and listed by `named_parameters()`. torch has no `initialize()`: its
layers draw their parameters when built (LazyLinear: at its first call), so a default
initialize writes nothing. The class writes the frame, the initializations and the steps; it
builds models with `TorchModels` (models.py) and observes with `TorchObservations` (observe.py).
"""

from __future__ import annotations

import functools
import os

from conformance.adapters.torch.models import TorchModels
from conformance.adapters.torch.observe import TorchObservations
from conformance.program.idiom import (
    Context,
    Idiom,
    Unsupported,
    is_generator,
    literal,
    notes_sources,
    numpy_expr,
)
from conformance.spec.vocabulary import init_kind, model_kind

# The book's init functions (d2l-en, torch tab: init_normal, init_constant, init_xavier, init_42):
# each sets what the book's function sets, and nothing more.
_INIT_CALL = {
    "normal": ("init_normal", "nn.init.normal_({p}, mean={mean}, std={sigma})"),
    "constant": ("init_constant", "nn.init.constant_({p}, {value})"),
    "xavier": ("init_xavier", "nn.init.xavier_uniform_({p})"),
    "uniform": ("init_uniform", "nn.init.uniform_({p}, a={low}, b={high})"),
    "zeros": ("init_zeros", "nn.init.zeros_({p})"),
    "ones": ("init_ones", "nn.init.ones_({p})"),
    "orthogonal": ("init_orthogonal", "nn.init.orthogonal_({p}, gain={scale})"),
    # MXNet's MSRAPrelu(factor_type='in', slope): std = sqrt(2 / ((1 + slope**2) * fan_in))
    "msra": ("init_msra", "nn.init.kaiming_normal_({p}, a={slope}, mode='fan_in', nonlinearity='leaky_relu')"),
}
_INIT_DEFAULTS = {"mean": 0, "sigma": 0.01, "low": -0.07, "high": 0.07, "scale": 1.414, "slope": 0.25}
# What torch has instead of the MXNet initializers of note 000's table.
_NO_INIT = {
    "bilinear": "torch.nn.init has no bilinear initializer: the torch tab of d2l (FCN) writes its own "
                "bilinear_kernel() and copies it into nn.ConvTranspose2d's weight (user code, not torch's API)",
    "lstm_bias": "torch.nn.init has no LSTMBias: nn.LSTM's bias_ih_l0/bias_hh_l0 (gates i, f, g, o) have no "
                 "forget-bias option; users write the forget slice themselves (bias.data[h:2 * h].fill_(1.0))",
}


_NO_LEGACY = ("torch has no save_params/load_params (MXNet's pre-1.3 names): the idiom is "
              "torch.save(net.state_dict(), file) and net.load_state_dict(torch.load(file))")


@functools.lru_cache(maxsize=1)
def _notes() -> dict:
    return notes_sources(os.path.join(os.path.dirname(__file__), "notes_code.py"))


def _first_init_step(case) -> int | None:
    return next((i for i, (kind, _) in enumerate(case.steps) if kind == "initialize"), None)


def _first_default_init(case):
    """The seed of the case's first initialize when it asks for the default initialization: in
    torch that seed goes before the model is built, where the default initialization happens."""
    first = _first_init_step(case)
    if first is None:
        return None
    args = case.steps[first][1]
    return args.get("seed") if init_kind(args.get("init", "default"))[0] == "default" else None


class TorchIdiom(TorchModels, TorchObservations, Idiom):
    framework = "torch"
    imports = ("import torch", "from torch import nn", "from torch.nn import functional as F")
    reserved = frozenset({"torch", "nn", "F", "default", "second", "data", "params", "state", "loaded", "trainer",
                          "PARAMS", "X"})
    host = '''\
def host(value):
    """A torch tensor as NumPy data (detached, copied to host memory)."""
    return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
'''

    def preamble(self, ctx):
        second = self.column.devices.get("second") or "meta"
        why = "a GPU" if not str(second).startswith("meta") else \
            "no GPU here: torch's meta device (shapes, no data) stands in; a virtual device"
        seed = _first_default_init(ctx.case)
        seed = 0 if seed is None else seed
        return [f"torch.manual_seed({literal(seed)})  # torch draws the parameters as the layers are built: seed first",
                "default = torch.device('cpu')",
                f"second = torch.device({literal(str(second))})  # {why}"]

    def class_source(self, name: str) -> str:
        try:
            return _notes()[name]
        except KeyError:
            raise Unsupported(f"torch: no notes code for {name}") from None

    # -- inputs ---------------------------------------------------------------------------
    def tensor_expr(self, spec, device=None, requires_grad=False) -> str:
        opts = ", device=second" if device == "second" else ""
        opts += ", requires_grad=True" if requires_grad else ""
        return f"torch.tensor({numpy_expr(spec)}{opts})"

    # -- initialization ---------------------------------------------------------------------
    def _init_line(self, kind: str, args: dict, param: str) -> str:
        if kind in _NO_INIT:
            raise Unsupported(_NO_INIT[kind])
        if kind not in _INIT_CALL:
            raise Unsupported(f"torch has no {kind} initializer: the idiom is net.apply(fn) with nn.init, choosing "
                              "by module, or load_state_dict for saved values")
        values = {k: literal(args.get(k, v)) for k, v in _INIT_DEFAULTS.items()}
        values["value"] = literal(args.get("value", 0))
        return _INIT_CALL[kind][1].format(p=param, **values)

    def _init_fn(self, kind: str, args: dict, whole: bool, ctx: Context) -> str:
        """The name of the book's init function for an initializer, added to the program."""
        if kind == "custom":
            return ctx.need_class("my_init")
        name = _INIT_CALL.get(kind, (f"init_{kind}",))[0]
        # the book's test is type(m) == nn.Linear; a model holding the notes' MyLinear names it too
        types = ["nn.Linear"] + [c for c in ("MyLinear", "MyLinearData") if c in ctx.classes]
        test = f"type(m) == {types[0]}" if len(types) == 1 else f"type(m) in ({', '.join(types)})"
        lines = [f"    if {test}:", f"        {self._init_line(kind, args, 'm.weight')}"]
        if kind == "normal" or (kind == "constant" and whole):  # d2l's init_normal / init_constant zero the bias
            lines.append("        nn.init.zeros_(m.bias)")
        elif kind == "constant" and isinstance(args.get("value"), int):
            name = f"init_{args['value']}"  # d2l's init_42, applied to one layer: the weight only
        source = "\n".join([f"def {name}(m):", *lines]) + "\n"
        base, n = name, 1
        while ctx.helpers.get(name, source) != source:
            n += 1
            name = f"{base}_{n}"
            source = source.replace(f"def {base}(m)", f"def {name}(m)", 1)
        return ctx.helper(name, source)

    def initialize(self, args: dict, ctx: Context) -> list[str]:
        lines = [f"torch.manual_seed({literal(args['seed'])})"] if "seed" in args else []
        kind, iargs = init_kind(args.get("init", "default"))
        target = args.get("target")
        if kind == "default":
            if args.get("force_reinit") or target:
                raise Unsupported("torch redraws a layer's default initialization only through its "
                                  "reset_parameters(); the book's torch tab writes no such step")
            if _first_default_init(ctx.case) is not None and ctx.step == _first_init_step(ctx.case):
                lines = []  # its seed is the program's first line: torch drew the parameters at construction
            return lines + ["# torch drew every parameter when its layer was built (nn.LazyLinear: at its first "
                            "call); there is no initialize() to call"]
        if model_kind(ctx.model.spec) == "param_dict" and target is None:
            if kind == "custom":
                raise Unsupported("note 001's my_init is applied with net.apply to nn.Linear modules; "
                                  "an nn.ParameterDict holds no module")
            return lines + [self._init_line(kind, iargs, p) for p in ctx.model.params.values()]
        if target in ctx.model.params:  # one parameter: nn.init on it, as 001 does inside its init functions
            if kind == "custom":
                raise Unsupported("note 001's my_init takes a module (net.apply(my_init)), not one parameter")
            return lines + [self._init_line(kind, iargs, ctx.param(target))]
        layer = ctx.layer(target) if target else ctx.model.var
        return lines + [f"{layer}.apply({self._init_fn(kind, iargs, target is None, ctx)})"]

    # -- steps ----------------------------------------------------------------------------
    def _mode(self, mode: str, ctx: Context) -> list[str]:
        """torch modules start in training mode; dropout follows net.train() / net.eval()."""
        if ctx.state.get("mode", "train") == mode:
            return []
        ctx.state["mode"] = mode
        return [f"{ctx.model.var}.{mode}()"]

    def forward(self, args: dict, ctx: Context) -> list[str]:
        out = ctx.name(args.get("as", "out"))
        lines = self._mode("train" if args.get("mode") == "train" else "eval", ctx)
        call = f"{out} = {ctx.model.var}({self.tensor_expr(args['input'], args.get('device'))})"
        if args.get("record", True):
            return lines + [call]
        return lines + ["with torch.no_grad():", f"    {call}"]

    def backward(self, args: dict, ctx: Context) -> list[str]:
        y = ctx.name(args.get("of", "out"))
        retain = ", retain_graph=True" if args.get("retain_graph") else ""
        if "head" in args:
            return [f"{y}.backward(gradient={self.tensor_expr(args['head'])}{retain})"]
        loss = args.get("loss", "sum")
        target = {"sum": f"{y}.sum()", "mean": f"{y}.mean()", "none": y}[loss]
        return [f"{target}.backward({retain.lstrip(', ')})"]

    def zero_grad(self, args: dict, ctx: Context) -> list[str]:
        if ctx.model and ctx.state.get("optimizer_of") == id(ctx.model):
            lines = ["trainer.zero_grad()"]  # a training loop clears through its optimizer (the book's trainer)
        else:
            lines = [f"{ctx.model.var}.zero_grad()"] if ctx.model else []
        return lines + [f"{name}.grad.zero_()" for name in ctx.state.get("with_grad", [])]

    def write_param(self, args: dict, ctx: Context) -> list[str]:
        p = ctx.param(args["param"])
        if "add" in args:
            return [f"{p}.data[:] += {literal(args['add'])}"]
        if "set" in args:
            index = ", ".join(literal(i) for i in args["set"]["index"])
            return [f"{p}.data[{index}] = {literal(args['set']['value'])}"]
        return [f"{p}.data[:] = {literal(args['fill'])}"]

    def read_param(self, args: dict, ctx: Context) -> list[str]:
        return [f"data = {ctx.param(args['param'])}.data"]

    def sgd_step(self, args: dict, ctx: Context) -> list[str]:
        ctx.state["optimizer_of"] = id(ctx.model)
        if "wd" in args:  # note 002's wd: SGD's weight_decay, on an optimizer the book makes once
            made = ctx.state.get("trainer") == (args["lr"], args["wd"], id(ctx.model))
            ctx.state["trainer"] = (args["lr"], args["wd"], id(ctx.model))
            return ([] if made else [f"trainer = torch.optim.SGD({ctx.model.var}.parameters(), "
                                     f"lr={literal(args['lr'])}, weight_decay={literal(args['wd'])})"]) + ["trainer.step()"]
        return [f"trainer = torch.optim.SGD({ctx.model.var}.parameters(), lr={literal(args['lr'])})", "trainer.step()"]

    def _saved(self, value) -> str:
        if isinstance(value, list):
            return "[" + ", ".join(self.tensor_expr(v) for v in value) + "]"
        if not is_generator(value):
            return "{" + ", ".join(f"{literal(k)}: {self.tensor_expr(v)}" for k, v in value.items()) + "}"
        return self.tensor_expr(value)

    def save_tensors(self, args: dict, ctx: Context) -> list[str]:
        return [f"torch.save({self._saved(args['value'])}, {literal(args['file'])})"]

    def load_tensors(self, args: dict, ctx: Context) -> list[str]:
        return [f"{ctx.name(args['as'])} = torch.load({literal(args['file'])}, weights_only=True)"]

    def save_params(self, args: dict, ctx: Context) -> list[str]:
        if args.get("legacy"):
            raise Unsupported(_NO_LEGACY)
        return [f"torch.save({ctx.model.var}.state_dict(), {literal(args['file'])})"]

    def load_params(self, args: dict, ctx: Context) -> list[str]:
        if args.get("legacy"):
            raise Unsupported(_NO_LEGACY)
        ctx.model = self.build(args.get("model") or ctx.model.spec, ctx, ctx.model.var)
        ctx.state["mode"] = "train"
        var = ctx.model.var
        lines = list(ctx.model.lines)
        if args.get("initialize"):
            lines.append("# the new model's parameters were drawn when it was built: no initialize() to call")
        if args.get("device"):
            lines.append(f"{var} = {var}.to({self._device(args['device'])})")
        return lines + [f"{var}.load_state_dict(torch.load({literal(args['file'])}, weights_only=True))"]

    @staticmethod
    def _device(name) -> str:
        return "second" if name == "second" else "default"

    def to_device(self, args: dict, ctx: Context) -> list[str]:
        target = args.get("target", "model")
        name = ctx.model.var if target == "model" else ctx.name(target)
        return [f"{name} = {name}.to({self._device(args['device'])})"]

    def tensor(self, args: dict, ctx: Context) -> list[str]:
        name = ctx.name(args["name"])
        if args.get("requires_grad"):
            ctx.state.setdefault("with_grad", []).append(name)
        return [f"{name} = {self.tensor_expr(args['value'], args.get('device'), args.get('requires_grad'))}"]

    def compute(self, args: dict, ctx: Context) -> list[str]:
        names = [ctx.name(a) for a in args["args"]]
        out = ctx.name(args["out"])
        if args["fn"] == "add_out":  # torch.add(x, y, out=z): the sum lands in z's memory
            lines = [f"{out} = torch.add({names[0]}, {names[1]}, out={names[2]})"]
        elif args["fn"] == "setitem_zero":
            lines = [f"{names[0]}[0] = 0", f"{out} = {names[0]}"]
        else:
            lines = [f"{out} = {self.compute_expr(args['fn'], names, ctx)}"]
        if args.get("record", True):
            return lines
        return ["with torch.no_grad():", *("    " + line for line in lines)]

    def update(self, args: dict, ctx: Context) -> list[str]:
        w, lr = ctx.name(args["value"]), literal(args["lr"])
        if args["how"] == "rebind":
            return [f"{w} = {w} - {lr} * {w}.grad  # the name now holds the result, a new tensor"]
        return ["with torch.no_grad():", f"    {w} -= {lr} * {w}.grad  # written into w itself (d2l's sgd)"]

    def copy_to(self, args: dict, ctx: Context) -> list[str]:
        copy = ", copy=True" if args["how"] == "copy" else ""  # Tensor.to(copy=True): always a new tensor
        return [f"{ctx.name(args['as'])} = {ctx.name(args['value'])}.to({self._device(args['device'])}{copy})"]

    def to_numpy(self, args: dict, ctx: Context) -> list[str]:
        return [f"{ctx.name(args['as'])} = {ctx.name(args['value'])}.numpy()"]

    def random(self, args: dict, ctx: Context) -> list[str]:
        if "shape" not in args:
            raise Unsupported("torch's random functions take a size: nd.random.uniform() with no arguments (one "
                              "number of shape (1,)) is torch.rand(1), a call with an argument the case leaves out")
        shape = literal(tuple(args["shape"]))
        if "low" not in args and "high" not in args:
            return [f"{ctx.name(args['as'])} = torch.rand{shape}"]
        low, high = literal(args.get("low", 0)), literal(args.get("high", 1))
        return [f"{ctx.name(args['as'])} = torch.empty{shape}.uniform_({low}, {high})"]

    def attach_grad(self, args: dict, ctx: Context) -> list[str]:
        name = ctx.name(args["value"])
        ctx.state.setdefault("with_grad", []).append(name)
        return [f"{name}.requires_grad_()"]
