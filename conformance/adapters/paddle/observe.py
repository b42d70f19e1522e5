"""What a Paddle program observes, and the notes' snippets it runs: the evidence half of `PaddleIdiom`.

Rule: an observation is one expression over Paddle's own handles: the parameters as
`net.parameters()` / `named_parameters()` list them, each reached by Paddle's own indexing (the
PARAMS table of every model the program built), an nn.Linear weight transposed to the kit's
(out, in) in plain sight (`kit_layout`), memory by `data_ptr()`, a device by `tensor.place`.
The program helpers they ask for are kept here as source text.
"""

from __future__ import annotations

from conformance.adapters.gluon_observe import GluonObservations
from conformance.program.idiom import Context, Unsupported, literal
from conformance.spec.vocabulary import model_kind

CANONICAL = '''\
def canonical(param):
    """The kit's name for a parameter: the path by which Paddle's own indexing reaches it."""
    for path, get in PARAMS.items():
        try:
            if get() is param:
                return path
        except Exception:
            pass
    return getattr(param, "name", repr(param))
'''
KIT_LAYOUT = '''\
def kit_layout(path, value):
    """A parameter's values (or gradient) in the kit's layout: nn.Linear keeps its weight as
    (in, out), the kit as (out, in), so the weights listed in IN_OUT are transposed."""
    if value is None:
        return None
    return value.numpy().T if path in IN_OUT else value.numpy()
'''
STORAGE = '''\
def storage(value):
    """The address of a tensor's memory: Paddle's data_ptr(), NumPy's array interface."""
    if isinstance(value, np.ndarray):
        return value.__array_interface__["data"][0]
    return value.data_ptr()
'''
DEVICE_OF = '''\
def device_of(value):
    """Where a tensor lives: the kit's name for its place (the CPU is the default device, a GPU
    the notes' second one), and Paddle's own."""
    if isinstance(value, np.ndarray):
        return {"canonical": "default", "native": "numpy (host memory)"}
    place = value.place
    canonical = "default" if place.is_cpu_place() else "second" if place.is_gpu_place() else str(place)
    return {"canonical": canonical, "native": str(place)}
'''


class PaddleObservations:
    """The `observe_<key>` and `probe_<name>` methods of `PaddleIdiom`."""

    # -- observations ---------------------------------------------------------------------------
    def _canonical(self, ctx: Context) -> str:
        """The PARAMS table (every model the program built, the latest last) and `canonical`."""
        table = ctx.state.setdefault("params_table", {})
        table.update(ctx.model.params)
        in_out = ctx.state.setdefault("in_out_table", set())
        in_out |= ctx.state["in_out"]
        entries = ", ".join(f"{literal(path)}: lambda: {expr}" for path, expr in table.items())
        ctx.helper("PARAMS", "")
        ctx.helpers["PARAMS"] = ("# the kit's name of each parameter -> the parameter, reached by Paddle's own indexing\n"
                                 f"PARAMS = {{{entries}}}\n"
                                 "# nn.Linear weights: Paddle keeps them (in, out), the kit (out, in)\n"
                                 f"IN_OUT = set({literal(sorted(in_out))})\n")
        ctx.helper("kit_layout", KIT_LAYOUT)
        return ctx.helper("canonical", CANONICAL)

    def observe_param_paths(self, key, ctx: Context) -> str:
        return f"[{self._canonical(ctx)}(p) for p in {ctx.model.var}.parameters()]"

    def observe_trainable_paths(self, key, ctx: Context) -> str:
        return f"[{self._canonical(ctx)}(p) for p in {ctx.model.var}.parameters() if not p.stop_gradient]"

    def observe_native_names(self, key, ctx: Context) -> str:
        return f"{{{self._canonical(ctx)}(p): f'{{name}} ({{p.name}})' for name, p in {ctx.model.var}.named_parameters()}}"

    def observe_all_params(self, key, ctx: Context) -> str:
        self._canonical(ctx)
        return f"{{canonical(p): kit_layout(canonical(p), p) for p in {ctx.model.var}.parameters()}}"

    def observe_param_shape(self, key, ctx: Context) -> str:
        shape = f"list({ctx.param(key.path)}.shape)"
        return f"{shape}[::-1]" if key.path in ctx.state["in_out"] else shape

    def observe_param_value(self, key, ctx: Context) -> str:
        self._canonical(ctx)
        return f"kit_layout({literal(key.path)}, {ctx.param(key.path)})"

    def observe_param_grad(self, key, ctx: Context) -> str:
        self._canonical(ctx)
        return f"kit_layout({literal(key.path)}, {ctx.param(key.path)}.grad)"

    def observe_value(self, key, ctx: Context) -> str:
        return ctx.name(key.name)

    def observe_value_grad(self, key, ctx: Context) -> str:
        return f"getattr({ctx.name(key.name)}, 'grad', None)"

    def observe_init_calls(self, key, ctx: Context) -> str:
        if ctx.model is None:
            return "INIT_CALLS"
        self._canonical(ctx)  # PARAMS: the parameters by Paddle's own indexing (a listing may raise)
        return ("[dict(call, name=next((path for path, get in PARAMS.items() if get().name == call['name']), "
                "call['name'])) for call in INIT_CALLS]")

    def observe_same_storage(self, key, ctx: Context) -> str:
        a, b = (ctx.param(key.a), ctx.param(key.b)) if key.what == "param" else (ctx.name(key.a), ctx.name(key.b))
        where = ctx.helper("storage", STORAGE)
        return f"{where}({a}) == {where}({b})"

    def observe_device(self, key, ctx: Context) -> str:
        value = ctx.param(key.name) if key.what == "param" else ctx.name(key.name)
        return f"{ctx.helper('device_of', DEVICE_OF)}({value})"

    # -- probes: the notes' own snippets ---------------------------------------------------------
    def probe_is_training(self, args, ctx):
        raise Unsupported("paddle has no autograd training mode: every operation on a tensor that does not stop "
                          "gradient is recorded unless paddle.no_grad(), and dropout follows Layer.training, "
                          "set by net.train() / net.eval()")

    def probe_structure(self, args, ctx):
        return [], f"{{'text': str({ctx.model.var})}}"

    def probe_param_type(self, args, ctx):
        return [], f"{{'class': type({ctx.model.var}.parameters()[0]).__name__}}"

    def probe_default_device(self, args, ctx):
        return [], f"{{'device': {ctx.helper('device_of', DEVICE_OF)}(paddle.to_tensor([1, 2, 3]))['canonical']}}"

    def probe_try_gpu(self, args, ctx):
        i = literal(args.get("i", 0))
        ctx.need_class("try_gpu")
        return [], f"{{'device': str(try_gpu({i})), 'canonical': 'gpu' if isinstance(try_gpu({i}), paddle.CUDAPlace) else 'default'}}"

    def probe_try_all_gpus(self, args, ctx):
        ctx.need_class("try_all_gpus")  # the book's returns a list of GPUs, or CPUPlace() itself when there is none
        return ["devices = try_all_gpus()"], ("{'devices': [str(d) for d in devices] if isinstance(devices, list) "
                                              "else str(devices), 'class': type(devices).__name__}")

    def _dict_view(self, params: str, ctx: Context, owner: str, text: str = "") -> str:
        return ("{" f"'container': type({owner}).__name__, 'names': list({params}), "
                f"'shapes': {{n: list(v.shape) for n, v in {params}.items()}}, "
                f"'dtypes': {{n: str(v.dtype).replace('paddle.', '') for n, v in {params}.items()}}, "
                f"'attributes': {{n: {self._canonical(ctx)}(v) for n, v in {params}.items()}}{text}" "}")

    def probe_state_dict(self, args, ctx):
        owner = ctx.layer(args.get("target")) if args.get("target") else ctx.model.var
        return [f"sd = {owner}.state_dict()"], self._dict_view("sd", ctx, "sd")

    def probe_param_dict(self, args, ctx):
        if model_kind(ctx.model.spec) == "param_dict" and not args.get("target") and args.get("select") is None:
            net = ctx.model.var  # Paddle 3's nn.ParameterDict, listed by its own named_parameters()
            return [f"params = dict({net}.named_parameters())"], \
                self._dict_view("params", ctx, net, f", 'text': repr({net})")
        raise Unsupported("paddle has no ParameterDict of a layer keyed by native names (Gluon's net[0].params) and "
                          "no regex selection (collect_params('.*weight')): its idioms are layer.state_dict() and "
                          "named_parameters()")

    def probe_keras_weights(self, args, ctx):
        raise Unsupported("paddle has no Keras weights list: net.parameters() gives nn.Linear weights stored "
                          "(in, out) like a Keras kernel, but named weight (linear_0.w_0), not kernel")

    def probe_param_repr(self, args, ctx):
        p = ctx.param(args["param"])
        return [], f"{{'text': repr({p}), 'class': type({p}).__name__, 'data_class': type({p}.data).__name__}}"

    def probe_sequential_class(self, args, ctx):
        return [], "{'is_model': issubclass(nn.Sequential, nn.Layer), 'base': nn.Layer.__name__, 'class': nn.Sequential.__name__}"

    def probe_prefix_names(self, args, ctx):
        cls = ctx.need_class("MyDense")
        return [f"layer = {cls}(units=3, in_units=5, name_scope={literal(args['prefix'])})"], \
            f"{{'prefix': {literal(args['prefix'])}, 'names': [p.name for p in layer.parameters()]}}"

    def probe_init_desc(self, args, ctx):
        raise Unsupported("Paddle has no InitDesc: an initializer is called with the parameter itself "
                          "(Initializer.__call__(param, block); the book's my_init(m) gets the layer), whose name "
                          "is param.name")

    def probe_saved_params(self, args, ctx):
        return [f"loaded = paddle.load({literal(args['file'])})"], \
            "{'container': type(loaded).__name__, 'names': list(loaded), 'shapes': {n: list(v.shape) for n, v in loaded.items()}}"

    probe_np_save = GluonObservations.probe_np_save  # note 003's np.save of the framework's tensors, as Gluon's
