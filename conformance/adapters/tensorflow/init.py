"""Spec initializers (INIT) -> Keras initializers, with the custom-initializer call log.

Rule: TensorFlow is imported only inside the functions here (after the adapter's `load()`).
Every call returns a FRESH initializer instance: in Keras 3 an unseeded initializer instance
fixes its seed at construction and draws the same values on every call (documented in
keras.initializers.RandomNormal), so one instance shared by two variables would give them
equal values. The custom `zero_small` initializer logs each call in `session.init_calls`.
"""

from __future__ import annotations

from functools import lru_cache

from conformance.adapters.base import AdapterBug
from conformance.adapters.tensorflow.keras_version import keras


@lru_cache(maxsize=1)
def _zero_small_class():
    import tensorflow as tf

    class ZeroSmall(keras().initializers.Initializer):
        """The notes' MyInit: U(-10, 10), then zero every entry with |w| < 5; logs each call."""

        def __init__(self, session, path, transpose):
            self.session = session
            self.path = path
            self.transpose = transpose

        def __call__(self, shape, dtype=None):
            native = [int(d) for d in shape]
            canonical = list(reversed(native)) if self.transpose else native
            self.session.init_calls.append(
                {"name": self.path, "shape": canonical, "native_shape": native,
                 "step": self.session.current_step}
            )
            w = tf.random.uniform(shape, -10.0, 10.0, dtype=dtype or "float32")
            return w * tf.cast(tf.abs(w) >= 5, w.dtype)

    return ZeroSmall


def make_initializer(init, session=None, path="", transpose=False):
    """A fresh Keras initializer for the INIT form, or None for "default" (keep the layer's own)."""
    initializers = keras().initializers
    if init in (None, "default"):
        return None
    (name, args), = init.items()
    args = args or {}
    if name == "normal":
        return initializers.RandomNormal(mean=args.get("mean", 0.0), stddev=args["sigma"])
    if name == "constant":
        return initializers.Constant(args["value"])
    if name == "uniform":
        return initializers.RandomUniform(minval=args["low"], maxval=args["high"])
    if name == "xavier":
        return initializers.GlorotUniform()   # = MXNet Xavier(uniform, avg, magnitude 3)
    if name == "zeros":
        return initializers.Zeros()
    if name == "ones":
        return initializers.Ones()
    if name in ("mixed", "load"):
        from conformance.adapters.base import Unsupported

        raise Unsupported(f"Keras has no {name} initializer: each layer takes its own initializer "
                          "(kernel_initializer=...), and saved values load with load_weights / set_weights")
    if name == "orthogonal":
        return initializers.Orthogonal(gain=args.get("scale", 1.414))
    if name == "msra":  # MXNet's MSRAPrelu(factor_type='in', slope): untruncated He normal
        return initializers.VarianceScaling(scale=2.0 / (1.0 + args.get("slope", 0.25) ** 2), mode="fan_in",
                                            distribution="untruncated_normal")
    if name == "custom" and args.get("name") == "zero_small":
        return _zero_small_class()(session, path, transpose)
    raise ValueError(f"unknown initializer {init!r}")


def fresh_copy(initializer):
    """A new instance of a layer's own initializer (a new seed for unseeded Keras ones)."""
    if initializer is None or isinstance(initializer, _zero_small_class()):
        return initializer
    get_config = getattr(initializer, "get_config", None)
    if get_config is None:
        return initializer
    try:
        return type(initializer).from_config(get_config())
    except (TypeError, ValueError):
        return initializer


def initialize(session, init="default", force_reinit=False, target=None, seed=None):
    """The kit's initialize step in Keras terms (Keras itself has no initialize()).

    Variables that exist get `v.assign(initializer(shape))`; variables Keras has not created
    yet get the initializer set on their layer, so that Keras's build() uses it at the first
    call. A layer's bias keeps its own initializer unless the bias itself is the target.
    """
    if seed is not None:
        keras().utils.set_random_seed(seed)
    refs = [r for r in session.built.refs
            if target is None or r.path == target or r.path.startswith(target + ".")]
    if not refs and target is not None:
        raise AdapterBug(f"initialize target '{target}' names no parameter")
    explicit = target is not None and any(r.path == target for r in refs)
    done, pending = set(), []
    for ref in refs:
        key = (id(ref.layer), ref.attr)
        if key in done:
            continue
        done.add(key)
        own = getattr(ref.layer, ref.init_attr, None) if ref.init_attr else None
        # a layer's bias keeps its own initializer unless the bias itself is the target
        use_given = ref.role != "bias" or explicit
        given = make_initializer(init, session, ref.path, ref.transpose) if use_given else None
        initializer = given if given is not None else fresh_copy(own)
        var = session._existing(ref)
        if var is None:
            if ref.init_attr and given is not None:
                setattr(ref.layer, ref.init_attr, given)   # Keras build() will use it
            pending.append(ref.path)
            continue
        if initializer is None:
            initializer = keras().initializers.GlorotUniform()
        var.assign(initializer(tuple(var.shape), dtype=var.dtype))
    session.notes["initialize"] = (
        "Keras has no initialize(): values were assigned with v.assign(initializer(shape)); "
        f"force_reinit={force_reinit} has no Keras meaning, a second assign redraws silently"
    )
    if pending:
        session.notes["initialize_deferred"] = (
            f"{pending}: not created yet; the initializer is set on the layer and used by build()"
        )
