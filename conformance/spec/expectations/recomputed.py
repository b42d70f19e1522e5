"""Expectations judged against what the kit recomputes with NumPy from the observed evidence:
the model's output, the gradients of an untied copy, a saved value read back.

Rule: the recomputation uses only what the program observed (parameters, inputs) and the
case's model; what cannot be recomputed is a failed check that says why.
"""

from __future__ import annotations

import numpy as np

from conformance.manual import ManualUnavailable, evaluate, untied_grads
from conformance.spec import checks
from conformance.spec.checks import CheckResult, fmt, get
from conformance.spec.evidence import AllParams, Input, ParamGrad, ParamValue, Value
from conformance.spec.expectations.base import STEP, Expectation
from conformance.spec.vocabulary import NAME, PATH, obj


def _forward_step(case, name: str, given) -> int | None:
    if given is not None:
        return given
    forwards = [i for i, (k, a) in enumerate(case.steps) if k == "forward" and a.get("as", "out") == name]
    return forwards[-1] if forwards else None


class OutputMatchesManual(Expectation):
    kind = "output_matches_manual"
    # `linear`: canonical paths of Dense layers that apply no activation in this outcome (the
    # NestMLP of the torch, JAX and Paddle tabs ends with a Dense without relu)
    # ("" names the model itself: a my_dense model without its relu)
    schema = obj({"value": NAME, "input_step": STEP,
                  "linear": {"type": "array", "items": {"anyOf": [PATH, {"const": ""}]}, "maxItems": 8}})
    step_keys = ("input_step",)

    def needs(self, case):
        constants = [ParamValue(_join_path(path, "rand_weight")) for path in _fancy_paths(case.model)]
        return [AllParams(), Value(self.args.get("value", "out")), *constants]

    def judge(self, case, execution):
        name = self.args.get("value", "out")
        output = np.asarray(get(execution, Value(name)), dtype=np.float64)
        params = dict(get(execution, AllParams()))
        for path in _fancy_paths(case.model):  # a FancyMLP's constant, which not every framework lists
            params.setdefault(_join_path(path, "rand_weight"), get(execution, ParamValue(_join_path(path, "rand_weight"))))
        step = _forward_step(case, name, self.args.get("input_step"))
        if step is None:
            return [CheckResult(False, f"output_matches_manual: no forward step produced '{name}'")]
        x = execution.evidence.get(Input(step))
        try:
            values = {k: np.asarray(v) for k, v in params.items()}
            trace: list[str] = []
            expected = evaluate(case.model, values, x, self.args.get("linear", ()), trace)
        except (ManualUnavailable, KeyError) as exc:
            return [CheckResult(False, f"output_matches_manual: cannot evaluate by hand: {exc}")]
        except (ValueError, TypeError, IndexError) as exc:  # parameters of the wrong shape for this model
            return [CheckResult(False, f"output_matches_manual: cannot evaluate by hand with the observed "
                                       f"parameters: {type(exc).__name__}: {exc}")]
        if output.size == expected.size == 1:
            output = output.reshape(expected.shape)  # a scalar's shape, () or (1,), is the shape check's to judge
        close, detail = checks.closeness(output, expected.astype(np.float64))
        if not close and output.shape == expected.shape:
            close = bool(np.allclose(output, expected, rtol=2e-5, atol=1e-5))  # float32 accumulation order
        ran = f" ({'; '.join(trace)})" if trace else ""
        return [CheckResult(close, f"output {name} vs NumPy evaluation of the model with the observed parameters"
                                   f"{ran}: expected {fmt(expected)}, observed {fmt(output)} ({detail})")]


def _join_path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _fancy_paths(model) -> list[str]:
    """Canonical paths of the FancyMLPs in a model."""
    from conformance.spec.vocabulary import model_children, model_kind

    found: list[str] = []

    def walk(node, path):
        if not isinstance(node, dict):
            return
        if model_kind(node) == "fancy_mlp":
            found.append(path)
        for key, child in model_children(node):
            walk(child, _join_path(path, key))

    if model is not None:
        walk(model, "")
    return found


def use_paths(args: dict) -> list[str]:
    """The parameter paths of the uses in `grad_equals_untied_sum`: a use may name the
    parameter ("2.weight") or the layer using it ("2"), which gets the parameter's leaf."""
    leaf = args["param"].rsplit(".", 1)[-1]
    return [use if use.rsplit(".", 1)[-1] == leaf and "." in use else f"{use}.{leaf}" for use in args["uses"]]


class GradEqualsUntiedSum(Expectation):
    """The shared parameter's gradient equals the sum of the gradients its uses get in an
    untied copy of the model holding the same values, with the same input and loss. The
    untied copy's gradients are computed here, with NumPy, from the observed parameters."""

    kind = "grad_equals_untied_sum"
    schema = obj({"param": PATH, "uses": {"type": "array", "items": {"type": "string"}, "minItems": 2,
                                          "maxItems": 2}}, ["param", "uses"])

    def more_problems(self, case):
        forwards = [i for i, (k, _) in enumerate(case.steps) if k == "forward"]
        later = [k for k, _ in case.steps[forwards[-1]:] if k in ("sgd_step", "write_param", "update", "initialize",
                                                                  "load_params")] if forwards else []
        if not forwards or later:
            return [("", "the untied gradients are computed from the parameters observed at the end: the case needs "
                         "a forward step and no step after it that changes the parameters")]
        return []

    def needs(self, case):
        return [ParamGrad(self.args["param"]), AllParams()]

    def judge(self, case, execution):
        tied = get(execution, ParamGrad(self.args["param"]))
        if tied is None:
            return [CheckResult(False, f"shared gradient of {self.args['param']}: absent (None)")]
        params = get(execution, AllParams())
        step = _forward_step(case, "out", None)
        backward = next((a for k, a in case.steps if k == "backward"), {})
        try:
            grads = untied_grads(case.model, {k: np.asarray(v) for k, v in params.items()},
                                 execution.evidence.get(Input(step)), backward.get("loss", "sum"))
            uses = [grads[use] for use in use_paths(self.args)]
        except (ManualUnavailable, KeyError, ValueError, TypeError, IndexError) as exc:
            return [CheckResult(False, f"untied copy's gradients unavailable: {type(exc).__name__}: {exc}")]
        expected = uses[0] + uses[1]
        close, detail = checks.closeness(np.asarray(tied), expected)
        return [CheckResult(close, f"shared gradient of {self.args['param']}: expected the sum of the untied copy's "
                                   f"gradients {fmt(expected)}, observed {fmt(np.asarray(tied))} ({detail})")]


class Roundtrip(Expectation):
    kind = "roundtrip"
    schema = obj({"loaded": NAME, "saved_step": STEP}, ["loaded", "saved_step"])
    step_keys = ("saved_step",)

    def needs(self, case):
        return [Value(self.args["loaded"])]

    def judge(self, case, execution):
        saved = execution.evidence.get(Input(self.args["saved_step"]))
        loaded = get(execution, Value(self.args["loaded"]))
        ok, detail = checks.same_structure(saved, loaded)
        return [CheckResult(ok, f"round trip of step {self.args['saved_step']} into {self.args['loaded']}: "
                                f"expected what was saved, observed {detail}")]
