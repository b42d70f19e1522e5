"""Programs, one per cell: spec text stays data, what a program prints is what the kit reads,
and a program run on its own, without the kit, prints exactly its record.

The reference column runs here (NumPy only); the idioms of the other frameworks write their
programs here too (writing needs no framework), and each column env checks its own programs
with `conformance check-programs`.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conformance.adapters import ADAPTERS, get_adapter
from conformance.program.idiom import Context, Idiom, comment, literal
from conformance.program.recording import RECORDING, decode, decode_value
from conformance.program.writer import Column, write_program
from conformance.spec import load_specs
from conformance.spec.case import Case, outcomes_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECS = os.path.join(ROOT, "specs")

# Spec strings crafted to break out of a literal, a comment or a line.
PAYLOADS = [
    "x'); open('PWNED', 'w').write('1'); ('",
    'x"); open("PWNED", "w").write("1"); ("',
    "'''; open('PWNED', 'w'); '''",
    '"""; open("PWNED", "w"); """',
    "line\nopen('PWNED', 'w')",
    "line\ropen('PWNED', 'w')",
    "back\\slash\\'); open('PWNED', 'w') #",
    "sep\u2028open('PWNED', 'w')",
    "para\u2029open('PWNED', 'w')",
    "ff\x0copen('PWNED', 'w')",
    "nel\x85open('PWNED', 'w')",
    "{0}{1}{x} %s",
]


def _recording_namespace():
    namespace = {"np": np, "json": json, "base64": __import__("base64"), "warnings": __import__("warnings"),
                 "host": lambda value: value}
    exec(compile(RECORDING, "recording", "exec"), namespace)  # noqa: S102 - the kit's own recording lines
    return namespace


@pytest.mark.parametrize("value", [
    np.arange(6, dtype=np.float32).reshape(2, 3), np.array(3.5, dtype=np.float32), np.array([1, 2], dtype=np.int64),
    np.array([True, False]), np.zeros((0, 4), dtype=np.float64), np.float32(0.1),
])
def test_arrays_travel_bit_for_bit(value, capsys):
    namespace = _recording_namespace()
    namespace["record"]("value:x", value)
    printed = decode(capsys.readouterr().out)
    (name, got), = printed.observations
    assert name == "value:x" and isinstance(got, np.ndarray)
    assert got.dtype == np.asarray(value).dtype and got.shape == np.asarray(value).shape
    assert got.tobytes() == np.asarray(value).tobytes()


def test_nested_values_errors_and_other_lines(capsys):
    namespace = _recording_namespace()
    namespace["record"]("probe:p", {"a": [1, (2.5, None)], 3: "t", "b": np.array(["x", "y"])})
    namespace["observe"]("value:missing", lambda: undefined_name)  # noqa: F821 - raises NameError
    print("Init dense0_weight (3, 4)")  # the notes print; it is not an observation
    namespace["STEP"] = 2
    namespace["record_error"](KeyError("w"))
    printed = decode(capsys.readouterr().out)
    found = dict(printed.observations)
    assert found["probe:p"]["a"] == [1, [2.5, None]] and found["probe:p"]["3"] == "t"
    assert list(found["probe:p"]["b"]) == ["x", "y"]
    assert found["value:missing"] == {"observer_error": "NameError", "message": "name 'undefined_name' is not defined"}
    assert found["error"]["step"] == 2 and found["error"]["type"] == "KeyError" and "LookupError" in found["error"]["bases"]
    assert printed.other == ["Init dense0_weight (3, 4)"]
    assert decode_value({"__repr__": "<x>"}) == "<x>"


def test_literals_and_comments_keep_spec_text_data():
    for payload in PAYLOADS:
        assert ast.literal_eval(literal(payload)) == payload
        assert "\n" not in comment(payload) and "\r" not in comment(payload)
        tree = ast.parse(f"# {comment(payload)}\nx = 1\n")
        assert len(tree.body) == 1, repr(payload)
    assert ast.literal_eval(literal({"a": [1, 2.5, None, True]})) == {"a": [1, 2.5, None, True]}


def test_names_from_specs_become_checked_identifiers():
    ctx = Context(None, Idiom(None), {"net", "np"})
    made = [ctx.name(n) for n in ["x", "net", "a.b", "a_b", "class", "np", "9lives"]]
    assert made[0] == "x" and made[1] != "net" and made[5] != "np"
    assert all(m.isidentifier() for m in made) and len(set(made)) == len(made)
    assert ctx.name("a.b") == made[2], "the same name is the same identifier"


def _hostile_cases() -> list[Case]:
    """Cases whose every free-text field and name carries a payload, one place at a time (so a
    framework that lacks one feature still has the others checked)."""
    named = {payload[:50]: {"dense": {"units": 2, "in_units": 2}} for payload in PAYLOADS[:8]}
    model = {"sequential": [{"dense": {"units": 2, "in_units": 2}}]}
    forward = ("forward", {"input": {"values": [[1.0, 2.0]]}})
    variants = [
        (model, [forward]),
        ({"sequential": [{"named_sequential": named}]}, [forward]),
        (model, [("initialize", {"init": {"mixed": {"patterns": PAYLOADS[:3], "inits": [{"constant": {"value": 1}}]}}}),
                 forward]),
        (model, [("probe", {"name": "param_dict", "args": {"select": PAYLOADS[1]}, "as": "selected"})]),
        (model, [("probe", {"name": "prefix_names", "args": {"prefix": PAYLOADS[2]}, "as": "prefix"})]),
        (model, [("save_params", {"file": "w.params"}), ("probe", {"name": "saved_params", "args": {"file": "w.params"}})]),
    ]
    raw = {"title": " ".join(PAYLOADS), "expect": [{"param_names": {"count": 2}}]}
    return [Case(id=f"hostile-{i}", file="specs/x.yaml", topic="t", title=raw["title"], behaviours=["MC1"],
                 source={"note": PAYLOADS[0], "section": PAYLOADS[4], "claim": PAYLOADS[7]},
                 outcomes=outcomes_of(raw), model=m, steps=steps) for i, (m, steps) in enumerate(variants)]


def _idioms():
    """Every registered framework's idiom that can be made without importing its framework."""
    found = []
    for name in sorted(ADAPTERS):
        adapter = get_adapter(name)
        try:
            idiom = adapter.idiom(Column(name, "0.0", {"keras": "3.0"}, {"second": "x", "kind": "virtual"}))
        except Exception:  # noqa: BLE001 - an idiom that needs its framework to be made
            continue
        found.append((name, idiom))
    return found


def test_every_idiom_can_be_made_without_its_framework():
    assert {name for name, _ in _idioms()} == set(ADAPTERS)


@pytest.mark.parametrize("name, idiom", _idioms(), ids=lambda x: x if isinstance(x, str) else "")
def test_hostile_spec_text_stays_data_in_every_framework(name, idiom):
    """The payloads reach a program only inside string constants and comments: the program
    parses, and no call, name or attribute in it mentions PWNED."""
    from conformance.program.idiom import Unsupported

    written = 0
    for case in _hostile_cases():
        try:
            text = write_program(case, idiom)
        except Unsupported:
            continue  # the framework has no such model or probe
        written += 1
        _assert_payloads_are_data(name, text)
    assert written >= 2, f"{name}: too few hostile programs written to check"


def _assert_payloads_are_data(name: str, text: str) -> None:
    tree = ast.parse(text)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    broke_out = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and any(isinstance(a, ast.Constant) and a.value == "PWNED" for a in n.args)]
    assert "PWNED" not in names and not broke_out, (name, broke_out)
    carried = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
               and "PWNED" in n.value]
    assert all(any(p.startswith(c) or c.startswith(p[:50]) or p in c for p in PAYLOADS) for c in carried)


def test_hostile_spec_text_runs_as_data_on_the_reference(tmp_path):
    """Run on the reference, the hostile case's program creates no file but its own."""
    adapter = get_adapter("reference")
    adapter.load()
    from conformance.run import column_of

    for case in _hostile_cases():
        folder = tmp_path / case.id
        folder.mkdir()
        (folder / "cell.py").write_text(write_program(case, adapter.idiom(column_of(adapter))), encoding="utf-8")
        done = subprocess.run([sys.executable, "cell.py"], cwd=folder, capture_output=True, text=True, timeout=120)
        printed = dict(decode(done.stdout).observations)
        assert done.returncode == 0 and "param_paths" in printed, done.stderr
        assert not (folder / "PWNED").exists() and set(os.listdir(folder)) <= {"cell.py", "w.params"}


def test_every_reference_program_parses_and_names_its_case():
    adapter = get_adapter("reference")
    adapter.load()
    from conformance.run import column_of

    idiom = adapter.idiom(column_of(adapter))
    for case in load_specs([SPECS]):
        try:
            text = write_program(case, idiom)
        except Exception as exc:  # noqa: BLE001 - unsupported cases have no program
            assert type(exc).__name__ == "Unsupported", (case.id, exc)
            continue
        ast.parse(text)
        assert text.startswith(f'"""{case.id} on reference')
        assert "conformance.adapters" not in text and "conformance.spec" not in text


def _reference_results(tmp_path) -> str:
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-m", "conformance", "run", "--framework", "reference", "--no-report",
                    "--out", str(out), "--case", "grad-of-2x", "--case", "shared-grad-is-sum"],
                   check=True, capture_output=True, timeout=300, cwd=ROOT)
    return str(out / "partial" / "results" / "reference-0.1.0.json")


def test_programs_run_on_their_own_print_their_records_and_a_changed_one_does_not(tmp_path):
    from conformance.standalone import compare_results

    path = _reference_results(tmp_path)
    count, problems = compare_results(path)
    results = json.loads(open(path, encoding="utf-8").read())
    assert count == len(results["cases"]) >= 2 and problems == [], problems
    tampered = results["cases"][0]
    tampered["program"] = tampered["program"].replace("[[1, 2], [3, 4]]", "[[1, 2], [3, 5]]")
    assert "[3, 5]" in tampered["program"]
    smuggled = results["cases"][1]
    smuggled["program"] = smuggled["program"].replace("import numpy as np", "import numpy as np\nimport conformance.spec")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(results, handle)
    count, problems = compare_results(path)
    assert any(p.startswith("grad-of-2x-squared-is-4x: prints other observations") for p in problems), problems
    assert any(p.startswith("shared-grad-is-sum-of-uses") and "not importable" in p or "imported the kit" in p
               for p in problems), problems


def test_a_program_runs_with_python_minus_i_from_an_empty_folder(tmp_path):
    """What a user does: save the cell's program, run `python -I cell.py` in an empty folder."""
    results = json.loads(open(_reference_results(tmp_path), encoding="utf-8").read())
    record = results["cases"][0]
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "cell.py").write_text(record["program"], encoding="utf-8")
    done = subprocess.run([sys.executable, "-I", "cell.py"], cwd=folder, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = dict(decode(done.stdout).observations)
    assert printed["value_grad:x"].tolist() == record["observations"]["value_grad:x"]["values"]


def test_a_program_is_compiled_once_and_its_cached_code_is_its_own(tmp_path, monkeypatch):
    """The code cache (like __pycache__): keyed by the text, so the same text runs the same
    code, another text never gets it, and a damaged entry is compiled again."""
    from conformance.execute import code_of, run_program

    monkeypatch.setenv("CONFORMANCE_CODE_CACHE", str(tmp_path / "cache"))
    first = "print('one')\n"
    code = code_of(first)
    entries = list((tmp_path / "cache").rglob("*"))
    files = [p for p in entries if p.is_file()]
    assert len(files) == 1 and code.co_filename == "cell.py"
    assert code_of(first).co_code == code.co_code
    assert len([p for p in (tmp_path / "cache").rglob("*") if p.is_file()]) == 1  # read, not written again
    (tmp_path / "work").mkdir()
    assert run_program("print('two')\n", str(tmp_path / "work")) == "two\n"  # another text: its own code
    files[0].write_bytes(b"not marshal data")
    assert run_program(first, str(tmp_path / "work")) == "one\n"  # a damaged entry is compiled again
    monkeypatch.setenv("CONFORMANCE_CODE_CACHE", "")
    assert run_program(first, str(tmp_path / "work")) == "one\n"  # no cache at all
