"""Mutation tests: each mutant breaks ONE behaviour of the reference with a small
monkeypatch; running every spec in-process on the mutated reference must make at least
one case not pass. The unmutated reference must pass them all (so a kill is the
mutant's doing). The mutation score (killed / mutants) is printed at the end."""

from __future__ import annotations

import os

import numpy as np
import pytest

from conformance import reference as ref
from conformance.reference import autograd, device, init, layers, ops, parameter, serialization

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = os.path.join(ROOT, "specs")


def _overwrite(grads, tensor, grad):
    grads[id(tensor)] = grad


def _force_reinit_ignored(monkeypatch):
    original = parameter.Parameter.initialize

    def initialize(self, init=None, device=None, default_init=None, force_reinit=False, rng=None):
        return original(self, init, device, default_init, False, rng)

    monkeypatch.setattr(parameter.Parameter, "initialize", initialize)


def _custom_init_on_bias(monkeypatch):
    original = parameter.Parameter.initialize

    def initialize(self, init=None, device=None, default_init=None, force_reinit=False, rng=None):
        if init is None and isinstance(default_init, ref.init.MyInit):
            init = default_init  # the custom initializer beats the bias's own "zeros"
        return original(self, init, device, default_init, force_reinit, rng)

    monkeypatch.setattr(parameter.Parameter, "initialize", initialize)


def _first_element_head(data):
    head = np.zeros_like(data)
    head.reshape(-1)[:1] = 1
    return head


def _reversed_forward(self, x):
    for block in reversed(list(self._children.values())):
        x = block(x)
    return x


def _normal_without_sigma(self, name, data):
    data[...] = self.rng.normal(self.mean, 1.0, size=data.shape)


def _shared_copyto(self, target):
    return ref.Tensor._wrap(self._data, device.parse(target))


def _drop_last(model):
    arrays = _ORIGINAL_PARAMS_TO_ARRAYS(model)
    if arrays:
        arrays.popitem()
    return arrays


def _by_position(params, loaded, filename, allow_missing, ignore_extra):
    return [(path, param, array) for (path, param), array in zip(params.items(), loaded.values())]


def _accumulate_across_passes(tensor, grad):
    tensor._grad[...] += grad


_ORIGINAL_PARAMS_TO_ARRAYS = serialization._params_to_arrays

# name -> function(monkeypatch) that applies the mutation
MUTANTS = {
    "shared-gradients-overwrite": lambda mp: mp.setattr(autograd, "_accumulate", _overwrite),
    "force-reinit-ignored": _force_reinit_ignored,
    "no-warning-on-second-initialize": lambda mp: mp.setattr(
        parameter, "_warn_already_initialized", lambda param: None
    ),
    "deferred-shape-inferred-in-out": lambda mp: mp.setattr(
        layers.Dense, "_inferred_weight_shape", lambda self, n: (n, self._units)
    ),
    "constant-parameter-trainable": lambda mp: mp.setattr(parameter.Constant, "_grad_req", "write"),
    "save-drops-a-parameter": lambda mp: mp.setattr(serialization, "_params_to_arrays", _drop_last),
    "load-by-position": lambda mp: mp.setattr(serialization, "_match_loaded", _by_position),
    "device-mismatch-not-raised": lambda mp: mp.setattr(
        device, "check_same_device", lambda op, devices: None
    ),
    "default-init-bound-0.7": lambda mp: mp.setattr(init, "DEFAULT_UNIFORM_SCALE", 0.7),
    "custom-initializer-on-bias": _custom_init_on_bias,
    "dropout-not-scaled": lambda mp: mp.setattr(ops, "_dropout_scale", lambda rate: 1.0),
    "dropout-active-in-prediction": lambda mp: mp.setattr(ops, "_dropout_active", lambda: True),
    "backward-uses-element-0": lambda mp: mp.setattr(
        autograd, "_implicit_head", _first_element_head
    ),
    "second-backward-allowed": lambda mp: mp.setattr(autograd, "_free_graph", lambda order: None),
    "sequential-reverse-order": lambda mp: mp.setattr(ref.Sequential, "forward", _reversed_forward),
    "relu-backward-passes-all": lambda mp: mp.setattr(ops, "_relu_grad_mask", np.ones_like),
    "normal-ignores-sigma": lambda mp: mp.setattr(
        init.Normal, "_init_weight", _normal_without_sigma
    ),
    "copyto-shares-memory": lambda mp: mp.setattr(ref.Tensor, "copyto", _shared_copyto),
    "two-backwards-accumulate": lambda mp: mp.setattr(
        autograd, "_write_leaf_grad", _accumulate_across_passes
    ),
    "inplace-in-recording-allowed": lambda mp: mp.setattr(
        autograd, "check_inplace_write", lambda tensor: None
    ),
}


# Mutants no spec kills yet, with the reason. strict xfail: once a spec kills one, its
# test XPASSes and fails, so the entry gets removed (a stale entry never hides).
NOT_YET_KILLED: dict[str, str] = {}


@pytest.fixture(scope="module")
def cases():
    from conformance.loader import discover, load_specs

    if not [f for f in discover([SPECS]) if f.endswith((".yaml", ".yml"))]:
        pytest.skip(f"no spec files under {SPECS} yet")
    return load_specs([SPECS])


@pytest.fixture(scope="module")
def adapter():
    from conformance.adapters.reference.adapter import ReferenceAdapter

    reference = ReferenceAdapter()
    reference.load()
    return reference


@pytest.fixture(scope="module")
def score(request):
    killed: dict[str, list[str]] = {}
    yield killed
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None or capture is None or not killed:
        return
    dead = sum(1 for ids in killed.values() if ids)
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(f"mutation score: {dead}/{len(killed)} mutants killed")
        for name, ids in sorted(killed.items()):
            shown = ", ".join(ids[:3]) + (f" (+{len(ids) - 3})" if len(ids) > 3 else "")
            reporter.write_line(f"  {name}: {'killed by ' + shown if ids else 'SURVIVED'}")


def _run(adapter, cases):
    from conformance.runner import run_inprocess

    return run_inprocess(adapter, cases)


@pytest.fixture(scope="module")
def baseline(adapter, cases):
    """Ids of the cases the unmutated reference passes: only those can kill a mutant."""
    return {r["id"]: r for r in _run(adapter, cases)}


def test_unmutated_reference_passes_every_case(baseline):
    bad = [
        f"{r['id']}: {r['status']}: {r['message'][:300]}"
        for r in baseline.values()
        if r["status"] != "pass"
    ]
    assert not bad, "the reference must pass every spec case:\n" + "\n".join(bad)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(reason=NOT_YET_KILLED[name], strict=True))
        if name in NOT_YET_KILLED
        else name
        for name in MUTANTS
    ],
)
def test_mutant_is_killed(name, monkeypatch, adapter, cases, baseline, score):
    passing = [c for c in cases if baseline[c.id]["status"] == "pass"]
    MUTANTS[name](monkeypatch)
    results = _run(adapter, passing)
    killed_by = [r["id"] for r in results if r["status"] != "pass"]
    score[name] = killed_by
    assert killed_by, f"mutant '{name}' survived: every spec case still passes on it"
