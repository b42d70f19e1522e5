"""An independent NumPy evaluation of a spec model, from observed parameter values.

Rule: the check `output_matches_manual` compares a framework's output with this
evaluation, so a framework that runs children out of order or lays weights out wrongly
is caught. Dense weights are canonical (out, in); `my_dense` keeps (in_units, units).
"""

from __future__ import annotations

import numpy as np


class ManualUnavailable(Exception):
    """The model uses something this evaluator cannot compute (e.g. a hidden constant)."""


def evaluate(model: dict, params: dict, x: np.ndarray) -> np.ndarray:
    marked: dict[str, tuple[dict, str]] = {}
    return _run(model, "", params, np.asarray(x, dtype=np.float64), marked)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _dense(prefix, params, x, activation, use_bias=True):
    w = np.asarray(params[_join(prefix, "weight")], dtype=np.float64)
    x = x.reshape(x.shape[0], -1)
    y = x @ w.T
    if use_bias:
        y = y + np.asarray(params[_join(prefix, "bias")], dtype=np.float64)
    return np.maximum(y, 0) if activation == "relu" else y


def _run(node: dict, prefix: str, params: dict, x, marked):
    if "as" in node:
        marked[node["as"]] = (node, prefix)
    kind = next(k for k in node if k != "as")
    args = node[kind]
    if kind == "reuse":
        target, target_prefix = marked[args]
        body = {k: v for k, v in target.items() if k != "as"}
        return _run(body, target_prefix, params, x, marked)
    if kind == "dense":
        if args.get("params_from"):  # the marked layer's parameters, this layer's activation
            prefix = marked[args["params_from"]][1]
        return _dense(prefix, params, x, args.get("activation"), args.get("use_bias", True))
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
            x = _run(child, _join(prefix, str(index)), params, x, marked)
        return x
    if kind == "mlp":
        hidden = _dense(_join(prefix, "hidden"), params, x, "relu")
        return _dense(_join(prefix, "output"), params, hidden, None)
    if kind == "nest_mlp":
        x = _dense(_join(prefix, "net.0"), params, x, "relu")
        x = _dense(_join(prefix, "net.1"), params, x, "relu")
        return _dense(_join(prefix, "dense"), params, x, "relu")
    if kind == "centered":
        return x - x.mean()
    if kind == "my_dense":
        w = np.asarray(params[_join(prefix, "weight")], dtype=np.float64)
        b = np.asarray(params[_join(prefix, "bias")], dtype=np.float64)
        return np.maximum(x @ w + b, 0)
    raise ManualUnavailable(f"no manual evaluation for model kind '{kind}'")
