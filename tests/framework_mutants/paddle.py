"""PaddlePaddle mutants: behaviour changes a Paddle release made or could make.

Rule: each `apply()` patches public Paddle API (`paddle.nn.Linear`, `paddle.nn.Layer`,
`paddle.nn.Dropout`, `paddle.Tensor`, `paddle.save/load`, `paddle.nn.initializer`) so that plain
Paddle programs see the change. Columns: paddlepaddle 2.6.2 and 3.3.1 (CPU).
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
def _demo_linear_weight():
    import paddle

    paddle.seed(0)
    layer = paddle.nn.Linear(10, 400)
    return round(float(layer.weight.abs().max()), 2)  # XavierUniform: sqrt(6 / 410) = 0.12


def _demo_linear_bias():
    import paddle

    paddle.seed(0)
    layer = paddle.nn.Linear(4, 8)
    return int((layer.bias.numpy() != 0).sum())


def _demo_clear_gradients():
    import paddle

    paddle.seed(0)
    layer = paddle.nn.Linear(3, 2)
    layer(paddle.ones([1, 3])).sum().backward()
    layer.clear_gradients()
    return {"weight_grad_is_none": layer.weight.grad is None}


def _demo_set_state_dict_missing():
    import warnings

    import paddle

    net = paddle.nn.Sequential(paddle.nn.Linear(2, 2), paddle.nn.Linear(2, 1))
    state = net.state_dict()
    del state["1.bias"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            net.set_state_dict(state)
        except (ValueError, KeyError, RuntimeError) as exc:
            return {"raised": type(exc).__name__}
    return {"raised": None, "warned": any("Skip loading" in str(w.message) for w in caught)}


def _demo_state_dict_keys():
    import paddle

    net = paddle.nn.Sequential(paddle.nn.Linear(2, 2), paddle.nn.Linear(2, 1))
    keys = list(net.state_dict().keys())
    return {"structured": keys == ["0.weight", "0.bias", "1.weight", "1.bias"], "count": len(keys)}


def _demo_load_order():
    import os
    import tempfile

    import paddle

    path = os.path.join(tempfile.mkdtemp(), "d.pdparams")
    paddle.save({"zeta": paddle.zeros([1]), "alpha": paddle.ones([2]), "mid": paddle.ones([3])}, path)
    return list(paddle.load(path).keys())


def _demo_load_dtype():
    import os
    import tempfile

    import paddle

    path = os.path.join(tempfile.mkdtemp(), "l.pdtensor")
    paddle.save({"ints": paddle.to_tensor([1, 2], dtype="int64"), "floats": paddle.ones([2])}, path)
    return {key: str(value.dtype) for key, value in paddle.load(path).items()}


def _demo_shared_parameters():
    import paddle

    shared = paddle.nn.Linear(4, 4)
    net = paddle.nn.Sequential(paddle.nn.Linear(4, 4), shared, paddle.nn.ReLU(), shared)
    return {"parameters": len(net.parameters()), "names": [n for n, _ in net.named_parameters()]}


def _demo_to_same_place():
    import paddle

    x = paddle.to_tensor([1.0, 2.0])
    return {"same_object": x.to("cpu") is x}


def _demo_cpu_same_place():
    import paddle

    x = paddle.to_tensor([1.0, 2.0])
    y = x.cpu()
    return {"same_object": y is x}


def _demo_dropout_modes():
    import paddle

    paddle.seed(0)
    drop = paddle.nn.Dropout(0.5)
    x = paddle.ones([4, 16])
    train = sorted({round(float(v), 3) for v in drop(x).numpy().flatten()})
    drop.eval()
    evaluated = sorted({round(float(v), 3) for v in drop(x).numpy().flatten()})
    return {"train": train, "eval": evaluated}


def _demo_dropout_eval():
    import paddle

    paddle.seed(0)
    drop = paddle.nn.Dropout(0.5)
    drop.eval()
    x = paddle.ones([4, 16])
    return {"identity_in_eval": bool((drop(x).numpy() == 1).all())}


def _demo_retain_graph():
    import paddle

    x = paddle.to_tensor([1.0, 2.0], stop_gradient=False)
    y = (x * x).sum()
    y.backward()
    try:
        y.backward()
    except Exception as exc:  # noqa: BLE001 - the type is the observation
        return {"second_backward": type(exc).__name__}
    return {"second_backward": "ran", "grad": x.grad.numpy().tolist()}


def _demo_second_backward_message():
    import paddle

    x = paddle.to_tensor([1.0, 2.0], stop_gradient=False)
    y = (x * x).sum()
    y.backward()
    try:
        y.backward()
    except Exception as exc:  # noqa: BLE001 - the type is the observation
        return {"type": type(exc).__name__, "retain_graph_hint": "retain_graph=True" in str(exc)}
    return {"type": None}


def _demo_nonscalar_backward():
    import paddle

    x = paddle.to_tensor([1.0, 2.0, 3.0], stop_gradient=False)
    y = 2 * x
    try:
        y.backward()
    except Exception as exc:  # noqa: BLE001 - the type is the observation
        return {"raised": type(exc).__name__}
    return {"raised": None, "grad": x.grad.numpy().tolist()}


def _demo_linear_repr():
    import paddle

    return repr(paddle.nn.Linear(20, 256))


def _demo_parameter_repr():
    import paddle

    return repr(paddle.nn.Linear(2, 3).bias).splitlines()[0]


def _demo_parameter_names():
    import paddle

    layer = paddle.nn.Linear(2, 3)
    return sorted(name.split(".")[-1].split("_")[0] for name in (layer.weight.name, layer.bias.name))


def _demo_named_parameters_order():
    import paddle

    class Net(paddle.nn.Layer):
        def __init__(self):
            super().__init__()
            self.output = paddle.nn.Linear(3, 1)
            self.hidden = paddle.nn.Linear(2, 3)

    return [name for name, _ in Net().named_parameters()]


# -- mutants ----------------------------------------------------------------------------------
@mutant("linear-weight-kaiming-uniform",
        "nn.Linear's default weight initializer becomes KaimingUniform (sqrt(6/fan_in)) instead of "
        "XavierUniform, as if paddle.nn.initializer.set_global_initializer(KaimingUniform()) were the "
        "default (https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/initializer/set_global_initializer_en.html; "
        "defaults questioned in https://github.com/tensorflow/tensorflow/issues/31303).",
        _demo_linear_weight)
def _linear_kaiming():
    import paddle

    paddle.nn.initializer.set_global_initializer(paddle.nn.initializer.KaimingUniform(), None)  # idempotent


@mutant("linear-bias-uniform",
        "nn.Linear's bias starts from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (torch's default) instead of "
        "zeros (Paddle's documented Constant(0.0) bias; torch's: "
        "https://github.com/pytorch/pytorch/issues/42083).",
        _demo_linear_bias)
def _linear_bias():
    import paddle

    def init(original, self, in_features, out_features, weight_attr=None, bias_attr=None, *args, **kwargs):
        if bias_attr is None:
            bound = 1 / math.sqrt(in_features) if in_features else 0
            bias_attr = paddle.ParamAttr(initializer=paddle.nn.initializer.Uniform(-bound, bound))
        return original(self, in_features, out_features, weight_attr, bias_attr, *args, **kwargs)

    wrap_function(paddle.nn.Linear, "__init__", "linear-bias-uniform", init)


@mutant("clear-gradients-set-to-none",
        "Layer.clear_gradients() sets the gradients to None (set_to_zero=False) instead of zeroing "
        "them, torch 2.0's zero_grad default (https://github.com/pytorch/pytorch/pull/92731; Paddle: "
        "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/Layer_en.html#clear_gradients).",
        _demo_clear_gradients)
def _clear_to_none():
    import paddle

    def clear_gradients(original, self, *args, **kwargs):
        for param in self.parameters():
            if not param.stop_gradient:
                param.clear_gradient(False)

    wrap_function(paddle.nn.Layer, "clear_gradients", "clear-gradients-set-to-none", clear_gradients)


@mutant("set-state-dict-strict",
        "Layer.set_state_dict raises for a missing key instead of warning 'Skip loading for ... is not "
        "found in the provided dict' (torch's strict loading, https://github.com/pytorch/pytorch/pull/3159; "
        "missing keys returned since https://github.com/PaddlePaddle/Paddle/pull/48436).",
        _demo_set_state_dict_missing)
def _set_state_strict():
    import paddle

    def set_state_dict(original, self, state_dict, *args, **kwargs):
        result = original(self, state_dict, *args, **kwargs)
        missing = result[0] if isinstance(result, tuple) and result else []
        if missing:
            raise ValueError(f"Error(s) in loading state_dict for {type(self).__name__}: missing keys {missing}")
        return result

    wrap_function(paddle.nn.Layer, "set_state_dict", "set-state-dict-strict", set_state_dict)


@mutant("set-state-dict-no-warning",
        "Layer.set_state_dict skips a missing key silently, without the 'Skip loading for ...' "
        "warning (a warning dropped between releases; "
        "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/Layer_en.html#set_state_dict).",
        _demo_set_state_dict_missing)
def _set_state_silent():
    import warnings

    import paddle

    def set_state_dict(original, self, *args, **kwargs):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Skip loading")
            return original(self, *args, **kwargs)

    wrap_function(paddle.nn.Layer, "set_state_dict", "set-state-dict-no-warning", set_state_dict)


@mutant("state-dict-parameter-names",
        "Layer.state_dict() keys are the parameters' unique names ('linear_0.w_0', as fluid's "
        "save_dygraph files had) instead of structured names ('0.weight'); set_state_dict matches them "
        "with use_structured_name=False (the parameter.name keys that "
        "https://github.com/PaddlePaddle/Paddle/pull/27242 replaced by structured names; "
        "https://github.com/PaddlePaddle/Paddle/pull/22169).",
        _demo_state_dict_keys)
def _state_dict_names():
    from collections import OrderedDict

    import paddle

    def state_dict(original, self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        structured = dict(self.named_parameters())
        out = OrderedDict()
        for key, value in result.items():
            param = structured.get(key)
            out[param.name if param is not None else key] = value
        return out

    def set_state_dict(original, self, state_dict, use_structured_name=True, *args, **kwargs):
        names = {p.name for p in self.parameters()}
        if any(key in names for key in state_dict):  # keys written by the mutated state_dict()
            use_structured_name = False
        return original(self, state_dict, use_structured_name, *args, **kwargs)

    wrap_function(paddle.nn.Layer, "state_dict", "state-dict-parameter-names", state_dict)
    wrap_function(paddle.nn.Layer, "set_state_dict", "state-dict-parameter-names", set_state_dict)


@mutant("load-returns-sorted-dict",
        "paddle.load gives a saved dict back with its keys sorted instead of in the saved order (dict "
        "order on load, as https://github.com/safetensors/safetensors/issues/357 and "
        "https://github.com/jax-ml/jax/issues/4085 show for other formats).",
        _demo_load_order)
def _load_sorted():
    import paddle

    def load(original, *args, **kwargs):
        result = original(*args, **kwargs)
        if isinstance(result, dict):
            return type(result)(sorted(result.items(), key=lambda item: str(item[0])))
        return result

    wrap_function(paddle, "load", "load-returns-sorted-dict", load)


@mutant("load-int64-as-int32",
        "paddle.load gives int64 tensors back as int32 (dtype lost on load, as in "
        "https://github.com/pytorch/pytorch/issues/58970 and https://github.com/apache/mxnet/issues/16048).",
        _demo_load_dtype)
def _load_int32():
    import paddle

    def narrow(value):
        if isinstance(value, paddle.Tensor) and value.dtype == paddle.int64:
            return value.astype("int32")
        if isinstance(value, dict):
            return type(value)((k, narrow(v)) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return type(value)(narrow(v) for v in value)
        return value

    def load(original, *args, **kwargs):
        return narrow(original(*args, **kwargs))

    wrap_function(paddle, "load", "load-int64-as-int32", load)


@mutant("parameters-list-shared-twice",
        "Layer.parameters()/named_parameters() list the parameters of a sublayer used twice once per "
        "use (no de-duplication; the remove_duplicate flag of Paddle 3 / torch#88090 defaulting to "
        "False) (https://github.com/pytorch/pytorch/pull/88090; "
        "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/Layer_en.html#named_parameters).",
        _demo_shared_parameters)
def _parameters_twice():
    import paddle

    def walk(layer, prefix, include_sublayers):
        for name, param in layer._parameters.items():
            if param is not None:
                yield (prefix + ("." if prefix else "") + name, param)
        if include_sublayers:
            for name, sub in layer._sub_layers.items():
                if sub is not None:
                    yield from walk(sub, prefix + ("." if prefix else "") + name, True)

    def named_parameters(original, self, prefix="", include_sublayers=True, *args, **kwargs):
        return iter(list(walk(self, prefix, include_sublayers)))

    wrap_function(paddle.nn.Layer, "named_parameters", "parameters-list-shared-twice", named_parameters)


@mutant("tensor-to-same-place-copies",
        "Tensor.to('cpu') copies a tensor already on the CPU, against 'If the self Tensor already has "
        "the correct dtype and device, then self is returned' "
        "(https://paddlepaddle.org.cn/documentation/docs/en/api/paddle/Tensor/to_en.html).",
        _demo_to_same_place)
def _to_copies():
    import paddle

    def to(original, self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        return result.clone() if result is self else result

    wrap_function(paddle.Tensor, "to", "tensor-to-same-place-copies", to)


@mutant("tensor-cpu-copies",
        "Tensor.cpu() returns a copy even for a tensor already on the CPU (torch's Tensor.cpu() "
        "returns self there: https://pytorch.org/docs/stable/generated/torch.Tensor.cpu.html; Paddle: "
        "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/Tensor_en.html#cpu).",
        _demo_cpu_same_place)
def _cpu_copies():
    import paddle

    def cpu(original, self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        return result.clone() if result is self else result

    wrap_function(paddle.Tensor, "cpu", "tensor-cpu-copies", cpu)


@mutant("dropout-downscale-in-infer",
        "nn.Dropout defaults to mode='downscale_in_infer' (no 1/(1-p) scaling in training, outputs "
        "scaled by 1-p at inference) instead of 'upscale_in_train': fluid.dygraph.Dropout's default "
        "dropout_implementation='downgrade_in_infer' back "
        "(https://paddlepaddle.org.cn/documentation/docs/zh/2.2/api/paddle/fluid/dygraph/Dropout_cn.html; "
        "https://paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/Dropout_en.html).",
        _demo_dropout_modes)
def _dropout_downscale():
    import paddle

    def init(original, self, *args, **kwargs):
        original(self, *args, **kwargs)
        if "mode" not in kwargs and len(args) < 3:
            self.mode = "downscale_in_infer"

    wrap_function(paddle.nn.Dropout, "__init__", "dropout-downscale-in-infer", init)


@mutant("dropout-active-in-eval",
        "nn.Dropout keeps dropping after layer.eval() (forward passes training=True), the bug class of "
        "https://github.com/pytorch/pytorch/issues/11999 "
        "(https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/Dropout_en.html).",
        _demo_dropout_eval)
def _dropout_eval():
    import paddle
    import paddle.nn.functional as F

    def make(original):
        def forward(self, input):
            return F.dropout(input, p=self.p, axis=self.axis, training=True, mode=self.mode, name=self.name)

        return forward

    replace(paddle.nn.Dropout, "forward", "dropout-active-in-eval", make)


@mutant("retain-graph-by-default",
        "Tensor.backward() keeps the graph by default (retain_graph=True), so a second backward "
        "through the same graph runs and accumulates "
        "(https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/Tensor_en.html#backward: "
        "'retain_graph (bool, optional) ... Defaults to False').",
        _demo_retain_graph)
def _retain_graph():
    import paddle

    def backward(original, self, grad_tensor=None, retain_graph=True, *args, **kwargs):
        return original(self, grad_tensor, retain_graph, *args, **kwargs)

    wrap_function(paddle.Tensor, "backward", "retain-graph-by-default", backward)


@mutant("second-backward-error-reclassed",
        "A second backward through a freed graph raises RuntimeError('Trying to backward through the "
        "graph a second time', torch's wording) instead of SystemError('(Fatal) The TensorWrappers of "
        "... do not exist ... set retain_graph=True') (the SystemError users meet in "
        "https://github.com/PaddlePaddle/Paddle/issues/49442, reclassed and reworded).",
        _demo_second_backward_message)
def _second_backward_reclassed():
    import paddle

    def backward(original, self, *args, **kwargs):
        try:
            return original(self, *args, **kwargs)
        except SystemError as exc:
            if "TensorWrappers" not in str(exc):
                raise
            raise RuntimeError("Trying to backward through the graph a second time (or directly access "
                               "saved tensors after they have already been freed).") from exc

    wrap_function(paddle.Tensor, "backward", "second-backward-error-reclassed", backward)


@mutant("nonscalar-backward-raises",
        "backward() on a non-scalar without grad_tensor raises (torch's 'grad can be implicitly "
        "created only for scalar outputs') instead of back-propagating ones "
        "(https://github.com/cybertronai/autograd-hacks/issues/8; "
        "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/Tensor_en.html#backward).",
        _demo_nonscalar_backward)
def _nonscalar_raises():
    import paddle

    def backward(original, self, grad_tensor=None, *args, **kwargs):
        if grad_tensor is None and int(self.size) != 1:
            raise RuntimeError("grad can be implicitly created only for scalar outputs")
        return original(self, grad_tensor, *args, **kwargs)

    wrap_function(paddle.Tensor, "backward", "nonscalar-backward-raises", backward)


@mutant("linear-repr-without-dtype",
        "print(nn.Linear(20, 256)) shows 'Linear(in_features=20, out_features=256, bias=True)' (torch's "
        "wording) instead of 'Linear(in_features=20, out_features=256, dtype=float32)' "
        "(https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/nn/Linear_en.html; torch's "
        "Linear repr history: https://github.com/pytorch/pytorch/pull/205).",
        _demo_linear_repr)
def _linear_repr():
    import paddle

    def make(original):
        def extra_repr(self):
            return (f"in_features={self.weight.shape[0]}, out_features={self.weight.shape[1]}, "
                    f"bias={self.bias is not None}")

        return extra_repr

    replace(paddle.nn.Linear, "extra_repr", "linear-repr-without-dtype", make)


@mutant("parameter-repr-without-header",
        "repr(Parameter) drops its 'Parameter containing:' first line and prints as a plain Tensor (the "
        "change asked of torch in https://github.com/xl0/lovely-tensors/issues/6; "
        "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/create_parameter_en.html).",
        _demo_parameter_repr)
def _parameter_repr():
    import paddle

    cls = type(paddle.nn.Linear(1, 1).weight)

    def make(original):
        def __repr__(self):
            text = original(self)
            return text.split("\n", 1)[1] if text.startswith("Parameter containing:") else text

        return __repr__

    replace(cls, "__repr__", "parameter-repr-without-header", make)


@mutant("parameter-names-weight-bias",
        "Parameters are named 'linear_0.weight_0' / 'linear_0.bias_0' instead of 'linear_0.w_0' / "
        "'linear_0.b_0' (the unique_name scheme of paddle.base.unique_name changed; "
        "https://www.paddlepaddle.org.cn/documentation/docs/en/api/paddle/utils/unique_name/generate_en.html).",
        _demo_parameter_names)
def _parameter_names():
    from paddle.base import unique_name

    def generate(original, key, *args, **kwargs):
        if isinstance(key, str):
            if key.endswith(".w"):
                key = key[:-2] + ".weight"
            elif key.endswith(".b"):
                key = key[:-2] + ".bias"
        return original(key, *args, **kwargs)

    wrap_function(unique_name, "generate", "parameter-names-weight-bias", generate)


@mutant("named-parameters-sorted",
        "named_parameters() yields parameters sorted by name instead of in registration order (the "
        "dict order of pytree flattening: https://github.com/pytorch/pytorch/pull/114947; "
        "https://github.com/jax-ml/jax/issues/4085).",
        _demo_named_parameters_order)
def _named_sorted():
    import paddle

    def named_parameters(original, self, *args, **kwargs):
        return iter(sorted(original(self, *args, **kwargs), key=lambda item: item[0]))

    wrap_function(paddle.nn.Layer, "named_parameters", "named-parameters-sorted", named_parameters)


MUTANTS: dict[str, Mutant] = catalogue(
    _linear_kaiming, _linear_bias, _clear_to_none, _set_state_strict, _set_state_silent,
    _state_dict_names, _load_sorted, _load_int32, _parameters_twice, _to_copies, _cpu_copies,
    _dropout_downscale, _dropout_eval, _retain_graph, _second_backward_reclassed, _nonscalar_raises,
    _linear_repr, _parameter_repr, _parameter_names, _named_sorted,
)
