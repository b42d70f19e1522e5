"""A runnable PyTorch reproduction of a case: the classes it uses, the model, then each step.

Rule: the class sources are taken from `models.py` with `inspect`, so the snippet shows
the code that actually ran; everything else is generated text (best effort, never executed).
"""

from __future__ import annotations

import functools
import inspect
import keyword
import textwrap

from conformance.adapters.torch.build import Builder
from conformance.adapters.torch.models import classes
from conformance.inputs import numpy_source

_CLASS_OF = {
    "mlp": "MLP", "mlp_no_super": "MLPNoSuper", "list_mlp": "ListMLP", "my_sequential": "MySequential",
    "fancy_mlp": "FixedHiddenMLP", "nest_mlp": "NestMLP", "centered": "CenteredLayer",
}
_NEEDS_LINEAR_HELPER = ("MLP", "MLPNoSuper", "ListMLP")


def _ident(name: str) -> str:
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in str(name)) or "v"
    if text[0].isdigit() or keyword.iskeyword(text):
        text = f"v_{text}"
    return text


def _shape(shape) -> str:
    return "(" + ", ".join(str(int(d)) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def gen(spec: dict) -> str:
    """A generator spec -> torch expression giving the kit's numbers (NumPy draws them)."""
    return f"torch.tensor({numpy_source(spec)})"


def _gen_value(spec) -> str:
    if isinstance(spec, list):
        return "[" + ", ".join(gen(s) for s in spec) + "]"
    if isinstance(spec, dict) and not any(k in spec for k in ("uniform", "normal", "ones", "zeros", "arange", "values")):
        return "{" + ", ".join(f"{k!r}: {gen(v)}" for k, v in spec.items()) + "}"
    return gen(spec)


class _Model:
    """Model spec -> constructor expression, with `as` names bound first."""

    def __init__(self):
        self.prelude: list[str] = []
        self.classes: set[str] = set()
        self.reused: dict[str, list[str]] = {}
        self.spec: dict | None = None

    def expr(self, spec: dict, flat: bool = False) -> list[str]:
        kind = next(k for k in spec if k != "as")
        args = spec[kind] if spec[kind] is not None else {}
        relu = False
        if kind == "reuse":
            return [_ident(args)] + self.reused.get(args, [])
        if kind == "dense":
            bias = "" if args.get("use_bias", True) else ", bias=False"
            core = (f"nn.Linear({args['in_units']}, {args['units']}{bias})" if args.get("in_units")
                    else f"nn.LazyLinear({args['units']}{bias})")
            relu = args.get("activation") == "relu"
        elif kind in ("relu", "flatten"):
            core = {"relu": "nn.ReLU()", "flatten": "nn.Flatten()"}[kind]
        elif kind == "dropout":
            core = f"nn.Dropout({args['rate']})"
        elif kind in ("sequential", "my_sequential"):
            parts = [e for child in args for e in self.expr(child, flat=True)]
            cls = "nn.Sequential" if kind == "sequential" else "MySequential"
            self.classes.add(cls)
            core = f"{cls}(" + ", ".join(parts) + ")"
        elif kind == "my_sequential_by_object":  # note 001 as written: self._modules[block] = block
            parts = [e for child in args for e in self.expr(child, flat=True)]
            self.classes.add("NoteMySequential")
            core = "NoteMySequential(" + ", ".join(parts) + ")"
        elif kind == "named_sequential":  # note 001: net.add_module(f'block {i}', block1())
            parts = [f"({name!r}, {self.expr(child)[0]})" for name, child in args.items()]
            core = "nn.Sequential(__import__('collections').OrderedDict([" + ", ".join(parts) + "]))"
        elif kind == "fancy_mlp" and args.get("variant", "000") != "000":
            core = {"001": "FixedHiddenMLP001()", "003": "FancyMLP003()", "004": "FancyMLP004()"}[args["variant"]]
            self.prelude.append(f"# {core}: note {args['variant']}'s FancyMLP, see conformance/adapters/torch/note_models.py")
        elif kind in ("mlp", "mlp_no_super", "list_mlp"):
            core = f"{_CLASS_OF[kind]}({args.get('in_units', '')})"
        elif kind == "my_dense":
            via = ", read_via_data=True" if args.get("read_via_data") else ""
            core = (f"MyLinear({args['in_units']}, {args['units']}{via})" if args.get("in_units")
                    else f"LazyMyLinear({args['units']}{via})")
            self.classes.add("LazyMyLinear" if not args.get("in_units") else "MyLinear")
            if not args.get("in_units"):
                self.classes.add("MyLinear")
        elif kind == "param_dict":
            items = ", ".join(f"{n!r}: nn.Parameter(torch.randn{_shape(s)})" for n, s in args["params"].items())
            core = f"nn.ParameterDict({{{items}}})"
        else:
            core = f"{_CLASS_OF[kind]}()"
        self.classes.add(_CLASS_OF.get(kind, ""))
        tail = ["nn.ReLU()"] if relu and flat else []
        if relu and not flat:
            core = f"nn.Sequential({core}, nn.ReLU())"
        if "as" in spec:
            name = _ident(spec["as"])
            self.prelude.append(f"{name} = {core}")
            self.reused[spec["as"]] = tail
            core = name
        return [core] + tail


_DEFER = """
def apply_now_or_at_first_forward(init_fn):
    # A lazy layer has no values until its first forward: run init_fn then, in a forward
    # pre-hook registered after LazyLinear's own (so the parameters are materialized).
    def visit(m):
        if any(nn.parameter.is_lazy(p) for p in m.parameters(recurse=False)):
            def hook(mod, args):
                handle.remove()
                with torch.no_grad():
                    init_fn(mod)
            handle = m.register_forward_pre_hook(hook)
        else:
            init_fn(m)
    return visit
"""


def _accessor(native: str) -> str:
    out = "net"
    for part in native.split("."):
        if part.isdigit():
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:  # a child added under a name that is not an identifier (add_module('block 0', ...))
            out += f"._modules[{part!r}]"
    return out


@functools.lru_cache(maxsize=None)
def _source(name: str) -> str:
    """The source of one class (or the `linear` helper) of models.py, read once per process."""
    return textwrap.dedent(inspect.getsource(getattr(classes(), name)))


def _class_sources(names: set[str]) -> list[str]:
    wanted = [n for n in ("MySequential", "NoteMySequential", "MLP", "MLPNoSuper", "ListMLP", "FixedHiddenMLP", "NestMLP",
                          "CenteredLayer", "MyLinear", "LazyMyLinear") if n in names]
    out = []
    if any(n in _NEEDS_LINEAR_HELPER for n in wanted):
        out.append(_source("linear"))
    for name in wanted:
        out.append(_source(name))
    return out


def snippet(case, second: str) -> str:
    model = _Model()
    header = ["import numpy as np", "import torch", "from torch import nn", "from torch.nn import functional as F"]
    body: list[str] = []
    paths: dict[str, str] = {}
    lazy = False
    if case.model is not None:
        body += _model_lines(model, case.model, "net")
        try:
            from torch.nn.parameter import is_lazy

            built = Builder().build(case.model)
            paths = {p: s.native or p for p, s in built.slots.items()}
            lazy = any(is_lazy(s.get()) for s in built.slots.values())
        except Exception:  # noqa: BLE001 - e.g. mlp_no_super: construction itself fails
            paths = {}
    if lazy:
        body += _DEFER.splitlines()
    for index, (kind, args) in enumerate(case.steps):
        body.append(f"# step {index}: {kind}")
        step = _step_lines(kind, args, paths, second, model)
        if lazy and kind == "initialize":
            step = [line.replace(".apply(init_fn)", ".apply(apply_now_or_at_first_forward(init_fn))")
                    for line in step]
        body += step
    if "LazyMyLinear" in model.classes:
        header += ["from torch.nn.modules.lazy import LazyModuleMixin",
                   "from torch.nn.parameter import UninitializedParameter"]
    sources = _class_sources(model.classes)
    start = ["torch.manual_seed(0)  # the kit starts every case from this RNG state"]
    return "\n".join(header + [""] + sources + start + body) + "\n"


def _model_lines(model: _Model, spec: dict, var: str) -> list[str]:
    model.prelude = []
    model.spec = spec
    expr = model.expr(spec)
    return model.prelude + [f"{var} = {expr[0]}"]


def _param_expr(paths, path: str) -> str:
    return _accessor(paths.get(path, path))


def _layer_expr(paths, path: str) -> str:
    for p, native in paths.items():
        if p.rsplit(".", 1)[0] == path:
            return _accessor(native.rsplit(".", 1)[0])
    return _accessor(path) if path else "net"


def _init_lines(args, paths) -> list[str]:
    init = args.get("init", "default")
    seed = args.get("seed")
    target = args.get("target")
    lines = [f"torch.manual_seed({seed})"] if seed is not None else []
    if init == "default":
        if seed is None and not args.get("force_reinit"):
            return lines + ["# torch initializes at construction: nothing to do"]
        fn = ["def init_fn(m):", "    if isinstance(m, nn.Linear):", "        m.reset_parameters()"]
    else:
        (kind, a), = init.items()
        a = a or {}
        call = {
            "normal": f"nn.init.normal_({{w}}, mean={a.get('mean', 0)}, std={a.get('sigma', 0.01)})",
            "constant": f"nn.init.constant_({{w}}, {a.get('value')})",
            "uniform": f"nn.init.uniform_({{w}}, {a.get('low', -0.07)}, {a.get('high', 0.07)})",
            "xavier": "nn.init.xavier_uniform_({w})", "zeros": "nn.init.zeros_({w})",
            "ones": "nn.init.ones_({w})",
            "orthogonal": f"nn.init.orthogonal_({{w}}, gain={a.get('scale', 1.414)})",
            "msra": f"nn.init.kaiming_normal_({{w}}, a={a.get('slope', 0.25)}, mode='fan_in', nonlinearity='leaky_relu')",
            "mixed": "pass  # torch has no Mixed initializer (unsupported)",
            "load": "pass  # torch has no Load initializer (unsupported)",
            "custom": "nn.init.uniform_({w}, -10, 10); {w}.data *= {w}.data.abs() >= 5",
        }[kind]
        if target and target in paths:
            return lines + ["with torch.no_grad():", "    " + call.format(w=_param_expr(paths, target))]
        fn = ["def init_fn(m):", "    if isinstance(m, nn.Linear):"]
        if kind == "custom":
            fn.append('        print("Init", *[(name, p.shape) for name, p in m.named_parameters()][0])')
        fn.append("        " + call.format(w="m.weight"))
        if kind != "custom":
            fn.append("        nn.init.zeros_(m.bias)")
    owner = _layer_expr(paths, target) if target else "net"
    return lines + fn + [f"{owner}.apply(init_fn)"]


def _step_lines(kind: str, args: dict, paths: dict, second: str, model: _Model) -> list[str]:
    def dev(name):
        return "'cpu'" if name in (None, "default") else repr(second)

    v = _ident
    if kind == "initialize":
        return _init_lines(args, paths)
    if kind == "forward":
        mode = "net.train()" if args.get("mode") == "train" else "net.eval()"
        call = f"{v(args.get('as', 'out'))} = net({gen(args['input'])})"
        return [mode] + (["with torch.no_grad():", "    " + call] if args.get("record") is False else [call])
    if kind == "backward":
        y = v(args.get("of", "out"))
        target = {"sum": f"{y}.sum()", "mean": f"{y}.mean()", "none": y}[args.get("loss", "sum")]
        extra = [f"gradient={gen(args['head'])}"] if "head" in args else []
        extra += ["retain_graph=True"] if args.get("retain_graph") else []
        return [f"{target}.backward({', '.join(extra)})"]
    if kind == "zero_grad":
        return ["net.zero_grad()"]
    if kind == "write_param":
        p = _param_expr(paths, args["param"]) + ".data"
        if "add" in args:
            return [f"{p} += {args['add']}"]
        if "set" in args:
            return [f"{p}[{', '.join(map(str, args['set']['index']))}] = {args['set']['value']}"]
        return [f"{p}.fill_({args['fill']})"]
    if kind == "read_param":
        return [f"print({_param_expr(paths, args['param'])}.data)"]
    if kind == "sgd_step":
        return [f"torch.optim.SGD(net.parameters(), lr={args['lr']}).step()"]
    if kind == "save_tensors":
        return [f"torch.save({_gen_value(args['value'])}, {args['file']!r})"]
    if kind == "load_tensors":
        return [f"{v(args['as'])} = torch.load({args['file']!r}, weights_only=True)"]
    if kind == "save_params":
        return [f"torch.save(net.state_dict(), {args['file']!r})"]
    if kind == "load_params":
        spec = args.get("model") or model.spec
        lines = _model_lines(model, spec, "net") if spec else []
        location = f", map_location={dev(args['device'])}" if args.get("device") else ""
        if args.get("device"):
            lines.append(f"net.to({dev(args['device'])})")
        return lines + [f"net.load_state_dict(torch.load({args['file']!r}, weights_only=True{location}))"]
    if kind == "to_device":
        target = args.get("target", "model")
        return [f"net.to({dev(args['device'])})"] if target == "model" else [f"{v(target)} = {v(target)}.to({dev(args['device'])})"]
    if kind == "tensor":
        grad = ", requires_grad=True" if args.get("requires_grad") else ""
        return [f"{v(args['name'])} = torch.tensor({numpy_source(args['value'])}, device={dev(args.get('device'))}{grad})"]
    if kind == "compute":
        a = [v(x) for x in args["args"]]
        out = v(args["out"])
        expr = {
            "two_x_squared": f"{out} = 2 * {a[0]} * {a[0]}", "sum": f"{out} = {a[0]}.sum()",
            "add": f"{out} = {a[0]} + {a[-1]}", "mul": f"{out} = {a[0]} * {a[-1]}",
            "sum_two_x_squared": f"{out} = (2 * {a[0]} * {a[0]}).sum()",
            "setitem_zero": f"{a[0]}[0] = 0; {out} = {a[0]}",
            "norm": f"{out} = {a[0]}.norm()",
            "add_out": f"{out} = torch.add({a[0]}, {a[1 % len(a)]}, out={a[-1]})",
        }[args["fn"]]
        return ["with torch.no_grad():", "    " + expr] if args.get("record") is False else [expr]
    if kind == "update":
        w, lr = v(args["value"]), args["lr"]
        if args["how"] == "rebind":
            return [f"{w} = {w} - {lr} * {w}.grad"]
        return ["with torch.no_grad():", f"    {w} -= {lr} * {w}.grad"]
    if kind == "copy_to":
        src = v(args["value"])
        how = f"{src}.clone().to({dev(args['device'])})" if args["how"] == "copy" else f"{src}.to({dev(args['device'])})"
        return [f"{v(args['as'])} = {how}"]
    if kind == "to_numpy":
        return [f"{v(args['as'])} = {v(args['value'])}.detach().cpu().numpy()"]
    if kind == "probe":
        return {
            "is_training": ["print(torch.is_grad_enabled())  # no autograd training mode: see module.training"],
            "devices": ["print(torch.cuda.device_count(), [torch.device(f'cuda:{i}') for i in range(torch.cuda.device_count())])"],
            "try_gpu": ["print(torch.device('cuda:0') if torch.cuda.device_count() >= 1 else torch.device('cpu'))"],
            "structure": ["print(net)"],
            "param_type": ["print(type(next(net.parameters())))"],
            "default_device": ["print(torch.tensor([1, 2, 3]).device)"],
        }.get(args["name"], [f"# probe {args['name']}"])
    if kind == "snapshot":
        return [f"{v(args['as'])} = {{k: p.detach().clone() for k, p in net.named_parameters()}}"]
    return [f"# {kind}: {args}"]
