"""The TensorFlow column against real TensorFlow/Keras: the programs its idiom writes, and what they record.

Rule: these tests run only where TensorFlow imports (its tox envs, Keras 2 or 3); they never
mock TensorFlow. Each program is written by the kit's writer and run exactly as a worker runs
it (or as a user runs it: `python -I cell.py` in an empty folder).
"""

import os
import subprocess
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from conformance.adapters.tensorflow.adapter import TensorflowAdapter
from conformance.execute import run_program
from conformance.program.idiom import Unsupported
from conformance.program.recording import decode
from conformance.program.writer import write_program
from conformance.run.case import column_of, run_case
from conformance.spec.loader import load_specs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def adapter():
    adapter = TensorflowAdapter()
    adapter.load()
    return adapter


@pytest.fixture(scope="module")
def column(adapter):
    return column_of(adapter)


@pytest.fixture(scope="module")
def keras3(column):
    return int(column.components["keras"].split(".")[0]) >= 3


@pytest.fixture(scope="module")
def cases():
    return {case.id: case for case in load_specs([os.path.join(ROOT, "specs")])}


def program(adapter, column, case) -> str:
    return write_program(case, adapter.idiom(column))


def observed(adapter, column, case, tmp_path, fresh=True) -> dict:
    os.makedirs(tmp_path, exist_ok=True)
    if fresh:
        adapter.fresh_state()
    return dict(decode(run_program(program(adapter, column, case), str(tmp_path))).observations)


def steps_of(text: str) -> str:
    """The program's steps: the text of its `try:` block."""
    return text.split("\ntry:\n", 1)[1].split("\nexcept Exception as error:", 1)[0]


def test_importing_the_package_does_not_import_tensorflow():
    code = ("import sys, conformance.adapters.tensorflow.adapter, conformance.adapters.tensorflow.idiom; "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_version_keras_and_a_second_device_that_says_what_it_is(adapter, column):
    assert adapter.version() == tf.__version__
    keras = column.components["keras"]
    if os.environ.get("TF_USE_LEGACY_KERAS") == "1":
        import tf_keras

        assert keras == tf_keras.__version__ and keras.startswith("2.")
    if tf.config.list_physical_devices("GPU"):
        assert column.devices["second"] == "/GPU:0" and column.devices["kind"] == "gpu"
    else:
        assert column.devices["second"] == "/device:CPU:1" and column.devices["kind"].startswith("virtual")


def test_a_shared_layer_is_reached_through_keras_indexing(adapter, column, cases, keras3, tmp_path):
    case = cases["shared-layer-write-through"]
    text = program(adapter, column, case)
    steps = steps_of(text)
    assert "conformance" not in text.split('"""', 2)[2]  # past the header, nothing names the kit
    if keras3:  # Keras 3's Sequential keeps and runs the layer at both positions
        assert steps.count("layer_shared,") == 2 and "net.layers[2].kernel[0, 0].assign(100.0)" in steps
        assert "net.layers[2].kernel.value.ref() == net.layers[4].kernel.value.ref()" in text
    else:  # Keras 2 calls it twice in a functional model, which lists it once
        assert steps.count("hidden = layer_shared(hidden)") == 2 and "tf.keras.Model(inputs, hidden)" in steps
        assert "net.layers[3].kernel.ref() == net.layers[3].kernel.ref()" in text
    seen = observed(adapter, column, case, tmp_path)
    assert seen["same_storage:param:2.weight|4.weight"] is True
    assert seen["param_paths"] == ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]
    assert seen["param_value:4.weight"][0, 0] == 100  # the kit's [out, in] is the kernel's [in, out], transposed
    assert seen["param_value:4.weight"].shape == (8, 8)


def test_the_parameter_list_is_kerass_own(adapter, column, cases, keras3, tmp_path):
    case = cases["fancy-mlp-constant-excluded-from-training"]
    text = program(adapter, column, case)
    assert "[canonical(v) for v in net.weights]" in text
    seen = observed(adapter, column, case, tmp_path)
    assert seen["param_paths"] == ["dense.weight", "dense.bias"]  # a tf.constant is no Keras weight
    names = seen["native_names"]
    assert names["dense.weight"] == ("fancy_mlp/dense/kernel" if keras3 else "fancy_mlp/dense/kernel:0")


def test_note_003s_classes_are_written_as_the_note_writes_them(adapter, column, cases):
    dense = program(adapter, column, cases["my-dense-build-at-first-call"])
    my_dense = dense.split("class myDense(tf.keras.layers.Layer):", 1)[1].split("\n\n\n", 1)[0]
    assert "y_pred = tf.matmul(inputs, self.w) + self.b\n        return y_pred" in my_dense
    assert "relu" not in my_dense  # no activation the note lacks
    mlp = program(adapter, column, cases["notes-saved-params-are-a-dict"])
    assert "self.dense1 = tf.keras.layers.Dense(units=256, activation=tf.nn.relu)" in mlp
    assert "net(tf.keras.Input(shape=(20,)))" in steps_of(mlp)  # a Model subclass builds by a symbolic call
    my_sequential = program(adapter, column, cases["my-sequential-children-initialized"])
    assert "self.modules = args" in my_sequential  # the book's TensorFlow tab


def test_initializers_are_given_at_construction_and_redrawn_the_books_way(adapter, column, cases):
    custom = steps_of(program(adapter, column, cases["custom-init-runs-at-initialize-with-in-units"]))
    before, after = custom.split("STEP = 0")
    assert "kernel_initializer=MyInit()" in before and "net.build((None, 20))" in after
    assert custom.index("tf.keras.utils.set_random_seed(0)") < custom.index("net = tf.keras.models.Sequential(")
    whole = steps_of(program(adapter, column, cases["force-reinit-redraws"])).split("STEP = 2")[1]
    assert "net = tf.keras.models.Sequential(" in whole and "RandomNormal(mean=0.0, stddev=0.01)" in whole
    one = steps_of(program(adapter, column, cases["xavier-on-one-parameter"])).split("STEP = 2")[1]
    assert "net.layers[0].kernel.assign(tf.keras.initializers.GlorotUniform()(net.layers[0].kernel.shape" in one
    inner = steps_of(program(adapter, column, cases["strength-fancy-mlp-halves-until-norm-below-one"]))
    assert "net.dense.kernel_initializer = tf.keras.initializers.Constant(1)" in inner


def test_custom_initializer_calls_are_named_by_the_layer_holding_them(adapter, column, cases, tmp_path):
    seen = observed(adapter, column, cases["custom-init-runs-at-first-forward"], tmp_path)
    assert [(call["name"], call["step"]) for call in seen["init_calls"]] == [("0.weight", 1), ("1.weight", 1)]
    weight = seen["param_value:0.weight"]
    assert abs((weight == 0).mean() - 0.5) < 0.05 and np.abs(weight[weight != 0]).min() >= 5


def test_fresh_state_restarts_kerass_layer_names(adapter, column, cases, tmp_path):
    """Without fresh_state a warm worker names the second program's layers dense_2, dense_3
    (Keras' process-wide counters); with it, as a fresh process does: dense, dense_1."""
    case = cases["notes-keras-kernel-layout-and-names"]
    first = observed(adapter, column, case, tmp_path / "a")
    leaked = observed(adapter, column, case, tmp_path / "b", fresh=False)
    again = observed(adapter, column, case, tmp_path / "c")
    assert first["probe:keras_weights"]["names"] == again["probe:keras_weights"]["names"]
    assert first["native_names"] == again["native_names"]
    assert leaked["native_names"] != first["native_names"]


def test_what_keras_lacks_is_unsupported_with_its_idiom(adapter, column, cases):
    for case_id, says in (("model-moved-to-second-device-keeps-values", "no model.to"),
                          ("notes-init-table-mixed", "kernel_initializer"),
                          ("my-dense-relu-at-zero-passes-nothing", "add_weight"),
                          ("data-read-cuts-gradient", "tf.stop_gradient"),
                          ("notes-collect-params-native-regex", "model.weights")):
        with pytest.raises(Unsupported, match=says.replace("(", r"\(").replace(")", r"\)")):
            program(adapter, column, cases[case_id])


def test_a_second_tape_gradient_raises_as_a_users_would(adapter, column, cases, tmp_path):
    case = cases["second-backward-without-retain-fails"]
    steps = steps_of(program(adapter, column, case))
    # the book's tf.GradientTape(), relying on its default (not persistent), as a user writes it
    assert "tape = tf.GradientTape()" in steps and "persistent" not in steps and steps.count("tape.gradient(") == 2
    seen = observed(adapter, column, case, tmp_path)
    assert seen["error"]["type"] == "RuntimeError" and "non-persistent GradientTape" in seen["error"]["message"]


def test_a_second_device_case_is_a_virtual_device_skip(adapter, column, cases):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("the second device is a GPU here")
    record = run_case(adapter, cases["tensor-created-on-second-device"], column)
    assert record["status"] == "skip" and "virtual" in record["message"]
    assert "tf.config.set_logical_device_configuration" in record["program"]


def test_python_dash_i_prints_the_record(adapter, column, cases, tmp_path):
    record = run_case(adapter, cases["save-load-shared-layer"], column)
    assert record["status"] == "pass", record["message"]
    (tmp_path / "cell.py").write_text(record["program"], encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run([sys.executable, "-I", "cell.py"], cwd=tmp_path, capture_output=True, text=True,
                         check=True, env=env)
    adapter.fresh_state()
    in_process = decode(run_program(record["program"], str(tmp_path))).observations
    printed = decode(out.stdout).observations
    assert [name for name, _ in printed] == [name for name, _ in in_process]
    assert str(printed) == str(in_process)
