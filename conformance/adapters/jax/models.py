"""How a JAX program builds a case's model with flax (linen): the model half of `JaxIdiom`.

Rule: a model is a flax module (`nn.Sequential([...])`, the notes' classes) whose initializer is
each layer's `kernel_init=`, as the JAX tab writes it; flax's Dense has no activation argument,
so a relu Dense is `nn.Dense(...), nn.relu`. Each canonical parameter is a `Leaf`: its module,
reached through flax's own indexing of the bound model (`m.layers[2]`), flax's name for it, and
its keys in the params pytree. A concept flax lacks is `Unsupported` through the idiom's `missing`.
"""

from __future__ import annotations

from collections import namedtuple

from conformance.program.idiom import Context, Model, Unsupported, literal
from conformance.spec.vocabulary import model_kind

# One canonical parameter: its module reached from the model `m` ("m.layers[2]"), flax's name
# for it there, and its keys under params['params'] (None: a second use has no entry of its own).
Leaf = namedtuple("Leaf", "owner name keys")
# model kind -> (notes class, {canonical child: (attribute from the class, its keys)})
_CLASSES = {
    "mlp": ("MLP", {"hidden": (".hidden", ("hidden",)), "output": (".output", ("output",))}),
    "mlp_no_super": ("MLPNoSuper", {"hidden": (".hidden", ("hidden",)), "output": (".output", ("output",))}),
    "list_mlp": ("ListMLP", {"layers.0": (".layers[0]", ("layers_0",)), "layers.1": (".layers[1]", ("layers_1",))}),
    "nest_mlp": ("NestMLP", {"net.0": (".net.layers[0]", ("net", "layers_0")),
                             "net.1": (".net.layers[2]", ("net", "layers_2")), "dense": (".dense", ("dense",))}),
}
_FANCY = {"000": ("FancyMLP", "dense"), "001": ("FixedHiddenMLP", "linear"), "003": ("FancyMLP003", "dense"),
          "004": ("FancyMLP004", "dense"),
          # 000's exercise without asscalar(): the flax FancyMLP already compares jnp.linalg.norm(X) > 1 itself
          "000-no-asscalar": ("FancyMLP", "dense")}
_WITH_INIT = {"MLP", "NestMLP", "FancyMLP", "FixedHiddenMLP", "FancyMLP003", "FancyMLP004", "MyDense", "ParamDict"}
_SEQUENCES = {"sequential": ("nn.Sequential", "layers"), "named_sequential": ("nn.Sequential", "layers"),
              "my_sequential": ("MySequential", "modules"), "my_sequential_by_object": ("MySequentialByObject", None)}


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _k(keys, *more):
    return None if keys is None else keys + more


def _call(head: str, items: list[str], named: str = "") -> str:
    """`head([a, b, ...])` on one line, or one item per line when long."""
    one = f"{head}([{', '.join(items)}]{named})"
    if len(one) <= 100:
        return one
    inner = "".join("\n    " + item.replace("\n", "\n    ") + "," for item in items)
    return f"{head}([{inner}\n]{named})"


def _sample(spec: dict):
    """The input size a dummy input for net.init needs where the spec declares it ("none":
    init takes no input); None where only real data can tell."""
    kind = model_kind(spec)
    args = spec[kind] or {}
    if kind == "param_dict":
        return "none"
    if kind == "fancy_mlp":
        return 20 if args.get("variant", "000") != "004" else None
    if kind == "named_sequential":
        return _sample(next(iter(args.values())))
    if kind in _SEQUENCES:
        return next((_sample(c) for c in args if model_kind(c) not in ("relu", "dropout", "centered", "flatten")), None)
    return args.get("in_units") if isinstance(args, dict) else None


class JaxModels:
    """The model methods of `JaxIdiom` (a mixin: the idiom gives `initializer` and `missing`)."""

    # -- models ------------------------------------------------------------------------------
    def build(self, spec: dict, ctx: Context, var: str = "net", init="default") -> Model:
        if ctx.step == -1:  # built with the first initialize's initializer, as the tab writes kernel_init=
            first = next((a for k, a in ctx.case.steps if k == "initialize"), {})
            init = first.get("init", "default") if "target" not in first else init
        state = {"spec": spec, "init": init, "leaves": {}, "layers": {}, "sample": _sample(spec), "dropout": False,
                 "lines": [], "marked": {}}
        ctx.state.update(built=state, initialized=False, pending=None)
        expr = self._item(spec, "", "m", (), False, None, ctx)[0]
        lines = state["lines"] + [f"{var} = {expr.replace('DETERMINISTIC', 'True')}"]
        if state["dropout"] and any(k == "forward" and a.get("mode") == "train" for k, a in ctx.case.steps):
            lines.append(f"{var}_train = {expr.replace('DETERMINISTIC', 'False')}")  # flax's Dropout: mode at construction
        entries = "".join(f"\n    {literal(p)}: (lambda m: {lf.owner}, {literal(lf.name)})," for p, lf in state["leaves"].items())
        entries += "\n    # a None name: a constant of the module (an attribute set in setup()), not a parameter" * any(
            lf.name is None for lf in state["leaves"].values())
        lines[:0] = ["# the kit's name of each parameter -> (its flax module, reached through flax's own indexing of "
                     "the bound model, and flax's name for it there)", f"PARAMS = {{{entries}\n}}" if entries else "PARAMS = {}"]
        if ctx.step == -1:
            lines += ["params = {}  # a flax module holds no parameters: net.init(key, X) returns them",
                      "grads = None  # a gradient is what jax.grad returns"]
        return Model(var, [part for line in lines for part in line.split("\n")],
                     {p: f"{lf.owner}.{lf.name}" for p, lf in state["leaves"].items()},
                     {p: owner for p, (owner, _) in state["layers"].items()}, spec)

    def _leaves(self, state, cpath, owner, keys, names=("kernel", "bias")) -> None:
        state["layers"].setdefault(cpath, (owner, keys))
        for canonical, name in zip(("weight", "bias"), names):
            state["leaves"][_join(cpath, canonical)] = Leaf(owner, name, _k(keys, name))

    def _again(self, state, mark: str, cpath: str, owner: str) -> str:
        """A layer used again: its parameters answer under the second path, through the second
        position's own module."""
        variable, source, source_owner, _ = state["marked"][mark]
        for path, leaf in list(state["leaves"].items()):
            if (path == source or path.startswith(source + ".") or not source) and leaf.owner.startswith(source_owner):
                new = Leaf(owner + leaf.owner[len(source_owner):], leaf.name, None)
                state["leaves"].setdefault(_join(cpath, path[len(source):].lstrip(".")), new)
        state["layers"].setdefault(cpath, (owner, None))
        return variable

    def _item(self, node: dict, cpath: str, owner: str, keys, flat: bool, name, ctx: Context) -> list[str]:
        """The flax expressions of one spec node; inside a Sequential (`flat`) Dense(relu) is
        [nn.Dense, nn.relu]: flax's Dense has no activation argument."""
        state, kind = ctx.state["built"], model_kind(node)
        args = node[kind] if node[kind] is not None else {}
        named = f", name={literal(name)}" if name is not None else ""  # add_module(name, m): flax's name=
        relu = state["marked"][args][3] if kind == "reuse" else isinstance(args, dict) and args.get("activation") == "relu"
        if kind == "reuse" or (kind == "dense" and args.get("params_from")):  # Gluon's params=shared.params: the same flax Dense again
            exprs = [self._again(state, args if kind == "reuse" else args["params_from"], cpath, owner)]
            exprs += ["nn.relu"] if relu else []
            return exprs if flat or len(exprs) == 1 else [_call("nn.Sequential", exprs)]
        if kind == "dense":
            opts, inits = [literal(args["units"])], args.get("init") or {}
            opts += ["use_bias=False"] if args.get("use_bias", True) is False else []
            weight = self.initializer(inits.get("weight", state["init"]), ctx)
            bias = self.initializer(inits["bias"], ctx) if "bias" in inits and args.get("use_bias", True) else None
            opts += [f"kernel_init={weight}"] * bool(weight) + [f"bias_init={bias}"] * bool(bias)
            exprs = [f"nn.Dense({', '.join(opts)}{named})"] + ["nn.relu"] * relu
            if relu and not flat:
                self._leaves(state, cpath, owner + ".layers[0]", _k(keys, "layers_0"))
                exprs = [_call("nn.Sequential", exprs)]
            else:
                self._leaves(state, cpath, owner, keys, ("kernel", "bias")[:1 + args.get("use_bias", True)])
        elif kind in ("relu", "flatten"):
            exprs = ["nn.relu" if kind == "relu" else ctx.need_class("flatten")]
        elif kind == "dropout":
            state["dropout"] = True
            exprs = [f"nn.Dropout({literal(args['rate'])}, deterministic=DETERMINISTIC{named})"]
        elif kind in _SEQUENCES:
            head, field = _SEQUENCES[kind]
            if head != "nn.Sequential":
                ctx.need_class(head)
                ctx.need_import("from typing import List")
            state["layers"].setdefault(cpath, (owner, keys))
            children, exprs = list(args.items()) if kind == "named_sequential" else [(None, c) for c in args], []
            for index, (child_name, child) in enumerate(children):
                at = len(exprs)
                exprs += self._item(child, _join(cpath, str(index)), f"{owner}.{field or 'modules'}[{at}]",
                                    _k(keys, f"{field}_{at}") if field else None, True, child_name, ctx)
            exprs = [_call(head, exprs, named)]
        elif kind == "fancy_mlp":
            cls, attr = _FANCY[args.get("variant", "000")]
            exprs = [self._notes_class(cls, [], named, ctx)]
            self._leaves(state, _join(cpath, attr), f"{owner}.{attr}", _k(keys, attr))
            state["leaves"][_join(cpath, "rand_weight")] = Leaf(f"{owner}.rand_weight", None, None)  # a constant
        elif kind == "nest_mlp" and args.get("variant", "000") == "004":
            self.missing("nest_mlp 004")  # raises: what flax has instead (the idiom's table)
        elif kind in _CLASSES:
            cls, children = _CLASSES[kind]
            exprs = [self._notes_class(cls, [], named, ctx)]
            for child, (attr, child_keys) in children.items():
                self._leaves(state, _join(cpath, child), owner + attr, _k(keys, *child_keys))
        elif kind == "centered":
            exprs = [f"{ctx.need_class('CenteredLayer')}({named.lstrip(', ')})"]
        elif kind == "my_dense":
            opts = [literal(args["units"])] + ([f"in_units={literal(args['in_units'])}"] if args.get("in_units") else [])
            exprs = [self._notes_class("MyDense", opts + ["read_via_data=True"] * bool(args.get("read_via_data")),
                                       named, ctx)]
            self._leaves(state, cpath, owner, keys, ("weight", "bias"))
        elif kind == "param_dict":
            shapes = ", ".join(f"{literal(n)}: {literal(tuple(s))}" for n, s in args["params"].items())
            exprs = [self._notes_class("ParamDict", [f"{{{shapes}}}"], named, ctx)]
            state["leaves"].update({_join(cpath, n): Leaf(owner, n, _k(keys, n)) for n in args["params"]})
        else:
            raise Unsupported(f"no flax model for {kind}")
        state["layers"].setdefault(cpath, (owner, keys))
        if "as" in node:
            variable = ctx.name(f"layer_{node['as']}")
            state["lines"].append(f"{variable} = {exprs[0]}")
            state["marked"][node["as"]] = (variable, cpath, owner, relu)
            exprs = [variable] + exprs[1:]
        return exprs

    def _notes_class(self, cls: str, opts: list, named: str, ctx: Context) -> str:
        init = self.initializer(ctx.state["built"]["init"], ctx)
        if init and cls not in _WITH_INIT:
            raise Unsupported(f"the notes' {cls} builds its layers with flax's default initializer; flax has no "
                              "model-wide initialize(init): an initializer is a layer's kernel_init=")
        if cls in _WITH_INIT:
            ctx.need_import("from typing import Callable")
        opts = opts + [f"kernel_init={init}"] * bool(init) + [named.lstrip(", ")] * bool(named)
        return f"{ctx.need_class(cls)}({', '.join(opts)})"

    def _leaf(self, path: str, ctx: Context) -> Leaf:
        leaves = ctx.state["built"]["leaves"]
        if path not in leaves:
            raise Unsupported(f"no parameter {path!r} in this model; it has {sorted(leaves)}")
        return leaves[path]

    def _tree(self, keys) -> str:
        return "params['params']" + "".join(f"[{literal(k)}]" for k in keys)

    def _sample_input(self, ctx: Context) -> str | None:
        """The input net.init gets: none, a dummy of the declared size (the tab's jnp.zeros), the last X."""
        sample, last = ctx.state["built"]["sample"], ctx.state.get("last_input")
        if sample is not None:
            return "" if sample == "none" else f", jnp.zeros((1, {literal(sample)}))"
        return f", {last}" if last else None
