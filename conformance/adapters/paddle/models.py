"""How a Paddle program builds a case's model: the model half of `PaddleIdiom`.

Rule: a model is `nn.Sequential(nn.Linear(in, out), nn.ReLU(), ...)` or one of the book's
nn.Layer subclasses, as the Paddle tab writes them (a Dense with relu is two layers); every
parameter and layer is reached by Paddle's own indexing (`net[2].weight`, `net.hidden.bias`),
and the nn.Linear weights, stored (in, out), are listed so that observations transpose them.
Paddle has no shape inference and (before 3.0) no ParameterDict: `Unsupported` naming its idiom.
"""

from __future__ import annotations

from packaging.version import Version

from conformance.program.idiom import Context, Model, Unsupported, literal
from conformance.spec.vocabulary import init_kind, model_kind

NO_SHAPE_INFERENCE = ("paddle.nn.Linear(in_features, out_features) needs its input size: Paddle has no shape "
                      "inference and no lazy layer, and this case leaves {what}'s input size to the first forward pass")

_NOTES = {"mlp": "MLP", "mlp_no_super": "MLPNoSuper", "list_mlp": "ListMLP"}
_FANCY = {"000": ("FancyMLP", "dense"), "001": ("FixedHiddenMLP", "linear"), "003": ("FancyMLP003", "dense"),
          "004": ("FancyMLP004", "dense"),
          # 000's exercise without asscalar(): Paddle's FancyMLP already compares the tensor norm itself
          "000-no-asscalar": ("FancyMLP", "dense")}


class PaddleModels:
    """The model methods of `PaddleIdiom` (a mixin: the idiom gives `initializer`)."""

    # -- models -------------------------------------------------------------------------------
    def build(self, spec: dict, ctx: Context, var: str = "net") -> Model:
        model = Model(var, [], spec=spec)
        ctx.state["in_out"] = set()  # canonical paths of nn.Linear weights: stored (in, out)
        ctx.state["training"] = True  # a new nn.Layer is in training mode
        marked: dict = {}
        if model_kind(spec) == "param_dict":
            if Version(self.column.version) < Version("3"):  # nn.ParameterDict came with Paddle 3.0
                raise Unsupported(f"paddle {self.column.version} has no nn.ParameterDict (it came with Paddle 3.0): "
                                  "the 2.x idioms are nn.ParameterList, or create_parameter attributes of a Layer")
            items = ", ".join(f"{literal(n)}: paddle.create_parameter(shape={literal(list(s))}, dtype='float32')"
                              for n, s in spec["param_dict"]["params"].items())
            model.lines.append(f"{var} = nn.ParameterDict({{{items}}})")
            model.params.update({n: f"{var}[{literal(n)}]" for n in spec["param_dict"]["params"]})
            return model
        exprs = self._item(spec, "", var, model, marked, ctx, flat=False)
        if exprs[0] != var:
            model.lines += f"{var} = {exprs[0]}".split("\n")
        return model

    def _linear(self, args: dict, path: str, where: str, model: Model, ctx: Context) -> str:
        if not args.get("in_units"):
            raise Unsupported(NO_SHAPE_INFERENCE.format(what=f"layer {path or 'net'}"))
        opts = [literal(args["in_units"]), literal(args["units"])]
        inits = args.get("init") or {}
        if "weight" in inits and init_kind(inits["weight"])[0] != "default":
            opts.append(f"weight_attr=paddle.ParamAttr(initializer={self.initializer(inits['weight'])})")
        if args.get("use_bias", True) is False:
            opts.append("bias_attr=False")
        elif "bias" in inits and init_kind(inits["bias"])[0] != "default":
            opts.append(f"bias_attr=paddle.ParamAttr(initializer={self.initializer(inits['bias'])})")
        self._linear_paths(path, where, model, ctx, bias=args.get("use_bias", True))
        return f"nn.Linear({', '.join(opts)})"

    def _linear_paths(self, path, where, model: Model, ctx: Context, bias=True) -> None:
        model.layers[path] = where
        model.params[_join(path, "weight")] = f"{where}.weight"
        ctx.state["in_out"].add(_join(path, "weight"))
        if bias:
            model.params[_join(path, "bias")] = f"{where}.bias"

    def _item(self, node, path, where, model: Model, marked: dict, ctx: Context, flat: bool) -> list[str]:
        """The expressions of one model node (a Dense with relu inside a Sequential is two
        layers, nn.Linear and nn.ReLU, as the book writes it); `where` reaches its first layer."""
        kind = model_kind(node)
        args = node[kind] if node[kind] is not None else {}
        relu = False
        if kind == "reuse":  # the same layer object in a second place (the book's `shared`)
            variable, target, target_path, target_where = marked[args]
            for table in (model.params, model.layers):
                for old, expr in list(table.items()):
                    if (old == target_path or old.startswith(target_path + ".") or not target_path) \
                            and expr.startswith(target_where):
                        table.setdefault(_join(path, old[len(target_path):].lstrip(".")),
                                         where + expr[len(target_where):])
            ctx.state["in_out"] |= {_join(path, p[len(target_path):].lstrip(".")) for p in list(ctx.state["in_out"])
                                    if p == target_path or p.startswith(target_path + ".") or not target_path}
            relu = model_kind(target) == "dense" and target["dense"].get("activation") == "relu"
            return [variable, "nn.ReLU()"] if relu and flat else (
                [f"nn.Sequential({variable}, nn.ReLU())"] if relu else [variable])
        if kind == "dense":
            relu = args.get("activation") == "relu"
            inner = where if flat or not relu else f"{where}[0]"
            expr = self._linear(args, path, inner, model, ctx)
            if args.get("params_from"):  # 004's params=shared.params: this layer takes the other's parameters
                source = marked[args["params_from"]][0]
                variable = ctx.name(f"layer_{node.get('as', path or 'net')}")
                model.lines += [f"{variable} = {expr}", f"{variable}.weight = {source}.weight",
                                f"{variable}.bias = {source}.bias"]
                expr = variable
        elif kind in ("relu", "flatten", "centered"):
            expr = {"relu": "nn.ReLU()", "flatten": "nn.Flatten()"}.get(kind) or f"{ctx.need_class('CenteredLayer')}()"
        elif kind == "dropout":
            ctx.state["dropout"] = True
            expr = f"nn.Dropout(p={literal(args['rate'])})"
        elif kind in ("sequential", "my_sequential", "my_sequential_by_object"):
            cls = {"sequential": "nn.Sequential", "my_sequential": "MySequential",
                   "my_sequential_by_object": "MySequentialByObject"}[kind]
            if kind != "sequential":
                ctx.need_class(cls)
            children: list[str] = []
            for index, child in enumerate(args):
                reach = {"sequential": f"{where}[{len(children)}]",  # the class's own registry otherwise
                         "my_sequential": f"{where}._sub_layers[{literal(str(len(children)))}]",
                         "my_sequential_by_object": f"list({where}._sub_layers.values())[{len(children)}]"}[kind]
                children += self._item(child, _join(path, str(index)), reach, model, marked, ctx, flat=True)
            expr = _call(cls, children)
        elif kind == "named_sequential":  # note 001's add_module(name, block): Paddle's add_sublayer
            seq = where if where == model.var else ctx.name(f"seq_{path}")
            lines = [f"{seq} = nn.Sequential()"]
            for index, (name, child) in enumerate(args.items()):
                reach = f"{where}[{literal(name)}]"
                made = self._item(child, _join(path, str(index)), reach, model, marked, ctx, flat=False)
                lines += f"{seq}.add_sublayer({literal(name)}, {made[0]})".split("\n")
            model.lines += lines
            model.layers.setdefault(path, where)
            return [seq]
        elif kind in ("mlp", "mlp_no_super", "list_mlp"):
            expr = f"{ctx.need_class(_NOTES[kind])}({literal(args['in_units']) if args.get('in_units') else ''})"
            parts = ("layers[0]", "layers[1]") if kind == "list_mlp" else ("hidden", "output")
            for part in parts:
                self._linear_paths(_join(path, part.replace("[", ".").rstrip("]")), f"{where}.{part}", model, ctx)
        elif kind == "fancy_mlp":
            cls, attr = _FANCY[args.get("variant", "000")]
            expr = f"{ctx.need_class(cls)}()"
            self._linear_paths(_join(path, attr), f"{where}.{attr}", model, ctx)
            model.params[_join(path, "rand_weight")] = f"{where}.rand_weight"
        elif kind == "nest_mlp" and args.get("variant", "000") == "004":
            # note 004's counter-example: its own add() puts one Linear(20, 10) into Paddle's registry
            expr = ctx.name(f"layer_{path.replace('.', '_') or 'nest'}")
            model.lines += [f"{expr} = {ctx.need_class('NestMLP004')}()", f"{expr}.add(nn.Linear(20, 10))"]
            self._linear_paths(_join(path, "dense"), f"{where}.dense[0]", model, ctx)
            self._linear_paths(_join(path, "added"), f"list({where}.children())[1]", model, ctx)
            model.params[_join(path, "rand_weight")] = f"{where}.rand_weight"
        elif kind == "nest_mlp":
            expr = f"{ctx.need_class('NestMLP')}()"
            model.layers[_join(path, "net")] = f"{where}.net"
            for index, native in ((0, 0), (1, 2)):  # the book's net holds Linear, ReLU, Linear, ReLU
                self._linear_paths(_join(path, f"net.{index}"), f"{where}.net[{native}]", model, ctx)
            self._linear_paths(_join(path, "dense"), f"{where}.dense", model, ctx)
        elif kind == "my_dense":
            if not args.get("in_units"):
                raise Unsupported("the book's MyLinear(in_units, units) creates its weight in its constructor: "
                                  "Paddle has no build() at the first call, and this case gives no in_units")
            opts = [literal(args["in_units"]), literal(args["units"])] + (
                ["read_via_data=True"] if args.get("read_via_data") else [])
            expr = f"{ctx.need_class('MyLinear')}({', '.join(opts)})"
            model.layers[path] = where
            model.params.update({_join(path, "weight"): f"{where}.weight", _join(path, "bias"): f"{where}.bias"})
        else:
            raise Unsupported(f"no Paddle model for {kind}")
        model.layers.setdefault(path, where)
        if "as" in node and kind != "reuse":
            variable = ctx.name(f"layer_{node['as']}")
            if expr != variable:
                model.lines += f"{variable} = {expr}".split("\n")
            marked[node["as"]] = (variable, node, path, where)
            expr = variable
        if relu:
            return [expr, "nn.ReLU()"] if flat else [f"nn.Sequential({expr}, nn.ReLU())"]
        return [expr]


def _call(cls: str, children: list[str]) -> str:
    """`cls(child, ...)`, one child a line when they do not fit on one."""
    flat = f"{cls}({', '.join(children)})"
    if len(flat) <= 90 and "\n" not in flat:
        return flat
    inner = ",\n".join("    " + c.replace("\n", "\n    ") for c in children)
    return f"{cls}(\n{inner})"


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
