"""PyTorch mutants: behaviour changes a torch release made or could make, planted one at a time.

Rule: each `apply()` patches public torch API (classes and functions user code reaches:
`nn.Linear.reset_parameters`, `nn.Module.state_dict`, `torch.autograd.backward`, `torch.load`,
`Tensor.to`, ...) so that plain user programs see the change; each `demo()` is a few lines of
plain torch code returning a JSON-able value that the mutant changes. Columns: torch 2.13 and 2.14.
"""

from __future__ import annotations

import math

try:
    from . import Mutant, catalogue, mutant, replace, wrap_function
except ImportError:  # loaded by file path, outside the package
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from framework_mutants import Mutant, catalogue, mutant, replace, wrap_function

# -- demos ------------------------------------------------------------------------------------


def _demo_linear_weight_bound():
    import torch
    from torch import nn

    torch.manual_seed(0)
    layer = nn.Linear(400, 30)
    return round(float(layer.weight.abs().max()) * math.sqrt(400), 1)  # 1.0: U(-1/sqrt(in), ..)


def _demo_linear_bias():
    import torch
    from torch import nn

    torch.manual_seed(0)
    layer = nn.Linear(16, 8)
    return {"bias_nonzero": int((layer.bias != 0).sum()), "bias_within_quarter": bool(layer.bias.abs().max() <= 0.25)}


def _demo_zero_grad():
    import torch
    from torch import nn

    layer = nn.Linear(3, 2)
    layer(torch.ones(1, 3)).sum().backward()
    layer.zero_grad()
    return {"weight_grad_is_none": layer.weight.grad is None}


def _demo_optimizer_zero_grad():
    import torch
    from torch import nn

    layer = nn.Linear(3, 2)
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer(torch.ones(1, 3)).sum().backward()
    opt.zero_grad()
    return {"weight_grad_is_none": layer.weight.grad is None}


def _demo_load_strict():
    from torch import nn

    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    state = net.state_dict()
    del state["2.bias"]
    try:
        result = net.load_state_dict(state)
    except RuntimeError as exc:
        return {"raised": type(exc).__name__, "missing_in_message": "2.bias" in str(exc)}
    return {"raised": None, "missing": list(result.missing_keys)}


def _demo_state_dict_keys():
    from torch import nn

    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    return list(net.state_dict().keys())


def _demo_state_dict_prefix_roundtrip():
    import torch
    from torch import nn

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3))
    keys = list(net.state_dict())
    other = nn.Sequential(nn.Linear(2, 3))
    other.load_state_dict(net.state_dict())  # a model loads its own state_dict either way
    return {"keys": keys, "equal_after_load": bool(torch.equal(other[0].weight, net[0].weight))}


def _demo_load_dict_order(tmp=None):
    import os
    import tempfile

    import torch

    path = os.path.join(tempfile.mkdtemp(), "d.pt")
    torch.save({"zeta": torch.zeros(1), "alpha": torch.ones(2), "mid": torch.arange(3)}, path)
    return list(torch.load(path, weights_only=True).keys())


def _demo_load_dtype():
    import os
    import tempfile

    import torch

    path = os.path.join(tempfile.mkdtemp(), "t.pt")
    torch.save([torch.arange(3), torch.ones(2)], path)
    return [str(t.dtype) for t in torch.load(path, weights_only=True)]


def _demo_shared_parameters_listed():
    from torch import nn

    shared = nn.Linear(4, 4)
    net = nn.Sequential(nn.Linear(4, 4), shared, nn.ReLU(), shared)
    return {"parameters": len(list(net.parameters())),
            "names": [name for name, _ in net.named_parameters()]}


def _demo_tensor_to_same_device():
    import torch

    x = torch.arange(4.0)
    y = x.to("cpu")
    return {"same_object": y is x, "same_memory": y.data_ptr() == x.data_ptr()}


def _demo_module_to_keeps_tie():
    from torch import nn

    first, second = nn.Linear(3, 3), nn.Linear(3, 3)
    second.weight = first.weight  # tie two layers to one Parameter, then move the model
    net = nn.Sequential(first, second)
    handle = first.weight
    net.to("cpu")
    return {"still_tied": net[0].weight is net[1].weight, "same_parameter": net[0].weight is handle}


def _demo_second_backward_message():
    import torch

    x = torch.arange(4.0, requires_grad=True)
    y = (2 * x * x).sum()
    y.backward()
    try:
        y.backward()
    except RuntimeError as exc:
        return {"type": type(exc).__name__, "message": str(exc).split(".")[0]}
    return {"type": None, "grad": x.grad.tolist()}


def _demo_retain_graph_default():
    import torch

    x = torch.arange(3.0, requires_grad=True)
    y = (x * x).sum()
    y.backward()
    try:
        y.backward()
    except RuntimeError as exc:
        return {"second_backward": type(exc).__name__}
    return {"second_backward": "ran", "grad": x.grad.tolist()}


def _demo_nonscalar_backward():
    import torch

    x = torch.arange(3.0, requires_grad=True)
    y = 2 * x
    try:
        y.backward()
    except RuntimeError as exc:
        return {"raised": type(exc).__name__, "message": str(exc)}
    return {"raised": None, "grad": x.grad.tolist()}


def _demo_grad_accumulates():
    import torch

    x = torch.arange(3.0, requires_grad=True)
    (x * x).sum().backward()
    (3 * x).sum().backward()
    return x.grad.tolist()  # 2x + 3 when gradients accumulate


def _demo_dropout_eval():
    import torch
    from torch import nn

    torch.manual_seed(0)
    drop = nn.Dropout(0.5)
    drop.eval()
    x = torch.ones(2, 8)
    return {"identity_in_eval": bool(torch.equal(drop(x), x))}


def _demo_dropout_scale():
    import torch
    from torch import nn

    torch.manual_seed(0)
    drop = nn.Dropout(0.5)
    out = drop(torch.ones(4, 16))
    return sorted({round(float(v), 3) for v in out.flatten()})


def _demo_lazy_error():
    from torch import nn

    layer = nn.LazyLinear(4)
    try:
        layer.weight.sum()
    except Exception as exc:  # noqa: BLE001 - the type is the observation
        return {"type": type(exc).__name__, "message": str(exc).split(".")[0][:60]}
    return {"type": None}


def _demo_linear_repr():
    from torch import nn

    return repr(nn.Sequential(nn.Linear(20, 256), nn.ReLU()))


def _demo_named_parameters_order():
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(2, 3)
            self.output = nn.Linear(3, 1)

    return [name for name, _ in Net().named_parameters()]


def _demo_cross_device():
    import torch

    a = torch.ones(2)
    b = torch.ones(2, device="meta")
    try:
        out = a + b
    except RuntimeError as exc:
        return {"raised": type(exc).__name__, "message": str(exc)}
    return {"raised": None, "device": str(out.device)}


def _demo_parameter_repr():
    import torch
    from torch import nn

    return repr(nn.Parameter(torch.zeros(2))).splitlines()[0]


# -- mutants ----------------------------------------------------------------------------------


@mutant("linear-weight-kaiming-without-sqrt5",
        "nn.Linear.reset_parameters calls kaiming_uniform_ without a=sqrt(5), so the weight bound is "
        "sqrt(6/fan_in) instead of 1/sqrt(fan_in): the refactor proposed in pytorch/pytorch#129302 "
        "(and asked about in #15314, #57109) done without keeping the bound "
        "(https://github.com/pytorch/pytorch/issues/129302).",
        _demo_linear_weight_bound)
def _linear_weight_bound():
    from torch import nn
    from torch.nn import init

    def make(original):
        def reset_parameters(self):
            init.kaiming_uniform_(self.weight, nonlinearity="relu")  # bound sqrt(6 / fan_in)
            if self.bias is not None:
                fan_in = self.weight.shape[1]
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                init.uniform_(self.bias, -bound, bound)

        return reset_parameters

    replace(nn.Linear, "reset_parameters", "linear-weight-kaiming-without-sqrt5", make)


@mutant("linear-bias-zero-init",
        "nn.Linear's bias starts at zero (as Keras, Gluon and Flax do) instead of "
        "U(-1/sqrt(fan_in), 1/sqrt(fan_in)): the docs/code mismatch on Linear's init discussed in "
        "pytorch/pytorch#42083 and #19376 resolved the other way "
        "(https://github.com/pytorch/pytorch/issues/42083).",
        _demo_linear_bias)
def _linear_bias_zero():
    from torch import nn
    from torch.nn import init

    def after(original, self, *args, **kwargs):
        original(self, *args, **kwargs)
        if getattr(self, "bias", None) is not None and not isinstance(self.bias, nn.parameter.UninitializedParameter):
            init.zeros_(self.bias)

    wrap_function(nn.Linear, "reset_parameters", "linear-bias-zero-init", after)


@mutant("zero-grad-keeps-zero-tensors",
        "nn.Module.zero_grad() defaults back to set_to_none=False, so gradients become zero tensors, "
        "not None: the default torch 2.0 flipped in pytorch/pytorch#92731 (BC-breaking note), undone "
        "(https://github.com/pytorch/pytorch/pull/92731).",
        _demo_zero_grad)
def _zero_grad_module():
    from torch import nn

    def zero_grad(original, self, set_to_none=False):
        return original(self, set_to_none)

    wrap_function(nn.Module, "zero_grad", "zero-grad-keeps-zero-tensors", zero_grad)


@mutant("optimizer-zero-grad-keeps-zero-tensors",
        "torch.optim.Optimizer.zero_grad() defaults to set_to_none=False again (the 1.x default; "
        "pytorch/pytorch#92656 made it True for 2.0) (https://github.com/pytorch/pytorch/issues/92656).",
        _demo_optimizer_zero_grad)
def _zero_grad_optimizer():
    import torch

    def zero_grad(original, self, set_to_none=False):
        return original(self, set_to_none)

    wrap_function(torch.optim.Optimizer, "zero_grad", "optimizer-zero-grad-keeps-zero-tensors", zero_grad)


@mutant("load-state-dict-not-strict",
        "nn.Module.load_state_dict defaults to strict=False, silently skipping missing and unexpected "
        "keys: the flag pytorch/pytorch#3159 introduced with default True, flipped "
        "(https://github.com/pytorch/pytorch/pull/3159).",
        _demo_load_strict)
def _load_not_strict():
    from torch import nn

    def load_state_dict(original, self, state_dict, strict=False, *args, **kwargs):
        return original(self, state_dict, strict, *args, **kwargs)

    wrap_function(nn.Module, "load_state_dict", "load-state-dict-not-strict", load_state_dict)


@mutant("state-dict-orig-mod-prefix",
        "state_dict() keys gain the '_orig_mod.' prefix that torch.compile's wrapper adds (a model saved "
        "that way loads back only because load_state_dict strips it): pytorch/pytorch#101107 "
        "(https://github.com/pytorch/pytorch/issues/101107).",
        _demo_state_dict_prefix_roundtrip)
def _state_dict_prefix():
    from collections import OrderedDict

    from torch import nn

    prefix = "_orig_mod."

    def state_dict(original, self, *args, **kwargs):
        top = not args and kwargs.get("destination") is None and not kwargs.get("prefix")
        result = original(self, *args, **kwargs)
        if not top:
            return result
        out = OrderedDict((prefix + key, value) for key, value in result.items())
        meta = getattr(result, "_metadata", None)
        if meta is not None:
            out._metadata = OrderedDict((prefix + k if k else prefix[:-1], v) for k, v in meta.items())
            out._metadata.update(meta)
        return out

    def load_state_dict(original, self, state_dict, *args, **kwargs):
        if any(key.startswith(prefix) for key in state_dict):
            stripped = OrderedDict((key.removeprefix(prefix), value)
                                   for key, value in state_dict.items())
            meta = getattr(state_dict, "_metadata", None)
            if meta is not None:
                stripped._metadata = OrderedDict((k, v) for k, v in meta.items() if not k.startswith(prefix[:-1]))
            state_dict = stripped
        return original(self, state_dict, *args, **kwargs)

    wrap_function(nn.Module, "state_dict", "state-dict-orig-mod-prefix", state_dict)
    wrap_function(nn.Module, "load_state_dict", "state-dict-orig-mod-prefix", load_state_dict)


@mutant("state-dict-sorted-keys",
        "state_dict() returns its keys sorted by name (bias before weight, '10' before '2'), as "
        "torch.nn.modules.utils.consume_prefix_in_state_dict_if_present reorders them "
        "(https://github.com/pytorch/pytorch/issues/106942).",
        _demo_state_dict_keys)
def _state_dict_sorted():
    from collections import OrderedDict

    from torch import nn

    def state_dict(original, self, *args, **kwargs):
        top = not args and kwargs.get("destination") is None and not kwargs.get("prefix")
        result = original(self, *args, **kwargs)
        if not top:
            return result
        out = OrderedDict(sorted(result.items()))
        if hasattr(result, "_metadata"):
            out._metadata = result._metadata
        return out

    wrap_function(nn.Module, "state_dict", "state-dict-sorted-keys", state_dict)


@mutant("load-returns-sorted-dict",
        "torch.load gives a saved dict back with its keys sorted rather than in insertion order (dict "
        "order on load), as safetensors did: 'Loaded results are unordered' "
        "(https://github.com/safetensors/safetensors/issues/357).",
        _demo_load_dict_order)
def _load_sorted():
    import torch

    def load(original, *args, **kwargs):
        result = original(*args, **kwargs)
        if isinstance(result, dict):
            items = sorted(result.items(), key=lambda item: str(item[0]))
            out = type(result)(items) if type(result) is not dict else dict(items)
            if hasattr(result, "_metadata"):
                out._metadata = result._metadata
            return out
        return result

    wrap_function(torch, "load", "load-returns-sorted-dict", load)


@mutant("load-int64-as-int32",
        "torch.load gives int64 tensors back as int32 (dtype lost on load): the class of "
        "pytorch/pytorch#58970, where torch.load returned tensors of the wrong dtype "
        "(https://github.com/pytorch/pytorch/issues/58970).",
        _demo_load_dtype)
def _load_int64():
    import torch

    def narrow(value):
        if isinstance(value, torch.Tensor) and value.dtype == torch.int64:
            return value.to(torch.int32)
        if isinstance(value, list):
            return [narrow(v) for v in value]
        if isinstance(value, tuple):
            return tuple(narrow(v) for v in value)
        if isinstance(value, dict):
            out = type(value)((k, narrow(v)) for k, v in value.items()) if type(value) is not dict else {
                k: narrow(v) for k, v in value.items()}
            if hasattr(value, "_metadata"):
                out._metadata = value._metadata
            return out
        return value

    def load(original, *args, **kwargs):
        return narrow(original(*args, **kwargs))

    wrap_function(torch, "load", "load-int64-as-int32", load)


@mutant("parameters-list-shared-twice",
        "named_parameters()/parameters() default to remove_duplicate=False, so a layer used twice "
        "lists its parameters twice: the flag added in pytorch/pytorch#71542 and #88090, defaulting "
        "the other way (https://github.com/pytorch/pytorch/pull/88090).",
        _demo_shared_parameters_listed)
def _parameters_duplicates():
    from torch import nn

    def named_parameters(original, self, prefix="", recurse=True, remove_duplicate=False):
        return original(self, prefix, recurse, remove_duplicate)

    wrap_function(nn.Module, "named_parameters", "parameters-list-shared-twice", named_parameters)


@mutant("tensor-to-same-device-copies",
        "Tensor.to(device) copies even when the tensor is already there (as if copy=True were the "
        "default), against the note 'If the self Tensor already has the correct torch.dtype and "
        "torch.device, then self is returned' (https://pytorch.org/docs/stable/generated/torch.Tensor.to.html).",
        _demo_tensor_to_same_device)
def _to_copies():
    import torch

    def to(original, self, *args, **kwargs):
        kwargs.setdefault("copy", True)
        try:
            return original(self, *args, **kwargs)
        except TypeError:  # a signature without copy
            kwargs.pop("copy")
            return original(self, *args, **kwargs)

    wrap_function(torch.Tensor, "to", "tensor-to-same-device-copies", to)


@mutant("module-to-replaces-parameters",
        "Module.to()/cpu() assign new Parameter objects instead of converting in place: the "
        "torch.__future__.set_overwrite_module_params_on_conversion(True) behaviour, documented as a "
        "future default; parameters tied across layers come apart "
        "(https://pytorch.org/docs/stable/future_mod.html).",
        _demo_module_to_keeps_tie)
def _module_to_overwrites():
    import torch

    torch.__future__.set_overwrite_module_params_on_conversion(True)  # a flag: idempotent


@mutant("second-backward-message-reworded",
        "The 'Trying to backward through the graph a second time ...' RuntimeError is reworded: torch "
        "<= 1.8 said '... but the saved intermediate results have already been freed. Specify "
        "retain_graph=True when calling backward the first time.', 1.9 added '(or directly access "
        "saved tensors after they have already been freed)'; this one says it another way "
        "(old wording: https://github.com/JonathonLuiten/instant-nerf-pytorch/issues/2; new: "
        "https://github.com/karpathy/nn-zero-to-hero/issues/31).",
        _demo_second_backward_message)
def _second_backward_message():
    import torch

    def backward(original, *args, **kwargs):
        try:
            return original(*args, **kwargs)
        except RuntimeError as exc:
            if "backward through the graph a second time" in str(exc):
                raise RuntimeError(
                    "Saved tensors of this graph were already released by an earlier backward call; "
                    "pass retain_graph=True to the first call to differentiate it again.") from exc
            raise

    wrap_function(torch.autograd, "backward", "second-backward-message-reworded", backward)
    wrap_function(torch.autograd, "grad", "second-backward-message-reworded", backward)


@mutant("retain-graph-by-default",
        "backward() keeps the graph by default (retain_graph defaults to True rather than to "
        "create_graph), so a second backward through the same graph runs and accumulates: the "
        "documented default 'retain_graph ... Defaults to the value of create_graph' changed "
        "(https://pytorch.org/docs/stable/generated/torch.autograd.backward.html).",
        _demo_retain_graph_default)
def _retain_graph():
    import torch

    def backward(original, tensors, grad_tensors=None, retain_graph=None, *args, **kwargs):
        if retain_graph is None:
            retain_graph = True
        return original(tensors, grad_tensors, retain_graph, *args, **kwargs)

    wrap_function(torch.autograd, "backward", "retain-graph-by-default", backward)


@mutant("nonscalar-backward-sums",
        "backward() on a non-scalar without a gradient argument sums implicitly (as MXNet and TF do) "
        "instead of raising 'grad can be implicitly created only for scalar outputs' "
        "(raised in torch/autograd/__init__.py _make_grads; "
        "https://github.com/cybertronai/autograd-hacks/issues/8).",
        _demo_nonscalar_backward)
def _nonscalar_sums():
    import torch

    def backward(original, tensors, grad_tensors=None, *args, **kwargs):
        if grad_tensors is None and isinstance(tensors, torch.Tensor) and tensors.numel() != 1:
            grad_tensors = torch.ones_like(tensors)
        return original(tensors, grad_tensors, *args, **kwargs)

    wrap_function(torch.autograd, "backward", "nonscalar-backward-sums", backward)


@mutant("backward-overwrites-grad",
        "backward() replaces the leaves' .grad instead of adding to it (Gluon's grad_req='write'), "
        "against 'This function accumulates gradients in the leaves - you might need to zero .grad "
        "attributes or set them to None before calling it' "
        "(https://pytorch.org/docs/stable/generated/torch.Tensor.backward.html; "
        "accumulation discussed in https://github.com/pytorch/pytorch/issues/13494).",
        _demo_grad_accumulates)
def _backward_overwrites():
    import torch

    def leaves(roots):
        seen, stack, found = set(), [t.grad_fn for t in roots if t.grad_fn is not None], []
        for t in roots:
            if t.grad_fn is None and t.requires_grad:
                found.append(t)
        while stack:
            node = stack.pop()
            if node is None or id(node) in seen:
                continue
            seen.add(id(node))
            variable = getattr(node, "variable", None)
            if variable is not None:
                found.append(variable)
            stack.extend(next_fn for next_fn, _ in node.next_functions)
        return found

    def backward(original, tensors, *args, **kwargs):
        roots = [tensors] if isinstance(tensors, torch.Tensor) else [t for t in tensors if isinstance(t, torch.Tensor)]
        for leaf in leaves(roots):
            leaf.grad = None
        return original(tensors, *args, **kwargs)

    wrap_function(torch.autograd, "backward", "backward-overwrites-grad", backward)


@mutant("dropout-active-in-eval",
        "nn.Dropout keeps dropping in eval mode (forward passes training=True), the bug class of "
        "pytorch/pytorch#11999 'Dropout still active in .eval() mode' and #26338 "
        "(https://github.com/pytorch/pytorch/issues/11999).",
        _demo_dropout_eval)
def _dropout_eval():
    from torch import nn
    from torch.nn import functional as F

    def make(original):
        def forward(self, input):
            return F.dropout(input, self.p, True, self.inplace)

        return forward

    replace(nn.Dropout, "forward", "dropout-active-in-eval", make)


@mutant("dropout-no-rescale",
        "nn.Dropout zeros units without scaling the kept ones by 1/(1-p), the dropout-scaling bug class "
        "fixed in other frameworks (https://github.com/kaldi-asr/kaldi/issues/2814; "
        "https://github.com/lmjohns3/theanets/pull/123).",
        _demo_dropout_scale)
def _dropout_no_rescale():
    from torch import nn
    from torch.nn import functional as F

    def make(original):
        def forward(self, input):
            out = F.dropout(input, self.p, self.training, self.inplace)
            return out * (1 - self.p) if self.training and self.p < 1 else out

        return forward

    replace(nn.Dropout, "forward", "dropout-no-rescale", make)


@mutant("lazy-parameter-error-reclassed",
        "Using a LazyModule's parameter before the first forward raises RuntimeError with another "
        "message instead of ValueError('Attempted to use an uninitialized parameter in ...') "
        "(torch/nn/parameter.py UninitializedTensorMixin.__torch_function__; "
        "https://pytorch.org/docs/stable/generated/torch.nn.parameter.UninitializedParameter.html).",
        _demo_lazy_error)
def _lazy_error():
    from torch.nn import parameter

    def make(original):
        func = original.__func__ if hasattr(original, "__func__") else original

        def __torch_function__(cls, func_, types, args=(), kwargs=None):
            try:
                return func(cls, func_, types, args, kwargs)
            except ValueError as exc:
                if "uninitialized parameter" in str(exc):
                    raise RuntimeError(
                        f"{cls.__name__} has no data yet: run a forward pass to materialize it") from exc
                raise

        return classmethod(__torch_function__)

    replace(parameter.UninitializedTensorMixin, "__torch_function__", "lazy-parameter-error-reclassed", make)


@mutant("linear-repr-arrow-format",
        "print(model) shows a Linear as 'Linear (20 -> 256)' (the format of pytorch/pytorch#205, torch "
        "0.1) instead of 'Linear(in_features=20, out_features=256, bias=True)' "
        "(https://github.com/pytorch/pytorch/pull/205).",
        _demo_linear_repr)
def _linear_repr():
    from torch import nn

    def make(original):
        def extra_repr(self):
            return f"{self.in_features} -> {self.out_features}" + ("" if self.bias is not None else ", no bias")

        return extra_repr

    replace(nn.Linear, "extra_repr", "linear-repr-arrow-format", make)


@mutant("named-parameters-sorted",
        "named_parameters() yields parameters sorted by name instead of in registration order "
        "(bias before weight), the sorted dict order torch's own pytree flattening adopted in "
        "pytorch/pytorch#114947 and jax.tree_util uses (https://github.com/pytorch/pytorch/pull/114947; "
        "https://github.com/jax-ml/jax/issues/4085).",
        _demo_named_parameters_order)
def _named_parameters_sorted():
    from torch import nn

    def named_parameters(original, self, *args, **kwargs):
        return iter(sorted(original(self, *args, **kwargs), key=lambda item: item[0]))

    wrap_function(nn.Module, "named_parameters", "named-parameters-sorted", named_parameters)


@mutant("device-check-dropped",
        "An operation on tensors on two devices copies the CPU operands to the other device instead "
        "of raising 'Expected all tensors to be on the same device' (MXNet 1.x's silent copy; torch "
        "already allows it for 0-dim CPU tensors, pytorch/pytorch#119609) "
        "(https://github.com/pytorch/pytorch/issues/119609).",
        _demo_cross_device)
def _device_check_dropped():
    import torch
    from torch.overrides import TorchFunctionMode

    if getattr(torch, "_framework_mutant_device_mode", None) is not None:
        return

    class SilentCopy(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            try:
                return func(*args, **kwargs)
            except RuntimeError as exc:
                text = str(exc)
                if "same device" not in text and "expected device" not in text:
                    raise
                tensors = [a for a in args if isinstance(a, torch.Tensor)]
                if not tensors:
                    raise
                others = [t.device for t in tensors if t.device.type != "cpu"]
                dev = others[0] if others else tensors[0].device  # CPU operands go to the device
                moved = [a.to(dev) if isinstance(a, torch.Tensor) else a for a in args]
                return func(*moved, **kwargs)

    mode = SilentCopy()
    mode.__enter__()
    torch._framework_mutant_device_mode = mode


@mutant("parameter-repr-without-header",
        "repr(nn.Parameter) drops its 'Parameter containing:' first line and prints like a tensor "
        "(the print change asked for in https://github.com/xl0/lovely-tensors/issues/6; Parameter "
        "printing last changed in https://github.com/pytorch/pytorch/pull/5119).",
        _demo_parameter_repr)
def _parameter_repr():
    import torch
    from torch import nn

    def make(original):
        def __repr__(self):
            return "Parameter" + torch.Tensor.__repr__(self.data)[len("tensor"):]

        return __repr__

    replace(nn.Parameter, "__repr__", "parameter-repr-without-header", make)


MUTANTS: dict[str, Mutant] = catalogue(
    _linear_weight_bound, _linear_bias_zero, _zero_grad_module, _zero_grad_optimizer,
    _load_not_strict, _state_dict_prefix, _state_dict_sorted, _load_sorted, _load_int64,
    _parameters_duplicates, _to_copies, _module_to_overwrites, _second_backward_message,
    _retain_graph, _nonscalar_sums, _backward_overwrites, _dropout_eval, _dropout_no_rescale,
    _lazy_error, _linear_repr, _named_parameters_sorted, _device_check_dropped, _parameter_repr,
)
