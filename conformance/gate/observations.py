"""Comparing a case's observations with its baseline's: exact, except floats.

Rule: outcomes, statuses, shapes, dtypes, names, error types and messages and integers
compare exactly (strings with memory addresses and temporary paths scrubbed, volatile keys
ignored); floats compare within what rounding can move them (`float_tolerance`;
docs/gate.md states the rule), so another CPU or BLAS kernel never moves the gate and a 1%
change does.
"""

from __future__ import annotations

import math
import re

from conformance.results import ADDRESS as _ADDRESS

# Observation keys that change between runs without the behaviour changing.
VOLATILE_KEYS = frozenset({"duration_s", "filename", "lineno", "traceback", "workdir"})
_TEMP_PATH = re.compile(r"(?:/tmp|/var/folders|/private/var/folders)/[^\s'\"),]*")
_ABSENT = object()

# -- the float tolerance -------------------------------------------------------------------
# A float the kit records comes out of the framework's arithmetic in the array's dtype; another
# kernel (BLAS core type, SIMD width, FMA, thread count) sums in another order and may round
# each term differently: the result moves by about sqrt(terms) units in the last place (ulps)
# of the magnitudes summed (the random walk of rounding errors). The record does not say how
# many terms made each element, so the rule allows REDUCTION_TERMS, or the array's own size
# when it is larger. Every float of an array summary (mean, std, min, max, each of its values)
# is judged at the array's scale, its largest |value|: mean, std, min and max move by at most
# what an element moves.
REDUCTION_TERMS = 2**16  # sqrt: 256 ulps, 5x the largest move measured across kernels
MAX_RELATIVE = 2.0**-6  # never looser than 1/64 of the scale (low-precision dtypes)
# Machine epsilon by the width of a float dtype's name (numpy's, and ml_dtypes' bfloat16).
_EPSILON = {"16": 2.0**-10, "32": 2.0**-23, "64": 2.0**-52, "128": 2.0**-63}
_STATISTICS = frozenset({"mean", "std", "min", "max"})
_FLOAT_NAME = re.compile(r"(b?)float(\d+)")
_EXACT_KINDS = re.compile(r"(u?int\d*|bool)")
# A float outside an array summary is a scalar the framework computed: one float32 element.
SCALAR = ("float32", 1)
_EXACT = (0.0, 0.0)  # no margin (absolute, relative)


def float_tolerance(dtype: str, size: int) -> float:
    """How far (relative to the array's scale) a float of an array summary of `dtype` with
    `size` elements may move without the behaviour moving.

    sqrt(max(size, REDUCTION_TERMS)) ulps of the dtype, at most MAX_RELATIVE. Integer and
    boolean arrays are exact: their statistics are float64 sums of `size` exact terms, which
    move by at most size * 2**-52."""
    name = str(dtype)
    if _EXACT_KINDS.fullmatch(name):
        return max(size, 1) * _EPSILON["64"]
    match = _FLOAT_NAME.fullmatch(name)
    if match is None:
        epsilon = _EPSILON["16"]  # a dtype this table does not know: judge it coarsely
    elif match.group(1):  # bfloat16: float32's range, 8 bits of precision
        epsilon = 2.0**-7
    else:
        epsilon = _EPSILON.get(match.group(2), 2.0**-3)  # float8 variants: 3 bits or so
    return min(MAX_RELATIVE, math.sqrt(max(size, REDUCTION_TERMS)) * epsilon)


def diff_observations(old, new, path: str = "", _float=SCALAR) -> list[tuple[str, object, object]]:
    """(path, old, new) for each difference: exact, except floats, which may differ by their
    `float_tolerance` (an array summary's by its dtype and size, relative to its scale; any
    other float as one float32 element); strings with memory addresses and temporary paths
    scrubbed; volatile keys ignored."""
    if isinstance(old, dict) and isinstance(new, dict):
        if _is_summary(old) and _is_summary(new):
            return _diff_summary(old, new, path)
        out = []
        for key in sorted(set(old) | set(new), key=str):
            if key in VOLATILE_KEYS:
                continue
            sub = f"{path}.{key}" if path else str(key)
            out += diff_observations(old.get(key, _ABSENT), new.get(key, _ABSENT), sub, _float)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for index, (a, b) in enumerate(zip(old, new)):
            out += diff_observations(a, b, f"{path}[{index}]", _float)
        return out
    return [] if _same(old, new, _float) else [(path or "(all)", old, new)]


def _is_summary(value: dict) -> bool:
    """An array as `results.summarise` records it: shape, dtype, statistics, small values."""
    return isinstance(value.get("dtype"), str) and isinstance(value.get("shape"), list)


def _diff_summary(old: dict, new: dict, path: str) -> list[tuple[str, object, object]]:
    """Shape, dtype and frac_zero exact; the statistics and values within the float tolerance
    of the coarser dtype, at the larger of the two arrays' scales."""
    size = _size(old.get("shape")) if old.get("shape") == new.get("shape") else 0
    tolerance = max(float_tolerance(old["dtype"], size), float_tolerance(new["dtype"], size))
    scale = max(_scale(old), _scale(new))
    margin = (tolerance * scale, tolerance)  # absolute, and relative for a summary without scale
    out = []
    for key in sorted(set(old) | set(new), key=str):
        sub = f"{path}.{key}" if path else str(key)
        a, b = old.get(key, _ABSENT), new.get(key, _ABSENT)
        exact = key not in _STATISTICS and key != "values"  # shape, dtype, frac_zero
        out += diff_observations(a, b, sub, _EXACT if exact else margin)
    return out


def _size(shape) -> int:
    size = 1
    for extent in shape or []:
        size *= extent if isinstance(extent, int) and not isinstance(extent, bool) else 1
    return size


def _scale(summary: dict) -> float:
    """The largest magnitude an array summary shows (its min, max and mean), 0.0 if none."""
    magnitudes = [abs(summary[k]) for k in ("min", "max", "mean") if _is_number(summary.get(k))]
    finite = [m for m in magnitudes if math.isfinite(m)]
    return max(finite, default=0.0)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a, b, margin=SCALAR) -> bool:
    """`margin`: (dtype, size) of a float outside a summary, or (absolute, relative) inside one."""
    if a is _ABSENT or b is _ABSENT:
        return a is b
    if type(a) is float and type(b) is float:
        if a == b or (math.isnan(a) and math.isnan(b)):
            return True
        if isinstance(margin[0], str):
            allowed = float_tolerance(*margin) * max(abs(a), abs(b))
        else:
            absolute, relative = margin
            allowed = max(absolute, relative * max(abs(a), abs(b)))
        return abs(a - b) <= allowed
    if isinstance(a, str) and isinstance(b, str):
        return _scrub(a) == _scrub(b)
    return type(a) is type(b) and a == b


def _scrub(text: str) -> str:
    return _TEMP_PATH.sub("<tmp>", _ADDRESS.sub("0x…", text))


def brief(value) -> str:
    text = "absent" if value is _ABSENT else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
