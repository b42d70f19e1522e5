"""An independent NumPy evaluation of a spec model, from observed parameter values.

Rule: the check `output_matches_manual` compares a framework's output with this
evaluation, so a framework that runs children out of order or lays weights out wrongly
is caught. Dense weights are canonical (out, in); `my_dense` keeps (in_units, units).
"""

from __future__ import annotations

import numpy as np


class ManualUnavailable(Exception):
    """The model uses something this evaluator cannot compute (e.g. a hidden constant)."""


def evaluate(model: dict, params: dict, x: np.ndarray, linear=(), trace: list | None = None) -> np.ndarray:
    """The model's output on `x`; the Dense layers at the canonical paths in `linear` apply no
    activation (a note that writes that layer without its relu). `trace` collects what the
    control flow of a FancyMLP did."""
    marked: dict[str, tuple[dict, str]] = {}
    return _run(model, "", params, np.asarray(x, dtype=np.float64), marked, frozenset(linear), trace)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _dense(prefix, params, x, activation, use_bias=True, linear=frozenset()):
    activation = None if prefix in linear else activation
    w = np.asarray(params[_join(prefix, "weight")], dtype=np.float64)
    x = x.reshape(x.shape[0], -1)
    y = x @ w.T
    if use_bias:
        y = y + np.asarray(params[_join(prefix, "bias")], dtype=np.float64)
    return np.maximum(y, 0) if activation == "relu" else y


def _run(node: dict, prefix: str, params: dict, x, marked, linear=frozenset(), trace=None):
    if "as" in node:
        marked[node["as"]] = (node, prefix)
    kind = next(k for k in node if k != "as")
    args = node[kind]
    if kind == "reuse":
        target, target_prefix = marked[args]
        body = {k: v for k, v in target.items() if k != "as"}
        return _run(body, target_prefix, params, x, marked, linear, trace)
    if kind == "dense":
        if args.get("params_from"):  # the marked layer's parameters, this layer's activation
            prefix = marked[args["params_from"]][1]
        return _dense(prefix, params, x, args.get("activation"), args.get("use_bias", True), linear)
    if kind == "relu":
        return np.maximum(x, 0)
    if kind == "flatten":
        return x.reshape(x.shape[0], -1)
    if kind == "dropout":
        return x  # prediction mode: identity
    if kind == "named_sequential":
        args = list(args.values())  # children named by add_module; canonical paths number them
    if kind in ("sequential", "my_sequential", "my_sequential_by_object", "named_sequential"):
        for index, child in enumerate(args):
            x = _run(child, _join(prefix, str(index)), params, x, marked, linear, trace)
        return x
    if kind == "mlp":
        hidden = _dense(_join(prefix, "hidden"), params, x, "relu", linear=linear)
        return _dense(_join(prefix, "output"), params, hidden, None)
    if kind == "nest_mlp":
        if (args or {}).get("variant", "000") != "000":
            raise ManualUnavailable("note 004's counter-example NestMLP returns nothing: there is no output to evaluate")
        x = _dense(_join(prefix, "net.0"), params, x, "relu", linear=linear)
        x = _dense(_join(prefix, "net.1"), params, x, "relu", linear=linear)
        return _dense(_join(prefix, "dense"), params, x, "relu", linear=linear)
    if kind == "centered":
        return x - x.mean()
    if kind == "my_dense":
        w = np.asarray(params[_join(prefix, "weight")], dtype=np.float64)
        b = np.asarray(params[_join(prefix, "bias")], dtype=np.float64)
        return x @ w + b if prefix in linear else np.maximum(x @ w + b, 0)  # note 003's myDense has no relu
    if kind == "fancy_mlp":
        return _fancy(args or {}, prefix, params, x, trace)
    raise ManualUnavailable(f"no manual evaluation for model kind '{kind}'")


def _fancy(args: dict, prefix: str, params: dict, x, trace) -> np.ndarray:
    """FancyMLP as each note's variant writes it: the constant used after the first layer, the
    layer used again, the halving loop and the x10 branch; `trace` is told what ran."""
    variant = args.get("variant", "000")
    layer = _join(prefix, "linear" if variant == "001" else "dense")
    constant = _join(prefix, "rand_weight")
    if constant not in params:
        raise ManualUnavailable(f"the constant {constant} was not observed")
    c = np.asarray(params[constant], dtype=np.float64)
    x = x.reshape(x.shape[0], -1)
    if variant == "003":  # note 003: the constant first, the layer once
        x = np.maximum(x @ c + 1, 0)
        x = _dense(layer, params, x, "relu")
    else:
        activation = None if variant == "001" else "relu"
        x = _dense(layer, params, x, activation)
        x = np.maximum(x @ c + 1, 0)
        x = _dense(layer, params, x, activation)
    size = (lambda a: np.abs(a).sum()) if variant == "001" else np.linalg.norm
    halvings = 0
    while size(x) > 1:
        x = x / 2
        halvings += 1
    times_ten = variant != "001" and bool(np.linalg.norm(x) < 0.8)
    if times_ten:
        x = x * 10
    if trace is not None:
        trace.append(f"FancyMLP {variant}: halved {halvings} time(s), x10 {'ran' if times_ten else 'did not run'}")
    return np.asarray(x.sum())


def _chain(node: dict, prefix: str, marked: dict, ops: list) -> None:
    """The model as a chain of ops; a dense op names the path of its use (where the untied
    copy keeps its own parameters) and the path its values come from (the shared layer)."""
    if "as" in node:
        marked[node["as"]] = (node, prefix)
    kind = next(k for k in node if k != "as")
    args = node[kind]
    if kind == "reuse":
        target, source = marked[args]
        body = {k: v for k, v in target.items() if k != "as"}
        inner: list = []
        _chain(body, source, {}, inner)
        ops += [("dense", prefix + op[1][len(source):], op[2], op[3], op[4]) if op[0] == "dense" else op
                for op in inner]
    elif kind == "dense":
        source = marked[args["params_from"]][1] if args.get("params_from") else prefix
        ops.append(("dense", prefix, source, args.get("activation"), args.get("use_bias", True)))
    elif kind in ("relu", "flatten", "dropout"):
        ops.append((kind,))
    elif kind in ("sequential", "my_sequential", "my_sequential_by_object", "named_sequential"):
        children = list(args.values()) if kind == "named_sequential" else args
        for index, child in enumerate(children):
            _chain(child, _join(prefix, str(index)), marked, ops)
    else:
        raise ManualUnavailable(f"no manual gradient for model kind '{kind}'")


def untied_grads(model: dict, params: dict, x, loss: str = "sum") -> dict:
    """The gradients every use of every dense layer gets in an untied copy of `model` whose
    layers all hold the observed values of the layer they copy, for the loss sum (or mean)
    of the output on input `x`: {use path + ".weight"/".bias": gradient}."""
    ops: list = []
    _chain(model, "", {}, ops)
    x = np.asarray(x, dtype=np.float64)
    saved = []
    for op in ops:
        if op[0] == "dense":
            _, use, source, activation, use_bias = op
            w = np.asarray(params[_join(source, "weight")], dtype=np.float64)
            inp = x.reshape(x.shape[0], -1)
            pre = inp @ w.T + (np.asarray(params[_join(source, "bias")], dtype=np.float64) if use_bias else 0)
            saved.append((op, inp, pre, w))
            x = np.maximum(pre, 0) if activation == "relu" else pre
        elif op[0] == "relu":
            saved.append((op, x, x, None))
            x = np.maximum(x, 0)
        elif op[0] == "flatten":
            saved.append((op, x, None, None))
            x = x.reshape(x.shape[0], -1)
        else:
            saved.append((op, None, None, None))  # dropout in prediction mode: the identity
    grad = np.ones_like(x) / (x.size if loss == "mean" else 1)
    grads: dict = {}
    for op, inp, pre, w in reversed(saved):
        if op[0] == "dense":
            _, use, _, activation, use_bias = op
            if activation == "relu":
                grad = grad * (pre > 0)
            grads[_join(use, "weight")] = grad.T @ inp
            if use_bias:
                grads[_join(use, "bias")] = grad.sum(axis=0)
            grad = grad @ w
        elif op[0] == "relu":
            grad = grad * (pre > 0)
        elif op[0] == "flatten":
            grad = grad.reshape(inp.shape)
    return grads
