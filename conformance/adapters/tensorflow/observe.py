"""What a TensorFlow program observes, and the notes' snippets it runs: the evidence half of `TensorflowIdiom`.

Rule: an observation is one expression over Keras' own handles: the variables as `net.weights` /
`trainable_weights` list them, named as Keras names them (`path` in Keras 3, `name` in Keras 2),
each reached by Keras' own indexing (the PARAMS table), a Dense kernel transposed to the kit's
(out, in) in plain sight; a gradient is what the last `tape.gradient()` returned. The program
helpers they ask for are kept here as source text.
"""

from __future__ import annotations

from conformance.adapters.gluon_observe import GluonObservations
from conformance.program.idiom import Context, Unsupported, literal

# Helpers a program asks for (each added once, before the notes' classes).
CANONICAL = '''\
def canonical(variable):
    """The kit's name for a variable Keras lists: the path by which Keras' own indexing reaches it."""
    for path, get in PARAMS.items():
        try:
            if get() is variable:
                return path
        except AttributeError:  # a layer Keras has not built yet has no variable there
            pass
    return variable.{name}


def as_canonical(path, value):
    """A value in the kit's layout: a Dense kernel (in, out) transposed to (out, in)."""
    return None if value is None else (np.transpose(np.asarray(value)) if path in KERNELS else np.asarray(value))


def shape_of(get, kernel=False):
    """A variable's shape in the kit's layout, or None while Keras has not created it (build)."""
    try:
        shape = [int(d) for d in get().shape]
    except AttributeError:
        return None
    return shape[::-1] if kernel else shape
'''
GRAD_OF = '''\
sources, grads = [], []  # what the last tape.gradient() was asked for and returned


def grad_of(value):
    """The gradient the last tape.gradient() returned for value: TF keeps none on a variable."""
    return next((grad for source, grad in zip(sources, grads or []) if source is value), None)
'''
STORAGE = '''\
def storage(value):
    """Where a value's memory is: a NumPy array's; a tensor's buffer (memoryview: no copy),
    a variable's the buffer that reading it gives."""
    array = value if isinstance(value, np.ndarray) else np.asarray(memoryview(tf.convert_to_tensor(value)))
    return array.__array_interface__["data"][0]
'''
DEVICE_OF = '''\
def device_of(value):
    """Where a tensor lives: the kit's name for the device, and TensorFlow's own."""
    if isinstance(value, np.ndarray):
        return {"canonical": "default", "native": "numpy (host memory)"}
    native = value.device
    known = [kit for name, kit in ((default, "default"), (second, "second")) if native.endswith(name[len("/"):])]
    return {"canonical": known[0] if known else "gpu" if "GPU" in native.upper() else native, "native": native}
'''
INITIALIZED = '''\
def initialized(initializer):
    """The kit's name of the kernel whose layer holds `initializer` (its kernel_initializer)."""
    return next((path for path, get in INITIALIZERS.items() if get() is initializer), None)
'''


class TensorflowObservations:
    """The `observe_<key>` and `probe_<name>` methods of `TensorflowIdiom` (a mixin: the idiom
    sets `keras3`, `name` and `behind`)."""

    # -- observations ------------------------------------------------------------------------------
    def _canonical(self, ctx: Context) -> str:
        entries = ", ".join(f"{literal(p)}: lambda: {e}" for p, e in ctx.model.params.items())
        ctx.helper("PARAMS", "# the kit's name of each parameter -> the variable, reached by Keras' own indexing\n"
                             f"PARAMS = {{{entries}}}\n"
                             "# Dense kernels: Keras keeps them (in, out), the kit's layout is (out, in)\n"
                             f"KERNELS = {literal(sorted(ctx.model.kernels))}\n")
        return ctx.helper("canonical", CANONICAL.replace("{name}", self.name))

    def observe_param_paths(self, key, ctx: Context) -> str:
        return f"[{self._canonical(ctx)}(v) for v in {ctx.model.var}.weights]"

    def observe_trainable_paths(self, key, ctx: Context) -> str:
        return f"[{self._canonical(ctx)}(v) for v in {ctx.model.var}.trainable_weights]"

    def observe_native_names(self, key, ctx: Context) -> str:
        return f"{{{self._canonical(ctx)}(v): v.{self.name} for v in {ctx.model.var}.weights}}"

    def observe_all_params(self, key, ctx: Context) -> str:
        return f"{{{self._canonical(ctx)}(v): as_canonical(canonical(v), v) for v in {ctx.model.var}.weights}}"

    def observe_param_shape(self, key, ctx: Context) -> str:
        self._canonical(ctx)
        kernel = ", kernel=True" if key.path in ctx.model.kernels else ""
        return f"shape_of(lambda: {ctx.param(key.path)}{kernel})"

    def observe_param_value(self, key, ctx: Context) -> str:
        var = ctx.param(key.path)
        return f"np.transpose({var}.numpy())" if key.path in ctx.model.kernels else f"{var}.numpy()"

    def observe_param_grad(self, key, ctx: Context) -> str:
        self._canonical(ctx)
        return f"as_canonical({literal(key.path)}, {ctx.helper('grad_of', GRAD_OF)}({ctx.param(key.path)}))"

    def observe_value(self, key, ctx: Context) -> str:
        return ctx.name(key.name)

    def observe_value_grad(self, key, ctx: Context) -> str:
        return f"{ctx.helper('grad_of', GRAD_OF)}({ctx.name(key.name)})"

    def observe_init_calls(self, key, ctx: Context) -> str:
        if ctx.model is None:
            return "INIT_CALLS"
        entries = ", ".join(f"{literal(p)}: lambda: {e}" for p, e in ctx.model.initializers.items())
        ctx.helper("INITIALIZERS", "# the kit's name of each kernel -> its layer's kernel_initializer\n"
                                   f"INITIALIZERS = {{{entries}}}\n")
        return (f"[{{'name': {ctx.helper('initialized', INITIALIZED)}(call['initializer']), 'shape': call['shape'], "
                "'step': call['step']} for call in INIT_CALLS]")

    def observe_same_storage(self, key, ctx: Context) -> str:
        if key.what == "param":  # one tf.Variable behind both (a Keras 3 variable wraps it: .value)
            return f"{ctx.param(key.a)}{self.behind}.ref() == {ctx.param(key.b)}{self.behind}.ref()"
        where = ctx.helper("storage", STORAGE)
        return f"{where}({ctx.name(key.a)}) == {where}({ctx.name(key.b)})"

    def observe_device(self, key, ctx: Context) -> str:
        where = self._device_of(ctx)
        if key.what == "param":
            return f"{where}({ctx.param(key.name)}{self.behind})"
        return f"{where}({ctx.name(key.name)})"

    def _device_of(self, ctx: Context) -> str:
        ctx.state["devices"] = True
        return ctx.helper("device_of", DEVICE_OF)

    # -- probes: the notes' own snippets ------------------------------------------------------------
    def probe_is_training(self, args, ctx):
        return ["dropout = tf.keras.layers.Dropout(0.5)  # Keras' training mode is the call's `training` argument",
                "with tf.GradientTape():",
                "    inside = bool(np.any(dropout(tf.ones((1000,))).numpy() == 0))",
                "outside = bool(np.any(dropout(tf.ones((1000,))).numpy() == 0))"], \
            "{'inside_recording': inside, 'outside_recording': outside}"

    def probe_structure(self, args, ctx):
        return ["lines = []", f"{ctx.model.var}.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))"], \
            "{'text': '\\n'.join(lines)}"

    def probe_param_type(self, args, ctx):
        wraps = f", 'wraps': type(w0{self.behind}).__name__" if self.keras3 else ""
        return [f"w0 = {ctx.model.var}.weights[0]"], f"{{'class': type(w0).__name__, 'module': type(w0).__module__{wraps}}}"

    def probe_default_device(self, args, ctx):
        return [], f"{{'device': {self._device_of(ctx)}(tf.ones(3))['canonical'], 'native': tf.ones(3).device}}"

    def probe_try_gpu(self, args, ctx):
        where, try_gpu = self._device_of(ctx), ctx.need_class("try_gpu")
        return [f"scope = {try_gpu}({literal(args.get('i', 0))})  # the book's try_gpu returns a tf.device scope",
                "with scope:", "    placed = tf.ones(1)"], \
            f"{{'device': str(scope), 'placed_on': placed.device, 'canonical': {where}(placed)['canonical']}}"

    def probe_try_all_gpus(self, args, ctx):
        where, try_all_gpus = self._device_of(ctx), ctx.need_class("try_all_gpus")
        return ["placed = []", f"for scope in {try_all_gpus}():", "    with scope:", "        placed.append(tf.ones(1))"], \
            f"{{'devices': [str(d) for d in {try_all_gpus}()], 'canonical': [{where}(p)['canonical'] for p in placed]}}"

    def probe_keras_weights(self, args, ctx):
        owner = ctx.layer(args["target"]) if args.get("target") else ctx.model.var
        return [f"weights = {owner}.weights"], (
            "{'short_names': [v.name.split('/')[-1].split(':')[0] for v in weights], "
            f"'names': [v.name for v in weights], 'paths': [v.{self.name} for v in weights], "
            "'shapes': [[int(d) for d in v.shape] for v in weights], "
            "'dtypes': [tf.as_dtype(v.dtype).name for v in weights], 'count': len(weights)}")

    def probe_param_repr(self, args, ctx):
        p = ctx.param(args["param"])
        return [], f"{{'text': repr({p}), 'class': type({p}).__name__, 'data_class': type({p}.numpy()).__name__}}"

    def probe_init_desc(self, args, ctx):
        raise Unsupported("Keras has no InitDesc: an initializer is called with (shape, dtype) only "
                          "(MyInit.__call__(self, shape, dtype=None)); the variable's name is not passed to it")

    def probe_saved_params(self, args, ctx):
        ctx.need_import("import h5py")
        ctx.need_import("import os")
        path = literal(args["file"])
        return ["names = []",
                f"if os.path.isfile({path}) and h5py.is_hdf5({path}):  # save_weights wrote HDF5",
                "    container = 'h5py.File'",
                f"    with h5py.File({path}, 'r') as handle:",
                "        handle.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)",
                "else:  # a TensorFlow checkpoint: <file>.index and <file>.data-*",
                "    container = 'tf.train.Checkpoint'",
                f"    names = [name for name, shape in tf.train.list_variables({path})]"], \
            "{'container': container, 'names': names}"

    def probe_sequential_class(self, args, ctx):
        return [], ("{'is_model': issubclass(tf.keras.Sequential, tf.keras.Model), 'base': 'Model', "
                    "'class': tf.keras.Sequential.__name__}")

    def probe_prefix_names(self, args, ctx):
        return [f"dense = tf.keras.layers.Dense(3, name={literal(args['prefix'])})  # Keras names a layer, not a prefix",
                "dense.build((None, 5))"], f"{{'prefix': dense.name, 'names': [v.{self.name} for v in dense.weights]}}"

    probe_np_save = GluonObservations.probe_np_save  # note 003's np.save of the framework's tensors, as Gluon's

    def probe_param_dict(self, args, ctx):
        raise Unsupported("Keras has no ParameterDict and no regex selection: the idiom is model.weights (variables "
                          "with paths like 'sequential/dense/kernel') filtered in Python")

    def probe_state_dict(self, args, ctx):
        raise Unsupported("Keras has no state_dict: model.weights lists the variables, get_weights() their arrays")
