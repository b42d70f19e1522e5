"""The `conformance` command: exit 0 / 1 / 2 as documented, messages that name what to fix.

`run` uses the test-only fake adapter (tests/fake_adapter.py) so no framework is needed.
"""

from __future__ import annotations

import json
import os

import pytest
from fake_adapter import FAIL_SEED

from conformance.cli import main

FAKE = "fake_adapter:FakeAdapter"
RESULTS_KEYS = {"format", "kit_version", "framework", "framework_version", "python", "platform", "devices",
                "spec_digest", "started", "finished", "import_error", "cases"}
CASE_KEYS = {"id", "file", "topic", "title", "behaviours", "status", "message", "observations", "duration_s",
             "source", "known_reason", "doc", "note_says", "snippet"}


def _case(case_id, seed=1, expect="[{shape: {value: out, equals: [1, 1]}}]", behaviours="[MC1]"):
    return f"""
  - id: {case_id}
    title: Fake case {case_id}.
    behaviours: {behaviours}
    source: {{note: fake.txt, section: "1", claim: "fake"}}
    model: {{relu: {{}}}}
    steps:
      - forward: {{input: {{values: [[{seed / 1000}]]}}}}
    expect: {expect}
"""


def _spec(folder, name, *cases, topic="fake"):
    path = folder / "specs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"topic: {topic}\ncases:" + "".join(cases), encoding="utf-8")
    return os.path.join("specs", name)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _results_file(workdir):
    folder = workdir / "out" / "results"
    names = sorted(os.listdir(folder)) if folder.exists() else []
    return names


def test_run_writes_the_results_file_with_the_documented_keys(workdir, fake_env, capsys):
    spec = _spec(workdir, "fake.yaml", _case("first", 1), _case("second", 2))
    assert main(["run", "--framework", FAKE, "--specs", spec, "--out", "out", "--no-report"]) == 0
    assert _results_file(workdir) == ["fake_adapter_FakeAdapter-1.0.json"]
    results = json.loads((workdir / "out" / "results" / "fake_adapter_FakeAdapter-1.0.json").read_text("utf-8"))
    assert RESULTS_KEYS <= set(results)
    assert results["format"] == "conformance-results/1"
    assert results["framework"] == FAKE and results["framework_version"] == "1.0"
    assert results["import_error"] is None and len(results["spec_digest"]) == 64
    assert [c["id"] for c in results["cases"]] == ["first", "second"]
    for case in results["cases"]:
        assert CASE_KEYS <= set(case), CASE_KEYS - set(case)
        assert case["status"] == "pass" and case["file"] == "specs/fake.yaml" and case["behaviours"] == ["MC1"]
        assert case["source"] == {"note": "fake.txt", "section": "1", "claim": "fake"}
    out = capsys.readouterr().out
    assert f"== {FAKE}: 2 cases" in out and "2 pass" in out


def test_run_with_a_failing_case_exits_1_and_says_why(workdir, capsys):
    spec = _spec(workdir, "fake.yaml", _case("good", 1), _case("bad", 2, "[{shape: {value: out, equals: [3, 3]}}]"),
                 _case("raises", FAIL_SEED))
    assert main(["run", "--framework", FAKE, "--specs", spec, "--out", "out", "--no-report", "--in-process"]) == 1
    out = capsys.readouterr().out
    assert "fail        specs/fake.yaml::bad  [MC1] shape of value out: expected [3, 3], observed [1, 1]" in out
    assert "unexpected ValueError in phase first_forward" in out
    assert "specs/fake.yaml::good" not in out, "passing cases are quiet without -v"


def test_run_case_selection(workdir, capsys):
    spec = _spec(workdir, "fake.yaml", _case("alpha", 1), _case("beta", 2))
    assert main(["run", "--framework", FAKE, "--specs", spec, "--out", "out", "--no-report", "--in-process",
                 "--case", "bet", "-v"]) == 0
    assert "specs/fake.yaml::beta" in capsys.readouterr().out
    results = json.loads((workdir / "out" / "results" / "fake_adapter_FakeAdapter-1.0.json").read_text("utf-8"))
    assert [c["id"] for c in results["cases"]] == ["beta"]
    assert main(["run", "--framework", FAKE, "--specs", spec, "--out", "out", "--no-report", "--case", "gamma"]) == 2
    assert "no cases to run" in capsys.readouterr().err


def test_unknown_framework_exits_2(workdir, capsys):
    spec = _spec(workdir, "fake.yaml", _case("first"))
    assert main(["run", "--framework", "nosuch", "--specs", spec, "--out", "out", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "unknown framework(s) ['nosuch']" in err and "reference" in err
    assert _results_file(workdir) == []


def test_malformed_spec_exits_2_naming_file_case_and_key(workdir, capsys):
    spec = _spec(workdir, "bad.yaml", _case("broken", expect="[{shape: {value: out, equals: [1, 1], size: 2}}]"))
    assert main(["run", "--framework", FAKE, "--specs", spec, "--out", "out", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "specs/bad.yaml: case 'broken': key 'expect[0].shape.size'" in err
    assert "--keep-going" in err and "Traceback" not in err
    assert _results_file(workdir) == []


def test_keep_going_runs_the_good_files_and_still_exits_2(workdir, capsys):
    _spec(workdir, "good.yaml", _case("fine", 1))
    _spec(workdir, "bad.yaml", _case("broken", 1).replace("relu: {}", "conv: {}"))
    code = main(["run", "--framework", FAKE, "--specs", "specs", "--out", "out", "--no-report", "--in-process",
                 "--keep-going"])
    assert code == 2
    captured = capsys.readouterr()
    assert "specs/bad.yaml: case 'broken': key 'model.conv'" in captured.err
    results = json.loads((workdir / "out" / "results" / "fake_adapter_FakeAdapter-1.0.json").read_text("utf-8"))
    assert [(c["id"], c["status"]) for c in results["cases"]] == [("fine", "pass")]


def test_list_json_shape(workdir, capsys):
    _spec(workdir, "a.yaml", _case("one", behaviours="[MC1]"), _case("two", behaviours="[MC1, XX9]"))
    (workdir / "specs" / "catalogue.yaml").write_text(
        "behaviours:\n  - {id: MC1, topic: fake, statement: A fake behaviour.}\n"
        "  - {id: MC2, topic: fake, statement: Not covered yet.}\n", encoding="utf-8")
    assert main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert set(listing) == {"behaviours", "uncatalogued", "cases"}
    assert listing["behaviours"] == [
        {"id": "MC1", "topic": "fake", "statement": "A fake behaviour.", "cases": ["specs/a.yaml::one", "specs/a.yaml::two"]},
        {"id": "MC2", "topic": "fake", "statement": "Not covered yet.", "cases": []},
    ]
    assert listing["uncatalogued"] == {"XX9": ["specs/a.yaml::two"]}
    assert listing["cases"][0] == {"id": "one", "file": "specs/a.yaml", "title": "Fake case one.", "behaviours": ["MC1"]}


def test_list_text(workdir, capsys):
    _spec(workdir, "a.yaml", _case("one"))
    assert main(["list", "--specs", "specs", "--catalogue", "none.yaml"]) == 0
    assert "specs/a.yaml::one  [MC1]  Fake case one." in capsys.readouterr().out


def test_gate_without_results_exits_1(workdir, capsys):
    pytest.importorskip("conformance.gate")
    _spec(workdir, "a.yaml", _case("one"))
    assert main(["gate"]) == 1
    assert "nothing ran" in capsys.readouterr().err


def test_report_without_results_or_with_a_broken_one_exits_2(workdir, capsys):
    assert main(["report", "-o", "out"]) == 2
    assert "run `conformance run` first" in capsys.readouterr().err
    broken = workdir / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert main(["report", str(broken), "-o", "out"]) == 2
    assert "broken.json: unusable results file" in capsys.readouterr().err


def test_usage_errors_exit_2_and_version_exits_0(capsys):
    assert main(["frobnicate"]) == 2
    assert main(["run", "--timeout", "soon"]) == 2
    assert main(["--version"]) == 0
    assert "conformance " in capsys.readouterr().out
