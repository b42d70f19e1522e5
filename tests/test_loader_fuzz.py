"""Fuzzing the loader: thousands of malformed spec documents, and not one traceback.

Every document is a mutation of a valid one (keys deleted, values of the wrong type,
unknown keys, names the kit does not know), random YAML-ish text, random bytes, or the
valid text with characters cut or spliced in. `load_file` must return problems for each
(never raise), and `load_specs` must raise nothing but `SpecError`. The number of
documents tried is printed at the end of the module (`pytest -s` shows it).
"""

from __future__ import annotations

import copy
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.spec import Case, SpecError, SpecProblem, load_file, load_specs

TRIED = {"documents": 0}

SETTINGS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
}

VALID = {
    "topic": "sharing",
    "cases": [
        {
            "id": "grad-accumulates",
            "title": "The gradient of a shared layer is the sum of both uses.",
            "behaviours": ["SH2"],
            "source": {"note": "000_a.txt", "section": "4.2.4", "claim": "梯度会被累加"},
            "model": {"sequential": [
                {"dense": {"units": 4, "in_units": 4, "activation": "relu"}, "as": "shared"},
                {"reuse": "shared"},
                {"dense": {"units": 2, "init": {"weight": {"normal": {"sigma": 0.01}}, "bias": "default"}}},
            ]},
            "steps": [
                {"initialize": {"init": {"custom": {"name": "zero_small"}}}},
                {"forward": {"input": {"uniform": [2, 4], "seed": 1}}},
                {"backward": {"loss": "sum"}},
                {"compute": {"fn": "add", "args": ["out", "out"], "out": "y"}},
                {"probe": {"name": "is_training"}},
            ],
            "expect": [
                {"grad_equals_untied_sum": {"param": "0.weight", "uses": ["0.weight", "1.weight"]}},
                {"values": {"grad": "0.weight", "mean": [0, 1]}},
                {"error": {"phase": "backward", "kind": "graph_freed", "step": 2,
                           "raised": {"torch": {"type": "RuntimeError", "message": "a second time"}}}},
                {"param_names": {"count": 4, "pattern": "0\\..*"}},
            ],
            "pins": {"mxnet": [{"outcome": "as-noted", "versions": ">=1.9,<2", "evidence": {"observed": "MXNet differs."}}]},
            "timeout_s": 30,
        },
        {
            "id": "second",
            "title": "A second case.",
            "behaviours": ["MC1"],
            "source": {"note": "n", "section": "s", "claim": "c"},
            "expect": [{"no_warning": {}}],
        },
        {
            "id": "third",
            "title": "Two outcomes.",
            "behaviours": ["AG6"],
            "source": {"note": "n", "section": "s", "claim": "c"},
            "outcomes": {"overwrite": {"normative": True, "says": "s", "expect": [{"no_warning": {}}]},
                         "accumulate": {"says": "a", "expect": [{"no_error": {}}]}},
            "pins": {"torch": {"outcome": "accumulate", "evidence": {"doc": "torch.nn.Linear docs"}}},
        },
    ],
}
VALID_TEXT = yaml.safe_dump(VALID, allow_unicode=True, sort_keys=False)

# Names the kit knows and near misses, so mutations reach the checks after the schema.
VOCABULARY = [
    "dense", "relu", "sequential", "reuse", "as", "shared", "conv", "forward", "backward", "compute",
    "probe", "fn", "name", "kind", "other", "graph_freed", "add", "nosuchfn", "is_training", "nosuchprobe",
    "torch", "mxnet", "nosuchframework", ">=1.9", ">=1.0,<<2", "~=1", "==1.*", "!!", "(", "[a-", "0\\..*",
    "units", "in_units", "expect", "steps", "model", "pins", "versions", "outcomes", "doc", "step",
    "outcome", "evidence", "observed", "normative", "says", "keras", "accumulate", "overwrite",
    "saved_step", "input_step", "param", "value", "grad", "snapshot", "equals", "id", "title", "cases",
    "topic", "", " ", "-", "ÿ", "\u2028",
]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20), st.sampled_from(VOCABULARY),
)
JUNK = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=8,
)
YAML_TOKENS = [
    "topic: ", "cases:", "\n", "  ", "- ", "id: ", "title: ", "{", "}", "[", "]", ": ", ", ", "&a ", "*a",
    "&b ", "*b", "!!python/object:os.system ", "!!binary ", "!!int ", "? ", "<<: ", "'", '"', "|", ">",
    "#", "%YAML 1.1\n", "---\n", "...\n", "x", "1", "2001-13-45", "9" * 5000, "\t", "\\u0000", "~",
    "model: ", "steps: ", "expect: ", "dense: ", "reuse: ", "as: ",
]


def _dump(document) -> str:
    """YAML text of a mutated document (the C emitter when there is one: it is 5x faster)."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(document, Dumper=dumper, allow_unicode=True, sort_keys=False)


def _paths(node, prefix=()):
    """Every (container path) in the document, with the container itself."""
    yield prefix, node
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, (dict, list)):
                yield from _paths(value, prefix + (index,))


def _mutate(data, document):
    containers = [c for _, c in _paths(document) if c]
    container = data.draw(st.sampled_from(containers)) if containers else document
    operation = data.draw(st.sampled_from(["delete", "replace", "unknown_key", "vocabulary", "duplicate", "wrap"]))
    if isinstance(container, dict):
        keys = list(container)
        key = data.draw(st.sampled_from(keys)) if keys else None
    else:
        key = data.draw(st.integers(0, len(container) - 1)) if container else None
    if key is None:
        return
    if operation == "delete":
        del container[key]
    elif operation == "replace":
        container[key] = data.draw(JUNK)
    elif operation == "unknown_key" and isinstance(container, dict):
        container[data.draw(st.one_of(st.sampled_from(VOCABULARY), st.text(max_size=10)))] = data.draw(JUNK)
    elif operation == "vocabulary":
        container[key] = data.draw(st.sampled_from(VOCABULARY))
    elif operation == "duplicate" and isinstance(container, list):
        container.append(copy.deepcopy(container[key]))
    else:
        container[key] = [container[key]]


def _check_load_file(path, content: bytes):
    with open(path, "wb") as handle:
        handle.write(content)
    TRIED["documents"] += 1
    result = load_file(path)  # must not raise
    cases, problems = result
    assert isinstance(cases, list) and isinstance(problems, list)
    for problem in problems:
        assert isinstance(problem, SpecProblem)
        assert problem.file and str(problem)
    if not problems:
        assert cases and all(isinstance(c, Case) for c in cases)
    return cases, problems


@pytest.fixture(scope="module", autouse=True)
def tally():
    yield
    print(f"\nloader fuzz: {TRIED['documents']} documents tried, none raised")


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fuzz") / "doc.yaml")


def test_the_unmutated_document_is_valid(spec_path):
    cases, problems = _check_load_file(spec_path, VALID_TEXT.encode())
    assert problems == [] and [c.id for c in cases] == ["grad-accumulates", "second", "third"]


@settings(max_examples=600, **SETTINGS)
@given(data=st.data())
def test_mutated_documents_give_problems_not_tracebacks(spec_path, data):
    document = copy.deepcopy(VALID)
    for _ in range(data.draw(st.integers(1, 3))):
        _mutate(data, document)
    _check_load_file(spec_path, _dump(document).encode("utf-8"))


NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,12}", fullmatch=True)
FRAMEWORK = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
VERSION_RANGE = st.one_of(
    st.text(max_size=12),
    st.lists(st.sampled_from([">=", "<", "==", "~=", "!=", "===", "1", "9", ".", "*", ",", "a", "post", "+", " ", "v"]),
             max_size=10).map("".join),
)
REGEX = st.one_of(st.text(max_size=10), st.lists(st.sampled_from(list("()[]{}*+?|\\^$.a0-")), max_size=12).map("".join))
SHAPE = st.lists(st.integers(0, 10**6), max_size=3)
GENERATOR = st.one_of(
    st.dictionaries(st.sampled_from(["uniform", "normal", "ones", "zeros", "seed", "low", "dtype"]),
                    st.one_of(SHAPE, st.integers(0, 5), st.just("int32")), max_size=3),
    st.builds(lambda v: {"values": v}, st.lists(st.one_of(st.integers(), st.floats(), st.lists(st.integers(), max_size=3),
                                                          st.text(max_size=2), st.none()), max_size=4)),
)
# (path into the valid document, strategy for the new value): each keeps the schema satisfied, so
# the document reaches the checks a schema cannot state.
SEMANTIC_SETTERS = [
    (("cases", 0, "steps", 3, "compute", "fn"), st.text(max_size=12)),
    (("cases", 0, "steps", 1, "forward", "input"), GENERATOR),
    (("cases", 0, "steps", 2, "backward", "head"), GENERATOR),
    (("cases", 0, "steps", 4, "probe", "name"), st.text(max_size=12)),
    (("cases", 0, "expect", 2, "error", "kind"), st.text(max_size=12)),
    (("cases", 0, "expect", 2, "error", "step"), st.integers(0, 10**40)),
    (("cases", 0, "pins", "mxnet", 0, "versions"), VERSION_RANGE),
    (("cases", 0, "pins", "mxnet", 0, "outcome"), st.sampled_from(["as-noted", "other"])),
    (("cases", 0, "model", "sequential", 1, "reuse"), NAME),
    (("cases", 0, "model", "sequential", 2, "as"), st.one_of(st.just("shared"), NAME)),
    (("cases", 0, "model", "sequential", 0, "relu"), st.just({})),
    (("cases", 0, "expect", 3, "param_names", "pattern"), REGEX),
    (("cases", 0, "expect", 1, "values", "value"), NAME),
    (("cases", 0, "expect", 4), st.builds(lambda n, s: {"roundtrip": {"loaded": n, "saved_step": s}},
                                         NAME, st.integers(0, 10**6))),
    (("cases", 0, "expect", 5), st.builds(lambda n: {"probe": {"name": n}}, st.text(max_size=12))),
    (("cases", 0, "expect", 6), st.builds(lambda p: {"shape": {**p, "equals": [1]}},
                                         st.sampled_from([{}, {"param": "a", "value": "b"}, {"value": "out"}]))),
    (("cases", 0, "steps", 5), st.builds(lambda m: {"load_params": {"file": "f", "model": m}}, st.sampled_from([
        {"reuse": "shared"}, {"dense": {"units": 1}, "relu": {}}, {"as": "x"},
        {"sequential": [{"relu": {}, "as": "a"}, {"reuse": "a"}, {"reuse": "b"}]}]))),
    (("cases", 2, "pins"), st.dictionaries(FRAMEWORK, st.builds(
        lambda o: {"outcome": o, "evidence": {"doc": "d"}}, st.sampled_from(["overwrite", "accumulate", "adds", "x"])),
        max_size=2)),
    (("cases", 2, "pins", "torch", "keras"), st.sampled_from([">=3", "<<3", "three", ""])),
    (("cases", 2, "outcomes", "accumulate", "normative"), st.booleans()),
    (("cases", 2, "outcomes", "accumulate", "expect", 1), st.builds(
        lambda k: {"error": {"phase": "backward", "kind": k}}, st.text(max_size=8))),
]


@settings(max_examples=400, **SETTINGS)
@given(data=st.data())
def test_schema_valid_mutations_reach_the_semantic_checks(spec_path, data):
    document = copy.deepcopy(VALID)
    for _ in range(data.draw(st.integers(1, 3))):
        path, strategy = data.draw(st.sampled_from(SEMANTIC_SETTERS))
        node = document
        for part in path[:-1]:
            # An earlier mutation may have replaced the parent (e.g. pins without
            # 'torch'): then this mutation has nothing to attach to.
            node = node.get(part) if isinstance(node, dict) else (
                node[part] if isinstance(node, list) and part < len(node) else None)
            if node is None:
                break
        if node is None:
            continue
        if isinstance(node, list) and path[-1] >= len(node):
            node.append(data.draw(strategy))
        else:
            node[path[-1]] = data.draw(strategy)
    _, problems = _check_load_file(spec_path, _dump(document).encode("utf-8"))
    # only the mutated cases (0 and 2) may have problems; the untouched case 1 never does
    assert all(p.case in ("grad-accumulates", "third") for p in problems), [str(p) for p in problems]


@settings(max_examples=900, **SETTINGS)
@given(pieces=st.lists(st.one_of(st.sampled_from(YAML_TOKENS), st.text(max_size=6)), max_size=40))
def test_random_yaml_text_gives_problems(spec_path, pieces):
    _check_load_file(spec_path, "".join(pieces).encode("utf-8", "surrogatepass"))


@settings(max_examples=800, **SETTINGS)
@given(content=st.binary(max_size=300))
def test_random_bytes_give_problems(spec_path, content):
    _check_load_file(spec_path, content)


@settings(max_examples=450, **SETTINGS)
@given(data=st.data())
def test_spliced_text_gives_problems(spec_path, data):
    text = VALID_TEXT
    for _ in range(data.draw(st.integers(1, 3))):
        start = data.draw(st.integers(0, len(text)))
        end = data.draw(st.integers(start, min(len(text), start + 20)))
        insert = data.draw(st.one_of(st.just(""), st.sampled_from(YAML_TOKENS), st.text(max_size=5)))
        text = text[:start] + insert + text[end:]
    _check_load_file(spec_path, text.encode("utf-8", "surrogatepass"))


@settings(max_examples=60, **SETTINGS)
@given(data=st.data())
def test_load_specs_raises_only_spec_error(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("specs")
    for name in ("a.yaml", "b.yaml"):
        document = copy.deepcopy(VALID)
        for _ in range(data.draw(st.integers(0, 2))):
            _mutate(data, document)
        (folder / name).write_text(_dump(document), encoding="utf-8")
        TRIED["documents"] += 1
    try:
        cases = load_specs([str(folder)])
    except SpecError as error:
        assert error.problems and all(isinstance(p, SpecProblem) for p in error.problems)
    else:
        ids = [c.id for c in cases]
        assert len(ids) == len(set(ids)), f"duplicate ids across files were accepted: {ids}"
    finally:
        for name in os.listdir(folder):
            os.unlink(folder / name)
