"""A short MXNet/Gluon program that reproduces a case, for the report.

Rule: text only, no MXNet import. The program uses the notes' idioms (nn.Block subclasses,
net.initialize, autograd.record, nd.save, copyto/as_in_context); the note classes (MLP,
MySequential, FancyMLP, ...) are named, not repeated: they live in models.py. Inputs
are the kit's NumPy generators, written out so the numbers are the same.
"""

from __future__ import annotations

from conformance.inputs import numpy_source

_HEADER = """\
import numpy as np
import mxnet as mx
from mxnet import autograd, gluon, init, nd
from mxnet.gluon import nn
# the notes' blocks (MLP, MySequential, FancyMLP, NestMLP, CenteredLayer, MyDense, ...)
from conformance.adapters.mxnet.models import blocks
from conformance.adapters.mxnet.init import my_init_class
globals().update(blocks())
MyInit = my_init_class()  # 000 §4.2.3
"""
_CLASSES = {
    "mlp": "MLP",
    "mlp_no_super": "MLPNoSuper",
    "list_mlp": "ListMLP",
    "fancy_mlp": "FancyMLP",
    "nest_mlp": "NestMLP",
    "centered": "CenteredLayer",
}
_COMPUTE = {
    "two_x_squared": "2 * {0} * {0}",
    "sum": "{0}.sum()",
    "add": "{0} + {1}",
    "mul": "{0} * {1}",
    "sum_two_x_squared": "(2 * {0} * {0}).sum()",
    "norm": "{0}.norm()",
    "add_out": "nd.elemwise_add({0}, {1}, out={2})",
}


def _init_expr(spec) -> str:
    if spec in (None, "default"):
        return "init.Uniform()"
    kind, args = next(iter(spec.items()))
    args = args or {}
    return {
        "normal": f"init.Normal(sigma={args.get('sigma', 0.01)})",
        "constant": f"init.Constant({args.get('value')})",
        "uniform": f"init.Uniform(scale={args.get('high')})",
        "xavier": "init.Xavier()",
        "zeros": "init.Zero()",
        "ones": "init.One()",
        "orthogonal": f"init.Orthogonal(scale={args.get('scale', 1.414)})",
        "msra": f"init.MSRAPrelu(factor_type='in', slope={args.get('slope', 0.25)})",
        "mixed": f"init.Mixed({args.get('patterns')!r}, [{', '.join(_init_expr(i) for i in args.get('inits', []))}])",
        "load": f"init.Load({args.get('file')!r}, default_init={_init_expr(args.get('default'))})",
        "custom": "MyInit()",
    }.get(kind, repr(spec))


_numpy = numpy_source


def _nd(spec: dict, ctx: str = "mx.cpu(0)") -> str:
    arr = _numpy(spec)
    return f"nd.array({arr}, ctx={ctx}, dtype={spec.get('dtype', 'float32')!r})"


def _value(spec) -> str:
    if isinstance(spec, list):
        return "[" + ", ".join(_nd(item) for item in spec) + "]"
    if isinstance(spec, dict) and not any(
        k in spec for k in ("uniform", "normal", "ones", "zeros", "arange", "values")
    ):
        return "{" + ", ".join(f"{k!r}: {_nd(v)}" for k, v in spec.items()) + "}"
    return _nd(spec)


def _gluon(path: str, param_dict: bool = False) -> str:
    """Canonical path -> Gluon expression: "0.weight" -> net[0].weight."""
    if param_dict:
        return f"net.get({path!r})"
    return "net" + "".join(f"[{t}]" if t.isdigit() else f".{t}" for t in path.split("."))


class _Writer:
    def __init__(self, second: str):
        self.lines: list[str] = []
        self.count = 0
        self.marked: dict[str, dict] = {}
        self.param_dict = False
        self.ctx = {"default": "mx.cpu(0)", "second": f"mx.{second}"}

    def model(self, node: dict) -> str:
        kind = next(k for k in node if k != "as")
        args = node[kind]
        if kind == "dense":
            extra = "".join(
                f", {k}={args[k]!r}" for k in ("activation", "in_units", "use_bias") if k in args
            )
            if args.get("params_from"):  # 004 §6.2: params=shared.params
                extra += f", params={args['params_from']}.params"
            expr = f"nn.Dense({args['units']}{extra})"
        elif kind == "named_sequential":  # note 001's add_module(name, block), Gluon's register_child
            self.count += 1
            var = f"seq{self.count}"
            self.lines.append(f"{var} = nn.Sequential()")
            for name, child in args.items():
                self.lines.append(f"{var}.register_child({self.model(child)}, {name!r})")
            expr = var
        elif kind == "my_sequential_by_object":  # note 001 as written, in Gluon: _children[block] = block
            self.count += 1
            var = f"seq{self.count}"
            self.lines.append(f"{var} = MySequentialByObject()  # add(): self._children[block] = block")
            for child in args:
                self.lines.append(f"{var}.add({self.model(child)})")
            expr = var
        elif kind == "fancy_mlp" and (args or {}).get("variant", "000") != "000":
            expr = {"001": "FixedHiddenMLP001()", "003": "FancyMLP003()", "004": "FancyMLP004()"}[args["variant"]]
            self.lines.append(f"# {expr}: see conformance/adapters/mxnet/note_models.py")
        elif kind in ("sequential", "my_sequential"):
            self.count += 1
            var = f"seq{self.count}"
            self.lines.append(
                f"{var} = {'nn.Sequential' if kind == 'sequential' else 'MySequential'}()"
            )
            for child in args:
                self.lines.append(f"{var}.add({self.model(child)})")
            expr = var
        elif kind == "reuse":
            marked = self.marked.get(args, {})
            if "dense" in marked:  # 000 §4.2.4: a second Dense that takes the first one's params
                extra = "".join(
                    f", {k}={marked['dense'][k]!r}"
                    for k in ("activation", "in_units", "use_bias")
                    if k in marked["dense"]
                )
                expr = f"nn.Dense({marked['dense']['units']}{extra}, params={args}.params)"
            else:
                expr = args  # the same block added again
        elif kind == "my_dense":
            expr = f"MyDense({args['units']}, in_units={args.get('in_units', 0)})"
        elif kind == "param_dict":
            self.param_dict = True
            self.lines.append("params = gluon.ParameterDict()")
            for name, shape in args["params"].items():
                self.lines.append(f"params.get({name!r}, shape={tuple(shape)})")
            expr = "params"
        elif kind == "relu":
            expr = "nn.Activation('relu')"
        elif kind == "flatten":
            expr = "nn.Flatten()"
        elif kind == "dropout":
            expr = f"nn.Dropout({args['rate']})"
        else:
            in_units = f"in_units={args['in_units']!r}" if args and "in_units" in args else ""
            expr = f"{_CLASSES[kind]}({in_units})"
        if "as" in node:
            self.marked[node["as"]] = node
            self.lines.append(f"{node['as']} = {expr}")
            return node["as"]
        return expr

    def step(self, kind: str, args: dict, model: dict | None) -> None:
        add = self.lines.append
        if kind == "initialize":
            if "seed" in args:
                add(f"mx.random.seed({args['seed']}); np.random.seed({args['seed']})")
            target = _gluon(args["target"], self.param_dict) if "target" in args else "net"
            add(
                f"{target}.initialize(init={_init_expr(args.get('init'))}, force_reinit={args.get('force_reinit', False)})"
            )
        elif kind == "forward":
            name, train = args.get("as", "out"), args.get("mode") == "train"
            scope = (
                f"autograd.record(train_mode={train})"
                if args.get("record", True)
                else ("autograd.train_mode()" if train else "autograd.predict_mode()")
            )
            add(f"with {scope}:\n    {name} = net({_nd(args['input'])})")
        elif kind == "backward":
            of = args.get("of", "out")
            grad = {"sum": f"nd.ones_like({of})", "mean": f"nd.ones_like({of}) / {of}.size"}.get(
                args.get("loss", "sum")
            )
            if "head" in args:
                grad = _nd(args["head"])
            out_grad = f"out_grad={grad}, " if grad else ""
            add(f"{of}.backward({out_grad}retain_graph={args.get('retain_graph', False)})")
        elif kind == "zero_grad":
            add("net.collect_params().zero_grad()")
        elif kind == "write_param":
            p = _gluon(args["param"], self.param_dict)
            if args.get("add") is not None:
                add(f"{p}.set_data({p}.data() + {args['add']})")
            if args.get("set") is not None:
                add(
                    f"{p}.data()[{', '.join(map(str, args['set']['index']))}] = {args['set']['value']}"
                )
            if args.get("fill") is not None:
                add(f"{p}.data()[:] = {args['fill']}")
        elif kind == "read_param":
            add(f"print({_gluon(args['param'], self.param_dict)}.data())")
        elif kind == "sgd_step":
            add(
                "for p in net.collect_params().values():\n"
                f"    p.data()[:] = p.data() - {args['lr']} * p.grad()"
            )
        elif kind == "save_tensors":
            add(f"nd.save({args['file']!r}, {_value(args['value'])})")
        elif kind == "load_tensors":
            add(f"{args['as']} = nd.load({args['file']!r})")
        elif kind == "save_params":
            add(f"net.save_parameters({args['file']!r})")
        elif kind == "load_params":
            add(f"net = {self.model(args.get('model') or model)}")
            ctx = self.ctx[args.get("device") or "default"]
            if args.get("initialize"):
                add(f"net.initialize(ctx={ctx})")
            add(f"net.load_parameters({args['file']!r}, ctx={ctx})")
        elif kind == "to_device":
            ctx, target = self.ctx[args["device"]], args.get("target", "model")
            add(
                f"net.collect_params().reset_ctx({ctx})"
                if target == "model"
                else f"{target} = {target}.as_in_context({ctx})"
            )
        elif kind == "tensor":
            add(f"{args['name']} = {_nd(args['value'], self.ctx[args.get('device', 'default')])}")
            if args.get("requires_grad"):
                add(f"{args['name']}.attach_grad()")
        elif kind == "compute":
            a = args["args"]
            expr = (
                f"{a[0]}[0] = 0; {args['out']} = {a[0]}"
                if args["fn"] == "setitem_zero"
                else _COMPUTE[args["fn"]].format(*a)
            )
            if args.get("record", True):
                add(
                    f"with autograd.record():\n    {args['out']} = {expr}"
                    if args["fn"] != "setitem_zero"
                    else f"with autograd.record():\n    {expr}"
                )
            else:
                add(f"{args['out']} = {expr}" if args["fn"] != "setitem_zero" else expr)
        elif kind == "update":
            w, lr = args["value"], args["lr"]
            add(
                f"{w} = {w} - {lr} * {w}.grad"
                if args["how"] == "rebind"
                else f"{w}[:] = {w} - {lr} * {w}.grad"
            )
        elif kind == "copy_to":
            how = "copyto" if args.get("how") == "copy" else "as_in_context"
            add(f"{args['as']} = {args['value']}.{how}({self.ctx[args['device']]})")
        elif kind == "to_numpy":
            add(f"{args['as']} = {args['value']}.asnumpy()")
        elif kind == "probe":
            add(_PROBES.get(args["name"], f"# probe {args['name']} {args.get('args', {})}"))
        elif kind == "random":
            call = ", ".join([str(args[k]) for k in ("low", "high") if k in args]
                             + ([f"shape={tuple(args['shape'])}"] if "shape" in args else []))
            add(f"{args['as']} = nd.random.uniform({call})")
        elif kind == "attach_grad":
            add(f"{args['value']}.attach_grad()")
        else:
            add(f"# {kind}: {args}")


_PROBES = {
    "is_training": "with autograd.record():\n    print(autograd.is_training())\nprint(autograd.is_training())",
    "devices": "print(mx.cpu(), mx.context.num_gpus())",
    "try_gpu": "try:\n    ctx = mx.gpu(); nd.zeros((1,), ctx=ctx)\nexcept mx.base.MXNetError:\n    ctx = mx.cpu()\nprint(ctx)",
    "structure": "print(net)",
    "param_type": "print(type(net.collect_params()[list(net.collect_params().keys())[0]]))",
    "default_device": "print(nd.ones((1,)).context)",
}


def snippet(case, second: str = "cpu(1)") -> str:
    writer = _Writer(second)
    if case.model is not None:
        writer.lines.append(f"net = {writer.model(case.model)}")
    for kind, args in case.steps:
        writer.step(kind, args, case.model)
    return _HEADER + "\n".join(writer.lines) + "\n"
