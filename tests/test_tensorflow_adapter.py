"""Direct tests of the TensorFlow adapter against real TensorFlow (skipped where TF is absent).

Rule: one adapter per module (the TF import is slow); every test builds its own session and
checks an observation the adapter must get right (layout, deferral, errors, save/load).
"""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from conformance.adapters.base import Unsupported
from conformance.adapters.tensorflow.adapter import TensorflowAdapter
from conformance.adapters.tensorflow.keras_version import keras3, legacy_requested
from conformance.manual import evaluate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
X = np.random.default_rng(1).uniform(size=(2, 20)).astype(np.float32)


@pytest.fixture(scope="module")
def adapter():
    adapter = TensorflowAdapter()
    adapter.load()
    adapter.start_runtime()
    return adapter


def new_session(adapter, tmp_path, steps=()):
    session = adapter.new_session(str(tmp_path))
    session.prepare(SimpleNamespace(steps=list(steps)))
    return session


def test_version_and_second_device(adapter):
    assert adapter.version().count(".") >= 2
    devices = adapter.devices()
    assert devices["second"] in ("/GPU:0", "/device:CPU:1")
    assert devices["cross_device_op"].startswith("no error")


def test_an_inprocess_run_finds_the_second_device_without_start_runtime(adapter):
    # The determinism test's reverse run calls only load(), then run_inprocess: that starts the
    # runtime as a worker does, so second-device cases run there rather than skip.
    from conformance.loader import load_specs
    from conformance.runner import run_inprocess

    case = [c for c in load_specs([os.path.join(ROOT, "specs", "io", "strength_io.yaml")])
            if c.id == "load-onto-second-device-without-initialize"]
    fresh = TensorflowAdapter()
    fresh.load()
    assert fresh.second_device is None
    [record] = run_inprocess(fresh, case)
    assert fresh.second_device == adapter.second_device is not None
    assert record["status"] == "pass", record["message"]


def test_column_names_the_keras_in_use(adapter, tmp_path):
    """Keras 3 on TF >= 2.16; Keras 2 from tf_keras (TF_USE_LEGACY_KERAS=1) or inside TF 2.15."""
    import tensorflow as tf
    from packaging.version import Version

    keras = adapter.components()["keras"]
    if legacy_requested():
        import tf_keras

        assert keras == tf_keras.__version__ and keras.startswith("2.")
        assert adapter.keras is tf_keras
    elif Version(Version(tf.__version__).base_version) < Version("2.16"):
        assert keras.startswith("2.") and adapter.keras.layers.Dense is tf.keras.layers.Dense
    else:
        import keras as keras_package

        assert keras == keras_package.__version__ and keras.startswith("3.")
    assert keras3() == keras.startswith("3.")
    # every layer the adapter builds comes from that Keras
    session = new_session(adapter, tmp_path)
    session.build({"dense": {"units": 2, "in_units": 3}})
    assert isinstance(session.built.model, adapter.keras.layers.Layer)


def test_reading_a_kernel_before_build_is_not_built(adapter, tmp_path):
    """Keras 2: the unbuilt Dense has no `kernel` attribute; Keras 3: the property raises."""
    session = new_session(adapter, tmp_path)
    session.build({"dense": {"units": 2}})
    with pytest.raises(Exception) as unbuilt:
        session.read_param("weight")
    assert adapter.classify_error(unbuilt.value, "access") == "not_built"


def test_dense_layout_is_canonical_and_names_are_native(adapter, tmp_path):
    session = new_session(adapter, tmp_path)
    session.build({"sequential": [{"dense": {"units": 3, "in_units": 4}}, {"dense": {"units": 2, "in_units": 3}}]})
    assert session.param_shape("0.weight") == (3, 4)
    assert session.param_paths() == ["0.weight", "0.bias", "1.weight", "1.bias"]
    # Keras 3: the variable's path (".../kernel"); Keras 2: the tf.Variable name ("kernel:0")
    assert session.native_names()["0.weight"].split(":")[0].endswith("kernel")
    session.write_param("0.weight", set={"index": [2, 0], "value": 7.0})
    kernel = session.built.refs[0].layer.kernel.numpy()
    assert kernel[0, 2] == 7.0 and session.param_value("0.weight")[2, 0] == 7.0


def test_deferred_shapes_and_custom_init_at_first_forward(adapter, tmp_path):
    session = new_session(adapter, tmp_path)
    session.build({"sequential": [{"dense": {"units": 256, "activation": "relu"}}, {"dense": {"units": 10}}]})
    session.current_step = 0
    session.initialize(init={"custom": {"name": "zero_small"}}, seed=0)
    assert session.param_shape("0.weight") is None and session.init_calls == []
    session.current_step = 1
    session.forward(X)
    assert session.param_shape("0.weight") == (256, 20)
    assert [(c["name"], c["step"]) for c in session.init_calls] == [("0.weight", 1), ("1.weight", 1)]
    weight = session.param_value("0.weight")
    assert abs((weight == 0).mean() - 0.5) < 0.05 and np.abs(weight[weight != 0]).min() >= 5
    assert np.all(session.param_value("0.bias") == 0)


def test_mlp_output_matches_numpy(adapter, tmp_path):
    session = new_session(adapter, tmp_path)
    session.build({"mlp": {"in_units": 20}})
    session.initialize(init={"normal": {"sigma": 0.1}}, seed=0)
    session.forward(X)
    params = {p: session.param_value(p) for p in session.param_paths()}
    np.testing.assert_allclose(session.value("out"), evaluate({"mlp": {}}, params, X), rtol=1e-4, atol=1e-5)


def test_shared_layer_one_variable_and_summed_gradient(adapter, tmp_path):
    session = new_session(adapter, tmp_path)
    spec = {"sequential": [{"dense": {"units": 4, "in_units": 4}, "as": "s"}, {"reuse": "s"}]}
    if not keras3():
        # Keras 2's Sequential keeps a layer added twice once and runs it once: the adapter says
        # so (unsupported) instead of judging a model that silently lost its second use
        with pytest.raises(Unsupported, match="deduplicates"):
            session.build(spec)
        keras = adapter.keras
        layer = keras.layers.Dense(4)
        model = keras.Sequential([layer, layer])
        model.build((None, 4))
        x = np.ones((1, 4), np.float32)
        assert len(model.layers) == 1
        np.testing.assert_allclose(model(x).numpy(), layer(x).numpy(), rtol=1e-6)
        return
    session.build(spec)
    assert session.same_storage("param", "0.weight", "1.weight")
    assert session.param_paths() == ["0.weight", "0.bias"]
    assert session.param_grad("0.weight") is None          # no gradient before a backward
    session.forward(np.ones((1, 4), np.float32))
    session.backward(loss="sum")
    w, x = session.param_value("0.weight"), np.ones((1, 4))
    hidden = x @ w.T + session.param_value("0.bias")
    # y = W(Wx + b) + b, loss = sum(y): second use gives 1^T h, first use gives (1 W)^T x
    expected = np.ones((4, 1)) @ hidden + (np.ones((1, 4)) @ w).T @ x
    np.testing.assert_allclose(session.param_grad("0.weight"), expected, rtol=1e-4, atol=1e-6)


def test_second_backward_and_item_assignment_errors(adapter, tmp_path):
    session = new_session(adapter, tmp_path)
    session.tensor("x", np.arange(4, dtype=np.float32), requires_grad=True)
    session.compute("two_x_squared", ["x"], "y")
    session.backward(of="y", loss="none")
    np.testing.assert_allclose(session.value_grad("x"), 4 * np.arange(4))
    with pytest.raises(RuntimeError) as freed:
        session.backward(of="y", loss="none")
    assert adapter.classify_error(freed.value, "backward") == "graph_freed"
    with pytest.raises(TypeError) as setitem:
        session.compute("setitem_zero", ["x"], "z")
    assert adapter.classify_error(setitem.value, "compute") == "inplace_in_recording"


def test_rebind_loses_gradient_in_place_keeps_it(adapter, tmp_path):
    for how, attached in (("rebind", False), ("in_place", True)):
        session = new_session(adapter, tmp_path)
        session.tensor("w", np.ones(3, np.float32), requires_grad=True)
        session.compute("sum_two_x_squared", ["w"], "y")
        session.backward(of="y")
        session.update("w", 0.1, how)
        session.compute("sum_two_x_squared", ["w"], "z")
        session.backward(of="z")
        assert (session.value_grad("w") is not None) is attached


def test_weights_file_suffix_and_roundtrip(adapter, tmp_path):
    session = new_session(adapter, tmp_path)
    session.build({"mlp": {"in_units": 20}})
    session.forward(X, name="y")
    if keras3():   # Keras 3 refuses any name but *.weights.h5; Keras 2 writes HDF5 under any .h5 name
        with pytest.raises(ValueError) as bad:
            session.save_params("net.h5")
        assert adapter.classify_error(bad.value, "save") == "bad_filename"
    else:
        session.save_params("net.h5")
        assert (tmp_path / "net.h5").is_file()
    session.save_params("net.weights.h5")
    before = session.value("y")
    session.load_params("net.weights.h5")
    session.forward(X, name="y2")
    np.testing.assert_array_equal(session.value("y2"), before)
    other = {"sequential": [{"dense": {"units": 256, "in_units": 20}}, {"dense": {"units": 5, "in_units": 256}}]}
    with pytest.raises(ValueError) as mismatch:
        session.load_params("net.weights.h5", model=other)
    assert adapter.classify_error(mismatch.value, "load") == "load_mismatch"


def test_tensor_dict_roundtrip_without_pickle(adapter, tmp_path):
    session = new_session(adapter, tmp_path)
    value = {"x": np.ones(3, np.float32), "y": np.zeros(4, np.float32)}
    session.save_tensors("mydict", value)
    session.load_tensors("mydict", "loaded")
    loaded = session.value("loaded")
    assert list(loaded) == ["x", "y"] and loaded["y"].shape == (4,)
    assert "needs pickle" in session.notes["note_way:mydict"]


def test_snippet_runs_the_columns_keras(adapter):
    """A tf-keras column's snippet sets TF_USE_LEGACY_KERAS before importing TF; others do not."""
    from conformance.loader import load_specs

    case = next(c for c in load_specs([os.path.join(ROOT, "specs")]) if c.id == "mlp-without-parent-constructor-fails")
    text = adapter.snippet(case)
    assert ('os.environ["TF_USE_LEGACY_KERAS"] = "1"' in text) == legacy_requested()
    compile(text, "<snippet>", "exec")
