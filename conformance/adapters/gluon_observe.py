"""Observations and probes of the Gluon idiom (`GluonIdiom` in gluon.py), MXNet's and the reference's.

Rule: an observation is one expression over Gluon's own handles: a parameter reached by Gluon's
indexing (the PARAMS table and `canonical`), the parameters as `collect_params()` lists them
(constants included), an array's memory and device as the framework reports them. A probe runs
the notes' own snippet and returns what it returned or printed, as plain data. The program
helpers they ask for are kept here as source text.
"""

from __future__ import annotations

from conformance.program.idiom import Context, Unsupported, literal
from conformance.spec.vocabulary import model_kind

# Helpers a program asks for (added once, before the notes' classes).
CANONICAL = '''\
def canonical(param):
    """The kit's name for a parameter: the path by which Gluon's own indexing reaches it."""
    for path, get in PARAMS.items():
        try:
            if get() is param:
                return path
        except Exception:
            pass
    return getattr(param, "name", repr(param))
'''
SHAPE_OF = '''\
def shape_of(param):
    """A parameter's shape, or None while Gluon does not know it yet (a 0 in the shape)."""
    shape = param.shape
    return None if shape is None or 0 in shape else list(shape)
'''
GRAD_OF = '''\
def grad_of(param):
    """A parameter's gradient, or None when it has none (grad_req 'null')."""
    return None if param.grad_req == "null" else param.grad()
'''
NP_SAVE = '''\
def np_save_as_written(obj, kind):
    """Note 003: np.save of the framework's arrays, then np.load without pickle."""
    path = f"np_save_{kind}.npy"
    result = {"saved": False, "error": None, "needs_pickle": None, "loaded_shape": None, "loaded_dtype": None}
    try:
        np.save(path, obj)
    except Exception as error:
        result["error"] = f"{type(error).__name__}: {message_of(error)}"
        return result
    result["saved"] = True
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError:
        result["needs_pickle"] = True
        return result
    result.update(needs_pickle=False, loaded_shape=list(loaded.shape), loaded_dtype=loaded.dtype.name)
    return result
'''


class GluonObservations:
    """The `observe_<key>` and `probe_<name>` methods of `GluonIdiom` (a mixin: the idiom sets
    `ctx_keyword`, `ctx_attribute` and, where the framework has one, `storage_source`)."""

    # -- observations ------------------------------------------------------------------------
    def _params_table(self, ctx: Context) -> str:
        entries = ", ".join(f"{literal(path)}: lambda: {expr}" for path, expr in ctx.model.params.items())
        ctx.helper("PARAMS", "# the kit's name of each parameter -> the parameter, reached by Gluon's own indexing\n"
                             f"PARAMS = {{{entries}}}\n")
        return ctx.helper("canonical", CANONICAL)

    def _listing(self, ctx: Context) -> str:
        var = ctx.model.var
        return f"{var}.values()" if model_kind(ctx.model.spec) == "param_dict" else f"{var}.collect_params().values()"

    def observe_param_paths(self, key, ctx: Context) -> str:
        return f"[{self._params_table(ctx)}(p) for p in {self._listing(ctx)}]"

    def observe_trainable_paths(self, key, ctx: Context) -> str:
        return f"[{self._params_table(ctx)}(p) for p in {self._listing(ctx)} if p.grad_req != 'null']"

    def observe_native_names(self, key, ctx: Context) -> str:
        return f"{{{self._params_table(ctx)}(p): p.name for p in {self._listing(ctx)}}}"

    def observe_all_params(self, key, ctx: Context) -> str:
        return f"{{{self._params_table(ctx)}(p): p.data() for p in {self._listing(ctx)}}}"

    def observe_param_shape(self, key, ctx: Context) -> str:
        return f"{ctx.helper('shape_of', SHAPE_OF)}({ctx.param(key.path)})"

    def observe_param_value(self, key, ctx: Context) -> str:
        return f"{ctx.param(key.path)}.data()"

    def observe_param_grad(self, key, ctx: Context) -> str:
        return f"{ctx.helper('grad_of', GRAD_OF)}({ctx.param(key.path)})"

    def observe_value(self, key, ctx: Context) -> str:
        return ctx.name(key.name)

    def observe_value_grad(self, key, ctx: Context) -> str:
        name = ctx.name(key.name)
        return f"getattr({name}, 'grad', None)"

    def observe_init_calls(self, key, ctx: Context) -> str:
        if ctx.model is None:
            return "INIT_CALLS"
        table = self._params_table(ctx)
        return (f"[dict(call, name=next(({table}(p) for p in {self._listing(ctx)} if p.name == call['name']), "
                f"call['name'])) for call in INIT_CALLS]")

    def observe_same_storage(self, key, ctx: Context) -> str:
        if key.what == "param":
            a, b = f"{ctx.param(key.a)}.data()", f"{ctx.param(key.b)}.data()"
        else:
            a, b = ctx.name(key.a), ctx.name(key.b)
        where = ctx.helper("storage", self.storage_source())
        return f"{where}({a}) == {where}({b})"

    def storage_source(self) -> str:
        """The source of `def storage(array)`: the address of an array's memory (NumPy's too)."""
        raise Unsupported("no storage handle")

    def observe_device(self, key, ctx: Context) -> str:
        array = f"{ctx.param(key.name)}.data()" if key.what == "param" else ctx.name(key.name)
        where = ctx.helper("device_of", self.device_of_source())
        return f"{where}({array})"

    def device_of_source(self) -> str:
        return f'''\
def device_of(array):
    """Where an array lives: the kit's name for the device, and the framework's own."""
    if isinstance(array, np.ndarray):
        return {{"canonical": "default", "native": "numpy (host memory)"}}
    native = array.{self.ctx_attribute}
    names = {{str(default): "default", str(second): "second"}}
    return {{"canonical": names.get(str(native), "gpu" if "gpu" in str(native) else str(native)), "native": str(native)}}
'''

    # -- probes: the notes' own snippets --------------------------------------------------------
    def probe_is_training(self, args, ctx):
        return ["with autograd.record():", "    inside = autograd.is_training()"], \
            "{'inside_recording': inside, 'outside_recording': autograd.is_training()}"

    def probe_structure(self, args, ctx):
        return [], f"{{'text': str({ctx.model.var})}}"

    def probe_param_type(self, args, ctx):
        return [], f"{{'class': type(next(iter({self._listing(ctx)}))).__name__}}"

    def probe_try_gpu(self, args, ctx):
        i = literal(args.get("i", 0))
        where = ctx.helper("device_of", self.device_of_source())
        ctx.need_class("try_gpu")
        return [], f"{{'device': str(try_gpu({i})), 'canonical': {where}(nd.ones((1,), {self.ctx_keyword}=try_gpu({i})))['canonical']}}"

    def probe_try_all_gpus(self, args, ctx):
        ctx.need_class("try_all_gpus")
        where = ctx.helper("device_of", self.device_of_source())
        return [], (f"{{'devices': [str(d) for d in try_all_gpus()], 'canonical': "
                    f"[{where}(nd.ones((1,), {self.ctx_keyword}=d))['canonical'] for d in try_all_gpus()]}}")

    def probe_default_device(self, args, ctx):
        where = ctx.helper("device_of", self.device_of_source())
        return [], f"{{'device': {where}(nd.array([1, 2, 3]))['canonical']}}"

    def probe_param_dict(self, args, ctx):
        table = self._params_table(ctx)
        target, select = args.get("target"), args.get("select")
        if model_kind(ctx.model.spec) == "param_dict" and target is None and select is None:
            params = ctx.model.var
        elif select is None and target not in (None, ""):
            params = f"{ctx.layer(target)}.params"  # the note's net[0].params
        else:
            owner = ctx.layer(target) if target else ctx.model.var
            params = f"{owner}.collect_params({literal(select)})" if select is not None else f"{owner}.collect_params()"
        return [f"params = {params}"], (
            "{'container': type(params).__name__, 'names': list(params.keys()), "
            "'shapes': {n: list(p.shape or ()) for n, p in params.items()}, "
            "'dtypes': {n: np.dtype(p.dtype).name for n, p in params.items()}, "
            f"'attributes': {{n: {table}(p) for n, p in params.items()}}, 'text': repr(params)}}")

    def probe_param_repr(self, args, ctx):
        p = ctx.param(args["param"])
        return [], (f"{{'text': repr({p}), 'class': type({p}).__name__, "
                    f"'data_class': type({p}.data()).__name__ if {ctx.helper('shape_of', SHAPE_OF)}({p}) else None}}")

    def probe_sequential_class(self, args, ctx):
        return [], "{'is_model': issubclass(nn.Sequential, nn.Block), 'base': 'Block', 'class': nn.Sequential.__name__}"

    def probe_prefix_names(self, args, ctx):
        cls = ctx.need_class("MyDense")
        return [f"layer = {cls}(units=3, in_units=5, prefix={literal(args['prefix'])})"], \
            f"{{'prefix': {literal(args['prefix'])}, 'names': list(layer.collect_params().keys())}}"

    def probe_init_desc(self, args, ctx):
        table = self._params_table(ctx)
        listing = self._listing(ctx)
        return ["descs = [call['name'] for call in INIT_CALLS]  # what MyInit._init_weight got as `name`"], (
            "{'classes': sorted({type(d).__name__ for d in descs}), 'is_str': all(isinstance(d, str) for d in descs), "
            f"'params': sorted({table}(p) for p in {listing} if p.name in descs), "
            "'attrs': sorted({k for d in descs for k in getattr(d, 'attrs', {})}), "
            "'init': sorted({type(d.attrs.get('__init__')).__name__ for d in descs if hasattr(d, 'attrs')}), "
            "'global_init': sorted({type(getattr(d, 'global_init', None)).__name__ for d in descs})}")

    def probe_saved_params(self, args, ctx):
        return [f"loaded = nd.load({literal(args['file'])})"], \
            "{'container': type(loaded).__name__, 'names': list(loaded), 'shapes': {n: list(v.shape) for n, v in loaded.items()}}"

    def probe_np_save(self, args, ctx):
        names = [ctx.name(n.strip()) for n in str(args["values"]).split(",") if n.strip()]
        kind = args.get("kind", "one")
        obj = names[0] if kind == "one" else (
            "[" + ", ".join(names) + "]" if kind == "list" else
            "{" + ", ".join(f"{literal(n)}: {n}" for n in names) + "}")
        return [], f"{ctx.helper('np_save_as_written', NP_SAVE)}({obj}, {literal(kind)})"

