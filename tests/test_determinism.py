"""A case's result depends only on the case: two runs in different orders give the same records.

Rule: runs on the reference everywhere, and on each real framework in its own tox env. The
cases run once here, in this process, in REVERSE order; every record (all but `duration_s`)
must equal the record of the same case in a forward run. The forward run is the column's
results file that the env's `conformance run` wrote just before (a fresh worker process),
when that file is for this framework version, its components, this NumPy (the reference's
arithmetic and the kit's inputs depend on it, and column envs pin other NumPy releases), this
kit and these specs, and is newer than the kit's code; otherwise this test makes the forward run itself, in this
process (twice the cost). Reversing puts other cases before every case, so state that one
case leaks into the next (random state, name counters, placement) shows up as a difference.
"""

import glob
import importlib.util
import json
import os

import numpy
import pytest

from conformance import __version__
from conformance.adapters import FRAMEWORK_MODULES, components_of, get_adapter
from conformance.run import run_inprocess
from conformance.spec.loader import discover, load_specs, spec_digest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KIT = os.path.join(ROOT, "conformance")
# Where the env's `conformance run` wrote its results (tox runs it before the tests).
RESULTS = os.environ.get("CONFORMANCE_RESULTS_DIR", os.path.join(ROOT, "reports", "results"))


def _strip(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "duration_s"}


def _digest() -> str:
    here = os.getcwd()
    os.chdir(ROOT)  # the runner names the kit's spec files `specs/...`, and digests them so
    try:
        return spec_digest(discover(["specs"]))
    finally:
        os.chdir(here)


def _kit_changed_after(path: str) -> bool:
    written = os.path.getmtime(path)
    return any(os.path.getmtime(source) > written
               for source in glob.glob(os.path.join(KIT, "**", "*.py"), recursive=True))


def forward_run_file(framework: str, version: str, components: dict, n_cases: int,
                     folder: str = RESULTS) -> str | None:
    """The results file of a complete forward run of these specs by this kit, if one is here."""
    digest = _digest()
    for path in sorted(glob.glob(os.path.join(folder, f"{framework}-*.json"))):
        try:
            with open(path, encoding="utf-8") as handle:
                results = json.load(handle)
        except (OSError, ValueError):
            continue
        if (results.get("framework") == framework and results.get("framework_version") == version
                and (results.get("components") or {}) == components
                and results.get("numpy") == numpy.__version__
                and results.get("spec_digest") == digest and results.get("kit_version") == __version__
                and not results.get("interrupted") and len(results.get("cases") or []) == n_cases
                and not _kit_changed_after(path)):
            return path
    return None


@pytest.mark.parametrize("framework", sorted(FRAMEWORK_MODULES))
def test_reverse_run_matches_the_forward_run(framework):
    module = FRAMEWORK_MODULES[framework]
    if module and importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed in this environment")
    cases = load_specs([os.path.join(ROOT, "specs")])
    assert cases
    adapter = get_adapter(framework)
    adapter.load()
    version, components = str(adapter.version()), components_of(adapter)
    path = forward_run_file(framework, version, components, len(cases))
    if path:
        with open(path, encoding="utf-8") as handle:
            first = {r["id"]: _strip(r) for r in json.load(handle)["cases"]}
        where = f"the forward run in {os.path.relpath(path, ROOT)} (a worker process)"
    else:
        first = {r["id"]: _strip(r) for r in run_inprocess(adapter, cases)}
        where = "the forward run in this process"
    print(f"{framework}: comparing a reverse run with {where}")
    second = {r["id"]: _strip(r) for r in run_inprocess(adapter, list(reversed(cases)))}
    assert sorted(first) == sorted(second) and len(second) == len(cases)
    for case_id, record in second.items():
        differing = sorted(k for k in record if record[k] != first[case_id].get(k))
        assert record == first[case_id], (
            f"{framework}: {case_id} differs between {where} and a reverse run here: {differing}")


def test_a_stale_or_foreign_results_file_is_not_used(tmp_path):
    """Only a file for this version, these specs, every case, written after the kit's code, is used."""
    n = len(load_specs([os.path.join(ROOT, "specs")]))
    good = {"framework": "reference", "framework_version": __version__, "components": {}, "numpy": numpy.__version__,
            "spec_digest": _digest(), "kit_version": __version__, "cases": [{}] * n}
    variants = {"good": good, "other-version": dict(good, framework_version="0.0.9"),
                "other-components": dict(good, components={"keras": "2.15"}),
                "other-numpy": dict(good, numpy="0.0.1"),  # no env has it
                "other-specs": dict(good, spec_digest="0" * 64), "fewer-cases": dict(good, cases=[{}]),
                "interrupted": dict(good, interrupted=True)}
    for name, results in variants.items():
        folder = tmp_path / name
        folder.mkdir()
        path = folder / "reference-0.1.0.json"
        path.write_text(json.dumps(results))
        found = forward_run_file("reference", __version__, {}, n, folder=str(folder))
        assert (found == str(path)) == (name == "good"), name
    path = tmp_path / "good" / "reference-0.1.0.json"
    older = min(os.path.getmtime(f) for f in glob.glob(os.path.join(KIT, "**", "*.py"), recursive=True)) - 10
    os.utime(path, (older, older))
    assert forward_run_file("reference", __version__, {}, n, folder=str(tmp_path / "good")) is None
