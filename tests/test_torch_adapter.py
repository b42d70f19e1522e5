"""The PyTorch column against real torch: the programs its idiom writes, and what they record.

Rule: these tests run only where torch imports (its tox envs); they never mock torch. Each
program is written by the kit's writer and run exactly as a worker runs it (or as a user
runs it: `python -I cell.py` in an empty folder).
"""

import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from conformance.adapters.torch.adapter import TorchAdapter
from conformance.execute import run_program
from conformance.program.idiom import Unsupported
from conformance.program.recording import decode
from conformance.program.writer import write_program
from conformance.run.case import column_of, run_case
from conformance.spec.loader import load_specs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def adapter():
    adapter = TorchAdapter()
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


def steps_of(text: str) -> str:
    """The program's steps: the text of its `try:` block."""
    return text.split("\ntry:\n", 1)[1].split("\nexcept Exception as error:", 1)[0]


def test_importing_the_package_does_not_import_torch():
    code = ("import sys, conformance.adapters.torch.adapter, conformance.adapters.torch.idiom; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_version_and_a_second_device_that_says_what_it_is(adapter):
    assert adapter.version() == torch.__version__
    devices = adapter.devices()
    if torch.cuda.is_available():
        assert devices == {"default": "cpu", "second": "cuda:0", "kind": "gpu"}
    else:
        assert devices == {"default": "cpu", "second": "meta", "kind": "virtual-meta"}


def test_a_shared_layer_is_one_module_at_two_positions_compared_by_data_ptr(adapter, column, cases, tmp_path):
    case = cases["shared-layer-write-through"]
    text = program(adapter, column, case)
    steps = steps_of(text)
    assert "layer_shared = nn.Linear(8, 8)" in steps and steps.count("layer_shared,") == 2
    assert "net[2].weight.data[0, 0] = 100" in steps
    assert "storage(net[2].weight) == storage(net[4].weight)" in text  # torch's indexing, both sides
    assert "return tensor.data_ptr()" in text
    assert "conformance" not in text.split('"""', 2)[2]  # past the header, nothing names the kit
    seen = observed(adapter, column, case, tmp_path)
    assert seen["same_storage:param:2.weight|4.weight"] is True
    assert seen["param_paths"] == ["0.weight", "0.bias", "2.weight", "2.bias", "6.weight", "6.bias"]
    assert seen["native_names"]["6.weight"] == "6.weight"


def test_init_functions_are_the_books(adapter, column, cases):
    whole = program(adapter, column, cases["force-reinit-redraws"])  # normal on the whole net
    assert "def init_normal(m):\n    if type(m) == nn.Linear:\n        nn.init.normal_(m.weight, mean=0, std=0.01)\n" \
           "        nn.init.zeros_(m.bias)" in whole
    assert "net.apply(init_normal)" in whole
    layer = program(adapter, column, cases["init-per-layer"])  # xavier on net[0], constant 42 on net[2]
    assert "net[0].apply(init_xavier)" in layer and "net[2].apply(init_42)" in layer
    assert "zeros_" not in layer  # the book's init_xavier and init_42 set the weight only
    one = program(adapter, column, cases["notes-init-table-xavier-weights-only"])
    assert "nn.init.xavier_uniform_(net[0].weight)" in steps_of(one)
    orthogonal = program(adapter, column, cases["notes-init-table-orthogonal"])
    assert "nn.init.orthogonal_(m.weight, gain=1.5)" in orthogonal and "zeros_" not in orthogonal
    custom = program(adapter, column, cases["custom-init-zero-small"])
    assert "net.apply(my_init)" in custom and 'print("Init", *[(name, param.shape)' in custom


def test_a_default_initialize_writes_no_initializer(adapter, column, cases):
    text = program(adapter, column, cases["same-seed-reproduces-a-layer-initialization"])
    steps = steps_of(text)
    # the first initialize's seed goes before the model is built, where torch draws its parameters
    assert text.index("torch.manual_seed(0)  #") < text.index("net = nn.Sequential(")
    assert steps.split("STEP = 1")[0].count("manual_seed") == 0 and "no initialize() to call" in steps
    assert "reset_parameters" not in steps and "nn.init" not in steps.split("STEP = 1")[0]
    assert "torch.manual_seed(5)\n    net[0].apply(init_normal)" in steps  # a later initialize: seed, then apply


def test_notes_classes_are_written_as_note_001_writes_them(adapter, column, cases):
    nest = program(adapter, column, cases["nest-mlp-alone"])
    assert "self.linear = nn.Linear(32, 16)" in nest and "return self.linear(self.net(X))" in nest
    nest_class = nest.split("class NestMLP(nn.Module):", 1)[1].split("\n\n\n", 1)[0]
    assert "LazyLinear" not in nest_class and "relu(self.linear" not in nest_class  # no relu the note lacks
    fixed = program(adapter, column, cases["notes-fixed-hidden-mlp-001"])
    assert "while X.abs().sum() > 1:\n            X /= 2\n        return X.sum()" in fixed
    by_object = program(adapter, column, cases["notes-my-sequential-object-keys-001"])
    assert "self._modules[block] = block" in by_object


def test_what_torch_lacks_is_unsupported_with_its_idiom(adapter, column, cases):
    for case_id, says in (("my-dense-build-at-first-call", "nn.LazyLinear"),
                          ("notes-init-table-mixed", "net.apply(fn)"),
                          ("per-layer-initializers", "no initializer"),
                          ("notes-collect-params-native-regex", "state_dict()")):
        with pytest.raises(Unsupported, match=says.replace("(", r"\(").replace(")", r"\)")):
            program(adapter, column, cases[case_id])


def test_lazy_layers_skip_the_books_init_function_before_their_first_call(adapter, column, cases, tmp_path):
    seen = observed(adapter, column, cases["custom-init-runs-at-first-forward"], tmp_path)
    assert seen["init_calls"] == []  # type(m) is nn.LazyLinear, not nn.Linear, until the first call
    assert seen["param_value:0.weight"].shape == (256, 20)  # drawn at the first forward, torch's default


def test_the_program_seeds_torch_itself(adapter, column, cases, tmp_path):
    """torch draws from one global generator: the program's own torch.manual_seed(0) at its top
    makes a run after other draws equal to the first (no fresh_state needed for torch)."""
    case = cases["notes-rng-uniform-range-and-shape"]  # torch.empty(2, 2).uniform_(2, 5): no other seed
    first = observed(adapter, column, case, tmp_path / "a")
    torch.rand(1000)  # what another program would leave behind
    again = observed(adapter, column, case, tmp_path / "b")
    assert (first["value:m"] == again["value:m"]).all()
    assert "torch.manual_seed(0)  #" in program(adapter, column, case)


def test_a_second_device_case_is_a_virtual_device_skip_on_meta(adapter, column, cases):
    if torch.cuda.is_available():
        pytest.skip("the second device is a GPU here")
    record = run_case(adapter, cases["tensor-created-on-second-device"], column)
    assert record["status"] == "skip" and "meta" in record["message"]
    assert "device=second" in record["program"]


def test_python_dash_i_prints_the_record(adapter, column, cases, tmp_path):
    case = cases["save-load-shared-layer"]
    record = run_case(adapter, case, column)
    assert record["status"] == "pass"
    (tmp_path / "cell.py").write_text(record["program"], encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    out = subprocess.run([sys.executable, "-I", "cell.py"], cwd=tmp_path, capture_output=True, text=True,
                         check=True, env=env)
    printed = decode(out.stdout).observations
    in_process = decode(run_program(record["program"], str(tmp_path))).observations
    assert [name for name, _ in printed] == [name for name, _ in in_process]
    assert json.dumps(str(printed)) == json.dumps(str(in_process))



def test_a_program_sets_the_columns_thread_count_itself(adapter, cases, tmp_path, monkeypatch):
    """A column run with OMP_NUM_THREADS=1 (tox sets it): a user's `python -I cell.py` without
    that setting prints what a run with it prints, bit for bit, because the program sets the
    count before it imports torch. Without that line, two threads order the sums of this
    (5, 20) x (20, 256) product otherwise and the last bits differ."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    column = column_of(adapter)
    assert column.devices["omp_num_threads"] == "1"
    program = run_case(adapter, cases["fixed-shapes-other-batch-size-works"], column)["program"]
    line = 'os.environ["OMP_NUM_THREADS"] = \'1\'\n'
    assert line in program
    bare = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "OMP_NUM_THREADS")}

    def printed(text, env):
        (tmp_path / "cell.py").write_text(text, encoding="utf-8")
        return subprocess.run([sys.executable, "-I", "cell.py"], cwd=tmp_path, capture_output=True, text=True,
                              check=True, env=env).stdout

    assert printed(program, bare) == printed(program, dict(bare, OMP_NUM_THREADS="1"))
    if (os.cpu_count() or 1) >= 2:  # the check can fail: without the line, the threads show
        assert printed(program.replace(line, ""), bare) != printed(program, bare)
