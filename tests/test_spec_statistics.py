"""Every statistical check of the specs has a tolerance derived from its sample size.

Rule (specs/README.md, "Statistics: tolerances from the sample size"): for each `values`
check `mean`, `std`, `frac_zero`, `frac_nan` and each `within` that judges a drawn
distribution, this test recomputes from the case itself the sample size n (the parameter's
shape from the model, the input's shape, the draw's shape) and the distribution the target
has under the outcome (the case's own initializer, dropout rate or draw; for an outcome that
names a framework's default, that default), then asserts:

1. noise: the tolerance, less the distance between the check's centre and the exact value,
   is at least K standard errors of the statistic (K = 5: a true draw fails a check with
   probability < 1e-6, normal approximation). The standard error of a mean is s/sqrt(n), of
   a standard deviation sqrt((mu4 - s^4) / (4 s^2 n)) (s/sqrt(2n) for a normal), of a
   fraction sqrt(p(1-p)/n). A `within` (or `min_abs_nonzero`) holds the true support or, for
   an unbounded distribution, leaves n * P(outside) < 1e-6.
2. exclusion: every alternative that ALTERNATIVES lists for the target's kind of draw (slope
   ignored, std taken as variance, a bound without its factor, fan_in vs fan_out, dropout
   rate p vs 1-p, a shifted draw, ...) fails at least one check of the same target with
   probability > 1 - 1e-6: its statistic lies beyond the tolerance by K of ITS standard
   errors, or it leaves the `within` (`min_abs_nonzero`) somewhere in n draws.
3. no looser than the alternatives: each check excludes, on its own, every listed
   alternative that a check of its kind could exclude at this sample size (so a tolerance
   loosened past an alternative fails here even where another check also catches it); a
   check that tells no listed alternative apart stays within CAP times its noise floor.

Checks that judge no random draw (a centred layer's mean, a gradient that is exactly zero or
nowhere zero, the NaN of a rate of 1, FancyMLP's output range) are listed in EXACT with the
reason; a statistical check that is neither derivable here nor listed fails the test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance.spec import load_specs
from conformance.spec.vocabulary import init_kind

REPO = Path(__file__).resolve().parent.parent
K = 5.0  # standard errors: a two-sided normal tail of 5.7e-7 < P_MAX
P_MAX = 1e-6  # per check: a true draw failing it, or an alternative passing it
CAP = 2.0  # a check that tells no listed alternative apart stays within CAP x its noise floor
STAT_KEYS = ("mean", "std", "frac_zero", "frac_nan", "within")
TRUNC_STD = 0.87962566103423978  # std of N(0, 1) truncated at +-2 (jax variance_scaling)


class Unclassified(Exception):
    """A target this test cannot derive a distribution for."""


# -- distributions ---------------------------------------------------------------------------
def _phi(z: float) -> float:
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2))


@dataclass(frozen=True)
class Part:
    """One component of a mixture: a point, a uniform interval, a normal, or a normal
    truncated at +-cut standard deviations of the underlying normal (sd)."""

    weight: float
    kind: str  # point | uniform | normal | tnormal
    a: float  # point: the value; uniform: low; (t)normal: the mean
    b: float = 0.0  # uniform: high; (t)normal: the sd of the (underlying) normal
    cut: float = 2.0

    def raw(self, j: int) -> float:
        """E[x^j], j = 1..4."""
        if self.kind == "point":
            return self.a ** j
        if self.kind == "uniform":
            lo, hi = self.a, self.b
            return (hi ** (j + 1) - lo ** (j + 1)) / ((j + 1) * (hi - lo))
        mu, s = self.a, self.b
        if self.kind == "normal":
            m2, m4 = s * s, 3 * s ** 4
        else:
            c, z = self.cut, 2 * _cdf(self.cut) - 1
            m2 = s * s * (1 - 2 * c * _phi(c) / z)
            m4 = s ** 4 * (3 - 2 * c * (c * c + 3) * _phi(c) / z)
        return {1: mu, 2: mu ** 2 + m2, 3: mu ** 3 + 3 * mu * m2,
                4: mu ** 4 + 6 * mu ** 2 * m2 + m4}[j]

    def p_inside(self, lo: float, hi: float) -> float:
        """P(lo <= x <= hi)."""
        if self.kind == "point":
            return float(lo <= self.a <= hi)
        if self.kind == "uniform":
            return max(0.0, min(self.b, hi) - max(self.a, lo)) / (self.b - self.a)
        zl, zh = (lo - self.a) / self.b, (hi - self.a) / self.b
        if self.kind == "normal":
            return max(0.0, _cdf(zh) - _cdf(zl))
        zl, zh = max(zl, -self.cut), min(zh, self.cut)
        return max(0.0, _cdf(zh) - _cdf(zl)) / (2 * _cdf(self.cut) - 1)

    def p_outside(self, lo: float, hi: float) -> float:
        """P(x < lo or x > hi), from the tails for a normal (exact where it is tiny)."""
        if self.kind == "normal":
            zl, zh = (lo - self.a) / self.b, (hi - self.a) / self.b
            return 0.5 * math.erfc(-zl / math.sqrt(2)) + 0.5 * math.erfc(zh / math.sqrt(2))
        return max(0.0, 1.0 - self.p_inside(lo, hi))

    def support(self) -> tuple[float, float]:
        if self.kind == "point":
            return self.a, self.a
        if self.kind == "uniform":
            return self.a, self.b
        if self.kind == "tnormal":
            return self.a - self.cut * self.b, self.a + self.cut * self.b
        return -math.inf, math.inf


@dataclass(frozen=True)
class Dist:
    """A mixture of parts: what a statistic of n independent draws of it looks like."""

    name: str
    parts: tuple[Part, ...]

    def _raw(self, j):
        return sum(p.weight * p.raw(j) for p in self.parts)

    @property
    def mean(self) -> float:
        return self._raw(1)

    @property
    def var(self) -> float:
        return max(0.0, self._raw(2) - self.mean ** 2)

    @property
    def mu4(self) -> float:
        m = self.mean
        return self._raw(4) - 4 * m * self._raw(3) + 6 * m * m * self._raw(2) - 3 * m ** 4

    @property
    def p_zero(self) -> float:
        return sum(p.weight for p in self.parts if p.kind == "point" and p.a == 0)

    def value(self, stat: str) -> float:
        return {"mean": self.mean, "std": math.sqrt(self.var), "frac_zero": self.p_zero,
                "frac_nan": 0.0}[stat]

    def sigma(self, stat: str) -> float:
        """The standard deviation of the statistic for one draw (divide by sqrt(n))."""
        if stat == "mean":
            return math.sqrt(self.var)
        if stat == "std":
            if self.var == 0:
                return 0.0
            return math.sqrt(max(0.0, self.mu4 - self.var ** 2) / (4 * self.var))
        p = self.value(stat)
        return math.sqrt(p * (1 - p))

    def p_outside(self, lo, hi) -> float:
        return sum(p.weight * p.p_outside(lo, hi) for p in self.parts)

    def p_small(self, c) -> float:
        """P(0 < |x| < c): what `min_abs_nonzero: c` forbids."""
        return sum(p.weight * (float(0 < abs(p.a) < c) if p.kind == "point" else p.p_inside(-c, c))
                   for p in self.parts)

    def support(self) -> tuple[float, float]:
        ends = [p.support() for p in self.parts]
        return min(e[0] for e in ends), max(e[1] for e in ends)


def uniform(name, lo, hi) -> Dist:
    return Dist(name, (Part(1.0, "uniform", lo, hi),))


def normal(name, mu, s) -> Dist:
    return Dist(name, (Part(1.0, "normal", mu, s),))


def points(name, table: dict) -> Dist:
    return Dist(name, tuple(Part(w, "point", v) for v, w in table.items() if w > 0))


def zeroed_below(name, lo, hi, cut, *, keep_small=False, signed=False) -> Dist:
    """U(lo, hi), then zero every entry with |w| < cut (w < cut when signed; every entry with
    |w| >= cut when keep_small)."""
    keep = [(lo, min(hi, -cut)), (max(lo, cut), hi)] if not signed else [(max(lo, cut), hi)]
    if keep_small:
        keep = [(max(lo, -cut), min(hi, cut))]
    parts = [Part((b - a) / (hi - lo), "uniform", a, b) for a, b in keep if b > a]
    kept = sum(p.weight for p in parts)
    return Dist(name, tuple(parts) + ((Part(1 - kept, "point", 0.0),) if kept < 1 else ()))


def _sym(name, bound) -> Dist:
    return uniform(name, -bound, bound)


def _tnormal(name, sd_under) -> Dist:
    return Dist(name, (Part(1.0, "tnormal", 0.0, sd_under, 2.0),))


def _same(a: Dist, b: Dist) -> bool:
    """The same law for every check here: moments, zeros and support (an alternative equal to
    the truth, 1 - p for p = 0.5 or fan_out for a square weight, is no alternative)."""
    def close(x, y):
        return x == y or math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)

    return (all(close(a.value(s), b.value(s)) for s in ("mean", "std", "frac_zero"))
            and all(close(x, y) for x, y in zip(a.support(), b.support())))


# -- each kind of draw and its nearest wrong parameters ---------------------------------------
def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a canonical (out, in, *kernel) shape."""
    area = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * area, shape[0] * area


def xavier_bound(fan_in, fan_out, magnitude=3.0, factor="avg") -> float:
    f = {"avg": (fan_in + fan_out) / 2, "in": fan_in, "out": fan_out}[factor]
    return math.sqrt(magnitude / f)


def _xavier(c, magnitude=3.0, factor="avg"):
    return _sym("", xavier_bound(c.fan_in, c.fan_out, magnitude, factor))


def _msra_sd(c, fan, squared=True, slope=None) -> float:
    slope = c.slope if slope is None else slope
    return math.sqrt(2 / ((1 + (slope ** 2 if squared else slope)) * fan))


def _kernel(c) -> bool:
    return len(c.shape) > 2


def _dropout(name, c, rates, scaled=True) -> Dist:
    keep = math.prod(1 - r for r in rates)
    scale = 1 / keep if scaled and keep > 0 else 1.0
    return points(name, {0.0: 1 - keep, c.value * scale: keep})


# What each kind of draw is (TRUTH) and its nearest plausible wrong parameters (ALTERNATIVES),
# as functions of the draw's context `c` (arguments, shape and fans; a dropout's rates and the
# value it masks). An alternative that does not apply gives None; one equal to the truth is
# dropped.
TRUTH = {
    "uniform": lambda c: uniform(f"U({c.lo}, {c.hi})", c.lo, c.hi),
    "normal": lambda c: normal(f"N({c.mu}, {c.s})", c.mu, c.s),
    "xavier": lambda c: _sym(f"xavier: U(+-sqrt(6/(in+out))) = "
                             f"{xavier_bound(c.fan_in, c.fan_out):.4g}",
                             xavier_bound(c.fan_in, c.fan_out)),
    "msra": lambda c: normal(f"msra: N(0, sqrt(2/((1+{c.slope}^2) fan_in))) = "
                             f"{_msra_sd(c, c.fan_in):.4g}", 0.0, _msra_sd(c, c.fan_in)),
    "zero_small": lambda c: zeroed_below("zero_small: U(-10, 10), |w| < 5 zeroed", -10, 10, 5),
    "torch-weight": lambda c: _sym(f"torch: U(+-1/sqrt(fan_in)) = {c.fan_in ** -0.5:.4g}",
                                   c.fan_in ** -0.5),
    "torch-bias": lambda c: _sym(f"torch bias: U(+-1/sqrt(fan_in)) = {c.fan_in ** -0.5:.4g}",
                                 c.fan_in ** -0.5),
    "flax-weight": lambda c: _tnormal(f"lecun_normal: TN(+-2), std {c.fan_in ** -0.5:.4g}",
                                      c.fan_in ** -0.5 / TRUNC_STD),
    "randn": lambda c: normal("randn: N(0, 1)", 0.0, 1.0),
    "surviving-default": lambda c: c.default,
    "dropout": lambda c: _dropout(f"dropout {c.rates} of {c.value}", c, c.rates),
    "draw": lambda c: uniform(f"U({c.lo}, {c.hi})", c.lo, c.hi),
}
ALTERNATIVES = {
    "uniform": [
        ("U(0, high): a [0, scale) draw (jax.nn.initializers.uniform)",
         lambda c: uniform("", 0.0, c.hi)),
        ("U(10 low, 10 high): the scale off by ten (0.7 for 0.07)",
         lambda c: uniform("", 10 * c.lo, 10 * c.hi)),
    ],
    "normal": [
        ("N(mu, sqrt(sigma)): sigma read as the variance", lambda c: normal("", c.mu, c.s ** 0.5)),
        ("N(mu, sigma^2): the variance drawn as the std", lambda c: normal("", c.mu, c.s * c.s)),
        ("N(sigma, 1): sigma passed as the mean (torch normal_(w, sigma))",
         lambda c: normal("", c.s, 1.0)),
        ("N(0, sigma): the mean dropped", lambda c: normal("", 0.0, c.s) if c.mu else None),
    ],
    "xavier": [
        ("sqrt(3/(in+out)): the bound without its factor 2", lambda c: _xavier(c, 1.5)),
        ("sqrt(2/(in+out)): glorot normal's std used as the bound", lambda c: _xavier(c, 1.0)),
        ("sqrt(3/fan_in): factor_type in", lambda c: _xavier(c, 3.0, "in")),
        ("sqrt(3/fan_out): factor_type out", lambda c: _xavier(c, 3.0, "out")),
        ("N(0, bound/sqrt(3)): rnd_type gaussian with the same variance",
         lambda c: normal("", 0.0, xavier_bound(c.fan_in, c.fan_out) / math.sqrt(3))),
        ("the kernel area left out of the fans",
         lambda c: _sym("", xavier_bound(c.shape[1], c.shape[0])) if _kernel(c) else None),
    ],
    "msra": [
        ("slope ignored: sqrt(2/fan_in)",
         lambda c: normal("", 0.0, _msra_sd(c, c.fan_in, slope=0))),
        ("slope not squared: sqrt(2/((1+slope) fan_in))",
         lambda c: normal("", 0.0, _msra_sd(c, c.fan_in, squared=False))),
        ("factor_type avg (MSRAPrelu's default): the average fan",
         lambda c: normal("", 0.0, _msra_sd(c, (c.fan_in + c.fan_out) / 2))),
        ("fan_out instead of fan_in", lambda c: normal("", 0.0, _msra_sd(c, c.fan_out))),
        ("the kernel area left out of fan_in",
         lambda c: normal("", 0.0, _msra_sd(c, c.shape[1])) if _kernel(c) else None),
    ],
    "zero_small": [
        ("U(0, 10), then zeroed: a one-sided draw (mean 3.75)",
         lambda c: zeroed_below("", 0, 10, 5)),
        ("|w| >= 5 zeroed instead: the condition inverted",
         lambda c: zeroed_below("", -10, 10, 5, keep_small=True)),
        ("w < 5 zeroed: abs() forgotten", lambda c: zeroed_below("", -10, 10, 5, signed=True)),
        ("U(-10, 10), nothing zeroed", lambda c: uniform("", -10, 10)),
    ],
    "torch-weight": [
        ("U(+-1/sqrt(fan_out)): fan_out instead of fan_in", lambda c: _sym("", c.fan_out ** -0.5)),
        ("kaiming's a ignored (a=0, gain sqrt(2)): U(+-sqrt(6/fan_in))",
         lambda c: _sym("", math.sqrt(6 / c.fan_in))),
    ],
    "torch-bias": [
        ("U(+-1/sqrt(fan_out)): fan_out instead of fan_in", lambda c: _sym("", c.fan_out ** -0.5)),
        ("zeros: the bias not drawn", lambda c: points("", {0.0: 1.0})),
    ],
    "flax-weight": [
        ("fan_out instead of fan_in", lambda c: _tnormal("", c.fan_out ** -0.5 / TRUNC_STD)),
        ("truncated without the std correction (0.88 of the std)",
         lambda c: _tnormal("", c.fan_in ** -0.5)),
        ("untruncated N(0, sqrt(1/fan_in))", lambda c: normal("", 0.0, c.fan_in ** -0.5)),
        ("he_normal: sqrt(2/fan_in)", lambda c: normal("", 0.0, math.sqrt(2 / c.fan_in))),
    ],
    "randn": [
        ("U(0, 1): rand instead of randn", lambda c: uniform("", 0.0, 1.0)),
        ("U(-0.07, 0.07): Gluon's default", lambda c: uniform("", -0.07, 0.07)),
    ],
    # a default the initializer skipped (torch: an init function that sets the weight only, or
    # a lazy layer it never saw): the subject is that the default stayed
    "surviving-default": [
        ("zeros: the parameter reset", lambda c: points("", {0.0: 1.0})),
        ("the skipped initializer applied after all", lambda c: c.skipped),
    ],
    "dropout": [
        ("the keep probability read as the rate (1 - p)",
         lambda c: _dropout("", c, [1 - r for r in c.rates]) if max(c.rates) < 1 else None),
        ("the mask applied twice", lambda c: _dropout("", c, c.rates + c.rates)),
        ("kept values not rescaled by 1/(1 - p)", lambda c: _dropout("", c, c.rates, False)),
        ("no dropout (predict mode)", lambda c: points("", {c.value: 1.0})),
        ("one dropout layer only",
         lambda c: _dropout("", c, c.rates[:1]) if len(c.rates) > 1 else None),
    ],
    "draw": [
        ("U(0, 1): the bounds ignored", lambda c: uniform("", 0.0, 1.0)),
        ("U(0, high): low ignored", lambda c: uniform("", min(0.0, c.hi), max(0.0, c.hi))),
        ("U(low, low + high): high read as the width",
         lambda c: uniform("", min(c.lo, c.lo + c.hi), max(c.lo, c.lo + c.hi))),
    ],
}


def law(kind: str, **context) -> tuple[Dist, list[Dist]]:
    """(the truth, its alternatives) of one kind of draw in one context."""
    c = SimpleNamespace(**context)
    true = TRUTH[kind](c)
    alts = []
    for name, make in ALTERNATIVES[kind]:
        alt = make(c)
        if alt is not None and not _same(alt, true):
            alts.append(Dist(name, alt.parts))
    return true, alts


def draw_of(form, is_bias: bool, weight_shape) -> tuple[Dist, list[Dist]]:
    """(the distribution, its alternatives) of a parameter under an initializer form, or a
    framework default (`("default", {"family": ...})`)."""
    kind, args = form
    fan_in, fan_out = fans(weight_shape)
    ctx = {"shape": list(weight_shape), "fan_in": fan_in, "fan_out": fan_out}
    if kind == "uniform":
        return law("uniform", lo=args.get("low", -0.07), hi=args.get("high", 0.07))
    if kind == "normal":
        return law("normal", mu=args.get("mean", 0.0), s=args.get("sigma", 0.01))
    if kind == "xavier":
        return law("xavier", **ctx)
    if kind == "msra":
        return law("msra", slope=args.get("slope", 0.25), **ctx)
    if kind == "custom" and args.get("name") == "zero_small":
        return law("zero_small")
    if kind == "default":
        family = args["family"]
        if family == "randn":
            return law("randn")
        if is_bias and family != "torch":
            raise Unclassified(f"{family}'s default bias is zeros: no statistic")
        if family == "mxnet":
            return law("uniform", lo=-0.07, hi=0.07)
        if family == "keras":
            return law("xavier", **ctx)
        if family == "flax":
            return law("flax-weight", **ctx)
        return law("torch-bias" if is_bias else "torch-weight", **ctx)
    raise Unclassified(f"no distribution for initializer {kind}")


# Outcome labels that name a framework's default initializer: which default.
DEFAULT_OUTCOMES = {
    "uniform-0-07": "mxnet",
    "kaiming-uniform": "torch",
    "glorot-uniform-zero-bias": "keras",
    "glorot-uniform": "keras",
    "lecun-normal-zero-bias": "flax",
    "randn": "randn",
}
# Outcomes where a framework's default survives an initializer that skipped the parameter:
# (the default, which parameters).
SURVIVING_DEFAULT_OUTCOMES = {
    "init-function-skips-lazy-layers": ("torch", "weight"),
    "bias-untouched": ("torch", "bias"),
}


# -- the case's draws --------------------------------------------------------------------------
def _first_input_shape(case) -> list[int] | None:
    for kind, args in case.steps:
        if kind == "forward":
            gen = args["input"]
            return list(gen[next(k for k in gen if k in ("uniform", "normal", "ones", "zeros"))])
    return None


def param_shapes(case) -> dict[str, tuple[list[int], dict | None]]:
    """Canonical path -> (shape, the layer's own `init` form or None); a deferred input size
    comes from the first forward's input."""
    out: dict[str, tuple[list[int], dict | None]] = {}
    inp = _first_input_shape(case)
    feat = [inp[-1] if inp else None]

    def walk(spec, prefix):
        kind = next(k for k in spec if k != "as")
        args = spec[kind]
        if kind in ("sequential", "my_sequential"):
            for i, child in enumerate(args):
                walk(child, f"{prefix}{i}.")
        elif kind == "dense":
            own = args.get("init") or {}
            fan_in = args.get("in_units", feat[0])
            out[prefix + "weight"] = ([args["units"], fan_in], own.get("weight"))
            out[prefix + "bias"] = ([args["units"]], own.get("bias"))
            feat[0] = args["units"]
        elif kind == "mlp":
            out[prefix + "hidden.weight"] = ([256, args.get("in_units", feat[0])], None)
            out[prefix + "hidden.bias"] = ([256], None)
            out[prefix + "output.weight"] = ([10, 256], None)
            out[prefix + "output.bias"] = ([10], None)
            feat[0] = 10
        elif kind == "param_dict":
            for name, shape in args["params"].items():
                out[prefix + name] = (list(shape), None)
        elif kind == "flatten":
            feat[0] = math.prod(inp[1:]) if inp else None
        elif kind not in ("relu", "dropout", "centered"):
            raise Unclassified(f"model kind {kind}")

    walk(case.model, "")
    return out


def _covers(target: str | None, path: str) -> bool:
    return target is None or path == target or path.startswith(target + ".")


def param_draw(case, label: str, path: str) -> tuple[Dist, list[Dist], int]:
    shapes = param_shapes(case)
    shape, own = shapes[path]
    is_bias = path.endswith("bias")
    weight_shape = shapes[path[: -len("bias")] + "weight"][0] if is_bias else shape
    n = math.prod(shape)
    if label in DEFAULT_OUTCOMES:
        family = DEFAULT_OUTCOMES[label]
        return (*draw_of(("default", {"family": family}), is_bias, weight_shape), n)
    form, skipped = None, None
    for kind, args in case.steps:
        if kind == "initialize" and _covers(args.get("target"), path):
            skipped = init_kind(args.get("init"))
            if skipped[0] == "custom" and is_bias:
                continue  # a custom _init_weight reaches weights only
            form = skipped
    if own is not None:
        form = init_kind(own)  # a layer's own initializer wins over the global one
    surviving = SURVIVING_DEFAULT_OUTCOMES.get(label)
    if surviving and surviving[1] == ("bias" if is_bias else "weight"):
        default, _ = draw_of(("default", {"family": surviving[0]}), is_bias, weight_shape)
        # the skipped initializer on this parameter, where it needs no fans of its own
        fanless = skipped and skipped[0] in ("uniform", "normal", "custom")
        skipped_draw = draw_of(skipped, False, weight_shape)[0] if fanless else None
        return (*law("surviving-default", default=default, skipped=skipped_draw), n)
    if form is None or form[0] == "default":
        if label != case.normative.label:
            raise Unclassified(f"outcome {label}: which default draws {path}?")
        form = ("default", {"family": "mxnet"})  # the notes' (Gluon's) default
    return (*draw_of(form, is_bias, weight_shape), n)


def dropout_draw(case, target: dict) -> tuple[Dist, list[Dist], int]:
    """Dropout on a ones input, alone or after a Dense with ones weights and zero bias."""
    model = case.model
    layers = model["sequential"] if "sequential" in model else [model]
    kinds = [next(k for k in layer if k != "as") for layer in layers]
    if any(k not in ("dense", "dropout") for k in kinds):
        raise Unclassified(f"dropout model {kinds}")
    if "ones" not in next(a["input"] for k, a in case.steps if k == "forward"):
        raise Unclassified("dropout on an input that is not ones")
    inp = _first_input_shape(case)
    rates = [layer["dropout"]["rate"] for layer in layers if "dropout" in layer]
    value, width, batch = 1.0, inp[-1], math.prod(inp[:-1])
    if kinds[0] == "dense":
        dense = layers[0]["dense"]
        if dense.get("init") != {"weight": {"ones": {}}, "bias": {"zeros": {}}}:
            raise Unclassified("dropout after a Dense that is not ones/zeros")
        value, width = float(dense["in_units"]), dense["units"]
    if "value" in target:
        return (*law("dropout", rates=rates, value=value), batch * width)
    # a gradient through the mask (loss sum, ones input): per unit, mask / (1 - p)
    if batch != 1:
        raise Unclassified("a dropout gradient over a batch: a sum of masks")
    return (*law("dropout", rates=rates, value=1.0), width)


def random_draw(case, name: str) -> tuple[Dist, list[Dist], int]:
    args = next(a for k, a in case.steps if k == "random" and a.get("as") == name)
    n = math.prod(args.get("shape") or [1])
    return (*law("draw", lo=args.get("low", 0.0), hi=args.get("high", 1.0)), n)


# Checks that judge no random draw: (case id, target) -> why.
_FANCY = "FancyMLP's output: a range on a computed scalar (issue 21 item 5 observes it)"
_CENTRED = "x - mean(x) has mean 0 up to rounding"
EXACT = {
    ("notes-rng-uniform-no-arguments", "value r"):
        "one draw: the case checks its shape; `within` is the support",
    ("notes-rng-uniform-range-and-shape", "value m"):
        "four draws checked for shape and support; the distribution is judged on `many`",
    ("fancy-mlp-returns-scalar", "value out"): _FANCY,
    ("notes-fancy-mlp-000-unrecorded", "value out"): _FANCY,
    ("notes-fixed-hidden-mlp-001", "value out"): _FANCY,
    ("notes-fancy-mlp-003", "value out"): _FANCY,
    ("notes-fancy-mlp-004-nested", "value out"): _FANCY,
    ("strength-fancy-mlp-halves-until-norm-below-one", "value out"): _FANCY,
    ("strength-fancy-mlp-halving-loop-on-a-batch-of-four", "value out"): _FANCY,
    ("strength-fancy-mlp-runs-on-the-second-device", "value out"): _FANCY,
    ("strength-fancy-mlp-moved-after-a-first-run", "value out"): _FANCY,
    ("centered-layer-subtracts-mean", "value out"): _CENTRED,
    ("centered-after-dense-mean-zero", "value out"): _CENTRED,
    ("centered-after-linear-mean-zero", "value out"): _CENTRED,
    ("centered-after-flatten-dense", "value out"): _CENTRED,
    ("centered-layer-backward-gives-zero-gradient", "grad 0.bias"):
        "the gradient of sum(x - mean(x)) is 0",
    ("centered-layer-backward-gives-zero-gradient", "grad 0.weight"):
        "the gradient of sum(x - mean(x)) is 0",
    ("centered-layer-backward-with-head", "grad 0.bias"):
        "the bias gradient sums head - mean(head): 0 up to rounding",
    ("data-read-cuts-gradient", "grad 0.weight"):
        "a gradient of ones-initialized layers: nowhere zero",
    ("data-read-gluon-keeps-gradient", "grad 1.weight"):
        "a gradient of ones-initialized layers: nowhere zero",
    ("data-read-first-layer-gets-no-gradient", "grad 1.weight"):
        "a gradient of ones-initialized layers: nowhere zero",
    ("my-dense-gradient-reaches-its-parameters", "grad weight"):
        "the sum of two inputs in [0.5, 1]: in [1, 2]",
    ("dropout-all-in-training", "value out"): "rate 1: every element is 0 * 1/0 = NaN, no draw",
    ("strength3-dropout-one-after-a-dense-layer-zeros-output-and-gradient", "value out"):
        "rate 1: every element is 0 * 1/0 = NaN, no draw",
    ("strength-load-init-default-for-the-middle-layer", "param 0.weight"):
        "values loaded from a saved U(1, 2) tensor: `within` is that tensor's exact range",
    ("strength2-dense-then-dropout-keeps-float32", "grad 0.bias"):
        "a sum of three masks times 1.25: `within` is its exact range [0, 3.75]",
}


# -- the checks ------------------------------------------------------------------------------
@dataclass
class Target:
    case: object
    label: str
    key: str  # "param 0.weight"
    checks: dict  # check -> spec, merged over the outcome's `values` on this target


@cache
def _cases():
    return tuple(load_specs([str(REPO / "specs")]))


def targets() -> list[Target]:
    found: dict[tuple, Target] = {}
    for case in _cases():
        for outcome in case.outcomes:
            for expectation in outcome.expect:
                args = expectation.get("values")
                if not args or not any(k in args for k in STAT_KEYS):
                    continue
                what = next(k for k in ("param", "grad", "value", "value_grad", "snapshot")
                            if k in args)
                key = f"{what} {args[what]}"
                t = found.setdefault((case.id, outcome.label, key),
                                     Target(case, outcome.label, key, {}))
                for check in (*STAT_KEYS, "min_abs_nonzero"):
                    if check in args:
                        assert check not in t.checks, f"{case.id} {key}: {check} twice"
                        t.checks[check] = args[check]
    return list(found.values())


def resolve(t: Target) -> tuple[Dist, list[Dist], int]:
    """(the target's distribution under its outcome, its alternatives, n)."""
    what, _, name = t.key.partition(" ")
    model = t.case.model or {}
    if "dropout" in model or any("dropout" in layer for layer in model.get("sequential", [])):
        return dropout_draw(t.case, {what: name})
    if what == "param":
        return param_draw(t.case, t.label, name)
    if what == "value" and any(k == "random" and a.get("as") == name for k, a in t.case.steps):
        return random_draw(t.case, name)
    raise Unclassified(f"{t.key}: no random draw this test knows")


def noise(d: Dist, stat: str, n: int) -> float:
    """K standard errors of the statistic over n draws of d."""
    return K * d.sigma(stat) / math.sqrt(n)


def _tail_z(p: float) -> float:
    """z with P(Z > z) = p (bisection)."""
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if 0.5 * math.erfc(mid / math.sqrt(2)) > p else (lo, mid)
    return (lo + hi) / 2


def within_floor(d: Dist, n: int) -> tuple[float, float]:
    """The narrowest bounds that n true draws all stay inside with probability > 1 - P_MAX."""
    lo, hi = d.support()
    if math.isinf(lo) or math.isinf(hi):
        (part,) = d.parts
        z = _tail_z(P_MAX / (2 * n))
        lo, hi = part.a - z * part.b, part.a + z * part.b
    return lo, hi


def excluded_by(check: str, spec, alt: Dist, n: int) -> bool:
    """The alternative fails this check with probability > 1 - P_MAX."""
    if check in ("within", "min_abs_nonzero"):
        p = alt.p_outside(*spec) if check == "within" else alt.p_small(spec)
        return p >= 1 or n * math.log1p(-p) < math.log(P_MAX)
    centre, tol = spec
    distance = abs(alt.value(check) - centre)
    return distance > tol and distance - tol >= noise(alt, check, n)


def problems(t: Target, resolved=None) -> list[str]:
    """What breaks the rule on one target: noise, exclusion, looseness."""
    true, alts, n = resolved or resolve(t)
    out = []
    for check, spec in t.checks.items():
        if check == "min_abs_nonzero":
            if n * true.p_small(spec) > P_MAX:
                out.append(f"min_abs_nonzero {spec}: a true draw ({true.name}) fails it")
        elif check == "within":
            lo, hi = spec
            if n * true.p_outside(lo, hi) > P_MAX:
                out.append(f"within {spec}: {n} true draws ({true.name}) leave it with "
                           f"probability {n * true.p_outside(lo, hi):.2g} > {P_MAX:g}")
            floor = within_floor(true, n)
            separable = [a for a in alts if excluded_by("within", floor, a, n)]
            loose = [a.name for a in separable if not excluded_by("within", spec, a, n)]
            if loose:
                out.append(f"within {spec}: lets through {loose}, which "
                           f"[{floor[0]:.4g}, {floor[1]:.4g}] excludes")
            if not separable and (hi - lo) > CAP * (floor[1] - floor[0]):
                out.append(f"within {spec}: tells no alternative apart and is wider than "
                           f"{CAP:g} x [{floor[0]:.4g}, {floor[1]:.4g}]")
        else:
            centre, tol = spec
            offset = abs(centre - true.value(check))
            floor = noise(true, check, n) + offset
            if tol < floor:
                out.append(f"{check} {spec}: tolerance below the noise: needs >= {floor:.3g} "
                           f"(K={K:g} x {true.sigma(check):.4g}/sqrt({n}) + centre offset "
                           f"{offset:.2g}; {true.name})")
            # the alternatives this check could exclude at this n, and its largest tolerance
            margins = {a.name: (abs(a.value(check) - centre) - noise(a, check, n), a.value(check))
                       for a in alts if abs(a.value(check) - true.value(check)) > 1e-9}
            separable = {name: m for name, m in margins.items() if m[0] >= floor}
            if separable:
                nearest = min(separable, key=lambda name: separable[name][0])
                if tol > separable[nearest][0]:
                    most, value = separable[nearest]
                    out.append(f"{check} {spec}: tolerance lets through '{nearest}' ({check} "
                               f"{value:.4g}): needs <= {most:.3g}")
            elif tol > CAP * floor:
                out.append(f"{check} {spec}: tells no listed alternative apart and exceeds "
                           f"{CAP:g} x its noise floor {floor:.3g}")
    for alt in alts:
        if not any(excluded_by(check, spec, alt, n) for check, spec in t.checks.items()):
            out.append(f"no check excludes the alternative '{alt.name}' (n={n}; mean "
                       f"{alt.mean:.4g}, std {math.sqrt(alt.var):.4g}, frac_zero {alt.p_zero:.3g})")
    return out


TARGETS = targets()
STATISTICAL = [t for t in TARGETS if (t.case.id, t.key) not in EXACT]


@pytest.mark.parametrize("target", STATISTICAL,
                         ids=[f"{t.case.id}::{t.label}::{t.key}" for t in STATISTICAL])
def test_tolerance_from_sample_size(target):
    try:
        found = problems(target)
    except Unclassified as why:
        pytest.fail(f"{target.case.id} [{target.label}] {target.key}: cannot derive its "
                    f"distribution ({why}); derive it here or list the check in EXACT")
    assert not found, (f"{target.case.id} [{target.label}] {target.key} {target.checks}:\n  "
                       + "\n  ".join(found))


def test_exact_entries_name_existing_checks():
    keys = {(t.case.id, t.key) for t in TARGETS}
    stale = [k for k in EXACT if k not in keys]
    assert not stale, f"EXACT names checks the specs no longer have: {stale}"


def test_every_kind_of_draw_has_alternatives():
    assert set(TRUTH) == set(ALTERNATIVES) and all(ALTERNATIVES.values())


def test_rule_catches_a_loosened_and_a_tightened_tolerance():
    """default-init-dense's U(-0.07, 0.07) on 5120 draws: std 0.0404 has se 0.00025."""
    resolved = (*law("uniform", lo=-0.07, hi=0.07), 256 * 20)

    def target(std_tol):
        checks = {"within": [-0.07, 0.07], "mean": [0, 0.005], "std": [0.0404, std_tol]}
        return Target(None, "uniform-0-07", "param 0.weight", checks)

    assert problems(target(0.002), resolved) == []
    assert any("below the noise" in p for p in problems(target(0.0008), resolved))
    assert any("lets through 'U(0, high)" in p for p in problems(target(0.03), resolved))


def test_the_statistics_are_right():
    """Moments and standard errors against closed forms."""
    u = uniform("u", -1, 1)
    assert math.isclose(u.var, 1 / 3) and math.isclose(u.mu4, 1 / 5)
    assert math.isclose(u.sigma("std"), math.sqrt((1 / 5 - 1 / 9) / (4 / 3)))
    assert math.isclose(normal("g", 0, 2).sigma("std"), 2 / math.sqrt(2))
    assert math.isclose(math.sqrt(_tnormal("t", 1 / TRUNC_STD).var), 1.0, rel_tol=1e-9)
    z = zeroed_below("z", -10, 10, 5)
    assert math.isclose(z.p_zero, 0.5) and math.isclose(z.mean, 0, abs_tol=1e-12)
    assert math.isclose(zeroed_below("z", 0, 10, 5).mean, 3.75)
    d = points("d", {0.0: 0.2, 1.25: 0.8})
    assert math.isclose(d.mean, 1.0) and math.isclose(d.sigma("frac_zero"), 0.4)
    assert math.isclose(_tail_z(0.5 * math.erfc(3 / math.sqrt(2))), 3.0, rel_tol=1e-9)
