"""A short, runnable reference program that reproduces a case, for the report.

Rule: text only, never executed here. The program uses the reference the way the
notes use Gluon (`net.initialize()`, `autograd.record()`, `save`/`load`), regenerates
the kit's seeded inputs with NumPy, and stops where the case expects an error.
"""

from __future__ import annotations

from conformance.inputs import GENERATOR_KINDS, numpy_source

_HEADER = (
    "import numpy as np\n"
    "from conformance import reference as ref\n"
    "from conformance.reference import autograd\n"
)
_CLASSES = {
    "mlp": "ref.MLP",
    "mlp_no_super": "ref.MLPNoSuper",
    "list_mlp": "ref.ListMLP",
    "fancy_mlp": "ref.FancyMLP",
    "nest_mlp": "ref.NestMLP",
    "centered": "ref.CenteredLayer",
}


def _gen(spec) -> str:
    """A kit input generator as the NumPy expression that makes the same array."""
    if not isinstance(spec, dict):
        return repr(spec)
    if not any(kind in spec for kind in GENERATOR_KINDS):
        return repr(spec)
    return numpy_source(spec)


def _value(spec) -> str:
    """save_tensors' value: a generator, a list of them or a dict of them, as tensors."""
    if isinstance(spec, list):
        return "[" + ", ".join(f"ref.array({_gen(s)})" for s in spec) + "]"
    kinds = ("uniform", "normal", "ones", "zeros", "arange", "values")
    if isinstance(spec, dict) and not any(k in spec for k in kinds):
        return "{" + ", ".join(f"{k!r}: ref.array({_gen(s)})" for k, s in spec.items()) + "}"
    return f"ref.array({_gen(spec)})"


def _init(spec) -> str:
    if spec in (None, "default"):
        return "None"
    kind, args = next(iter(spec.items()))
    args = args or {}
    return {
        "normal": f"ref.init.Normal(sigma={args.get('sigma', 0.01)}, mean={args.get('mean', 0.0)})",
        "constant": f"ref.init.Constant({args.get('value')!r})",
        "uniform": f"ref.init.Uniform(low={args.get('low')}, high={args.get('high')})",
        "xavier": "ref.init.Xavier()",
        "zeros": "ref.init.Zero()",
        "ones": "ref.init.One()",
        "orthogonal": f"ref.init.Orthogonal(scale={args.get('scale', 1.414)})",
        "msra": f"ref.init.MSRAPrelu(slope={args.get('slope', 0.25)})",
        "mixed": f"ref.init.Mixed({args.get('patterns')!r}, [{', '.join(_init(i) for i in args.get('inits', []))}])",
        "load": f"ref.init.Load({args.get('file')!r}, default_init={_init(args.get('default'))})",
        "custom": "ref.init.MyInit()",  # the notes' MyInit (000 §4.2.3): zero_small
    }.get(kind, repr(spec))


def _dense(args: dict, extra: str = "") -> str:
    opts = "".join(
        f", {k}={args[k]!r}" for k in ("activation", "in_units", "use_bias") if k in args
    )
    init = args.get("init") or {}
    if "weight" in init:
        opts += f", weight_initializer={_init(init['weight'])}"
    if "bias" in init:
        opts += f", bias_initializer={_init(init['bias'])}"
    return f"ref.Dense({args['units']}{opts}{extra})"


def _model(node: dict, lines: list[str], marked: dict) -> str:
    kind = next(k for k in node if k != "as")
    args = node[kind] if node[kind] is not None else {}
    if kind == "dense" and args.get("params_from"):  # 004 §6.2: params=shared.params
        expr = _dense(args, extra=f", params={args['params_from']}.params")
    elif kind == "dense":
        expr = _dense(args)
    elif kind == "named_sequential":  # 001: add_module(f'block {i}', block1()) -> register_child
        var = f"seq{sum(line.startswith('seq') for line in lines)}"
        lines.append(f"{var} = ref.Sequential()")
        for name, child in args.items():
            lines.append(f"{var}.register_child({_model(child, lines, marked)}, {name!r})")
        expr = var
    elif kind == "my_sequential_by_object":  # 001 as written: self._modules[block] = block
        var = f"seq{sum(line.startswith('seq') for line in lines)}"
        lines.append(f"{var} = ref.models.MySequentialByObject()")
        for child in args:
            lines.append(f"{var}.add({_model(child, lines, marked)})")
        expr = var
    elif kind == "fancy_mlp" and args.get("variant", "000") != "000":
        expr = f"ref.models.FANCY_VARIANTS[{args['variant']!r}]()"
    elif kind in ("sequential", "my_sequential"):
        var = f"seq{sum(line.startswith('seq') for line in lines)}"
        lines.append(f"{var} = ref.{'Sequential' if kind == 'sequential' else 'MySequential'}()")
        for child in args:
            lines.append(f"{var}.add({_model(child, lines, marked)})")
        expr = var
    elif kind == "reuse":
        target = marked.get(args, {})
        if "dense" in target:
            return _dense(target["dense"], extra=f", params={args}.params")  # 000 §4.2.4
        return args
    elif kind == "my_dense":
        via = ", read_via_data=True" if args.get("read_via_data") else ""
        expr = f"ref.MyDense({args['units']}, in_units={args.get('in_units', 0)}{via})"
    elif kind == "param_dict":
        lines.append("params = ref.ParameterDict()")
        for name, shape in args["params"].items():
            lines.append(f"params.get({name!r}, shape={tuple(shape)})")
        expr = "params"
    elif kind == "relu":
        expr = "ref.Activation('relu')"
    elif kind == "flatten":
        expr = "ref.Flatten()"
    elif kind == "dropout":
        expr = f"ref.Dropout({args.get('rate')})"
    else:
        in_units = f"in_units={args['in_units']}" if "in_units" in args else ""
        expr = f"{_CLASSES[kind]}({in_units})"
    if "as" in node:
        lines.append(f"{node['as']} = {expr}")
        marked[node["as"]] = node
        return node["as"]
    return expr


def _path(path: str, param_dict: bool) -> str:
    """Canonical path -> attribute expression: "0.weight" -> net[0].weight."""
    if param_dict:
        return f"net[{path!r}]"
    return "net" + "".join(f"[{t}]" if t.isdigit() else f".{t}" for t in path.split("."))


def _device(name) -> str:
    return "ref.vdev(1)" if name == "second" else "ref.cpu(0)"


_COMPUTE = {
    "two_x_squared": "2 * {0} * {0}",
    "sum": "{0}.sum()",
    "add": "{0} + {1}",
    "mul": "{0} * {1}",
    "sum_two_x_squared": "(2 * {0} * {0}).sum()",
    "norm": "{0}.norm()",
}


def _step(kind: str, a: dict, pd: bool, model_lines: list[str]) -> list[str]:
    if kind == "initialize":
        seed = a.get("seed")
        rng = f", rng=np.random.default_rng({seed})" if seed is not None else ""
        target = _path(a["target"], pd) if "target" in a else "net"
        force = a.get("force_reinit", False)
        where = f", device={_device(a['device'])}" if a.get("device") else ""
        return [f"{target}.initialize({_init(a.get('init'))}{where}, force_reinit={force}{rng})"]
    if kind == "forward":
        name, train = a.get("as", "out"), a.get("mode") == "train"
        if a.get("record", True):
            scope = f"autograd.record(train_mode={train})"
        else:
            scope = "autograd.train_mode()" if train else "autograd.predict_mode()"
        where = f", device={_device(a['device'])}" if a.get("device") else ""
        return [f"with {scope}:", f"    {name} = net(ref.array({_gen(a['input'])}{where}))"]
    if kind == "backward":
        of, retain = a.get("of", "out"), a.get("retain_graph", False)
        if "head" in a:
            head = f"ref.array({_gen(a['head'])})"
        else:
            head = {
                "sum": f"ref.ones({of}.shape)",
                "mean": f"ref.ones({of}.shape) / {of}.size",
            }.get(a.get("loss", "sum"), "None")
        return [f"{of}.backward({head}, retain_graph={retain})"]
    if kind == "zero_grad":
        lines = ["net.collect_params().zero_grad()"] if model_lines else []
        return lines + [  # tensors with a gradient attached are cleared too, as the adapter does
            "for _t in [v for v in list(globals().values()) if isinstance(v, ref.Tensor) and v.grad is not None]:",
            "    _t.grad[:] = 0",
        ]
    if kind == "write_param":
        p = _path(a["param"], pd)
        if "add" in a:
            return [f"{p}.set_data({p}.data() + {a['add']})"]
        if "set" in a:
            return [f"{p}.data()[{tuple(a['set']['index'])}] = {a['set']['value']}"]
        return [f"{p}.data()[:] = {a.get('fill')}"]
    if kind == "read_param":
        return [f"data = {_path(a['param'], pd)}.data().asnumpy()"]
    if kind == "sgd_step":
        return [
            "for p in net.collect_params().values():",
            "    if p.grad_req != 'null':",
            f"        p.data()[:] = p.data() - {a['lr']} * p.grad()",
        ]
    if kind == "save_tensors":
        return [f"ref.save({a['file']!r}, {_value(a['value'])})"]
    if kind == "load_tensors":
        return [f"{a.get('as', 'loaded')} = ref.load({a['file']!r})"]
    if kind == "save_params":
        return [f"ref.serialization.save_parameters(net, {a['file']!r})"]
    if kind == "load_params":
        lines: list[str] = []
        if "model" in a:
            lines.append(f"net = {_model(a['model'], lines, {})}")
        else:
            lines += model_lines
        if a.get("initialize"):
            lines.append("net.initialize()")
        device = f", device={_device(a['device'])}" if a.get("device") else ""
        return lines + [f"ref.serialization.load_parameters(net, {a['file']!r}{device})"]
    if kind == "to_device":
        target = a.get("target", "model")
        if target == "model":
            return [f"net.collect_params().reset_device({_device(a['device'])})"]
        return [f"{target} = {target}.as_in_context({_device(a['device'])})"]
    if kind == "tensor":
        line = f"{a['name']} = ref.array({_gen(a['value'])}, device={_device(a.get('device'))})"
        return [line] + ([f"{a['name']}.attach_grad()"] if a.get("requires_grad") else [])
    if kind == "compute":
        scope = "autograd.record()" if a.get("record", True) else "autograd.pause()"
        if a["fn"] == "setitem_zero":
            return [
                f"with {scope}:",
                f"    {a['args'][0]}[0] = 0",
                f"    {a['out']} = {a['args'][0]}",
            ]
        if a["fn"] == "add_out":  # nd.elemwise_add(X, Y, out=Z): the sum lands in Z's buffer
            x, y, z = a["args"]
            return [f"{z}[:] = {x} + {y}", f"{a['out']} = {z}"]
        return [f"with {scope}:", f"    {a['out']} = " + _COMPUTE[a["fn"]].format(*a["args"])]
    if kind == "update":
        v, lr = a["value"], a["lr"]
        if a.get("how") == "rebind":
            return [f"{v} = {v} - {lr} * {v}.grad  # a new array: no gradient attached"]
        return [f"{v}[:] = {v} - {lr} * {v}.grad  # in place: keeps the gradient buffer"]
    if kind == "copy_to":
        how = "copyto" if a.get("how") == "copy" else "as_in_context"
        return [f"{a.get('as')} = {a['value']}.{how}({_device(a['device'])})"]
    if kind == "to_numpy":
        return [f"{a.get('as')} = {a['value']}.asnumpy()"]
    if kind == "snapshot":
        return [f"{a['as']} = {{k: p.data().asnumpy() for k, p in net.collect_params().items()}}"]
    if kind == "probe":
        return [f"# probe {a['name']} {a.get('args', {})}: see conformance/adapters/reference/"]
    if kind == "random":
        low, high = a.get("low", 0.0), a.get("high", 1.0)
        return [f"{a['as']} = ref.array(ref.rng.uniform({low}, {high}, shape={tuple(a.get('shape', ()))}))"]
    if kind == "attach_grad":
        return [f"{a['value']}.attach_grad()"]
    return [f"# {kind}: {a}"]


def snippet(case) -> str:
    model_lines: list[str] = []
    param_dict = False
    if case.model is not None:
        param_dict = "param_dict" in case.model
        model_lines.append(f"net = {_model(case.model, model_lines, {})}")
    body: list[str] = []
    moved = None  # where a to_device step put the model: initialize() creates parameters there
    for kind, args in case.steps:
        args = args or {}
        if kind == "to_device" and args.get("target", "model") == "model":
            moved = args.get("device")
        if kind == "initialize" and moved is not None and "device" not in args:
            args = dict(args, device=moved)
        body += _step(kind, args, param_dict, model_lines)
    return _HEADER + "\n".join(model_lines + body) + "\n"
