"""Inputs are the same numbers for every framework; results files are never half-written.

Generators are deterministic per seed and dtype; `summarise` keeps statistics (and the
values of small arrays) in plain JSON; `atomic_write_json` either replaces the file whole
or leaves the old one untouched, with no temporary file behind.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from conformance.inputs import generate, generate_value
from conformance.results import Journal, atomic_write_json, read_journal, safe_name, summarise
from conformance.spec.checks import EvidenceFailure

# -- generators ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", [
    {"uniform": [3, 4], "seed": 1}, {"normal": [5], "mean": 2, "std": 0.5, "seed": 7},
    {"uniform": [2, 2], "low": -10, "high": 10, "dtype": "float64"}, {"arange": 6, "dtype": "int64"},
])
def test_generators_are_deterministic(spec):
    first, second = generate(dict(spec)), generate(dict(spec))
    assert first.dtype == second.dtype and np.array_equal(first, second)


def test_seed_changes_the_numbers_and_defaults_to_zero():
    a = generate({"uniform": [100], "seed": 1})
    b = generate({"uniform": [100], "seed": 2})
    assert not np.array_equal(a, b)
    assert np.array_equal(generate({"uniform": [100]}), generate({"uniform": [100], "seed": 0}))


def test_the_numbers_are_numpy_default_rng():
    expected = np.random.default_rng(3).uniform(-1, 1, size=(2, 3)).astype(np.float32)
    assert np.array_equal(generate({"uniform": [2, 3], "low": -1, "high": 1, "seed": 3}), expected)


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64"])
def test_dtype(dtype):
    array = generate({"arange": 5, "dtype": dtype})
    assert array.dtype == np.dtype(dtype) and array.tolist() == [0, 1, 2, 3, 4]
    assert array.flags["C_CONTIGUOUS"]


def test_float32_by_default():
    for spec in ({"uniform": [2]}, {"normal": [2]}, {"ones": [2]}, {"zeros": [2]}, {"arange": 2}, {"values": [1, 2]}):
        assert generate(spec).dtype == np.float32, spec


def test_same_seed_different_dtype_is_the_same_draw_rounded():
    single = generate({"normal": [50], "seed": 4})
    double = generate({"normal": [50], "seed": 4, "dtype": "float64"})
    assert np.array_equal(single, double.astype(np.float32))


def test_shapes_and_constant_generators():
    assert generate({"uniform": [2, 3, 4]}).shape == (2, 3, 4)
    assert generate({"ones": [2, 2]}).tolist() == [[1, 1], [1, 1]]
    assert generate({"zeros": [0, 3]}).shape == (0, 3)
    assert generate({"values": [[1, 2], [3, 4]], "dtype": "int32"}).tolist() == [[1, 2], [3, 4]]
    u = generate({"uniform": [1000], "low": 2, "high": 3})
    assert 2 <= u.min() and u.max() <= 3


def test_unknown_generator_is_a_value_error():
    with pytest.raises(ValueError, match="no generator kind"):
        generate({"laplace": [2]})


def test_generate_value_keeps_the_structure():
    as_list = generate_value([{"ones": [2]}, {"zeros": [3]}])
    assert [a.tolist() for a in as_list] == [[1, 1], [0, 0, 0]]
    as_dict = generate_value({"x": {"arange": 2}, "y": {"ones": [1]}})
    assert list(as_dict) == ["x", "y"] and as_dict["x"].tolist() == [0, 1]
    assert generate_value({"ones": [2]}).tolist() == [1, 1]


# -- summarise --------------------------------------------------------------------------------


def test_summarise_small_array_keeps_values_and_stats():
    out = summarise(np.array([[0.0, 1.0], [2.0, 3.0]], np.float32))
    assert out == {"shape": [2, 2], "dtype": "float32", "mean": 1.5, "std": pytest.approx(1.118033988),
                   "min": 0.0, "max": 3.0, "frac_zero": 0.25, "values": [[0.0, 1.0], [2.0, 3.0]]}
    json.dumps(out, allow_nan=False)


def test_summarise_large_array_keeps_only_stats():
    out = summarise(np.ones((10, 10), np.float64))
    assert "values" not in out
    assert out["shape"] == [10, 10] and out["mean"] == 1.0 and out["std"] == 0.0 and out["frac_zero"] == 0.0


def test_summarise_non_finite_numbers_are_named_not_nulled():
    out = summarise(np.array([np.nan, np.inf, -np.inf, 1.0]))
    assert out["values"] == ["NaN", "Infinity", "-Infinity", 1.0]
    assert out["mean"] == "NaN" and out["max"] == "NaN" and out["min"] == "NaN"  # NaN spreads, JSON stays valid
    json.dumps(out, allow_nan=False)
    assert summarise(float("nan")) == "NaN" and summarise(float("-inf")) == "-Infinity"
    assert summarise(np.float32(np.inf)) == {"shape": [], "dtype": "float32", "mean": "Infinity", "std": "NaN",
                                             "min": "Infinity", "max": "Infinity", "frac_zero": 0.0, "values": "Infinity"}


def test_summarise_empty_int_bool_and_scalar_arrays():
    assert summarise(np.zeros((0, 3), np.float32)) == {"shape": [0, 3], "dtype": "float32", "values": []}
    assert summarise(np.array([1, 2], np.int64))["values"] == [1, 2]
    assert summarise(np.array([True, False]))["frac_zero"] == 0.5
    scalar = summarise(np.float32(2.5))
    assert scalar["shape"] == [] and scalar["values"] == 2.5


def test_summarise_nested_structures_and_odd_objects():
    out = summarise({"a": [np.zeros(1), 2, "x", None, True], 3: (1.5,), "failure": EvidenceFailure("KeyError", "'w'")})
    assert out["a"][0]["values"] == [0.0] and out["a"][1:] == [2, "x", None, True]
    assert out["3"] == [1.5]
    assert out["failure"] == {"observer_error": "KeyError", "message": "'w'"}
    assert summarise(np.array(["a", "b"]))["dtype"] == "<U1"
    assert summarise(object()).startswith("<object object at")
    assert len(summarise(type("Loud", (), {"__repr__": lambda self: "x" * 1000})())) == 300
    json.dumps(out, allow_nan=False)


# -- atomic writes and the journal ---------------------------------------------------------------


def _leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


def test_atomic_write_json_writes_whole_file_and_no_temp(tmp_path):
    path = tmp_path / "deep" / "results.json"
    atomic_write_json(str(path), {"cases": [1, 2], "name": "café"})
    assert json.loads(path.read_text(encoding="utf-8")) == {"cases": [1, 2], "name": "café"}
    assert _leftovers(path.parent) == []


@pytest.mark.parametrize("bad", [{"x": object()}, {"x": float("nan")}, {"x": [1, {2: np.float16(1)}]}])
def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path, bad):
    path = tmp_path / "results.json"
    atomic_write_json(str(path), {"old": True})
    before = path.read_bytes()
    with pytest.raises((TypeError, ValueError)):
        atomic_write_json(str(path), {"cases": list(range(5000)), **bad})  # fails part-way through the dump
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["results.json"]


def test_journal_appends_and_reads_back(tmp_path):
    path = str(tmp_path / ".fw.partial.jsonl")
    journal = Journal(path)
    journal.append({"id": "a", "status": "pass"})
    journal.append({"id": "b", "status": "fail"})
    assert [r["id"] for r in read_journal(path)] == ["a", "b"]
    journal.close(remove=True)
    assert not os.path.exists(path)


def test_journal_refuses_nan_rather_than_writing_invalid_json(tmp_path):
    journal = Journal(str(tmp_path / "j.jsonl"))
    with pytest.raises(ValueError):
        journal.append({"x": math.nan})
    journal.close(remove=False)
    assert read_journal(str(tmp_path / "j.jsonl")) == []


def test_safe_name():
    assert safe_name("fake_adapter:FakeAdapter") == "fake_adapter_FakeAdapter"
    assert safe_name("2.13.0+cpu") == "2.13.0+cpu"
    assert safe_name("../../etc/passwd") == ".._.._etc_passwd"
