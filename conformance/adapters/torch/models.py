"""How a torch program builds a case's model: the model half of `TorchIdiom`.

Rule: a model is an `nn.Sequential` or one of the notes' `nn.Module` subclasses; a layer used
twice is the same module object at two positions, a Dense without its input size an
`nn.LazyLinear`, a relu Dense inside a Sequential `nn.Linear(...), nn.ReLU()` as the book writes
it. Every parameter and layer is reached through torch's own indexing (`net[2].weight`,
`net.hidden.bias`, `list(net.children())[1]`).
"""

from __future__ import annotations

from conformance.program.idiom import Context, Model, Unsupported, literal
from conformance.spec.vocabulary import init_kind, model_kind

_FANCY = {"000": ("FancyMLP", "dense", "dense"), "001": ("FixedHiddenMLP", "linear", "linear"),
          "003": ("FancyMLP003", "dense", "dense"), "004": ("FancyMLP004", "dense", "dense"),
          # 000's exercise without asscalar(): torch's FancyMLP already compares the tensor x.norm() > 1 itself
          "000-no-asscalar": ("FancyMLP", "dense", "dense")}


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _call(head: str, parts: list[str]) -> str:
    """`head(a, b)` on one line, or one part a line when it is long."""
    one = f"{head}({', '.join(parts)})"
    if len(one) <= 88 and "\n" not in one:
        return one
    inner = ",\n".join("    " + p.replace("\n", "\n    ") for p in parts)
    return f"{head}(\n{inner})"


class TorchModels:
    """The model methods of `TorchIdiom` (a mixin: the idiom gives `_init_line`)."""

    # -- models -----------------------------------------------------------------------------
    def build(self, spec: dict, ctx: Context, var: str = "net") -> Model:
        model = Model(var, [], spec=spec)
        if model_kind(spec) == "param_dict":
            entries = [f"{literal(name)}: nn.Parameter(torch.randn{literal(tuple(shape))})"
                       for name, shape in spec["param_dict"]["params"].items()]
            model.lines.append(f"{var} = {_call('nn.ParameterDict', ['{' + ', '.join(entries) + '}'])}")
            model.params.update({name: f"{var}[{literal(name)}]" for name in spec["param_dict"]["params"]})
            return model
        inits: list[str] = []
        exprs = self._item(spec, "", var, model, {}, ctx, False, inits)
        if exprs != [var]:
            model.lines.append(f"{var} = {exprs[0]}")
        model.lines = [part for line in model.lines + inits for part in line.split("\n")]
        return model

    @staticmethod
    def _paths(model: Model, path: str, where: str, bias: bool = True) -> None:
        """A linear layer reached as `where`: its canonical layer path and parameters."""
        model.layers[path] = where
        model.params[_join(path, "weight")] = f"{where}.weight"
        if bias:
            model.params[_join(path, "bias")] = f"{where}.bias"

    def _dense(self, args: dict, path: str, where: str, model: Model, ctx: Context, inits: list[str]) -> str:
        bias = "" if args.get("use_bias", True) else ", bias=False"
        self._paths(model, path, where, args.get("use_bias", True))
        for name, form in (args.get("init") or {}).items():
            kind, iargs = init_kind(form)
            if kind != "default" and not args.get("in_units"):
                raise Unsupported("torch's layers take no initializer: nn.init runs on a parameter that exists, "
                                  "and an nn.LazyLinear has none before its first call")
            if kind != "default" and (name == "weight" or args.get("use_bias", True)):
                # torch's nn.Linear takes no initializer: nn.init on the new layer's parameter
                inits.append(self._init_line(kind, iargs, f"{where}.{name}"))
        if args.get("in_units"):
            return f"nn.Linear({literal(args['in_units'])}, {literal(args['units'])}{bias})"
        return f"nn.LazyLinear({literal(args['units'])}{bias})"

    def _item(self, node: dict, path: str, where: str, model: Model, marked: dict, ctx: Context, flat: bool,
              inits: list[str]) -> list[str]:
        """The module expressions of one model node reached as `where` (several when `flat`:
        a relu Dense inside a Sequential is `nn.Linear(...), nn.ReLU()`)."""
        kind = model_kind(node)
        args = node[kind] if node[kind] is not None else {}
        relu = kind == "dense" and args.get("activation") == "relu"
        if kind == "reuse":
            variable, target, target_path, target_where = marked[args]
            relu = model_kind(target) == "dense" and target["dense"].get("activation") == "relu"
            self._copy_paths(model, target_path, target_where, path, where if flat or not relu else f"{where}[0]")
            return self._with_relu(variable, relu, flat)
        if kind == "dense":
            layer_where = where if flat or not relu else f"{where}[0]"
            expr = self._dense(args, path, layer_where, model, ctx, inits)
            if args.get("params_from") or "as" in node:
                variable = ctx.name(f"layer_{node.get('as', path.replace('.', '_') or 'dense')}")
                model.lines.append(f"{variable} = {expr}")
                if args.get("params_from"):  # 004's params=shared.params: the other layer's Parameters
                    source = marked[args["params_from"]][0]
                    model.lines.append(f"{variable}.weight = {source}.weight")
                    if args.get("use_bias", True):
                        model.lines.append(f"{variable}.bias = {source}.bias")
                expr = variable
            if "as" in node:
                marked[node["as"]] = (expr, node, path, layer_where)
            return self._with_relu(expr, relu, flat)
        if kind in ("relu", "flatten", "dropout", "centered"):
            expr = {"relu": "nn.ReLU()", "flatten": "nn.Flatten()", "centered": "CenteredLayer()",
                    "dropout": f"nn.Dropout({literal(args.get('rate', 0))})"}[kind]
            if kind == "centered":
                ctx.need_class("CenteredLayer")
        elif kind in ("sequential", "my_sequential", "my_sequential_by_object"):
            parts: list[str] = []
            for index, child in enumerate(args):
                reach = f"{where}[{len(parts)}]" if kind == "sequential" else f"list({where}.children())[{len(parts)}]"
                parts += self._item(child, _join(path, str(index)), reach, model, marked, ctx, True, inits)
            head = {"sequential": "nn.Sequential", "my_sequential": "MySequential",
                    "my_sequential_by_object": "MySequentialByObject"}[kind]
            if kind != "sequential":
                ctx.need_class(head)
            expr = _call(head, parts)
        elif kind == "named_sequential":  # note 001's block2(): net.add_module(f'block {i}', block1())
            seq = model.var if not path and where == model.var else ctx.name(f"block_{path.replace('.', '_')}")
            model.lines.append(f"{seq} = nn.Sequential()")
            for index, (name, child) in enumerate(args.items()):
                child_expr = self._item(child, _join(path, str(index)), f"{where}[{index}]", model, marked, ctx, False,
                                        inits)[0]
                model.lines.append(f"{seq}.add_module({literal(name)}, {child_expr})")
            expr = seq
        elif kind in ("mlp", "mlp_no_super", "list_mlp"):
            units = args.get("in_units")
            if kind == "mlp_no_super":
                expr = f"{ctx.need_class('MLPNoSuper')}()"
            else:
                cls = {"mlp": ("LazyMLP", "MLP"), "list_mlp": ("LazyListMLP", "ListMLP")}[kind][bool(units)]
                expr = f"{ctx.need_class(cls)}({'' if units in (None, 20) else literal(units)})"
            names = [("layers.0", f"{where}.layers[0]"), ("layers.1", f"{where}.layers[1]")] if kind == "list_mlp" \
                else [("hidden", f"{where}.hidden"), ("output", f"{where}.output")]
            for name, reach in names:
                self._paths(model, _join(path, name), reach)
        elif kind == "fancy_mlp":
            cls, canonical, attr = _FANCY[args.get("variant", "000")]
            expr = f"{ctx.need_class(cls)}()"
            self._paths(model, _join(path, canonical), f"{where}.{attr}")
            model.params[_join(path, "rand_weight")] = f"{where}.rand_weight"  # a plain tensor attribute
        elif kind == "nest_mlp" and args.get("variant", "000") == "004":
            # note 004's counter-example: its own add() puts one LazyLinear(10) into torch's registry
            expr = ctx.name(f"layer_{path.replace('.', '_') or 'nest'}")
            model.lines += [f"{expr} = {ctx.need_class('NestMLP004')}()", f"{expr}.add(nn.LazyLinear(10))"]
            self._paths(model, _join(path, "dense"), f"{where}.dense[0]")
            self._paths(model, _join(path, "added"), f"list({where}.children())[1]")
            model.params[_join(path, "rand_weight")] = f"{where}.rand_weight"  # a plain tensor attribute
        elif kind == "nest_mlp":
            expr = f"{ctx.need_class('NestMLP')}()"
            model.layers[_join(path, "net")] = f"{where}.net"
            for name, reach in (("net.0", f"{where}.net[0]"), ("net.1", f"{where}.net[2]"),
                                ("dense", f"{where}.linear")):
                self._paths(model, _join(path, name), reach)
        elif kind == "my_dense":
            if not args.get("in_units"):
                raise Unsupported("note 001's MyLinear(in_units, units) makes nn.Parameter(torch.randn(in_units, "
                                  "units)) at construction: a custom torch layer has no deferred shape (nn.LazyLinear "
                                  "is torch's only lazy linear layer)")
            cls = ctx.need_class("MyLinearData" if args.get("read_via_data") else "MyLinear")
            expr = f"{cls}({literal(args['in_units'])}, {literal(args['units'])})"
            self._paths(model, path, where)
        else:
            raise Unsupported(f"torch programs have no model {kind} inside another model")
        model.layers.setdefault(path, where)
        if "as" in node:
            variable = ctx.name(f"layer_{node['as']}")
            model.lines.append(f"{variable} = {expr}")
            marked[node["as"]] = (variable, node, path, where)
            return [variable]
        return [expr]

    @staticmethod
    def _with_relu(expr: str, relu: bool, flat: bool) -> list[str]:
        if not relu:
            return [expr]
        return [expr, "nn.ReLU()"] if flat else [f"nn.Sequential({expr}, nn.ReLU())"]

    def _copy_paths(self, model: Model, source: str, source_where: str, path: str, where: str) -> None:
        """A module used a second time answers under its second position too (net[4].weight)."""
        for table in (model.params, model.layers):
            for old, expr in list(table.items()):
                inside = old == source or old.startswith(source + ".") or not source
                if inside and expr.startswith(source_where):
                    table.setdefault(_join(path, old[len(source):].lstrip(".")), where + expr[len(source_where):])
