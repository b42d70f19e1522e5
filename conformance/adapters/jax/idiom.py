"""The JAX idiom: programs in JAX + Flax (linen), as the JAX tab of Dive into Deep Learning writes them.

Rule: a program builds a flax module (`nn.Sequential([...])`, the notes' classes), holds its
parameters in the pytree `params = net.init(key, X)` (an initializer is a layer's
`kernel_init=`, which flax calls), runs `net.apply(params, X)`, takes gradients with
`jax.grad` (`jax.vjp` for a head gradient) of a function of the arrays it differentiates,
rebinds immutable arrays (`x.at[i].set(v)`), saves with `flax.serialization` and places
arrays with `jax.device_put`. An observation reaches a parameter through flax's own indexing
of the bound model (`net.bind(params).layers[4].variables`) and lists the pytree's own leaves
(`jax.tree_util.tree_leaves_with_path`); a Dense kernel (in, out) is transposed visibly to
the kit's (out, in). Where JAX has no such concept (zero_grad, attach_grad, a training mode,
ParameterDict) the writer raises `Unsupported` naming what JAX has instead. The class writes the
frame, the initializers and the steps; it builds models with `JaxModels` (models.py) and
observes with `JaxObservations` (observe.py).
"""

from __future__ import annotations

import functools
import os

from conformance.adapters.jax.models import JaxModels
from conformance.adapters.jax.observe import JaxObservations
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

# What JAX has instead of a concept it lacks (the writer asks `missing()` for a step or probe
# the idiom has no method for).
_LACKS = {
    "step zero_grad": "JAX has no zero_grad: jax.grad returns a fresh gradient pytree on every call and keeps no "
                      "gradient buffers to clear",
    "step attach_grad": "JAX has no attach_grad: a gradient is jax.grad of a function, taken with respect to the "
                        "arguments it is given, not something an array asks for",
    "probe is_training": "JAX has no training mode and nothing records: training is a flag the model is given (flax "
                         "nn.Dropout(deterministic=...)), not a state that jax.grad switches",
    "probe param_dict": "flax has no ParameterDict and no regex selection: a layer's parameters are the plain dict "
                        "params['params']['layers_0'] = {'kernel', 'bias'}, and selecting is Python over "
                        "jax.tree_util.tree_leaves_with_path(params)",
    "probe state_dict": "flax has no module.state_dict(): the parameters are the nested dict that net.init returned "
                        "(flax.serialization.to_state_dict(params) is that dict)",
    "probe init_desc": "JAX has no InitDesc: a flax initializer is a function (key, shape, dtype) and is given no "
                       "name; a parameter's name is its key in the params pytree",
    "init bilinear": "flax has no bilinear initializer (jax.nn.initializers has none): upsampling is "
                     "jax.image.resize(x, shape, 'bilinear'), and a transposed convolution's kernel is the user's",
    "init lstm_bias": "flax has no LSTMBias initializer: nn.LSTMCell / OptimizedLSTMCell take one bias_init for "
                      "every gate, with no forget-bias option",
    "legacy": "flax has no save_params/load_params (MXNet's pre-1.3 names): the idiom is "
              "flax.serialization.to_bytes(params) / from_bytes(params, data), or orbax checkpoints",
    "nest_mlp 004": "a flax module is a frozen dataclass: its submodules are declared in setup() or as fields, and "
                    "there is no child registry to add(block) to after construction (note 004's counter-example)",
}


@functools.lru_cache(maxsize=1)
def _notes() -> dict:
    return notes_sources(os.path.join(os.path.dirname(__file__), "notes_code.py"))


def _atom(expr: str) -> str:
    """`expr` as an operand: parenthesized when an operator stands outside its brackets."""
    depth = 0
    for char in expr:
        depth += (char in "([{") - (char in ")]}")
        if char == " " and depth == 0:
            return f"({expr})"
    return expr


class JaxIdiom(JaxModels, JaxObservations, Idiom):
    framework = "jax"
    imports = ("import os", "import jax", "import jax.numpy as jnp", "from flax import linen as nn")
    reserved = frozenset({
        "os", "jax", "jnp", "nn", "serialization", "traverse_util", "net", "net_train", "params", "grads", "key", "subkey",
        "vjp_fn", "PARAMS", "param", "canonical", "shape_of", "storage", "device_of", "initialized_by", "default",
        "second", "data", "layer", "layer_params", "loaded", "f", "Holder", "variables", "cpu", "gpu", "num_gpus",
        "try_gpu", "try_all_gpus", "Callable", "List", "listed", "np_save_as_written", "flatten", "optax", "trainer",
        "trainer_state", "updates"})
    host = '''\
def host(value):
    """A JAX array as NumPy data."""
    return np.asarray(value) if isinstance(value, jax.Array) else value
'''

    def environment(self) -> list[str]:
        from conformance.adapters.jax.adapter import xla_flags

        flags = self.column.devices.get("xla_flags") or xla_flags({})
        return super().environment() + ["# XLA reads its flags when jax is imported: two host CPU devices (the second one virtual, not",
                "# a GPU) and a fast compile of the many tiny computations (LLVM -O0), as this column ran",
                f"os.environ[\"XLA_FLAGS\"] = {literal(flags)}"]

    def preamble(self, ctx: Context) -> list[str]:
        lines = ["key = jax.random.PRNGKey(0)  # JAX's randomness is a key the program holds (the tab's d2l.get_key())"]
        if ctx.state.get("second"):
            lines.append("default, second = jax.devices()[:2]  # second: a host CPU device "
                         "(XLA_FLAGS=--xla_force_host_platform_device_count=2), virtual, not a GPU")
        return lines

    def class_source(self, name: str) -> str:
        names = ("cpu", "gpu", "num_gpus", name) if name in ("try_gpu", "try_all_gpus") else (name,)
        return "\n\n\n".join(_notes()[n] for n in names)

    def initializer(self, form, ctx: Context) -> str | None:
        """The flax initializer of an INIT form (None: the layer's own default)."""
        kind, args = init_kind(form)
        draw = "lambda key, shape, dtype=jnp.float32: "  # an initializer is any function (key, shape, dtype)
        if kind == "default":
            return None
        if kind == "normal" and args.get("mean"):  # flax's normal has no mean
            return f"{draw}{literal(args['mean'])} + {literal(args.get('sigma', 0.01))} * jax.random.normal(key, shape, dtype)"
        if kind == "uniform":  # flax's uniform(scale) draws U(0, scale)
            return f"{draw}jax.random.uniform(key, shape, dtype, {literal(args.get('low', -0.07))}, {literal(args.get('high', 0.07))})"
        if kind == "msra":  # MXNet's MSRAPrelu(factor_type='in', slope): variance 2 / ((1 + slope^2) fan_in)
            return f"nn.initializers.variance_scaling(2.0 / (1 + {literal(args.get('slope', 0.25))} ** 2), 'fan_in', 'normal')"
        if kind == "custom":
            return f"{ctx.need_class('MyInit')}()"
        if f"init {kind}" in _LACKS:
            raise Unsupported(_LACKS[f"init {kind}"])
        known = {"normal": f"normal(stddev={literal(args.get('sigma', 0.01))})", "xavier": "xavier_uniform()",
                 "constant": f"constant({literal(args.get('value'))})", "zeros": "zeros", "ones": "ones",
                 "orthogonal": f"orthogonal(scale={literal(args.get('scale', 1.414))})"}
        if kind in known:
            return f"nn.initializers.{known[kind]}"
        raise Unsupported(f"flax has no {kind.capitalize()} initializer: an initializer is one layer's kernel_init=, "
                          "and choosing or loading values per parameter name is Python over the params pytree")

    # -- steps ---------------------------------------------------------------------------------
    def initialize(self, args: dict, ctx: Context) -> list[str]:
        key = f"jax.random.PRNGKey({literal(args['seed'])})" if "seed" in args else "key"
        form, lines = args.get("init", "default"), []
        if "target" in args:
            return self._initialize_one(form, args["target"], key, ctx)
        if init_kind(form)[0] != "default" and form != ctx.state["built"]["init"]:  # a new net, as the tab writes
            ctx.model = self.build(ctx.state["built"]["spec"], ctx, ctx.model.var, form)
            lines += ctx.model.lines
        sample = self._sample_input(ctx)
        if sample is None:
            ctx.state["pending"] = key
            return lines + ["# flax creates the parameters in net.init(key, X), which needs an input: the first X"]
        ctx.state.update(initialized=True, pending=None)
        return lines + [f"params = {ctx.model.var}.init({key}{sample})"]

    def _initialize_one(self, form, target: str, key: str, ctx: Context) -> list[str]:
        """One layer or parameter drawn again: the layer cloned with the initializer, its own
        init, and its arrays put into the pytree."""
        state = ctx.state["built"]
        leaf = state["leaves"].get(target)
        owner, keys = (leaf.owner, leaf.keys[:-1] if leaf.keys else None) if leaf else state["layers"].get(target, ("", None))
        kernel = next((lf for lf in state["leaves"].values() if keys and lf.keys == keys + ("kernel",)), None)
        if kernel is None or not ctx.state["initialized"]:
            raise Unsupported("flax initializes a layer through its constructor (kernel_init=) and init: "
                              f"{target!r} is not an initialized nn.Dense to clone")
        init, which = self.initializer(form, ctx), "bias_init" if leaf and leaf.name == "bias" else "kernel_init"
        layer = ctx.model.var + owner[1:]
        lines = [f"layer = {layer}.clone({which}={init})" if init else f"layer = {layer}",
                 f"layer_params = layer.init({key}, jnp.zeros((1, {self._tree(kernel.keys)}.shape[0])))"]
        if leaf is None:
            return lines + [f"{self._tree(keys)} = layer_params['params']"]
        return lines + [f"{self._tree(leaf.keys)} = layer_params['params'][{literal(leaf.name)}]"]

    def forward(self, args: dict, ctx: Context) -> list[str]:
        out = ctx.name(args.get("as", "out"))
        x = self._fresh(ctx, "X" if out == "out" else f"X_{out}")
        lines = [f"{x} = {self.array(args['input'], args.get('device'), ctx)}"]
        var, pending, rngs = ctx.model.var, ctx.state.get("pending"), ""
        ctx.state.update(pending=None, initialized=True, last_input=x)
        if args.get("mode") == "train" and ctx.state["built"]["dropout"]:
            lines += [f"params = {var}.init({pending}, {x})"] * bool(pending)
            var, pending = f"{var}_train", None
            dropout = self._fresh(ctx, "dropout_key" if out == "out" else f"dropout_key_{out}")
            lines.append(f"key, {dropout} = jax.random.split(key)  # a fresh key: a fresh dropout mask")
            rngs = f", rngs={{'dropout': {dropout}}}"
        call = f"{var}.apply(params, {x}{rngs})"
        self._recipes(ctx)[args.get("as", "out")] = (("params",), call)
        if pending:  # the deferred init, with the first input: the tab's init_with_output
            return lines + [f"{out}, params = {var}.init_with_output({pending}, {x})"]
        return lines + [f"{out} = {call}"]

    def backward(self, args: dict, ctx: Context) -> list[str]:
        leaves, expr = self._recipes(ctx).get(args.get("of", "out"), ((), ""))
        if not leaves:
            raise Unsupported("JAX differentiates a function of its arguments; this value is not a function of any "
                              "array the program differentiates")
        targets, arguments = ", ".join(self._grad_name(leaf, ctx) for leaf in leaves), ", ".join(leaves)
        if "head" in args:  # a head gradient is the cotangent jax.vjp's function takes
            return [f"_, vjp_fn = jax.vjp(lambda {arguments}: {expr}, {arguments})",
                    f"{targets}, = vjp_fn({self.array(args['head'], None, ctx)})"]
        loss = args.get("loss", "sum")
        body = expr if loss == "none" else f"{_atom(expr)}.{loss}()"
        argnums = f", argnums={literal(tuple(range(len(leaves))))}" if len(leaves) > 1 else ""
        return [f"{targets} = jax.grad(lambda {arguments}: {body}{argnums})({arguments})"]

    def write_param(self, args: dict, ctx: Context) -> list[str]:
        leaf = self._leaf(args["param"], ctx)
        if leaf.keys is None:
            raise Unsupported("a second use of a shared flax layer has no entry of its own in params")
        t = self._tree(leaf.keys)
        if "add" in args:
            return [f"{t} = {t} + {literal(args['add'])}"]
        if "fill" in args:
            return [f"{t} = jnp.full_like({t}, {literal(args['fill'])})"]
        index, value = list(args["set"]["index"]), literal(args["set"]["value"])
        if leaf.name == "kernel":
            return [f"{t} = {t}.at[{', '.join(map(literal, index[::-1]))}].set({value})  "
                    "# the kit's [i, j] of the (out, in) weight is kernel[j, i]"]
        return [f"{t} = {t}.at[{', '.join(map(literal, index))}].set({value})"]

    def read_param(self, args: dict, ctx: Context) -> list[str]:
        return [f"data = {self._tree(self._leaf(args['param'], ctx).keys)}"]

    def sgd_step(self, args: dict, ctx: Context) -> list[str]:
        if "wd" in args:  # note 002's wd: the JAX tab's optax.chain(add_decayed_weights(wd), sgd(lr))
            ctx.need_import("import optax")
            made = ctx.state.get("trainer") == (args["lr"], args["wd"], id(ctx.model))
            ctx.state["trainer"] = (args["lr"], args["wd"], id(ctx.model))
            return ([] if made else [f"trainer = optax.chain(optax.add_decayed_weights({literal(args['wd'])}), "
                                     f"optax.sgd({literal(args['lr'])}))", "trainer_state = trainer.init(params)"]) + \
                ["updates, trainer_state = trainer.update(grads, trainer_state, params)",
                 "params = optax.apply_updates(params, updates)"]
        return [f"params = jax.tree_util.tree_map(lambda p, g: p - {literal(args['lr'])} * g, params, grads)"]

    def save_tensors(self, args: dict, ctx: Context) -> list[str]:
        value = args["value"]
        if isinstance(value, list):
            saved, data = "list", "[" + ", ".join(self.array(v, None, ctx) for v in value) + "]"
        elif not is_generator(value):
            saved, data = "dict", "{" + ", ".join(f"{literal(k)}: {self.array(v, None, ctx)}" for k, v in value.items()) + "}"
        else:
            saved, data = "one", self.array(value, None, ctx)
        ctx.state.setdefault("saved", {})[args["file"]] = saved
        return [f"jnp.save({literal(args['file'])}, {data})"]

    def load_tensors(self, args: dict, ctx: Context) -> list[str]:
        file = args["file"] if args["file"].endswith(".npy") else args["file"] + ".npy"
        load = f"jnp.load({literal(file)}, allow_pickle=True)"
        saved = ctx.state.get("saved", {}).get(args["file"])
        if saved == "list":
            load = f"list({load})  # np.save stacked the list: unpacked as the tab's x2, y2 = jnp.load(...)"
        elif saved == "dict":
            load = f"{load}.item()  # np.save pickled the dict into a 0-d object array"
        elif file != args["file"]:
            load += "  # np.save appends .npy to a name without it"
        return [f"{ctx.name(args['as'])} = {load}"]

    def save_params(self, args: dict, ctx: Context) -> list[str]:
        if args.get("legacy"):
            raise Unsupported(_LACKS["legacy"])
        ctx.need_import("from flax import serialization")
        return [f"with open({literal(args['file'])}, 'wb') as f:", "    f.write(serialization.to_bytes(params))"]

    def load_params(self, args: dict, ctx: Context) -> list[str]:
        if args.get("legacy"):
            raise Unsupported(_LACKS["legacy"])
        ctx.need_import("from flax import serialization")
        ctx.model = self.build(args.get("model") or ctx.model.spec, ctx, ctx.model.var)
        lines = list(ctx.model.lines) + ["params = {}"]
        sample = self._sample_input(ctx) if args.get("initialize") else None
        restore = "serialization.msgpack_restore(f.read())  # no target: the state dict as saved"
        if sample is not None:
            lines.append(f"params = {ctx.model.var}.init(key{sample})")
            restore = "serialization.from_bytes(params, f.read())  # into the initialized model's structure"
        lines += [f"with open({literal(args['file'])}, 'rb') as f:", f"    params = {restore}"]
        if args.get("device"):
            lines.append(f"params = jax.device_put(params, {self.device(args['device'], ctx)})")
        ctx.state.update(initialized=True, pending=None)
        return lines

    def to_device(self, args: dict, ctx: Context) -> list[str]:
        name = "params" if args.get("target", "model") == "model" else ctx.name(args["target"])
        return [f"{name} = jax.device_put({name}, {self.device(args['device'], ctx)})"]

    def tensor(self, args: dict, ctx: Context) -> list[str]:
        name = ctx.name(args["name"])
        lines = [f"{name} = {self.array(args['value'], args.get('device'), ctx)}"]
        self._recipes(ctx)[args["name"]] = ((name,) if args.get("requires_grad") else (), name)
        if args.get("requires_grad"):
            lines.append(f"{self._grad_name(name, ctx)} = None  # a JAX array carries no gradient: jax.grad returns it")
        return lines

    def compute(self, args: dict, ctx: Context) -> list[str]:
        fn, names, out = args["fn"], [ctx.name(a) for a in args["args"]], ctx.name(args["out"])
        recipes = self._recipes(ctx)
        recipes[args["out"]] = ((), out)
        if fn == "setitem_zero":  # the note's in-place write, as written
            return [f"{names[0]}[0] = 0", f"{out} = {names[0]}"]
        if fn == "add_out":
            return [f"{out} = jnp.add({names[0]}, {names[1]}, out={names[2]})"]
        text = "jnp.linalg.norm({0})" if fn == "norm" else COMPUTE_FUNCTIONS[fn].python  # no .norm() on jax arrays
        parts = [recipes.get(a, ((), n)) for a, n in zip(args["args"], names)]
        leaves = tuple(dict.fromkeys(leaf for part in parts for leaf in part[0]))
        recipes[args["out"]] = (leaves, text.format(*[_atom(e) for _, e in parts]))
        return [f"{out} = {text.format(*names)}"]  # recorded or not: JAX records nothing

    def update(self, args: dict, ctx: Context) -> list[str]:
        w, lr = ctx.name(args["value"]), literal(args["lr"])
        g = self._grad_name(w, ctx)
        if args["how"] == "rebind":
            return [f"{w} = {w} - {lr} * {g}"]
        return [f"{w} = {w}.at[:].set({w} - {lr} * {g})  # JAX's x[:] = ...: arrays are immutable"]

    def copy_to(self, args: dict, ctx: Context) -> list[str]:
        name, alias = ctx.name(args["as"]), ", may_alias=False" if args["how"] == "copy" else ""
        self._recipes(ctx)[args["as"]] = ((), name)
        return [f"{name} = jax.device_put({ctx.name(args['value'])}, {self.device(args['device'], ctx)}{alias})"]

    def to_numpy(self, args: dict, ctx: Context) -> list[str]:
        return [f"{ctx.name(args['as'])} = np.asarray({ctx.name(args['value'])})"]

    def random(self, args: dict, ctx: Context) -> list[str]:
        opts = [f"{literal(tuple(args['shape']))}"] if "shape" in args else []
        opts += [f"{k}={literal(args[s])}" for k, s in (("minval", "low"), ("maxval", "high")) if s in args]
        name = ctx.name(args["as"])
        self._recipes(ctx)[args["as"]] = ((), name)
        return ["key, subkey = jax.random.split(key)", f"{name} = jax.random.uniform({', '.join(['subkey'] + opts)})"]

    def device(self, name, ctx: Context) -> str:
        ctx.state["second"] = True
        return "second" if name == "second" else "default"

    def array(self, spec, device, ctx: Context) -> str:
        expr = f"jnp.asarray({numpy_expr(spec)})"
        # a device named in the case commits the array to it (jax.device_put); none leaves it uncommitted
        return expr if device is None else f"jax.device_put({expr}, {self.device(device, ctx)})"

    def _fresh(self, ctx: Context, stem: str) -> str:
        """A program name of the idiom's own (an input, a key, a gradient), the same for the same stem."""
        mine = ctx.state.setdefault("mine", {})
        if stem not in mine:
            name, n = stem, 1
            while name in ctx.names.values() or name in ctx.reserved:
                n += 1
                name = f"{stem}_{n}"
            ctx.reserved.add(name)
            mine[stem] = name
        return mine[stem]

    def _grad_name(self, leaf: str, ctx: Context) -> str:
        return "grads" if leaf == "params" else self._fresh(ctx, f"{leaf}_grad")

    def _recipes(self, ctx: Context) -> dict:
        """value name -> (the arrays it is a function of, its expression in them): what jax.grad
        differentiates for a backward of that value."""
        return ctx.state.setdefault("recipes", {})

    def missing(self, what: str):
        raise Unsupported(_LACKS.get(what, f"jax programs have no {what}"))
