"""The MXNet adapter against real MXNet 1.x: it builds the notes' blocks, maps Gluon's
names to canonical paths, and reports what MXNet does (observations, error kinds).

Rule: these tests run only where mxnet imports (its tox env); they never mock MXNet.
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("mxnet")

from conformance.adapters.base import Unsupported
from conformance.adapters.mxnet.adapter import MxnetAdapter
from conformance.adapters.mxnet.errors import classify, meaningful_line


@pytest.fixture(scope="module")
def adapter():
    adapter = MxnetAdapter()
    adapter.load()
    return adapter


@pytest.fixture
def session(adapter, tmp_path):
    def make(model=None):
        s = adapter.new_session(str(tmp_path))
        if model is not None:
            s.build(model)
        return s

    return make


def x(*shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype(np.float32)


def raised(call, *args, **kwargs) -> BaseException:
    with pytest.raises(Exception) as info:
        call(*args, **kwargs)
    return info.value


def test_version_and_second_context(adapter):
    assert adapter.version().startswith("1.")
    assert adapter.devices()["second"] in ("cpu(1)", "gpu(0)")


def test_mlp_paths_deferred_shapes_and_first_forward(session):
    s = session({"mlp": {}})
    s.initialize()
    assert s.param_paths() == ["hidden.weight", "hidden.bias", "output.weight", "output.bias"]
    assert s.native_names()["hidden.weight"].endswith("_weight")
    assert s.param_shape("hidden.weight") is None  # Gluon's (256, 0)
    assert s.param_shape("hidden.bias") == (256,)
    error = raised(s.read_param, "hidden.weight")
    assert type(error).__name__ == "DeferredInitializationError"
    assert s.classify_error(error, "access") == "not_initialized"
    s.forward(x(2, 20))
    assert s.param_shape("hidden.weight") == (256, 20)
    assert s.value("out").shape == (2, 10)


def test_in_units_makes_shapes_known_at_initialize(session):
    s = session({"mlp": {"in_units": 20}})
    s.initialize()
    assert s.param_shape("output.weight") == (10, 256)


def test_fixed_feature_size_then_other_size_is_a_shape_error(session):
    s = session({"dense": {"units": 3}})
    s.initialize()
    s.forward(x(2, 4))
    s.forward(x(5, 4))
    assert s.classify_error(raised(s.forward, x(2, 5)), "forward") == "shape_mismatch"


def test_forgetting_super_init_is_missing_super_init(session, adapter):
    error = raised(session, {"mlp_no_super": {}})
    assert isinstance(error, AttributeError) and "_children" in str(error)
    assert adapter.classify_error(error, "construction") == "missing_super_init"


def test_plain_list_is_not_registered_and_forward_fails(session):
    s = session({"list_mlp": {}})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s.initialize()
    assert any("unregistered container" in str(w.message) for w in caught)
    assert s.param_paths() == []
    assert s.param_shape("layers.0.weight") is None
    assert s.classify_error(raised(s.forward, x(2, 20)), "first_forward") == "not_initialized"


def test_my_sequential_uses_index_paths(session):
    s = session(
        {"my_sequential": [{"dense": {"units": 4, "activation": "relu"}}, {"dense": {"units": 2}}]}
    )
    s.initialize()
    s.forward(x(3, 5))
    assert s.param_paths() == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert s.param_shape("1.weight") == (2, 4)


def test_fancy_mlp_constant_is_not_a_parameter_and_inplace_fails_when_recording(session):
    s = session({"fancy_mlp": {}})
    s.initialize()
    assert s.param_paths() == ["dense.weight", "dense.bias"]
    assert "rand_weight" in s.native_names()
    s.forward(x(2, 20), record=False)
    assert s.value("out").shape == (1,)
    # `x /= 2` runs whenever the norm exceeds 1, and MXNet refuses in-place ops in record()
    error = raised(s.forward, x(2, 20) * 10)
    assert s.classify_error(error, "forward") == "inplace_in_recording"


def test_nest_mlp_paths(session):
    s = session({"nest_mlp": {}})
    assert s.param_paths() == [
        "net.0.weight",
        "net.0.bias",
        "net.1.weight",
        "net.1.bias",
        "dense.weight",
        "dense.bias",
    ]


def test_shared_dense_one_storage_and_summed_gradient(session):
    s = session(
        {
            "sequential": [
                {"dense": {"units": 3, "in_units": 3, "activation": "relu"}, "as": "s"},
                {"reuse": "s"},
            ]
        }
    )
    s.initialize(init={"normal": {"sigma": 0.5}}, seed=1)
    assert s.param_paths() == ["0.weight", "0.bias"]
    assert s.same_storage("param", "0.weight", "1.weight")
    s.write_param("1.weight", set={"index": [0, 0], "value": 100.0})
    assert s.param_value("0.weight")[0, 0] == 100.0
    s.forward(x(2, 3))
    s.backward()
    assert s.param_grad("1.weight") is not None


def test_second_initialize_warns_and_force_reinit_redraws(session):
    s = session({"dense": {"units": 4, "in_units": 3}})
    s.initialize(seed=0)
    before = s.param_value("weight")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s.initialize()
    assert any("already initialized" in str(w.message) for w in caught)
    assert np.array_equal(before, s.param_value("weight"))
    s.initialize(init={"constant": {"value": 42}}, force_reinit=True)
    assert np.all(s.param_value("weight") == 42) and np.all(s.param_value("bias") == 0)


def test_second_initialize_under_deferral_warns_for_bias_only(session):
    s = session({"dense": {"units": 4}})
    s.initialize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s.initialize(init={"constant": {"value": 3}})
    texts = [str(w.message) for w in caught]
    assert len(texts) == 1 and "_bias' is already initialized" in texts[0]
    s.forward(x(2, 5))
    assert np.all(s.param_value("weight") == 3)  # the deferred weight took the new init


def test_target_one_parameter(session):
    s = session(
        {
            "sequential": [
                {"dense": {"units": 4, "in_units": 3}},
                {"dense": {"units": 2, "in_units": 4}},
            ]
        }
    )
    s.initialize(init={"constant": {"value": 1}})
    s.initialize(init={"xavier": {}}, target="0.weight", force_reinit=True)
    assert not np.all(s.param_value("0.weight") == 1)
    assert np.all(s.param_value("1.weight") == 1)


def test_custom_initializer_runs_at_first_forward_under_deferral(session):
    s = session({"sequential": [{"dense": {"units": 64}}, {"dense": {"units": 8}}]})
    s.current_step = 0
    s.initialize(init={"custom": {"name": "zero_small"}})
    assert s.init_calls == []
    s.current_step = 1
    s.forward(x(2, 20))
    assert [(c["name"], c["step"]) for c in s.init_calls] == [("0.weight", 1), ("1.weight", 1)]
    w = s.param_value("0.weight")
    assert np.all(np.abs(w[w != 0]) >= 5)
    assert np.all(s.param_value("0.bias") == 0)


def test_normal_with_mean_is_unsupported(session):
    s = session({"dense": {"units": 2, "in_units": 2}})
    with pytest.raises(Unsupported):
        s.initialize(init={"normal": {"sigma": 1, "mean": 3}})


def test_my_dense_layout_and_deferred_build(session):
    s = session({"my_dense": {"units": 3, "in_units": 5}})
    s.initialize()
    assert s.param_shape("weight") == (5, 3)
    s = session({"my_dense": {"units": 3}})
    s.initialize()
    assert s.param_shape("weight") is None
    s.forward(x(2, 5))
    assert s.param_shape("weight") == (5, 3)
    s.backward()
    assert np.any(s.param_grad("weight"))  # .data() in MXNet does not cut the gradient


def test_param_dict(session):
    s = session({"param_dict": {"params": {"param2": [2, 3]}}})
    s.initialize()
    assert s.param_paths() == ["param2"] and s.param_value("param2").shape == (2, 3)
    assert s.probe("param_type") == {"class": "Parameter"}


def test_autograd_four_x_head_and_second_backward(session):
    s = session()
    s.tensor("x", np.arange(4, dtype=np.float32), requires_grad=True)
    assert not np.any(s.value_grad("x"))  # zeros after attach_grad
    s.compute("two_x_squared", ["x"], "y")
    s.backward(of="y", loss="none")
    assert np.allclose(s.value_grad("x"), 4 * np.arange(4))
    assert s.classify_error(raised(s.backward, of="y", loss="none"), "backward") == "graph_freed"
    s.compute("two_x_squared", ["x"], "y")
    s.backward(of="y", loss="none", head=np.array([1, 2, 3, 4], np.float32))
    assert np.allclose(s.value_grad("x"), [0, 8, 24, 48])


def test_backward_of_unrecorded_value_is_no_gradient(session):
    s = session()
    s.tensor("x", np.ones(3, np.float32))
    s.compute("two_x_squared", ["x"], "y")
    assert s.classify_error(raised(s.backward, of="y"), "backward") == "no_gradient"


def test_setitem_in_recording_and_rebind(session):
    s = session()
    s.tensor("w", np.ones(3, np.float32), requires_grad=True)
    error = raised(s.compute, "setitem_zero", ["w"], "z")
    assert s.classify_error(error, "compute") == "inplace_in_recording"
    assert meaningful_line(error).startswith(("MXNetError:", "Check failed"))  # 1.8+, 1.5
    s.compute("sum_two_x_squared", ["w"], "l")
    s.backward(of="l")
    s.update("w", 0.1, "in_place")
    assert s.value_grad("w") is not None
    s.update("w", 0.1, "rebind")
    assert s.value_grad("w") is None


def test_is_training_probe_and_dropout(session):
    s = session({"dropout": {"rate": 0.5}})
    assert s.probe("is_training") == {"inside_recording": True, "outside_recording": False}
    s.forward(np.ones((100, 100), np.float32), mode="train")
    out = s.value("out")
    assert 0.4 < np.mean(out == 0) < 0.6 and set(np.unique(out)) <= {0.0, 2.0}
    s.forward(np.ones((10, 10), np.float32), mode="predict")
    assert np.all(s.value("out") == 1)


def test_contexts_copy_move_and_mismatch(session):
    s = session({"dense": {"units": 2, "in_units": 3}})
    s.tensor("a", np.ones(3, np.float32))
    s.copy_to("a", "default", "copied", "copy")
    s.copy_to("a", "default", "moved", "move")
    s.to_numpy("a", "host")
    assert not s.same_storage("value", "a", "copied")
    assert s.same_storage("value", "a", "moved")
    assert not s.same_storage("value", "a", "host")
    s.copy_to("a", "second", "there", "move")
    assert s.device_of("value", "there")["canonical"] == "second"
    s.initialize()
    s.to_device("second")
    assert s.device_of("param", "weight")["canonical"] == "second"
    assert s.classify_error(raised(s.forward, x(2, 3)), "forward") == "device_mismatch"


def test_tensor_save_load_formats(session):
    s = session()
    s.save_tensors("one", np.arange(3, dtype=np.int32))
    s.load_tensors("one", "l1")
    loaded = s.value("l1")
    assert isinstance(loaded, list) and loaded[0].dtype == np.int32  # nd.load gives a list
    s.save_tensors("d", {"x": np.ones(2, np.float32), "y": np.zeros(1, np.float64)})
    s.load_tensors("d", "ld")
    assert s.value("ld")["y"].dtype == np.float64


def test_save_load_parameters_and_mismatch(session):
    s = session({"mlp": {}})
    s.initialize()
    s.forward(x(2, 20))
    before = s.value("out")
    s.save_params("mlp.params")
    s.load_params("mlp.params")
    s.forward(x(2, 20))
    assert np.array_equal(before, s.value("out"))
    other = {"sequential": [{"dense": {"units": 256}}, {"dense": {"units": 10}}]}
    error = raised(s.load_params, "mlp.params", model=other)
    assert s.classify_error(error, "load") == "load_mismatch"


def test_classify_other_for_unknown_errors():
    assert classify(ValueError("something else"), "compute") == "other"


def test_snippet_runs_and_reproduces_the_case(adapter, tmp_path, monkeypatch):
    from conformance.loader import Case, Outcome

    model = {
        "sequential": [{"dense": {"units": 3, "in_units": 3}, "as": "shared"}, {"reuse": "shared"}]
    }
    case = Case(
        id="c",
        file="f",
        topic="t",
        title="t",
        behaviours=[],
        source={},
        outcomes=[Outcome(label="as-noted", says="", expect=[], normative=True)],
        model=model,
        steps=[
            ("initialize", {"init": {"constant": {"value": 1}}}),
            ("initialize", {"target": "0.weight", "init": {"xavier": {}}, "force_reinit": True}),
            ("forward", {"input": {"uniform": [2, 3], "seed": 1}}),
            ("backward", {"loss": "sum"}),
            ("save_params", {"file": "p.params"}),
        ],
    )
    text = adapter.snippet(case)
    assert "net[0].weight.initialize(init=init.Xavier(), force_reinit=True)" in text
    assert "params=shared.params" in text and "autograd.record" in text
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(text, "snippet", "exec"), namespace)  # noqa: S102 - the kit's own generated code
    assert namespace["net"][1].weight is namespace["net"][0].weight
    assert (tmp_path / "p.params").exists()


def test_every_spec_snippet_compiles(adapter, root):
    from conformance.loader import load_specs

    for case in load_specs([f"{root}/specs"]):
        compile(adapter.snippet(case), case.id, "exec")


def test_a_new_session_forgets_the_constant_initializers_earlier_cases_registered(session, adapter, tmp_path):
    """Gluon registers one initializer per Constant, named by the parameter's name and its
    id(): left in MXNet's global registry, a later case's Constant that reuses name and
    address draws an "overriding existing initializer" warning into its record."""
    from mxnet import initializer, registry

    table = registry._REGISTRY[initializer.Initializer]
    s = session({"fancy_mlp": {}})
    s.initialize(seed=0)
    assert [n for n in table if n.startswith("constant_")], "FancyMLP's constant registered an initializer"
    adapter.new_session(str(tmp_path / "next"))
    assert not [n for n in table if n.startswith("constant_")]
    assert "constant" in table, "MXNet's own Constant initializer stays"
