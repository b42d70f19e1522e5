"""The PaddlePaddle column: the programs its idiom writes, run against real Paddle (skipped where
paddle is absent).

Rule: each test writes a case's program the way the runner does and runs exactly that text; what
it checks is what Paddle printed. Nothing is mocked.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")

from conformance.adapters.paddle.adapter import PaddleAdapter
from conformance.execute import run_program
from conformance.program.idiom import Unsupported
from conformance.program.recording import decode
from conformance.program.writer import write_program
from conformance.run import column_of, run_inprocess
from conformance.spec.loader import load_specs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PADDLE3 = int(paddle.__version__.split(".")[0]) >= 3


@pytest.fixture(scope="module")
def adapter():
    a = PaddleAdapter()
    a.load()
    return a


@pytest.fixture(scope="module")
def cases():
    return {c.id: c for c in load_specs([os.path.join(ROOT, "specs")])}


def program(adapter, case) -> str:
    return write_program(case, adapter.idiom(column_of(adapter)))


def run(adapter, text, tmp_path, fresh=True) -> dict:
    if fresh:
        adapter.fresh_state()
    return dict(decode(run_program(text, str(tmp_path))).observations)


def test_importing_the_adapter_does_not_import_paddle():
    code = "import sys, conformance.adapters.paddle.adapter; print('paddle' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_cpu_build_says_it_has_no_second_device(adapter):
    devices = adapter.devices()
    assert adapter.version() == paddle.__version__
    assert devices["default"] == "Place(cpu)" and devices["second"] is None
    assert devices["kind"].startswith("none: ") and "CPUPlace()" in devices["kind"]


def test_shared_layer_program_is_the_books_code_and_imports_nothing_of_the_kit(adapter, cases):
    text = program(adapter, cases["shared-layer-write-through"])
    assert "conformance" not in text.replace("conformance kit", "")
    assert "layer_shared = nn.Linear(8, 8)" in text  # the book: shared = nn.Linear(8, 8)
    assert "nn.Sequential(" in text and text.count("layer_shared,") == 2
    assert "'4.weight': lambda: net[4].weight" in text  # reached by Paddle's own indexing
    assert "val[0, 0] = 100  # nn.Linear keeps (in, out)" in text
    assert "storage(net[2].weight) == storage(net[4].weight)" in text
    assert "paddle.utils.unique_name.switch()" in text and "paddle.seed(0)" in text


def test_shared_layer_program_records_one_storage_and_the_kit_layout(adapter, cases, tmp_path):
    seen = run(adapter, program(adapter, cases["shared-layer-write-through"]), tmp_path)
    assert seen["same_storage:param:2.weight|4.weight"] is True
    weight = seen["param_value:4.weight"]
    assert weight.shape == (8, 8) and weight[0, 0] == 100  # canonical [out, in]
    assert seen["param_paths"] == ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]
    assert seen["native_names"]["2.weight"] == "2.weight (linear_0.w_0)"  # shared is built first


def test_linear_weights_are_transposed_to_the_kit_layout_visibly(adapter, cases, tmp_path):
    text = program(adapter, cases["my-sequential-modules-registry"])
    assert "IN_OUT = set(['0.weight', '2.weight'])" in text and "value.numpy().T if path in IN_OUT" in text
    seen = run(adapter, text, tmp_path)
    assert seen["all_params"]["0.weight"].shape == (256, 20)  # Paddle holds it (20, 256)
    assert seen["value:out"].shape == (2, 10)


def test_a_warm_process_gives_the_parameter_names_of_a_fresh_one(adapter, cases, tmp_path):
    text = program(adapter, cases["shared-layer-write-through"])
    first, second = run(adapter, text, tmp_path), run(adapter, text, tmp_path)
    assert first["native_names"] == second["native_names"]
    # without the program's unique_name.switch() the names count on from the previous program
    bare = text.replace("paddle.utils.unique_name.switch()", "pass")
    run(adapter, bare, tmp_path)
    assert run(adapter, bare, tmp_path)["native_names"]["2.weight"] != "2.weight (linear_0.w_0)"


@pytest.mark.skipif(not PADDLE3, reason="paddle 2.x does not warn when to_tensor copies a tensor")
def test_fresh_state_lets_each_program_see_paddles_copy_warning(adapter, cases, tmp_path):
    text = program(adapter, cases["strength2-int32-mul-stays-int32"])
    assert "paddle.to_tensor(" in text
    warned = [w for w in run(adapter, text, tmp_path)["warnings"] if "To copy construct" in w["text"]]
    assert warned
    # the warning is Paddle's once-per-process flag: without fresh_state a second program misses it
    assert not [w for w in run(adapter, text, tmp_path, fresh=False)["warnings"] if "To copy construct" in w["text"]]
    assert [w for w in run(adapter, text, tmp_path)["warnings"] if "To copy construct" in w["text"]] == warned


def test_a_deferred_dense_is_unsupported_naming_paddles_idiom(adapter, cases):
    with pytest.raises(Unsupported, match=r"nn\.Linear\(in_features, out_features\) needs its input size"):
        program(adapter, cases["first-forward-infers-shapes"])


def test_the_books_mlp_hard_codes_its_input_size(adapter, cases):
    text = program(adapter, cases["first-forward-makes-params-readable"])
    assert "def __init__(self, in_units=20):" in text and "net = MLP()" in text


def test_parameter_dict_exists_from_paddle_3(adapter, cases, tmp_path):
    case = cases["notes-param-repr-parameter-dict"]
    if not PADDLE3:
        with pytest.raises(Unsupported, match="no nn.ParameterDict"):
            program(adapter, case)
        return
    seen = run(adapter, program(adapter, case), tmp_path)
    assert seen["probe:param_dict"]["container"] == "ParameterDict"
    assert seen["probe:param_dict"]["names"] == ["param2"]


def test_second_device_cases_run_the_books_try_gpu_and_skip(adapter, cases):
    case = cases["tensor-created-on-second-device"]
    text = program(adapter, case)
    assert "second = try_gpu()" in text and "def try_gpu(i=0):" in text
    record = run_inprocess(adapter, [case])[0]
    assert record["status"] == "skip" and record["message"].startswith("no second device: none: ")
    assert record["observations"]["device:value:a"]["native"] == "Place(cpu)"  # try_gpu() fell back


def test_the_books_try_all_gpus_returns_the_cpu_place_itself(adapter, cases):
    record = run_inprocess(adapter, [cases["notes-try-gpu-10"]])[0]
    assert record["status"] == "pass"
    program_text = record["program"]
    assert "return devices if devices else paddle.CPUPlace()" in program_text


def test_errors_are_recorded_as_paddle_raises_them(adapter, cases):
    record = run_inprocess(adapter, [cases["inplace-write-in-recording-fails"]])[0]
    assert record["status"] == "pass"
    error = record["observations"]["error"]
    assert error["type"] == "ValueError" and "Leaf Tensor (x)" in error["message"]


def test_a_program_prints_its_record_without_the_kit(adapter, cases, tmp_path):
    text = program(adapter, cases["shared-grad-is-sum-torch-layout"])
    (tmp_path / "kit").mkdir()
    here = run(adapter, text, tmp_path / "kit")
    cell = tmp_path / "cell.py"
    cell.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    out = subprocess.run([sys.executable, "-I", str(cell)], cwd=tmp_path, capture_output=True, text=True,
                         env=env, check=True, timeout=300)
    alone = dict(decode(out.stdout).observations)
    assert sorted(alone) == sorted(here)
    np.testing.assert_array_equal(alone["param_grad:2.weight"], here["param_grad:2.weight"])
    assert json.dumps(alone["param_paths"]) == json.dumps(here["param_paths"])
