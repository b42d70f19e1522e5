"""What a JAX program observes, and the notes' snippets it runs: the evidence half of `JaxIdiom`.

Rule: an observation is one expression over JAX's and flax's own handles: the pytree's own
listing of `params` (`jax.tree_util.tree_leaves_with_path`), a parameter reached through flax's
own indexing of the bound model (the notes' `param` helper), a Dense kernel (in, out) transposed
to the kit's (out, in) in plain sight, memory by `unsafe_buffer_pointer()`, a device as the array
says. Gradients are what `jax.grad` returned.
"""

from __future__ import annotations

from conformance.adapters.gluon_observe import NP_SAVE
from conformance.program.idiom import Context, literal


class JaxObservations:
    """The `observe_<key>` and `probe_<name>` methods of `JaxIdiom` (a mixin: the idiom's models
    give `_leaf` and `_tree`)."""

    # -- observations ----------------------------------------------------------------------------
    def _param(self, path: str, ctx: Context, tree: str = "params") -> str:
        transpose = ".T" if self._leaf(path, ctx).name == "kernel" else ""  # kernel (in, out) -> (out, in)
        return f"{ctx.need_class('param')}({ctx.model.var}, {tree}, {literal(path)}){transpose}"

    def _listing(self, ctx: Context, value: str = "") -> str:
        """The pytree's own listing of params, each leaf under the kit's name (and `value`)."""
        name = f"{ctx.need_class('canonical')}({ctx.model.var}, params, path)"
        return f"{name}{value} for path, leaf in jax.tree_util.tree_leaves_with_path(params)"

    def observe_param_paths(self, key, ctx: Context) -> str:
        return f"[{self._listing(ctx)}]"

    observe_trainable_paths = observe_param_paths  # jax.grad differentiates every leaf of params

    def observe_native_names(self, key, ctx: Context) -> str:
        return f"{{{self._listing(ctx, ': jax.tree_util.keystr(path)')}}}"

    def observe_all_params(self, key, ctx: Context) -> str:  # kernel (in, out) -> the kit's (out, in)
        return f"{{{self._listing(ctx, ': leaf.T if path[-1].key == ' + repr('kernel') + ' else leaf')}}}"

    def observe_param_shape(self, key, ctx: Context) -> str:
        array = self._param(key.path, ctx)
        transpose = ", transpose=True" if array.endswith(".T") else ""
        return f"{ctx.need_class('shape_of')}({array.removesuffix('.T')}{transpose})"

    def observe_param_value(self, key, ctx: Context) -> str:
        return self._param(key.path, ctx)

    def observe_param_grad(self, key, ctx: Context) -> str:
        return f"None if grads is None else {self._param(key.path, ctx, 'grads')}"

    def observe_value(self, key, ctx: Context) -> str:
        return ctx.name(key.name)

    def observe_value_grad(self, key, ctx: Context) -> str:
        return ctx.state.get("mine", {}).get(f"{ctx.name(key.name)}_grad", "None")

    def observe_init_calls(self, key, ctx: Context) -> str:
        return (f"[{{'name': {ctx.need_class('initialized_by')}({ctx.model.var}, params, call['init']), "
                "'shape': call['shape'], 'step': call['step']} for call in INIT_CALLS]")

    def observe_same_storage(self, key, ctx: Context) -> str:
        a, b = ((self._param(p, ctx).removesuffix(".T") for p in (key.a, key.b)) if key.what == "param"
                else (ctx.name(key.a), ctx.name(key.b)))
        return f"{ctx.need_class('storage')}({a}) == storage({b})"

    def observe_device(self, key, ctx: Context) -> str:
        array = self._param(key.name, ctx).removesuffix(".T") if key.what == "param" else ctx.name(key.name)
        return f"{ctx.need_class('device_of')}({array})"

    # -- probes: the notes' own snippets ------------------------------------------------------------
    def probe_structure(self, args, ctx):
        return [], f"{{'text': repr({ctx.model.var})}}"

    def probe_param_type(self, args, ctx):
        return [], "{'class': type(jax.tree_util.tree_leaves(params)[0]).__name__}"

    def probe_default_device(self, args, ctx):
        return [], f"{{'device': {ctx.need_class('device_of')}(jnp.array([1, 2, 3]))['canonical']}}"

    def probe_try_gpu(self, args, ctx):
        i, where = literal(args.get("i", 0)), ctx.need_class("device_of")
        ctx.need_class("try_gpu")
        return [], f"{{'device': str(try_gpu({i})), 'canonical': {where}(jax.device_put(jnp.ones((1,)), try_gpu({i})))['canonical']}}"

    def probe_try_all_gpus(self, args, ctx):
        where = ctx.need_class("device_of")
        ctx.need_class("try_all_gpus")
        return [], ("{'devices': [str(d) for d in try_all_gpus()], "
                    f"'canonical': [{where}(jax.device_put(jnp.ones((1,)), d))['canonical'] for d in try_all_gpus()]}}")

    def probe_keras_weights(self, args, ctx):
        target = args.get("target")
        tree = self._tree(ctx.state["built"]["layers"][target][1]) if target else "params['params']"
        ctx.need_import("from flax import traverse_util")
        return [f"listed = traverse_util.flatten_dict({tree})  # flax's own listing, in creation order"], (
            "{'short_names': [path[-1] for path in listed], 'shapes': [list(a.shape) for a in listed.values()], "
            "'dtypes': [str(a.dtype) for a in listed.values()], 'count': len(listed)}")

    def probe_param_repr(self, args, ctx):
        p = self._tree(self._leaf(args["param"], ctx).keys)
        return [], f"{{'text': repr({p}), 'class': type({p}).__name__, 'data_class': type({p}).__name__}}"

    def probe_saved_params(self, args, ctx):
        ctx.need_import("from flax import serialization")
        ctx.need_import("from flax import traverse_util")
        return [f"with open({literal(args['file'])}, 'rb') as f:",
                "    loaded = traverse_util.flatten_dict(serialization.msgpack_restore(f.read()), sep='/')"], \
            "{'container': 'dict', 'names': list(loaded), 'shapes': {n: list(a.shape) for n, a in loaded.items()}}"

    def probe_sequential_class(self, args, ctx):
        return [], "{'is_model': issubclass(nn.Sequential, nn.Module), 'base': 'Module', 'class': nn.Sequential.__name__}"

    def probe_prefix_names(self, args, ctx):
        ctx.need_import("from flax import traverse_util")
        ctx.need_import("from typing import Callable")
        prefix = literal(args["prefix"])
        return ["class Holder(nn.Module):  # flax names a child by name=, Gluon's prefix=", "    @nn.compact",
                "    def __call__(self, X):", f"        return {ctx.need_class('MyDense')}(3, in_units=5, name={prefix})(X)",
                "", "variables = Holder().init(key, jnp.zeros((1, 5)))"], \
            f"{{'prefix': {prefix}, 'names': list(traverse_util.flatten_dict(variables['params'], sep='/'))}}"

    def probe_np_save(self, args, ctx):
        names = [ctx.name(n.strip()) for n in str(args["values"]).split(",") if n.strip()]
        kind = args.get("kind", "one")
        obj = {"one": names[0], "list": "[" + ", ".join(names) + "]",
               "dict": "{" + ", ".join(f"{literal(n)}: {n}" for n in names) + "}"}[kind]
        return [], f"{ctx.helper('np_save_as_written', NP_SAVE)}({obj}, {literal(kind)})"
