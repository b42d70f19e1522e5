"""Errors are judged by what was raised: every error expectation names its step, and for every
column whose committed baseline expects its outcome, the native type and a message pattern of
that framework and version. A kind alone (even `other`) is never the whole expectation."""

from __future__ import annotations

import glob
import json
import os

import pytest

from conformance.spec import load_specs
from conformance.spec.case import match_pin

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def cases():
    return {c.id: c for c in load_specs([os.path.join(ROOT, "specs")])}


def _errors(outcome) -> list[dict]:
    return [item["error"] for item in outcome.expect if "error" in item]


def test_every_error_expectation_names_its_step(cases):
    missing = [(c.id, o.label) for c in cases.values() for o in c.outcomes for e in _errors(o) if "step" not in e]
    assert not missing


BASELINES = sorted(glob.glob(os.path.join(ROOT, "reports", "baseline", "*.json")))


@pytest.mark.parametrize("path", BASELINES, ids=[os.path.basename(p) for p in BASELINES])
def test_each_column_has_the_native_error_of_every_error_it_is_expected_to_raise(cases, path):
    with open(path, encoding="utf-8") as handle:
        results = json.load(handle)
    framework, version = results["framework"], results["framework_version"]
    components = results.get("components") or {}
    missing = []
    for record in results["cases"]:
        case = cases.get(record["id"])
        if case is None or record["status"] in ("unsupported", "skip"):  # nothing was raised here to pin
            continue
        outcome = case.outcome(record["expected_outcome"])
        for error in _errors(outcome):
            entries = (error.get("raised") or {}).get(framework)
            native = match_pin(entries if isinstance(entries, list) else [entries], version, components) \
                if entries else None
            if native is None and not (error.get("type") and error.get("message")):
                missing.append(f"{case.id} [{outcome.label}] step {error['step']}")
    assert not missing, f"{os.path.basename(path)}: no native type and message for: {missing}"
