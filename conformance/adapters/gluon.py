"""The Gluon idiom, shared by MXNet and the reference: programs as the book's MXNet tab writes them.

Rule: a program builds blocks with `nn.Sequential().add(...)`, initializes with
`net.initialize(init.X(), force_reinit=...)`, records with `autograd.record()`, saves with
`nd.save` / `net.save_parameters`, and reaches every parameter through Gluon's own indexing
(`net[0].weight`, `net.hidden.bias`) and listing (`net.collect_params()`, constants
included). A subclass names the modules (`mx`, `nd`, `nn`, `init`, `autograd`), how an array
is placed on a device, and the devices. Its observations and probes are `GluonObservations`
(gluon_observe.py).
"""

from __future__ import annotations

from conformance.adapters.gluon_observe import GluonObservations
from conformance.program.idiom import (
    Context,
    Idiom,
    Model,
    Unsupported,
    is_generator,
    literal,
    numpy_expr,
)
from conformance.spec.vocabulary import init_kind, model_kind

_NOTES_CLASSES = {
    "mlp": "MLP", "mlp_no_super": "MLPNoSuper", "list_mlp": "ListMLP", "nest_mlp": "NestMLP",
    "centered": "CenteredLayer", "my_dense": "MyDense",
}
_FANCY = {"000": ("FancyMLP", "dense"), "001": ("FixedHiddenMLP", "linear"), "003": ("FancyMLP003", "dense"),
          "004": ("FancyMLP004", "dense"), "000-no-asscalar": ("FancyMLPNoAsscalar", "dense")}


class GluonIdiom(GluonObservations, Idiom):
    """Gluon's way; subclasses set the imports, `array_call` and `devices_preamble`."""

    ctx_keyword = "ctx"  # how Gluon names a device argument (the reference says `device`)
    gluon_import = ""  # the import that brings `gluon` (gluon.Trainer) where the program's imports lack it
    seed_call = "nd.random.seed"  # how a program seeds the framework's generator (MXNet: mx.random.seed)

    @property
    def ctx_attribute(self) -> str:
        """How an array names its device: as the keyword, unless a subclass says otherwise."""
        return self.ctx_keyword

    # -- device names ---------------------------------------------------------------------
    def device(self, name) -> str:
        return "second" if name == "second" else "default"

    def array(self, spec, device=None) -> str:
        """A generated input as an array on `device` ("default"/"second"/None)."""
        where = f", {self.ctx_keyword}={self.device(device)}" if device not in (None, "default") else ""
        return f"nd.array({numpy_expr(spec)}{where})"

    # -- initializers -------------------------------------------------------------------------
    def initializer(self, form, ctx: Context) -> str:
        kind, args = init_kind(form)
        if kind == "default":
            return "None"
        if kind == "normal":
            return f"init.Normal(sigma={literal(args.get('sigma', 0.01))})" + (
                "" if "mean" not in args else self.missing_mean(args))
        if kind == "constant":
            return f"init.Constant({literal(args['value'])})"
        if kind == "uniform":
            return self.uniform(args)
        if kind == "xavier":
            return "init.Xavier()"
        if kind == "zeros":
            return "init.Zero()"
        if kind == "ones":
            return "init.One()"
        if kind == "orthogonal":
            return f"init.Orthogonal(scale={literal(args.get('scale', 1.414))})"
        if kind == "msra":
            return f"init.MSRAPrelu(slope={literal(args.get('slope', 0.25))})"
        if kind == "mixed":
            inits = ", ".join(self.initializer(i, ctx) for i in args["inits"])
            return f"init.Mixed({literal(list(args['patterns']))}, [{inits}])"
        if kind == "load":
            default = self.initializer(args.get("default", "default"), ctx)
            return f"init.Load({literal(args['file'])}, default_init={default})"
        if kind == "custom":
            return f"{ctx.need_class('MyInit')}()"
        if kind == "bilinear":
            return "init.Bilinear()"
        if kind == "lstm_bias":
            return f"init.LSTMBias(forget_bias={literal(args.get('forget_bias', 1.0))})"
        raise Unsupported(f"no Gluon initializer for {kind}")

    def missing_mean(self, args) -> str:
        return ""  # the reference's Normal takes a mean

    def uniform(self, args) -> str:
        low, high = args.get("low", -0.07), args.get("high", 0.07)
        if low == -high:
            return f"init.Uniform({literal(high)})"
        raise Unsupported("Gluon's init.Uniform(scale) draws from U(-scale, scale) only; "
                          f"U({low}, {high}) has no Gluon initializer")

    # -- models -----------------------------------------------------------------------------
    def build(self, spec: dict, ctx: Context, var: str = "net") -> Model:
        model = Model(var, [], spec=spec)
        marked: dict[str, tuple[str, dict, str, str]] = {}  # as-name -> (variable, node, path, where)
        if model_kind(spec) == "param_dict":
            model.lines.append(f"{var} = {self.param_dict_class()}()")
            for name, shape in spec["param_dict"]["params"].items():
                model.lines.append(f"{var}.get({literal(name)}, shape={literal(tuple(shape))})")
                model.params[name] = f"{var}[{literal(name)}]"
            return model
        expr = self._item(spec, "", var, model, marked, ctx)
        if expr != var:
            model.lines.append(f"{var} = {expr}")
        return model

    def param_dict_class(self) -> str:
        return "gluon.ParameterDict"

    def _dense_params(self, model: Model, path: str, layer: str, args: dict) -> None:
        model.layers[path] = layer
        model.params[_join(path, "weight")] = f"{layer}.weight"
        if args.get("use_bias", True):
            model.params[_join(path, "bias")] = f"{layer}.bias"

    def _dense(self, args: dict, ctx: Context, share: str | None = None) -> str:
        opts = [literal(args["units"])]
        if args.get("activation"):
            opts.append(f"activation={literal(args['activation'])}")
        if args.get("use_bias", True) is False:
            opts.append("use_bias=False")
        if args.get("in_units"):
            opts.append(f"in_units={literal(args['in_units'])}")
        inits = args.get("init") or {}
        if "weight" in inits:
            opts.append(f"weight_initializer={self.initializer(inits['weight'], ctx)}")
        if "bias" in inits:
            opts.append(f"bias_initializer={self.initializer(inits['bias'], ctx)}")
        if share:
            opts.append(f"params={share}.params")  # 000 §4.2.4: share another layer's parameters
        return f"nn.Dense({', '.join(opts)})"

    def _item(self, node: dict, path: str, where: str, model: Model, marked: dict, ctx: Context) -> str:
        """The expression of one model node whose layer is reached as `where`; records the
        canonical paths of its parameters and layers."""
        kind = model_kind(node)
        args = node[kind] if node[kind] is not None else {}
        if kind == "reuse":
            variable, target, target_path, target_where = marked[args]
            if model_kind(target) == "dense":
                expr = self._dense(target["dense"], ctx, share=variable)
                self._dense_params(model, path, where, target["dense"])
                return expr
            self._copy_paths(model, target_path, target_where, path, where)
            return variable
        if kind == "dense":
            share = marked[args["params_from"]][0] if args.get("params_from") else None
            expr = self._dense(args, ctx, share)
            self._dense_params(model, path, where, args)
        elif kind == "relu":
            expr = "nn.Activation('relu')"
        elif kind == "flatten":
            expr = "nn.Flatten()"
        elif kind == "dropout":
            expr = f"nn.Dropout({literal(args['rate'])})"
        elif kind in ("sequential", "named_sequential"):
            seq = model.var if not path and where == model.var else self._fresh(ctx, "seq")
            model.lines.append(f"{seq} = nn.Sequential()")
            children = list(args.items()) if kind == "named_sequential" else [(None, c) for c in args]
            for index, (name, child) in enumerate(children):
                child_expr = self._item(child, _join(path, str(index)), f"{where}[{index}]", model, marked, ctx)
                if name is None:
                    model.lines.append(f"{seq}.add({child_expr})")
                else:  # note 001's add_module(name, block): Gluon's register_child(block, name)
                    model.lines.append(f"{seq}.register_child({child_expr}, {literal(name)})")
            expr = seq
        elif kind in ("my_sequential", "my_sequential_by_object"):
            cls = ctx.need_class("MySequential" if kind == "my_sequential" else "MySequentialByObject")
            seq = model.var if not path and where == model.var else self._fresh(ctx, "seq")
            model.lines.append(f"{seq} = {cls}()")
            for index, child in enumerate(args):
                reach = f"list({where}._children.values())[{index}]"
                model.lines.append(f"{seq}.add({self._item(child, _join(path, str(index)), reach, model, marked, ctx)})")
            expr = seq
        elif kind == "fancy_mlp":
            cls, attr = _FANCY[args.get("variant", "000")]
            expr = f"{ctx.need_class(cls)}()"
            self._dense_params(model, _join(path, attr), f"{where}.{attr}", {})
            model.params[_join(path, "rand_weight")] = f"{where}.rand_weight"
        elif kind in ("mlp", "mlp_no_super", "list_mlp"):
            units = f"in_units={literal(args['in_units'])}" if args.get("in_units") else ""
            expr = f"{ctx.need_class(_NOTES_CLASSES[kind])}({units})"
            if kind == "list_mlp":
                for index in (0, 1):
                    self._dense_params(model, _join(path, f"layers.{index}"), f"{where}.layers[{index}]", {})
            else:
                for part in ("hidden", "output"):
                    self._dense_params(model, _join(path, part), f"{where}.{part}", {})
        elif kind == "nest_mlp" and args.get("variant", "000") == "004":
            # note 004's counter-example: its own add() puts one Dense(10) into the child registry
            expr = self._fresh(ctx, "nest") if path or where != model.var else model.var
            model.lines += [f"{expr} = {ctx.need_class('NestMLP004')}()", f"{expr}.add(nn.Dense(10))"]
            self._dense_params(model, _join(path, "dense"), f"{where}.dense", {})
            self._dense_params(model, _join(path, "added"), f"list({where}._children.values())[1]", {})
            model.params[_join(path, "rand_weight")] = f"{where}.rand_weight"
        elif kind == "nest_mlp":
            expr = f"{ctx.need_class('NestMLP')}()"
            model.layers[_join(path, "net")] = f"{where}.net"
            for index in (0, 1):
                self._dense_params(model, _join(path, f"net.{index}"), f"{where}.net[{index}]", {})
            self._dense_params(model, _join(path, "dense"), f"{where}.dense", {})
        elif kind == "centered":
            expr = f"{ctx.need_class('CenteredLayer')}()"
        elif kind == "my_dense":
            expr = self.my_dense(args, ctx)
            self._dense_params(model, path, where, {})
        else:
            raise Unsupported(f"no Gluon model for {kind}")
        model.layers.setdefault(path, where)
        if "as" in node:
            variable = ctx.name(f"layer_{node['as']}")
            model.lines.append(f"{variable} = {expr}")
            marked[node["as"]] = (variable, node, path, where)
            return variable
        return expr

    def my_dense(self, args: dict, ctx: Context) -> str:
        """The notes' MyDense(units, in_units=..., read_via_data=...) as the framework's notes write it."""
        opts = [literal(args["units"])]
        if args.get("in_units"):
            opts.append(f"in_units={literal(args['in_units'])}")
        if args.get("read_via_data"):
            opts.append("read_via_data=True")
        return f"{ctx.need_class('MyDense')}({', '.join(opts)})"

    def _copy_paths(self, model: Model, source: str, source_where: str, path: str, where: str) -> None:
        """A block added a second time answers under its second position too."""
        for table in (model.params, model.layers):
            for old, expr in list(table.items()):
                inside = old == source or old.startswith(source + ".") or not source
                if inside and expr.startswith(source_where):
                    table.setdefault(_join(path, old[len(source):].lstrip(".")), where + expr[len(source_where):])

    def _fresh(self, ctx: Context, stem: str) -> str:
        count = ctx.state.setdefault(stem, 0)
        ctx.state[stem] = count + 1
        name = f"{stem}{count}"
        ctx.reserved.add(name)
        return name

    # -- steps ----------------------------------------------------------------------------
    def initialize(self, args: dict, ctx: Context) -> list[str]:
        lines = [f"{self.seed_call}({literal(args['seed'])})"] if "seed" in args else []
        init = self.initializer(args.get("init", "default"), ctx)
        opts = [] if init == "None" else [init]
        where = ctx.state.get("model_device")
        if where:  # where the model was moved: its parameters are created there
            opts.append(f"{self.ctx_keyword}={self.device(where)}")
        if args.get("force_reinit"):
            opts.append("force_reinit=True")
        target = args.get("target")
        if target is None:
            return lines + [f"{ctx.model.var}.initialize({', '.join(opts)})"]
        if target in ctx.model.params:  # 000 §4.2.2: net[0].weight.initialize(init=init.Xavier(), force_reinit=True)
            opts = [f"init={opts[0]}"] + opts[1:] if init != "None" else opts
            return lines + [f"{ctx.param(target)}.initialize({', '.join(opts)})"]
        return lines + [f"{ctx.layer(target)}.initialize({', '.join(opts)})"]

    def forward(self, args: dict, ctx: Context) -> list[str]:
        out = ctx.name(args.get("as", "out"))
        train = args.get("mode") == "train"
        if args.get("record", True):
            # the book records training as `with autograd.record():` (train_mode=True by default)
            scope = "autograd.record()" if train else "autograd.record(train_mode=False)"
        else:
            scope = "autograd.train_mode()" if train else "autograd.predict_mode()"
        return [f"with {scope}:", f"    {out} = {ctx.model.var}({self.array(args['input'], args.get('device'))})"]

    def backward(self, args: dict, ctx: Context) -> list[str]:
        y = ctx.name(args.get("of", "out"))
        opts = []
        if "head" in args:
            opts.append(self.array(args["head"]))
        elif args.get("loss", "sum") == "sum":
            opts.append(f"nd.ones({y}.shape, {self.ctx_keyword}={y}.{self.ctx_attribute})")  # d(y.sum())/dy
        elif args.get("loss") == "mean":
            opts.append(f"nd.ones({y}.shape, {self.ctx_keyword}={y}.{self.ctx_attribute}) / {y}.size")
        if args.get("retain_graph"):
            opts.append("retain_graph=True")
        return [f"{y}.backward({', '.join(opts)})"]

    def zero_grad(self, args: dict, ctx: Context) -> list[str]:
        lines = [f"{ctx.model.var}.collect_params().zero_grad()"] if ctx.model else []
        return lines + [f"{name}.grad[:] = 0" for name in ctx.state.get("with_grad", [])]

    def write_param(self, args: dict, ctx: Context) -> list[str]:
        p = ctx.param(args["param"])
        if "add" in args:
            return [f"{p}.set_data({p}.data() + {literal(args['add'])})"]  # 000 §4.2.3
        if "set" in args:
            index = ", ".join(literal(i) for i in args["set"]["index"])
            return [f"{p}.data()[{index}] = {literal(args['set']['value'])}"]
        return [f"{p}.data()[:] = {literal(args['fill'])}"]

    def read_param(self, args: dict, ctx: Context) -> list[str]:
        return [f"data = {ctx.param(args['param'])}.data()"]

    def sgd_step(self, args: dict, ctx: Context) -> list[str]:
        if "wd" in args:  # note 002: Gluon's wd hyperparameter, given to the Trainer
            if self.gluon_import:
                ctx.need_import(self.gluon_import)
            options = f"{{'learning_rate': {literal(args['lr'])}, 'wd': {literal(args['wd'])}}}"
            made = ctx.state.get("trainer") == (args["lr"], args["wd"], id(ctx.model))  # the book makes its Trainer once
            ctx.state["trainer"] = (args["lr"], args["wd"], id(ctx.model))
            return ([] if made else [f"trainer = gluon.Trainer({ctx.model.var}.collect_params(), 'sgd', {options})"]) + \
                ["trainer.step(1)  # batch size 1: the gradient as backward left it"]
        return [f"for param in {ctx.model.var}.collect_params().values():",
                "    if param.grad_req != 'null':",
                f"        param.data()[:] = param.data() - {literal(args['lr'])} * param.grad()"]

    def _saved(self, value) -> str:
        if isinstance(value, list):
            return "[" + ", ".join(self.array(v) for v in value) + "]"
        if not is_generator(value):
            return "{" + ", ".join(f"{literal(k)}: {self.array(v)}" for k, v in value.items()) + "}"
        return self.array(value)

    def save_tensors(self, args: dict, ctx: Context) -> list[str]:
        return [f"nd.save({literal(args['file'])}, {self._saved(args['value'])})"]

    def load_tensors(self, args: dict, ctx: Context) -> list[str]:
        return [f"{ctx.name(args['as'])} = nd.load({literal(args['file'])})"]

    def save_params(self, args: dict, ctx: Context) -> list[str]:
        if args.get("legacy"):  # note 002's name, before MXNet 1.3's save_parameters
            return [f"{ctx.model.var}.save_params({literal(args['file'])})"]
        return [f"{ctx.model.var}.save_parameters({literal(args['file'])})"]

    def load_params(self, args: dict, ctx: Context) -> list[str]:
        ctx.model = self.build(args.get("model") or ctx.model.spec, ctx, ctx.model.var)
        lines = list(ctx.model.lines)
        where = f", {self.ctx_keyword}={self.device(args['device'])}" if args.get("device") else ""
        if args.get("initialize"):
            lines.append(f"{ctx.model.var}.initialize({where.lstrip(', ')})")
        ctx.state["model_device"] = args.get("device")
        load = "load_params" if args.get("legacy") else "load_parameters"  # note 002's name, before MXNet 1.3
        return lines + [f"{ctx.model.var}.{load}({literal(args['file'])}{where})"]

    def to_device(self, args: dict, ctx: Context) -> list[str]:
        target = args.get("target", "model")
        if target == "model":
            ctx.state["model_device"] = args["device"]
            return [f"{ctx.model.var}.collect_params().reset_ctx({self.device(args['device'])})"]
        name = ctx.name(target)
        return [f"{name} = {name}.as_in_context({self.device(args['device'])})"]

    def tensor(self, args: dict, ctx: Context) -> list[str]:
        name = ctx.name(args["name"])
        lines = [f"{name} = {self.array(args['value'], args.get('device'))}"]
        if args.get("requires_grad"):
            lines.append(f"{name}.attach_grad()")
            ctx.state.setdefault("with_grad", []).append(name)
        return lines

    def compute(self, args: dict, ctx: Context) -> list[str]:
        names = [ctx.name(a) for a in args["args"]]
        out = ctx.name(args["out"])
        if args["fn"] == "add_out":  # nd.elemwise_add(X, Y, out=Z): the sum lands in Z's memory
            return [f"{out} = nd.elemwise_add({names[0]}, {names[1]}, out={names[2]})"]
        scope = "autograd.record()" if args.get("record", True) else "autograd.pause()"
        if args["fn"] == "setitem_zero":
            return [f"with {scope}:", f"    {names[0]}[0] = 0", f"    {out} = {names[0]}"]
        return [f"with {scope}:", f"    {out} = {self.compute_expr(args['fn'], names, ctx)}"]

    def update(self, args: dict, ctx: Context) -> list[str]:
        w, lr = ctx.name(args["value"]), literal(args["lr"])
        if args["how"] == "rebind":
            return [f"{w} = {w} - {lr} * {w}.grad  # a new array: no gradient attached"]
        return [f"{w}[:] = {w} - {lr} * {w}.grad  # in place: the same array keeps its gradient"]

    def copy_to(self, args: dict, ctx: Context) -> list[str]:
        how = "copyto" if args["how"] == "copy" else "as_in_context"
        return [f"{ctx.name(args['as'])} = {ctx.name(args['value'])}.{how}({self.device(args['device'])})"]

    def to_numpy(self, args: dict, ctx: Context) -> list[str]:
        return [f"{ctx.name(args['as'])} = {ctx.name(args['value'])}.asnumpy()"]

    def random(self, args: dict, ctx: Context) -> list[str]:
        opts = [literal(args[k]) for k in ("low", "high") if k in args]
        if "shape" in args:
            opts.append(f"shape={literal(tuple(args['shape']))}")
        return [f"{ctx.name(args['as'])} = nd.random.uniform({', '.join(opts)})"]

    def attach_grad(self, args: dict, ctx: Context) -> list[str]:
        name = ctx.name(args["value"])
        ctx.state.setdefault("with_grad", []).append(name)
        return [f"{name}.attach_grad()"]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name
