"""Initialization the Paddle way: Paddle has no `initialize()`; parameters get their values at
construction (from `weight_attr`/`bias_attr`, by default Xavier-uniform weights and zero biases
for nn.Linear), and re-initializing is calling a `paddle.nn.initializer` object on a parameter,
inside an init function passed to `Layer.apply` (the torch-style idiom the book uses).

Rule: an INIT applied to a layer or model fills every Linear/MyLinear weight and zeroes its bias
(the note's init_normal); `zero_small` touches weights only (the note's my_init); `default`
leaves the construction values unless a seed or force_reinit asks to draw them again with the
layer's own initializers (its construction ParamAttr, else Paddle's defaults).
"""

from __future__ import annotations

from conformance.adapters.paddle.models import classes, initializer, is_parameter_dict, my_init


def init_kind(init) -> tuple[str, dict]:
    if init in (None, "default"):
        return "default", {}
    (kind, args), = init.items()
    return kind, dict(args or {})


def fill_param(session, param, init, name: str) -> None:
    """Apply one INIT in place to one parameter."""
    kind, args = init_kind(init)
    if kind == "custom":
        if args.get("name") != "zero_small":
            raise ValueError(f"unknown custom initializer {args.get('name')!r}")
        my_init(param, name, lambda n, shape: session.init_calls.append(
            {"name": n, "shape": shape, "step": session.current_step}))
    elif kind == "default":
        default_initializer(param, is_bias=name.endswith("bias") and len(param.shape) == 1)(param)
    else:
        initializer(kind, args)(param)


def default_initializer(param, is_bias: bool):
    """Paddle's defaults: Linear weight XavierUniform, Linear bias Constant(0); create_parameter
    (MyLinear, ParameterDict) draws XavierUniform for every parameter unless is_bias=True."""
    nn = classes().nn
    return nn.initializer.Constant(0.0) if is_bias else nn.initializer.XavierUniform()


def _owns_weights(layer) -> bool:
    C = classes()
    return isinstance(layer, (C.nn.Linear, C.MyLinear))


def redraw_default(session, layer) -> None:
    """Draw a layer's parameters again as its constructor did."""
    C = classes()
    nn = C.nn
    inits = session.layer_inits.get(id(layer), {})
    for attr in ("weight", "bias"):
        param = getattr(layer, attr, None)
        if param is None:
            continue
        init = inits.get(attr, "default")
        if init_kind(init)[0] != "default":
            fill_param(session, param, init, session.canonical_name(param))
        elif isinstance(layer, nn.Linear):
            default_initializer(param, is_bias=(attr == "bias"))(param)
        else:  # MyLinear: paddle.create_parameter(shape, dtype) -> XavierUniform for both
            nn.initializer.XavierUniform()(param)


def init_layer(session, layer, init, seed, force_reinit) -> None:
    kind, _ = init_kind(init)
    if kind == "default":
        if seed is not None or force_reinit:
            redraw_default(session, layer)
        return
    weight = layer.weight
    fill_param(session, weight, init, session.canonical_name(weight))
    if kind != "custom" and getattr(layer, "bias", None) is not None:
        classes().nn.initializer.Constant(0.0)(layer.bias)


def initialize(session, root, layer, param_slot, init, seed, force_reinit) -> None:
    """`initialize` step: `layer` (default root) or one parameter (`param_slot`)."""
    C = classes()
    paddle = C.paddle
    if seed is not None:
        paddle.seed(seed)
    if param_slot is not None:
        param = param_slot.get()
        fill_param(session, param, init, session.canonical_name(param))
        return

    def init_fn(m):
        if _owns_weights(m):
            init_layer(session, m, init, seed, force_reinit)
        elif is_parameter_dict(m):
            for _, param in m.named_parameters():
                if init_kind(init)[0] != "default":
                    fill_param(session, param, init, session.canonical_name(param))
                elif seed is not None or force_reinit:
                    C.nn.initializer.XavierUniform()(param)  # as create_parameter drew it

    with paddle.no_grad():
        (layer if layer is not None else root).apply(init_fn)


def construction_inits(session, layer_inits) -> None:
    """Remember each layer's construction initializers (given as ParamAttr in the builder);
    a custom one has no ParamAttr form here and runs right after construction."""
    for layer, inits, _path in layer_inits:
        session.layer_inits[id(layer)] = inits
        for attr in ("weight", "bias"):
            if attr in inits and init_kind(inits[attr])[0] == "custom" and getattr(layer, attr, None) is not None:
                param = getattr(layer, attr)
                fill_param(session, param, inits[attr], session.canonical_name(param))
