"""Spec model mapping -> torch module tree, with every parameter's canonical path.

Rule: the builder records where each canonical parameter lives natively (module + attribute)
and its native `named_parameters()` name; the modules themselves come from `models.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.adapters.torch.models import classes


def join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


@dataclass
class Slot:
    """Where one canonical parameter lives: `getattr(module, attr)`."""

    module: object
    attr: str
    native: str  # qualified native name; "" when the parameter is not registered

    def get(self):
        return getattr(self.module, self.attr)


@dataclass
class Built:
    root: object
    slots: dict = field(default_factory=dict)   # canonical path -> Slot (build order)
    layers: dict = field(default_factory=dict)  # canonical layer path -> module
    layer_inits: list = field(default_factory=list)  # (module, {"weight": INIT, ...}, path)
    notes: dict = field(default_factory=dict)


class Builder:
    """Spec model mapping -> torch module tree, with canonical slots."""

    def __init__(self):
        self.C = classes()
        self.marked: dict[str, tuple[list, str, str]] = {}

    def build(self, spec: dict) -> Built:
        self.built = Built(root=None)
        modules = self.item(spec, "", "", flat=False)
        self.built.root = modules[0]
        return self.built

    # -- helpers ------------------------------------------------------------
    def _param_slots(self, module, cpath, npath, names, registered=True):
        for name in names:
            if getattr(module, name, None) is not None:
                native = join(npath, name) if registered else ""
                self.built.slots[join(cpath, name)] = Slot(module, name, native)

    def _linear(self, module, cpath, npath, registered=True):
        self.built.layers[cpath] = module
        self._param_slots(module, cpath, npath, ("weight", "bias"), registered)

    def _alias(self, name, cpath, npath):
        """`reuse`: the same modules answer under a second canonical prefix."""
        modules, old_c, old_n = self.marked[name]
        for path, slot in list(self.built.slots.items()):
            if path == old_c or path.startswith(old_c + "."):
                rest = path[len(old_c):].lstrip(".")
                native = join(npath, slot.native[len(old_n):].lstrip(".")) if slot.native else ""
                self.built.slots.setdefault(join(cpath, rest), Slot(slot.module, slot.attr, native))
        for path, module in list(self.built.layers.items()):
            if path == old_c or path.startswith(old_c + "."):
                self.built.layers.setdefault(join(cpath, path[len(old_c):].lstrip(".")), module)
        return modules

    # -- the catalogue ------------------------------------------------------
    def item(self, spec: dict, cpath: str, npath: str, flat: bool) -> list:
        """Modules for one spec item. `flat`: inside a Sequential, may expand to several."""
        C = self.C
        nn = C.nn
        kind = next(k for k in spec if k != "as")
        args = spec[kind]
        if kind == "reuse":
            return self._alias(args, cpath, npath)
        if kind == "dense":
            lin = C.linear(args["units"], args.get("in_units"), bias=args.get("use_bias", True))
            if args.get("params_from"):
                # torch shares by assigning the other layer's Parameters (004's params=shared.params)
                source = next(m for m in self.marked[args["params_from"]][0] if isinstance(m, nn.Linear))
                lin.weight, lin.bias = source.weight, source.bias
            relu = args.get("activation") == "relu"
            if args.get("init"):
                self.built.layer_inits.append((lin, args["init"], cpath))
            if relu and not flat:
                # Standalone Dense(relu): nn.Sequential(Linear, ReLU) is the torch idiom.
                modules = [nn.Sequential(lin, nn.ReLU())]
                self._linear(lin, cpath, join(npath, "0"))
            else:
                modules = [lin, nn.ReLU()] if relu else [lin]
                self._linear(lin, cpath, npath)
        elif kind in ("relu", "flatten", "centered"):
            modules = [{"relu": nn.ReLU, "flatten": nn.Flatten, "centered": C.CenteredLayer}[kind]()]
            self.built.layers[cpath] = modules[0]
        elif kind == "dropout":
            modules = [nn.Dropout(args["rate"])]
            self.built.layers[cpath] = modules[0]
        elif kind == "named_sequential":
            # note 001: net.add_module(f'block {i}', block1()); canonical paths number children
            seq = nn.Sequential()
            for index, (name, child) in enumerate(args.items()):
                for module in self.item(child, join(cpath, str(index)), join(npath, name), False):
                    seq.add_module(name, module)
            modules = [seq]
            self.built.layers[cpath] = seq
        elif kind in ("sequential", "my_sequential", "my_sequential_by_object"):
            children: list = []
            for index, child in enumerate(args):
                children += self.item(child, join(cpath, str(index)), join(npath, str(len(children))), True)
            # my_sequential_by_object: note 001 as written, self._modules[block] = block
            cls = {"sequential": nn.Sequential, "my_sequential": C.MySequential,
                   "my_sequential_by_object": C.NoteMySequential}[kind]
            modules = [cls(*children)]
            self.built.layers[cpath] = modules[0]
            if kind == "my_sequential":
                self.built.notes["note_mysequential_keyed_by_module"] = _try_note_mysequential(C, children)
        elif kind in ("mlp", "mlp_no_super", "list_mlp"):
            cls = {"mlp": C.MLP, "mlp_no_super": C.MLPNoSuper, "list_mlp": C.ListMLP}[kind]
            block = cls((args or {}).get("in_units"))
            modules = [block]
            self.built.layers[cpath] = block
            if kind == "list_mlp":
                for index, layer in enumerate(block.layers):
                    self._linear(layer, join(cpath, f"layers.{index}"), "", registered=False)
            else:
                self._linear(block.hidden, join(cpath, "hidden"), join(npath, "hidden"))
                self._linear(block.output, join(cpath, "output"), join(npath, "output"))
        elif kind == "fancy_mlp" and (args or {}).get("variant", "000") != "000":
            from conformance.adapters.torch.note_models import fancy_variants  # the notes' own FancyMLPs

            cls, attr = fancy_variants(C)[args["variant"]]
            block = cls()
            modules = [block]
            self.built.layers[cpath] = block
            self._linear(getattr(block, attr), join(cpath, attr), join(npath, attr))
        elif kind == "fancy_mlp":
            block = C.FixedHiddenMLP()
            modules = [block]
            self.built.layers[cpath] = block
            self._linear(block.linear, join(cpath, "dense"), join(npath, "linear"))
        elif kind == "nest_mlp":
            block = C.NestMLP()
            modules = [block]
            self.built.layers[cpath] = block
            self.built.layers[join(cpath, "net")] = block.net
            self._linear(block.net[0], join(cpath, "net.0"), join(npath, "net.0"))
            self._linear(block.net[2], join(cpath, "net.1"), join(npath, "net.2"))
            self._linear(block.linear, join(cpath, "dense"), join(npath, "linear"))
        elif kind == "my_dense":
            if args.get("in_units"):
                layer = C.MyLinear(args["in_units"], args["units"], args.get("read_via_data", False))
            else:
                layer = C.LazyMyLinear(args["units"], args.get("read_via_data", False))
            modules = [layer]
            self._linear(layer, cpath, npath)
        elif kind == "param_dict":
            torch = C.torch
            params = nn.ParameterDict(
                {name: nn.Parameter(torch.randn(*shape)) for name, shape in args["params"].items()}
            )
            modules = [params]
            self.built.layers[cpath] = params
            self._param_slots(params, cpath, npath, list(args["params"]))
        else:
            raise ValueError(f"torch adapter: unknown model kind {kind!r}")
        if "as" in spec:
            self.marked[spec["as"]] = (modules, cpath, npath)
        return modules


def _try_note_mysequential(C, children) -> str:
    """What torch does with the note's `self._modules[block] = block` (same children)."""
    net = C.NoteMySequential(*children)
    try:
        names = [name for name, _ in net.named_parameters()]
    except Exception as exc:  # noqa: BLE001 - an observation, recorded as text
        return f"named_parameters() raises {type(exc).__name__}: {exc}"
    return f"named_parameters() gives {names}"
