"""The PaddlePaddle adapter, piece by piece, against real Paddle (skipped where paddle is absent).

Rule: each test drives the adapter the way the runner does and checks what Paddle really did;
no framework is mocked. The snippet test runs generated snippets where the kit cannot be
imported and compares what they print with what the session observed.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import warnings

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from conformance.adapters.base import Skip, Unsupported
from conformance.adapters.paddle.adapter import PaddleAdapter
from conformance.execute import Execution, run_steps
from conformance.loader import load_specs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SHARED = {"sequential": [
    {"dense": {"units": 8, "in_units": 4, "activation": "relu"}},
    {"dense": {"units": 8, "in_units": 8, "activation": "relu"}, "as": "shared"},
    {"reuse": "shared"},
    {"dense": {"units": 1, "in_units": 8}},
]}
TWO_DENSE = {"sequential": [{"dense": {"units": 256, "in_units": 20, "activation": "relu"}},
                            {"dense": {"units": 10, "in_units": 256}}]}
LAZY = {"sequential": [{"dense": {"units": 256, "activation": "relu"}}, {"dense": {"units": 10}}]}


@pytest.fixture(scope="module")
def adapter():
    a = PaddleAdapter()
    a.load()
    return a


@pytest.fixture
def session(adapter, tmp_path):
    return adapter.new_session(str(tmp_path))


def x(*shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype(np.float32)


def raised(call, *args, **kwargs) -> BaseException:
    with pytest.raises(Exception) as info:
        call(*args, **kwargs)
    return info.value


class _Case:
    """The least a session needs from a case (prepare looks at the steps)."""

    def __init__(self, steps=(), model=None):
        self.steps = list(steps)
        self.model = model


# -- adapter ------------------------------------------------------------------
def test_importing_the_adapter_does_not_import_paddle():
    code = "import sys, conformance.adapters.paddle.adapter; print('paddle' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_version_and_devices(adapter):
    assert adapter.version() == paddle.__version__
    devices = adapter.devices()
    assert devices["default"] == "Place(cpu)" and devices["second"] is None


# -- defaults and layouts -----------------------------------------------------------
def test_default_linear_init_is_xavier_uniform_with_zero_bias(session):
    session.build(TWO_DENSE)
    w = session.param_value("0.weight")
    bound = np.sqrt(6 / (20 + 256))  # Glorot: fan_in + fan_out
    assert w.shape == (256, 20)
    assert np.abs(w).max() <= bound + 1e-6 and np.abs(w).max() > 0.9 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.003
    assert np.all(session.param_value("0.bias") == 0)
    assert abs(np.abs(session.param_value("1.weight")).max() - np.sqrt(6 / 266)) < 0.01


def test_linear_weight_is_in_out_natively_and_out_in_canonically(session):
    session.build(TWO_DENSE)
    native = session.model[0].weight.numpy()
    assert native.shape == (20, 256) and session.param_shape("0.weight") == (256, 20)
    np.testing.assert_array_equal(session.param_value("0.weight"), native.T)
    assert session.native_layouts() == {"0.weight": "(in, out): transposed", "1.weight": "(in, out): transposed"}
    assert session.native_names()["0.weight"] == "0.weight (linear_0.w_0)"  # fresh name counter per case
    session.write_param("0.weight", set={"index": [3, 1], "value": 7.0})  # canonical [out, in]
    assert session.model[0].weight.numpy()[1, 3] == 7.0
    inp = x(2, 20)
    session.forward(inp)
    w0, b0 = session.param_value("0.weight"), session.param_value("0.bias")
    w1, b1 = session.param_value("1.weight"), session.param_value("1.bias")
    manual = np.maximum(inp @ w0.T + b0, 0) @ w1.T + b1
    np.testing.assert_allclose(session.value("out"), manual, rtol=1e-5, atol=1e-5)


def test_shared_layer_is_one_parameter_and_its_gradient_sums(session, adapter, tmp_path):
    session.build(SHARED)
    assert session.param_paths() == ["0.weight", "0.bias", "1.weight", "1.bias", "3.weight", "3.bias"]
    assert session.same_storage("param", "1.weight", "2.weight")
    assert not session.same_storage("param", "0.weight", "1.weight")
    session.write_param("1.weight", set={"index": [0, 0], "value": 100.0})
    assert session.param_value("2.weight")[0, 0] == 100.0
    session.initialize(init={"uniform": {"low": -0.5, "high": 0.5}}, seed=0)
    tied = {p: session.param_value(p) for p in session.param_paths()}
    session.forward(x(2, 4))
    session.backward()
    untied = adapter.new_session(str(tmp_path / "u"))
    middle = {"dense": SHARED["sequential"][1]["dense"]}
    untied.build({"sequential": [SHARED["sequential"][0], middle, middle, SHARED["sequential"][3]]})
    for path in untied.param_paths():
        untied.set_param(path, tied[{"2.weight": "1.weight", "2.bias": "1.bias"}.get(path, path)])
    untied.forward(x(2, 4))
    untied.backward()
    np.testing.assert_allclose(session.param_grad("1.weight"),
                               untied.param_grad("1.weight") + untied.param_grad("2.weight"), rtol=1e-5, atol=1e-6)


# -- stop_gradient, gradients, clear_grad --------------------------------------------
def test_tensors_stop_gradient_by_default_and_parameters_do_not(session):
    session.tensor("a", np.ones(3, np.float32))
    session.tensor("b", np.ones(3, np.float32), requires_grad=True)
    assert session.values["a"].stop_gradient is True and session.values["b"].stop_gradient is False
    session.build(TWO_DENSE)
    assert session.model[0].weight.stop_gradient is False
    assert session.param_grad("0.weight") is None  # no gradient before a backward pass


def test_backward_of_an_unrecorded_value_is_silent(session):
    """Paddle: backward on a tensor made under paddle.no_grad (stop_gradient=True) does nothing."""
    session.tensor("x", np.array([[1, 2], [3, 4]], np.float32), requires_grad=True)
    session.compute("sum_two_x_squared", ["x"], "z", record=False)
    assert session.values["z"].stop_gradient is True
    session.backward(of="z", loss="none")
    assert session.value_grad("x") is None


def test_gradients_accumulate_and_clear_gradients_sets_zeros(session):
    session.build(TWO_DENSE)
    session.forward(x(3, 20))
    session.backward(retain_graph=True)
    once = session.param_grad("1.bias")
    np.testing.assert_allclose(once, 3.0)  # d sum(out) / d bias = batch size
    session.backward()
    np.testing.assert_allclose(session.param_grad("1.bias"), 6.0)
    session.zero_grad()  # net.clear_gradients(): set_to_zero=True in Paddle 3
    grad = session.param_grad("1.bias")
    assert grad is not None and np.all(grad == 0)


def test_non_scalar_backward_uses_ones_and_a_second_pass_needs_retain_graph(session, adapter):
    session.tensor("x", np.array([[1, 2], [3, 4]], np.float32), requires_grad=True)
    session.compute("two_x_squared", ["x"], "z")
    session.backward(of="z", loss="none")
    np.testing.assert_allclose(session.value_grad("x"), 4 * np.array([[1, 2], [3, 4]]))
    exc = raised(session.backward, of="z", loss="none")
    assert adapter.classify_error(exc, "backward") == "graph_freed"


def test_in_place_write_on_a_leaf_is_refused_while_recording_only(session, adapter):
    session.tensor("x", np.array([1, 2, 3], np.float32), requires_grad=True)
    exc = raised(session.compute, "setitem_zero", ["x"], "y")
    assert "can't use inplace strategy" in str(exc)
    assert adapter.classify_error(exc, "compute") == "inplace_in_recording"
    session.compute("setitem_zero", ["x"], "y", record=False)  # under paddle.no_grad()
    assert session.value("x").tolist() == [0, 2, 3]


def test_in_place_update_keeps_the_leaf_and_rebind_does_not(session):
    for name in ("w", "v"):
        session.tensor(name, np.array([1, 2, 3], np.float32), requires_grad=True)
    session.tensor("b", np.ones(3, np.float32), requires_grad=True)
    for w in ("w", "v"):
        session.compute("mul", [w, "b"], f"p{w}")
        session.compute("sum", [f"p{w}"], f"s{w}")
        session.backward(of=f"s{w}", loss="none")
    leaf = session.values["w"]
    session.update("w", 0.5, "in_place")  # set_value: same tensor object, same buffer
    session.update("v", 0.5, "rebind")
    assert session.values["w"] is leaf and session.value("w").tolist() == [0.5, 1.5, 2.5]
    assert session.values["v"].is_leaf is False and session.value_grad("v") is None


# -- construction, deferral, loading, devices -----------------------------------------
def test_mlp_without_super_init_fails_at_construction(session, adapter):
    exc = raised(session.build, {"mlp_no_super": {"in_units": 20}})
    assert isinstance(exc, ValueError)
    assert adapter.classify_error(exc, "construction") == "missing_super_init"


def test_list_layers_are_not_collected_but_still_run(session):
    session.build({"list_mlp": {"in_units": 20}})
    assert session.param_paths() == []
    assert session.native_names()["layers.0.weight"].startswith("<not registered")
    session.forward(x(2, 20))
    assert session.value("out").shape == (2, 10)


def test_in_features_come_from_the_first_input_or_the_case_is_unsupported(adapter, tmp_path):
    s = adapter.new_session(str(tmp_path))
    s.prepare(_Case(steps=[("forward", {"input": {"uniform": [2, 20], "seed": 1}})]))
    s.build(LAZY)
    assert s.param_shape("0.weight") == (256, 20) and s.param_shape("1.weight") == (10, 256)
    assert s.notes["in_features_from_first_input"] == {"0": 20, "1": 256}
    lone = adapter.new_session(str(tmp_path))
    lone.prepare(_Case(steps=[("initialize", {})]))
    with pytest.raises(Unsupported, match="no LazyLinear"):
        lone.build(LAZY)


def test_set_state_dict_warns_and_skips_instead_of_raising(session):
    session.build({"mlp": {"in_units": 20}})
    session.save_params("mlp.pdparams")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session.load_params("mlp.pdparams", model={"mlp": {"in_units": 30}}, initialize=True)
    assert any("Skip loading for hidden.weight" in str(w.message) for w in caught)
    assert session.param_shape("hidden.weight") == (256, 30)  # kept its own values


def test_tensors_round_trip_through_paddle_save(session):
    session.save_tensors("xy", [np.ones(3, np.float32), np.arange(4, dtype=np.int64)])
    session.load_tensors("xy", "xy2")
    back = session.value("xy2")
    assert isinstance(back, list) and back[1].dtype == np.int64 and back[1].tolist() == [0, 1, 2, 3]


def test_second_device_is_skipped_with_the_reason(session):
    exc = raised(session.tensor, "a", np.ones(3, np.float32), device="second")
    assert isinstance(exc, Skip) and "CPUPlace" in str(exc)


# -- standalone snippets ----------------------------------------------------------------
SNIPPET_SAMPLE = [
    "shared-layer-write-through", "custom-init-zero-small", "per-layer-initializers",
    "in-place-update-keeps-gradient", "second-backward-without-retain-fails", "my-dense-in-sequential",
    "load-params-shape-mismatch-fails", "notes-add-module-names", "constant-init-42",
]
SNIPPET_FILES = ["params/sharing.yaml", "init/defaults.yaml", "autograd/basics.yaml", "custom/layers.yaml",
                 "io/files.yaml", "params/notes_params.yaml"]


def _observed_lines(session, execution) -> dict:
    out = {}
    if execution.error:
        out["error"] = execution.error["type"].rsplit(".", 1)[-1]
    if session.model is not None:
        for name, p in session.model.named_parameters():
            out[f"param {name}"] = (list(p.shape), float(np.asarray(p.numpy(), np.float64).sum()))
    for name, value in session.values.items():
        if isinstance(value, paddle.Tensor | np.ndarray):
            array = np.asarray(value.numpy() if hasattr(value, "numpy") else value, np.float64)
            out[f"value {name}"] = (list(array.shape), float(array.sum()))
    return out


def _printed_lines(stdout: str) -> dict:
    got = {}
    for line in stdout.splitlines():
        if line.startswith("observe error "):
            got["error"] = line.split(" ")[2]
            continue
        m = re.match(r"observe (param|value) (.+) (\[[^\]]*\]) sum=(\S+)$", line)  # names may hold spaces
        if m:
            got[f"{m.group(1)} {m.group(2)}"] = ([int(d) for d in re.findall(r"\d+", m.group(3))], float(m.group(4)))
    return got


def test_snippets_run_without_the_kit_and_print_what_the_case_observed(adapter, tmp_path):
    files = [os.path.join(ROOT, "specs", f) for f in SNIPPET_FILES]
    cases = {c.id: c for c in load_specs(files)}
    env = {"PATH": os.environ.get("PATH", ""), "GLOG_minloglevel": "2", "HOME": str(tmp_path)}
    # A plain Paddle environment: this env's site-packages without its .pth files (-S), so the
    # kit's editable install is not importable; -I drops the working folder and PYTHON* vars.
    site = sysconfig.get_paths()["purelib"]
    # Paddle 2.x builds a path from site.USER_SITE at import, which -S leaves None: compute it
    # (that adds nothing to sys.path).
    plain = f"import sys, site, runpy; site.getusersitepackages(); sys.path[:0] = [{site!r}]; "
    probe = subprocess.run([sys.executable, "-I", "-S", "-c", plain + "import paddle; import conformance"],
                           cwd=tmp_path, capture_output=True, text=True, env=env, check=False)
    assert probe.returncode != 0 and "No module named 'conformance'" in probe.stderr  # paddle yes, the kit no
    for case_id in SNIPPET_SAMPLE:
        case = cases[case_id]
        session = adapter.new_session(str(tmp_path / f"{case_id}-work"))
        os.makedirs(session.workdir, exist_ok=True)
        session.prepare(case)
        execution = Execution()
        run_steps(session, case, execution)
        assert execution.interruption is None, (case_id, execution.interruption)
        expected = _observed_lines(session, execution)
        code = adapter.snippet(case)
        assert "conformance" not in code, case_id
        folder = tmp_path / case_id
        folder.mkdir()
        (folder / "snippet.py").write_text(code)
        run = subprocess.run([sys.executable, "-I", "-S", "-c", plain + "runpy.run_path('snippet.py', run_name='__main__')"],
                             cwd=folder, capture_output=True, text=True, env=env, timeout=300, check=False)
        assert run.returncode == 0, (case_id, run.stderr[-2000:])
        printed = _printed_lines(run.stdout)
        assert set(printed) == set(expected), (case_id, sorted(printed), sorted(expected))
        for key, seen in expected.items():
            if key == "error":
                assert printed[key] == seen, case_id
                continue
            shape, total = seen
            assert printed[key][0] == shape, (case_id, key)
            assert np.isclose(printed[key][1], total, rtol=1e-5, atol=1e-5), (case_id, key, printed[key], total)
