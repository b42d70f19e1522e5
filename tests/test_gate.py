"""The gate: each exit path (0 pass, 1 needs attention, 2 unusable input) and the baseline diff.

Results fixtures are built here as dicts and written to temporary files.
"""

from __future__ import annotations

import glob
import json
import os

import pytest
import yaml

from conformance.gate import gate
from conformance.gate.command import main
from conformance.gate.observations import diff_observations


def case(case_id, status="pass", message=None, observations=None, outcome=None):
    """A case record; `outcome` (a label of overwrite/accumulate) makes it a two-outcome case."""
    labels = ["overwrite", "accumulate"] if outcome else ["as-noted"]
    held = outcome or ("as-noted" if status == "pass" else None)
    return {
        "id": case_id,
        "file": "specs/sharing.yaml",
        "topic": "sharing",
        "title": "t",
        "behaviours": ["SH1"],
        "status": status,
        "message": message if message is not None else ("" if status == "pass" else "why"),
        "outcome": held,
        "expected_outcome": held or labels[0],
        "normative_outcome": labels[0],
        "outcomes": [
            {"label": lab, "says": lab, "normative": lab == labels[0], "held": lab == held}
            for lab in labels
        ],
        "pin": None,
        "observations": observations if observations is not None else {"shape": [2, 3]},
        "duration_s": 0.01,
        "source": {},
        "checks": [],
        "snippet": "",
    }


def old_format(record, status="known"):
    """The same record as a kit before outcomes wrote it."""
    record = {
        k: v
        for k, v in record.items()
        if k not in ("outcome", "expected_outcome", "normative_outcome", "outcomes", "pin")
    }
    return {**record, "status": status, "known_reason": "documented", "doc": None,
            "note_says": None}  # fmt: skip


def run(framework="torch", version="2.13.0", cases=(), **extra):
    return {
        "format": "conformance-results/1",
        "kit_version": "0.1.0",
        "framework": framework,
        "framework_version": version,
        "python": "3.11",
        "platform": "Linux",
        "devices": {},
        "spec_digest": "d1",
        "started": "",
        "finished": "",
        "import_error": None,
        "cases": list(cases),
        **extra,
    }


@pytest.fixture
def write(tmp_path):
    counter = iter(range(1000))

    def write(data, text=None):
        path = tmp_path / f"results-{next(counter)}.json"
        path.write_text(text if text is not None else json.dumps(data), encoding="utf-8")
        return str(path)

    return write


def kinds(result):
    return sorted((f.kind, f.case) for f in result.findings)


# -- exit 0 ------------------------------------------------------------------------------------


def test_pass_and_reasoned_unsupported_or_skip_pass_the_gate(write):
    cases = [case("a"), case("b", outcome="accumulate"), case("c", "unsupported", "no such idea"),
             case("d", "skip", "needs a second device")]  # fmt: skip
    result = gate([write(run(cases=cases))], spec_cases=["a", "b", "c", "d"])
    assert result.exit_code == 0, result.text
    assert result.findings == []
    assert result.lines[-1].startswith("gate: OK")


# -- exit 1 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["fail", "error", "crash", "timeout"])
def test_a_problem_status_fails_and_is_listed(write, status):
    result = gate([write(run(cases=[case("a"), case("b", status, "it broke")]))])
    assert result.exit_code == 1
    assert kinds(result) == [(status, "b")]
    assert any(line.strip().startswith(status.upper()) and "b: it broke" in line
               for line in result.lines)  # fmt: skip


@pytest.mark.parametrize("status", ["skip", "unsupported"])
def test_skip_or_unsupported_without_a_reason_fails(write, status):
    result = gate([write(run(cases=[case("a", status, message="  ")]))])
    assert result.exit_code == 1
    assert kinds(result) == [("no_reason", "a")]


def test_an_old_results_file_with_known_fails_as_old_format(write):
    result = gate([write(run(cases=[old_format(case("a")), case("b")]))])
    assert result.exit_code == 1
    assert kinds(result) == [("old_format", None)]
    assert any("OLD FORMAT" in line and "1 cases have status 'known'" in line
               for line in result.lines)  # fmt: skip


def test_an_empty_run_fails(write):
    result = gate([write(run(cases=[]))])
    assert result.exit_code == 1
    assert kinds(result) == [("empty", None)]


def test_an_import_error_fails_even_with_no_cases(write):
    result = gate(
        [write(run(cases=[], import_error="ModuleNotFoundError: No module named 'torch'"))]
    )
    assert result.exit_code == 1
    assert ("import_error", None) in kinds(result)
    assert any("No module named 'torch'" in line for line in result.lines)


def test_an_import_error_fails_even_when_cases_say_pass(write):
    result = gate([write(run(cases=[case("a")], import_error="boom"))])
    assert result.exit_code == 1


def test_an_interrupted_run_fails(write):
    result = gate([write(run(cases=[case("a")], interrupted=True))])
    assert result.exit_code == 1
    assert kinds(result) == [("interrupted", None)]


def test_fewer_cases_than_the_specs_fails_and_names_them(write):
    result = gate([write(run(cases=[case("a")]))], spec_cases=["a", "b", "c"])
    assert result.exit_code == 1
    assert kinds(result) == [("missing_cases", None)]
    assert any("2 of 3 spec cases are not in this run: b, c" in line for line in result.lines)


def test_cases_not_in_the_specs_are_noted_not_failed(write):
    result = gate([write(run(cases=[case("a"), case("zzz")]))], spec_cases=["a"])
    assert result.exit_code == 0
    assert any("note" in line and "zzz" in line for line in result.lines)


def test_findings_are_grouped_by_framework_and_version(write):
    paths = [write(run("torch", "2.13.0", [case("a", "fail", "t13")])),
             write(run("reference", "0.1.0", [case("a", "error", "ref")])),
             write(run("torch", "2.12.0", [case("a")]))]  # fmt: skip
    result = gate(paths)
    assert result.exit_code == 1
    heads = [line.split(" (")[0] for line in result.lines if not line.startswith((" ", "gate:"))]
    assert heads == ["reference 0.1.0", "torch 2.12.0", "torch 2.13.0"]
    text = result.text
    assert text.index("reference 0.1.0") < text.index("a: ref") < text.index("torch 2.13.0")
    assert text.index("torch 2.13.0") < text.index("a: t13")
    assert "torch 2.12.0" in text and "ok" in text.split("torch 2.12.0")[1].splitlines()[0]


# -- exit 2 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",  # 0 bytes: not even JSON
        "{garbage",
        "[1, 2, 3]",
        json.dumps({"format": "something-else/9", "cases": []}),
        json.dumps(run(cases=[{"id": "a", "status": "great"}])),
        json.dumps(run(cases=[case("a"), case("a")])),
        json.dumps({**run(), "framework": ""}),
    ],
    ids=["zero-bytes", "not-json", "not-object", "wrong-format", "bad-status", "dup-id", "no-fw"],
)
def test_unusable_results_file_exits_2(write, text):
    result = gate([write(None, text=text)])
    assert result.exit_code == 2, result.text
    assert kinds(result) == [("unusable", None)]


def test_missing_results_file_exits_2(tmp_path, write):
    result = gate([write(run(cases=[case("a")])), str(tmp_path / "nope.json")])
    assert result.exit_code == 2
    assert any("nope.json" in line and "file not found" in line for line in result.lines)


def test_an_empty_folder_exits_2(tmp_path):
    (tmp_path / "empty").mkdir()
    assert gate([str(tmp_path / "empty")]).exit_code == 2


def test_unusable_input_outranks_failures(write):
    result = gate([write(run(cases=[case("a", "fail")])), write(None, text="{")])
    assert result.exit_code == 2
    assert ("fail", "a") in kinds(result)  # still listed


# -- baseline ----------------------------------------------------------------------------------


def test_unchanged_baseline_passes(write):
    data = run(cases=[case("a", observations={"error": {"type": "ValueError"}})])
    assert gate([write(data)], baseline_paths=[write(data)]).exit_code == 0


def test_changed_error_type_is_behaviour_moved(write):
    old = run("torch", "2.12.0", [case("a", observations={"error": {"type": "ValueError"}})])
    new = run("torch", "2.13.0", [case("a", observations={"error": {"type": "RuntimeError"}})])
    result = gate([write(new)], baseline_paths=[write(old)])
    assert result.exit_code == 1
    assert kinds(result) == [("moved", "a")]
    line = next(line for line in result.lines if "MOVED" in line)
    assert "since torch 2.12.0" in line
    assert "error.type: 'ValueError' -> 'RuntimeError'" in line


def test_changed_status_is_behaviour_moved(write):
    old = run(cases=[case("a", "unsupported", "no such idea")])
    result = gate([write(run(cases=[case("a")]))], baseline_paths=[write(old)])
    assert result.exit_code == 1
    assert any("status unsupported -> pass" in line for line in result.lines)


def test_a_changed_outcome_is_named_moved(write):
    old = run("torch", "2.12.0", [case("a", outcome="overwrite"), case("b", outcome="overwrite")])
    new = run("torch", "2.13.0", [case("a", outcome="accumulate"), case("b", outcome="overwrite")])
    result = gate([write(new)], baseline_paths=[write(old)])
    assert result.exit_code == 1
    assert kinds(result) == [("moved", "a")]  # both pass: only the outcome moved
    assert any(line.strip().startswith("MOVED     a: torch 2.13.0: overwrite -> accumulate")
               for line in result.lines), result.text  # fmt: skip
    gone = run("torch", "2.13.0", [case("a", "fail", "none held"), case("b", outcome="overwrite")])
    result = gate([write(gone)], baseline_paths=[write(old)])
    line = next(line for line in result.lines if "MOVED" in line)
    assert "a: torch 2.13.0: overwrite -> fail" in line and "status pass -> fail" in line


def test_an_old_format_baseline_compares_statuses_and_is_noted(write):
    old = run(cases=[old_format(case("a")), old_format(case("b"), "pass")])
    result = gate([write(run(cases=[case("a"), case("b")]))], baseline_paths=[write(old)])
    assert kinds(result) == [("moved", "a")]
    assert any("status known -> pass" in line for line in result.lines)
    assert any("old format" in line for line in result.lines if line.strip().startswith("note"))


def test_the_baseline_of_a_column_with_components_is_the_one_with_the_same_components(write):
    k2 = run(
        "tensorflow", "2.21.0", [case("a", outcome="overwrite")], components={"keras": "2.21.0"}
    )
    k3 = run(
        "tensorflow", "2.21.0", [case("a", outcome="accumulate")], components={"keras": "3.15.1"}
    )
    result = gate([write(k2), write(k3)], baseline_paths=[write(k3), write(k2)])
    assert result.exit_code == 0, result.text
    newer = run("tensorflow", "2.22.0", [case("a", outcome="accumulate")],
                components={"keras": "3.16.0"})  # fmt: skip
    result = gate([write(newer)], baseline_paths=[write(k3), write(k2)])
    assert result.exit_code == 0, result.text  # matched to keras 3, not to keras 2


def test_a_case_gone_since_the_baseline_is_behaviour_moved(write):
    old = run(cases=[case("a"), case("b")])
    result = gate([write(run(cases=[case("a")]))], baseline_paths=[write(old)])
    assert kinds(result) == [("moved", "b")]


def test_baseline_is_matched_by_framework(write):
    old = [write(run("torch", "2.12.0", [case("a", "fail", "x")])),
           write(run("mxnet", "1.9.1", [case("a")]))]  # fmt: skip
    result = gate([write(run("mxnet", "1.9.1", [case("a")]))], baseline_paths=old)
    assert result.exit_code == 0, result.text  # torch's baseline does not apply to mxnet


def test_a_run_without_baseline_is_noted(write):
    result = gate([write(run("mxnet", "1.9.1", [case("a")]))],
                  baseline_paths=[write(run("torch", "2.12.0", [case("a")]))])  # fmt: skip
    assert result.exit_code == 0
    assert any("no baseline run for mxnet" in line for line in result.lines)


def test_an_unusable_baseline_exits_2(write):
    result = gate([write(run(cases=[case("a")]))], baseline_paths=[write(None, text="nope")])
    assert result.exit_code == 2


def test_observation_diff_tolerates_noise_but_not_change():
    old = {"mean": 0.1, "at": "<Parameter at 0x7f3a2b1c9d00>", "file": "/tmp/tmpab12/x.params",
           "duration_s": 1.0, "shape": [2, 3], "flag": True}  # fmt: skip
    noisy = {"mean": 0.1 + 1e-12, "at": "<Parameter at 0x7f00deadbeef>",
             "file": "/tmp/tmpzz99/x.params", "duration_s": 9.0, "shape": [2, 3], "flag": True}  # fmt: skip
    assert diff_observations(old, noisy) == []
    assert diff_observations(old, {**old, "shape": [3, 2]}) == [
        ("shape[0]", 2, 3),
        ("shape[1]", 3, 2),
    ]
    assert diff_observations(old, {**old, "flag": 1}) == [("flag", True, 1)]
    assert [d[0] for d in diff_observations(old, {**old, "mean": 0.2, "extra": None})] == [
        "extra",
        "mean",
    ]


# -- main --------------------------------------------------------------------------------------


def test_main_prints_and_returns_the_exit_code(write, capsys):
    ok = write(run(cases=[case("a")]))
    bad = write(run(cases=[case("a", "fail", "nope")]))
    assert main([ok]) == 0
    assert "gate: OK" in capsys.readouterr().out
    assert main([ok, "--baseline", bad]) == 1
    assert "status fail -> pass" in capsys.readouterr().out
    assert main([write(None, text="garbage")]) == 2


# -- end to end: a flipped expectation in a copy of a spec ---------------------------------------


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def _flip_one_shape(spec_file: str, out_file: str) -> str:
    """Copy `spec_file` with the first `shape ... equals: [n, ...]` changed to n + 1."""
    with open(spec_file, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    for spec_case in (document.get("cases") or []) if isinstance(document, dict) else []:
        for item in spec_case.get("expect") or []:
            equals = (item.get("shape") or {}).get("equals")
            if isinstance(equals, list) and equals and isinstance(equals[0], int):
                equals[0] += 1
                with open(out_file, "w", encoding="utf-8") as handle:
                    yaml.dump(document, handle, Dumper=_NoAliases, allow_unicode=True)
                return spec_case["id"]
    return ""


def _reference_results(spec_file: str) -> dict:
    from conformance.adapters import load_adapter
    from conformance.results import FORMAT
    from conformance.run import run_inprocess
    from conformance.spec.loader import load_specs

    adapter, version, devices, problem = load_adapter("reference")
    assert problem is None, problem
    return run("reference", version, run_inprocess(adapter, load_specs([spec_file])),
               format=FORMAT, devices=devices)  # fmt: skip


def test_flipping_one_expectation_in_a_spec_copy_fails_that_case(tmp_path, write):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    flipped_file, flipped_id = str(tmp_path / "flipped.yaml"), ""
    for spec_file in sorted(glob.glob(os.path.join(root, "specs", "**", "*.yaml"), recursive=True)):
        if os.path.basename(spec_file) == "catalogue.yaml":
            continue
        flipped_id = _flip_one_shape(spec_file, flipped_file)
        if flipped_id:
            break
    assert flipped_id, "no spec case with a `shape: {equals: [...]}` expectation to flip"
    original = _reference_results(spec_file)
    flipped = _reference_results(flipped_file)
    assert {c["id"] for c in original["cases"]} == {c["id"] for c in flipped["cases"]}

    before = gate([write(original)])
    after = gate([write(flipped)], spec_cases=[c["id"] for c in original["cases"]])
    assert after.exit_code == 1
    new_findings = set(kinds(after)) - set(kinds(before))
    assert new_findings == {("fail", flipped_id)}, after.text

    moved = gate([write(flipped)], baseline_paths=[write(original)])
    assert ("moved", flipped_id) in kinds(moved)
    assert any(flipped_id in line and "status pass -> fail" in line for line in moved.lines)
