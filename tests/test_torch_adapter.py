"""The PyTorch adapter, piece by piece, against real torch (skipped where torch is absent).

Rule: each test drives the adapter the way the runner does and checks what torch really did;
no framework is mocked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from conformance.adapters.base import Skip, Unsupported
from conformance.adapters.torch.adapter import TorchAdapter

SHARED = {"sequential": [
    {"dense": {"units": 8, "in_units": 4, "activation": "relu"}},
    {"dense": {"units": 8, "in_units": 8, "activation": "relu"}, "as": "shared"},
    {"reuse": "shared"},
    {"dense": {"units": 1, "in_units": 8}},
]}


@pytest.fixture(scope="module")
def adapter():
    a = TorchAdapter()
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


# -- adapter ------------------------------------------------------------------
def test_importing_the_adapter_does_not_import_torch():
    code = "import sys, conformance.adapters.torch.adapter; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_version_and_devices(adapter):
    assert adapter.version() == torch.__version__
    devices = adapter.devices()
    assert devices["default"] == "cpu"
    assert devices["second"] == ("cuda:0" if torch.cuda.is_available() else "meta")


# -- construction and canonical paths -----------------------------------------------
def test_shared_layer_has_one_storage_and_is_collected_once(session):
    session.build(SHARED)
    assert sorted(session.param_paths()) == ["0.bias", "0.weight", "1.bias", "1.weight", "3.bias", "3.weight"]
    assert session.native_names()["2.weight"] == "4.weight"  # Linear, ReLU expanded natively
    assert session.same_storage("param", "1.weight", "2.weight")
    assert not session.same_storage("param", "0.weight", "1.weight")
    session.write_param("1.weight", set={"index": [0, 0], "value": 100.0})
    assert session.param_value("2.weight")[0, 0] == 100.0


def test_shared_gradient_is_the_sum_of_both_uses(session, adapter, tmp_path):
    session.build(SHARED)
    session.initialize(init={"normal": {"sigma": 0.5}}, seed=0)
    tied = {p: session.param_value(p) for p in session.param_paths()}
    session.forward(x(2, 4))
    session.backward()
    untied = adapter.new_session(str(tmp_path / "u"))
    middle = {"dense": SHARED["sequential"][1]["dense"]}
    untied.build({"sequential": [SHARED["sequential"][0], middle, middle, SHARED["sequential"][3]]})
    for path in untied.param_paths():
        source = {"2.weight": "1.weight", "2.bias": "1.bias"}.get(path, path)
        untied.set_param(path, tied[source])
    untied.forward(x(2, 4))
    untied.backward()
    expected = untied.param_grad("1.weight") + untied.param_grad("2.weight")
    np.testing.assert_allclose(session.param_grad("1.weight"), expected, rtol=1e-5, atol=1e-6)


def test_mlp_without_super_init_fails_at_construction(session, adapter):
    exc = raised(session.build, {"mlp_no_super": {"in_units": 20}})
    assert isinstance(exc, AttributeError)
    assert adapter.classify_error(exc, "construction") == "missing_super_init"


def test_list_mlp_layers_are_not_collected_but_still_run(session):
    session.build({"list_mlp": {"in_units": 20}})
    assert session.param_paths() == []
    assert session.native_names()["layers.0.weight"].startswith("<not registered")
    session.forward(x(2, 20))
    assert session.value("out").shape == (2, 10)


def test_my_sequential_registers_children_and_records_the_notes_variant(session):
    session.build({"my_sequential": [{"dense": {"units": 4, "in_units": 3, "activation": "relu"}},
                                     {"dense": {"units": 2, "in_units": 4}}]})
    assert sorted(session.param_paths()) == ["0.bias", "0.weight", "1.bias", "1.weight"]
    assert "TypeError" in session.notes["note_mysequential_keyed_by_module"]


def test_nest_and_fancy_mlp(session, adapter, tmp_path):
    session.build({"sequential": [{"nest_mlp": {}}, {"dense": {"units": 20, "in_units": 16}}, {"fancy_mlp": {}}]})
    assert session.param_shape("0.net.1.weight") is None  # every NestMLP layer is lazy
    session.forward(x(2, 20))
    assert session.param_shape("0.net.1.weight") == (32, 64)
    assert np.asarray(session.value("out")).shape == ()
    assert "2.dense.weight" in session.param_paths() and len(session.param_paths()) == 10


def test_centered_layer_and_integer_input(session, adapter):
    session.build({"centered": {}})
    session.forward(np.arange(5, dtype=np.float32))
    assert abs(session.value("out").mean()) < 1e-6
    exc = raised(session.forward, np.arange(5, dtype=np.int64))
    assert "mean()" in str(exc) and adapter.classify_error(exc, "forward") == "other"


def test_my_dense_with_and_without_in_units(session):
    session.build({"my_dense": {"units": 3, "in_units": 5}})
    assert session.param_shape("weight") == (5, 3)
    session.build({"my_dense": {"units": 3}})
    assert session.param_shape("weight") is None
    session.forward(x(2, 5))
    assert session.param_shape("weight") == (5, 3) and session.value("out").shape == (2, 3)


def test_read_via_data_cuts_the_gradient(session, adapter):
    session.build({"my_dense": {"units": 3, "in_units": 5, "read_via_data": True}})
    session.forward(x(2, 5))
    exc = raised(session.backward)
    assert adapter.classify_error(exc, "backward") == "no_gradient"


def test_param_dict(session):
    session.build({"param_dict": {"params": {"param2": [2, 3]}}})
    assert session.param_paths() == ["param2"] and session.param_shape("param2") == (2, 3)
    assert session.probe("param_type") == {"class": "Parameter"}


# -- initialization --------------------------------------------------------------------
def test_normal_init_sets_weights_and_zeroes_biases(session):
    session.build({"dense": {"units": 256, "in_units": 20}})
    session.initialize(init={"normal": {"sigma": 0.01}}, seed=0)
    assert abs(session.param_value("weight").std() - 0.01) < 0.001
    assert not session.param_value("bias").any()


def test_default_init_is_torch_construction_and_seed_reproduces(session):
    session.build({"dense": {"units": 8, "in_units": 4}})
    before = session.param_value("weight")
    session.initialize()
    np.testing.assert_array_equal(session.param_value("weight"), before)  # no initialize() in torch
    session.initialize(seed=3)
    first = session.param_value("weight")
    session.initialize(seed=3)
    np.testing.assert_array_equal(session.param_value("weight"), first)
    assert np.abs(first).max() <= 0.5  # kaiming_uniform(a=sqrt(5)): U(-1/sqrt(4), 1/sqrt(4))


def test_target_one_parameter_and_one_layer(session):
    session.build({"sequential": [{"dense": {"units": 8, "in_units": 4}}, {"dense": {"units": 1, "in_units": 8}}]})
    bias0 = session.param_value("0.bias")
    session.initialize(init={"xavier": {}}, target="0.weight")
    session.initialize(init={"constant": {"value": 42}}, target="1")
    np.testing.assert_array_equal(session.param_value("0.bias"), bias0)
    assert (session.param_value("1.weight") == 42).all()
    assert np.abs(session.param_value("0.weight")).max() <= np.sqrt(6 / 12)


def test_custom_init_on_lazy_model_runs_at_first_forward_on_weights_only(session):
    session.build({"mlp": {}})
    session.current_step = 0
    session.initialize(init={"custom": {"name": "zero_small"}})
    assert session.init_calls == []
    session.current_step = 1
    session.forward(x(2, 20))
    assert sorted(c["name"] for c in session.init_calls) == ["hidden.weight", "output.weight"]
    assert {c["step"] for c in session.init_calls} == {1}
    w = session.param_value("hidden.weight")
    assert 0.3 < np.mean(w == 0) < 0.7 and np.abs(w[w != 0]).min() >= 5


def test_lazy_parameter_data_reads_as_an_empty_tensor(session, adapter):
    session.build({"dense": {"units": 256}})
    assert session.read_param("weight").shape == (0,)  # torch: .data of a lazy parameter
    exc = raised(session.param_value, "weight")
    assert adapter.classify_error(exc, "access") == "not_initialized"


def test_shape_fixed_after_first_forward(session, adapter):
    session.build({"dense": {"units": 4}})
    session.forward(x(2, 20))
    session.forward(x(5, 20))
    exc = raised(session.forward, x(2, 30))
    assert adapter.classify_error(exc, "forward") == "shape_mismatch"


# -- autograd ------------------------------------------------------------------------------
def test_gradient_of_two_x_squared_with_head(session):
    session.tensor("x", np.arange(4, dtype=np.float32), requires_grad=True)
    session.compute("two_x_squared", ["x"], "y")
    session.backward(of="y", head=np.full(4, 0.5, np.float32))
    np.testing.assert_allclose(session.value_grad("x"), 0.5 * 4 * np.arange(4))


def test_autograd_errors_are_classified(session, adapter):
    session.tensor("x", np.arange(4, dtype=np.float32), requires_grad=True)
    session.compute("two_x_squared", ["x"], "y")
    assert adapter.classify_error(raised(session.backward, of="y", loss="none"), "backward") == "non_scalar_backward"
    session.compute("sum_two_x_squared", ["x"], "s")
    session.backward(of="s", loss="none")
    assert adapter.classify_error(raised(session.backward, of="s", loss="none"), "backward") == "graph_freed"
    exc = raised(session.compute, "setitem_zero", ["x"], "z")
    assert adapter.classify_error(exc, "compute") == "inplace_in_recording"
    session.compute("setitem_zero", ["x"], "z", record=False)  # allowed under no_grad
    assert session.value("x")[0] == 0


def test_retain_graph_accumulates(session):
    session.tensor("x", np.arange(3, dtype=np.float32), requires_grad=True)
    session.compute("sum_two_x_squared", ["x"], "s")
    session.backward(of="s", retain_graph=True)
    session.backward(of="s")
    np.testing.assert_allclose(session.value_grad("x"), 2 * 4 * np.arange(3))


def test_update_rebind_loses_the_leaf_in_place_keeps_it(session):
    for how in ("rebind", "in_place"):
        session.tensor("w", np.ones(3, np.float32), requires_grad=True)
        session.compute("sum_two_x_squared", ["w"], "s")
        session.backward(of="s")
        session.update("w", lr=0.1, how=how)
        session.compute("sum_two_x_squared", ["w"], "s")
        session.backward(of="s")
        grad = session.value_grad("w")
        assert (grad is None) == (how == "rebind")


def test_sgd_step_and_zero_grad(session):
    session.build({"dense": {"units": 2, "in_units": 3}})
    before = session.param_value("bias")
    session.forward(x(4, 3))
    session.backward()
    np.testing.assert_allclose(session.param_grad("bias"), [4.0, 4.0])
    session.sgd_step(lr=0.5)
    np.testing.assert_allclose(session.param_value("bias"), before - 2.0, rtol=1e-6)
    session.zero_grad()
    assert session.param_grad("bias") is None  # torch 2.x: zero_grad(set_to_none=True)


def test_probe_is_training_is_unsupported(session):
    with pytest.raises(Unsupported, match="module.train"):
        session.probe("is_training")


def test_dropout_follows_module_mode(session):
    session.build({"dropout": {"rate": 0.5}})
    session.forward(np.ones((100, 100), np.float32), mode="train")
    out = session.value("out")
    assert 0.4 < np.mean(out == 0) < 0.6 and set(np.unique(out)) <= {0.0, 2.0}
    session.forward(np.ones((10, 10), np.float32), mode="predict")
    assert (session.value("out") == 1).all()


# -- devices ------------------------------------------------------------------------------
def test_second_device_operations(session, adapter):
    session.tensor("a", np.ones(3, np.float32))
    session.tensor("b", np.ones(3, np.float32), device="second")
    assert session.device_of("value", "a")["canonical"] == "default"
    assert session.device_of("value", "b")["canonical"] == "second"
    exc = raised(session.compute, "add", ["a", "b"], "c")
    assert adapter.classify_error(exc, "compute") == "device_mismatch"
    session.copy_to("a", "default", "a_copy", "copy")
    session.copy_to("a", "default", "a_move", "move")
    assert not session.same_storage("value", "a", "a_copy")
    assert session.same_storage("value", "a", "a_move")


@pytest.mark.skipif(torch.cuda.is_available(), reason="the meta path is for machines without CUDA")
def test_meta_data_cannot_be_observed(session):
    session.tensor("b", np.ones(3, np.float32), device="second")
    with pytest.raises(Skip, match="Cannot copy out of meta"):
        session.to_numpy("b", "b_np")
    with pytest.raises(Skip):
        session.value("b")


def test_to_numpy_of_a_cpu_tensor_shares_memory(session):
    session.tensor("a", np.ones(3, np.float32))
    session.to_numpy("a", "a_np")
    assert session.same_storage("value", "a", "a_np")


def test_model_on_second_device_rejects_default_input(session, adapter):
    session.build({"dense": {"units": 2, "in_units": 3}})
    session.to_device("second")
    assert session.device_of("param", "weight")["canonical"] == "second"
    exc = raised(session.forward, x(2, 3))
    assert adapter.classify_error(exc, "forward") == "device_mismatch"


# -- files ----------------------------------------------------------------------------------
def test_tensors_round_trip(session):
    value = {"x": np.arange(4, dtype=np.int64), "y": np.zeros(4, np.float32)}
    session.save_tensors("mydict", value)
    session.load_tensors("mydict", "loaded")
    loaded = session.value("loaded")
    assert sorted(loaded) == ["x", "y"] and loaded["x"].dtype == np.int64
    session.save_tensors("xs", [value["x"], value["y"]])
    session.load_tensors("xs", "pair")
    assert [a.dtype for a in session.value("pair")] == [np.int64, np.float32]


def test_params_round_trip_and_mismatch(session, adapter):
    session.build({"mlp": {"in_units": 20}})
    session.forward(x(2, 20), name="y")
    session.save_params("mlp.params")
    y = session.value("y")
    session.load_params("mlp.params")
    session.forward(x(2, 20), name="y2")
    np.testing.assert_array_equal(session.value("y2"), y)
    exc = raised(session.load_params, "mlp.params", model={"sequential": [{"dense": {"units": 256, "in_units": 20}}]})
    assert adapter.classify_error(exc, "load") == "load_mismatch"


def test_params_of_another_shape_are_a_shape_mismatch(session, adapter):
    session.build({"mlp": {"in_units": 20}})
    session.save_params("mlp.params")
    exc = raised(session.load_params, "mlp.params", model={"mlp": {"in_units": 30}})
    assert "size mismatch" in str(exc) and adapter.classify_error(exc, "load") == "shape_mismatch"


def test_params_load_into_a_lazy_model(session):
    session.build({"mlp": {"in_units": 20}})
    session.save_params("mlp.params")
    w = session.param_value("hidden.weight")
    session.load_params("mlp.params", model={"mlp": {}}, initialize=True)
    np.testing.assert_array_equal(session.param_value("hidden.weight"), w)


# -- snippet -----------------------------------------------------------------------------------
def test_snippet_runs(adapter, tmp_path, monkeypatch):
    case = SimpleNamespace(model=SHARED, steps=[
        ("initialize", {"init": {"custom": {"name": "zero_small"}}, "seed": 0}),
        ("forward", {"input": {"uniform": [2, 4], "seed": 1}}),
        ("backward", {"loss": "sum"}),
        ("write_param", {"param": "2.weight", "set": {"index": [0, 0], "value": 100}}),
        ("save_params", {"file": "p"}),
        ("load_params", {"file": "p"}),
        ("probe", {"name": "structure"}),
    ])
    code = adapter.snippet(case)
    assert "net[4].weight.data[0, 0] = 100" in code
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "<snippet>", "exec"), namespace)  # noqa: S102 - our own generated code
    assert float(namespace["net"][2].weight.data[0, 0]) == 100.0


def test_snippet_includes_class_sources(adapter):
    code = adapter.snippet(SimpleNamespace(model={"nest_mlp": {}}, steps=[]))
    assert "class NestMLP(nn.Module):" in code and "net = NestMLP()" in code


def test_snippet_of_a_lazy_model_defers_the_initializer_to_the_first_forward(adapter, tmp_path, monkeypatch):
    case = SimpleNamespace(model={"my_sequential": [{"dense": {"units": 256, "activation": "relu"}},
                                                    {"dense": {"units": 10}}]}, steps=[
        ("initialize", {"init": {"custom": {"name": "zero_small"}}, "seed": 0}),
        ("forward", {"input": {"uniform": [2, 20], "seed": 1}}),
    ])
    code = adapter.snippet(case)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "<snippet>", "exec"), namespace)  # noqa: S102 - our own generated code
    w = namespace["net"]._modules["0"].weight.detach().numpy()
    assert w.shape == (256, 20) and 0.3 < np.mean(w == 0) < 0.7


def test_every_spec_case_has_a_snippet_that_compiles(adapter):
    from conformance.loader import load_specs_tolerant

    cases, _ = load_specs_tolerant([str(Path(__file__).resolve().parent.parent / "specs")])
    if not cases:
        pytest.skip("no spec files")
    for case in cases:
        code = adapter.snippet(case)
        assert not code.startswith("# snippet unavailable"), (case.id, code)
        compile(code, f"<snippet {case.id}>", "exec")


def test_torch_errors_raised_in_user_level_code_are_not_kit_bugs(session):
    from conformance.execute import is_adapter_bug

    session.build({"dense": {"units": 4}})  # lazy: weight.data is an empty tensor
    exc = raised(session.write_param, "weight", set={"index": [0, 0], "value": 1.0})
    assert isinstance(exc, IndexError) and not is_adapter_bug(exc)


def test_two_runs_give_identical_records(adapter):
    from conformance.loader import load_specs_tolerant
    from conformance.runner import run_inprocess

    cases, _ = load_specs_tolerant([str(Path(__file__).resolve().parent.parent / "specs")])
    if not cases:
        pytest.skip("no spec files")

    def strip(records):
        return [{k: v for k, v in r.items() if k != "duration_s"} for r in records]

    first = strip(run_inprocess(adapter, cases))
    second = strip(run_inprocess(adapter, list(reversed(cases))))[::-1]
    for a, b in zip(first, second):
        assert a == b, f"{a['id']} differs between two runs"
    assert not [r["id"] for r in first if r["status"] in ("error", "crash", "timeout")]
