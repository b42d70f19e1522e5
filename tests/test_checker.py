"""The shared checker: every expectation kind passes on matching evidence and fails, saying
expected against observed, on evidence that does not match; `judge` turns checks, errors,
interruptions and outcomes into the right status and names the outcome that held.

Executions are built by hand here: no adapter runs.
"""

from __future__ import annotations

import numpy as np
import pytest

from conformance import checker
from conformance.execute import Execution as _Execution
from conformance.program.writer import Column
from conformance.spec import evidence as ev
from conformance.spec.case import Case, outcomes_of, pins_of
from conformance.spec.checks import EvidenceFailure as _EvidenceFailure
from conformance.spec.expectations import expectation as _expectation


def EvidenceFailure(exc):
    return _EvidenceFailure(type(exc).__name__, str(exc))


COLUMN = Column("torch", "2.13.0", {})


def Execution(evidence=None, skipped_keys=(), column=None, **kwargs):
    typed = {ev.parse(k) if isinstance(k, str) else k: v for k, v in (evidence or {}).items()}
    return _Execution(evidence=typed, skipped_keys={ev.parse(k) for k in skipped_keys}, column=column or COLUMN,
                      **kwargs)


def check(item, case, execution):
    return _expectation(item).check(case, execution)


def needs(item, case):
    return [str(key) for key in checker.needs(item, case)]


def judge(case, framework, version, execution, components=None):
    execution.column = Column(framework, version, components or {})
    return checker.judge(case, case.resolve(framework, version, components), execution, f"{framework} {version}")

F32 = np.float32


def _case(expect=(), steps=(), model=None, outcomes=None, pins=None, behaviours=("XX1",)):
    raw = {"title": "A case.", **({"outcomes": outcomes} if outcomes else {"expect": list(expect)}), "pins": pins or {}}
    return Case(
        id="case", file="specs/topic.yaml", topic="topic", title="A case.", behaviours=list(behaviours),
        source={"note": "n.txt", "section": "1", "claim": "c"}, outcomes=outcomes_of(raw), model=model,
        steps=list(steps), pins=pins_of(raw),
    )


def _error(kind="shape_mismatch", phase="first_forward", step=1, type_="ValueError", message="shapes do not fit"):
    return {"phase": phase, "step": step, "step_kind": "forward", "kind": kind, "type": type_, "message": message}


def _results(expectation, evidence=None, error=None, warnings=(), case=None):
    execution = Execution(evidence=evidence, error=error, warnings=list(warnings), column=COLUMN)
    return check(expectation, case or _case([expectation]), execution)


def _passes(expectation, **observed):
    results = _results(expectation, **observed)
    assert results and all(r.ok for r in results), [r.text for r in results]


def _fails(expectation, *words, **observed) -> str:
    """The failing checks' text; it must say what was expected and what was observed."""
    results = _results(expectation, **observed)
    failed = [r.text for r in results if not r.ok]
    assert failed, f"{expectation} should fail: {[r.text for r in results]}"
    text = "; ".join(failed)
    for word in words:
        assert word in text, text
    return text


def _expected_observed(text):
    assert "expected" in text and "observed" in text, text
    assert "observed" in text[text.index("expected"):], text


# -- shape ------------------------------------------------------------------------


def test_shape_of_a_param():
    ev = {"param_shape:0.weight": [8, 4]}
    _passes({"shape": {"param": "0.weight", "equals": [8, 4]}}, evidence=ev)
    text = _fails({"shape": {"param": "0.weight", "equals": [4, 8]}}, "param 0.weight", "expected [4, 8], observed [8, 4]",
                  evidence=ev)
    _expected_observed(text)


def test_shape_unknown():
    ev = {"param_shape:weight": None}
    _passes({"shape": {"param": "weight", "equals": "unknown"}}, evidence=ev)
    _fails({"shape": {"param": "weight", "equals": [2, 3]}}, "expected [2, 3], observed unknown", evidence=ev)
    _fails({"shape": {"param": "weight", "equals": "unknown"}}, "expected unknown, observed [2, 3]",
           evidence={"param_shape:weight": [2, 3]})


def test_shape_of_a_value():
    ev = {"value:out": np.zeros((2, 3), F32)}
    _passes({"shape": {"value": "out", "equals": [2, 3]}}, evidence=ev)
    _fails({"shape": {"value": "out", "equals": [3, 2]}}, "value out", "expected [3, 2], observed [2, 3]", evidence=ev)


def test_a_value_that_is_none_has_an_unknown_shape_not_a_scalars():
    # a forward that returns nothing (note 004's counter-example) made no array: not a 0-d scalar
    _passes({"shape": {"value": "out", "equals": "unknown"}}, evidence={"value:out": None})
    _fails({"shape": {"value": "out", "equals": []}}, "expected [], observed unknown", evidence={"value:out": None})
    _fails({"shape": {"value": "out", "equals": "unknown"}}, "expected unknown, observed []",
           evidence={"value:out": np.float32(1)})


# -- values: every check, every target --------------------------------------------

X = np.array([[0.0, 1.0], [2.0, 3.0]], F32)
VALUE_CHECKS = [
    # (check, passing spec, failing spec, words in the failure)
    ("all", 0.0, 1.0, "expected every element == 1.0, observed 3 of 4 differ"),
    ("within", [0, 3], [0, 2.5], "expected [0, 2.5], observed [0, 3]"),
    ("mean", [1.5, 0.01], [1.0, 0.1], "expected 1.0 ± 0.1, observed 1.5"),
    ("std", [1.118, 0.01], [2.0, 0.1], "expected 2.0 ± 0.1, observed 1.11803"),
    ("frac_zero", [0.25, 0.01], [0.5, 0.1], "expected 0.5 ± 0.1, observed 0.2500"),
    ("frac_nan", [0, 0], [1, 0], "fraction of NaN: expected 1 ± 0, observed 0.0000"),
    ("min_abs_nonzero", 1.0, 1.5, "smallest |nonzero|: expected >= 1.5, observed 1.0"),
    ("at", {"index": [1, 0], "value": 2.0}, {"index": [1, 0], "value": 5.0}, "value at [1, 0]: expected 5.0, observed 2.0"),
    ("dtype", "float32", "float64", "dtype: expected float64, observed float32"),
]


@pytest.mark.parametrize("name, good, bad, words", VALUE_CHECKS, ids=[c[0] for c in VALUE_CHECKS])
def test_values_check(name, good, bad, words):
    x = X if name != "all" else np.zeros((2, 2), F32)
    if name == "all":
        words = "expected every element == 1.0, observed 4 of 4 differ"
    ev = {"value:out": x}
    _passes({"values": {"value": "out", name: good}}, evidence=ev)
    text = _fails({"values": {"value": "out", name: bad}}, "values of value out", words, evidence=ev)
    _expected_observed(text)


def test_values_at_an_index_out_of_range_fails():
    _fails({"values": {"value": "out", "at": {"index": [5, 0], "value": 0}}}, "observed index out of range",
           evidence={"value:out": X})


def test_values_tolerate_float32_rounding_but_zero_means_zero():
    x = np.full((3,), 0.1, F32)
    _passes({"values": {"value": "x", "all": 0.1}}, evidence={"value:x": x})
    _passes({"values": {"value": "x", "at": {"index": [2], "value": 0.1}}}, evidence={"value:x": x})
    _fails({"values": {"value": "z", "all": 0}}, "1 of 2 differ", evidence={"value:z": np.array([0, 1e-9], F32)})


def test_values_all_checks_must_hold():
    results = _results({"values": {"value": "out", "within": [0, 3], "mean": [9, 0.1]}}, evidence={"value:out": X})
    assert [r.ok for r in results] == [True, False]


@pytest.mark.parametrize("target, key", [
    ({"param": "0.weight"}, "param_value:0.weight"), ({"grad": "0.weight"}, "param_grad:0.weight"),
    ({"value": "out"}, "value:out"), ({"value_grad": "x"}, "value_grad:x"),
])
def test_values_targets(target, key):
    assert needs({"values": {**target, "all": 0}}, _case()) == [key]
    _passes({"values": {**target, "all": 2}}, evidence={key: np.full((2,), 2, F32)})
    label = " ".join(f"{k} {v}" for k, v in target.items())
    _fails({"values": {**target, "all": 2}}, f"values of {label}", evidence={key: np.full((2,), 3, F32)})


def test_values_snapshot_target():
    ev = {"snapshot:before": {"0.bias": np.zeros(3, F32)}}
    _passes({"values": {"snapshot": ["before", "0.bias"], "all": 0}}, evidence=ev)
    _fails({"values": {"snapshot": ["before", "0.weight"], "all": 0}}, "snapshot 'before' has no parameter 0.weight",
           evidence=ev)


def test_values_equals_and_not_equals():
    a, b = np.arange(4, dtype=F32), np.arange(4, dtype=F32) + 1
    ev = {"value:a": a, "value:a2": a.copy(), "value:b": b}
    _passes({"values": {"value": "a", "equals": {"value": "a2"}}}, evidence=ev)
    _fails({"values": {"value": "a", "equals": {"value": "b"}}}, "expected same values", "max abs diff 1", evidence=ev)
    _passes({"values": {"value": "a", "not_equals": {"value": "b"}}}, evidence=ev)
    _fails({"values": {"value": "a", "not_equals": {"value": "a2"}}}, "expected different values", evidence=ev)
    _fails({"values": {"value": "a", "equals": {"value": "c"}}}, "expected same values",
           evidence={**ev, "value:c": np.zeros((2, 2), F32)})


def test_values_equals_plus():
    ev = {"param_value:w": np.ones(3, F32) * 2, "snapshot:s": {"w": np.ones(3, F32)}}
    _passes({"values": {"param": "w", "equals_plus": [{"snapshot": ["s", "w"]}, 1]}}, evidence=ev)
    _fails({"values": {"param": "w", "equals_plus": [{"snapshot": ["s", "w"]}, 2]}}, "expected [3., 3., 3.]",
           "observed [2., 2., 2.]", evidence=ev)


@pytest.mark.parametrize("fn, make", [
    ("four_x", lambda x, h: 4 * x),
    ("head_times_four_x", lambda x, h: h * 4 * x),
    ("ones", lambda x, h: np.ones_like(x)),
])
def test_values_closed_form(fn, make):
    x, head = np.arange(3, dtype=F32), np.array([1, 2, 3], F32)
    spec = {"fn": fn, "x": "x", "head": "h"} if fn == "head_times_four_x" else {"fn": fn, "x": "x"}
    ev = {"value:x": x, "value:h": head}
    _passes({"values": {"value_grad": "x", "closed_form": spec}}, evidence={**ev, "value_grad:x": make(x, head)})
    _fails({"values": {"value_grad": "x", "closed_form": spec}}, f"closed form {fn}", "expected", "observed",
           evidence={**ev, "value_grad:x": make(x, head) + 1})


def test_values_of_something_that_is_not_an_array_fail_cleanly():
    _fails({"values": {"value": "loaded", "all": 1}}, "not a numeric array", "dict",
           evidence={"value:loaded": {"a": np.ones(2)}})
    _fails({"values": {"value": "loaded", "mean": [0, 1]}}, "not a numeric array",
           evidence={"value:loaded": [np.ones(2), np.ones(3)]})


def test_values_absent_target_fails():
    _fails({"values": {"grad": "w", "all": 0}}, "grad w is absent (None)", evidence={"param_grad:w": None})


# -- gradients, storage, names, devices -------------------------------------------------


@pytest.mark.parametrize("observed, state", [(None, "absent"), (np.zeros(2), "zero"), (np.ones(2), "present")])
@pytest.mark.parametrize("want", ["absent", "zero", "present", "zero_or_absent"])
def test_grad_state(observed, state, want):
    expectation = {"grad": {"param": "w", "is": want}}
    ev = {"param_grad:w": observed}
    holds = state == want or (want == "zero_or_absent" and state != "present")
    if holds:
        _passes(expectation, evidence=ev)
    else:
        _expected_observed(_fails(expectation, f"gradient of w: expected {want}, observed {state}", evidence=ev))


def test_grad_of_a_value():
    _passes({"grad": {"value": "x", "is": "present"}}, evidence={"value_grad:x": np.ones(2)})
    _fails({"grad": {"value": "x", "is": "present"}}, "expected present, observed absent", evidence={"value_grad:x": None})


@pytest.mark.parametrize("kind, same, holds", [
    ("same_storage", True, True), ("same_storage", False, False),
    ("distinct_storage", False, True), ("distinct_storage", True, False),
])
def test_storage(kind, same, holds):
    expectation = {kind: {"param": ["0.weight", "1.weight"]}}
    assert needs(expectation, _case()) == ["same_storage:param:0.weight|1.weight"]
    ev = {"same_storage:param:0.weight|1.weight": same}
    if holds:
        _passes(expectation, evidence=ev)
    else:
        want = "one storage" if kind == "same_storage" else "separate storage"
        seen = "one storage" if same else "separate storage"
        _fails(expectation, f"params 0.weight and 1.weight: expected {want}, observed {seen}", evidence=ev)


def test_param_names():
    ev = {"param_paths": ["0.weight", "0.bias", "2.weight", "2.bias"]}
    _passes({"param_names": {"equals": ["0.bias", "0.weight", "2.bias", "2.weight"], "count": 4}}, evidence=ev)
    _passes({"param_names": {"pattern": r"0\..*", "count": 2}}, evidence=ev)
    _fails({"param_names": {"equals": ["0.weight"]}}, "parameter names: expected ['0.weight'], observed", evidence=ev)
    _fails({"param_names": {"count": 3}}, "parameter count: expected 3, observed 4", evidence=ev)
    _fails({"param_names": {"pattern": "bias", "count": 2}}, "expected 2, observed 0", evidence=ev)


def test_device():
    ev = {"device:param:0.weight": {"canonical": "second", "native": "cuda:1"}}
    _passes({"device": {"param": "0.weight", "is": "second"}}, evidence=ev)
    _fails({"device": {"param": "0.weight", "is": "default"}}, "device of param 0.weight: expected default, observed",
           "cuda:1", evidence=ev)
    _passes({"device": {"value": "y", "is": "gpu"}}, evidence={"device:value:y": {"canonical": "gpu", "native": "gpu(0)"}})


def test_init_calls():
    calls = [{"name": "0.weight", "shape": [2, 2], "step": 0}, {"name": "1.weight", "shape": [2, 2], "step": 0},
             {"name": "0.weight", "shape": [2, 2], "step": 3}]
    ev = {"init_calls": calls}
    _passes({"init_calls": {"step": 0, "params": ["1.weight", "0.weight"], "count": 2}}, evidence=ev)
    _passes({"init_calls": {"count": 3}}, evidence=ev)
    _fails({"init_calls": {"step": 3, "count": 0}}, "during step 3: expected 0, observed 1", evidence=ev)
    _fails({"init_calls": {"step": 3, "params": ["1.weight"]}}, "expected ['1.weight'], observed ['0.weight']",
           evidence=ev)


# -- errors and warnings --------------------------------------------------------------


RAISED = {"torch": {"type": "ValueError", "message": "shapes do not fit"}}


def test_error_expected_and_raised():
    _passes({"error": {"phase": "first_forward", "kind": "shape_mismatch", "step": 1, "raised": RAISED}},
            error=_error())


def test_error_expected_but_none():
    text = _fails({"error": {"phase": "backward", "kind": "graph_freed", "step": 2, "raised": RAISED}},
                  "expected graph_freed error in phase backward at step 2", "observed no error")
    _expected_observed(text)


def test_error_of_another_phase_step_type_or_message():
    error = {"phase": "first_forward", "kind": "shape_mismatch", "step": 1}
    _fails({"error": {**error, "phase": "forward", "raised": RAISED}}, "in phase forward",
           "observed phase first_forward at step 1 (ValueError: shapes do not fit)", error=_error())
    _fails({"error": {**error, "step": 2, "raised": RAISED}}, "at step 2", error=_error())
    _fails({"error": {**error, "raised": {"torch": {"type": "TypeError", "message": "shapes"}}}},
           "of native type TypeError", error=_error())
    _fails({"error": {**error, "raised": {"torch": {"type": "ValueError", "message": "^do not"}}}},
           "matching /^do not/", error=_error())


def test_an_error_without_a_native_type_and_message_for_the_framework_fails_saying_so():
    text = _fails({"error": {"phase": "first_forward", "kind": "shape_mismatch", "step": 1,
                             "raised": {"mxnet": {"type": "ValueError", "message": "shapes"}}}},
                  "no native error given for torch: add it under raised.torch", error=_error())
    _expected_observed(text)


def test_raised_entries_are_matched_by_version_and_keras():
    error = {"phase": "first_forward", "kind": "shape_mismatch", "step": 1,
             "raised": {"torch": [{"versions": "<2", "type": "TypeError", "message": "old"},
                                  {"type": "ValueError", "message": "shapes"}]}}
    _passes({"error": error}, error=_error())
    old = Execution(error=_error(), column=Column("torch", "1.13.0", {}))
    assert not all(r.ok for r in check({"error": error}, _case(), old))


def test_the_native_type_matches_as_except_catches_it():
    err = dict(_error(type_="conformance.reference.errors.DeferredInitializationError"),
               bases=["conformance.reference.errors.NotInitializedError", "RuntimeError"])
    error = {"phase": "first_forward", "kind": "not_initialized", "step": 1}
    _passes({"error": {**error, "raised": {"torch": {"type": "NotInitializedError", "message": "shapes"}}}}, error=err)
    _passes({"error": {**error, "raised": {"torch": {"type": "RuntimeError", "message": "shapes"}}}}, error=err)
    _fails({"error": {**error, "raised": {"torch": {"type": "KeyError", "message": "shapes"}}}}, "KeyError", error=err)


def test_no_error():
    _passes({"no_error": {}})
    text = _fails({"no_error": {}}, "ValueError in phase first_forward: shapes do not fit", error=_error())
    _expected_observed(text)


def test_warning_and_no_warning():
    warned = [{"step": 2, "category": "UserWarning", "text": "Parameter is not initialized yet"}]
    _passes({"warning": {}}, warnings=warned)
    _passes({"warning": {"contains": "NOT INITIALIZED", "step": 2}}, warnings=warned)
    _expected_observed(_fails({"warning": {"contains": "deprecated"}}, "containing 'deprecated'", "observed none",
                              warnings=warned))
    _fails({"warning": {"step": 1}}, "during step 1", warnings=warned)
    _passes({"no_warning": {"step": 1}}, warnings=warned)
    _expected_observed(_fails({"no_warning": {}}, "Parameter is not initialized yet", warnings=warned))


# -- model-level checks ------------------------------------------------------------------


def _dense_evidence(output_delta=0.0):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(2, 4)).astype(F32)
    w, b = rng.normal(size=(3, 4)).astype(F32), rng.normal(size=(3,)).astype(F32)
    out = np.maximum(x @ w.T + b, 0) + output_delta
    return {"input:1": x, "all_params": {"weight": w, "bias": b}, "value:out": out.astype(F32)}


def test_output_matches_manual():
    case = _case(model={"dense": {"units": 3, "activation": "relu"}},
                 steps=[("initialize", {}), ("forward", {"input": {"uniform": [2, 4]}})])
    expectation = {"output_matches_manual": {}}
    assert needs(expectation, case) == ["all_params", "value:out"]
    _passes(expectation, evidence=_dense_evidence(), case=case)
    text = _fails(expectation, "output out vs NumPy evaluation", evidence=_dense_evidence(0.5), case=case)
    _expected_observed(text)


def test_output_matches_manual_without_a_forward_or_a_manual_model():
    case = _case(model={"dense": {"units": 3}}, steps=[("initialize", {})])
    _fails({"output_matches_manual": {}}, "no forward step produced 'out'", evidence=_dense_evidence(), case=case)
    fancy = _case(model={"fancy_mlp": {}}, steps=[("forward", {"input": {"ones": [2, 20]}})])
    # FancyMLP's constant hidden weight is a model value, not a parameter: without its observed
    # value there is nothing to evaluate with
    _fails({"output_matches_manual": {"input_step": 0}}, "nothing was observed for param_value:rand_weight",
           evidence={"input:0": np.ones((2, 20)), "all_params": {}, "value:out": np.ones(())}, case=fancy)
    # with it but without the linear layer's parameters: the hand evaluation names what is missing
    _fails({"output_matches_manual": {"input_step": 0}}, "cannot evaluate by hand",
           evidence={"input:0": np.ones((2, 20)), "all_params": {}, "value:out": np.ones(()),
                     "param_value:rand_weight": np.ones((20, 20))}, case=fancy)


def test_grad_equals_untied_sum():
    """A layer used at positions 0 and 1: its gradient must be the sum of what each use gets
    in an untied copy, computed here with NumPy from the observed parameters and input."""
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(3, 4)).astype(F32)
    w, b = rng.normal(size=(4, 4)).astype(F32), rng.normal(size=(4,)).astype(F32)
    model = {"sequential": [{"dense": {"units": 4, "in_units": 4, "activation": "relu"}, "as": "s"}, {"reuse": "s"}]}
    case = _case(model=model, steps=[("forward", {"input": {"uniform": [3, 4]}}), ("backward", {})])
    h = np.maximum(x @ w.T + b, 0)
    y = np.maximum(h @ w.T + b, 0)
    g1 = (y > 0).astype(np.float64)  # d(sum y)/d(pre-activation of use 1)
    grad_w1, grad_b1 = g1.T @ h, g1.sum(0)
    g0 = (g1 @ w) * (h > 0)
    grad_w0, grad_b0 = g0.T @ x, g0.sum(0)
    evidence = {"input:0": x, "all_params": {"0.weight": w, "0.bias": b}}
    expectation = {"grad_equals_untied_sum": {"param": "0.weight", "uses": ["0", "1"]}}
    _passes(expectation, evidence={**evidence, "param_grad:0.weight": grad_w0 + grad_w1}, case=case)
    _passes({"grad_equals_untied_sum": {"param": "0.bias", "uses": ["0", "1"]}},
            evidence={**evidence, "param_grad:0.bias": grad_b0 + grad_b1}, case=case)
    text = _fails(expectation, "shared gradient of 0.weight", evidence={**evidence, "param_grad:0.weight": grad_w1},
                  case=case)
    _expected_observed(text)
    _fails(expectation, "absent (None)", evidence={**evidence, "param_grad:0.weight": None}, case=case)


def test_roundtrip():
    saved = {"a": np.ones(2, F32), "b": np.arange(3, dtype=F32)}
    expectation = {"roundtrip": {"loaded": "back", "saved_step": 0}}
    _passes(expectation, evidence={"input:0": saved, "value:back": {k: v.copy() for k, v in saved.items()}})
    _fails(expectation, "expected what was saved", "keys ['a', 'b'] vs ['a']",
           evidence={"input:0": saved, "value:back": {"a": saved["a"]}})
    _fails(expectation, "[\'b\']: saved float32[3], loaded float64[3]",
           evidence={"input:0": saved, "value:back": {"a": saved["a"], "b": saved["b"].astype(np.float64)}})
    as_list = [np.ones(2, F32), np.zeros(2, F32)]
    _passes(expectation, evidence={"input:0": as_list, "value:back": [a.copy() for a in as_list]})
    _fails(expectation, "[0]: values differ", evidence={"input:0": as_list, "value:back": as_list[::-1]})
    _fails(expectation, "saved a list of 2, loaded dict", evidence={"input:0": as_list, "value:back": saved})
    unsorted = {"zeta": np.ones(1, F32), "alpha": np.zeros(1, F32)}
    _fails(expectation, "key order ['zeta', 'alpha'] vs ['alpha', 'zeta']",
           evidence={"input:0": unsorted, "value:back": dict(sorted(unsorted.items()))})


def test_output_matches_manual_with_parameters_that_do_not_fit_the_model_fails_cleanly():
    model = {"dense": {"units": 2, "in_units": 3}}
    case = _case([{"output_matches_manual": {}}], steps=[("forward", {"input": {"ones": [1, 3]}})], model=model)
    evidence = {"value:out": np.zeros((1, 2), F32), "input:0": np.ones((1, 3), F32),
                "all_params": {"weight": np.ones((5, 7), F32), "bias": np.zeros(2, F32)}}
    _fails({"output_matches_manual": {}}, "cannot evaluate by hand", evidence=evidence, case=case)


def test_probe():
    ev = {"probe:is_training": {"inside_recording": True, "outside_recording": False}}
    _passes({"probe": {"name": "is_training", "equals": {"inside_recording": True}}}, evidence=ev)
    _passes({"probe": {"name": "is_training"}}, evidence=ev)
    text = _fails({"probe": {"name": "is_training", "equals": {"outside_recording": True}}},
                  "probe is_training: expected {'outside_recording': True}, observed", evidence=ev)
    _expected_observed(text)


def test_missing_or_broken_evidence_fails_with_the_reason():
    _fails({"shape": {"value": "out", "equals": [1]}}, "nothing was observed for value:out")
    broken = EvidenceFailure(RuntimeError("not initialized yet\nmore"))
    _fails({"shape": {"param": "w", "equals": [1]}}, "observing param_shape:w raised RuntimeError: not initialized yet",
           evidence={"param_shape:w": broken})


def test_every_expectation_kind_of_the_readme_is_covered_here():
    import re
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1] / "specs" / "README.md"
    section = readme.read_text(encoding="utf-8").split("## Expectations")[1].split("Statuses:")[0]
    kinds = set(re.findall(r"^\| `(\w+):", section, flags=re.MULTILINE)) | set(re.findall(r" / `(\w+):", section))
    source = Path(__file__).read_text(encoding="utf-8")
    assert len(kinds) >= 15, kinds
    missing = [k for k in sorted(kinds) if f'{{"{k}": ' not in source and f'("{k}", ' not in source]
    assert not missing, f"expectation kinds without a checker test: {missing}"


# -- judge ---------------------------------------------------------------------------------

SHAPE_OK = {"value:out": np.zeros((1, 1), F32)}
SHAPE_BAD = {"value:out": np.zeros((2, 2), F32)}
SHAPE_3 = {"value:out": np.zeros((3, 3), F32)}
EXPECT = [{"shape": {"value": "out", "equals": [1, 1]}}]
TWO = {
    "small": {"normative": True, "says": "out is 1x1", "expect": EXPECT},
    "big": {"says": "out is 2x2", "expect": [{"shape": {"value": "out", "equals": [2, 2]}}]},
}
PINS = {"mxnet": {"outcome": "big", "versions": ">=1.9,<2", "evidence": {"observed": "MXNet keeps the old shape."}}}


def test_judge_pass():
    verdict = judge(_case(EXPECT), "torch", "2.13.0", Execution(evidence=SHAPE_OK))
    assert (verdict.status, verdict.message, verdict.outcome, verdict.expected) == ("pass", "", "as-noted", "as-noted")
    assert verdict.checks == [{"ok": True, "check": verdict.checks[0]["check"], "outcome": "as-noted"}]


def test_judge_fail_names_the_behaviour():
    verdict = judge(_case(EXPECT, behaviours=["SH2", "SH3"]), "torch", "2.13.0", Execution(evidence=SHAPE_BAD))
    assert verdict.status == "fail" and verdict.outcome is None
    assert verdict.message.startswith("[SH2,SH3] no outcome held") and "expected [1, 1], observed [2, 2]" in verdict.message


def test_judge_the_pinned_outcome_passes_for_a_matching_version_only():
    case = _case(outcomes=TWO, pins=PINS)
    verdict = judge(case, "mxnet", "1.9.1", Execution(evidence=SHAPE_BAD))
    assert (verdict.status, verdict.outcome, verdict.expected) == ("pass", "big", "big")
    # another version or framework expects the normative outcome: the same behaviour is a move
    for framework, version in (("mxnet", "2.0.0"), ("torch", "1.9.1"), ("mxnet", "unavailable")):
        verdict = judge(case, framework, version, Execution(evidence=SHAPE_BAD))
        assert (verdict.status, verdict.outcome, verdict.expected) == ("fail", "big", "small"), (framework, version)
        assert "moved: small -> big" in verdict.message


def test_judge_a_framework_pinned_elsewhere_that_shows_the_normative_outcome_has_moved():
    verdict = judge(_case(outcomes=TWO, pins=PINS), "mxnet", "1.9.1", Execution(evidence=SHAPE_OK))
    assert (verdict.status, verdict.outcome) == ("fail", "small")
    assert "moved: big -> small" in verdict.message and "out is 1x1" in verdict.message


def test_judge_neither_outcome_lists_every_outcomes_failures():
    verdict = judge(_case(outcomes=TWO, pins=PINS), "mxnet", "1.9.1", Execution(evidence=SHAPE_3))
    assert verdict.status == "fail" and verdict.outcome is None
    assert "no outcome held (expected 'big')" in verdict.message
    assert "small: " in verdict.message and "big: " in verdict.message and "observed [3, 3]" in verdict.message
    assert [o["held"] for o in verdict.outcomes] == [False, False]


def test_judge_two_outcomes_holding_is_a_fail():
    outcomes = {"a": {"normative": True, "says": "a", "expect": EXPECT},
                "b": {"says": "b", "expect": [{"no_error": {}}]}}
    verdict = judge(_case(outcomes=outcomes), "torch", "2.13.0", Execution(evidence=SHAPE_OK))
    assert verdict.status == "fail" and "outcomes not distinguished: a and b both held" in verdict.message


def test_judge_a_pinned_outcome_does_not_mask_another_broken_expectation():
    """The old `known` turned every failure into `known` while the pinned part held; an
    outcome is a complete set of checks, so a broken check beside a held pin fails."""
    outcomes = {"small": TWO["small"], "big": {"says": "2x2 and y is 1", "expect": [
        {"shape": {"value": "out", "equals": [2, 2]}}, {"values": {"value": "y", "all": 1}}]}}
    evidence = {**SHAPE_BAD, "value:y": np.zeros(3, F32)}
    verdict = judge(_case(outcomes=outcomes, pins=PINS), "mxnet", "1.9.1", Execution(evidence=evidence))
    assert verdict.status == "fail" and verdict.outcome is None
    assert "values of value y: all: expected every element == 1" in verdict.message


def test_judge_pins_range_components_such_as_keras():
    pins = {"tensorflow": [{"outcome": "big", "keras": "<3", "evidence": {"doc": "Keras 2 docs"}}]}
    case = _case(outcomes=TWO, pins=pins)
    assert judge(case, "tensorflow", "2.21.0", Execution(evidence=SHAPE_BAD), {"keras": "2.21.0"}).status == "pass"
    assert judge(case, "tensorflow", "2.21.0", Execution(evidence=SHAPE_BAD), {"keras": "3.15.1"}).status == "fail"
    assert judge(case, "tensorflow", "2.21.0", Execution(evidence=SHAPE_OK), {"keras": "3.15.1"}).status == "pass"
    # a pin that ranges a component the run does not report does not match
    assert judge(case, "tensorflow", "2.21.0", Execution(evidence=SHAPE_BAD)).status == "fail"


def test_resolve_versions_and_first_match():
    pins = {"torch": [{"outcome": "big", "versions": ">=2", "evidence": {"doc": "d"}},
                      {"outcome": "small", "evidence": {"doc": "d2"}}]}
    case = _case(outcomes=TWO, pins=pins)
    assert case.resolve("torch", "2.13.0+cpu").pin["outcome"] == "big"
    assert case.resolve("torch", "2.13.0+cpu").expected.label == "big"
    assert case.resolve("torch", "1.13.0").pin["outcome"] == "small"
    assert case.resolve("torch", "unavailable").pin["outcome"] == "small"
    resolved = case.resolve("mxnet", "1.9.1")
    assert resolved.pin is None and resolved.expected.label == "small" and resolved.normative.label == "small"


@pytest.mark.parametrize("status", ["unsupported", "skip", "error"])
def test_judge_interruption_keeps_its_status(status):
    execution = Execution(evidence=SHAPE_BAD, interruption=(status, "step 0 (forward): why"))
    verdict = judge(_case(EXPECT), "torch", "2.13.0", execution)
    assert (verdict.status, verdict.message, verdict.checks, verdict.outcome) == (status, "step 0 (forward): why", [], None)


def test_judge_unexpected_error_fails_naming_type_and_phase():
    execution = Execution(evidence=SHAPE_OK, error=_error(phase="backward", step=2, type_="RuntimeError",
                                                          message="Trying to backward through the graph a second time"))
    verdict = judge(_case(EXPECT), "torch", "2.13.0", execution)
    assert verdict.status == "fail"
    assert "unexpected RuntimeError in phase backward (step 2, forward): Trying to backward" in verdict.message
    assert [c["ok"] for c in verdict.checks] == [True, False]


def test_judge_an_error_is_an_outcome_when_one_expects_it():
    outcomes = {"works": {"normative": True, "says": "works", "expect": EXPECT},
                "raises": {"says": "raises", "expect": [{"error": {"phase": "first_forward", "kind": "shape_mismatch",
                                                                   "step": 1, "type": "ValueError",
                                                                   "message": "shapes"}}]}}
    pins = {"torch": {"outcome": "raises", "evidence": {"doc": "d"}}}
    case = _case(outcomes=outcomes, pins=pins)
    assert judge(case, "torch", "2.13.0", Execution(error=_error())).status == "pass"
    verdict = judge(case, "mxnet", "1.9.1", Execution(error=_error()))
    assert (verdict.status, verdict.outcome) == ("fail", "raises") and "moved: works -> raises" in verdict.message


def test_judge_expected_error_is_a_pass():
    case = _case([{"error": {"phase": "first_forward", "kind": "shape_mismatch", "step": 1, "raised": RAISED}}])
    assert judge(case, "torch", "2.13.0", Execution(error=_error())).status == "pass"


def test_judge_partly_observable_runs_the_checks_it_can():
    expect = [{"shape": {"value": "out", "equals": [1, 1]}}, {"values": {"value": "y", "all": 1}}]
    skipped = Execution(evidence=dict(SHAPE_OK), interruption=("skip", "no data on meta"), skipped_keys={"value:y"})
    verdict = judge(_case(expect), "torch", "2.13.0", skipped)
    assert verdict.status == "skip" and "1 other check(s) held, 1 could not run" in verdict.message
    broken = Execution(evidence=dict(SHAPE_BAD), interruption=("skip", "no data on meta"), skipped_keys={"value:y"})
    verdict = judge(_case(expect), "torch", "2.13.0", broken)
    assert verdict.status == "fail" and "expected [1, 1], observed [2, 2]" in verdict.message


def test_error_native_type_and_message_pattern():
    err = _error(phase="backward", step=3, type_="RuntimeError",
                 message="Trying to backward through the graph a second time")
    base = {"phase": "backward", "kind": "graph_freed", "step": 3}
    _passes({"error": {**base, "type": "RuntimeError", "message": "backward through the graph"}}, error=err)
    _fails({"error": {**base, "type": "ValueError", "message": "backward"}}, "of native type ValueError", error=err)
    _fails({"error": {**base, "type": "RuntimeError", "message": "^graph freed$"}}, "matching /^graph freed$/",
           error=err)
    dotted = dict(err, type="tensorflow.python.framework.errors_impl.InvalidArgumentError")
    _passes({"error": {**base, "type": "errors_impl.InvalidArgumentError", "message": "second time"}}, error=dotted)
    _fails({"error": {**base, "type": "ArgumentError", "message": "second time"}}, "of native type ArgumentError",
           error=dotted)
    _fails({"error": {**base, "type": "errors_impl.InvalidArgumentError"}}, "no native error given for torch",
           error=dotted)  # a type alone is not enough: a message pattern too


def test_frac_nan_counts_nan_only():
    ev = {"value:out": np.array([np.nan, np.nan, np.inf, 0.0], F32)}
    _passes({"values": {"value": "out", "frac_nan": [0.5, 0]}}, evidence=ev)
    _fails({"values": {"value": "out", "frac_nan": [1, 0]}}, "observed 0.5000", evidence=ev)
