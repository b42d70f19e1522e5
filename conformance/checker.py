"""The one shared checker: expectations + observed evidence -> status and a message a person can act on.

Rule: every framework is judged here, by the same code; adapters never decide outcomes.
Each check names the behaviour, what was expected and what was observed. A case's
outcomes are all evaluated; the status says whether the expected one, and only it, held.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from conformance.execute import EvidenceFailure, Execution, NeverProduced
from conformance.manual import ManualUnavailable, evaluate

RTOL, ATOL = 1e-5, 1e-6
TARGET_KEYS = ("param", "grad", "value", "value_grad", "snapshot")


@dataclass
class CheckResult:
    ok: bool
    text: str  # "<expectation>: expected ..., observed ..."


def use_paths(spec: dict) -> list[str]:
    """The parameter paths of the uses in `grad_equals_untied_sum`: a use may name the
    parameter ("2.weight") or the layer using it ("2"), which gets the parameter's leaf."""
    leaf = spec["param"].rsplit(".", 1)[-1]
    return [use if use.rsplit(".", 1)[-1] == leaf and "." in use else f"{use}.{leaf}" for use in spec["uses"]]


def _target_key(target: dict) -> str:
    if "param" in target:
        return f"param_value:{target['param']}"
    if "grad" in target:
        return f"param_grad:{target['grad']}"
    if "value" in target:
        return f"value:{target['value']}"
    if "value_grad" in target:
        return f"value_grad:{target['value_grad']}"
    if "snapshot" in target:
        return f"snapshot:{target['snapshot'][0]}"
    raise ValueError(f"no target in {target}")


def _target_only(mapping: dict) -> dict:
    return {k: v for k, v in mapping.items() if k in TARGET_KEYS}


def needs(expectation: dict, case) -> list[str]:
    """Evidence keys the runner must observe for this expectation."""
    kind, args = next(iter(expectation.items()))
    if kind == "shape":
        return [f"param_shape:{args['param']}"] if "param" in args else [f"value:{args['value']}"]
    if kind == "values":
        keys = [_target_key(_target_only(args))]
        for other in ("equals", "not_equals"):
            if other in args:
                keys.append(_target_key(args[other]))
        if "equals_plus" in args:
            keys.append(_target_key(args["equals_plus"][0]))
        if "closed_form" in args:
            keys += [f"value:{args['closed_form'][k]}" for k in ("x", "head") if k in args["closed_form"]]
        return keys
    if kind == "grad":
        return [f"param_grad:{args['param']}"] if "param" in args else [f"value_grad:{args['value']}"]
    if kind in ("same_storage", "distinct_storage"):
        what, (a, b) = next(iter(args.items()))
        return [f"same_storage:{what}:{a}|{b}"]
    if kind == "param_names":
        return ["param_paths"]
    if kind == "device":
        what = "param" if "param" in args else "value"
        return [f"device:{what}:{args[what]}"]
    if kind == "init_calls":
        return ["init_calls"]
    if kind == "output_matches_manual":
        return ["all_params", f"value:{args.get('value', 'out')}"]
    if kind == "grad_equals_untied_sum":
        return [f"param_grad:{args['param']}"]
    if kind == "roundtrip":
        return [f"value:{args['loaded']}"]
    return []


def _get(execution: Execution, key: str):
    if key not in execution.evidence:
        raise _Missing(f"nothing was observed for {key}")
    value = execution.evidence[key]
    if isinstance(value, NeverProduced):
        raise _Missing(str(value))
    if isinstance(value, EvidenceFailure):
        raise _Missing(f"observing {key} raised {value.type}: {value.message}")
    return value


class _Missing(Exception):
    pass


def _fmt(value) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            return np.array2string(value, precision=6, separator=", ").replace("\n", "")
        return f"array{list(value.shape)} mean={value.mean():.6g} min={value.min():.6g} max={value.max():.6g}"
    return repr(value)


def _target_value(execution, target: dict, label: str):
    value = _get(execution, _target_key(target))
    if "snapshot" in target:
        name, path = target["snapshot"]
        if path not in value:
            raise _Missing(f"snapshot '{name}' has no parameter {path}")
        value = value[path]
    if value is None:
        raise _Missing(f"{label} is absent (None)")
    try:
        array = np.asarray(value)
    except ValueError:  # a ragged list, e.g. what load_tensors gave back for a list of arrays
        array = None
    if array is None or array.dtype.kind not in "biuf":
        raise _Missing(f"{label} is not a numeric array: observed {type(value).__name__} {_fmt(value)[:200]}")
    return array


def _closeness(a: np.ndarray, b: np.ndarray) -> tuple[bool, str]:
    if a.shape != b.shape:
        return False, f"shape {list(a.shape)} vs {list(b.shape)}"
    ok = bool(np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=RTOL, atol=ATOL))
    diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
    return ok, f"max abs diff {diff:.3g}"


def _check_values(args: dict, execution: Execution) -> list[CheckResult]:
    target = _target_only(args)
    label = " ".join(f"{k} {v}" for k, v in target.items())
    x = _target_value(execution, target, label)
    xf = x.astype(np.float64) if x.dtype != object else x
    results = []

    def add(ok, name, expected, observed):
        results.append(CheckResult(bool(ok), f"values of {label}: {name}: expected {expected}, observed {observed}"))

    for check, spec in args.items():
        if check in TARGET_KEYS:
            continue
        if check == "all":
            # relative tolerance only: float32(0.1) counts as 0.1, while 0 still means exactly 0
            same = np.isclose(xf, spec, rtol=RTOL, atol=0)
            add(xf.size and np.all(same), "all", f"every element == {spec}",
                f"{np.count_nonzero(~same)} of {xf.size} differ; {_fmt(x)}")
        elif check == "within":
            lo, hi = spec
            add(xf.size and xf.min() >= lo and xf.max() <= hi, "within", f"[{lo}, {hi}]",
                f"[{xf.min():.6g}, {xf.max():.6g}]" if xf.size else "empty")
        elif check in ("mean", "std"):
            target_value, tol = spec
            observed = float(xf.mean() if check == "mean" else xf.std())
            add(abs(observed - target_value) <= tol, check, f"{target_value} ± {tol}", f"{observed:.6g}")
        elif check == "frac_zero":
            target_value, tol = spec
            observed = float(np.mean(xf == 0)) if xf.size else float("nan")
            add(abs(observed - target_value) <= tol, "fraction of zeros", f"{target_value} ± {tol}", f"{observed:.4f}")
        elif check == "frac_nan":
            target_value, tol = spec
            observed = float(np.mean(np.isnan(xf))) if xf.size else float("nan")
            add(abs(observed - target_value) <= tol, "fraction of NaN", f"{target_value} ± {tol}", f"{observed:.4f}")
        elif check == "min_abs_nonzero":
            nonzero = np.abs(xf[xf != 0])
            observed = float(nonzero.min()) if nonzero.size else None
            add(observed is not None and observed >= spec, "smallest |nonzero|", f">= {spec}", observed)
        elif check == "at":
            index = tuple(spec["index"])
            observed = float(xf[index]) if _index_ok(xf, index) else "index out of range"
            close = isinstance(observed, float) and bool(np.isclose(observed, spec["value"], rtol=RTOL, atol=0))
            add(close, f"value at {list(index)}", spec["value"], observed)
        elif check in ("equals", "not_equals"):
            other = _target_value(execution, spec, str(spec))
            close, detail = _closeness(x, other)
            want = close if check == "equals" else not close
            add(want, f"{check} {spec}", "same values" if check == "equals" else "different values",
                f"{_fmt(x)} vs {_fmt(other)} ({detail})")
        elif check == "equals_plus":
            other_target, delta = spec
            other = _target_value(execution, other_target, str(other_target))
            close, detail = _closeness(x, other.astype(np.float64) + delta)
            add(close, f"equals {other_target} + {delta}", f"{_fmt(other.astype(np.float64) + delta)}", f"{_fmt(x)} ({detail})")
        elif check == "closed_form":
            expected = _closed_form(spec, execution)
            close, detail = _closeness(xf, expected)
            add(close, f"closed form {spec['fn']}", _fmt(expected), f"{_fmt(x)} ({detail})")
        elif check == "dtype":
            add(str(x.dtype) == spec, "dtype", spec, str(x.dtype))
        elif check == "orthogonal":
            # orthogonal rows (or columns, whichever are fewer) of length `spec`: W W^T = spec^2 I
            if xf.ndim != 2:
                add(False, "orthogonal", "a 2-d array", f"shape {list(xf.shape)}")
                continue
            gram = xf @ xf.T if xf.shape[0] <= xf.shape[1] else xf.T @ xf
            expected = spec * spec * np.eye(gram.shape[0])
            worst = float(np.max(np.abs(gram - expected)))
            add(worst <= 1e-3 * max(1.0, spec * spec), "orthogonal",
                f"W W^T == {spec}^2 I", f"max |W W^T - {spec}^2 I| = {worst:.3g}")
    return results


def _index_ok(array: np.ndarray, index: tuple) -> bool:
    return len(index) == array.ndim and all(-n <= i < n for i, n in zip(index, array.shape))


def _closed_form(spec: dict, execution: Execution) -> np.ndarray:
    x = np.asarray(_get(execution, f"value:{spec['x']}"), dtype=np.float64)
    if spec["fn"] == "four_x":
        return 4 * x
    if spec["fn"] == "head_times_four_x":
        head = np.asarray(_get(execution, f"value:{spec['head']}"), dtype=np.float64)
        return head * 4 * x
    if spec["fn"] == "ones":
        return np.ones_like(x)
    raise ValueError(f"unknown closed form {spec['fn']}")


def _grad_state(grad) -> str:
    if grad is None:
        return "absent"
    g = np.asarray(grad)
    return "zero" if not np.any(g) else "present"


def check(expectation: dict, case, execution: Execution) -> list[CheckResult]:
    """Judge one expectation; returns one or more results."""
    kind, args = next(iter(expectation.items()))
    try:
        return _check(kind, args, case, execution)
    except _Missing as missing:
        return [CheckResult(False, f"{kind} {args}: {missing}")]


def _check(kind: str, args: dict, case, execution: Execution) -> list[CheckResult]:
    ev = execution.evidence
    if kind == "error":
        err = execution.error
        want = f"{args['kind']} error in phase {args['phase']}" + (f" at step {args['step']}" if "step" in args else "")
        if "type" in args:
            want += f" of native type {args['type']}"
        if "message" in args:
            want += f" with a message matching /{args['message']}/"
        if err is None:
            return [CheckResult(False, f"error: expected {want}, observed no error")]
        ok = err["kind"] == args["kind"] and err["phase"] == args["phase"] and args.get("step", err["step"]) == err["step"]
        if "type" in args:  # the class name, or its dotted path's tail: "RuntimeError", "errors.InvalidArgumentError"
            ok = ok and (err["type"] == args["type"] or err["type"].endswith("." + args["type"]))
        if "message" in args:
            ok = ok and re.search(args["message"], err["message"] or "") is not None
        seen = f"{err['kind']} error in phase {err['phase']} at step {err['step']} ({err['type']}: {err['message']})"
        return [CheckResult(ok, f"error: expected {want}, observed {seen}")]
    if kind == "no_error":
        err = execution.error
        return [CheckResult(err is None, "no error: expected none, observed " + (
            f"{err['type']} in phase {err['phase']}: {err['message']}" if err else "none"))]
    if kind in ("warning", "no_warning"):
        warned = [w for w in execution.warnings if args.get("step") in (None, w["step"])]
        if "contains" in args:
            warned = [w for w in warned if args["contains"].lower() in w["text"].lower()]
        where = f" during step {args['step']}" if "step" in args else ""
        texts = [w["text"] for w in warned] or "none"
        if kind == "warning":
            return [CheckResult(bool(warned), f"warning{where} containing {args.get('contains', '')!r}: "
                                              f"expected at least one, observed {texts}")]
        return [CheckResult(not warned, f"no warning{where}: expected none, observed {texts}")]
    if kind == "shape":
        if "param" in args:
            observed = _get(execution, f"param_shape:{args['param']}")
            observed = "unknown" if observed is None else list(observed)
            label = f"param {args['param']}"
        else:
            observed = list(np.asarray(_get(execution, f"value:{args['value']}")).shape)
            label = f"value {args['value']}"
        expected = args["equals"]
        return [CheckResult(observed == expected, f"shape of {label}: expected {expected}, observed {observed}")]
    if kind == "values":
        return _check_values(args, execution)
    if kind == "grad":
        key = f"param_grad:{args['param']}" if "param" in args else f"value_grad:{args['value']}"
        state = _grad_state(_get(execution, key))
        want = args["is"]
        ok = state == want or (want == "zero_or_absent" and state in ("zero", "absent"))
        return [CheckResult(ok, f"gradient of {key.partition(':')[2]}: expected {want}, observed {state}")]
    if kind in ("same_storage", "distinct_storage"):
        what, (a, b) = next(iter(args.items()))
        same = _get(execution, f"same_storage:{what}:{a}|{b}")
        want = kind == "same_storage"
        return [CheckResult(same == want, f"{what}s {a} and {b}: expected {'one storage' if want else 'separate storage'}, "
                                          f"observed {'one storage' if same else 'separate storage'}")]
    if kind == "param_names":
        names = _get(execution, "param_paths")
        if "pattern" in args:
            names = [n for n in names if re.fullmatch(args["pattern"], n)]
        results = []
        if "equals" in args:
            results.append(CheckResult(sorted(names) == sorted(args["equals"]),
                                       f"parameter names: expected {sorted(args['equals'])}, observed {sorted(names)}"))
        if "count" in args:
            results.append(CheckResult(len(names) == args["count"],
                                       f"parameter count: expected {args['count']}, observed {len(names)} {names}"))
        return results or [CheckResult(True, "parameter names observed")]
    if kind == "device":
        what = "param" if "param" in args else "value"
        device = _get(execution, f"device:{what}:{args[what]}")
        return [CheckResult(device.get("canonical") == args["is"],
                            f"device of {what} {args[what]}: expected {args['is']}, observed {device}")]
    if kind == "init_calls":
        calls = _get(execution, "init_calls")
        if "step" in args:
            calls = [c for c in calls if c.get("step") == args["step"]]
        names = sorted(c["name"] for c in calls)
        results = []
        if "params" in args:
            results.append(CheckResult(names == sorted(args["params"]),
                                       f"custom initializer calls{_at(args)}: expected {sorted(args['params'])}, observed {names}"))
        if "count" in args:
            results.append(CheckResult(len(calls) == args["count"],
                                       f"custom initializer calls{_at(args)}: expected {args['count']}, observed {len(calls)} {names}"))
        return results or [CheckResult(True, "init calls observed")]
    if kind == "output_matches_manual":
        return [_check_manual(args, case, execution)]
    if kind == "grad_equals_untied_sum":
        tied = _get(execution, f"param_grad:{args['param']}")
        if tied is None:
            return [CheckResult(False, f"shared gradient of {args['param']}: absent (None)")]
        untied = [ev.get(f"untied_grad:{use}") for use in use_paths(args)]
        if any(u is None or isinstance(u, EvidenceFailure) for u in untied):
            problem = ev.get("untied_problem", "")
            return [CheckResult(False, f"untied copy's gradients unavailable: {untied} {problem}")]
        expected = np.asarray(untied[0], dtype=np.float64) + np.asarray(untied[1], dtype=np.float64)
        close, detail = _closeness(np.asarray(tied), expected)
        return [CheckResult(close, f"shared gradient of {args['param']}: expected the sum of the untied copy's "
                                   f"gradients {_fmt(expected)}, observed {_fmt(np.asarray(tied))} ({detail})")]
    if kind == "roundtrip":
        saved = ev.get(f"input:{args['saved_step']}")
        loaded = _get(execution, f"value:{args['loaded']}")
        ok, detail = _same_structure(saved, loaded)
        return [CheckResult(ok, f"round trip of step {args['saved_step']} into {args['loaded']}: "
                                f"expected what was saved, observed {detail}")]
    if kind == "probe":
        result = _get(execution, f"probe:{args['name']}")
        wanted = args.get("equals", {})
        bad = {k: (v, result.get(k) if isinstance(result, dict) else None) for k, v in wanted.items()
               if not isinstance(result, dict) or result.get(k) != v}
        checks = [CheckResult(not bad, f"probe {args['name']}: expected {wanted}, observed {result}")]
        for key, text in (args.get("contains") or {}).items():
            seen = result.get(key) if isinstance(result, dict) else None
            checks.append(CheckResult(isinstance(seen, str) and text in seen,
                                      f"probe {args['name']}: {key} should contain {text!r}, observed {seen!r}"))
        return checks if "contains" not in args or wanted else checks[1:]
    raise ValueError(f"unknown expectation kind {kind}")


def _at(args):
    return f" during step {args['step']}" if "step" in args else ""


def _check_manual(args: dict, case, execution: Execution) -> CheckResult:
    name = args.get("value", "out")
    output = np.asarray(_get(execution, f"value:{name}"), dtype=np.float64)
    params = _get(execution, "all_params")
    step = args.get("input_step")
    if step is None:
        forwards = [i for i, (k, a) in enumerate(case.steps) if k == "forward" and a.get("as", "out") == name]
        if not forwards:
            return CheckResult(False, f"output_matches_manual: no forward step produced '{name}'")
        step = forwards[-1]
    x = execution.evidence.get(f"input:{step}")
    try:
        expected = evaluate(case.model, {k: np.asarray(v) for k, v in params.items()}, x)
    except (ManualUnavailable, KeyError) as exc:
        return CheckResult(False, f"output_matches_manual: cannot evaluate by hand: {exc}")
    except (ValueError, TypeError, IndexError) as exc:  # parameters of the wrong shape for this model
        return CheckResult(False, f"output_matches_manual: cannot evaluate by hand with the observed parameters: "
                                  f"{type(exc).__name__}: {exc}")
    close, detail = _closeness(output, expected.astype(np.float64))
    if not close and output.shape == expected.shape:
        close = bool(np.allclose(output, expected, rtol=1e-4, atol=1e-5))  # float32 accumulation order
    return CheckResult(close, f"output {name} vs NumPy evaluation of the model with the observed parameters: "
                              f"expected {_fmt(expected)}, observed {_fmt(output)} ({detail})")


def _same_structure(saved, loaded) -> tuple[bool, str]:
    if isinstance(saved, dict):
        if not isinstance(loaded, dict):
            return False, f"saved a dict, loaded {type(loaded).__name__}"
        if sorted(saved) != sorted(loaded):
            return False, f"keys {sorted(saved)} vs {sorted(loaded)}"
        if list(saved) != list(loaded):  # same keys, another order: sorted, or reordered by the format
            return False, f"key order {list(saved)} vs {list(loaded)}"
        for key in saved:
            ok, detail = _same_structure(saved[key], loaded[key])
            if not ok:
                return False, f"[{key!r}]: {detail}"
        return True, f"dict of {len(saved)} identical"
    if isinstance(saved, list):
        if not isinstance(loaded, (list, tuple)) or len(loaded) != len(saved):
            return False, f"saved a list of {len(saved)}, loaded {type(loaded).__name__} of {len(loaded) if hasattr(loaded, '__len__') else '?'}"
        for index, (a, b) in enumerate(zip(saved, loaded)):
            ok, detail = _same_structure(a, b)
            if not ok:
                return False, f"[{index}]: {detail}"
        return True, f"list of {len(saved)} identical"
    a, b = np.asarray(saved), np.asarray(loaded)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False, f"saved {a.dtype}{list(a.shape)}, loaded {b.dtype}{list(b.shape)}"
    if not np.array_equal(a, b):
        return False, f"values differ: {_fmt(a)} vs {_fmt(b)}"
    return True, f"{a.dtype}{list(a.shape)} identical"


def _evaluate(expectations: list[dict], case, execution: Execution) -> list[CheckResult]:
    """Every check of one outcome; an error raised by a step counts against an outcome
    that expects none, naming the error (and, through the checks, what it never produced)."""
    results: list[CheckResult] = []
    for expectation in expectations:
        results.extend(check(expectation, case, execution))
    if execution.error is not None and not any("error" in e for e in expectations):
        err = execution.error
        results.append(CheckResult(False, f"unexpected {err['type']} in phase {err['phase']} (step {err['step']}, "
                                          f"{err['step_kind']}): {err['message']}"))
    return results


@dataclass
class Verdict:
    """How one case went on one framework: status, message, which outcome held."""

    status: str
    message: str
    checks: list[dict]
    outcome: str | None = None        # the label of the outcome that held, if exactly one did
    expected: str | None = None       # the pinned (or normative) label
    outcomes: list[dict] | None = None  # per outcome: label, says, normative, held, failed


def _outcome_record(outcome, held, results) -> dict:
    return {"label": outcome.label, "says": outcome.says, "normative": outcome.normative, "held": held,
            "failed": [r.text for r in results if not r.ok]}


def _judge_partly_observable(case, expected, execution: Execution, message: str) -> Verdict:
    """Only some observations cannot be made here (e.g. values on torch's `meta` device):
    the expected outcome's checks that do not need them still run, and one that fails
    makes the case `fail`."""
    expectations = expected.expect
    checkable = [e for e in expectations if not set(needs(e, case)) & execution.skipped_keys]
    results = _evaluate(checkable, case, execution)
    checks = [{"ok": r.ok, "check": r.text, "outcome": expected.label} for r in results]
    unchecked = len(expectations) - len(checkable)
    checks.append({"ok": None, "check": f"{unchecked} expectation(s) not checked: {message}", "outcome": expected.label})
    failed = [r for r in results if not r.ok]
    outcomes = [_outcome_record(o, None, []) for o in case.outcomes]
    if failed:
        return Verdict("fail", f"[{','.join(case.behaviours)}] {expected.label}: {'; '.join(r.text for r in failed)}",
                       checks, None, expected.label, outcomes)
    return Verdict("skip", f"{message} ({len(results)} other check(s) held, {unchecked} could not run)", checks,
                   None, expected.label, outcomes)


def judge(case, framework: str, version: str, execution: Execution, components: dict | None = None) -> Verdict:
    """Evaluate every outcome of `case`; `pass` only when exactly the expected one held.

    The expected outcome is the framework's pin for its version (and components such as
    the Keras version), else the normative one. Another outcome holding is a `fail`
    naming the move; none holding lists each outcome's failing checks; two holding means
    the spec's outcomes do not tell each other apart."""
    expected = case.expected_outcome(framework, version, components)
    if execution.interruption is not None:
        status, message = execution.interruption
        if status == "skip" and execution.skipped_keys:
            return _judge_partly_observable(case, expected, execution, message)
        return Verdict(status, message, [], None, expected.label, [_outcome_record(o, None, []) for o in case.outcomes])
    behaviours = ",".join(case.behaviours)
    checks, records, held = [], [], []
    failures: dict[str, list[str]] = {}
    for outcome in case.outcomes:
        results = _evaluate(outcome.expect, case, execution)
        ok = all(r.ok for r in results)
        checks += [{"ok": r.ok, "check": r.text, "outcome": outcome.label} for r in results]
        records.append(_outcome_record(outcome, ok, results))
        failures[outcome.label] = [r.text for r in results if not r.ok]
        if ok:
            held.append(outcome)
    labels = [o.label for o in held]
    if len(held) > 1:
        return Verdict("fail", f"[{behaviours}] outcomes not distinguished: {' and '.join(labels)} {'both' if len(labels) == 2 else 'all'} held; "
                               "the spec must tell them apart", checks, None, expected.label, records)
    if held and held[0] is expected:
        return Verdict("pass", "", checks, expected.label, expected.label, records)
    if held:
        moved = held[0]
        return Verdict("fail", f"[{behaviours}] moved: {expected.label} -> {moved.label}: {framework} {version} "
                               f"now shows '{moved.says}' (pinned '{expected.label}' fails: "
                               f"{'; '.join(failures[expected.label])})", checks, moved.label, expected.label, records)
    detail = " | ".join(f"{label}: {'; '.join(texts)}" for label, texts in failures.items())
    return Verdict("fail", f"[{behaviours}] no outcome held (expected '{expected.label}'): {detail}", checks,
                   None, expected.label, records)
