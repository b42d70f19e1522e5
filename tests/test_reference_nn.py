"""The reference's blocks, parameters, initializers and files (Gluon semantics): deferred
initialization, the force_reinit warning, sharing, constants, registration, save/load
round trips without pickle, and the custom initializer that reaches weights only."""

from __future__ import annotations

import os
import warnings
from collections import Counter

import numpy as np
import pytest

from conformance import reference as ref
from conformance.reference import autograd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_notes():
    """The notes' classes as the reference's programs write them (program text, loaded here)."""
    import importlib.util

    path = os.path.join(ROOT, "conformance", "adapters", "reference", "notes_code.py")
    spec = importlib.util.spec_from_file_location("reference_notes_code", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


notes = _load_notes()


@pytest.fixture(autouse=True)
def fresh_names():
    """Native names count from 0 in every test, as in a fresh process."""
    with ref.naming.use(Counter()):
        yield


def _x(*shape, seed=1):
    return ref.Tensor(np.random.default_rng(seed).uniform(size=shape).astype(np.float32))


def _mlp():
    return ref.Sequential().add(ref.Dense(256, activation="relu"), ref.Dense(10))


# -- deferred initialization ---------------------------------------------------------


def test_deferred_shapes_are_unknown_until_the_first_forward():
    net = _mlp()
    net.initialize()
    assert net[0].weight.shape == (256, 0)
    with pytest.raises(ref.DeferredInitializationError) as info:
        net[0].weight.data()
    assert "dense0_weight" in str(info.value) and "in_units" in str(info.value)
    net(_x(2, 20))
    assert net[0].weight.shape == (256, 20) and net[1].weight.shape == (10, 256)


def test_in_units_makes_shapes_known_at_initialize():
    net = ref.Sequential().add(
        ref.Dense(256, in_units=20, activation="relu"), ref.Dense(10, in_units=256)
    )
    net.initialize()
    assert net[0].weight.data().shape == (256, 20)
    assert net[1].weight.data().shape == (10, 256)


def test_after_inference_batch_size_may_change_but_features_may_not():
    net = _mlp()
    net.initialize()
    net(_x(2, 20))
    assert net(_x(5, 20)).shape == (5, 10)
    with pytest.raises(ref.ShapeMismatchError, match="20"):
        net(_x(2, 30))


def test_forward_without_initialize_names_the_parameter():
    net = ref.Dense(3, in_units=2)
    with pytest.raises(ref.NotInitializedError, match="dense0_weight"):
        net(_x(1, 2))


def test_deferred_custom_initializer_runs_at_the_first_forward():
    calls = []

    class Logged(ref.init.MyInit):
        def _init_weight(self, name, data):
            calls.append((name, data.shape))
            super()._init_weight(name, data)

    net = _mlp()
    net.initialize(Logged())
    assert calls == []
    net(_x(2, 20))
    assert calls == [("dense0_weight", (256, 20)), ("dense1_weight", (10, 256))]


def test_deferred_initialization_draws_from_the_generator_given_at_initialize():
    a, b = _mlp(), _mlp()
    a.initialize(seed=3)
    b.initialize(seed=3)
    ref.rng.seed(99)  # other draws between initialize and forward do not matter
    a(_x(2, 4))
    b(_x(2, 4))
    np.testing.assert_array_equal(a[0].weight.data().asnumpy(), b[0].weight.data().asnumpy())


# -- initializers ----------------------------------------------------------------------


def test_default_initialization_is_uniform_007_and_zero_bias():
    layer = ref.Dense(300, in_units=200)
    layer.initialize(seed=0)
    w = layer.weight.data().asnumpy()
    assert w.min() >= -0.07 and w.max() <= 0.07 and w.max() > 0.069 and w.min() < -0.069
    assert abs(w.std() - 0.07 / np.sqrt(3)) < 0.002
    assert not np.any(layer.bias.data().asnumpy())
    assert not np.any(layer.weight.grad().asnumpy())  # Gluon: zeros right after init


def test_normal_uses_sigma_and_bias_stays_zero():
    net = ref.Sequential().add(ref.Dense(200, in_units=300))
    net.initialize(ref.init.Normal(sigma=0.01), seed=0)
    w = net[0].weight.data().asnumpy()
    assert abs(w.std() - 0.01) < 0.0005 and abs(w.mean()) < 0.0005
    assert not np.any(net[0].bias.data().asnumpy())


def test_constant_and_xavier():
    net = ref.Sequential().add(ref.Dense(30, in_units=20), ref.Dense(10, in_units=30))
    net.initialize(ref.init.Constant(42))
    assert np.all(net[0].weight.data().asnumpy() == 42)
    assert not np.any(net[0].bias.data().asnumpy())
    net[0].weight.initialize(ref.init.Xavier(), force_reinit=True, rng=np.random.default_rng(0))
    bound = np.sqrt(6 / (20 + 30))
    w0 = net[0].weight.data().asnumpy()
    assert np.abs(w0).max() <= bound and np.abs(w0).max() > 0.9 * bound
    assert np.all(net[1].weight.data().asnumpy() == 42)  # the others keep their values


def test_custom_initializer_reaches_weights_only():
    net = ref.Sequential().add(ref.Dense(256, in_units=20), ref.Dense(10, in_units=256))
    net.initialize(ref.init.MyInit(), seed=0)
    w = net[0].weight.data().asnumpy()
    assert abs(np.mean(w == 0) - 0.5) < 0.05
    assert np.abs(w[w != 0]).min() >= 5
    assert not np.any(net[0].bias.data().asnumpy())
    assert not np.any(net[1].bias.data().asnumpy())


def test_per_layer_initializer_beats_the_one_given_to_initialize():
    layer = ref.Dense(3, in_units=2, weight_initializer=ref.init.One())
    layer.initialize(ref.init.Constant(5))
    assert np.all(layer.weight.data().asnumpy() == 1)


# -- initialize twice ----------------------------------------------------------------------


def test_second_initialize_warns_and_keeps_values():
    net = ref.Sequential().add(ref.Dense(4, in_units=3))
    net.initialize(seed=0)
    before = net[0].weight.data().asnumpy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.initialize(ref.init.Constant(1))
    texts = [str(w.message) for w in caught]
    assert any("dense0_weight" in t and "force_reinit=True" in t for t in texts)
    np.testing.assert_array_equal(net[0].weight.data().asnumpy(), before)


def test_force_reinit_redraws_without_a_warning():
    net = ref.Sequential().add(ref.Dense(4, in_units=3))
    net.initialize(seed=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net.initialize(ref.init.Constant(1), force_reinit=True)
    assert caught == []
    assert np.all(net[0].weight.data().asnumpy() == 1)


def test_set_data_writes_the_existing_storage():
    layer = ref.Dense(2, in_units=2)
    layer.initialize(ref.init.Zero())
    storage = layer.weight.data()
    layer.weight.set_data(layer.weight.data() + 1)
    assert layer.weight.data() is storage and np.all(storage.asnumpy() == 1)


# -- registration, sharing, constants ---------------------------------------------------------


def test_assigning_a_layer_before_the_parent_constructor_fails():
    with pytest.raises(ref.MissingSuperInitError, match="_children"):
        notes.MLPNoSuper()
    with pytest.raises(AttributeError):  # like Gluon's AttributeError
        notes.MLPNoSuper()


def test_layers_in_a_plain_list_are_not_registered():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = notes.ListMLP()
    assert any("unregistered container" in str(w.message) for w in caught)
    assert len(net.collect_params()) == 0
    net.initialize()
    with pytest.raises(ref.NotInitializedError):
        net(_x(2, 20))


def test_sequential_runs_children_in_insertion_order():
    net = ref.Sequential().add(
        ref.Dense(3, in_units=4, activation="relu"), ref.Dense(2, in_units=3)
    )
    net.initialize(ref.init.Normal(sigma=1.0), seed=0)
    x = _x(5, 4)
    w0, b0 = net[0].weight.data().asnumpy(), net[0].bias.data().asnumpy()
    w1, b1 = net[1].weight.data().asnumpy(), net[1].bias.data().asnumpy()
    expected = np.maximum(x.asnumpy() @ w0.T + b0, 0) @ w1.T + b1
    np.testing.assert_allclose(net(x).asnumpy(), expected, rtol=1e-5)


def test_my_sequential_children_are_found_by_collect_params():
    net = notes.MySequential()
    net.add(ref.Dense(256, activation="relu"))
    net.add(ref.Dense(10))  # the note's add(): the registry keyed by position
    net.initialize()
    assert net(_x(2, 20)).shape == (2, 10)
    assert list(net._collect_params_with_prefix()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_collect_params_is_recursive_and_selects_by_regex():
    net = ref.Sequential().add(notes.NestMLP(), ref.Dense(20), notes.FancyMLP())
    net.initialize()
    assert net(_x(2, 20)).shape == ()
    names = list(net.collect_params().keys())
    assert len(names) == 11  # 10 trainable + FancyMLP's constant
    weights = list(net.collect_params(".*weight").keys())
    assert all(n.endswith("weight") for n in weights) and len(weights) == 6


def test_shared_layer_is_one_storage_collected_once():
    shared = ref.Dense(8, in_units=8, activation="relu")
    net = ref.Sequential().add(
        ref.Dense(8, in_units=4, activation="relu"),
        shared,
        ref.Dense(8, in_units=8, activation="relu", params=shared.params),
        ref.Dense(10, in_units=8),
    )
    net.initialize()
    assert net[1].weight is net[2].weight
    net[1].weight.data()[0, 0] = 100
    assert net[2].weight.data().asnumpy()[0, 0] == 100
    assert len(net.collect_params()) == 6


def test_constant_parameter_is_not_trainable():
    net = notes.FancyMLP()
    net.initialize()
    assert net.rand_weight.grad_req == "null"
    with autograd.record():
        y = net(_x(2, 20))
    y.backward()
    with pytest.raises(ref.NoGradientError, match="grad_req='null'"):
        net.rand_weight.grad()
    assert np.any(net.dense.weight.grad().asnumpy())
    trainable = [p.name for p in net.collect_params().values() if p.grad_req != "null"]
    assert trainable == ["dense0_weight", "dense0_bias"]


def test_centered_layer_and_my_dense():
    net = ref.Sequential().add(ref.Dense(128), notes.CenteredLayer())
    net.initialize()
    assert abs(net(_x(4, 8)).mean().asscalar()) < 1e-6
    dense = notes.MyDense(units=3, in_units=5)
    dense.initialize()
    assert dense.weight.shape == (5, 3) and dense(_x(2, 5)).shape == (2, 3)
    lazy = notes.MyDense(units=3)
    lazy.initialize()
    assert lazy.weight.shape == (0, 3)
    lazy(_x(2, 7))
    assert lazy.weight.shape == (7, 3)


def test_my_dense_reading_through_detached_data_gets_no_gradient():
    net = ref.Sequential().add(
        ref.Dense(5, in_units=4), notes.MyDense(3, in_units=5, read_via_data=True)
    )
    net.initialize(ref.init.One())
    with autograd.record():
        y = net(_x(2, 4))
    y.backward()
    assert not np.any(net[1].weight.grad().asnumpy())
    assert np.all(net[0].weight.grad().asnumpy() != 0)


def test_parameters_move_with_the_model_and_refuse_input_elsewhere():
    net = ref.Sequential().add(ref.Dense(2, in_units=3))
    net.initialize(device=ref.vdev(1))
    assert net[0].weight.data().device == ref.vdev(1)
    with pytest.raises(ref.DeviceMismatchError):
        net(_x(1, 3))
    assert net(_x(1, 3).copyto(ref.vdev(1))).device == ref.vdev(1)
    net.collect_params().reset_device(ref.cpu(0))
    assert net(_x(1, 3)).device == ref.cpu(0)


# -- files --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "int32"])
def test_save_load_one_tensor_round_trips(tmp_path, dtype):
    x = ref.Tensor(np.arange(6).reshape(2, 3).astype(dtype))
    path = str(tmp_path / "x")
    ref.save(path, x)
    assert os.path.exists(path)  # the name is kept as given (no ".npz" appended)
    y = ref.load(path)
    assert y.dtype == np.dtype(dtype) and y.shape == (2, 3)
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())


def test_save_load_list_and_dict_keep_structure_and_order(tmp_path):
    values = [ref.array([1.0, 2.0]), ref.Tensor(np.zeros((2, 2), dtype=np.int64))]
    ref.save(str(tmp_path / "list"), values)
    loaded = ref.load(str(tmp_path / "list"))
    assert isinstance(loaded, list) and len(loaded) == 2
    assert loaded[1].dtype == np.int64
    mapping = {"y": ref.array([3.0]), "x": ref.array([[1.0]])}
    ref.save(str(tmp_path / "dict"), mapping)
    back = ref.load(str(tmp_path / "dict"))
    assert list(back) == ["y", "x"]
    np.testing.assert_array_equal(back["x"].asnumpy(), [[1.0]])


def test_a_file_holding_an_object_array_is_refused(tmp_path):
    path = str(tmp_path / "evil")
    with open(path, "wb") as handle:
        np.savez(
            handle,
            __format__=np.array("reference-tensors/1"),
            __kind__=np.array("single"),
            value=np.array([{"code": "anything"}], dtype=object),
        )
    with pytest.raises(ref.UnsafeFileError, match="pickle"):
        ref.load(path)


def test_a_file_that_is_not_npz_is_refused(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"not an archive")
    with pytest.raises(ref.UnsafeFileError):
        ref.load(str(path))


def test_parameters_round_trip_into_a_fresh_model(tmp_path):
    net = notes.MLP()
    net.initialize(seed=0)
    x = _x(2, 20)
    y = net(x)
    path = str(tmp_path / "mlp.params")
    net.save_parameters(path)
    clone = notes.MLP()
    clone.load_parameters(path)  # never initialized, shapes deferred: taken from the file
    assert clone.hidden.weight.shape == (256, 20)
    np.testing.assert_array_equal(clone(x).asnumpy(), y.asnumpy())


def test_loading_into_another_architecture_names_the_parameter(tmp_path):
    net = notes.MLP(in_units=20)
    net.initialize()
    path = str(tmp_path / "mlp.params")
    net.save_parameters(path)
    other = ref.Sequential().add(ref.Dense(256, in_units=20), ref.Dense(10, in_units=256))
    with pytest.raises(ref.LoadMismatchError, match="0.weight' is missing"):
        other.load_parameters(path)
    with pytest.raises(ref.LoadMismatchError, match="hidden.weight' loaded from file"):
        other.load_parameters(path, allow_missing=True)
    wider = notes.MLP(in_units=30)
    with pytest.raises(ref.LoadMismatchError, match="hidden.weight.*shape incompatible"):
        wider.load_parameters(path)


def test_loaded_parameters_write_into_shared_storage(tmp_path):
    shared = ref.Dense(3, in_units=3)
    net = ref.Sequential().add(shared, shared)
    net.initialize(ref.init.One())
    path = str(tmp_path / "p")
    net.save_parameters(path)
    storage = shared.weight.data()
    net.initialize(ref.init.Zero(), force_reinit=True)
    net.load_parameters(path)
    assert np.all(shared.weight.data().asnumpy() == 1)
    assert storage is not shared.weight.data() or np.all(storage.asnumpy() == 1)


def test_parameter_dict_get_and_save(tmp_path):
    params = ref.ParameterDict()
    p = params.get("param2", shape=(2, 3))
    assert params.get("param2") is p
    params.initialize()
    assert p.data().shape == (2, 3) and not np.any(p.grad().asnumpy())
    ref.serialization.save_parameters(params, str(tmp_path / "pd"))
    fresh = ref.ParameterDict()
    fresh.get("param2", shape=(2, 3))
    ref.serialization.load_parameters(fresh, str(tmp_path / "pd"))
    np.testing.assert_array_equal(fresh["param2"].data().asnumpy(), p.data().asnumpy())
