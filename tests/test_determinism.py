"""Two runs of the same framework version give the same statuses and observations (seeded).

Runs on the reference everywhere, and on each real framework in its own tox env.
"""

import importlib.util
import os

import pytest

from conformance.adapters import FRAMEWORK_MODULES, get_adapter
from conformance.loader import load_specs
from conformance.runner import run_inprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _strip(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "duration_s"}


@pytest.mark.parametrize("framework", sorted(FRAMEWORK_MODULES))
def test_two_runs_are_identical(framework):
    module = FRAMEWORK_MODULES[framework]
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed in this environment")
    cases = load_specs([os.path.join(ROOT, "specs")])
    adapter = get_adapter(framework)
    adapter.load()
    # Second run in reverse order: a case's result must not depend on what ran before it.
    first = {r["id"]: _strip(r) for r in run_inprocess(adapter, cases)}
    second = {r["id"]: _strip(r) for r in run_inprocess(adapter, list(reversed(cases)))}
    assert len(first) == len(cases) > 0
    for case_id, record in first.items():
        assert record == second[case_id], f"{framework}: {case_id} differs between two runs"
