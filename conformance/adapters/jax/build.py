"""Spec model mapping -> flax.linen module tree, with every canonical parameter's native path.

Rule: flax creates no parameter at construction; `init(key, X)` creates them under names it
derives from the tree (nn.Sequential children are `layers_<i>` by list index, setup()
attributes by attribute name, a tuple field `modules` as `modules_<i>`, a module instance
used twice under its first name). The builder records, per canonical path, the native path
into `variables['params']` and whether the native layout is the transpose of the canonical
one (a Dense `kernel` is (in, out); the canonical weight is (out, in)).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.adapters.base import AdapterBug
from conformance.adapters.jax.models import classes, flatten


def join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


@dataclass
class Slot:
    native: tuple       # path inside variables['params']
    transpose: bool     # native layout is the transpose of the canonical one
    kind: str           # "weight" (initializers apply) | "bias"


@dataclass
class Built:
    net: object
    slots: dict = field(default_factory=dict)   # canonical path -> Slot, in build order
    layers: dict = field(default_factory=dict)  # canonical layer path -> [canonical param paths]
    sample: tuple | None = None                 # init() arguments when the input size is known


class Builder:
    """`initializer(init, path)` turns a spec INIT into a flax initializer (None: flax's default)."""

    def __init__(self, initializer, training: bool = False):
        self.C = classes()
        self.initializer = initializer
        self.training = training
        self.marked: dict[str, tuple] = {}

    def build(self, spec: dict) -> Built:
        self.built = Built(net=None)
        self.built.net = self.item(spec, "", (), flat=False)[0]
        self.built.sample = sample_of(spec, self.C)
        return self.built

    def _slot(self, cpath, native, transpose=False, kind="weight"):
        self.built.slots.setdefault(cpath, Slot(native, transpose, kind))
        layer = cpath.rsplit(".", 1)[0] if "." in cpath else ""
        self.built.layers.setdefault(layer, []).append(cpath)

    def _dense_slots(self, cpath, npath, use_bias=True):
        self._slot(join(cpath, "weight"), npath + ("kernel",), transpose=True)
        if use_bias:
            self._slot(join(cpath, "bias"), npath + ("bias",), kind="bias")

    def _alias(self, name, cpath):
        layers, old_c = self.marked[name]
        for path, slot in list(self.built.slots.items()):
            if path.startswith(old_c + ".") or (old_c == "" and path):
                self._slot(join(cpath, path[len(old_c):].lstrip(".")), slot.native, slot.transpose, slot.kind)
        return list(layers)  # the same instances (a Dense(relu) brings its relu along)

    def item(self, spec: dict, cpath: str, npath: tuple, flat: bool) -> list:
        """Layers for one spec item; inside a Sequential (`flat`) Dense(relu) is [Dense, nn.relu]."""
        C = self.C
        nn = C.nn
        kind = next(k for k in spec if k != "as")
        args = spec[kind] if spec[kind] is not None else {}
        if kind == "reuse":
            return self._alias(args, cpath)
        if kind == "dense" and args.get("params_from"):
            # Gluon's Dense(..., params=shared.params): in flax, the same Dense instance called again,
            # followed by this layer's own activation.
            shared_layers, old_c = self.marked[args["params_from"]]
            dense = shared_layers[0]
            for leaf in ("weight", "bias"):
                if join(old_c, leaf) in self.built.slots:
                    slot = self.built.slots[join(old_c, leaf)]
                    self._slot(join(cpath, leaf), slot.native, slot.transpose, slot.kind)
            relu = args.get("activation") == "relu"
            layers = ([dense, nn.relu] if flat else [nn.Sequential([dense, nn.relu])]) if relu else [dense]
            module = dense
        elif kind == "dense":
            inits = args.get("init") or {}
            kwargs = {}
            for attr, flax_name in (("weight", "kernel_init"), ("bias", "bias_init")):
                fn = self.initializer(inits.get(attr, "default"), join(cpath, attr))
                if fn is not None:
                    kwargs[flax_name] = fn
            dense = nn.Dense(args["units"], use_bias=args.get("use_bias", True), **kwargs)
            relu = args.get("activation") == "relu"
            if relu and not flat:
                layers = [nn.Sequential([dense, nn.relu])]
                self._dense_slots(cpath, npath + ("layers_0",), args.get("use_bias", True))
            else:
                layers = [dense, nn.relu] if relu else [dense]
                self._dense_slots(cpath, npath, args.get("use_bias", True))
            module = dense
        elif kind == "relu":
            layers = [nn.relu]
            module = nn.relu
        elif kind == "flatten":
            layers = [flatten]
            module = flatten
        elif kind == "centered":
            module = C.CenteredLayer()
            layers = [module]
        elif kind == "dropout":
            module = nn.Dropout(args["rate"], deterministic=not self.training)
            layers = [module]
        elif kind == "named_sequential":
            # note 001's add_module(name, block): flax's nn.Sequential names its children layers_<i>
            # whatever name they are given (d2l JAX's block2 is nn.Sequential([block1() ...])).
            children = []
            for index, (name, child) in enumerate(args.items()):
                children += self.item(child, join(cpath, str(index)), npath + (f"layers_{len(children)}",), False)
            module = nn.Sequential(children)
            layers = [module]
        elif kind in ("sequential", "my_sequential", "my_sequential_by_object"):
            prefix = {"sequential": "layers", "my_sequential": "modules"}.get(kind, "blocks")
            children: list = []
            for index, child in enumerate(args):
                children += self.item(child, join(cpath, str(index)), npath + (f"{prefix}_{len(children)}",), True)
            if kind == "sequential":
                module = nn.Sequential(children)
            elif kind == "my_sequential":
                module = C.MySequential(tuple(children))
            else:
                module = C.MySequentialByObject(tuple(children))
            layers = [module]
        elif kind in ("mlp", "mlp_no_super", "list_mlp"):
            cls = {"mlp": C.MLP, "mlp_no_super": C.MLPNoSuper, "list_mlp": C.ListMLP}[kind]
            module = cls()
            layers = [module]
            if kind == "list_mlp":
                for index in range(2):
                    self._dense_slots(join(cpath, f"layers.{index}"), npath + (f"layers_{index}",))
            else:
                self._dense_slots(join(cpath, "hidden"), npath + ("hidden",))
                self._dense_slots(join(cpath, "output"), npath + ("output",))
        elif kind == "fancy_mlp":
            variant = args.get("variant", "000")
            cls, canonical = {"000": (C.FixedHiddenMLP, "dense"), "001": (C.FixedHiddenMLP001, "linear"),
                              "003": (C.FancyMLP003, "dense"), "004": (C.FancyMLP004, "dense")}[variant]
            module = cls()
            layers = [module]
            self._dense_slots(join(cpath, canonical), npath + ("dense",))
        elif kind == "nest_mlp":
            module = C.NestMLP()
            layers = [module]
            self._dense_slots(join(cpath, "net.0"), npath + ("net", "layers_0"))
            self._dense_slots(join(cpath, "net.1"), npath + ("net", "layers_2"))
            self._dense_slots(join(cpath, "dense"), npath + ("dense",))
        elif kind == "my_dense":
            via = args.get("read_via_data", False)
            if args.get("in_units"):
                module = C.MyDense(args["in_units"], args["units"], via)
            else:
                module = C.LazyMyDense(args["units"], via)
            layers = [module]
            self._slot(join(cpath, "weight"), npath + ("weight",))
            self._slot(join(cpath, "bias"), npath + ("bias",), kind="bias")
        elif kind == "param_dict":
            shapes = tuple((name, tuple(shape)) for name, shape in args["params"].items())
            module = C.ParamDict(shapes)
            layers = [module]
            for name, _ in shapes:
                self._slot(join(cpath, name), npath + (name,))
        else:
            raise AdapterBug(f"jax adapter: unknown model kind {kind!r}")
        if "as" in spec:
            self.marked[spec["as"]] = (layers, cpath)
        return layers


def sample_of(spec: dict, C) -> tuple | None:
    """The arguments `init` needs when the input size is declared (in_units): a dummy batch of
    one; `()` for standalone parameters (no input); None when shapes wait for real data."""
    jnp = C.jnp
    kind = next(k for k in spec if k != "as")
    args = spec[kind] if spec[kind] is not None else {}
    if kind == "param_dict":
        return ()
    if kind in ("dense", "my_dense", "mlp", "list_mlp", "mlp_no_super"):
        return (jnp.zeros((1, args["in_units"])),) if args.get("in_units") else None
    if kind == "named_sequential":
        return sample_of(next(iter(args.values())), C) if args else None
    if kind in ("sequential", "my_sequential", "my_sequential_by_object"):
        for child in args:
            child_kind = next(k for k in child if k != "as")
            if child_kind in ("relu", "dropout", "centered"):
                continue
            return sample_of(child, C)
    return None
