"""The JAX/Flax adapter against real jax and flax: deferred shapes through init, the kernel layout,
two host devices, functional gradients, and standalone snippets that print what the run saw.

Skipped where jax or flax is not installed (run it in the `jax` tox env).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

pytest.importorskip("jax")
pytest.importorskip("flax")

from conformance.adapters import get_adapter  # noqa: E402
from conformance.execute import Execution, run_steps  # noqa: E402
from conformance.loader import load_specs  # noqa: E402
from conformance.runner import run_inprocess  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def adapter():
    adapter = get_adapter("jax")
    adapter.load()
    return adapter


@pytest.fixture(scope="module")
def cases():
    return {c.id: c for c in load_specs([os.path.join(ROOT, "specs")])}


def _session(adapter, tmp_path, model=None):
    session = adapter.new_session(str(tmp_path))
    if model is not None:
        session.build(model)
    return session


DEFERRED = {"sequential": [{"dense": {"units": 256, "activation": "relu"}}, {"dense": {"units": 10}}]}


def test_two_host_devices_are_seen(adapter):
    devices = adapter.devices()
    assert devices["second"] is not None and devices["default"] != devices["second"]
    assert "xla_force_host_platform_device_count=2" in devices["xla_flags"]


def test_shapes_wait_for_init_with_an_input(adapter, tmp_path):
    s = _session(adapter, tmp_path, DEFERRED)
    s.current_step = 0
    s.initialize(seed=0)
    assert s.variables is None and s.param_shape("0.weight") is None and s.param_paths() == []
    s.current_step = 1
    s.forward(np.ones((2, 20), np.float32))
    assert s.param_shape("0.weight") == (256, 20)
    assert s.variables["params"]["layers_0"]["kernel"].shape == (20, 256)  # flax keeps (in, out)
    assert s.param_shape("1.weight") == (10, 256)
    assert sorted(s.param_paths()) == ["0.bias", "0.weight", "1.bias", "1.weight"]


def test_in_units_inits_at_once_and_kernel_is_transposed(adapter, tmp_path):
    model = {"sequential": [{"dense": {"units": 3, "in_units": 4}}]}
    s = _session(adapter, tmp_path, model)
    s.initialize(seed=0)
    kernel = np.asarray(s.variables["params"]["layers_0"]["kernel"])
    assert kernel.shape == (4, 3)
    np.testing.assert_array_equal(s.param_value("0.weight"), kernel.T)
    assert s.native_names()["0.weight"] == "params/layers_0/kernel"
    assert "transpose" in s.native_layouts()["0.weight"]
    # flax's defaults: lecun_normal kernel, zeros bias
    assert not np.any(s.param_value("0.bias"))


def test_grad_is_4x_and_nothing_accumulates(adapter, tmp_path):
    s = _session(adapter, tmp_path)
    x = np.array([[1, 2], [3, 4]], np.float32)
    s.tensor("x", x, requires_grad=True)
    s.compute("sum_two_x_squared", ["x"], "z")
    s.backward("z", loss="none")
    np.testing.assert_allclose(s.value_grad("x"), 4 * x)
    s.backward("z", loss="none")  # a second jax.grad call: fresh, not 8x, and no freed graph
    np.testing.assert_allclose(s.value_grad("x"), 4 * x)


def test_written_parameter_is_a_new_array_and_shared_layer_is_one_leaf(adapter, tmp_path):
    model = {"sequential": [{"dense": {"units": 8, "in_units": 4}}, {"dense": {"units": 8, "in_units": 8}, "as": "s"},
                            {"reuse": "s"}]}
    s = _session(adapter, tmp_path, model)
    s.initialize(seed=0)
    before = s.variables["params"]["layers_1"]["kernel"]
    s.write_param("1.weight", set={"index": [0, 1], "value": 100.0})
    assert float(before[1, 0]) != 100.0  # the old array is unchanged: immutable
    assert s.param_value("2.weight")[0, 1] == 100.0
    assert s.same_storage("param", "1.weight", "2.weight")
    assert sorted(s.param_paths()) == ["0.bias", "0.weight", "1.bias", "1.weight"]


def test_second_device_placement(adapter, tmp_path):
    s = _session(adapter, tmp_path)
    s.tensor("a", np.ones(3, np.float32), device="second")
    assert s.device_of("value", "a")["canonical"] == "second"
    s.tensor("b", np.ones(3, np.float32))
    assert s.device_of("value", "b")["canonical"] == "default"


def test_cases_run_without_kit_errors(adapter, cases):
    """Every case gives a verdict, and every non-pass says why. The env's `conformance run`
    has just run every case in worker processes: its results file is read when it is a
    complete run of these specs by this kit (as the determinism test reads it); else the
    cases run here."""
    from test_determinism import forward_run_file

    from conformance.runner import components_of

    path = forward_run_file("jax", str(adapter.version()), components_of(adapter), len(cases))
    if path:
        with open(path, encoding="utf-8") as handle:
            records = json.load(handle)["cases"]
        assert sorted(r["id"] for r in records) == sorted(cases)
    else:
        records = run_inprocess(adapter, list(cases.values()))
    bad = [(r["id"], r["status"], r["message"]) for r in records if r["status"] in ("error", "crash", "timeout")]
    assert not bad
    for r in records:
        if r["status"] != "pass":
            assert r["message"], r["id"]


# -- standalone snippets ---------------------------------------------------------------------

SNIPPET_SAMPLE = [
    "head-gradient-multiplies", "rebind-loses-gradient", "nest-mlp-in-sequential", "default-init-deferred",
    "xavier-on-one-parameter", "custom-init-runs-at-first-forward", "shared-grad-is-sum-of-uses",
    "dropout-half-in-training", "save-load-params-same-outputs", "cross-device-operation-fails",
    "forward-without-initialize-fails", "save-load-tensor-dict",
]


def _plain_python(code: str, cwd) -> subprocess.CompletedProcess:
    """This interpreter without `site` (so no editable install of the kit) and with only the
    site-packages folder on the path: jax, flax and numpy import, the kit does not."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = sysconfig.get_paths()["purelib"]
    env.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    return subprocess.run([sys.executable, "-S", "-s", "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_kit_is_not_importable_where_snippets_run(tmp_path):
    assert _plain_python("import conformance", tmp_path).returncode != 0
    assert _plain_python("import jax, flax", tmp_path).returncode == 0


def _close(a, b):
    return np.isclose(a, b, rtol=1e-4, atol=1e-4)


def _compare(mine, seen, key) -> int:
    """A printed summary (shape, sum) against the run's observation (shape, mean), recursively
    through lists and dicts; returns how many arrays were compared."""
    if isinstance(seen, list):
        assert isinstance(mine, list) and len(mine) == len(seen), key
        return sum(_compare(m, s, key) for m, s in zip(mine, seen))
    if isinstance(seen, dict) and "shape" not in seen:
        assert isinstance(mine, dict) and sorted(mine) == sorted(seen), key
        return sum(_compare(mine[k], seen[k], f"{key}[{k}]") for k in seen)
    if not isinstance(seen, dict) or "shape" not in seen:
        return 0
    assert mine["shape"] == seen["shape"], key
    if "mean" in seen:
        assert _close(mine["sum"], seen["mean"] * max(1, int(np.prod(seen["shape"])))), key
    return 1


@pytest.mark.parametrize("case_id", SNIPPET_SAMPLE)
def test_snippet_prints_what_the_case_observed(adapter, cases, case_id, tmp_path):
    case = cases[case_id]
    code = adapter.snippet(case)
    assert "import conformance" not in code and "from conformance" not in code
    record = run_inprocess(adapter, [case])[0]
    obs = record["observations"]
    run = _plain_python(code, tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    line = next(l for l in run.stdout.splitlines() if l.startswith("observed: "))
    printed = json.loads(line[len("observed: "):])
    error = obs.get("error")
    assert (printed["error"] or {}).get("type") == (error["type"].rsplit(".", 1)[-1] if error else None)
    compared = 0
    for key, seen in obs.items():
        kind, _, name = key.partition(":")
        if kind == "value" and name in printed["values"]:
            compared += _compare(printed["values"][name], seen, key)
        if kind == "param_value" and name in printed["params"] and isinstance(seen, dict) and "mean" in seen:
            mine = printed["params"][name]
            assert mine["shape"] == seen["shape"], key
            assert _close(mine["sum"], seen["mean"] * int(np.prod(seen["shape"]))), key
            compared += 1
        if kind == "value_grad" and isinstance(seen, dict) and "mean" in seen:
            assert _close(printed["value_grads"][name]["sum"], seen["mean"] * int(np.prod(seen["shape"]))), key
            compared += 1
        if kind == "param_grad" and isinstance(seen, dict) and "mean" in seen:
            assert _close(printed["grads"][name]["sum"], seen["mean"] * int(np.prod(seen["shape"]))), key
            compared += 1
    assert compared or error, f"{case_id}: nothing compared"


def test_execution_reports_flax_error_for_apply_without_init(adapter, cases, tmp_path):
    case = cases["forward-without-initialize-fails"]
    s = adapter.new_session(str(tmp_path))
    execution = Execution()
    run_steps(s, case, execution)
    assert execution.error["kind"] == "not_initialized"
    assert "flax" in execution.error["type"]
