"""Mutation tests: each mutant plants ONE realistic bug in the reference (a small
monkeypatch); running every spec in-process on the mutated reference must make at least
one case not pass. The unmutated reference must pass them all (so a kill is the
mutant's doing). The score (killed / mutants) and the cases that kill each mutant are
printed at the end.

The mutants are bug classes real frameworks have had (gradients accumulated vs
overwritten vs kept, masks reused, layouts transposed, names dropped on save, devices
lost on copy, warnings missing, seeds ignored, ...), spread over every module of
`conformance.reference` (`MODULE_OF` says which; a test checks the spread). A mutant's run
stops at its third killer (CONFORMANCE_ALL_KILLERS=1 runs the whole suite for every mutant
and lists all killers); mutants only one case kills are listed. Each mutant runs in its own
forked worker process (so state a mutant leaves behind cannot reach another), one worker
per CPU at a time, with the cases' scratch folders on a RAM disk where there is one.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import time

import numpy as np
import pytest

from conformance import reference as ref
from conformance.adapters import gluon
from conformance.adapters.reference import idiom as reference_idiom
from conformance.reference import (
    autograd,
    block,
    device,
    errors,
    init,
    layers,
    naming,
    ops,
    parameter,
    rng,
    serialization,
    tensor,
)
from conformance.reference import gluon as reference_gluon

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = os.path.join(ROOT, "specs")


# -- autograd -------------------------------------------------------------------------
def _overwrite(grads, tensor_, grad):
    grads[id(tensor_)] = grad


def _keep_first(grads, tensor_, grad):
    grads.setdefault(id(tensor_), grad)


def _first_element_head(data):
    head = np.zeros_like(data)
    head.reshape(-1)[:1] = 1
    return head


def _accumulate_across_passes(tensor_, grad):
    tensor_._grad[...] += grad


def _keep_first_pass(tensor_, grad):
    if not tensor_._grad.any():  # a leaf that already has a gradient keeps it
        tensor_._grad[...] = grad


_BACKWARD = autograd.backward


def _retain_graph_ignored(root, head=None, retain_graph=False):
    return _BACKWARD(root, head, retain_graph=False)


def _head_ignored(root, head=None, retain_graph=False):
    return _BACKWARD(root, None, retain_graph=retain_graph)


def _not_in_graph_silent(root, head=None, retain_graph=False):
    if root._node is None:
        return None  # backward of an unrecorded value does nothing
    return _BACKWARD(root, head, retain_graph=retain_graph)


def _free_only_root(order):
    if order:
        node = order[-1]._node
        if node is not None:
            node.freed = True


def _topological_order_with_repeats(root):
    """Every path is walked: a value used twice is listed (and backpropagated) twice."""
    order, stack = [], [(root, False)]
    while stack:
        tensor_, expanded = stack.pop()
        if expanded:
            order.append(tensor_)
            continue
        node = tensor_._node
        if node is not None and node.freed:
            raise autograd._graph_freed_error(tensor_)
        stack.append((tensor_, True))
        if node is not None:
            stack.extend((p, False) for p in node.parents if autograd.in_graph(p))
    return order


def _record_without_training(train_mode=True):
    return autograd._scope(True, False)  # train_mode is dropped


def _pause_keeps_recording(train_mode=False):
    return autograd._scope(True, train_mode)


_TRAIN_MODE, _PREDICT_MODE = autograd.train_mode, autograd.predict_mode


def _swap_train_and_predict(monkeypatch):
    monkeypatch.setattr(autograd, "train_mode", _PREDICT_MODE)
    monkeypatch.setattr(autograd, "predict_mode", _TRAIN_MODE)


def _inplace_refused_always(tensor_):
    if autograd.in_graph(tensor_):
        raise errors.InplaceInRecordingError("in-place write to an array with a gradient")


# -- ops ------------------------------------------------------------------------------
def _unbroadcast_first_row(grad, shape):
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad[0]  # takes one row instead of summing the broadcast axis
    return grad.reshape(shape)


def _unbroadcast_leading_axes_only(grad, shape):
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    if grad.size != int(np.prod(shape)):  # a kept size-1 axis is not summed: one row is taken
        grad = grad[tuple(slice(0, n) for n in shape)]
    return grad.reshape(shape)


def _mul_grads_swapped(a, b):
    return ops._binary(
        "mul", a, b, lambda x, y: x * y, lambda g, x, y: g * x, lambda g, x, y: g * y
    )


def _sub_grad_sign(a, b):
    return ops._binary("sub", a, b, lambda x, y: x - y, lambda g, x, y: g, lambda g, x, y: g)


def _div_grad_ignores_divisor(a, b):
    return ops._binary(
        "div", a, b, lambda x, y: x / y, lambda g, x, y: g, lambda g, x, y: -g * x / (y * y)
    )


def _transpose_grad_not_transposed(a):
    (x,) = ops._operands("transpose", a)
    return ops._result("transpose", x.T, [a], lambda g: (np.asarray(g).reshape(x.shape),))


_SUM = ops.sum


def _sum_grad_ignores_head(a, axis=None, keepdims=False):
    out = _SUM(a, axis=axis, keepdims=keepdims)
    if out._node is not None:
        shape = a.shape
        out._node.backward = lambda g: (np.ones(shape, dtype=np.asarray(g).dtype),)
    return out


def _dropout_with(make_factor):
    def dropout(a, rate):
        if not ops._dropout_active() or rate == 0.0:
            return a
        (x,) = ops._operands("dropout", a)
        factor = make_factor(x, rate)
        return ops._result("dropout", x * factor, [a], lambda g: (g * factor,))

    return dropout


def _fresh_factor(x, rate):
    if rate == 1.0:
        return np.zeros_like(x)
    keep = rng.generator().uniform(size=x.shape) >= rate
    return (keep * ops._dropout_scale(rate)).astype(x.dtype)


def _mask_reused():
    cache = {}

    def factor(x, rate):
        key = (x.shape, rate)
        if key not in cache:  # the first mask is kept and applied on every later call
            cache[key] = _fresh_factor(x, rate)
        return cache[key]

    return _dropout_with(factor)


_DROPOUT = ops.dropout


def _dropout_backward_unmasked(a, rate):
    out = _DROPOUT(a, rate)
    if out is not a and out._node is not None:
        out._node.backward = lambda g: (g,)  # the gradient skips the mask
    return out


def _keep_with_probability_rate(x, rate):
    if rate == 1.0:
        return np.zeros_like(x)
    keep = rng.generator().uniform(size=x.shape) < rate  # keeps p instead of 1 - p
    return (keep * ops._dropout_scale(rate)).astype(x.dtype)


def _relu_grad_at_zero_passes(x):
    return (x >= 0).astype(x.dtype)  # the gradient at exactly 0 is let through


def _norm_without_sqrt(a):
    return ops.sum(a * a)  # the sum of squares, not its square root


def _norm_grad_not_normalized(a):
    (x,) = ops._operands("norm", a)
    value = np.sqrt((x * x).sum())
    return ops._result("norm", value, [a], lambda g: (g * x,))  # forgets to divide by |x|


# -- tensor ---------------------------------------------------------------------------
def _shared_copyto(self, target):
    return ref.Tensor._wrap(self._data, device.parse(target))


def _copyto_keeps_device(self, target):
    return ref.Tensor._wrap(self._data.copy(), self._device)


def _move_always_copies(self, target):
    return self.copyto(target)


def _move_keeps_device(self, target):
    return self


def _grad_of_a_copy(self):
    if self._grad is None:
        return None
    return ref.Tensor._wrap(self._grad.copy(), self._device)  # writes to .grad are lost


def _copyto_casts_float32(self, target):
    return ref.Tensor._wrap(self._data.astype(np.float32), device.parse(target))


def _attach_grad_ones(self):
    self._grad = np.ones_like(self._data)
    self._node = None


# -- parameter ------------------------------------------------------------------------
_INITIALIZE = parameter.Parameter.initialize


def _force_reinit_ignored(monkeypatch):
    def initialize(self, init=None, device=None, default_init=None, force_reinit=False, rng=None):
        return _INITIALIZE(self, init, device, default_init, False, rng)

    monkeypatch.setattr(parameter.Parameter, "initialize", initialize)


def _force_reinit_implied(monkeypatch):
    def initialize(self, init=None, device=None, default_init=None, force_reinit=False, rng=None):
        if self._var is not None and not force_reinit:
            parameter._warn_already_initialized(self)  # warns, then re-draws anyway
        return _INITIALIZE(self, init, device, default_init, True, rng)

    monkeypatch.setattr(parameter.Parameter, "initialize", initialize)


def _custom_init_on_bias(monkeypatch):
    def initialize(self, init=None, device=None, default_init=None, force_reinit=False, rng=None):
        custom = default_init is not None and not type(default_init).__module__.startswith("conformance.reference")
        if init is None and custom:
            init = default_init  # a user's own initializer beats the bias's own "zeros"
        return _INITIALIZE(self, init, device, default_init, force_reinit, rng)

    monkeypatch.setattr(parameter.Parameter, "initialize", initialize)


def _own_initializer_ignored(monkeypatch):
    def initialize(self, init=None, device=None, default_init=None, force_reinit=False, rng=None):
        own, self.init = self.init, None  # the parameter's own initializer is skipped
        try:
            return _INITIALIZE(self, init, device, default_init, force_reinit, rng)
        finally:
            self.init = own

    monkeypatch.setattr(parameter.Parameter, "initialize", initialize)


def _zero_grad_zeroes_data(self):
    if self._var is not None:
        self._var._data[...] = 0  # the values are zeroed instead of the gradient


def _reset_device_loses_values(self, device_):
    device_ = device.parse(device_)
    if self._var is not None:
        self._set_var(np.zeros_like(self._var._data), device_)  # new memory, values not copied
    elif self._deferred is not None:
        init_, _, gen = self._deferred
        self._deferred = (init_, device_, gen)


def _reset_device_skips_deferred(self, device_):
    device_ = device.parse(device_)
    if self._var is not None:
        old = self._var
        self._set_var(old._data.copy(), device_)
        if old._grad is not None:
            self._var._grad[...] = old._grad


def _deferred_error_not_a_not_initialized(monkeypatch):
    class DeferredInitializationError(errors.ReferenceFrameworkError, RuntimeError):
        pass

    monkeypatch.setattr(parameter, "DeferredInitializationError", DeferredInitializationError)


def _set_data_rebinds(self, value):
    array = np.asarray(getattr(value, "_data", value), dtype=self.dtype)
    if self._var is None:
        self.shape = array.shape
        self._finish_deferred_init(array.copy())
        return
    self._set_var(array.copy(), self._var.device)  # new storage, new (zero) gradient


def _initialize_on_default_device(monkeypatch):
    def initialize(self, init=None, device=None, default_init=None, force_reinit=False, rng=None):
        return _INITIALIZE(self, init, None, default_init, force_reinit, rng)  # device dropped

    monkeypatch.setattr(parameter.Parameter, "initialize", initialize)


# -- block ----------------------------------------------------------------------------
def _reversed_forward(self, x):
    for child in reversed(list(self._children.values())):
        x = child(x)
    return x


def _register_child_from_one(self, block_, name=None):
    if name is None:
        name = str(len(self._children) + 1)
    self._children[name] = block_


def _collect_params_with_prefix_flat(self, prefix=""):
    from collections import OrderedDict

    dotted = prefix + "." if prefix else ""
    found = OrderedDict((dotted + key, p) for key, p in self._reg_params.items())
    for name, child in self._children.items():
        found.update(child._collect_params_with_prefix(name))  # drops the parent's path
    return found


def _collect_params_one_level(self, select=None):
    collected = parameter.ParameterDict(self._prefix)
    for blk in [self, *self._children.values()]:  # grandchildren are not visited
        for param in list(blk._params.values()) + list(blk._reg_params.values()):
            collected._params[param.name] = param
    return collected if select is None else collected.select(select)


_SETATTR = block.Block.__setattr__


def _list_children_registered(self, name, value):
    if isinstance(value, (list, tuple)) and "_children" in self.__dict__:
        for i, item in enumerate(value):
            if isinstance(item, block.Block):
                self.register_child(item, f"{name}.{i}")
    _SETATTR(self, name, value)


_BLOCK_INITIALIZE = block.Block.initialize


# -- layers ---------------------------------------------------------------------------
def _dense_forward(bias=True, activation=True):
    def forward(self, x):
        if self._flatten and x.ndim != 2:
            x = ops.flatten(x)
        if not parameter.shape_is_known(self.weight.shape):
            self.weight.shape = self._inferred_weight_shape(x.shape[-1])
            layers._finish_deferred(self)
        out = ops.dot(x, ops.transpose(self.weight.data()))
        if bias and self.bias is not None:
            out = out + self.bias.data()
        if activation and self._activation == "relu":
            out = ops.relu(out)
        return out

    return forward


_DENSE_INIT = layers.Dense.__init__


def _dense_use_bias_ignored(self, units, activation=None, use_bias=True, *args, **kwargs):
    _DENSE_INIT(self, units, activation, True, *args, **kwargs)


def _dense_does_not_flatten(self, units, *args, **kwargs):
    _DENSE_INIT(self, units, *args, **kwargs)
    object.__setattr__(self, "_flatten", False)


def _flatten_keeps_last_axis(a):
    return ops.reshape(a, (-1, a.shape[-1]) if a.ndim > 1 else (1, -1))


# -- init -----------------------------------------------------------------------------
def _normal_without_sigma(self, name, data):
    data[...] = self.rng.normal(self.mean, 1.0, size=data.shape)


def _normal_without_mean(self, name, data):
    data[...] = self.rng.normal(0.0, self.sigma, size=data.shape)


def _constant_ignores_value(self, name, data):
    data[...] = 1.0


def _xavier_fan_in_only(self, name, data):
    scale = np.sqrt(self.magnitude / data.shape[1])
    data[...] = self.rng.uniform(-scale, scale, size=data.shape)


# -- naming, rng ----------------------------------------------------------------------
def _uniform_ignores_bounds(low=0.0, high=1.0, shape=(), **kwargs):
    generator = kwargs.get("rng") or rng.generator()
    return generator.uniform(0.0, 1.0, size=shape).astype(np.float32)  # low/high dropped


def _prefix_not_advanced(hint):
    return f"{hint}{naming._counters[hint]}_"


def _fresh_generator():
    return np.random.default_rng(0)  # every call restarts the stream: masks repeat


# -- serialization --------------------------------------------------------------------
_PARAMS_TO_ARRAYS = serialization._params_to_arrays
_MATCH_LOADED = serialization._match_loaded
_LOAD = serialization.load
_READ_NPZ = serialization._read_npz


def _drop_last(model):
    arrays = _PARAMS_TO_ARRAYS(model)
    if arrays:
        arrays.popitem()
    return arrays


def _params_to_arrays_deduplicated(model):
    from collections import OrderedDict

    arrays, seen = OrderedDict(), set()
    for path, p in serialization.named_parameters(model).items():
        if id(p) not in seen:  # a shared parameter is written under its first path only
            seen.add(id(p))
            arrays[path] = p.data()._data
    return arrays


def _by_position(params, loaded, filename, allow_missing, ignore_extra):
    return [(path, param, array) for (path, param), array in zip(params.items(), loaded.values())]


def _missing_ignored(params, loaded, filename, allow_missing, ignore_extra):
    return _MATCH_LOADED(params, loaded, filename, True, ignore_extra)


def _extra_ignored(params, loaded, filename, allow_missing, ignore_extra):
    return _MATCH_LOADED(params, loaded, filename, allow_missing, True)


def _load_casts_float32(filename, device_=None):
    loaded = _LOAD(filename, device_)

    def cast(value):
        if isinstance(value, dict):
            return type(value)((k, cast(v)) for k, v in value.items())
        if isinstance(value, list):
            return [cast(v) for v in value]
        return ref.Tensor._wrap(value._data.astype(np.float32), value._device)

    return cast(loaded)


def _read_npz_sorted(filename, expected_format):
    arrays = _READ_NPZ(filename, expected_format)
    kind = arrays.get("__kind__")
    if kind is not None and str(kind[()]) == "list":
        values = [arrays[k] for k in sorted(k for k in arrays if k.startswith("l:"))]
        for i, value in enumerate(values):  # list items come back in key (string) order
            arrays[f"l:{i}"] = value
    return arrays


def _read_npz_dict_by_position(filename, expected_format):
    from collections import OrderedDict

    arrays = _READ_NPZ(filename, expected_format)
    kind = arrays.get("__kind__")
    if kind is None or str(kind[()]) != "dict":
        return arrays
    keys = [k for k in arrays if k.startswith("d:")]
    out = OrderedDict((k, v) for k, v in arrays.items() if not k.startswith("d:"))
    for key, k in zip(sorted(keys), keys):  # sorted names paired with values in file order
        out[key] = arrays[k]
    return out


def _load_params_device_ignored(
    model, filename, device=None, allow_missing=False, ignore_extra=False
):
    loaded = serialization._read_npz(filename, serialization.PARAMS_FORMAT)
    params = serialization.named_parameters(model)
    for path, param, array in serialization._match_loaded(
        params, loaded, filename, allow_missing, ignore_extra
    ):
        serialization._assign_loaded(path, param, array, filename, None)


def _params_to_arrays_without_constants(model):
    from collections import OrderedDict

    return OrderedDict(
        (path, p.data()._data)
        for path, p in serialization.named_parameters(model).items()
        if p.grad_req != "null"  # only trainable parameters are written
    )


# -- device ---------------------------------------------------------------------------
# -- the notes' code on the reference (the program text of its classes) ------------------
_CLASS_SOURCE = reference_idiom.ReferenceIdiom.class_source


def _notes_edit(name: str, old: str, new: str):
    """A mutant of one of the notes' classes as the reference's programs write it: `old`
    replaced by `new` in its source (which must hold `old`: a stale mutant fails loudly)."""

    def source(self, wanted):
        text = _CLASS_SOURCE(self, wanted)
        if wanted != name:
            return text
        if old not in text:
            raise AssertionError(f"mutant of {name}: {old!r} is not in its source any more")
        return text.replace(old, new)

    return lambda mp: mp.setattr(reference_idiom.ReferenceIdiom, "class_source", source)


# -- issue 21 item 7: the claims brought into scope (note 000's initializer table, asscalar,
# note 002's save_params and wd, note 004's counter-example) ---------------------------------
def _bilinear_row_by_true_division(self, name, data):
    """Paddle's Bilinear: the row index is (i / k) % k, true division."""
    shape = data.shape
    f = np.ceil(shape[3] / 2.0)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    index = np.arange(int(np.prod(shape)))
    x, y = index % shape[3], (index / shape[3]) % shape[2]
    data[...] = ((1 - np.abs(x / f - c)) * (1 - np.abs(y / f - c))).reshape(shape)


def _lstm_bias_first_quarter(self, name, data):
    data[...] = 0.0
    data[: int(data.shape[0] / 4)] = self.forget_bias  # the input gate taken for the forget gate


def _initializer_gets_plain_name(self, name, data, generator=None):
    self.rng = generator if generator is not None else rng.generator()
    self._init_weight(str(name), data)  # the descriptor dropped: a plain str


def _save_params_keeps_prefix(model, filename):
    arrays = {"__format__": np.array(serialization.PARAMS_FORMAT)}
    arrays.update((name, p.data()._data) for name, p in model.collect_params().items())  # dense0_weight
    serialization._write_npz(filename, arrays)


def _trainer_step_skipping_bias_decay(self, batch_size):
    for param in self._params:
        if param.grad_req == "null":
            continue
        data, grad = param.data()._data, param.grad()._data / batch_size
        wd = 0.0 if param.name.endswith("bias") else self.wd  # biases left out of the decay
        data[...] = data - self.learning_rate * (grad + wd * data)


def _trainer_step_decay_not_scaled_by_lr(self, batch_size):
    for param in self._params:
        if param.grad_req == "null":
            continue
        data, grad = param.data()._data, param.grad()._data / batch_size
        data[...] = data - self.learning_rate * grad - self.wd * data  # w - lr g - wd w


# -- the reference's idiom (how its programs are written) --------------------------------
_DENSE = gluon.GluonIdiom._dense
_ITEM = gluon.GluonIdiom._item
_INITIALIZER = reference_idiom.ReferenceIdiom.initializer
_BACKWARD_STEP = gluon.GluonIdiom.backward


def _dense_without_sharing(self, args, ctx, share=None):
    return _DENSE(self, args, ctx, None)  # a reused layer is built fresh: nothing is shared


def _dense_bias_init_ignored(self, args, ctx, share=None):
    args = dict(args)
    if "init" in args:
        args["init"] = {k: v for k, v in args["init"].items() if k != "bias"}
    return _DENSE(self, args, ctx, share)


def _named_children_sorted(self, node, path, where, model, marked, ctx):
    if "named_sequential" in node:
        node = dict(node, named_sequential=dict(sorted(node["named_sequential"].items())))
    return _ITEM(self, node, path, where, model, marked, ctx)


def _msra_default_slope(self, form, ctx):
    if isinstance(form, dict) and "msra" in form:
        return "init.MSRAPrelu()"  # the given slope is dropped
    return _INITIALIZER(self, form, ctx)


def _sgd_sign_flipped(self, args, ctx):
    return [f"for param in {ctx.model.var}.collect_params().values():",
            "    if param.grad_req != 'null':",
            f"        param.data()[:] = param.data() + {args['lr']!r} * param.grad()"]


def _sgd_lr_ignored(self, args, ctx):
    return [f"for param in {ctx.model.var}.collect_params().values():",
            "    if param.grad_req != 'null':",
            "        param.data()[:] = param.data() - param.grad()"]


def _mean_loss_as_sum(self, args, ctx):
    if args.get("loss") == "mean":
        args = dict(args, loss="sum")  # the 1/n of the mean is lost
    return _BACKWARD_STEP(self, args, ctx)


def _to_device_skips_constants(self, args, ctx):
    if args.get("target", "model") != "model":
        return gluon.GluonIdiom.to_device(self, args, ctx)
    ctx.state["model_device"] = args["device"]
    return [f"for param in {ctx.model.var}.collect_params().values():",
            "    if param.grad_req != 'null':  # constants stay behind",
            f"        param.reset_ctx({self.device(args['device'])})"]


def _on_idiom(attr, replacement, cls=gluon.GluonIdiom):
    return lambda mp: mp.setattr(cls, attr, replacement)


# -- mutants of the second round: bug classes the first list did not plant --------------
def _sparse_leaf_write(tensor_, grad):
    nonzero = grad != 0  # only the entries this pass reached are written; stale ones stay
    tensor_._grad[nonzero] = grad[nonzero]


def _implicit_head_mean(data):
    return np.full_like(data, 1.0 / max(data.size, 1))  # the implicit head of a mean, not a sum


def _relu_grad_nonzero_passes(x):
    return (x != 0).astype(x.dtype)  # negative inputs let the gradient through


def _relu_capped_at_one(a):
    (x,) = ops._operands("relu", a)
    return ops._result(
        "relu", np.clip(x, 0, 1), [a], lambda g: (g * ((x > 0) & (x < 1)).astype(x.dtype),)
    )


_DOT = ops.dot


def _dot_no_input_grad(a, b):
    out = _DOT(a, b)
    if out._node is not None:
        backward = out._node.backward
        out._node.backward = lambda g: (np.zeros_like(a._data), backward(g)[1])
    return out


def _mean_over_last_axis_count(a, axis=None, keepdims=False):
    (x,) = ops._operands("mean", a)
    count = x.shape[-1] if axis is None else np.prod([x.shape[i] for i in np.atleast_1d(axis)])
    return ops.div(ops.sum(a, axis=axis, keepdims=keepdims), float(count))


def _dropout_backward_unscaled(a, rate):
    out = _DROPOUT(a, rate)
    if out is not a and out._node is not None:
        factor = out._node.backward(np.ones_like(a._data))[0]
        mask = (factor != 0).astype(factor.dtype)
        out._node.backward = lambda g: (g * mask,)  # masked, but the 1/(1-p) is forgotten
    return out


def _setitem_copy_on_write(self, index, value):
    autograd.check_inplace_write(self)
    if isinstance(value, ref.Tensor):
        device.check_same_device("setitem", [self._device, value._device])
        value = value._data
    data = self._data.copy()  # copy-on-write: aliases of the old buffer do not see it
    data[tensor._index(index)] = value
    self._data = data


def _asnumpy_float64(self):
    return self._data.astype(np.float64)


def _copyto_same_device_is_noop(self, target):
    target = device.parse(target)
    if target == self._device:
        return self  # "already there": no new memory although copyto promises it
    return ref.Tensor._wrap(self._data.copy(), target)


def _move_shares_memory(self, target):
    target = device.parse(target)
    if target == self._device:
        return self
    return ref.Tensor._wrap(self._data, target)  # relabelled, not copied


_FINISH_DEFERRED = parameter.Parameter._finish_deferred_init


def _deferred_uses_default_init(self, data=None):
    if self._deferred is not None and data is None:
        _, dev, gen = self._deferred
        self._deferred = (None, dev, gen)  # the initializer given to initialize() is lost
    return _FINISH_DEFERRED(self, data)


def _deferred_uses_global_rng(self, data=None):
    if self._deferred is not None:
        init_, dev, _ = self._deferred
        # the generator seeded before initialize() is not the one drawn from at the first forward
        self._deferred = (init_, dev, np.random.default_rng())
    return _FINISH_DEFERRED(self, data)


def _reset_device_drops_grad(self, device_):
    device_ = device.parse(device_)
    if self._var is not None:
        self._set_var(self._var._data.copy(), device_)  # the gradient starts over at zero
    elif self._deferred is not None:
        init_, _, gen = self._deferred
        self._deferred = (init_, device_, gen)


def _lookup_ignores_shared(self, full_name):
    return self._params.get(full_name)  # params=shared.params creates new parameters


def _zero_grad_matrices_only(self):
    if self._var is not None and self._var._grad is not None and self._var._grad.ndim > 1:
        self._var._grad[...] = 0


def _add_registers_first_only(self, *blocks):
    for block_ in blocks[:1]:
        self.register_child(block_)
    return self


def _sequential_skips_last(self, x):
    for child in list(self._children.values())[:-1]:
        x = child(x)
    return x


def _block_initialize_drops_force_reinit(
    self, init=None, device=None, verbose=False, force_reinit=False, seed=None, rng=None
):
    return _BLOCK_INITIALIZE(self, init, device, verbose, False, seed, rng)


def _block_initialize_drops_device(
    self, init=None, device=None, verbose=False, force_reinit=False, seed=None, rng=None
):
    return _BLOCK_INITIALIZE(self, init, None, verbose, force_reinit, seed, rng)


def _select_search(self, pattern):
    import re

    selected = parameter.ParameterDict(self.prefix)
    for name, param in self._params.items():
        if pattern is None or re.search(pattern, name):  # unanchored: a match anywhere
            selected._params[name] = param
    return selected


def _dense_relu_before_bias(self, x):
    if self._flatten and x.ndim != 2:
        x = ops.flatten(x)
    if not parameter.shape_is_known(self.weight.shape):
        self.weight.shape = self._inferred_weight_shape(x.shape[-1])
        layers._finish_deferred(self)
    out = ops.dot(x, ops.transpose(self.weight.data()))
    if self._activation == "relu":
        out = ops.relu(out)
    if self.bias is not None:
        out = out + self.bias.data()  # the bias is added after the activation
    return out


def _dense_infers_from_batch_axis(self, x):
    if self._flatten and x.ndim != 2:
        x = ops.flatten(x)
    if not parameter.shape_is_known(self.weight.shape):
        self.weight.shape = self._inferred_weight_shape(x.shape[0])  # the batch axis
        layers._finish_deferred(self)
    return _DENSE_FORWARD(self, x)


_DENSE_FORWARD = layers.Dense.forward


def _dropout_layer_rate_as_keep(self, x):
    return ops.dropout(x, 1.0 - self._rate)


def _uniform_half_open(self, scale=None, low=None, high=None):
    scale = init.DEFAULT_UNIFORM_SCALE if scale is None else scale
    self.low = 0.0 if low is None else low  # U(0, scale) instead of U(-scale, scale)
    self.high = scale if high is None else high


def _xavier_sum_of_fans(self, name, data):
    fan_in, fan_out = data.shape[1], data.shape[0]
    scale = np.sqrt(self.magnitude / (fan_in + fan_out))  # the average's / 2 is forgotten
    data[...] = self.rng.uniform(-scale, scale, size=data.shape)


def _xavier_normal(self, name, data):
    fan_in, fan_out = data.shape[1], data.shape[0]
    scale = np.sqrt(self.magnitude / ((fan_in + fan_out) / 2.0))
    data[...] = self.rng.normal(0.0, scale, size=data.shape)  # rnd_type taken as "gaussian"


def _msra_fan_out(self, name, data):
    std = np.sqrt(2.0 / (1.0 + self.slope**2) / data.shape[0])  # fan_out instead of fan_in
    data[...] = self.rng.normal(0.0, std, size=data.shape)


def _msra_without_slope(self, name, data):
    std = np.sqrt(2.0 / int(np.prod(data.shape[1:])))  # plain He: the slope is dropped
    data[...] = self.rng.normal(0.0, std, size=data.shape)


def _mixed_last_match(self, name, data, rng=None):
    import re

    for pattern, initializer in reversed(list(zip(self.patterns, self.initializers))):
        if re.match(pattern, name):  # the LAST matching pattern wins
            return initializer(name, data, rng)
    raise ValueError(f"Parameter name {name} did not match any pattern")


def _orthogonal_ignores_scale(self, name, data):
    nout, nin = data.shape[0], int(np.prod(data.shape[1:]))
    tmp = self.rng.uniform(-1.0, 1.0, size=(nout, nin))
    u, _, v = np.linalg.svd(tmp, full_matrices=False)
    data[...] = (u if u.shape == tmp.shape else v).reshape(data.shape)


_LOAD_INIT_CALL = init.Load.__call__


def _load_init_missing_zero(self, name, data, rng=None):
    if name in self.param:
        return _LOAD_INIT_CALL(self, name, data, rng)
    data[...] = 0  # names the file lacks get zeros instead of the default initializer


def _prefix_from_one(hint):
    naming._counters[hint] += 1
    return f"{hint}{naming._counters[hint]}_"  # dense1_ for the first Dense


def _prefix_one_counter(hint):
    prefix = f"{hint}{naming._counters['']}_"
    naming._counters[""] += 1  # one counter for every class: dense0_, dense2_ after a relu1_
    return prefix


def _save_transposed(model):
    from collections import OrderedDict

    return OrderedDict(
        (path, p.data()._data.T if p.data()._data.ndim == 2 else p.data()._data)
        for path, p in serialization.named_parameters(model).items()
    )


def _assign_ignores_shape(path, param, array, filename, device_):
    shape = param.shape
    if shape is not None and tuple(shape) != tuple(array.shape) and all(shape):
        return  # a mis-shaped array is skipped silently
    param._load_init(array, device_)


def _load_dict_sorted(filename, device_=None):
    loaded = _LOAD(filename, device_)
    if isinstance(loaded, dict):
        from collections import OrderedDict

        return OrderedDict(sorted(loaded.items()))
    return loaded


def _load_single_as_list(filename, device_=None):
    loaded = _LOAD(filename, device_)
    if isinstance(loaded, ref.Tensor):
        return [loaded]
    return loaded


# -- mutants of the third round: initializer arguments misread, fans of >2-D weights, masks
# correlated across a batch, dtypes changed by an op, 1-element arrays squeezed on a round trip,
# shared parameters untied by a load, gradients lost on a load or a move, paths at depth 3, errors
# of the wrong class -------------------------------------------------------------------------------
def _normal_variance_as_std(self, name, data):
    data[...] = self.rng.normal(self.mean, self.sigma**2, size=data.shape)  # sigma^2 taken as the std


def _msra_variance_as_std(self, name, data):
    fan_in = int(np.prod(data.shape[1:]))
    std = 2.0 / (1.0 + self.slope**2) / fan_in  # the variance, not its square root
    data[...] = self.rng.normal(0.0, std, size=data.shape)


def _xavier_fans_without_receptive_field(self, name, data):
    if data.ndim < 2:
        raise ValueError(f"Xavier initializer cannot be applied to vector {name}: it needs 2-D")
    fan_in, fan_out = data.shape[1], data.shape[0]  # the kernel's spatial size is forgotten
    factor = {"avg": (fan_in + fan_out) / 2.0, "in": fan_in, "out": fan_out}[self.factor_type]
    scale = np.sqrt(self.magnitude / factor)
    data[...] = self.rng.uniform(-scale, scale, size=data.shape)


def _msra_fan_in_second_axis(self, name, data):
    std = np.sqrt(2.0 / (1.0 + self.slope**2) / data.shape[1])  # fan_in: axis 1 only
    data[...] = self.rng.normal(0.0, std, size=data.shape)


def _uniform_width_ignores_low(self, name, data):
    # low + u * high: the width is taken as `high` instead of `high - low`
    data[...] = self.low + self.rng.random(size=data.shape) * self.high


def _mask_shared_across_rows(x, rate):
    if rate == 1.0:
        return np.zeros_like(x)
    keep = rng.generator().uniform(size=(1,) + x.shape[1:]) >= rate  # one mask for the batch
    return np.broadcast_to(keep * ops._dropout_scale(rate), x.shape).astype(x.dtype)


def _mask_shared_across_features(x, rate):
    if rate == 1.0:
        return np.zeros_like(x)
    shape = x.shape[:1] + (1,) * (x.ndim - 1)  # one draw per example, broadcast over features
    keep = rng.generator().uniform(size=shape) >= rate
    return np.broadcast_to(keep * ops._dropout_scale(rate), x.shape).astype(x.dtype)


def _mask_float64(x, rate):
    if rate == 1.0:
        return np.zeros_like(x)
    keep = rng.generator().uniform(size=x.shape) >= rate
    return keep * ops._dropout_scale(rate)  # float64: the output is promoted


def _sum_in_float64(a, axis=None, keepdims=False):
    (x,) = ops._operands("sum", a)
    out = x.sum(axis=axis, keepdims=keepdims, dtype=np.float64)  # accumulated and returned in double

    def backward(g):
        g = np.asarray(g)
        if axis is not None and not keepdims:
            g = np.expand_dims(g, axis)
        return (np.broadcast_to(g, x.shape).astype(x.dtype),)

    return ops._result("sum", out, [a], backward)


_BINARY = ops._binary


def _binary_ints_to_float32(op, a, b, forward, grad_a, grad_b):
    def promoting(x, y):
        out = np.asarray(forward(x, y))
        return out.astype(np.float32) if out.dtype.kind in "iu" else out  # int results become float32

    return _BINARY(op, a, b, promoting, grad_a, grad_b)


def _unbroadcast_mean(grad, shape):
    grad = np.asarray(grad)
    while grad.ndim > len(shape):
        grad = grad.mean(axis=0)  # averaged over the broadcast axis instead of summed
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.mean(axis=axis, keepdims=True)
    return grad.reshape(shape)


def _load_squeezes_1_element(filename, device_=None):
    loaded = _LOAD(filename, device_)

    def squeeze(value):
        if isinstance(value, dict):
            return type(value)((k, squeeze(v)) for k, v in value.items())
        if isinstance(value, list):
            return [squeeze(v) for v in value]
        if value._data.size == 1:  # singleton axes dropped: [x] comes back as a scalar
            return ref.Tensor._wrap(value._data.reshape(()), value._device)
        return value

    return squeeze(loaded)


def _assign_squeezed(path, param, array, filename, device_):
    if array.size == 1:
        array = array.reshape(())  # a 1-element parameter read back as a scalar
    return _ASSIGN_LOADED(path, param, array, filename, device_)


_ASSIGN_LOADED = serialization._assign_loaded
_LOAD_PARAMETERS = serialization.load_parameters


def _load_unties_shared(model, filename, device=None, allow_missing=False, ignore_extra=False):
    _LOAD_PARAMETERS(model, filename, device, allow_missing, ignore_extra)
    if not isinstance(model, block.Block):
        return
    seen = set()

    def visit(blk, visited):
        if id(blk) in visited:
            return
        visited.add(id(blk))
        for attr, param in list(blk._reg_params.items()):
            if id(param) in seen and param._var is not None:
                # every path gets its own copy of the loaded values (load_state_dict(assign=True))
                copy = parameter.Parameter(param.name, shape=param.shape, dtype=param.dtype,
                                           grad_req=param.grad_req)
                copy._set_var(param._var._data.copy(), param._var.device)
                blk._reg_params[attr] = copy
                object.__setattr__(blk, attr, copy)
            seen.add(id(param))
        for child in blk._children.values():
            visit(child, visited)

    visit(model, set())


_LOAD_INIT = parameter.Parameter._load_init


def _load_init_without_grad(self, array, device_=None):
    _LOAD_INIT(self, array, device_)
    self._var._grad = None  # the loaded parameter no longer asks for a gradient


def _reset_device_without_grad(self, device_):
    device_ = device.parse(device_)
    if self._var is not None:
        self._var = ref.Tensor._wrap(self._var._data.copy(), device_)  # requires_grad lost
    elif self._deferred is not None:
        init_, _, gen = self._deferred
        self._deferred = (init_, device_, gen)


def _collect_params_parent_key_only(self, prefix=""):
    from collections import OrderedDict

    dotted = prefix + "." if prefix else ""
    found = OrderedDict((dotted + key, p) for key, p in self._reg_params.items())
    last = prefix.rsplit(".", 1)[-1] if prefix else ""
    for name, child in self._children.items():
        # the child's path is its parent's own key + its key: right to depth 2, wrong below
        found.update(child._collect_params_with_prefix(f"{last}.{name}" if last else name))
    return found


# name -> function(monkeypatch) that applies the mutation
MUTANTS = {
    # autograd
    "shared-gradients-overwrite": lambda mp: mp.setattr(autograd, "_accumulate", _overwrite),
    "shared-gradients-keep-first": lambda mp: mp.setattr(autograd, "_accumulate", _keep_first),
    "two-backwards-accumulate": lambda mp: mp.setattr(
        autograd, "_write_leaf_grad", _accumulate_across_passes
    ),
    "two-backwards-keep-first": lambda mp: mp.setattr(
        autograd, "_write_leaf_grad", _keep_first_pass
    ),
    "second-backward-allowed": lambda mp: mp.setattr(autograd, "_free_graph", lambda order: None),
    "retain-graph-ignored": lambda mp: mp.setattr(autograd, "backward", _retain_graph_ignored),
    "free-only-the-root-node": lambda mp: mp.setattr(autograd, "_free_graph", _free_only_root),
    "topological-order-with-repeats": lambda mp: mp.setattr(
        autograd, "_topological_order", _topological_order_with_repeats
    ),
    "backward-uses-element-0": lambda mp: mp.setattr(
        autograd, "_implicit_head", _first_element_head
    ),
    "head-gradient-ignored": lambda mp: mp.setattr(autograd, "backward", _head_ignored),
    "backward-of-unrecorded-silent": lambda mp: mp.setattr(
        autograd, "backward", _not_in_graph_silent
    ),
    "record-not-training-mode": lambda mp: mp.setattr(autograd, "record", _record_without_training),
    "train-and-predict-mode-swapped": _swap_train_and_predict,
    "pause-keeps-recording": lambda mp: mp.setattr(autograd, "pause", _pause_keeps_recording),
    "inplace-in-recording-allowed": lambda mp: mp.setattr(
        autograd, "check_inplace_write", lambda tensor_: None
    ),
    "inplace-refused-outside-recording": lambda mp: mp.setattr(
        autograd, "check_inplace_write", _inplace_refused_always
    ),
    # ops
    "relu-backward-passes-all": lambda mp: mp.setattr(ops, "_relu_grad_mask", np.ones_like),
    "relu-grad-at-zero-passes": lambda mp: mp.setattr(
        ops, "_relu_grad_mask", _relu_grad_at_zero_passes
    ),
    "broadcast-grad-takes-one-row": lambda mp: mp.setattr(
        ops, "_unbroadcast", _unbroadcast_first_row
    ),
    "broadcast-grad-keeps-size-1-axis-unsummed": lambda mp: mp.setattr(
        ops, "_unbroadcast", _unbroadcast_leading_axes_only
    ),
    "mul-grads-swapped": lambda mp: mp.setattr(ops, "mul", _mul_grads_swapped),
    "sub-grad-sign-lost": lambda mp: mp.setattr(ops, "sub", _sub_grad_sign),
    "div-grad-ignores-divisor": lambda mp: mp.setattr(ops, "div", _div_grad_ignores_divisor),
    "dense-weight-grad-transposed": lambda mp: mp.setattr(
        ops, "transpose", _transpose_grad_not_transposed
    ),
    "sum-grad-ignores-head": lambda mp: mp.setattr(ops, "sum", _sum_grad_ignores_head),
    "norm-without-sqrt": lambda mp: mp.setattr(ops, "norm", _norm_without_sqrt),
    "norm-grad-not-normalized": lambda mp: mp.setattr(ops, "norm", _norm_grad_not_normalized),
    "dropout-not-scaled": lambda mp: mp.setattr(ops, "_dropout_scale", lambda rate: 1.0),
    "dropout-active-in-prediction": lambda mp: mp.setattr(ops, "_dropout_active", lambda: True),
    "dropout-mask-reused": lambda mp: mp.setattr(ops, "dropout", _mask_reused()),
    "dropout-backward-unmasked": lambda mp: mp.setattr(ops, "dropout", _dropout_backward_unmasked),
    "dropout-keeps-with-probability-rate": lambda mp: mp.setattr(
        ops, "dropout", _dropout_with(_keep_with_probability_rate)
    ),
    # tensor
    "copyto-shares-memory": lambda mp: mp.setattr(tensor.Tensor, "copyto", _shared_copyto),
    "copyto-keeps-device": lambda mp: mp.setattr(tensor.Tensor, "copyto", _copyto_keeps_device),
    "copyto-casts-to-float32": lambda mp: mp.setattr(
        tensor.Tensor, "copyto", _copyto_casts_float32
    ),
    "move-always-copies": lambda mp: mp.setattr(
        tensor.Tensor, "as_in_context", _move_always_copies
    ),
    "move-keeps-device": lambda mp: mp.setattr(tensor.Tensor, "as_in_context", _move_keeps_device),
    "asnumpy-shares-memory": lambda mp: mp.setattr(
        tensor.Tensor, "asnumpy", lambda self: self._data
    ),
    "detach-keeps-graph": lambda mp: mp.setattr(tensor.Tensor, "detach", lambda self: self),
    "grad-buffer-starts-at-ones": lambda mp: mp.setattr(
        tensor.Tensor, "attach_grad", _attach_grad_ones
    ),
    "grad-accessor-returns-a-copy": lambda mp: mp.setattr(
        tensor.Tensor, "grad", property(_grad_of_a_copy)
    ),
    # parameter
    "force-reinit-ignored": _force_reinit_ignored,
    "force-reinit-implied": _force_reinit_implied,
    "no-warning-on-second-initialize": lambda mp: mp.setattr(
        parameter, "_warn_already_initialized", lambda param: None
    ),
    "constant-parameter-trainable": lambda mp: mp.setattr(parameter.Constant, "_grad_req", "write"),
    "custom-initializer-on-bias": _custom_init_on_bias,
    "own-initializer-ignored": _own_initializer_ignored,
    "zero-grad-noop": lambda mp: mp.setattr(parameter.Parameter, "zero_grad", lambda self: None),
    "zero-grad-zeroes-the-values": lambda mp: mp.setattr(
        parameter.Parameter, "zero_grad", _zero_grad_zeroes_data
    ),
    "move-ignored-by-parameters": lambda mp: mp.setattr(
        parameter.Parameter, "reset_device", lambda self, device_: None
    ),
    "move-loses-parameter-values": lambda mp: mp.setattr(
        parameter.Parameter, "reset_device", _reset_device_loses_values
    ),
    "move-skips-deferred-parameters": lambda mp: mp.setattr(
        parameter.Parameter, "reset_device", _reset_device_skips_deferred
    ),
    "set-data-rebinds-storage": lambda mp: mp.setattr(
        parameter.Parameter, "set_data", _set_data_rebinds
    ),
    "initialize-ignores-device": _initialize_on_default_device,
    # block
    "sequential-reverse-order": lambda mp: mp.setattr(ref.Sequential, "forward", _reversed_forward),
    "children-numbered-from-1": lambda mp: mp.setattr(
        block.Block, "register_child", _register_child_from_one
    ),
    "saved-paths-drop-nesting": lambda mp: mp.setattr(
        block.Block, "_collect_params_with_prefix", _collect_params_with_prefix_flat
    ),
    "collect-params-not-recursive": lambda mp: mp.setattr(
        block.Block, "collect_params", _collect_params_one_level
    ),
    "list-children-registered": lambda mp: mp.setattr(
        block.Block, "__setattr__", _list_children_registered
    ),
    "initialize-seed-ignored": lambda mp: mp.setattr(rng, "seed", lambda value: None),
    # layers
    "deferred-shape-inferred-in-out": lambda mp: mp.setattr(
        layers.Dense, "_inferred_weight_shape", lambda self, n: (n, self._units)
    ),
    "dense-bias-not-added": lambda mp: mp.setattr(
        layers.Dense, "forward", _dense_forward(bias=False)
    ),
    "dense-activation-ignored": lambda mp: mp.setattr(
        layers.Dense, "forward", _dense_forward(activation=False)
    ),
    "dense-use-bias-ignored": lambda mp: mp.setattr(
        layers.Dense, "__init__", _dense_use_bias_ignored
    ),
    "bias-takes-global-initializer": lambda mp: mp.setattr(
        layers.Dense, "default_bias_initializer", None
    ),
    "flatten-keeps-last-axis": lambda mp: mp.setattr(ops, "flatten", _flatten_keeps_last_axis),
    "dense-does-not-flatten": lambda mp: mp.setattr(
        layers.Dense, "__init__", _dense_does_not_flatten
    ),
    # init
    "default-init-bound-0.7": lambda mp: mp.setattr(init, "DEFAULT_UNIFORM_SCALE", 0.7),
    "normal-ignores-sigma": lambda mp: mp.setattr(
        init.Normal, "_init_weight", _normal_without_sigma
    ),
    "normal-ignores-mean": lambda mp: mp.setattr(init.Normal, "_init_weight", _normal_without_mean),
    "constant-ignores-value": lambda mp: mp.setattr(
        init.Constant, "_init_weight", _constant_ignores_value
    ),
    "xavier-fan-in-only": lambda mp: mp.setattr(init.Xavier, "_init_weight", _xavier_fan_in_only),
    "zeros-initializer-is-ones": lambda mp: mp.setitem(init._BY_NAME, "zeros", init.One),
    "custom-init-forgets-abs": _notes_edit("MyInit", "data *= abs(data) >= 5", "data *= data >= 5"),
    # naming, rng
    "name-counter-not-advanced": lambda mp: mp.setattr(naming, "next_prefix", _prefix_not_advanced),
    "generator-restarts-each-call": lambda mp: mp.setattr(rng, "generator", _fresh_generator),
    "random-uniform-ignores-bounds": lambda mp: mp.setattr(rng, "uniform", _uniform_ignores_bounds),
    "select-ignores-pattern": lambda mp: mp.setattr(
        parameter.ParameterDict, "select", lambda self, pattern: self
    ),
    # serialization
    "save-drops-a-parameter": lambda mp: mp.setattr(serialization, "_params_to_arrays", _drop_last),
    "save-writes-shared-parameter-once": lambda mp: mp.setattr(
        serialization, "_params_to_arrays", _params_to_arrays_deduplicated
    ),
    "load-by-position": lambda mp: mp.setattr(serialization, "_match_loaded", _by_position),
    "load-ignores-missing-names": lambda mp: mp.setattr(
        serialization, "_match_loaded", _missing_ignored
    ),
    "load-ignores-extra-names": lambda mp: mp.setattr(
        serialization, "_match_loaded", _extra_ignored
    ),
    "load-casts-to-float32": lambda mp: (
        mp.setattr(serialization, "load", _load_casts_float32),
        mp.setattr(ref, "load", _load_casts_float32),
    ),
    "load-list-in-key-order": lambda mp: mp.setattr(serialization, "_read_npz", _read_npz_sorted),
    "load-dict-sorted-names-by-position": lambda mp: mp.setattr(
        serialization, "_read_npz", _read_npz_dict_by_position
    ),
    "load-params-device-ignored": lambda mp: mp.setattr(
        serialization, "load_parameters", _load_params_device_ignored
    ),
    "save-skips-constants": lambda mp: mp.setattr(
        serialization, "_params_to_arrays", _params_to_arrays_without_constants
    ),
    # device
    "device-mismatch-not-raised": lambda mp: mp.setattr(
        device, "check_same_device", lambda op, devices: None
    ),
    "try-gpu-without-gpu": lambda mp: mp.setattr(device, "num_gpus", lambda: 1),
    "default-device-is-second": lambda mp: mp.setattr(device, "default_device", device.vdev),
    # errors (a wrong exception class raised)
    "freed-graph-reported-as-not-in-graph": lambda mp: mp.setattr(
        autograd, "GraphFreedError", errors.NotInGraphError
    ),
    "shape-mismatch-on-load-reported-as-name-mismatch": lambda mp: mp.setattr(
        serialization, "LoadShapeMismatchError", errors.LoadMismatchError
    ),
    "missing-super-init-plain-attribute-error": lambda mp: mp.setattr(
        block, "MissingSuperInitError", AttributeError
    ),
    "deferred-error-not-a-not-initialized-error": _deferred_error_not_a_not_initialized,
    # the notes' code as the reference's programs write it
    "mlp-hidden-without-relu": _notes_edit(
        "MLP", 'nn.Dense(256, activation="relu", in_units=in_units)', "nn.Dense(256, in_units=in_units)"
    ),
    "fancy-mlp-second-layer-not-reused": _notes_edit(
        "FancyMLP", "        x = self.dense(x)  # the same layer again",
        "        if not hasattr(self, 'dense2'):\n"
        "            self.dense2 = nn.Dense(20, activation='relu', in_units=20)\n"
        "            self.dense2.initialize()\n"
        "        x = self.dense2(x)  # a second layer instead of the same one again",
    ),
    "my-dense-without-relu": _notes_edit("MyDense", "return nd.relu(nd.dot(x, weight) + bias)",
                                         "return nd.dot(x, weight) + bias"),
    "my-dense-always-detached": _notes_edit("MyDense", "if self.read_via_data:", "if True:"),
    "centered-mean-per-column": _notes_edit("CenteredLayer", "return x - x.mean()", "return x - x.mean(axis=0)"),
    "my-sequential-last-first": _notes_edit(
        "MySequential", "for block in self._children.values():",
        "for block in reversed(list(self._children.values())):"
    ),
    # how the reference's programs are written (its idiom)
    "reuse-builds-a-fresh-layer": _on_idiom("_dense", _dense_without_sharing),
    "bias-initializer-form-ignored": _on_idiom("_dense", _dense_bias_init_ignored),
    "uniform-form-default-bounds": _on_idiom("uniform", lambda self, args: "init.Uniform()",
                                             reference_idiom.ReferenceIdiom),
    # the reference adapter's update steps
    "sgd-step-sign-flipped": _on_idiom("sgd_step", _sgd_sign_flipped),
    "sgd-step-ignores-lr": _on_idiom("sgd_step", _sgd_lr_ignored),
    "mean-loss-treated-as-sum": _on_idiom("backward", _mean_loss_as_sum),
    # second round: bug classes the first list did not plant
    "leaf-grad-written-where-nonzero-only": lambda mp: mp.setattr(
        autograd, "_write_leaf_grad", _sparse_leaf_write
    ),
    "implicit-head-is-mean": lambda mp: mp.setattr(autograd, "_implicit_head", _implicit_head_mean),
    "record-ignores-train-mode-false": lambda mp: mp.setattr(
        autograd, "record", lambda train_mode=True: autograd._scope(True, True)
    ),
    "relu-grad-passes-negatives": lambda mp: mp.setattr(
        ops, "_relu_grad_mask", _relu_grad_nonzero_passes
    ),
    "relu-capped-at-one": lambda mp: mp.setattr(ops, "relu", _relu_capped_at_one),
    "dot-grad-stops-at-input": lambda mp: mp.setattr(ops, "dot", _dot_no_input_grad),
    "mean-divides-by-last-axis": lambda mp: mp.setattr(ops, "mean", _mean_over_last_axis_count),
    "dropout-backward-mask-unscaled": lambda mp: mp.setattr(
        ops, "dropout", _dropout_backward_unscaled
    ),
    "dropout-scale-by-rate": lambda mp: mp.setattr(ops, "_dropout_scale", lambda rate: 1.0 / rate),
    "setitem-copy-on-write": lambda mp: mp.setattr(
        tensor.Tensor, "__setitem__", _setitem_copy_on_write
    ),
    "asnumpy-gives-float64": lambda mp: mp.setattr(tensor.Tensor, "asnumpy", _asnumpy_float64),
    "copyto-same-device-returns-self": lambda mp: mp.setattr(
        tensor.Tensor, "copyto", _copyto_same_device_is_noop
    ),
    "move-to-other-device-shares-memory": lambda mp: mp.setattr(
        tensor.Tensor, "as_in_context", _move_shares_memory
    ),
    "deferred-init-uses-default-initializer": lambda mp: mp.setattr(
        parameter.Parameter, "_finish_deferred_init", _deferred_uses_default_init
    ),
    "deferred-init-forgets-the-seed": lambda mp: mp.setattr(
        parameter.Parameter, "_finish_deferred_init", _deferred_uses_global_rng
    ),
    "move-drops-the-gradient": lambda mp: mp.setattr(
        parameter.Parameter, "reset_device", _reset_device_drops_grad
    ),
    "shared-params-lookup-ignored": lambda mp: mp.setattr(
        parameter.ParameterDict, "_lookup", _lookup_ignores_shared
    ),
    "zero-grad-skips-vectors": lambda mp: mp.setattr(
        parameter.Parameter, "zero_grad", _zero_grad_matrices_only
    ),
    "select-matches-anywhere": lambda mp: mp.setattr(
        parameter.ParameterDict, "select", _select_search
    ),
    "sequential-add-registers-first-only": lambda mp: mp.setattr(
        block.Sequential, "add", _add_registers_first_only
    ),
    "sequential-skips-last-child": lambda mp: mp.setattr(
        block.Sequential, "forward", _sequential_skips_last
    ),
    "block-initialize-drops-force-reinit": lambda mp: mp.setattr(
        block.Block, "initialize", _block_initialize_drops_force_reinit
    ),
    "block-initialize-drops-device": lambda mp: mp.setattr(
        block.Block, "initialize", _block_initialize_drops_device
    ),
    "dense-relu-before-bias": lambda mp: mp.setattr(layers.Dense, "forward", _dense_relu_before_bias),
    "deferred-shape-from-batch-axis": lambda mp: mp.setattr(
        layers.Dense, "forward", _dense_infers_from_batch_axis
    ),
    "dropout-layer-rate-as-keep-probability": lambda mp: mp.setattr(
        layers.Dropout, "forward", _dropout_layer_rate_as_keep
    ),
    "uniform-default-half-open": lambda mp: mp.setattr(init.Uniform, "__init__", _uniform_half_open),
    "xavier-sum-of-fans": lambda mp: mp.setattr(init.Xavier, "_init_weight", _xavier_sum_of_fans),
    "xavier-draws-normal": lambda mp: mp.setattr(init.Xavier, "_init_weight", _xavier_normal),
    "msra-fan-out": lambda mp: mp.setattr(init.MSRAPrelu, "_init_weight", _msra_fan_out),
    "msra-slope-ignored": lambda mp: mp.setattr(init.MSRAPrelu, "_init_weight", _msra_without_slope),
    "mixed-last-match-wins": lambda mp: mp.setattr(init.Mixed, "__call__", _mixed_last_match),
    "orthogonal-ignores-scale": lambda mp: mp.setattr(
        init.Orthogonal, "_init_weight", _orthogonal_ignores_scale
    ),
    "load-init-missing-names-zeroed": lambda mp: mp.setattr(
        init.Load, "__call__", _load_init_missing_zero
    ),
    "name-counter-starts-at-1": lambda mp: mp.setattr(naming, "next_prefix", _prefix_from_one),
    "name-counter-shared-by-classes": lambda mp: mp.setattr(
        naming, "next_prefix", _prefix_one_counter
    ),
    "save-params-transposed": lambda mp: mp.setattr(
        serialization, "_params_to_arrays", _save_transposed
    ),
    "load-skips-mis-shaped-silently": lambda mp: mp.setattr(
        serialization, "_assign_loaded", _assign_ignores_shape
    ),
    "load-dict-keys-sorted": lambda mp: (
        mp.setattr(serialization, "load", _load_dict_sorted),
        mp.setattr(ref, "load", _load_dict_sorted),
    ),
    "load-single-tensor-as-list": lambda mp: (
        mp.setattr(serialization, "load", _load_single_as_list),
        mp.setattr(ref, "load", _load_single_as_list),
    ),
    "device-mismatch-ignored-for-second-device": lambda mp: mp.setattr(
        device.Device, "__eq__", lambda self, other: isinstance(other, device.Device)
    ),
    "mlp-output-with-relu": _notes_edit(
        "MLP", "nn.Dense(10, in_units=256 if in_units else 0)",
        'nn.Dense(10, activation="relu", in_units=256 if in_units else 0)'
    ),
    "fancy-mlp-constant-unused": _notes_edit(
        "FancyMLP", "x = nd.relu(nd.dot(x, self.rand_weight.data()) + 1)", "x = nd.relu(x + 1)  # the constant is not used"
    ),
    "fancy-mlp-without-x10-branch": _notes_edit("FancyMLP", "            x = x * 10", "            x = x  # no x10"),
    "fancy-mlp-halves-once": _notes_edit(
        "FancyMLP", "while x.norm().asscalar() > 1:", "if x.norm().asscalar() > 1:  # halved once"
    ),
    "my-sequential-keyed-by-class": _notes_edit(
        "MySequential", "self._children[str(len(self._children))] = block",
        "self._children[type(block).__name__.lower()] = block  # a second Dense replaces the first"
    ),
    "nest-mlp-last-dense-linear": _notes_edit(
        "NestMLP", 'self.dense = nn.Dense(16, activation="relu")', "self.dense = nn.Dense(16)"
    ),
    "named-sequential-sorted-children": _on_idiom("_item", _named_children_sorted),
    "msra-form-default-slope": _on_idiom("initializer", _msra_default_slope, reference_idiom.ReferenceIdiom),
    "to-device-skips-constants": _on_idiom("to_device", _to_device_skips_constants),
    # third round: initializer arguments, >2-D fans, correlated masks, dtypes, 1-element
    # round trips, shared parameters after a load, gradients lost on load or move
    "normal-variance-as-std": lambda mp: mp.setattr(
        init.Normal, "_init_weight", _normal_variance_as_std
    ),
    "msra-variance-as-std": lambda mp: mp.setattr(
        init.MSRAPrelu, "_init_weight", _msra_variance_as_std
    ),
    "xavier-fans-ignore-receptive-field": lambda mp: mp.setattr(
        init.Xavier, "_init_weight", _xavier_fans_without_receptive_field
    ),
    "msra-fan-in-second-axis-only": lambda mp: mp.setattr(
        init.MSRAPrelu, "_init_weight", _msra_fan_in_second_axis
    ),
    "uniform-width-ignores-low": lambda mp: mp.setattr(
        init.Uniform, "_init_weight", _uniform_width_ignores_low
    ),
    "dropout-mask-shared-across-rows": lambda mp: mp.setattr(
        ops, "dropout", _dropout_with(_mask_shared_across_rows)
    ),
    "dropout-mask-shared-across-features": lambda mp: mp.setattr(
        ops, "dropout", _dropout_with(_mask_shared_across_features)
    ),
    "dropout-output-float64": lambda mp: mp.setattr(ops, "dropout", _dropout_with(_mask_float64)),
    "sum-returns-float64": lambda mp: mp.setattr(ops, "sum", _sum_in_float64),
    "int-arithmetic-gives-float32": lambda mp: mp.setattr(ops, "_binary", _binary_ints_to_float32),
    "broadcast-grad-averaged": lambda mp: mp.setattr(ops, "_unbroadcast", _unbroadcast_mean),
    "load-squeezes-1-element-tensors": lambda mp: (
        mp.setattr(serialization, "load", _load_squeezes_1_element),
        mp.setattr(ref, "load", _load_squeezes_1_element),
    ),
    "load-squeezes-1-element-parameters": lambda mp: mp.setattr(
        serialization, "_assign_loaded", _assign_squeezed
    ),
    "load-unties-shared-parameters": lambda mp: mp.setattr(
        serialization, "load_parameters", _load_unties_shared
    ),
    "loaded-parameters-lose-gradient": lambda mp: mp.setattr(
        parameter.Parameter, "_load_init", _load_init_without_grad
    ),
    "moved-parameters-lose-gradient": lambda mp: mp.setattr(
        parameter.Parameter, "reset_device", _reset_device_without_grad
    ),
    "saved-paths-parent-key-only": lambda mp: mp.setattr(
        block.Block, "_collect_params_with_prefix", _collect_params_parent_key_only
    ),
    "device-mismatch-reported-as-shape-mismatch": lambda mp: mp.setattr(
        device, "DeviceMismatchError", errors.ShapeMismatchError
    ),
    "not-in-graph-reported-as-graph-freed": lambda mp: mp.setattr(
        autograd, "NotInGraphError", errors.GraphFreedError
    ),
    # issue 21 item 7: the claims brought into scope
    "bilinear-row-by-true-division": lambda mp: mp.setattr(
        init.Bilinear, "_init_weight", _bilinear_row_by_true_division
    ),
    "lstm-bias-sets-the-first-gate": lambda mp: mp.setattr(
        init.LSTMBias, "_init_weight", _lstm_bias_first_quarter
    ),
    "initializer-gets-a-plain-name": lambda mp: mp.setattr(
        init.Initializer, "__call__", _initializer_gets_plain_name
    ),
    "tensor-without-truth-value": lambda mp: mp.delattr(tensor.Tensor, "__bool__"),
    "save-params-keeps-the-prefix": lambda mp: mp.setattr(
        serialization, "save_params", _save_params_keeps_prefix
    ),
    "trainer-wd-skips-biases": lambda mp: mp.setattr(
        reference_gluon.Trainer, "step", _trainer_step_skipping_bias_decay
    ),
    "trainer-wd-not-scaled-by-lr": lambda mp: mp.setattr(
        reference_gluon.Trainer, "step", _trainer_step_decay_not_scaled_by_lr
    ),
    "counter-nest-mlp-returns-its-output": _notes_edit(
        "NestMLP004", "            x = block(x)", "            x = block(x)\n        return x"
    ),
}

# The reference module each mutant breaks (the reference adapter counts as "adapter").
MODULE_OF = {
    **dict.fromkeys(
        [
            m
            for m in MUTANTS
            if m.startswith(
                (
                    "shared-grad",
                    "two-backwards",
                    "second-backward",
                    "retain-graph",
                    "free-only",
                    "backward-",
                    "head-gradient",
                    "record-",
                    "pause-",
                    "inplace-",
                    "train-and-",
                )
            )
        ],
        "autograd",
    ),
    **dict.fromkeys(
        [
            "relu-backward-passes-all",
            "broadcast-grad-takes-one-row",
            "mul-grads-swapped",
            "sub-grad-sign-lost",
            "div-grad-ignores-divisor",
            "dense-weight-grad-transposed",
            "sum-grad-ignores-head",
            "dropout-not-scaled",
            "dropout-active-in-prediction",
            "dropout-mask-reused",
            "dropout-backward-unmasked",
            "dropout-keeps-with-probability-rate",
            "flatten-keeps-last-axis",
            "relu-grad-at-zero-passes",
            "norm-without-sqrt",
            "norm-grad-not-normalized",
        ],
        "ops",
    ),
    **dict.fromkeys(
        [
            "copyto-shares-memory",
            "copyto-keeps-device",
            "move-always-copies",
            "move-keeps-device",
            "asnumpy-shares-memory",
            "detach-keeps-graph",
            "grad-buffer-starts-at-ones",
            "grad-accessor-returns-a-copy",
            "copyto-casts-to-float32",
        ],
        "tensor",
    ),
    **dict.fromkeys(
        [
            "force-reinit-ignored",
            "force-reinit-implied",
            "no-warning-on-second-initialize",
            "constant-parameter-trainable",
            "custom-initializer-on-bias",
            "own-initializer-ignored",
            "zero-grad-noop",
            "move-ignored-by-parameters",
            "move-loses-parameter-values",
            "move-skips-deferred-parameters",
            "set-data-rebinds-storage",
            "initialize-ignores-device",
        ],
        "parameter",
    ),
    **dict.fromkeys(
        [
            "sequential-reverse-order",
            "children-numbered-from-1",
            "saved-paths-drop-nesting",
            "collect-params-not-recursive",
            "list-children-registered",
        ],
        "block",
    ),
    **dict.fromkeys(
        [
            "deferred-shape-inferred-in-out",
            "dense-bias-not-added",
            "dense-activation-ignored",
            "dense-use-bias-ignored",
            "bias-takes-global-initializer",
            "dense-does-not-flatten",
        ],
        "layers",
    ),
    **dict.fromkeys(
        [
            "default-init-bound-0.7",
            "normal-ignores-sigma",
            "normal-ignores-mean",
            "constant-ignores-value",
            "xavier-fan-in-only",
            "zeros-initializer-is-ones",
        ],
        "init",
    ),
    "custom-init-forgets-abs": "notes_code",
    "initialize-seed-ignored": "rng",
    "name-counter-not-advanced": "naming",
    "generator-restarts-each-call": "rng",
    "random-uniform-ignores-bounds": "rng",
    "select-ignores-pattern": "parameter",
    **dict.fromkeys([m for m in MUTANTS if m.startswith(("save-", "load-"))], "serialization"),
    **dict.fromkeys(
        ["device-mismatch-not-raised", "try-gpu-without-gpu", "default-device-is-second"], "device"
    ),
    **dict.fromkeys(
        [
            "freed-graph-reported-as-not-in-graph",
            "shape-mismatch-on-load-reported-as-name-mismatch",
            "missing-super-init-plain-attribute-error",
            "deferred-error-not-a-not-initialized-error",
        ],
        "errors",
    ),
    **dict.fromkeys(
        [
            "mlp-hidden-without-relu",
            "fancy-mlp-second-layer-not-reused",
            "my-dense-without-relu",
            "my-dense-always-detached",
            "centered-mean-per-column",
            "my-sequential-last-first",
        ],
        "notes_code",
    ),
    **dict.fromkeys(
        [
            "reuse-builds-a-fresh-layer",
            "bias-initializer-form-ignored",
            "uniform-form-default-bounds",
        ],
        "idiom",
    ),
    **dict.fromkeys(["sgd-step-sign-flipped", "sgd-step-ignores-lr"], "idiom"),
    "topological-order-with-repeats": "autograd",
    "broadcast-grad-keeps-size-1-axis-unsummed": "ops",
    "zero-grad-zeroes-the-values": "parameter",
    "mean-loss-treated-as-sum": "idiom",
    **dict.fromkeys(
        [
            "leaf-grad-written-where-nonzero-only",
            "implicit-head-is-mean",
            "record-ignores-train-mode-false",
        ],
        "autograd",
    ),
    **dict.fromkeys(
        [
            "relu-grad-passes-negatives",
            "relu-capped-at-one",
            "dot-grad-stops-at-input",
            "mean-divides-by-last-axis",
            "dropout-backward-mask-unscaled",
            "dropout-scale-by-rate",
        ],
        "ops",
    ),
    **dict.fromkeys(
        [
            "setitem-copy-on-write",
            "asnumpy-gives-float64",
            "copyto-same-device-returns-self",
            "move-to-other-device-shares-memory",
        ],
        "tensor",
    ),
    **dict.fromkeys(
        [
            "deferred-init-uses-default-initializer",
            "deferred-init-forgets-the-seed",
            "move-drops-the-gradient",
            "shared-params-lookup-ignored",
            "zero-grad-skips-vectors",
            "select-matches-anywhere",
        ],
        "parameter",
    ),
    **dict.fromkeys(
        [
            "sequential-add-registers-first-only",
            "sequential-skips-last-child",
            "block-initialize-drops-force-reinit",
            "block-initialize-drops-device",
        ],
        "block",
    ),
    **dict.fromkeys(
        [
            "dense-relu-before-bias",
            "deferred-shape-from-batch-axis",
            "dropout-layer-rate-as-keep-probability",
        ],
        "layers",
    ),
    **dict.fromkeys(
        [
            "uniform-default-half-open",
            "xavier-sum-of-fans",
            "xavier-draws-normal",
            "msra-fan-out",
            "msra-slope-ignored",
            "mixed-last-match-wins",
            "orthogonal-ignores-scale",
            "load-init-missing-names-zeroed",
        ],
        "init",
    ),
    "name-counter-starts-at-1": "naming",
    "name-counter-shared-by-classes": "naming",
    "device-mismatch-ignored-for-second-device": "device",
    **dict.fromkeys(
        [
            "mlp-output-with-relu",
            "fancy-mlp-halves-once",
            "fancy-mlp-constant-unused",
            "fancy-mlp-without-x10-branch",
            "my-sequential-keyed-by-class",
            "nest-mlp-last-dense-linear",
        ],
        "notes_code",
    ),
    **dict.fromkeys(["named-sequential-sorted-children", "msra-form-default-slope"], "idiom"),
    "to-device-skips-constants": "idiom",
    **dict.fromkeys(
        [
            "normal-variance-as-std",
            "msra-variance-as-std",
            "xavier-fans-ignore-receptive-field",
            "msra-fan-in-second-axis-only",
            "uniform-width-ignores-low",
        ],
        "init",
    ),
    **dict.fromkeys(
        [
            "dropout-mask-shared-across-rows",
            "dropout-mask-shared-across-features",
            "dropout-output-float64",
            "sum-returns-float64",
            "int-arithmetic-gives-float32",
            "broadcast-grad-averaged",
        ],
        "ops",
    ),
    **dict.fromkeys(
        ["loaded-parameters-lose-gradient", "moved-parameters-lose-gradient"], "parameter"
    ),
    "saved-paths-parent-key-only": "block",
    **dict.fromkeys(
        ["device-mismatch-reported-as-shape-mismatch", "not-in-graph-reported-as-graph-freed"],
        "errors",
    ),
    **dict.fromkeys(
        ["bilinear-row-by-true-division", "lstm-bias-sets-the-first-gate", "initializer-gets-a-plain-name"], "init"
    ),
    "tensor-without-truth-value": "tensor",
    **dict.fromkeys(["trainer-wd-skips-biases", "trainer-wd-not-scaled-by-lr"], "gluon"),
    "counter-nest-mlp-returns-its-output": "notes_code",
}

# Where the reference's behaviour lives: the framework's modules, the notes' code its programs
# write out (notes_code), and how its programs are written (the idiom).
REFERENCE_MODULES = {
    "autograd",
    "block",
    "gluon",
    "device",
    "errors",
    "init",
    "layers",
    "naming",
    "notes_code",
    "idiom",
    "ops",
    "parameter",
    "rng",
    "serialization",
    "tensor",
}

# A mutant's run stops once this many cases killed it (two killers is the aim; three shows it).
KILLERS_SHOWN = 3

# Mutants no spec kills yet, with the reason. strict xfail: once a spec kills one, its
# test XPASSes and fails, so the entry gets removed (a stale entry never hides).
NOT_YET_KILLED: dict[str, str] = {}


def _load_cases():
    from conformance.spec.loader import discover, load_specs

    if not [f for f in discover([SPECS]) if f.endswith((".yaml", ".yml"))]:
        pytest.skip(f"no spec files under {SPECS} yet")
    return load_specs([SPECS])


def _reference():
    from conformance.adapters import get_adapter

    adapter = get_adapter("reference")
    adapter.load()
    return adapter


def _run(adapter, cases):
    from conformance.run import run_inprocess

    return run_inprocess(adapter, cases)


# Worker state, inherited through fork: (adapter, cases the unmutated reference passes).
_WORK: dict = {}


def _kill(name: str) -> tuple[str, list[str], str | None, float]:
    """Apply mutant `name`, run the passing cases, undo;
    (name, killing case ids, problem, CPU seconds)."""
    cpu = time.process_time()
    monkeypatch = pytest.MonkeyPatch()
    # Each case gets a scratch folder; on a RAM disk that is about half the run's time saved.
    monkeypatch.setattr(tempfile, "tempdir", _WORK.get("scratch") or tempfile.gettempdir())
    try:
        MUTANTS[name](monkeypatch)
        from conformance.run import run_case

        adapter, column, enough = _WORK["adapter"], _WORK["column"], _WORK["enough"]
        killers = []
        for case in _WORK["cases"]:
            if run_case(adapter, case, column)["status"] != "pass":
                killers.append(case.id)
                if enough and len(killers) >= enough:
                    break  # enough killers to show; the rest of the suite is not run
        return name, killers, None, time.process_time() - cpu
    except Exception as exc:  # noqa: BLE001 - a broken mutant is reported, not taken as a kill
        return name, [], f"{type(exc).__name__}: {exc}", time.process_time() - cpu
    finally:
        monkeypatch.undo()


@pytest.fixture(scope="module")
def adapter():
    return _reference()


@pytest.fixture(scope="module")
def cases():
    return _load_cases()


@pytest.fixture(scope="module")
def baseline(adapter, cases):
    """Ids of the cases the unmutated reference passes: only those can kill a mutant."""
    return {r["id"]: r for r in _run(adapter, cases)}


@pytest.fixture(scope="module")
def kills(request, adapter, cases, baseline):
    """Every mutant's killers, computed once, in parallel worker processes."""
    _WORK["adapter"] = adapter
    _WORK["cases"] = [c for c in cases if baseline[c.id]["status"] == "pass"]
    from conformance.run import column_of

    _WORK["column"] = column_of(adapter)
    # Each mutant stops at KILLERS_SHOWN killers (CONFORMANCE_ALL_KILLERS=1: run the whole suite
    # for every mutant and list all of its killers).
    _WORK["enough"] = 0 if os.environ.get("CONFORMANCE_ALL_KILLERS") else KILLERS_SHOWN
    shm = "/dev/shm"
    _WORK["scratch"] = tempfile.mkdtemp(prefix="mutants-", dir=shm) if os.path.isdir(shm) else None
    started = time.perf_counter()
    workers = max(1, min(os.cpu_count() or 1, 8))
    if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
        # one fresh fork per mutant: a mutant that leaves state behind cannot touch the next
        with multiprocessing.get_context("fork").Pool(workers, maxtasksperchild=1) as pool:
            found = pool.map(_kill, list(MUTANTS), chunksize=1)
    else:
        found = [_kill(name) for name in MUTANTS]
    elapsed = time.perf_counter() - started
    if _WORK["scratch"]:
        shutil.rmtree(_WORK["scratch"], ignore_errors=True)
    killed = {name: ids for name, ids, _, _ in found}
    problems = {name: problem for name, _, problem, _ in found if problem}
    cpu = sum(seconds for *_, seconds in found)
    yield killed, problems
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    dead = sum(1 for ids in killed.values() if ids)
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(
            f"mutation score: {dead}/{len(killed)} mutants killed "
            f"({len(_WORK['cases'])} cases; {workers} workers: {elapsed:.1f} s wall, "
            f"{cpu:.1f} s CPU in the workers)"
        )
        for name, ids in sorted(killed.items()):
            shown = ", ".join(ids[:4]) + (f" (+{len(ids) - 4})" if len(ids) > 4 else "")
            count = f">={len(ids)}" if _WORK["enough"] and len(ids) >= _WORK["enough"] else len(ids)
            verdict = f"killed by {count}: {shown}" if ids else "SURVIVED"
            reporter.write_line(f"  [{MODULE_OF.get(name, '?')}] {name}: {verdict}")
        single = sorted(name for name, ids in killed.items() if len(ids) == 1)
        if single:
            reporter.write_line(f"killed by one case only: {', '.join(single)}")


# The cases of other frameworks' own APIs the Gluon-style reference has no counterpart for.
REFERENCE_UNSUPPORTED = {
    "notes-state-dict-keys", "notes-keras-kernel-layout-and-names", "notes-np-save-tf-tensor",
    "notes-np-save-ragged-list", "notes-np-save-equal-length-list", "notes-np-save-dict-allow-pickle",
}


def test_unmutated_reference_passes_every_case(baseline):
    bad = [
        f"{r['id']}: {r['status']}: {r['message'][:300]}"
        for r in baseline.values()
        if r["status"] != "pass" and not (r["status"] == "unsupported" and r["id"] in REFERENCE_UNSUPPORTED)
    ]
    assert not bad, "the reference must pass every spec case but those of other frameworks' APIs:\n" + "\n".join(bad)
    assert {r["id"] for r in baseline.values() if r["status"] == "unsupported"} == REFERENCE_UNSUPPORTED


def test_mutants_cover_every_reference_module():
    assert set(MODULE_OF) == set(MUTANTS), "every mutant names the module it breaks"
    missing = REFERENCE_MODULES - set(MODULE_OF.values())
    assert not missing, f"no mutant breaks these reference modules: {sorted(missing)}"
    assert len(MUTANTS) >= 60


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(reason=NOT_YET_KILLED[name], strict=True))
        if name in NOT_YET_KILLED
        else name
        for name in MUTANTS
    ],
)
def test_mutant_is_killed(name, kills):
    killed, problems = kills
    assert name not in problems, f"mutant '{name}' could not be applied: {problems[name]}"
    assert killed[name], f"mutant '{name}' survived: every spec case still passes on it"
