"""What the expectation classes share: reading evidence, formatting values, comparing arrays.

Rule: a check never raises on odd evidence; what cannot be judged becomes a failed
`CheckResult` whose text says what was expected and what was observed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from conformance.spec.evidence import Key, ParamGrad, ParamValue, Snapshot, Value, ValueGrad

RTOL, ATOL = 1e-5, 1e-6
TARGET_KEYS = ("param", "grad", "value", "value_grad", "snapshot")


@dataclass
class CheckResult:
    ok: bool
    text: str  # "<expectation>: expected ..., observed ..."


class Missing(Exception):
    """The evidence a check needs is not there (never produced, or its observer failed)."""


class EvidenceFailure:
    """An observer raised: kept as evidence so the check can say what went wrong."""

    def __init__(self, type_name: str, message: str):
        self.type = type_name
        self.message = message

    def __repr__(self) -> str:
        return f"<{self.type}: {self.message}>"

    def to_json(self) -> dict:
        return {"observer_error": self.type, "message": self.message}


class NeverProduced(EvidenceFailure):
    """A value (or the model) that an expectation reads was never made: the step that makes
    it did not run because an earlier step raised."""

    def __init__(self, what: str, why: str):
        super().__init__("NeverProduced", f"{what} was never produced: {why}")

    def __str__(self) -> str:
        return self.message


def get(execution, key: Key):
    """The observed value for `key`; Missing when there is none or it could not be observed."""
    if key not in execution.evidence:
        raise Missing(f"nothing was observed for {key}")
    value = execution.evidence[key]
    if isinstance(value, NeverProduced):
        raise Missing(str(value))
    if isinstance(value, EvidenceFailure):
        raise Missing(f"observing {key} raised {value.type}: {value.message}")
    return value


def target_key(target: dict) -> Key:
    """The evidence key of a values target ({param: P}, {grad: P}, {value: N}, ...)."""
    if "param" in target:
        return ParamValue(target["param"])
    if "grad" in target:
        return ParamGrad(target["grad"])
    if "value" in target:
        return Value(target["value"])
    if "value_grad" in target:
        return ValueGrad(target["value_grad"])
    if "snapshot" in target:
        return Snapshot(target["snapshot"][0])
    raise ValueError(f"no target in {target}")


def target_only(mapping: dict) -> dict:
    return {k: v for k, v in mapping.items() if k in TARGET_KEYS}


def fmt(value) -> str:
    if isinstance(value, np.ndarray):
        if value.size <= 8:
            return np.array2string(value, precision=6, separator=", ").replace("\n", "")
        return f"array{list(value.shape)} mean={value.mean():.6g} min={value.min():.6g} max={value.max():.6g}"
    return repr(value)


def target_value(execution, target: dict, label: str) -> np.ndarray:
    value = get(execution, target_key(target))
    if "snapshot" in target:
        name, path = target["snapshot"]
        if path not in value:
            raise Missing(f"snapshot '{name}' has no parameter {path}")
        value = value[path]
    if value is None:
        raise Missing(f"{label} is absent (None)")
    try:
        array = np.asarray(value)
    except ValueError:  # a ragged list, e.g. what load_tensors gave back for a list of arrays
        array = None
    if array is None or array.dtype.kind not in "biuf":
        raise Missing(f"{label} is not a numeric array: observed {type(value).__name__} {fmt(value)[:200]}")
    return array


def closeness(a: np.ndarray, b: np.ndarray) -> tuple[bool, str]:
    if a.shape != b.shape:
        return False, f"shape {list(a.shape)} vs {list(b.shape)}"
    ok = bool(np.allclose(a.astype(np.float64), b.astype(np.float64), rtol=RTOL, atol=ATOL))
    diff = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0
    return ok, f"max abs diff {diff:.3g}"


def index_ok(array: np.ndarray, index: tuple) -> bool:
    return len(index) == array.ndim and all(-n <= i < n for i, n in zip(index, array.shape))


def grad_state(grad) -> str:
    if grad is None:
        return "absent"
    g = np.asarray(grad)
    return "zero" if not np.any(g) else "present"


def same_structure(saved, loaded) -> tuple[bool, str]:
    """Whether what was loaded is what was saved: keys, order, types, dtypes, shapes, values."""
    if isinstance(saved, dict):
        if not isinstance(loaded, dict):
            return False, f"saved a dict, loaded {type(loaded).__name__}"
        if sorted(saved) != sorted(loaded):
            return False, f"keys {sorted(saved)} vs {sorted(loaded)}"
        if list(saved) != list(loaded):  # same keys, another order: sorted, or reordered by the format
            return False, f"key order {list(saved)} vs {list(loaded)}"
        for key in saved:
            ok, detail = same_structure(saved[key], loaded[key])
            if not ok:
                return False, f"[{key!r}]: {detail}"
        return True, f"dict of {len(saved)} identical"
    if isinstance(saved, list):
        if not isinstance(loaded, (list, tuple)) or len(loaded) != len(saved):
            size = len(loaded) if hasattr(loaded, "__len__") else "?"
            return False, f"saved a list of {len(saved)}, loaded {type(loaded).__name__} of {size}"
        for index, (a, b) in enumerate(zip(saved, loaded)):
            ok, detail = same_structure(a, b)
            if not ok:
                return False, f"[{index}]: {detail}"
        return True, f"list of {len(saved)} identical"
    a, b = np.asarray(saved), np.asarray(loaded)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False, f"saved {a.dtype}{list(a.shape)}, loaded {b.dtype}{list(b.shape)}"
    if not np.array_equal(a, b):
        return False, f"values differ: {fmt(a)} vs {fmt(b)}"
    return True, f"{a.dtype}{list(a.shape)} identical"


def check_values(args: dict, execution) -> list[CheckResult]:
    """The checks of one `values` expectation on its target's array."""
    target = target_only(args)
    label = " ".join(f"{k} {v}" for k, v in target.items())
    x = target_value(execution, target, label)
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
                f"{np.count_nonzero(~same)} of {xf.size} differ; {fmt(x)}")
        elif check == "within":
            lo, hi = spec
            add(xf.size and xf.min() >= lo and xf.max() <= hi, "within", f"[{lo}, {hi}]",
                f"[{xf.min():.6g}, {xf.max():.6g}]" if xf.size else "empty")
        elif check in ("mean", "std"):
            expected, tol = spec
            observed = float(xf.mean() if check == "mean" else xf.std())
            add(abs(observed - expected) <= tol, check, f"{expected} ± {tol}", f"{observed:.6g}")
        elif check in ("frac_zero", "frac_nan"):
            expected, tol = spec
            hits = (xf == 0) if check == "frac_zero" else np.isnan(xf)
            observed = float(np.mean(hits)) if xf.size else float("nan")
            name = "fraction of zeros" if check == "frac_zero" else "fraction of NaN"
            add(abs(observed - expected) <= tol, name, f"{expected} ± {tol}", f"{observed:.4f}")
        elif check == "min_abs_nonzero":
            nonzero = np.abs(xf[xf != 0])
            observed = float(nonzero.min()) if nonzero.size else None
            add(observed is not None and observed >= spec, "smallest |nonzero|", f">= {spec}", observed)
        elif check == "at":
            index = tuple(spec["index"])
            observed = float(xf[index]) if index_ok(xf, index) else "index out of range"
            close = isinstance(observed, float) and bool(np.isclose(observed, spec["value"], rtol=RTOL, atol=0))
            add(close, f"value at {list(index)}", spec["value"], observed)
        elif check in ("equals", "not_equals"):
            other = target_value(execution, spec, str(spec))
            close, detail = closeness(x, other)
            want = close if check == "equals" else not close
            add(want, f"{check} {spec}", "same values" if check == "equals" else "different values",
                f"{fmt(x)} vs {fmt(other)} ({detail})")
        elif check == "equals_plus":
            other_target, delta = spec
            other = target_value(execution, other_target, str(other_target))
            close, detail = closeness(x, other.astype(np.float64) + delta)
            add(close, f"equals {other_target} + {delta}", f"{fmt(other.astype(np.float64) + delta)}",
                f"{fmt(x)} ({detail})")
        elif check == "closed_form":
            expected = closed_form(spec, execution)
            close, detail = closeness(xf, expected)
            add(close, f"closed form {spec['fn']}", fmt(expected), f"{fmt(x)} ({detail})")
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


CLOSED_FORMS = ("four_x", "head_times_four_x", "ones")


def closed_form(spec: dict, execution) -> np.ndarray:
    x = np.asarray(get(execution, Value(spec["x"])), dtype=np.float64)
    if spec["fn"] == "four_x":
        return 4 * x
    if spec["fn"] == "head_times_four_x":
        head = np.asarray(get(execution, Value(spec["head"])), dtype=np.float64)
        return head * 4 * x
    if spec["fn"] == "ones":
        return np.ones_like(x)
    raise ValueError(f"unknown closed form {spec['fn']}")
