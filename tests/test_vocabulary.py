"""The spec vocabulary, declared once: every kind has its declaration, the schema is built from
them, every kind is used by the kit's specs, and evidence keys have one text form."""

from __future__ import annotations

import os

import pytest

from conformance.spec import evidence as ev
from conformance.spec import load_specs
from conformance.spec.expectations import EXPECTATIONS, Expectation
from conformance.spec.schema import spec_schema
from conformance.spec.vocabulary import (
    COMPUTE_FUNCTIONS,
    MODEL_KINDS,
    PHASES,
    PROBES,
    STEPS,
    model_children,
    phase_of,
    uses_second_device,
)

SPECS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "specs")


@pytest.fixture(scope="module")
def cases():
    return load_specs([SPECS])


def test_each_step_declares_its_phase_what_it_makes_and_its_inputs():
    assert {s.phase for s in STEPS.values()} <= set(PHASES)
    assert STEPS["forward"].made_value({}) == "out" and STEPS["forward"].made_value({"as": "y"}) == "y"
    assert STEPS["tensor"].made_value({"name": "x"}) == "x" and STEPS["compute"].made_value({"out": "z"}) == "z"
    assert STEPS["backward"].made_value({}) is None and STEPS["initialize"].made_value({}) is None
    assert STEPS["forward"].generated == ("input",) and STEPS["backward"].generated == ("head",)
    assert STEPS["save_tensors"].nested and not STEPS["tensor"].nested
    assert phase_of("forward", True) == "first_forward" and phase_of("forward", False) == "forward"
    assert phase_of("zero_grad", False) == "backward" and phase_of("to_device", False) == "device_move"


def test_the_schema_is_assembled_from_the_declarations():
    schema = spec_schema()["$defs"]
    assert set(schema["step"]["properties"]) == set(STEPS)
    assert set(schema["expectation"]["properties"]) == set(EXPECTATIONS)
    assert set(schema["model"]["properties"]) == set(MODEL_KINDS) | {"as"}
    assert all(schema["step"]["properties"][k] is STEPS[k].schema for k in STEPS)


def test_every_expectation_kind_is_a_class_with_its_own_schema():
    for kind, cls in EXPECTATIONS.items():
        assert issubclass(cls, Expectation) and cls.kind == kind and cls.schema["type"] == "object"


def test_every_kind_is_used_by_the_kits_specs(cases):
    steps = {kind for case in cases for kind, _ in case.steps}
    assert steps == set(STEPS), f"step kinds no case uses: {set(STEPS) - steps}"
    expectations = {next(iter(e)) for case in cases for e in case.all_expectations()}
    assert expectations == set(EXPECTATIONS), f"expectation kinds no case uses: {set(EXPECTATIONS) - expectations}"
    functions = {args["fn"] for case in cases for kind, args in case.steps if kind == "compute"}
    assert functions == set(COMPUTE_FUNCTIONS)
    probes = {args["name"] for case in cases for kind, args in case.steps if kind == "probe"}
    assert probes == set(PROBES)

    def kinds(node):
        kind = next(k for k in node if k != "as")
        return {kind} | {k for _, child in model_children(node) for k in kinds(child)}

    models = {k for case in cases if case.model for k in kinds(case.model)}
    assert models == set(MODEL_KINDS), f"model kinds no case uses: {set(MODEL_KINDS) - models}"


@pytest.mark.parametrize("text", [
    "param_paths", "trainable_paths", "native_names", "init_calls", "all_params", "param_shape:0.weight",
    "param_value:hidden.bias", "param_grad:1.0.weight", "value:out", "value_grad:x", "probe:structure",
    "snapshot:before", "input:3", "same_storage:param:2.weight|4.weight", "same_storage:value:x|x_np",
    "device:param:0.weight", "device:value:y",
])
def test_evidence_keys_have_one_text_form(text):
    key = ev.parse(text)
    assert str(key) == text and ev.parse(str(key)) == key and hash(key) == hash(ev.parse(text))


def test_evidence_keys_say_what_they_read():
    assert ev.parse("value:x").values() == ("x",) and not ev.parse("value:x").needs_model()
    assert ev.parse("same_storage:value:a|b").values() == ("a", "b")
    assert ev.parse("same_storage:param:a|b").needs_model() and ev.parse("param_shape:w").needs_model()
    with pytest.raises(ValueError):
        ev.parse("nonsense:x")


def test_model_children_and_the_second_device(cases):
    node = {"sequential": [{"dense": {"units": 2}}, {"named_sequential": {"b": {"relu": {}}}}]}
    assert [k for k, _ in model_children(node)] == ["0", "1"]
    assert [k for k, _ in model_children(node["sequential"][1])] == ["b"]
    second = [c.id for c in cases if uses_second_device(c)]
    assert "cross-device-operation-fails" in second and "grad-of-2x-squared-is-4x" not in second


# evidence the program's frame or the writer records (not an idiom's observe_ method): the
# input of a forward step, snapshots, probes; the untied gradients NumPy computes from the
# observed parameters; native layouts read by the probes that need them
FRAME_KEYS = {"input", "snapshot", "probe", "untied_grad", "native_layouts"}


def _evidence_prefixes() -> set[str]:
    import inspect

    return {c.prefix for c in vars(ev).values() if inspect.isclass(c) and issubclass(c, ev.Key) and c.prefix}


def _idioms():
    from conformance.adapters import ADAPTERS, get_adapter
    from conformance.program.writer import Column

    return [(name, get_adapter(name).idiom(Column(name, "0.0", {"keras": "3.0"}, {"second": "x", "kind": "virtual"})))
            for name in sorted(ADAPTERS)]


@pytest.mark.parametrize("name, idiom", _idioms(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_declared_kind_has_its_one_implementation_in_every_idiom(name, idiom):
    """Each step, observed evidence key and probe is a method of every framework's idiom, named
    as the kind, or the idiom says why its framework lacks it (its own reason, not the
    generic 'programs have no ...')."""
    from conformance.program.idiom import Unsupported

    wanted = [k for k in STEPS if k not in ("snapshot", "probe")]
    wanted += [f"observe_{p}" for p in sorted(_evidence_prefixes() - FRAME_KEYS)]
    wanted += [f"probe_{p}" for p in PROBES]
    silent = []
    for method in wanted:
        if callable(getattr(idiom, method, None)):
            continue
        what = {"observe": "observation", "probe": "probe"}.get(method.split("_")[0], "step")
        what = f"{what} {method.split('_', 1)[1] if what != 'step' else method}"
        try:
            idiom.missing(what)
        except Unsupported as lacking:
            if not str(lacking).startswith(f"{name} programs have no"):
                continue
        silent.append(method)
    assert not silent, f"{name}: no implementation and no reason for {silent}"
