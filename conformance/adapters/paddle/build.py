"""Spec model mapping -> paddle Layer tree, with every parameter's canonical path.

Rule: the builder records where each canonical parameter lives natively (layer + attribute),
its structural name (`named_parameters()`) and its Paddle name (`linear_0.w_0`). Paddle has no
deferred initialization (no LazyLinear): `nn.Linear(in_features, out_features)` needs its input
size, so a spec layer without `in_units` gets it from the shape of the case's first forward
input, propagated layer by layer, which is what a Paddle user writes by hand. The notes'
classes (MLP, NestMLP, ...) fall back to the size the book hard-codes (nn.Linear(20, 256)).
Otherwise, without such an input, the layer cannot be written in Paddle: `Unsupported`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from conformance.adapters.base import Unsupported
from conformance.adapters.paddle.models import classes

NO_DEFERRAL = ("Paddle has no deferred initialization (no LazyLinear, no build()): "
               "nn.Linear(in_features, out_features) and create_parameter(shape) need the input size "
               "at construction, and this case gives no input to take it from")


def join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


@dataclass
class Slot:
    """Where one canonical parameter lives: `getattr(layer, attr)`."""

    layer: object
    attr: str
    native: str            # structural native name; "" when the parameter is not registered
    transposed: bool       # nn.Linear stores its weight as (in, out): canonical is (out, in)

    def get(self):
        return getattr(self.layer, self.attr)


@dataclass
class Built:
    root: object
    slots: dict = field(default_factory=dict)   # canonical path -> Slot (build order)
    layers: dict = field(default_factory=dict)  # canonical layer path -> layer
    layer_inits: list = field(default_factory=list)  # (layer, {"weight": INIT, ...}, path)
    inferred: dict = field(default_factory=dict)  # canonical layer path -> in_features taken from the input
    notes: dict = field(default_factory=dict)


def spec_needs_input_size(spec) -> bool:
    """True when some layer of the spec has no input size of its own."""
    if isinstance(spec, list):
        return any(spec_needs_input_size(s) for s in spec)
    if not isinstance(spec, dict):
        return False
    kind = next(k for k in spec if k != "as")
    args = spec[kind] or {}
    if kind in ("dense", "my_dense"):
        return not args.get("in_units")
    if kind in ("mlp", "mlp_no_super", "list_mlp"):
        return not args.get("in_units")
    if kind == "nest_mlp":
        return True
    if kind in ("sequential", "my_sequential"):
        return spec_needs_input_size(args)
    return False


class Builder:
    """Spec model mapping -> paddle Layer tree, with canonical slots.

    `input_shape`: the shape of the first forward input (None when the case has none)."""

    def __init__(self, input_shape=None):
        self.C = classes()
        self.input_shape = tuple(input_shape) if input_shape is not None else None
        self.marked: dict[str, tuple[list, str, str, tuple | None]] = {}

    def build(self, spec: dict) -> Built:
        self.built = Built(root=None)
        layers, _ = self.item(spec, "", "", self.input_shape, flat=False)
        self.built.root = layers[0]
        return self.built

    # -- helpers ------------------------------------------------------------
    def _in_features(self, args, shape, cpath, book=None) -> int:
        """in_units if given, else the last dimension of the input reaching this layer, else
        `book`: the input size the book's class hard-codes (its MLP is nn.Linear(20, 256))."""
        if args.get("in_units"):
            return int(args["in_units"])
        if shape is None or len(shape) < 1:
            if book is not None:
                self.built.inferred[cpath or "<root>"] = f"{book} (the book's class; no input in this case)"
                return book
            raise Unsupported(NO_DEFERRAL)
        self.built.inferred[cpath or "<root>"] = int(shape[-1])
        return int(shape[-1])

    def _param_slots(self, layer, cpath, npath, names, registered=True, transposed=()):
        for name in names:
            if getattr(layer, name, None) is not None:
                native = join(npath, name) if registered else ""
                self.built.slots[join(cpath, name)] = Slot(layer, name, native, name in transposed)

    def _linear(self, layer, cpath, npath, registered=True):
        self.built.layers[cpath] = layer
        self._param_slots(layer, cpath, npath, ("weight", "bias"), registered, transposed=("weight",))

    def _alias(self, name, cpath, npath):
        """`reuse`: the same layers answer under a second canonical prefix."""
        layers, old_c, old_n, out = self.marked[name]
        for path, slot in list(self.built.slots.items()):
            if path == old_c or path.startswith(old_c + "."):
                rest = path[len(old_c):].lstrip(".")
                native = join(npath, slot.native[len(old_n):].lstrip(".")) if slot.native else ""
                self.built.slots.setdefault(join(cpath, rest), Slot(slot.layer, slot.attr, native, slot.transposed))
        for path, layer in list(self.built.layers.items()):
            if path == old_c or path.startswith(old_c + "."):
                self.built.layers.setdefault(join(cpath, path[len(old_c):].lstrip(".")), layer)
        return layers, out

    # -- the catalogue ------------------------------------------------------
    def item(self, spec: dict, cpath: str, npath: str, shape, flat: bool):
        """(layers, output shape) for one spec item. `flat`: inside a Sequential, may expand."""
        C = self.C
        nn = C.nn
        kind = next(k for k in spec if k != "as")
        args = spec[kind] if spec[kind] is not None else {}
        out = shape
        if kind == "reuse":
            return self._alias(args, cpath, npath)
        if kind == "dense":
            in_features = self._in_features(args, shape, cpath)
            weight_attr, bias_attr = self._attrs(args.get("init") or {})
            if args.get("use_bias", True) is False:
                bias_attr = False
            lin = nn.Linear(in_features, args["units"], weight_attr=weight_attr, bias_attr=bias_attr)
            if args.get("params_from"):
                # Paddle shares by assigning the other layer's parameters (004's params=shared.params)
                source = next(m for m in _linears(self.marked[args["params_from"]][0]) if isinstance(m, nn.Linear))
                lin.weight, lin.bias = source.weight, source.bias
            if args.get("init"):
                self.built.layer_inits.append((lin, args["init"], cpath))
            relu = args.get("activation") == "relu"
            if relu and not flat:
                # Standalone Dense(relu): nn.Sequential(Linear, ReLU) is the Paddle idiom.
                layers = [nn.Sequential(lin, nn.ReLU())]
                self._linear(lin, cpath, join(npath, "0"))
            else:
                layers = [lin, nn.ReLU()] if relu else [lin]
                self._linear(lin, cpath, npath)
            out = _replace_last(shape, args["units"])
        elif kind in ("relu", "flatten", "centered"):
            layers = [{"relu": nn.ReLU, "flatten": nn.Flatten, "centered": C.CenteredLayer}[kind]()]
            self.built.layers[cpath] = layers[0]
            if kind == "flatten" and shape is not None and len(shape) >= 2:
                out = (shape[0], math.prod(shape[1:]))
        elif kind == "dropout":
            layers = [nn.Dropout(p=args["rate"])]
            self.built.layers[cpath] = layers[0]
        elif kind == "named_sequential":
            # note 001: net.add_module(f'block {i}', block1()) is Paddle's add_sublayer(name, layer);
            # canonical paths still number the children
            made_all = []
            for index, (name, child) in enumerate(args.items()):
                made, out = self.item(child, join(cpath, str(index)), join(npath, name), out, False)
                made_all += [(name, m) for m in made]
            seq = nn.Sequential()
            for name, m in made_all:
                seq.add_sublayer(name, m)
            layers = [seq]
            self.built.layers[cpath] = seq
        elif kind in ("sequential", "my_sequential", "my_sequential_by_object"):
            children: list = []
            for index, child in enumerate(args):
                made, out = self.item(child, join(cpath, str(index)), join(npath, str(len(children))), out, True)
                children += made
            # my_sequential_by_object: note 001 as written, the registry keyed by the block itself
            cls = {"sequential": nn.Sequential, "my_sequential": C.MySequential,
                   "my_sequential_by_object": C.NoteMySequential}[kind]
            layers = [cls(*children)]
            self.built.layers[cpath] = layers[0]
        elif kind in ("mlp", "mlp_no_super", "list_mlp"):
            cls = {"mlp": C.MLP, "mlp_no_super": C.MLPNoSuper, "list_mlp": C.ListMLP}[kind]
            in_features = self._in_features(args, shape, cpath, book=20)
            block = cls(in_features)
            layers = [block]
            self.built.layers[cpath] = block
            if kind == "list_mlp":
                for index, layer in enumerate(block.layers):
                    self._linear(layer, join(cpath, f"layers.{index}"), "", registered=False)
            else:
                self._linear(block.hidden, join(cpath, "hidden"), join(npath, "hidden"))
                self._linear(block.output, join(cpath, "output"), join(npath, "output"))
            out = _replace_last(shape, 10)
        elif kind == "fancy_mlp" and args.get("variant", "000") != "000":
            variant = args["variant"]
            if variant == "004":
                block = C.FancyMLP004(self._in_features({}, shape, cpath, book=10))
            else:
                block = {"001": C.FixedHiddenMLP001, "003": C.FancyMLP003}[variant]()
            attr = "linear" if variant == "001" else "dense"
            layers = [block]
            self.built.layers[cpath] = block
            self._linear(getattr(block, attr), join(cpath, attr), join(npath, attr))
            out = ()
        elif kind == "fancy_mlp":
            block = C.FixedHiddenMLP()
            layers = [block]
            self.built.layers[cpath] = block
            self._linear(block.linear, join(cpath, "dense"), join(npath, "linear"))
            out = ()
        elif kind == "nest_mlp":
            block = C.NestMLP(self._in_features({}, shape, cpath, book=20))
            layers = [block]
            self.built.layers[cpath] = block
            self.built.layers[join(cpath, "net")] = block.net
            self._linear(block.net[0], join(cpath, "net.0"), join(npath, "net.0"))
            self._linear(block.net[2], join(cpath, "net.1"), join(npath, "net.2"))
            self._linear(block.linear, join(cpath, "dense"), join(npath, "linear"))
            out = _replace_last(shape, 16)
        elif kind == "my_dense":
            in_features = self._in_features(args, shape, cpath)
            layer = C.MyLinear(in_features, args["units"], args.get("read_via_data", False))
            layers = [layer]
            self.built.layers[cpath] = layer
            self._param_slots(layer, cpath, npath, ("weight", "bias"))
            out = _replace_last(shape, args["units"])
        elif kind == "param_dict":
            if C.ParameterDict is None:
                raise Unsupported(f"paddle {C.paddle.__version__} has no nn.ParameterDict (it came with Paddle 3.0): "
                                  "the 2.x idioms are nn.ParameterList, or create_parameter attributes of a Layer")
            paddle = C.paddle
            params = C.ParameterDict(
                {name: paddle.create_parameter(shape=list(s), dtype="float32") for name, s in args["params"].items()}
            )
            layers = [params]
            self.built.layers[cpath] = params
            self._param_slots(params, cpath, npath, list(args["params"]))
        else:
            raise ValueError(f"paddle adapter: unknown model kind {kind!r}")
        if "as" in spec:
            self.marked[spec["as"]] = (layers, cpath, npath, out)
        return layers, out

    def _attrs(self, inits: dict):
        """Construction-time initializers: paddle.ParamAttr(initializer=...) per parameter."""
        from conformance.adapters.paddle.models import initializer

        paddle = self.C.paddle
        attrs = []
        for attr in ("weight", "bias"):
            init = inits.get(attr)
            if init in (None, "default"):
                attrs.append(None)
                continue
            (kind, args), = init.items()
            if kind == "custom":
                attrs.append(None)  # applied after construction (see init.construction_inits)
                continue
            attrs.append(paddle.ParamAttr(initializer=initializer(kind, dict(args or {}))))
        return attrs


def _replace_last(shape, units):
    if shape is None:
        return None
    if len(shape) == 0:
        return (units,)
    return tuple(shape[:-1]) + (int(units),)


def _linears(layers):
    """The layers of a marked item, looking inside a standalone Dense(relu) Sequential."""
    for layer in layers:
        yield layer
        yield from getattr(layer, "_sub_layers", {}).values()
