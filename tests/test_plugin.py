"""The pytest plugin: each (spec case x framework) is an item that pytest selects, runs and reports.

Each test runs pytest in a subprocess (pytester) on a small `specs/` folder and the
test-only fake adapter, so the plugin is exercised exactly as `pytest specs --framework X` is.
"""

from __future__ import annotations

import importlib.metadata
import xml.etree.ElementTree as ET

import pytest
from fake_adapter import FAIL_SEED, SKIP_SEED, UNSUPPORTED_SEED

FAKE = "fake_adapter:FakeAdapter"


def _case(case_id, seed=1, expect="[{shape: {value: out, equals: [1, 1]}}]", behaviours="[MC1]"):
    return f"""
  - id: {case_id}
    title: Fake case {case_id}.
    behaviours: {behaviours}
    source: {{note: fake.txt, section: "1", claim: "the claim of {case_id}"}}
    model: {{relu: {{}}}}
    steps:
      - forward: {{input: {{values: [[{seed / 1000}]]}}}}
    expect: {expect}
"""


CASES = [
    _case("passes", 1),
    _case("fails", 2, "[{shape: {value: out, equals: [3, 3]}}]", "[SH2, SH3]"),
    _case("raises", FAIL_SEED),
    _case("unsupported", UNSUPPORTED_SEED),
    _case("skipped", SKIP_SEED),
]


def _plugin_args() -> list[str]:
    """`-p` the plugin unless the installed package already registers it as a pytest11 entry point."""
    for entry in importlib.metadata.entry_points(group="pytest11"):
        if entry.value == "conformance.pytest_plugin":
            return []
    return ["-p", "conformance.pytest_plugin"]


@pytest.fixture
def specs(pytester, fake_env):
    folder = pytester.mkdir("specs")
    (folder / "x.yaml").write_text("topic: fake\ncases:" + "".join(CASES), encoding="utf-8")
    (folder / "catalogue.yaml").write_text("behaviours: [{id: MC1}]\n", encoding="utf-8")
    (pytester.path / "elsewhere.yaml").write_text("not: a spec\n", encoding="utf-8")
    return folder


def _run(pytester, *args):
    return pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider", "--framework", FAKE, *args)


def test_items_are_named_file_case_and_framework(pytester, specs):
    # "." also holds specs/catalogue.yaml and elsewhere.yaml (outside specs/): neither is collected
    result = _run(pytester, "--collect-only", "-q", ".")
    ids = [line for line in result.outlines if "::" in line]
    assert ids == [f"specs/x.yaml::{case}[{FAKE}]" for case in ("passes", "fails", "raises", "unsupported", "skipped")]
    assert result.ret == 0


def test_statuses_and_the_failure_report(pytester, specs):
    result = _run(pytester, "specs", "-rs", "--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=2, skipped=2)
    text = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*FAIL: [[]SH2, SH3[]] Fake case fails.*",
        "*claim: the claim of fails*",
        "*FAIL [[]as-noted[]] shape of value out: expected [[]3, 3[]], observed [[]1, 1[]]*",
    ])
    assert "unexpected ValueError in phase first_forward" in text
    assert "observed error: ValueError in first_forward: fake framework error: shapes do not fit" in text
    assert "unsupported: fake: the fake framework has no such thing" in text
    assert "skip: observing value:out: no second device here" in text
    assert "Traceback" not in text

    root = ET.parse(pytester.path / "junit.xml").getroot()
    testcases = {tc.get("name"): tc for tc in root.iter("testcase")}
    assert set(testcases) == {f"{case}[{FAKE}]" for case in ("passes", "fails", "raises", "unsupported", "skipped")}
    failing = testcases[f"fails[{FAKE}]"]
    assert failing.find("failure") is not None
    properties = {p.get("name"): p.get("value") for p in failing.iter("property")}
    assert properties == {"behaviours": "SH2,SH3", "status": "fail"}


def test_k_selects_cases(pytester, specs):
    result = _run(pytester, "specs", "-k", "passes or skipped")
    result.assert_outcomes(passed=1, skipped=1, deselected=3)


def test_k_selects_a_behaviour(pytester, specs):
    result = _run(pytester, "specs", "-m", "behaviour", "-k", "SH3")
    result.assert_outcomes(failed=1, deselected=4)


def test_a_bad_spec_file_is_a_collection_error_naming_file_case_and_key(pytester, specs):
    (specs / "bad.yaml").write_text("topic: t\ncases:" + _case("broken").replace("relu: {}", "conv: {}"),
                                    encoding="utf-8")
    result = _run(pytester, "specs", "-q")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*unusable spec file:*", "*bad.yaml: case 'broken': key 'model.conv'*"])
