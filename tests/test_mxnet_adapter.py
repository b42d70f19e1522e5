"""The MXNet column against real MXNet 1.x: the programs its idiom writes, what they record,
and the process state that `fresh_state` puts back.

Rule: these tests run only where mxnet imports (its tox envs); they never mock MXNet. Each
program is written by the kit's writer and run exactly as a worker runs it.
"""

import os
import subprocess
import sys

import pytest

pytest.importorskip("mxnet")

from conformance.adapters.mxnet.adapter import MxnetAdapter
from conformance.execute import run_program
from conformance.program.recording import decode
from conformance.program.writer import write_program
from conformance.run.case import column_of, run_case
from conformance.spec.loader import load_specs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def adapter():
    adapter = MxnetAdapter()
    adapter.load()
    return adapter


@pytest.fixture(scope="module")
def column(adapter):
    return column_of(adapter)


@pytest.fixture(scope="module")
def cases():
    return {case.id: case for case in load_specs([os.path.join(ROOT, "specs")])}


def program(adapter, column, case) -> str:
    return write_program(case, adapter.idiom(column))


def observed(adapter, column, case, tmp_path) -> dict:
    os.makedirs(tmp_path, exist_ok=True)
    adapter.fresh_state()
    return dict(decode(run_program(program(adapter, column, case), str(tmp_path))).observations)


def test_importing_the_package_does_not_import_mxnet():
    code = ("import sys, conformance.adapters.mxnet.adapter, conformance.adapters.mxnet.idiom; "
            "print('mxnet' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_version_and_a_virtual_second_device(adapter):
    devices = adapter.devices()
    assert adapter.version().startswith("1.")
    assert devices["second"] in ("cpu(1)", "gpu(0)")
    assert devices["kind"] == "gpu" or devices["kind"].startswith("virtual")


def test_the_fancy_mlp_program_is_the_notes_gluon_code_and_imports_no_kit(adapter, column, cases):
    text = program(adapter, column, cases["fancy-mlp-constant-not-a-parameter"])
    for line in ("import mxnet as mx", "from mxnet.gluon import nn", "class FancyMLP(nn.Block):",
                 'self.params.get_constant("rand_weight", nd.random.uniform(shape=(20, 20)))',
                 "x /= 2", "x *= 10", "with autograd.record(", "net.collect_params().values()"):
        assert line in text, line
    assert "conformance" not in text.split('"""', 2)[2]  # past the header, nothing names the kit
    assert "gluon.Constant" not in text  # no filter of the kit's own: Gluon's listing as it comes


def test_collect_params_lists_the_constant_and_grad_req_says_what_trains(adapter, column, cases, tmp_path):
    seen = observed(adapter, column, cases["fancy-mlp-constant-not-a-parameter"], tmp_path)
    assert seen["param_paths"] == ["rand_weight", "dense.weight", "dense.bias"]
    assert seen["trainable_paths"] == ["dense.weight", "dense.bias"]
    assert seen["native_names"]["dense.weight"].endswith("_weight")
    # the note's in-place x /= 2 inside autograd.record(): MXNet refuses it
    assert seen["error"]["type"] == "mxnet.base.MXNetError"
    assert "Assigning to NDArrays that are already in a computational graph" in seen["error"]["message"]


def test_same_storage_comes_from_mxnets_dlpack_handle(adapter, column, cases, tmp_path):
    seen = observed(adapter, column, cases["shared-layer-write-through"], tmp_path)
    assert seen["same_storage:param:2.weight|4.weight"] is True
    record = run_case(adapter, cases["copyto-always-new-memory"], column)
    assert record["status"] == "pass" and record["outcome"] == "new-memory"
    assert "nd.to_dlpack_for_read" in record["program"]


def test_my_dense_without_in_units_is_unsupported_naming_the_idiom(adapter, column, cases):
    record = run_case(adapter, cases["my-dense-build-at-first-call"], column)
    assert record["status"] == "unsupported" and "in_units" in record["message"]
    text = program(adapter, column, cases["my-dense-parameters-and-forward"])
    assert "def __init__(self, units, in_units, **kwargs):" in text and "_finish_deferred_init" not in text


@pytest.mark.parametrize("case_id", ["second-backward-without-retain-fails", "backward-of-unrecorded-value-fails",
                                     "mlp-without-parent-constructor-fails", "deferred-read-before-forward-fails",
                                     "load-params-shape-mismatch-fails", "notes-init-table-orthogonal",
                                     "cross-device-operation-fails"])
def test_cases_record_what_mxnet_does(adapter, column, cases, case_id):
    record = run_case(adapter, cases[case_id], column)
    expected = "skip" if case_id.startswith("cross-device") and column.second_is_virtual else "pass"
    assert record["status"] == expected, record["message"]


def test_fresh_state_restarts_gluon_block_names(adapter):
    from mxnet.gluon import nn

    nn.Dense(2), nn.Dense(2)
    assert nn.Dense(2).name != "dense0"  # the counters carry on in this process ...
    adapter.fresh_state()
    assert nn.Dense(2).name == "dense0"  # ... and start again as in a fresh one


def test_fresh_state_forgets_the_initializers_constants_registered(adapter, column, cases, tmp_path):
    from mxnet import initializer, registry

    observed(adapter, column, cases["notes-fancy-mlp-000-unrecorded"], tmp_path)
    table = registry._REGISTRY[initializer.Initializer]
    assert [name for name in table if name.startswith("constant_")], "FancyMLP's constant registered an initializer"
    adapter.fresh_state()
    assert not [name for name in table if name.startswith("constant_")]
    assert "constant" in table  # MXNet's own Constant initializer stays


def test_a_warm_process_prints_what_a_fresh_one_does(adapter, column, cases, tmp_path):
    """The names a program prints do not depend on the programs before it (check-programs runs
    each in a fresh process and requires the same)."""
    case = cases["nest-mlp-in-sequential"]
    first = observed(adapter, column, case, tmp_path / "a")
    for other in ("notes-fancy-mlp-004-nested", "my-dense-in-sequential"):
        observed(adapter, column, cases[other], tmp_path / other)
    again = observed(adapter, column, case, tmp_path / "b")
    assert first["native_names"] == again["native_names"]
    # blocks made in a constructor without name_scope() take global names: dense0 is the first made
    assert first["native_names"]["0.net.0.weight"] == "dense0_weight"
