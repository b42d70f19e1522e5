"""Two runs of the same framework version give the same statuses and observations (seeded)."""

import os

from conformance.adapters import get_adapter
from conformance.loader import load_specs
from conformance.runner import run_inprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _strip(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "duration_s"}


def test_reference_runs_are_identical():
    cases = load_specs([os.path.join(ROOT, "specs")])
    adapter = get_adapter("reference")
    adapter.load()
    first = [_strip(r) for r in run_inprocess(adapter, cases)]
    second = [_strip(r) for r in run_inprocess(get_adapter("reference"), cases)]
    assert len(first) == len(cases) > 0
    for a, b in zip(first, second):
        assert a == b, f"{a['id']} differs between two runs"
