"""A standalone PaddlePaddle reproduction of a case: the classes it uses, the model, each step,
then one `observe ...` line per parameter, value and error (what the kit records).

Rule: the output runs with paddle and numpy only (nothing of the kit), and does what the
session does in the same order, so it draws the same random numbers and prints what the
case observed. Class sources come from `models` through `inspect`, so the snippet shows the
code that actually ran. Generating a snippet never raises into the run (the adapter catches).
"""

from __future__ import annotations

import inspect
import keyword
import textwrap

from conformance.adapters.paddle.build import Builder
from conformance.adapters.paddle.models import classes, is_parameter_dict
from conformance.inputs import generate, numpy_source

_CLASS_OF = {
    "mlp": "MLP", "mlp_no_super": "MLPNoSuper", "list_mlp": "ListMLP", "my_sequential": "MySequential",
    "fancy_mlp": "FixedHiddenMLP", "nest_mlp": "NestMLP", "centered": "CenteredLayer", "my_dense": "MyLinear",
}
_VARIANTS = {"001": "FixedHiddenMLP001", "003": "FancyMLP003", "004": "FancyMLP004"}
_ORDER = ("MyDenseKwargs", "MySequential", "NoteMySequential", "FixedHiddenMLP001", "FancyMLP003", "FancyMLP004", "MLP", "MLPNoSuper", "ListMLP", "FixedHiddenMLP", "NestMLP", "CenteredLayer", "MyLinear")

_MY_INIT = '''
def my_init(param):
    # the notes' MyInit: U(-10, 10), then zero every entry with |w| < 5
    print("Init", param.name, list(param.shape))
    w = paddle.uniform(param.shape, dtype=param.dtype, min=-10.0, max=10.0)
    w = w * (w.abs() >= 5).astype(w.dtype)
    param.set_value(w)
'''

_HELPERS = {
    "share": '''
def share(layer, source):
    # Gluon's params=shared.params: this Linear uses the parameters of `source`
    source = source if isinstance(source, nn.Linear) else source[0]
    layer.weight, layer.bias = source.weight, source.bias
    return layer
''',
    "named_sequential": '''
def named_sequential(*pairs):
    # torch's add_module(name, m) is Paddle's add_sublayer(name, layer)
    seq = nn.Sequential()
    for name, layer in pairs:
        seq.add_sublayer(name, layer)
    return seq
''',
}

_OBSERVE = '''
# -- what the kit observes (canonical layout differs: nn.Linear stores its weight as (in, out)) --
def observe(kind, name, t):
    if isinstance(t, (list, tuple)):
        for i, v in enumerate(t):
            observe(kind, f"{name}[{i}]", v)
        return
    if isinstance(t, dict):
        for k, v in t.items():
            observe(kind, f"{name}[{k}]", v)
        return
    a = np.asarray(t.numpy() if hasattr(t, "numpy") else t, dtype=np.float64)
    print("observe", kind, name, list(a.shape), f"sum={a.sum():.6g}")


if "net" in globals():
    try:
        for name, p in net.named_parameters():
            observe("param", name, p)
            if p.grad is not None:
                observe("grad", name, p.grad)
    except Exception as exc:  # e.g. a registry keyed by layers cannot be listed
        print("observe listing-error", type(exc).__name__, exc)
'''


def _ident(name: str) -> str:
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in str(name)) or "v"
    if text[0].isdigit() or keyword.iskeyword(text):
        text = f"v_{text}"
    return text


def gen(spec: dict) -> str:
    """A generator spec -> Paddle expression giving the kit's numbers (NumPy draws them)."""
    return f"paddle.to_tensor({numpy_source(spec)})"


def _gen_value(spec) -> str:
    if isinstance(spec, list):
        return "[" + ", ".join(gen(s) for s in spec) + "]"
    if isinstance(spec, dict) and not any(k in spec for k in ("uniform", "normal", "ones", "zeros", "arange", "values")):
        return "{" + ", ".join(f"{k!r}: {gen(v)}" for k, v in spec.items()) + "}"
    return gen(spec)


_INIT_EXPR = {
    "normal": "nn.initializer.Normal(mean={mean}, std={sigma})",
    "constant": "nn.initializer.Constant(value={value})",
    "uniform": "nn.initializer.Uniform(low={low}, high={high})",
    "xavier": "nn.initializer.XavierUniform()",
    "zeros": "nn.initializer.Constant(value=0.0)",
    "ones": "nn.initializer.Constant(value=1.0)",
    "orthogonal": "nn.initializer.Orthogonal(gain={scale})",
    "msra": "nn.initializer.KaimingNormal(negative_slope={slope}, nonlinearity='leaky_relu')",
}


def init_expr(init) -> str:
    (kind, args), = init.items()
    args = dict(args or {})
    values = {"mean": float(args.get("mean", 0.0)), "sigma": float(args.get("sigma", 0.01)),
              "value": float(args.get("value", 0)), "low": float(args.get("low", -0.07)),
              "high": float(args.get("high", 0.07)), "scale": float(args.get("scale", 1.414)),
              "slope": float(args.get("slope", 0.25))}
    return _INIT_EXPR[kind].format(**values)


class _Model:
    """Model spec -> one constructor expression, evaluated in the builder's order; a layer
    marked `as` is bound with `:=` where it is built, so the draws happen in the same order."""

    def __init__(self, input_shape):
        self.tensors: set[str] = set()
        self.helpers: set[str] = set()
        self.classes: set[str] = set()
        self.input_shape = input_shape
        self.spec: dict | None = None

    def expr(self, spec: dict, shape, flat: bool = False):
        """(expressions, output shape), mirroring Builder.item."""
        kind = next(k for k in spec if k != "as")
        args = spec[kind] if spec[kind] is not None else {}
        relu = False
        out = shape
        if kind == "reuse":
            return [_ident(args)] + (self.tails.get(args, [])), self.shapes.get(args)
        if kind == "dense":
            n_in = args.get("in_units") or (shape[-1] if shape else None)
            attrs = ""
            inits = args.get("init") or {}
            no_bias = args.get("use_bias", True) is False
            for attr in ("weight", "bias"):
                init = inits.get(attr)
                if attr == "bias" and no_bias:
                    attrs += ", bias_attr=False"
                elif init not in (None, "default") and next(iter(init)) != "custom":
                    attrs += f", {attr}_attr=paddle.ParamAttr(initializer={init_expr(init)})"
            core = f"nn.Linear({n_in}, {args['units']}{attrs})"
            if args.get("params_from"):
                self.helpers.add("share")
                core = f"share({core}, {_ident(args['params_from'])})"
            relu = args.get("activation") == "relu"
            out = _replace_last(shape, args["units"])
        elif kind in ("relu", "flatten"):
            core = {"relu": "nn.ReLU()", "flatten": "nn.Flatten()"}[kind]
            if kind == "flatten" and shape is not None and len(shape) >= 2:
                n = 1
                for d in shape[1:]:
                    n *= d
                out = (shape[0], n)
        elif kind == "dropout":
            core = f"nn.Dropout(p={args['rate']})"
        elif kind == "named_sequential":
            pairs = []
            for name, child in args.items():
                made, out = self.expr(child, out)
                pairs.append(f"({name!r}, {made[0]})")
            self.helpers.add("named_sequential")
            core = "named_sequential(" + ", ".join(pairs) + ")"
        elif kind in ("sequential", "my_sequential", "my_sequential_by_object"):
            parts = []
            for child in args:
                made, out = self.expr(child, out, flat=True)
                parts += made
            cls = {"sequential": "nn.Sequential", "my_sequential": "MySequential",
                   "my_sequential_by_object": "NoteMySequential"}[kind]
            self.classes.add(cls)
            core = f"{cls}(" + ", ".join(parts) + ")"
        elif kind in ("mlp", "mlp_no_super", "list_mlp", "nest_mlp"):
            n_in = args.get("in_units") or (shape[-1] if shape else 20)
            core = f"{_CLASS_OF[kind]}({n_in})"
            out = _replace_last(shape, 16 if kind == "nest_mlp" else 10)
        elif kind == "my_dense":
            n_in = args.get("in_units") or (shape[-1] if shape else None)
            via = ", read_via_data=True" if args.get("read_via_data") else ""
            core = f"MyLinear({n_in}, {args['units']}{via})"
            out = _replace_last(shape, args["units"])
        elif kind == "param_dict":
            items = ", ".join(f"{n!r}: paddle.create_parameter(shape={list(s)}, dtype='float32')"
                              for n, s in args["params"].items())
            core = f"nn.ParameterDict({{{items}}})"
        elif kind == "fancy_mlp":
            variant = args.get("variant", "000")
            cls = _VARIANTS.get(variant, "FixedHiddenMLP")
            self.classes.add(cls)
            n_in = (shape[-1] if shape else 10) if variant == "004" else ""
            core = f"{cls}({n_in})"
            out = ()
        else:
            core = f"{_CLASS_OF[kind]}()"
        if kind != "fancy_mlp":
            self.classes.add(_CLASS_OF.get(kind, ""))
        tail = ["nn.ReLU()"] if relu and flat else []
        if relu and not flat:
            core = f"nn.Sequential({core}, nn.ReLU())"
        if "as" in spec:
            name = _ident(spec["as"])
            core = f"({name} := {core})"
            self.tails[spec["as"]] = tail
            self.shapes[spec["as"]] = out
            return [core] + tail, out
        return [core] + tail, out

    def line(self, spec: dict, var: str = "net") -> str:
        self.tails: dict[str, list[str]] = {}
        self.shapes: dict = {}
        self.spec = spec
        made, _ = self.expr(spec, self.input_shape)
        return f"{var} = {made[0]}"


def _replace_last(shape, units):
    if shape is None:
        return None
    return tuple(shape[:-1]) + (int(units),) if len(shape) else (int(units),)


def _accessor(native: str, dict_root: bool = False) -> str:
    out = "net"
    parts = native.split(".")
    if dict_root:
        return f"net[{native!r}]"
    for part in parts:
        out += f"[{part}]" if part.isdigit() else f".{part}"
    return out


def _class_sources(names: set[str]) -> list[str]:
    C = classes()
    return [textwrap.dedent(inspect.getsource(getattr(C, n))) for n in _ORDER if n in names]


class _Paths:
    """Canonical paths -> native accessors, from a model built the way the session builds it."""

    def __init__(self, model, input_shape):
        self.slots = {}
        self.layer_order: list[tuple[str, object, object]] = []
        self.dict_root = isinstance(model, dict) and "param_dict" in model
        if model is None:
            return
        try:
            built = Builder(input_shape).build(model)
        except Exception:  # noqa: BLE001 - e.g. mlp_no_super: construction itself fails
            return
        self.slots = built.slots
        self.built = built
        # The order in which Layer.apply visits the layers (post-order), with their accessors.
        native_of = {}
        for path, slot in built.slots.items():
            native_of.setdefault(id(slot.layer), (slot.native or path).rsplit(".", 1)[0]
                                 if "." in (slot.native or path) else "")
        visited = []
        built.root.apply(lambda m: visited.append(m))
        self.layer_order = [(native_of.get(id(m)), m, built) for m in visited if id(m) in native_of]

    def access(self, native: str) -> str:
        """Native dotted name -> Python accessor: Sequential children by index, other
        containers (the book's MySequential) through their _sub_layers registry."""
        if self.dict_root:
            return f"net[{native!r}]"
        built = getattr(self, "built", None)
        if built is None:
            return _accessor(native)
        out, node = "net", built.root
        nn = classes().nn
        for part in native.split(".") if native else []:
            if part.isdigit() and isinstance(node, nn.Sequential):
                out += f"[{part}]"
            elif part.isdigit() or not part.isidentifier():
                out += f"._sub_layers[{part!r}]"
            else:
                out += f".{part}"
            node = _child(node, part)
        return out

    def param(self, path: str) -> str:
        slot = self.slots.get(path)
        native = (slot.native or path) if slot is not None else path
        return self.access(native)

    def layer(self, path: str) -> str:
        for p, slot in self.slots.items():
            if p.rsplit(".", 1)[0] == path:
                native = slot.native or p
                return self.access(native.rsplit(".", 1)[0]) if "." in native else "net"
        return self.access(path) if path else "net"

    def transposed(self, path: str) -> bool:
        slot = self.slots.get(path)
        return bool(slot and slot.transposed)


def _child(node, part: str):
    if node is None:
        return None
    if isinstance(node, list):
        return node[int(part)] if part.isdigit() and int(part) < len(node) else None
    sub = getattr(node, "_sub_layers", {})
    if part in sub:
        return sub[part]
    return getattr(node, part, None)


def _init_lines(args, paths: _Paths, model_spec) -> list[str]:
    init = args.get("init", "default")
    seed = args.get("seed")
    target = args.get("target")
    lines = [f"paddle.seed({seed})"] if seed is not None else []
    redraw = seed is not None or args.get("force_reinit")
    if target and target in paths.slots:
        p = paths.param(target)
        if init == "default":
            is_bias = target.endswith("bias")
            return lines + [f"{'nn.initializer.Constant(0.0)' if is_bias else 'nn.initializer.XavierUniform()'}({p})"]
        if next(iter(init)) == "custom":
            return lines + [f"my_init({p})"]
        return lines + [f"{init_expr(init)}({p})"]
    owner = paths.layer(target) if target else "net"
    if init == "default":
        if not redraw:
            return lines + ["# Paddle initializes at construction (nn.Linear: XavierUniform weight, zero bias): nothing to do"]
        # Draw again as the constructors did, in the order Layer.apply visits the layers.
        body = []
        built = getattr(paths, "built", None)
        visit = []
        if built is not None:
            (built.layers.get(target) if target else built.root).apply(visit.append)
        C = classes()
        order = {id(m): i for i, m in enumerate(visit)}
        layer_inits = {id(layer): inits for layer, inits, _ in built.layer_inits} if built is not None else {}
        for native, layer, _ in sorted(paths.layer_order, key=lambda t: order.get(id(t[1]), 1 << 30)):
            if id(layer) not in order:
                continue
            acc = paths.access(native) if native else "net"
            if is_parameter_dict(layer):
                for name, _ in layer.named_parameters():
                    body.append(f"nn.initializer.XavierUniform()(net[{name!r}])")
                continue
            inits = layer_inits.get(id(layer), {})
            for attr in ("weight", "bias"):
                if getattr(layer, attr, None) is None:
                    continue
                given = inits.get(attr, "default")
                if given not in (None, "default"):
                    expr = "my_init" if next(iter(given)) == "custom" else init_expr(given)
                elif isinstance(layer, C.nn.Linear) and attr == "bias":
                    expr = "nn.initializer.Constant(0.0)"
                else:
                    expr = "nn.initializer.XavierUniform()"
                body.append(f"{expr}({acc}.{attr})")
        return lines + ["with paddle.no_grad():"] + ["    " + b for b in body or ["pass"]]
    (kind, _), = init.items()
    if kind in ("mixed", "load"):
        return lines + [(f"# paddle has no {kind} initializer: net.apply(fn) choosing by layer, "
                        "or net.set_state_dict(paddle.load(path))")]
    fn = ["def init_fn(m):", "    if isinstance(m, (nn.Linear, MyLinear)):" if "MyLinear" in _class_names(model_spec)
          else "    if isinstance(m, nn.Linear):"]
    if kind == "custom":
        fn.append("        my_init(m.weight)")
    else:
        fn.append(f"        {init_expr(init)}(m.weight)")
        fn.append("        nn.initializer.Constant(0.0)(m.bias)")
    if _has_param_dict(model_spec):
        fn += ["    elif isinstance(m, nn.ParameterDict):", "        for _, p in m.named_parameters():",
               "            my_init(p)" if kind == "custom" else f"            {init_expr(init)}(p)"]
    return lines + fn + ["with paddle.no_grad():", f"    {owner}.apply(init_fn)"]


def _class_names(spec) -> set:
    names = set()

    def walk(node):
        if isinstance(node, list):
            for n in node:
                walk(n)
        elif isinstance(node, dict):
            for k, v in node.items():
                if k == "fancy_mlp" and isinstance(v, dict) and v.get("variant", "000") != "000":
                    names.add(_VARIANTS[v["variant"]])
                elif k == "my_sequential_by_object":
                    names.add("NoteMySequential")
                elif k in _CLASS_OF:
                    names.add(_CLASS_OF[k])
                walk(v)
    walk(spec)
    return names


def _has_param_dict(spec) -> bool:
    return "param_dict" in repr(spec)


def _first_input_shape(case):
    for kind, args in case.steps:
        if kind == "forward":
            return tuple(generate(args["input"]).shape)
    return None


def snippet(case) -> str:
    input_shape = _first_input_shape(case)
    model = _Model(input_shape)
    header = ["import numpy as np", "import paddle", "from paddle import nn", "from paddle.nn import functional as F"]
    body: list[str] = []
    paths = _Paths(case.model, input_shape)
    values: list[str] = []
    if case.model is not None:
        body.append(model.line(case.model))
    uses_my_init = False
    for index, (kind, args) in enumerate(case.steps):
        body.append(f"# step {index}: {kind}")
        body += _step_lines(kind, args, paths, model, values)
        if kind == "initialize" and "custom" in repr(args.get("init")):
            uses_my_init = True
    names = set(model.classes) | _class_names(case.model)
    if any(kind == "probe" and args.get("name") == "prefix_names" for kind, args in case.steps):
        names.add("MyDenseKwargs")
    for kind, args in case.steps:
        if kind == "load_params" and args.get("model"):
            names |= _class_names(args["model"])
    if any(kind == "initialize" and "custom" in repr(args) for kind, args in case.steps) or "custom" in repr(case.model):
        uses_my_init = True
    sources = _class_sources(names) + [_HELPERS[h].strip() + "\n" for h in sorted(model.helpers)]
    if uses_my_init:
        sources.append(_MY_INIT.strip() + "\n")
    start = ["paddle.seed(0)  # the kit starts every case from this RNG state", ""]
    guarded = ["try:"] + ["    " + line if line else "" for line in body] + [
        "except Exception as exc:  # a step that raises is Paddle's behaviour: the kit records it",
        "    print('observe error', type(exc).__name__, str(exc).strip().splitlines()[0] if str(exc).strip() else '')",
    ]
    tail = _OBSERVE.splitlines()
    for name in dict.fromkeys(values):
        tail.append(f"if {_ident(name)!r} in globals():")
        tail.append(f"    observe('value', {name!r}, {_ident(name)})")
    out = header + [""] + [s + "\n" for s in sources] + start + guarded + tail
    return "\n".join(out) + "\n"


def _step_lines(kind: str, args: dict, paths: _Paths, model: _Model, values: list) -> list[str]:
    def place(name):
        if name in (None, "default"):
            return "paddle.CPUPlace()"
        return "paddle.CUDAPlace(0)  # a second device: needs paddlepaddle-gpu and a GPU"

    v = _ident
    if kind == "initialize":
        return _init_lines(args, paths, model.spec)
    if kind == "forward":
        name = args.get("as", "out")
        values.append(name)
        mode = "net.train()" if args.get("mode") == "train" else "net.eval()"
        call = f"{v(name)} = net({gen(args['input'])})"
        return [mode] + (["with paddle.no_grad():", "    " + call] if args.get("record") is False else [call])
    if kind == "backward":
        y = v(args.get("of", "out"))
        loss = args.get("loss") or ("none" if "head" in args else "sum")
        target = {"sum": f"{y}.sum()", "mean": f"{y}.mean()", "none": y}[loss]
        extra = [f"grad_tensor={gen(args['head'])}"] if "head" in args else []
        extra += ["retain_graph=True"] if args.get("retain_graph") else []
        return [f"{target}.backward({', '.join(extra)})"]
    if kind == "zero_grad":
        lines = ["net.clear_gradients()  # Paddle 3: set_to_zero=True"] if model.spec is not None else []
        for n in dict.fromkeys(values):
            if n in model.tensors:
                lines += [f"if {v(n)}.grad is not None and not {v(n)}.stop_gradient:", f"    {v(n)}.clear_grad()"]
        return lines
    if kind == "write_param":
        p = paths.param(args["param"])
        if "add" in args:
            return [f"{p}.set_value({p} + {args['add']})"]
        if "set" in args:
            index = list(args["set"]["index"])
            note = ""
            if paths.transposed(args["param"]):
                index = index[::-1]
                note = "  # nn.Linear weight is (in, out): canonical [out, in] reversed"
            return ["with paddle.no_grad():",
                    f"    {p}[{', '.join(map(str, index))}] = {args['set']['value']}{note}"]
        return [f"{p}.set_value(paddle.full_like({p}, {args['fill']}))"]
    if kind == "read_param":
        return [f"print({paths.param(args['param'])}.numpy())"]
    if kind == "sgd_step":
        return [f"paddle.optimizer.SGD(learning_rate={args['lr']}, parameters=net.parameters()).step()"]
    if kind == "save_tensors":
        return [f"paddle.save({_gen_value(args['value'])}, {args['file']!r})"]
    if kind == "load_tensors":
        values.append(args["as"])
        return [f"{v(args['as'])} = paddle.load({args['file']!r})"]
    if kind == "save_params":
        return [f"paddle.save(net.state_dict(), {args['file']!r})"]
    if kind == "load_params":
        spec = args.get("model") or model.spec
        lines = [model.line(spec)] if spec else []
        if args.get("device") not in (None, "default"):
            lines.append(f"net.to(device={place(args['device'])})")
        return lines + [f"missing, unexpected = net.set_state_dict(paddle.load({args['file']!r}))",
                        "print('set_state_dict missing', missing, 'unexpected', unexpected)"]
    if kind == "to_device":
        target = args.get("target", "model")
        if target == "model":
            return [f"net.to(device={place(args['device'])})"]
        return [f"{v(target)} = {v(target)}.to({place(args['device'])})"]
    if kind == "tensor":
        values.append(args["name"])
        model.tensors.add(args["name"])
        grad = ", stop_gradient=False" if args.get("requires_grad") else ""
        return [f"{v(args['name'])} = paddle.to_tensor({numpy_source(args['value'])}, place={place(args.get('device'))}{grad})",
                f"{v(args['name'])}.name = {args['name']!r}  # instead of generated_tensor_N"]
    if kind == "compute":
        a = [v(x) for x in args["args"]]
        out = v(args["out"])
        values.append(args["out"])
        expr = {
            "two_x_squared": f"{out} = 2 * {a[0]} * {a[0]}", "sum": f"{out} = {a[0]}.sum()",
            "add": f"{out} = {a[0]} + {a[-1]}", "mul": f"{out} = {a[0]} * {a[-1]}",
            "sum_two_x_squared": f"{out} = (2 * {a[0]} * {a[0]}).sum()",
            "setitem_zero": f"{a[0]}[0] = 0; {out} = {a[0]}",
            "norm": f"{out} = paddle.linalg.norm({a[0]})",
            "add_out": f"{out} = paddle.add({a[0]}, {a[1] if len(a) > 1 else a[0]}, out={a[-1]})",
        }[args["fn"]]
        return ["with paddle.no_grad():", "    " + expr] if args.get("record") is False else [expr]
    if kind == "update":
        w, lr = v(args["value"]), args["lr"]
        if args["how"] == "rebind":
            return [f"{w} = {w} - {lr} * {w}.grad"]
        return ["with paddle.no_grad():", f"    {w}.set_value({w} - {lr} * {w}.grad)"]
    if kind == "copy_to":
        values.append(args["as"])
        src = v(args["value"])
        how = f"{src}.clone()" if args["how"] == "copy" else f"{src}.to({place(args['device'])})"
        return [f"{v(args['as'])} = {how}"]
    if kind == "to_numpy":
        values.append(args["as"])
        return [f"{v(args['as'])} = {v(args['value'])}.numpy()"]
    if kind == "random":
        values.append(args["as"])
        if args.get("shape") is None:
            return ["# paddle.uniform needs a shape: nd.random.uniform() has no Paddle counterpart"]
        bounds = "".join(f", {k}={float(args[a])}" for a, k in (("low", "min"), ("high", "max")) if args.get(a) is not None)
        return [f"{v(args['as'])} = paddle.uniform({list(args['shape'])}{bounds})"]
    if kind == "attach_grad":
        return [f"{v(args['value'])}.stop_gradient = False  # Paddle's attach_grad"]
    if kind == "probe":
        pa = args.get("args") or {}
        target = pa.get("target")
        owner = paths.layer(target) if target else "net"
        notes = {
            "state_dict": [f"print({owner}.state_dict())"],
            "param_repr": [f"print({paths.param(pa.get('param', ''))})"],
            "param_dict": [f"print({owner})"],
            "keras_weights": ["print([(p.name, p.shape) for p in net.parameters()])  # no Keras weights list"],
            "try_gpu": [(f"print(paddle.CUDAPlace({pa.get('i', 0)}) if paddle.device.cuda.device_count() >= "
                        f"{pa.get('i', 0) + 1} else paddle.CPUPlace())")],
            "try_all_gpus": [("print([paddle.CUDAPlace(i) for i in range(paddle.device.cuda.device_count())] "
                             "or [paddle.CPUPlace()])")],
            "saved_params": [f"print(list(paddle.load({pa.get('file')!r})))"],
            "sequential_class": ["print(issubclass(nn.Sequential, nn.Layer))"],
            "prefix_names": [f"print([p.name for p in MyDenseKwargs(in_units=5, units=3, name_scope={pa.get('prefix')!r}).parameters()])"],
            "np_save": [f"np.save('saved.npy', {v(str(pa.get('values', 'x')).split(',')[0].strip())})"],
        }
        if args["name"] in notes:
            return notes[args["name"]]
        return {
            "is_training": ["print(net.training if 'net' in globals() else None)  # no autograd training mode: Layer.train()/eval()"],
            "devices": ["print(paddle.device.cuda.device_count(), paddle.CPUPlace())"],
            "try_gpu": ["print(paddle.CUDAPlace(0) if paddle.device.cuda.device_count() >= 1 else paddle.CPUPlace())"],
            "structure": ["print(net)"],
            "param_type": ["print(type(net.parameters()[0]).__name__)"],
            "default_device": ["print(paddle.to_tensor([1, 2, 3]).place)"],
        }.get(args["name"], [f"# probe {args['name']}"])
    if kind == "snapshot":
        return [f"{v(args['as'])} = {{k: p.numpy().copy() for k, p in net.named_parameters()}}"]
    return [f"# {kind}: {args}"]
