"""The loader: a good spec becomes `Case` objects; every bad one becomes problems naming file, case and key.

No malformed input may escape as a traceback: invalid YAML, wrong types, unknown keys and
names, duplicates, bad version ranges, alias bombs, huge, binary, empty or deeply nested files.
"""

from __future__ import annotations

import copy
import os
import signal
from contextlib import contextmanager

import pytest
import yaml

from conformance.cli import main
from conformance.spec import Case, SpecError, load_file, load_specs
from conformance.spec.loader import MAX_FILE_BYTES

GOOD = {
    "topic": "sharing",
    "cases": [
        {
            "id": "grad-accumulates",
            "title": "The gradient of a layer used twice is the sum of the gradients of both uses.",
            "behaviours": ["SH2"],
            "source": {"note": "000_a174af33e3c9ad3d.txt", "section": "4.2.4", "claim": "梯度都会被累加"},
            "model": {"sequential": [
                {"dense": {"units": 8, "in_units": 8, "activation": "relu"}, "as": "shared"},
                {"reuse": "shared"},
                {"dense": {"units": 2, "init": {"weight": {"normal": {"sigma": 0.01}}, "bias": "default"}}},
            ]},
            "steps": [
                {"initialize": {"init": {"custom": {"name": "zero_small"}}, "seed": 3}},
                {"forward": {"input": {"uniform": [2, 8], "seed": 1}, "as": "out"}},
                {"backward": {"of": "out", "loss": "sum"}},
                {"compute": {"fn": "two_x_squared", "args": ["out"], "out": "y"}},
                {"probe": {"name": "is_training"}},
                {"snapshot": {"as": "before"}},
                {"save_tensors": {"file": "t.bin", "value": {"a": {"ones": [2]}, "b": {"zeros": [3]}}}},
                {"load_tensors": {"file": "t.bin", "as": "loaded"}},
            ],
            "expect": [
                {"grad_equals_untied_sum": {"param": "0.weight", "uses": ["0.weight", "1.weight"]}},
                {"values": {"grad": "0.weight", "mean": [0, 1]}},
                {"roundtrip": {"loaded": "loaded", "saved_step": 6}},
                {"param_names": {"count": 4, "pattern": "0\\..*"}},
                {"probe": {"name": "is_training", "equals": {"inside_recording": True}}},
            ],
            "pins": {"torch": {"outcome": "as-noted", "evidence": {"doc": "torch.nn.Linear docs",
                                                                  "note_says": "the note is wrong today"}},
                     "mxnet": [{"outcome": "as-noted", "versions": ">=1.9,<2", "evidence": {"observed": "MXNet differs."}}]},
            "timeout_s": 30,
        },
        {
            "id": "second-case",
            "title": "A second case.",
            "behaviours": ["MC1", "MC2"],
            "source": {"note": "001_x.txt", "section": "4.1", "claim": "claim"},
            "expect": [{"no_warning": {}}],
        },
        {
            "id": "two-outcomes",
            "title": "A case with two outcomes.",
            "behaviours": ["AG6"],
            "source": {"note": "002_x.txt", "section": "s", "claim": "claim"},
            "steps": [{"tensor": {"name": "x", "value": {"values": [1, 2]}, "requires_grad": True}}],
            "outcomes": {
                "accumulate": {"says": "gradients add up", "expect": [{"no_error": {}}]},
                "overwrite": {"normative": True, "says": "the second pass replaces it",
                              "expect": [{"grad": {"value": "x", "is": "present"}}]},
            },
            "pins": {"torch": {"outcome": "accumulate", "versions": ">=1", "evidence": {"doc": "torch docs"}}},
        },
    ],
}


def _write(tmp_path, document, name="topic.yaml"):
    path = tmp_path / name
    text = document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return str(path)


def _problems(tmp_path, document):
    cases, problems = load_file(_write(tmp_path, document))
    assert cases == [] or problems, "a problem must keep the bad case out"
    return problems


def _changed(edit):
    document = copy.deepcopy(GOOD)
    edit(document)
    return document


@contextmanager
def _no_hang(seconds=60):
    """Turn a hang (e.g. expanding an alias bomb) into a failure instead of a stuck run."""
    def expired(*_):
        raise AssertionError(f"still loading after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# -- the good spec ------------------------------------------------------------


def test_good_spec_loads_into_cases(tmp_path):
    path = _write(tmp_path, GOOD)
    cases, problems = load_file(path)
    assert problems == []
    assert [c.id for c in cases] == ["grad-accumulates", "second-case", "two-outcomes"]
    case = cases[0]
    assert isinstance(case, Case)
    assert case.topic == "sharing" and case.behaviours == ["SH2"]
    assert case.source["section"] == "4.2.4"
    assert case.model["sequential"][1] == {"reuse": "shared"}
    assert case.steps[1] == ("forward", {"input": {"uniform": [2, 8], "seed": 1}, "as": "out"})
    assert [kind for kind, _ in case.steps][-2:] == ["save_tensors", "load_tensors"]
    assert case.timeout_s == 30
    assert case.nodeid.endswith("topic.yaml::grad-accumulates")
    assert [o.label for o in case.outcomes] == ["as-noted"] and case.normative.expect == GOOD["cases"][0]["expect"]
    assert case.resolve("torch", "2.13.0").pin["evidence"]["note_says"] == "the note is wrong today"
    assert case.resolve("mxnet", "1.9.1").pin["evidence"] == {"observed": "MXNet differs."}
    assert case.resolve("mxnet", "2.0.0").pin is None
    assert cases[1].model is None and cases[1].steps == [] and cases[1].pins == {}
    two = cases[2]
    assert [(o.label, o.normative) for o in two.outcomes] == [("overwrite", True), ("accumulate", False)]
    assert two.normative.says == "the second pass replaces it"
    assert two.resolve("torch", "2.13.0").expected.label == "accumulate"
    assert two.resolve("mxnet", "1.9.1").expected.label == "overwrite"


def test_case_json_round_trip(tmp_path):
    cases, _ = load_file(_write(tmp_path, GOOD))
    for case in cases:
        assert Case.from_json(case.to_json()) == case


def test_load_specs_reads_a_folder_and_skips_the_catalogue(tmp_path):
    _write(tmp_path, GOOD, "a.yaml")
    (tmp_path / "catalogue.yaml").write_text("behaviours: [this is not a spec]\n", encoding="utf-8")
    cases = load_specs([str(tmp_path)])
    assert [c.id for c in cases] == ["grad-accumulates", "second-case", "two-outcomes"]


# -- problems: each names file, case and key -----------------------------------

SCHEMA_PROBLEMS = [
    # (what, edit, case, key, words in the message)
    ("an error expectation without its step",
     lambda d: d["cases"][0]["expect"].append({"error": {"phase": "backward", "kind": "graph_freed"}}),
     "grad-accumulates", "expect[5].error", "'step' is a required property"),
    ("wrong type: id", lambda d: d["cases"][0].update(id=5), "#0", "id", "not of type 'string'"),
    ("wrong type: behaviours", lambda d: d["cases"][1].update(behaviours="MC1"), "second-case", "behaviours",
     "not of type 'array'"),
    ("wrong type: steps", lambda d: d["cases"][0].update(steps={"forward": {}}), "grad-accumulates", "steps",
     "not of type 'array'"),
    ("wrong type: expectation", lambda d: d["cases"][1].update(expect=["no_error"]), "second-case", "expect[0]",
     "not of type 'object'"),
    ("wrong type: generator", lambda d: d["cases"][0]["steps"][1]["forward"].update(input="abc"),
     "grad-accumulates", "steps[1].forward.input", "not of type 'object'"),
    ("wrong type: timeout", lambda d: d["cases"][0].update(timeout_s=-1), "grad-accumulates", "timeout_s",
     "less than or equal to the minimum of 0"),
    ("missing title", lambda d: d["cases"][1].pop("title"), "second-case", "", "'title' is a required property"),
    ("bad id", lambda d: d["cases"][1].update(id="Not Valid"), "Not Valid", "id", "does not match"),
    ("unknown key in a case", lambda d: d["cases"][1].update(colour="red"), "second-case", "colour", "'colour'"),
    ("unknown key in a step", lambda d: d["cases"][0]["steps"][2]["backward"].update(twice=True),
     "grad-accumulates", "steps[2].backward.twice", "'twice' was unexpected"),
    ("unknown key in an expectation", lambda d: d["cases"][0]["expect"][1]["values"].update(median=[0, 1]),
     "grad-accumulates", "expect[1].values.median", "'median' was unexpected"),
    ("unknown key in a model", lambda d: d["cases"][0]["model"]["sequential"][0]["dense"].update(kernel=3),
     "grad-accumulates", "model.sequential[0].dense.kernel", "'kernel' was unexpected"),
    ("unknown step", lambda d: d["cases"][0]["steps"].append({"jump": {}}), "grad-accumulates", "steps[8].jump",
     "'jump' was unexpected"),
    ("unknown model kind", lambda d: d["cases"][0].update(model={"conv2d": {}}), "grad-accumulates",
     "model.conv2d", "'conv2d' was unexpected"),
    ("unknown expectation", lambda d: d["cases"][1]["expect"].append({"fast": {}}), "second-case", "expect[1].fast",
     "'fast' was unexpected"),
    ("unknown initializer", lambda d: d["cases"][0]["steps"][0]["initialize"].update(init={"lecun": {}}),
     "grad-accumulates", "steps[0].initialize.init.lecun", "'lecun' was unexpected"),
    ("unknown top-level key", lambda d: d.update(version=2), None, "version", "'version' was unexpected"),
    ("no cases", lambda d: d.update(cases=[]), None, "cases", "should be non-empty"),
]


@pytest.mark.parametrize("what, edit, case, key, words", SCHEMA_PROBLEMS, ids=[p[0] for p in SCHEMA_PROBLEMS])
def test_schema_problem_names_file_case_and_key(tmp_path, what, edit, case, key, words):
    problems = _problems(tmp_path, _changed(edit))
    assert problems, what
    match = [p for p in problems if p.case == case and p.key == key and words in p.message]
    assert match, [str(p) for p in problems]
    text = str(match[0])
    assert text.startswith(match[0].file) and match[0].file.endswith("topic.yaml")
    assert (f"case '{case}'" if case else "file:") in text
    assert f"key '{key or '<root>'}'" in text


SEMANTIC_PROBLEMS = [
    ("unknown compute function", lambda d: d["cases"][0]["steps"][3]["compute"].update(fn="cube"),
     "steps[3].compute.fn", "unknown function 'cube'"),
    ("unknown probe in a step", lambda d: d["cases"][0]["steps"][4]["probe"].update(name="gpu_count"),
     "steps[4].probe.name", "unknown probe 'gpu_count'"),
    ("unknown probe in an expectation", lambda d: d["cases"][0]["expect"][4]["probe"].update(name="x"),
     "expect[4].probe.name", "unknown probe 'x'"),
    ("unknown error kind", lambda d: d["cases"][0]["expect"].append({"error": {"phase": "backward", "kind": "oops", "step": 2}}),
     "expect[5].error.kind", "unknown error kind 'oops'"),
    ("unknown error kind in an outcome",
     lambda d: d["cases"][2]["outcomes"]["accumulate"]["expect"].append({"error": {"phase": "load", "kind": "oops",
                                                                                  "step": 1}}),
     "outcomes.accumulate.expect[1].error.kind", "unknown error kind 'oops'"),
    ("unknown framework in pins",
     lambda d: d["cases"][0]["pins"].update(caffe={"outcome": "as-noted", "evidence": {"doc": "d"}}),
     "pins.caffe", "unknown framework 'caffe'"),
    ("a pin naming an outcome the case lacks", lambda d: d["cases"][2]["pins"]["torch"].update(outcome="adds"),
     "pins.torch.outcome", "pins outcome 'adds', which the case does not define"),
    ("bad PEP 440 range", lambda d: d["cases"][0]["pins"]["mxnet"][0].update(versions=">=1.9,<<2"),
     "pins.mxnet.versions", "not a PEP 440 version range: '>=1.9,<<2'"),
    ("bad PEP 440 range: words", lambda d: d["cases"][0]["pins"]["mxnet"][0].update(versions="newer than 2"),
     "pins.mxnet.versions", "not a PEP 440 version range"),
    ("an error naming only its kind",
     lambda d: d["cases"][0]["expect"].append({"error": {"phase": "backward", "kind": "other", "step": 2,
                                                         "raised": None}}),
     "expect[5].error.raised", "name what is raised"),
    ("an error with a type but no message",
     lambda d: d["cases"][0]["expect"].append({"error": {"phase": "backward", "kind": "other", "step": 2,
                                                         "type": "ValueError"}}),
     "expect[5].error.raised", "name what is raised"),
    ("a bad error message pattern",
     lambda d: d["cases"][0]["expect"].append({"error": {"phase": "backward", "kind": "graph_freed", "step": 2,
                                                         "message": "(["}}),
     "expect[5].error.message", "bad regular expression"),
    ("bad keras range", lambda d: d["cases"][2]["pins"]["torch"].update(keras="three"),
     "pins.torch.keras", "not a PEP 440 version range"),
    ("reuse of an unmarked name", lambda d: d["cases"][0]["model"]["sequential"].__setitem__(1, {"reuse": "other"}),
     "model.sequential[1].reuse", "'other' is not marked with `as` earlier"),
    ("reuse before the mark", lambda d: d["cases"][0]["model"]["sequential"].reverse(),
     "model.sequential[1].reuse", "'shared' is not marked"),
    ("a name marked twice", lambda d: d["cases"][0]["model"]["sequential"][2].update({"as": "shared"}),
     "model.sequential[2].as", "name 'shared' is used twice"),
    ("two model kinds", lambda d: d["cases"][0]["model"]["sequential"][2].update(relu={}),
     "model.sequential[2]", "exactly one kind"),
    ("step out of range", lambda d: d["cases"][0]["expect"][2]["roundtrip"].update(saved_step=8),
     "expect[2].roundtrip", "step 8 does not exist"),
    ("two targets", lambda d: d["cases"][0]["expect"][1]["values"].update(value="out"),
     "expect[1].values", "exactly one target"),
    ("shape without target", lambda d: d["cases"][0]["expect"].append({"shape": {"equals": [1]}}),
     "expect[5].shape", "exactly one of param or value"),
    ("bad regular expression", lambda d: d["cases"][0]["expect"][3]["param_names"].update(pattern="(["),
     "expect[3].param_names.pattern", "bad regular expression"),
    ("regular expression too deep", lambda d: d["cases"][0]["expect"][3]["param_names"].update(
        pattern="(" * 1200 + ")" * 1200), "expect[3].param_names.pattern", "bad regular expression"),
    ("ragged values", lambda d: d["cases"][0]["steps"][1]["forward"].update(input={"values": [[1, 2], [3]]}),
     "steps[1].forward.input", "rectangular nested list of numbers"),
    ("words in values", lambda d: d["cases"][0]["steps"][1]["forward"].update(input={"values": [1, "two"]}),
     "steps[1].forward.input", "rectangular nested list of numbers"),
    ("generator without a kind", lambda d: d["cases"][0]["steps"][1]["forward"].update(input={"seed": 1}),
     "steps[1].forward.input", "a generator names exactly one of"),
    ("generator with two kinds", lambda d: d["cases"][0]["steps"][2]["backward"].update(
        head={"ones": [2], "zeros": [2]}), "steps[2].backward.head", "got ['ones', 'zeros']"),
    ("huge input", lambda d: d["cases"][0]["steps"][1]["forward"].update(input={"normal": [100000, 100000]}),
     "steps[1].forward.input", "is more than 10000000 elements"),
    ("bad generator in a saved list", lambda d: d["cases"][0]["steps"][6]["save_tensors"].update(
        value=[{"ones": [2]}, {"values": [[1], [2, 3]]}]), "steps[6].save_tensors.value[1]", "rectangular"),
    ("bad generator in a saved dict", lambda d: d["cases"][0]["steps"][6]["save_tensors"]["value"].update(
        b={"dtype": "int32"}), "steps[6].save_tensors.value.b", "exactly one of"),
    ("load_params model with an unmarked reuse",
     lambda d: d["cases"][0]["steps"].append({"load_params": {"file": "f", "model": {"reuse": "shared"}}}),
     "steps[8].load_params.model.reuse", "not marked"),
]


@pytest.mark.parametrize("what, edit, key, words", SEMANTIC_PROBLEMS, ids=[p[0] for p in SEMANTIC_PROBLEMS])
def test_semantic_problem_names_case_and_key(tmp_path, what, edit, key, words):
    cases, problems = load_file(_write(tmp_path, _changed(edit)))
    broken = [p.case for p in problems if words in p.message]
    assert len(broken) == 1 and [(p.case, p.key) for p in problems if words in p.message] == [(broken[0], key)], \
        [str(p) for p in problems]
    good = [c["id"] for c in GOOD["cases"] if c["id"] != broken[0]]
    assert [c.id for c in cases] == good, "the good cases of the file still load"


YAML_PROBLEMS = [
    ("invalid YAML", "topic: [unclosed\ncases: 1\n", "line 2", "invalid YAML"),
    ("tab indentation", "topic: t\ncases:\n\t- 1\n", "line 3", "invalid YAML"),
    ("duplicate mapping key", "topic: a\ntopic: b\ncases: []\n", "line 2, column 1", "duplicate key 'topic'"),
    ("duplicate key in a case", "topic: t\ncases:\n  - {id: a, id: b}\n", "line 3", "duplicate key 'id'"),
    ("python tag", "topic: !!python/object/apply:os.system ['true']\ncases: [1]\n", "line 1",
     "could not determine a constructor"),
    ("empty int tag", "topic: !!int\ncases: [1]\n", "", "cannot construct a value: IndexError"),
    ("bad bool tag", "topic: !!bool maybe\ncases: [1]\n", "", "cannot construct a value: KeyError"),
    ("impossible date", "topic: 2001-13-45\ncases: [1]\n", "", "cannot construct a value: ValueError"),
    ("huge integer", "topic: " + "9" * 5000 + "\ncases: [1]\n", "", "cannot construct a value: ValueError"),
    ("unhashable key", "topic: t\n? [a, b]\n: 1\ncases: [1]\n", "line 2", "unhashable mapping key"),
    ("recursive alias", "topic: &a [*a]\ncases: [1]\n", "line 1", "recursive YAML"),
    ("empty file", "", "", "the file is empty"),
    ("only a comment", "# nothing here\n", "", "the file is empty"),
    ("top-level list", "- topic: t\n- cases: []\n", "", "is not of type 'object'"),
    ("top-level scalar", "just words\n", "", "is not of type 'object'"),
    # libyaml refuses these while parsing ("exceeded maximum nesting depth"); the Python
    # loader (a document with an anchor) gets as far as validation ("nested too deeply")
    ("deep nesting", "topic: t\ncases: " + "[" * 5000 + "]" * 5000 + "\n", "", "nest"),
    ("deep mappings", "topic: t\ncases: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "", "nest"),
    ("deep nesting with an anchor", "topic: &t t\ncases: " + "[" * 5000 + "]" * 5000 + "\n", "", "nested too deeply"),
]


@pytest.mark.parametrize("what, text, key, words", YAML_PROBLEMS, ids=[p[0] for p in YAML_PROBLEMS])
def test_unreadable_yaml_is_a_problem_not_a_traceback(tmp_path, what, text, key, words):
    problems = _problems(tmp_path, text)
    assert len(problems) >= 1
    assert any(words in p.message and p.key.startswith(key) for p in problems), [str(p) for p in problems]
    assert all(p.file.endswith("topic.yaml") for p in problems)


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
topic: *i
cases: *i
"""


def test_billion_laughs_is_refused(tmp_path):
    # 81 aliases (under the alias count limit) that expand to 9**9 strings.
    with _no_hang():
        problems = _problems(tmp_path, BILLION_LAUGHS)
    assert len(problems) == 1 and "alias bomb" in problems[0].message, [str(p) for p in problems]


def test_doubling_alias_bomb_is_refused(tmp_path):
    lines = ["l0: &l0 [x, x]"] + [f"l{i}: &l{i} [*l{i - 1}, *l{i - 1}]" for i in range(1, 45)]
    text = "\n".join(lines) + "\ntopic: *l44\ncases: *l44\n"
    with _no_hang():
        problems = _problems(tmp_path, text)
    assert "alias bomb" in problems[0].message


def test_too_many_aliases_are_refused(tmp_path):
    text = "x: &x 1\nlots: [" + ", ".join(["*x"] * 150) + "]\ntopic: t\ncases: [1]\n"
    problems = _problems(tmp_path, text)
    assert "more than 100 YAML aliases" in problems[0].message


def test_a_few_aliases_are_fine(tmp_path):
    text = yaml.safe_dump(GOOD, sort_keys=False).replace(
        "source:\n    note: 001_x.txt", "source: &src\n    note: 001_x.txt", 1)
    cases, problems = load_file(_write(tmp_path, text))
    assert problems == [] and len(cases) == 3


def test_file_over_the_size_limit(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    cases, problems = load_file(str(path))
    assert cases == [] and "limit is 1000000" in problems[0].message and problems[0].file.endswith("big.yaml")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_in_the_specs_is_a_problem_and_never_read(tmp_path, capsys):
    """A FIFO named like a spec (nothing writes to it) would block a reader forever: it is
    refused, named, and the rest of the folder still loads."""
    os.mkfifo(tmp_path / "pipe.yaml")
    with _no_hang(20):
        cases, problems = load_file(str(tmp_path / "pipe.yaml"))
        assert cases == [] and "not a regular file" in problems[0].message
        assert problems[0].file.endswith("pipe.yaml")
        assert main(["validate", str(tmp_path / "pipe.yaml")]) == 2
    assert "pipe.yaml" in capsys.readouterr().err


def test_non_utf8_bytes(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("topic: caf\u00e9\ncases: [1]\n".encode("latin-1"))
    cases, problems = load_file(str(path))
    assert cases == [] and "cannot read" in problems[0].message and "utf-8" in problems[0].message


def test_missing_file_is_a_problem(tmp_path):
    with pytest.raises(SpecError) as raised:
        load_specs([str(tmp_path / "nope.yaml")])
    assert "no such file" in str(raised.value)


def test_empty_folder_is_a_problem(tmp_path):
    with pytest.raises(SpecError) as raised:
        load_specs([str(tmp_path)])
    assert "no spec files found" in str(raised.value)


def test_duplicate_ids_across_files(tmp_path):
    _write(tmp_path, GOOD, "a.yaml")
    other = copy.deepcopy(GOOD)
    other["cases"] = [other["cases"][1]]
    _write(tmp_path, other, "b.yaml")
    with pytest.raises(SpecError) as raised:
        load_specs([str(tmp_path)])
    [problem] = raised.value.problems
    assert problem.case == "second-case" and problem.key == "id"
    assert problem.file.endswith("b.yaml") and "also in" in problem.message and "a.yaml" in problem.message


def test_load_specs_collects_problems_of_every_bad_file(tmp_path):
    _write(tmp_path, "topic: [\n", "a.yaml")
    _write(tmp_path, _changed(lambda d: d["cases"][0]["pins"]["mxnet"][0].update(versions="<<")), "b.yaml")
    with pytest.raises(SpecError) as raised:
        load_specs([str(tmp_path)])
    files = sorted({p.file.rsplit("/", 1)[-1] for p in raised.value.problems})
    assert files == ["a.yaml", "b.yaml"]
    assert "b.yaml: case 'grad-accumulates': key 'pins.mxnet.versions'" in str(raised.value)


# -- `conformance validate` ------------------------------------------------------


def test_validate_exit_2_names_file_case_and_key(tmp_path, capsys):
    path = _write(tmp_path, _changed(lambda d: d["cases"][0]["steps"][3]["compute"].update(fn="cube")))
    assert main(["validate", path]) == 2
    err = capsys.readouterr().err
    assert "topic.yaml: case 'grad-accumulates': key 'steps[3].compute.fn': unknown function 'cube'" in err
    assert "Traceback" not in err


def test_validate_invalid_yaml_exit_2(tmp_path, capsys):
    assert main(["validate", _write(tmp_path, "topic: a\ntopic: b\n")]) == 2
    err = capsys.readouterr().err
    assert "topic.yaml: file: key 'line 2, column 1': invalid YAML: duplicate key 'topic'" in err


def test_validate_good_spec_exit_0(tmp_path, capsys):
    assert main(["validate", _write(tmp_path, GOOD)]) == 0
    assert "ok: 3 cases" in capsys.readouterr().out


def test_libyaml_fast_path_reads_the_kits_specs_as_the_python_loader_does():
    """Text without `&` (no anchor, so no alias) goes through libyaml; it must give the same
    data as the alias-counting Python loader, and refuse duplicate keys the same way."""
    import glob

    import yaml

    from conformance.spec import safe_yaml as loader

    if loader._FastSpecLoader is None:
        pytest.skip("PyYAML was built without libyaml")
    files = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "specs", "*", "*.yaml")))
    assert files
    for path in files:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        assert loader.parse(text) == yaml.load(text, Loader=loader._SafeSpecLoader), path
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'a'"):
        yaml.load("a: 1\na: 2\n", Loader=loader._FastSpecLoader)


@pytest.mark.parametrize("field, value", [("id", "a\n"), ("id", "a\nb"), ("as", "x\n")])
def test_a_trailing_newline_is_not_a_name(tmp_path, field, value):
    """`$` in a regular expression matches before a final newline: the spec patterns end with
    \\Z, so an id (or a value name) with a line break is a problem naming its key."""
    import yaml as _yaml

    case = {"id": "ok", "title": "T.", "behaviours": ["MC1"], "source": {"note": "n", "section": "s", "claim": "c"},
            "steps": [{"tensor": {"name": "x", "value": {"ones": [2]}}}], "expect": [{"shape": {"value": "x", "equals": [2]}}]}
    if field == "id":
        case["id"] = value
    else:
        case["steps"].append({"to_numpy": {"value": "x", "as": value}})
    path = tmp_path / "t.yaml"
    path.write_text(_yaml.safe_dump({"topic": "t", "cases": [case]}), encoding="utf-8")
    cases, problems = load_file(str(path))
    assert cases == [] and problems, problems
