"""Outcomes end to end on the reference: spec YAML -> loader -> runner -> checker -> record.

Each test runs real cases in-process on the bundled reference; the specs are written here
so that each judging rule of the outcome language is exercised against a real execution.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from conformance.adapters import get_adapter
from conformance.run import run_inprocess
from conformance.spec.loader import SpecError, load_specs

SOURCE = '{note: 002_4f21995909ada639.txt, section: "自动求梯度", claim: "z.backward(retain_graph=True)"}'
TWO_PASSES = """
    steps:
      - tensor: {name: x, value: {values: [[1, 2], [3, 4]]}, requires_grad: true}
      - tensor: {name: x2, value: {values: [[2, 4], [6, 8]]}}
      - compute: {fn: sum_two_x_squared, args: [x], out: z}
      - backward: {of: z, loss: none, retain_graph: true}
      - backward: {of: z, loss: none}
    outcomes:
      overwrite:
        normative: true
        says: "the second pass replaces the gradient: 4x"
        expect: [{values: {value_grad: x, closed_form: {fn: four_x, x: x}}}]
      accumulate:
        says: "gradients add up: 8x"
        expect: [{values: {value_grad: x, closed_form: {fn: four_x, x: x2}}}]
"""


def _run(tmp_path, body: str) -> dict:
    spec = tmp_path / "t.yaml"
    spec.write_text("topic: t\ncases:\n" + textwrap.indent(textwrap.dedent(body), "  "), encoding="utf-8")
    adapter = get_adapter("reference")
    adapter.load()
    return {r["id"]: r for r in run_inprocess(adapter, load_specs([str(spec)]))}


def _case(case_id: str, extra: str, behaviours: str = "[AG6]") -> str:
    return f"- id: {case_id}\n  title: t.\n  behaviours: {behaviours}\n  source: {SOURCE}\n" + textwrap.indent(
        textwrap.dedent(extra).strip("\n"), "  ") + "\n"


def test_the_normative_outcome_is_recorded_when_it_holds(tmp_path):
    record = _run(tmp_path, _case("two", TWO_PASSES))["two"]
    assert (record["status"], record["outcome"], record["expected_outcome"]) == ("pass", "overwrite", "overwrite")
    assert record["normative_outcome"] == "overwrite" and record["pin"] is None
    assert [(o["label"], o["held"]) for o in record["outcomes"]] == [("overwrite", True), ("accumulate", False)]
    assert {c["outcome"] for c in record["checks"]} == {"overwrite", "accumulate"}


def test_a_framework_pinned_to_accumulate_that_overwrites_fails_naming_both(tmp_path):
    pinned = TWO_PASSES + '    pins:\n      reference: {outcome: accumulate, evidence: {doc: "says it adds up"}}\n'
    record = _run(tmp_path, _case("two", pinned))["two"]
    assert (record["status"], record["outcome"], record["expected_outcome"]) == ("fail", "overwrite", "accumulate")
    assert "moved: accumulate -> overwrite" in record["message"]
    assert record["pin"]["evidence"] == {"doc": "says it adds up"}


def test_two_outcomes_holding_at_once_fail(tmp_path):
    both = """
        steps:
          - tensor: {name: x, value: {values: [1, 2]}}
        outcomes:
          a: {normative: true, says: "x has two elements", expect: [{shape: {value: x, equals: [2]}}]}
          b: {says: "nothing raises", expect: [{no_error: {}}]}
    """
    record = _run(tmp_path, _case("both", both))["both"]
    assert record["status"] == "fail" and record["outcome"] is None
    assert "outcomes not distinguished: a and b both held" in record["message"]


def test_a_step_that_raises_is_the_frameworks_behaviour_not_a_kit_bug(tmp_path):
    wrong_shape = """
        model: {dense: {units: 2, in_units: 3}}
        steps:
          - initialize: {}
          - forward: {input: {ones: [2, 5]}}
        expect:
          - shape: {value: out, equals: [2, 2]}
    """
    record = _run(tmp_path, _case("wrong-shape", wrong_shape, "[MC1]"))["wrong-shape"]
    assert record["status"] == "fail", record["message"]
    assert "`out` was never produced: step 1 (forward) raised" in record["message"]
    assert "unexpected" in record["message"] and "ShapeMismatchError" in record["message"]


def test_a_raising_step_the_expected_outcome_lacks_fails_even_when_the_rest_holds(tmp_path):
    pinned_error = """
        model: {dense: {units: 2, in_units: 3}}
        steps:
          - initialize: {}
          - forward: {input: {ones: [2, 3]}}
        outcomes:
          works: {normative: true, says: "it runs", expect: [{shape: {value: out, equals: [2, 2]}}]}
          raises: {says: "it raises", expect: [{error: {phase: first_forward, kind: shape_mismatch, step: 1,
                                                         raised: {reference: {type: ShapeMismatchError,
                                                                              message: "features"}}}}]}
        pins:
          reference: {outcome: raises, evidence: {observed: "test"}}
    """
    record = _run(tmp_path, _case("moved", pinned_error, "[MC1]"))["moved"]
    assert (record["status"], record["outcome"]) == ("fail", "works")
    assert "moved: raises -> works" in record["message"]


def test_a_pin_naming_an_outcome_the_case_lacks_is_a_spec_error(tmp_path):
    spec = tmp_path / "t.yaml"
    bad = TWO_PASSES + '    pins:\n      torch: {outcome: accumulates, evidence: {doc: "d"}}\n'
    spec.write_text("topic: t\ncases:\n" + textwrap.indent(_case("two", bad), "  "), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_specs([str(spec)])
    assert "key 'pins.torch.outcome'" in str(info.value) and "'accumulates'" in str(info.value)
    done = subprocess.run([sys.executable, "-m", "conformance", "validate", str(spec)], capture_output=True, text=True)
    assert done.returncode == 2 and "pins.torch.outcome" in done.stderr + done.stdout


@pytest.mark.parametrize("body, words", [
    ("expect: [{no_error: {}}]\noutcomes: {a: {normative: true, says: a, expect: []}, b: {says: b, expect: []}}",
     "either `expect`"),
    ("outcomes: {a: {says: a, expect: []}, b: {says: b, expect: []}}", "exactly one outcome must be `normative: true`"),
    ("outcomes: {a: {normative: true, says: a, expect: []}, b: {normative: true, says: b, expect: []}}",
     "exactly one outcome"),
])
def test_outcome_shape_problems_name_the_key(tmp_path, body, words):
    spec = tmp_path / "t.yaml"
    spec.write_text("topic: t\ncases:\n" + textwrap.indent(_case("c", body), "  "), encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_specs([str(spec)])
    assert words in str(info.value) and "case 'c'" in str(info.value)
