"""What a torch program observes, and the notes' snippets it runs: the evidence half of `TorchIdiom`.

Rule: an observation is one expression over torch's own handles: the parameters as
`named_parameters()` lists them, each reached by torch's own indexing (the PARAMS table),
memory by `data_ptr()`, a device as `tensor.device` says. The program helpers they ask for are
kept here as source text.
"""

from __future__ import annotations

from conformance.adapters.gluon_observe import GluonObservations
from conformance.program.idiom import Context, Unsupported, literal
from conformance.spec.vocabulary import model_kind

CANONICAL = '''\
def canonical(param):
    """The kit's name for a parameter: the path by which torch's own indexing reaches it."""
    for path, get in PARAMS.items():
        try:
            if get() is param:
                return path
        except Exception:
            pass
    return repr(param)
'''
SHAPE_OF = '''\
def shape_of(param):
    """A parameter's shape, or None while it is an nn.LazyLinear's UninitializedParameter."""
    return None if isinstance(param, nn.parameter.UninitializedParameter) else list(param.shape)
'''
STORAGE = '''\
def storage(tensor):
    """The address of a tensor's memory: torch's data_ptr(), NumPy's array interface."""
    if isinstance(tensor, np.ndarray):
        return tensor.__array_interface__["data"][0]
    if tensor.is_meta:
        raise NotImplementedError("a meta tensor has no data: it has no address to compare")
    return tensor.data_ptr()
'''
DEVICE_OF = '''\
def device_of(tensor):
    """Where a tensor lives: the kit's name for its device, and torch's own."""
    if isinstance(tensor, np.ndarray):
        return {"canonical": "default", "native": "numpy (host memory)"}
    native = tensor.device
    names = {str(default): "default", str(second): "second"}
    return {"canonical": names.get(str(native), "gpu" if native.type == "cuda" else str(native)), "native": str(native)}
'''
BY_STORAGE = '''\
def canonical_by_storage(tensor):
    """The kit's name of the parameter whose memory a state_dict() entry is (torch's data_ptr())."""
    for path, get in PARAMS.items():
        try:
            param = get()
            if param.data_ptr() == tensor.data_ptr() and param.shape == tensor.shape:
                return path
        except Exception:
            pass
    return None
'''


class TorchObservations:
    """The `observe_<key>` and `probe_<name>` methods of `TorchIdiom`."""

    # -- observations ------------------------------------------------------------------------
    def _params_table(self, ctx: Context) -> str:
        entries = ", ".join(f"{literal(path)}: lambda: {expr}" for path, expr in ctx.model.params.items())
        ctx.helper("PARAMS", "# the kit's name of each parameter -> the parameter, reached by torch's own indexing\n"
                             f"PARAMS = {{{entries}}}\n")
        return ctx.helper("canonical", CANONICAL)

    def _listing(self, ctx: Context, template: str) -> str:
        """A comprehension over torch's own listing, `named_parameters()` (a shared one once)."""
        return template.format(c=self._params_table(ctx), each=f"for name, p in {ctx.model.var}.named_parameters()")

    def observe_param_paths(self, key, ctx: Context) -> str:
        return self._listing(ctx, "[{c}(p) {each}]")

    def observe_trainable_paths(self, key, ctx: Context) -> str:
        return self._listing(ctx, "[{c}(p) {each} if p.requires_grad]")

    def observe_native_names(self, key, ctx: Context) -> str:
        return self._listing(ctx, "{{{c}(p): name {each}}}")

    def observe_all_params(self, key, ctx: Context) -> str:
        return self._listing(ctx, "{{{c}(p): p {each}}}")

    def observe_param_shape(self, key, ctx: Context) -> str:
        return f"{ctx.helper('shape_of', SHAPE_OF)}({ctx.param(key.path)})"

    def observe_param_value(self, key, ctx: Context) -> str:
        return ctx.param(key.path)

    def observe_param_grad(self, key, ctx: Context) -> str:
        return f"{ctx.param(key.path)}.grad"

    def observe_value(self, key, ctx: Context) -> str:
        return ctx.name(key.name)

    def observe_value_grad(self, key, ctx: Context) -> str:
        name = ctx.name(key.name)
        return f"getattr({name}, 'grad', None)"

    def observe_init_calls(self, key, ctx: Context) -> str:
        name = self._params_table(ctx) if ctx.model is not None else "repr"
        return (f"[{{'name': {name}(call['param']), 'shape': call['shape'], 'step': call['step']}} "
                "for call in INIT_CALLS]")

    def observe_same_storage(self, key, ctx: Context) -> str:
        a, b = (ctx.param(key.a), ctx.param(key.b)) if key.what == "param" else (ctx.name(key.a), ctx.name(key.b))
        where = ctx.helper("storage", STORAGE)
        return f"{where}({a}) == {where}({b})"

    def observe_device(self, key, ctx: Context) -> str:
        tensor = ctx.param(key.name) if key.what == "param" else ctx.name(key.name)
        return f"{ctx.helper('device_of', DEVICE_OF)}({tensor})"

    # -- probes: the notes' own snippets --------------------------------------------------------
    def probe_is_training(self, args, ctx):
        raise Unsupported("torch's autograd has no training mode: recording is always on (torch.no_grad() turns it "
                          "off) and dropout follows module.train() / module.eval()")

    def probe_structure(self, args, ctx):
        return [], f"{{'text': str({ctx.model.var})}}"

    def probe_param_type(self, args, ctx):
        return [], f"{{'class': type(next(iter({ctx.model.var}.parameters()))).__name__}}"

    def probe_default_device(self, args, ctx):
        return [], f"{{'device': {ctx.helper('device_of', DEVICE_OF)}(torch.tensor([1, 2, 3]))['canonical']}}"

    def probe_try_gpu(self, args, ctx):
        i = literal(args.get("i", 0))
        ctx.need_class("try_gpu")
        return [], (f"{{'device': str(try_gpu({i})), 'canonical': "
                    f"{ctx.helper('device_of', DEVICE_OF)}(torch.ones(1, device=try_gpu({i})))['canonical']}}")

    def probe_try_all_gpus(self, args, ctx):
        ctx.need_class("try_all_gpus")
        return [], (f"{{'devices': [str(d) for d in try_all_gpus()], 'canonical': "
                    f"[{ctx.helper('device_of', DEVICE_OF)}(torch.ones(1, device=d))['canonical'] "
                    "for d in try_all_gpus()]}")

    def probe_param_dict(self, args, ctx):
        if model_kind(ctx.model.spec) != "param_dict" or args.get("target") or args.get("select") is not None:
            raise Unsupported("torch has no ParameterDict of a model keyed by native names and no regex selection: "
                              "the idioms are module.state_dict() / named_parameters() filtered in Python")
        table = self._params_table(ctx)
        return [f"params = {ctx.model.var}"], (
            "{'container': type(params).__name__, 'names': list(params.keys()), "
            "'shapes': {n: list(p.shape) for n, p in params.items()}, "
            "'dtypes': {n: str(p.dtype).replace('torch.', '') for n, p in params.items()}, "
            f"'attributes': {{n: {table}(p) for n, p in params.items()}}, 'text': repr(params)}}")

    def probe_state_dict(self, args, ctx):
        target = args.get("target")
        owner = ctx.layer(target) if target else ctx.model.var
        self._params_table(ctx)
        by_storage = ctx.helper("canonical_by_storage", BY_STORAGE)
        return [f"state = {owner}.state_dict()"], (
            "{'container': type(state).__name__, 'names': list(state), "
            "'shapes': {n: list(t.shape) for n, t in state.items()}, "
            "'dtypes': {n: str(t.dtype).replace('torch.', '') for n, t in state.items()}, "
            f"'attributes': {{n: {by_storage}(t) for n, t in state.items()}}}}")

    def probe_param_repr(self, args, ctx):
        p = ctx.param(args["param"])
        return [], f"{{'text': repr({p}), 'class': type({p}).__name__, 'data_class': type({p}.data).__name__}}"

    def probe_sequential_class(self, args, ctx):
        return [], ("{'is_model': issubclass(nn.Sequential, nn.Module), 'base': nn.Module.__name__, "
                    "'class': nn.Sequential.__name__}")

    def probe_prefix_names(self, args, ctx):
        raise Unsupported("torch's nn.Module.__init__ takes no prefix: parameter names are attribute paths "
                          "(weight, 0.bias)")

    def probe_init_desc(self, args, ctx):
        raise Unsupported("torch has no InitDesc: the book's init functions get the module (net.apply(my_init): "
                          "my_init(m)) and nn.init functions the tensor; a parameter's name comes from "
                          "named_parameters(), never from the initializer's arguments")

    def probe_saved_params(self, args, ctx):
        return [f"loaded = torch.load({literal(args['file'])}, weights_only=True)"], \
            ("{'container': type(loaded).__name__, 'names': list(loaded), "
             "'shapes': {n: list(v.shape) for n, v in loaded.items()}}")

    probe_np_save = GluonObservations.probe_np_save  # note 003's np.save of the framework's tensors, as Gluon's


    def probe_keras_weights(self, args, ctx):
        raise Unsupported("torch's nn.Linear keeps its weight (out_features, in_features) under the name 'weight'; "
                          "there is no Keras kernel (in, out) and no model.weights")
