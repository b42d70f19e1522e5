"""Expectations on one observed thing: a shape, values, a gradient, the parameter listing,
storage, a device, the custom initializer's calls.

Rule: each kind names the evidence key it needs and compares what was observed with the value
the spec states; its text says what was expected and what was observed.
"""

from __future__ import annotations

import re

import numpy as np

from conformance.spec import checks
from conformance.spec.checks import CheckResult, get
from conformance.spec.evidence import (
    DeviceOf,
    InitCalls,
    Key,
    ParamGrad,
    ParamPaths,
    ParamShape,
    SameStorage,
    TrainablePaths,
    Value,
    ValueGrad,
)
from conformance.spec.expectations.base import STEP, Expectation, regex_problem
from conformance.spec.vocabulary import NAME, PATH, SHAPE, obj

_TARGET = {"$ref": "#/$defs/target"}
_PAIR = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
_STORAGE = obj({"param": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
                "value": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2}},
               minProperties=1, maxProperties=1)


def _one_of(args: dict, names: tuple[str, ...]) -> list[tuple[str, str]]:
    if len([k for k in args if k in names]) != 1:
        return [("", f"name exactly one of {' or '.join(names)}")]
    return []


class Shape(Expectation):
    kind = "shape"
    schema = obj({"param": PATH, "value": NAME, "equals": {"oneOf": [{"const": "unknown"}, SHAPE]}}, ["equals"])

    def more_problems(self, case):
        return _one_of(self.args, ("param", "value"))

    def needs(self, case):
        return [ParamShape(self.args["param"])] if "param" in self.args else [Value(self.args["value"])]

    def judge(self, case, execution):
        if "param" in self.args:
            observed = get(execution, ParamShape(self.args["param"]))
            observed = "unknown" if observed is None else list(observed)
            label = f"param {self.args['param']}"
        else:
            value = get(execution, Value(self.args["value"]))
            # a step that gave None (a forward that returns nothing) made no array: its shape is unknown
            observed = "unknown" if value is None else list(np.asarray(value).shape)
            label = f"value {self.args['value']}"
        expected = self.args["equals"]
        return [CheckResult(observed == expected, f"shape of {label}: expected {expected}, observed {observed}")]


class Values(Expectation):
    kind = "values"
    schema = obj({"param": PATH, "grad": PATH, "value": NAME, "value_grad": NAME,
                  "snapshot": {"type": "array", "minItems": 2, "maxItems": 2, "prefixItems": [NAME, PATH],
                               "items": False},
                  "all": {"type": "number"}, "within": _PAIR, "mean": _PAIR, "std": _PAIR, "frac_zero": _PAIR,
                  "min_abs_nonzero": {"type": "number"},
                  "at": obj({"index": {"type": "array", "items": {"type": "integer"}}, "value": {"type": "number"}},
                            ["index", "value"]),
                  "equals": _TARGET, "not_equals": _TARGET,
                  "equals_plus": {"type": "array", "minItems": 2, "maxItems": 2,
                                  "prefixItems": [_TARGET, {"type": "number"}], "items": False},
                  "closed_form": obj({"fn": {"enum": list(checks.CLOSED_FORMS)}, "x": NAME, "head": NAME},
                                     ["fn", "x"]),
                  "dtype": {"type": "string"}, "frac_nan": _PAIR,
                  "orthogonal": {"type": "number", "exclusiveMinimum": 0}}, minProperties=2)

    def more_problems(self, case):
        if len([k for k in self.args if k in checks.TARGET_KEYS]) != 1:
            return [("", "name exactly one target: param, grad, value, value_grad or snapshot")]
        return []

    def needs(self, case):
        args = self.args
        keys = [checks.target_key(checks.target_only(args))]
        for other in ("equals", "not_equals"):
            if other in args:
                keys.append(checks.target_key(args[other]))
        if "equals_plus" in args:
            keys.append(checks.target_key(args["equals_plus"][0]))
        if "closed_form" in args:
            keys += [Value(args["closed_form"][k]) for k in ("x", "head") if k in args["closed_form"]]
        return keys

    def judge(self, case, execution):
        return checks.check_values(self.args, execution)


class Grad(Expectation):
    kind = "grad"
    schema = obj({"param": PATH, "value": NAME, "is": {"enum": ["absent", "zero", "present", "zero_or_absent"]}},
                 ["is"])

    def more_problems(self, case):
        return _one_of(self.args, ("param", "value"))

    def _key(self) -> Key:
        return ParamGrad(self.args["param"]) if "param" in self.args else ValueGrad(self.args["value"])

    def needs(self, case):
        return [self._key()]

    def judge(self, case, execution):
        key = self._key()
        state = checks.grad_state(get(execution, key))
        want = self.args["is"]
        ok = state == want or (want == "zero_or_absent" and state in ("zero", "absent"))
        return [CheckResult(ok, f"gradient of {str(key).partition(':')[2]}: expected {want}, observed {state}")]


class SameStorage_(Expectation):
    kind = "same_storage"
    schema = _STORAGE
    want_same = True

    def _key(self) -> SameStorage:
        what, (a, b) = next(iter(self.args.items()))
        return SameStorage(what, a, b)

    def needs(self, case):
        return [self._key()]

    def judge(self, case, execution):
        key = self._key()
        same = get(execution, key)
        want = self.want_same
        return [CheckResult(same == want, f"{key.what}s {key.a} and {key.b}: expected "
                                          f"{'one storage' if want else 'separate storage'}, "
                                          f"observed {'one storage' if same else 'separate storage'}")]


class DistinctStorage(SameStorage_):
    kind = "distinct_storage"
    want_same = False


class ParamNames(Expectation):
    """The parameters the framework lists (with `trainable: true`: those it would train), by
    the kit's canonical names; duplicates and constants count as the framework lists them."""

    kind = "param_names"
    schema = obj({"equals": {"type": "array", "items": {"type": "string"}}, "count": {"type": "integer", "minimum": 0},
                  "pattern": {"type": "string"}, "trainable": {"type": "boolean"}})

    def more_problems(self, case):
        if "pattern" in self.args and (problem := regex_problem(self.args["pattern"])):
            return [("pattern", problem)]
        return []

    def _key(self):
        return TrainablePaths() if self.args.get("trainable") else ParamPaths()

    def needs(self, case):
        return [self._key()]

    def judge(self, case, execution):
        names = get(execution, self._key())
        if "pattern" in self.args:
            names = [n for n in names if re.fullmatch(self.args["pattern"], n)]
        results = []
        if "equals" in self.args:
            results.append(CheckResult(sorted(names) == sorted(self.args["equals"]),
                                       f"{'trainable ' if self.args.get('trainable') else ''}parameter names: expected {sorted(self.args['equals'])}, observed {sorted(names)}"))
        if "count" in self.args:
            results.append(CheckResult(len(names) == self.args["count"],
                                       f"parameter count: expected {self.args['count']}, observed {len(names)} {names}"))
        return results or [CheckResult(True, "parameter names observed")]


class Device(Expectation):
    kind = "device"
    schema = obj({"param": PATH, "value": NAME, "is": {"enum": ["default", "second", "gpu"]}}, ["is"])

    def more_problems(self, case):
        return _one_of(self.args, ("param", "value"))

    def _key(self) -> DeviceOf:
        what = "param" if "param" in self.args else "value"
        return DeviceOf(what, self.args[what])

    def needs(self, case):
        return [self._key()]

    def judge(self, case, execution):
        key = self._key()
        device = get(execution, key)
        return [CheckResult(device.get("canonical") == self.args["is"],
                            f"device of {key.what} {key.name}: expected {self.args['is']}, observed {device}")]


class InitCalls_(Expectation):
    kind = "init_calls"
    schema = obj({"step": STEP, "params": {"type": "array", "items": {"type": "string"}},
                  "count": {"type": "integer", "minimum": 0}})

    def needs(self, case):
        return [InitCalls()]

    def judge(self, case, execution):
        calls = get(execution, InitCalls())
        if "step" in self.args:
            calls = [c for c in calls if c.get("step") == self.args["step"]]
        names = sorted(c["name"] for c in calls)
        at = f" during step {self.args['step']}" if "step" in self.args else ""
        results = []
        if "params" in self.args:
            results.append(CheckResult(names == sorted(self.args["params"]),
                                       f"custom initializer calls{at}: expected {sorted(self.args['params'])}, "
                                       f"observed {names}"))
        if "count" in self.args:
            results.append(CheckResult(len(calls) == self.args["count"],
                                       f"custom initializer calls{at}: expected {self.args['count']}, "
                                       f"observed {len(calls)} {names}"))
        return results or [CheckResult(True, "init calls observed")]
