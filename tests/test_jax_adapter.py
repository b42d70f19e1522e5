"""The JAX column against real jax and flax: the programs its idiom writes, what they record,
and the environment they share with `check-programs`.

Skipped where jax or flax is not installed (run it in the `jax` tox env).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("jax")
pytest.importorskip("flax")

from conformance.adapters import get_adapter
from conformance.program.writer import write_program
from conformance.run.case import column_of, run_case
from conformance.spec import load_specs
from conformance.standalone import program_env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def adapter():
    adapter = get_adapter("jax")
    adapter.load()  # sets XLA_FLAGS before jax starts its backend
    return adapter


@pytest.fixture(scope="module")
def column(adapter):
    return column_of(adapter)


@pytest.fixture(scope="module")
def cases():
    return {c.id: c for c in load_specs([os.path.join(ROOT, "specs")])}


def _program(adapter, column, case):
    return write_program(case, adapter.idiom(column))


def test_the_second_device_is_a_virtual_host_device(column):
    devices = column.devices
    assert devices["second"] and devices["default"] != devices["second"]
    assert devices["kind"].startswith("virtual") and "xla_force_host_platform_device_count=2" in devices["xla_flags"]


def test_a_shared_layer_is_reached_through_flax_and_one_pytree_entry(adapter, column, cases):
    case = cases["shared-layer-write-through"]
    text = _program(adapter, column, case)
    assert "import conformance" not in text and "from conformance" not in text
    assert "params = net.init(jax.random.PRNGKey(0), jnp.zeros((1, 4)))" in text
    assert "'4.weight': (lambda m: m.layers[4], 'kernel')" in text  # net[4] is indexed, not a slot name
    assert "found = owner(model.bind(variables))" in text and "unsafe_buffer_pointer()" in text
    assert "params['params']['layers_2']['kernel'] = params['params']['layers_2']['kernel'].at[0, 0].set(100)" in text
    record = run_case(adapter, case, column)
    assert record["status"] == "pass", record["message"]
    observed = record["observations"]
    assert observed["same_storage:param:2.weight|4.weight"] is True
    assert sorted(observed["param_paths"]) == ["0.bias", "0.weight", "2.bias", "2.weight", "6.bias", "6.weight"]


def test_flax_calls_the_custom_initializer_it_was_given(adapter, column, cases):
    """init_calls come from flax calling kernel_init: once per weight in init_with_output at the
    first forward pass, and again (abstractly, to check the shape) at every later apply."""
    case = cases["custom-init-runs-at-first-forward"]
    text = _program(adapter, column, case)
    assert "kernel_init=MyInit()" in text and "net.init_with_output(" in text
    record = run_case(adapter, case, column)
    assert record["status"] == "pass", record["message"]
    calls = record["observations"]["init_calls"]
    assert [(c["name"], c["step"]) for c in calls] == [("0.weight", 1), ("1.weight", 1)]


def test_gradients_are_jax_grad_of_a_function_of_the_arguments(adapter, column, cases):
    text = _program(adapter, column, cases["rebind-loses-gradient"])
    assert "w_grad, b_grad = jax.grad(lambda w, b: (w * b).sum(), argnums=(0, 1))(w, b)" in text
    text = _program(adapter, column, cases["head-gradient-multiplies"])
    assert "_, vjp_fn = jax.vjp(lambda x: 2 * x * x, x)" in text
    record = run_case(adapter, cases["shared-grad-is-sum-of-uses"], column)
    assert record["status"] == "pass", record["message"]


@pytest.mark.parametrize("case_id, idiom", [
    ("zero-grad-clears-the-gradient", "no zero_grad"),
    ("notes-attach-grad-after-record-fails", "no attach_grad"),
    ("record-switches-to-training-mode", "no training mode"),
])
def test_concepts_jax_lacks_are_unsupported_naming_its_idiom(adapter, column, cases, case_id, idiom):
    record = run_case(adapter, cases[case_id], column)
    assert record["status"] == "unsupported" and idiom in record["message"]


def test_a_program_on_its_own_prints_its_record(adapter, column, cases, tmp_path):
    """`python -I cell.py` as a user runs it, with no XLA or JAX setting in the environment,
    prints what the worker recorded, bit for bit (dropout masks and initial values included,
    the second host device too): the program sets the column's XLA flags itself."""
    assert "--xla_backend_optimization_level=0" in program_env("jax", {})["XLA_FLAGS"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XLA_", "JAX_"))}
    for case_id in ("dropout-backward-is-masked-and-scaled", "save-load-shared-layer",
                    "model-on-second-device-holds-params-there"):
        case = cases[case_id]
        record = run_case(adapter, case, column)
        (tmp_path / "cell.py").write_text(record["program"])
        out = subprocess.run([sys.executable, "-I", "cell.py"], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=300, check=True).stdout
        ran = _rerun(adapter, record["program"], tmp_path)
        assert _observations(out) == _observations(ran) and len(_observations(out)) > 3, case_id


def _observations(printed: str) -> list[str]:
    return [line for line in printed.splitlines() if line.startswith('{"observe": ')]


def _rerun(adapter, program, tmp_path):
    from conformance.execute import run_program

    work = tmp_path / "again"
    work.mkdir(exist_ok=True)
    adapter.fresh_state()
    return run_program(program, str(work))


def test_running_a_case_twice_in_one_process_records_the_same(adapter, column, cases):
    """No state leaks from one program into the next (JAX keeps its randomness in keys the
    program holds, and flax names modules by position), so fresh_state has nothing to reset."""
    for case_id in ("dropout-fresh-mask-each-call", "nest-mlp-in-sequential", "notes-block-prefix-kwarg"):
        first = run_case(adapter, cases[case_id], column)
        second = run_case(adapter, cases[case_id], column)
        assert first["observations"] == second["observations"], case_id
