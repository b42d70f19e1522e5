"""A standalone JAX/Flax program that reproduces a case: the flax modules it uses, the model, each
step as JAX code, then one JSON line `observed: {...}` with what it saw.

Rule: the program imports only numpy, jax and flax (nothing of the kit). The module and
helper sources are copied from `models` with `inspect`, so the program runs the code that
ran; the steps follow `session` line by line (same keys, same order of draws), so its
printed observations equal the case's.
"""

from __future__ import annotations

import inspect
import keyword
import textwrap

from conformance.adapters.jax import models
from conformance.adapters.jax.build import Builder
from conformance.inputs import numpy_source

_HELPERS = ("flatten", "my_init", "uniform_between", "leaf", "set_leaf", "write", "sgd", "copy_tree",
            "save_params", "load_params")
_CLASS_OF = {
    "mlp": "MLP", "mlp_no_super": "MLPNoSuper", "list_mlp": "ListMLP", "my_sequential": "MySequential",
    "fancy_mlp": "FixedHiddenMLP", "nest_mlp": "NestMLP", "centered": "CenteredLayer",
}

_PRELUDE = '''
def rngs(key):
    k_params, k_dropout = jax.random.split(key)
    return {'params': k_params, 'dropout': k_dropout}


def summary(x):
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return [summary(v) for v in x]
    if isinstance(x, dict):
        return {k: summary(v) for k, v in x.items()}
    a = np.asarray(x)
    if a.dtype == object:
        return {'shape': list(a.shape), 'dtype': 'object'}
    return {'shape': list(a.shape), 'dtype': str(a.dtype), 'sum': float(a.astype(np.float64).sum())}


def canonical(tree, paths):
    # canonical path -> (native path in tree['params'], kernel (in, out) transposed to (out, in))
    out = {}
    for name, (native, transpose) in paths.items():
        try:
            a = np.asarray(leaf(tree, native))
        except (KeyError, TypeError):
            continue
        out[name] = a.T if transpose else a
    return out
'''


def _ident(name: str) -> str:
    text = "".join(c if c.isalnum() or c == "_" else "_" for c in str(name)) or "v"
    if text[0].isdigit() or keyword.iskeyword(text):
        text = f"v_{text}"
    return text


def _gen(spec) -> str:
    return f"jnp.asarray({numpy_source(spec)})"


def _init_expr(init) -> str | None:
    if init in (None, "default"):
        return None
    (kind, a), = init.items()
    a = a or {}
    if kind == "normal":
        base = f"nn.initializers.normal(stddev={a.get('sigma', 0.01)})"
        if a.get("mean"):
            return f"(lambda k, s, d=jnp.float32: {base}(k, s, d) + {a['mean']})"
        return base
    return {
        "constant": f"nn.initializers.constant({a.get('value')})",
        "uniform": f"uniform_between({a.get('low', -0.07)}, {a.get('high', 0.07)})",
        "xavier": "nn.initializers.xavier_uniform()", "zeros": "nn.initializers.zeros",
        "ones": "nn.initializers.ones", "custom": "my_init",
        "orthogonal": f"nn.initializers.orthogonal(scale={a.get('scale', 1.414)})",
        "msra": f"nn.initializers.variance_scaling({2.0 / (1 + a.get('slope', 0.25) ** 2)}, 'fan_in', 'normal')",
    }.get(kind, f"None  # no flax {kind} initializer")


class _Model:
    """Model spec -> flax constructor expression (the same tree the builder makes)."""

    def __init__(self, training: bool):
        self.training = training
        self.classes: set[str] = set()
        self.prelude: list[str] = []
        self.reused: dict[str, list[str]] = {}

    def expr(self, spec: dict, flat: bool = False) -> list[str]:
        kind = next(k for k in spec if k != "as")
        args = spec[kind] if spec[kind] is not None else {}
        if kind == "reuse":
            return list(self.reused[args])
        if kind == "dense" and args.get("params_from"):
            shared = self.reused[args["params_from"]][0]
            relu = args.get("activation") == "relu"
            out = ([shared, "nn.relu"] if flat else [f"nn.Sequential([{shared}, nn.relu])"]) if relu else [shared]
            return out
        if kind == "dense":
            extra = "" if args.get("use_bias", True) else ", use_bias=False"
            for attr, name in (("weight", "kernel_init"), ("bias", "bias_init")):
                text = _init_expr((args.get("init") or {}).get(attr, "default"))
                if text:
                    extra += f", {name}={text}"
            core = f"nn.Dense({args['units']}{extra})"
            relu = args.get("activation") == "relu"
            out = ([core, "nn.relu"] if flat else [f"nn.Sequential([{core}, nn.relu])"]) if relu else [core]
        elif kind in ("relu", "flatten"):
            out = ["nn.relu" if kind == "relu" else "flatten"]
        elif kind == "dropout":
            out = [f"nn.Dropout({args['rate']}, deterministic={not self.training})"]
        elif kind == "named_sequential":
            parts = [e for child in args.values() for e in self.expr(child)]
            out = ["nn.Sequential([" + ", ".join(parts) + "])  # flax names children layers_<i>"]
        elif kind in ("sequential", "my_sequential", "my_sequential_by_object"):
            parts = [e for child in args for e in self.expr(child, flat=True)]
            if kind == "sequential":
                out = ["nn.Sequential([" + ", ".join(parts) + "])"]
            else:
                cls = "MySequential" if kind == "my_sequential" else "MySequentialByObject"
                self.classes.add(cls)
                out = [f"{cls}((" + ", ".join(parts) + ",))"]
        elif kind == "my_dense":
            via = ", read_via_data=True" if args.get("read_via_data") else ""
            if args.get("in_units"):
                self.classes.add("MyDense")
                out = [f"MyDense({args['in_units']}, {args['units']}{via})"]
            else:
                self.classes.add("LazyMyDense")
                out = [f"LazyMyDense({args['units']}{via})"]
        elif kind == "param_dict":
            self.classes.add("ParamDict")
            shapes = tuple((n, tuple(s)) for n, s in args["params"].items())
            out = [f"ParamDict({shapes!r})"]
        elif kind == "fancy_mlp" and args.get("variant", "000") != "000":
            name = {"001": "FixedHiddenMLP001", "003": "FancyMLP003", "004": "FancyMLP004"}[args["variant"]]
            self.classes.add(name)
            out = [f"{name}()"]
        else:
            self.classes.add(_CLASS_OF[kind])
            out = [f"{_CLASS_OF[kind]}()"]
        if "as" in spec:
            # one instance used twice: bind it to a name first
            names = []
            for index, text in enumerate(out):
                if text in ("nn.relu", "flatten"):
                    names.append(text)
                    continue
                name = _ident(f"{spec['as']}_{index}" if index else spec["as"])
                self.prelude.append(f"{name} = {text}")
                names.append(name)
            self.reused[spec["as"]] = names
            out = names
        return out


def _sources(names: set[str]) -> list[str]:
    C = models.classes()
    order = ("MLP", "MLPNoSuper", "ListMLP", "MySequential", "MySequentialByObject", "FixedHiddenMLP", "FixedHiddenMLP001", "FancyMLP003",
             "FancyMLP004", "NestMLP", "CenteredLayer",
             "MyDense", "LazyMyDense", "ParamDict")
    out = [textwrap.dedent(inspect.getsource(getattr(models, h))) for h in _HELPERS]
    out += [textwrap.dedent(inspect.getsource(getattr(C, n))) for n in order if n in names]
    return out


class _Writer:
    """Step lines, tracking what the session tracks (variables made, pending init, sample)."""

    def __init__(self, case):
        self.case = case
        self.lines: list[str] = []
        self.classes: set[str] = set()
        self.spec = case.model
        self.slots: dict = {}
        self.have_vars = False
        self.sample_known = False
        self.pending = None
        self.model_device = False
        self.deps: dict[str, tuple[bool, list[str]]] = {}
        self.forwards = 0
        self.nets: set = set()
        self.saved: dict = {}
        self.draws = 0

    def model(self, spec, training=False) -> str:
        m = _Model(training)
        expr = m.expr(spec)[0]
        self.classes |= m.classes
        var = "net_train" if training else "net"
        self.lines += m.prelude + [f"{var} = {expr}"]
        self.nets.add(training)
        return var

    def build(self, spec):
        self.spec = spec
        self.nets = set()
        self.model(spec)
        built = Builder(lambda init, path: None).build(spec)
        self.slots = built.slots
        self.sample_known = built.sample is not None
        if built.sample is not None:
            sample = "()" if built.sample == () else f"(jnp.zeros({tuple(built.sample[0].shape)}),)"
            self.lines.append(f"sample = {sample}  # init() arguments: the input size is declared")
        self.lines.append("variables = None  # flax creates parameters only in net.init(key, X)")
        self.have_vars = False
        self.pending = None

    def net(self, training) -> str:
        if training and True not in self.nets:
            self.model(self.spec, training=True)
        return "net_train" if training else "net"

    def targets(self, target):
        if target is None:
            return list(self.slots)
        if target in self.slots:
            return [target]
        return [p for p in self.slots if p.startswith(target + ".")]

    def reinit(self, key, init, targets):
        kind = next(iter(init))
        done = set()
        single = len(targets) == 1
        for index, path in enumerate(targets):
            slot = self.slots[path]
            if slot.native in done:
                continue
            done.add(slot.native)
            native = repr(slot.native)
            if slot.kind == "bias" and not single:
                if kind == "custom":
                    continue
                self.lines.append(f"set_leaf(variables, {native}, jnp.zeros_like(leaf(variables, {native})))")
            else:
                if kind == "custom":
                    self.lines.append(f"print('Init', {path!r}, leaf(variables, {native}).shape)")
                value = (f"{_init_expr(init)}(jax.random.fold_in({key}, {index}), "
                         f"leaf(variables, {native}).shape, leaf(variables, {native}).dtype)")
                if self.model_device:
                    value = f"jax.device_put({value}, jax.devices()[1])"
                self.lines.append(f"set_leaf(variables, {native}, {value})")

    def init_now(self, key, args, training=False):
        self.lines.append(f"variables = {self.net(training)}.init(rngs({key}), *{args})")
        if self.model_device:
            self.lines.append("variables = jax.device_put(variables, jax.devices()[1])")
        self.have_vars = True

    def step(self, kind, a):
        L = self.lines
        v = _ident
        if kind == "initialize":
            key = f"jax.random.PRNGKey({a['seed']})" if a.get("seed") is not None else "key"
            init = a.get("init", "default")
            targets = self.targets(a.get("target"))
            if not self.have_vars and not self.sample_known:
                self.pending = (key, init, targets)
                L.append("# shapes unknown: variables = net.init(key, X) waits for the first input")
                return
            if not self.have_vars:
                self.init_now(key, "sample")
            elif init == "default":
                L.append(f"fresh = net.init(rngs({key}), *sample)  # JAX keeps no initialized state: draw again")
                if self.model_device:
                    L.append("fresh = jax.device_put(fresh, jax.devices()[1])")
                for path in targets:
                    native = repr(self.slots[path].native)
                    L.append(f"set_leaf(variables, {native}, leaf(fresh, {native}))")
                return
            if init != "default":
                self.reinit(key, init, targets)
        elif kind == "forward":
            training = a.get("mode") == "train"
            name = v(a.get("as", "out"))
            L.append(f"X = {_gen(a['input'])}")
            if a.get("device") == "second":
                L.append("X = jax.device_put(X, jax.devices()[1])")
            if not self.have_vars and self.pending is not None:
                key, init, targets = self.pending
                self.pending = None
                self.init_now(key, "(X,)", training)
                if init != "default":
                    self.reinit(key, init, targets)
            if not self.sample_known and self.have_vars:
                L.append("sample = (jnp.zeros((1,) + X.shape[1:], X.dtype),)")
                self.sample_known = True
            net = self.net(training)
            L += [f"rngs_{name} = {{'dropout': jax.random.fold_in(key, {self.forwards})}}",
                  f"def f_{name}(P, L, X=X, rngs=rngs_{name}):",
                  f"    return {net}.apply(P, X, rngs=rngs)",
                  f"P_{name} = copy_tree(variables if variables is not None else {{}})",
                  f"{name} = f_{name}(variables if variables is not None else {{}}, {{}})",
                  f"values[{a.get('as', 'out')!r}] = {name}"]
            self.forwards += 1
            self.deps[a.get("as", "out")] = (True, [])
        elif kind == "backward":
            of = a.get("of", "out")
            uses_params, leaves = self.deps.get(of, (False, []))
            leaf_dict = "{" + ", ".join(f"{n!r}: {v(n)}" for n in leaves) + "}"
            params = f"P_{v(of)}" if uses_params else "{}"
            loss = a.get("loss") or ("none" if "head" in a else "sum")
            if "head" in a:
                L += [f"y, vjp = jax.vjp(f_{v(of)}, {params}, {leaf_dict})",
                      f"g_params, g_leaves = vjp({_gen(a['head'])}.astype(y.dtype))"]
            else:
                reduce = {"sum": ".sum()", "mean": ".mean()", "none": ""}[loss]
                L.append(f"g_params, g_leaves = jax.grad(lambda P, L: f_{v(of)}(P, L){reduce}, argnums=(0, 1))"
                         f"({params}, {leaf_dict})")
            if uses_params:
                L.append("grads = g_params")
            L.append("value_grads = dict(g_leaves)  # fresh gradients: nothing accumulates")
        elif kind == "zero_grad":
            L += ["grads = jax.tree_util.tree_map(jnp.zeros_like, grads) if grads is not None else None",
                  "value_grads = {k: jnp.zeros_like(g) for k, g in value_grads.items()}  # no buffers: new zeros"]
        elif kind == "tensor":
            name = v(a["name"])
            dev = "" if a.get("device") in (None, "default") else "jax.device_put("
            tail = "" if not dev else ", jax.devices()[1])"
            L += [f"{name} = {dev}{_gen(a['value'])}{tail}", f"values[{a['name']!r}] = {name}"]
            if a.get("requires_grad"):
                L.append(f"def f_{name}(P, L): return L[{a['name']!r}]  # an argument one differentiates")
                self.deps[a["name"]] = (False, [a["name"]])
            else:
                L.append(f"def f_{name}(P, L, c={name}): return c")
                self.deps[a["name"]] = (False, [])
        elif kind == "compute":
            xs = [f"f_{v(x)}(P, L)" for x in a["args"]]
            body = {
                "two_x_squared": f"2 * {xs[0]} * {xs[0]}", "sum": f"jnp.sum({xs[0]})",
                "add": f"{xs[0]} + {xs[-1]}", "mul": f"{xs[0]} * {xs[-1]}",
                "sum_two_x_squared": f"jnp.sum(2 * {xs[0]} * {xs[0]})",
                "norm": f"jnp.linalg.norm({xs[0]})",
                "add_out": f"jnp.add({xs[0]}, {xs[1] if len(xs) > 1 else xs[0]}, out={xs[-1]})  # no out= in JAX",
            }.get(a["fn"])
            out = v(a["out"])
            if a["fn"] == "setitem_zero":
                first = v(a["args"][0])
                L += [f"{first}[0] = 0  # JAX arrays are immutable: this raises", f"{out} = {first}"]
            else:
                L += [f"def f_{out}(P, L): return {body}",
                      f"{out} = f_{out}(variables, {{" + ", ".join(
                          f"{n!r}: {v(n)}" for n in self._leaves(a["args"])) + "})"]
            L.append(f"values[{a['out']!r}] = {out}")
            self.deps[a["out"]] = (any(self.deps.get(x, (False,))[0] for x in a["args"]), self._leaves(a["args"]))
        elif kind == "update":
            w, lr = v(a["value"]), a["lr"]
            new = (f"{w} - {lr} * value_grads.get({a['value']!r})" if a["how"] == "rebind"
                   else f"{w}.at[:].set({w} - {lr} * value_grads.get({a['value']!r}))  # a new array")
            L += [f"{w} = {new}", f"values[{a['value']!r}] = {w}"]
        elif kind == "write_param":
            slot = self.slots[a["param"]]
            arg = ", ".join(f"{k}={a[k]!r}" for k in ("add", "set", "fill") if k in a)
            L.append(f"write(variables if variables is not None else {{}}, {slot.native!r}, {slot.transpose}, {arg})")
        elif kind == "read_param":
            slot = self.slots[a["param"]]
            L.append(f"print(np.asarray(leaf(variables if variables is not None else {{}}, {slot.native!r})))")
        elif kind == "sgd_step":
            L.append(f"variables = sgd(variables, grads, {a['lr']})")
        elif kind == "save_tensors":
            value = a["value"]
            if isinstance(value, list):
                data = "[" + ", ".join(_gen(s) for s in value) + "]"
            elif isinstance(value, dict) and not any(k in value for k in ("uniform", "normal", "ones", "zeros",
                                                                             "arange", "values")):
                data = "{" + ", ".join(f"{k!r}: {_gen(s)}" for k, s in value.items()) + "}"
            else:
                data = _gen(value)
            L.append(f"jnp.save({a['file']!r}, {data})  # numpy.save appends .npy to a name without it")
            self.saved[a["file"]] = "list" if isinstance(value, list) else "dict" if data.startswith("{") else ""
        elif kind == "load_tensors":
            file = a["file"] if a["file"].endswith(".npy") else a["file"] + ".npy"
            unpack = {"list": "list({})  # np.save stacked the list: unpack it (x2, y2 = ...)",
                      "dict": "{}.item()  # np.save pickled the dict into a 0-d object array"}.get(
                self.saved.get(a["file"]), "{}")
            L += [f"{v(a['as'])} = " + unpack.format(f"jnp.load({file!r}, allow_pickle=True)"),
                  f"values[{a['as']!r}] = {v(a['as'])}"]
        elif kind == "save_params":
            L.append(f"save_params(variables, {a['file']!r})")
        elif kind == "load_params":
            self.build(a.get("model") or self.spec)
            if a.get("initialize"):
                self.step("initialize", {})
            if a.get("device") == "second":
                self.model_device = True
            L.append(f"variables = load_params({a['file']!r}, target=variables)")
            if a.get("device"):
                index = 1 if a["device"] == "second" else 0
                L.append(f"variables = jax.device_put(variables, jax.devices()[{index}])")
            elif self.model_device:
                L.append("variables = jax.device_put(variables, jax.devices()[1])")
            self.have_vars, self.pending = True, None
        elif kind == "to_device":
            index = 1 if a["device"] == "second" else 0
            target = a.get("target", "model")
            if target == "model":
                self.model_device = a["device"] == "second"
                L.append(f"variables = jax.device_put(variables, jax.devices()[{index}]) "
                         "if variables is not None else None")
            else:
                L += [f"{v(target)} = jax.device_put({v(target)}, jax.devices()[{index}])",
                      f"values[{target!r}] = {v(target)}"]
        elif kind == "copy_to":
            index = 1 if a["device"] == "second" else 0
            alias = ", may_alias=False" if a["how"] == "copy" else ""
            name = v(a["as"])
            L += [f"{name} = jax.device_put({v(a['value'])}, jax.devices()[{index}]{alias})",
                  f"values[{a['as']!r}] = {name}", f"def f_{name}(P, L, c={name}): return c"]
            self.deps[a["as"]] = (False, [])
        elif kind == "to_numpy":
            L += [f"{v(a['as'])} = np.asarray({v(a['value'])})", f"values[{a['as']!r}] = {v(a['as'])}"]
        elif kind == "probe":
            L.append({
                "try_all_gpus": "print([d for d in jax.devices() if d.platform == 'gpu'] or [jax.devices('cpu')[0]])",
                "keras_weights": "from flax import traverse_util; print([(p[-1], a.shape) for p, a in "
                                 "traverse_util.flatten_dict(variables['params']).items()])",
                "param_repr": "print(leaf(variables, " + repr(self.slots[a["args"]["param"]].native if
                                                                  a.get("args", {}).get("param") in self.slots else ())
                              + "))",
                "saved_params": f"print(load_params({(a.get('args') or {}).get('file')!r}))",
                "sequential_class": "print(issubclass(nn.Sequential, nn.Module))",
                "prefix_names": "# flax takes name=: a child MyDense(5, 3, name=prefix) has params prefix/weight, prefix/bias",
                "np_save": "# np.save of the arrays, then np.load without pickle (see the kit's np_save probe)",
                "param_dict": "# flax has no ParameterDict: print(variables['params'])",
                "state_dict": "# flax has no state_dict(): print(variables['params'])",
                "is_training": "# no training mode in JAX: dropout follows nn.Dropout(deterministic=...)",
                "devices": "print(jax.devices())",
                "try_gpu": "print(jax.devices()[0])  # d2l try_gpu(): a GPU if there is one, else the CPU",
                "structure": "print(net)",
                "param_type": "print(type(jax.tree_util.tree_leaves(variables)[0]).__name__)",
                "default_device": "print(jnp.array([1, 2, 3]).devices())",
            }.get(a["name"], f"# probe {a['name']}"))
        elif kind == "random":
            shape = tuple(a["shape"]) if a.get("shape") is not None else ()
            bounds = "".join(f", {k}={a[s]}" for k, s in (("minval", "low"), ("maxval", "high")) if a.get(s) is not None)
            name = v(a["as"])
            L += [f"{name} = jax.random.uniform(jax.random.fold_in(key, {1000 + self.draws}), {shape!r}{bounds})",
                  f"values[{a['as']!r}] = {name}", f"def f_{name}(P, L, c={name}): return c"]
            self.draws += 1
            self.deps[a["as"]] = (False, [])
        elif kind == "attach_grad":
            name = v(a["value"])
            L.append(f"def f_{name}(P, L): return L[{a['value']!r}]  # from now on an argument one differentiates")
            self.deps[a["value"]] = (False, [a["value"]])
        elif kind == "snapshot":
            L.append(f"snapshot_{v(a['as'])} = copy_tree(variables)")
        else:
            L.append(f"# {kind}: {a}")

    def _leaves(self, names):
        out: list[str] = []
        for n in names:
            for leaf in self.deps.get(n, (False, []))[1]:
                if leaf not in out:
                    out.append(leaf)
        return out


def snippet(case) -> str:
    w = _Writer(case)
    body: list[str] = []
    if case.model is not None:
        w.build(case.model)
    body += w.lines
    w.lines = []
    steps: list[str] = []
    for index, (kind, args) in enumerate(case.steps):
        w.lines = []
        w.step(kind, args or {})
        steps += [f"# step {index}: {kind}"] + w.lines
    paths = {p: (s.native, s.transpose) for p, s in w.slots.items()}
    header = ["import json", "", "import jax", "import jax.numpy as jnp", "import numpy as np",
              "from flax import linen as nn", ""]
    start = ["key = jax.random.PRNGKey(0)  # the kit starts every case from this key",
             "variables, grads, values, value_grads, error = None, None, {}, {}, None"]
    run = ["try:"] + ["    " + line for line in (steps or ["pass"])] + [
        "except Exception as e:  # the first step that raises stops the case, as in the kit",
        "    error = {'type': type(e).__name__, 'message': (str(e).strip().splitlines() or [''])[0]}",
        "",
        f"paths = {paths!r}",
        "print('observed:', json.dumps({'error': error,",
        "    'params': summary(canonical(variables, paths)) if variables is not None else {},",
        "    'grads': summary(canonical(grads, paths)) if grads is not None else {},",
        "    'values': summary(values), 'value_grads': summary(value_grads)}, sort_keys=True))",
    ]
    return "\n".join(header + _sources(w.classes) + [_PRELUDE] + start + body + run) + "\n"
