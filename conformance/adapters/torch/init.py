"""Initialization the PyTorch way: torch has no `initialize()`; the idiom is `module.apply(fn)`
with `nn.init.*` (the note's init_normal / xavier / init_42 / my_init).

Rule: an INIT applied to a layer or model sets every Linear/MyLinear weight and zeroes its
bias (the note's init_normal); `zero_small` touches weights only (the note's my_init);
`default` leaves torch's construction-time values unless a seed or force_reinit asks for
`reset_parameters()`. A layer whose parameters are still lazy gets the same function as a
forward pre-hook, so it runs at the first forward, after LazyLinear materializes them.
"""

from __future__ import annotations

from conformance.adapters.base import Unsupported
from conformance.adapters.torch.models import classes


def init_kind(init) -> tuple[str, dict]:
    if init in (None, "default"):
        return "default", {}
    (kind, args), = init.items()
    return kind, dict(args or {})


def fill_tensor(session, tensor, init, name: str) -> None:
    """Apply one INIT in place to one materialized tensor (nn.init.* run under no_grad)."""
    C = classes()
    nn = C.nn
    kind, args = init_kind(init)
    if kind == "normal":
        nn.init.normal_(tensor, mean=args.get("mean", 0.0), std=args.get("sigma", 0.01))
    elif kind == "constant":
        nn.init.constant_(tensor, args["value"])
    elif kind == "uniform":
        nn.init.uniform_(tensor, args.get("low", -0.07), args.get("high", 0.07))
    elif kind == "xavier":
        nn.init.xavier_uniform_(tensor)
    elif kind == "zeros":
        nn.init.zeros_(tensor)
    elif kind == "ones":
        nn.init.ones_(tensor)
    elif kind in ("mixed", "load"):
        raise Unsupported(f"torch has no {kind} initializer: the idiom is net.apply(fn) choosing by "
                          "module, or load_state_dict for saved values")
    elif kind == "orthogonal":
        nn.init.orthogonal_(tensor, gain=args.get("scale", 1.414))
    elif kind == "msra":  # MXNet's MSRAPrelu(factor_type='in', slope) is kaiming_normal_(a=slope)
        nn.init.kaiming_normal_(tensor, a=args.get("slope", 0.25), mode="fan_in", nonlinearity="leaky_relu")
    elif kind == "custom":
        if args.get("name") != "zero_small":
            raise ValueError(f"unknown custom initializer {args.get('name')!r}")
        # The note's my_init: print("Init", name, shape); uniform(-10, 10); zero |w| < 5.
        session.init_calls.append(
            {"name": name, "shape": [int(d) for d in tensor.shape], "step": session.current_step}
        )
        nn.init.uniform_(tensor, -10, 10)
        tensor.data *= tensor.data.abs() >= 5
    elif kind == "default":
        raise Unsupported(
            "torch has no per-parameter default initializer; the idiom is "
            "module.reset_parameters(), which redraws weight and bias together"
        )
    else:
        raise ValueError(f"unknown initializer {kind!r}")


def _is_lazy(module) -> bool:
    from torch.nn.parameter import is_lazy

    return any(is_lazy(p) for p in module.parameters(recurse=False))


def _owns_weights(module) -> bool:
    C = classes()
    return isinstance(module, (C.nn.Linear, C.MyLinear))


def init_layer(session, module, init, seed, force_reinit) -> None:
    """What the init function passed to `apply` does to one Linear/MyLinear (materialized)."""
    kind, _ = init_kind(init)
    if kind == "default":
        # A layer's default is what it was built with: its construction-time nn.init
        # calls if the spec gave some, else its reset_parameters().
        if id(module) in session.layer_inits:
            _construction_action(session, module, session.layer_inits[id(module)])
        elif seed is not None or force_reinit:
            module.reset_parameters()
        return
    weight = module.weight
    fill_tensor(session, weight, init, session.canonical_name(weight))
    if kind != "custom" and getattr(module, "bias", None) is not None:
        classes().nn.init.zeros_(module.bias)


def defer(session, module, action) -> None:
    """Run `action(module)` at the module's first forward (after lazy materialization).

    The seed, if any, was set at `initialize`; the case is deterministic from there on."""
    torch = classes().torch
    old = session.pending_inits.pop(id(module), None)
    if old is not None:
        old.remove()

    def hook(mod, args):
        handle = session.pending_inits.pop(id(mod), None)
        if handle is not None:
            handle.remove()
        with torch.no_grad():
            action(mod)
        weight = getattr(mod, "weight", None)
        where = session.canonical_name(weight) if weight is not None else type(mod).__name__
        session.notes.setdefault("deferred_init_ran", []).append(f"{where} at step {session.current_step}")

    session.pending_inits[id(module)] = module.register_forward_pre_hook(hook)


def manual_seed(torch, seed: int) -> None:
    """`torch.manual_seed(seed)` for the generators this machine has: the CPU one, and CUDA's
    when CUDA is available. torch.manual_seed also queues seeding for CUDA, XPU and MTIA when
    they are not initialized, each queued call recording a Python stack: ~2 ms per call on a
    CPU-only machine, for generators no case here uses. The values drawn are the same."""
    torch.default_generator.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def initialize(session, root, layer, param_slot, init, seed, force_reinit) -> None:
    """`initialize` step: `layer` (a module, default root) or one `param_slot`."""
    C = classes()
    torch = C.torch
    if seed is not None:
        manual_seed(torch, seed)
    if param_slot is not None:
        tensor = param_slot.get()
        name = session.canonical_name(tensor)
        if _is_lazy(param_slot.module):
            defer(session, param_slot.module,
                  lambda m: fill_tensor(session, getattr(m, param_slot.attr), init, name))
        else:
            with torch.no_grad():
                fill_tensor(session, tensor, init, name)
        return

    def init_fn(m):
        if _owns_weights(m):
            redraw = seed is not None or force_reinit or id(m) in session.layer_inits
            if init_kind(init)[0] == "default" and not redraw:
                return  # torch initialized it at construction (or will, when lazy)
            if _is_lazy(m):
                defer(session, m, lambda mod: init_layer(session, mod, init, seed, force_reinit))
            else:
                init_layer(session, m, init, seed, force_reinit)
        elif isinstance(m, C.nn.ParameterDict):
            for tensor in m.values():
                if init_kind(init)[0] != "default":
                    fill_tensor(session, tensor, init, session.canonical_name(tensor))
                elif seed is not None or force_reinit:
                    tensor.normal_()  # redrawn as built: nn.Parameter(torch.randn(shape))

    with torch.no_grad():
        (layer if layer is not None else root).apply(init_fn)


def _construction_action(session, module, inits) -> None:
    for attr in ("weight", "bias"):
        if attr in inits and init_kind(inits[attr])[0] != "default" and getattr(module, attr, None) is not None:
            tensor = getattr(module, attr)
            fill_tensor(session, tensor, inits[attr], session.canonical_name(tensor))


def construction_inits(session, layer_inits) -> None:
    """`dense: {init: {weight: INIT, bias: INIT}}`: torch takes no initializer at construction;
    the idiom is nn.init on the new layer right away (or at its first forward when lazy)."""
    torch = classes().torch
    for module, inits, _path in layer_inits:
        session.layer_inits[id(module)] = inits
        if _is_lazy(module):
            defer(session, module, lambda m, inits=inits: _construction_action(session, m, inits))
        else:
            with torch.no_grad():
                _construction_action(session, module, inits)
