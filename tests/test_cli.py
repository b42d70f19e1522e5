"""The `conformance` command: exit 0 / 1 / 2 as documented, messages that name what to fix.

`run` uses the test-only fake adapter (tests/fake_adapter.py) so no framework is needed. Runs of
the tests' own spec files are partial runs (not the kit's specs): their results go under
OUT/partial/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
import sys
from importlib import resources

import pytest
from fake_adapter import FAIL_SEED

from conformance.cli import build_parser, main

FAKE = "fake_adapter:FakeAdapter"
RESULTS_KEYS = {"format", "kit_version", "framework", "framework_version", "python", "platform", "devices",
                "spec_digest", "started", "finished", "import_error", "cases"}
CASE_KEYS = {"id", "file", "topic", "title", "behaviours", "status", "message", "observations", "duration_s",
             "source", "outcome", "expected_outcome", "normative_outcome", "outcomes", "pin", "checks", "program"}
RESULTS_NAME = "fake_adapter_FakeAdapter-1.0.json"


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


def _results_file(workdir, folder="out/partial/results"):
    folder = workdir / folder
    names = sorted(n for n in os.listdir(folder) if not n.startswith(".")) if folder.exists() else []
    return names


def _results(workdir, folder="out/partial/results"):
    return json.loads((workdir / folder / RESULTS_NAME).read_text("utf-8"))


def test_run_writes_the_results_file_with_the_documented_keys(workdir, fake_env, capsys):
    spec = _spec(workdir, "fake.yaml", _case("first", 1), _case("second", 2))
    assert main(["run", "--framework", FAKE, "--specs", spec, "--out", "out", "--no-report"]) == 0
    assert _results_file(workdir) == [RESULTS_NAME]
    assert _results_file(workdir, "out/results") == [], "a run of other specs is partial"
    results = _results(workdir)
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
    assert "fail        specs/fake.yaml::bad  [MC1]" in out
    assert "shape of value out: expected [3, 3], observed [1, 1]" in out
    assert "fail        specs/fake.yaml::raises  [MC1]" in out and "raised ValueError" in out
    assert "specs/fake.yaml::good" not in out, "passing cases are quiet without -v"


def test_run_case_selection(workdir, capsys):
    spec = _spec(workdir, "fake.yaml", _case("alpha", 1), _case("beta", 2))
    assert main(["run", "--framework", FAKE, "--specs", spec, "--out", "out", "--no-report", "--in-process",
                 "--case", "bet", "-v"]) == 0
    assert "specs/fake.yaml::beta" in capsys.readouterr().out
    assert [c["id"] for c in _results(workdir)["cases"]] == ["beta"]
    assert main(["run", "--framework", FAKE, "--specs", spec, "--out", "out", "--no-report", "--case", "gamma"]) == 2
    assert "no cases to run: no case id contains 'gamma'" in capsys.readouterr().err


def test_case_matches_case_ids_only_not_the_file_path(workdir, capsys):
    spec = _spec(workdir, "alpha.yaml", _case("first", 1))
    assert main(["run", "--framework", FAKE, "--specs", spec, "--out", "out", "--no-report", "--in-process",
                 "--case", "alpha"]) == 2
    assert "no cases to run" in capsys.readouterr().err
    assert "case ids only" in " ".join(build_parser()._subparsers._group_actions[0].choices["run"].format_help().split())


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
    # no good file: --keep-going would change nothing, so the hint does not name it
    assert "--keep-going" not in err and "Traceback" not in err
    assert _results_file(workdir) == []
    _spec(workdir, "good.yaml", _case("fine", 1))  # a good file beside it: now it would help
    assert main(["run", "--framework", FAKE, "--specs", "specs", "--out", "out", "--no-report"]) == 2
    assert "pass --keep-going to run the good files" in capsys.readouterr().err


def test_keep_going_runs_the_good_files_and_still_exits_2(workdir, capsys):
    _spec(workdir, "good.yaml", _case("fine", 1))
    _spec(workdir, "bad.yaml", _case("broken", 1).replace("relu: {}", "conv: {}"))
    code = main(["run", "--framework", FAKE, "--specs", "specs", "--out", "out", "--no-report", "--in-process",
                 "--keep-going"])
    assert code == 2
    captured = capsys.readouterr()
    assert "specs/bad.yaml: case 'broken': key 'model.conv'" in captured.err
    assert [(c["id"], c["status"]) for c in _results(workdir)["cases"]] == [("fine", "pass")]


def test_list_json_shape(workdir, capsys):
    _spec(workdir, "a.yaml", _case("one", behaviours="[MC1]"), _case("two", behaviours="[MC1, XX9]"))
    (workdir / "specs" / "catalogue.yaml").write_text(
        "behaviours:\n  - {id: MC1, topic: fake, statement: A fake behaviour.}\n"
        "  - {id: MC2, topic: fake, statement: Not covered yet.}\n", encoding="utf-8")
    assert main(["list", "--json", "--specs", "specs"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert set(listing) == {"behaviours", "uncatalogued", "cases", "claims"}
    assert listing["behaviours"] == [
        {"id": "MC1", "topic": "fake", "statement": "A fake behaviour.", "cases": ["specs/a.yaml::one", "specs/a.yaml::two"]},
        {"id": "MC2", "topic": "fake", "statement": "Not covered yet.", "cases": []},
    ]
    assert listing["uncatalogued"] == {"XX9": ["specs/a.yaml::two"]}
    assert listing["cases"][0] == {"id": "one", "file": "specs/a.yaml", "title": "Fake case one.", "behaviours": ["MC1"]}


def test_list_text(workdir, capsys):
    _spec(workdir, "a.yaml", _case("one"))
    assert main(["list", "--specs", "specs"]) == 0
    assert "specs/a.yaml::one  [MC1]  Fake case one." in capsys.readouterr().out


def test_gate_without_results_exits_2_as_report_does(workdir, capsys):
    pytest.importorskip("conformance.gate")
    _spec(workdir, "a.yaml", _case("one"))
    assert main(["gate"]) == 2  # no results files: unusable input, as for `report`
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


# --- partial runs, import failures, file modes -------------------------------------------------

@pytest.fixture
def kit_specs(workdir, monkeypatch):
    """Make the temporary specs folder 'the kit's specs' (what a run without --specs uses)."""
    _spec(workdir, "fake.yaml", _case("alpha", 1), _case("beta", 2), _case("gamma", 3))
    folder = os.path.realpath(workdir / "specs")
    monkeypatch.setattr("conformance.cli.specs.default_specs", lambda: folder)
    return folder


def _case_ids(path):
    with open(path, encoding="utf-8") as handle:
        return [c["id"] for c in json.load(handle)["cases"]]


def test_a_partial_run_never_replaces_the_complete_results_file(kit_specs, workdir, capsys):
    complete = workdir / "out" / "results" / RESULTS_NAME
    assert main(["run", "--framework", FAKE, "--out", "out", "--no-report", "--in-process"]) == 0
    assert _case_ids(complete) == ["alpha", "beta", "gamma"]
    before = complete.read_bytes()
    capsys.readouterr()

    assert main(["run", "--framework", FAKE, "--out", "out", "--no-report", "--in-process", "--case", "beta"]) == 0
    out = capsys.readouterr().out
    assert "partial run" in out and "out/partial/results/" in out, out
    assert complete.read_bytes() == before, "the complete results file is untouched"
    assert _case_ids(workdir / "out" / "partial" / "results" / RESULTS_NAME) == ["beta"]

    # --specs naming a part of the kit's specs is partial too; naming the kit's folder is not.
    assert main(["run", "--framework", FAKE, "--out", "out", "--no-report", "--in-process",
                 "--specs", "specs/fake.yaml"]) == 0
    assert complete.read_bytes() == before
    capsys.readouterr()
    assert main(["run", "--framework", FAKE, "--out", "out", "--no-report", "--in-process", "--specs", "specs"]) == 0
    assert _case_ids(complete) == ["alpha", "beta", "gamma"]
    assert "partial run" not in capsys.readouterr().out


def test_the_kit_specs_are_named_specs_from_any_folder(kit_specs, workdir, monkeypatch, capsys):
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["list", "--json"]) == 0
    assert [c["file"] for c in json.loads(capsys.readouterr().out)["cases"]] == ["specs/fake.yaml"] * 3
    assert main(["validate"]) == 0
    assert "ok: 3 cases" in capsys.readouterr().out


def test_an_unimportable_framework_says_its_error_once_and_leaves_one_marked_file(
        kit_specs, workdir, fake_env, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_ADAPTER_IMPORT_FAILS", "1")
    assert main(["run", "--framework", FAKE, "--out", "out", "--no-report"]) == 1
    out = capsys.readouterr().out
    assert out.count("No module named 'fakeframework'") == 1, out
    assert _results_file(workdir, "out/results") == ["fake_adapter_FakeAdapter-unavailable.json"]
    marked = json.loads((workdir / "out/results/fake_adapter_FakeAdapter-unavailable.json").read_text("utf-8"))
    assert "No module named 'fakeframework'" in marked["import_error"] and marked["cases"] == []

    assert main(["report", "out/results/fake_adapter_FakeAdapter-unavailable.json", "-o", "site"]) == 0
    assert (workdir / "site" / "summary.md").read_text("utf-8").count("fakeframework") == 1
    assert (workdir / "site" / "index.html").read_text("utf-8").count("fakeframework") <= 2, "not once per case"
    pytest.importorskip("conformance.gate")
    capsys.readouterr()
    assert main(["gate", "out/results/fake_adapter_FakeAdapter-unavailable.json"]) == 1
    assert capsys.readouterr().out.count("fakeframework") == 1, "the gate says it once"

    monkeypatch.delenv("FAKE_ADAPTER_IMPORT_FAILS")
    assert main(["run", "--framework", FAKE, "--out", "out", "--no-report"]) == 0
    assert _results_file(workdir, "out/results") == [RESULTS_NAME], "the stale marker is gone"


def test_results_files_are_readable_by_everyone(workdir):
    spec = _spec(workdir, "fake.yaml", _case("first", 1))
    old = os.umask(0o077)  # even under a strict umask (mkstemp's 0600 was the bug)
    try:
        assert main(["run", "--framework", FAKE, "--specs", spec, "--out", "out", "--no-report",
                     "--in-process"]) == 0
    finally:
        os.umask(old)
    mode = stat.S_IMODE(os.stat(workdir / "out/partial/results" / RESULTS_NAME).st_mode)
    assert mode == 0o644, oct(mode)


# --- usable input, hints, help, pipes ----------------------------------------------------------

def _options(command):
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, type(parser._subparsers._group_actions[0])))
    return sub.choices[command]


@pytest.mark.parametrize("argv", [
    ["run", "--specs", "nope.yaml", "--framework", FAKE],
    ["run", "--specs", "empty", "--framework", FAKE],
    ["run", "--specs", "specs/bad.yaml", "--framework", FAKE],
    ["list", "--specs", "nope"],
    ["list", "--specs", "empty"],
    ["list", "--specs", "specs/bad.yaml"],
    ["list", "--specs", "specs", "--catalogue", "nope.yaml"],
    ["validate", "nope"],
    ["validate", "empty"],
    ["validate", "specs/bad.yaml"],
    ["report", "broken.json", "-o", "out"],
    ["gate", "--specs", "nope"],
    ["gate", "--specs", "specs/bad.yaml"],
    ["gate", "broken.json"],
])
def test_every_subcommand_exits_2_on_unusable_input_and_hints_only_its_own_flags(workdir, argv, capsys):
    _spec(workdir, "good.yaml", _case("fine", 1))
    _spec(workdir, "bad.yaml", _case("broken", 1).replace("relu: {}", "conv: {}"))
    (workdir / "empty").mkdir()
    (workdir / "broken.json").write_text("{not json", encoding="utf-8")
    if argv[0] == "gate":
        pytest.importorskip("conformance.gate")
    assert main(argv) == 2, argv
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err
    flags = {o for a in _options(argv[0])._actions for o in a.option_strings}
    named = {w.strip(".,;:()'\"`") for w in err.split() if w.startswith("--")}
    assert named <= flags, f"{argv[0]} hints at flags it does not have: {named - flags}"


def test_every_argument_has_help_text():
    missing = [f"{command} {action.dest}"
               for command in ("run", "report", "gate", "list", "validate")
               for action in _options(command)._actions
               if not isinstance(action, argparse._HelpAction) and not (action.help or "").strip()]
    assert missing == []


def test_list_outside_a_checkout_lists_the_kit_specs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["behaviours"] and listing["cases"]
    assert all(c["file"].startswith("specs/") for c in listing["cases"])


def test_the_specs_and_notes_ship_inside_the_package(root):
    shipped = resources.files("conformance").joinpath("specs")
    assert shipped.joinpath("catalogue.yaml").is_file()
    assert [n for n in os.listdir(os.path.join(root, "specs", "notes")) if n.endswith(".txt")]
    for name in os.listdir(os.path.join(root, "specs", "notes")):
        assert shipped.joinpath("notes", name).is_file(), name


def test_a_closed_pipe_is_quiet(workdir):
    _spec(workdir, "a.yaml", *[_case(f"case-{i}", i) for i in range(40)])
    code = "import sys; from conformance.cli import main; sys.exit(main(['list', '--json', '--specs', 'specs']))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=workdir)
    proc.stdout.close()  # the reader is gone before the first line (`conformance list | head -0`)
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert "BrokenPipeError" not in err and "Traceback" not in err, err
